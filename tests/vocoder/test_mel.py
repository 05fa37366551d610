"""The log-mel front end against librosa, in the HiFi-GAN / Tacotron 2 convention.

Measured here: filter banks agree to 1e-7 (absolute, largest weight 0.026) and log-mels
to about 6e-6 (absolute, natural log); the tolerances below are 1e-6 and 1e-4.
"""

import math

import librosa
import numpy as np
import pytest
import torch

from ganforge.vocoder.mel import MelConfig, MelSpectrogram

FILTER_ATOL = 1e-6
LOG_MEL_ATOL = 1e-4


def _speechlike(seconds: float = 0.5, sample_rate: int = 22050) -> torch.Tensor:
    """A harmonic tone with noise, then a stretch of digital silence."""
    generator = torch.Generator().manual_seed(0)
    t = torch.arange(int(seconds * sample_rate)) / sample_rate
    tone = sum(0.2 / k * torch.sin(2 * math.pi * 150 * k * t) for k in range(1, 8))
    signal = tone + 0.02 * torch.randn(t.shape, generator=generator)
    signal[-2000:] = 0.0
    return signal.clamp(-1, 1)


def _librosa_log_mel(signal: np.ndarray, config: MelConfig) -> np.ndarray:
    pad = (config.n_fft - config.hop_length) // 2
    padded = np.pad(signal.astype(np.float64), (pad, pad), mode="reflect")
    magnitude = np.abs(
        librosa.stft(
            padded,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            win_length=config.win_length,
            window="hann",
            center=False,
        )
    )
    filters = librosa.filters.mel(
        sr=config.sample_rate,
        n_fft=config.n_fft,
        n_mels=config.n_mels,
        fmin=config.fmin,
        fmax=config.fmax,
    )
    return np.log(np.maximum(filters @ magnitude, config.log_floor))


def test_defaults_are_the_hifigan_tacotron2_convention():
    c = MelConfig()
    assert (c.sample_rate, c.n_fft, c.hop_length, c.win_length, c.n_mels) == (
        22050,
        1024,
        256,
        1024,
        80,
    )
    assert (c.fmin, c.fmax, c.log_floor, c.padding) == (0.0, 8000.0, 1e-5, 384)


def test_filter_bank_matches_librosa_slaney():
    config = MelConfig()
    expected = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0)
    actual = MelSpectrogram(config).mel_basis.numpy()
    assert actual.shape == expected.shape == (80, 513)
    np.testing.assert_allclose(actual, expected, atol=FILTER_ATOL, rtol=0)


@pytest.mark.parametrize("config", [MelConfig(), MelConfig(fmax=None, n_mels=64)])
def test_log_mel_matches_librosa(config):
    signal = _speechlike()
    expected = _librosa_log_mel(signal.numpy(), config)
    actual = MelSpectrogram(config)(signal).numpy()
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, atol=LOG_MEL_ATOL, rtol=0)
    # the silent tail sits exactly at the floor, log(1e-5)
    assert np.allclose(actual[:, -3:], config.silence)


@pytest.mark.parametrize("samples", [385, 512, 1000, 1023, 5000, 22050])
def test_frames_are_samples_floor_divided_by_hop(samples):
    mel = MelSpectrogram()(torch.zeros(2, samples))
    assert mel.shape == (2, 80, samples // 256)
    assert MelConfig().num_frames(samples) == samples // 256


def test_input_layouts_and_errors():
    front_end = MelSpectrogram()
    signal = _speechlike(0.1)
    batch = front_end(signal[None])
    assert torch.equal(front_end(signal), batch[0])
    assert torch.equal(front_end(signal[None, None]), batch)
    with pytest.raises(ValueError, match="too short"):
        front_end(torch.zeros(1, 384))
    with pytest.raises(ValueError, match="waveform must be"):
        front_end(torch.zeros(1, 2, 1000))


def test_float32_under_autocast():
    front_end = MelSpectrogram()
    signal = _speechlike(0.1)[None]
    reference = front_end(signal)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = front_end(signal)
    assert under_autocast.dtype == torch.float32
    assert torch.equal(under_autocast, reference)
    half = signal.to(torch.bfloat16)
    assert torch.equal(front_end(half), front_end(half.float()))


def test_config_errors():
    with pytest.raises(ValueError, match="n_fft - hop_length must be even"):
        MelConfig(hop_length=255)
    with pytest.raises(ValueError, match="win_length"):
        MelConfig(win_length=2048)
    with pytest.raises(ValueError, match="fmax"):
        MelConfig(fmax=12000.0)
    with pytest.raises(ValueError, match="positive"):
        MelConfig(n_mels=0)
