"""Privacy accounting: budget split, noise calibration, the accountant and the report.

The guarantee (see :class:`PrivacyReport`): the released generator (and every
table sampled from it) is ``(epsilon, delta)``-differentially private at the
record level, for add/remove-one-row neighbouring tables. It composes (basic
sequential composition) two parts:

- the statistics: ``epsilon_statistics`` / ``delta_statistics`` through the
  transformer's releases (three joint Gaussian rounds for the numeric columns'
  levels, ranges and shapes, composed by Renyi DP; Laplace stability
  histograms for categories; zero where a public schema gives everything) and
  a Laplace histogram of the category frequencies of the conditional vector;
- the discriminator's DP-SGD: Poisson sampling with rate ``q``, per-row
  gradient clipping to ``max_grad_norm`` and Gaussian noise of standard
  deviation ``noise_multiplier * max_grad_norm`` on every update that touches
  real rows, accounted by Opacus' RDP accountant (``epsilon_training`` at
  ``delta_training``), composed in the same accountant with the optional
  Gaussian release of the two-way marginals of the categorical columns. The
  generator only sees the discriminator's outputs on its own samples and the
  released statistics, so it is post-processing.

Treated as public, as in Opacus' own accounting: the number of rows ``n``
(it sets ``q``), the column names and dtypes, and whatever the user's schema states.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from opacus.accountants import RDPAccountant
from opacus.accountants.utils import get_noise_multiplier

from ganforge.core.settings import check_fraction
from ganforge.tabular.dp_stats import gaussian_noise_std


def default_delta(n_rows: int) -> float:
    """``min(1e-5, 0.1 / n)``: well below ``1 / n``, the level at which one row may leak."""
    return min(1e-5, 0.1 / n_rows)


@dataclass(frozen=True)
class BudgetSplit:
    """How a total (epsilon, delta) is shared between statistics and training."""

    epsilon_statistics: float
    delta_statistics: float
    epsilon_training: float
    delta_training: float


def split_budget(
    epsilon: float, delta: float, statistics_share: float, needs_statistics: bool, needs_delta: bool
) -> BudgetSplit:
    """Give ``statistics_share`` of epsilon (and half of delta, if numeric statistics or
    categories are learnt privately) to the statistics when some column needs them; the
    rest trains."""
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0 (or None to train without privacy), got {epsilon}")
    check_fraction("delta", delta)
    check_fraction("statistics_share", statistics_share)
    eps_stats = epsilon * statistics_share if needs_statistics else 0.0
    delta_stats = delta / 2 if needs_statistics and needs_delta else 0.0
    return BudgetSplit(eps_stats, delta_stats, epsilon - eps_stats, delta - delta_stats)


def calibrate_noise(
    epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    prior: Sequence[tuple[float, float, int]] = (),
) -> float:
    """The smallest noise multiplier (to 1% in epsilon) whose RDP epsilon after ``steps``
    Poisson-sampled steps at ``sample_rate``, composed with the ``prior`` releases
    (``(noise_multiplier, sample_rate, steps)`` entries), stays within ``epsilon`` at ``delta``."""
    if prior:
        spent = lambda sigma: rdp_epsilon([*prior, (sigma, sample_rate, steps)], delta)
        return bisect_noise(spent, epsilon)
    return float(
        get_noise_multiplier(
            target_epsilon=epsilon,
            target_delta=delta,
            sample_rate=sample_rate,
            steps=steps,
            accountant="rdp",
        )
    )


def bisect_noise(spent: Callable[[float], float], epsilon: float) -> float:
    """The smallest noise multiplier (to 0.1%) with ``spent(sigma) <= epsilon``."""
    low, high = 0.0, 1.0
    while spent(high) > epsilon:
        low, high = high, high * 2
        if high > 1e6:
            raise ValueError(f"epsilon {epsilon} cannot be reached: give a larger budget")
    while high - low > 1e-3 * high:
        middle = (low + high) / 2
        low, high = (low, middle) if spent(middle) <= epsilon else (middle, high)
    return high


def gaussian_noise_multiplier(epsilon: float, delta: float) -> float:
    """Noise multiplier of a single (unsampled) Gaussian mechanism worth ``epsilon`` at
    ``delta`` under the RDP accountant (noise std = multiplier * L2 sensitivity)."""
    return bisect_noise(lambda sigma: rdp_epsilon([(sigma, 1.0, 1)], delta), epsilon)


def single_release_multiplier(epsilon: float, delta: float) -> float:
    """Noise multiplier of one Gaussian release worth ``epsilon`` at ``delta``: the
    smaller of Opacus' RDP accountant's and the RDP curve over orders up to 20,000
    (:func:`~ganforge.tabular.dp_stats.gaussian_noise_std`), both valid bounds. The
    latter reaches the small epsilons (below about 0.2 at delta 1e-5) that Opacus'
    orders, which stop at 63, cannot."""
    own = gaussian_noise_std(epsilon, delta, 1.0, rounds=1)
    try:
        return min(own, gaussian_noise_multiplier(epsilon, delta))
    except ValueError:
        if not np.isfinite(own):
            raise ValueError(f"epsilon {epsilon} cannot be reached: give a larger budget") from None
        return own


def rdp_epsilon(history: list[tuple[float, float, int]], delta: float) -> float:
    """Epsilon of a list of ``(noise_multiplier, sample_rate, steps)`` by Opacus' RDP accountant."""
    if not history:
        return 0.0
    accountant = RDPAccountant()
    accountant.history = [tuple(h) for h in history]
    return float(accountant.get_epsilon(delta))


@dataclass(frozen=True)
class PrivacyReport:
    """The guarantee of a fitted synthesizer.

    ``epsilon`` / ``delta`` cover everything (statistics + training).
    ``epsilon=None`` means no privacy at all (trained without DP).
    ``epsilon_statistics`` includes ``epsilon_frequencies``, the Laplace
    histogram of the category frequencies of the conditional vector.
    ``marginals_noise_multiplier``: the Gaussian release of the two-way
    marginals, composed with DP-SGD in the RDP accountant (inside
    ``epsilon_training``), or ``None`` when none were released.
    """

    epsilon: float | None
    delta: float | None
    epsilon_statistics: float
    delta_statistics: float
    epsilon_training: float | None
    delta_training: float | None
    noise_multiplier: float | None
    max_grad_norm: float | None
    sample_rate: float | None
    steps: int
    accountant: str
    neighbouring: str = "add/remove one row (record-level)"
    epsilon_frequencies: float = 0.0
    marginals_noise_multiplier: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One sentence stating the guarantee."""
        if self.epsilon is None:
            return "No differential privacy: trained and fitted on the exact data."
        if self.noise_multiplier is None and self.marginals_noise_multiplier is not None:
            return (
                f"({self.epsilon:.4g}, {self.delta:.3g})-differential privacy, record-level "
                f"(add/remove one row): statistics ({self.epsilon_statistics:.4g}, "
                f"{self.delta_statistics:.3g}) + one Gaussian release of the target's "
                f"cross-tables ({self.epsilon_training:.4g}, {self.delta_training:.3g}, "
                f"sigma={self.marginals_noise_multiplier:.4g}, {self.accountant} accountant)."
            )
        return (
            f"({self.epsilon:.4g}, {self.delta:.3g})-differential privacy, record-level "
            f"(add/remove one row): statistics ({self.epsilon_statistics:.4g}, "
            f"{self.delta_statistics:.3g}) + DP-SGD ({self.epsilon_training:.4g}, "
            f"{self.delta_training:.3g}) over {self.steps} steps, sigma="
            f"{self.noise_multiplier:.4g}, q={self.sample_rate:.4g}, C={self.max_grad_norm:g}"
            + (
                ""
                if self.marginals_noise_multiplier is None
                else ", with a Gaussian release of the two-way marginals (sigma="
                f"{self.marginals_noise_multiplier:.4g}) in the same accountant"
            )
            + f" ({self.accountant} accountant)."
        )
