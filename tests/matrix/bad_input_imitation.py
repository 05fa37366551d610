"""Bad input for `ganforge imitation ...` (see test_cli_bad_input.py)."""

import json
from pathlib import Path

import numpy as np

EXPERT = "imitation expert --out {out} --no-progress --total-steps 40 --horizon 20 "
DEMOS = "imitation demos --out {out} "
TRAIN = "imitation train --out {out} --no-progress --total-steps 40 --n-envs 2 "
EVAL = "imitation evaluate --out {out} --episodes 2 --no-baselines "


def _arrays(n: int = 40) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "observations": rng.normal(0, 0.05, (n, 4)).astype(np.float32),
        "actions": np.arange(n) % 2,
        "next_observations": rng.normal(0, 0.05, (n, 4)).astype(np.float32),
        "episode_ends": np.array([n // 2, n]),
        "returns": np.array([20.0, 20.0]),
        "env_id": np.array("CartPole-v1"),
        "horizon": np.array(20),
    }


def files(tmp: Path) -> dict[str, Path]:
    """Demonstrations wrong in one way each, good ones, and small model files."""
    made: dict[str, Path] = {}
    variants = {
        "demos": {},
        "nan_demos": {"observations": np.full((40, 4), np.nan, np.float32)},
        "narrow_demos": {"observations": np.zeros((40, 3), np.float32)},
        "action_demos": {"actions": np.full(40, 5)},
        "ends_demos": {"episode_ends": np.array([30, 20])},
        "pickled_demos": {"returns": np.array([{"a": 1}, None], dtype=object)},
    }
    for name, change in variants.items():
        made[name] = tmp / f"{name}.npz"
        np.savez(made[name], **{**_arrays(), **change})
    no_actions = {k: v for k, v in _arrays().items() if k != "actions"}
    made["no_actions_demos"] = tmp / "no_actions.npz"
    np.savez(made["no_actions_demos"], **no_actions)
    made["unknown_key"] = tmp / "unknown_key.json"
    made["unknown_key"].write_text(json.dumps({"width": 3}))
    made["model"], made["expert"] = _small_models(tmp)
    return made


def _small_models(tmp: Path) -> tuple[Path, Path]:
    """A GAIL and an expert model file with untrained networks (CartPole, horizon 20)."""
    from ganforge.imitation import GAIL, Agent, Discriminator, ExpertPPO, env_info

    info = env_info("CartPole-v1", 20)
    gail = GAIL(env_id="CartPole-v1", horizon=20, hidden=(8,), d_hidden=(8,), device="cpu")
    gail.agent, gail.discriminator = Agent(info, (8,)), Discriminator(info, (8,))
    expert = ExpertPPO(env_id="CartPole-v1", horizon=20, hidden=(8,), device="cpu")
    expert.agent = Agent(info, (8,))
    return gail.save(tmp / "gail.pt"), expert.save(tmp / "expert.pt")


CASES = {
    "expert on an unknown env id": (EXPERT + "--env-id NoSuchEnv-v0", "unknown gymnasium"),
    "expert on an env with tuple observations": (
        EXPERT + "--env-id Blackjack-v1",
        "flat Box is needed",
    ),
    "expert with --n-envs 0": (EXPERT + "--n-envs 0", "n_envs must be"),
    "expert with --gamma 2": (EXPERT + "--gamma 2", "gamma must be in [0, 1]"),
    "expert with --lr 0": (EXPERT + "--lr 0", "lr must be"),
    "expert with --device tpu": (EXPERT + "--device tpu", "device"),
    "expert with an unknown config key": (EXPERT + "--config {unknown_key}", "unknown config"),
    "expert with a garbage config": (EXPERT + "--config {garbage}", "config"),
    "expert into a folder": ("imitation expert --out {folder}", "is a folder"),
    "expert --resume without --run-dir": (EXPERT + "--resume", "needs --run-dir"),
    "expert --resume with nothing to resume": (
        EXPERT + "--run-dir {run} --resume",
        "nothing to resume",
    ),
    "demos from a garbage expert": (DEMOS + "--expert {garbage}", "garbage"),
    "demos from a missing expert": (DEMOS + "--expert {missing}", "missing"),
    "demos from a GAIL model": (DEMOS + "--expert {model}", "not a imitation.ExpertPPO"),
    "demos from a model of another kind": (DEMOS + "--expert {foreign_model}", "elsewhere"),
    "demos from a newer model format": (DEMOS + "--expert {newer_model}", "upgrade ganforge"),
    "demos from a truncated model": (DEMOS + "--expert {truncated_model}", "not a loadable"),
    "demos of an unknown env id": (DEMOS + "--env-id NoSuchEnv-v0", "unknown gymnasium"),
    "demos with --episodes 0": (DEMOS + "--expert {expert} --episodes 0", "at least 1"),
    "demos with no source": (DEMOS.strip(), "required"),
    "demos into a folder": ("imitation demos --expert {expert} --out {folder}", "is a folder"),
    "train on missing demos": (TRAIN + "--demos {missing}", "no such demonstrations"),
    "train on garbage demos": (TRAIN + "--demos {garbage}", "not a readable .npz"),
    "train on pickled demos": (TRAIN + "--demos {pickled_demos}", "not a readable .npz"),
    "train on demos with NaN": (TRAIN + "--demos {nan_demos}", "NaN"),
    "train on demos of another shape": (
        TRAIN + "--demos {narrow_demos}",
        "the environment's are (N, 4)",
    ),
    "train on demos with actions out of range": (
        TRAIN + "--demos {action_demos}",
        "actions must lie in [0, 2)",
    ),
    "train on demos with bad episode ends": (TRAIN + "--demos {ends_demos}", "must increase"),
    "train on demos without actions": (TRAIN + "--demos {no_actions_demos}", "lacks actions"),
    "train on demos of another env": (
        TRAIN + "--demos {demos} --env-id Pendulum-v1",
        "the environment's are (N, 3)",
    ),
    "train on an unknown env id": (
        TRAIN + "--demos {demos} --env-id NoSuchEnv-v0",
        "unknown gymnasium",
    ),
    "train on more demo episodes than there are": (
        TRAIN + "--demos {demos} --demo-episodes 3",
        "holds 2 episodes",
    ),
    "train with an unknown reward": (TRAIN + "--demos {demos} --reward wgan", "invalid choice"),
    "train with --d-updates 0": (TRAIN + "--demos {demos} --d-updates 0", "d_updates must"),
    "train with --device tpu": (TRAIN + "--demos {demos} --device tpu", "device"),
    "train with an unknown config key": (
        TRAIN + "--demos {demos} --config {unknown_key}",
        "unknown config",
    ),
    "train without --demos": (TRAIN.strip(), "required"),
    "train into a folder": ("imitation train --demos {demos} --out {folder}", "is a folder"),
    "train --resume without --run-dir": (TRAIN + "--demos {demos} --resume", "needs --run-dir"),
    "evaluate a garbage model": (EVAL + "--model {garbage} --demos {demos}", "garbage"),
    "evaluate an expert model": (EVAL + "--model {expert} --demos {demos}", "not a imitation.GAIL"),
    "evaluate a model of another kind": (
        EVAL + "--model {foreign_model} --demos {demos}",
        "elsewhere",
    ),
    "evaluate a newer model format": (
        EVAL + "--model {newer_model} --demos {demos}",
        "upgrade ganforge",
    ),
    "evaluate a truncated model": (
        EVAL + "--model {truncated_model} --demos {demos}",
        "not a loadable",
    ),
    "evaluate on demos with NaN": (EVAL + "--model {model} --demos {nan_demos}", "NaN"),
    "evaluate on missing demos": (EVAL + "--model {model} --demos {missing}", "no such"),
    "evaluate on an unknown device": (
        EVAL + "--model {model} --demos {demos} --device tpu",
        "device",
    ),
    "evaluate into a folder": (
        "imitation evaluate --model {model} --demos {demos} --out {folder}",
        "is a folder",
    ),
    "evaluate with the report into a folder": (
        EVAL + "--model {model} --demos {demos} --report {folder}",
        "is a folder",
    ),
}
