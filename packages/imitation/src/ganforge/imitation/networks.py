"""The networks: observation normaliser, actor-critic policy, discriminator.

The policy owns the :class:`RunningNorm` of observations; the discriminator is
given the same normaliser, so both see one scale (updated from the policy's
rollouts, as gymnasium's ``NormalizeObservation`` does, and saved with the
policy as buffers).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganforge.imitation.envs import EnvInfo

CLIP_OBS = 10.0
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class RunningNorm(nn.Module):
    """Running mean and variance of observations (parallel-variance update), as buffers.

    ``forward(x)`` standardises and clips to +-10; :meth:`update` adds a batch.
    """

    def __init__(self, dim: int, epsilon: float = 1e-8) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))
        self.epsilon = epsilon

    @torch.no_grad()
    def update(self, x: Tensor) -> None:
        x = x.reshape(-1, self.mean.shape[0]).to(self.mean)
        batch_mean, batch_var, n = x.mean(0), x.var(0, unbiased=False), x.shape[0]
        delta, total = batch_mean - self.mean, self.count + n
        self.mean += delta * n / total
        m2 = self.var * self.count + batch_var * n + delta**2 * self.count * n / total
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, x: Tensor) -> Tensor:
        scaled = (x - self.mean.to(x.dtype)) / torch.sqrt(self.var.to(x.dtype) + self.epsilon)
        return scaled.clamp(-CLIP_OBS, CLIP_OBS)


def mlp(sizes: tuple[int, ...], out_gain: float = 1.0, activation: type = nn.Tanh) -> nn.Sequential:
    """Linear layers with ``activation`` between; orthogonal init (CleanRL's)."""
    layers: list[nn.Module] = []
    for index, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = index == len(sizes) - 2
        linear = nn.Linear(a, b)
        nn.init.orthogonal_(linear.weight, out_gain if last else math.sqrt(2))
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if not last:
            layers.append(activation())
    return nn.Sequential(*layers)


class Agent(nn.Module):
    """Actor and critic MLPs (tanh) on normalised observations.

    Discrete actions: a categorical policy (sampled by the Gumbel-max trick); continuous: a
    Gaussian with a learned,
    state-independent log standard deviation (actions are clipped to the bounds by
    :meth:`env_action`, the unclipped sample is what PPO's ratio uses).
    """

    def __init__(self, info: EnvInfo, hidden: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        self.info = info
        self.norm = RunningNorm(info.obs_dim)
        out = info.n_actions if info.discrete else info.act_dim
        self.actor = mlp((info.obs_dim, *hidden, out), out_gain=0.01)
        self.critic = mlp((info.obs_dim, *hidden, 1), out_gain=1.0)
        if not info.discrete:
            self.log_std = nn.Parameter(torch.zeros(info.act_dim))
            self.register_buffer("low", torch.tensor(info.low, dtype=torch.float32))
            self.register_buffer("high", torch.tensor(info.high, dtype=torch.float32))

    def value(self, obs: Tensor) -> Tensor:
        """The critic's value of raw observations, ``(N,)``."""
        return self.critic(self.norm(obs)).squeeze(-1)

    def _log_probs(self, out: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        """Log-probability of ``actions`` and entropy, from the actor's output ``out``."""
        if self.info.discrete:
            log_p = torch.log_softmax(out, -1)
            chosen = log_p.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
            return chosen, -(log_p.exp() * log_p).sum(-1)
        log_std = self.log_std.expand_as(out)
        z = (actions - out) / log_std.exp()
        log_prob = (-0.5 * z.pow(2) - log_std - HALF_LOG_2PI).sum(-1)
        return log_prob, (0.5 + HALF_LOG_2PI + log_std).sum(-1)

    def log_prob_entropy(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        """Log-probability of ``actions`` at raw ``obs`` and the policy's entropy, each ``(N,)``."""
        return self._log_probs(self.actor(self.norm(obs)), actions)

    def _sample(
        self, out: Tensor, generator: torch.Generator | None, deterministic: bool
    ) -> Tensor:
        if self.info.discrete:
            if deterministic:
                return out.argmax(-1)
            uniform = torch.rand(out.shape, generator=generator).to(out.device)
            gumbel = -torch.log(-torch.log(uniform.clamp_min(1e-20)))
            return (out + gumbel).argmax(-1)  # a draw from softmax(out)
        if deterministic:
            return out
        noise = torch.randn(out.shape, generator=generator).to(out.device)
        return out + noise * self.log_std.exp()

    @torch.no_grad()
    def act(
        self, obs: Tensor, generator: torch.Generator | None = None, deterministic: bool = False
    ) -> Tensor:
        """Actions for raw observations: sampled with ``generator`` or the mode."""
        return self._sample(self.actor(self.norm(obs)), generator, deterministic)

    @torch.no_grad()
    def step(self, obs: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """One rollout step: sampled actions, their log-probabilities and the values."""
        x = self.norm(obs)
        out = self.actor(x)
        actions = self._sample(out, generator, False)
        return actions, self._log_probs(out, actions)[0], self.critic(x).squeeze(-1)

    def env_action(self, actions: Tensor) -> Tensor:
        """What the environment is given: clipped to the bounds when continuous."""
        if self.info.discrete:
            return actions.long()
        return torch.maximum(torch.minimum(actions, self.high), self.low)


def action_features(info: EnvInfo, actions: Tensor) -> Tensor:
    """Actions as the discriminator sees them: one-hot (discrete) or scaled to [-1, 1]."""
    if info.discrete:
        return nn.functional.one_hot(actions.long().reshape(-1), info.n_actions).float()
    low = torch.tensor(info.low, device=actions.device)
    high = torch.tensor(info.high, device=actions.device)
    return (2 * (actions.float() - low) / (high - low) - 1).reshape(-1, info.act_dim)


class Discriminator(nn.Module):
    """``D(s, a)`` (or ``D(s, a, s')``) as a logit: high for the expert's transitions.

    Observations are given normalised (by the policy's :class:`RunningNorm`).
    """

    def __init__(
        self, info: EnvInfo, hidden: tuple[int, ...] = (64, 64), next_obs: bool = False
    ) -> None:
        super().__init__()
        self.info, self.next_obs = info, next_obs
        width = info.obs_dim * (2 if next_obs else 1) + info.action_features
        self.net = mlp((width, *hidden, 1), activation=nn.ReLU)

    def forward(self, obs: Tensor, actions: Tensor, next_obs: Tensor | None = None) -> Tensor:
        parts = [obs, action_features(self.info, actions)]
        if self.next_obs:
            if next_obs is None:
                raise ValueError("this discriminator judges (s, a, s'): give next_obs")
            parts.append(next_obs)
        return self.net(torch.cat(parts, -1)).squeeze(-1)
