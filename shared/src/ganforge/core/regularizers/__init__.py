"""Regularizers for adversarial training, all shape-agnostic.

They work on 1-D audio ``(B, C, T)``, images ``(B, C, H, W)``, volumes
``(B, C, D, H, W)``, sequences ``(B, T, F)`` and tables ``(B, F)`` alike. Stateful
ones (:class:`InstanceNoise`, :class:`ADAController`, :class:`LeCam`,
:class:`HistoryBuffer`) have ``state_dict`` / ``load_state_dict`` holding tensors and
Python numbers only, and draw randomness from torch's global RNG or a passed
``torch.Generator``, so a checkpoint that restores the RNG states resumes exactly.
"""

from .ada import ADAController
from .constraints import SPECTRAL_NORM_TYPES, apply_spectral_norm, weight_clip
from .diffaugment import (
    DiffAugment,
    rand_brightness,
    rand_contrast,
    rand_cutout,
    rand_saturation,
    rand_translation,
)
from .gradient_penalty import dragan_points, gradient_penalty, interpolates
from .history import HistoryBuffer
from .instance_noise import InstanceNoise
from .lecam import LeCam
from .r1 import LazyInterval, r1_penalty, r2_penalty

__all__ = [
    "ADAController",
    "DiffAugment",
    "HistoryBuffer",
    "InstanceNoise",
    "LazyInterval",
    "LeCam",
    "SPECTRAL_NORM_TYPES",
    "apply_spectral_norm",
    "dragan_points",
    "gradient_penalty",
    "interpolates",
    "r1_penalty",
    "r2_penalty",
    "rand_brightness",
    "rand_contrast",
    "rand_cutout",
    "rand_saturation",
    "rand_translation",
    "weight_clip",
]
