"""Vocoder losses: mel L1, multi-resolution STFT, and the weights that combine them.

The adversarial terms and feature matching are the core's
(:mod:`ganforge.core.losses`, summed over a list of sub-discriminators); this module
adds the spectral terms and :class:`LossWeights`. Spectral terms run in float32 even
under autocast.

Scale conventions, and how the published weights translate
-----------------------------------------------------------
The core's least-squares losses carry a factor 1/2 (Mao et al. 2017):
``D: ½E(D(x) - 1)² + ½E D(G(s))²`` and ``G: ½E(D(G(s)) - 1)²``. HiFi-GAN's
(Kong et al. 2020) have none: ``D: E(D(x) - 1)² + E D(G(s))²``, ``G: E(D(G(s)) - 1)²``,
each summed over the sub-discriminators, with the generator objective
``L_adv + 2 L_fm + 45 L_mel``. Both feature matching (the sum over sub-discriminators
and layers of mean L1 distances) and mel L1 (the mean absolute log-mel difference)
are the same functions here as there. So HiFi-GAN's objective is, with the core's
losses, **adversarial weight 2** (on both the discriminator's and the generator's
adversarial term), feature matching 2, mel 45: :data:`PUBLISHED_WEIGHTS`
``["hifigan"]``, the default :class:`LossWeights`. (HiFi-GAN's mel loss uses mels up
to the Nyquist frequency: ``MelL1Loss(MelSpectrogram(MelConfig(fmax=None)))``.)

The other recipes, in the same terms:

* MelGAN (Kumar et al. 2019): hinge, the same as the core's (weight 1); feature
  matching ``10 * 4 / (n_layers + 1) / num_D = 10 * 4/5 * 1/3 = 8/3`` on the core's
  plain sum (MelGAN weights each layer's L1 by ``4 / (n_layers + 1)`` and each
  scale by ``1 / num_D``); no spectral term.
* Parallel WaveGAN (Yamamoto et al. 2020), one discriminator: ``L_stft + 4 E(D(G(z)) -
  1)²`` is adversarial weight 8 with the core's least squares, STFT weight 1.
  (With several discriminators PWG averages the adversarial terms; the core sums.)

The multi-resolution STFT loss follows Parallel WaveGAN: for each resolution, spectral
convergence ``||S - Ŝ||_F / ||S||_F`` and log-magnitude L1 ``mean |log S - log Ŝ|`` on
magnitudes ``sqrt(max(|X|², 1e-7))`` of a centred (reflect-padded) Hann STFT; each term
averaged over the resolutions, and the loss is their sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.core.losses import LOSSES, Scores, feature_matching_loss, get_loss
from ganforge.vocoder.mel import MelSpectrogram

# --- mel L1 ------------------------------------------------------------------------------


class MelL1Loss(nn.Module):
    """Mean absolute difference of log-mel spectrograms (HiFi-GAN's ``L_mel``).

    Args:
        front_end: the mel front end; the default HiFi-GAN / Tacotron 2 one if omitted.
    """

    def __init__(self, front_end: MelSpectrogram | None = None) -> None:
        super().__init__()
        self.front_end = front_end or MelSpectrogram()

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        """L1 between the log-mels of two waveforms of the same shape."""
        _check_same_shape(fake, real)
        return self.from_mel(fake, self.front_end(real))

    def from_mel(self, fake: Tensor, real_mel: Tensor) -> Tensor:
        """L1 between the log-mel of waveform ``fake`` and a given log-mel ``real_mel``."""
        fake_mel = self.front_end(fake)
        if fake_mel.shape != real_mel.shape:
            raise ValueError(
                f"mel shapes differ: generated {tuple(fake_mel.shape)} vs "
                f"target {tuple(real_mel.shape)}"
            )
        return F.l1_loss(fake_mel, real_mel.float())


def _check_same_shape(fake: Tensor, real: Tensor) -> None:
    if fake.shape != real.shape:
        raise ValueError(
            f"generated and real waveforms differ in shape: {tuple(fake.shape)} vs "
            f"{tuple(real.shape)}"
        )


# --- multi-resolution STFT ---------------------------------------------------------------


class STFTResolution(NamedTuple):
    """One STFT resolution of the multi-resolution loss."""

    n_fft: int
    hop_length: int
    win_length: int


PARALLEL_WAVEGAN_RESOLUTIONS = (
    STFTResolution(1024, 120, 600),
    STFTResolution(2048, 240, 1200),
    STFTResolution(512, 50, 240),
)
"""Parallel WaveGAN's resolutions: FFT 1024 / 2048 / 512, hops 120 / 240 / 50."""

POWER_FLOOR = 1e-7
"""``|X|²`` is clamped here before the square root (Parallel WaveGAN's floor)."""


def stft_magnitude(waveform: Tensor, resolution: STFTResolution, window: Tensor) -> Tensor:
    """``sqrt(max(|STFT|², 1e-7))`` in float32, ``(B, frames, n_fft // 2 + 1)``.

    Centred frames (reflect padding by ``n_fft // 2``), ``window`` of ``win_length``
    zero-padded to ``n_fft`` in the middle, as ``torch.stft`` does.
    """
    x = waveform.reshape(-1, waveform.size(-1)).float()
    spec = torch.stft(
        x,
        resolution.n_fft,
        resolution.hop_length,
        resolution.win_length,
        window.float(),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    power = spec.real.pow(2) + spec.imag.pow(2)
    return power.clamp_min(POWER_FLOOR).sqrt().transpose(1, 2)


def spectral_convergence(fake_mag: Tensor, real_mag: Tensor) -> Tensor:
    """``||real - fake||_F / ||real||_F`` over the whole batch."""
    return torch.linalg.norm(real_mag - fake_mag) / torch.linalg.norm(real_mag)


def log_magnitude_l1(fake_mag: Tensor, real_mag: Tensor) -> Tensor:
    """``mean |log real - log fake|``."""
    return F.l1_loss(torch.log(fake_mag), torch.log(real_mag))


class MultiResolutionSTFTLoss(nn.Module):
    """Parallel WaveGAN's multi-resolution STFT loss (spectral convergence + log magnitude).

    ``forward(fake, real)`` returns the sum of both terms, each averaged over the
    resolutions; :meth:`terms` returns them apart. Waveforms ``(B, T)`` or ``(B, 1, T)``
    with ``T > n_fft / 2`` of the largest resolution (reflect padding).
    """

    def __init__(self, resolutions: Sequence[STFTResolution] = PARALLEL_WAVEGAN_RESOLUTIONS):
        super().__init__()
        self.resolutions = tuple(STFTResolution(*r) for r in resolutions)
        if not self.resolutions:
            raise ValueError("the multi-resolution STFT loss needs at least one resolution")
        for index, r in enumerate(self.resolutions):
            if not 0 < r.win_length <= r.n_fft or r.hop_length <= 0:
                raise ValueError(f"bad STFT resolution {tuple(r)}: need 0 < win <= n_fft, hop > 0")
            self.register_buffer(f"window{index}", torch.hann_window(r.win_length), False)

    def terms(self, fake: Tensor, real: Tensor) -> tuple[Tensor, Tensor]:
        """(spectral convergence, log-magnitude L1), each averaged over the resolutions."""
        _check_same_shape(fake, real)
        sc, mag = [], []
        with torch.autocast(fake.device.type, enabled=False):
            for index, resolution in enumerate(self.resolutions):
                window = getattr(self, f"window{index}")
                fake_mag = stft_magnitude(fake, resolution, window)
                real_mag = stft_magnitude(real, resolution, window)
                sc.append(spectral_convergence(fake_mag, real_mag))
                mag.append(log_magnitude_l1(fake_mag, real_mag))
        return torch.stack(sc).mean(), torch.stack(mag).mean()

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        """Spectral convergence + log-magnitude L1."""
        sc, mag = self.terms(fake, real)
        return sc + mag


# --- weights and the combined objectives --------------------------------------------------


@dataclass(frozen=True)
class LossWeights:
    """Which adversarial loss, and the weight of every term (defaults: HiFi-GAN's objective).

    Attributes:
        adversarial_loss: a name from ``ganforge.core.losses.LOSSES``.
        adversarial: weight of the adversarial term, for the discriminator and the
            generator alike (2 turns the core's ½-scaled least squares into HiFi-GAN's).
        feature_matching: weight of the core's feature-matching loss.
        mel: weight of the mel L1 term.
        stft: weight of the multi-resolution STFT term.
    """

    adversarial_loss: str = "least_squares"
    adversarial: float = 2.0
    feature_matching: float = 2.0
    mel: float = 45.0
    stft: float = 0.0

    def __post_init__(self) -> None:
        if self.adversarial_loss not in LOSSES:
            raise ValueError(
                f"unknown adversarial loss {self.adversarial_loss!r}; "
                f"choose one of: {', '.join(sorted(LOSSES))}"
            )
        for name in ("adversarial", "feature_matching", "mel", "stft"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"loss weight {name} must be >= 0, got {getattr(self, name)}")


PUBLISHED_WEIGHTS: dict[str, LossWeights] = {
    "hifigan": LossWeights(),
    "melgan": LossWeights("hinge", adversarial=1.0, feature_matching=8 / 3, mel=0.0),
    "parallel_wavegan": LossWeights(
        "least_squares", adversarial=8.0, feature_matching=0.0, mel=0.0, stft=1.0
    ),
}
"""The published recipes' objectives expressed with the core's losses (module docstring)."""


def discriminator_loss(real: Scores, fake: Scores, weights: LossWeights) -> Tensor:
    """The weighted adversarial loss of the discriminators on real and (detached) fake."""
    return weights.adversarial * get_loss(weights.adversarial_loss).discriminator(real, fake)


def generator_loss(
    fake_scores: Scores,
    real_features: Sequence[Sequence[Tensor]],
    fake_features: Sequence[Sequence[Tensor]],
    weights: LossWeights,
    *,
    mel: Tensor | None = None,
    stft: Tensor | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The generator's weighted objective and its unweighted terms (for logging).

    Args:
        fake_scores: the discriminators' scores on the generated waveform.
        real_features / fake_features: their feature maps on real and generated audio.
        weights: the weights; a term with weight 0 is left out.
        mel: the mel L1 term (:class:`MelL1Loss`), needed when ``weights.mel > 0``.
        stft: the STFT term (:class:`MultiResolutionSTFTLoss`), needed when
            ``weights.stft > 0``.

    Returns:
        ``(total, terms)`` with ``terms`` keyed ``adversarial``, ``feature_matching``,
        ``mel``, ``stft`` (those with a non-zero weight).
    """
    terms: dict[str, Tensor] = {}
    if weights.adversarial:
        terms["adversarial"] = get_loss(weights.adversarial_loss).generator(fake_scores)
    if weights.feature_matching:
        terms["feature_matching"] = feature_matching_loss(real_features, fake_features)
    for name, value in (("mel", mel), ("stft", stft)):
        if getattr(weights, name):
            if value is None:
                raise ValueError(f"the {name} term has weight {getattr(weights, name)}: pass it")
            terms[name] = value
    if not terms:
        raise ValueError("every loss weight is 0: the generator would not learn")
    total = sum(getattr(weights, name) * value for name, value in terms.items())
    return total, terms
