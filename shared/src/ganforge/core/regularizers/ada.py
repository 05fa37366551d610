"""Adaptive discriminator augmentation probability (Karras et al. 2020, StyleGAN2-ADA)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor


class ADAController:
    """Adjusts the augmentation probability p from the overfitting heuristic r_t.

    r_t = E[sign(D(x_real))] over the last ``update_every`` observed batches. When
    r_t > target the discriminator is overconfident on reals (overfitting) and p rises;
    otherwise it falls. Each update moves p by
    ``sign(r_t - target) · batch_size · update_every / adjust_speed_imgs``, so p can go
    from 0 to 1 in ``adjust_speed_imgs`` real images (500k in the paper). p stays in
    [0, p_max].

    Usage::

        ada = ADAController(target=0.6, batch_size=32)
        ...  # in the discriminator step
        ada.observe(d_real_logits)
        x_aug = augment(x, p=ada.p)

    Args:
        target: target value of r_t (0.6 in the paper).
        adjust_speed_imgs: real images needed to move p by 1.
        batch_size: real images per observed batch.
        update_every: batches between adjustments (4 in the paper).
        p_max: upper bound of p.
    """

    def __init__(
        self,
        target: float = 0.6,
        adjust_speed_imgs: int = 500_000,
        *,
        batch_size: int,
        update_every: int = 4,
        p_max: float = 1.0,
    ) -> None:
        if not -1.0 < target < 1.0:
            raise ValueError(f"target must be in (-1, 1), got {target}; the paper uses 0.6")
        if adjust_speed_imgs <= 0 or batch_size <= 0 or update_every <= 0:
            raise ValueError("adjust_speed_imgs, batch_size and update_every must be positive")
        if not 0.0 < p_max <= 1.0:
            raise ValueError(f"p_max must be in (0, 1], got {p_max}")
        self.target = float(target)
        self.adjust_speed_imgs = int(adjust_speed_imgs)
        self.batch_size = int(batch_size)
        self.update_every = int(update_every)
        self.p_max = float(p_max)
        self.p = 0.0
        self.last_rt = 0.0
        self._sign_sum: Tensor | float = 0.0
        self._count = 0
        self._batches = 0

    @property
    def step_size(self) -> float:
        """How much p moves at each adjustment."""
        return self.batch_size * self.update_every / self.adjust_speed_imgs

    def observe(self, real_logits: Tensor | Sequence[Tensor]) -> float:
        """Accumulate sign(D(real)); adjust p every ``update_every`` calls. Returns p."""
        tensors = [real_logits] if isinstance(real_logits, Tensor) else list(real_logits)
        with torch.no_grad():  # stays on the device; read back only when p is adjusted
            for t in tensors:
                self._sign_sum = self._sign_sum + torch.sign(t.detach().float()).sum()
                self._count += t.numel()
        self._batches += 1
        if self._batches >= self.update_every:
            self._adjust()
        return self.p

    def _adjust(self) -> None:
        self.last_rt = float(self._sign_sum) / max(self._count, 1)
        direction = (self.last_rt > self.target) - (self.last_rt < self.target)
        self.p = min(max(self.p + direction * self.step_size, 0.0), self.p_max)
        self._sign_sum, self._count, self._batches = 0.0, 0, 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "p": self.p,
            "last_rt": self.last_rt,
            "sign_sum": float(self._sign_sum),
            "count": self._count,
            "batches": self._batches,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p = float(state["p"])
        self.last_rt = float(state["last_rt"])
        self._sign_sum = float(state["sign_sum"])
        self._count = int(state["count"])
        self._batches = int(state["batches"])
