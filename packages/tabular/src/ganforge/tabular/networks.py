"""The generator and discriminator: small MLPs in the CTGAN manner.

The discriminator has no batch normalisation (it would mix rows, so per-row
gradients would not exist and DP-SGD's per-sample clipping would be void) and
no PacGAN packing (a pack of real rows would be one "sample" for clipping).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.tabular.transformer import Span


class Residual(nn.Module):
    """Linear -> BatchNorm -> ReLU, its output concatenated to its input (CTGAN)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)
        self.bn = nn.BatchNorm1d(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    """Noise -> an encoded row: ``tanh`` for scalars, (Gumbel-)softmax for one-hot spans.

    Args:
        noise_dim: size of the noise vector.
        spans: the data transformer's output layout.
        hidden: widths of the residual layers.
        tau: Gumbel-softmax temperature used while training.
        cond_dim: size of the conditional vector given with the noise (0: none).
    """

    def __init__(
        self,
        noise_dim: int,
        spans: Sequence[Span],
        hidden: Sequence[int] = (128, 128),
        tau: float = 0.2,
        cond_dim: int = 0,
    ) -> None:
        super().__init__()
        self.noise_dim, self.spans, self.tau, self.cond_dim = noise_dim, list(spans), tau, cond_dim
        layers, width = [], noise_dim + cond_dim
        for size in hidden:
            layers.append(Residual(width, size))
            width += size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, sum(s.width for s in self.spans))

    def logits(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """The pre-activation outputs (logits of the one-hot spans)."""
        return self.head(self.body(z if cond is None else torch.cat([z, cond], dim=1)))

    def forward(
        self,
        z: torch.Tensor,
        cond: torch.Tensor | None = None,
        hard: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Encoded rows; ``hard=True`` gives exact one-hots *sampled* from each softmax
        (the Gumbel-max trick, noise from ``generator``): the argmax of the logits
        alone would drop every minority category."""
        return self.activate(self.logits(z, cond), hard, generator)

    def activate(
        self, raw: torch.Tensor, hard: bool = False, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``tanh`` on scalar spans, Gumbel-softmax (or sampled one-hots) on the others."""
        outputs, start = [], 0
        for span in self.spans:
            block = raw[:, start : start + span.width]
            if span.activation == "tanh":
                outputs.append(torch.tanh(block))
            elif hard:
                outputs.append(sample_one_hot(block, generator))
            else:
                outputs.append(F.gumbel_softmax(block, tau=self.tau, hard=False))
            start += span.width
        return torch.cat(outputs, dim=1)


def sample_one_hot(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One-hot rows drawn from ``softmax(logits)`` by the Gumbel-max trick."""
    uniform = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
    exponential = (-torch.log(uniform.clamp_min(1e-20))).clamp_min(1e-20)
    gumbel = -torch.log(exponential)
    choice = (logits + gumbel.to(logits.device)).argmax(dim=1)
    return F.one_hot(choice, logits.shape[1]).to(logits.dtype)


class Discriminator(nn.Module):
    """Encoded row -> one score. LeakyReLU and dropout, no normalisation layers."""

    def __init__(
        self, in_features: int, hidden: Sequence[int] = (128, 128), dropout: float = 0.2
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).squeeze(1)
