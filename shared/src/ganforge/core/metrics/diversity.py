"""Diversity of a generated set: mean pairwise feature distance and MS-SSIM for images."""

from __future__ import annotations

import torch

from ganforge.core.metrics._validate import ArrayLike, as_features, positive_int

_MS_SSIM_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def pairwise_diversity(
    feats: ArrayLike,
    *,
    max_samples: int | None = None,
    seed: int = 0,
    chunk_size: int = 2048,
) -> float:
    """Mean Euclidean distance over all distinct pairs of samples.

    A collapsed generator (every sample alike) scores near 0.

    Args:
        feats: ``(n, d)`` features (or raw samples; trailing dims are flattened), n >= 2.
        max_samples: use a random subset of this many samples (``None``: all).
        seed: seed of that subset.
        chunk_size: block size (memory ``O(chunk_size^2)``).
    """
    x = as_features(feats, "feats", min_rows=2, dtype=torch.float64)
    if max_samples is not None and x.shape[0] > positive_int(max_samples, "max_samples"):
        gen = torch.Generator().manual_seed(seed)
        x = x[torch.randperm(x.shape[0], generator=gen)[:max_samples]]
        if x.shape[0] < 2:
            raise ValueError("max_samples must be at least 2")
    chunk_size = positive_int(chunk_size, "chunk_size")
    total = torch.zeros((), dtype=torch.float64)
    for i in range(0, x.shape[0], chunk_size):
        for j in range(i, x.shape[0], chunk_size):
            d = torch.cdist(x[i : i + chunk_size], x[j : j + chunk_size])
            # off-diagonal blocks count twice (i < j and j < i); diagonal blocks once.
            total += d.sum() * (2.0 if j > i else 1.0)
    n = x.shape[0]
    return float(total / (n * (n - 1)))


def ms_ssim(
    preds: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    kernel_size: int = 7,
) -> torch.Tensor:
    """Per-pair multi-scale SSIM of image batches ``(N, C, H, W)`` (torchmetrics).

    The number of scales adapts to the image size: as many of the standard five as
    fit (each scale halves the image, which must stay larger than the kernel), so
    28x28 digits work as well as 256x256 photographs.

    Returns:
        ``(N,)`` MS-SSIM values in [0, 1] (1 = identical).
    """
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    if preds.shape != target.shape or preds.dim() != 4:
        raise ValueError(
            f"ms_ssim needs two (N, C, H, W) batches of one shape, got {tuple(preds.shape)} "
            f"and {tuple(target.shape)}"
        )
    scales = _ms_ssim_scales(min(preds.shape[-2:]), kernel_size)
    betas = _MS_SSIM_BETAS[:scales]
    total = sum(betas)
    return multiscale_structural_similarity_index_measure(
        preds.double(),
        target.double(),
        kernel_size=kernel_size,
        data_range=data_range,
        betas=tuple(b / total for b in betas),
        reduction="none",
    )


def _ms_ssim_scales(side: int, kernel_size: int) -> int:
    scales = 0
    while scales < len(_MS_SSIM_BETAS) and side / 2**scales > kernel_size - 1:
        scales += 1
    if scales == 0:
        raise ValueError(f"images of side {side} are too small for kernel_size={kernel_size}")
    return scales


def ms_ssim_diversity(
    images: torch.Tensor,
    pairs: int = 200,
    *,
    data_range: float = 1.0,
    kernel_size: int = 7,
    seed: int = 0,
) -> float:
    """Mean MS-SSIM over random pairs of distinct generated images.

    Lower means more diverse; a collapsed generator approaches 1 (Odena et al. 2017).
    """
    if images.dim() != 4 or images.shape[0] < 2:
        raise ValueError(f"images must be a batch (N >= 2, C, H, W), got {tuple(images.shape)}")
    pairs = positive_int(pairs, "pairs")
    gen = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    first = torch.randint(0, n, (pairs,), generator=gen)
    second = (first + torch.randint(1, n, (pairs,), generator=gen)) % n
    values = ms_ssim(images[first], images[second], data_range=data_range, kernel_size=kernel_size)
    return float(values.mean())
