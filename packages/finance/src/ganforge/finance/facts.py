"""Stylized facts of asset returns (Cont 2001) as statistics and named checks.

Every statistic accepts one return series ``(T,)`` or a panel of paths
``(n_paths, T)``. Panels are pooled: moments use every value, and
autocorrelations sum lagged products within each path only (never across the
seam between two paths), around the pooled mean, over the pooled variance.
For a single series the estimators equal the textbook ones
(``statsmodels.tsa.stattools.acf``, ``scipy.stats.kurtosis``).

:func:`stylized_facts` compares synthetic returns with real ones and returns a
list of :class:`FactCheck` (real value, synthetic value, pass/fail against a
tolerance); :func:`facts_table` turns them into a DataFrame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

ABS_ACF_LAGS = (1, 5, 20, 100)
W1_HORIZONS = (1, 5, 20, 100)


def as_paths(returns: np.ndarray | pd.Series | Sequence[float]) -> np.ndarray:
    """Returns as a 2-D float array ``(n_paths, T)``; a 1-D series is one path.

    Raises:
        ValueError: wrong rank, too short, or non-finite values.
    """
    array = np.asarray(returns, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"returns must be (T,) or (n_paths, T), got shape {array.shape}")
    if array.shape[1] < 3:
        raise ValueError(f"return paths must have at least 3 steps, got {array.shape[1]}")
    if not np.all(np.isfinite(array)):
        raise ValueError("returns hold NaN or infinite values")
    return array


def excess_kurtosis(returns: np.ndarray) -> float:
    """Pooled excess kurtosis (0 for a Gaussian; ``6/(nu-4)`` for Student-t)."""
    return float(stats.kurtosis(as_paths(returns).ravel(), fisher=True, bias=True))


def skewness(returns: np.ndarray) -> float:
    """Pooled skewness; negative when large losses outweigh large gains."""
    return float(stats.skew(as_paths(returns).ravel(), bias=True))


def hill_tail_index(returns: np.ndarray, tail_fraction: float = 0.05) -> float:
    """Hill estimator of the tail index of ``|r|`` from its largest ``tail_fraction``.

    About ``nu`` for Student-t with ``nu`` degrees of freedom; infinite tails
    (a Gaussian) give large values.
    """
    if not 0.0 < tail_fraction < 0.5:
        raise ValueError(f"tail_fraction must lie in (0, 0.5), got {tail_fraction}")
    magnitudes = np.sort(np.abs(as_paths(returns).ravel()))[::-1]
    k = max(int(tail_fraction * len(magnitudes)), 2)
    threshold = magnitudes[k]
    if threshold <= 0:
        raise ValueError("too many zero returns to estimate a tail index")
    return float(1.0 / np.mean(np.log(magnitudes[:k] / threshold)))


def autocorrelation(series: np.ndarray, lags: Sequence[int] | int) -> np.ndarray:
    """Autocorrelation at ``lags`` (an int ``L`` means lags 1..L), pooled over paths."""
    paths = as_paths(series)
    lags = np.arange(1, lags + 1) if isinstance(lags, int | np.integer) else np.asarray(lags)
    if np.any(lags < 1) or np.any(lags >= paths.shape[1]):
        raise ValueError(f"lags must lie in 1..{paths.shape[1] - 1} for paths of {paths.shape[1]}")
    centred = paths - paths.mean()
    variance = np.sum(centred**2)
    return np.array([np.sum(centred[:, :-k] * centred[:, k:]) / variance for k in lags])


def cross_correlation(x: np.ndarray, y: np.ndarray, lags: Sequence[int] | int) -> np.ndarray:
    """``corr(x_t, y_{t+k})`` for each lag ``k``, pooled over paths."""
    x, y = as_paths(x), as_paths(y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    lags = np.arange(1, lags + 1) if isinstance(lags, int | np.integer) else np.asarray(lags)
    xc, yc = x - x.mean(), y - y.mean()
    scale = np.sqrt(np.sum(xc**2) * np.sum(yc**2))
    return np.array([np.sum(xc[:, :-k] * yc[:, k:]) / scale for k in lags])


def leverage_correlation(returns: np.ndarray, lags: Sequence[int] | int = 10) -> np.ndarray:
    """Leverage effect ``corr(r_t, r_{t+k}^2)``: negative for equity returns."""
    paths = as_paths(returns)
    return cross_correlation(paths, paths**2, lags)


def ljung_box(returns: np.ndarray, lags: int = 10) -> tuple[float, float]:
    """Ljung-Box statistic ``Q = n(n+2) sum_k rho_k^2 / (n-k)`` and its chi-square p-value.

    ``n`` is the pooled number of observations.
    """
    paths = as_paths(returns)
    n = paths.size
    rho = autocorrelation(paths, lags)
    q = n * (n + 2) * np.sum(rho**2 / (n - np.arange(1, lags + 1)))
    return float(q), float(stats.chi2.sf(q, lags))


def aggregate(returns: np.ndarray, horizon: int, overlapping: bool = True) -> np.ndarray:
    """``horizon``-step log returns within each path (rolling sums, or non-overlapping blocks)."""
    paths = as_paths(returns)
    if not 1 <= horizon <= paths.shape[1]:
        raise ValueError(f"horizon must lie in 1..{paths.shape[1]}, got {horizon}")
    cumulative = np.concatenate([np.zeros((len(paths), 1)), np.cumsum(paths, axis=1)], axis=1)
    sums = cumulative[:, horizon:] - cumulative[:, :-horizon]
    return sums if overlapping else sums[:, ::horizon]


def aggregated_kurtosis(returns: np.ndarray, horizon: int) -> float:
    """Excess kurtosis of non-overlapping ``horizon``-step returns."""
    return float(stats.kurtosis(aggregate(returns, horizon, overlapping=False).ravel()))


def wasserstein_horizon(real: np.ndarray, synthetic: np.ndarray, horizon: int) -> float:
    """Wasserstein-1 distance between real and synthetic ``horizon``-step returns
    (rolling sums, as in Quant GANs), divided by the real ones' standard deviation."""
    real_h = aggregate(real, horizon).ravel()
    synthetic_h = aggregate(synthetic, horizon).ravel()
    return float(stats.wasserstein_distance(real_h, synthetic_h) / real_h.std())


@dataclass(frozen=True)
class FactCheck:
    """One stylized-fact check: the statistic on real and synthetic returns and the verdict."""

    fact: str
    name: str
    real: float
    synthetic: float
    passed: bool
    rule: str

    def as_dict(self) -> dict[str, float | str | bool]:
        return asdict(self)


@dataclass(frozen=True)
class _Spec:
    fact: str
    name: str
    statistic: Callable[[np.ndarray], float]
    verdict: Callable[[float, float], bool]
    rule: str


def _within(tolerance: float) -> Callable[[float, float], bool]:
    return lambda real, synthetic: abs(synthetic - real) <= tolerance


def _ratio_within(factor: float) -> Callable[[float, float], bool]:
    return lambda real, synthetic: synthetic > 0 and real / factor <= synthetic <= real * factor


def _specs() -> list[_Spec]:
    abs_acf = lambda k: lambda r: float(autocorrelation(np.abs(r), [k])[0])  # noqa: E731
    specs = [
        _Spec(
            "heavy_tails",
            "excess_kurtosis",
            excess_kurtosis,
            _ratio_within(2.0),
            "synthetic within a factor 2 of real",
        ),
        _Spec("heavy_tails", "hill_tail_index", hill_tail_index, _within(1.0), "|diff| <= 1.0"),
        _Spec(
            "no_linear_autocorrelation",
            "acf_r_lag1",
            lambda r: float(autocorrelation(r, [1])[0]),
            lambda real, syn: abs(syn) <= abs(real) + 0.05,
            "|synthetic| <= |real| + 0.05",
        ),
        _Spec(
            "no_linear_autocorrelation",
            "mean_abs_acf_r_1_20",
            lambda r: float(np.mean(np.abs(autocorrelation(r, 20)))),
            lambda real, syn: syn <= real + 0.03,
            "synthetic <= real + 0.03",
        ),
        _Spec(
            "no_linear_autocorrelation",
            "ljung_box_q10_per_obs",
            lambda r: ljung_box(r, 10)[0] / as_paths(r).size,
            _within(0.02),
            "|diff| <= 0.02",
        ),
    ]
    specs += [
        _Spec(
            "volatility_clustering", f"acf_abs_r_lag{k}", abs_acf(k), _within(0.1), "|diff| <= 0.1"
        )
        for k in ABS_ACF_LAGS
    ]
    specs += [
        _Spec(
            "volatility_clustering",
            "acf_r2_lag1",
            lambda r: float(autocorrelation(np.square(r), [1])[0]),
            _within(0.1),
            "|diff| <= 0.1",
        ),
        _Spec(
            "leverage_effect",
            "corr_r_r2_lag1",
            lambda r: float(leverage_correlation(r, [1])[0]),
            lambda real, syn: syn < 0 and abs(syn - real) <= 0.08,
            "synthetic < 0 and |diff| <= 0.08",
        ),
        _Spec(
            "aggregational_gaussianity",
            "kurtosis_drop_1_to_20",
            lambda r: excess_kurtosis(r) - aggregated_kurtosis(r, 20),
            lambda real, syn: syn > 0,
            "kurtosis falls from 1 to 20 steps (> 0)",
        ),
        _Spec("gain_loss_asymmetry", "skewness", skewness, _within(0.3), "|diff| <= 0.3"),
    ]
    return specs


def stylized_facts(real: np.ndarray, synthetic: np.ndarray) -> list[FactCheck]:
    """Check synthetic returns against real ones on every stylized fact.

    Args:
        real: real log returns, ``(T,)`` or ``(n_paths, T)``.
        synthetic: synthetic log returns, same layout; paths must be longer
            than the longest lag (100) and the longest horizon (100).

    Returns:
        Checks for heavy tails, absence of linear autocorrelation, volatility
        clustering (ACF of ``|r|`` at lags 1, 5, 20, 100 and of ``r^2``),
        the leverage effect, aggregational Gaussianity, gain/loss asymmetry,
        and the normalised Wasserstein-1 distance at horizons 1, 5, 20, 100
        (real value 0; pass at <= 0.15 real standard deviations).
    """
    real, synthetic = as_paths(real), as_paths(synthetic)
    shortest = min(real.shape[1], synthetic.shape[1])
    if shortest <= max(ABS_ACF_LAGS):
        raise ValueError(
            f"paths of {shortest} steps are too short for lag {max(ABS_ACF_LAGS)}; "
            "use return paths of at least 101 steps (e.g. windows of 256 days)"
        )
    checks = [
        _check(
            spec.fact,
            spec.name,
            spec.statistic(real),
            spec.statistic(synthetic),
            spec.verdict,
            spec.rule,
        )
        for spec in _specs()
    ]
    for horizon in W1_HORIZONS:
        distance = wasserstein_horizon(real, synthetic, horizon)
        checks.append(
            FactCheck(
                "return_distribution",
                f"w1_over_std_h{horizon}",
                0.0,
                distance,
                bool(distance <= 0.15),
                "<= 0.15",
            )
        )
    return checks


def _check(
    fact: str,
    name: str,
    real: float,
    synthetic: float,
    verdict: Callable[[float, float], bool],
    rule: str,
) -> FactCheck:
    return FactCheck(
        fact, name, float(real), float(synthetic), bool(verdict(real, synthetic)), rule
    )


def facts_table(checks: Sequence[FactCheck]) -> pd.DataFrame:
    """The checks as a DataFrame indexed by check name."""
    return pd.DataFrame([c.as_dict() for c in checks]).set_index("name")


def clustering_and_leverage_scores(real: np.ndarray, synthetic: np.ndarray) -> dict[str, float]:
    """Errors against real returns (lower is better), for comparing generators.

    ``volatility_clustering_error``: mean ``|ACF_syn(|r|) - ACF_real(|r|)|`` over lags 1..100.
    ``leverage_error``: mean ``|lev_syn(k) - lev_real(k)|`` over lags 1..10.
    """
    real, synthetic = as_paths(real), as_paths(synthetic)
    acf_gap = autocorrelation(np.abs(synthetic), 100) - autocorrelation(np.abs(real), 100)
    lev_gap = leverage_correlation(synthetic, 10) - leverage_correlation(real, 10)
    return {
        "volatility_clustering_error": float(np.mean(np.abs(acf_gap))),
        "leverage_error": float(np.mean(np.abs(lev_gap))),
    }
