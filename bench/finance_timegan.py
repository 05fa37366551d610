"""TimeGAN on two markets with the paper's scores: the paper's own Stocks data and the
S&P 500, OHLCV bars that are valid by construction, the model picked on held-out days.

Writes bench/results/finance_timegan.json with a top-level map ``datasets``
(``stocks``, ``sp500``; ``stocks_in_time_order`` on request). ``stocks`` is the
paper's table in the row order of the reference loader (:func:`reference_rows`:
reversed, so it runs backwards in time), the order the paper's scores were
measured on; ``stocks_in_time_order`` is the same table forward in time.
Protocol, the same for all, untuned per dataset:

- The daily OHLCV table becomes bar features (:mod:`ganforge.finance.bars`: the
  close-to-close log return, the open gap, the two wicks through a softplus, log
  volume) and the log previous close, windows of 24 days, stride 1. The last
  10 % of the windows in the table's order (the latest days, or for ``stocks``
  the earliest) are the validation split; training windows that
  share a day with them are dropped. Every ``--select-every`` joint iterations the
  model is scored on the validation windows (discriminative protocol) and the
  best checkpoint is kept (the core's ``BestCheckpoint``, through
  ``TimeGAN.fit(validation=...)``).
- Scores: as the paper, on min-max-scaled price windows of 6 columns (Open, High,
  Low, Close, Adj Close, Volume; scaling per column over the whole series, as the
  reference loader). A window holds, beside the bar features, the log of the
  close before each day: the model generates the level a window starts from as
  the paper's model generates its levels (the stepwise sampler's first day, all
  its features together, from the start mixture fitted to the training windows'
  first days; the days after it from the model's dynamics), and sampled windows
  are decoded to prices from their first day's level, Adj Close = Close (as in
  both tables). The
  real windows are the training windows' prices; the validation split is never
  scored. Discriminative and predictive scores over ``--repeats`` classifier
  seeds (the paper: 10), the real data's own scores (two halves of the real
  windows) beside them, and the share of invalid bars among the sampled days.
- Training time: one CPU thread, ``iters_per_s`` over all phases; the seconds
  include the validation scores of the model selection.

Usage: python bench/finance_timegan.py [--datasets stocks,sp500] [--embed N]
       [--supervise N] [--joint N] [--select-every N] [--repeats R]
       python bench/finance_timegan.py --combine A.json,B.json  (one dataset per run,
       run side by side, written as one result; their configurations must agree)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ganforge.core.files import write_json
from ganforge.finance import (
    OHLCV,
    TimeGAN,
    TimeGANConfig,
    bars_to_ohlcv,
    invalid_bar_share,
    load_prices,
    ohlcv_to_bars,
    reference_rows,
    sliding_windows,
    stocks_ohlcv,
    timegan_scores,
)

RESULT = Path(__file__).parent / "results" / "finance_timegan.json"
SEQ_LEN = 24
VALIDATION_SHARE = 0.1
PAPER_STOCKS = {"discriminative_score": [0.102, 0.021], "predictive_score": [0.038, 0.001]}


def load_ohlcv(name: str) -> pd.DataFrame:
    """Open, High, Low, Close, Volume of a dataset in its order (see the module docstring)."""
    if name == "stocks":
        return reference_rows()[list(OHLCV)]
    if name == "stocks_in_time_order":
        return stocks_ohlcv()[list(OHLCV)]
    if name == "sp500":
        return load_prices()[list(OHLCV)]
    raise ValueError(f"unknown dataset {name!r}: choose stocks, stocks_in_time_order or sp500")


def bar_windows(ohlcv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Windows of the bar features plus the log of the close before each day (the level
    a window starts from, generated like the rest), and each window's real prices
    ``(n, SEQ_LEN, 5)``."""
    level = np.log(ohlcv[:-1, 3:4])
    features = sliding_windows(np.concatenate([ohlcv_to_bars(ohlcv), level], axis=1), SEQ_LEN)
    prices = np.stack([ohlcv[i + 1 : i + 1 + SEQ_LEN] for i in range(len(features))])
    return features, prices


def decode(windows: np.ndarray) -> np.ndarray:
    """Generated windows -> OHLCV prices, each from the level its first day gives."""
    return bars_to_ohlcv(windows[..., :5], np.exp(windows[:, 0, 5]))


def time_split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation window indices: the latest share held out, training
    windows overlapping it dropped."""
    first_validation = int(round(n * (1 - VALIDATION_SHARE)))
    train = np.arange(0, max(0, first_validation - SEQ_LEN + 1))
    return train, np.arange(first_validation, n)


def paper_scaled(prices: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """OHLCV windows -> the paper's 6 columns (Adj Close = Close), min-max scaled with
    the whole series' ``low`` / ``high`` as the reference loader does."""
    six = np.concatenate([prices[..., :4], prices[..., 3:4], prices[..., 4:5]], axis=-1)
    return (six - low) / (high - low + 1e-7)


def run_dataset(name: str, args: argparse.Namespace) -> dict[str, Any]:
    ohlcv = load_ohlcv(name).to_numpy(dtype=np.float64)
    six = np.concatenate([ohlcv[:, :4], ohlcv[:, 3:4], ohlcv[:, 4:5]], axis=1)
    low, high = six.min(axis=0), six.max(axis=0)
    features, prices = bar_windows(ohlcv)
    train, validation = time_split(len(features))
    config = TimeGANConfig(
        seq_len=SEQ_LEN,
        feature_dim=features.shape[-1],
        hidden_dim=24,
        num_layers=3,
        cell="gru",
        scaling="standardize",
        generation="stepwise",
        embed_iterations=args.embed,
        supervise_iterations=args.supervise,
        joint_iterations=args.joint,
    )
    model = TimeGAN(config, batch_size=128, seed=0, device="cpu")
    model.fit(
        features[train],
        progress=False,
        log_every=100,
        validation=features[validation],
        select_every=args.select_every,
    )
    sampled_prices = decode(model.sample(len(train), seed=1))
    real = paper_scaled(prices[train], low, high)
    fake = paper_scaled(sampled_prices, low, high)
    began = time.perf_counter()
    scores = timegan_scores(real, fake, repeats=args.repeats)
    scoring_seconds = time.perf_counter() - began
    order = np.random.default_rng(0).permutation(len(real))
    half = len(real) // 2
    floor = timegan_scores(real[order[:half]], real[order[half:]], repeats=args.reference_repeats)
    return {
        "discriminative_score": scores["discriminative_score"],
        "discriminative_score_std": scores["discriminative_score_std"],
        "predictive_score": scores["predictive_score"],
        "predictive_score_std": scores["predictive_score_std"],
        "real_discriminative_score": floor["discriminative_score"],
        "real_predictive_score": floor["predictive_score"],
        "invalid_bar_share": invalid_bar_share(sampled_prices),
        "training_seconds": model.seconds,
        "iters_per_s": config.total_iterations / model.seconds,
        "scoring_seconds": scoring_seconds,
        "selected_iteration": model.selected_iteration,
        "discriminative_scores": scores["discriminative_scores"],
        "predictive_scores": scores["predictive_scores"],
        "windows": {"train": int(len(train)), "validation": int(len(validation))},
    }


def targets(datasets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Which of the issue's targets each dataset's run meets."""
    out: dict[str, Any] = {}
    for name in ("stocks", "stocks_in_time_order"):
        if name not in datasets:
            continue
        run = datasets[name]
        out[name] = {
            "discriminative_at_most_0.102": run["discriminative_score"] <= 0.102,
            "predictive_at_most_0.038": run["predictive_score"] <= 0.038,
            "predictive_within_0.002_of_real": run["predictive_score"]
            <= run["real_predictive_score"] + 0.002,
        }
    if "sp500" in datasets:
        run = datasets["sp500"]
        out["sp500"] = {
            "discriminative_at_most_0.10": run["discriminative_score"] <= 0.10,
            "predictive_at_most_1.05_real": run["predictive_score"]
            <= 1.05 * run["real_predictive_score"],
        }
    for name, run in datasets.items():
        out.setdefault(name, {})["no_invalid_bars"] = run["invalid_bar_share"] == 0.0
        out[name]["within_60_minutes"] = run["training_seconds"] <= 3600
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="stocks,sp500", help="comma list")
    parser.add_argument("--embed", type=int, default=2000, help="autoencoder iterations")
    parser.add_argument("--supervise", type=int, default=2000, help="supervisor iterations")
    parser.add_argument("--joint", type=int, default=4000, help="joint iterations")
    parser.add_argument("--select-every", type=int, default=500, help="validation interval")
    parser.add_argument("--repeats", type=int, default=10, help="seeds per score (paper: 10)")
    parser.add_argument("--reference-repeats", type=int, default=3, help="real-vs-real seeds")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON")
    parser.add_argument("--combine", default="", help="comma list of result files to join")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.combine:
        parts = [json.loads(Path(p).read_text()) for p in args.combine.split(",")]
        if any(part["config"] != parts[0]["config"] for part in parts):
            parser.error("the files to combine were run with different configurations")
        datasets = {k: v for part in parts for k, v in part["datasets"].items()}
        result = {**parts[0], "datasets": datasets, "targets": targets(datasets)}
        print(write_json(args.out, result))
        return
    datasets = {name: run_dataset(name, args) for name in args.datasets.split(",")}
    result = {
        "protocol": __doc__.split("\n\n")[1],
        "datasets": datasets,
        "targets": targets(datasets),
        "paper_stocks_mean_std": PAPER_STOCKS,
        "config": {
            "embed_iterations": args.embed,
            "supervise_iterations": args.supervise,
            "joint_iterations": args.joint,
            "select_every": args.select_every,
            "validation_share": VALIDATION_SHARE,
            "hidden_dim": 24,
            "num_layers": 3,
            "cell": "gru",
            "generation": "stepwise",
            "scaling": "standardize",
            "batch_size": 128,
            "score_repeats": args.repeats,
            "device": "cpu, 1 thread",
        },
    }
    print(write_json(args.out, result))
    for name, run in datasets.items():
        print(name, {k: run[k] for k in ("discriminative_score", "predictive_score")})


if __name__ == "__main__":
    main()
