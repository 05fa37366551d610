"""Latent noise for sampling a generator.

Example::

    z = truncated_normal((64, 128), threshold=1.5, generator=torch.Generator().manual_seed(0))

:func:`truncated_normal` is BigGAN's truncation trick (Brock et al., 2019): standard
normal values beyond ``threshold`` are drawn again, so samples come from the denser
middle of the latent space, trading variety for fidelity.
"""

from __future__ import annotations

import torch


def truncated_normal(
    shape: tuple[int, ...], threshold: float | None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Standard normal values of ``shape``, each one beyond ``±threshold`` drawn again until
    it is within (``threshold`` ``None``: the plain normal)."""
    z = torch.randn(shape, generator=generator)
    if threshold is None:
        return z
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    outside = z.abs() > threshold
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = z.abs() > threshold
    return z
