"""TimeGAN's five networks (Yoon, Jarrett & van der Schaar, NeurIPS 2019).

Each is a stacked recurrent layer (GRU or LSTM) followed by a per-step linear
map, as in the reference code. The embedder, recovery, generator and
supervisor end in a sigmoid (latent codes and min-max-scaled data live in
[0, 1]); the discriminator returns a logit per time step.

Conditional generation: every network may take a condition ``c`` of shape
``(batch, T, cond_dim)`` (a one-hot regime repeated over time, or a per-step
series) concatenated to its input. ``cond_dim=0`` gives the plain TimeGAN.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Cell = Literal["gru", "lstm"]
RecurrentState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class RecurrentBlock(nn.Module):
    """``num_layers`` stacked GRU/LSTM layers, then a per-step linear map (and a sigmoid).

    ``input_skip=True`` feeds the step's input to the linear map beside the
    recurrent state, so per-step noise reaches the output unsmoothed.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        num_layers: int,
        cell: Cell = "gru",
        sigmoid: bool = True,
        cond_dim: int = 0,
        input_skip: bool = False,
    ) -> None:
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")
        if min(input_dim, hidden_dim, output_dim, num_layers) < 1 or cond_dim < 0:
            raise ValueError("dimensions and num_layers must be >= 1 (cond_dim >= 0)")
        recurrent = nn.GRU if cell == "gru" else nn.LSTM
        self.cond_dim = cond_dim
        self.rnn = recurrent(input_dim + cond_dim, hidden_dim, num_layers, batch_first=True)
        self.input_skip = input_skip
        self.linear = nn.Linear(hidden_dim + (input_dim if input_skip else 0), output_dim)
        self.sigmoid = sigmoid

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """``(batch, T, input_dim)`` (+ condition) -> ``(batch, T, output_dim)``."""
        return self.step(x, condition)[0]

    def step(
        self,
        x: torch.Tensor,
        condition: torch.Tensor | None = None,
        state: RecurrentState | None = None,
    ) -> tuple[torch.Tensor, RecurrentState]:
        """Like :meth:`forward`, from the recurrent ``state`` left by an earlier call.

        Returns the outputs and the new state, so a sequence can be generated
        one step at a time: ``y1, s = net.step(x1); y2, s = net.step(x2, state=s)``
        equals ``net(torch.cat([x1, x2], 1))`` split in two.
        """
        inputs = x
        if self.cond_dim:
            if condition is None or condition.shape[-1] != self.cond_dim:
                raise ValueError(f"this network needs a condition with {self.cond_dim} channels")
            inputs = torch.cat([x, condition.to(x.dtype)], dim=-1)
        hidden, state = self.rnn(inputs, state)
        out = self.linear(torch.cat([hidden, x], dim=-1) if self.input_skip else hidden)
        return (torch.sigmoid(out) if self.sigmoid else out), state


def build_timegan_networks(
    feature_dim: int,
    hidden_dim: int = 24,
    num_layers: int = 3,
    cell: Cell = "gru",
    z_dim: int | None = None,
    cond_dim: int = 0,
    recovery_sigmoid: bool = True,
    noise_skip: bool = False,
) -> dict[str, RecurrentBlock]:
    """The five TimeGAN networks: embedder, recovery, generator, supervisor, discriminator.

    As in the reference code the supervisor has ``num_layers - 1`` layers (at
    least one) and the noise has ``feature_dim`` channels unless ``z_dim`` says otherwise.
    ``recovery_sigmoid=False`` gives the recovery a linear output, for data that
    is standardised rather than min-max scaled; ``noise_skip=True`` lets the
    generator's per-step noise reach its output directly (``input_skip``).
    """
    z_dim = feature_dim if z_dim is None else z_dim
    common = {"cell": cell, "cond_dim": cond_dim}
    return {
        "embedder": RecurrentBlock(feature_dim, hidden_dim, hidden_dim, num_layers, **common),
        "recovery": RecurrentBlock(
            hidden_dim, hidden_dim, feature_dim, num_layers, sigmoid=recovery_sigmoid, **common
        ),
        "generator": RecurrentBlock(
            z_dim, hidden_dim, hidden_dim, num_layers, input_skip=noise_skip, **common
        ),
        "supervisor": RecurrentBlock(
            hidden_dim, hidden_dim, hidden_dim, max(num_layers - 1, 1), **common
        ),
        "discriminator": RecurrentBlock(
            hidden_dim, hidden_dim, 1, num_layers, sigmoid=False, **common
        ),
    }
