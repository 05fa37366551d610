"""Images in and training pairs out: MONAI loading, embedded defaults, paired patches.

Embedded defaults (nothing is downloaded):

- the MNI152 T1 1 mm template shipped with nilearn (197 x 233 x 189), split along
  the axial axis into disjoint slabs with gaps between them (:data:`MNI152_SLABS`),
  so no slice of the test slab is next to a training slice;
- the Shepp-Logan phantom from scikit-image;
- MONAI's synthetic circle images (2-D and 3-D).

User files (NIfTI, a DICOM series folder, PNG) are read with MONAI's ``LoadImage``
and validated: clear one-line errors for unreadable files, 4-D volumes, NaNs and
empty images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.data import DataLoader as MonaiDataLoader
from monai.data import Dataset as MonaiDataset
from monai.transforms import (
    Compose,
    LoadImage,
    RandFlipd,
    RandRotate90d,
    ScaleIntensityRangePercentiles,
)
from torch.utils.data import Dataset

from ganforge.core.training import LoaderBatches
from ganforge.medsr.degradation import Degradation, crop_to_multiple
from ganforge.medsr.variation import ScannerVariation, VariedPatchPairs, item_seed

#: Axial (z) slice ranges of the MNI152 template, half-open, with >= 6-slice gaps.
MNI152_SLABS: dict[str, tuple[tuple[int, int], ...]] = {
    "train": ((12, 62), (112, 150)),
    "val": ((68, 76),),
    "test": ((82, 106),),
}


@dataclass
class LoadedImage:
    """A validated image: ``array`` (2-D or 3-D float32) and its 4x4 voxel-to-world ``affine``."""

    array: np.ndarray
    affine: np.ndarray
    path: Path | None = None

    @property
    def spatial_dims(self) -> int:
        return self.array.ndim


def validate_array(array: Any, name: str = "image") -> np.ndarray:
    """Return ``array`` as float32 with singleton axes dropped, or raise a one-line ValueError."""
    arr = np.asarray(array, dtype=np.float32)
    if arr.size == 0:
        raise ValueError(f"{name} is empty (no voxels)")
    arr = np.squeeze(arr)
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"{name} has {arr.ndim} non-singleton axes (shape {np.shape(array)}); "
            "expected a 2-D image or a 3-D volume (split 4-D series into volumes first)"
        )
    if min(arr.shape) < 4:
        raise ValueError(f"{name} of shape {arr.shape} is too small (need >= 4 voxels per axis)")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; clean or mask them first")
    if float(arr.max()) == float(arr.min()):
        raise ValueError(f"{name} is empty (constant intensity {float(arr.min())})")
    return arr


def load_image(path: str | Path) -> LoadedImage:
    """Read a NIfTI file, a DICOM series folder or a PNG with MONAI's ``LoadImage``.

    Raises:
        ValueError: the file is missing, not an image, 4-D, contains NaNs or is empty.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    try:
        image = LoadImage(image_only=True, dtype=np.float32)(str(path))
    except Exception as exc:  # MONAI raises many types for unreadable files
        raise ValueError(
            f"{path}: could not read it as an image (NIfTI, DICOM series folder or PNG): "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    affine = np.asarray(getattr(image, "affine", np.eye(4)), dtype=np.float64)
    array = validate_array(np.asarray(image), name=str(path))
    if affine.shape != (4, 4):
        affine = np.eye(4)
    return LoadedImage(array=array, affine=affine, path=path)


def validate_mask(array: Any, name: str = "roi mask") -> np.ndarray:
    """Return an ROI mask as float32 in [0, 1] (singleton axes dropped), or raise a ValueError.

    Binary masks and soft weights in [0, 1] are accepted; label maps must be binarised
    first, so that a label value is never silently read as a loss weight.
    """
    arr = np.squeeze(np.asarray(array, dtype=np.float32))
    if arr.size == 0 or arr.ndim not in (2, 3):
        raise ValueError(f"{name} must be a 2-D or 3-D array, got shape {np.shape(array)}")
    check_mask_values(arr, name)
    return arr


def check_mask_values(arr: np.ndarray, name: str = "roi mask") -> None:
    """Raise a one-line ValueError unless ``arr`` is finite, in [0, 1] and not all zero."""
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    low, high = float(arr.min()), float(arr.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"{name} values must lie in [0, 1] (got {low:g}..{high:g}); binarise label maps first"
        )
    if high == 0:
        raise ValueError(f"{name} is empty (no voxel inside the region of interest)")


def load_mask(path: str | Path) -> np.ndarray:
    """Read an ROI mask (NIfTI, DICOM series folder or PNG) with MONAI's ``LoadImage``.

    8-bit PNG masks (0 / 255) are mapped to [0, 1]; other values are checked by
    :func:`validate_mask`.

    Raises:
        ValueError: the file is missing or unreadable, or the mask is not in [0, 1].
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such mask file")
    try:
        array = np.asarray(LoadImage(image_only=True, dtype=np.float32)(str(path)))
    except Exception as exc:  # MONAI raises many types for unreadable files
        raise ValueError(
            f"{path}: could not read it as a mask image (NIfTI, DICOM or PNG): "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    if path.suffix.lower() == ".png" and array.size and float(array.max()) > 1:
        array = array / 255.0
    return validate_mask(array, name=f"{path} (roi mask)")


def scale_intensity(array: np.ndarray, lower: float = 0.5, upper: float = 99.5) -> np.ndarray:
    """Map the ``lower``..``upper`` percentiles to [0, 1] and clip (MONAI)."""
    transform = ScaleIntensityRangePercentiles(
        lower=lower, upper=upper, b_min=0.0, b_max=1.0, clip=True
    )
    return np.asarray(transform(array[None]), dtype=np.float32)[0]


def mni152_volume() -> LoadedImage:
    """The MNI152 T1 1 mm template shipped with nilearn, intensities in [0, 1]."""
    from nilearn.datasets import load_mni152_template

    img = load_mni152_template(resolution=1)
    array = np.asarray(img.get_fdata(), dtype=np.float32)
    array = (array - array.min()) / (array.max() - array.min())
    return LoadedImage(array=array, affine=np.asarray(img.affine, dtype=np.float64))


def mni152_slab_range(split: str) -> list[int]:
    """The axial slice indices of a split (``"train"``, ``"val"`` or ``"test"``)."""
    if split not in MNI152_SLABS:
        raise ValueError(f"split must be one of {sorted(MNI152_SLABS)}, got {split!r}")
    return [z for start, stop in MNI152_SLABS[split] for z in range(start, stop)]


def mni152_slices(split: str, multiple: int = 4) -> torch.Tensor:
    """Axial slices of a split as ``(N, 1, H, W)``, centre-cropped to multiples of ``multiple``."""
    volume = torch.from_numpy(mni152_volume().array)
    slices = volume[:, :, mni152_slab_range(split)].permute(2, 0, 1).unsqueeze(1)
    return crop_to_multiple(slices.contiguous(), multiple, spatial_dims=2)


def mni152_slab(split: str, multiple: int = 4) -> torch.Tensor:
    """The first slab of a split as a ``(1, 1, X, Y, Z)`` volume cropped to ``multiple``."""
    if split not in MNI152_SLABS:
        raise ValueError(f"split must be one of {sorted(MNI152_SLABS)}, got {split!r}")
    start, stop = MNI152_SLABS[split][0]
    volume = torch.from_numpy(mni152_volume().array)[:, :, start:stop]
    return crop_to_multiple(volume[None, None].contiguous(), multiple, spatial_dims=3)


PYDICOM_IMAGES = {  # pydicom's bundled test images with real MR / CT pixel data
    "mr_toshiba_small": "MR_small.dcm",
    "ct_ge_small": "CT_small.dcm",
    "mr_siemens_abdomen": "examples_overlay.dcm",
    "ct_512": "693_J2KI.dcm",
    "ct_head_512": "J2K_pixelrep_mismatch.dcm",
}


def pydicom_images(multiple: int = 4) -> dict[str, torch.Tensor]:
    """Real MR and CT slices from other scanners and subjects than MNI152: pydicom's
    bundled test files (:data:`PYDICOM_IMAGES`; nothing is downloaded), each as
    ``(1, 1, H, W)`` with its 0.5 / 99.5 percentiles mapped to [0, 1], centre-cropped
    to multiples of ``multiple``."""
    import pydicom
    import pydicom.data

    folder = Path(pydicom.data.__file__).parent / "test_files"
    images = {}
    for name, filename in PYDICOM_IMAGES.items():
        path = folder / filename
        if not path.is_file():
            raise FileNotFoundError(f"pydicom's bundled {filename} is not installed at {path}")
        pixels = pydicom.dcmread(path).pixel_array.astype(np.float32)
        image = torch.from_numpy(scale_intensity(pixels))[None, None]
        images[name] = crop_to_multiple(image.contiguous(), multiple, spatial_dims=2)
    return images


def shepp_logan(size: int = 256) -> torch.Tensor:
    """The Shepp-Logan phantom (scikit-image) resized to ``size`` x ``size``, as (1, 1, H, W)."""
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize

    image = resize(shepp_logan_phantom(), (size, size), anti_aliasing=True)
    return torch.from_numpy(np.asarray(image, dtype=np.float32))[None, None]


def synthetic_images(
    count: int, size: int = 64, spatial_dims: int = 2, seed: int = 0
) -> torch.Tensor:
    """MONAI's synthetic circle images in [0, 1], as ``(count, 1, *[size] * spatial_dims)``."""
    from monai.data.synthetic import create_test_image_2d, create_test_image_3d

    if size < 16:
        raise ValueError(f"synthetic images need size >= 16, got {size}")
    rng = np.random.RandomState(seed)
    radii = {"rad_min": max(2, size // 16), "rad_max": max(3, size // 5)}
    images = []
    for _ in range(count):
        if spatial_dims == 2:
            image, _ = create_test_image_2d(size, size, num_objs=8, random_state=rng, **radii)
        else:
            image, _ = create_test_image_3d(size, size, size, num_objs=8, random_state=rng, **radii)
        images.append(image / max(float(image.max()), 1e-8))
    return torch.from_numpy(np.stack(images).astype(np.float32)).unsqueeze(1)


def paired_dataset(hr: torch.Tensor, degradation: Degradation, seed: int = 0) -> MonaiDataset:
    """A MONAI ``Dataset`` of ``{"lr", "hr"}`` dicts, each LR degraded from its whole HR image."""
    items = [
        {"hr": hr[i], "lr": degradation(hr[i : i + 1], seed=seed + i)[0]} for i in range(len(hr))
    ]
    return MonaiDataset(items)


def paired_loader(
    hr: torch.Tensor,
    degradation: Degradation,
    batch_size: int = 8,
    shuffle: bool = False,
    seed: int = 0,
) -> MonaiDataLoader:
    """A MONAI ``DataLoader`` over :func:`paired_dataset` (whole images, e.g. for validation)."""
    generator = torch.Generator().manual_seed(seed)
    return MonaiDataLoader(
        paired_dataset(hr, degradation, seed),
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
    )


class PatchPairs(Dataset):
    """Aligned LR/HR patch pairs: ``crops`` random crops of every image per epoch.

    Item ``i`` is a crop of image ``i % len(hr)`` (an LR patch of ``patch_size //
    scale`` and its HR patch of ``patch_size``, plus its ROI patch), with MONAI
    flips / rot90. Its randomness comes from a generator seeded by ``(seed,
    epoch, i)`` alone, so the item is the same in whatever process, worker or
    order it is read, and after a resume; set :attr:`epoch` before reading an
    epoch's items.
    """

    def __init__(
        self,
        hr: torch.Tensor,
        lr: torch.Tensor,
        roi: torch.Tensor | None,
        patch_size: int,
        crops: int,
        seed: int = 0,
        augment: bool = True,
    ) -> None:
        self.hr, self.lr, self.roi = hr, lr, roi
        self.scale = hr.shape[2] // lr.shape[2]
        self.lr_patch = patch_size // self.scale
        self.crops, self.seed, self.epoch = crops, seed, 0
        self.augment = _augmentation(hr.ndim - 2) if augment else None

    def __len__(self) -> int:
        return len(self.hr) * self.crops

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        """``(lr, hr)`` patches, ``(lr, hr, roi)`` with ROI masks."""
        generator = torch.Generator().manual_seed(item_seed(self.seed, self.epoch, index))
        item = self._crop(index % len(self.hr), generator)
        if self.augment is not None:
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
            item = self.augment.set_random_state(seed=seed)(item)
        keys = ("lr", "hr") if self.roi is None else ("lr", "hr", "roi")
        return tuple(torch.as_tensor(np.asarray(item[key])) for key in keys)

    def _crop(self, image: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        size, scale = self.lr_patch, self.scale
        starts = [
            int(torch.randint(0, n - size + 1, (1,), generator=generator))
            for n in self.lr.shape[2:]
        ]
        lr_sl = (slice(None), *(slice(s, s + size) for s in starts))
        hr_sl = (slice(None), *(slice(s * scale, (s + size) * scale) for s in starts))
        item = {"lr": self.lr[image][lr_sl], "hr": self.hr[image][hr_sl]}
        if self.roi is not None:
            item["roi"] = self.roi[image][hr_sl]
        return item


class PairedPatchSource:
    """Random aligned LR/HR patches with MONAI flip / rot90 augmentation, for the trainer.

    The HR images are degraded whole (so the LR patches have no crop-border artefacts
    of the degradation), then batches of :class:`PatchPairs` are read through the
    core's :class:`~ganforge.core.training.LoaderBatches`: every epoch takes
    ``ceil(batch_size * world_size / len(hr))`` crops of every image in a shuffled
    order. Implements the trainer's BatchSource protocol; its state is the epoch and
    the batches read in it, so a resumed run draws exactly the same batches.

    With several processes (``torchrun``), each rank reads its contiguous share of
    every global batch: the ``world_size`` ranks together draw exactly the patches one
    process with a ``world_size`` times larger batch draws (same seed), and no two
    ranks draw the same item.

    Args:
        hr: ``(N, 1, *spatial)`` HR images in [0, 1].
        degradation: the degradation model that makes the LR images.
        patch_size: HR patch size per axis (a multiple of ``degradation.scale``).
        batch_size: patches per batch of this process.
        seed: seeds the degradation noise, the epochs' order and every patch.
        augment: random flips and 90-degree in-plane rotations.
        roi: optional region-of-interest masks aligned with ``hr`` (same shape, values
            in [0, 1]); batches then are ``(lr, hr, roi)`` and the ROI loss term is on.
        rank, world_size: this process's share of every global batch.
        workers: DataLoader worker processes cropping the patches (0: this process).
        variation: draw each pair with scanner-like variation and a degradation of its
            own (:class:`~ganforge.medsr.variation.VariedPatchPairs`) instead of
            cropping the images degraded once; not with ``roi``.
    """

    def __init__(
        self,
        hr: torch.Tensor,
        degradation: Degradation,
        patch_size: int = 64,
        batch_size: int = 16,
        seed: int = 0,
        augment: bool = True,
        roi: torch.Tensor | None = None,
        rank: int = 0,
        world_size: int = 1,
        workers: int = 0,
        variation: ScannerVariation | None = None,
    ) -> None:
        _check_patches(hr, degradation, patch_size, batch_size)
        hr = hr.float()
        roi = None if roi is None else _check_roi(roi, hr)
        crops = -(-batch_size * world_size // len(hr))
        if variation is not None:
            if roi is not None:
                raise ValueError(
                    "ROI masks are not carried through scanner variation: train with "
                    "augmentation='flips' to use a roi"
                )
            self.pairs = VariedPatchPairs(hr, degradation, patch_size, crops, seed, variation)
        else:
            lr = torch.cat([degradation(hr[i : i + 1], seed=seed + i) for i in range(len(hr))])
            self.pairs = PatchPairs(hr, lr, roi, patch_size, crops, seed, augment)
        self.batches = LoaderBatches(
            self.pairs, batch_size, seed, rank, world_size, workers, collate_fn=stack_pairs
        )

    def next_batch(self) -> tuple[torch.Tensor, ...]:
        """A ``(lr, hr)`` batch of aligned patches, ``(lr, hr, roi)`` with ROI masks."""
        batches = self.batches
        self.pairs.epoch = batches.epoch + int(batches.position >= batches.batches_per_epoch)
        return batches.next_batch()

    def state_dict(self) -> dict[str, int]:
        return self.batches.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batches.load_state_dict(state)


def stack_pairs(items: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
    """Collate :class:`PatchPairs` items into a tuple of batched tensors."""
    return tuple(torch.stack(parts).contiguous() for parts in zip(*items, strict=True))


def _check_patches(
    hr: torch.Tensor, degradation: Degradation, patch_size: int, batch_size: int
) -> None:
    """One-line errors for images, patch and batch sizes that do not fit together."""
    dims = degradation.spatial_dims
    if hr.ndim != dims + 2:
        raise ValueError(f"hr must be (N, 1, {dims} spatial axes), got shape {tuple(hr.shape)}")
    if patch_size < degradation.scale or patch_size % degradation.scale:
        raise ValueError(
            f"patch_size must be a positive multiple of the scale {degradation.scale}, "
            f"got {patch_size}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if min(hr.shape[2:]) < patch_size:
        raise ValueError(f"images {tuple(hr.shape[2:])} are smaller than patch_size {patch_size}")


def _check_roi(roi: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """ROI masks as float, checked to be aligned with ``hr`` and in [0, 1]."""
    if tuple(roi.shape) != tuple(hr.shape):
        raise ValueError(
            f"roi mask shape {tuple(roi.shape)} differs from the images' {tuple(hr.shape)}; "
            "masks must be aligned with the training images"
        )
    check_mask_values(roi.detach().cpu().float().numpy())
    return roi.float()


def _augmentation(spatial_dims: int) -> Compose:
    keys = ["lr", "hr", "roi"]
    flips = [
        RandFlipd(keys, prob=0.5, spatial_axis=axis, allow_missing_keys=True)
        for axis in range(spatial_dims)
    ]
    rotate = RandRotate90d(keys, prob=0.5, max_k=3, spatial_axes=(0, 1), allow_missing_keys=True)
    return Compose([*flips, rotate])
