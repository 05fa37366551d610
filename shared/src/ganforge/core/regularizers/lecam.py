"""LeCam regulariser (Tseng et al. 2021) with exponential-moving-average anchors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.core.settings import check_fraction


def _as_list(scores: Tensor | Sequence[Tensor]) -> list[Tensor]:
    return [scores] if isinstance(scores, Tensor) else list(scores)


class LeCam:
    """R_LC = E[relu(D(x) - α_F)²] + E[relu(α_R - D(x̃))²], times ``weight``.

    α_R and α_F are EMAs (``decay``) of the mean discriminator output on real and on
    fake batches, one pair per discriminator scale; the first call initialises them
    with the batch means. The one-sided (relu) form follows the authors' released code.
    Calling the regulariser updates the anchors, then returns the penalty; add it to
    the discriminator loss.

    Args:
        decay: EMA decay of the anchors (0.99 in the paper).
        weight: λ_LC multiplying the penalty (0.1 to 0.5 in the paper).
    """

    def __init__(self, decay: float = 0.99, weight: float = 1.0) -> None:
        check_fraction("decay", decay, "[0, 1)")
        self.decay = float(decay)
        self.weight = float(weight)
        self.anchor_real: Tensor | None = None
        self.anchor_fake: Tensor | None = None

    def update(self, real: Tensor | Sequence[Tensor], fake: Tensor | Sequence[Tensor]) -> None:
        """Move the anchors towards this batch's mean outputs."""
        real_means = torch.stack([t.detach().float().mean() for t in _as_list(real)])
        fake_means = torch.stack([t.detach().float().mean() for t in _as_list(fake)])
        if real_means.shape != fake_means.shape:
            raise ValueError("real and fake score lists must have one tensor per scale each")
        if self.anchor_real is None or self.anchor_fake is None:
            self.anchor_real, self.anchor_fake = real_means, fake_means
            return
        if self.anchor_real.shape != real_means.shape:
            raise ValueError(
                f"LeCam was started with {self.anchor_real.numel()} discriminator scales, "
                f"got {real_means.numel()}"
            )
        d = self.decay
        self.anchor_real = d * self.anchor_real.to(real_means) + (1 - d) * real_means
        self.anchor_fake = d * self.anchor_fake.to(fake_means) + (1 - d) * fake_means

    def penalty(self, real: Tensor | Sequence[Tensor], fake: Tensor | Sequence[Tensor]) -> Tensor:
        """The weighted penalty with the current anchors (no update)."""
        if self.anchor_real is None or self.anchor_fake is None:
            raise ValueError("LeCam anchors are not initialised: call update() or the object first")
        total = None
        for i, (r, f) in enumerate(zip(_as_list(real), _as_list(fake), strict=True)):
            a_real = self.anchor_real[i].to(r)
            a_fake = self.anchor_fake[i].to(f)
            term = F.relu(r - a_fake).pow(2).mean() + F.relu(a_real - f).pow(2).mean()
            total = term if total is None else total + term
        return self.weight * total

    def __call__(self, real: Tensor | Sequence[Tensor], fake: Tensor | Sequence[Tensor]) -> Tensor:
        self.update(real, fake)
        return self.penalty(real, fake)

    def state_dict(self) -> dict[str, Any]:
        return {
            "decay": self.decay,
            "weight": self.weight,
            "anchor_real": None if self.anchor_real is None else self.anchor_real.cpu().clone(),
            "anchor_fake": None if self.anchor_fake is None else self.anchor_fake.cpu().clone(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decay = float(state["decay"])
        self.weight = float(state["weight"])
        self.anchor_real = state["anchor_real"]
        self.anchor_fake = state["anchor_fake"]
