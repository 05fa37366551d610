"""The Lambert W Gaussianising scaler: round trip, tails, clipping, state."""

import numpy as np
import pytest
from scipy import stats

from ganforge.finance.transforms import (
    GaussianizingScaler,
    fit_tail_delta,
    lambert_w_gaussianize,
    lambert_w_heavy_tail,
)


def test_lambert_w_pair_inverts_by_hand():
    u = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
    z = lambert_w_heavy_tail(u, 0.2)
    np.testing.assert_allclose(z[3], np.exp(0.1))  # 1 * exp(0.2 * 1 / 2)
    np.testing.assert_allclose(z[4], 3.0 * np.exp(0.9))
    np.testing.assert_allclose(lambert_w_gaussianize(z, 0.2), u, atol=1e-12)
    np.testing.assert_array_equal(lambert_w_gaussianize(u, 0.0), u)


def test_fit_tail_delta_recovers_a_known_delta_and_is_zero_for_light_tails():
    u = np.random.default_rng(0).normal(size=200_000)
    assert fit_tail_delta(lambert_w_heavy_tail(u, 0.25)) == pytest.approx(0.25, abs=0.02)
    assert fit_tail_delta(np.random.default_rng(1).uniform(-1, 1, 1000)) == 0.0


def test_scaler_gaussianises_student_t_returns_and_round_trips():
    returns = 0.01 * np.random.default_rng(2).standard_t(4, size=(5000, 2))
    scaler = GaussianizingScaler().fit(returns)
    scaled = scaler.transform(returns)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, atol=1e-9)
    assert abs(stats.kurtosis(scaled[:, 0])) < 1e-4 < stats.kurtosis(returns[:, 0])
    assert np.all(scaler.delta > 0)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), returns, atol=1e-12)
    windows = returns.reshape(50, 100, 2)  # any leading shape, features last
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(windows)), windows)


def test_inverse_clips_to_the_fitted_range_and_state_restores():
    returns = 0.01 * np.random.default_rng(3).standard_t(4, size=(2000, 1))
    scaler = GaussianizingScaler().fit(returns)
    extreme = scaler.inverse_transform(np.array([[50.0], [-50.0]]))
    np.testing.assert_allclose(extreme[:, 0], [returns.max(), returns.min()])
    restored = GaussianizingScaler()
    restored.load_state_dict(scaler.state_dict())
    probe = np.linspace(-3, 3, 7)[:, None]
    np.testing.assert_array_equal(
        restored.inverse_transform(probe), scaler.inverse_transform(probe)
    )


def test_scaler_refuses_bad_input():
    with pytest.raises(ValueError, match="not fitted"):
        GaussianizingScaler().transform(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        GaussianizingScaler().fit(np.array([[0.1], [np.nan], [0.2], [0.3]]))
    with pytest.raises(ValueError, match="at least 4 values"):
        GaussianizingScaler().fit(np.zeros((3, 1)))
