"""ganforge.imitation: generative adversarial imitation learning (GAIL) on gymnasium 1.x.

Ho & Ermon (2016): a discriminator tells the expert's transitions (s, a) (or
(s, a, s')) from the policy's; the policy is trained by PPO on the
discriminator's reward (``-log(1 - D)``, or ``log D - log(1 - D)``). On the
core trainer: a rollout step, the discriminator's step and a PPO step that owns
its backward (:mod:`ganforge.imitation.training`). Environments are made
fixed-horizon against survival bias (:mod:`ganforge.imitation.envs`); experts
are trained here with the same PPO and cached; demonstrations are ``.npz``
files (:mod:`ganforge.imitation.demos`); behavioural cloning and a random
policy are the baselines (:mod:`ganforge.imitation.baselines`).
"""

from ganforge.imitation.baselines import agent_act, behavioural_cloning, random_act
from ganforge.imitation.demos import (
    DemoError,
    Demonstrations,
    check_demos,
    collect_demos,
    load_demos,
    play,
)
from ganforge.imitation.envs import (
    EnvError,
    EnvInfo,
    FixedHorizon,
    env_info,
    make_env,
    make_vector_env,
)
from ganforge.imitation.evaluate import (
    evaluate,
    fraction_of_expert,
    learning_curve_figure,
    random_return,
    steps_to_fraction,
)
from ganforge.imitation.model import (
    GAIL,
    ExpertPPO,
    expert_path,
    expert_spec,
    load_or_train_expert,
)
from ganforge.imitation.networks import Agent, Discriminator, RunningNorm, action_features
from ganforge.imitation.ppo import Rollout, advantages, collect_rollout, ppo_update
from ganforge.imitation.rewards import discriminator_loss, normalise, reward_from_logits
from ganforge.imitation.specs import PRESETS, GAILSpec, PPOSpec, preset
from ganforge.imitation.training import GAILModule, PPOModule

__all__ = [
    "GAIL",
    "PRESETS",
    "Agent",
    "DemoError",
    "Demonstrations",
    "Discriminator",
    "EnvError",
    "EnvInfo",
    "ExpertPPO",
    "FixedHorizon",
    "GAILModule",
    "GAILSpec",
    "PPOModule",
    "PPOSpec",
    "Rollout",
    "RunningNorm",
    "action_features",
    "advantages",
    "agent_act",
    "behavioural_cloning",
    "check_demos",
    "collect_demos",
    "collect_rollout",
    "discriminator_loss",
    "env_info",
    "evaluate",
    "expert_path",
    "expert_spec",
    "fraction_of_expert",
    "learning_curve_figure",
    "load_demos",
    "load_or_train_expert",
    "make_env",
    "make_vector_env",
    "normalise",
    "play",
    "ppo_update",
    "preset",
    "random_act",
    "random_return",
    "reward_from_logits",
    "steps_to_fraction",
]
