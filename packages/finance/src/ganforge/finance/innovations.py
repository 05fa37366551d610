"""Skewed Student-t innovations (Fernandez & Steel 1998): likelihood and sampling.

The density with ``dof`` degrees of freedom and skew ``gamma > 0`` is
``2 / (gamma + 1 / gamma) * t(e / gamma)`` for ``e >= 0`` and
``2 / (gamma + 1 / gamma) * t(e * gamma)`` for ``e < 0``, where ``t`` is the
Student-t density: ``gamma = 1`` is Student's t, ``gamma < 1`` puts more mass
on the left (the negative skew of equity returns), and ``P(e < 0) = 1 / (1 + gamma^2)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import special

MAX_ABS_Z = 8.0


def skewed_t_nll(
    x: torch.Tensor,
    location: torch.Tensor,
    scale: torch.Tensor,
    dof: torch.Tensor,
    skew: torch.Tensor,
) -> torch.Tensor:
    """Mean negative log-likelihood per value of ``x`` under the skewed Student-t."""
    standard = (x - location) / scale
    stretched = torch.where(standard >= 0, standard / skew, standard * skew)
    log_t = (
        torch.lgamma((dof + 1) / 2)
        - torch.lgamma(dof / 2)
        - 0.5 * torch.log(dof * math.pi)
        - (dof + 1) / 2 * torch.log1p(stretched**2 / dof)
    )
    log_density = math.log(2.0) - torch.log(skew + 1 / skew) + log_t - torch.log(scale)
    return -log_density.mean()


def skewed_t_noise(z: torch.Tensor, dof: torch.Tensor, skew: torch.Tensor) -> torch.Tensor:
    """Skewed Student-t values with the same quantiles as the standard Gaussian ``z``.

    A copula map, so the randomness stays the Gaussian noise the trainer draws.
    ``dof`` and ``skew`` per feature (last axis), no gradient. Computed in
    float64 from whichever tail is nearer; ``|z|`` above 8 (probability 1e-15)
    is taken as 8, where the quantile is already far beyond any observed return
    (the scaler clips samples to the data's range).
    """
    values = np.clip(z.detach().cpu().double().numpy(), -MAX_ABS_Z, MAX_ABS_Z)
    nu = dof.detach().cpu().double().numpy()
    gamma = skew.detach().cpu().double().numpy()
    lower, upper = special.ndtr(values), special.ndtr(-values)
    g2 = gamma**2
    negative = lower < 1 / (1 + g2)
    left = special.stdtrit(nu, np.minimum(lower * (1 + g2) / 2, 0.5)) / gamma
    right = -gamma * special.stdtrit(nu, np.minimum(upper * (1 + g2) / (2 * g2), 0.5))
    return torch.as_tensor(np.where(negative, left, right), dtype=z.dtype, device=z.device)


def skewed_t_cdf(x: np.ndarray, dof: float, skew: float) -> np.ndarray:
    """The distribution function (float64), for checks and quantile comparisons."""
    x = np.asarray(x, dtype=np.float64)
    g2 = skew**2
    below = 2 / (1 + g2) * special.stdtr(dof, x * skew)
    above = 1 / (1 + g2) + 2 * g2 / (1 + g2) * (special.stdtr(dof, x / skew) - 0.5)
    return np.where(x < 0, below, above)


def skewed_t_mean(dof: torch.Tensor, skew: torch.Tensor) -> torch.Tensor:
    """The mean of the standard skewed Student-t: ``(gamma - 1 / gamma) * E|T|``.

    ``E|T| = 2 sqrt(dof) Gamma((dof + 1) / 2) / (sqrt(pi) (dof - 1) Gamma(dof / 2))``
    is the mean absolute value of Student's t (finite for ``dof > 1``).
    """
    log_abs_mean = (
        math.log(2.0)
        + 0.5 * torch.log(dof)
        + torch.lgamma((dof + 1) / 2)
        - 0.5 * math.log(math.pi)
        - torch.log(dof - 1)
        - torch.lgamma(dof / 2)
    )
    return (skew - 1 / skew) * torch.exp(log_abs_mean)
