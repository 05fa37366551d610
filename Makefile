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
# The tabular benchmark's peers (sdv's CTGAN, smartnoise-synth's MST and
# DPCTGAN) live in their own venv: smartnoise-synth pins opacus 0.14 and ctgan
# pins pandas < 3, which .venv cannot hold. bench/peers/run.py calls it.
PEERS_VENV  := .venv-peers
PEERS_PY    := $(PEERS_VENV)/bin/python
PEERS_STAMP := $(PEERS_VENV)/.peers-stamp
PEERS_TORCH := $(firstword $(TORCH))
PEERS_PKGS  := ctgan==0.12.1 smartnoise-synth==1.0.8

.PHONY: setup peers demo test test-all bench lint format clean

setup: $(STAMP)

$(STAMP): $(MANIFESTS)
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip setuptools wheel
	$(VPY) -m pip install -q $(TORCH)
	$(VPY) -m pip install -q --no-deps $(TORCHAUDIO)
	$(VPY) -m pip install -q -r requirements-dev.txt $(addprefix -e ./,$(PROJECTS))
	@touch $(STAMP)

peers: $(PEERS_STAMP)

$(PEERS_STAMP): Makefile
	@test -x $(PEERS_PY) || $(PY) -m venv $(PEERS_VENV)
	$(PEERS_PY) -m pip install -q --upgrade pip setuptools wheel
	$(PEERS_PY) -m pip install -q $(PEERS_TORCH) $(PEERS_PKGS)
	@touch $(PEERS_STAMP)

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
