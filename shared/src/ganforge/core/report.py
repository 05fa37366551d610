"""A self-contained HTML report of a run: loss curves, metrics, figures, audio.

Figures are matplotlib figures rendered to PNG and audio clips 16-bit WAV, both
embedded as base64, so the report is one file that opens (and plays) anywhere, offline.
"""

from __future__ import annotations

import base64
import html
import io
import math
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ganforge.core.files import atomic_write  # noqa: E402


@dataclass
class ReportSection:
    """One part of a report: a title, a table of metrics, figures, audio players and text.

    ``audio`` maps a caption to WAV bytes (:func:`wav_bytes`).
    """

    title: str
    metrics: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    text: str = ""
    audio: dict[str, bytes] = field(default_factory=dict)


def wav_bytes(samples: Any, sample_rate: int) -> bytes:
    """A mono 16-bit PCM WAV file of ``samples`` (floats in [-1, 1], clipped), as bytes."""
    audio = np.asarray(samples, dtype=np.float64).reshape(-1)
    if not np.isfinite(audio).all():
        raise ValueError("audio samples must be finite")
    if not (isinstance(sample_rate, int) and sample_rate > 0):
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(sample_rate)
        stream.writeframes(pcm.tobytes())
    return buffer.getvalue()


def loss_curves_figure(
    history: Sequence[dict[str, Any]], keys: Sequence[str] | None = None
) -> Figure:
    """Plot every logged scalar (or ``keys``) against the iteration, one panel each."""
    keys = list(keys) if keys is not None else _scalar_keys(history)
    columns = min(3, max(1, len(keys)))
    rows = max(1, math.ceil(len(keys) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows), squeeze=False)
    for axis, key in zip(axes.flat, keys, strict=False):
        points = [(r["iteration"], r[key]) for r in history if _is_number(r.get(key))]
        if points:
            axis.plot(*zip(*points, strict=True), linewidth=1.2)
        axis.set_title(key, fontsize=9)
        axis.set_xlabel("iteration", fontsize=8)
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[len(keys) :]:
        axis.axis("off")
    figure.tight_layout()
    return figure


def _scalar_keys(history: Sequence[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for record in history:
        for key, value in record.items():
            if key != "iteration" and _is_number(value):
                keys[key] = None
    return list(keys)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def figure_to_png(figure: Figure, dpi: int = 110) -> bytes:
    """Render a figure to PNG bytes and close it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def write_report(path: str | Path, title: str, sections: Sequence[ReportSection]) -> Path:
    """Write a self-contained HTML report with the given sections and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(_section_html(section) for section in sections)
    document = _PAGE.format(title=html.escape(title), stamp=stamp, body=body)
    with atomic_write(target, "w", encoding="utf-8") as stream:
        stream.write(document)
    return target


def _section_html(section: ReportSection) -> str:
    parts = [f"<section><h2>{html.escape(section.title)}</h2>"]
    if section.text:
        parts.append(f"<p>{html.escape(section.text)}</p>")
    if section.metrics:
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_format(v))}</td></tr>"
            for k, v in section.metrics.items()
        )
        parts.append(f"<table>{rows}</table>")
    for name, figure in section.figures.items():
        encoded = base64.b64encode(figure_to_png(figure)).decode("ascii")
        parts.append(
            f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{html.escape(name)}</figcaption></figure>"
        )
    for name, clip in section.audio.items():
        encoded = base64.b64encode(clip).decode("ascii")
        parts.append(
            f'<figure><audio controls preload="none" src="data:audio/wav;base64,{encoded}">'
            f"</audio><figcaption>{html.escape(name)}</figcaption></figure>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
section {{ border-top: 1px solid #ccc; padding-top: 0.5em; margin-top: 1.5em; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
th, td {{ border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; font-size: 0.9em; }}
th {{ background: #f5f5f5; font-weight: 600; }}
figure {{ display: inline-block; margin: 0.5em; }}
img {{ max-width: 100%; }}
figcaption {{ font-size: 0.85em; color: #555; text-align: center; }}
</style></head>
<body><h1>{title}</h1><p>Generated {stamp} by ganforge.</p>
{body}
</body></html>
"""
