"""Bad input for `ganforge tabular ...` (see test_cli_bad_input.py)."""

import json
from pathlib import Path

FIT = "tabular fit --out {out} --no-progress "
GOOD_ROWS = "\n".join(f"{i % 7}.5,{'ab'[i % 2]}" for i in range(40))


def files(tmp: Path) -> dict[str, Path]:
    """Configs with bad values and CSV files with bad content."""
    made = {}
    configs = {
        "zero_width": {"hidden": [0]},
        "fractional_width": {"hidden": [1.5]},
        "negative_clip": {"max_grad_norm": -1},
        "negative_noise": {"noise_multiplier": -1},
        "zero_epochs": {"epochs": 0},
        "unknown_key": {"hidden_size": 3},
    }
    for name, config in configs.items():
        made[name] = tmp / f"{name}.json"
        made[name].write_text(json.dumps(config))
    tables = {
        "infinite_csv": "x,c\n" + GOOD_ROWS + "\ninf,a\n",
        "truncated_csv": "x,c\n" + GOOD_ROWS + "\n3.5",
        "good_csv": "x,c\n" + GOOD_ROWS + "\n",
    }
    for name, text in tables.items():
        made[name] = tmp / f"{name}.csv"
        made[name].write_text(text)
    return made


CASES = {
    "fit on garbage": (FIT + "--data {garbage}", "garbage"),
    "fit on a folder": (FIT + "--data {folder}", "is a folder"),
    "fit with a garbage config": (FIT + "--dataset fair --config {garbage}", "config"),
    "fit with an unknown config key": (FIT + "--dataset fair --config {unknown_key}", "unknown"),
    "fit with hidden [0]": (FIT + "--dataset fair --config {zero_width}", "hidden must be"),
    "fit with a fractional width": (
        FIT + "--dataset fair --config {fractional_width}",
        "hidden must be",
    ),
    "fit with max_grad_norm -1 (config)": (
        FIT + "--dataset fair --config {negative_clip}",
        "max_grad_norm must be",
    ),
    "fit with --max-grad-norm -1": (
        FIT + "--dataset fair --max-grad-norm -1",
        "max_grad_norm must",
    ),
    "fit with noise_multiplier -1 (config)": (
        FIT + "--dataset fair --config {negative_noise}",
        "noise_multiplier must be",
    ),
    "fit with --noise-multiplier -1": (
        FIT + "--dataset fair --noise-multiplier -1",
        "noise_multiplier must",
    ),
    "fit with --noise-multiplier 0": (
        FIT + "--dataset fair --noise-multiplier 0",
        "noise_multiplier must",
    ),
    "fit with --epsilon inf": (FIT + "--dataset fair --epsilon inf", "finite"),
    "fit with --epsilon nan": (FIT + "--dataset fair --epsilon nan", "finite"),
    "fit with --epsilon -1": (
        FIT + "--dataset fair --epsilon -1",
        "epsilon must be a finite number > 0",
    ),
    "fit with --delta 0.9": (FIT + "--dataset fair --delta 0.9", "not below 1/n"),
    "fit with delta >= 1/n": (FIT + "--dataset fair --delta 0.001", "not below 1/n"),
    "fit with --epochs 0": (FIT + "--dataset fair --epochs 0", "epochs must be"),
    "fit with --epochs -1": (FIT + "--dataset fair --epochs -1", "epochs must be"),
    "fit with epochs 0 (config)": (FIT + "--dataset fair --config {zero_epochs}", "epochs must"),
    "fit with --batch-size 0": (FIT + "--dataset fair --batch-size 0", "batch_size must be"),
    "fit with --device tpu": (FIT + "--dataset fair --device tpu", "unknown device"),
    "fit with --hidden 0": (FIT + "--dataset fair --hidden 64 0", "hidden must be"),
    "fit with --hidden x": (FIT + "--dataset fair --hidden x", "must be an integer"),
    "fit with --loss hinge": (FIT + "--dataset fair --loss hinge", "invalid choice"),
    "fit on a CSV with infinities": (FIT + "--data {infinite_csv}", "infinite"),
    "fit on a CSV cut mid-row": (FIT + "--data {truncated_csv}", "truncated"),
    "fit with --out a folder": (
        "tabular fit --dataset fair --no-progress --out {folder}",
        "is a folder",
    ),
    "fit --resume without --run-dir": (FIT + "--dataset fair --resume", "needs --run-dir"),
    "fit --resume with nothing to resume": (
        FIT + "--dataset fair --run-dir {run} --resume",
        "nothing to resume",
    ),
    "sample garbage model": ("tabular sample --model {garbage} --rows 10 --out {out}", "garbage"),
    "sample a CSV as model": (
        "tabular sample --model {good_csv} --rows 10 --out {out}",
        "good_csv",
    ),
    "sample a model of another kind": (
        "tabular sample --model {foreign_model} --rows 10 --out {out}",
        "holds a elsewhere.Model model, not a tabular-marginals or tabular.DPTabularGAN",
    ),
    "sample a newer model format": (
        "tabular sample --model {newer_model} --rows 10 --out {out}",
        "upgrade ganforge",
    ),
    "sample a truncated model": (
        "tabular sample --model {truncated_model} --rows 10 --out {out}",
        "not a loadable checkpoint",
    ),
    "sample on an unknown device": (
        "tabular sample --model {garbage} --rows 10 --out {out} --device tpu",
        "unknown device",
    ),
    "sample zero rows": ("tabular sample --model {garbage} --rows 0 --out {out}", "at least 1"),
    "sample into a folder": (
        "tabular sample --model {garbage} --rows 10 --out {folder}",
        "is a folder",
    ),
    "evaluate garbage": (
        "tabular evaluate --train {garbage} --holdout {garbage} --synthetic {garbage} --out {out}",
        "garbage",
    ),
    "evaluate a CSV with infinities": (
        "tabular evaluate --train {good_csv} --holdout {good_csv} --synthetic {infinite_csv} "
        "--out {out}",
        "infinite",
    ),
    "evaluate a truncated CSV": (
        "tabular evaluate --train {truncated_csv} --holdout {good_csv} --synthetic {good_csv} "
        "--out {out}",
        "truncated",
    ),
    "evaluate into a folder": (
        "tabular evaluate --train {good_csv} --holdout {good_csv} --synthetic {good_csv} "
        "--out {folder}",
        "is a folder",
    ),
}
