"""The originality report on a normally trained model, an overfitted one and held-out humans.

Protocol (issue 18), on music21's Bach chorales (the four-voice pieces in four beats a
bar, four-bar segments of 16th-note steps), split 80 / 20 by melody identity (seed 0),
on one CPU thread:

* ``model``: :class:`~ganforge.music.MusicGAN` with the spec's defaults (key-conditioned,
  transposition augmentation; ``--iterations`` defaults to the spec's 1,500) on every
  training segment;
* ``overfitted``: the same spec, unconditioned, trained ``--overfit-iterations``
  (1,500) iterations on a handful (``--overfit-segments``, 4) of training segments
  without augmentation;
* ``human``: the held-out segments themselves.

``--samples`` segments of each model (keys drawn from the held-out segments) go through
:func:`ganforge.music.originality.originality_reports` against every window (every step
offset) of every training piece in 12 transpositions. Top-level keys: ``model_share``,
``overfitted_share``, ``human_share`` (the share of segments above 0.95 similarity to the
training set) and ``model_flagged``, ``overfitted_flagged``, ``human_flagged`` (the
report's verdicts; the human verdict judges half of the held-out melodies against the
other half). Targets: the overfitted share at least ten times the human share and
flagged; the model's share at or below the human share and not flagged; the humans not
flagged. Every other check of the report is kept under ``reports``.

The same bench with the same defaults runs on Palestrina's four-voice mass movements
(100 of the 465 usable pieces, drawn with seed 0: all of them would not fit in memory
here) under ``second_corpus``. Fitted models are kept in the cache folder
(``bench_music``), where bench/music_quality.py finds them.

Usage: OMP_NUM_THREADS=1 python bench/music_originality.py [--iterations N] [--samples N]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.core.files import cache_dir, write_json
from ganforge.music import MusicGAN, MusicSpec, cut_segments, load_corpus, melody_split
from ganforge.music.originality import originality_reports, training_reference

RESULT = Path(__file__).parent / "results" / "music_originality.json"
MODELS = cache_dir() / "bench_music_v9"  # v9: normalised pitch prior, truncated sampling
ITERATIONS = MusicSpec().iterations  # the normal model: the spec default (1,500)
CORPORA = ("bach", "palestrina")
# Palestrina's 465 usable pieces hold 398,304 steps, five times Bach's 78,492: every
# window of 80 % of them would not fit in memory here, so 100 pieces drawn with seed 0
# (about as many steps as the chorales) stand for the collection.
PIECES = {"palestrina": 100}


def corpus_split(name: str) -> dict[str, Any]:
    """The corpus, its melody split (80 / 20, seed 0) and the segments of each side."""
    pieces, skipped = load_corpus(name, progress=True)
    if name in PIECES:
        keep = np.sort(np.random.default_rng(0).choice(len(pieces), PIECES[name], replace=False))
        pieces = [pieces[i] for i in keep]
    spec = MusicSpec()
    train_idx, held_idx = melody_split(pieces, 0.2, seed=0)
    train = [pieces[i] for i in train_idx]
    held = [pieces[i] for i in held_idx]
    low, n = spec.lowest_pitch, spec.n_pitches
    return {
        "name": name,
        "pieces": len(pieces),
        "skipped": len(skipped),
        "train": train,
        "held": held,
        "train_segments": cut_segments(train, low, n),
        "heldout": cut_segments(held, low, n),
    }


def fitted(data: dict[str, Any], kind: str, options: dict[str, Any]) -> tuple[MusicGAN, float]:
    """A fitted model from the cache folder, or trained now (and kept); its seconds."""
    tag = "-".join(f"{k}{v}" for k, v in sorted(options.items()))
    path = MODELS / f"{data['name']}-{kind}-{tag}.pt"
    timing = path.with_suffix(".json")  # the training seconds of the cached model
    if path.is_file():
        model = MusicGAN.load(path, device="cpu")
        seconds = json.loads(timing.read_text())["seconds"] if timing.is_file() else math.nan
        return model, seconds
    segments = data["train_segments"]
    if kind == "overfitted":
        keep = options.pop("segments")
        pick = np.random.default_rng(0).choice(len(segments), keep, replace=False)
        segments = type(segments)(
            segments.rolls[pick], segments.keys[pick], segments.piece[pick],
            segments.start[pick], segments.lowest_pitch,
        )  # fmt: skip
    started = time.perf_counter()
    model = MusicGAN(MusicSpec(device="cpu", **options)).fit(segments, progress=True)
    seconds = time.perf_counter() - started
    model.save(path)
    timing.write_text(json.dumps({"seconds": seconds}))
    return model, seconds


def models(data: dict[str, Any], arguments: argparse.Namespace) -> dict[str, Any]:
    normal = {"iterations": arguments.iterations}
    overfit = {
        "iterations": arguments.overfit_iterations,
        "segments": arguments.overfit_segments,
        "batch_size": arguments.overfit_segments,
        "max_shift": 0,
        "condition": "none",  # keys it never saw would not ask it to copy
    }
    model, model_seconds = fitted(data, "normal", dict(normal))
    overfitted, overfit_seconds = fitted(data, "overfitted", dict(overfit))
    return {
        "model": model,
        "overfitted": overfitted,
        "settings": {"model": normal, "overfitted": overfit},
        "seconds": {"model": model_seconds, "overfitted": overfit_seconds},
    }


def run_corpus(name: str, arguments: argparse.Namespace) -> dict[str, Any]:
    data = corpus_split(name)
    fits = models(data, arguments)
    heldout = data["heldout"]
    keys = heldout.keys[np.arange(arguments.samples) % len(heldout)]
    generated = {
        kind: fits[kind].sample(arguments.samples, key=keys, seed=1)
        for kind in ("model", "overfitted")
    }
    spec = fits["model"].spec
    low, n = spec.lowest_pitch, spec.n_pitches
    train = data["train"]
    started = time.perf_counter()
    reference = training_reference(
        [p.roll[:, :, low : low + n] for p in train],
        first_bars=[p.first_bar for p in train],
        names=[p.name for p in train],
    )
    reports = originality_reports(
        generated,
        reference,
        heldout.rolls,
        lowest_pitch=low,
        heldout_groups=[data["held"][i].melody for i in heldout.piece],
        interpolation={"model": fits["model"].interpolate(10, key=0)},
    )
    audit_seconds = time.perf_counter() - started
    model, over = reports["model"], reports["overfitted"]
    human_share = model.checks["near_copy_share"].reference
    result = {
        "model_share": model.checks["near_copy_share"].value,
        "overfitted_share": over.checks["near_copy_share"].value,
        "human_share": human_share,
        "model_flagged": model.flagged,
        "overfitted_flagged": over.flagged,
        "human_flagged": model.details["human_flagged"],
        "overfitted_over_human": (  # null when no human segment is a near copy
            over.checks["near_copy_share"].value / human_share if human_share else None
        ),
        "bar_aligned": {
            "model": model.details["bar_aligned_share"],
            "overfitted": over.details["bar_aligned_share"],
            "human": model.details["human_bar_aligned_share"],
        },
        "data": {
            "corpus": name,
            "usable_pieces": data["pieces"],
            "left_out_files": data["skipped"],
            "train_pieces": len(train),
            "heldout_pieces": len(data["held"]),
            "train_segments": len(data["train_segments"]),
            "heldout_segments": len(heldout),
            "training_windows": int(len(reference.windows)),
            "generated_per_model": arguments.samples,
        },
        "settings": fits["settings"],
        "training_seconds": fits["seconds"],
        "audit_seconds": audit_seconds,
        "reports": {kind: report.summary() for kind, report in reports.items()},
    }
    result["targets"] = {
        "overfitted_flagged_at_10x_human": bool(
            result["overfitted_flagged"] and result["overfitted_share"] >= 10 * human_share
        ),
        "model_at_or_below_human_and_passed": bool(
            result["model_share"] <= human_share and not result["model_flagged"]
        ),
        "no_false_alarm_on_humans": not result["human_flagged"],
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=ITERATIONS)
    parser.add_argument("--overfit-iterations", type=int, default=1500)
    parser.add_argument("--overfit-segments", type=int, default=4)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=CORPORA)
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    results = {name: run_corpus(name, arguments) for name in arguments.corpora}
    first = results[arguments.corpora[0]]
    out = {k: v for k, v in first.items() if k != "reports"}
    out["reports"] = first["reports"]
    if len(arguments.corpora) > 1:
        out["second_corpus"] = results[arguments.corpora[1]]
    out["machine"] = {"python": platform.python_version(), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}  # fmt: skip
    write_json(RESULT, out)
    keys = ("model_share", "overfitted_share", "human_share", "model_flagged",
            "overfitted_flagged", "human_flagged")  # fmt: skip
    for name, result in results.items():
        print(name, {k: result[k] for k in keys})


if __name__ == "__main__":
    main()
