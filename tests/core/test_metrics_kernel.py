"""KID and RBF MMD: unbiasedness, references and small-sample behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.image.kid import poly_mmd

from ganforge.core.metrics import kid, mmd_rbf


def test_kid_with_whole_sets_equals_torchmetrics_poly_mmd():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(60, 5, generator=gen, dtype=torch.float64)
    b = torch.randn(60, 5, generator=gen, dtype=torch.float64) + 0.5
    # subset_size == n: every subset is a permutation of the whole set.
    ours = kid(a, b, subsets=3, subset_size=60)
    reference = float(poly_mmd(a, b, degree=3, gamma=1 / 5, coef=1.0))
    assert ours.mean == pytest.approx(reference, rel=1e-10)
    assert ours.std == pytest.approx(0.0, abs=1e-12)


def test_kid_is_unbiased_for_samples_of_one_distribution():
    means = [
        kid(
            np.random.default_rng(2 * s).normal(size=(200, 8)),
            np.random.default_rng(2 * s + 1).normal(size=(200, 8)),
            subsets=10,
            subset_size=100,
            seed=s,
        ).mean
        for s in range(30)
    ]
    spread = np.std(means) / np.sqrt(len(means))
    assert abs(np.mean(means)) < 3 * spread
    assert min(means) < 0 < max(means)  # an unbiased estimate straddles zero


def test_kid_is_clearly_positive_for_shifted_samples():
    rng = np.random.default_rng(7)
    result = kid(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)) + 0.5, subsets=20)
    assert result.mean > 10 * result.std / np.sqrt(20)
    assert result.mean > 0.05


def test_kid_works_with_fewer_samples_than_subset_size():
    rng = np.random.default_rng(8)
    result = kid(rng.normal(size=(30, 4)), rng.normal(size=(45, 4)), subsets=5, subset_size=1000)
    assert np.isfinite(result.mean) and abs(result.mean) < 0.5


def test_mmd_rbf_matches_explicit_double_sum():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) + 1.0
    s = (0.5, 2.0)

    def k(u, v):
        d2 = np.sum((u[:, None] - v[None]) ** 2, axis=2)
        return sum(np.exp(-d2 / (2 * b**2)) for b in s)

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    unbiased = (kxx.sum() - np.trace(kxx)) / 42 + (kyy.sum() - np.trace(kyy)) / 20 - 2 * kxy.mean()
    biased = kxx.mean() + kyy.mean() - 2 * kxy.mean()
    assert mmd_rbf(x, y, bandwidths=s, chunk_size=3) == pytest.approx(unbiased, rel=1e-10)
    assert mmd_rbf(x, y, bandwidths=s, unbiased=False) == pytest.approx(biased, rel=1e-10)


def test_mmd_rbf_separates_same_from_shifted_distribution():
    rng = np.random.default_rng(10)
    same = mmd_rbf(rng.normal(size=(300, 4)), rng.normal(size=(300, 4)))
    shifted = mmd_rbf(rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + 0.7)
    assert abs(same) < 0.01 < shifted


def test_kernel_metric_errors():
    with pytest.raises(ValueError, match="positive numbers"):
        mmd_rbf(np.zeros((4, 2)), np.ones((4, 2)), bandwidths=[0.0])
    with pytest.raises(ValueError, match="subsets must be a positive integer"):
        kid(np.zeros((4, 2)), np.ones((4, 2)), subsets=0)
