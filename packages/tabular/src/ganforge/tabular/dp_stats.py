"""Differentially private column statistics for the data transformer.

Every mechanism here is a Laplace histogram: under add/remove-one-row
neighbouring tables a row changes one bin of a histogram by one, so the L1
sensitivity is 1 and Laplace noise of scale ``1 / epsilon`` gives
``epsilon``-DP. What is computed from the noisy counts afterwards (bounds,
mixture modes, category lists) is post-processing and costs nothing more.

- :func:`dp_range`: a column's bounds from a histogram on fixed, data-independent
  log-scale bins covering ``[-1e19, 1e19]`` (pure ``epsilon``-DP).
- :func:`dp_fine_histogram`: a histogram inside public or DP bounds, plus the
  missing-value bin, from which the mixture modes are fitted (pure ``epsilon``-DP).
- :func:`dp_categories`: the categories of a column by a stability-based
  histogram (``(epsilon, delta)``-DP: a category held by one row is released
  with probability at most ``delta``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAILURE_PROBABILITY = 0.05


def public_edges() -> np.ndarray:
    """Data-independent bin edges: 0 and +-10**(k/8) for magnitudes 1e-6 .. 1e19."""
    magnitudes = 10.0 ** (np.arange(-6 * 8, 19 * 8 + 1) / 8)
    return np.concatenate([-magnitudes[::-1], [0.0], magnitudes])


def laplace_counts(counts: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Counts plus Laplace(1/epsilon) noise (epsilon-DP for a sensitivity-1 histogram)."""
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    return counts.astype(np.float64) + rng.laplace(0.0, 1.0 / epsilon, size=counts.shape)


def dp_range(values: np.ndarray, epsilon: float, rng: np.random.Generator) -> tuple[float, float]:
    """Bounds of the finite values: outermost public bins whose noisy count clears a threshold.

    The threshold ``ln(bins / 0.05) / epsilon`` keeps an empty bin out with
    probability 0.95 over all bins together; values beyond the bounds are
    clipped to them later.
    """
    edges = public_edges()
    finite = values[np.isfinite(values)]
    counts, _ = np.histogram(np.clip(finite, edges[0], edges[-1]), edges)
    noisy = laplace_counts(counts, epsilon, rng)
    threshold = np.log(len(counts) / FAILURE_PROBABILITY) / epsilon
    kept = np.flatnonzero(noisy > threshold)
    if kept.size == 0:
        raise ValueError(
            "the privacy budget is too small to estimate a column's range: give public "
            "bounds (ColumnSpec lower/upper) or a larger epsilon"
        )
    return float(edges[kept.min()]), float(edges[kept.max() + 1])


@dataclass
class NoisyHistogram:
    """A DP histogram of a numeric column inside ``[lower, upper]`` and of its missing values."""

    edges: np.ndarray
    counts: np.ndarray
    missing: float
    has_missing: bool

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` values drawn from the histogram (uniform inside each bin)."""
        weights = np.clip(self.counts, 0.0, None)
        if weights.sum() <= 0:
            raise ValueError(
                "the privacy budget is too small to estimate a column's distribution: "
                "use a larger epsilon or a larger share for statistics"
            )
        bins = rng.choice(len(weights), size=n, p=weights / weights.sum())
        return rng.uniform(self.edges[bins], self.edges[bins + 1])


def dp_fine_histogram(
    values: np.ndarray,
    lower: float,
    upper: float,
    epsilon: float,
    rng: np.random.Generator,
    bins: int = 32,
) -> NoisyHistogram:
    """An epsilon-DP histogram on ``bins`` equal bins of ``[lower, upper]`` plus a missing bin."""
    edges = np.linspace(lower, upper, bins + 1)
    finite = values[np.isfinite(values)]
    counts, _ = np.histogram(np.clip(finite, lower, upper), edges)
    noisy = laplace_counts(np.append(counts, np.isnan(values).sum()), epsilon, rng)
    missing = max(float(noisy[-1]), 0.0)
    has_missing = noisy[-1] > np.log(1 / FAILURE_PROBABILITY) / epsilon
    return NoisyHistogram(edges, noisy[:-1], missing, bool(has_missing))


def stability_threshold(epsilon: float, delta: float) -> float:
    """Noisy-count threshold above which a category held by one row appears w.p. <= delta."""
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    return 1.0 + np.log(1.0 / (2.0 * delta)) / epsilon


def dp_categories(
    values: np.ndarray, epsilon: float, delta: float, rng: np.random.Generator
) -> tuple[list, np.ndarray]:
    """(epsilon, delta)-DP list of categories and their noisy counts (stability histogram).

    Missing values count as one more category, ``None``. Categories are
    returned in sorted order of their string form.
    """
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values])
    present, counts = np.unique(values[~missing].astype(object), return_counts=True)
    levels = list(present) + ([None] if missing.any() else [])
    counts = np.append(counts, missing.sum()) if missing.any() else counts
    noisy = laplace_counts(counts, epsilon, rng)
    kept = noisy > stability_threshold(epsilon, delta)
    if not kept.any():
        raise ValueError(
            "the privacy budget is too small to find any category of a column: give its "
            "categories in the schema (ColumnSpec categories) or a larger epsilon"
        )
    pairs = [(lvl, c) for lvl, c, k in zip(levels, noisy, kept, strict=True) if k]
    pairs.sort(key=lambda p: (p[0] is None, str(p[0])))
    return [p[0] for p in pairs], np.array([p[1] for p in pairs])
