"""Gradient penalties on interpolates or perturbed reals (WGAN-GP, DRAGAN, zero-centred)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor

from ._common import per_sample_sq_norm, rand, total_score

Critic = Callable[..., Any]
SamplePoints = Literal["interpolate", "dragan"]


def interpolates(real: Tensor, fake: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """x̂ = ε x + (1 - ε) x̃ with one ε ~ U[0, 1] per sample (Gulrajani et al. 2017)."""
    if real.shape != fake.shape:
        raise ValueError(
            f"real {tuple(real.shape)} and fake {tuple(fake.shape)} batches must have the same "
            "shape for the gradient penalty"
        )
    eps = rand((real.shape[0],) + (1,) * (real.dim() - 1), real, generator)
    return eps * real.detach() + (1 - eps) * fake.detach()


def dragan_points(
    real: Tensor, scale: float = 0.5, generator: torch.Generator | None = None
) -> Tensor:
    """Points near the data: x + α · scale · std(x) · U[0, 1) (Kodali et al. 2017).

    ``std`` is the batch standard deviation of each feature; α ~ U[0, 1) per sample
    moves along the segment between the real point and its perturbation.
    """
    real = real.detach()
    if real.shape[0] < 2:
        raise ValueError("DRAGAN perturbations need a batch of at least 2 samples")
    noise = scale * real.std(dim=0, keepdim=True) * rand(real.shape, real, generator)
    alpha = rand((real.shape[0],) + (1,) * (real.dim() - 1), real, generator)
    return real + alpha * noise


def gradient_penalty(
    critic: Critic,
    real: Tensor,
    fake: Tensor | None,
    weight: float = 10.0,
    center: float = 1.0,
    condition: Any = None,
    *,
    points: SamplePoints = "interpolate",
    generator: torch.Generator | None = None,
) -> Tensor:
    """weight · E[(‖∇ₓ critic(x̂)‖₂ - center)²] with the norm over all non-batch dims.

    Args:
        critic: the discriminator; called as ``critic(x)`` or ``critic(x, condition)``.
            It may return one tensor or a list of tensors (multi-scale); they are summed.
        real: real batch, any shape ``(B, ...)``: audio (B, C, T), images (B, C, H, W),
            volumes (B, C, D, H, W), sequences (B, T, F), tables (B, F).
        fake: generated batch of the same shape (ignored, may be ``None``, for DRAGAN).
        weight: λ (10 in WGAN-GP).
        center: 1 for the WGAN-GP two-sided penalty, 0 for a zero-centred penalty.
        condition: passed unchanged to a conditional critic (labels, embeddings...).
        points: ``"interpolate"`` (between real and fake) or ``"dragan"`` (perturbed reals).
        generator: optional RNG for the random points (else torch's global RNG).

    Returns:
        A scalar that keeps the graph to the critic's parameters (``create_graph=True``).
    """
    if points == "interpolate":
        if fake is None:
            raise ValueError("gradient_penalty with points='interpolate' needs a fake batch")
        x = interpolates(real, fake, generator)
    elif points == "dragan":
        x = dragan_points(real, generator=generator)
    else:
        raise ValueError(f"points must be 'interpolate' or 'dragan', got {points!r}")
    x = x.requires_grad_(True)
    scores = critic(x) if condition is None else critic(x, condition)
    (grads,) = torch.autograd.grad(total_score(scores), x, create_graph=True)
    norms = per_sample_sq_norm(grads).add(1e-12).sqrt()
    return weight * (norms - center).pow(2).mean()
