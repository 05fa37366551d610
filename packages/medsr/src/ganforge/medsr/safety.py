"""Safety maps: where the enhanced image departs from what the input supports.

Hallucination map (intensity units, images scaled to [0, 1]), the voxel-wise
maximum of

- the *data term*: ``|A^+ (A(sr) - lr)|``, the part of the output that contradicts
  the measured LR image, lifted back to the HR grid (``A`` = degradation operator);
- with a known HR reference, the *reference term*: the local mean (window
  ``window``) of ``max(0, |sr - hr| - |baseline - hr|)``, error the model added on
  top of plain interpolation of the input (``baseline``).

Voxels above ``threshold`` (default 0.01, the seed recipe) are flagged; the
hallucination score is the flagged share of the image.

Uncertainty map: the voxel-wise standard deviation of the output over test-time
augmentations (flips along every spatial axis), each mapped back before comparing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import torch
import torch.nn.functional as F

from ganforge.medsr.degradation import Degradation, kspace_upsample

DEFAULT_THRESHOLD = 0.01


def lift(lr_grid: torch.Tensor, degradation: Degradation) -> torch.Tensor:
    """Bring an LR-grid map to the HR grid (sinc for k-space, nearest otherwise)."""
    if degradation.kind == "kspace":
        return kspace_upsample(lr_grid, degradation.scale, degradation.spatial_dims)
    return F.interpolate(lr_grid, scale_factor=degradation.scale, mode="nearest")


def local_mean(x: torch.Tensor, window: int) -> torch.Tensor:
    """Box filter of odd width ``window`` (replicate padding) over the spatial axes."""
    if window <= 1:
        return x
    dims = x.ndim - 2
    pool = F.avg_pool2d if dims == 2 else F.avg_pool3d
    padded = F.pad(x, [window // 2] * (2 * dims), mode="replicate")
    return pool(padded, window, stride=1)


@dataclass
class HallucinationReport:
    """Maps on the HR grid and their summary numbers."""

    map: torch.Tensor
    data_term: torch.Tensor
    reference_term: torch.Tensor | None
    threshold: float

    @property
    def flagged(self) -> torch.Tensor:
        return self.map > self.threshold

    @property
    def flagged_area(self) -> float:
        """Share of voxels above the threshold (0..1)."""
        return float(self.flagged.float().mean())


def hallucination_map(
    sr: torch.Tensor,
    lr: torch.Tensor,
    degradation: Degradation,
    hr: torch.Tensor | None = None,
    baseline: torch.Tensor | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    window: int = 5,
) -> HallucinationReport:
    """Hallucination map and flagged area of ``sr`` (see the module docstring).

    Args:
        sr: enhanced image ``(B, C, *spatial)``.
        lr: the measured LR image.
        degradation: the degradation model that links them.
        hr: the true HR image when known (evaluation).
        baseline: the conservative upsampling to compare against (default: the
            generator-independent ``A^+ lr`` for k-space, bicubic/trilinear otherwise).
        threshold: flag level in intensity units of [0, 1]-scaled images.
        window: width of the local mean of the reference term.
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    sr64, lr64 = sr.detach().double(), lr.detach().double()
    data = lift(degradation.downsample(sr64) - lr64, degradation).abs()
    reference = None
    combined = data
    if hr is not None:
        if baseline is None:
            baseline = conservative_upsample(lr64, degradation)
        hr64 = hr.detach().double()
        excess = ((sr64 - hr64).abs() - (baseline.double() - hr64).abs()).clamp_min(0)
        reference = local_mean(excess, window)
        combined = torch.maximum(data, reference)
    return HallucinationReport(
        combined.float(), data.float(), None if reference is None else reference.float(), threshold
    )


def conservative_upsample(lr: torch.Tensor, degradation: Degradation) -> torch.Tensor:
    """Plain interpolation of the input: sinc (k-space), else bicubic (2-D) / trilinear (3-D)."""
    if degradation.kind == "kspace":
        return kspace_upsample(lr, degradation.scale, degradation.spatial_dims)
    mode = "bicubic" if degradation.spatial_dims == 2 else "trilinear"
    return F.interpolate(lr, scale_factor=degradation.scale, mode=mode, align_corners=False)


def flip_augmentations(spatial_dims: int) -> list[tuple[int, ...]]:
    """All subsets of spatial axes to flip (the identity first): 4 in 2-D, 8 in 3-D."""
    axes = tuple(range(2, 2 + spatial_dims))
    return [combo for r in range(spatial_dims + 1) for combo in combinations(axes, r)]


def uncertainty_map(
    predict: Callable[[torch.Tensor], torch.Tensor],
    lr: torch.Tensor,
    augmentations: list[tuple[int, ...]] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Test-time-augmentation mean and standard deviation of ``predict(lr)``.

    Every flip is undone on the output before averaging, so the spread measures how
    much the prediction depends on orientation (zero for an equivariant model).
    """
    augmentations = augmentations or flip_augmentations(lr.ndim - 2)
    total = total_sq = None
    for axes in augmentations:
        out = predict(torch.flip(lr, axes) if axes else lr).double()
        out = torch.flip(out, axes) if axes else out
        total = out if total is None else total + out
        total_sq = out * out if total_sq is None else total_sq + out * out
    n = len(augmentations)
    mean = total / n
    var = (total_sq / n - mean * mean).clamp_min(0)
    return mean.float(), var.sqrt().float()
