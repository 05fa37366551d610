"""Piano-roll and report figures (matplotlib, no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from ganforge.music.data import STEPS_PER_BAR, VOICES

COLOURS = ("tab:red", "tab:orange", "tab:green", "tab:blue")


def _draw_roll(ax, roll: np.ndarray, lowest_pitch: int, title: str = "") -> None:
    x = np.asarray(roll) > 0
    for track in range(x.shape[0]):
        steps, pitches = np.nonzero(x[track])
        ax.scatter(
            steps, pitches + lowest_pitch, s=6, marker="s", linewidths=0,
            color=COLOURS[track % len(COLOURS)], label=VOICES[track] if track < 4 else None,
        )  # fmt: skip
    for bar in range(0, x.shape[1] + 1, STEPS_PER_BAR):
        ax.axvline(bar - 0.5, color="0.85", linewidth=0.6, zorder=0)
    ax.set_xlim(-0.5, x.shape[1] - 0.5)
    ax.set_ylim(lowest_pitch - 1, lowest_pitch + x.shape[-1])
    ax.set_xlabel("16th-note step")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title, fontsize=9)


def piano_roll_figure(
    rolls: Sequence[np.ndarray],
    lowest_pitch: int,
    titles: Sequence[str] | None = None,
    columns: int = 2,
) -> Figure:
    """Piano rolls ``(tracks, steps, pitches)`` side by side, one colour per track."""
    rolls = list(rolls)
    rows = -(-len(rolls) // columns)
    figure = Figure(figsize=(4.2 * min(columns, len(rolls)), 2.8 * rows), layout="constrained")
    for i, roll in enumerate(rolls):
        ax = figure.add_subplot(rows, min(columns, len(rolls)), i + 1)
        _draw_roll(ax, roll, lowest_pitch, titles[i] if titles else "")
        if i == 0:
            ax.legend(fontsize=6, loc="upper right", markerscale=1.5)
    return figure


def similarity_figure(generated: np.ndarray, human: np.ndarray | None, threshold: float) -> Figure:
    """Histograms of the nearest-neighbour similarity to the training set."""
    figure = Figure(figsize=(5, 3.2), layout="constrained")
    ax = figure.add_subplot()
    bins = np.linspace(0, 1, 41)
    ax.hist(generated, bins=bins, alpha=0.6, density=True, label="generated")
    if human is not None:
        ax.hist(human, bins=bins, alpha=0.6, density=True, label="held-out human")
    ax.axvline(threshold, color="k", linestyle="--", linewidth=1, label=f"threshold {threshold}")
    ax.set_xlabel("largest similarity to a training window (12 transpositions, every offset)")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)
    return figure


def overlap_figure(metrics: dict[str, dict[str, float]], baseline: dict | None = None) -> Figure:
    """Bars of each music metric's overlap area (and a baseline's beside it)."""
    names = list(metrics)
    figure = Figure(figsize=(6, 3.2), layout="constrained")
    ax = figure.add_subplot()
    x = np.arange(len(names))
    width = 0.4 if baseline else 0.8
    ax.bar(x, [metrics[n]["overlap_area"] for n in names], width, label="GAN")
    if baseline:
        ax.bar(x + width, [baseline[n]["overlap_area"] for n in names], width, label="baseline")
    ax.set_xticks(x + (width / 2 if baseline else 0), names, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("overlap area with held-out")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    return figure
