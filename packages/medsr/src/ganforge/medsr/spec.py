"""The settings of :class:`~ganforge.medsr.MedicalSR`: one dataclass, checked when it is made.

Every setting has its one default here; the model, its training module and the
command line take theirs from this class. A bad value is a one-line
``ValueError`` before any data is read or any file is written.
"""

from __future__ import annotations

import math
import os
import typing
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from ganforge.core.losses import get_loss
from ganforge.core.settings import (
    check_fraction,
    check_integer,
    check_positive,
    is_integer,
    is_number,
)
from ganforge.core.training import resolve_device
from ganforge.medsr.degradation import Degradation, check_scale
from ganforge.medsr.losses import LossWeights
from ganforge.medsr.networks import GeneratorConfig, patch_min_size

STAGES = ("pretrain", "adversarial")


@dataclass
class MedicalSRSpec:
    """Settings of a two-stage medical SR model (see :class:`~ganforge.medsr.MedicalSR`).

    Args:
        scale: upsampling factor, 2 or 4.
        spatial_dims: 2 (slices / images) or 3 (volumes).
        degradation: how the LR training images are made: ``"kspace"`` (MRI), ``"psf"``
            (CT / X-ray) or ``"bicubic"`` (2-D only).
        noise_std: LR noise std of the degradation, in [0, 1] intensity units.
        generator: generator sizes (:class:`GeneratorConfig` or a dict of its fields);
            its ``scale`` and ``spatial_dims`` are taken from above.
        weights: loss weights (:class:`LossWeights` or a dict of its fields).
        adversarial_loss: a core loss name (``ganforge.core.losses``: hinge,
            least_squares, relativistic_average, ...).
        r1_weight: R1 penalty weight of the discriminator (0: off).
        vgg_weights: local torchvision VGG19 weights for the perceptual term (a ``.pth``
            state dict loadable with ``weights_only=True``, or ``.safetensors``);
            ``None``: the offline random-feature fallback.
        pretrain_iterations: length of the pixel-loss pretraining stage (0: skip it).
        adversarial_iterations: length of the adversarial stage (0: skip it).
        batch_size: patches per batch (per process).
        patch_size: HR patch size per axis, a multiple of ``scale``; at least
            24 with the adversarial stage (the discriminator's minimum).
        g_lr: the generator's learning rate in pretraining; half of it in the
            adversarial stage, with a fresh optimizer.
        d_lr: the discriminator's learning rate.
        ema_decay: decay of the exponential moving average of the generator's weights
            that the core trainer keeps through the run; the adversarial stage's
            generator is that average, which damps the adversarial stage's texture
            artefacts (``None``: its last weights). The average starts with
            pretraining, so after the default 1000 adversarial iterations at 0.999
            about a third of its weight (0.999^1000 = 0.37) still rests on the
            pretrained network. The PSNR model is the generator as pretraining left it.
        augmentation: ``"scanner"``: every training pair drawn with the variation real
            scans have (rotation, zoom, contrast, gamma, bias field, the scan's own
            noise) and then degraded by ``degradation`` with ``noise_std``
            (:mod:`ganforge.medsr.variation`), so the model holds on other scanners;
            ``"flips"``: the images degraded once by ``degradation``, flips and
            90-degree rotations only (also what ROI masks train with).
        seed: seeds the degradation noise, the patch draws, initialisation and training.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    """

    scale: Literal[2, 4] = 2
    spatial_dims: Literal[2, 3] = 2
    degradation: Literal["kspace", "psf", "bicubic"] = "kspace"
    noise_std: float = 0.0
    generator: GeneratorConfig | None = None
    weights: LossWeights = field(default_factory=LossWeights)
    adversarial_loss: str = "relativistic_average"
    r1_weight: float = 0.0
    vgg_weights: str | None = None
    pretrain_iterations: int = 2000
    adversarial_iterations: int = 1000
    batch_size: int = 16
    patch_size: int = 64
    g_lr: float = 2e-4
    d_lr: float = 1e-4
    ema_decay: float | None = 0.999
    augmentation: Literal["scanner", "flips"] = "scanner"
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        check_scale(self.scale)
        if self.augmentation not in ("scanner", "flips"):
            raise ValueError(
                f"augmentation must be 'scanner' or 'flips', got {self.augmentation!r}"
            )
        generator = _as(GeneratorConfig, self.generator, "generator")
        self.generator = replace(generator, scale=self.scale, spatial_dims=self.spatial_dims)
        self.weights = _as(LossWeights, self.weights, "loss weight")
        if not (is_number(self.noise_std) and math.isfinite(self.noise_std)):
            raise ValueError(f"noise_std must be a finite number >= 0, got {self.noise_std!r}")
        self.make_degradation()  # checks the kind, the noise and 2-D-only bicubic
        if not isinstance(self.adversarial_loss, str):
            raise ValueError(f"adversarial_loss must be a loss name, got {self.adversarial_loss!r}")
        get_loss(self.adversarial_loss)
        for name in ("g_lr", "d_lr"):
            check_positive(name, getattr(self, name))
        if self.ema_decay is not None:
            check_fraction("ema_decay", self.ema_decay, hint=" or None")
        if not (is_number(self.r1_weight) and self.r1_weight >= 0):
            raise ValueError(f"r1_weight must be >= 0, got {self.r1_weight!r}")
        if self.vgg_weights is not None:
            if not isinstance(self.vgg_weights, (str, os.PathLike)):
                raise ValueError(f"vgg_weights must be a file path, got {self.vgg_weights!r}")
            self.vgg_weights = os.fspath(self.vgg_weights)
        self._check_schedule()
        check_integer("seed", self.seed, 0)
        if not isinstance(self.device, str):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        resolve_device(self.device)

    def _check_schedule(self) -> None:
        for name in ("pretrain_iterations", "adversarial_iterations"):
            check_integer(name, getattr(self, name), 0)
        if not self.stages:
            raise ValueError(
                "nothing to train: pretrain_iterations and adversarial_iterations are both 0"
            )
        check_integer("batch_size", self.batch_size, 1)
        size = self.patch_size
        if not is_integer(size) or size < self.scale or size % self.scale:
            raise ValueError(
                f"patch_size must be a positive multiple of the scale {self.scale}, got {size!r}"
            )
        if "adversarial" in self.stages and size < patch_min_size():
            raise ValueError(
                f"patch_size {size} is too small for the discriminator of the "
                f"adversarial stage: use at least {patch_min_size()}"
            )

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages that train, in order (those with more than 0 iterations)."""
        lengths = (self.pretrain_iterations, self.adversarial_iterations)
        return tuple(stage for stage, n in zip(STAGES, lengths, strict=True) if n > 0)

    @property
    def iterations(self) -> int:
        """Both stages together: the length of the one training run."""
        return self.pretrain_iterations + self.adversarial_iterations

    def make_degradation(self) -> Degradation:
        """The degradation model the settings describe."""
        return Degradation(self.degradation, self.scale, self.spatial_dims, self.noise_std)


def _as(kind: type, value: Any, what: str) -> Any:
    """``value`` as a ``kind`` dataclass: a copy, the defaults (None) or from a dict.

    The names and number types of the fields are checked first (``what`` names
    them in the messages), so a bad value is a one-line ``ValueError``; ``kind``
    checks their ranges.
    """
    if value is None:
        return kind()
    if isinstance(value, kind):
        value = asdict(value)  # checked again, and never shared with the caller
    if not isinstance(value, dict):
        raise ValueError(f"expected a {kind.__name__}, got {value!r}")
    _check_numbers(kind, value, what)
    return kind(**value)


def _check_numbers(kind: type, values: dict[str, Any], what: str) -> None:
    """Known field names; an integer for each ``int`` field, a finite number for each ``float``."""
    hints = typing.get_type_hints(kind)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ValueError(f"unknown {what} settings {unknown}: use {', '.join(hints)}")
    for name, value in values.items():
        if hints[name] is int and not is_integer(value):
            raise ValueError(f"{what} {name} must be an integer, got {value!r}")
        if hints[name] is float and not (is_number(value) and math.isfinite(value)):
            raise ValueError(f"{what} {name} must be a finite number, got {value!r}")
