"""Stylized-fact statistics on processes whose values are known."""

import numpy as np
import pytest
from arch.univariate import GARCH, ConstantMean, Normal
from scipy import stats
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.tsa.stattools import acf

from ganforge.finance import facts
from ganforge.finance.data import load_prices, log_returns


@pytest.fixture(scope="module")
def gaussian():
    return np.random.default_rng(0).standard_normal(200_000)


@pytest.fixture(scope="module")
def garch():
    model = ConstantMean(None, volatility=GARCH(), distribution=Normal(seed=1))
    return model.simulate([0.0, 0.05, 0.1, 0.85], 50_000)["data"].to_numpy()


@pytest.fixture(scope="module")
def sp500_returns():
    return log_returns(load_prices()["Adj Close"]).to_numpy()


def test_gaussian_has_no_excess_kurtosis_and_no_autocorrelation(gaussian):
    assert abs(facts.excess_kurtosis(gaussian)) < 0.05
    assert np.all(np.abs(facts.autocorrelation(gaussian, 20)) < 0.01)
    assert np.all(np.abs(facts.autocorrelation(np.abs(gaussian), [1, 5, 20, 100])) < 0.01)
    assert np.all(np.abs(facts.leverage_correlation(gaussian, 5)) < 0.01)
    assert abs(facts.skewness(gaussian)) < 0.03


def test_student_t_kurtosis_and_tail_index_match_theory():
    rng = np.random.default_rng(0)
    nu10 = rng.standard_t(10, 400_000)
    assert facts.excess_kurtosis(nu10) == pytest.approx(6 / (10 - 4), abs=0.2)
    nu3 = rng.standard_t(3, 400_000)
    assert facts.hill_tail_index(nu3, tail_fraction=0.01) == pytest.approx(3.0, abs=0.3)
    assert facts.hill_tail_index(rng.standard_normal(400_000)) > 5.0


def test_garch_has_volatility_clustering_but_no_linear_autocorrelation(garch):
    assert facts.autocorrelation(np.abs(garch), [1])[0] > 0.1
    assert facts.autocorrelation(np.square(garch), [1])[0] > 0.1
    assert abs(facts.autocorrelation(garch, [1])[0]) < 0.02
    assert facts.excess_kurtosis(garch) > 0.5  # GARCH with Gaussian shocks is heavy-tailed


def test_autocorrelation_of_one_series_equals_statsmodels(garch):
    expected = acf(garch[:5000], nlags=10, fft=False)[1:]
    np.testing.assert_allclose(facts.autocorrelation(garch[:5000], 10), expected, atol=1e-12)


def test_panel_autocorrelation_never_crosses_paths():
    paths = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    centred = paths - 2.0  # pooled mean is 2
    # lag 1 products within paths: (-1*0 + 0*1) + (1*0 + 0*-1) = 0; variance sum = 4
    assert facts.autocorrelation(paths, [1])[0] == pytest.approx(0.0)
    assert facts.autocorrelation(paths, [2])[0] == pytest.approx((-1 * 1 + 1 * -1) / 4)
    assert np.sum(centred**2) == 4


def test_leverage_detects_volatility_rising_after_losses():
    rng = np.random.default_rng(2)
    shocks = rng.standard_normal(100_000)
    returns = np.empty_like(shocks)
    previous = 0.0
    for t, shock in enumerate(shocks):
        scale = 1.0 + 2.0 * (previous < 0)  # losses double-and-more tomorrow's volatility
        returns[t] = previous = scale * shock
    assert facts.leverage_correlation(returns, [1])[0] < -0.2
    x, y = returns[:-1], returns[1:] ** 2
    assert facts.leverage_correlation(returns, [1])[0] == pytest.approx(
        np.corrcoef(x, y)[0, 1], abs=1e-3
    )


def test_ljung_box_equals_statsmodels(garch):
    q, p = facts.ljung_box(garch[:3000], lags=10)
    reference = acorr_ljungbox(garch[:3000], lags=[10])
    assert q == pytest.approx(float(reference["lb_stat"].iloc[0]), rel=1e-9)
    assert p == pytest.approx(float(reference["lb_pvalue"].iloc[0]), rel=1e-6)


def test_aggregate_sums_within_paths():
    paths = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])
    np.testing.assert_allclose(facts.aggregate(paths, 2), [[3, 5, 7], [30, 50, 70]])
    np.testing.assert_allclose(facts.aggregate(paths, 2, overlapping=False), [[3, 7], [30, 70]])


def test_aggregational_gaussianity_on_student_t():
    returns = np.random.default_rng(3).standard_t(6, 200_000)
    assert facts.aggregated_kurtosis(returns, 1) > 1.5
    assert abs(facts.aggregated_kurtosis(returns, 50)) < 0.3


def test_wasserstein_is_zero_for_identical_and_grows_with_scale(gaussian):
    assert facts.wasserstein_horizon(gaussian, gaussian, 5) == pytest.approx(0.0)
    # W1(N(0,1), N(0,2^2)) = (2 - 1) * E|Z| = sqrt(2/pi)
    wider = 2.0 * np.random.default_rng(4).standard_normal(200_000)
    assert facts.wasserstein_horizon(gaussian, wider, 1) == pytest.approx(
        np.sqrt(2 / np.pi), abs=0.02
    )


def test_real_sp500_statistics_match_published_values(sp500_returns):
    r = sp500_returns
    assert len(r) == 5030
    assert facts.excess_kurtosis(r) == pytest.approx(8.17, abs=0.005)
    assert facts.autocorrelation(r, [1])[0] == pytest.approx(-0.070, abs=0.0005)
    np.testing.assert_allclose(
        facts.autocorrelation(np.abs(r), [1, 5, 20, 100]), [0.244, 0.331, 0.238, 0.120], atol=6e-4
    )
    assert facts.leverage_correlation(r, [1])[0] == pytest.approx(-0.113, abs=6e-4)
    assert facts.excess_kurtosis(r) == pytest.approx(stats.kurtosis(r))


def test_real_data_passes_every_check_against_itself(sp500_returns):
    checks = facts.stylized_facts(sp500_returns, sp500_returns)
    assert len(checks) == 17
    assert all(check.passed for check in checks)


def test_iid_bootstrap_fails_clustering_and_leverage(sp500_returns):
    shuffled = np.random.default_rng(0).permutation(sp500_returns)
    table = facts.facts_table(facts.stylized_facts(sp500_returns, shuffled))
    assert table.loc["excess_kurtosis", "passed"]  # same values, same tails
    assert table.loc["excess_kurtosis", "synthetic"] == pytest.approx(8.169, abs=1e-3)
    assert not table.loc["acf_abs_r_lag1", "passed"]
    assert not table.loc["corr_r_r2_lag1", "passed"]
    scores = facts.clustering_and_leverage_scores(sp500_returns, shuffled)
    assert scores["volatility_clustering_error"] > 0.1


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="NaN"):
        facts.excess_kurtosis(np.array([0.1, np.nan, 0.2, 0.3]))
    with pytest.raises(ValueError, match="shape"):
        facts.excess_kurtosis(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="too short for lag 100"):
        facts.stylized_facts(np.zeros(500) + 0.01, np.ones((3, 24)))
    with pytest.raises(ValueError, match="lags must lie"):
        facts.autocorrelation(np.arange(10.0), [10])


def test_moment_errors_are_per_feature_in_units_of_the_real_spread():
    from ganforge.finance import moment_errors

    real = np.stack([np.arange(10.0), 100 + 2 * np.arange(10.0)], axis=-1)  # stds s, 2s
    shifted = real + np.array([real[:, 0].std(), 0.0])
    mean_error, std_ratio = moment_errors(real, 3 * shifted - 2 * shifted.mean(axis=0))
    np.testing.assert_allclose(mean_error, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(std_ratio, [3.0, 3.0])
    np.testing.assert_allclose(moment_errors(real[:, 0], real[:, 0]), [[0.0], [1.0]])
    with pytest.raises(ValueError, match="real has 2 features, synthetic 1"):
        moment_errors(real, real[:, :1])
    with pytest.raises(ValueError, match="constant"):
        moment_errors(np.ones((4, 1)), np.ones((4, 1)))
