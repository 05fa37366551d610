"""The survival-bias trap: a constant positive reward looks like CartPole's own reward
on variable-length episodes, and teaches nothing on the fixed horizon."""

import numpy as np
import torch

from ganforge.core.training import Trainer, TrainerConfig
from ganforge.imitation import PPOModule, PPOSpec

HORIZON = 100


class ConstantReward(PPOModule):
    """PPO on +1 per step whatever happens (GAIL's -log(1 - D) is positive like this)."""

    def rewards(self, rollout, ctx):
        return torch.ones_like(rollout.rewards)


def _late_returns(fixed_horizon: bool) -> float:
    torch.manual_seed(0)
    spec = PPOSpec(
        env_id="CartPole-v1",
        horizon=HORIZON,
        n_envs=4,
        total_steps=12_000,
        lr=1e-3,
        minibatch_size=64,
        device="cpu",
    )
    module = ConstantReward(spec, fixed_horizon=fixed_horizon)
    config = TrainerConfig(
        iterations=module.iterations, batch_size=1, progress=False, tensorboard=False, log_every=1
    )
    trainer = Trainer(module, config).fit(torch.zeros(1, 1))
    module.close()
    returns = [r["rollout/return"] for r in trainer.history if "rollout/return" in r]
    return float(np.mean(returns[-5:]))


def test_constant_reward_does_not_reach_expert_return_on_the_fixed_horizon():
    # the expert (and the controller in conftest) scores HORIZON = 100
    fixed = _late_returns(fixed_horizon=True)
    variable = _late_returns(fixed_horizon=False)
    assert fixed < 0.25 * HORIZON, fixed  # no better than chance (~22)
    assert variable > 2 * fixed, (variable, fixed)  # the trap: survival alone pays there
