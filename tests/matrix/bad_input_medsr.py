"""Bad input for `ganforge medsr ...` (see test_cli_bad_input.py).

Every train case names ``--run-dir {run}``: a bad call must not even start a run
folder (no latest.pt, no metrics.jsonl) nor write a model.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

TRAIN = "medsr train --dataset synthetic --out {out} --run-dir {run} --no-progress"

CASES = {
    "train on garbage": ("medsr train --images {garbage} --out {out} --no-progress", "garbage"),
    "train with batch size 0": (f"{TRAIN} --batch-size 0", "batch_size must be an integer >= 1"),
    "train with patch size 0": (
        f"{TRAIN} --patch-size 0",
        "patch_size must be a positive multiple of the scale 2, got 0",
    ),
    "train with a negative patch size": (f"{TRAIN} --patch-size -8", "patch_size must be"),
    "train with a patch size not a multiple of the scale": (
        f"{TRAIN} --scale 4 --patch-size 30",
        "positive multiple of the scale 4",
    ),
    "train with a patch too small for the discriminator": (
        f"{TRAIN} --patch-size 16",
        "use at least 24",
    ),
    "train with zero iterations in both stages": (
        f"{TRAIN} --pretrain-iterations 0 --adversarial-iterations 0",
        "nothing to train",
    ),
    "train with negative iterations": (
        f"{TRAIN} --adversarial-iterations -5",
        "adversarial_iterations must be an integer >= 0, got -5",
    ),
    "train with a zero batch size in the config": (f"{TRAIN} --config {{config}}", "batch_size"),
    "train with an unsupported scale": (f"{TRAIN} --scale 3", "--scale: invalid choice: 3"),
    "train with an unknown block": (f"{TRAIN} --block nope", "--block: invalid choice: 'nope'"),
    "train with zero generator blocks": (f"{TRAIN} --blocks 0", "num_blocks must be >= 1"),
    "train with a negative loss weight": (
        f"{TRAIN} --weight-l1 -1",
        "loss weight l1 must be >= 0, got -1.0",
    ),
    "train with an infinite loss weight": (
        f"{TRAIN} --weight-perceptual inf",
        "loss weight perceptual must be a finite number",
    ),
    "train with a loss weight that is no number in the config": (
        f"{TRAIN} --config {{text_weight}}",
        "loss weight roi must be a finite number, got 'high'",
    ),
    "train with an unknown adversarial loss": (
        f"{TRAIN} --adversarial-loss l2",
        "unknown loss 'l2'",
    ),
    "train with a pickled model as VGG weights": (
        f"{TRAIN} --vgg-weights {{pickled}}",
        "weights_only",
    ),
    "train with a raw pickle as VGG weights": (f"{TRAIN} --vgg-weights {{raw_pickle}}", "weights"),
    "train with VGG weights that hold no tensors": (
        f"{TRAIN} --vgg-weights {{no_tensors}}",
        "state dict of tensors",
    ),
    "train with missing VGG weights": (f"{TRAIN} --vgg-weights {{missing}}", "not found"),
    "train on an unknown device": (f"{TRAIN} --device tpu", "unknown device 'tpu'"),
    "train on an absent CUDA device": (f"{TRAIN} --device cuda:99", "'cuda:99'"),
    "train --resume without --run-dir": (
        "medsr train --dataset synthetic --out {out} --resume --no-progress",
        "--resume needs --run-dir",
    ),
    "train --resume with nothing to resume": (f"{TRAIN} --resume", "nothing to resume"),
    "train --checkpoint-every 0": (f"{TRAIN} --checkpoint-every 0", "--checkpoint-every"),
    "train into a file as the output folder": (
        "medsr train --dataset synthetic --out {garbage} --run-dir {run} --no-progress",
        "is a file",
    ),
    "enhance garbage model": (
        "medsr enhance --model {garbage} --input {garbage} --out {out}",
        "garbage",
    ),
    "enhance missing model": (
        "medsr enhance --model {missing} --input {garbage} --out {out}",
        "missing",
    ),
    "enhance with a model of another kind": (
        "medsr enhance --model {foreign_model} --input {scan} --out {out}.nii.gz",
        "holds a elsewhere.Model model, not a medsr.MedicalSR model",
    ),
    "enhance with a truncated model": (
        "medsr enhance --model {truncated_model} --input {scan} --out {out}.nii.gz",
        "is not a loadable checkpoint",
    ),
    "enhance with a model of a newer format": (
        "medsr enhance --model {newer_model} --input {scan} --out {out}.nii.gz",
        "newer than this ganforge reads",
    ),
    "enhance on an unknown device": (
        "medsr enhance --model {model} --input {scan} --out {out}.nii.gz --device tpu",
        "unknown device 'tpu'",
    ),
    "enhance on an absent CUDA device": (
        "medsr enhance --model {model} --input {scan} --out {out}.nii.gz --device cuda:99",
        "'cuda:99'",
    ),
    "enhance with roi size 0": (
        "medsr enhance --model {model} --input {scan} --out {out}.nii.gz --roi-size 0",
        "--roi-size: must be at least 1",
    ),
    "enhance with a negative roi size": (
        "medsr enhance --model {model} --input {scan} --out {out}.nii.gz --roi-size -4",
        "--roi-size",
    ),
    "enhance with threshold 0": (
        "medsr enhance --model {model} --input {scan} --out {out}.nii.gz --threshold 0",
        "--threshold: must be > 0",
    ),
    "enhance to a file that is not NIfTI": (
        "medsr enhance --model {model} --input {scan} --out {out}",
        "must be a .nii or .nii.gz file",
    ),
    "enhance garbage input": (
        "medsr enhance --model {model} --input {garbage} --out {out}.nii.gz",
        "could not read it as an image",
    ),
    "evaluate garbage model": ("medsr evaluate --model {garbage} --out {out}", "garbage"),
    "evaluate a model of another kind": (
        "medsr evaluate --model {model} {foreign_model} --out {out}",
        "holds a elsewhere.Model model, not a medsr.MedicalSR model",
    ),
    "evaluate a truncated model": (
        "medsr evaluate --model {truncated_model} --out {out}",
        "is not a loadable checkpoint",
    ),
    "evaluate a model of a newer format": (
        "medsr evaluate --model {newer_model} --out {out}",
        "newer than this ganforge reads",
    ),
    "evaluate on an unknown device": (
        "medsr evaluate --model {model} --out {out} --device tpu",
        "unknown device 'tpu'",
    ),
    "evaluate with threshold 0": (
        "medsr evaluate --model {model} --out {out} --threshold 0",
        "--threshold: must be > 0",
    ),
    "evaluate into a folder": ("medsr evaluate --model {model} --out {folder}", "is a folder"),
}


def files(tmp: Path) -> dict[str, Path]:
    """A model and a scan that are fine, and config / weights / model files that are not."""
    import nibabel as nib
    import numpy as np
    import torch

    from ganforge.medsr import GeneratorConfig, MedicalSR, SRGenerator

    config = tmp / "config.json"
    config.write_text(json.dumps({"batch_size": 0}))
    text_weight = tmp / "text_weight.json"
    text_weight.write_text(json.dumps({"weight_roi": "high"}))
    pickled = tmp / "vgg_pickled.pth"
    torch.save(torch.nn.Linear(2, 2), pickled)  # a whole module: unpickling would run code
    raw_pickle = tmp / "vgg_raw.pkl"
    raw_pickle.write_bytes(pickle.dumps({"features.0.weight": [1.0, 2.0]}))
    no_tensors = tmp / "vgg_no_tensors.pth"
    torch.save({"features.0.weight": 1.0}, no_tensors)
    tiny = GeneratorConfig(channels=4, num_blocks=1, block="residual")
    sr = MedicalSR(degradation="psf", generator=tiny)
    sr.generators = {"adversarial": SRGenerator(sr.spec.generator)}
    model = sr.save(tmp / "model.pt")
    scan = tmp / "scan.nii.gz"
    image = np.random.default_rng(0).random((16, 16)).astype(np.float32)
    nib.save(nib.Nifti1Image(image, np.eye(4)), scan)
    return {
        "config": config,
        "text_weight": text_weight,
        "pickled": pickled,
        "raw_pickle": raw_pickle,
        "no_tensors": no_tensors,
        "model": model,
        "scan": scan,
    }
