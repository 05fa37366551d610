"""Quality against the held-out human set: mgeval overlap areas, the Markov baseline beside them.

:func:`evaluate` samples the GAN, compares it with the held-out segments on
every music metric (:func:`ganforge.music.metrics.compare_sets`), does the
same for the first-order Markov chain over chord states trained on the same
segments (:class:`~ganforge.music.baseline.MarkovChain`), and checks the
in-key rate and each voice's range against the human sets' spread
(:func:`spread_check`). Beside them, how each set's voices move from note to
note (:func:`ganforge.music.metrics.melodic_moves`: steps and leaps), for the
held-out humans too.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ganforge.core.files import write_json
from ganforge.music.baseline import MarkovChain
from ganforge.music.data import Segments, as_rolls
from ganforge.music.metrics import compare_features, features, melodic_moves, voice_ranges

RANGE_MARGIN = 3  # semitones a voice's range may stray beyond the human sets' ranges


def spread_check(
    generated: np.ndarray,
    heldout: np.ndarray,
    lowest_pitch: int,
    train: np.ndarray | None = None,
) -> dict[str, Any]:
    """In-key rate and voice ranges of a set against the human sets' spread.

    The in-key rate is within the spread when the set's mean lies between the
    held-out segments' 5th and 95th percentiles. A voice's range is its lowest and
    highest pitch (the 5th percentile of its segments' lowest sounding pitch, the 95th
    of their highest); it is within the spread when each of the two lies between the
    smallest and the largest value the human sets give (the held-out set's and, when
    ``train`` is given, the training set's), widened by :data:`RANGE_MARGIN`
    semitones either way. Two human sets of one collection can differ by more than
    that margin (20 of Palestrina's masses against 80: the alto's highest pitch 77
    against 72), so one set alone would fail human music as well.
    """
    humans = _human_spread(features(heldout, lowest_pitch), heldout, lowest_pitch, train)
    return _judged(features(generated, lowest_pitch), generated, lowest_pitch, humans)


def _human_spread(
    heldout_features: dict[str, np.ndarray],
    heldout: np.ndarray,
    lowest_pitch: int,
    train: np.ndarray | None,
) -> dict[str, Any]:
    """What :func:`spread_check` measures a set against, computed once per human set."""
    in_key = np.percentile(heldout_features["in_key_rate"][:, 0], [5, 95])
    ranges = [voice_ranges(heldout, lowest_pitch)]
    if train is not None:
        ranges.append(voice_ranges(train, lowest_pitch))
    bounds = np.stack(
        [np.min(ranges, axis=0) - RANGE_MARGIN, np.max(ranges, axis=0) + RANGE_MARGIN], axis=-1
    )  # (tracks, 2 ends, lower / upper bound)
    return {"in_key_5_95": in_key, "ranges": ranges, "bounds": bounds}


def _judged(
    set_features: dict[str, np.ndarray],
    rolls: np.ndarray,
    lowest_pitch: int,
    humans: dict[str, Any],
) -> dict[str, Any]:
    """:func:`spread_check`'s result for a set (its features and rolls) against ``humans``."""
    in_key = float(set_features["in_key_rate"].mean())
    lo, hi = (float(v) for v in humans["in_key_5_95"])
    ranges, bounds = voice_ranges(rolls, lowest_pitch), humans["bounds"]
    voices_ok = bool(
        np.isfinite(ranges).all()
        and np.all((bounds[..., 0] <= ranges) & (ranges <= bounds[..., 1]))
    )
    result = {
        "in_key_rate": in_key,
        "human_in_key_rate_5_95": [lo, hi],
        "in_key_within_human_spread": bool(lo <= in_key <= hi),
        "voice_ranges": ranges.tolist(),
        "human_voice_ranges": humans["ranges"][0].tolist(),
    }
    if len(humans["ranges"]) > 1:
        result["training_voice_ranges"] = humans["ranges"][1].tolist()
    result["voice_range_bounds"] = bounds.tolist()
    result["voice_ranges_within_human_spread"] = voices_ok
    return result


def _mean_overlap(compared: dict[str, dict[str, float]]) -> float:
    return float(np.mean([m["overlap_area"] for m in compared.values()]))


def evaluate(
    generated: np.ndarray,
    heldout: Segments | np.ndarray,
    lowest_pitch: int,
    *,
    train: Segments | np.ndarray | None = None,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The GAN's (``generated``) quality against the held-out set, and the Markov baseline's
    when ``train`` is given (fitted on it, as many samples as ``generated``; the training
    set's voice ranges then widen the human spread of :func:`spread_check`). Each set's
    voice leading (``melodic_moves``: ``gan``, ``heldout``, ``baseline``) is reported
    beside the nine metrics, not among them."""
    ref = as_rolls(heldout)
    train_rolls = None if train is None else as_rolls(train)
    generated = np.asarray(generated) > 0
    ref_features, gen_features = features(ref, lowest_pitch), features(generated, lowest_pitch)
    humans = _human_spread(ref_features, ref, lowest_pitch, train_rolls)
    compared = compare_features(gen_features, ref_features, seed=seed)
    result: dict[str, Any] = {
        "n_generated": int(len(generated)),
        "n_heldout": int(len(ref)),
        "gan_mean_overlap": _mean_overlap(compared),
        "gan": _judged(gen_features, generated, lowest_pitch, humans),
    }
    metrics = {name: {"gan": values} for name, values in compared.items()}
    moves = {"gan": melodic_moves(generated), "heldout": melodic_moves(ref)}
    if train is not None:
        chain = MarkovChain().fit(train_rolls)
        baseline = chain.sample(len(generated), seed=seed)
        base_features = features(baseline, lowest_pitch)
        base = compare_features(base_features, ref_features, seed=seed)
        result["baseline_mean_overlap"] = _mean_overlap(base)
        result["baseline"] = _judged(base_features, baseline, lowest_pitch, humans)
        for name, values in base.items():
            metrics[name]["baseline"] = values
        moves["baseline"] = melodic_moves(baseline)
        wins = sum(
            metrics[n]["gan"]["overlap_area"] > metrics[n]["baseline"]["overlap_area"]
            for n in metrics
        )
        result["gan_above_baseline_on"] = int(wins)
    result["metrics"] = metrics
    result["melodic_moves"] = moves
    if out is not None:
        write_json(out, result)
    return result
