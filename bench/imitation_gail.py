"""GAIL against behavioural cloning, the expert and a random policy (issue 20).

Protocol, per environment (CartPole-v1, Acrobot-v1, Pendulum-v1), on one CPU thread:

* the expert: PPO on the environment's true reward with the package's preset,
  trained here and cached (``~/.cache/ganforge/imitation``); ``expert_return`` is
  its mean true return over 50 stochastic episodes of the fixed-horizon env;
* 16 demonstration episodes played by the expert (seed 1000); GAIL and behavioural
  cloning each train on the first 1, 4 and 16 of them (GAIL: the package's preset,
  seed 0, ``total_steps`` environment steps; BC: 2,000 Adam steps);
* every policy is scored over 50 stochastic episodes on the fixed-horizon env;
  ``gail_fraction`` / ``bc_fraction`` are ``(R - R_random) / (R_expert - R_random)``
  (Ho & Ermon 2016's scaling: random 0, expert 1);
* ``seconds``: GAIL's training seconds summed over the runs; per run under
  ``gail_seconds``;
* ``gail_steps_to_095``: with 4 demos, the environment steps (absorbing steps of the
  fixed horizon included) after which the mean true return of the last three
  training rollouts (stochastic policy, 6 episodes on CartPole) first reached 0.95
  of the expert on that scale; ``gail_seconds_to_095`` the wall seconds to that
  point at the run's mean speed; ``env_steps_per_second`` GAIL's training steps
  over its wall time (rollouts, discriminator and PPO together).

Peer (measured by the issue's author, not in this run): HumanCompatibleAI/imitation
1.0.1 (gymnasium 0.29, SB3 2.2.1) reaches 500 on CartPole-v1 after 197k generator
steps with ``allow_variable_horizon`` (46 s), 262k on the fixed-horizon seals
CartPole (64 s). Targets: GAIL >= 0.95 with 4 demos on all three, and on CartPole
in fewer than 197k steps.

Each finished (env, demos) run is kept as one JSON in the cache folder, so an
interrupted bench resumes; the result is rewritten after every run.

Usage: OMP_NUM_THREADS=1 python bench/imitation_gail.py [--envs CartPole-v1 ...]
       [--demos 1 4 16] [--fresh] [--cached-only]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

from ganforge.core.files import cache_dir, write_json
from ganforge.imitation import (
    GAIL,
    GAILSpec,
    agent_act,
    behavioural_cloning,
    collect_demos,
    fraction_of_expert,
    load_or_train_expert,
    play,
    preset,
    random_return,
    steps_to_fraction,
)

RESULT = Path(__file__).parent / "results" / "imitation_gail.json"
ROWS = cache_dir() / "bench_imitation_gail"
ENVS = ("CartPole-v1", "Acrobot-v1", "Pendulum-v1")
DEMOS = (1, 4, 16)
EPISODES = 50
DEMO_SEED = 1000
PEER = {
    "library": "HumanCompatibleAI/imitation 1.0.1 (gymnasium 0.29, stable-baselines3 2.2.1)",
    "cartpole_variable_horizon_steps_to_500": 197_000,
    "cartpole_variable_horizon_seconds": 46,
    "seals_cartpole_fixed_horizon_steps_to_500": 262_000,
    "seals_cartpole_fixed_horizon_seconds": 64,
    "measured": "by the issue's author, not in this run",
}


def _row_path(env_id: str, demos: int) -> Path:
    return ROWS / f"{env_id}-{demos}.json"


def run_one(env_id: str, k: int, expert_return: float, chance: float) -> dict[str, Any]:
    """GAIL and BC on the first ``k`` demonstrations; scored over 50 stochastic episodes."""
    expert = load_or_train_expert(env_id)
    demos = collect_demos(expert.act, env_id, max(DEMOS), seed=DEMO_SEED).first(k)
    spec = GAILSpec(**{**preset(env_id, "gail"), "device": "cpu", "seed": 0})
    started = time.perf_counter()
    model = GAIL(spec).fit(demos)
    seconds = time.perf_counter() - started
    steps, returns = model.learning_curve()
    gail = float(play(model.act, env_id, EPISODES, seed=0).returns.mean())
    bc_agent = behavioural_cloning(demos, hidden=spec.hidden, seed=0)
    bc = float(play(agent_act(bc_agent), env_id, EPISODES, seed=0).returns.mean())
    return {
        "demos": k,
        "demo_return": demos.mean_return(),
        "gail_return": gail,
        "bc_return": bc,
        "gail_fraction": fraction_of_expert(gail, expert_return, chance),
        "bc_fraction": fraction_of_expert(bc, expert_return, chance),
        "env_steps": int(steps[-1]),
        "seconds": seconds,
        "env_steps_per_second": float(steps[-1] / seconds),
        "curve": {"env_steps": steps.tolist(), "return": returns.tolist()},
    }


def bench_env(
    env_id: str, demo_counts: tuple[int, ...], fresh: bool, publish: Any, cached_only: bool
) -> dict[str, Any]:
    """Every demo count on ``env_id``; ``publish(summary)`` after each finished run."""
    expert = load_or_train_expert(env_id, progress=True)
    expert_return = float(expert.expert_return)
    chance = random_return(env_id, episodes=EPISODES)
    rows: dict[str, dict[str, Any]] = {}
    for k in demo_counts:
        path = _row_path(env_id, k)
        if path.is_file() and not fresh:
            rows[str(k)] = json.loads(path.read_text())
            continue
        if cached_only:
            continue
        print(f"{env_id}: GAIL and BC with {k} demos ...", flush=True)
        rows[str(k)] = run_one(env_id, k, expert_return, chance)
        write_json(path, rows[str(k)])
        r = rows[str(k)]
        print(
            f"  GAIL {r['gail_return']:.1f} ({r['gail_fraction']:.2f}), BC {r['bc_return']:.1f} "
            f"({r['bc_fraction']:.2f}), {r['seconds']:.0f} s",
            flush=True,
        )
        publish(summarise(env_id, rows, expert_return, chance))
    if not rows:
        return {"gail_seconds": {}}
    return summarise(env_id, rows, expert_return, chance)


def summarise(
    env_id: str, rows: dict[str, dict[str, Any]], expert_return: float, chance: float
) -> dict[str, Any]:
    """The env's entry of the result from its finished runs."""
    rows = {k: rows[k] for k in sorted(rows, key=int)}
    for row in rows.values():  # from the stored curve, so the rule applies to cached runs
        curve = row["curve"]
        reached = steps_to_fraction(curve["env_steps"], curve["return"], expert_return, chance)
        row["steps_to_095"] = reached
        speed = row["env_steps"] / row["seconds"]
        row["seconds_to_095"] = None if reached is None else reached / speed
    four = rows.get("4", {})
    return {
        "expert_return": expert_return,
        "random_return": chance,
        "gail_fraction": {k: r["gail_fraction"] for k, r in rows.items()},
        "bc_fraction": {k: r["bc_fraction"] for k, r in rows.items()},
        "gail_return": {k: r["gail_return"] for k, r in rows.items()},
        "bc_return": {k: r["bc_return"] for k, r in rows.items()},
        "gail_steps_to_095": four.get("steps_to_095"),
        "gail_seconds_to_095": four.get("seconds_to_095"),
        "gail_seconds": {k: r["seconds"] for k, r in rows.items()},
        "gail_env_steps": {k: r["env_steps"] for k, r in rows.items()},
        "env_steps_per_second": (
            sum(r["env_steps"] for r in rows.values()) / sum(r["seconds"] for r in rows.values())
        ),
        "gail_settings": {**preset(env_id, "gail")},
        "curve_4_demos": four.get("curve"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--demos", nargs="+", type=int, default=list(DEMOS))
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    parser.add_argument(
        "--cached-only", action="store_true", help="report the cached runs, train nothing"
    )
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    result: dict[str, Any] = {"envs": {}}
    if RESULT.is_file():
        result["envs"] = json.loads(RESULT.read_text()).get("envs", {})

    def publish(env_id: str, entry: dict[str, Any]) -> None:
        result["envs"][env_id] = entry
        runs = [s for e in result["envs"].values() for s in e["gail_seconds"].values()]
        result.update(
            {
                "seconds": sum(runs),
                "seconds_note": "GAIL training seconds summed over every run in envs "
                "(cached runs included; experts, BC and evaluation not counted)",
                "evaluation": f"{EPISODES} stochastic episodes on the fixed-horizon env; "
                "fraction = (R - R_random) / (R_expert - R_random)",
                "peer": PEER,
                "targets": {"gail_fraction_4_demos": 0.95, "cartpole_steps_to_095": 197_000},
                "machine": f"{platform.processor() or platform.machine()}, 1 torch thread",
            }
        )
        write_json(RESULT, result)

    for env_id in arguments.envs:
        entry = bench_env(
            env_id,
            tuple(arguments.demos),
            arguments.fresh,
            lambda partial, env_id=env_id: publish(env_id, partial),
            arguments.cached_only,
        )
        if entry["gail_seconds"]:
            publish(env_id, entry)
    print(json.dumps({k: v for k, v in result.items() if k != "envs"}, indent=1))


if __name__ == "__main__":
    main()
