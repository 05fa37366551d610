"""TimeGAN: networks, losses, the three phases on the core trainer, resume, conditioning."""

import numpy as np
import pytest
import torch

from ganforge.core.checkpoint import CheckpointError
from ganforge.core.modelfile import save_model
from ganforge.core.training import Trainer, TrainerConfig
from ganforge.finance import PaperTimeGANModule, TimeGAN, TimeGANConfig
from ganforge.finance.losses import moment_loss, supervised_loss
from ganforge.finance.networks import RecurrentBlock, build_timegan_networks


def _tiny(**overrides):
    settings = dict(
        seq_len=6,
        feature_dim=2,
        hidden_dim=4,
        num_layers=2,
        embed_iterations=2,
        supervise_iterations=2,
        joint_iterations=2,
    )
    return TimeGANConfig(**{**settings, **overrides})


def _windows(n=32, seq_len=6, features=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, seq_len, features)).cumsum(axis=1) + 50


def _params(module, name):
    return [p.detach().clone() for p in module.networks[name].parameters()]


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_network_shapes_and_output_ranges(cell):
    nets = build_timegan_networks(feature_dim=3, hidden_dim=5, num_layers=3, cell=cell)
    x = torch.rand(4, 7, 3)
    h = nets["embedder"](x)
    assert h.shape == (4, 7, 5) and h.min() > 0 and h.max() < 1
    assert nets["recovery"](h).shape == (4, 7, 3)
    assert nets["generator"](torch.rand(4, 7, 3)).shape == (4, 7, 5)
    assert nets["supervisor"].rnn.num_layers == 2  # num_layers - 1, as in the reference
    assert nets["discriminator"](h).shape == (4, 7, 1)
    assert not nets["discriminator"].sigmoid  # logits, not probabilities


def test_conditional_network_needs_its_condition():
    block = RecurrentBlock(2, 4, 3, num_layers=1, cond_dim=2)
    assert block(torch.rand(5, 6, 2), torch.ones(5, 6, 2)).shape == (5, 6, 3)
    with pytest.raises(ValueError, match="needs a condition with 2 channels"):
        block(torch.rand(5, 6, 2))
    with pytest.raises(ValueError, match="cell must be"):
        RecurrentBlock(2, 4, 3, num_layers=1, cell="rnn")


def test_supervised_and_moment_losses_by_hand():
    h = torch.tensor([[[0.0], [1.0], [3.0]]])
    predicted = torch.tensor([[[1.0], [2.0], [9.0]]])  # step t predicts h_{t+1}: errors 0, 1
    assert supervised_loss(h, predicted).item() == pytest.approx(0.5)
    x = torch.tensor([[[0.0]], [[2.0]]])  # batch mean 1, std 1
    x_hat = torch.tensor([[[1.0]], [[1.0]]])  # batch mean 1, std 0
    expected = abs(np.sqrt(1e-6) - np.sqrt(1 + 1e-6))
    assert moment_loss(x_hat, x).item() == pytest.approx(expected, rel=1e-5)


def test_autoencoder_loss_is_ten_root_mse():
    module = PaperTimeGANModule(_tiny())
    x = torch.rand(8, 6, 2)
    out = module.autoencoder_step((x,), None)
    assert out["loss"].item() == pytest.approx(10 * np.sqrt(out["reconstruction_mse"].item()))


def test_three_phases_switch_and_train_the_right_networks():
    module = PaperTimeGANModule(_tiny())
    assert [(p.name, p.iterations) for p in module.phases()] == [
        ("embed", 2),
        ("supervise", 2),
        ("joint", None),
    ]
    joint_steps = module.phases()[2].steps
    assert [(s.name, s.optimizer, s.repeat) for s in joint_steps] == [
        ("generator", "G", 2),
        ("embedder", "E", 1),
        ("discriminator", "D", 1),
    ]
    before = {name: _params(module, name) for name in module.networks}
    data = torch.rand(32, 6, 2)
    trainer = Trainer(
        module,
        TrainerConfig(
            iterations=2, batch_size=8, progress=False, log_every=1, device="cpu", tensorboard=False
        ),
    )
    trainer.fit(data)
    assert not _same(before["embedder"], _params(module, "embedder"))
    assert _same(before["generator"], _params(module, "generator"))
    assert _same(before["supervisor"], _params(module, "supervisor"))
    after_embed = {name: _params(module, name) for name in module.networks}
    trainer.config.iterations = 4
    trainer.fit(data)
    assert _same(after_embed["embedder"], _params(module, "embedder"))
    assert not _same(after_embed["supervisor"], _params(module, "supervisor"))
    assert _same(after_embed["discriminator"], _params(module, "discriminator"))
    assert [phase.name for phase in map(trainer.phase_at, range(6))] == [
        "embed",
        "embed",
        "supervise",
        "supervise",
        "joint",
        "joint",
    ]
    keys = [set(record) for record in trainer.history]
    assert "autoencoder/loss" in keys[0] and "supervisor/loss" not in keys[0]
    assert "supervisor/loss" in keys[2]


@pytest.mark.parametrize(("threshold", "updated"), [(1e9, False), (0.0, True)])
def test_discriminator_updates_only_while_its_loss_exceeds_the_threshold(threshold, updated):
    module = PaperTimeGANModule(
        _tiny(embed_iterations=0, supervise_iterations=0, d_threshold=threshold)
    )
    before = _params(module, "discriminator")
    trainer = Trainer(
        module,
        TrainerConfig(
            iterations=2, batch_size=8, progress=False, log_every=1, device="cpu", tensorboard=False
        ),
    )
    trainer.fit(torch.rand(32, 6, 2))
    assert _same(before, _params(module, "discriminator")) is not updated
    assert trainer.history[-1]["discriminator/updated"] == float(updated)
    record = trainer.history[-1]
    assert ("discriminator/loss" in record) is updated
    assert ("discriminator/skipped_loss" in record) is not updated


def _level_windows(seed=0):
    """A random walk around 50 and a drifting one from 10: min-max scaling does not centre them."""
    rng = np.random.default_rng(seed)
    windows = 50 + rng.normal(size=(64, 6, 2)).cumsum(axis=1)
    windows[..., 1] = 10 + rng.normal(0.5, 0.5, size=(64, 6)).cumsum(axis=1)
    return windows


# The paper's model after 30 + 30 + 100 iterations: each feature's mean within 0.45 of the
# data's standard deviation, its standard deviation within 0.7-1.4 of the data's (seen over
# training seeds 0-4 and data seeds 0-3: mean errors <= 0.34, ratios 0.86-1.05). Untrained,
# the sigmoid recovery gives about 0.5 everywhere (ratios 0.05 and 0.11); with N(0, 50)
# weights the first feature's mean is 3.9 standard deviations off.
LEVEL_MEAN_TOLERANCE, LEVEL_STD_RANGE = 0.45, (0.7, 1.4)


def test_trained_samples_match_the_moments_of_each_feature(moments_match, randomised):
    windows = _level_windows()
    config = _tiny(
        hidden_dim=8,
        num_layers=1,
        lr=2e-2,
        embed_iterations=30,
        supervise_iterations=30,
        joint_iterations=100,
    )
    model = TimeGAN(config, batch_size=32, device="cpu").fit(windows, progress=False)
    samples = model.sample(500, seed=1)
    assert samples.shape == (500, 6, 2)
    ok, moments = moments_match(windows, samples, LEVEL_MEAN_TOLERANCE, LEVEL_STD_RANGE)
    assert ok, f"trained: {moments}"
    untrained = TimeGAN(config, batch_size=32, device="cpu")
    untrained.scaler.fit(windows)
    ok, moments = moments_match(
        windows, untrained.sample(500, seed=1), LEVEL_MEAN_TOLERANCE, LEVEL_STD_RANGE
    )
    assert not ok, f"untrained: {moments}"
    ok, moments = moments_match(
        windows, randomised(model).sample(500, seed=1), LEVEL_MEAN_TOLERANCE, LEVEL_STD_RANGE
    )
    assert not ok, f"random weights: {moments}"


def test_samples_are_reproducible_and_join_into_days():
    model = TimeGAN(_tiny(), batch_size=8, device="cpu").fit(_windows(), progress=False)
    np.testing.assert_allclose(model.sample(5, seed=3), model.sample(5, seed=3))
    assert not np.array_equal(model.sample(5, seed=3), model.sample(5, seed=4))
    assert model.sample_days(10, n_paths=3).shape == (3, 10, 2)


def test_save_and_load_give_the_same_samples(tmp_path):
    model = TimeGAN(_tiny(), batch_size=8, device="cpu", metadata={"columns": ["a", "b"]})
    model.fit(_windows(), progress=False)
    loaded = TimeGAN.load(model.save(tmp_path / "model.pt"))
    np.testing.assert_allclose(loaded.sample(4, seed=1), model.sample(4, seed=1))
    assert loaded.config == model.config and loaded.metadata == {"columns": ["a", "b"]}
    assert isinstance(loaded.module, PaperTimeGANModule)
    assert next(loaded.module.networks["generator"].parameters()).device.type == "cpu"


def _model_file(tmp_path, name, edit):
    """A copy of a good model file's contents, changed by ``edit``."""
    model = TimeGAN(_tiny(), batch_size=8, device="cpu").fit(_windows(n=8), progress=False)
    raw = torch.load(model.save(tmp_path / "good.pt"), weights_only=True)
    edit(raw)
    torch.save(raw, tmp_path / name)
    return tmp_path / name


def _truncated(tmp_path):
    model = TimeGAN(_tiny(), batch_size=8, device="cpu").fit(_windows(n=8), progress=False)
    data = model.save(tmp_path / "good.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    return tmp_path / "truncated.pt"


def _finance_format_v1(tmp_path):
    """A file of finance's earlier format, which had no kind tag."""
    torch.save({"format": "ganforge-finance-timegan-v1", "networks": {}}, tmp_path / "old.pt")
    return tmp_path / "old.pt"


BAD_MODEL_FILES = {
    "another kind": (
        lambda tmp: save_model(tmp / "tabular.pt", "tabular.DPTabularGAN", {"epsilon": 1.0}, {}),
        "holds a tabular.DPTabularGAN model, not a finance.TimeGAN model",
    ),
    "truncated": (_truncated, "truncated.pt is not a loadable checkpoint"),
    "a newer format": (
        lambda tmp: _model_file(tmp, "newer.pt", lambda raw: raw.update(format_version=99)),
        "has model format 99, newer than this ganforge reads (1): upgrade ganforge",
    ),
    "not a model file": (_finance_format_v1, "old.pt is not a ganforge model file"),
    "a missing network": (
        lambda tmp: _model_file(tmp, "partial.pt", lambda raw: raw["state"].pop("generator")),
        "partial.pt is a damaged finance.TimeGAN model",
    ),
    "a bad setting": (
        lambda tmp: _model_file(
            tmp,
            "spec.pt",
            lambda raw: raw.update(spec=raw["spec"].replace('"cell": "gru"', '"cell": "rnn"')),
        ),
        "spec.pt has a spec this version cannot use: cell must be 'gru' or 'lstm'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MODEL_FILES))
def test_a_bad_model_file_is_one_checkpoint_error_line(tmp_path, case):
    make, fragment = BAD_MODEL_FILES[case]
    with pytest.raises(CheckpointError) as error:
        TimeGAN.load(make(tmp_path))
    assert fragment in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("generation", ["paper", "stepwise"])
def test_one_seed_gives_identical_fits_whatever_the_global_rng_held(generation):
    scaling = "minmax" if generation == "paper" else "standardize"
    config = _tiny(generation=generation, scaling=scaling, seed=7)
    torch.manual_seed(0)
    first = TimeGAN(config, batch_size=8, device="cpu").fit(_windows(), progress=False)
    torch.manual_seed(123)
    torch.rand(1000)
    np.random.seed(5)
    second = TimeGAN(config, batch_size=8, device="cpu").fit(_windows(), progress=False)
    other = TimeGAN(config, seed=8, batch_size=8, device="cpu").fit(_windows(), progress=False)
    weights = [dict(m.module.networks["generator"].named_parameters()) for m in (first, second)]
    for name, value in weights[0].items():
        assert torch.equal(value, weights[1][name]), name
    assert not _same(_params(first.module, "embedder"), _params(other.module, "embedder"))
    # a second fit of the same model starts afresh from the seed's networks
    again = first.fit(_windows(), progress=False)
    for name in second.module.networks:
        assert _same(_params(again.module, name), _params(second.module, name)), name


def test_resume_mid_phase_continues_exactly(tmp_path):
    config = _tiny(embed_iterations=4, supervise_iterations=2, joint_iterations=2)
    windows = _windows()
    straight = TimeGAN(config, batch_size=8, device="cpu").fit(windows, progress=False)
    TimeGAN(config, batch_size=8, device="cpu").fit(
        windows, run_dir=tmp_path, checkpoint_every=3, progress=False
    )
    checkpoint = tmp_path / "checkpoint_00000003.pt"  # inside the embedding phase
    assert checkpoint.is_file()
    resumed = TimeGAN(config, batch_size=8, device="cpu").fit(
        windows, resume_from=checkpoint, progress=False
    )
    for name in straight.module.networks:
        assert _same(_params(straight.module, name), _params(resumed.module, name)), name


def test_conditional_sampling_honours_the_regime():
    rng = np.random.default_rng(0)
    calm = rng.normal(0.01, 0.005, size=(200, 8, 1))
    stressed = rng.normal(-0.02, 0.02, size=(200, 8, 1))
    labels = np.array([0] * 200 + [1] * 200)
    config = TimeGANConfig(
        seq_len=8,
        feature_dim=1,
        hidden_dim=8,
        num_layers=1,
        lr=5e-3,
        embed_iterations=50,
        supervise_iterations=50,
        joint_iterations=80,
        n_conditions=2,
    )
    model = TimeGAN(config, batch_size=32, device="cpu")
    model.fit(np.concatenate([calm, stressed]), labels, progress=False)
    calm_mean = model.sample(300, "calm").mean()
    stressed_mean = model.sample(300, "stressed").mean()
    assert calm_mean > 0.0 > stressed_mean
    assert calm_mean == pytest.approx(0.01, abs=0.01)
    assert stressed_mean == pytest.approx(-0.02, abs=0.015)
    assert model.sample_days(250, condition="stressed").shape == (1, 250, 1)


def test_bad_input_is_refused_clearly():
    model = TimeGAN(_tiny(), device="cpu")
    with pytest.raises(ValueError, match=r"windows must have shape \(n, 6, 2\)"):
        model.fit(np.zeros((10, 5, 2)), progress=False)
    bad = _windows()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(bad, progress=False)
    with pytest.raises(ValueError, match="n_conditions is 0"):
        model.fit(_windows(), labels=np.zeros(32, dtype=int), progress=False)
    with pytest.raises(ValueError, match="not conditional"):
        model.sample(2, condition="calm")
    conditional = TimeGAN(_tiny(n_conditions=2), device="cpu")
    with pytest.raises(ValueError, match="pass one label per window"):
        conditional.fit(_windows(), progress=False)
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        conditional.fit(_windows(), labels=np.full(32, 2), progress=False)
    with pytest.raises(ValueError, match="unknown regime 'panic'"):
        conditional.sample(2, condition="panic")
    with pytest.raises(ValueError, match="n_conditions must be an integer >= 0"):
        TimeGANConfig(n_conditions=-1)
    with pytest.raises(ValueError, match=r"unknown options \['batch'\]"):
        TimeGAN(_tiny(), batch=8)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        TimeGAN(_tiny(), batch_size=0)


def test_conditioning_on_a_series_reaches_the_output():
    model = TimeGAN(_tiny(n_conditions=1), batch_size=8, device="cpu")
    series = np.random.default_rng(0).random((32, 6, 1))
    model.fit(_windows(), series, progress=False)
    low = model.sample(4, condition=np.zeros((6, 1)), seed=0)
    high = model.sample(4, condition=np.ones((6, 1)), seed=0)
    assert low.shape == high.shape == (4, 6, 2)
    assert not np.allclose(low, high)
    with pytest.raises(ValueError, match=r"conditioning series must have shape \(32, 6, 1\)"):
        model.fit(_windows(), series[:, :5], progress=False)
    with pytest.raises(ValueError, match="regime labels need n_conditions >= 2"):
        model.sample(2, condition="calm")


def test_gaussianize_mode_has_a_linear_recovery_and_a_noise_skip():
    module = PaperTimeGANModule(_tiny(scaling="gaussianize"))
    nets = module.networks
    assert not nets["recovery"].sigmoid and nets["embedder"].sigmoid
    assert nets["generator"].input_skip and not nets["supervisor"].input_skip
    assert nets["generator"].linear.in_features == 4 + 2  # hidden + per-step noise
    with pytest.raises(ValueError, match="scaling must be"):
        _tiny(scaling="zscore")


# Gaussianised returns after 30 + 30 + 60 iterations: each feature's mean within 0.25 of the
# returns' standard deviation, its standard deviation within half to twice theirs (seen over
# training seeds 0-4: mean errors <= 0.11, ratios 0.54-1.14). Untrained, the generator's
# output barely moves (ratios <= 0.07); with N(0, 50) weights the ratios are 3.3 and 6.3.
RETURN_MEAN_TOLERANCE, RETURN_STD_RANGE = 0.25, (0.5, 2.0)


def test_gaussianize_mode_matches_the_moments_of_returns_and_samples_long_paths(
    tmp_path, moments_match, randomised
):
    rng = np.random.default_rng(4)
    returns = 0.01 * rng.standard_t(4, size=(64, 6, 2)) + np.array([0.004, -0.002])
    config = _tiny(
        scaling="gaussianize",
        hidden_dim=8,
        num_layers=1,
        lr=5e-3,
        embed_iterations=30,
        supervise_iterations=30,
        joint_iterations=60,
    )
    model = TimeGAN(config, batch_size=32).fit(returns, progress=False)
    assert type(model.scaler).__name__ == "GaussianizingScaler"
    samples = model.sample(500, seed=1)
    ok, moments = moments_match(returns, samples, RETURN_MEAN_TOLERANCE, RETURN_STD_RANGE)
    assert ok, f"trained: {moments}"
    untrained = TimeGAN(config, batch_size=32)
    untrained.scaler.fit(returns)
    ok, moments = moments_match(
        returns, untrained.sample(500, seed=1), RETURN_MEAN_TOLERANCE, RETURN_STD_RANGE
    )
    assert not ok, f"untrained: {moments}"
    paths = model.sample_days(20, n_paths=3, seed=5)
    assert paths.shape == (3, 20, 2) and np.all(np.isfinite(paths))
    # one causal pass R(S(G(z))) over 20 steps: its first 6 steps are those of z's first 6
    nets = model.module.networks
    z = torch.randn(3, 20, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole, head = (
            nets["recovery"](nets["supervisor"](nets["generator"](x))) for x in (z, z[:, :6])
        )
    torch.testing.assert_close(whole[:, :6], head)
    assert not torch.allclose(whole[:, 6:12], head)  # and the later steps are new ones
    loaded = TimeGAN.load(model.save(tmp_path / "model.pt"))
    np.testing.assert_array_equal(loaded.sample_days(20, 3, seed=5), paths)
    ok, moments = moments_match(
        returns, randomised(model).sample(500, seed=1), RETURN_MEAN_TOLERANCE, RETURN_STD_RANGE
    )
    assert not ok, f"random weights: {moments}"


def test_validation_keeps_the_best_joint_phase_checkpoint(tmp_path):
    cfg = TimeGANConfig(
        seq_len=6,
        feature_dim=2,
        hidden_dim=4,
        num_layers=1,
        batch_size=8,
        embed_iterations=4,
        supervise_iterations=4,
        joint_iterations=12,
    )
    train, validation = _windows(64, seed=0), _windows(32, seed=1)
    model = TimeGAN(cfg).fit(
        train, validation=validation, select_every=4, run_dir=tmp_path, progress=False
    )
    scores = [row["val_disc"] for row in model.history if "val_disc" in row]
    assert len(scores) == 5 and all(np.isnan(s) for s in scores[:2])  # before the joint phase
    joint = scores[2:]
    assert model.selected_iteration == 12 + 4 * int(np.argmin(joint))
    assert all(0 <= s <= 0.5 for s in joint) and (tmp_path / "best.pt").is_file()
    plain = TimeGAN(cfg).fit(train, progress=False)
    assert plain.selected_iteration is None
