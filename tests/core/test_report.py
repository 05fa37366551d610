"""The HTML report: metrics, embedded figures and embedded audio players."""

from __future__ import annotations

import base64
import io
import re
import wave

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ganforge.core.report import ReportSection, wav_bytes, write_report


def _read_wav(data: bytes) -> tuple[int, int, int, np.ndarray]:
    with wave.open(io.BytesIO(data), "rb") as stream:
        frames = stream.readframes(stream.getnframes())
        return (
            stream.getnchannels(),
            stream.getsampwidth(),
            stream.getframerate(),
            np.frombuffer(frames, dtype="<i2"),
        )


def test_wav_bytes_is_16_bit_mono_pcm_with_clipping():
    channels, width, rate, pcm = _read_wav(wav_bytes([0.0, 0.25, 1.0, -1.0, 2.0, -3.0], 8000))
    assert (channels, width, rate) == (1, 2, 8000)
    # 0.25 * 32767 = 8191.75 -> 8192; out-of-range samples clip to +-32767
    assert pcm.tolist() == [0, 8192, 32767, -32767, 32767, -32767]


@pytest.mark.parametrize(
    ("samples", "rate", "message"),
    [
        ([0.0, float("nan")], 8000, "audio samples must be finite"),
        ([0.0], 0, "sample_rate must be a positive integer"),
        ([0.0], 22050.0, "sample_rate must be a positive integer"),
    ],
)
def test_wav_bytes_refuses_bad_input(samples, rate, message):
    with pytest.raises(ValueError, match=message):
        wav_bytes(samples, rate)


def test_report_embeds_metrics_figures_and_playable_audio(tmp_path):
    clip = wav_bytes(np.sin(np.linspace(0, 100, 800)) * 0.5, 8000)
    figure, axis = plt.subplots()
    axis.plot([0, 1], [1, 0])
    section = ReportSection(
        "Audio <check>",
        metrics={"pesq": 3.14159},
        figures={"a line": figure},
        text="spoken & sung",
        audio={"generated clip": clip},
    )
    page = write_report(tmp_path / "report.html", "Run", [section]).read_text()
    assert "Audio &lt;check&gt;" in page and "spoken &amp; sung" in page
    assert "<td>3.142</td>" in page
    assert 'src="data:image/png;base64,' in page
    player = r'<audio controls preload="none" src="data:audio/wav;base64,([^"]+)"'
    players = re.findall(player, page)
    assert len(players) == 1
    assert base64.b64decode(players[0]) == clip
    assert "<figcaption>generated clip</figcaption>" in page
