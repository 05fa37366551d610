"""PPO, CleanRL-clear: collect a rollout, estimate advantages (GAE), clipped updates.

Read top to bottom: :func:`collect_rollout` plays ``n_steps`` in every copy of a
vectorised environment (reset at the start with seeds the caller gives, so a
rollout is a function of the policy and those seeds), :func:`advantages` turns
any per-step reward into GAE advantages and returns (bootstrapping from the
value of the real next observation where an episode was cut, not ended), and
:func:`ppo_update` runs the clipped-surrogate epochs. The reward is an argument,
so the same code trains experts on the environment's reward and GAIL's policy
on the discriminator's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ganforge.imitation.networks import Agent


@dataclass
class Rollout:
    """``n_steps x n_envs`` transitions (tensors ``(T, N, ...)``) and finished episodes.

    Attributes:
        obs, next_obs: raw observations before and after each step (``next_obs``
            is the episode's final observation where one ended).
        actions: the sampled actions (unclipped); ``env_actions`` what the env got.
        log_probs, values: the behaviour policy's log-probability and value.
        rewards: the environment's (true) reward.
        terminated: the episode ended in a terminal state (no bootstrap).
        ended: the episode ended or was cut here (GAE stops).
        absorbing: the step was taken in the absorbing state of a fixed-horizon
            episode (the env ignored the action: PPO's loss leaves it out, the
            advantages and the discriminator still see it).
        episode_returns, episode_lengths: the true return and length of every
            episode that finished inside the rollout.
    """

    obs: Tensor
    next_obs: Tensor
    actions: Tensor
    env_actions: Tensor
    log_probs: Tensor
    values: Tensor
    rewards: Tensor
    terminated: Tensor
    ended: Tensor
    absorbing: Tensor
    episode_returns: list[float]
    episode_lengths: list[int]

    @property
    def steps(self) -> int:
        return int(self.rewards.numel())

    def flat(self, name: str) -> Tensor:
        """One field with time and env dims merged: ``(T * N, ...)``."""
        value = getattr(self, name)
        return value.reshape(-1, *value.shape[2:])


@torch.no_grad()
def collect_rollout(
    agent: Agent,
    envs,
    n_steps: int,
    seeds: list[int],
    generator: torch.Generator,
    device: torch.device,
) -> Rollout:
    """Reset ``envs`` with ``seeds`` and play ``n_steps`` in each with the sampled policy."""
    obs_np, _ = envs.reset(seed=seeds)
    n = len(seeds)
    fields: dict[str, list[Tensor]] = {
        k: [] for k in ("o", "no", "a", "ea", "lp", "v", "r", "t", "e", "x")
    }
    running = np.zeros(n)
    lengths = np.zeros(n, dtype=np.int64)
    returns: list[float] = []
    episode_lengths: list[int] = []
    for t in range(n_steps):
        obs = torch.as_tensor(obs_np, dtype=torch.float32, device=device)
        actions, log_probs, values = agent.step(obs, generator)
        env_actions = agent.env_action(actions)
        next_np, reward, terminated, truncated, info = envs.step(env_actions.cpu().numpy())
        real_next = np.array(next_np, dtype=np.float32, copy=True)
        if "_final_obs" in info:
            for i in np.flatnonzero(info["_final_obs"]):
                real_next[i] = info["final_obs"][i]
        done = np.logical_or(terminated, truncated)
        absorbing = np.zeros(n, dtype=bool)
        if "absorbing" in info:
            absorbing = np.logical_and(info["_absorbing"], info["absorbing"].astype(bool))
        running += reward
        lengths += 1
        for i in np.flatnonzero(done):
            returns.append(float(running[i]))
            episode_lengths.append(int(lengths[i]))
            running[i], lengths[i] = 0.0, 0
        ended = done.copy()
        if t == n_steps - 1:
            ended[:] = True  # the rollout cuts every episode still running
        for key, value in (
            ("o", obs),
            ("no", torch.as_tensor(real_next, device=device)),
            ("a", actions),
            ("ea", env_actions),
            ("lp", log_probs),
            ("v", values),
            ("r", torch.as_tensor(reward, dtype=torch.float32, device=device)),
            ("t", torch.as_tensor(terminated, device=device)),
            ("e", torch.as_tensor(ended, device=device)),
            ("x", torch.as_tensor(absorbing, device=device)),
        ):
            fields[key].append(value)
        obs_np = next_np
    s = {key: torch.stack(values) for key, values in fields.items()}
    return Rollout(
        s["o"], s["no"], s["a"], s["ea"], s["lp"], s["v"], s["r"], s["t"], s["e"], s["x"],
        returns, episode_lengths,
    )  # fmt: skip


@torch.no_grad()
def advantages(
    agent: Agent, rollout: Rollout, rewards: Tensor, gamma: float, gae_lambda: float
) -> tuple[Tensor, Tensor]:
    """GAE advantages and value targets ``(T, N)`` for ``rewards`` ``(T, N)``.

    ``delta_t = r_t + gamma V(s'_t) (1 - terminated_t) - V(s_t)``, summed back with
    ``gamma * lambda`` until an episode ended or was cut.
    """
    shape = rollout.rewards.shape
    next_values = agent.value(rollout.flat("next_obs")).reshape(shape)
    not_terminal = 1.0 - rollout.terminated.float()
    not_ended = 1.0 - rollout.ended.float()
    deltas = rewards + gamma * next_values * not_terminal - rollout.values
    adv = torch.zeros_like(deltas)
    last = torch.zeros_like(deltas[0])
    for t in reversed(range(shape[0])):
        last = deltas[t] + gamma * gae_lambda * not_ended[t] * last
        adv[t] = last
    return adv, adv + rollout.values


def ppo_update(
    agent: Agent,
    optimizer: torch.optim.Optimizer,
    rollout: Rollout,
    adv: Tensor,
    returns: Tensor,
    *,
    epochs: int,
    minibatch_size: int,
    clip: float,
    ent_coef: float,
    vf_coef: float,
    max_grad_norm: float,
    generator: torch.Generator,
) -> dict[str, float]:
    """PPO's clipped-surrogate epochs over the rollout: the policy's loss on the steps
    outside absorbing states (advantages normalised over them per minibatch), the
    value's on every step."""
    obs, actions = rollout.flat("obs"), rollout.flat("actions")
    old_log_probs = rollout.flat("log_probs")
    active = (~rollout.flat("absorbing")).float()
    adv, returns = adv.reshape(-1), returns.reshape(-1)
    n = len(adv)
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    stats = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "clip_fraction": 0.0}
    updates = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(adv.device)
        for index in order.split(minibatch_size):
            log_probs, entropy = agent.log_prob_entropy(obs[index], actions[index])
            ratio = (log_probs - old_log_probs[index]).exp()
            weight = active[index]
            count = weight.sum().clamp_min(1.0)
            a = adv[index]
            mean = (a * weight).sum() / count
            spread = (((a - mean) * weight).pow(2).sum() / count).sqrt()
            a = (a - mean) / (spread + 1e-8)
            surrogate = torch.max(-a * ratio, -a * ratio.clamp(1 - clip, 1 + clip))
            policy_loss = (surrogate * weight).sum() / count
            entropy = (entropy * weight).sum() / count
            value_loss = 0.5 * (agent.value(obs[index]) - returns[index]).pow(2).mean()
            loss = policy_loss - ent_coef * entropy + vf_coef * value_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, max_grad_norm)
            optimizer.step()
            stats["policy_loss"] += float(policy_loss.detach())
            stats["value_loss"] += float(value_loss.detach())
            stats["entropy"] += float(entropy.detach())
            clipped = ((ratio.detach() - 1).abs() > clip).float()
            stats["clip_fraction"] += float((clipped * weight).sum() / count)
            updates += 1
    return {key: value / max(1, updates) for key, value in stats.items()}
