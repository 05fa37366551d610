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
    """A Gaussian mixture over a path's first day ``(features,)``; inactive until fitted.

    Args:
        feature_dim: features per day.
        components: the most components a fit may use (the buffers' size).
    """

    def __init__(self, feature_dim: int, components: int = COMPONENTS) -> None:
        super().__init__()
        self.register_buffer("fitted", torch.tensor(False))
        self.register_buffer("weights", torch.zeros(components))
        self.register_buffer("means", torch.zeros(components, feature_dim))
        self.register_buffer("cholesky", torch.eye(feature_dim).repeat(components, 1, 1))

    @property
    def active(self) -> bool:
        """Whether :meth:`fit` has run (a model file written without a mixture leaves it off)."""
        return bool(self.fitted)

    def fit(self, days: np.ndarray, seed: int = 0) -> StartMixture:
        """Fit the mixture to ``days`` ``(n, features)``: one component per
        :data:`MIN_DAYS_PER_COMPONENT` days, at most the buffers' number."""
        from sklearn.mixture import GaussianMixture

        days = np.asarray(days, dtype=np.float64)
        limit, features = self.means.shape
        if days.ndim != 2 or days.shape[1] != features:
            raise ValueError(f"first days must be (n, {features}), got {days.shape}")
        if len(days) < 2 or not np.isfinite(days).all():
            raise ValueError("the start mixture needs at least two finite first days")
        k = int(min(limit, max(1, len(days) // MIN_DAYS_PER_COMPONENT)))
        mixture = GaussianMixture(
            k, covariance_type="full", reg_covar=REGULARISATION, random_state=seed
        )
        with warnings.catch_warnings():  # EM on few days may stop before convergence
            warnings.simplefilter("ignore")
            mixture.fit(days)
        with torch.no_grad():
            self.weights.zero_()
            self.weights[:k] = torch.as_tensor(mixture.weights_)
            self.means.zero_()
            self.means[:k] = torch.as_tensor(mixture.means_)
            self.cholesky.copy_(torch.eye(features).repeat(limit, 1, 1))
            self.cholesky[:k] = torch.as_tensor(np.linalg.cholesky(mixture.covariances_))
            self.fitted.fill_(True)
        return self

    def check(self) -> None:
        """Refuse, in one line, a fitted mixture a damaged model file could hold: weights
        that are negative, not finite or do not add up to 1, or non-finite means or factors."""
        if not self.active:
            return
        weights = self.weights
        if not (torch.isfinite(weights).all() and (weights >= 0).all()):
            raise ValueError("the start mixture's weights must be finite and >= 0")
        if abs(float(weights.sum()) - 1.0) > 1e-4:
            raise ValueError(f"the start mixture's weights add up to {float(weights.sum())}, not 1")
        if not (torch.isfinite(self.means).all() and torch.isfinite(self.cholesky).all()):
            raise ValueError("the start mixture's means and covariance factors must be finite")

    def sample(self, noise: Tensor) -> Tensor:
        """First days ``(n, 1, features)`` from standard normal noise ``(n, features + 1)``
        the caller draws (so training and sampling keep their own reproducible streams):
        the last column picks the component (through the normal CDF), the others are the
        component's Gaussian draw."""
        if not self.active:
            raise RuntimeError("the start mixture is not fitted")
        features = self.means.shape[1]
        if noise.dim() != 2 or noise.shape[1] != features + 1:
            raise ValueError(f"noise must be (n, {features + 1}), got {tuple(noise.shape)}")
        noise = noise.to(self.means)
        uniform = torch.special.ndtr(noise[:, -1])
        cumulative = self.weights.cumsum(0)
        component = torch.searchsorted(cumulative / cumulative[-1], uniform, right=True)
        component = component.clamp(max=int((self.weights > 0).sum()) - 1)
        normal = noise[:, :features, None]
        return (self.means[component] + (self.cholesky[component] @ normal)[..., 0])[:, None]
