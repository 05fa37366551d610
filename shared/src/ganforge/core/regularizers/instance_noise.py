"""Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017) annealed linearly to 0."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._common import randn


class InstanceNoise:
    """Adds N(0, σ_t²) to discriminator inputs, σ_t = std · max(0, 1 - t / anneal_steps).

    Call it on real and fake batches alike, and :meth:`step` once per training
    iteration. ``anneal_steps=0`` keeps σ constant.

    Args:
        std: initial standard deviation σ_0.
        anneal_steps: steps over which σ falls linearly to 0.
    """

    def __init__(self, std: float, anneal_steps: int) -> None:
        if std < 0 or anneal_steps < 0:
            raise ValueError(f"std and anneal_steps must be >= 0, got {std}, {anneal_steps}")
        self.std = float(std)
        self.anneal_steps = int(anneal_steps)
        self.steps_done = 0

    def std_at(self, step: int) -> float:
        """σ at a given step."""
        if self.anneal_steps == 0:
            return self.std
        return self.std * max(0.0, 1.0 - step / self.anneal_steps)

    @property
    def current_std(self) -> float:
        """σ at the current step."""
        return self.std_at(self.steps_done)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        sigma = self.current_std
        if sigma == 0.0:
            return x
        return x + sigma * randn(x.shape, x, generator)

    def step(self) -> None:
        """Advance the schedule by one iteration."""
        self.steps_done += 1

    def state_dict(self) -> dict[str, Any]:
        return {"std": self.std, "anneal_steps": self.anneal_steps, "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.std = float(state["std"])
        self.anneal_steps = int(state["anneal_steps"])
        self.steps_done = int(state["steps_done"])
