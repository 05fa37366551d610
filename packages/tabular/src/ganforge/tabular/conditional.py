"""CTGAN's conditional vector, adapted to Poisson-sampled DP-SGD.

A condition names one category of one categorical column, as a one-hot over
all categorical levels. The generator receives it with its noise and is
trained to produce that category (a cross-entropy loss on its logits); the
discriminator sees every row with its condition, so the generator must also
produce the rest of the row as it is *given* that category.

Real rows keep the privacy amplification of Poisson sampling: the batch is
drawn without looking at the data, then each real row gets a condition from
one of its own columns picked at random (data-independent). So real
conditions follow the categories' true frequencies, and fake conditions are
drawn from the *estimated* frequencies: exact counts without privacy, or a
Laplace histogram of all categorical columns together under DP (a row
changes one count per column, so the L1 sensitivity is the number of
columns). Sampling after training draws conditions from the same frequencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.tabular.dp_stats import laplace_counts
from ganforge.tabular.entropy import private_numpy_rng


@dataclass(frozen=True)
class ConditionalColumn:
    """Where a categorical column's one-hot lies in the encoded row, and its frequencies."""

    name: str
    offset: int
    frequencies: tuple[float, ...]

    @property
    def width(self) -> int:
        return len(self.frequencies)


def normalise(counts: np.ndarray) -> np.ndarray:
    """Frequencies from (noisy) counts: negatives to zero, a floor so no level is impossible."""
    clipped = np.clip(np.asarray(counts, dtype=np.float64), 0.0, None)
    total = clipped.sum()
    frequencies = clipped / total if total > 0 else np.full(len(clipped), 1.0 / len(clipped))
    frequencies = np.maximum(frequencies, 1e-3)
    return frequencies / frequencies.sum()


class ConditionalSampler:
    """Draws condition vectors and reads them off encoded real rows.

    Args:
        columns: the categorical columns, in the order of the condition vector.
        epsilon: the pure-DP epsilon spent on the frequencies (0 when exact).
    """

    def __init__(self, columns: list[ConditionalColumn], epsilon: float = 0.0) -> None:
        if not columns:
            raise ValueError("a conditional vector needs at least one categorical column")
        self.columns, self.epsilon = list(columns), float(epsilon)
        widths = torch.tensor([c.width for c in self.columns])
        self.width = int(widths.sum())
        self.starts = torch.cumsum(widths, 0) - widths
        # the encoded-row index of each condition position, and each column's positions
        self.source = torch.cat([torch.arange(c.offset, c.offset + c.width) for c in self.columns])
        owner = torch.repeat_interleave(torch.arange(len(self.columns)), widths)
        self.column_mask = owner[None, :] == torch.arange(len(self.columns))[:, None]
        cumulative = torch.ones(len(self.columns), int(widths.max()), dtype=torch.float64)
        for j, c in enumerate(self.columns):
            cumulative[j, : c.width] = torch.tensor(np.cumsum(c.frequencies))
        cumulative[torch.arange(len(self.columns)), widths - 1] = 1.0
        self.cumulative, self.widths = cumulative, widths

    @classmethod
    def fit(
        cls,
        encoded: np.ndarray,
        layout: list[tuple[str, int, int]],
        epsilon: float | None,
        rng: np.random.Generator | None = None,
        released: dict[str, np.ndarray] | None = None,
    ) -> ConditionalSampler:
        """Category frequencies of encoded rows: exact (``epsilon=None``) or epsilon-DP.

        Args:
            encoded: the transformer's output for the table.
            layout: ``(name, offset, width)`` of each categorical column's one-hot.
            epsilon: budget of the histogram of the columns not in ``released``
                (Laplace scale ``columns / epsilon``: a row changes one count per column).
            rng: the source of the Laplace noise (default: fresh OS entropy, as
                privacy needs; pass one only to test the mechanism).
            released: DP counts already released for some columns (reused, free).
        """
        released = dict(released or {}) if epsilon is not None else {}
        rng = private_numpy_rng() if rng is None else rng
        counts = [encoded[:, o : o + w].sum(axis=0) for _, o, w in layout]
        noised = [i for i, (name, _, _) in enumerate(layout) if name not in released]
        if epsilon is not None and noised and not epsilon > 0:
            raise ValueError(f"epsilon of the category frequencies must be > 0, got {epsilon}")
        for i in noised if epsilon is not None else []:
            counts[i] = laplace_counts(counts[i], epsilon / len(noised), rng)
        for i, (name, _, width) in enumerate(layout):
            if name in released:
                if len(released[name]) != width:
                    raise ValueError(f"column {name!r}: {len(released[name])} counts for {width}")
                counts[i] = released[name]
        epsilon = epsilon if noised else 0.0
        columns = [
            ConditionalColumn(name, offset, tuple(normalise(c).tolist()))
            for (name, offset, _), c in zip(layout, counts, strict=True)
        ]
        return cls(columns, epsilon or 0.0)

    def sample(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` conditions: a column uniformly, then a category by its frequency.

        Returns the condition vectors and the chosen position in the condition vector.
        """
        column = torch.randint(len(self.columns), (batch,), generator=generator)
        uniform = torch.rand(batch, 1, generator=generator, dtype=torch.float64)
        level = (uniform >= self.cumulative[column]).sum(dim=1)
        position = self.starts[column] + torch.minimum(level, self.widths[column] - 1)
        return F.one_hot(position, self.width).float(), position

    def from_rows(self, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Conditions of real rows: each row's own category in a column picked at random."""
        column = torch.randint(len(self.columns), (len(rows),), generator=generator)
        mask = self.column_mask[column].to(rows.device)
        position = rows[:, self.source.to(rows.device)].masked_fill(~mask, -1.0).argmax(dim=1)
        return F.one_hot(position, self.width).to(rows.dtype)

    def cross_entropy(self, logits: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the generator's logits on the conditioned columns."""
        position = position.to(logits.device)
        column = torch.bucketize(position, self.starts.to(logits.device), right=True) - 1
        mask = self.column_mask.to(logits.device)[column]
        block = logits[:, self.source.to(logits.device)].masked_fill(~mask, float("-inf"))
        return F.cross_entropy(block, position)

    def marginal_loss(self, logits: torch.Tensor) -> torch.Tensor:
        """Sum over columns of KL(frequencies || the batch's mean softmax of the generator).

        It pulls every categorical marginal of the generated rows to the
        (DP) frequencies: post-processing of already released counts, free of privacy cost.
        """
        loss = logits.new_zeros(())
        for column in self.columns:
            block = logits[:, column.offset : column.offset + column.width]
            mean = block.softmax(dim=1).mean(dim=0).clamp_min(1e-8)
            target = torch.tensor(column.frequencies, dtype=logits.dtype, device=logits.device)
            loss = loss + (target * (target.log() - mean.log())).sum()
        return loss

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [[c.name, c.offset, list(c.frequencies)] for c in self.columns],
            "epsilon": self.epsilon,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ConditionalSampler:
        columns = [ConditionalColumn(n, int(o), tuple(f)) for n, o, f in state["columns"]]
        return cls(columns, state["epsilon"])
