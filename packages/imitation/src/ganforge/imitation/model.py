"""The user's classes: :class:`ExpertPPO` (PPO on the env's reward) and :class:`GAIL`.

Example::

    expert = load_or_train_expert("CartPole-v1")        # cached in ~/.cache/ganforge/imitation
    demos = collect_demos(expert.act, "CartPole-v1", episodes=4)
    demos.save("cartpole.npz")
    gail = GAIL(env_id="CartPole-v1").fit(load_demos("cartpole.npz"))
    gail.evaluate(episodes=50)                           # stochastic, fixed horizon
    gail.save("cartpole.gail"); GAIL.load("cartpole.gail").act(obs)

Both model files hold the policy (its observation normaliser included) through the
core's model file (weights only); GAIL's holds the discriminator too.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ganforge.core.files import cache_dir
from ganforge.core.modelfile import ModelFile
from ganforge.core.training.gan_model import GANModel, TrainingPlan
from ganforge.imitation.demos import DemoError, Demonstrations, load_demos, play
from ganforge.imitation.envs import EnvInfo, env_info
from ganforge.imitation.networks import Agent, Discriminator
from ganforge.imitation.specs import GAILSpec, PPOSpec, preset
from ganforge.imitation.training import GAILModule, PPOModule

PathLike = str | os.PathLike[str]
EVAL_EPISODES = 50


class _PolicyModel:
    """What both models share: the policy, acting and evaluating."""

    spec: PPOSpec
    agent: Agent | None

    @property
    def info(self) -> EnvInfo:
        return env_info(self.spec.env_id, self.spec.horizon)

    def _check_fitted(self) -> Agent:
        if self.agent is None:
            raise ValueError("the policy is not trained: call fit(...) or load(path) first")
        return self.agent

    def act(
        self, obs: Any, generator: torch.Generator | None = None, deterministic: bool = False
    ) -> Tensor:
        """Environment actions for raw observations ``(N, obs_dim)`` (sampled unless
        ``deterministic``)."""
        agent = self._check_fitted()
        device = next(agent.parameters()).device
        obs = torch.as_tensor(np.asarray(obs, dtype=np.float32), device=device)
        return agent.env_action(
            agent.act(obs.reshape(-1, agent.info.obs_dim), generator, deterministic)
        )

    def evaluate(self, episodes: int = EVAL_EPISODES, seed: int = 0) -> float:
        """Mean true return over ``episodes`` stochastic fixed-horizon episodes."""
        self._check_fitted()
        return float(
            play(self.act, self.spec.env_id, episodes, seed, self.spec.horizon).returns.mean()
        )

    def _restore_agent(self, file: ModelFile, device: torch.device) -> None:
        agent = Agent(self.info, self.spec.hidden)
        agent.load_state_dict(file.state["policy"])
        self.agent = agent.to(device).eval()


class ExpertPPO(_PolicyModel, GANModel[PPOSpec]):
    """An expert: PPO on the environment's true reward, on the fixed-horizon env.

    ``fit()`` takes no data. ``expert_return`` is the mean true return over 50
    stochastic episodes, measured after fitting and kept in the model file.
    """

    kind = "imitation.ExpertPPO"
    spec_type = PPOSpec

    def __init__(self, spec: PPOSpec | None = None, **options: Any) -> None:
        if spec is not None and options:
            raise ValueError("pass either a PPOSpec or its fields as keywords, not both")
        super().__init__(spec if spec is not None else PPOSpec(**options))
        self.agent: Agent | None = None
        self.expert_return: float | None = None

    def fit(self, data: Any = None, **options: Any) -> ExpertPPO:  # type: ignore[override]
        """Train (``options`` are :meth:`GANModel.fit`'s: progress, run_dir, resume_from...)."""
        super().fit(None, **options)
        self.expert_return = self.evaluate()
        return self

    def plan(self, data: Any, resume_from: Path | None) -> TrainingPlan:
        module = PPOModule(self.spec)
        return TrainingPlan(module, torch.zeros(1, 1), module.iterations, 1, {"log_every": 1})

    def fitted(self, module: PPOModule) -> None:
        module.close()
        self.agent = module.agent.eval()

    def file_state(self) -> dict[str, nn.Module]:
        return {"policy": self._check_fitted()}

    def file_extra(self) -> dict[str, Any]:
        return {"expert_return": float("nan") if self.expert_return is None else self.expert_return}

    def restore(self, file: ModelFile, device: torch.device) -> None:
        self._restore_agent(file, device)
        value = float(file.extra.get("expert_return", float("nan")))
        self.expert_return = None if np.isnan(value) else value


class GAIL(_PolicyModel, GANModel[GAILSpec]):
    """Generative adversarial imitation: ``fit(demos)``, then ``act`` / ``evaluate``.

    Args:
        spec: the settings; keyword ``options`` are :class:`GAILSpec` fields.

    Attributes after fitting: ``agent`` (the policy), ``discriminator``, ``history``
    (per rollout: ``rollout/return``, ``rollout/env_steps``, the D and PPO scalars) and
    ``curve`` (:meth:`learning_curve`).
    """

    kind = "imitation.GAIL"
    spec_type = GAILSpec

    def __init__(self, spec: GAILSpec | None = None, **options: Any) -> None:
        if spec is not None and options:
            raise ValueError("pass either a GAILSpec or its fields as keywords, not both")
        super().__init__(spec if spec is not None else GAILSpec(**options))
        self.agent: Agent | None = None
        self.discriminator: Discriminator | None = None
        self.curve: tuple[np.ndarray, np.ndarray] | None = None

    def fit(self, demos: Demonstrations | PathLike, **options: Any) -> GAIL:  # type: ignore[override]
        """Imitate ``demos`` (a :class:`Demonstrations` or a ``.npz`` path); ``options``
        are :meth:`GANModel.fit`'s (progress, run_dir, checkpoint_every, resume_from...)."""
        return super().fit(self.check_demos(demos), **options)

    def check_demos(self, demos: Demonstrations | PathLike) -> Demonstrations:
        """The demonstrations, checked against the spec's environment (one-line errors)."""
        info = self.info
        if not isinstance(demos, Demonstrations):
            return load_demos(demos, self.spec.env_id, info.horizon)
        if demos.env_id != info.env_id or demos.horizon != info.horizon:
            raise DemoError(
                f"the demonstrations were played on {demos.env_id} (horizon {demos.horizon}), "
                f"the model imitates {info.env_id} (horizon {info.horizon})"
            )
        return demos

    def plan(self, data: Demonstrations, resume_from: Path | None) -> TrainingPlan:
        module = GAILModule(self.spec)
        batch = min(self.spec.d_batch_size, len(data))
        return TrainingPlan(module, data.transitions(), module.iterations, batch, {"log_every": 1})

    def fitted(self, module: GAILModule) -> None:
        module.close()
        self.agent = module.agent.eval()
        self.discriminator = module.discriminator.eval()
        rows = [r for r in self.history if "rollout/return" in r and "rollout/env_steps" in r]
        steps = np.array([r["rollout/env_steps"] for r in rows], dtype=np.float64)
        self.curve = steps, np.array([r["rollout/return"] for r in rows], dtype=np.float64)

    def file_state(self) -> dict[str, nn.Module]:
        self._check_fitted()
        return {"policy": self.agent, "D": self.discriminator}

    def restore(self, file: ModelFile, device: torch.device) -> None:
        self._restore_agent(file, device)
        discriminator = Discriminator(self.info, self.spec.d_hidden, self.spec.next_obs)
        discriminator.load_state_dict(file.state["D"])
        self.discriminator = discriminator.to(device).eval()
        steps, returns = file.extra.get("curve_steps"), file.extra.get("curve_returns")
        self.curve = None
        if isinstance(steps, torch.Tensor) and isinstance(returns, torch.Tensor):
            self.curve = steps.double().numpy(), returns.double().numpy()

    def file_extra(self) -> dict[str, Any]:
        if self.curve is None:
            return {}
        steps, returns = self.curve
        return {"curve_steps": torch.from_numpy(steps), "curve_returns": torch.from_numpy(returns)}

    def learning_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """``(env_steps, mean true return of the rollout's episodes)`` per training rollout
        (kept in the model file)."""
        if self.curve is None:
            return np.zeros(0), np.zeros(0)
        return self.curve


# ------------------------------------------------------------------ experts
def expert_path(env_id: str, spec: PPOSpec) -> Path:
    """The cache file of an expert: ``<cache>/imitation/expert-<env>-<spec hash>.pt``."""
    digest = hashlib.sha256(json.dumps(_cache_key(spec), sort_keys=True).encode()).hexdigest()[:10]
    return cache_dir() / "imitation" / f"expert-{env_id}-{digest}.pt"


def _cache_key(spec: PPOSpec) -> dict[str, Any]:
    return {k: v for k, v in asdict(spec).items() if k != "device"}


def expert_spec(env_id: str, **options: Any) -> PPOSpec:
    """The expert's spec: the env's preset, overridden by ``options``."""
    return PPOSpec(**{**preset(env_id, "expert"), **options})


def load_or_train_expert(
    env_id: str, *, progress: bool = False, retrain: bool = False, **options: Any
) -> ExpertPPO:
    """The cached expert of ``env_id`` (trained and cached on first use), on the CPU."""
    spec = expert_spec(env_id, **{"device": "cpu", **options})
    path = expert_path(env_id, spec)
    if path.is_file() and not retrain:
        return ExpertPPO.load(path, "cpu")
    expert = ExpertPPO(spec).fit(progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    expert.save(path)
    return expert
