"""Bad input for `ganforge finance ...` (see test_cli_bad_input.py).

``files(tmp)`` writes the inputs these cases name: price tables (whole, cut
mid-row, with an infinite price...), synthetic path tables (truncated, with
NaN or infinite returns...), JSON configs with bad values, a tiny
unconditional levels model for the options a model refuses, and bad model
files (a core model file of another kind, a truncated one, a newer format).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TRAIN = "finance train --out {out} --run-dir {run} --no-progress"
SAMPLE = "finance sample --out {out}"
EVALUATE = "finance evaluate --out {out} --no-baselines"
TRUNCATED = "has 2 fields, the header has 3: the file is truncated"

CASES = {
    # -- train: the data file
    "train on garbage": ("finance train --data {garbage} --out {out} --no-progress", "garbage"),
    "train on a missing file": (f"{TRAIN} --data {{missing}}", "no such CSV file"),
    "train on a folder": (f"{TRAIN} --data {{folder}}", "is a folder"),
    "train on a CSV cut mid-row": (
        f"{TRAIN} --data {{cut_row}}",
        f"cut_row.csv line 41 {TRUNCATED}",
    ),
    "train on a CSV whose last row is a bare date": (
        f"{TRAIN} --data {{cut_date}}",
        "cut_date.csv line 41 has 1 fields",
    ),
    "train on an infinite price": (
        f"{TRAIN} --data {{infinite}}",
        "infinite.csv: columns ['Close'] hold infinite values",
    ),
    "train on an empty CSV": (f"{TRAIN} --data {{empty}}", "empty.csv as CSV"),
    "train on too few rows": (
        f"{TRAIN} --data {{prices}} --seq-len 50",
        "prices.csv: 40 rows is too few for windows of 50",
    ),
    "train a batch larger than the data": (
        f"{TRAIN} --data {{prices}}",
        "prices.csv gives 17 windows, fewer than batch_size 128",
    ),
    "train returns of non-positive prices": (
        f"{TRAIN} --data {{negative}} --mode returns --seq-len 4",
        "negative.csv: prices must be positive",
    ),
    "train with gaps and --missing raise": (
        f"{TRAIN} --data {{gaps}} --missing raise --seq-len 4",
        "gaps.csv: 1 missing values",
    ),
    "train an unknown column": (
        f"{TRAIN} --data {{prices}} --columns Nope --seq-len 4",
        "prices.csv: unknown columns ['Nope']",
    ),
    "train an unknown date column": (
        f"{TRAIN} --data {{prices}} --date-column when --seq-len 4",
        "date column 'when' not found",
    ),
    "train VIX regimes outside the VIX years": (
        f"{TRAIN} --data {{prices}} --regimes vix --seq-len 4",
        "prices.csv: no date overlaps the bundled VIX",
    ),
    "train an unknown regime kind": (f"{TRAIN} --regimes panic", "argument --regimes"),
    # -- train: sizes and paths
    "train a one-day window": (f"{TRAIN} --seq-len 1", "seq_len must be an integer >= 2, got 1"),
    "train a zero stride": (f"{TRAIN} --stride 0", "--stride: must be at least 1"),
    "train zero iterations": (f"{TRAIN} --iterations 0", "--iterations: must be at least 1"),
    "train a non-integer iteration count": (f"{TRAIN} --iterations 1.5", "must be an integer"),
    "train a negative seed": (f"{TRAIN} --seed -1", "seed must be an integer >= 0, got -1"),
    "train a text hidden size": (f"{TRAIN} --hidden-dim two", "--hidden-dim: must be an integer"),
    "train an unknown cell": (f"{TRAIN} --cell rnn", "argument --cell: invalid choice: 'rnn'"),
    "train on an unknown device": (f"{TRAIN} --device tpu", "unknown device 'tpu'"),
    "train into a folder": (
        "finance train --out {folder} --run-dir {run} --no-progress",
        "is a folder: give a file name",
    ),
    # -- train: the config file
    "train with a garbage config": (f"{TRAIN} --config {{garbage}}", "config"),
    "train with an unknown config key": (f"{TRAIN} --config {{unknown_key}}", "hiden_dim"),
    "train a zero hidden size": (f"{TRAIN} --config {{zero_hidden}}", "hidden_dim must be"),
    "train a NaN learning rate": (f"{TRAIN} --config {{nan_lr}}", "lr must be a finite number"),
    "train a zero batch size": (f"{TRAIN} --config {{zero_batch}}", "batch_size must be"),
    "train a text layer count": (f"{TRAIN} --config {{text_layers}}", "num_layers must be"),
    "train an unknown cell in the config": (
        f"{TRAIN} --config {{bad_cell}}",
        "cell must be 'gru' or 'lstm'",
    ),
    "train an unknown device": (f"{TRAIN} --config {{bad_device}}", "unknown device 'tpu'"),
    "train stepwise on min-max scaling": (
        f"{TRAIN} --config {{stepwise_minmax}}",
        "set scaling='standardize'",
    ),
    # -- train: checkpoints and resume
    "train --resume without --run-dir": (
        "finance train --resume --out {out} --no-progress",
        "--resume needs --run-dir",
    ),
    "train --resume with nothing to resume": (f"{TRAIN} --resume", "nothing to resume"),
    "train --checkpoint-every without --run-dir": (
        "finance train --checkpoint-every 5 --out {out} --no-progress",
        "--checkpoint-every needs --run-dir",
    ),
    "train --checkpoint-every 0": (
        f"{TRAIN} --checkpoint-every 0",
        "--checkpoint-every: must be at least 1",
    ),
    "train with a file as --run-dir": (
        "finance train --run-dir {garbage} --out {out} --no-progress",
        "is a file, not a folder",
    ),
    # -- sample
    "sample garbage model": ("finance sample --model {garbage} --out {out}", "garbage"),
    "sample missing model": ("finance sample --model {missing} --out {out}", "missing"),
    "sample a CSV as a model": (f"{SAMPLE} --model {{prices}}", "prices.csv is not a loadable"),
    "sample a model of another kind": (
        f"{SAMPLE} --model {{foreign_model}}",
        "holds a elsewhere.Model model, not a finance.TimeGAN model",
    ),
    "sample a truncated model": (
        f"{SAMPLE} --model {{truncated_model}}",
        "truncated_model.pt is not a loadable checkpoint",
    ),
    "sample a model of a newer format": (
        f"{SAMPLE} --model {{newer_model}}",
        "newer than this ganforge reads (1): upgrade ganforge",
    ),
    "sample on an unknown device": (f"{SAMPLE} --model {{model}} --device tpu", "unknown device"),
    "sample zero paths": (f"{SAMPLE} --model {{model}} --paths 0", "--paths: must be at least 1"),
    "sample negative days": (f"{SAMPLE} --model {{model}} --days -5", "--days: must be at least"),
    "sample a negative seed": (f"{SAMPLE} --model {{model}} --seed -2", "--seed: must be 0"),
    "sample an unknown regime": (
        f"{SAMPLE} --model {{model}} --regime panic",
        "argument --regime: invalid choice: 'panic'",
    ),
    "sample a regime of an unconditional model": (
        f"{SAMPLE} --model {{model}} --regime calm",
        "trained without --regimes",
    ),
    "sample days of a levels model": (
        f"{SAMPLE} --model {{model}} --days 30",
        "only makes sense for a returns model",
    ),
    "sample into a folder": (
        "finance sample --model {model} --out {folder}",
        "is a folder: give a file name",
    ),
    # -- evaluate
    "evaluate garbage": ("finance evaluate --synthetic {garbage} --out {out}", "garbage"),
    "evaluate a missing file": (f"{EVALUATE} --synthetic {{missing}}", "no such CSV file"),
    "evaluate truncated paths": (
        f"{EVALUATE} --synthetic {{paths_cut}}",
        f"paths_cut.csv line 9 {TRUNCATED}",
    ),
    "evaluate NaN returns": (
        f"{EVALUATE} --synthetic {{paths_nan}}",
        "paths_nan.csv: column 'r' holds missing, non-numeric or infinite values",
    ),
    "evaluate infinite returns": (
        f"{EVALUATE} --synthetic {{paths_inf}}",
        "paths_inf.csv: column 'r' holds missing",
    ),
    "evaluate text returns": (f"{EVALUATE} --synthetic {{paths_text}}", "paths_text.csv: column"),
    "evaluate repeated steps": (
        f"{EVALUATE} --synthetic {{paths_repeated}}",
        "paths_repeated.csv repeats a (path, step) pair",
    ),
    "evaluate paths of different lengths": (
        f"{EVALUATE} --synthetic {{paths_ragged}}",
        "paths_ragged.csv: paths must all have the same steps",
    ),
    "evaluate paths too short for the facts": (
        f"{EVALUATE} --synthetic {{paths}}",
        "paths.csv: paths of 4 steps are too short",
    ),
    "evaluate a table without path columns": (
        f"{EVALUATE} --synthetic {{prices}}",
        "prices.csv lacks columns ['path', 'step']",
    ),
    "evaluate an unknown column": (
        f"{EVALUATE} --synthetic {{paths}} --column nope",
        "column 'nope' not in",
    ),
    "evaluate against truncated real prices": (
        f"{EVALUATE} --synthetic {{paths}} --real {{cut_row}}",
        f"cut_row.csv line 41 {TRUNCATED}",
    ),
    "evaluate against an unknown real column": (
        f"{EVALUATE} --synthetic {{paths}} --real {{prices}}",
        "prices.csv: unknown columns ['Adj Close']",
    ),
    "evaluate against non-positive real prices": (
        f"{EVALUATE} --synthetic {{paths}} --real {{negative}} --real-column Close",
        "negative.csv: prices must be positive",
    ),
    "evaluate into a folder": (
        "finance evaluate --synthetic {paths} --no-baselines --out {folder}",
        "is a folder: give a file name",
    ),
}

_MODEL: bytes | None = None  # the tiny model, trained once per process


def files(tmp: Path) -> dict[str, Path]:
    """Write every input the cases name under ``tmp``."""
    made = {**_price_tables(tmp), **_path_tables(tmp), **_configs(tmp)}
    made["model"] = _tiny_model(tmp / "model.pt")
    return made


def _price_rows(n: int = 40) -> list[str]:
    dates = np.arange("2001-01-01", n, dtype="datetime64[D]")[:n]
    return [f"{day},{100 + i:.2f},{1000 + i}" for i, day in enumerate(dates)]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _price_tables(tmp: Path) -> dict[str, Path]:
    header, rows = "Date,Close,Volume", _price_rows()
    cut = rows[-1][: rows[-1].rindex(",") - 2]  # the last row stops inside its price
    return {
        "prices": _write(tmp / "prices.csv", [header, *rows]),
        "cut_row": _write_raw(tmp / "cut_row.csv", "\n".join([header, *rows[:-1], cut])),
        "cut_date": _write(tmp / "cut_date.csv", [header, *rows[:-1], rows[-1][:10]]),
        "infinite": _write(tmp / "infinite.csv", [header, *rows, "2001-02-10,inf,5"]),
        "empty": _write(tmp / "empty.csv", []),
        "negative": _write(tmp / "negative.csv", [header, *rows[:-1], "2001-02-09,-1.0,5"]),
        "gaps": _write(tmp / "gaps.csv", [header, *rows[:-1], "2001-02-09,,5"]),
    }


def _write_raw(path: Path, text: str) -> Path:
    path.write_text(text)  # no final newline: the file stops where the copy stopped
    return path


def _path_lines(values: list[str]) -> list[str]:
    return ["path,step,r", *(f"{i // 4},{i % 4},{v}" for i, v in enumerate(values))]


def _path_tables(tmp: Path) -> dict[str, Path]:
    good = [f"{0.01 * (-1) ** i:.3f}" for i in range(8)]
    whole = _path_lines(good)
    return {
        "paths": _write(tmp / "paths.csv", whole),
        "paths_cut": _write_raw(tmp / "paths_cut.csv", "\n".join([*whole[:-1], "1,3"])),
        "paths_nan": _write(tmp / "paths_nan.csv", _path_lines([*good[:-1], "nan"])),
        "paths_inf": _write(tmp / "paths_inf.csv", _path_lines([*good[:-1], "inf"])),
        "paths_text": _write(tmp / "paths_text.csv", _path_lines([*good[:-1], "high"])),
        "paths_repeated": _write(tmp / "paths_repeated.csv", [*whole, "1,3,0.02"]),
        "paths_ragged": _write(tmp / "paths_ragged.csv", whole[:-1]),
    }


CONFIGS = {
    "unknown_key": {"hiden_dim": 3},
    "zero_hidden": {"hidden_dim": 0},
    "nan_lr": {"lr": float("nan")},
    "zero_batch": {"batch_size": 0},
    "text_layers": {"num_layers": "two"},
    "bad_cell": {"cell": "rnn"},
    "bad_device": {"device": "tpu"},
    "stepwise_minmax": {"generation": "stepwise", "scaling": "minmax"},
}


def _configs(tmp: Path) -> dict[str, Path]:
    made = {}
    for name, config in CONFIGS.items():
        made[name] = tmp / f"{name}.json"
        made[name].write_text(json.dumps(config))  # json writes NaN as the literal NaN
    return made


def _tiny_model(path: Path) -> Path:
    """A one-iteration unconditional levels model (trained once, then copied)."""
    global _MODEL
    if _MODEL is None:
        from ganforge.finance import TimeGAN, TimeGANConfig

        config = TimeGANConfig(
            seq_len=4,
            hidden_dim=2,
            num_layers=1,
            embed_iterations=1,
            supervise_iterations=1,
            joint_iterations=1,
        )
        windows = np.linspace(1.0, 2.0, 32).reshape(8, 4, 1)
        model = TimeGAN(config, batch_size=4, device="cpu").fit(windows, progress=False)
        _MODEL = model.save(path).read_bytes()
    path.write_bytes(_MODEL)
    return path
