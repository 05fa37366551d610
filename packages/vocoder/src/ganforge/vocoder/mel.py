"""The log-mel front end in the HiFi-GAN / Tacotron 2 convention.

Defaults (:class:`MelConfig`) are those of jik876/hifi-gan's ``meldataset.py`` and
NVIDIA's Tacotron 2, so mels made by those toolkits feed our vocoders unchanged:

* 22050 Hz, ``n_fft`` 1024, hop 256, periodic Hann window of 1024;
* the signal is reflect-padded by ``(n_fft - hop) / 2`` on each side and framed without
  centring, so a signal of ``T`` samples gives exactly ``T // hop`` frames;
* magnitude ``sqrt(|X|² + 1e-9)`` (HiFi-GAN's, which keeps the gradient finite at 0);
* 80 mel bands from 0 to 8000 Hz on the Slaney mel scale with Slaney (area) norm, the
  same filters as ``librosa.filters.mel(..., htk=False, norm="slaney")``;
* natural log of the mel magnitudes clamped at ``1e-5`` (so silence is ``log 1e-5``).

The spectrogram and the filter bank are torchaudio's. The computation runs in float32
even inside an autocast region (STFTs in half precision lose the low bands).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchaudio.functional import melscale_fbanks
from torchaudio.transforms import Spectrogram

MAGNITUDE_EPS = 1e-9
"""Added to ``|X|²`` before the square root, as HiFi-GAN does."""


@dataclass(frozen=True)
class MelConfig:
    """Settings of the log-mel front end (HiFi-GAN / Tacotron 2 defaults).

    Attributes:
        sample_rate: audio sample rate in Hz.
        n_fft: FFT size.
        hop_length: samples between frames; one frame per ``hop_length`` samples.
        win_length: Hann window length (``<= n_fft``; zero-padded to ``n_fft``).
        n_mels: number of mel bands.
        fmin: lowest mel filter edge in Hz.
        fmax: highest mel filter edge in Hz; ``None`` means ``sample_rate / 2``
            (HiFi-GAN's ``fmax_for_loss``).
        log_floor: magnitudes are clamped at this value before the log.
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = 8000.0
    log_floor: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop_length", "win_length", "n_mels"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"MelConfig.{name} must be positive, got {getattr(self, name)}")
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length {self.win_length} exceeds n_fft {self.n_fft}")
        if self.hop_length > self.n_fft or (self.n_fft - self.hop_length) % 2:
            raise ValueError(
                f"n_fft - hop_length must be even and non-negative (got {self.n_fft} - "
                f"{self.hop_length}) so that a signal of T samples gives T // hop frames"
            )
        if not 0.0 <= self.fmin < self.upper_frequency <= self.sample_rate / 2:
            raise ValueError(
                f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin {self.fmin}, "
                f"fmax {self.fmax}, sample_rate {self.sample_rate}"
            )
        if not self.log_floor > 0:
            raise ValueError(f"log_floor must be positive, got {self.log_floor}")

    @property
    def upper_frequency(self) -> float:
        """``fmax``, or the Nyquist frequency when ``fmax`` is ``None``."""
        return self.sample_rate / 2 if self.fmax is None else float(self.fmax)

    @property
    def padding(self) -> int:
        """Reflect padding on each side of the signal: ``(n_fft - hop) / 2``."""
        return (self.n_fft - self.hop_length) // 2

    def num_frames(self, num_samples: int) -> int:
        """Frames for a signal of ``num_samples`` samples: ``num_samples // hop_length``."""
        return num_samples // self.hop_length

    @property
    def silence(self) -> float:
        """The log-mel value of silence, ``log(log_floor)``."""
        return math.log(self.log_floor)


class MelSpectrogram(nn.Module):
    """Waveform to log-mel spectrogram, HiFi-GAN / Tacotron 2 convention.

    Input: ``(T,)``, ``(B, T)`` or ``(B, 1, T)`` samples in [-1, 1] with
    ``T > (n_fft - hop) / 2`` (reflect padding needs it). Output: ``(n_mels, T // hop)``
    for a 1-D input, else ``(B, n_mels, T // hop)``; always float32.

    Example:
        >>> mel = MelSpectrogram()(torch.zeros(2, 22050))
        >>> tuple(mel.shape)
        (2, 80, 86)
    """

    def __init__(self, config: MelConfig | None = None) -> None:
        super().__init__()
        self.config = config or MelConfig()
        c = self.config
        self.spectrogram = Spectrogram(
            n_fft=c.n_fft,
            win_length=c.win_length,
            hop_length=c.hop_length,
            window_fn=torch.hann_window,
            power=2.0,
            center=False,
        )
        filters = melscale_fbanks(
            n_freqs=c.n_fft // 2 + 1,
            f_min=c.fmin,
            f_max=c.upper_frequency,
            n_mels=c.n_mels,
            sample_rate=c.sample_rate,
            norm="slaney",
            mel_scale="slaney",
        )
        self.register_buffer("mel_basis", filters.T.contiguous(), persistent=False)

    def forward(self, waveform: Tensor) -> Tensor:
        """Log-mel spectrogram of ``waveform`` (see the class docstring for shapes)."""
        batch = _as_batch(waveform, self.config.padding)
        with torch.autocast(batch.device.type, enabled=False):
            padded = F.pad(batch.float().unsqueeze(1), _pad(self.config), mode="reflect")
            power = self.spectrogram(padded.squeeze(1))
            magnitude = torch.sqrt(power + MAGNITUDE_EPS)
            mel = torch.matmul(self.mel_basis, magnitude)
            log_mel = torch.log(mel.clamp_min(self.config.log_floor))
        return log_mel[0] if waveform.dim() == 1 else log_mel


def _pad(config: MelConfig) -> tuple[int, int]:
    return (config.padding, config.padding)


def _as_batch(waveform: Tensor, padding: int) -> Tensor:
    """``(T,)``, ``(B, T)`` or ``(B, 1, T)`` as ``(B, T)``; a clear error otherwise."""
    if waveform.dim() == 3 and waveform.size(1) == 1:
        waveform = waveform.squeeze(1)
    elif waveform.dim() == 1:
        waveform = waveform.unsqueeze(0)
    if waveform.dim() != 2:
        raise ValueError(
            f"waveform must be (T,), (B, T) or (B, 1, T), got shape {tuple(waveform.shape)}"
        )
    if waveform.size(-1) <= padding:
        raise ValueError(
            f"waveform of {waveform.size(-1)} samples is too short: the front end "
            f"reflect-pads {padding} samples, so it needs more than {padding}"
        )
    return waveform
