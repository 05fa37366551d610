"""GAIL end to end on CartPole: it learns from demonstrations; save/load; spec errors."""

import numpy as np
import pytest
import torch

from ganforge.core.checkpoint import CheckpointError
from ganforge.imitation import (
    GAIL,
    DemoError,
    ExpertPPO,
    GAILSpec,
    agent_act,
    behavioural_cloning,
    collect_demos,
    play,
)

from .conftest import cartpole_controller

HORIZON = 100


@pytest.fixture(scope="module")
def short_demos():
    return collect_demos(cartpole_controller, "CartPole-v1", 2, seed=5, horizon=HORIZON)


def _spec(**options):
    base = {
        "env_id": "CartPole-v1",
        "horizon": HORIZON,
        "n_envs": 2,
        "total_steps": 12_000,
        "d_updates": 8,
        "lr": 1e-3,
        "minibatch_size": 64,
        "device": "cpu",
    }
    return GAILSpec(**{**base, **options})


@pytest.fixture(scope="module")
def fitted(short_demos):
    return GAIL(_spec()).fit(short_demos)


def test_a_short_run_improves_the_true_return(fitted, short_demos):
    assert short_demos.returns.tolist() == [HORIZON, HORIZON]
    steps, returns = fitted.learning_curve()
    assert steps[-1] == 12_000 and len(returns) == 60
    initial = returns[0]  # the untrained policy's rollout (about 20)
    final = fitted.evaluate(episodes=20)
    assert initial < 40
    assert final > initial + 30, (initial, final)
    accuracy = [r["D/accuracy"] for r in fitted.history if "D/accuracy" in r]
    assert max(accuracy) > 0.7  # the discriminator tells the two apart at some point


def test_save_and_load_act_identically(fitted, tmp_path):
    path = fitted.save(tmp_path / "gail.pt")
    loaded = GAIL.load(path, "cpu")
    assert loaded.spec == fitted.spec
    obs = torch.randn(64, 4)
    assert torch.equal(loaded.act(obs, deterministic=True), fitted.act(obs, deterministic=True))
    a = loaded.act(obs, torch.Generator().manual_seed(1))
    b = fitted.act(obs, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    for key, value in fitted.agent.norm.state_dict().items():
        assert torch.equal(loaded.agent.norm.state_dict()[key], value)
    with pytest.raises(CheckpointError, match="not a imitation.ExpertPPO"):
        ExpertPPO.load(path)


def test_two_fits_with_one_seed_are_identical(short_demos):
    spec = _spec(total_steps=800, epochs=1)
    a, b = GAIL(spec).fit(short_demos), GAIL(spec).fit(short_demos)
    for key, value in a.agent.state_dict().items():
        assert torch.equal(b.agent.state_dict()[key], value), key


def test_demos_of_another_env_or_horizon_are_refused(short_demos):
    with pytest.raises(DemoError, match="horizon 100"):
        GAIL(_spec(horizon=50)).fit(short_demos)
    with pytest.raises(DemoError, match="model imitates Acrobot-v1"):
        GAIL(_spec(env_id="Acrobot-v1")).fit(short_demos)


def test_the_s_a_s_prime_discriminator_and_airl_reward_train(short_demos):
    model = GAIL(_spec(total_steps=800, next_obs=True, reward="airl", d_gradient_penalty=1.0))
    model.fit(short_demos)
    obs = torch.randn(3, 4)
    logits = model.discriminator(obs, torch.tensor([0, 1, 0]), obs)
    assert logits.shape == (3,) and torch.isfinite(logits).all()
    assert "D/gradient_penalty" in model.history[-1]


def test_behavioural_cloning_copies_a_deterministic_controller(short_demos):
    bc = behavioural_cloning(short_demos, steps=600, seed=0)
    returns = play(agent_act(bc), "CartPole-v1", 10, seed=2, horizon=HORIZON).returns
    assert returns.mean() > 50


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"n_envs": 0}, "n_envs"),
        ({"lr": 0.0}, "lr"),
        ({"gamma": 1.5}, "gamma"),
        ({"reward": "wgan"}, "reward must be one of"),
        ({"d_updates": 0}, "d_updates"),
        ({"hidden": ()}, "hidden"),
        ({"horizon": -3}, "horizon"),
    ],
)
def test_bad_settings_are_one_line_errors(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        _spec(**options)


def test_expert_file_round_trip(tmp_path):
    expert = ExpertPPO(env_id="CartPole-v1", horizon=20, n_envs=2, total_steps=40, device="cpu")
    expert.fit()
    assert expert.expert_return is not None and 0 < expert.expert_return <= 20
    loaded = ExpertPPO.load(expert.save(tmp_path / "expert.pt"))
    assert loaded.expert_return == expert.expert_return
    obs = np.zeros((2, 4), np.float32)
    assert torch.equal(loaded.act(obs, deterministic=True), expert.act(obs, deterministic=True))


@pytest.mark.parametrize("normalize", [True, False])
def test_the_policy_reward_is_the_discriminators_raw_or_standardised(normalize):
    from ganforge.imitation import GAILModule, collect_rollout

    module = GAILModule(_spec(normalize_reward=normalize, n_envs=2, horizon=20))
    try:
        rollout = collect_rollout(
            module.agent, module.envs, 20, [1, 2], torch.Generator().manual_seed(0),
            torch.device("cpu"),
        )  # fmt: skip
        rewards = module.rewards(rollout, None)
        logits = module.logits(
            rollout.flat("obs"), rollout.flat("env_actions"), rollout.flat("next_obs")
        )
    finally:
        module.close()
    raw = torch.nn.functional.softplus(logits).reshape(20, 2)
    assert rewards.shape == (20, 2)
    if normalize:
        expected = (raw - raw.mean()) / raw.std()
        assert torch.allclose(rewards, expected, atol=1e-5)
        assert abs(float(rewards.mean())) < 1e-5 and abs(float(rewards.std()) - 1) < 1e-4
    else:
        assert torch.allclose(rewards, raw)
        assert bool((rewards > 0).all())  # -log(1 - D) is positive


def test_the_pendulum_preset_keeps_the_raw_reward():
    from ganforge.imitation import preset

    assert GAILSpec(**preset("Pendulum-v1", "gail")).normalize_reward is False
    assert GAILSpec(**preset("CartPole-v1", "gail")).normalize_reward is True
