"""Two-way marginals of the categorical columns, released once with the Gaussian mechanism.

A DP discriminator learns slowly at small epsilon: every one of its steps
pays for fresh noise. The cross-tables of every pair of categorical columns
are released *once* instead, and the generator is trained (as long as it
likes, at no further cost) to reproduce them, besides fooling the
discriminator. Under add/remove-one-row neighbours a row changes one cell of
each of the ``P`` tables by one, so the L2 sensitivity is ``sqrt(P)``; the
noise has standard deviation ``noise_multiplier * sqrt(P)`` per cell, which
is a Gaussian mechanism of noise multiplier ``noise_multiplier`` and composes
with DP-SGD in the same RDP accountant (an entry ``(noise_multiplier, 1.0, 1)``).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import torch

from ganforge.tabular.dp_stats import gaussian_counts
from ganforge.tabular.entropy import private_numpy_rng


class PairwiseMarginals:
    """Target cross-tables and the generator's loss against them.

    Args:
        layout: ``(name, offset, width)`` of each categorical column's one-hot.
        targets: the normalised (noisy) cross-table of each pair ``j < k``.
        noise_multiplier: the Gaussian mechanism's multiplier (``None``: exact tables).
    """

    def __init__(
        self,
        layout: list[tuple[str, int, int]],
        targets: dict[tuple[int, int], np.ndarray],
        noise_multiplier: float | None,
    ) -> None:
        if len(layout) < 2:
            raise ValueError("two-way marginals need at least two categorical columns")
        self.layout, self.noise_multiplier = list(layout), noise_multiplier
        self.source = torch.cat([torch.arange(o, o + w) for _, o, w in self.layout])
        starts = np.cumsum([0] + [w for _, _, w in self.layout])
        width = int(starts[-1])
        target, mask = torch.zeros(width, width), torch.zeros(width, width, dtype=torch.bool)
        for (j, k), table in targets.items():
            rows, cols = slice(starts[j], starts[j + 1]), slice(starts[k], starts[k + 1])
            target[rows, cols] = torch.as_tensor(table, dtype=torch.float32)
            mask[rows, cols] = True
        self.target, self.mask, self.pairs = target, mask, len(targets)

    @staticmethod
    def pairs_of(layout: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
        return list(combinations(range(len(layout)), 2))

    @classmethod
    def fit(
        cls,
        encoded: np.ndarray,
        layout: list[tuple[str, int, int]],
        noise_multiplier: float | None,
        rng: np.random.Generator | None = None,
    ) -> PairwiseMarginals:
        """Cross-tables of encoded rows: exact, or with Gaussian noise of std
        ``noise_multiplier * sqrt(pairs)`` per cell, drawn from ``rng`` (default: fresh
        OS entropy, as privacy needs; pass one only to test the mechanism)."""
        pairs = cls.pairs_of(layout)
        rng = private_numpy_rng() if rng is None else rng
        if noise_multiplier is not None and not noise_multiplier > 0:
            raise ValueError(f"noise_multiplier must be > 0, got {noise_multiplier}")
        blocks = [encoded[:, o : o + w].astype(np.float64) for _, o, w in layout]
        targets = {}
        for j, k in pairs:
            counts = blocks[j].T @ blocks[k]
            if noise_multiplier is not None:
                std = noise_multiplier * np.sqrt(len(pairs))
                counts = gaussian_counts(counts, std, rng)
            counts = np.clip(counts, 0.0, None)
            targets[(j, k)] = counts / max(counts.sum(), 1e-12)
        return cls(layout, targets, noise_multiplier)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: the released (noisy, normalised) tables, no raw counts."""
        starts = np.cumsum([0] + [w for _, _, w in self.layout])
        tables = [
            [j, k, self.target[starts[j] : starts[j + 1], starts[k] : starts[k + 1]].tolist()]
            for j, k in self.pairs_of(self.layout)
        ]
        return {
            "layout": [list(item) for item in self.layout],
            "tables": tables,
            "noise_multiplier": self.noise_multiplier,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> PairwiseMarginals:
        layout = [(str(n), int(o), int(w)) for n, o, w in state["layout"]]
        targets = {(int(j), int(k)): np.asarray(t, dtype=np.float64) for j, k, t in state["tables"]}
        return cls(layout, targets, state["noise_multiplier"])

    def loss(self, logits: torch.Tensor) -> torch.Tensor:
        """Mean over pairs of KL(target table || the generated batch's expected table).

        Columns are drawn independently given the generator's input, so the
        expected cross-table of a batch is the mean of the outer products of
        the per-column softmax probabilities.
        """
        parts = [logits[:, o : o + w].softmax(dim=1) for _, o, w in self.layout]
        probs = torch.cat(parts, dim=1)
        model = (probs.T @ probs / len(probs)).clamp_min(1e-8)
        target = self.target.to(logits.device)
        mask = self.mask.to(logits.device)
        terms = target * (target.clamp_min(1e-12).log() - model.log())
        kl = torch.where(mask & (target > 0), terms, torch.zeros_like(terms))
        return kl.sum() / self.pairs
