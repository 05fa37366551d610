"""Safety maps: where the enhanced image departs from what the input supports.

Hallucination map (intensity units, images scaled to [0, 1]), the voxel-wise
maximum of

- the *data term*: ``|A^+ (A(sr) - lr)|``, the part of the output that contradicts
  the measured LR image, lifted back to the HR grid (``A`` = degradation operator);
- with a known HR reference, the *reference term*: the local mean (window
  ``window``, 5) of ``max(0, |sr - hr| - E)``, error the model added beyond what plain
  interpolation of the input (``baseline``) gets wrong there. ``E`` is the error
  envelope of the baseline: the largest ``|baseline - hr|`` within ``envelope``
  voxels (3 x 3 (x 3): the voxel and its immediate neighbours).

Voxels above ``threshold`` (default 0.01, the seed recipe) are flagged; the
hallucination score is the flagged share of the image.

Why an envelope and not the baseline's error at the voxel itself (``envelope=1``,
the earlier definition, still available and reported by ``evaluate`` as
``flagged_area_pointwise``): the interpolation error changes sign across every
edge it blurs, so it passes through zero along curves next to each edge. There
any model with a nonzero error counts as "worse than interpolation", even one that
is better everywhere around it; at x4 on MNI152 these zero-crossing curves made up
most of the flagged area. The envelope asks the question a reader of the map
cares about, "is the output here further from the truth than interpolation is
anywhere next to it?", while a structure the model invents (a few voxels of
error where the baseline is close) is still flagged: no gain elsewhere in the
window can offset it, because only the positive part is averaged.

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


def local_max(x: torch.Tensor, window: int) -> torch.Tensor:
    """Maximum over a centred window of odd width ``window`` along the spatial axes."""
    if window <= 1:
        return x
    pool = F.max_pool2d if x.ndim == 4 else F.max_pool3d
    return pool(x, window, stride=1, padding=window // 2)


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
    envelope: int = 3,
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
        envelope: width of the neighbourhood whose largest baseline error is tolerated
            (odd; 1 compares with the baseline's error at the same voxel only).
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    if envelope < 1 or envelope % 2 == 0:
        raise ValueError(f"envelope must be an odd width >= 1, got {envelope!r}")
    sr64, lr64 = sr.detach().double(), lr.detach().double()
    data = lift(degradation.downsample(sr64) - lr64, degradation).abs()
    reference = None
    combined = data
    if hr is not None:
        if baseline is None:
            baseline = conservative_upsample(lr64, degradation)
        hr64 = hr.detach().double()
        tolerated = local_max((baseline.double() - hr64).abs(), envelope)
        excess = ((sr64 - hr64).abs() - tolerated).clamp_min(0)
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
