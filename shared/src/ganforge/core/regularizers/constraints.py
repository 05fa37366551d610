"""Lipschitz constraints on a whole network: weight clipping and spectral norm."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

SPECTRAL_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


@torch.no_grad()
def weight_clip(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to [-c, c] in place (WGAN, Arjovsky et al. 2017)."""
    if c <= 0:
        raise ValueError(f"clip value c must be positive, got {c}; WGAN uses 0.01")
    for param in module.parameters():
        param.clamp_(-c, c)


def _has_spectral_norm(layer: nn.Module) -> bool:
    if not parametrize.is_parametrized(layer, "weight"):
        return False
    return any(type(p).__name__ == "_SpectralNorm" for p in layer.parametrizations.weight)


def apply_spectral_norm(
    module: nn.Module, n_power_iterations: int = 1, eps: float = 1e-12
) -> nn.Module:
    """Spectral-normalise (Miyato et al. 2018) every Linear / Conv / ConvTranspose layer.

    Uses ``torch.nn.utils.parametrizations.spectral_norm``: in train mode each forward
    runs ``n_power_iterations`` power iterations. Layers already normalised are left as
    they are. Returns ``module`` (modified in place).
    """
    layers = [m for m in module.modules() if isinstance(m, SPECTRAL_NORM_TYPES)]
    for layer in layers:
        if not _has_spectral_norm(layer):
            spectral_norm(layer, n_power_iterations=n_power_iterations, eps=eps)
    return module
