"""GANModel: the layer every domain's user-facing class stands on.

A domain's model (``DPTabularGAN``, ``TimeGAN``, ``MedicalSR``...) is a thin
subclass: a spec dataclass (the single source of truth for its settings, with
``seed`` and ``device`` fields), the networks, and its data in and out. The
base owns the rest, once for every package:

- seeding: ``spec.seed`` seeds network initialisation and the trainer, so two
  fits in one process are identical whatever the global RNG held before;
- devices: ``spec.device`` (``"auto"`` by default) through the core resolver;
- training: one :class:`Trainer` run over the :class:`TrainingPlan` the
  subclass makes from the data; checkpoints and exact resume (``run_dir``,
  ``checkpoint_every``, ``resume_from``); the history of logged scalars;
- the model file: :func:`~ganforge.core.modelfile.save_model` /
  :func:`~ganforge.core.modelfile.load_model` with the class's ``kind`` tag.

A subclass implements :meth:`plan` (module, data and length of a fit),
:meth:`fitted` (keep what sampling needs), :meth:`file_state` /
:meth:`file_extra` (what the model file holds) and :meth:`restore` (rebuild
from a model file).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch import nn

from ganforge.core.checkpoint import CheckpointError
from ganforge.core.modelfile import ModelFile, load_model, require_kind, save_model
from ganforge.core.training.config import TrainerConfig
from ganforge.core.training.distributed import resolve_device
from ganforge.core.training.module import GANModule
from ganforge.core.training.trainer import Callback, Trainer

SpecT = TypeVar("SpecT")
PathLike = str | os.PathLike[str]


@dataclass
class TrainingPlan:
    """What one fit trains: the module, its data, how long, and trainer settings."""

    module: GANModule
    data: Any
    iterations: int
    batch_size: int
    options: dict[str, Any] = field(default_factory=dict)


class GANModel(Generic[SpecT]):
    """Base of every package's user-facing model (see the module docstring).

    Class attributes:
        kind: the model file's tag, ``"<package>.<Class>"``.
        spec_type: the spec dataclass; it validates itself on construction.
        file_excludes: spec fields never written to a model file (``("seed",)``
            where the seed must not be published).
    """

    kind: ClassVar[str]
    spec_type: ClassVar[type]
    file_excludes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, spec: SpecT) -> None:
        if not isinstance(spec, self.spec_type):
            raise TypeError(f"{type(self).__name__} needs a {self.spec_type.__name__} spec")
        self.spec = spec
        self.history: list[dict[str, Any]] = []
        self.trainer: Trainer | None = None

    # ------------------------------------------------------------ subclasses
    def plan(self, data: Any, resume_from: Path | None) -> TrainingPlan:
        """The module, data and schedule of a fit on ``data`` (resuming when given)."""
        raise NotImplementedError

    def fitted(self, module: GANModule) -> None:
        """Keep what sampling needs once training ended (networks in eval mode...)."""
        raise NotImplementedError

    def file_state(self) -> dict[str, nn.Module]:
        """The networks the model file holds, by name."""
        raise NotImplementedError

    def file_extra(self) -> dict[str, Any]:
        """Tensors and primitives the model file holds besides the networks."""
        return {}

    def restore(self, file: ModelFile, device: torch.device) -> None:
        """Rebuild the fitted model from a model file (networks on ``device``)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ base
    @property
    def device(self) -> torch.device:
        """The device the spec names (``"auto"``: CUDA when present)."""
        return resolve_device(getattr(self.spec, "device", "auto"))

    def fit(
        self,
        data: Any,
        *,
        progress: bool = False,
        run_dir: PathLike | None = None,
        checkpoint_every: int | None = None,
        resume_from: PathLike | None = None,
        callbacks: Iterable[Callback] = (),
    ) -> GANModel[SpecT]:
        """Train on ``data`` in one trainer run.

        Args:
            data: the domain's data (a DataFrame, windows, images...).
            progress: show a progress bar.
            run_dir: folder for checkpoints and the run log.
            checkpoint_every: iterations between checkpoints (needs ``run_dir``).
            resume_from: a checkpoint of a killed fit with the same data and spec.
            callbacks: periodic trainer callbacks (monitors, evaluation).
        """
        seed = int(getattr(self.spec, "seed", 0))
        torch.manual_seed(seed)  # network initialisation, before the module is built
        resume = None if resume_from is None else Path(resume_from)
        plan = self.plan(data, resume)
        config = TrainerConfig(
            iterations=plan.iterations,
            batch_size=plan.batch_size,
            seed=seed,
            device=str(self.device),
            run_dir=run_dir,
            checkpoint_every=checkpoint_every,
            progress=progress,
            **{"tensorboard": False, **plan.options},
        )
        self.trainer = Trainer(plan.module, config, callbacks).fit(plan.data, resume_from=resume)
        self.history = list(self.trainer.history)
        self.fitted(plan.module)
        return self

    def file_spec(self) -> dict[str, Any]:
        """The spec as plain data for the model file (less ``file_excludes``)."""
        values = _plain(dataclasses.asdict(self.spec))
        return {k: v for k, v in values.items() if k not in self.file_excludes}

    def save(self, path: PathLike) -> Path:
        """Write the model file atomically (weights-only loadable)."""
        state = {name: net.state_dict() for name, net in self.file_state().items()}
        return save_model(path, self.kind, self.file_spec(), state, self.file_extra())

    @classmethod
    def load(cls, path: PathLike, device: str | torch.device = "auto") -> GANModel[Any]:
        """Load a model file of this class onto ``device`` (a one-line error otherwise)."""
        target = resolve_device(device)
        return cls.from_model_file(load_model(path, cls.kind), path, target)

    @classmethod
    def from_model_file(
        cls, file: ModelFile, path: PathLike, device: str | torch.device = "auto"
    ) -> GANModel[Any]:
        """The model in a model file already read (``path`` names it in errors)."""
        require_kind(file.kind, cls.kind, path)
        target = resolve_device(device)
        try:
            spec = cls.spec_type(**{**file.spec, **_device_field(cls.spec_type, target)})
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{path} has a spec this version cannot use: {error}") from None
        model = cls.__new__(cls)
        GANModel.__init__(model, spec)
        try:
            model.restore(file, target)
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise CheckpointError(f"{path} is a damaged {cls.kind} model: {first_line}") from None
        return model


def _device_field(spec_type: type, device: torch.device) -> dict[str, str]:
    names = {f.name for f in dataclasses.fields(spec_type)}
    return {"device": str(device)} if "device" in names else {}


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively (JSON's plain data)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
