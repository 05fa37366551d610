"""TimeGAN (Yoon, Jarrett & van der Schaar, NeurIPS 2019) on the core trainer.

:class:`TimeGANModule` is the training recipe: three phases of the core
:class:`~ganforge.core.training.Trainer`, with the reference code's losses
and weights:

1. ``embed``: the autoencoder (embedder + recovery) on ``10 * sqrt(MSE(x, x~))``.
2. ``supervise``: the supervisor on the next-step latent loss ``MSE(h_{t+1}, S(h)_t)``.
3. ``joint``: per iteration, two generator steps on
   ``adv + gamma * adv_e + 100 * sqrt(L_S) + 100 * (moment loss)``, one
   embedder step on ``10 * sqrt(MSE) + 0.1 * L_S``, and one discriminator step
   on ``BCE(real, 1) + BCE(fake, 0) + gamma * BCE(fake_e, 0)`` that is taken
   only while that loss is above ``d_threshold`` (0.15); a skipped step returns
   no ``"loss"``, so the trainer runs no backward and no optimizer step.

:class:`TimeGAN` is the user-facing model: min-max scaling in and out, fitting
on windows ``(n, T, features)``, optional regime labels for conditional
scenarios, sampling, saving and loading.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ganforge.core.losses import non_saturating_d_loss, non_saturating_g_loss
from ganforge.core.training import (
    Callback,
    GANModule,
    Phase,
    Step,
    StepContext,
    Trainer,
    TrainerConfig,
)
from ganforge.core.training.distributed import resolve_device
from ganforge.finance.data import MinMaxScaler, regime_index
from ganforge.finance.losses import moment_loss, supervised_loss
from ganforge.finance.networks import Cell, build_timegan_networks
from ganforge.finance.stepwise import StepwiseTimeGAN, build_stepwise_networks
from ganforge.finance.transforms import GaussianizingScaler

MODEL_FORMAT = "ganforge-finance-timegan-v1"
Scaling = Literal["minmax", "gaussianize", "standardize"]
SCALINGS = ("minmax", "gaussianize", "standardize")
Generation = Literal["paper", "stepwise"]
AUTOENCODER = ("embedder", "recovery")
GENERATOR = ("generator", "supervisor")


@dataclass
class TimeGANConfig:
    """TimeGAN's settings (defaults from the paper and its reference code).

    Args:
        seq_len: window length (24 in the paper; 256 for yearly return paths).
        feature_dim: number of features per step.
        hidden_dim: latent size and recurrent width (24).
        num_layers: recurrent layers per network (3).
        cell: ``"gru"`` or ``"lstm"``.
        gamma: weight of the adversarial losses on the embedding-space path ``E^`` (1).
        lr: Adam learning rate of all optimizers (1e-3, TensorFlow's default).
        embed_iterations: iterations of the autoencoder phase.
        supervise_iterations: iterations of the supervised phase.
        joint_iterations: iterations of the joint phase.
        d_threshold: the discriminator is updated only while its loss exceeds this (0.15).
        n_conditions: condition channels: the number of regime labels (one-hot), or of
            conditioning series given per step; 0 for an unconditional model.
        scaling: ``"minmax"`` (the paper: data in [0, 1], sigmoid recovery, uniform
            noise) or ``"gaussianize"`` for log returns (Quant GANs' standardised
            Lambert W transform, a linear recovery, standard Gaussian noise that also
            reaches the generator's output head directly), or ``"standardize"``:
            the same without the tail transform (zero mean, unit variance).
        generation: ``"paper"`` (samples are ``R(S(G(z)))``) or ``"stepwise"`` for
            return paths (needs a scaling other than min-max): the supervisor gives the
            next step's mean and scale, trained by likelihood, and paths are
            generated one step at a time (see :mod:`ganforge.finance.stepwise`).
    """

    seq_len: int = 24
    feature_dim: int = 1
    hidden_dim: int = 24
    num_layers: int = 3
    cell: Cell = "gru"
    gamma: float = 1.0
    lr: float = 1e-3
    embed_iterations: int = 1000
    supervise_iterations: int = 1000
    joint_iterations: int = 1000
    d_threshold: float = 0.15
    n_conditions: int = 0
    scaling: Scaling = "minmax"
    generation: Generation = "paper"

    def __post_init__(self) -> None:
        _check_ints(self, {"seq_len": 2, "feature_dim": 1, "hidden_dim": 1, "num_layers": 1})
        _check_ints(self, {f"{p}_iterations": 0 for p in ("embed", "supervise", "joint")})
        _check_ints(self, {"n_conditions": 0})
        _check_floats(self, {"gamma": 0.0, "d_threshold": 0.0})
        if not _is_number(self.lr) or not self.lr > 0:
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {self.cell!r}")
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {', '.join(SCALINGS)}, got {self.scaling!r}")
        if self.generation not in ("paper", "stepwise"):
            raise ValueError(f"generation must be 'paper' or 'stepwise', got {self.generation!r}")
        if self.generation == "stepwise" and self.scaling == "minmax":
            raise ValueError(
                "generation='stepwise' models returns: set scaling='standardize' or 'gaussianize'"
            )

    @property
    def total_iterations(self) -> int:
        return self.embed_iterations + self.supervise_iterations + self.joint_iterations


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.number)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check_ints(owner: Any, minimums: dict[str, int]) -> None:
    """Each named attribute must be an integer of at least its minimum."""
    for name, minimum in minimums.items():
        value = getattr(owner, name)
        if not _is_int(value) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_floats(owner: Any, minimums: dict[str, float]) -> None:
    """Each named attribute must be a finite number of at least its minimum."""
    for name, minimum in minimums.items():
        value = getattr(owner, name)
        if not _is_number(value) or value < minimum:
            raise ValueError(f"{name} must be a finite number >= {minimum}, got {value!r}")


def _same_shapes(saved: dict[str, Any], networks: dict[str, torch.nn.Module]) -> bool:
    """Whether the saved network states have the names and tensor shapes of ``networks``."""
    if set(saved) != set(networks):
        return False
    for name, network in networks.items():
        own = {k: tuple(v.shape) for k, v in network.state_dict().items()}
        if own != {k: tuple(getattr(v, "shape", ())) for k, v in saved[name].items()}:
            return False
    return True


def _split(batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(batch, torch.Tensor):
        return batch, None
    if len(batch) == 1:
        return batch[0], None
    return batch[0], batch[1]


class TimeGANModule(StepwiseTimeGAN, GANModule):
    """TimeGAN's networks, optimizers and three-phase schedule for the core trainer."""

    generator_name = "generator"

    def __init__(self, config: TimeGANConfig) -> None:
        super().__init__()
        self.config = config
        self.settings: dict[str, Any] = {}  # what a checkpoint must match to be resumed
        if config.generation == "stepwise":
            self.networks = dict(
                build_stepwise_networks(
                    config.feature_dim,
                    config.hidden_dim,
                    config.num_layers,
                    config.cell,
                    config.n_conditions,
                )
            )
            return
        self.networks = dict(
            build_timegan_networks(
                config.feature_dim,
                config.hidden_dim,
                config.num_layers,
                config.cell,
                cond_dim=config.n_conditions,
                recovery_sigmoid=config.scaling == "minmax",
                noise_skip=config.scaling != "minmax",
            )
        )

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self.config.generation == "stepwise":
            return self.stepwise_optimizers(self.config.lr)

        def adam(names: Iterable[str]) -> torch.optim.Optimizer:
            params = [p for name in names for p in self.networks[name].parameters()]
            return torch.optim.Adam(params, lr=self.config.lr)

        return {"E": adam(AUTOENCODER), "G": adam(GENERATOR), "D": adam(["discriminator"])}

    def phases(self) -> list[Phase]:
        cfg = self.config
        if cfg.generation == "stepwise":
            return self.stepwise_phases()
        joint = [
            Step("generator", self.generator_step, "G", repeat=2, networks=GENERATOR),
            Step("embedder", self.embedder_step, "E", networks=AUTOENCODER),
            Step("discriminator", self.discriminator_step, "D", networks=("discriminator",)),
        ]
        return [
            Phase(
                "embed",
                [Step("autoencoder", self.autoencoder_step, "E", networks=AUTOENCODER)],
                iterations=cfg.embed_iterations,
            ),
            Phase(
                "supervise",
                [Step("supervisor", self.supervisor_step, "G", networks=GENERATOR)],
                iterations=cfg.supervise_iterations,
            ),
            Phase("joint", joint),
        ]

    def extra_state(self) -> dict[str, Any]:
        """The run's settings and data scaling, so a resume can check it continues the same run."""
        return {"settings": self.settings}

    # -- building blocks -------------------------------------------------------------
    def _net(self, name: str, x: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        return self.networks[name](x, condition)

    def _batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        return _split(batch)

    def _noise(self, ctx: StepContext, x: torch.Tensor) -> torch.Tensor:
        shape = (x.shape[0], x.shape[1], self.config.feature_dim)
        return ctx.rand(*shape) if self.config.scaling == "minmax" else ctx.randn(*shape)

    def _synthetic_latents(
        self, z: torch.Tensor, condition: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        e_hat = self._net("generator", z, condition)
        return e_hat, self._net("supervisor", e_hat, condition)

    # -- steps -----------------------------------------------------------------------
    def autoencoder_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Phase 1: ``10 * sqrt(MSE(x, R(E(x))))``."""
        x, c = _split(batch)
        x_tilde = self._net("recovery", self._net("embedder", x, c), c)
        mse = F.mse_loss(x_tilde, x)
        return {"loss": 10.0 * torch.sqrt(mse), "reconstruction_mse": mse.detach()}

    def supervisor_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Phase 2: next-step supervised loss on real latents."""
        x, c = _split(batch)
        with torch.no_grad():
            h = self._net("embedder", x, c)
        loss = supervised_loss(h, self._net("supervisor", h, c))
        return {"loss": loss}

    def generator_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Joint phase: adversarial + gamma * adversarial_e + 100 sqrt(L_S) + 100 moments."""
        x, c = _split(batch)
        with torch.no_grad():
            h = self._net("embedder", x, c)
        e_hat, h_hat = self._synthetic_latents(self._noise(ctx, x), c)
        x_hat = self._net("recovery", h_hat, c)
        adversarial = non_saturating_g_loss(self._net("discriminator", h_hat, c))
        adversarial_e = non_saturating_g_loss(self._net("discriminator", e_hat, c))
        l_s = supervised_loss(h, self._net("supervisor", h, c))
        moments = moment_loss(x_hat, x)
        loss = (
            adversarial
            + self.config.gamma * adversarial_e
            + 100.0 * torch.sqrt(l_s)
            + 100.0 * moments
        )
        return {
            "loss": loss,
            "adversarial": adversarial.detach(),
            "supervised": l_s.detach(),
            "moments": moments.detach(),
        }

    def embedder_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Joint phase: ``10 * sqrt(MSE) + 0.1 * L_S`` for the embedder and recovery."""
        x, c = _split(batch)
        h = self._net("embedder", x, c)
        mse = F.mse_loss(self._net("recovery", h, c), x)
        l_s = supervised_loss(h, self._net("supervisor", h, c))
        return {"loss": 10.0 * torch.sqrt(mse) + 0.1 * l_s, "reconstruction_mse": mse.detach()}

    def discriminator_step(self, batch: Any, ctx: StepContext) -> dict[str, Any]:
        """Joint phase: the discriminator loss; no update when it is at most ``d_threshold``."""
        x, c = _split(batch)
        with torch.no_grad():
            h = self._net("embedder", x, c)
            e_hat, h_hat = self._synthetic_latents(self._noise(ctx, x), c)
        real = self._net("discriminator", h, c)
        fake = self._net("discriminator", h_hat, c)
        fake_e = self._net("discriminator", e_hat, c)
        # BCE(fake_e, 0) = mean softplus(logit)
        loss = non_saturating_d_loss(real, fake) + self.config.gamma * F.softplus(fake_e).mean()
        if float(loss.detach()) > self.config.d_threshold:
            return {"loss": loss, "updated": 1.0}
        return {"skipped_loss": loss.detach(), "updated": 0.0}

    # -- generation ------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        n: int,
        condition: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        length: int | None = None,
    ) -> torch.Tensor:
        """``n`` scaled windows ``(n, length, feature_dim)`` (in [0, 1] for min-max scaling).

        ``length`` defaults to ``seq_len``; the recurrent networks unroll to any length.
        """
        device = next(self.networks["generator"].parameters()).device
        cfg = self.config
        draw = torch.rand if cfg.scaling == "minmax" else torch.randn
        steps = cfg.seq_len if length is None else length
        z = draw(n, steps, cfg.feature_dim, generator=generator).to(device)
        if condition is not None:
            condition = condition.to(device)
        was_training = {name: net.training for name, net in self.networks.items()}
        for net in self.networks.values():
            net.eval()
        try:
            if cfg.generation == "stepwise":
                return self.rollout(z, condition)
            _, h_hat = self._synthetic_latents(z, condition)
            return self._net("recovery", h_hat, condition)
        finally:
            for name, net in self.networks.items():
                net.train(was_training[name])


@dataclass
class TimeGAN:
    """TimeGAN with scaling in and out and optional regime conditioning.

    ``config.scaling`` picks the scaler: min-max (the paper) or, for log
    returns, :class:`~ganforge.finance.transforms.GaussianizingScaler`.

    Example::

        windows = sliding_windows(load_prices(), 24)            # (n, 24, 6)
        model = TimeGAN(TimeGANConfig(seq_len=24, feature_dim=6)).fit(windows)
        synthetic = model.sample(1000)                          # (1000, 24, 6), price units

    Args:
        config: the model's settings.
        batch_size: windows per batch (128 in the paper).
        seed: seeds the trainer, the batch order and the noise.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        metadata: what the windows hold (column names, returns or levels...),
            kept with the model; primitives only.
    """

    config: TimeGANConfig
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"
    metadata: dict[str, Any] = field(default_factory=dict)
    scaler: MinMaxScaler | GaussianizingScaler | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.check_options(self.batch_size, self.seed, self.device)
        if self.scaler is None:
            scaling = self.config.scaling
            self.scaler = (
                MinMaxScaler()
                if scaling == "minmax"
                else GaussianizingScaler(tails=scaling == "gaussianize")
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)  # the same seed gives the same initial networks
            self.module = TimeGANModule(self.config)

    @staticmethod
    def check_options(batch_size: Any = 128, seed: Any = 0, device: Any = "auto") -> None:
        """Refuse a bad batch size, seed or device with one line, before any work.

        Raises:
            ValueError: ``batch_size`` not an integer >= 1, ``seed`` not an
                integer >= 0, or a device that is unknown or not on this machine.
        """
        for name, value, minimum in (("batch_size", batch_size, 1), ("seed", seed, 0)):
            if not _is_int(value) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        resolve_device(device)

    def fit(
        self,
        windows: np.ndarray,
        labels: Sequence[int] | np.ndarray | None = None,
        run_dir: str | Path | None = None,
        checkpoint_every: int | None = None,
        resume_from: str | Path | None = None,
        callbacks: Iterable[Callback] = (),
        progress: bool = True,
        log_every: int = 50,
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
            resume_from: a trainer checkpoint to continue from (same data and settings).
            callbacks: periodic evaluations run by the trainer.
            progress: show a progress bar.
            log_every: iterations between logged records.
        """
        array = self._check_windows(windows)
        scaled = torch.as_tensor(self.scaler.fit_transform(array), dtype=torch.float32)
        data: tuple[torch.Tensor, ...] = (scaled,)
        if self.config.n_conditions:
            data = (scaled, self._condition(labels, len(array), self.config.seq_len))
        elif labels is not None:
            raise ValueError("labels given, but config.n_conditions is 0; set n_conditions")
        if len(array) < self.batch_size:
            raise ValueError(
                f"{len(array)} windows are fewer than batch_size {self.batch_size}: lower "
                "batch_size, the window length or the stride, or give more data"
            )
        trainer_config = TrainerConfig(
            iterations=self.config.total_iterations,
            batch_size=self.batch_size,
            seed=self.seed,
            run_dir=run_dir,
            device=self.device,
            log_every=log_every,
            checkpoint_every=checkpoint_every,
            progress=progress,
            tensorboard=False,
        )
        self.module.settings = self._settings(len(array))
        if resume_from is not None:
            self._check_resumable(resume_from)
        trainer = Trainer(self.module, trainer_config, callbacks=callbacks)
        start = time.perf_counter()
        trainer.fit(data, resume_from=resume_from)
        self.seconds = time.perf_counter() - start
        self.history = list(trainer.history)
        self.trainer = trainer
        return self

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
        tensor_condition = None
        if self.config.n_conditions:
            if condition is None:
                raise ValueError("this model is conditional: pass condition='calm' or 'stressed'")
            if isinstance(condition, np.ndarray):
                series = (
                    condition
                    if condition.ndim == 3
                    else np.broadcast_to(condition, (n, *np.shape(condition)))
                )
                tensor_condition = self._condition(series, n, steps)
            else:
                labels = np.full(n, regime_index(condition))
                tensor_condition = self._condition(labels, n, steps)
        elif condition is not None:
            raise ValueError("this model is not conditional; leave condition=None")
        generator = torch.Generator().manual_seed(self.seed if seed is None else seed)
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

    def save(self, path: str | Path) -> Path:
        """Write the networks, the scaler and the settings (a safe, weights-only file)."""
        state = {
            "format": MODEL_FORMAT,
            "config": asdict(self.config),
            "scaler": self.scaler.state_dict(),
            "networks": {k: v.state_dict() for k, v in self.module.networks.items()},
            "batch_size": self.batch_size,
            "seed": self.seed,
            "metadata": self.metadata,
        }
        return save_checkpoint(path, state)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> TimeGAN:
        """Load a model written by :meth:`save`."""
        state = load_checkpoint(path, map_location=device)
        if state.get("format") != MODEL_FORMAT:
            raise CheckpointError(f"{path} is not a TimeGAN model saved by TimeGAN.save()")
        model = cls(
            TimeGANConfig(**state["config"]),
            batch_size=state["batch_size"],
            seed=state["seed"],
            device=device,
            metadata=dict(state.get("metadata", {})),
        )
        model.scaler.load_state_dict(state["scaler"])
        for name, network in model.module.networks.items():
            network.load_state_dict(state["networks"][name])
            network.to(device)
        return model

    def _settings(self, n_windows: int) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "batch_size": self.batch_size,
            "seed": self.seed,
            "windows": n_windows,
            "scaler": self.scaler.state_dict(),
        }

    def _check_resumable(self, checkpoint: str | Path) -> None:
        """Refuse, in one line, a checkpoint of a run with other settings or other data."""
        state = load_checkpoint(checkpoint)
        if not _same_shapes(state.get("networks", {}), self.module.networks):
            raise ValueError(
                f"cannot resume {checkpoint}: its networks have other shapes; "
                "resume with the options and data of the killed run"
            )
        saved = (state.get("extra") or {}).get("settings")
        if not saved:
            return  # written before runs recorded their settings
        now = self.module.settings
        changed = [
            f"{key} {saved['config'].get(key)!r} (now {value!r})"
            for key, value in now["config"].items()
            if saved["config"].get(key) != value
        ]
        changed += [
            f"{key} {saved[key]!r} (now {now[key]!r})"
            for key in ("batch_size", "seed", "windows")
            if saved.get(key) != now[key]
        ]
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
                f"(0..{self.config.n_conditions - 1}, e.g. volatility_regimes())"
            )
        values = np.asarray(labels)
        if values.shape != (n,) or not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"labels must be {n} integers, one per window")
        if values.min() < 0 or values.max() >= self.config.n_conditions:
            raise ValueError(f"labels must lie in 0..{self.config.n_conditions - 1}")
        one_hot = F.one_hot(torch.as_tensor(values), self.config.n_conditions).float()
        return one_hot[:, None, :].expand(n, steps, -1).contiguous()


__all__ = [
    "TimeGAN",
    "TimeGANConfig",
    "TimeGANModule",
    "moment_loss",
    "supervised_loss",
]
