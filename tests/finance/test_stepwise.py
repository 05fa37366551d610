"""Stepwise TimeGAN for return paths: likelihood supervisor, step-by-step generation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganforge.core.training import Callback, Trainer, TrainerConfig
from ganforge.finance import StepwiseTimeGANModule, TimeGAN, TimeGANConfig
from ganforge.finance.innovations import skewed_t_mean, skewed_t_noise
from ganforge.finance.networks import RecurrentBlock


def _config(**overrides):
    settings = dict(
        seq_len=8,
        feature_dim=2,
        hidden_dim=4,
        num_layers=2,
        embed_iterations=2,
        supervise_iterations=2,
        joint_iterations=2,
        scaling="standardize",
        generation="stepwise",
    )
    return TimeGANConfig(**{**settings, **overrides})


def _returns(n=40, seq_len=8, features=2, seed=4):
    return 0.01 * np.random.default_rng(seed).standard_t(4, size=(n, seq_len, features))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_stepping_a_network_equals_one_pass_over_the_whole_sequence(cell):
    torch.manual_seed(0)
    block = RecurrentBlock(3, 5, 2, num_layers=2, cell=cell, cond_dim=1)
    x, c = torch.randn(4, 7, 3), torch.randn(4, 7, 1)
    first, state = block.step(x[:, :3], c[:, :3])
    second, _ = block.step(x[:, 3:], c[:, 3:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), block(x, c))


def test_stepwise_needs_gaussianised_returns_and_a_known_generation():
    with pytest.raises(ValueError, match="set scaling='standardize' or 'gaussianize'"):
        _config(scaling="minmax")
    with pytest.raises(ValueError, match="generation must be"):
        _config(generation="teacher")


def test_supervisor_outputs_a_skewed_t_per_step_and_feature():
    module = StepwiseTimeGANModule(_config())
    nets = module.networks
    assert nets["supervisor"].linear.out_features == 4 * 2 and not nets["supervisor"].sigmoid
    x = torch.randn(3, 8, 2)
    step = module.predictive(x, nets["embedder"](x), None)
    assert all(part.shape == (3, 8, 2) for part in step)
    assert bool((step.scale > 0).all()) and bool((step.dof > 2.5).all())
    assert bool((step.skew > 0).all())


def test_next_step_distribution_depends_only_on_the_past():
    module = StepwiseTimeGANModule(_config())
    x = torch.randn(2, 8, 2)
    changed = x.clone()
    changed[:, 5:] += 3.0
    embed = module.networks["embedder"]
    before = module.predictive(x, embed(x), None)
    after = module.predictive(changed, embed(changed), None)
    for a, b in zip(before, after, strict=True):
        torch.testing.assert_close(a[:, :6], b[:, :6])  # step t sees x_<t only
    for a, b in zip(before[:2], after[:2], strict=True):  # the shape's offsets start at zero
        assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_untrained_generator_passes_skewed_t_noise_through_the_predicted_scale():
    module = StepwiseTimeGANModule(_config())
    z = torch.randn(3, 8, 2)
    paths = module.rollout(z, None)
    # the generator's shaping starts at zero, so the steps are mean + scale * t-noise(z)
    step = module.predictive(paths, module.networks["embedder"](paths), None)
    innovations = skewed_t_noise(z, step.dof, step.skew)
    torch.testing.assert_close(paths, step.mean + step.scale * innovations)
    # each step's expectation given its past: the symmetric innovations have mean 0
    _, expected = module.rollout_with_expectations(z, None)
    torch.testing.assert_close(expected, step.mean)
    # the shape's per-step offsets start at zero: the global shape everywhere
    expected_dof = torch.full((3, 8, 2), 2.5 + float(np.log1p(np.exp(5.0))))
    torch.testing.assert_close(step.dof.detach(), expected_dof)
    torch.testing.assert_close(step.skew.detach(), torch.ones(3, 8, 2))  # starts symmetric
    with torch.no_grad():
        module.networks["supervisor"].raw_log_skew.fill_(-0.4)  # left-skewed: mean below 0
    paths, expected = module.rollout_with_expectations(z, None)
    step = module.predictive(paths, module.networks["embedder"](paths), None)
    shift = skewed_t_mean(step.dof, step.skew)
    assert bool((shift < 0).all())
    torch.testing.assert_close(expected, step.mean + step.scale * shift)


def _shape_follows_the_last_return(module: StepwiseTimeGANModule) -> None:
    """Wire the supervisor so that, per feature f, its state is ``tanh(|x_f| / 2)`` of the
    step before and both shape offsets are ``-3`` times it."""
    rnn, linear = module.networks["supervisor"].rnn, module.networks["supervisor"].linear
    hidden = module.config.hidden_dim
    with torch.no_grad():
        for tensor in (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0):
            tensor.zero_()
        rnn.bias_ih_l0[hidden : 2 * hidden] = -30.0  # update gate shut: the state is 'new'
        linear.weight[4:].zero_()
        linear.bias[4:].zero_()
        for feature in range(2):  # the supervisor reads [h, x, |x|]
            rnn.weight_ih_l0[2 * hidden + feature, hidden + 2 + feature] = 0.5
            linear.weight[4 + feature, feature] = -3.0  # degrees-of-freedom offset
            linear.weight[6 + feature, feature] = -3.0  # skew offset


def test_the_innovations_shape_follows_the_state_step_by_step():
    torch.manual_seed(0)
    module = StepwiseTimeGANModule(_config())
    _shape_follows_the_last_return(module)
    z = torch.randn(4, 8, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        paths = module.rollout(z, None)
        step = module.predictive(paths, module.networks["embedder"](paths), None)
    # by hand: state tanh(|x_prev| / 2), skew exp(tanh(-3 state)), dof 2.5 + softplus(5 - 3 state)
    state = torch.tanh(0.5 * torch.cat([torch.zeros_like(paths[:, :1]), paths[:, :-1]], 1).abs())
    torch.testing.assert_close(step.skew, torch.exp(torch.tanh(-3.0 * state)))
    torch.testing.assert_close(step.dof, 2.5 + F.softplus(5.0 - 3.0 * state))
    assert float(state[:, 1:].std()) > 0.1  # the shape does change along the paths
    # and every step is drawn from its own shape
    innovations = skewed_t_noise(z, step.dof, step.skew)
    torch.testing.assert_close(paths, step.mean + step.scale * innovations)


def test_a_model_file_with_one_global_shape_samples_as_it_did(tmp_path):
    model = TimeGAN(_config(), batch_size=8, seed=0, device="cpu").fit(_returns(), progress=False)
    supervisor = model.module.networks["supervisor"]
    with torch.no_grad():  # a model whose shape offsets are zero: the global shape
        supervisor.linear.weight[4:].zero_()
        supervisor.linear.bias[4:].zero_()
    old = RecurrentBlock(4 + 2 * 2, 4, 2 * 2, 1, sigmoid=False, cell="gru", cond_dim=0)
    old.raw_dof, old.raw_log_skew = supervisor.raw_dof, supervisor.raw_log_skew
    state = {k: v[:4] if k.startswith("linear.") else v for k, v in supervisor.state_dict().items()}
    old.load_state_dict(state)  # the layout written before the per-step shape
    networks = {**model.module.networks, "supervisor": old}
    model.file_state = lambda: networks
    loaded = TimeGAN.load(model.save(tmp_path / "old.pt"))
    np.testing.assert_array_equal(loaded.sample(6, seed=2), model.sample(6, seed=2))


def test_rollout_is_causal_in_the_noise():
    module = StepwiseTimeGANModule(_config())
    z = torch.randn(2, 8, 2)
    changed = z.clone()
    changed[:, 4] += 2.0
    a, b = module.rollout(z, None), module.rollout(changed, None)
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_stepwise_phases_train_their_own_networks():
    module = StepwiseTimeGANModule(
        _config(embed_iterations=1, supervise_iterations=1, joint_iterations=1)
    )
    names = [(p.name, [s.name for s in p.steps]) for p in module.phases()]
    assert names == [
        ("embed", ["autoencoder"]),
        ("supervise", ["supervisor"]),
        ("joint", ["generator", "supervisor", "embedder", "discriminator"]),
    ]
    before = {k: [p.clone() for p in n.parameters()] for k, n in module.networks.items()}
    data = torch.randn(16, 8, 2)
    config = TrainerConfig(iterations=3, batch_size=4, progress=False, log_every=1)
    trainer = Trainer(module, config)
    trainer.fit(data)
    moved = {
        k: any(not torch.equal(a, b) for a, b in zip(before[k], n.parameters(), strict=True))
        for k, n in module.networks.items()
    }
    trained = ("embedder", "recovery", "generator", "supervisor", "discriminator")
    assert moved == {**dict.fromkeys(trained, True), "start": False}
    assert not list(module.networks["start"].parameters())  # fitted, never trained
    record = trainer.history[-1]
    assert np.isfinite(record["supervisor/nll"]) and np.isfinite(record["generator/adversarial"])
    assert sorted(module.build_optimizers()) == ["D", "E", "G", "S"]


def test_likelihood_phase_learns_a_volatility_that_follows_the_last_return():
    # ARCH(1): scale_t^2 = 0.2 + 0.7 x_{t-1}^2; the fitted scale must rise with |x_{t-1}|
    rng = np.random.default_rng(0)
    x = np.zeros((256, 16, 1))
    for t in range(16):
        previous = x[:, t - 1, 0] if t else np.zeros(256)
        x[:, t, 0] = np.sqrt(0.2 + 0.7 * previous**2) * rng.standard_normal(256)
    config = _config(
        seq_len=16,
        feature_dim=1,
        hidden_dim=8,
        embed_iterations=150,
        supervise_iterations=400,
        lr=5e-3,
    )
    module = StepwiseTimeGANModule(config)
    data = torch.as_tensor(x, dtype=torch.float32)
    Trainer(module, TrainerConfig(iterations=550, batch_size=64, progress=False)).fit(data)
    with torch.no_grad():
        scale = module.predictive(data, module.networks["embedder"](data), None).scale
    previous = np.abs(x[:, 7:-1, 0]).ravel()
    fitted = scale[:, 8:, 0].numpy().ravel()
    assert np.corrcoef(previous, fitted)[0, 1] > 0.4


# Free-running 64-day paths of a model trained 30 + 30 + 60 iterations on 8-day windows: each
# feature's mean return within 0.15 of the returns' standard deviation, its standard deviation
# within 0.8-1.25 of theirs (seen over training seeds 0-4: mean errors <= 0.073, ratios
# 0.90-0.98). Standardising puts an untrained model near, but not within, these (mean errors
# 0.15-0.32 with one feature above 0.19 in each of seeds 0-4, ratios 0.63-1.11); with
# N(0, 50) weights every step saturates (mean errors above 4).
MEAN_TOLERANCE, STD_RANGE = 0.15, (0.8, 1.25)


def test_stepwise_model_matches_the_moments_of_returns_and_round_trips(
    tmp_path, moments_match, randomised
):
    returns = _returns(n=64) + np.array([0.004, -0.002])
    config = _config(
        hidden_dim=8,
        num_layers=1,
        lr=5e-3,
        embed_iterations=30,
        supervise_iterations=30,
        joint_iterations=60,
    )
    model = TimeGAN(config, batch_size=32).fit(returns, progress=False)
    ok, moments = moments_match(
        returns, model.sample_days(64, n_paths=200, seed=1), MEAN_TOLERANCE, STD_RANGE
    )
    assert ok, f"trained: {moments}"
    paths = model.sample_days(30, n_paths=3, seed=5)
    assert paths.shape == (3, 30, 2) and np.all(np.isfinite(paths))
    np.testing.assert_allclose(paths[:1, :8], model.sample(1, seed=5), rtol=1e-5, atol=1e-7)
    loaded = TimeGAN.load(model.save(tmp_path / "model.pt"))
    assert loaded.config.generation == "stepwise"
    np.testing.assert_array_equal(loaded.sample_days(30, 3, seed=5), paths)
    ok, moments = moments_match(
        returns, randomised(model).sample_days(64, n_paths=200, seed=1), MEAN_TOLERANCE, STD_RANGE
    )
    assert not ok, f"random weights: {moments}"


def test_stepwise_resumes_mid_joint_phase_exactly(tmp_path):
    config = _config(embed_iterations=2, supervise_iterations=2, joint_iterations=4)
    returns = _returns()
    straight = TimeGAN(config, batch_size=8).fit(returns, progress=False)
    TimeGAN(config, batch_size=8).fit(returns, run_dir=tmp_path, checkpoint_every=6, progress=False)
    checkpoint = tmp_path / "checkpoint_00000006.pt"  # two iterations into the joint phase
    seen = []
    resumed = TimeGAN(config, batch_size=8).fit(
        returns,
        resume_from=checkpoint,
        callbacks=[Callback(1, lambda trainer: seen.append(trainer.iteration))],
        progress=False,
    )
    assert seen == [7, 8]  # it went on from the checkpoint, not from the start
    for name, network in straight.module.networks.items():
        for a, b in zip(
            network.parameters(), resumed.module.networks[name].parameters(), strict=True
        ):
            assert torch.equal(a, b), name


def test_stepwise_conditional_model_needs_and_uses_its_regime():
    model = TimeGAN(_config(n_conditions=2), batch_size=8)
    labels = np.arange(40) % 2
    model.fit(_returns(), labels, progress=False)
    calm, stressed = model.sample(4, "calm", seed=1), model.sample(4, "stressed", seed=1)
    assert calm.shape == stressed.shape == (4, 8, 2) and not np.allclose(calm, stressed)
    with pytest.raises(ValueError, match="this model is conditional"):
        model.sample(2)


def test_stressed_scenarios_are_more_volatile_than_calm_ones():
    rng = np.random.default_rng(1)
    labels = np.arange(200) % 2  # 1 = stressed: three times the volatility
    windows = 0.01 * rng.standard_normal((200, 8, 1)) * np.where(labels, 3.0, 1.0)[:, None, None]
    config = _config(
        feature_dim=1, n_conditions=2, embed_iterations=50, supervise_iterations=300, lr=5e-3
    )
    model = TimeGAN(config, batch_size=32).fit(windows, labels, progress=False)
    calm = model.sample_days(250, n_paths=20, condition="calm", seed=3)
    stressed = model.sample_days(250, n_paths=20, condition="stressed", seed=3)
    ratio = stressed.std() / calm.std()
    assert 2.0 < ratio < 4.5


def test_long_paths_reread_the_state_from_the_last_days_like_a_training_window():
    module = StepwiseTimeGANModule(_config())  # seq_len 8: from day 8, the last 4 days
    z = torch.randn(3, 20, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        paths = module.rollout(z, None)
        embed = module.networks["embedder"]
        for t in range(1, 20):
            start = 0 if t < 8 else t - 4
            window = paths[:, start : t + 1]
            step = module.predictive(window, embed(window), None)
            innovation = skewed_t_noise(z[:, t], step.dof[:, -1], step.skew[:, -1])
            expected = step.mean[:, -1] + step.scale[:, -1] * innovation
            torch.testing.assert_close(paths[:, t], expected, msg=f"day {t}")
        # the first seq_len days are those of a path of seq_len days
        torch.testing.assert_close(paths[:, :8], module.rollout(z[:, :8], None))
