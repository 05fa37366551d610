"""Evaluation against the expert, behavioural cloning and a random policy, as a plain dict.

Every policy plays 50 stochastic episodes on the fixed-horizon environment (a
deterministic evaluation on the variable-horizon env flatters everything). A
return is reported as a fraction of the expert's: ``(R - R_random) / (R_expert -
R_random)`` (Ho & Ermon 2016's scaling: random 0, expert 1), which is also
meaningful for negative returns (Acrobot, Pendulum).
"""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ganforge.core.files import write_json  # noqa: E402
from ganforge.imitation.baselines import agent_act, behavioural_cloning, random_act  # noqa: E402
from ganforge.imitation.demos import Demonstrations, play  # noqa: E402
from ganforge.imitation.envs import env_info  # noqa: E402

EVAL_EPISODES = 50


def fraction_of_expert(value: float, expert: float, random: float) -> float:
    """``(value - random) / (expert - random)``: 0 for the random policy, 1 for the expert."""
    if expert == random:
        raise ValueError("the expert's return equals the random policy's: no scale to measure on")
    return float((value - random) / (expert - random))


def steps_to_fraction(
    steps: np.ndarray,
    returns: np.ndarray,
    expert: float,
    random: float,
    fraction: float = 0.95,
    window: int = 3,
) -> int | None:
    """The first environment step count at which the mean true return of the last
    ``window`` training rollouts reached ``fraction`` of the expert (``None`` if never):
    one lucky rollout of a few episodes does not count."""
    returns = np.asarray(returns, dtype=np.float64)
    for index in range(window - 1, len(returns)):
        value = float(returns[index - window + 1 : index + 1].mean())
        if fraction_of_expert(value, expert, random) >= fraction:
            return int(steps[index])
    return None


def random_return(
    env_id: str, horizon: int | None = None, episodes: int = EVAL_EPISODES, seed: int = 0
) -> float:
    """Mean true return of uniformly random actions."""
    info = env_info(env_id, horizon)
    return float(play(random_act(info), env_id, episodes, seed, horizon).returns.mean())


def evaluate(
    model: Any,
    demos: Demonstrations,
    *,
    expert_return: float | None = None,
    baselines: bool = True,
    episodes: int = EVAL_EPISODES,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The model's true return beside the expert's, BC's (same demos) and a random policy's.

    Args:
        model: a fitted :class:`~ganforge.imitation.GAIL` (or anything with ``act``
            and ``spec``).
        demos: the demonstrations it imitated (BC trains on the same).
        expert_return: the expert's mean return (default: the demonstrations' mean).
        baselines: also train and score behavioural cloning.
        episodes: stochastic episodes per policy.
        out: write the dict there as JSON (atomically).
    """
    spec = model.spec
    horizon = demos.horizon
    expert = demos.mean_return() if expert_return is None else float(expert_return)
    chance = random_return(spec.env_id, horizon, episodes, seed)
    own = float(play(model.act, spec.env_id, episodes, seed, horizon).returns.mean())
    result: dict[str, Any] = {
        "env_id": spec.env_id,
        "horizon": horizon,
        "episodes": episodes,
        "demo_episodes": demos.n_episodes,
        "return": own,
        "expert_return": expert,
        "random_return": chance,
        "fraction": fraction_of_expert(own, expert, chance),
    }
    if baselines:
        bc = behavioural_cloning(demos, hidden=spec.hidden, seed=seed)
        bc_value = float(play(agent_act(bc), spec.env_id, episodes, seed, horizon).returns.mean())
        result["bc_return"] = bc_value
        result["bc_fraction"] = fraction_of_expert(bc_value, expert, chance)
    curve = getattr(model, "learning_curve", None)
    steps, returns = curve() if curve is not None else ([], [])
    if len(steps):
        result["env_steps"] = int(steps[-1])
        result["steps_to_095"] = steps_to_fraction(steps, returns, expert, chance)
    if out is not None:
        write_json(out, result)
    return result


def learning_curve_figure(
    steps: np.ndarray,
    returns: np.ndarray,
    expert: float,
    bc: float | None = None,
    random: float | None = None,
    title: str = "",
) -> Figure:
    """Return against environment steps, with the expert's (and BC's, random's) lines."""
    figure, axis = plt.subplots(figsize=(6, 3.6))
    axis.plot(steps, returns, label="GAIL (rollout mean)", color="C0")
    axis.axhline(expert, color="C2", linestyle="--", label=f"expert {expert:.0f}")
    if bc is not None:
        axis.axhline(bc, color="C1", linestyle=":", label=f"behavioural cloning {bc:.0f}")
    if random is not None:
        axis.axhline(random, color="0.5", linestyle="-.", label=f"random {random:.0f}")
    axis.set_xlabel("environment steps")
    axis.set_ylabel("true return")
    if title:
        axis.set_title(title)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    return figure
