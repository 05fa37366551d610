"""Assert stylized facts on any generator's output, from a user's own test suite.

Example (in a pytest file)::

    from ganforge.finance.testing import assert_stylized_facts

    def test_my_generator_has_volatility_clustering():
        paths = my_generator.sample_returns(n_paths=200, length=256)   # (200, 256)
        assert_stylized_facts(paths, facts=["volatility_clustering", "leverage_effect"])

A failure raises :class:`StylizedFactsError` (an ``AssertionError``, so pytest
reports it as a test failure) whose message lists every failed check with the
real value, the synthetic value and the rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ganforge.finance.data import load_prices, log_returns
from ganforge.finance.facts import FactCheck, stylized_facts


class StylizedFactsError(AssertionError):
    """Synthetic returns failed one or more stylized-fact checks."""

    def __init__(self, failed: Sequence[FactCheck]) -> None:
        self.failed = list(failed)
        lines = [
            f"  {c.fact}/{c.name}: synthetic {c.synthetic:.4g}, real {c.real:.4g} (rule: {c.rule})"
            for c in self.failed
        ]
        super().__init__(f"{len(self.failed)} stylized-fact check(s) failed:\n" + "\n".join(lines))


def sp500_log_returns() -> np.ndarray:
    """Daily log returns of the bundled S&P 500 adjusted close (5030 values, 1999-2018)."""
    return np.asarray(log_returns(load_prices(columns=["Adj Close"])["Adj Close"]))


def assert_stylized_facts(
    synthetic: np.ndarray,
    real: np.ndarray | None = None,
    facts: Sequence[str] | None = None,
    allowed_failures: int = 0,
) -> list[FactCheck]:
    """Raise :class:`StylizedFactsError` unless ``synthetic`` has the stylized facts.

    Args:
        synthetic: synthetic log returns ``(T,)`` or ``(n_paths, T)``, ``T > 100``.
        real: real log returns to compare with (default: the bundled S&P 500).
        facts: the facts or check names to require (e.g. ``"heavy_tails"``,
            ``"acf_abs_r_lag1"``); default: every check.
        allowed_failures: how many of the selected checks may fail.

    Returns:
        The selected checks (all of them, passed or not, when within the allowance).
    """
    checks = stylized_facts(sp500_log_returns() if real is None else real, synthetic)
    if facts is not None:
        known = {c.fact for c in checks} | {c.name for c in checks}
        unknown = sorted(set(facts) - known)
        if unknown:
            raise ValueError(f"unknown facts {unknown}; choose from {sorted(known)}")
        checks = [c for c in checks if c.fact in facts or c.name in facts]
    failed = [c for c in checks if not c.passed]
    if len(failed) > allowed_failures:
        raise StylizedFactsError(failed)
    return checks


def moment_errors(real: np.ndarray, synthetic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far synthetic data's first two moments are from the real data's, per feature.

    Both arrays hold features on their last axis (``(T,)`` is one feature);
    every other axis is pooled. Returns ``(mean_error, std_ratio)``, one value
    per feature: ``|mean(synthetic) - mean(real)| / std(real)`` and
    ``std(synthetic) / std(real)``. A model that learned the data's scale and
    level has both near 0 and 1; use it to test that training did something.

    Raises:
        ValueError: different feature counts, non-finite values, or a real
            feature with zero spread.
    """
    real_rows, synthetic_rows = _feature_rows(real), _feature_rows(synthetic)
    if real_rows.shape[1] != synthetic_rows.shape[1]:
        raise ValueError(
            f"real has {real_rows.shape[1]} features, synthetic {synthetic_rows.shape[1]}"
        )
    spread = real_rows.std(axis=0)
    if not np.all(spread > 0):
        raise ValueError("a real feature is constant: its moments give no scale")
    mean_error = np.abs(synthetic_rows.mean(axis=0) - real_rows.mean(axis=0)) / spread
    return mean_error, synthetic_rows.std(axis=0) / spread


def _feature_rows(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    rows = array[:, None] if array.ndim == 1 else array.reshape(-1, array.shape[-1])
    if not np.all(np.isfinite(rows)):
        raise ValueError("moments of NaN or infinite values")
    return rows
