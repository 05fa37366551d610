"""Baseline generators a quant would use instead of a GAN.

* :class:`GarchT`: GARCH(1,1) with Student-t innovations fitted by ``arch``.
* :func:`bootstrap_returns`: an i.i.d. bootstrap of the observed returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganforge.finance.facts import as_paths

# arch fits better on percentage returns; simulated paths are scaled back.
_PERCENT = 100.0


@dataclass(frozen=True)
class GarchT:
    """A fitted GARCH(1,1)-t model of log returns (parameters in percent units)."""

    mu: float
    omega: float
    alpha: float
    beta: float
    nu: float

    @classmethod
    def fit(cls, returns: np.ndarray) -> GarchT:
        """Fit a constant-mean GARCH(1,1) with Student-t innovations to one return series."""
        from arch import arch_model

        series = as_paths(returns)
        if series.shape[0] != 1:
            raise ValueError("GarchT.fit takes one return series (T,), not a panel of paths")
        model = arch_model(
            series[0] * _PERCENT, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False
        )
        result = model.fit(disp="off")
        params = result.params
        return cls(
            float(params["mu"]),
            float(params["omega"]),
            float(params["alpha[1]"]),
            float(params["beta[1]"]),
            float(params["nu"]),
        )

    def simulate(self, n_paths: int, length: int, seed: int = 0, burn: int = 500) -> np.ndarray:
        """Simulate ``(n_paths, length)`` log returns with ``arch``'s simulator."""
        from arch.univariate import GARCH, ConstantMean, StudentsT

        if n_paths < 1 or length < 1:
            raise ValueError(f"n_paths and length must be >= 1, got {n_paths}, {length}")
        rng = np.random.default_rng(seed)
        model = ConstantMean(None, volatility=GARCH(p=1, q=1), distribution=StudentsT(seed=rng))
        params = [self.mu, self.omega, self.alpha, self.beta, self.nu]
        paths = [
            model.simulate(params, length, burn=burn)["data"].to_numpy() for _ in range(n_paths)
        ]
        return np.stack(paths) / _PERCENT


def bootstrap_returns(returns: np.ndarray, n_paths: int, length: int, seed: int = 0) -> np.ndarray:
    """``(n_paths, length)`` returns drawn i.i.d. with replacement from ``returns``."""
    pool = as_paths(returns).ravel()
    if n_paths < 1 or length < 1:
        raise ValueError(f"n_paths and length must be >= 1, got {n_paths}, {length}")
    return np.random.default_rng(seed).choice(pool, size=(n_paths, length), replace=True)
