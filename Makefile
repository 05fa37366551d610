# ganforge: the README's commands. `make demo` and `make test` set up .venv first.
PY        ?= python3.11
VENV      := .venv
VPY       := $(VENV)/bin/python
STAMP     := $(VENV)/.setup-stamp
PROJECTS  := shared apps $(sort $(wildcard packages/*))
MANIFESTS := Makefile requirements-dev.txt $(addsuffix /pyproject.toml,$(PROJECTS))
TORCH     := torch==2.14.1 torchvision==0.29.1
# torchaudio 2.11's extension uses PyTorch's stable ABI and runs on torch 2.14;
# its metadata pins torch 2.11, so it is installed without dependencies.
TORCHAUDIO := torchaudio==2.11.0
PYTEST_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: setup demo test test-all bench lint format clean

setup: $(STAMP)

$(STAMP): $(MANIFESTS)
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip setuptools wheel
	$(VPY) -m pip install -q $(TORCH)
	$(VPY) -m pip install -q --no-deps $(TORCHAUDIO)
	$(VPY) -m pip install -q -r requirements-dev.txt $(addprefix -e ./,$(PROJECTS))
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/ganforge demo

test: setup
	$(PYTEST_ENV) $(VPY) -m pytest -q -n 2 --dist loadgroup

test-all: setup
	$(PYTEST_ENV) $(VPY) -m pytest -q -m "" -n 2 --dist loadgroup

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(VPY) $$script || exit 1; done

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache runs
