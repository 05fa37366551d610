"""TimeGAN's settings: one dataclass, checked when it is made.

:class:`TimeGANConfig` is the single source of truth for a TimeGAN model: the
networks, the three phases, the scaling, the sampling path (``generation``
picks the training module, see :func:`~ganforge.finance.timegan.build_module`)
and the run's batch size, seed and device. The command line derives its model
options from it; a bad value is a one-line ``ValueError`` before any data is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ganforge.core.settings import check_at_least, check_integer, check_positive
from ganforge.core.training import resolve_device
from ganforge.finance.networks import Cell

Scaling = Literal["minmax", "gaussianize", "standardize"]
SCALINGS = ("minmax", "gaussianize", "standardize")
Generation = Literal["paper", "stepwise"]
PHASES = ("embed", "supervise", "joint")


@dataclass
class TimeGANConfig:
    """TimeGAN's settings (defaults from the paper and its reference code).

    Args:
        seq_len: window length in days, at least 2 (24 in the paper; 256 for yearly
            return paths).
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
            generated one step at a time (see ``ganforge.finance.stepwise``).
        batch_size: windows per batch (128 in the paper).
        seed: seeds network initialisation, the trainer, the batch order and the
            default sampling noise.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
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
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        _check_ints(self, {"seq_len": 2, "feature_dim": 1, "hidden_dim": 1, "num_layers": 1})
        _check_ints(self, {f"{phase}_iterations": 0 for phase in PHASES})
        _check_ints(self, {"n_conditions": 0, "batch_size": 1, "seed": 0})
        _check_floats(self, {"gamma": 0.0, "d_threshold": 0.0})
        check_positive("lr", self.lr)
        _check_choice("cell", self.cell, ("gru", "lstm"))
        _check_choice("scaling", self.scaling, SCALINGS)
        _check_choice("generation", self.generation, ("paper", "stepwise"))
        if self.generation == "stepwise" and self.scaling == "minmax":
            raise ValueError(
                "generation='stepwise' models returns: set scaling='standardize' or 'gaussianize'"
            )
        resolve_device(self.device)

    @property
    def total_iterations(self) -> int:
        """Iterations of the three phases together."""
        return self.embed_iterations + self.supervise_iterations + self.joint_iterations


def _check_ints(owner: Any, minimums: dict[str, int]) -> None:
    """Each named attribute must be an integer of at least its minimum."""
    for name, minimum in minimums.items():
        check_integer(name, getattr(owner, name), minimum)


def _check_floats(owner: Any, minimums: dict[str, float]) -> None:
    """Each named attribute must be a finite number of at least its minimum."""
    for name, minimum in minimums.items():
        check_at_least(name, getattr(owner, name), minimum)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        quoted = [repr(choice) for choice in choices]
        listed = f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        raise ValueError(f"{name} must be {listed}, got {value!r}")
