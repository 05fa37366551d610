"""Which PPO drives GAIL: stable-baselines3's or the package's own (issue 20's decision).

Both train an expert on the same fixed-horizon CartPole-v1 (500 steps, absorbing
after a fall) from the environment's reward, in one process, one after the other,
on one CPU thread, with the same settings: 2 environment copies x 500 steps per
rollout, 10 epochs of minibatches of 64, Adam 1e-3 annealed linearly to 0,
gamma 0.99, GAE lambda 0.95, clip 0.2, no entropy bonus, value weight 0.5,
gradient norm 0.5, separate 64-64 tanh actor and critic, ``total_steps`` steps.

Measured: wall seconds (and their ratio, the machine being shared), environment
steps per second, the environment steps after which the mean return of the last
three rollouts first reached 475 (0.95 of 500), and the final policy's mean return
over 50 stochastic episodes.

Usage: OMP_NUM_THREADS=1 python bench/imitation_ppo.py [--total-steps 100000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.core.files import write_json
from ganforge.imitation import ExpertPPO, PPOSpec, make_env, play

RESULT = Path(__file__).parent / "results" / "imitation_ppo.json"
ENV = "CartPole-v1"
SETTINGS = {
    "n_envs": 2,
    "lr": 1e-3,
    "minibatch_size": 64,
    "epochs": 10,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip": 0.2,
    "ent_coef": 0.0,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
}


def _steps_to(steps: list[float], returns: list[float], level: float = 475.0) -> int | None:
    for index in range(2, len(returns)):
        if np.mean(returns[index - 2 : index + 1]) >= level:
            return int(steps[index])
    return None


def ours(total_steps: int) -> dict[str, Any]:
    spec = PPOSpec(env_id=ENV, total_steps=total_steps, device="cpu", seed=0, **SETTINGS)
    started = time.perf_counter()
    expert = ExpertPPO(spec)
    super(ExpertPPO, expert).fit(None)  # training alone; evaluated below like SB3's
    seconds = time.perf_counter() - started
    rows = [r for r in expert.history if "rollout/return" in r]
    steps = [r["rollout/env_steps"] for r in rows]
    returns = [r["rollout/return"] for r in rows]
    final = float(play(expert.act, ENV, 50, seed=0).returns.mean())
    return _row(seconds, steps, returns, final, total_steps)


def sb3(total_steps: int) -> dict[str, Any]:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    class Curve(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.steps: list[float] = []
            self.returns: list[float] = []

        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            episodes = list(self.model.ep_info_buffer)[-SETTINGS["n_envs"] :]
            if episodes:
                self.steps.append(float(self.num_timesteps))
                self.returns.append(float(np.mean([e["r"] for e in episodes])))

    envs = DummyVecEnv([lambda: Monitor(make_env(ENV)) for _ in range(SETTINGS["n_envs"])])
    envs.seed(0)
    torch.manual_seed(0)
    model = PPO(
        "MlpPolicy",
        envs,
        n_steps=500,
        batch_size=SETTINGS["minibatch_size"],
        n_epochs=SETTINGS["epochs"],
        learning_rate=lambda progress: SETTINGS["lr"] * progress,
        gamma=SETTINGS["gamma"],
        gae_lambda=SETTINGS["gae_lambda"],
        clip_range=SETTINGS["clip"],
        ent_coef=SETTINGS["ent_coef"],
        vf_coef=SETTINGS["vf_coef"],
        max_grad_norm=SETTINGS["max_grad_norm"],
        policy_kwargs={"net_arch": {"pi": [64, 64], "vf": [64, 64]}},
        seed=0,
        device="cpu",
        verbose=0,
    )
    curve = Curve()
    started = time.perf_counter()
    model.learn(total_steps, callback=curve)
    seconds = time.perf_counter() - started

    def act(obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        actions, _ = model.predict(obs.numpy(), deterministic=False)
        return torch.as_tensor(actions)

    final = float(play(act, ENV, 50, seed=0).returns.mean())
    return _row(seconds, curve.steps, curve.returns, final, total_steps)


def _row(
    seconds: float, steps: list[float], returns: list[float], final: float, total: int
) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "env_steps_per_second": total / seconds,
        "steps_to_475": _steps_to(steps, returns),
        "final_return_50_stochastic": final,
        "curve": {"env_steps": steps, "return": returns},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total-steps", type=int, default=100_000)
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    result = {
        "env": f"{ENV}, fixed horizon 500 (absorbing after a fall), true reward",
        "settings": {**SETTINGS, "n_steps_per_env": 500, "total_steps": arguments.total_steps},
        "ganforge_ppo": ours(arguments.total_steps),
        "stable_baselines3_ppo": sb3(arguments.total_steps),
    }
    result["seconds_ratio_sb3_to_ours"] = (
        result["stable_baselines3_ppo"]["seconds"] / result["ganforge_ppo"]["seconds"]
    )
    write_json(RESULT, result)
    for name in ("ganforge_ppo", "stable_baselines3_ppo"):
        row = result[name]
        print(
            f"{name}: {row['seconds']:.1f} s, steps to 475 {row['steps_to_475']}, "
            f"final {row['final_return_50_stochastic']:.1f}"
        )


if __name__ == "__main__":
    main()
