"""Features that make the core's nearest-neighbour search transposition- and offset-invariant.

The similarity of two segments is the cosine of their binary piano rolls
(shared sounding cells over the root of the product of their sizes). To compare
a segment with the training set at every step offset and in all 12
transpositions, the reference holds every window of every training piece (step
by step), and each query appears in 12 views, transposed by -5..+6 semitones;
the core's :func:`~ganforge.core.metrics.memorisation_audit` (``views=12``)
keeps the best view of each query.

The features are exact and small: each track keeps only the pitches its
training windows use (cells outside can never match), and two extra columns
hold the root of the number of cells left out (one for references, one for
queries), so dot products, norms, cosines and Euclidean distances are those of
the full rolls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

SHIFTS = (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6)  # view 0 is the segment itself


@dataclass
class WindowIndex:
    """Where each reference window comes from: its piece and first step."""

    piece: np.ndarray
    start: np.ndarray


class RollFeatures:
    """Cropped roll features for windows of ``steps`` steps (see the module docstring).

    Args:
        ranges: per track, the ``(low, high)`` pitch columns (inclusive) it keeps.
        steps: window length.
    """

    def __init__(self, ranges: Sequence[tuple[int, int]], steps: int) -> None:
        self.ranges = [(int(lo), int(hi)) for lo, hi in ranges]
        self.steps = int(steps)
        self.width = sum(hi - lo + 1 for lo, hi in self.ranges) * self.steps + 2

    @classmethod
    def fit(cls, rolls: Sequence[np.ndarray], steps: int) -> RollFeatures:
        """The pitch ranges the tracks of ``rolls`` (each ``(tracks, T, P)``) use."""
        used = np.zeros((rolls[0].shape[0], rolls[0].shape[-1]), bool)
        for roll in rolls:
            used |= np.asarray(roll).any(1) if roll.ndim == 3 else np.asarray(roll).any((0, 2))
        ranges = []
        for track in used:
            where = np.nonzero(track)[0]
            ranges.append((int(where.min()), int(where.max())) if len(where) else (0, 0))
        return cls(ranges, steps)

    def _crop(self, rolls: torch.Tensor) -> torch.Tensor:
        """``(n, tracks, steps, P)`` -> ``(n, width - 2)`` of the kept cells."""
        parts = [rolls[:, k, :, lo : hi + 1].reshape(len(rolls), -1)
                 for k, (lo, hi) in enumerate(self.ranges)]  # fmt: skip
        return torch.cat(parts, dim=1)

    def _with_spill(self, rolls: torch.Tensor, total: torch.Tensor, column: int) -> torch.Tensor:
        kept = self._crop(rolls).float()
        spill = (total - kept.sum(1)).clamp_min(0).sqrt()
        extra = torch.zeros(len(rolls), 2)
        extra[:, column] = spill
        return torch.cat([kept, extra], dim=1)

    def reference(
        self, rolls: Sequence[np.ndarray], hop: int = 1, start: Sequence[int] | None = None
    ):
        """Features of every window of each piece roll ``(tracks, T, P)`` every ``hop`` steps
        (from ``start[i]`` when given), and a :class:`WindowIndex` of where they come from."""
        feats, pieces, starts = [], [], []
        for i, roll in enumerate(rolls):
            roll = torch.as_tensor(np.asarray(roll) > 0)
            first = 0 if start is None else int(start[i])
            if roll.shape[1] - first < self.steps:
                continue
            windows = roll[:, first:].unfold(1, self.steps, hop)  # (tracks, n, P, steps)
            windows = windows.permute(1, 0, 3, 2)  # (n, tracks, steps, P)
            total = windows.reshape(len(windows), -1).sum(1).float()
            feats.append(self._with_spill(windows, total, 0))
            pieces.append(np.full(len(windows), i))
            starts.append(first + np.arange(len(windows)) * hop)
        if not feats:
            raise ValueError(f"no reference piece is {self.steps} steps long")
        return torch.cat(feats), WindowIndex(np.concatenate(pieces), np.concatenate(starts))

    def views(self, segments: np.ndarray | torch.Tensor, shifts: Sequence[int] = SHIFTS):
        """Features of each segment ``(n, tracks, steps, P)`` in ``len(shifts)`` transpositions,
        the views of one segment consecutive (``(n * len(shifts), width)``)."""
        rolls = torch.as_tensor(np.asarray(segments) > 0)
        total = rolls.reshape(len(rolls), -1).sum(1).float()
        out = torch.empty(len(rolls), len(shifts), self.width)
        for v, shift in enumerate(shifts):
            out[:, v] = self._with_spill(transpose(rolls, shift), total, 1)
        return out.reshape(-1, self.width)


def transpose(rolls: torch.Tensor, shift: int) -> torch.Tensor:
    """Rolls ``(..., P)`` moved by ``shift`` semitones; notes pushed off the axis are dropped."""
    if shift == 0:
        return rolls
    out = torch.zeros_like(rolls)
    if shift > 0:
        out[..., shift:] = rolls[..., :-shift]
    else:
        out[..., :shift] = rolls[..., -shift:]
    return out


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two binary rolls (0 when one is silent)."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    denominator = np.sqrt(a.sum() * b.sum())
    return float((a & b).sum() / denominator) if denominator else 0.0
