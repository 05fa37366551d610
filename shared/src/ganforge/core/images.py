"""Image files for every package: MNIST IDX files (gzip or not) and image folders by class.

Nothing is unpickled: IDX files are parsed from their header (magic number,
element type, dimensions) and checked against their size; images are decoded
by Pillow. Every problem is a one-line ``ValueError`` naming the file.

With the full MNIST files (``train-images-idx3-ubyte.gz`` and friends)
:func:`load_mnist_folder` returns the 60k training images and the 10k test images.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

PathLike = str | os.PathLike[str]
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".pgm")
MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise ValueError(f"{path} is a corrupt gzip file: {error}") from None


def read_idx(path: PathLike) -> np.ndarray:
    """An IDX file's array (``.gz`` or plain), with a one-line error for a corrupt file."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES or ndim == 0:
        raise ValueError(f"{path} is not an IDX file (element type 0x{code:02x}, {ndim} dims)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path} is truncated: its header needs {header} bytes")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{path} is corrupt: its header promises {expected} bytes for shape {shape}, "
            f"the file has {len(data)}"
        )
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def load_idx_pair(images: PathLike, labels: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, H, W)`` and labels ``(N,)`` from two IDX files, checked against each other."""
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3:
        raise ValueError(f"{images} holds shape {x.shape}, not images (N, H, W)")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{labels} holds shape {y.shape} of {y.dtype}, not integer labels (N,)")
    if len(x) != len(y):
        raise ValueError(f"{images} has {len(x)} images but {labels} has {len(y)} labels")
    return x, y.astype(np.int64)


def _find(folder: Path, stem: str) -> Path:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        if (folder / name).is_file():
            return folder / name
    raise ValueError(f"{folder} has no {stem} or {stem}.gz")


def load_mnist_folder(
    folder: PathLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``(x_train, y_train, x_test, y_test)`` from a folder of MNIST IDX files.

    The test pair is optional (``None`` when its files are absent).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"no such folder: {folder}")
    x, y = load_idx_pair(
        _find(folder, MNIST_NAMES["train_images"]), _find(folder, MNIST_NAMES["train_labels"])
    )
    try:
        test_images = _find(folder, MNIST_NAMES["test_images"])
        test_labels = _find(folder, MNIST_NAMES["test_labels"])
    except ValueError:
        return x, y, None, None
    x_test, y_test = load_idx_pair(test_images, test_labels)
    if x_test.shape[1:] != x.shape[1:]:
        raise ValueError(f"test images are {x_test.shape[1:]}, training images {x.shape[1:]}")
    return x, y, x_test, y_test


def load_image_folder(folder: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Greyscale images ``(N, H, W)`` (uint8) and their class names from ``folder/<class>/*.png``.

    Every image must have the same size; a class folder without images, an
    unreadable image or a size mismatch is a one-line error.
    """
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"no such folder: {folder}")
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ValueError(f"{folder} has no class folders (expected {folder}/<class>/<image>.png)")
    images: list[np.ndarray] = []
    labels: list[str] = []
    for class_dir in classes:
        files = sorted(
            p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise ValueError(
                f"class folder {class_dir} has no images ({', '.join(IMAGE_SUFFIXES)})"
            )
        for file in files:
            try:
                with Image.open(file) as image:
                    pixels = np.asarray(image.convert("L"), dtype=np.uint8)
            except (UnidentifiedImageError, OSError, ValueError) as error:
                raise ValueError(f"{file} is not a readable image: {error}") from None
            if images and pixels.shape != images[0].shape:
                raise ValueError(
                    f"{file} is {pixels.shape[1]}x{pixels.shape[0]}, the first image "
                    f"{images[0].shape[1]}x{images[0].shape[0]}: resize the images to one size"
                )
            images.append(pixels)
            labels.append(class_dir.name)
    return np.stack(images), np.asarray(labels)


def pixel_array(
    x: object,
    name: str = "x",
    ndims: tuple[int, ...] = (3, 4),
    low: float = 0.0,
    high: float = 1.0,
    shapes: str = "(N, H, W) or (N, C, H, W)",
) -> np.ndarray:
    """A batch of images as float32 pixels in ``[low, high]``, or a one-line ``ValueError``.

    ``x``: an array or tensor of ``ndims`` dimensions (``shapes`` says which, for the
    message) with no empty axis. Integer arrays are 0-255 pixels, scaled to ``[low,
    high]``; float arrays must be finite and lie in ``[low, high]`` already.
    """
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        array = np.asarray(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of images") from None
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise ValueError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.ndim not in ndims or 0 in array.shape:
        raise ValueError(f"{name} must be images {shapes}, got shape {tuple(array.shape)}")
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise ValueError(f"{name}: integer pixels must lie in 0-255")
        return (low + (high - low) * array.astype(np.float32) / 255.0).astype(np.float32)
    values = array.astype(np.float32)
    if not np.isfinite(values).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    if values.min() < low or values.max() > high:
        raise ValueError(
            f"{name}: float pixels must lie in [{low:g}, {high:g}], the declared range (got "
            f"{values.min():.3g} to {values.max():.3g}); pass 0-255 pixels as integers or rescale"
        )
    return values
