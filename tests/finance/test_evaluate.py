"""Post-hoc scores, the evaluation dict with baselines, figures and the testing entry point."""

import json

import numpy as np
import pytest

from ganforge.finance import evaluation as ev
from ganforge.finance.baselines import GarchT, bootstrap_returns
from ganforge.finance.testing import StylizedFactsError, assert_stylized_facts, sp500_log_returns


@pytest.fixture(scope="module")
def sp500():
    return sp500_log_returns()


def _sine_windows(n, seed, noise=0.02):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 12)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    base = 0.5 + 0.4 * np.sin(t[None, :, None] + phase + np.arange(2)[None, None, :])
    return np.clip(base + noise * rng.standard_normal(base.shape), 0, 1)


def test_discriminative_score_tells_shifted_data_apart_but_not_twins():
    real = _sine_windows(200, seed=0)
    twins = _sine_windows(200, seed=1)
    shifted = 0.8 + 0.2 * _sine_windows(200, seed=2)  # levels near 0.9 instead of 0.5
    assert ev.discriminative_score(real, shifted, iterations=300, batch_size=64) > 0.3
    assert ev.discriminative_score(real, twins, iterations=300, batch_size=64) < 0.1


def test_predictive_score_is_lower_when_trained_on_similar_data():
    def windows(seed):
        phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, size=(200, 1, 1))
        smooth = 0.5 + 0.4 * np.sin(np.linspace(0, np.pi, 6)[None, :, None] + phase)
        return np.concatenate([smooth, smooth], axis=-1)  # the target copies the input feature

    real = windows(0)
    constant = np.full_like(real, 0.1)
    good = ev.predictive_score(real, windows(1), iterations=800, batch_size=16)
    bad = ev.predictive_score(real, constant, iterations=800, batch_size=16)
    assert good < 0.6 * bad
    assert bad <= np.abs(real[:, 1:, -1] - 0.1).mean() + 0.05  # no better than guessing 0.1


def test_timegan_scores_report_every_seed_and_their_mean_and_std():
    real, synthetic = _sine_windows(60, seed=0), _sine_windows(60, seed=1)
    scores = ev.timegan_scores(
        real, synthetic, repeats=2, discriminative_iterations=20, predictive_iterations=20
    )
    for name in ("discriminative", "predictive"):
        per_seed = scores[f"{name}_scores"]
        assert len(per_seed) == 2
        assert scores[f"{name}_score"] == pytest.approx(np.mean(per_seed))
        assert scores[f"{name}_score_std"] == pytest.approx(np.std(per_seed))
    first = ev.discriminative_score(real, synthetic, iterations=20, seed=0)
    assert scores["discriminative_scores"][0] == pytest.approx(first)
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        ev.timegan_scores(real, synthetic, repeats=0)


def test_scores_refuse_mismatched_windows():
    with pytest.raises(ValueError, match="of one shape"):
        ev.discriminative_score(np.zeros((10, 5, 2)), np.zeros((10, 6, 2)))
    with pytest.raises(ValueError, match="at least 5"):
        ev.predictive_score(np.zeros((3, 5, 2)), np.zeros((3, 5, 2)))


def test_garch_t_fit_recovers_simulated_parameters():
    truth = GarchT(mu=0.05, omega=0.02, alpha=0.08, beta=0.9, nu=6.0)
    simulated = truth.simulate(1, 20_000, seed=0)[0]
    fitted = GarchT.fit(simulated)
    assert fitted.alpha == pytest.approx(0.08, abs=0.02)
    assert fitted.beta == pytest.approx(0.9, abs=0.03)
    assert fitted.nu == pytest.approx(6.0, abs=1.0)
    assert simulated.std() == pytest.approx(np.sqrt(0.02 / (1 - 0.98)) / 100, rel=0.2)


def test_bootstrap_draws_only_observed_values():
    pool = np.array([0.01, -0.02, 0.03])
    paths = bootstrap_returns(pool, 4, 50, seed=1)
    assert paths.shape == (4, 50)
    assert set(np.unique(paths)) <= set(pool)


def test_evaluate_compares_with_both_baselines_and_writes_json(sp500, tmp_path):
    synthetic = bootstrap_returns(sp500, 10, 1000, seed=5)
    result = ev.evaluate(sp500, synthetic, n_baseline_paths=5, out_path=tmp_path / "r.json")
    assert set(result) == {"synthetic", "garch_t", "bootstrap"}
    assert result["synthetic"]["total"] == 17
    assert (
        result["garch_t"]["volatility_clustering_error"]
        < result["bootstrap"]["volatility_clustering_error"]
    )
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["synthetic"]["passed"] == result["synthetic"]["passed"]
    with pytest.raises(ValueError, match="both real_windows and synthetic_windows"):
        ev.evaluate(sp500, synthetic, real_windows=np.zeros((5, 4, 1)), baselines=False)


def test_figures_have_their_panels(sp500):
    figure = ev.facts_figure(sp500, {"bootstrap": bootstrap_returns(sp500, 2, 500)})
    assert len(figure.axes) == 3
    assert len(figure.axes[0].lines) == 2
    windows = _sine_windows(60, seed=0)
    figure = ev.embedding_figure(windows, _sine_windows(60, seed=1), n=40)
    assert [axis.get_title() for axis in figure.axes] == ["PCA", "t-SNE"]


def test_assert_stylized_facts_passes_real_data_and_names_what_fails(sp500):
    checks = assert_stylized_facts(sp500, real=sp500)
    assert len(checks) == 17
    shuffled = np.random.default_rng(0).permutation(sp500)
    with pytest.raises(StylizedFactsError, match="volatility_clustering/acf_abs_r_lag1"):
        assert_stylized_facts(shuffled, real=sp500, facts=["volatility_clustering"])
    selected = assert_stylized_facts(shuffled, real=sp500, facts=["heavy_tails"])
    assert [c.name for c in selected] == ["excess_kurtosis", "hill_tail_index"]
    with pytest.raises(ValueError, match="unknown facts"):
        assert_stylized_facts(sp500, real=sp500, facts=["calendar_effects"])
