"""Which parts of scanner variation carry the gain on unseen scans: an ablation at x2.

Each variant trains the PSNR stage of the medsr_quality bench's model (the same
network, patches, learning rate and iterations, bicubic test degradation, one
thread) on the MNI152 train slabs with one :class:`ScannerVariation`, and is scored
like that bench (flip-TTA mean, consistency projection, gain over the best baseline)
on the held-out MNI152 slab and on pydicom's bundled MR / CT images. The variants
cross the operators the LR patches are made with (the declared one, or bicubic, PSF
and k-space drawn per patch) with where the noise goes (none, the LR as acquisition
noise up to 0.02, or the HR scan before degrading up to 0.02).

Writes bench/results/medsr_variation.json: per variant ``mni152_gain_db``,
``second_dataset_mean_gain_db``, ``second_dataset_worst_gain_db``, per image gains and
training seconds.

Usage: OMP_NUM_THREADS=1 python bench/medsr_variation.py [--pretrain N]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.core.files import write_json
from ganforge.medsr import GeneratorConfig, MedicalSR, evaluate, mni152_slices, pydicom_images
from ganforge.medsr.variation import ScannerVariation

RESULTS = Path(__file__).parent / "results" / "medsr_variation.json"
MIXED = ("bicubic", "psf", "kspace")
VARIANTS = {
    "mixed_operators_lr_noise": ScannerVariation(
        kinds=MIXED, scan_noise_std=0.0, lr_noise_std=0.02
    ),
    "declared_operator_lr_noise": ScannerVariation(scan_noise_std=0.0, lr_noise_std=0.02),
    "mixed_operators_no_noise": ScannerVariation(kinds=MIXED, scan_noise_std=0.0),
    "declared_operator_no_noise": ScannerVariation(scan_noise_std=0.0),
    "mixed_operators_scan_noise": ScannerVariation(kinds=MIXED),
    "declared_operator_scan_noise": ScannerVariation(),
}
DEFAULT = "declared_operator_scan_noise"


def run_variant(variation: ScannerVariation, pretrain: int) -> dict:
    """Train the PSNR stage with ``variation``; its gains on MNI152 and on pydicom."""
    torch.manual_seed(0)
    model = MedicalSR(
        scale=2,
        degradation="bicubic",
        generator=GeneratorConfig(channels=32, num_blocks=4, block="residual"),
        device="cpu",
    )
    model.variation = variation
    started = time.perf_counter()
    model.fit(
        mni152_slices("train"),
        pretrain_iterations=pretrain,
        adversarial_iterations=0,
        batch_size=8,
        patch_size=48,
        g_lr=5e-4,
        progress=False,
    )
    seconds = time.perf_counter() - started
    models = {"psnr_model": model.generators["pretrain"]}

    def gain(image: torch.Tensor) -> float:
        result = evaluate(image, models, model.degradation, tta=True)
        return float(result["psnr_model"]["gain_over_best_baseline_db"])

    unseen = {name: gain(image) for name, image in pydicom_images().items()}
    return {
        "mni152_gain_db": gain(mni152_slices("test")),
        "second_dataset_mean_gain_db": float(np.mean(list(unseen.values()))),
        "second_dataset_worst_gain_db": min(unseen.values()),
        "second_dataset": unseen,
        "train_seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrain", type=int, default=1000, help="PSNR-stage iterations")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON to write")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    variants = {}
    for name, variation in VARIANTS.items():
        variants[name] = {"variation": repr(variation), **run_variant(variation, args.pretrain)}
        print(name, json.dumps({k: v for k, v in variants[name].items() if k != "second_dataset"}))
    results = {
        "variants": variants,
        "default": DEFAULT,
        "config": {
            "scale": 2,
            "pretrain": args.pretrain,
            "network": "32 channels x 4 residual blocks, batch 8, LR patch 24, lr 5e-4",
            "evaluation": "flip TTA mean, consistency projection; gains over the best of "
            "bicubic and bicubic + consistency (as bench/medsr_quality.py)",
            "threads": 1,
            "wall_seconds": time.perf_counter() - started,
        },
    }
    write_json(args.out, results)


if __name__ == "__main__":
    main()
