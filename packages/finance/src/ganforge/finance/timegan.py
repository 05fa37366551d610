"""TimeGAN, the user-facing model: windows in the data's units in, synthetic windows out.

:class:`TimeGAN` is a thin :class:`~ganforge.core.training.GANModel`: its
settings are one :class:`~ganforge.finance.config.TimeGANConfig`, whose
``generation`` picks the training module (:data:`MODULES`: the paper's
:class:`~ganforge.finance.paper.PaperTimeGANModule` or the return-path
:class:`~ganforge.finance.stepwise.StepwiseTimeGANModule`). It adds what is
finance's own: scaling in and out (min-max, or Gaussianised returns),
optional regime labels or conditioning series, sampling windows and long
paths, and the checks that a resumed run continues the same run. Seeding,
devices, the one trainer run and the model file are the core's.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.core.checkpoint import load_checkpoint
from ganforge.core.modelfile import ModelFile
from ganforge.core.training import BestCheckpoint, Callback, GANModel, Trainer, TrainingPlan
from ganforge.finance.config import TimeGANConfig
from ganforge.finance.data import MinMaxScaler, regime_index
from ganforge.finance.evaluation import discriminative_score
from ganforge.finance.losses import moment_loss, supervised_loss
from ganforge.finance.module import TimeGANModule
from ganforge.finance.paper import PaperTimeGANModule
from ganforge.finance.stepwise import StepwiseTimeGANModule
from ganforge.finance.transforms import GaussianizingScaler

PathLike = str | os.PathLike[str]
Scaler = MinMaxScaler | GaussianizingScaler
MODULES: dict[str, type[TimeGANModule]] = {
    "paper": PaperTimeGANModule,
    "stepwise": StepwiseTimeGANModule,
}
RUN_ONLY = ("device",)  # settings of this machine, not of the model or the run's result


def build_module(config: TimeGANConfig) -> TimeGANModule:
    """The training module ``config.generation`` names, with fresh networks."""
    return MODULES[config.generation](config)


class TimeGAN(GANModel[TimeGANConfig]):
    """TimeGAN with scaling in and out and optional regime conditioning.

    ``config.scaling`` picks the scaler: min-max (the paper) or, for log
    returns, :class:`~ganforge.finance.transforms.GaussianizingScaler`.

    Example::

        windows = sliding_windows(load_prices(), 24)            # (n, 24, 6)
        model = TimeGAN(TimeGANConfig(seq_len=24, feature_dim=6)).fit(windows)
        synthetic = model.sample(1000)                          # (1000, 24, 6), price units
        model.save("timegan.pt")
        same = TimeGAN.load("timegan.pt")                       # device="auto"

    Args:
        config: the model's settings (the defaults of :class:`TimeGANConfig` when omitted).
        metadata: what the windows hold (column names, returns or levels...),
            kept with the model; plain JSON data only.
        options: fields of :class:`TimeGANConfig` that replace the config's, as
            ``TimeGAN(config, batch_size=64, seed=1, device="cpu")``.
    """

    kind = "finance.TimeGAN"
    spec_type = TimeGANConfig
    file_excludes = RUN_ONLY

    def __init__(
        self,
        config: TimeGANConfig | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        names = [f.name for f in dataclasses.fields(TimeGANConfig)]
        unknown = sorted(set(options) - set(names))
        if unknown:
            raise ValueError(f"unknown options {unknown}: use fields of TimeGANConfig")
        super().__init__(dataclasses.replace(config or TimeGANConfig(), **options))
        self.metadata = dict(metadata or {})
        self._reset()

    def _reset(self) -> None:
        """An unfitted scaler and the networks as the seed initialises them."""
        self.scaler = _new_scaler(self.config)
        self.module = _initial_module(self.config)
        self.seconds = 0.0
        self._log_every = 50

    @property
    def config(self) -> TimeGANConfig:
        """The settings (the spec)."""
        return self.spec

    @property
    def batch_size(self) -> int:
        """Windows per batch (``config.batch_size``)."""
        return self.config.batch_size

    @property
    def seed(self) -> int:
        """The seed (``config.seed``)."""
        return self.config.seed

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        windows: np.ndarray,
        labels: Sequence[int] | np.ndarray | None = None,
        run_dir: PathLike | None = None,
        checkpoint_every: int | None = None,
        resume_from: PathLike | None = None,
        callbacks: Iterable[Callback] = (),
        progress: bool = True,
        log_every: int = 50,
        validation: np.ndarray | None = None,
        select_every: int = 500,
    ) -> TimeGAN:
        """Train on windows ``(n, seq_len, feature_dim)`` in the data's own units.

        Args:
            windows: training windows (see :func:`~ganforge.finance.data.sliding_windows`).
            labels: the condition of each window, required when
                ``config.n_conditions > 0``: regime labels (``n`` ints in
                ``0..n_conditions-1``) or conditioning series
                ``(n, seq_len, n_conditions)`` (used as given: scale them to about [0, 1]).
            run_dir: folder for logs and checkpoints.
            checkpoint_every: iterations between checkpoints (needs ``run_dir``).
            resume_from: a trainer checkpoint to continue from; refused, in one
                line, when its run had other settings or other data.
            callbacks: periodic evaluations run by the trainer.
            progress: show a progress bar.
            log_every: iterations between logged records.
            validation: real windows kept out of training (and out of any final
                score): every ``select_every`` iterations of the joint phase the
                model is scored on them with the discriminative protocol
                (:func:`validation_score`) and the best-scoring networks are kept
                (the core's :class:`BestCheckpoint`; ``run_dir/best.pt`` with a
                ``run_dir``). ``selected_iteration`` says which iteration won.
            select_every: iterations between those scores.
        """
        self._log_every = log_every
        callbacks = list(callbacks)
        best = None
        if validation is not None:
            checked = self._check_windows(validation)
            best = BestCheckpoint(self._validation_metric(checked), select_every, name="val_disc")
            callbacks.append(best.callback())
        start = time.perf_counter()
        super().fit(
            (windows, labels),
            progress=progress,
            run_dir=run_dir,
            checkpoint_every=checkpoint_every,
            resume_from=resume_from,
            callbacks=callbacks,
        )
        self.selected_iteration = None if best is None else best.restore(self.trainer)
        self.seconds = time.perf_counter() - start
        return self

    def _validation_metric(self, validation: np.ndarray):
        """The discriminative score of the module being trained against ``validation``
        (``nan`` before the joint phase, whose samples are the model's)."""
        joint_from = self.config.embed_iterations + self.config.supervise_iterations

        def metric(trainer: Trainer) -> float:
            if trainer.iteration <= joint_from:
                return float("nan")
            self.module = trainer.module
            return validation_score(self, validation)

        return metric

    def plan(self, data: tuple[Any, Any], resume_from: Path | None) -> TrainingPlan:
        """Check the windows and labels, fit the scaler, and build a fresh module."""
        cfg = self.config
        windows, labels = data
        array = self._check_windows(windows)
        condition = self._training_condition(labels, len(array))
        if len(array) < cfg.batch_size:
            raise ValueError(
                f"{len(array)} windows are fewer than batch_size {cfg.batch_size}: lower "
                "batch_size, the window length or the stride, or give more data"
            )
        scaled = torch.as_tensor(self.scaler.fit_transform(array), dtype=torch.float32)
        module = build_module(cfg)
        module.fit_start(scaled[:, 0], condition)
        module.settings = self._settings(len(array))
        if resume_from is not None:
            check_resumable(resume_from, module)
        batches = (scaled,) if condition is None else (scaled, condition)
        options = {"log_every": self._log_every}
        return TrainingPlan(module, batches, cfg.total_iterations, cfg.batch_size, options)

    def fitted(self, module: TimeGANModule) -> None:
        """Keep the trained module for sampling."""
        self.module = module

    def _settings(self, n_windows: int) -> dict[str, Any]:
        """What a resumed run must share with the run that wrote its checkpoint."""
        return {
            "config": self.file_spec(),
            "windows": n_windows,
            "scaler": self.scaler.state_dict(),
        }

    def _training_condition(self, labels: Any, n: int) -> torch.Tensor | None:
        if self.config.n_conditions:
            return self._condition(labels, n, self.config.seq_len)
        if labels is not None:
            raise ValueError("labels given, but config.n_conditions is 0; set n_conditions")
        return None

    # --------------------------------------------------------------- sample
    def sample(
        self,
        n: int,
        condition: int | str | np.ndarray | None = None,
        seed: int | None = None,
        length: int | None = None,
    ) -> np.ndarray:
        """``n`` synthetic windows ``(n, length, feature_dim)`` in the data's units.

        Args:
            n: number of windows.
            condition: for a conditional model, a regime (``"calm"``, ``"stressed"``
                or an int) or a conditioning series ``(seq_len, n_conditions)`` or
                ``(n, seq_len, n_conditions)``; ``None`` otherwise.
            seed: seed of the noise (default: the model's seed).
            length: steps per window (default ``seq_len``); longer windows unroll the
                recurrent networks past the training length.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        steps = self.config.seq_len if length is None else length
        if steps < 1:
            raise ValueError(f"length must be >= 1, got {steps}")
        tensor_condition = self._sampling_condition(condition, n, steps)
        generator = torch.Generator().manual_seed(self.config.seed if seed is None else seed)
        scaled = self.module.sample(n, tensor_condition, generator, steps)
        return self.scaler.inverse_transform(scaled.cpu().double().numpy())

    def sample_days(
        self,
        n_days: int,
        n_paths: int = 1,
        condition: int | str | np.ndarray | None = None,
        seed: int | None = None,
    ) -> np.ndarray:
        """``(n_paths, n_days, feature_dim)``, as ``sample_days(250, condition="stressed")``.

        With ``scaling="gaussianize"`` or ``"standardize"`` each path is one pass of the recurrent
        networks over ``n_days`` steps, so volatility can persist across the whole
        path (a conditioning series must then cover ``n_days`` steps); with
        min-max scaling, consecutive windows (independent draws) are joined.
        """
        if n_days < 1 or n_paths < 1:
            raise ValueError(f"n_days and n_paths must be >= 1, got {n_days}, {n_paths}")
        if self.config.scaling != "minmax":
            return self.sample(n_paths, condition, seed, length=n_days)
        per_path = math.ceil(n_days / self.config.seq_len)
        windows = self.sample(per_path * n_paths, condition, seed)
        joined = windows.reshape(n_paths, per_path * self.config.seq_len, -1)
        return joined[:, :n_days]

    def _sampling_condition(
        self, condition: int | str | np.ndarray | None, n: int, steps: int
    ) -> torch.Tensor | None:
        if not self.config.n_conditions:
            if condition is not None:
                raise ValueError("this model is not conditional; leave condition=None")
            return None
        if condition is None:
            raise ValueError("this model is conditional: pass condition='calm' or 'stressed'")
        if isinstance(condition, np.ndarray):
            series = (
                condition
                if condition.ndim == 3
                else np.broadcast_to(condition, (n, *condition.shape))
            )
            return self._condition(series, n, steps)
        return self._condition(np.full(n, regime_index(condition)), n, steps)

    # ------------------------------------------------------------ save/load
    def file_state(self) -> dict[str, torch.nn.Module]:
        """The networks (the stepwise mode's start mixture among them)."""
        return self.module.networks

    def file_extra(self) -> dict[str, Any]:
        """The fitted scaler and the metadata, as JSON text."""
        return {
            "scaler": json.dumps(self.scaler.state_dict()),
            "metadata": json.dumps(self.metadata),
        }

    def restore(self, file: ModelFile, device: torch.device) -> None:
        """Rebuild the networks, the scaler and the metadata from a model file."""
        self._reset()
        self.metadata = dict(json.loads(file.extra["metadata"]))
        self.scaler.load_state_dict(json.loads(file.extra["scaler"]))
        for name, network in self.module.networks.items():
            network.load_state_dict(self.module.upgrade_state(name, file.state.get(name)))
            network.to(device)
        if "start" in self.module.networks:
            self.module.networks["start"].check()

    @classmethod
    def load(cls, path: PathLike, device: str | torch.device = "auto") -> TimeGAN:
        """Load a model written by :meth:`save` onto ``device`` (``"auto"``: CUDA when present).

        Raises:
            CheckpointError: one line for a missing, truncated or damaged file, a
                model file of another kind or a newer format.
        """
        return super().load(path, device)

    # --------------------------------------------------------------- checks
    def _check_windows(self, windows: np.ndarray) -> np.ndarray:
        array = np.asarray(windows, dtype=np.float64)
        expected = (self.config.seq_len, self.config.feature_dim)
        if array.ndim != 3 or array.shape[1:] != expected:
            raise ValueError(
                f"windows must have shape (n, {expected[0]}, {expected[1]}), "
                f"got {array.shape}; build them with sliding_windows()"
            )
        if len(array) < 2:
            raise ValueError("need at least 2 windows to train")
        if not np.all(np.isfinite(array)):
            raise ValueError("windows hold NaN or infinite values")
        return array

    def _condition(self, labels: Any, n: int, steps: int) -> torch.Tensor:
        channels = self.config.n_conditions
        if isinstance(labels, np.ndarray) and labels.ndim == 3:
            if labels.shape != (n, steps, channels):
                raise ValueError(
                    f"conditioning series must have shape ({n}, {steps}, "
                    f"{channels}), got {labels.shape}"
                )
            if not np.all(np.isfinite(labels)):
                raise ValueError("conditioning series hold NaN or infinite values")
            return torch.tensor(np.array(labels, dtype=np.float32))
        if channels < 2:
            raise ValueError("regime labels need n_conditions >= 2 (one channel per regime)")
        if labels is None:
            raise ValueError(
                f"this model is conditional: pass one label per window "
                f"(0..{channels - 1}, e.g. volatility_regimes())"
            )
        values = np.asarray(labels)
        if values.shape != (n,) or not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"labels must be {n} integers, one per window")
        if values.min() < 0 or values.max() >= channels:
            raise ValueError(f"labels must lie in 0..{channels - 1}")
        one_hot = F.one_hot(torch.as_tensor(values), channels).float()
        return one_hot[:, None, :].expand(n, steps, -1).contiguous()


def check_resumable(checkpoint: PathLike, module: TimeGANModule) -> None:
    """Refuse, in one line, a checkpoint of a run with other settings or other data.

    Raises:
        ValueError: the checkpoint's networks have other shapes, its run had other
            settings (each named with both values) or was fitted on other data.
    """
    state = load_checkpoint(checkpoint)
    if not _same_shapes(state.get("networks", {}), module.networks):
        raise ValueError(
            f"cannot resume {checkpoint}: its networks have other shapes; "
            "resume with the options and data of the killed run"
        )
    saved = (state.get("extra") or {}).get("settings") or {}
    now, before = module.settings, saved.get("config", {})
    changed = [
        f"{key} {before.get(key)!r} (now {value!r})"
        for key, value in now["config"].items()
        if before.get(key) != value
    ]
    if saved.get("windows") != now["windows"]:
        changed.append(f"windows {saved.get('windows')!r} (now {now['windows']!r})")
    if changed:
        raise ValueError(
            f"cannot resume {checkpoint}: its run had {', '.join(changed)}; "
            "resume with the options and data of the killed run"
        )
    if saved.get("scaler") != now["scaler"]:
        raise ValueError(
            f"cannot resume {checkpoint}: its run was fitted on other data; "
            "resume with the data of the killed run"
        )


def _same_shapes(saved: dict[str, Any], networks: dict[str, torch.nn.Module]) -> bool:
    """Whether the saved network states have the names and tensor shapes of ``networks``."""
    if set(saved) != set(networks):
        return False
    for name, network in networks.items():
        own = {k: tuple(v.shape) for k, v in network.state_dict().items()}
        if own != {k: tuple(getattr(v, "shape", ())) for k, v in saved[name].items()}:
            return False
    return True


def _new_scaler(config: TimeGANConfig) -> Scaler:
    if config.scaling == "minmax":
        return MinMaxScaler()
    return GaussianizingScaler(tails=config.scaling == "gaussianize")


def _initial_module(config: TimeGANConfig) -> TimeGANModule:
    """The module as ``config.seed`` initialises it, leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return build_module(config)


__all__ = [
    "MODULES",
    "TimeGAN",
    "TimeGANConfig",
    "TimeGANModule",
    "build_module",
    "check_resumable",
    "moment_loss",
    "supervised_loss",
]


SELECTION_CLASSIFIER_ITERATIONS = 500


def validation_score(model: TimeGAN, validation: np.ndarray, seed: int = 0) -> float:
    """The discriminative score (a post-hoc GRU's ``|accuracy - 0.5|``, 500 iterations)
    of ``len(validation)`` sampled windows against real ``validation`` windows, both
    in the model's scaled units: what model selection compares between checkpoints."""
    if model.config.n_conditions:
        return float("nan")  # a conditional model would need the validation labels
    fake = model.sample(len(validation), seed=seed)
    scaled_real = model.scaler.transform(validation)
    scaled_fake = model.scaler.transform(fake)
    return discriminative_score(
        scaled_real, scaled_fake, iterations=SELECTION_CLASSIFIER_ITERATIONS, seed=seed
    )
