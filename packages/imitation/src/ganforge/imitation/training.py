"""PPO and GAIL on the core trainer: one rollout, the discriminator, one PPO update per iteration.

An iteration of :class:`GAILModule`:

1. ``rollout`` (no optimizer): reset the vectorised environments with seeds drawn
   from (seed, iteration) and play the policy for ``rollout_episodes x horizon``
   steps in each; log the true return of the finished episodes;
2. ``D`` (optimizer ``"D"``, ``d_updates`` times): binary cross-entropy between a
   batch of expert transitions (the trainer's batches) and as many transitions of
   the rollout; the trainer runs its backward and Adam;
3. ``policy`` (``optimizer=None``: the step owns its backward): the
   discriminator's reward for every transition of the rollout, normalised, GAE
   and PPO's clipped epochs with the policy's own Adam (built here, stepped by
   :func:`~ganforge.imitation.ppo.ppo_update`, saved in checkpoints with the
   trainer's optimizers); then the observation normaliser takes in the rollout.

:class:`PPOModule` is the same without step 2, on the environment's reward (the
experts). Every random draw is a function of (seed, iteration) or of state the
checkpoint holds (networks, the normaliser's buffers, both optimizers, the
learning-rate schedule), so a resumed run continues exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganforge.core.regularizers import gradient_penalty
from ganforge.core.training import GANModule, Phase, Step, StepContext
from ganforge.imitation.envs import env_info, make_vector_env, rollout_seeds
from ganforge.imitation.networks import Agent, Discriminator
from ganforge.imitation.ppo import Rollout, advantages, collect_rollout, ppo_update
from ganforge.imitation.rewards import discriminator_loss, normalise, reward_from_logits
from ganforge.imitation.specs import GAILSpec, PPOSpec


def rollout_steps(spec: PPOSpec, horizon: int) -> int:
    """Environment steps of one rollout (all copies)."""
    return spec.n_envs * spec.rollout_episodes * horizon


def iterations_for(spec: PPOSpec, horizon: int) -> int:
    """Rollouts of a run: ``total_steps`` rounded up to whole rollouts."""
    return math.ceil(spec.total_steps / rollout_steps(spec, horizon))


class PPOModule(GANModule):
    """PPO on the environment's reward (the experts); ``fixed_horizon=False`` plays the
    environment's own variable-length episodes (the survival-bias test's contrast)."""

    generator_name = "policy"

    def __init__(
        self,
        spec: PPOSpec,
        agent: Agent | None = None,
        iterations: int | None = None,
        fixed_horizon: bool = True,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.info = env_info(spec.env_id, spec.horizon)
        self.agent = agent if agent is not None else Agent(self.info, spec.hidden)
        self.networks = {"policy": self.agent}
        self.envs = make_vector_env(spec.env_id, spec.n_envs, spec.horizon, fixed_horizon)
        self.n_steps = spec.rollout_episodes * self.info.horizon
        self.iterations = iterations or iterations_for(spec, self.info.horizon)
        self.rollout: Rollout | None = None
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    # -------------------------------------------------------------- trainer
    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        policy = torch.optim.Adam(self.agent.parameters(), lr=self.spec.lr, eps=1e-5)
        self.optimizers = {"policy": policy}
        return self.optimizers

    def build_schedulers(
        self, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        if not self.spec.anneal_lr:
            return {}
        total = self.iterations

        def factor(iteration: int) -> float:
            return max(0.0, 1.0 - iteration / total)

        return {"policy": torch.optim.lr_scheduler.LambdaLR(optimizers["policy"], factor)}

    def steps(self) -> list[Step]:
        return [
            Step("rollout", self.rollout_step, None, needs_batch=False),
            Step("policy", self.policy_step, None, networks=("policy",), needs_batch=False),
        ]

    def phases(self) -> list[Phase]:
        return [Phase("ppo", self.steps())]

    # ---------------------------------------------------------------- steps
    def rollout_step(self, batch: Any, ctx: StepContext) -> dict[str, float]:
        """Play one rollout with the current policy; log its true return."""
        seeds = rollout_seeds(ctx.seed, ctx.iteration, self.spec.n_envs)
        generator = torch.Generator().manual_seed(int(seeds[0]) * 7 + 1)
        self.agent.eval()
        self.rollout = collect_rollout(
            self.agent, self.envs, self.n_steps, seeds, generator, ctx.device
        )
        self.agent.train()
        returns = self.rollout.episode_returns
        out = {
            "env_steps": float((ctx.iteration + 1) * self.rollout.steps),
            "inner_steps": float((~self.rollout.absorbing).sum()),
        }
        if returns:
            out["return"] = float(np.mean(returns))
        return out

    def rewards(self, rollout: Rollout, ctx: StepContext) -> Tensor:
        """The reward PPO maximises: the environment's here."""
        rewards = rollout.rewards
        return normalise(rewards) if self.spec.normalize_reward else rewards

    def policy_step(self, batch: Any, ctx: StepContext) -> dict[str, float]:
        """GAE on :meth:`rewards`, PPO's epochs, then the normaliser takes in the rollout."""
        rollout = self.rollout
        if rollout is None:
            raise RuntimeError("the policy step needs the iteration's rollout")
        spec = self.spec
        rewards = self.rewards(rollout, ctx)
        adv, returns = advantages(self.agent, rollout, rewards, spec.gamma, spec.gae_lambda)
        stats = ppo_update(
            self.agent,
            self.optimizers["policy"],
            rollout,
            adv,
            returns,
            epochs=spec.epochs,
            minibatch_size=spec.minibatch_size,
            clip=spec.clip,
            ent_coef=spec.ent_coef,
            vf_coef=spec.vf_coef,
            max_grad_norm=spec.max_grad_norm,
            generator=ctx.generator(),
        )
        self.agent.norm.update(rollout.flat("obs")[~rollout.flat("absorbing")])
        return {**stats, "reward": float(rewards.mean())}

    def close(self) -> None:
        self.envs.close()


class GAILModule(PPOModule):
    """GAIL: :class:`PPOModule` with the discriminator's reward (see the module docstring).

    The trainer's data are the expert's transitions, a tuple of tensors
    ``(obs, actions, next_obs)`` (:meth:`Demonstrations.transitions`).
    """

    def __init__(
        self,
        spec: GAILSpec,
        agent: Agent | None = None,
        discriminator: Discriminator | None = None,
        iterations: int | None = None,
    ) -> None:
        super().__init__(spec, agent, iterations)
        self.discriminator = discriminator or Discriminator(self.info, spec.d_hidden, spec.next_obs)
        self.networks = {"policy": self.agent, "D": self.discriminator}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizers = super().build_optimizers()
        optimizers["D"] = torch.optim.Adam(self.discriminator.parameters(), lr=self.spec.d_lr)
        return optimizers

    def steps(self) -> list[Step]:
        rollout, policy = super().steps()
        d_step = Step("D", self.d_step, "D", repeat=self.spec.d_updates)
        return [rollout, d_step, policy]

    def logits(self, obs: Tensor, actions: Tensor, next_obs: Tensor) -> Tensor:
        """The discriminator's logits on raw transitions (normalised by the policy's norm)."""
        norm = self.agent.norm
        following = norm(next_obs) if self.spec.next_obs else None
        return self.discriminator(norm(obs), actions, following)

    def d_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        """Cross-entropy of the expert's batch against as many of the rollout's transitions."""
        rollout = self.rollout
        if rollout is None:
            raise RuntimeError("the discriminator step needs the iteration's rollout")
        obs, actions, next_obs = batch
        pick = torch.randint(rollout.steps, (len(obs),), generator=ctx.generator())
        pick = pick.to(obs.device)
        p_obs, p_act = rollout.flat("obs")[pick], rollout.flat("env_actions")[pick]
        p_next = rollout.flat("next_obs")[pick]
        expert_logits = self.logits(obs, actions, next_obs)
        policy_logits = self.logits(p_obs, p_act, p_next)
        loss = discriminator_loss(expert_logits, policy_logits)
        out: dict[str, Tensor] = {}
        if self.spec.d_gradient_penalty > 0:
            penalty = self._gradient_penalty(batch, (p_obs, p_act, p_next), ctx)
            loss = loss + penalty
            out["gradient_penalty"] = penalty.detach()
        with torch.no_grad():
            accuracy = ((expert_logits > 0).float().mean() + (policy_logits < 0).float().mean()) / 2
        return {"loss": loss, "accuracy": accuracy, **out}

    def _gradient_penalty(self, expert: Any, policy: Any, ctx: StepContext) -> Tensor:
        """The core's zero-centred penalty on points between the two batches' inputs."""
        net = self.discriminator.net

        def features(obs: Tensor, actions: Tensor, next_obs: Tensor) -> Tensor:
            from ganforge.imitation.networks import action_features

            norm = self.agent.norm
            parts = [norm(obs), action_features(self.info, actions)]
            if self.spec.next_obs:
                parts.append(norm(next_obs))
            return torch.cat(parts, -1)

        return gradient_penalty(
            lambda x: net(x).squeeze(-1),
            features(*expert).detach(),
            features(*policy).detach(),
            weight=self.spec.d_gradient_penalty,
            center=0.0,
            generator=ctx.generator(),
        )

    @torch.no_grad()
    def rewards(self, rollout: Rollout, ctx: StepContext) -> Tensor:
        """The discriminator's reward of every transition of the rollout, normalised."""
        logits = self.logits(
            rollout.flat("obs"), rollout.flat("env_actions"), rollout.flat("next_obs")
        )
        rewards = reward_from_logits(logits, self.spec.reward).reshape(rollout.rewards.shape)
        return normalise(rewards) if self.spec.normalize_reward else rewards
