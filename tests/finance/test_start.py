"""The stepwise sampler's first day: a Gaussian mixture over all features together."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.core.checkpoint import CheckpointError
from ganforge.finance import TimeGAN, TimeGANConfig
from ganforge.finance.start import MIN_DAYS_PER_COMPONENT, StartMixture
from ganforge.finance.stepwise import regime_labels


def _two_clusters(n: int, seed: int = 0) -> np.ndarray:
    """Days of two features from two clusters: 30 % at (-2, 3), 70 % at (1, -1), each
    with correlation +0.8 inside."""
    rng = np.random.default_rng(seed)
    covariance = np.array([[1.0, 0.8], [0.8, 1.0]]) * 0.25
    first = rng.random(n) < 0.3
    centres = np.where(first[:, None], [-2.0, 3.0], [1.0, -1.0])
    return centres + rng.multivariate_normal([0, 0], covariance, size=n)


def test_mixture_draws_the_clusters_their_shares_and_correlation():
    days = _two_clusters(2000)
    start = StartMixture(2).fit(days)
    drawn = start.sample(torch.randn(20000, 3, generator=torch.Generator().manual_seed(1)))
    assert drawn.shape == (20000, 1, 2)
    drawn = drawn[:, 0].numpy()
    in_first = drawn[:, 0] < -0.5
    assert abs(in_first.mean() - 0.3) < 0.02
    np.testing.assert_allclose(drawn[in_first].mean(0), [-2.0, 3.0], atol=0.05)
    np.testing.assert_allclose(drawn[~in_first].mean(0), [1.0, -1.0], atol=0.05)
    assert abs(np.corrcoef(drawn[~in_first].T)[0, 1] - 0.8) < 0.05
    # the whole set's correlation is strongly negative (the clusters' centres), as in the data
    assert abs(np.corrcoef(drawn.T)[0, 1] - np.corrcoef(days.T)[0, 1]) < 0.03


def test_one_component_on_few_days_is_their_mean_and_covariance():
    days = _two_clusters(MIN_DAYS_PER_COMPONENT + 10)
    start = StartMixture(2).fit(days)
    assert torch.count_nonzero(start.weights) == 1 and float(start.weights.sum()) == 1.0
    np.testing.assert_allclose(start.means[0, 0].numpy(), days.mean(0), atol=1e-5)
    covariance = (start.cholesky[0, 0] @ start.cholesky[0, 0].T).numpy()
    np.testing.assert_allclose(covariance, np.cov(days.T, bias=True), atol=1e-4)


def test_mixture_refuses_bad_days_and_noise():
    start = StartMixture(2)
    assert not start.active
    with pytest.raises(RuntimeError, match="not fitted"):
        start.sample(torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"first days must be \(n, 2\)"):
        start.fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="finite first days"):
        start.fit(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="at least two first days of regime 0"):
        start.fit(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="one regime label per day for 1 regimes"):
        start.fit(np.zeros((4, 2)), regimes=np.zeros(4, np.int64))
    start.fit(_two_clusters(100))
    with pytest.raises(ValueError, match=r"noise must be \(n, 3\)"):
        start.sample(torch.randn(4, 2))


def _level_windows(n: int = 160, steps: int = 8) -> np.ndarray:
    """Windows of (daily return, level): the level is either about -2 or about +2 for a
    whole window, and returns are wide at the low level and narrow at the high one."""
    rng = np.random.default_rng(3)
    high = rng.random(n) < 0.5
    level = np.where(high, 2.0, -2.0)[:, None] + 0.05 * rng.standard_normal((n, 1))
    spread = np.where(high, 0.5, 2.0)[:, None]
    returns = spread * rng.standard_normal((n, steps))
    return np.stack([returns, np.repeat(level, steps, axis=1)], axis=-1)


def _tiny(**options) -> TimeGANConfig:
    settings = {
        "seq_len": 8, "feature_dim": 2, "hidden_dim": 8, "num_layers": 1,
        "scaling": "standardize", "generation": "stepwise", "lr": 5e-3,
        "embed_iterations": 20, "supervise_iterations": 20, "joint_iterations": 10,
    }  # fmt: skip
    return TimeGANConfig(**{**settings, **options})


def test_stepwise_samples_start_where_the_data_starts(tmp_path):
    windows = _level_windows()
    model = TimeGAN(_tiny(), batch_size=32, seed=0, device="cpu").fit(windows, progress=False)
    assert model.module.networks["start"].active
    first = model.sample(2000, seed=1)[:, 0]
    # two levels, about half the windows each: none in between, as in the data
    assert np.mean(np.abs(first[:, 1]) < 1.0) < 0.02
    assert abs(np.mean(first[:, 1] > 0) - 0.5) < 0.06
    # the first day's return is as wide as the data's at each level
    wide, narrow = first[first[:, 1] < 0, 0].std(), first[first[:, 1] > 0, 0].std()
    assert 1.6 < wide < 2.4 and 0.35 < narrow < 0.65
    # seeds reproduce; the first days do not depend on the paths' length
    np.testing.assert_array_equal(model.sample(5, seed=4), model.sample(5, seed=4))
    np.testing.assert_array_equal(
        model.sample(40, seed=4, length=30)[:, 0], model.sample(40, seed=4)[:, 0]
    )
    path = model.save(tmp_path / "model.pt")
    np.testing.assert_array_equal(TimeGAN.load(path).sample(5, seed=4), model.sample(5, seed=4))


def test_a_model_file_without_a_start_mixture_samples_from_the_supervisor(tmp_path):
    windows = _level_windows()
    model = TimeGAN(_tiny(), batch_size=32, seed=0, device="cpu").fit(windows, progress=False)
    networks = dict(model.module.networks)
    del networks["start"]
    model.file_state = lambda: networks  # the file as written before the mixture
    loaded = TimeGAN.load(model.save(tmp_path / "old.pt"))
    assert not loaded.module.networks["start"].active
    first = loaded.sample(2000, seed=1)[:, 0, 1]
    assert np.mean(np.abs(first) < 1.0) > 0.1  # one skewed t per feature: levels in between


def test_a_damaged_start_mixture_in_a_model_file_is_refused_in_one_line(tmp_path):
    model = TimeGAN(_tiny(), batch_size=32, seed=0, device="cpu").fit(
        _level_windows(), progress=False
    )
    start = model.module.networks["start"]
    with torch.no_grad():
        start.weights[0, 0] = -0.5
    with pytest.raises(CheckpointError, match="damaged.*weights must be finite and >= 0"):
        TimeGAN.load(model.save(tmp_path / "negative.pt"))
    with torch.no_grad():
        start.weights[0, 0] = 5.0
    with pytest.raises(CheckpointError, match="weights add up to"):
        TimeGAN.load(model.save(tmp_path / "unnormalised.pt"))
    with torch.no_grad():
        start.weights[0] = torch.tensor([1.0] + [0.0] * (start.weights.shape[1] - 1))
        start.means[0, 0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="means and covariance factors must be finite"):
        TimeGAN.load(model.save(tmp_path / "nan.pt"))


def test_each_regime_starts_from_its_own_mixture():
    windows = _level_windows()
    regimes = (windows[:, 0, 1] > 0).astype(np.int64)  # regime 1: the high level
    config = _tiny(n_conditions=2)
    model = TimeGAN(config, batch_size=32, seed=0, device="cpu").fit(
        windows, regimes, progress=False
    )
    start = model.module.networks["start"]
    assert start.active and start.regimes == 2
    high = model.sample(500, condition=1, seed=1)[:, 0, 1]
    low = model.sample(500, condition=0, seed=1)[:, 0, 1]
    np.testing.assert_allclose([high.mean(), low.mean()], [2.0, -2.0], atol=0.05)
    assert high.min() > 1.5 and low.max() < -1.5


def test_regime_labels_tell_labels_from_series_and_a_lone_regime_day_leaves_it_off():
    one_hot = torch.nn.functional.one_hot(torch.tensor([1, 0, 1]), 2).float()
    labels = one_hot[:, None].expand(3, 5, 2)
    assert regime_labels(labels).tolist() == [1, 0, 1]
    changing = labels.clone()
    changing[0, 3] = torch.tensor([1.0, 0.0])
    assert regime_labels(changing) is None  # a one-hot series that changes is a series
    assert regime_labels(torch.full((3, 5, 2), 0.5)) is None
    assert regime_labels(torch.ones(3, 5, 1)) is None
    windows = _level_windows()
    regimes = np.zeros(len(windows), np.int64)
    regimes[0] = 1  # one window of regime 1: no mixture, the supervisor draws day one
    model = TimeGAN(_tiny(n_conditions=2), batch_size=32, seed=0, device="cpu").fit(
        windows, regimes, progress=False
    )
    assert not model.module.networks["start"].active
    assert np.isfinite(model.sample(4, condition=1, seed=0)).all()
