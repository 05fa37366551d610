"""Gaussianising returns with the heavy-tail Lambert W transform (Goerg 2015).

Quant GANs (Wiese et al. 2020) train on log returns that are standardised,
passed through the inverse Lambert W transform and standardised again, so a
network with a linear output models near-Gaussian values and the heavy tails
come back, exactly, through the forward transform when sampling.

The heavy-tail Lambert W x Gaussian model: ``z = u * exp(delta * u**2 / 2)``
with ``u`` Gaussian. Its inverse ``u = sign(z) * sqrt(W(delta * z**2) / delta)``
(``W`` the principal branch of Lambert's W) undoes the tails; ``delta`` is
chosen per feature so that ``u`` has zero excess kurtosis.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

from ganforge.finance.data import feature_rows

MAX_DELTA = 2.0
FIELDS = ("mean", "std", "delta", "u_mean", "u_std", "low", "high")


def lambert_w_gaussianize(z: np.ndarray, delta: float) -> np.ndarray:
    """``u = sign(z) sqrt(W(delta z^2) / delta)``: removes heavy tails (``delta >= 0``)."""
    z = np.asarray(z, dtype=np.float64)
    if delta <= 0.0:
        return z.copy()
    return np.sign(z) * np.sqrt(np.real(special.lambertw(delta * z**2)) / delta)


def lambert_w_heavy_tail(u: np.ndarray, delta: float) -> np.ndarray:
    """``z = u exp(delta u^2 / 2)``: the inverse of :func:`lambert_w_gaussianize`."""
    u = np.asarray(u, dtype=np.float64)
    return u * np.exp(0.5 * max(delta, 0.0) * u**2)


def fit_tail_delta(z: np.ndarray) -> float:
    """The ``delta`` whose Gaussianised ``z`` has zero excess kurtosis (0 for light tails)."""
    z = np.asarray(z, dtype=np.float64).ravel()

    def kurtosis_after(delta: float) -> float:
        return float(stats.kurtosis(lambert_w_gaussianize(z, delta), fisher=True))

    if kurtosis_after(0.0) <= 0.0:
        return 0.0
    if kurtosis_after(MAX_DELTA) > 0.0:
        return MAX_DELTA
    return float(optimize.brentq(kurtosis_after, 0.0, MAX_DELTA, xtol=1e-6))


class GaussianizingScaler:
    """Standardise, Gaussianise the tails (Lambert W), standardise again; per feature.

    Same interface as :class:`~ganforge.finance.data.MinMaxScaler`; fitted over
    every axis but the last (features). Meant for log returns: the transformed
    values are about standard Gaussian and :meth:`inverse_transform` maps them
    back to returns, restoring the heavy tails. Values outside the range seen
    when fitting are clipped to it first: the forward transform grows like
    ``exp(delta u^2 / 2)``, so one outlying network output would otherwise
    become an implausible return.

    ``tails=False`` keeps ``delta = 0``: plain standardisation (with the same
    clipping), for models that make the heavy tails themselves.
    """

    def __init__(self, tails: bool = True) -> None:
        self.tails = tails
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.delta: np.ndarray | None = None
        self.u_mean: np.ndarray | None = None
        self.u_std: np.ndarray | None = None
        self.low: np.ndarray | None = None
        self.high: np.ndarray | None = None

    def fit(self, data: np.ndarray) -> GaussianizingScaler:
        flat = feature_rows(data)
        if len(flat) < 4:
            raise ValueError("need at least 4 values per feature to fit the scaler")
        self.mean = flat.mean(axis=0)
        self.std = np.maximum(flat.std(axis=0), 1e-12)
        z = (flat - self.mean) / self.std
        self.delta = np.array(
            [fit_tail_delta(z[:, j]) if self.tails else 0.0 for j in range(z.shape[1])]
        )
        u = np.stack([lambert_w_gaussianize(z[:, j], d) for j, d in enumerate(self.delta)], 1)
        self.u_mean = u.mean(axis=0)
        self.u_std = np.maximum(u.std(axis=0), 1e-12)
        scaled = (u - self.u_mean) / self.u_std
        self.low, self.high = scaled.min(axis=0), scaled.max(axis=0)
        return self

    def transform(self, data: np.ndarray) -> np.ndarray:
        mean, std, delta, u_mean, u_std, _, _ = self._fitted()
        z = (np.asarray(data, dtype=np.float64) - mean) / std
        u = np.stack([lambert_w_gaussianize(z[..., j], d) for j, d in enumerate(delta)], axis=-1)
        return (u - u_mean) / u_std

    def inverse_transform(self, data: np.ndarray) -> np.ndarray:
        mean, std, delta, u_mean, u_std, low, high = self._fitted()
        u = np.clip(np.asarray(data, dtype=np.float64), low, high) * u_std + u_mean
        z = np.stack([lambert_w_heavy_tail(u[..., j], d) for j, d in enumerate(delta)], axis=-1)
        return z * std + mean

    def fit_transform(self, data: np.ndarray) -> np.ndarray:
        return self.fit(data).transform(data)

    def state_dict(self) -> dict[str, list[float]]:
        return {name: value.tolist() for name, value in zip(FIELDS, self._fitted(), strict=True)}

    def load_state_dict(self, state: dict) -> None:
        for name in FIELDS:
            setattr(self, name, np.asarray(state[name], dtype=np.float64))

    def _fitted(self) -> tuple[np.ndarray, ...]:
        values = tuple(getattr(self, name) for name in FIELDS)
        if any(v is None for v in values):
            raise ValueError("the scaler is not fitted; call fit() first")
        return values  # type: ignore[return-value]
