"""TimeGAN on S&P 500 OHLCV windows of 24 days: the paper's discriminative and
predictive scores next to its published Stocks figures.

Writes bench/results/finance_timegan.json. The paper trains 50,000 iterations
per phase on a GPU. The defaults here (2000 / 2000 / 10000) fill the 60-minute
CPU budget on one thread (about 56 minutes of training); the phase lengths are
command-line options and the configuration used is recorded in the JSON.
Timing: training iterations per second, and the cost of one joint iteration as
a ratio of one autoencoder step measured in the same run (the machines are
shared and noisy).

Every --score-every N joint iterations (1000; 0 for never) the discriminative
score is also measured (3 seeds; its time is not counted in the training time),
to show how it moves during the joint phase.

Usage: python bench/finance_timegan.py [--embed N] [--supervise N] [--joint N] [--repeats R]
       [--score-every N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.core.files import write_json
from ganforge.core.training import Callback, StepContext, Trainer
from ganforge.finance import MinMaxScaler, TimeGAN, TimeGANConfig, load_prices, sliding_windows
from ganforge.finance.evaluation import discriminative_score, timegan_scores

RESULT = Path(__file__).parent / "results" / "finance_timegan.json"
PAPER_STOCKS = {"discriminative_score": [0.102, 0.021], "predictive_score": [0.038, 0.001]}


def _step_seconds(model: TimeGAN, windows: np.ndarray, repeats: int = 5) -> dict[str, float]:
    """Wall time of one autoencoder step and one joint iteration, forward and backward."""
    module = model.module
    batch = (torch.as_tensor(model.scaler.transform(windows[:128]), dtype=torch.float32),)
    context = StepContext(iteration=0, phase="joint", device=torch.device("cpu"))
    recipes = {
        "autoencoder_step": [module.autoencoder_step],
        "joint_iteration": [
            module.generator_step,
            module.generator_step,
            module.embedder_step,
            module.discriminator_step,
        ],
    }
    timings = {}
    for name, steps in recipes.items():
        start = time.perf_counter()
        for _ in range(repeats):
            for step in steps:
                loss = step(batch, context).get("loss")
                if loss is not None:
                    loss.backward()
        timings[name] = (time.perf_counter() - start) / repeats
    return timings


class JointPhaseScores:
    """A trainer callback: the discriminative score (3 seeds) of the model as it trains.

    It runs under a forked RNG, so the training is the same with or without it,
    and it keeps its own time so the training time can leave it out.
    """

    def __init__(self, model: TimeGAN, windows: np.ndarray, start: int) -> None:
        self.model, self.start = model, start
        self.scaler = MinMaxScaler().fit(windows)
        self.real = self.scaler.transform(windows)
        self.scores: dict[int, list[float]] = {}
        self.seconds = 0.0

    def __call__(self, trainer: Trainer) -> dict[str, float] | None:
        if trainer.iteration <= self.start:
            return None
        began = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            synthetic = self.scaler.transform(self.model.sample(len(self.real), seed=1))
            scores = [discriminative_score(self.real, synthetic, seed=i) for i in range(3)]
        self.scores[trainer.iteration - self.start] = scores
        self.seconds += time.perf_counter() - began
        return {"discriminative_score": float(np.mean(scores))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embed", type=int, default=2000, help="autoencoder iterations")
    parser.add_argument("--supervise", type=int, default=2000, help="supervisor iterations")
    parser.add_argument(
        "--joint", type=int, default=10000, help="joint iterations (about 55 CPU minutes in all)"
    )
    parser.add_argument("--repeats", type=int, default=10, help="seeds per score (paper: 10)")
    parser.add_argument(
        "--reference-repeats", type=int, default=3, help="seeds per real-vs-real score"
    )
    parser.add_argument(
        "--score-every", type=int, default=1000, help="score every N joint iterations (0: never)"
    )
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)

    prices = load_prices()  # S&P 500 OHLCV 1999-2018: Open High Low Close Adj Close Volume
    windows = sliding_windows(prices.to_numpy(), 24)
    windows = windows[np.random.default_rng(0).permutation(len(windows))]
    config = TimeGANConfig(
        seq_len=24,
        feature_dim=6,
        hidden_dim=24,
        num_layers=3,
        cell="gru",
        embed_iterations=args.embed,
        supervise_iterations=args.supervise,
        joint_iterations=args.joint,
    )
    model = TimeGAN(config, batch_size=128, seed=0, device="cpu")
    tracker = JointPhaseScores(model, windows, start=args.embed + args.supervise)
    every = [Callback(every=args.score_every, fn=tracker)] if args.score_every else []
    model.fit(windows, progress=False, log_every=100, callbacks=every)
    training_seconds = model.seconds - tracker.seconds
    timings = _step_seconds(model, windows)

    synthetic = model.sample(len(windows), seed=1)
    scaler, scaled = tracker.scaler, tracker.real  # the paper scores min-max-scaled data
    start = time.perf_counter()
    scores = timegan_scores(scaled, scaler.transform(synthetic), repeats=args.repeats)
    scoring_seconds = time.perf_counter() - start
    # What real data scores against itself: the floor a generator can reach on this data set.
    half = len(scaled) // 2
    reference = timegan_scores(scaled[:half], scaled[half:], repeats=args.reference_repeats)

    result = {
        "discriminative_score": scores["discriminative_score"],
        "discriminative_score_std": scores["discriminative_score_std"],
        "predictive_score": scores["predictive_score"],
        "predictive_score_std": scores["predictive_score_std"],
        "discriminative_scores": scores["discriminative_scores"],
        "predictive_scores": scores["predictive_scores"],
        "iters_per_s": config.total_iterations / training_seconds,
        "seconds": training_seconds,
        "scoring_seconds": scoring_seconds,
        "joint_iteration_vs_autoencoder_step": timings["joint_iteration"]
        / timings["autoencoder_step"],
        "paper_stocks_mean_std": PAPER_STOCKS,
        "real_vs_real": {
            "discriminative_score": reference["discriminative_score"],
            "predictive_score_train_on_real": reference["predictive_score"],
            "note": "real windows split in two halves (by shuffled order) and scored as if one "
            "half were synthetic",
            "repeats": args.reference_repeats,
        },
        "discriminative_score_during_joint_phase": {
            str(iteration): {"mean": float(np.mean(values)), "seeds": values}
            for iteration, values in tracker.scores.items()
        },
        "meets_paper_discriminative": scores["discriminative_score"]
        <= PAPER_STOCKS["discriminative_score"][0],
        "meets_paper_predictive": scores["predictive_score"] <= PAPER_STOCKS["predictive_score"][0],
        "data": f"S&P 500 OHLCV (arch.data.sp500), {len(windows)} windows of 24 days, 6 features",
        "config": {
            "embed_iterations": args.embed,
            "supervise_iterations": args.supervise,
            "joint_iterations": args.joint,
            "score_every": args.score_every,
            "hidden_dim": 24,
            "num_layers": 3,
            "cell": "gru",
            "batch_size": 128,
            "score_repeats": args.repeats,
            "score_iterations": {"discriminative": 2000, "predictive": 5000},
            "device": "cpu, 1 thread (shared 2-core machine)",
            "note": "paper: 50,000 iterations per phase and 10 score repeats",
        },
        "final_losses": {k: v for k, v in (model.history or [{}])[-1].items() if "/" in k},
    }
    print(write_json(args.out, result))
    print(
        {
            k: result[k]
            for k in ("discriminative_score", "predictive_score", "iters_per_s", "seconds")
        }
    )


if __name__ == "__main__":
    main()
