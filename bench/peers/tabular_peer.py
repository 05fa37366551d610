"""Fit one peer synthesizer on a train CSV and write synthetic rows: the tabular benchmark's peers.

Runs with the peers' interpreter (`make peers` builds .venv-peers), never with
the project's .venv: smartnoise-synth pins opacus 0.14 and ctgan pins pandas < 3.

    .venv-peers/bin/python bench/peers/tabular_peer.py --method mst --epsilon 1 \
        --train train.csv --out synth.csv --rows 1000 --seed 0 \
        --categorical sex,target --continuous age,income

Methods, each with its library's defaults:
- ``ctgan``: sdv's CTGAN (the ``ctgan`` package), no DP: ``CTGAN()`` (300
  epochs, batch 500, pac 10) fitted with ``discrete_columns`` = ``--categorical``.
- ``mst``: smartnoise-synth's MST, ``Synthesizer.create("mst", epsilon=E)``
  (delta 1e-9). Categorical columns are label-encoded with the levels read
  from the data (a public assumption: smartnoise pays nothing for them);
  continuous columns go into 10 equal bins between DP bounds (snsql's
  ``approx_bounds``, a Laplace histogram over power-of-two bins), each column
  paid ``preprocessor_eps / n_continuous``; a sampled continuous value is its
  bin's midpoint. Rows are drawn i.i.d. from the fitted model (see
  ``sample_iid``: the library's default rounding scrambles sibling columns).
- ``dpctgan``: smartnoise-synth's DPCTGAN, ``Synthesizer.create("dpctgan",
  epsilon=E)`` (300 epochs at most, batch 500, sigma 5, delta 1/n^1.5):
  continuous columns min-max scaled between DP bounds found the same way.
  Training stops at the first epoch whose start finds the spent epsilon above
  the budget left after the bounds, so the last epoch can overshoot it;
  ``epsilon_spent`` reports what opacus' accountant says after training.

Epsilon: ``preprocessor_eps = --preprocessor-share x E`` when the table has
continuous columns (0 otherwise); smartnoise subtracts what the bounds spent
from E before training. Exit status 0 with a JSON report on stdout (and in
``--report``); 3 with ``{"refused": true, "reason": ...}`` when the library
refuses the table (no bounds found, any exception in fit or sample); 2 for bad
arguments. The libraries' own prints go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import random
import sys
import time
from pathlib import Path

METHODS = ("ctgan", "mst", "dpctgan")
DP_METHODS = ("mst", "dpctgan")
REFUSED = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", required=True, choices=METHODS)
    parser.add_argument("--train", required=True, type=Path, help="train CSV (header row)")
    parser.add_argument("--out", required=True, type=Path, help="synthetic CSV to write")
    parser.add_argument("--rows", required=True, type=int, help="synthetic rows to write")
    parser.add_argument("--seed", required=True, type=int)
    parser.add_argument("--epsilon", type=float, help="total budget (mst and dpctgan only)")
    parser.add_argument("--delta", type=float, help="delta (default: the library's)")
    parser.add_argument(
        "--preprocessor-share",
        type=float,
        default=0.1,
        help="share of epsilon for the continuous columns' DP bounds (default 0.1)",
    )
    parser.add_argument("--categorical", default="", help="comma-separated column names")
    parser.add_argument("--continuous", default="", help="comma-separated column names")
    parser.add_argument("--epochs", type=int, help="override the default epochs (smoke tests)")
    parser.add_argument("--report", type=Path, help="also write the JSON report here")
    args = parser.parse_args(argv)
    args.categorical = [c for c in args.categorical.split(",") if c]
    args.continuous = [c for c in args.continuous.split(",") if c]
    if args.rows < 1:
        parser.error(f"--rows must be at least 1, got {args.rows}")
    if args.method in DP_METHODS:
        if args.epsilon is None or not args.epsilon > 0:
            parser.error(f"{args.method} needs --epsilon > 0")
        if not 0 < args.preprocessor_share < 1:
            parser.error(f"--preprocessor-share must be in (0, 1), got {args.preprocessor_share}")
    elif args.epsilon is not None or args.delta is not None:
        parser.error("ctgan is not differentially private: drop --epsilon / --delta")
    if args.method == "mst" and args.epochs is not None:
        parser.error("mst has no epochs")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    both = set(args.categorical) & set(args.continuous)
    if both:
        parser.error(f"columns both categorical and continuous: {sorted(both)}")
    return args


def check_columns(frame, categorical: list[str], continuous: list[str]) -> None:
    named = set(categorical) | set(continuous)
    missing = [c for c in named if c not in frame.columns]
    unnamed = [c for c in frame.columns if c not in named]
    if missing or unnamed:
        print(
            "tabular_peer: --categorical/--continuous must name each train column once: "
            f"not in the table {missing}, not named {unnamed}",
            file=sys.stderr,
        )
        raise SystemExit(2)


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build(args):
    """The peer's model with its library's defaults (``--epochs``/``--delta`` when given)."""
    if args.method == "ctgan":
        from ctgan import CTGAN

        model = CTGAN() if args.epochs is None else CTGAN(epochs=args.epochs)
        model.set_random_state(args.seed)
        return model
    from snsynth import Synthesizer

    options = {}
    if args.delta is not None:
        options["delta"] = args.delta
    if args.epochs is not None:
        options["epochs"] = args.epochs
    return Synthesizer.create(args.method, epsilon=float(args.epsilon), **options)


def fit_ctgan(model, train, args) -> dict:
    model.fit(train, discrete_columns=args.categorical)
    return {"epochs": model._epochs}


class _EngineRecorder:
    """Keeps the opacus PrivacyEngine that DPCTGAN builds inside ``train`` to read it afterwards."""

    def __init__(self) -> None:
        self.engines: list = []

    @contextlib.contextmanager
    def recording(self):
        import opacus

        original = opacus.PrivacyEngine
        engines = self.engines

        class Recording(original):
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                engines.append(self)

        opacus.PrivacyEngine = Recording
        try:
            yield
        finally:
            opacus.PrivacyEngine = original


def fit_smartnoise(synth, train, args) -> dict:
    preprocessor_eps = args.preprocessor_share * args.epsilon if args.continuous else 0.0
    recorder = _EngineRecorder()
    with recorder.recording():
        synth.fit(
            train,
            categorical_columns=list(args.categorical),
            continuous_columns=list(args.continuous),
            preprocessor_eps=preprocessor_eps,
            nullable=bool(train.isna().any().any()),
        )
    spent_bounds = float(synth._transformer.odometer.spent[0])
    info = {
        "epsilon_preprocessor": spent_bounds,
        "bounds": {
            name: [t.fit_lower, t.fit_upper]
            for name, t in zip(train.columns, synth._transformer.transformers, strict=True)
            if name in args.continuous
        },
    }
    if args.method == "mst":
        # MST turns the (epsilon left, delta) it holds into zCDP and spends all of it.
        info.update(epsilon_training=float(synth.epsilon), delta=float(synth.delta))
    else:
        engine = recorder.engines[-1]
        training, _ = engine.get_privacy_spent(synth.delta)
        info.update(
            epsilon_training=float(training),
            delta=float(synth.delta),
            epochs=synth._epochs,
            epochs_run=len(synth.loss_d_list),
            discriminator_steps=int(engine.steps),
            sample_rate=float(engine.sample_rate),
        )
    info["epsilon_spent"] = info["epsilon_preprocessor"] + info["epsilon_training"]
    return info


def sample_iid(synth, rows: int):
    """MST's rows drawn i.i.d. from its fitted model (private-pgm's ``method="sample"``),
    then decoded as ``MSTSynthesizer.sample`` decodes them.

    mbi 1.1.0's default randomized rounding draws a child column within each
    group of parent values from the rows' order in the group, so two children of
    one parent come out almost monotone in each other (fair, epsilon 10: the
    synthetic religious-affair correlation 0.70 against -0.15 real, TSTR AUC
    0.52). Sampling is post-processing of the DP model: the guarantee is unchanged.
    """
    data = synth.synthesizer.synthetic_data(rows=rows, method="sample")
    decompressed = synth.undo_compress_fn(data)
    rows_out = [tuple(t[1:]) for t in decompressed.df.itertuples()]
    return synth._transformer.inverse_transform(rows_out)


def unbounded_column(synth, columns) -> str | None:
    """The first continuous column whose DP bounds were not found, when the fit got that far."""
    transformer = getattr(synth, "_transformer", None)
    for name, t in zip(columns, getattr(transformer, "transformers", []), strict=False):
        if hasattr(t, "fit_lower") and t.needs_epsilon and t.fit_lower is None:
            return name
    return None


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or "(no message)"
    return f"{type(error).__name__}: {text}"[:500]


def write_csv_atomically(frame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def emit(report: dict, path: Path | None) -> None:
    text = json.dumps(report, sort_keys=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text + "\n")
        os.replace(tmp, path)
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import pandas as pd
    import torch

    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
    train = pd.read_csv(args.train)
    check_columns(train, args.categorical, args.continuous)
    report: dict = {
        "method": args.method,
        "rows": args.rows,
        "seed": args.seed,
        "train_rows": len(train),
        "epsilon": args.epsilon,
    }
    if args.method in DP_METHODS:
        report["preprocessor_share"] = args.preprocessor_share
    # A missing library is a broken environment, not a refusal: import it outside the try.
    importlib.import_module("ctgan" if args.method == "ctgan" else "snsynth")
    seed_everything(args.seed)
    fit = fit_ctgan if args.method == "ctgan" else fit_smartnoise
    model = None
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            model = build(args)
            info = fit(model, train, args)
            report["fit_seconds"] = time.perf_counter() - start
            sample_start = time.perf_counter()
            if args.method == "mst":
                synthetic = sample_iid(model, args.rows)
            else:
                synthetic = model.sample(args.rows)
            report["sample_seconds"] = time.perf_counter() - sample_start
    except Exception as error:  # any library exception is the peer refusing the table
        report.update(refused=True, reason=one_line(error))
        report.setdefault("fit_seconds", time.perf_counter() - start)
        column = unbounded_column(model, train.columns)
        if column is not None:
            report["unbounded_column"] = column
        emit(report, args.report)
        return REFUSED
    report.update(info)
    synthetic = pd.DataFrame(synthetic, columns=list(train.columns))
    if len(synthetic) != args.rows:
        report.update(refused=True, reason=f"sampled {len(synthetic)} rows, asked {args.rows}")
        emit(report, args.report)
        return REFUSED
    write_csv_atomically(synthetic, args.out)
    report["refused"] = False
    emit(report, args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
