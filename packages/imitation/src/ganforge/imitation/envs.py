"""Environments: any gymnasium id, made fixed-horizon against survival bias, vectorised.

Survival bias: with episodes of varying length, a positive reward per step (and
GAIL's ``-log(1 - D)`` is always positive) rewards staying alive, whatever the
policy does; a negative one rewards ending early. :class:`FixedHorizon` removes
the bias the way seals does (``AbsorbAfterDoneWrapper``): every episode lasts
exactly ``horizon`` steps; once the inner episode ends, the wrapper repeats its
last observation (an absorbing state) with reward 0 until the horizon. The true
return of an episode is unchanged (CartPole: the steps the pole stayed up).

:class:`EnvInfo` holds what the networks need to know of the spaces, and the
vectorised environment is gymnasium's :class:`~gymnasium.vector.SyncVectorEnv`
with same-step autoreset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class EnvError(ValueError):
    """An environment id that cannot be used here (one-line message)."""


class FixedHorizon(gym.Wrapper):
    """Episodes of exactly ``horizon`` steps; after the inner episode ends, its last
    observation repeats with reward 0 (``info["absorbing"]`` is True there)."""

    def __init__(self, env: gym.Env, horizon: int) -> None:
        super().__init__(env)
        self.horizon = int(horizon)
        self._t = 0
        self._absorbed: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._t, self._absorbed = 0, None
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self._t += 1
        if self._absorbed is not None:
            obs, reward, info = self._absorbed, 0.0, {"absorbing": True}
        else:
            obs, reward, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                self._absorbed = obs
        return obs, float(reward), False, self._t >= self.horizon, info


@dataclass(frozen=True)
class EnvInfo:
    """The spaces of an environment as the networks see them.

    Attributes:
        env_id: the gymnasium id.
        obs_dim: length of the (flat) observation.
        discrete: whether actions are ``Discrete(n_actions)``.
        n_actions: the number of discrete actions (0 for continuous ones).
        act_dim: length of a continuous action (1 for discrete).
        low, high: the bounds of a continuous action (empty for discrete).
        horizon: the fixed episode length (the env's time limit unless given).
    """

    env_id: str
    obs_dim: int
    discrete: bool
    n_actions: int
    act_dim: int
    low: tuple[float, ...]
    high: tuple[float, ...]
    horizon: int

    @property
    def action_shape(self) -> tuple[int, ...]:
        """The shape of one action as stored (``()`` for discrete)."""
        return () if self.discrete else (self.act_dim,)

    @property
    def action_features(self) -> int:
        """Width of an action as the discriminator sees it (one-hot when discrete)."""
        return self.n_actions if self.discrete else self.act_dim


def _make_raw(env_id: str) -> gym.Env:
    if not isinstance(env_id, str) or not env_id:
        raise EnvError(f"env id must be a non-empty string, got {env_id!r}")
    try:
        return gym.make(env_id)
    except gym.error.Error as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise EnvError(f"unknown gymnasium environment {env_id!r}: {first}") from None
    except (ImportError, ModuleNotFoundError) as error:
        raise EnvError(f"environment {env_id!r} needs a package not installed: {error}") from None


def env_info(env_id: str, horizon: int | None = None) -> EnvInfo:
    """What the networks need of ``env_id`` (a one-line :class:`EnvError` for an id that is
    unknown, has non-flat observations or non-Box/Discrete actions, or no time limit)."""
    env = _make_raw(env_id)
    try:
        obs_space, act_space = env.observation_space, env.action_space
        limit = env.spec.max_episode_steps if env.spec is not None else None
    finally:
        env.close()
    if not (isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1):
        raise EnvError(f"{env_id} has observations {obs_space}; a flat Box is needed")
    if horizon is None:
        if limit is None:
            raise EnvError(f"{env_id} has no time limit: give a horizon")
        horizon = int(limit)
    if not (isinstance(horizon, int) and horizon >= 1):
        raise EnvError(f"horizon must be an integer >= 1, got {horizon!r}")
    if isinstance(act_space, spaces.Discrete):
        return EnvInfo(env_id, obs_space.shape[0], True, int(act_space.n), 1, (), (), horizon)
    if isinstance(act_space, spaces.Box) and len(act_space.shape) == 1:
        low = tuple(float(v) for v in act_space.low)
        high = tuple(float(v) for v in act_space.high)
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise EnvError(f"{env_id} has unbounded actions {act_space}; bounded ones are needed")
        return EnvInfo(env_id, obs_space.shape[0], False, 0, act_space.shape[0], low, high, horizon)
    raise EnvError(f"{env_id} has actions {act_space}; Discrete or a flat Box is needed")


def make_env(env_id: str, horizon: int | None = None, fixed_horizon: bool = True) -> gym.Env:
    """One environment: fixed-horizon (default) or the env's own variable episodes."""
    info = env_info(env_id, horizon)
    env = _make_raw(env_id)
    if fixed_horizon:
        return FixedHorizon(env, info.horizon)
    return env


def make_vector_env(
    env_id: str, n_envs: int, horizon: int | None = None, fixed_horizon: bool = True
) -> gym.vector.SyncVectorEnv:
    """``n_envs`` copies in one :class:`~gymnasium.vector.SyncVectorEnv` (same-step autoreset:
    the observation after an episode's end is the next episode's first, the final one is in
    ``info["final_obs"]``)."""
    env_info(env_id, horizon)  # one-line errors before any copy is made
    return gym.vector.SyncVectorEnv(
        [lambda: make_env(env_id, horizon, fixed_horizon) for _ in range(n_envs)],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )


def rollout_seeds(seed: int, iteration: int, n: int) -> list[int]:
    """The reset seeds of ``n`` environments for one rollout: a function of (seed,
    iteration) alone, so a resumed run resets its environments exactly as the killed one."""
    sequence = np.random.SeedSequence([int(seed), int(iteration), 0x6A11])
    return [int(s) for s in sequence.generate_state(n, dtype=np.uint32)]
