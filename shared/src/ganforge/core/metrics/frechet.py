"""Fréchet distance between feature sets, and FID on top of a pluggable extractor."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import scipy.linalg
import torch
from torch import nn

from ganforge.core.metrics._validate import ArrayLike, as_features, positive_int, same_width


def gaussian_statistics(features: ArrayLike, name: str = "features") -> tuple[np.ndarray, ...]:
    """Mean and unbiased covariance (float64 numpy) of ``(n_samples, d)`` features."""
    x = as_features(features, name, min_rows=2, dtype=torch.float64).cpu().numpy()
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def frechet_distance_from_statistics(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    ``||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2})``. The matrix
    square root is scipy's ``sqrtm``; when the product is singular (fewer samples
    than dimensions) ``eps`` is added to both diagonals, and a negligible imaginary
    part from round-off is dropped (a large one raises ``ValueError``).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = (
        np.atleast_2d(sigma1).astype(np.float64),
        np.atleast_2d(sigma2).astype(np.float64),
    )
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f"statistics differ in shape: mu {mu1.shape} vs {mu2.shape}, "
            f"sigma {sigma1.shape} vs {sigma2.shape}"
        )
    covmean = _sqrtm_product(sigma1, sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm_product(sigma1 + offset, sigma2 + offset)
    if np.iscomplexobj(covmean):
        largest = np.max(np.abs(covmean.imag))
        if largest > 1e-3 * max(1.0, np.max(np.abs(covmean.real))):
            raise ValueError(
                f"matrix square root has an imaginary part of {largest:.3g}; the covariances "
                "are badly conditioned, use more samples or fewer feature dimensions"
            )
        covmean = covmean.real
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def _sqrtm_product(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return scipy.linalg.sqrtm(sigma1 @ sigma2)


def frechet_distance(feats_a: ArrayLike, feats_b: ArrayLike) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (float64).

    Args:
        feats_a: ``(n_a, d)`` features, ``n_a >= 2``.
        feats_b: ``(n_b, d)`` features, ``n_b >= 2``.

    Returns:
        The squared Fréchet distance (0 for identical sets), as a Python float.
    """
    a = as_features(feats_a, "feats_a", min_rows=2)
    b = as_features(feats_b, "feats_b", min_rows=2)
    same_width(a, b, "feats_a", "feats_b")
    return frechet_distance_from_statistics(
        *gaussian_statistics(a, "feats_a"), *gaussian_statistics(b, "feats_b")
    )


class CallableFeatures(nn.Module):
    """Wrap a plain ``fn(images) -> (N, d)`` callable as an ``nn.Module``."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], num_features: int) -> None:
        super().__init__()
        self.fn = fn
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x).reshape(x.shape[0], -1)


def fid(
    real_images: torch.Tensor | Iterable[torch.Tensor],
    fake_images: torch.Tensor | Iterable[torch.Tensor],
    *,
    extractor: str | Callable[[torch.Tensor], torch.Tensor],
    batch_size: int = 256,
    device: str | torch.device | None = "cpu",
) -> float:
    """Fréchet distance of two image sets in the feature space of ``extractor``.

    Accumulates statistics batch by batch with torchmetrics'
    ``FrechetInceptionDistance(feature=module)`` so large sets never sit in memory
    as features.

    Args:
        real_images: a tensor ``(N, C, H, W)`` or an iterable of such batches.
        fake_images: same for generated images.
        extractor: which features, always named by the caller (a domain's own
            images need a domain's extractor): a registered name (see
            :func:`list_extractors`; ``"inception"`` needs local weights,
            ``"mnist_cnn"``, trained on digits, works offline) or any callable /
            ``nn.Module`` mapping a batch to ``(batch, d)`` features. It receives the
            images as given (same dtype and range).
        batch_size: batch size when a tensor is given.
        device: where the extractor runs.

    Returns:
        The FID as a Python float.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    from ganforge.core.metrics.extractors import get_extractor

    fn = get_extractor(extractor) if isinstance(extractor, str) else extractor
    batch_size = positive_int(batch_size, "batch_size")
    real_batches = _batches(real_images, batch_size, "real_images")
    fake_batches = _batches(fake_images, batch_size, "fake_images")
    first = next(real_batches)
    was_training = fn.training if isinstance(fn, nn.Module) else False
    if isinstance(fn, nn.Module):
        fn.to(device).eval()
    try:
        with torch.no_grad():
            n_features = fn(first[:1].to(device)).reshape(1, -1).shape[1]
            metric = FrechetInceptionDistance(feature=CallableFeatures(fn, n_features)).to(device)
            counts = {True: 0, False: 0}
            for real, batches in ((True, _chain(first, real_batches)), (False, fake_batches)):
                for batch in batches:
                    metric.update(batch.to(device), real=real)
                    counts[real] += batch.shape[0]
    finally:
        if isinstance(fn, nn.Module):
            fn.train(was_training)
    if counts[True] < 2 or counts[False] < 2:
        raise ValueError(
            f"FID needs at least 2 real and 2 fake images, got {counts[True]} and {counts[False]}"
        )
    return float(metric.compute())


def _batches(images: torch.Tensor | Iterable[torch.Tensor], batch_size: int, name: str):
    if isinstance(images, torch.Tensor):
        if images.dim() < 2 or images.shape[0] == 0:
            raise ValueError(f"{name} must be a non-empty batch (N, C, H, W), got {images.shape}")
        yield from images.split(batch_size)
        return
    empty = True
    for batch in images:
        if not isinstance(batch, torch.Tensor):
            raise ValueError(f"{name} must yield tensors, got {type(batch).__name__}")
        empty = False
        yield batch
    if empty:
        raise ValueError(f"{name} is empty")


def _chain(first: torch.Tensor, rest):
    yield first
    yield from rest
