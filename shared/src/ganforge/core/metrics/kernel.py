"""Kernel two-sample statistics: KID (polynomial-kernel MMD) and multi-bandwidth RBF MMD."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch

from ganforge.core.metrics._validate import ArrayLike, as_features, positive_int, same_width

Kernel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class KIDResult(NamedTuple):
    """Mean and standard deviation of the unbiased MMD^2 over the subsets."""

    mean: float
    std: float


def polynomial_kernel(degree: int = 3, gamma: float | None = None, coef: float = 1.0) -> Kernel:
    """``k(x, y) = (gamma * x.y + coef) ** degree`` with ``gamma = 1/d`` by default."""

    def kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        g = 1.0 / x.shape[1] if gamma is None else gamma
        return (g * (x @ y.T) + coef) ** degree

    return kernel


def rbf_kernel(bandwidths: Sequence[float]) -> Kernel:
    """Sum of Gaussian kernels ``exp(-|x - y|^2 / (2 s^2))`` over the bandwidths ``s``."""
    scales = [-0.5 / float(s) ** 2 for s in bandwidths]

    def kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        d2 = torch.cdist(x, y).square()
        return sum(torch.exp(c * d2) for c in scales)

    return kernel


def mmd2_unbiased(
    x: torch.Tensor, y: torch.Tensor, kernel: Kernel, chunk_size: int = 2048
) -> float:
    """Unbiased estimate of MMD^2 (diagonal terms of K_xx and K_yy left out)."""
    m, n = x.shape[0], y.shape[0]
    sxx = _kernel_sum(x, x, kernel, chunk_size, drop_diagonal=True) / (m * (m - 1))
    syy = _kernel_sum(y, y, kernel, chunk_size, drop_diagonal=True) / (n * (n - 1))
    sxy = _kernel_sum(x, y, kernel, chunk_size, drop_diagonal=False) / (m * n)
    return float(sxx + syy - 2.0 * sxy)


def mmd2_biased(x: torch.Tensor, y: torch.Tensor, kernel: Kernel, chunk_size: int = 2048) -> float:
    """Biased (V-statistic) MMD^2, always >= 0."""
    m, n = x.shape[0], y.shape[0]
    sxx = _kernel_sum(x, x, kernel, chunk_size, drop_diagonal=False) / (m * m)
    syy = _kernel_sum(y, y, kernel, chunk_size, drop_diagonal=False) / (n * n)
    sxy = _kernel_sum(x, y, kernel, chunk_size, drop_diagonal=False) / (m * n)
    return float(sxx + syy - 2.0 * sxy)


def _kernel_sum(
    x: torch.Tensor, y: torch.Tensor, kernel: Kernel, chunk_size: int, drop_diagonal: bool
) -> float:
    total = torch.zeros((), dtype=torch.float64)
    for i in range(0, x.shape[0], chunk_size):
        for j in range(0, y.shape[0], chunk_size):
            block = kernel(x[i : i + chunk_size], y[j : j + chunk_size])
            total += block.sum().double()
            if drop_diagonal and i == j:
                total -= block.diagonal().sum().double()
    return float(total)


def kid(
    a: ArrayLike,
    b: ArrayLike,
    subsets: int = 100,
    subset_size: int = 1000,
    *,
    degree: int = 3,
    gamma: float | None = None,
    coef: float = 1.0,
    seed: int = 0,
) -> KIDResult:
    """Kernel Inception Distance (Bińkowski et al. 2018) of two feature sets.

    The unbiased MMD^2 with the kernel ``(x.y / d + 1)^3``, averaged over ``subsets``
    random subsets drawn without replacement. When a set has fewer samples than
    ``subset_size``, the subsets use ``min(subset_size, n_a, n_b)`` samples.

    Args:
        a: ``(n_a, d)`` features (e.g. real).
        b: ``(n_b, d)`` features (e.g. generated).
        subsets: number of random subsets.
        subset_size: samples per subset (capped by the smaller set).
        degree, gamma, coef: polynomial kernel parameters (``gamma=None`` is ``1/d``).
        seed: seed of the subset draws.

    Returns:
        :class:`KIDResult` ``(mean, std)``; the mean is unbiased (≈ 0 when both sets
        come from one distribution; it can be slightly negative).
    """
    x = as_features(a, "a", min_rows=2, dtype=torch.float64)
    y = as_features(b, "b", min_rows=2, dtype=torch.float64)
    same_width(x, y, "a", "b")
    subsets = positive_int(subsets, "subsets")
    m = min(positive_int(subset_size, "subset_size"), x.shape[0], y.shape[0])
    if m < 2:
        raise ValueError("subset_size must be at least 2")
    kernel = polynomial_kernel(degree, gamma, coef)
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for s in range(subsets):
        ix = torch.from_numpy(rng.choice(x.shape[0], m, replace=False))
        iy = torch.from_numpy(rng.choice(y.shape[0], m, replace=False))
        values[s] = mmd2_unbiased(x[ix], y[iy], kernel)
    return KIDResult(float(values.mean()), float(values.std()))


def median_bandwidth(
    x: torch.Tensor, y: torch.Tensor, max_samples: int = 1000, seed: int = 0
) -> float:
    """Median pairwise distance of the pooled samples (a subsample of ``max_samples``)."""
    pooled = torch.cat([x, y])
    if pooled.shape[0] > max_samples:
        gen = torch.Generator().manual_seed(seed)
        pooled = pooled[torch.randperm(pooled.shape[0], generator=gen)[:max_samples]]
    d = torch.pdist(pooled)
    med = float(d.median()) if d.numel() else 0.0
    return med if med > 0 else 1.0


def mmd_rbf(
    a: ArrayLike,
    b: ArrayLike,
    bandwidths: Sequence[float] | None = None,
    *,
    unbiased: bool = True,
    chunk_size: int = 2048,
) -> float:
    """MMD^2 between two feature sets with a sum of Gaussian (RBF) kernels.

    Args:
        a: ``(n_a, d)`` features, ``n_a >= 2``.
        b: ``(n_b, d)`` features, ``n_b >= 2``.
        bandwidths: kernel widths ``s`` in ``exp(-|x-y|^2 / (2 s^2))``; ``None`` uses
            the median pairwise distance ``h`` times ``(0.25, 0.5, 1, 2, 4)``.
        unbiased: the unbiased U-statistic (default) or the biased V-statistic.
        chunk_size: block size of the kernel sums (memory ``O(chunk_size^2)``).

    Returns:
        MMD^2 as a Python float.
    """
    x = as_features(a, "a", min_rows=2, dtype=torch.float64)
    y = as_features(b, "b", min_rows=2, dtype=torch.float64)
    same_width(x, y, "a", "b")
    if bandwidths is None:
        h = median_bandwidth(x, y)
        bandwidths = [h * f for f in (0.25, 0.5, 1.0, 2.0, 4.0)]
    bandwidths = [float(s) for s in bandwidths]
    if not bandwidths or min(bandwidths) <= 0:
        raise ValueError(
            f"bandwidths must be a non-empty list of positive numbers, got {bandwidths}"
        )
    estimate = mmd2_unbiased if unbiased else mmd2_biased
    return estimate(x, y, rbf_kernel(bandwidths), positive_int(chunk_size, "chunk_size"))
