"""Spectral losses against hand computations; the published objectives in core terms."""

import math

import numpy as np
import pytest
import torch

from ganforge.core.losses import feature_matching_loss
from ganforge.vocoder.losses import (
    PARALLEL_WAVEGAN_RESOLUTIONS,
    POWER_FLOOR,
    PUBLISHED_WEIGHTS,
    LossWeights,
    MelL1Loss,
    MultiResolutionSTFTLoss,
    STFTResolution,
    discriminator_loss,
    generator_loss,
    stft_magnitude,
)
from ganforge.vocoder.mel import MelSpectrogram


def _noise(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- multi-resolution STFT ---------------------------------------------------------------


def test_default_resolutions_are_parallel_wavegans():
    assert [tuple(r) for r in PARALLEL_WAVEGAN_RESOLUTIONS] == [
        (1024, 120, 600),
        (2048, 240, 1200),
        (512, 50, 240),
    ]


def test_identical_signals_give_zero():
    real = 0.3 * _noise(2, 1, 4096)
    sc, mag = MultiResolutionSTFTLoss().terms(real.clone(), real)
    assert float(sc) == 0.0 and float(mag) == 0.0


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_scaled_signal_gives_closed_form_values(scale):
    """fake = a * real: |S_fake| = a |S_real|, so SC = |1 - a| and log-mag L1 = |log a|."""
    # Exact only where no bin of either signal is clamped at the floor. The first centred
    # frame is mirror-symmetric, so its spectrum is real and may cross zero on a bin: this
    # seed keeps every bin's power at least 200 times above the floor after scaling.
    real = 0.3 * _noise(1, 1, 4096, seed=4)
    loss = MultiResolutionSTFTLoss()
    for index, resolution in enumerate(loss.resolutions):
        power = stft_magnitude(real, resolution, getattr(loss, f"window{index}")) ** 2
        assert float(power.min()) * min(scale, 1) ** 2 > 200 * POWER_FLOOR
    sc, mag = loss.terms(scale * real, real)
    assert float(sc) == pytest.approx(abs(1 - scale), rel=1e-5)
    assert float(mag) == pytest.approx(abs(math.log(scale)), rel=1e-5)
    assert float(loss(scale * real, real)) == pytest.approx(
        abs(1 - scale) + abs(math.log(scale)), rel=1e-5
    )


def _numpy_stft_magnitude(x: np.ndarray, n_fft: int, hop: int, win: int) -> np.ndarray:
    """Centred STFT by hand: reflect pad, periodic Hann centred in n_fft, rfft per frame."""
    padded = np.pad(x, (n_fft // 2, n_fft // 2), mode="reflect")
    window = np.zeros(n_fft)
    start = (n_fft - win) // 2
    window[start : start + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    frames = [padded[i : i + n_fft] * window for i in range(0, len(padded) - n_fft + 1, hop)]
    power = np.abs(np.fft.rfft(np.stack(frames), axis=-1)) ** 2
    return np.sqrt(np.maximum(power, POWER_FLOOR))


def test_tiny_signal_against_a_hand_computation():
    resolutions = [STFTResolution(16, 4, 12), STFTResolution(8, 2, 6)]
    real, fake = _noise(1, 40, seed=1), _noise(1, 40, seed=2)
    sc_hand, mag_hand = [], []
    for n_fft, hop, win in resolutions:
        r = _numpy_stft_magnitude(real[0].double().numpy(), n_fft, hop, win)
        f = _numpy_stft_magnitude(fake[0].double().numpy(), n_fft, hop, win)
        sc_hand.append(np.linalg.norm(r - f) / np.linalg.norm(r))
        mag_hand.append(np.mean(np.abs(np.log(r) - np.log(f))))
    sc, mag = MultiResolutionSTFTLoss(resolutions).terms(fake, real)
    assert float(sc) == pytest.approx(np.mean(sc_hand), rel=1e-5)
    assert float(mag) == pytest.approx(np.mean(mag_hand), rel=1e-5)


def test_stft_loss_runs_in_float32_under_autocast():
    loss = MultiResolutionSTFTLoss()
    real, fake = 0.3 * _noise(1, 4096), 0.3 * _noise(1, 4096, seed=3)
    reference = loss(fake, real)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = loss(fake, real)
    assert under_autocast.dtype == torch.float32
    assert torch.equal(under_autocast, reference)


def test_stft_loss_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        MultiResolutionSTFTLoss()(torch.zeros(1, 4096), torch.zeros(1, 4000))
    with pytest.raises(ValueError, match="bad STFT resolution"):
        MultiResolutionSTFTLoss([STFTResolution(512, 50, 1024)])


# --- mel L1 ------------------------------------------------------------------------------


def test_mel_l1_is_the_mean_absolute_log_mel_difference():
    loss = MelL1Loss()
    real, fake = 0.3 * _noise(2, 1, 2048), 0.3 * _noise(2, 1, 2048, seed=4)
    assert float(loss(real.clone(), real)) == 0.0
    front_end = MelSpectrogram()
    expected = (front_end(fake) - front_end(real)).abs().mean()
    assert torch.allclose(loss(fake, real), expected)
    assert torch.equal(loss.from_mel(fake, front_end(real)), loss(fake, real))
    with pytest.raises(ValueError, match="mel shapes differ"):
        loss.from_mel(fake, front_end(real)[..., :-1])


# --- feature matching and the published objectives ----------------------------------------


def test_feature_matching_through_the_core_on_hand_made_lists():
    real = [[torch.ones(2, 3), torch.zeros(2, 2)], [torch.full((1, 4), 2.0)]]
    fake = [[torch.zeros(2, 3), torch.full((2, 2), -3.0)], [torch.full((1, 4), 0.5)]]
    # per map mean |r - f|: 1 + 3 + 1.5
    assert float(feature_matching_loss(real, fake)) == pytest.approx(5.5)
    weights = LossWeights(adversarial=0.0, feature_matching=2.0, mel=0.0)
    total, terms = generator_loss([torch.zeros(1)], real, fake, weights)
    assert float(terms["feature_matching"]) == pytest.approx(5.5)
    assert float(total) == pytest.approx(11.0)


def _random_outputs(seed: int):
    """Scores and features of 8 sub-discriminators (like MSD + MPD), real and fake."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(2, 5 + k) for k in range(8)]
    real_scores = [torch.randn(s, generator=g) for s in shapes]
    fake_scores = [torch.randn(s, generator=g) for s in shapes]
    real_feats = [[torch.randn(2, 3, 7, generator=g) for _ in range(5)] for _ in shapes]
    fake_feats = [[torch.randn(2, 3, 7, generator=g) for _ in range(5)] for _ in shapes]
    return real_scores, fake_scores, real_feats, fake_feats


def _zip(a, b):
    return zip(a, b, strict=True)


def _layer_pairs(real_feats, fake_feats):
    """Every (real, fake) feature map pair over sub-discriminators and layers."""
    return [pair for rs, fs in _zip(real_feats, fake_feats) for pair in _zip(rs, fs)]


def test_hifigan_weights_reproduce_hifigans_objective():
    """HiFi-GAN: L_D = sum E(D(x)-1)² + E D(G(s))²; L_G = sum E(D(G(s))-1)² + 2 L_fm + 45 L_mel."""
    real_scores, fake_scores, real_feats, fake_feats = _random_outputs(0)
    mel = torch.tensor(0.37)
    hifigan_d = sum(
        ((1 - r) ** 2).mean() + (f**2).mean() for r, f in _zip(real_scores, fake_scores)
    )
    hifigan_fm = sum((r - f).abs().mean() for r, f in _layer_pairs(real_feats, fake_feats))
    hifigan_g = sum(((1 - f) ** 2).mean() for f in fake_scores) + 2 * hifigan_fm + 45 * mel

    weights = PUBLISHED_WEIGHTS["hifigan"]
    assert weights == LossWeights()
    assert (weights.adversarial, weights.feature_matching, weights.mel) == (2.0, 2.0, 45.0)
    d = discriminator_loss(real_scores, fake_scores, weights)
    g, terms = generator_loss(fake_scores, real_feats, fake_feats, weights, mel=mel)
    assert float(d) == pytest.approx(float(hifigan_d), rel=1e-6)
    assert float(g) == pytest.approx(float(hifigan_g), rel=1e-6)
    assert set(terms) == {"adversarial", "feature_matching", "mel"}
    # the core's least-squares term alone is half of HiFi-GAN's
    assert float(terms["adversarial"]) == pytest.approx(
        0.5 * float(sum(((1 - f) ** 2).mean() for f in fake_scores)), rel=1e-6
    )


def test_melgan_weights_reproduce_melgans_objective():
    """MelGAN: hinge; FM = 10 * sum_i sum_j (1/num_D) (4/(n_layers+1)) L1_ij."""
    real_scores, fake_scores, real_feats, fake_feats = _random_outputs(1)
    real_scores, fake_scores = real_scores[:3], fake_scores[:3]
    real_feats, fake_feats = real_feats[:3], fake_feats[:3]
    wt = (1 / 3) * (4 / (4 + 1))
    melgan_fm = sum(wt * (f - r).abs().mean() for r, f in _layer_pairs(real_feats, fake_feats))
    melgan_g = sum(-f.mean() for f in fake_scores) + 10 * melgan_fm
    melgan_d = sum(
        torch.relu(1 - r).mean() + torch.relu(1 + f).mean()
        for r, f in _zip(real_scores, fake_scores)
    )
    weights = PUBLISHED_WEIGHTS["melgan"]
    g, _ = generator_loss(fake_scores, real_feats, fake_feats, weights)
    assert float(g) == pytest.approx(float(melgan_g), rel=1e-6)
    d = discriminator_loss(real_scores, fake_scores, weights)
    assert float(d) == pytest.approx(float(melgan_d), rel=1e-6)


def test_parallel_wavegan_weights_reproduce_its_objective():
    """Parallel WaveGAN (one discriminator): L_G = L_stft + 4 E(D(G(z)) - 1)²."""
    _, fake_scores, _, _ = _random_outputs(2)
    score, stft = fake_scores[0], torch.tensor(1.3)
    weights = PUBLISHED_WEIGHTS["parallel_wavegan"]
    g, terms = generator_loss(score, [], [], weights, stft=stft)
    assert set(terms) == {"adversarial", "stft"}
    assert float(g) == pytest.approx(float(stft + 4 * ((score - 1) ** 2).mean()), rel=1e-6)


def test_weight_errors():
    with pytest.raises(ValueError, match="unknown adversarial loss"):
        LossWeights("squared")
    with pytest.raises(ValueError, match="must be >= 0"):
        LossWeights(mel=-1.0)
    with pytest.raises(ValueError, match="the mel term has weight 45.0: pass it"):
        generator_loss([torch.zeros(1)], [[torch.zeros(1)]], [[torch.zeros(1)]], LossWeights())
    zero = LossWeights(adversarial=0.0, feature_matching=0.0, mel=0.0)
    with pytest.raises(ValueError, match="every loss weight is 0"):
        generator_loss([torch.zeros(1)], [], [], zero)
