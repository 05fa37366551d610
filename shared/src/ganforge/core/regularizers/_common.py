"""Small helpers shared by the regularizers."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def total_score(scores: Tensor | Sequence[Tensor]) -> Tensor:
    """Sum of every element of one output tensor or a list of them (multi-scale critics)."""
    if isinstance(scores, Tensor):
        return scores.sum()
    items = list(scores)
    if not items:
        raise ValueError("critic returned an empty list of scores")
    total = items[0].sum()
    for item in items[1:]:
        total = total + item.sum()
    return total


def per_sample_sq_norm(grads: Tensor) -> Tensor:
    """Squared L2 norm of each sample's gradient over ALL non-batch dimensions.

    Half-precision gradients are summed in float32.
    """
    flat = grads.flatten(1)
    if flat.dtype in (torch.float16, torch.bfloat16):
        flat = flat.float()
    return flat.pow(2).sum(dim=1)


def rand(shape: Sequence[int], like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """U[0, 1) on ``like``'s device and dtype, from ``generator`` or torch's global RNG."""
    device = generator.device if generator is not None else like.device
    return torch.rand(tuple(shape), generator=generator, device=device).to(like)


def randn(shape: Sequence[int], like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """N(0, 1) on ``like``'s device and dtype, from ``generator`` or torch's global RNG."""
    device = generator.device if generator is not None else like.device
    return torch.randn(tuple(shape), generator=generator, device=device).to(like)


def randint(
    low: int,
    high: int,
    shape: Sequence[int],
    device: torch.device,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Integers in [low, high) on ``device``, from ``generator`` or torch's global RNG."""
    source = generator.device if generator is not None else device
    return torch.randint(low, high, tuple(shape), generator=generator, device=source).to(device)
