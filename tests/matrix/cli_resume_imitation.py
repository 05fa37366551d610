"""`ganforge imitation train` killed and resumed (see test_cli_resume.py).

CartPole cut to a 20-step horizon, two environment copies, tiny networks: 8
rollouts, each followed by two discriminator updates and two PPO epochs, a
checkpoint every 2. The resumed run must end with the identical policy (its
observation normaliser included) and discriminator: the networks, both Adam
states and the annealed learning rate come back from the checkpoint, and the
environments' resets are seeded by (seed, iteration). The demonstrations are
written (with numpy alone) when this file is read.
"""

import tempfile
from pathlib import Path

import numpy as np


def _demos() -> Path:
    rng = np.random.default_rng(0)
    path = Path(tempfile.mkdtemp(prefix="ganforge-imitation-resume-")) / "demos.npz"
    np.savez(
        path,
        observations=rng.normal(0, 0.05, (40, 4)).astype(np.float32),
        actions=np.arange(40) % 2,
        next_observations=rng.normal(0, 0.05, (40, 4)).astype(np.float32),
        episode_ends=np.array([20, 40]),
        returns=np.array([20.0, 20.0]),
        env_id=np.array("CartPole-v1"),
        horizon=np.array(20),
    )
    return path


TRAIN = (
    f"imitation train --demos {_demos()} --n-envs 2 --total-steps 320 --hidden 8 "
    "--d-hidden 8 --epochs 2 --minibatch-size 16 --d-updates 2 --device cpu --seed 3 "
    "--run-dir {run} --out {out} --checkpoint-every 2 --no-progress"
)
