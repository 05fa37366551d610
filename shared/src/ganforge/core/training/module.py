"""What a domain hands the trainer: networks, optimizers and step functions.

The trainer knows nothing of a domain's losses. A domain subclasses
:class:`GANModule`, builds its networks in ``__init__``, its optimizers in
:meth:`GANModule.build_optimizers` (called after the networks are on the
device) and returns its schedule from :meth:`GANModule.phases`: a list of
:class:`Phase`, each a list of :class:`Step`. A step function takes a batch and
a :class:`StepContext` and returns a dict with a scalar ``"loss"`` (the trainer
runs backward and the optimizer) plus any other scalars to log. A step that
returns no ``"loss"`` skips its optimizer step this time (TimeGAN's
discriminator, updated only while its loss exceeds 0.15, does this); its other
values are still logged. While a step runs, network parameters its optimizer
does not update are frozen, so it leaves no gradients on them.

Examples of schedules::

    # WGAN-GP: five critic steps per generator step
    [Phase("gan", [Step("D", self.d_step, "D", repeat=5), Step("G", self.g_step, "G")])]

    # TimeGAN: three phases
    [Phase("embed", [...], iterations=1000), Phase("supervise", [...], iterations=1000),
     Phase("joint", [...])]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

StepOutput = Mapping[str, torch.Tensor | float]
StepFn = Callable[[Any, "StepContext"], StepOutput]


@dataclass(frozen=True)
class Step:
    """One optimisation step of one or more networks.

    Args:
        name: label used in logs (``"D"``, ``"G"``, ``"embedder"``...).
        fn: ``fn(batch, ctx) -> {"loss": tensor, ...}``.
        optimizer: key of the optimizer (in ``build_optimizers()``) to step,
            or ``None`` for a step that owns its backward and update (an RL policy
            update, a step through a frozen target model): the narrow seam where a
            step does its own forward and backward; nothing is frozen for it and
            a ``"loss"`` it returns is only logged.
        repeat: how many times the step runs per iteration (n_critic / k-step);
            each repetition draws a fresh batch.
        every: run only on iterations divisible by ``every`` (lazy updates).
        networks: the names of the networks the step updates (default
            ``(optimizer,)``). The trainer reads it for one thing: after a step
            whose networks include the module's ``generator_name`` it updates the
            generator's EMA. Which parameters are trained, clipped and averaged
            across processes is decided by the step's optimizer alone (its
            parameter groups); the trainer freezes every other parameter while
            the step runs.
        after: optional hook run after the optimizer step (weight clipping...).
        needs_batch: draw a batch for this step (``False`` gives ``None``).
        log_outputs: log what the step returns (progress bar, run log, history).
            ``False`` for a step whose values are computed from private data
            without noise (a DP discriminator's loss on real rows): nothing it
            returns leaves the process, and its non-finite events carry no value.
    """

    name: str
    fn: StepFn
    optimizer: str | None
    repeat: int = 1
    every: int = 1
    networks: tuple[str, ...] | None = None
    after: Callable[[], None] | None = None
    needs_batch: bool = True
    log_outputs: bool = True

    def __post_init__(self) -> None:
        if self.repeat < 1 or self.every < 1:
            raise ValueError(f"step {self.name!r}: repeat and every must be >= 1")

    @property
    def network_names(self) -> tuple[str, ...]:
        if self.networks is not None:
            return self.networks
        return (self.optimizer,) if self.optimizer is not None else ()


@dataclass(frozen=True)
class Phase:
    """A run of iterations with one list of steps.

    Args:
        name: label used in logs.
        steps: the steps of every iteration, in order.
        iterations: the phase's length; ``None`` means "until the end of
            training" (only the last phase may leave it open).
        share_batch: the steps of one iteration share one real batch (the first
            run of each step that needs one gets the same batch; repeated critic
            steps still draw fresh ones), as HiFi-GAN and stylegan2-ada train D and
            G on the same reals.
        on_enter: called once when the phase starts (on a resume, for every phase
            up to the resumed one, before the checkpoint loads): grow a network,
            switch a loss, or rebuild optimizers; it may return ``{name:
            optimizer}`` to replace the trainer's optimizers of those names.
    """

    name: str
    steps: list[Step]
    iterations: int | None = None
    share_batch: bool = False
    on_enter: Callable[[], dict[str, torch.optim.Optimizer] | None] | None = None


@dataclass
class StepContext:
    """What a step function may ask of the trainer.

    ``handoff`` is a scratch dict that lives for one iteration: a step can leave
    tensors there for a later step of the same iteration (the generator's output
    that D used, detached or not) so that step need not run the forward again.
    """

    iteration: int
    phase: str
    device: torch.device
    rank: int = 0
    world_size: int = 1
    seed: int = 0
    handoff: dict[str, Any] = field(default_factory=dict, repr=False)
    _draws: int = field(default=0, repr=False)

    def generator(self) -> torch.Generator:
        """A CPU generator seeded by (seed, iteration, draw index).

        Every process gets the same generator, so :meth:`randn` can slice one
        global draw per rank: a run on N processes draws exactly the noise a
        single process with the N-times larger batch draws.
        """
        self._draws += 1
        seed = (self.seed * 1_000_003 + self.iteration * 9_176 + self._draws) % (2**63)
        return torch.Generator().manual_seed(seed)

    def randn(self, batch: int, *shape: int) -> torch.Tensor:
        """Standard normal noise of shape ``(batch, *shape)`` for this rank."""
        full = torch.randn(batch * self.world_size, *shape, generator=self.generator())
        return full[self.rank * batch : (self.rank + 1) * batch].to(self.device)

    def rand(self, batch: int, *shape: int) -> torch.Tensor:
        """Uniform [0, 1) noise of shape ``(batch, *shape)`` for this rank."""
        full = torch.rand(batch * self.world_size, *shape, generator=self.generator())
        return full[self.rank * batch : (self.rank + 1) * batch].to(self.device)


class GANModule:
    """Base class for what a domain gives :class:`~ganforge.core.training.Trainer`.

    Subclasses set ``self.networks`` (a dict of ``nn.Module``) in ``__init__``
    and implement :meth:`build_optimizers` and :meth:`phases`.
    ``generator_name`` names the network that the EMA tracks and that
    :func:`~ganforge.core.checkpoint.export_generator` exports.
    """

    generator_name: str = "G"

    def __init__(self) -> None:
        self.networks: dict[str, nn.Module] = {}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Create the optimizers (called once the networks are on the device)."""
        raise NotImplementedError

    def build_schedulers(
        self, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """Optional learning-rate schedulers, stepped once per iteration."""
        return {}

    def phases(self) -> list[Phase]:
        """The training schedule."""
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        """Extra state to checkpoint (e.g. a privacy accountant); tensors and primitives only."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""

    def should_stop(self, iteration: int) -> bool:
        """Return True to end training early (e.g. a privacy budget is spent)."""
        return False
