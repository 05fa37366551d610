"""The first day of a stepwise path: a Gaussian mixture over all its features together.

The stepwise sampler (:mod:`ganforge.finance.stepwise`) draws each day from the
supervisor's next-step distribution, feature by feature. On the first day there
is no past: the supervisor's draw is one skewed Student-t per feature, each
independent of the others. For return features that is what they are. For
features that hold a level (the log of the close a window starts from, the log
volume), the first day fixes the whole window's level, and those levels go
together in a market: Google's early days have low prices and high volume, its
late days the opposite. Drawn independently they give windows no market had,
and a classifier tells them from real ones by their levels alone.

:class:`StartMixture` is a Gaussian mixture (full covariances) fitted by EM
(scikit-learn) to the training windows' first days in the model's scaled units;
the sampler draws the first day from it and rolls the supervisor's dynamics on
from there. It holds its parameters as buffers, so model files and checkpoints
keep it with the networks (as tensors, no pickled objects).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor, nn

COMPONENTS = 8  # at most; fewer for small data (one per MIN_DAYS_PER_COMPONENT days)
MIN_DAYS_PER_COMPONENT = 50
REGULARISATION = 1e-6  # added to each covariance's diagonal (scaled units)


class StartMixture(nn.Module):
    """A Gaussian mixture over a path's first day ``(features,)``, one per regime;
    inactive until fitted.

    Args:
        feature_dim: features per day.
        components: the most components a fit may use per regime (the buffers' size).
        regimes: how many regimes get a mixture of their own (1: unconditional).
    """

    def __init__(self, feature_dim: int, components: int = COMPONENTS, regimes: int = 1) -> None:
        super().__init__()
        shape = (regimes, components)
        self.register_buffer("fitted", torch.tensor(False))
        self.register_buffer("weights", torch.zeros(shape))
        self.register_buffer("means", torch.zeros(*shape, feature_dim))
        self.register_buffer("cholesky", torch.eye(feature_dim).repeat(*shape, 1, 1))

    @property
    def active(self) -> bool:
        """Whether :meth:`fit` has run (a model file written without a mixture leaves it off)."""
        return bool(self.fitted)

    @property
    def regimes(self) -> int:
        """How many regimes have a mixture of their own."""
        return self.weights.shape[0]

    def fit(
        self, days: np.ndarray, seed: int = 0, regimes: np.ndarray | None = None
    ) -> StartMixture:
        """Fit the mixtures to ``days`` ``(n, features)``, each regime's to the days whose
        label in ``regimes`` ``(n,)`` it is (``None``: all days, one regime): one component
        per :data:`MIN_DAYS_PER_COMPONENT` days, at most the buffers' number."""
        days = np.asarray(days, dtype=np.float64)
        features = self.means.shape[-1]
        if days.ndim != 2 or days.shape[1] != features:
            raise ValueError(f"first days must be (n, {features}), got {days.shape}")
        if not np.isfinite(days).all():
            raise ValueError("the start mixture needs finite first days")
        labels = np.zeros(len(days), np.int64) if regimes is None else np.asarray(regimes)
        if labels.shape != (len(days),) or (self.regimes == 1) != (regimes is None):
            raise ValueError(f"give one regime label per day for {self.regimes} regimes")
        thin = np.flatnonzero(~self.enough_days(labels))
        if len(thin):
            raise ValueError(f"the start mixture needs at least two first days of regime {thin[0]}")
        for regime in range(self.regimes):
            self._fit_one(regime, days[labels == regime], seed)
        with torch.no_grad():
            self.fitted.fill_(True)
        return self

    def enough_days(self, labels: np.ndarray) -> np.ndarray:
        """Per regime, whether the regime labels ``labels`` give it the two first days or
        more a fit needs."""
        return np.bincount(labels, minlength=self.regimes)[: self.regimes] >= 2

    def _fit_one(self, regime: int, days: np.ndarray, seed: int) -> None:
        from sklearn.mixture import GaussianMixture

        limit, features = self.means.shape[1:]
        k = int(min(limit, max(1, len(days) // MIN_DAYS_PER_COMPONENT)))
        mixture = GaussianMixture(
            k, covariance_type="full", reg_covar=REGULARISATION, random_state=seed
        )
        with warnings.catch_warnings():  # EM on few days may stop before convergence
            warnings.simplefilter("ignore")
            mixture.fit(days)
        with torch.no_grad():
            self.weights[regime].zero_()
            self.weights[regime, :k] = torch.as_tensor(mixture.weights_)
            self.means[regime].zero_()
            self.means[regime, :k] = torch.as_tensor(mixture.means_)
            self.cholesky[regime].copy_(torch.eye(features).repeat(limit, 1, 1))
            covariances = np.linalg.cholesky(mixture.covariances_)
            self.cholesky[regime, :k] = torch.as_tensor(covariances)

    def check(self) -> None:
        """Refuse, in one line, a fitted mixture a damaged model file could hold: weights
        that are negative, not finite or do not add up to 1 per regime, or non-finite
        means or factors."""
        if not self.active:
            return
        weights = self.weights
        if not (torch.isfinite(weights).all() and (weights >= 0).all()):
            raise ValueError("the start mixture's weights must be finite and >= 0")
        totals = weights.sum(-1)
        if (totals - 1.0).abs().max() > 1e-4:
            raise ValueError(f"the start mixture's weights add up to {totals.tolist()}, not 1")
        if not (torch.isfinite(self.means).all() and torch.isfinite(self.cholesky).all()):
            raise ValueError("the start mixture's means and covariance factors must be finite")

    def sample(self, noise: Tensor, regimes: Tensor | None = None) -> Tensor:
        """First days ``(n, 1, features)`` from standard normal noise ``(n, features + 1)``
        the caller draws (so training and sampling keep their own reproducible streams),
        each from its regime's mixture (``regimes`` ``(n,)``; ``None``: the only one): the
        noise's last column picks the component (through the normal CDF), the others are
        the component's Gaussian draw."""
        if not self.active:
            raise RuntimeError("the start mixture is not fitted")
        features = self.means.shape[-1]
        if noise.dim() != 2 or noise.shape[1] != features + 1:
            raise ValueError(f"noise must be (n, {features + 1}), got {tuple(noise.shape)}")
        noise = noise.to(self.means)
        if regimes is None:
            regimes = torch.zeros(len(noise), dtype=torch.long)
        regimes = regimes.to(self.means.device).long()
        uniform = torch.special.ndtr(noise[:, -1])
        weights = self.weights[regimes]
        cumulative = weights.cumsum(-1)
        scaled = (uniform * cumulative[:, -1])[:, None].contiguous()
        component = torch.searchsorted(cumulative.contiguous(), scaled, right=True)[:, 0]
        used = (weights > 0).sum(-1) - 1
        component = torch.minimum(component, used)
        mean = self.means[regimes, component]
        factor = self.cholesky[regimes, component]
        return (mean + (factor @ noise[:, :features, None])[..., 0])[:, None]
