"""The baselines of the same run: behavioural cloning on the same demonstrations, a random policy.

Behavioural cloning fits the policy network (:class:`~ganforge.imitation.networks.Agent`'s
actor, observations normalised by the demonstrations' own mean and spread) to the
expert's actions by maximum likelihood: cross-entropy for discrete actions, the
Gaussian log-likelihood (learned spread) for continuous ones. It never sees the
environment, so it suffers covariate shift: the states its own mistakes lead to
are absent from the demonstrations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ganforge.imitation.demos import Demonstrations
from ganforge.imitation.envs import EnvInfo, env_info
from ganforge.imitation.networks import Agent

ActFn = Callable[[Tensor, torch.Generator], Tensor]


def behavioural_cloning(
    demos: Demonstrations,
    *,
    hidden: tuple[int, ...] = (64, 64),
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> Agent:
    """A policy fitted to the demonstrations' actions (see the module docstring)."""
    info = env_info(demos.env_id, demos.horizon)
    torch.manual_seed(seed)
    agent = Agent(info, hidden)
    obs, actions, _ = demos.transitions()
    agent.norm.update(obs)
    parameters = list(agent.actor.parameters()) + ([] if info.discrete else [agent.log_std])
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    batch = min(batch_size, len(obs))
    for _ in range(steps):
        index = torch.randint(len(obs), (batch,), generator=generator)
        log_probs, _ = agent.log_prob_entropy(obs[index], actions[index])
        loss = -log_probs.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return agent.eval()


def agent_act(agent: Agent, deterministic: bool = False) -> ActFn:
    """``act(obs, generator) -> env actions`` of an :class:`Agent`."""

    def act(obs: Tensor, generator: torch.Generator) -> Tensor:
        return agent.env_action(agent.act(obs, generator, deterministic))

    return act


def random_act(info: EnvInfo) -> ActFn:
    """Uniformly random actions (discrete) or uniform in the bounds (continuous)."""

    def act(obs: Tensor, generator: torch.Generator) -> Tensor:
        n = obs.shape[0]
        if info.discrete:
            return torch.randint(info.n_actions, (n,), generator=generator)
        low, high = torch.tensor(info.low), torch.tensor(info.high)
        return low + (high - low) * torch.rand((n, info.act_dim), generator=generator)

    return act
