"""GAE against a hand computation, the policy's log-probabilities, the normaliser."""

import math

import pytest
import torch

from ganforge.imitation import Agent, RunningNorm, advantages, env_info
from ganforge.imitation.ppo import Rollout


class _ConstantValue(Agent):
    def value(self, obs):
        return torch.full(obs.shape[:1], 0.5)


def test_gae_by_hand():
    agent = _ConstantValue(env_info("CartPole-v1"))
    t, n = 3, 1
    zeros = torch.zeros(t, n)
    rollout = Rollout(
        obs=torch.zeros(t, n, 4),
        next_obs=torch.zeros(t, n, 4),
        actions=zeros.long(),
        env_actions=zeros.long(),
        log_probs=zeros,
        values=torch.full((t, n), 0.5),
        rewards=zeros,
        terminated=torch.tensor([[False], [True], [False]]),
        ended=torch.tensor([[False], [True], [True]]),
        absorbing=torch.zeros(t, n, dtype=torch.bool),
        episode_returns=[],
        episode_lengths=[],
    )
    rewards = torch.tensor([[1.0], [2.0], [3.0]])
    gamma, lam = 0.9, 0.8
    adv, returns = advantages(agent, rollout, rewards, gamma, lam)
    d0 = 1 + gamma * 0.5 - 0.5  # bootstrapped
    d1 = 2 - 0.5  # terminal: no bootstrap
    d2 = 3 + gamma * 0.5 - 0.5  # cut by the rollout: bootstrapped, GAE stops
    expected = [d0 + gamma * lam * d1, d1, d2]
    assert adv[:, 0].tolist() == pytest.approx(expected)
    assert returns[:, 0].tolist() == pytest.approx([e + 0.5 for e in expected])


def test_log_probs_match_torch_distributions():
    torch.manual_seed(0)
    cart = Agent(env_info("CartPole-v1"))
    obs = torch.randn(5, 4)
    actions = torch.tensor([0, 1, 1, 0, 1])
    log_prob, entropy = cart.log_prob_entropy(obs, actions)
    dist = torch.distributions.Categorical(logits=cart.actor(cart.norm(obs)))
    assert torch.allclose(log_prob, dist.log_prob(actions), atol=1e-6)
    assert torch.allclose(entropy, dist.entropy(), atol=1e-6)
    pendulum = Agent(env_info("Pendulum-v1"))
    with torch.no_grad():
        pendulum.log_std.fill_(math.log(0.7))
    obs, actions = torch.randn(5, 3), torch.randn(5, 1)
    log_prob, entropy = pendulum.log_prob_entropy(obs, actions)
    normal = torch.distributions.Normal(pendulum.actor(pendulum.norm(obs)), 0.7)
    assert torch.allclose(log_prob, normal.log_prob(actions).sum(-1), atol=1e-5)
    assert torch.allclose(entropy, normal.entropy().sum(-1), atol=1e-5)


def test_sampling_follows_the_policy():
    agent = Agent(env_info("CartPole-v1"))
    with torch.no_grad():
        agent.actor[-1].bias.copy_(torch.tensor([0.0, math.log(3.0)]))  # P(1) = 0.75
        agent.actor[-1].weight.zero_()
    actions = agent.act(torch.zeros(20_000, 4), torch.Generator().manual_seed(0))
    assert actions.float().mean().item() == pytest.approx(0.75, abs=0.015)


def test_running_norm_matches_the_batch_statistics():
    norm = RunningNorm(2)
    data = torch.randn(1000, 2, dtype=torch.float64) * torch.tensor([3.0, 0.5]) + 2
    for part in data.split(300):
        norm.update(part)
    assert torch.allclose(norm.mean, data.mean(0), atol=1e-6)
    assert torch.allclose(norm.var, data.var(0, unbiased=False), rtol=1e-3)
    assert norm(torch.full((1, 2), 1e6)).max().item() == 10.0  # clipped
