"""Precision/recall and density/coverage equal the reference prdc package."""

from __future__ import annotations

import numpy as np
import pytest
from prdc import compute_prdc

from ganforge.core.metrics import (
    density_coverage,
    precision_recall,
    precision_recall_density_coverage,
)


@pytest.mark.parametrize(
    ("n_real", "n_fake", "dim", "shift", "k", "chunk"),
    [(300, 250, 8, 0.0, 5, 2048), (400, 300, 16, 0.6, 3, 97), (200, 500, 4, 1.5, 10, 64)],
)
def test_equal_to_prdc_on_the_same_arrays(n_real, n_fake, dim, shift, k, chunk):
    rng = np.random.default_rng(n_real + dim)
    real = rng.normal(size=(n_real, dim))
    fake = rng.normal(size=(n_fake, dim)) * 1.2 + shift
    expected = compute_prdc(real, fake, k)
    ours = precision_recall_density_coverage(real, fake, k, chunk_size=chunk)
    for name in ("precision", "recall", "density", "coverage"):
        assert ours[name] == pytest.approx(float(expected[name]), abs=1e-12), name
    assert precision_recall(real, fake, k) == {key: ours[key] for key in ("precision", "recall")}
    assert density_coverage(real, fake, k) == {key: ours[key] for key in ("density", "coverage")}


def test_separated_distributions_score_zero():
    rng = np.random.default_rng(1)
    out = precision_recall_density_coverage(
        rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 50
    )
    assert out == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_k_must_leave_neighbours():
    with pytest.raises(ValueError, match="at least 6 samples"):
        precision_recall(np.zeros((5, 2)), np.zeros((50, 2)), k=5)
