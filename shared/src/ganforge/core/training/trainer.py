"""The training loop: everything around a domain's step functions.

The trainer places networks on the device, draws batches, runs each phase's
steps (n_critic / k-step repeats, lazy ``every`` intervals) under autocast,
runs backward and the optimizer with loss scaling, averages gradients across
processes, clips them, updates the generator's EMA, skips non-finite steps and
rolls back after too many in a row, logs, evaluates and checkpoints. It knows
nothing of any loss or domain: those live in the module's step functions.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from ganforge.core.checkpoint import (
    CheckpointError,
    capture_rng_states,
    load_checkpoint,
    restore_rng_states,
    save_checkpoint,
)
from ganforge.core.files import remove_stale_temporaries
from ganforge.core.training import distributed
from ganforge.core.training.config import TrainerConfig
from ganforge.core.training.data import BatchSource, as_batch_source, move_to
from ganforge.core.training.module import GANModule, Phase, Step, StepContext
from ganforge.core.training.run_log import RunLog

CHECKPOINT_FORMAT = "ganforge-checkpoint-v1"
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# The files the trainer writes into run_dir atomically (as patterns of whole names).
CHECKPOINT_NAMES = (r"latest\.pt", r"checkpoint_\d{8,}\.pt")


class NonFiniteTrainingError(RuntimeError):
    """Training kept producing non-finite losses and no rollback could mend it."""


@dataclass(frozen=True)
class Callback:
    """Run ``fn(trainer)`` every ``every`` iterations; the scalars it returns are logged."""

    every: int
    fn: Callable[[Trainer], dict[str, float] | None]


class Trainer:
    """Trains a :class:`GANModule` on a dataset.

    Example::

        trainer = Trainer(RingGAN(loss="wgan_gp"), TrainerConfig(iterations=2000))
        trainer.fit(ring_of_gaussians(10_000))
        samples = trainer.module.sample(trainer.ema or trainer.generator, 512)
    """

    def __init__(
        self,
        module: GANModule,
        config: TrainerConfig,
        callbacks: Iterable[Callback] = (),
    ) -> None:
        self.module, self.config = module, config
        self.callbacks = list(callbacks)
        self.group = distributed.setup_process_group(config.device)
        self.device = self.group.device
        self.run_dir = None if config.run_dir is None else Path(config.run_dir)
        _seed_everything(config.seed + self.group.rank)
        for network in module.networks.values():
            network.to(self.device)
        if self.group.world_size > 1:
            distributed.broadcast_module_state(module.networks.values())
        self.optimizers = module.build_optimizers()
        self.schedulers = module.build_schedulers(self.optimizers)
        self.scalers = {
            name: torch.amp.GradScaler(self.device.type, enabled=config.precision == "fp16")
            for name in self.optimizers
        }
        self.ema = self._make_ema()
        self.phases = _validated_phases(module.phases(), self.optimizers)
        self.log = RunLog(self.run_dir, self.group.is_main, config.tensorboard)
        self.iteration = 0
        self.batches: BatchSource | None = None
        self._latest_outputs: dict[str, torch.Tensor | float] = {}
        self._nonfinite_streak = 0
        self._rollbacks = 0
        self._snapshot: dict[str, Any] | None = None
        self._entered = -1  # index of the last phase whose on_enter ran
        if self.run_dir is not None and self.group.is_main:
            self._remove_stale_temporaries()

    # ------------------------------------------------------------------ public
    @property
    def generator(self) -> nn.Module:
        """The network the EMA tracks and exports export."""
        return self.module.networks[self.module.generator_name]

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every logged scalar record."""
        return self.log.records

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every named event (skipped steps, rollbacks, monitor warnings)."""
        return self.log.events

    def log_event(self, name: str, **info: Any) -> None:
        """Record a named warning event at the current iteration."""
        if self.group.is_main:
            self.log.event(self.iteration, name, **info)
        else:
            self.log.events.append({"iteration": self.iteration, "event": name, **info})

    def fit(self, data: Any, resume_from: str | Path | None = None) -> Trainer:
        """Train until ``config.iterations`` (or the module asks to stop).

        Args:
            data: a tensor, a tuple of tensors, a Dataset or a :class:`BatchSource`.
            resume_from: a checkpoint to continue from exactly where it stopped.
        """
        self.batches = as_batch_source(
            data, self.config.batch_size, self.config.seed, self.group.rank, self.group.world_size
        )
        state = None
        if resume_from is not None:
            state = load_checkpoint(resume_from, map_location=self.device)
            if state.get("format") != CHECKPOINT_FORMAT:
                raise CheckpointError(f"{resume_from} is not a ganforge training checkpoint")
        # the phases the killed run had entered act first, then their state loads: a
        # checkpoint after iteration K was written inside the phase of iteration K - 1
        self._enter_phases_until(0 if state is None else max(0, int(state["iteration"]) - 1))
        if state is not None:
            self.load_state_dict(state)
            self.log.continue_from(self.iteration)
            self.log_event("resumed", checkpoint=str(resume_from))
        self._remember_good_state()
        bar = tqdm(
            total=self.config.iterations,
            initial=self.iteration,
            disable=not (self.config.progress and self.group.is_main),
            desc="training",
            dynamic_ncols=True,
        )
        try:
            while self.iteration < self.config.iterations:
                if self.module.should_stop(self.iteration):
                    self.log_event("stopped_by_module")
                    break
                self._enter_phases_until(self.iteration)
                self._run_iteration(self.phase_at(self.iteration))
                bar.update(1)
                self._after_iteration(bar)
            if self.run_dir is not None:
                self.save(self.run_dir / "latest.pt")
        finally:
            bar.close()
            self.log.close()
        return self

    def phase_at(self, iteration: int) -> Phase:
        """The phase that runs at ``iteration``."""
        return self.phases[self._phase_index_at(iteration)]

    def _phase_index_at(self, iteration: int) -> int:
        start = 0
        for index, phase in enumerate(self.phases):
            if phase.iterations is None or iteration < start + phase.iterations:
                return index
            start += phase.iterations
        return len(self.phases) - 1

    def _enter_phases_until(self, iteration: int) -> None:
        """Run ``on_enter`` of every phase not yet entered up to the one at ``iteration``;
        optimizers a phase returns replace the trainer's of the same name."""
        target = self._phase_index_at(iteration)
        while self._entered < target:
            self._entered += 1
            phase = self.phases[self._entered]
            replaced = phase.on_enter() if phase.on_enter is not None else None
            for name, optimizer in (replaced or {}).items():
                if name not in self.optimizers:
                    raise ValueError(f"phase {phase.name!r} returned an unknown optimizer {name!r}")
                self.optimizers[name] = optimizer

    def save(self, path: str | Path) -> Path | None:
        """Write a checkpoint (the main process writes; others only take part)."""
        state = self.state_dict()
        if not self.group.is_main:
            return None
        return save_checkpoint(path, state)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: networks, EMA, optimizers, RNGs..."""
        rng = distributed.gather_objects(capture_rng_states(), self.group.world_size)
        return {
            "format": CHECKPOINT_FORMAT,
            "iteration": self.iteration,
            "config": self.config.to_dict(),
            "networks": {name: net.state_dict() for name, net in self.module.networks.items()},
            "ema": None if self.ema is None else self.ema.state_dict(),
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "schedulers": {name: s.state_dict() for name, s in self.schedulers.items()},
            "scalers": {name: s.state_dict() for name, s in self.scalers.items()},
            "rng": rng,
            "batches": None if self.batches is None else self.batches.state_dict(),
            "extra": self.module.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (networks, optimizers, RNGs, position...)."""
        if state.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError("not a ganforge training checkpoint (missing format tag)")
        _load_named(self.module.networks, state["networks"], "network")
        _load_named(self.optimizers, state["optimizers"], "optimizer")
        _load_named(self.schedulers, state["schedulers"], "scheduler")
        _load_named(self.scalers, state["scalers"], "scaler")
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        rng = state["rng"]
        restore_rng_states(rng[self.group.rank] if self.group.rank < len(rng) else rng[0])
        if self.batches is not None and state["batches"] is not None:
            self.batches.load_state_dict(state["batches"])
        self.module.load_extra_state(state["extra"])
        self.iteration = int(state["iteration"])

    # ---------------------------------------------------------------- the loop
    def _run_iteration(self, phase: Phase) -> None:
        context = StepContext(
            iteration=self.iteration,
            phase=phase.name,
            device=self.device,
            rank=self.group.rank,
            world_size=self.group.world_size,
            seed=self.config.seed,
        )
        shared: list[Any] = []  # the phase's one real batch, once drawn
        for step in phase.steps:
            if self.iteration % step.every:
                continue
            for repetition in range(step.repeat):
                batch = self._batch_for(step, phase, repetition == 0, shared)
                self._run_step(step, batch, context)

    def _batch_for(self, step: Step, phase: Phase, first_run: bool, shared: list[Any]) -> Any:
        """``None``, the iteration's shared batch, or a fresh one."""
        if not step.needs_batch:
            return None
        if not (phase.share_batch and first_run):
            return self._next_batch()
        if not shared:
            shared.append(self._next_batch())
        return shared[0]

    def _next_batch(self) -> Any:
        return move_to(self.batches.next_batch(), self.device)

    def _run_step(self, step: Step, batch: Any, context: StepContext) -> None:
        with self._autocast(), self._only_trained_parameters(step):
            outputs = step.fn(batch, context)
        loss = outputs.get("loss")
        if step.log_outputs:
            self._remember_outputs(step, outputs)
        if step.optimizer is None or loss is None:
            return
        if not self._finite_on_every_rank(loss):
            value = float(loss.detach().float().mean()) if step.log_outputs else None
            self._skip_nonfinite(step, value)
            return
        optimizer, scaler = self.optimizers[step.optimizer], self.scalers[step.optimizer]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if self.group.world_size > 1:
            distributed.average_gradients(self._parameters_of(step), self.group.world_size)
        if self.config.grad_clip is not None:
            scaler.unscale_(optimizer)
            norm = torch.nn.utils.clip_grad_norm_(self._parameters_of(step), self.config.grad_clip)
            if not torch.isfinite(norm) and not scaler.is_enabled():
                optimizer.zero_grad(set_to_none=True)
                self._skip_nonfinite(step, float(norm) if step.log_outputs else None)
                return
        scaler.step(optimizer)
        scaler.update()
        if step.after is not None:
            step.after()
        if self.ema is not None and self.module.generator_name in step.network_names:
            self.ema.update_parameters(self.generator)
        self._nonfinite_streak = 0

    def _finite_on_every_rank(self, loss: torch.Tensor) -> bool:
        """Whether the loss is finite here and on every other rank (so all skip together)."""
        finite = torch.isfinite(loss.detach()).all()
        if self.group.world_size > 1:
            return distributed.true_on_every_rank(finite)
        return bool(finite)

    def _after_iteration(self, bar: tqdm) -> None:
        self.iteration += 1
        for scheduler in self.schedulers.values():
            scheduler.step()
        if self.group.world_size > 1:
            distributed.broadcast_module_state(self.module.networks.values(), buffers_only=True)
        extra = self._run_callbacks()
        if self.iteration % self.config.log_every == 0 or extra:
            record = self.log.scalars(self.iteration, {**self._scalar_outputs(), **extra})
            self._latest_outputs.clear()  # a step that stops reporting a value stops being logged
            bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k != "iteration"}, False)
        every = self.config.checkpoint_every
        if every is not None and self.iteration % every == 0:
            self._checkpoint()

    def _run_callbacks(self) -> dict[str, float]:
        values: dict[str, float] = {}
        for callback in self.callbacks:
            if self.iteration % callback.every == 0:
                values.update(callback.fn(self) or {})
        return values

    # ------------------------------------------------------- non-finite steps
    def _skip_nonfinite(self, step: Step, value: float | None) -> None:
        self._nonfinite_streak += 1
        self.optimizers[step.optimizer].zero_grad(set_to_none=True)
        info = {} if value is None else {"value": value}
        self.log_event("nonfinite_step_skipped", step=step.name, **info)
        if self._nonfinite_streak >= self.config.max_nonfinite:
            self._roll_back()

    def _roll_back(self) -> None:
        if self._rollbacks >= self.config.max_rollbacks or self._snapshot is None:
            raise NonFiniteTrainingError(
                f"{self._nonfinite_streak} non-finite steps in a row at iteration "
                f"{self.iteration} after {self._rollbacks} rollbacks; lower the learning "
                "rate or add a regularizer"
            )
        self._rollbacks += 1
        from_iteration = self.iteration
        self.load_state_dict(self._good_state())
        # A different random stream, so the same batches and noise are not replayed.
        _seed_everything(self.config.seed + 7919 * self._rollbacks + self.group.rank)
        self._nonfinite_streak = 0
        self.log_event("rolled_back", from_iteration=from_iteration, to_iteration=self.iteration)

    def _checkpoint(self) -> None:
        state = self.state_dict()  # on every rank: it gathers the RNG states of all ranks
        if self.run_dir is not None and self.group.is_main:
            save_checkpoint(self.run_dir / f"checkpoint_{self.iteration:08d}.pt", state)
            save_checkpoint(self.run_dir / "latest.pt", state)
            self._prune_checkpoints()
        self._remember(state)

    def _remove_stale_temporaries(self) -> None:
        """Delete the temporary files of checkpoint writes that a killed run left behind."""
        removed = remove_stale_temporaries(self.run_dir, CHECKPOINT_NAMES)
        if removed:
            self.log_event("stale_temporaries_removed", files=[path.name for path in removed])

    def _remember_good_state(self) -> None:
        """Make the current state the one to roll back to (written as latest.pt on disk)."""
        state = self.state_dict()
        if self.run_dir is not None and self.group.is_main:
            save_checkpoint(self.run_dir / "latest.pt", state)
        self._remember(state)

    def _remember(self, state: dict[str, Any]) -> None:
        if self.run_dir is not None and self.group.is_main:
            self._snapshot = {"path": str(self.run_dir / "latest.pt")}
        else:
            self._snapshot = copy.deepcopy(state)

    def _good_state(self) -> dict[str, Any]:
        assert self._snapshot is not None
        if "path" in self._snapshot:
            return load_checkpoint(self._snapshot["path"], map_location=self.device)
        return copy.deepcopy(self._snapshot)

    def _prune_checkpoints(self) -> None:
        numbered = sorted(self.run_dir.glob("checkpoint_*.pt"))
        for old in numbered[: -self.config.keep_checkpoints]:
            old.unlink(missing_ok=True)

    # ----------------------------------------------------------------- helpers
    def _make_ema(self) -> AveragedModel | None:
        if self.config.ema_decay is None:
            return None
        return AveragedModel(
            self.generator,
            multi_avg_fn=get_ema_multi_avg_fn(self.config.ema_decay),
            use_buffers=True,
        )

    def _autocast(self) -> Any:
        dtype = AUTOCAST_DTYPES.get(self.config.precision)
        if dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    def _parameters_of(self, step: Step) -> list[nn.Parameter]:
        """The parameters the step's optimizer updates."""
        optimizer = self.optimizers[step.optimizer]
        return [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]

    @contextmanager
    def _only_trained_parameters(self, step: Step) -> Iterator[None]:
        """Freeze, for the step, every network parameter its optimizer does not update.

        So a generator step leaves no gradients on the discriminator (and does not
        spend time computing them). Flags are restored exactly afterwards, so
        parameters a module froze on purpose stay frozen.
        """
        if step.optimizer is None:
            yield
            return
        trained = {
            id(p) for group in self.optimizers[step.optimizer].param_groups for p in group["params"]
        }
        frozen = [
            p
            for network in self.module.networks.values()
            for p in network.parameters()
            if p.requires_grad and id(p) not in trained
        ]
        for parameter in frozen:
            parameter.requires_grad_(False)
        try:
            yield
        finally:
            for parameter in frozen:
                parameter.requires_grad_(True)

    def _remember_outputs(self, step: Step, outputs: dict[str, Any]) -> None:
        for key, value in outputs.items():
            if isinstance(value, torch.Tensor):
                value = value.detach()
            self._latest_outputs[f"{step.name}/{key}"] = value

    def _scalar_outputs(self) -> dict[str, float]:
        return {
            key: float(value.float().mean()) if isinstance(value, torch.Tensor) else float(value)
            for key, value in self._latest_outputs.items()
        }


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _validated_phases(phases: list[Phase], optimizers: dict[str, Any]) -> list[Phase]:
    if not phases:
        raise ValueError("the module's phases() returned no phase")
    for index, phase in enumerate(phases):
        if phase.iterations is None and index != len(phases) - 1:
            raise ValueError(f"only the last phase may be open-ended; {phase.name!r} is not last")
        for step in phase.steps:
            if step.optimizer is not None and step.optimizer not in optimizers:
                raise ValueError(
                    f"step {step.name!r} names optimizer {step.optimizer!r}, but the module "
                    f"built only {sorted(optimizers)}"
                )
    return phases


def _load_named(targets: dict[str, Any], states: dict[str, Any], kind: str) -> None:
    missing = sorted(set(targets) - set(states))
    if missing:
        raise CheckpointError(f"the checkpoint has no state for {kind}(s) {missing}")
    for name, target in targets.items():
        target.load_state_dict(states[name])
