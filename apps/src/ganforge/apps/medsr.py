"""`ganforge medsr train | enhance | evaluate`: medical super-resolution without hallucination."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.apps.common import (
    add_command_group,
    add_device_option,
    add_progress_option,
    add_run_options,
    merge_options,
    output_file,
    positive_float,
    positive_int,
    run_options,
)
from ganforge.apps.errors import UsageError
from ganforge.apps.specs import add_spec_options, spec_fields
from ganforge.core.report import ReportSection, loss_curves_figure
from ganforge.medsr import (
    DEFAULT_THRESHOLD,
    Enhancer,
    GeneratorConfig,
    LossWeights,
    MedicalSR,
    MedicalSRSpec,
    crop_to_multiple,
    evaluate,
    load_image,
    load_mask,
    mni152_slab,
    mni152_slices,
    output_paths,
    scale_intensity,
    shepp_logan,
    synthetic_images,
)

DATASETS = ("mni152", "shepp_logan", "synthetic")
MODEL_NAMES = {"pretrain": "psnr_model.pt", "adversarial": "gan_model.pt"}
# train's model options: the fields of MedicalSRSpec, GeneratorConfig and LossWeights.
# The data options make 2-D slices of one channel, so spatial_dims and in_channels
# keep their defaults; the generator takes scale and spatial_dims from the spec.
SPEC_SKIP = ("generator", "weights", "spatial_dims")
GENERATOR_SKIP = ("scale", "spatial_dims", "in_channels")
GENERATOR_ALIASES = {"num_blocks": "--blocks"}
WEIGHT_PREFIX = "weight_"
SPEC_KEYS = spec_fields(MedicalSRSpec, SPEC_SKIP)
GENERATOR_KEYS = spec_fields(GeneratorConfig, GENERATOR_SKIP)
WEIGHT_KEYS = spec_fields(LossWeights, prefix=WEIGHT_PREFIX)
MODEL_KEYS = SPEC_KEYS + GENERATOR_KEYS + WEIGHT_KEYS
SPEC = MedicalSRSpec()
#: How enhance and evaluate read and check their numbers, on the line and in a --config file.
NUMBERS: dict[str, Callable[[str], Any]] = {"roi_size": positive_int, "threshold": positive_float}
THRESHOLD_HELP = f"hallucination flag level (default {DEFAULT_THRESHOLD:g})"
SWITCHES = ("no_project", "no_tta", "overwrite")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ganforge medsr` group with train, enhance and evaluate."""
    add_command_group(
        subparsers,
        "medsr",
        help="medical image super-resolution (MONAI) with hallucination checks",
        description="Train a two-stage SR GAN, enhance NIfTI/DICOM/PNG images with data "
        "consistency and safety maps, evaluate against bicubic.",
        commands=(_add_train, _add_enhance, _add_evaluate),
    )


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train the PSNR-oriented and the GAN model",
        description="Two stages, as the two phases of one training run: pixel-loss "
        "pretraining, then adversarial fine-tuning. Writes psnr_model.pt and gan_model.pt "
        "in the --out folder, or only the final model to --out when it names a .pt file. "
        "With --run-dir the run keeps checkpoints there and a killed run continues with "
        "the same command plus --resume, to the identical model.",
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
    train.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder for psnr_model.pt and gan_model.pt, or a .pt file for the final model "
        "only (the GAN model; the PSNR model with --adversarial-iterations 0)",
    )
    train.add_argument(
        "--config",
        type=Path,
        help="JSON of model options (the flags from --scale to --weight-roi, with "
        "underscores: num_blocks, weight_l1, ...); flags given on the line override it",
    )
    add_progress_option(train)
    _add_model_options(train)
    add_run_options(train)
    train.set_defaults(handler=run_train)


def _add_model_options(train: argparse.ArgumentParser) -> None:
    """One flag per model setting: the spec's, the generator's and the loss weights."""
    add_spec_options(train, MedicalSRSpec, skip=SPEC_SKIP)
    add_spec_options(train, GeneratorConfig, skip=GENERATOR_SKIP, aliases=GENERATOR_ALIASES)
    add_spec_options(train, LossWeights, prefix=WEIGHT_PREFIX)


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
    enhance.add_argument(
        "--roi-size",
        type=positive_int,
        help="tile in LR voxels per axis (default 256; 64 in 3-D); the output is the same "
        "for every size (tiles carry the network's receptive field), only memory and speed change",
    )
    enhance.add_argument("--threshold", type=positive_float, help=THRESHOLD_HELP)
    add_device_option(enhance, default=None)
    # default None, not False: a switch left off the line keeps the --config value
    switches = {"default": None, "action": "store_true"}
    enhance.add_argument("--no-project", **switches, help="skip data consistency")
    enhance.add_argument("--no-tta", **switches, help="skip the uncertainty map")
    enhance.add_argument("--overwrite", **switches, help="replace existing outputs")
    enhance.add_argument("--config", type=Path, help="JSON with any of the options above")
    enhance.set_defaults(handler=run_enhance)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="PSNR / SSIM / flagged area vs bicubic",
        description="Degrade held-out HR images with the model's degradation, enhance them "
        "and compare; writes a JSON report. A 2-D model evaluates volumes slice by slice "
        "(axial, last axis); a 3-D model evaluates whole volumes (in exact 3-D tiles).",
    )
    ev.add_argument("--model", type=Path, nargs="+", required=True, help="model file(s)")
    ev.add_argument(
        "--hr",
        type=Path,
        nargs="+",
        help="HR images or volumes of one size (NIfTI / DICOM folders / PNG; default: the "
        "MNI152 test slab, as slices for 2-D models and as a volume for 3-D models)",
    )
    ev.add_argument("--out", type=output_file, required=True, help="JSON report to write")
    ev.add_argument("--threshold", type=positive_float, help=THRESHOLD_HELP)
    add_device_option(ev, default=None)
    ev.add_argument("--config", type=Path, help="JSON with threshold and device")
    ev.set_defaults(handler=run_evaluate)


# ----------------------------------------------------------------- handlers
def _merged(
    arguments: argparse.Namespace, keys: tuple[str, ...], defaults: dict[str, Any]
) -> dict[str, Any]:
    """Defaults < --config < flags, each number and switch checked as its flag is
    (enhance and evaluate: their options are no spec's fields)."""
    options = merge_options(arguments, keys, defaults)
    for key, value in options.items():
        if key in NUMBERS:
            options[key] = _number(key, value, NUMBERS[key])
        elif key in SWITCHES and not isinstance(value, bool):
            raise UsageError(f"{key} must be true or false, got {value!r}")
        elif key == "device" and not isinstance(value, str):
            raise UsageError(f"device must be auto, cpu, cuda or cuda:N, got {value!r}")
    return options


def _number(key: str, value: Any, kind: Callable[[str], Any]) -> Any:
    """``value`` (from a flag or a JSON config) read by the flag's type, one-line errors."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{key} must be a number, got {value!r}")
    try:
        return kind(str(value))
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"{key} {error}") from None


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
    """Check every option and file, then train and write the model file(s)."""
    settings = _train_settings(merge_options(arguments, MODEL_KEYS, {}))
    run = run_options(arguments)
    model = MedicalSR(**settings)
    targets = _model_targets(arguments.out, model.spec.stages)
    roi = _train_roi(arguments)
    hr = _train_data(arguments, model.spec.scale)
    if model.spec.vgg_weights is None:
        print("perceptual term: no VGG weights given, using the offline random-feature fallback")
    model.fit(
        hr,
        roi=roi,
        progress=not arguments.no_progress,
        run_dir=run.run_dir,
        checkpoint_every=run.checkpoint_every,
        resume_from=run.resume_from,
    )
    for stage, path in targets.items():
        print(f"wrote {model.save(path, stage=stage)}")
    return 0


def _train_settings(options: dict[str, Any]) -> dict[str, Any]:
    """The merged flat options as MedicalSR settings, with the generator's and the
    loss weights' nested; the spec checks them all when the model is made."""
    settings = dict(options)
    generator = {key: settings.pop(key) for key in GENERATOR_KEYS if key in settings}
    weights = {
        key.removeprefix(WEIGHT_PREFIX): settings.pop(key) for key in WEIGHT_KEYS if key in settings
    }
    return {**settings, "generator": generator, "weights": weights}


def _model_targets(out: Path, stages: tuple[str, ...]) -> dict[str, Path]:
    """Where train writes its models: a ``.pt`` file gets the final one, a folder all."""
    if out.suffix == ".pt":
        if out.is_dir():
            raise UsageError(f"--out {out} is a folder: give a .pt file name or a folder name")
        return {stages[-1]: out}
    if out.exists() and not out.is_dir():
        raise UsageError(
            f"--out {out} is a file: give a folder, or a .pt file for the final model only"
        )
    return {stage: out / MODEL_NAMES[stage] for stage in stages}


ENHANCE_KEYS = ("roi_size", "threshold", "no_project", "no_tta", "overwrite", "device")
MODEL_DEFAULTS = {"threshold": DEFAULT_THRESHOLD, "device": SPEC.device}


def run_enhance(arguments: argparse.Namespace) -> int:
    """Check the model, the input and the outputs, then enhance and write all outputs."""
    options = _merged(arguments, ENHANCE_KEYS, MODEL_DEFAULTS)
    enhancer = Enhancer.from_file(
        arguments.model,
        device=options["device"],
        roi_size=options.get("roi_size"),
        threshold=options["threshold"],
        project=not options.get("no_project", False),
        tta=not options.get("no_tta", False),
    )
    image = load_image(arguments.input)
    overwrite = bool(options.get("overwrite", False))
    output_paths(arguments.out, image.path, overwrite)
    result = enhancer.enhance(image)
    paths = result.save(arguments.out, overwrite=overwrite)
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
    """Load every model, then degrade, enhance and compare the held-out images."""
    options = _merged(arguments, tuple(MODEL_DEFAULTS), MODEL_DEFAULTS)
    loaded = {path.stem: MedicalSR.load(path, options["device"]) for path in arguments.model}
    degradations = {model.degradation for model in loaded.values()}
    if len(degradations) != 1:
        raise UsageError("the models use different degradations; evaluate them separately")
    degradation = degradations.pop()
    hr = _evaluation_data(arguments.hr, degradation.scale, degradation.spatial_dims)
    models = {name: model.generator() for name, model in loaded.items()}
    result = evaluate(
        hr,
        models,
        degradation,
        threshold=options["threshold"],
        out_path=arguments.out,
        device=options["device"],
    )
    print(json.dumps(result, indent=2))
    return 0


# --------------------------------------------------------------------- demo
def demo(out_dir: Path) -> ReportSection:
    """A short x2 k-space run on the MNI152 train slabs, evaluated on the test slab."""
    import matplotlib.pyplot as plt

    model = MedicalSR(
        scale=2,
        degradation="kspace",
        generator=GeneratorConfig(channels=16, num_blocks=2, block="residual"),
        pretrain_iterations=60,
        adversarial_iterations=20,
        batch_size=4,
        patch_size=48,
        g_lr=1e-3,
        device="cpu",
    )
    model.fit(mni152_slices("train"), progress=False)
    test = mni152_slices("test")[8:12]
    metrics = evaluate(
        test,
        {"psnr_model": model.generator("pretrain"), "gan_model": model.generator("adversarial")},
        model.degradation,
        device="cpu",
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
        if isinstance(values, dict)
        for key, value in values.items()
    }
    flat["best baseline"] = metrics["best_baseline"]
    return ReportSection(
        title="medsr: MRI super-resolution x2 (MNI152, k-space truncation)",
        metrics=flat,
        figures={
            "LR / SR / HR / hallucination map": figure,
            "pretraining losses": loss_curves_figure(model.stage_history("pretrain")),
            "adversarial losses": loss_curves_figure(model.stage_history("adversarial")),
        },
        text="A tiny generator trained for a few seconds on the MNI152 train slabs and "
        "evaluated on the held-out test slab; outputs are projected onto the measured "
        "k-space, and voxels where the output departs from the input or from HR by more "
        "than 0.01 are flagged.",
    )
