"""Figures for reports: a grid of images and the zoo's score table as bars."""

from __future__ import annotations

from typing import Any

from torch import Tensor


def sample_grid_figure(images: Tensor, columns: int = 10, title: str = "") -> Any:
    """A matplotlib figure of images ``(N, C, H, W)`` in [0, 1] on a grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    rows = max(1, -(-n // columns))
    figure, axes = plt.subplots(
        rows, columns, figsize=(columns * 0.8, rows * 0.8 + 0.3), squeeze=False
    )
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < n:
            image = images[index]
            shown = image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)
            axis.imshow(shown.numpy(), cmap="gray", vmin=0, vmax=1)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure


def zoo_figure(
    families: dict[str, dict[str, float]], floor: float | None = None, kde: float | None = None
) -> Any:
    """FID per family (lower is better) with the real-vs-real floor and the KDE baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(families)
    values = [families[name]["fid"] for name in names]
    figure, axis = plt.subplots(figsize=(7, 3.2))
    axis.bar(names, values, color="tab:blue")
    if floor is not None:
        axis.axhline(floor, color="tab:green", linestyle="--", label=f"real vs real {floor:.2f}")
    if kde is not None:
        axis.axhline(kde, color="tab:red", linestyle=":", label=f"pixel KDE {kde:.2f}")
    axis.set_ylabel("FID (MNIST features)")
    axis.set_yscale("log")
    axis.tick_params(axis="x", rotation=45)
    if floor is not None or kde is not None:
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure
