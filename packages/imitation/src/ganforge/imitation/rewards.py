"""The policy's reward from the discriminator's logit, and the discriminator's loss.

With ``D = sigmoid(logit)`` the probability that a transition is the expert's:

- ``"gail"``: ``-log(1 - D) = softplus(logit)``, always positive (Ho & Ermon 2016;
  positive rewards are why the environment must have a fixed horizon);
- ``"airl"``: ``log D - log(1 - D) = logit`` (the AIRL-style reward, either sign).

Both are computed from the logit, so they stay finite where ``D`` rounds to 0 or 1.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torch.nn import functional as F

RewardKind = Literal["gail", "airl"]
REWARDS: tuple[str, ...] = ("gail", "airl")


def reward_from_logits(logits: Tensor, kind: RewardKind = "gail") -> Tensor:
    """The policy's reward for discriminator logits (see the module docstring)."""
    if kind == "gail":
        return F.softplus(logits)
    if kind == "airl":
        return logits
    raise ValueError(f"reward must be one of {REWARDS}, got {kind!r}")


def normalise(rewards: Tensor) -> Tensor:
    """Rewards standardised over the rollout (zero mean, unit spread; a constant gives 0).

    On a fixed horizon a constant shift changes no policy's ranking, so this only
    sets the scale PPO sees."""
    spread = rewards.std()
    centred = rewards - rewards.mean()
    return centred / spread if spread > 1e-8 else centred


def discriminator_loss(expert_logits: Tensor, policy_logits: Tensor) -> Tensor:
    """Binary cross-entropy: the expert's transitions labelled 1, the policy's 0."""
    expert = F.binary_cross_entropy_with_logits(expert_logits, torch.ones_like(expert_logits))
    policy = F.binary_cross_entropy_with_logits(policy_logits, torch.zeros_like(policy_logits))
    return expert + policy
