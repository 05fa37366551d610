"""k-NN manifold metrics: precision/recall (Kynkäänniemi et al. 2019) and
density/coverage (Naeem et al. 2020), computed block by block.

The definitions follow the reference ``prdc`` package exactly (a sample's k-NN
radius counts the sample itself as its first neighbour; strict ``<`` comparisons).
"""

from __future__ import annotations

import torch

from ganforge.core.metrics._validate import (
    ArrayLike,
    as_features,
    positive_int,
    resolve_device,
    same_width,
)
from ganforge.core.metrics.neighbours import kth_neighbour_radii


def precision_recall_density_coverage(
    real: ArrayLike,
    fake: ArrayLike,
    k: int = 5,
    *,
    chunk_size: int = 2048,
    device: str | torch.device | None = "cpu",
) -> dict[str, float]:
    """All four k-NN manifold metrics in one pass (float64).

    Args:
        real: ``(n_real, d)`` features of real samples, ``n_real > k``.
        fake: ``(n_fake, d)`` features of generated samples, ``n_fake > k``.
        k: neighbourhood size of the manifold balls.
        chunk_size: block size (memory ``O(chunk_size^2)``).
        device: where to compute (``None``/``"auto"``: CUDA when present).

    Returns:
        ``{"precision", "recall", "density", "coverage"}`` as floats.
    """
    k = positive_int(k, "k")
    x = as_features(real, "real", min_rows=k + 1, dtype=torch.float64)
    y = as_features(fake, "fake", min_rows=k + 1, dtype=torch.float64)
    same_width(x, y, "real", "fake")
    chunk_size = positive_int(chunk_size, "chunk_size")
    dev = resolve_device(device)
    r_real = kth_neighbour_radii(x, k, chunk_size=chunk_size, device=dev).to(dev)
    r_fake = kth_neighbour_radii(y, k, chunk_size=chunk_size, device=dev).to(dev)

    balls_per_fake = torch.zeros(y.shape[0], dtype=torch.float64, device=dev)
    real_in_fake_ball = torch.zeros(x.shape[0], dtype=torch.bool, device=dev)
    nearest_fake = torch.full((x.shape[0],), float("inf"), dtype=torch.float64, device=dev)
    for i in range(0, x.shape[0], chunk_size):
        xi = x[i : i + chunk_size].to(dev)
        ri = r_real[i : i + chunk_size, None]
        for j in range(0, y.shape[0], chunk_size):
            d = torch.cdist(xi, y[j : j + chunk_size].to(dev))
            balls_per_fake[j : j + chunk_size] += (d < ri).sum(0)
            real_in_fake_ball[i : i + chunk_size] |= (d < r_fake[None, j : j + chunk_size]).any(1)
            nearest_fake[i : i + chunk_size] = torch.minimum(
                nearest_fake[i : i + chunk_size], d.min(1).values
            )
    return {
        "precision": float((balls_per_fake > 0).double().mean()),
        "recall": float(real_in_fake_ball.double().mean()),
        "density": float(balls_per_fake.mean() / k),
        "coverage": float((nearest_fake < r_real).double().mean()),
    }


def precision_recall(
    real: ArrayLike, fake: ArrayLike, k: int = 5, **kwargs: object
) -> dict[str, float]:
    """Improved precision and recall: ``{"precision", "recall"}``.

    Precision: share of fake samples inside some real sample's k-NN ball (fidelity).
    Recall: share of real samples inside some fake sample's k-NN ball (diversity).
    Keyword arguments go to :func:`precision_recall_density_coverage`.
    """
    out = precision_recall_density_coverage(real, fake, k, **kwargs)
    return {"precision": out["precision"], "recall": out["recall"]}


def density_coverage(
    real: ArrayLike, fake: ArrayLike, k: int = 5, **kwargs: object
) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020): ``{"density", "coverage"}``.

    Density: mean number of real k-NN balls containing a fake sample, divided by k
    (≈ 1 for matching distributions, can exceed 1). Coverage: share of real samples
    whose k-NN ball contains at least one fake sample.
    """
    out = precision_recall_density_coverage(real, fake, k, **kwargs)
    return {"density": out["density"], "coverage": out["coverage"]}
