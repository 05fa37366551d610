"""Demonstrations: round trip through .npz, validation against the env, padding."""

import numpy as np
import pytest

from ganforge.imitation import DemoError, check_demos, env_info, load_demos


def test_collected_demos_have_the_documented_layout(cartpole_demos):
    d = cartpole_demos
    assert d.observations.shape == (2000, 4) and d.next_observations.shape == (2000, 4)
    assert d.actions.shape == (2000,) and d.actions.dtype == np.int64
    assert d.episode_ends.tolist() == [500, 1000, 1500, 2000]
    assert d.returns.tolist() == [500.0] * 4
    # next_observations[t] is observations[t + 1] inside an episode
    assert np.array_equal(d.next_observations[:499], d.observations[1:500])


def test_round_trip(cartpole_demos, tmp_path):
    path = cartpole_demos.save(tmp_path / "demos.npz")
    loaded = load_demos(path)
    for key in ("observations", "actions", "next_observations", "episode_ends", "returns"):
        assert np.array_equal(getattr(loaded, key), getattr(cartpole_demos, key)), key
    assert (loaded.env_id, loaded.horizon) == ("CartPole-v1", 500)
    assert loaded.first(2).n_episodes == 2 and len(loaded.first(2)) == 1000


def _arrays(d):
    return {
        "observations": d.observations.copy(),
        "actions": d.actions.copy(),
        "next_observations": d.next_observations.copy(),
        "episode_ends": d.episode_ends.copy(),
        "returns": d.returns.copy(),
    }


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda a: a.update(observations=a["observations"][:, :3]), "observations have shape"),
        (lambda a: a["observations"].__setitem__((5, 1), np.nan), "NaN"),
        (lambda a: a["next_observations"].__setitem__((7, 0), np.inf), "NaN or infinite"),
        (lambda a: a.update(actions=a["actions"] + 2), "actions must lie in [0, 2)"),
        (lambda a: a.update(actions=a["actions"].astype(np.float32)), "integers"),
        (lambda a: a.update(episode_ends=np.array([500, 400, 2000])), "must increase"),
        (lambda a: a.update(episode_ends=np.array([500, 1000, 1500, 1999])), "must increase"),
        (lambda a: a.update(returns=a["returns"][:2]), "one per episode"),
        (lambda a: a.update(episode_ends=np.array([1000, 2000]), returns=np.ones(2)), "longer"),
    ],
)
def test_bad_demos_are_one_line_errors(cartpole_demos, change, fragment):
    arrays = _arrays(cartpole_demos)
    change(arrays)
    with pytest.raises(DemoError, match=None) as caught:
        check_demos(arrays, env_info("CartPole-v1"))
    message = str(caught.value)
    assert fragment in message and "\n" not in message


def test_files_that_are_not_demos(cartpole_demos, tmp_path):
    pickled = tmp_path / "pickled.npz"
    arrays = _arrays(cartpole_demos)
    np.savez(pickled, **{**arrays, "observations": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(DemoError, match="not a readable .npz"):
        load_demos(pickled)
    missing = tmp_path / "missing.npz"
    np.savez(missing, observations=arrays["observations"])
    with pytest.raises(DemoError, match="lacks actions"):
        load_demos(missing, "CartPole-v1")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(DemoError, match="not a readable"):
        load_demos(garbage)
    with pytest.raises(DemoError, match="no such"):
        load_demos(tmp_path / "absent.npz")
    no_env = tmp_path / "no_env.npz"
    np.savez(no_env, **arrays)
    with pytest.raises(DemoError, match="names no env_id"):
        load_demos(no_env)
    # the same arrays do not fit Pendulum's spaces
    path = cartpole_demos.save(tmp_path / "cartpole.npz")
    with pytest.raises(DemoError, match=r"the environment's are \(N, 3\)"):
        load_demos(path, "Pendulum-v1")


def test_short_episodes_are_padded_with_their_absorbing_state():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(7, 4)).astype(np.float32)
    following = rng.normal(size=(7, 4)).astype(np.float32)
    arrays = {
        "observations": obs,
        "actions": np.array([0, 1, 0, 1, 1, 0, 1]),
        "next_observations": following,
        "episode_ends": np.array([3, 7]),
        "returns": np.array([3.0, 4.0]),
    }
    demos = check_demos(arrays, env_info("CartPole-v1", horizon=5))
    assert demos.episode_ends.tolist() == [5, 10]
    assert np.array_equal(demos.observations[:3], obs[:3])
    assert np.array_equal(demos.observations[3], following[2])  # absorbing from here
    assert np.array_equal(demos.next_observations[4], following[2])
    assert demos.actions[3:5].tolist() == [0, 0]
    assert np.array_equal(demos.observations[5:9], obs[3:7])
