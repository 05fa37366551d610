"""Demonstrations: played, saved and loaded as ``.npz``, checked against the environment.

The ``.npz`` keys (every array plain, so it loads with ``allow_pickle=False``):

- ``observations`` ``(N, obs_dim)`` float: the state before each step;
- ``actions`` ``(N,)`` integers (discrete) or ``(N, act_dim)`` floats: what the env got;
- ``next_observations`` ``(N, obs_dim)`` float: the state after each step;
- ``episode_ends`` ``(E,)`` integers: the end (exclusive) of each episode in the rows,
  increasing, the last one ``N``;
- ``returns`` ``(E,)`` float: each episode's true return;
- ``env_id`` (a string) and ``horizon`` (an integer): where they were played.

Episodes played here last the fixed horizon (absorbing steps after the inner
episode's end included). A user's shorter episodes (recorded on the variable-horizon
environment) are padded to the horizon when loaded: the last next-observation
repeats as an absorbing state with the last action.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganforge.core.files import atomic_write
from ganforge.imitation.envs import EnvInfo, env_info, make_vector_env, rollout_seeds

PathLike = str | os.PathLike[str]
KEYS = ("observations", "actions", "next_observations", "episode_ends", "returns")
ActFn = Callable[[Tensor, torch.Generator], Tensor]


class DemoError(ValueError):
    """Demonstrations that cannot be used (one-line message)."""


@dataclass
class Demonstrations:
    """Expert transitions grouped in episodes (see the module docstring for the fields)."""

    observations: np.ndarray
    actions: np.ndarray
    next_observations: np.ndarray
    episode_ends: np.ndarray
    returns: np.ndarray
    env_id: str
    horizon: int

    @property
    def n_episodes(self) -> int:
        return len(self.episode_ends)

    def __len__(self) -> int:
        return len(self.observations)

    def first(self, episodes: int) -> Demonstrations:
        """The first ``episodes`` episodes."""
        if not 1 <= episodes <= self.n_episodes:
            raise DemoError(
                f"asked for {episodes} episodes, the demonstrations hold {self.n_episodes}"
            )
        stop = int(self.episode_ends[episodes - 1])
        return Demonstrations(
            self.observations[:stop],
            self.actions[:stop],
            self.next_observations[:stop],
            self.episode_ends[:episodes].copy(),
            self.returns[:episodes].copy(),
            self.env_id,
            self.horizon,
        )

    def transitions(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(obs, actions, next_obs)`` tensors for the discriminator's batches."""
        actions = torch.from_numpy(self.actions)
        actions = actions.long() if actions.dtype in (torch.int32, torch.int64) else actions.float()
        return (
            torch.from_numpy(self.observations).float(),
            actions,
            torch.from_numpy(self.next_observations).float(),
        )

    def mean_return(self) -> float:
        return float(np.mean(self.returns))

    def save(self, path: PathLike) -> Path:
        """Write the ``.npz`` atomically."""
        with atomic_write(path, "wb") as stream:
            np.savez(
                stream,
                observations=self.observations,
                actions=self.actions,
                next_observations=self.next_observations,
                episode_ends=self.episode_ends,
                returns=self.returns,
                env_id=np.array(self.env_id),
                horizon=np.array(self.horizon),
            )
        return Path(path)


def load_demos(
    path: PathLike, env_id: str | None = None, horizon: int | None = None
) -> Demonstrations:
    """Read and check a demonstrations ``.npz`` (one-line :class:`DemoError` otherwise).

    Args:
        path: the file.
        env_id: the environment they must fit (default: the one the file names).
        horizon: the fixed horizon (default: the file's, else the env's time limit).
    """
    path = Path(path)
    if not path.is_file():
        raise DemoError(f"no such demonstrations file: {path}")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            found = {key: arrays[key] for key in arrays.files}
    except (ValueError, OSError, EOFError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DemoError(f"{path}: not a readable .npz of plain arrays ({reason})") from None
    missing = [key for key in KEYS if key not in found]
    if missing:
        raise DemoError(f"{path} lacks {', '.join(missing)} (it holds {', '.join(sorted(found))})")
    named = str(found["env_id"]) if "env_id" in found and found["env_id"].ndim == 0 else None
    env_id = env_id or named
    if env_id is None:
        raise DemoError(f"{path} names no env_id: give the environment")
    if horizon is None and "horizon" in found and found["horizon"].ndim == 0:
        horizon = int(found["horizon"])
    info = env_info(env_id, horizon)
    return check_demos(found, info, str(path))


def check_demos(
    arrays: dict[str, np.ndarray], info: EnvInfo, where: str = "demonstrations"
) -> Demonstrations:
    """Validate raw arrays against ``info`` and pad short episodes to the horizon."""
    obs = _float_rows(arrays["observations"], "observations", info.obs_dim, where)
    following = _float_rows(arrays["next_observations"], "next_observations", info.obs_dim, where)
    n = len(obs)
    if n == 0:
        raise DemoError(f"{where} holds no transitions")
    if len(following) != n:
        raise DemoError(f"{where}: {len(following)} next_observations for {n} observations")
    actions = _actions(arrays["actions"], info, n, where)
    ends = np.asarray(arrays["episode_ends"])
    if ends.ndim != 1 or len(ends) == 0 or not np.issubdtype(ends.dtype, np.integer):
        raise DemoError(f"{where}: episode_ends must be a non-empty 1-D integer array")
    if ends[-1] != n or np.any(np.diff(np.concatenate([[0], ends])) <= 0):
        raise DemoError(
            f"{where}: episode_ends must increase and end at the number of transitions ({n}), "
            f"got {ends[:5].tolist()}{'...' if len(ends) > 5 else ''}"
        )
    returns = np.asarray(arrays["returns"], dtype=np.float64)
    if returns.shape != ends.shape or not np.isfinite(returns).all():
        raise DemoError(f"{where}: returns must be {len(ends)} finite numbers, one per episode")
    lengths = np.diff(np.concatenate([[0], ends]))
    if lengths.max() > info.horizon:
        raise DemoError(
            f"{where}: an episode of {lengths.max()} steps is longer than the horizon "
            f"{info.horizon}"
        )
    demos = _padded(obs, actions, following, ends, returns, info)
    return demos


def _float_rows(array: np.ndarray, name: str, width: int, where: str) -> np.ndarray:
    array = np.asarray(array)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise DemoError(f"{where}: {name} must be numbers, got {array.dtype}")
    if array.ndim != 2 or array.shape[1] != width:
        raise DemoError(
            f"{where}: {name} have shape {array.shape}, the environment's are (N, {width})"
        )
    if not np.isfinite(array).all():
        raise DemoError(f"{where}: {name} hold NaN or infinite values")
    return array.astype(np.float32)


def _actions(array: np.ndarray, info: EnvInfo, n: int, where: str) -> np.ndarray:
    array = np.asarray(array)
    if info.discrete:
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.shape != (n,) or not np.issubdtype(array.dtype, np.integer):
            raise DemoError(
                f"{where}: actions have shape {array.shape} ({array.dtype}); {info.env_id} needs "
                f"({n},) integers in [0, {info.n_actions})"
            )
        if array.min() < 0 or array.max() >= info.n_actions:
            raise DemoError(f"{where}: actions must lie in [0, {info.n_actions}) for {info.env_id}")
        return array.astype(np.int64)
    if array.ndim == 1 and info.act_dim == 1:
        array = array[:, None]
    if array.shape != (n, info.act_dim) or not np.issubdtype(array.dtype, np.number):
        raise DemoError(
            f"{where}: actions have shape {array.shape}; {info.env_id} needs ({n}, {info.act_dim})"
        )
    if not np.isfinite(array).all():
        raise DemoError(f"{where}: actions hold NaN or infinite values")
    low, high = np.asarray(info.low), np.asarray(info.high)
    if np.any(array < low - 1e-6) or np.any(array > high + 1e-6):
        raise DemoError(f"{where}: actions lie outside the bounds [{info.low}, {info.high}]")
    return array.astype(np.float32)


def _padded(
    obs: np.ndarray,
    actions: np.ndarray,
    following: np.ndarray,
    ends: np.ndarray,
    returns: np.ndarray,
    info: EnvInfo,
) -> Demonstrations:
    """Episodes shorter than the horizon continue in their absorbing state."""
    parts: dict[str, list[np.ndarray]] = {"o": [], "a": [], "n": []}
    start = 0
    for end in ends:
        o, a, f = obs[start:end], actions[start:end], following[start:end]
        pad = info.horizon - len(o)
        if pad:
            last = np.repeat(f[-1:], pad, axis=0)
            o, f = np.concatenate([o, last]), np.concatenate([f, last])
            a = np.concatenate([a, np.repeat(a[-1:], pad, axis=0)])
        parts["o"].append(o)
        parts["a"].append(a)
        parts["n"].append(f)
        start = end
    new_ends = np.arange(1, len(ends) + 1, dtype=np.int64) * info.horizon
    return Demonstrations(
        np.concatenate(parts["o"]),
        np.concatenate(parts["a"]),
        np.concatenate(parts["n"]),
        new_ends,
        returns.astype(np.float64),
        info.env_id,
        info.horizon,
    )


@dataclass
class Played:
    """Episodes played in parallel: arrays ``(T, E, ...)`` and one return per episode."""

    observations: np.ndarray
    actions: np.ndarray
    next_observations: np.ndarray
    returns: np.ndarray


@torch.no_grad()
def play(
    act: ActFn,
    env_id: str,
    episodes: int,
    seed: int = 0,
    horizon: int | None = None,
    device: torch.device | str = "cpu",
) -> Played:
    """Play ``episodes`` fixed-horizon episodes at once with ``act(obs, generator)``
    (which returns the env's actions)."""
    info = env_info(env_id, horizon)
    envs = make_vector_env(env_id, episodes, horizon)
    seeds = rollout_seeds(seed, 10**9 + 7, episodes)  # apart from every training rollout's
    generator = torch.Generator().manual_seed(int(seeds[0]))
    try:
        obs_np, _ = envs.reset(seed=seeds)
        obs_l, act_l, next_l = [], [], []
        totals = np.zeros(episodes)
        for _ in range(info.horizon):
            actions = act(torch.as_tensor(obs_np, dtype=torch.float32, device=device), generator)
            actions_np = actions.cpu().numpy()
            next_np, reward, _, truncated, step_info = envs.step(actions_np)
            real_next = np.array(next_np, dtype=np.float32, copy=True)
            if "_final_obs" in step_info:
                for i in np.flatnonzero(step_info["_final_obs"]):
                    real_next[i] = step_info["final_obs"][i]
            obs_l.append(np.asarray(obs_np, dtype=np.float32))
            act_l.append(actions_np)
            next_l.append(real_next)
            totals += reward
            obs_np = next_np
    finally:
        envs.close()
    return Played(np.stack(obs_l), np.stack(act_l), np.stack(next_l), totals)


def collect_demos(
    act: ActFn, env_id: str, episodes: int, seed: int = 0, horizon: int | None = None
) -> Demonstrations:
    """Play ``episodes`` episodes with ``act`` (an expert) and keep them as demonstrations."""
    info = env_info(env_id, horizon)
    played = play(act, env_id, episodes, seed, horizon)

    def rows(array: np.ndarray) -> np.ndarray:  # (T, E, ...) -> episode after episode
        return np.swapaxes(array, 0, 1).reshape(-1, *array.shape[2:])

    actions = rows(played.actions)
    actions = actions.astype(np.int64) if info.discrete else actions.astype(np.float32)
    return Demonstrations(
        rows(played.observations),
        actions,
        rows(played.next_observations),
        np.arange(1, episodes + 1, dtype=np.int64) * info.horizon,
        played.returns.astype(np.float64),
        env_id,
        info.horizon,
    )
