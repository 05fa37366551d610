"""`ganforge medsr train | enhance | evaluate`: medical super-resolution without hallucination."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.apps.errors import UsageError
from ganforge.core.report import ReportSection, loss_curves_figure
from ganforge.medsr import (
    SUPPORTED_SCALES,
    Enhancer,
    GeneratorConfig,
    MedicalSR,
    crop_to_multiple,
    evaluate,
    load_image,
    load_mask,
    load_model,
    mni152_slab,
    mni152_slices,
    scale_intensity,
    shepp_logan,
    synthetic_images,
)

DATASETS = ("mni152", "shepp_logan", "synthetic")
DEGRADATIONS = ("kspace", "psf", "bicubic")
TRAIN_KEYS = (
    "scale",
    "degradation",
    "noise_std",
    "pretrain_iterations",
    "adversarial_iterations",
    "batch_size",
    "patch_size",
    "channels",
    "blocks",
    "block",
    "vgg_weights",
    "seed",
    "device",
)
TRAIN_DEFAULTS: dict[str, Any] = {
    "scale": 2,
    "degradation": "kspace",
    "noise_std": 0.0,
    "pretrain_iterations": 2000,
    "adversarial_iterations": 1000,
    "batch_size": 16,
    "patch_size": 64,
    "channels": 32,
    "blocks": 4,
    "block": "rrdb",
    "vgg_weights": None,
    "seed": 0,
    "device": "auto",
}


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ganforge medsr` group with train, enhance and evaluate."""
    group = subparsers.add_parser(
        "medsr",
        help="medical image super-resolution (MONAI) with hallucination checks",
        description="Train a two-stage SR GAN, enhance NIfTI/DICOM/PNG images with data "
        "consistency and safety maps, evaluate against bicubic.",
    )
    commands = group.add_subparsers(
        dest="medsr_command", metavar="<subcommand>", parser_class=type(group)
    )
    commands.required = True
    _add_train(commands)
    _add_enhance(commands)
    _add_evaluate(commands)


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train the PSNR-oriented and the GAN model",
        description="Two stages: pixel-loss pretraining, then adversarial fine-tuning. "
        "Writes psnr_model.pt and gan_model.pt (and trainer checkpoints) in --out.",
    )
    source = train.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset",
        choices=DATASETS,
        help="embedded HR data (default mni152: the train slabs of the MNI152 T1 template)",
    )
    source.add_argument(
        "--images", type=Path, nargs="+", help="HR NIfTI / DICOM folders / PNG files of equal size"
    )
    train.add_argument(
        "--roi-mask",
        type=Path,
        nargs="+",
        help="region-of-interest masks (NIfTI / PNG, values in [0, 1]) on the same grid as "
        "--images: one per image, or one shared by all; switches on the ROI-weighted MSE term",
    )
    train.add_argument("--out", type=Path, required=True, help="folder for the model files")
    train.add_argument("--scale", type=int, help="upsampling factor: 2 or 4 (default 2)")
    train.add_argument(
        "--degradation", choices=DEGRADATIONS, help="how LR inputs are made (default kspace: MRI)"
    )
    train.add_argument("--noise-std", type=float, help="LR noise std in [0,1] units (default 0)")
    train.add_argument("--pretrain-iterations", type=int, help="PSNR stage length (default 2000)")
    train.add_argument("--adversarial-iterations", type=int, help="GAN stage length (default 1000)")
    train.add_argument("--batch-size", type=int, help="patches per batch (default 16)")
    train.add_argument("--patch-size", type=int, help="HR patch size (default 64)")
    train.add_argument("--channels", type=int, help="generator feature channels (default 32)")
    train.add_argument("--blocks", type=int, help="generator blocks (default 4)")
    train.add_argument("--block", choices=("rrdb", "residual"), help="block type (default rrdb)")
    train.add_argument(
        "--vgg-weights",
        type=Path,
        help="local torchvision VGG19 weights for the perceptual term "
        "(default: offline random-feature fallback)",
    )
    train.add_argument("--seed", type=int, help="random seed (default 0)")
    train.add_argument("--device", help="auto, cpu or cuda (default auto)")
    train.add_argument(
        "--config", type=Path, help=f"JSON of options ({', '.join(TRAIN_KEYS)}); flags override it"
    )
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.set_defaults(handler=run_train)


def _add_enhance(commands: argparse._SubParsersAction) -> None:
    enhance = commands.add_parser(
        "enhance",
        help="super-resolve an image or volume",
        description="Writes the enhanced NIfTI plus *_hallucination, *_uncertainty and "
        "*_report.json beside it; never overwrites the input.",
    )
    enhance.add_argument("--model", type=Path, required=True, help="model file from train")
    enhance.add_argument(
        "--input", type=Path, required=True, help="NIfTI file, DICOM series folder or PNG"
    )
    enhance.add_argument("--out", type=Path, required=True, help="output .nii or .nii.gz")
    enhance.add_argument("--roi-size", type=int, help="sliding window in LR voxels")
    enhance.add_argument(
        "--threshold", type=float, default=0.01, help="hallucination flag level (default 0.01)"
    )
    enhance.add_argument("--no-project", action="store_true", help="skip data consistency")
    enhance.add_argument("--no-tta", action="store_true", help="skip the uncertainty map")
    enhance.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    enhance.add_argument("--config", type=Path, help="JSON with any of the options above")
    enhance.set_defaults(handler=run_enhance)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="PSNR / SSIM / flagged area vs bicubic",
        description="Degrade held-out HR images with the model's degradation, enhance them "
        "and compare; writes a JSON report. A 2-D model evaluates volumes slice by slice "
        "(axial, last axis); a 3-D model evaluates whole volumes with a 3-D sliding window.",
    )
    ev.add_argument("--model", type=Path, nargs="+", required=True, help="model file(s)")
    ev.add_argument(
        "--hr",
        type=Path,
        nargs="+",
        help="HR images or volumes of one size (NIfTI / DICOM folders / PNG; default: the "
        "MNI152 test slab, as slices for 2-D models and as a volume for 3-D models)",
    )
    ev.add_argument("--out", type=Path, required=True, help="JSON report to write")
    ev.add_argument("--threshold", type=float, default=0.01, help="hallucination flag level")
    ev.add_argument("--config", type=Path, help="JSON with threshold")
    ev.set_defaults(handler=run_evaluate)


# ----------------------------------------------------------------- handlers
def _read_config(path: Path | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"no such config file: {path}") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"config {path} is not valid JSON: {error.msg}") from None
    if not isinstance(value, dict):
        raise UsageError(f"config {path} must hold a JSON object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise UsageError(f"unknown config keys {unknown}: use {', '.join(allowed)}")
    return value


def _merged(arguments: argparse.Namespace, keys: tuple[str, ...], defaults: dict) -> dict:
    options = {**defaults, **_read_config(arguments.config, keys)}
    for key in keys:
        flag = getattr(arguments, key, None)
        if flag is not None:
            options[key] = flag
    return options


def _as_slices(array: np.ndarray, multiple: int) -> torch.Tensor:
    """A 2-D image or a 3-D volume as (N, 1, H, W) slices along the last axis, cropped."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    tensor = tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    return crop_to_multiple(tensor[:, None].contiguous(), multiple, 2)


def _same_size(tensors: list[torch.Tensor], what: str) -> torch.Tensor:
    shapes = {tuple(t.shape[2:]) for t in tensors}
    if len(shapes) != 1:
        raise UsageError(f"{what} differ in size {sorted(shapes)}; crop them to one size")
    return torch.cat(tensors)


def _hr_images(paths: list[Path], multiple: int) -> torch.Tensor:
    """Stack user HR files as (N, 1, H, W) slices in [0, 1]."""
    slices = [_as_slices(scale_intensity(load_image(path).array), multiple) for path in paths]
    return _same_size(slices, "training images")


def _hr_volumes(paths: list[Path], multiple: int) -> torch.Tensor:
    """Stack user HR volumes as (N, 1, X, Y, Z) in [0, 1] (3-D models)."""
    volumes = []
    for path in paths:
        array = scale_intensity(load_image(path).array)
        if array.ndim != 3:
            raise UsageError(f"{path}: a 3-D model needs 3-D volumes, got a 2-D image")
        volumes.append(crop_to_multiple(torch.from_numpy(array)[None, None], multiple, 3))
    return _same_size(volumes, "volumes")


def _roi_masks(masks: list[Path], images: list[Path], multiple: int) -> torch.Tensor:
    """ROI masks aligned with ``images`` (one each, or one for all), sliced like them."""
    if len(masks) not in (1, len(images)):
        raise UsageError(
            f"got {len(masks)} roi masks for {len(images)} images: give one per image or one"
        )
    pairs = zip(masks * len(images) if len(masks) == 1 else masks, images, strict=True)
    slices = []
    for mask_path, image_path in pairs:
        mask, shape = load_mask(mask_path), load_image(image_path).array.shape
        if mask.shape != shape:
            raise UsageError(
                f"roi mask {mask_path} has shape {mask.shape} but image {image_path} has "
                f"shape {shape}; the mask must be on the same voxel grid as its image"
            )
        slices.append(_as_slices(mask, multiple))
    return torch.cat(slices)


def _train_roi(arguments: argparse.Namespace) -> torch.Tensor | None:
    if not arguments.roi_mask:
        return None
    if not arguments.images:
        raise UsageError("--roi-mask needs --images: the masks must be aligned with your images")
    return _roi_masks(arguments.roi_mask, arguments.images, 4)


def _train_data(arguments: argparse.Namespace, scale: int) -> torch.Tensor:
    if arguments.images:
        return _hr_images(arguments.images, 4)
    dataset = arguments.dataset or "mni152"
    if dataset == "mni152":
        return mni152_slices("train")
    if dataset == "shepp_logan":
        return shepp_logan(256)
    return synthetic_images(32, 128)


def run_train(arguments: argparse.Namespace) -> int:
    options = _merged(arguments, TRAIN_KEYS, TRAIN_DEFAULTS)
    if options["scale"] not in SUPPORTED_SCALES:
        raise UsageError(f"--scale must be one of {SUPPORTED_SCALES}, got {options['scale']}")
    if options["vgg_weights"] is None:
        print("perceptual term: no VGG weights given, using the offline random-feature fallback")
    generator = GeneratorConfig(
        channels=options["channels"], num_blocks=options["blocks"], block=options["block"]
    )
    model = MedicalSR(
        scale=options["scale"],
        degradation=options["degradation"],
        noise_std=options["noise_std"],
        generator=generator,
        vgg_weights=options["vgg_weights"],
        device=options["device"],
        seed=options["seed"],
    )
    roi = _train_roi(arguments)
    hr = _train_data(arguments, options["scale"])
    model.fit(
        hr,
        pretrain_iterations=options["pretrain_iterations"],
        adversarial_iterations=options["adversarial_iterations"],
        batch_size=options["batch_size"],
        patch_size=options["patch_size"],
        run_dir=arguments.out,
        progress=not arguments.no_progress,
        roi=roi,
    )
    for name in ("psnr_model.pt", "gan_model.pt"):
        if (arguments.out / name).exists():
            print(f"wrote {arguments.out / name}")
    return 0


ENHANCE_KEYS = ("roi_size", "threshold", "no_project", "no_tta", "overwrite")


def run_enhance(arguments: argparse.Namespace) -> int:
    options = _merged(arguments, ENHANCE_KEYS, {})
    enhancer = Enhancer.from_file(
        arguments.model,
        roi_size=options.get("roi_size"),
        threshold=options.get("threshold", 0.01),
        project=not options.get("no_project", False),
        tta=not options.get("no_tta", False),
    )
    result = enhancer.enhance(arguments.input)
    paths = result.save(arguments.out, overwrite=bool(options.get("overwrite", False)))
    for key, path in paths.items():
        print(f"{key}: {path}")
    print(json.dumps(result.metrics, indent=2))
    return 0


def _evaluation_data(paths: list[Path] | None, scale: int, spatial_dims: int) -> torch.Tensor:
    """Held-out HR data: (N, 1, H, W) slices for 2-D models, (N, 1, X, Y, Z) for 3-D ones."""
    if spatial_dims == 3:
        return _hr_volumes(paths, scale) if paths else mni152_slab("test", scale)
    return _hr_images(paths, scale) if paths else mni152_slices("test", scale)


def run_evaluate(arguments: argparse.Namespace) -> int:
    options = _merged(arguments, ("threshold",), {"threshold": 0.01})
    loaded = [load_model(path) for path in arguments.model]
    degradations = {degradation for _, degradation, _ in loaded}
    if len(degradations) != 1:
        raise UsageError("the models use different degradations; evaluate them separately")
    degradation = degradations.pop()
    hr = _evaluation_data(arguments.hr, degradation.scale, degradation.spatial_dims)
    models = {
        f"{path.stem}": generator
        for path, (generator, _, _) in zip(arguments.model, loaded, strict=True)
    }
    result = evaluate(
        hr, models, degradation, threshold=options["threshold"], out_path=arguments.out
    )
    print(json.dumps(result, indent=2))
    return 0


# --------------------------------------------------------------------- demo
def demo(out_dir: Path) -> ReportSection:
    """A short x2 k-space run on the MNI152 train slabs, evaluated on the test slab."""
    import matplotlib.pyplot as plt

    torch.manual_seed(0)
    model = MedicalSR(
        scale=2,
        degradation="kspace",
        generator=GeneratorConfig(channels=16, num_blocks=2, block="residual"),
        device="cpu",
    )
    model.fit(
        mni152_slices("train"),
        pretrain_iterations=60,
        adversarial_iterations=20,
        batch_size=4,
        patch_size=48,
        progress=False,
        g_lr=1e-3,
    )
    test = mni152_slices("test")[8:12]
    metrics = evaluate(
        test,
        {"psnr_model": model.generators["pretrain"], "gan_model": model.generators["adversarial"]},
        model.degradation,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "medsr_gan_model.pt", stage="adversarial")
    hr = test[1:2]
    lr = model.degradation(hr)
    result = model.enhancer("adversarial", tta=True, normalize=False).enhance(
        lr[0, 0].numpy(), hr=hr[0, 0].numpy()
    )
    figure, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    panels = [
        ("LR (k-space x2)", lr[0, 0].numpy()),
        ("SR (GAN + consistency)", result.arrays["sr"]),
        ("HR", hr[0, 0].numpy()),
        ("hallucination map", result.arrays["hallucination"]),
    ]
    for axis, (title, image) in zip(axes, panels, strict=True):
        shown = axis.imshow(image.T, cmap="magma" if "map" in title else "gray", origin="lower")
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    figure.colorbar(shown, ax=axes[-1], fraction=0.046)
    figure.tight_layout()
    flat = {
        f"{method}/{key}": round(value, 4)
        for method, values in metrics.items()
        for key, value in values.items()
    }
    return ReportSection(
        title="medsr: MRI super-resolution x2 (MNI152, k-space truncation)",
        metrics=flat,
        figures={
            "LR / SR / HR / hallucination map": figure,
            "pretraining losses": loss_curves_figure(model.history["pretrain"]),
            "adversarial losses": loss_curves_figure(model.history["adversarial"]),
        },
        text="A tiny generator trained for a few seconds on the MNI152 train slabs and "
        "evaluated on the held-out test slab; outputs are projected onto the measured "
        "k-space, and voxels where the output departs from the input or from HR by more "
        "than 0.01 are flagged.",
    )
