"""Music metrics after mgeval (Yang & Lerch 2018) and MuseGAN (Dong et al. 2018).

Each metric maps one segment (a binary roll ``(tracks, steps, pitches)``) to a
number or a vector (:data:`METRICS`). A set is compared with a reference set
the mgeval way: the distances between the reference's own segments
(intra-set) and between the two sets (inter-set) form two distributions, each
smoothed by a Gaussian kernel density; their overlap area (1: the set is
indistinguishable from the reference) and the KL divergence of the intra-set
from the inter-set density are the figures (:func:`compare_sets`).

Onsets are read from binary rolls: a cell sounds and did not sound the step
before (so a repeated note held across steps counts once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ganforge.music.data import STEPS_PER_BAR, estimate_key, scale_pitch_classes

NOTE_LENGTHS = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64])  # steps (mgeval's 12 classes)
QUALIFIED_STEPS = 2  # a note of at least an 8th (two 16th steps) is qualified
LEAP_SEMITONES = 5  # a voice's move of a fourth or more is a leap
MAX_DISTANCES = 20_000  # distances per distribution (a random subset beyond)
GRID = 512


@dataclass
class Notes:
    """The notes of a binary roll: track, start, length and MIDI pitch of each."""

    track: np.ndarray
    start: np.ndarray
    length: np.ndarray
    pitch: np.ndarray


def notes_of(roll: np.ndarray, lowest_pitch: int = 0) -> Notes:
    """Runs of sounding steps per (track, pitch) of a binary roll."""
    x = np.asarray(roll) > 0
    padded = np.pad(x, ((0, 0), (1, 1), (0, 0)))
    change = np.diff(padded.astype(np.int8), axis=1)
    tracks, starts, pitches = np.nonzero(change == 1)
    t2, stops, p2 = np.nonzero(change == -1)
    # both lists are in (track, step, pitch) order; pair runs per (track, pitch)
    order_a = np.lexsort((starts, pitches, tracks))
    order_b = np.lexsort((stops, p2, t2))
    return Notes(
        tracks[order_a],
        starts[order_a],
        stops[order_b] - starts[order_a],
        pitches[order_a] + lowest_pitch,
    )


def mean_note_steps(rolls: np.ndarray) -> float:
    """Mean length in steps of the notes (:func:`notes_of`) of ``rolls`` ``(n, tracks,
    steps, pitches)`` (1.0 when nothing sounds)."""
    rolls = np.asarray(rolls)
    lengths = notes_of(rolls.reshape(-1, *rolls.shape[2:])).length  # a track per row
    return float(lengths.mean()) if len(lengths) else 1.0


def on_grid_share(rolls: np.ndarray, step: int) -> float:
    """Share of the notes (:func:`notes_of`) of ``rolls`` ``(n, tracks, steps, pitches)``
    that start and end on a multiple of ``step`` steps (1.0 when nothing sounds)."""
    rolls = np.asarray(rolls)
    notes = notes_of(rolls.reshape(-1, *rolls.shape[2:]))
    if not len(notes.length):
        return 1.0
    return float(((notes.start % step == 0) & (notes.length % step == 0)).mean())


def pitch_class_histogram(roll: np.ndarray, lowest_pitch: int) -> np.ndarray:
    """Share of note onsets per pitch class (12)."""
    notes = notes_of(roll, lowest_pitch)
    histogram = np.bincount(notes.pitch % 12, minlength=12).astype(float)
    return histogram / max(histogram.sum(), 1.0)


def pitch_range(roll: np.ndarray, lowest_pitch: int) -> float:
    """Highest minus lowest sounding pitch (semitones)."""
    pitches = np.nonzero(np.asarray(roll).any((0, 1)))[0]
    return float(pitches.max() - pitches.min()) if len(pitches) else 0.0


def polyphony(roll: np.ndarray, lowest_pitch: int) -> float:
    """Mean number of sounding pitches over the steps where anything sounds."""
    counts = (np.asarray(roll) > 0).any(0).sum(1)
    sounding = counts[counts > 0]
    return float(sounding.mean()) if len(sounding) else 0.0


def note_length_histogram(roll: np.ndarray, lowest_pitch: int) -> np.ndarray:
    """Share of notes per length class (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64 steps)."""
    lengths = notes_of(roll).length
    classes = np.abs(lengths[:, None] - NOTE_LENGTHS[None]).argmin(1)
    histogram = np.bincount(classes, minlength=len(NOTE_LENGTHS)).astype(float)
    return histogram / max(histogram.sum(), 1.0)


def empty_bar_rate(roll: np.ndarray, lowest_pitch: int) -> float:
    """Share of (track, bar) pairs without a sounding step."""
    x = np.asarray(roll) > 0
    bars = x.reshape(x.shape[0], -1, STEPS_PER_BAR, x.shape[-1])
    return float((~bars.any((2, 3))).mean())


def pitch_classes_per_bar(roll: np.ndarray, lowest_pitch: int) -> float:
    """Mean number of pitch classes sounding in a bar (all tracks together)."""
    x = np.asarray(roll).any(0)
    bars = x.reshape(-1, STEPS_PER_BAR, x.shape[-1]).any(1)  # (bars, P)
    classes = np.zeros((len(bars), 12), bool)
    for p in np.nonzero(bars.any(0))[0]:
        classes[:, (p + lowest_pitch) % 12] |= bars[:, p]
    return float(classes.sum(1).mean())


def qualified_note_rate(roll: np.ndarray, lowest_pitch: int) -> float:
    """Share of notes lasting at least :data:`QUALIFIED_STEPS` steps."""
    lengths = notes_of(roll).length
    return float((lengths >= QUALIFIED_STEPS).mean()) if len(lengths) else 0.0


def in_key_rate(roll: np.ndarray, lowest_pitch: int, key: int | None = None) -> float:
    """Share of notes in the key's scale (the key estimated from the roll when not given)."""
    notes = notes_of(roll, lowest_pitch)
    if not len(notes.pitch):
        return 0.0
    if key is None:
        key = estimate_key(np.pad(np.asarray(roll), ((0, 0), (0, 0), (lowest_pitch, 0))))
    return float(np.isin(notes.pitch % 12, scale_pitch_classes(key)).mean())


def _tonal_matrix() -> np.ndarray:
    """Harte et al. (2006)'s 6 x 12 tonal centroid projection."""
    angles = np.arange(12)
    rows = [
        np.sin(angles * 7 * np.pi / 6),
        np.cos(angles * 7 * np.pi / 6),
        np.sin(angles * 3 * np.pi / 2),
        np.cos(angles * 3 * np.pi / 2),
        0.5 * np.sin(angles * 2 * np.pi / 3),
        0.5 * np.cos(angles * 2 * np.pi / 3),
    ]
    return np.array(rows)


TONAL = _tonal_matrix()


def tonal_distance(roll: np.ndarray, lowest_pitch: int) -> float:
    """MuseGAN's tonal distance: the mean distance between the tonal centroids of
    every pair of tracks, per bar where both sound."""
    x = np.asarray(roll) > 0
    tracks, steps, pitches = x.shape
    chroma = np.zeros((tracks, steps // STEPS_PER_BAR, 12))
    per_bar = x.reshape(tracks, -1, STEPS_PER_BAR, pitches).sum(2)  # (tracks, bars, P)
    for p in range(pitches):
        chroma[..., (p + lowest_pitch) % 12] += per_bar[..., p]
    norms = chroma.sum(-1, keepdims=True)
    centroid = np.einsum("ij,tbj->tbi", TONAL, chroma / np.maximum(norms, 1e-12))
    distances = []
    for a in range(tracks):
        for b in range(a + 1, tracks):
            both = (norms[a, :, 0] > 0) & (norms[b, :, 0] > 0)
            if both.any():
                distances.append(np.linalg.norm(centroid[a, both] - centroid[b, both], axis=1))
    return float(np.concatenate(distances).mean()) if distances else 0.0


METRICS: dict[str, Callable[[np.ndarray, int], float | np.ndarray]] = {
    "pitch_class_histogram": pitch_class_histogram,
    "pitch_range": pitch_range,
    "polyphony": polyphony,
    "note_length_histogram": note_length_histogram,
    "empty_bar_rate": empty_bar_rate,
    "pitch_classes_per_bar": pitch_classes_per_bar,
    "qualified_note_rate": qualified_note_rate,
    "in_key_rate": in_key_rate,
    "tonal_distance": tonal_distance,
}


def features(rolls: np.ndarray, lowest_pitch: int) -> dict[str, np.ndarray]:
    """Every metric of every segment: ``{name: (n, d)}``."""
    rolls = np.asarray(rolls) > 0
    out = {}
    for name, fn in METRICS.items():
        values = [np.atleast_1d(np.asarray(fn(roll, lowest_pitch), float)) for roll in rolls]
        out[name] = np.stack(values)
    return out


def voice_ranges(rolls: np.ndarray, lowest_pitch: int) -> np.ndarray:
    """``(tracks, 2)``: the 5th percentile of each track's lowest sounding pitch and the
    95th of its highest, over the segments where the track sounds."""
    x = np.asarray(rolls) > 0
    out = np.full((x.shape[1], 2), np.nan)
    for track in range(x.shape[1]):
        used = x[:, track].any(1)  # (n, P)
        sounding = used.any(1)
        if not sounding.any():
            continue
        low = np.array([np.nonzero(u)[0].min() for u in used[sounding]]) + lowest_pitch
        high = np.array([np.nonzero(u)[0].max() for u in used[sounding]]) + lowest_pitch
        out[track] = np.percentile(low, 5), np.percentile(high, 95)
    return out


def melodic_moves(rolls: np.ndarray) -> dict[str, float]:
    """How the voices of a set of segments ``(n, tracks, steps, pitches)`` move from one
    note to the next (voice leading, which the mgeval metrics do not see): the number of
    moves, the share by a step (1 or 2 semitones), the share by a leap
    (:data:`LEAP_SEMITONES` or more: a fourth or wider) and the mean move in semitones.
    A move joins a track's consecutive notes in one segment, across a rest too (notes
    starting together: lowest first), so the figures read one voice per track."""
    moves = []
    for roll in np.asarray(rolls) > 0:
        notes = notes_of(roll)
        order = np.lexsort((notes.pitch, notes.start, notes.track))
        track, pitch = notes.track[order], notes.pitch[order]
        moves.append(np.abs(np.diff(pitch))[track[1:] == track[:-1]])
    moves = np.concatenate(moves) if moves else np.zeros(0, dtype=np.int64)
    if not len(moves):
        return {"moves": 0, "step_share": 0.0, "leap_share": 0.0, "mean_move": 0.0}
    return {
        "moves": int(len(moves)),
        "step_share": float(((moves >= 1) & (moves <= 2)).mean()),
        "leap_share": float((moves >= LEAP_SEMITONES).mean()),
        "mean_move": float(moves.mean()),
    }


# ------------------------------------------------------------- set comparison
def _distances(a: np.ndarray, b: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Euclidean distances between the rows of ``a`` and ``b`` (``b=None``: distinct pairs
    within ``a``), at most :data:`MAX_DISTANCES` of them (a random subset)."""
    if b is None:
        i, j = np.triu_indices(len(a), k=1)
    else:
        i, j = np.divmod(np.arange(len(a) * len(b)), len(b))
    if len(i) > MAX_DISTANCES:
        keep = rng.choice(len(i), MAX_DISTANCES, replace=False)
        i, j = i[keep], j[keep]
    other = a if b is None else b
    return np.linalg.norm(a[i] - other[j], axis=1)


def _density(values: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    z = (grid[:, None] - values[None, :]) / bandwidth
    density = np.exp(-0.5 * z * z).sum(1) / (len(values) * bandwidth * np.sqrt(2 * np.pi))
    return density


def _bandwidth(values: np.ndarray, scale: float) -> float:
    """Scott's rule, floored so a set of equal distances still has a width."""
    spread = float(np.std(values)) if len(values) > 1 else 0.0
    return max(1.06 * spread * len(values) ** -0.2, 1e-3 * scale, 1e-6)


def overlap_and_kl(intra: np.ndarray, inter: np.ndarray) -> tuple[float, float]:
    """Overlap area of the two kernel densities and KL(intra || inter).

    Both densities take one bandwidth, Scott's rule on the pooled distances (floored):
    a set whose own distances are all equal (every segment with 12 pitch classes per
    bar) then still has a density comparable with the other's.
    """
    pooled = np.concatenate([intra, inter])
    scale = float(max(np.ptp(pooled), np.abs(pooled).max(initial=0), 1e-9))
    h_a = h_b = _bandwidth(pooled, scale)
    lo = min(intra.min(), inter.min()) - 4 * max(h_a, h_b)
    hi = max(intra.max(), inter.max()) + 4 * max(h_a, h_b)
    grid = np.linspace(lo, hi, GRID)
    step = grid[1] - grid[0]
    p, q = _density(intra, grid, h_a), _density(inter, grid, h_b)
    p, q = p / (p.sum() * step), q / (q.sum() * step)
    overlap = float(np.minimum(p, q).sum() * step)
    kl = float(np.sum(p * np.log((p + 1e-12) / (q + 1e-12))) * step)
    return min(overlap, 1.0), max(kl, 0.0)


def compare_sets(
    generated: np.ndarray, reference: np.ndarray, lowest_pitch: int, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Per metric: the overlap area and KL divergence of the reference's intra-set
    distances against the inter-set distances, and both sets' means."""
    return compare_features(
        features(generated, lowest_pitch), features(reference, lowest_pitch), seed
    )


def compare_features(
    generated: dict[str, np.ndarray], reference: dict[str, np.ndarray], seed: int = 0
) -> dict[str, dict[str, float]]:
    """:func:`compare_sets` on both sets' :func:`features`, for a caller that already has
    them (one reference against several sets)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in METRICS:
        intra = _distances(reference[name], None, rng)
        inter = _distances(reference[name], generated[name], rng)
        overlap, kl = overlap_and_kl(intra, inter)
        out[name] = {
            "overlap_area": overlap,
            "kl_divergence": kl,
            "generated_mean": float(generated[name].mean()),
            "reference_mean": float(reference[name].mean()),
        }
    return out
