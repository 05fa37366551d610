"""The originality report: does a generator write new music or replay its training set?

Every check is a named figure with a threshold and a verdict, measured for the
generated segments and, as the reference, for held-out human segments (real
music the generator never saw, split from the training set by melody):

- ``near_copy_share``: the share of segments whose nearest training window
  (every step offset, all 12 transpositions) has cosine similarity above 0.95;
  the core's :func:`~ganforge.core.metrics.memorisation_audit` does the search
  (``views=12``). Flagged when the share exceeds three times the held-out
  share plus five points (near copies of human music cluster in a few pieces,
  the same chorale harmonised twice, so a test that counts segments as
  independent raises false alarms); the core's one-sided p-value is reported.
  The bar-aligned, untransposed share is reported beside it (it under-counts
  copies);
- ``copied_bars``: the share of segments holding at least two consecutive bars
  found verbatim (in some transposition, at any offset) in the training set,
  the longest such run, and ``ngram_overlap``: the share of 6-note interval
  n-grams of every track found in the training set; both against the held-out
  humans;
- ``pairwise_similarity`` (mean cosine over pairs of at least 100 samples) and
  ``unique_bar_share`` (distinct bar patterns over all bars of up to 1,000
  samples): mode collapse, against the held-out humans;
- ``interpolation_max_jump``: along a 10-step latent interpolation, the largest
  change between neighbours as a share of the whole path's change (a smooth
  path spreads it: 1/9 per step);
- ``music_overlap``: the mgeval-style overlap areas of nine music metrics
  against the held-out set (:mod:`ganforge.music.metrics`), with KL divergences.

``flagged`` (the report's verdict on memorisation) is the ``near_copy_share``
check's.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.core.files import write_json
from ganforge.core.metrics import memorisation_audit, nearest_neighbours
from ganforge.core.metrics.memorisation import excess_p_value
from ganforge.music.data import STEPS_PER_BAR
from ganforge.music.metrics import compare_sets
from ganforge.music.similarity import SHIFTS, RollFeatures

THRESHOLD = 0.95
ALPHA = 1e-3
SHARE_FACTOR = 3.0
SHARE_MARGIN = 0.05
VERDICT_RULE = f"flagged above {SHARE_FACTOR:g} x the held-out share + {SHARE_MARGIN:g}"
NGRAM = 6
NGRAM_MARGIN = 0.10
PAIRWISE_MARGIN = 0.10
UNIQUE_FACTOR = 0.5
MAX_JUMP = 0.5
MIN_OVERLAP = 0.5
PAIRWISE_SAMPLES = 200
UNIQUE_SAMPLES = 1000
MIN_HELDOUT = 20


@dataclass
class Check:
    """One figure of the report: its value, the human reference, the rule and the verdict."""

    name: str
    value: float
    reference: float | None
    threshold: str
    flagged: bool
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "human_reference": self.reference,
            "threshold": self.threshold,
            "verdict": "flagged" if self.flagged else "pass",
            "text": self.text,
        }


@dataclass
class OriginalityReport:
    """What :func:`originality_report` found."""

    checks: dict[str, Check]
    details: dict[str, Any]
    closest: list[dict[str, Any]] = field(default_factory=list)
    generated_similarity: np.ndarray | None = None
    human_similarity: np.ndarray | None = None

    @property
    def flagged(self) -> bool:
        """The memorisation verdict: the near-copy share exceeds the human baseline."""
        return self.checks["near_copy_share"].flagged

    def summary(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "checks": {name: check.as_dict() for name, check in self.checks.items()},
            "details": self.details,
            "closest_pairs": self.closest,
        }

    def write(self, path: str | os.PathLike[str]) -> Path:
        return write_json(path, self.summary())

    def figures(self) -> dict[str, Any]:
        """Matplotlib figures: similarity distributions and the closest pairs."""
        from ganforge.music.figures import similarity_figure

        figures = {}
        if self.generated_similarity is not None:
            figures["nearest-neighbour similarity to the training set"] = similarity_figure(
                self.generated_similarity, self.human_similarity, THRESHOLD
            )
        return figures


# ------------------------------------------------------------------ reference
@dataclass
class TrainingReference:
    """The training set prepared for the report: every window's features and hashes.

    Build it once with :func:`training_reference` and pass it to several reports.
    """

    features: RollFeatures
    windows: torch.Tensor
    index: Any
    aligned: torch.Tensor
    names: list[str]
    rolls: list[np.ndarray]
    run_hashes: dict[int, set[bytes]]
    ngrams: set[bytes]
    steps: int


def training_reference(
    rolls: Sequence[np.ndarray],
    *,
    first_bars: Sequence[int] | None = None,
    names: Sequence[str] | None = None,
    steps: int = 64,
) -> TrainingReference:
    """Windows of ``steps`` at every offset of every training piece roll
    ``(tracks, T, P)`` (in the generator's pitch range), and verbatim-copy indexes."""
    rolls = [np.asarray(r) > 0 for r in rolls]
    features = RollFeatures.fit(rolls, steps)
    windows, index = features.reference(rolls, hop=1)
    starts = first_bars if first_bars is not None else [0] * len(rolls)
    aligned, _ = RollFeatures(features.ranges, steps).reference(
        rolls, hop=STEPS_PER_BAR, start=starts
    )
    bars = steps // STEPS_PER_BAR
    runs = {n: _window_hashes(rolls, n * STEPS_PER_BAR) for n in range(2, bars + 1)}
    ngrams = set()
    for roll in rolls:
        ngrams |= _ngrams(roll)
    return TrainingReference(
        features, windows, index, aligned, list(names or [str(i) for i in range(len(rolls))]),
        rolls, runs, ngrams, steps,
    )  # fmt: skip


def _canonical(window: np.ndarray) -> bytes | None:
    """A window moved down to its lowest sounding pitch (transposition-free), as bytes."""
    pitches = np.nonzero(window.any((0, 1)))[0]
    if not len(pitches):
        return None
    moved = window[..., pitches.min() : pitches.max() + 1]
    header = np.array(moved.shape, np.int32).tobytes()
    return hashlib.blake2b(header + np.packbits(moved).tobytes(), digest_size=16).digest()


def _window_hashes(rolls: Sequence[np.ndarray], length: int) -> set[bytes]:
    found = set()
    for roll in rolls:
        for start in range(0, roll.shape[1] - length + 1):
            digest = _canonical(roll[:, start : start + length])
            if digest is not None:
                found.add(digest)
    return found


def _onset_pitches(track: np.ndarray) -> list[int]:
    """The (highest) pitch of every onset of one binary track ``(T, P)``."""
    onsets = track & ~np.pad(track, ((1, 0), (0, 0)))[:-1]
    steps = np.nonzero(onsets.any(1))[0]
    return [int(np.nonzero(onsets[t])[0].max()) for t in steps]


def _ngrams(roll: np.ndarray) -> set[bytes]:
    grams = set()
    for track in roll:
        pitches = _onset_pitches(track)
        intervals = np.diff(pitches).astype(np.int8)
        for i in range(len(intervals) - NGRAM + 2):
            grams.add(intervals[i : i + NGRAM - 1].tobytes())
    return grams


# ----------------------------------------------------------------- checks
def longest_copied_run(segment: np.ndarray, reference: TrainingReference) -> int:
    """The most consecutive bars (from bar lines) of a segment found verbatim, in some
    transposition and at some offset, in the training set (1 stands for "fewer than 2")."""
    bars = segment.shape[1] // STEPS_PER_BAR
    best = 1
    for n in range(bars, 1, -1):
        for first in range(0, bars - n + 1):
            window = segment[:, first * STEPS_PER_BAR : (first + n) * STEPS_PER_BAR]
            if _canonical(window) in reference.run_hashes[n]:
                return n
    return best


def ngram_overlap(segments: np.ndarray, reference: TrainingReference) -> float:
    """Share of the segments' interval n-grams found in the training set."""
    found = total = 0
    for segment in segments:
        for track in segment:
            intervals = np.diff(_onset_pitches(track)).astype(np.int8)
            for i in range(len(intervals) - NGRAM + 2):
                total += 1
                found += intervals[i : i + NGRAM - 1].tobytes() in reference.ngrams
    return found / total if total else 0.0


def mean_pairwise_similarity(segments: np.ndarray, limit: int = PAIRWISE_SAMPLES) -> float:
    """Mean cosine similarity over distinct pairs of (up to ``limit``) segments."""
    x = (
        torch.as_tensor(np.asarray(segments[:limit]) > 0)
        .reshape(min(len(segments), limit), -1)
        .float()
    )
    norms = x.sum(1).sqrt().clamp_min(1e-12)
    cos = (x @ x.T) / norms[:, None] / norms[None, :]
    n = len(x)
    return float((cos.sum() - cos.diagonal().sum()) / (n * (n - 1))) if n > 1 else 1.0


def unique_bar_share(segments: np.ndarray, limit: int = UNIQUE_SAMPLES) -> float:
    """Distinct bar patterns (exact, all tracks) over all bars of up to ``limit`` segments."""
    x = np.asarray(segments[:limit]) > 0
    bars = x.reshape(len(x), x.shape[1], -1, STEPS_PER_BAR, x.shape[-1]).transpose(0, 2, 1, 3, 4)
    bars = bars.reshape(-1, x.shape[1] * STEPS_PER_BAR * x.shape[-1])
    return len({np.packbits(b).tobytes() for b in bars}) / len(bars)


def interpolation_max_jump(path: np.ndarray) -> float:
    """The largest change between neighbouring segments of a path as a share of all change
    (changed cells); 0 for a path that never changes."""
    x = np.asarray(path) > 0
    changes = np.array([(x[i] ^ x[i + 1]).sum() for i in range(len(x) - 1)], float)
    return float(changes.max() / changes.sum()) if changes.sum() else 0.0


def near_copy_verdict(share: float, human_share: float, n: int, n_human: int) -> tuple[bool, float]:
    """Flagged when ``share`` exceeds ``SHARE_FACTOR`` x the human share + ``SHARE_MARGIN``;
    and the core's one-sided p-value of the excess (a human share of 0 counts as half a
    segment), which assumes independent segments and so is reported, not used."""
    base = max(human_share, 0.5 / n_human)
    p = excess_p_value(share, min(base, 0.5), n, n_human)
    return bool(share > SHARE_FACTOR * human_share + SHARE_MARGIN), p


def originality_report(
    generated: np.ndarray, reference: TrainingReference, heldout: np.ndarray, **options
) -> OriginalityReport:
    """The report on one generated set (see :func:`originality_reports` for the options)."""
    return originality_reports({"generated": generated}, reference, heldout, **options)["generated"]


def originality_reports(
    generated: dict[str, np.ndarray],
    reference: TrainingReference,
    heldout: np.ndarray,
    *,
    lowest_pitch: int,
    heldout_groups: Sequence[str] | None = None,
    interpolation: dict[str, np.ndarray] | None = None,
    threshold: float = THRESHOLD,
    closest: int = 5,
    device: str | torch.device | None = None,
    music_metrics: bool = True,
) -> dict[str, OriginalityReport]:
    """Every check of the module docstring for each set of ``generated`` segments
    ``(n, tracks, steps, P)`` (by name) against the training set (``reference``) and
    ``heldout`` human segments. One nearest-neighbour search serves every set.

    Args:
        interpolation: per set name, a latent path ``(10, tracks, steps, P)``
            (``MusicGAN.interpolate``); sets without one skip that check.
        heldout_groups: the melody of each held-out segment; the human verdict
            (``details["human_flagged"]``) judges one half of the melodies against
            the other, as the model is judged against all of them.
        lowest_pitch: MIDI pitch of the rolls' first row (for the music metrics).
    """
    sets = {name: np.asarray(rolls) > 0 for name, rolls in generated.items()}
    heldout = np.asarray(heldout) > 0
    if len(heldout) < MIN_HELDOUT:
        raise ValueError(
            f"the held-out set has {len(heldout)} four-bar segment(s); the report needs at "
            f"least {MIN_HELDOUT} as its human baseline: add pieces or hold out more"
        )
    for name, rolls in sets.items():
        if rolls.ndim != 4 or rolls.shape[1:] != heldout.shape[1:] or not len(rolls):
            raise ValueError(
                f"{name}: segments of shape {rolls.shape[1:]} against held-out "
                f"{heldout.shape[1:]} (tracks, steps, pitches)"
            )
    sizes = [len(rolls) for rolls in sets.values()]
    views = len(SHIFTS)
    audit = memorisation_audit(
        reference.features.views(np.concatenate(list(sets.values()))),
        reference.windows,
        reference.features.views(heldout),
        threshold=threshold,
        views=views,
        device=device,
    )
    human_cos = audit.heldout_max_train_cosine.numpy()
    human = _HumanFigures.measure(heldout, reference, human_cos, heldout_groups, threshold, device)
    reports, first = {}, 0
    for (name, rolls), size in zip(sets.items(), sizes, strict=True):
        rows = slice(first, first + size)
        first += size
        path = None if interpolation is None else interpolation.get(name)
        reports[name] = _report(
            rolls, reference, heldout, human, audit, rows, path, lowest_pitch, threshold,
            closest, device, music_metrics,
        )  # fmt: skip
    return reports


@dataclass
class _HumanFigures:
    """The held-out humans' side of every check (measured once for all sets)."""

    cos: np.ndarray
    share: float
    aligned_share: float
    flagged: bool
    p_value: float
    runs: np.ndarray
    grams: float
    pairwise: float
    unique: float

    @classmethod
    def measure(cls, heldout, reference, cos, groups, threshold, device) -> _HumanFigures:
        flagged, p = _human_verdict(cos, groups, threshold)
        aligned = _aligned_similarity(heldout, reference, device)
        return cls(
            cos, float((cos >= threshold).mean()), float((aligned >= threshold).mean()), flagged, p,
            np.array([longest_copied_run(s, reference) for s in heldout]),
            ngram_overlap(heldout, reference), mean_pairwise_similarity(heldout),
            unique_bar_share(heldout),
        )  # fmt: skip


def _report(
    generated,
    reference,
    heldout,
    human,
    audit,
    rows,
    interpolation,
    lowest_pitch,
    threshold,
    closest,
    device,
    music_metrics,
) -> OriginalityReport:
    gen_cos = audit.max_train_cosine.numpy()[rows]
    human_cos, human_share = human.cos, human.share
    share = float((gen_cos >= threshold).mean())
    flagged, p_value = near_copy_verdict(share, human_share, len(gen_cos), len(human_cos))
    aligned_gen = _aligned_similarity(generated, reference, device)

    checks = {
        "near_copy_share": Check(
            "near_copy_share", share, human_share,
            VERDICT_RULE, flagged,
            f"share of segments with similarity >= {threshold} to a training window "
            "(all step offsets, 12 transpositions)",
        ),
    }  # fmt: skip
    runs = np.array([longest_copied_run(s, reference) for s in generated])
    human_runs = human.runs
    copied, human_copied = float((runs >= 2).mean()), float((human_runs >= 2).mean())
    copied_flag, _ = near_copy_verdict(copied, human_copied, len(runs), len(human_runs))
    checks["copied_bars"] = Check(
        "copied_bars", copied, human_copied,
        VERDICT_RULE, copied_flag,
        "share of segments holding >= 2 consecutive bars verbatim from the training set",
    )  # fmt: skip
    grams, human_grams = ngram_overlap(generated, reference), human.grams
    checks["ngram_overlap"] = Check(
        "ngram_overlap", grams, human_grams, f"flagged above the held-out share + {NGRAM_MARGIN}",
        grams > human_grams + NGRAM_MARGIN,
        f"share of {NGRAM}-note interval n-grams (per track) found in the training set",
    )  # fmt: skip
    pairwise = mean_pairwise_similarity(generated)
    human_pairwise = human.pairwise
    checks["pairwise_similarity"] = Check(
        "pairwise_similarity", pairwise, human_pairwise,
        f"flagged above the held-out value + {PAIRWISE_MARGIN}",
        pairwise > human_pairwise + PAIRWISE_MARGIN,
        f"mean cosine similarity over pairs of {min(len(generated), PAIRWISE_SAMPLES)} samples",
    )  # fmt: skip
    unique, human_unique = unique_bar_share(generated), human.unique
    checks["unique_bar_share"] = Check(
        "unique_bar_share", unique, human_unique,
        f"flagged below {UNIQUE_FACTOR} x the held-out value",
        unique < UNIQUE_FACTOR * human_unique,
        f"distinct bar patterns over the bars of {min(len(generated), UNIQUE_SAMPLES)} samples",
    )  # fmt: skip
    if interpolation is not None:
        jump = interpolation_max_jump(interpolation)
        checks["interpolation_max_jump"] = Check(
            "interpolation_max_jump", jump, None, f"flagged above {MAX_JUMP} (smooth: 1/9)",
            jump > MAX_JUMP,
            f"largest change between neighbours of a {len(interpolation)}-step latent "
            "interpolation, "
            "as a share of the path's change",
        )  # fmt: skip
    details: dict[str, Any] = {
        "n_generated": len(generated),
        "n_heldout": len(heldout),
        "n_training_windows": int(len(reference.windows)),
        "near_copy_p_value": p_value,
        "bar_aligned_share": float((aligned_gen >= threshold).mean()),
        "human_bar_aligned_share": human.aligned_share,
        "human_flagged": human.flagged,
        "human_flag_p_value": human.p_value,
        "median_similarity": float(np.median(gen_cos)),
        "human_median_similarity": float(np.median(human_cos)),
        "longest_copied_bars": int(runs.max()) if len(runs) else 0,
        "human_longest_copied_bars": int(human_runs.max()) if len(human_runs) else 0,
        "core_audit_heldout_near_duplicate_share": audit.heldout_near_duplicate_share,
    }
    if music_metrics:
        compared = compare_sets(generated, heldout, lowest_pitch)
        mean_overlap = float(np.mean([m["overlap_area"] for m in compared.values()]))
        checks["music_overlap"] = Check(
            "music_overlap", mean_overlap, None, f"flagged below {MIN_OVERLAP}",
            mean_overlap < MIN_OVERLAP,
            "mean mgeval overlap area of nine music metrics against the held-out set",
        )  # fmt: skip
        details["music_metrics"] = compared
    order = np.argsort(-gen_cos)[:closest]
    pairs = []
    for g in order:
        window = int(audit.max_train_cosine_index[rows][g])
        view = int(audit.max_train_cosine_view[rows][g])
        pairs.append({
            "generated": int(g),
            "similarity": float(gen_cos[g]),
            "piece": reference.names[int(reference.index.piece[window])],
            "piece_index": int(reference.index.piece[window]),
            "start_step": int(reference.index.start[window]),
            "transposition": int(SHIFTS[view]),
        })  # fmt: skip
    return OriginalityReport(checks, details, pairs, gen_cos, human_cos)


def _aligned_similarity(segments: np.ndarray, reference: TrainingReference, device) -> np.ndarray:
    """Largest cosine to the bar-aligned, untransposed training segments."""
    query = reference.features.views(segments, shifts=(0,))
    return nearest_neighbours(
        query, reference.aligned, 1, with_cosine=True, device=device
    ).max_cosine.numpy()


def _human_verdict(
    human_cos: np.ndarray, groups: Sequence[str] | None, threshold: float
) -> tuple[bool, float]:
    """The near-copy verdict on one half of the held-out melodies against the other half."""
    if groups is None:
        groups = [str(i) for i in range(len(human_cos))]
    names = sorted(set(groups))
    half = set(names[::2])
    first = np.array([g in half for g in groups])
    if first.all() or not first.any():
        return False, 1.0
    a, b = human_cos[first] >= threshold, human_cos[~first] >= threshold
    return near_copy_verdict(float(b.mean()), float(a.mean()), len(b), len(a))


def closest_pair_rolls(
    report: OriginalityReport, generated: np.ndarray, reference: TrainingReference
):
    """``[(generated roll, training window moved into its key, pair)]`` of the closest pairs."""
    from ganforge.music.similarity import transpose

    out = []
    for pair in report.closest:
        roll = reference.rolls[pair["piece_index"]]
        window = roll[:, pair["start_step"] : pair["start_step"] + reference.steps]
        # the generated view was moved by +shift to match: move the window by -shift
        moved = transpose(torch.as_tensor(window), -pair["transposition"]).numpy()
        out.append((np.asarray(generated[pair["generated"]]), moved, pair))
    return out
