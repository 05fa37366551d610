"""Differentiable augmentation (Zhao et al. 2020), for images, volumes, audio and sequences.

The same :class:`DiffAugment` object is called on real and on fake batches before the
discriminator, in both the discriminator and the generator steps; every operation is
differentiable, so gradients reach the generator through the augmentation.

Operations (on ``(B, C, *axes)`` with ``axes`` = spatial or time axes):

- ``color``: per-sample brightness (+U[-0.5, 0.5)), saturation (scale around the
  channel mean by U[0, 2)) and contrast (scale around the sample mean by U[0.5, 1.5)).
- ``translation``: per-sample integer shift of each axis by up to ``translation_ratio``
  of its length, zero-filled (the time shift for audio and sequences).
- ``cutout``: per-sample zeroed box of ``cutout_ratio`` of each axis (the time mask for
  audio and sequences).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ._common import rand, randint

_FULL = "color,translation,cutout"
AUTO_POLICIES = {3: "translation,cutout", 4: _FULL, 5: _FULL}


def _per_sample(x: Tensor, generator: torch.Generator | None) -> Tensor:
    return rand((x.shape[0],) + (1,) * (x.dim() - 1), x, generator)


def rand_brightness(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    return x + (_per_sample(x, generator) - 0.5)


def rand_saturation(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_per_sample(x, generator) * 2) + mean


def rand_contrast(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    mean = x.mean(dim=tuple(range(1, x.dim())), keepdim=True)
    return (x - mean) * (_per_sample(x, generator) + 0.5) + mean


def rand_translation(
    x: Tensor, ratio: float = 0.125, generator: torch.Generator | None = None
) -> Tensor:
    """Shift every axis after the channel axis by a random integer, filling with zeros."""
    batch = x.shape[0]
    for dim in range(2, x.dim()):
        length = x.shape[dim]
        max_shift = int(length * ratio + 0.5)
        shift = randint(-max_shift, max_shift + 1, (batch,), x.device, generator)
        shape = [1] * x.dim()
        shape[dim] = length
        positions = torch.arange(length, device=x.device).view(shape)
        index = (positions + shift.view([batch] + [1] * (x.dim() - 1)) + 1).clamp(0, length + 1)
        pad = [0, 0] * (x.dim() - dim - 1) + [1, 1]
        padded = F.pad(x, pad)
        index = index.expand(*x.shape[:dim], length, *x.shape[dim + 1 :])
        x = torch.gather(padded, dim, index)
    return x


def rand_cutout(x: Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Zero one random box covering ``ratio`` of every axis after the channel axis."""
    batch, n_axes = x.shape[0], x.dim() - 2
    inside = torch.ones((batch,) + (1,) * (x.dim() - 1), dtype=torch.bool, device=x.device)
    for axis in range(n_axes):
        length = x.shape[2 + axis]
        size = int(length * ratio + 0.5)
        offset = randint(0, length + (1 - size % 2), (batch,), x.device, generator)
        low = (offset - size // 2).view([batch] + [1] * (x.dim() - 1))
        shape = [1] * x.dim()
        shape[2 + axis] = length
        positions = torch.arange(length, device=x.device).view(shape)
        inside = inside & (positions >= low) & (positions < low + size)
    return x * (~inside).to(x.dtype)


class DiffAugment:
    """Differentiable augmentation applied alike to real and fake batches.

    Args:
        policy: comma-separated operations among ``color``, ``translation``, ``cutout``;
            ``"auto"`` picks ``translation,cutout`` (time shift and mask) for 3-D inputs
            and ``color,translation,cutout`` for images (4-D) and volumes (5-D).
        channel_dim: the channel / feature axis; use ``-1`` for sequences laid out
            ``(B, T, F)`` so that time (axis 1) is shifted and masked.
        translation_ratio: largest shift as a fraction of each axis (1/8 in the paper).
        cutout_ratio: box size as a fraction of each axis (1/2 in the paper).
    """

    OPERATIONS = ("color", "translation", "cutout")

    def __init__(
        self,
        policy: str = "auto",
        channel_dim: int = 1,
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ) -> None:
        self.ops = [] if policy == "auto" else [p.strip() for p in policy.split(",") if p.strip()]
        unknown = [op for op in self.ops if op not in self.OPERATIONS]
        if unknown or (policy != "auto" and not self.ops):
            raise ValueError(
                f"unknown DiffAugment policy {policy!r}; use 'auto' or a comma-separated "
                f"subset of {', '.join(self.OPERATIONS)}"
            )
        self.policy = policy
        self.channel_dim = channel_dim
        self.translation_ratio = translation_ratio
        self.cutout_ratio = cutout_ratio

    def operations_for(self, x: Tensor) -> list[str]:
        """The operations applied to a batch of this rank."""
        if x.dim() < 3:
            raise ValueError(
                f"DiffAugment needs a time or spatial axis: (B, C, T), (B, T, F) with "
                f"channel_dim=-1, (B, C, H, W) or (B, C, D, H, W); got shape {tuple(x.shape)}"
            )
        if self.policy != "auto":
            return self.ops
        return AUTO_POLICIES.get(x.dim(), _FULL).split(",")

    def _chain(self, ops: list[str], generator: torch.Generator | None) -> list[Callable]:
        fns: list[Callable[[Tensor], Tensor]] = []
        for op in ops:
            if op == "color":
                fns += [
                    lambda t: rand_brightness(t, generator),
                    lambda t: rand_saturation(t, generator),
                    lambda t: rand_contrast(t, generator),
                ]
            elif op == "translation":
                fns.append(lambda t: rand_translation(t, self.translation_ratio, generator))
            else:
                fns.append(lambda t: rand_cutout(t, self.cutout_ratio, generator))
        return fns

    def __call__(
        self, x: Tensor, generator: torch.Generator | None = None, p: float = 1.0
    ) -> Tensor:
        """Augment ``x``; with ``p < 1`` each sample is augmented with probability ``p``
        (e.g. ``p`` from :class:`ADAController`)."""
        ops = self.operations_for(x)
        if p <= 0.0:
            return x
        y = x.movedim(self.channel_dim, 1)
        for fn in self._chain(ops, generator):
            y = fn(y)
        y = y.movedim(1, self.channel_dim)
        if p >= 1.0:
            return y
        chosen = _per_sample(x, generator) < p
        return torch.where(chosen, y, x)
