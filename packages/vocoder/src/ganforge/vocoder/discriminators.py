"""Waveform discriminators: MelGAN's multi-scale and HiFi-GAN's multi-period.

Every discriminator here returns a :class:`DiscriminatorOutput`: ``scores``, one
tensor ``(B, N)`` of raw scores per sub-discriminator, and ``features``, per
sub-discriminator the list of its hidden activations (the score layer excluded, as in
MelGAN's feature matching). These plug straight into the core:
``get_loss("least_squares").discriminator(real.scores, fake.scores)`` and
``feature_matching_loss(real.features, fake.features)``.

* :class:`MultiScaleDiscriminator` (Kumar et al. 2019): three identical-architecture
  discriminators on the waveform, the waveform average-pooled by 2 and by 4
  (``AvgPool1d(4, stride=2, padding=1)`` between scales); each a 15-tap convolution,
  four grouped strided 41-tap convolutions (stride 4), a 5-tap and a 3-tap score
  convolution, LeakyReLU(0.2), weight norm.
* :class:`MultiPeriodDiscriminator` (Kong et al. 2020): for each period p in
  2, 3, 5, 7, 11 the waveform (reflect-padded to a multiple of p) is folded to
  ``(B, 1, T / p, p)`` and judged by 2-D convolutions with ``(5, 1)`` kernels
  (stride 3 along time), so each sees every p-th sample; LeakyReLU(0.1), weight norm.
* :class:`Discriminators`: either or both, with their outputs concatenated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm


class DiscriminatorOutput(NamedTuple):
    """Raw scores and feature maps, one entry per sub-discriminator."""

    scores: list[Tensor]
    """Per sub-discriminator, raw scores ``(B, N)`` (no sigmoid)."""
    features: list[list[Tensor]]
    """Per sub-discriminator, its hidden activations in order."""


def concatenate(outputs: Sequence[DiscriminatorOutput]) -> DiscriminatorOutput:
    """One output holding the sub-discriminators of all ``outputs``, in order."""
    scores = [score for output in outputs for score in output.scores]
    features = [feats for output in outputs for feats in output.features]
    return DiscriminatorOutput(scores, features)


def _as_waveform(x: Tensor) -> Tensor:
    """``(B, T)`` or ``(B, 1, T)`` as ``(B, 1, T)``."""
    if x.dim() == 2:
        x = x.unsqueeze(1)
    if x.dim() != 3 or x.size(1) != 1:
        raise ValueError(f"waveform must be (B, T) or (B, 1, T), got shape {tuple(x.shape)}")
    return x


def _judge(
    layers: nn.ModuleList, score_layer: nn.Module, x: Tensor, slope: float
) -> tuple[Tensor, list[Tensor]]:
    """Run conv + LeakyReLU layers, keeping each activation, then the score layer."""
    features = []
    for layer in layers:
        x = F.leaky_relu(layer(x), slope)
        features.append(x)
    return score_layer(x).flatten(1), features


# --- MelGAN multi-scale ------------------------------------------------------------------


class ScaleDiscriminator(nn.Module):
    """One MelGAN discriminator (``NLayerDiscriminator`` with 4 strided layers).

    Args:
        channels: width of the first layer (16 in MelGAN); multiplied by ``stride`` at
            each strided layer up to ``max_channels``.
        max_channels: channel cap (1024 in MelGAN).
        strided_layers: number of grouped strided convolutions (4).
        stride: their stride (4); kernel ``10 * stride + 1``, groups ``in / 4``.
    """

    def __init__(
        self,
        channels: int = 16,
        max_channels: int = 1024,
        strided_layers: int = 4,
        stride: int = 4,
    ) -> None:
        super().__init__()
        layers = [weight_norm(nn.Conv1d(1, channels, 15, padding=7, padding_mode="reflect"))]
        width = channels
        for _ in range(strided_layers):
            out = min(width * stride, max_channels)
            conv = nn.Conv1d(
                width, out, 10 * stride + 1, stride, 5 * stride, groups=max(width // 4, 1)
            )
            layers.append(weight_norm(conv))
            width = out
        out = min(width * 2, max_channels)
        layers.append(weight_norm(nn.Conv1d(width, out, 5, padding=2)))
        self.layers = nn.ModuleList(layers)
        self.score = weight_norm(nn.Conv1d(out, 1, 3, padding=1))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Scores ``(B, N)`` and the hidden activations of a ``(B, 1, T)`` waveform."""
        return _judge(self.layers, self.score, x, 0.2)


class MultiScaleDiscriminator(nn.Module):
    """MelGAN's discriminators at ``scales`` resolutions, average pooling between them."""

    def __init__(self, scales: int = 3, **scale_kwargs: int) -> None:
        super().__init__()
        if scales < 1:
            raise ValueError(f"scales must be at least 1, got {scales}")
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(**scale_kwargs) for _ in range(scales)
        )
        self.pool = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def forward(self, waveform: Tensor) -> DiscriminatorOutput:
        """Scores and features of every scale for a ``(B, T)`` or ``(B, 1, T)`` waveform."""
        x = _as_waveform(waveform)
        scores, features = [], []
        for index, discriminator in enumerate(self.discriminators):
            if index:
                x = self.pool(x)
            score, feats = discriminator(x)
            scores.append(score)
            features.append(feats)
        return DiscriminatorOutput(scores, features)


# --- HiFi-GAN multi-period ---------------------------------------------------------------


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's discriminator of one period: 2-D convolutions on the folded waveform.

    Args:
        period: samples folded into one row.
        channels: widths of the strided layers (32, 128, 512, 1024 in HiFi-GAN); one
            more unstrided layer keeps the last width.
        kernel: taps along time (5); stride: stride along time (3).
    """

    def __init__(
        self,
        period: int,
        channels: Sequence[int] = (32, 128, 512, 1024),
        kernel: int = 5,
        stride: int = 3,
    ) -> None:
        super().__init__()
        if period < 1:
            raise ValueError(f"period must be positive, got {period}")
        self.period = period
        pad = (kernel // 2, 0)
        widths = [1, *channels]
        layers = [
            weight_norm(nn.Conv2d(w_in, w_out, (kernel, 1), (stride, 1), pad))
            for w_in, w_out in zip(widths[:-1], widths[1:], strict=True)
        ]
        last = widths[-1]
        layers.append(weight_norm(nn.Conv2d(last, last, (kernel, 1), 1, pad)))
        self.layers = nn.ModuleList(layers)
        self.score = weight_norm(nn.Conv2d(last, 1, (3, 1), 1, (1, 0)))

    def fold(self, x: Tensor) -> Tensor:
        """``(B, 1, T)`` reflect-padded to a multiple of the period, as ``(B, 1, T/p, p)``."""
        remainder = x.size(-1) % self.period
        if remainder:
            x = F.pad(x, (0, self.period - remainder), mode="reflect")
        return x.reshape(x.size(0), x.size(1), -1, self.period)

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Scores ``(B, N)`` and the hidden activations of a ``(B, 1, T)`` waveform."""
        return _judge(self.layers, self.score, self.fold(x), 0.1)


HIFIGAN_PERIODS = (2, 3, 5, 7, 11)


class MultiPeriodDiscriminator(nn.Module):
    """HiFi-GAN's period discriminators, one per period (2, 3, 5, 7, 11)."""

    def __init__(
        self,
        periods: Sequence[int] = HIFIGAN_PERIODS,
        channels: Sequence[int] = (32, 128, 512, 1024),
    ) -> None:
        super().__init__()
        if not periods:
            raise ValueError("periods must name at least one period")
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, channels) for p in periods)

    def forward(self, waveform: Tensor) -> DiscriminatorOutput:
        """Scores and features of every period for a ``(B, T)`` or ``(B, 1, T)`` waveform."""
        x = _as_waveform(waveform)
        scores, features = [], []
        for discriminator in self.discriminators:
            score, feats = discriminator(x)
            scores.append(score)
            features.append(feats)
        return DiscriminatorOutput(scores, features)


# --- combination -------------------------------------------------------------------------

DISCRIMINATOR_KINDS = ("msd", "mpd")


class Discriminators(nn.Module):
    """MelGAN's multi-scale (``"msd"``), HiFi-GAN's multi-period (``"mpd"``) or both.

    The output concatenates the chosen discriminators' outputs in the order given:
    with both, 3 + 5 = 8 scores and 8 feature lists.

    Args:
        kinds: a subset of ``("msd", "mpd")``.
        msd: keyword arguments of :class:`MultiScaleDiscriminator` (e.g. ``channels=4``).
        mpd: keyword arguments of :class:`MultiPeriodDiscriminator`.
    """

    def __init__(
        self,
        kinds: Sequence[str] = DISCRIMINATOR_KINDS,
        msd: dict | None = None,
        mpd: dict | None = None,
    ) -> None:
        super().__init__()
        kinds = tuple(kinds)
        unknown = [k for k in kinds if k not in DISCRIMINATOR_KINDS]
        if not kinds or unknown or len(set(kinds)) != len(kinds):
            raise ValueError(
                f"discriminator kinds must be distinct names from {DISCRIMINATOR_KINDS}, "
                f"got {kinds}"
            )
        makers = {
            "msd": lambda: MultiScaleDiscriminator(**(msd or {})),
            "mpd": lambda: MultiPeriodDiscriminator(**(mpd or {})),
        }
        self.kinds = kinds
        self.discriminators = nn.ModuleDict({kind: makers[kind]() for kind in kinds})

    def forward(self, waveform: Tensor) -> DiscriminatorOutput:
        """All chosen discriminators' scores and features, concatenated."""
        return concatenate([self.discriminators[kind](waveform) for kind in self.kinds])
