"""R1 / R2 zero-centred gradient penalties (Mescheder et al. 2018) and lazy intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ._common import per_sample_sq_norm, total_score


def _grad_penalty(scores: Tensor | Sequence[Tensor], inputs: Tensor, weight: float) -> Tensor:
    if not inputs.requires_grad:
        raise ValueError(
            "inputs do not require grad: call inputs.requires_grad_(True) before the "
            "discriminator's forward pass, then pass its outputs here"
        )
    (grads,) = torch.autograd.grad(total_score(scores), inputs, create_graph=True)
    return 0.5 * weight * per_sample_sq_norm(grads).mean()


def r1_penalty(
    real_logits: Tensor | Sequence[Tensor], real_inputs: Tensor, weight: float = 10.0
) -> Tensor:
    """(weight / 2) · E‖∇ₓ D(x)‖² on real samples (StyleGAN's ``r1_gamma``).

    ``real_inputs`` must have had ``requires_grad_(True)`` before ``D`` produced
    ``real_logits``; the norm runs over all non-batch dimensions.
    """
    return _grad_penalty(real_logits, real_inputs, weight)


def r2_penalty(
    fake_logits: Tensor | Sequence[Tensor], fake_inputs: Tensor, weight: float = 10.0
) -> Tensor:
    """(weight / 2) · E‖∇ₓ D(x̃)‖² on generated samples (fake_inputs detached, grad on)."""
    return _grad_penalty(fake_logits, fake_inputs, weight)


@dataclass(frozen=True)
class LazyInterval:
    """Lazy regularisation (Karras et al. 2020, StyleGAN2): a penalty computed every
    ``interval`` steps and scaled by ``interval`` so its average strength is unchanged.

    Usage::

        lazy = LazyInterval(16)
        if lazy.is_due(step):
            loss = loss + lazy.scale(r1_penalty(logits, x, weight=10.0))
    """

    interval: int = 16

    def __post_init__(self) -> None:
        if self.interval < 1:
            raise ValueError(f"interval must be >= 1, got {self.interval}")

    def is_due(self, step: int) -> bool:
        """Whether the penalty is computed at ``step`` (0-based)."""
        return step % self.interval == 0

    def scale(self, penalty: Tensor) -> Tensor:
        """The penalty multiplied by the interval."""
        return penalty * self.interval

    def adam_hparams(
        self, lr: float, betas: tuple[float, float]
    ) -> tuple[float, tuple[float, float]]:
        """StyleGAN2's Adam correction for lazy steps: lr·c and betas**c, c = k / (k + 1)."""
        c = self.interval / (self.interval + 1)
        return lr * c, (betas[0] ** c, betas[1] ** c)
