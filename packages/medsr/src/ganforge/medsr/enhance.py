"""Inference: ``Enhancer.enhance(image)`` on a 2-D image or a whole 3-D volume.

- Memory stays bounded: the generator runs tile by tile, each tile with the
  generator's receptive-field margin (:mod:`ganforge.medsr.tiled`), so the stitched
  output equals the generator's output on the whole image: no seams, no blending.
- A 2-D model on a 3-D volume enhances every slice along the last axis (in-plane).
- Intensities are mapped linearly to [0, 1] by percentiles before the model and
  mapped back afterwards (nothing is clipped).
- Data consistency (on by default): the output is projected so that degrading it
  reproduces the input (closed-form k-space projection for MRI, a conjugate-gradient
  least-norm correction otherwise); the residual before and after is reported.
- Safety maps: hallucination map + flagged area (:mod:`ganforge.medsr.safety`) and
  a test-time-augmentation uncertainty map.
- NIfTI out: the affine is scaled to the new voxel size (voxel centres stay where
  they were), the header description says the image is enhanced; the maps are
  saved beside the output, and the input file is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import torch

from ganforge.core.files import atomic_files, write_json
from ganforge.core.training import resolve_device
from ganforge.medsr.data import LoadedImage, load_image, validate_array
from ganforge.medsr.degradation import Degradation, consistency_residual
from ganforge.medsr.model import MedicalSR
from ganforge.medsr.networks import SRGenerator
from ganforge.medsr.safety import DEFAULT_THRESHOLD, hallucination_map, uncertainty_map
from ganforge.medsr.tiled import tiled_forward

ENHANCED_MARK = "ganforge-medsr enhanced x{scale}; not for primary diagnosis"


def scaled_affine(affine: np.ndarray, scale: int, axes: tuple[int, ...]) -> np.ndarray:
    """The affine of the upsampled grid: voxel size / ``scale`` along ``axes``.

    HR voxel ``j`` sits at LR coordinate ``(j + 0.5) / scale - 0.5`` (cell-centred),
    so the field of view and the voxel centres' extent are preserved.
    """
    step = np.eye(4)
    for axis in axes:
        step[axis, axis] = 1.0 / scale
        step[axis, 3] = (1.0 - scale) / (2.0 * scale)
    return np.asarray(affine, dtype=np.float64) @ step


@dataclass
class EnhancementResult:
    """The enhanced image, its safety maps and summary numbers.

    ``image``, ``hallucination`` and ``uncertainty`` are NIfTI images on the HR grid
    (the image in the input's intensity units, the maps in [0, 1]-scaled units).
    """

    image: nib.Nifti1Image
    hallucination: nib.Nifti1Image
    uncertainty: nib.Nifti1Image
    metrics: dict[str, float]
    source: Path | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def save(self, path: str | Path, overwrite: bool = False) -> dict[str, Path]:
        """Write ``path`` (.nii / .nii.gz) plus ``*_hallucination``, ``*_uncertainty``
        and ``*_report.json`` beside it; all files or none.

        Raises:
            ValueError: ``path`` is the input file, has another extension, or exists
                (without ``overwrite``).
        """
        targets = output_paths(path, self.source, overwrite)
        with atomic_files(targets) as temporary:
            for key in ("image", "hallucination", "uncertainty"):
                nib.save(getattr(self, key), temporary[key])
            write_json(temporary["report"], self.metrics)
        return targets


def output_paths(
    path: str | Path, source: Path | None = None, overwrite: bool = False
) -> dict[str, Path]:
    """The files :meth:`EnhancementResult.save` writes for ``path``, checked up front.

    Returns ``{"image", "hallucination", "uncertainty", "report"}`` paths.

    Raises:
        ValueError: ``path`` is not .nii / .nii.gz, is the input file ``source``, is a
            folder, or one of the files exists (without ``overwrite``).
    """
    path = Path(path)
    suffix = _nifti_suffix(path)
    if suffix not in (".nii", ".nii.gz"):
        raise ValueError(f"{path}: output must be a .nii or .nii.gz file")
    if source is not None and path.resolve() == Path(source).resolve():
        raise ValueError(f"{path}: refusing to overwrite the input image")
    stem = path.parent / path.name[: -len(suffix)]
    targets = {
        "image": path,
        "hallucination": Path(f"{stem}_hallucination{suffix}"),
        "uncertainty": Path(f"{stem}_uncertainty{suffix}"),
        "report": Path(f"{stem}_report.json"),
    }
    folders = [str(p) for p in targets.values() if p.is_dir()]
    if folders:
        raise ValueError(f"{folders[0]} is a folder; give an output file name")
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not overwrite:
        raise ValueError(f"{existing[0]} exists; choose another output or pass overwrite")
    return targets


def _nifti_suffix(path: Path) -> str:
    return ".nii.gz" if path.name.endswith(".nii.gz") else path.suffix


class Enhancer:
    """Super-resolve images with a trained generator, safely.

    Args:
        generator: a trained :class:`SRGenerator`.
        degradation: the degradation model the generator was trained for (defines the
            consistency operator and the baseline of the hallucination map).
        roi_size: tile size in LR voxels per axis (default 256 in 2-D, 64 in 3-D); the
            layers after the upsampling run on sub-tiles of half that size. Any size
            gives the same output (the whole-image forward); it only sets memory and speed.
        sw_batch_size: images (or slices of a volume, for a 2-D model) per forward pass.
        project: apply the data-consistency projection.
        tta: test-time augmentation (flips): the output is the TTA mean and the
            uncertainty map its standard deviation; without it the uncertainty is 0.
        threshold: hallucination flag level (intensity units of [0, 1]-scaled images).
        normalize: map the 0.5 / 99.5 percentiles to 0 / 1 before the model.
        device: where the generator runs: ``"auto"`` (CUDA when present), ``"cpu"``,
            ``"cuda"`` or ``"cuda:N"``.
    """

    def __init__(
        self,
        generator: SRGenerator,
        degradation: Degradation,
        *,
        roi_size: int | None = None,
        sw_batch_size: int = 4,
        project: bool = True,
        tta: bool = True,
        threshold: float = DEFAULT_THRESHOLD,
        normalize: bool = True,
        device: str | torch.device = "auto",
    ) -> None:
        if degradation.scale != generator.scale:
            raise ValueError(
                f"degradation scale {degradation.scale} differs from the generator's "
                f"{generator.scale}"
            )
        if degradation.spatial_dims != generator.spatial_dims:
            raise ValueError("degradation and generator differ in spatial_dims")
        if roi_size is not None and roi_size < 1:
            raise ValueError(f"roi_size must be at least 1 LR voxel, got {roi_size!r}")
        if sw_batch_size < 1:
            raise ValueError(f"sw_batch_size must be >= 1, got {sw_batch_size!r}")
        if not threshold > 0:
            raise ValueError(f"threshold must be > 0, got {threshold!r}")
        self.device = resolve_device(device)
        self.generator = generator.to(self.device).eval()
        self.degradation = degradation
        if roi_size is None:
            roi_size = 256 if generator.spatial_dims == 2 else 64
        self.roi_size = roi_size
        self.project, self.tta, self.threshold = project, tta, threshold
        self.normalize = normalize
        self.sw_batch_size = sw_batch_size

    @classmethod
    def from_file(
        cls, path: str | Path, device: str | torch.device = "auto", **options: Any
    ) -> Enhancer:
        """An enhancer for a model file written by ``MedicalSR.save`` (options: as above).

        Raises:
            CheckpointError: one line for a missing, truncated or damaged file, a file
                of another kind or a newer format.
        """
        return MedicalSR.load(path, device).enhancer(device=device, **options)

    @property
    def scale(self) -> int:
        return self.generator.scale

    def predict(self, lr: torch.Tensor) -> torch.Tensor:
        """The generator's output for ``(B, C, *spatial)`` LR tensors (CPU out), computed
        tile by tile: equal to ``generator(lr)`` on the whole image up to float rounding."""
        return tiled_forward(
            self.generator,
            lr,
            tile=self.roi_size,
            upsample_tile=max(1, self.roi_size // 2),
            batch=self.sw_batch_size,
        )

    def upsample(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The output before the projection and its spread: with ``tta``, the mean of
        the flipped predictions (each flip undone) and their standard deviation;
        without, :meth:`predict` and zeros."""
        if self.tta:
            return uncertainty_map(self.predict, lr)
        sr = self.predict(lr)
        return sr, torch.zeros_like(sr)

    def enhance_tensor(
        self, lr: torch.Tensor, hr: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, float]]:
        """Enhance ``[0, 1]``-scaled LR tensors; return SR, maps and metrics."""
        sr, spread = self.upsample(lr)
        metrics = {"consistency_residual_raw": consistency_residual(sr, lr, self.degradation)}
        if self.project:
            sr = self.degradation.project(sr, lr.to(sr.dtype))
        metrics["consistency_residual"] = consistency_residual(sr, lr, self.degradation)
        report = hallucination_map(sr, lr, self.degradation, hr=hr, threshold=self.threshold)
        metrics["flagged_area"] = report.flagged_area
        metrics["hallucination_mean"] = float(report.map.mean())
        metrics["uncertainty_mean"] = float(spread.mean())
        return sr, {"hallucination": report.map, "uncertainty": spread}, metrics

    def enhance(
        self,
        image: str | Path | LoadedImage | nib.Nifti1Image | np.ndarray,
        hr: np.ndarray | None = None,
    ) -> EnhancementResult:
        """Enhance a 2-D image or 3-D volume (a path, a NIfTI image or an array).

        Args:
            image: the LR input; paths are read with MONAI's ``LoadImage``.
            hr: the true HR array when known (adds the reference term to the map).

        Raises:
            ValueError: unreadable / 4-D / NaN / empty input, or a 2-D image for a 3-D model.
        """
        loaded = _as_loaded(image)
        array, dims = loaded.array, loaded.array.ndim
        if dims < self.generator.spatial_dims:
            raise ValueError("a 3-D model needs a 3-D volume; got a 2-D image")
        lo, hi = _intensity_window(array) if self.normalize else (0.0, 1.0)
        lr = torch.from_numpy((array - lo) / (hi - lo)).float()
        lr, axes = self._to_batch(lr, dims)
        hr_t = None
        if hr is not None:
            hr_t, _ = self._to_batch(
                torch.from_numpy((validate_array(hr, "hr") - lo) / (hi - lo)).float(), dims
            )
            if hr_t.shape[2:] != tuple(n * self.scale for n in lr.shape[2:]):
                raise ValueError(f"hr shape {hr.shape} is not the input shape x {self.scale}")
        sr, maps, metrics = self.enhance_tensor(lr, hr_t)
        affine = scaled_affine(loaded.affine, self.scale, axes)
        sr_array = self._from_batch(sr, dims) * (hi - lo) + lo
        maps_np = {k: self._from_batch(v, dims) for k, v in maps.items()}
        metrics.update(scale=self.scale, threshold=self.threshold)
        return EnhancementResult(
            image=_nifti(sr_array, affine, ENHANCED_MARK.format(scale=self.scale)),
            hallucination=_nifti(
                maps_np["hallucination"], affine, "ganforge-medsr hallucination map"
            ),
            uncertainty=_nifti(
                maps_np["uncertainty"], affine, "ganforge-medsr uncertainty (TTA std)"
            ),
            metrics=metrics,
            source=loaded.path,
            arrays={"sr": sr_array, **maps_np, "lr": array},
        )

    def _to_batch(self, x: torch.Tensor, dims: int) -> tuple[torch.Tensor, tuple[int, ...]]:
        if self.generator.spatial_dims == dims:
            return x[None, None], tuple(range(dims))
        return x.permute(2, 0, 1)[:, None], (0, 1)  # 2-D model, slices along the last axis

    def _from_batch(self, x: torch.Tensor, dims: int) -> np.ndarray:
        if self.generator.spatial_dims == dims:
            return x[0, 0].numpy().astype(np.float32)
        return x[:, 0].permute(1, 2, 0).numpy().astype(np.float32)


def _as_loaded(image: Any) -> LoadedImage:
    if isinstance(image, LoadedImage):
        return image
    if isinstance(image, (str, Path)):
        return load_image(image)
    if isinstance(image, nib.spatialimages.SpatialImage):
        return LoadedImage(validate_array(np.asarray(image.dataobj)), np.asarray(image.affine))
    if isinstance(image, (np.ndarray, torch.Tensor)):
        return LoadedImage(validate_array(np.asarray(image)), np.eye(4))
    raise ValueError(
        f"cannot enhance a {type(image).__name__}: pass a path, a NIfTI image or an array"
    )


def _intensity_window(array: np.ndarray) -> tuple[float, float]:
    lo, hi = (float(v) for v in np.percentile(array, [0.5, 99.5]))
    if hi <= lo:
        lo, hi = float(array.min()), float(array.max())
    return lo, hi


def _nifti(array: np.ndarray, affine: np.ndarray, description: str) -> nib.Nifti1Image:
    image = nib.Nifti1Image(np.asarray(array, dtype=np.float32), affine)
    image.header["descrip"] = description[:79].encode()
    image.header.set_xyzt_units("mm")
    return image
