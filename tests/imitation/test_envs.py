"""Fixed-horizon environments, their spaces and bad env ids."""

import numpy as np
import pytest

from ganforge.imitation import EnvError, env_info, make_env, make_vector_env


def test_fixed_horizon_keeps_the_return_and_absorbs_after_the_fall():
    fixed, variable = make_env("CartPole-v1"), make_env("CartPole-v1", fixed_horizon=False)
    obs_f, _ = fixed.reset(seed=4)
    obs_v, _ = variable.reset(seed=4)
    assert np.array_equal(obs_f, obs_v)
    steps, total_f, total_v, done_v = 0, 0.0, 0.0, False
    last = None
    while True:
        obs_f, reward, terminated, truncated, info = fixed.step(0)  # always left: falls fast
        steps += 1
        total_f += reward
        assert not terminated
        if not done_v:
            obs_v, reward_v, term_v, trunc_v, _ = variable.step(0)
            total_v += reward_v
            done_v = term_v or trunc_v
            last = obs_v
            assert np.array_equal(obs_f, obs_v)
        else:
            assert info.get("absorbing") and reward == 0.0
            assert np.array_equal(obs_f, last)  # the terminal observation repeats
        if truncated:
            break
    assert steps == 500 and done_v and total_f == total_v and total_v < 20


def test_env_info_of_discrete_and_continuous_envs():
    cart = env_info("CartPole-v1")
    assert (cart.obs_dim, cart.discrete, cart.n_actions, cart.horizon) == (4, True, 2, 500)
    assert cart.action_features == 2 and cart.action_shape == ()
    pendulum = env_info("Pendulum-v1", horizon=50)
    assert (pendulum.obs_dim, pendulum.discrete, pendulum.act_dim) == (3, False, 1)
    assert pendulum.low == (-2.0,) and pendulum.high == (2.0,) and pendulum.horizon == 50


@pytest.mark.parametrize(
    ("env_id", "fragment"),
    [
        ("NoSuchEnv-v0", "unknown gymnasium environment"),
        ("CartPole-v99", "unknown gymnasium environment"),
        ("", "non-empty"),
        ("Blackjack-v1", "flat Box is needed"),
    ],
)
def test_bad_env_ids_are_one_line_errors(env_id, fragment):
    with pytest.raises(EnvError, match=fragment) as caught:
        env_info(env_id)
    assert "\n" not in str(caught.value)


def test_bad_horizon():
    with pytest.raises(EnvError, match="horizon must be"):
        env_info("CartPole-v1", horizon=0)


def test_vector_env_resets_every_copy_with_its_seed():
    envs = make_vector_env("CartPole-v1", 3, horizon=10)
    first, _ = envs.reset(seed=[1, 2, 3])
    again, _ = envs.reset(seed=[1, 2, 3])
    assert np.array_equal(first, again) and first.shape == (3, 4)
    for _ in range(10):
        _, _, terminated, truncated, _ = envs.step(np.zeros(3, dtype=np.int64))
    assert truncated.all() and not terminated.any()  # every copy ends at the horizon together
