"""Evaluation: test error, confusion matrix, baselines and the figures of the report.

:func:`evaluate` returns a plain dict (with the issue's baselines trained on the
same labels when they are given) (written with the core's atomic
``write_json`` when ``out`` is given); :func:`confusion_figure` and
:func:`sample_grid_figure` are the report's confusion matrix and grid of
generated images.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ganforge.core.files import write_json
from ganforge.semisup.baselines import fit_augmented_cnn, fit_supervised_same_net
from ganforge.semisup.data import as_labels
from ganforge.semisup.model import SemiSupervisedGAN


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``(K, K)`` counts: row = true class, column = predicted class (in ``classes`` order)."""
    index = {label: i for i, label in enumerate(classes.tolist())}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(truth.tolist(), predicted.tolist(), strict=True):
        if t not in index:
            raise ValueError(f"the test labels hold {t!r}, a class the model does not know")
        matrix[index[t], index[p]] += 1
    return matrix


def baseline_errors(
    model: SemiSupervisedGAN,
    x_labelled: Any,
    y_labelled: Any,
    x_test: Any,
    y_test: Any,
    progress: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Test errors of the issue's baselines, trained on ``model``'s labels alone.

    ``supervised_same_net_error``: the same discriminator, optimiser and schedule;
    ``supervised_cnn_error``: a small CNN with augmentation. ``progress(name)`` is
    called after each.
    """
    same = fit_supervised_same_net(model.spec, x_labelled, y_labelled)
    errors = {"supervised_same_net_error": 1 - same.score(x_test, y_test)}
    if progress is not None:
        progress("supervised_same_net")
    cnn = fit_augmented_cnn(x_labelled, y_labelled, seed=model.spec.seed)
    errors["supervised_cnn_error"] = 1 - cnn.score(x_test, y_test)
    if progress is not None:
        progress("supervised_cnn")
    return errors


def evaluate(
    model: SemiSupervisedGAN,
    x_test: Any,
    y_test: Any,
    *,
    x_labelled: Any | None = None,
    y_labelled: Any | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Test error and accuracy, per-class accuracy and the confusion matrix of ``model``.

    With the labels it was trained on (``x_labelled``, ``y_labelled``) the
    baselines of :func:`baseline_errors` are trained and reported under
    ``baselines``. Written as JSON to ``out`` when given.
    """
    if (x_labelled is None) != (y_labelled is None):
        raise ValueError("give both x_labelled and y_labelled for the baselines, or neither")
    baselines = None
    if x_labelled is not None:
        baselines = baseline_errors(model, x_labelled, y_labelled, x_test, y_test, progress)
    predicted = model.predict(x_test)
    truth = as_labels(y_test, len(predicted), "y_test")
    classes = model.classes_
    matrix = confusion_matrix(truth, predicted, classes)
    totals = matrix.sum(1)
    accuracy = float(np.trace(matrix) / max(1, matrix.sum()))
    report: dict[str, Any] = {
        "n_test": int(len(truth)),
        "error": round(1.0 - accuracy, 6),
        "accuracy": round(accuracy, 6),
        "classes": classes.tolist(),
        "per_class_accuracy": [
            round(float(matrix[i, i] / totals[i]), 4) if totals[i] else None
            for i in range(len(classes))
        ],
        "confusion_matrix": matrix.tolist(),
    }
    if baselines:
        report["baselines"] = {name: round(float(e), 6) for name, e in baselines.items()}
    if out is not None:
        write_json(out, report)
    return report


def confusion_figure(report: dict[str, Any], title: str = "confusion matrix") -> Any:
    """A heat map of :func:`evaluate`'s confusion matrix (true rows, predicted columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(report["confusion_matrix"])
    labels = [str(c) for c in report["classes"]]
    figure, axis = plt.subplots(figsize=(4.8, 4.2))
    axis.imshow(matrix, cmap="Blues")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if matrix[i, j]:
                dark = matrix[i, j] > matrix.max() / 2
                axis.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
    axis.set_xticks(range(len(labels)), labels)
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(f"{title} (error {report['error']:.2%})")
    figure.tight_layout()
    return figure


def tile_images(images: np.ndarray, columns: int = 10, gap: int = 1) -> np.ndarray:
    """One greyscale mosaic of images ``(n, H, W)``, ``(n, 1, H, W)`` or flat square ones."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        images = images.reshape(len(images), side, side)
    elif images.ndim == 4:
        images = images.mean(1)
    n, height, width = images.shape
    columns = min(columns, n)
    rows = -(-n // columns)
    mosaic = np.ones((rows * (height + gap) - gap, columns * (width + gap) - gap), np.float32)
    for index, image in enumerate(images):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        mosaic[top : top + height, left : left + width] = image
    return mosaic


def sample_grid_figure(images: np.ndarray, columns: int = 10, title: str = "generated") -> Any:
    """A grid of greyscale images (see :func:`tile_images`) as one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mosaic = tile_images(images, columns)
    figure, axis = plt.subplots(figsize=(6, 6 * mosaic.shape[0] / mosaic.shape[1] + 0.4))
    axis.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axis.axis("off")
    axis.set_title(title, fontsize=9)
    return figure
