"""Training pairs with the variation real scans have, so a model holds on other scanners.

A model trained on clean patches of one template learns that template's contrast,
geometry and noise. :class:`VariedPatchPairs` draws each training pair the way
another scanner would have produced it: an HR patch is rotated, zoomed
(resolution and field-of-view jitter) and flipped, its intensities remapped (a
random monotone contrast curve, gamma, a smooth bias field), given noise of its
own (a real scan is noisy at full resolution too; the noise level is drawn up to
:attr:`ScannerVariation.scan_noise_std`), and only then degraded.

What the model then assumes, per degradation: the LR image is the degradation the
model's spec declares (``bicubic``, ``psf`` or ``kspace``, with the spec's
``noise_std`` as acquisition noise on the LR) applied to a scan that may be
noisy itself. The consistency projection at inference uses the same operator.
:attr:`ScannerVariation.kinds` trains a blind model over several operators
instead, at a cost where the operator is known (``bench/medsr_variation.py``; see
the package README).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ganforge.medsr.degradation import Degradation


@dataclass(frozen=True)
class ScannerVariation:
    """The ranges of :class:`VariedPatchPairs` (each drawn uniformly per patch)."""

    rotation_degrees: float = 15.0
    zoom: tuple[float, float] = (0.85, 1.2)
    gamma: tuple[float, float] = (0.7, 1.5)
    contrast: float = 0.3  # the contrast curve's midpoint moves by up to half of this
    bias_field: float = 0.3  # log-field: a quadratic of the coordinates, coefficients up to this
    scan_noise_std: float = 0.02  # the HR scan's own Gaussian noise, std drawn up to this
    lr_noise_std: float = 0.0  # LR noise std drawn in [noise_std, noise_std + this]
    kinds: tuple[str, ...] | None = None  # None: the declared degradation alone

    def kinds_for(self, degradation: Degradation) -> tuple[str, ...]:
        """The operators training pairs are drawn with: ``kinds`` where it applies to
        images of the degradation's dimensions (bicubic is 2-D), else the declared one."""
        if self.kinds is None:
            return (degradation.kind,)
        dims = degradation.spatial_dims
        return tuple(k for k in self.kinds if dims == 2 or k != "bicubic")


def contrast_curve(x: torch.Tensor, shift: float, gamma: float) -> torch.Tensor:
    """A monotone remap of [0, 1] onto itself: the midpoint 0.5 moves to ``0.5 + shift``
    (piecewise linear through (0, 0), (0.5, 0.5 + shift), (1, 1)), then ``** gamma``."""
    middle = 0.5 + shift
    low = x * (middle / 0.5)
    high = middle + (x - 0.5) * ((1 - middle) / 0.5)
    return torch.where(x < 0.5, low, high).clamp(0, 1) ** gamma


class VariedPatchPairs(Dataset):
    """LR/HR patch pairs degraded after scanner-like variation (see the module doc).

    Item ``i`` comes from image ``i % len(hr)`` and a generator seeded by ``(seed,
    epoch, i)`` alone, like :class:`~ganforge.medsr.data.PatchPairs`, so it is the
    same in any worker or order and after a resume.
    """

    def __init__(
        self,
        hr: torch.Tensor,
        degradation: Degradation,
        patch_size: int,
        crops: int,
        seed: int = 0,
        variation: ScannerVariation | None = None,
    ) -> None:
        self.hr, self.degradation = hr, degradation
        self.patch_size, self.crops, self.seed, self.epoch = patch_size, crops, seed, 0
        self.variation = variation or ScannerVariation()
        self.kinds = self.variation.kinds_for(degradation)
        self.margin = int(np.ceil(patch_size * 0.25))

    def __len__(self) -> int:
        return len(self.hr) * self.crops

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(lr, hr)`` patches: ``(1, *lr_patch)`` and ``(1, *patch)``."""
        generator = torch.Generator().manual_seed(item_seed(self.seed, self.epoch, index))
        patch = self._crop(self.hr[index % len(self.hr)], generator)
        hr = self._intensities(self._move(patch.float(), generator), generator)
        hr = self._scan_noise(hr, generator)
        return self._degrade(hr, generator), hr

    def _move(self, patch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Rotate (in the first two spatial axes) and zoom about the centre, keep the
        central ``patch_size`` window, then random flips and a 90-degree turn."""
        v, dims = self.variation, patch.ndim - 1
        angle = np.deg2rad(_uniform(generator, -v.rotation_degrees, v.rotation_degrees))
        zoom = _uniform(generator, *v.zoom)
        size = torch.tensor(patch.shape[1:], dtype=torch.float64)
        share = self.patch_size / size  # the output window, in the input's [-1, 1] units
        theta = torch.eye(dims, dims + 1, dtype=torch.float64)
        rotation = torch.tensor([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        theta[:2, :2] = rotation
        theta[:, :dims] = theta[:, :dims] * (share.flip(0) / zoom)[None, :]
        grid = F.affine_grid(theta[None].float(), [1, 1, *(self.patch_size,) * dims], False)
        moved = F.grid_sample(patch[None], grid, padding_mode="reflection", align_corners=False)[0]
        for axis in range(1, dims + 1):
            if torch.rand(1, generator=generator) < 0.5:
                moved = moved.flip(axis)
        turns = int(torch.randint(0, 4, (1,), generator=generator))
        return torch.rot90(moved, turns, dims=(1, 2))

    def _crop(self, image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A patch with a margin for rotation and zoom (the whole image when smaller)."""
        size = self.patch_size + 2 * self.margin
        starts = [
            int(torch.randint(0, max(1, n - size + 1), (1,), generator=generator))
            for n in image.shape[1:]
        ]
        return image[(slice(None), *(slice(s, s + size) for s in starts))]

    def _intensities(self, hr: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        v = self.variation
        shift = _uniform(generator, -v.contrast, v.contrast) / 2
        hr = contrast_curve(hr.clamp(0, 1), shift, _uniform(generator, *v.gamma))
        hr = hr * bias_field(hr.shape[1:], v.bias_field, generator)
        return (hr / hr.max().clamp_min(1e-6)).clamp(0, 1)

    def _scan_noise(self, hr: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The scan's own noise: Gaussian, std uniform in ``[0, scan_noise_std]``."""
        std = _uniform(generator, 0.0, self.variation.scan_noise_std)
        return hr + std * torch.randn(hr.shape, generator=generator)

    def _degrade(self, hr: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The LR patch: one of the operators, with the declared acquisition noise (and
        up to ``lr_noise_std`` more)."""
        base = self.degradation
        kind = self.kinds[int(torch.randint(0, len(self.kinds), (1,), generator=generator))]
        noise = base.noise_std
        if self.variation.lr_noise_std > 0:
            noise += _uniform(generator, 0.0, self.variation.lr_noise_std)
        degradation = Degradation(kind, base.scale, base.spatial_dims, noise)
        return degradation(hr[None], seed=_seed(generator))[0].float()


def item_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of a training item: a function of (seed, epoch, index) alone, so an item
    is the same in any process, worker or order, and after a resume."""
    return ((seed * 1_000_003 + epoch) * 1_000_033 + index) % 2**63


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return float(low + (high - low) * torch.rand(1, generator=generator))


def _seed(generator: torch.Generator) -> int:
    return int(torch.randint(0, 2**31 - 1, (1,), generator=generator))


def bias_field(shape: tuple[int, ...], strength: float, generator: torch.Generator):
    """A smooth multiplicative field ``exp(q(x))``, ``q`` a quadratic of the coordinates in
    [-1, 1] with coefficients uniform in ``[-strength, strength]`` (an MR coil's shading)."""
    axes = torch.meshgrid(*(torch.linspace(-1, 1, n) for n in shape), indexing="ij")
    terms = [*axes, *(a * a for a in axes), axes[0] * axes[1]]
    weights = (torch.rand(len(terms), generator=generator) * 2 - 1) * strength
    return torch.exp(sum(w * t for w, t in zip(weights, terms, strict=True)))[None]
