"""mgeval-style quality of the GAN against held-out music, beside a Markov-chain baseline.

Protocol (issue 18), on music21's Bach chorales split 80 / 20 by melody identity (seed
0), on one CPU thread: the normally trained :class:`~ganforge.music.MusicGAN` of
bench/music_originality.py (the same settings; taken from the cache folder when that
bench ran first, else trained here) and a first-order Markov chain over chord states
(:class:`~ganforge.music.MarkovChain`) fitted on the same training segments each give
``--samples`` four-bar segments (the GAN with keys drawn from the held-out segments),
``--draws`` times (4 by default; sample seeds 2, 3, ...). For each of nine metrics
(pitch-class histogram, pitch range, polyphony, note-length histogram, empty-bar rate,
pitch classes per bar, qualified-note rate, in-key rate, tonal distance between
tracks) the overlap area and KL divergence of the held-out set's intra-set distances
against the inter-set distances (Yang & Lerch 2018), each figure the mean over the
draws (one draw of 200 moves a metric's overlap by a few hundredths, enough to turn a
win into a loss).

Top-level keys: ``gan_mean_overlap``, ``baseline_mean_overlap`` (means over the nine
metrics), ``metrics`` (per metric, ``gan`` and ``baseline``), ``gan_above_baseline_on``
(metrics where the GAN's overlap is larger), ``draws`` (each draw's summary),
``melodic_moves`` (how the voices of the GAN, the chain and the held-out humans move
from note to note: the share of steps and of leaps, the mean move; beside the nine
metrics, not among them), and the
in-key rate and voice ranges of each set against the human sets' spread, passed when
every draw passes (``ganforge.music.spread_check``: the in-key rate between the
held-out segments' 5th and 95th percentiles, each voice's lowest and highest pitch
within three semitones of the held-out and training sets' own). Targets: the GAN's
mean overlap >= 0.8 and above the baseline's on most metrics; in-key rate and voice
ranges within the human spread. The same bench runs on Palestrina's four-voice mass
movements under ``second_corpus``.

Usage: OMP_NUM_THREADS=1 python bench/music_quality.py [--iterations N] [--samples N]
[--draws N]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.core.files import write_json
from ganforge.music import evaluate

sys.path.insert(0, str(Path(__file__).parent))
from music_originality import CORPORA, ITERATIONS, corpus_split, fitted  # noqa: E402

RESULT = Path(__file__).parent / "results" / "music_quality.json"
TARGET = 0.8


def _averaged(draws: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from several draws of samples: per metric and side the mean of the
    draws' figures, the wins counted on those means, a spread check passed when every
    draw passes it (each voice's range the widest over the draws: the lowest of the draws'
    lowest pitches, the highest of their highest), and each draw's summary under
    ``draws``."""
    first = draws[0]
    metrics = {
        name: {
            side: {
                key: float(np.mean([d["metrics"][name][side][key] for d in draws]))
                for key in first["metrics"][name][side]
            }
            for side in ("gan", "baseline")
        }
        for name in first["metrics"]
    }
    result = dict(first)
    result["metrics"] = metrics
    for side in ("gan", "baseline"):
        overlaps = [m[side]["overlap_area"] for m in metrics.values()]
        result[f"{side}_mean_overlap"] = float(np.mean(overlaps))
        checks = dict(first[side])
        for check in ("in_key_within_human_spread", "voice_ranges_within_human_spread"):
            checks[check] = all(d[side][check] for d in draws)
        checks["in_key_rate"] = float(np.mean([d[side]["in_key_rate"] for d in draws]))
        ranges = np.array([d[side]["voice_ranges"] for d in draws])  # (draws, tracks, 2)
        widest = np.stack([ranges[..., 0].min(0), ranges[..., 1].max(0)], axis=-1)
        checks["voice_ranges"] = widest.tolist()
        result[side] = checks
    result["melodic_moves"] = {
        side: {key: float(np.mean([d["melodic_moves"][side][key] for d in draws])) for key in moves}
        for side, moves in first["melodic_moves"].items()
    }
    result["gan_above_baseline_on"] = sum(
        m["gan"]["overlap_area"] > m["baseline"]["overlap_area"] for m in metrics.values()
    )
    summary = ("gan_mean_overlap", "baseline_mean_overlap", "gan_above_baseline_on")
    result["draws"] = [{key: d[key] for key in summary} for d in draws]
    return result


def run_corpus(name: str, arguments: argparse.Namespace) -> dict[str, Any]:
    data = corpus_split(name)
    model, seconds = fitted(data, "normal", {"iterations": arguments.iterations})
    heldout = data["heldout"]
    keys = heldout.keys[np.arange(arguments.samples) % len(heldout)]
    started = time.perf_counter()
    draws = [
        evaluate(
            model.sample(arguments.samples, key=keys, seed=2 + draw),
            heldout,
            model.spec.lowest_pitch,
            train=data["train_segments"],
            seed=draw,
        )
        for draw in range(arguments.draws)
    ]
    result = _averaged(draws)
    result["evaluate_seconds"] = time.perf_counter() - started
    result["training_seconds"] = seconds
    result["settings"] = {
        "iterations": arguments.iterations,
        "samples": arguments.samples,
        "draws": arguments.draws,
    }
    result["data"] = {
        "corpus": name,
        "train_segments": len(data["train_segments"]),
        "heldout_segments": len(heldout),
    }
    result["targets"] = {
        "gan_mean_overlap_at_least_0.8": result["gan_mean_overlap"] >= TARGET,
        "gan_above_baseline_on_most_metrics": result["gan_above_baseline_on"]
        > len(result["metrics"]) / 2,
        "in_key_within_human_spread": result["gan"]["in_key_within_human_spread"],
        "voice_ranges_within_human_spread": result["gan"]["voice_ranges_within_human_spread"],
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=ITERATIONS)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--draws", type=int, default=4, help="draws of samples of each model")
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=CORPORA)
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    results = {name: run_corpus(name, arguments) for name in arguments.corpora}
    out = dict(results[arguments.corpora[0]])
    if len(arguments.corpora) > 1:
        out["second_corpus"] = results[arguments.corpora[1]]
    out["machine"] = {"python": platform.python_version(), "torch": torch.__version__}
    write_json(RESULT, out)
    for name, result in results.items():
        print(name, result["gan_mean_overlap"], result["baseline_mean_overlap"], result["targets"])


if __name__ == "__main__":
    main()
