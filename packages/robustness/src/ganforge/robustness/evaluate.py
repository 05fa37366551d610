"""Measuring attacks and defences: success rates, perturbation norms, timings, figures.

Success rate (the benchmark's definition): among the test images the target
classifies correctly, the share whose adversarial image it misclassifies
(untargeted) or classifies as the target class (targeted; images of that
class left out). Timings are milliseconds per example at attack time, batch 100.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ganforge.robustness.model import predict_labels

AttackFn = Callable[[Tensor, Tensor], Tensor]


def success_rate(
    model: nn.Module, x_adv: Tensor, x: Tensor, y: Tensor, target_class: int | None = None
) -> float:
    """The share of originally correct images the attack fools (see the module docstring)."""
    clean = predict_labels(model, x)
    adversarial = predict_labels(model, x_adv)
    eligible = clean == y
    if target_class is not None:
        eligible &= y != target_class
        hits = adversarial == target_class
    else:
        hits = adversarial != y
    if not eligible.any():
        return float("nan")
    return float(hits[eligible].float().mean())


def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """Plain accuracy of the model (eval mode) on ``(x, y)``."""
    return float((predict_labels(model, x) == y).float().mean())


def perturbation_norms(x_adv: Tensor, x: Tensor) -> dict[str, float]:
    """Mean L2 and mean / max L-infinity norm of the perturbations, per image."""
    delta = (x_adv.double() - x.double()).flatten(1)
    linf = delta.abs().amax(1)
    return {
        "mean_l2": float(delta.norm(dim=1).mean()),
        "mean_linf": float(linf.mean()),
        "max_linf": float(linf.max()),
    }


def timed(attack: AttackFn, x: Tensor, y: Tensor, batch: int = 100) -> tuple[Tensor, float]:
    """The attack's images and its milliseconds per example over batches of ``batch``."""
    parts, seconds = [], 0.0
    for start in range(0, len(x), batch):
        xb, yb = x[start : start + batch], y[start : start + batch]
        began = time.perf_counter()
        parts.append(attack(xb, yb))
        seconds += time.perf_counter() - began
    return torch.cat(parts), 1000 * seconds / len(x)


def attack_row(
    model: nn.Module,
    attack: AttackFn,
    x: Tensor,
    y: Tensor,
    target_class: int | None = None,
    batch: int = 100,
) -> dict[str, Any]:
    """Success rate, perturbation norms and ms per example of one attack on ``(x, y)``."""
    x_adv, ms = timed(attack, x, y, batch)
    return {
        "success": success_rate(model, x_adv, x, y, target_class),
        "accuracy_under_attack": accuracy(model, x_adv, y),
        **perturbation_norms(x_adv, x),
        "ms_per_example": ms,
    }


def perturbation_figure(x: Tensor, x_adv: Tensor, model: nn.Module | None = None, n: int = 8):
    """A figure of clean / perturbed / perturbation images (rows), ``n`` columns, with the
    model's predictions in the titles when ``model`` is given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(n, len(x))
    clean, perturbed = x[:n].cpu(), x_adv[:n].cpu()
    delta = perturbed - clean
    scale = float(delta.abs().max()) or 1.0
    labels = (
        None if model is None else (predict_labels(model, clean), predict_labels(model, perturbed))
    )
    figure, axes = plt.subplots(3, n, figsize=(1.3 * n, 4.2), squeeze=False)
    for column in range(n):
        rows = (clean[column], perturbed[column], delta[column])
        for row, image in enumerate(rows):
            axis = axes[row, column]
            picture = image.permute(1, 2, 0).numpy()
            if row == 2:
                axis.imshow(picture.mean(-1), cmap="seismic", vmin=-scale, vmax=scale)
            else:
                grey = picture.squeeze(-1) if picture.shape[-1] == 1 else picture
                axis.imshow(np.clip(grey, 0, 1), cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if labels is not None and row < 2:
                axis.set_title(str(int(labels[row][column])), fontsize=8)
        if column == 0:
            for row, name in enumerate(("clean", "perturbed", "perturbation")):
                axes[row, 0].set_ylabel(name, fontsize=8)
    figure.tight_layout()
    return figure
