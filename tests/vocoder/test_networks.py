"""Generators and discriminators: output lengths, structure, registry, weight norm.

Parameter counts of the published configs (trainable, after ``remove_weight_norm``;
with weight norm add the per-channel magnitudes), against the papers' figures:

=============  ==========  ===========  ================
config         ours        with WN      paper
=============  ==========  ===========  ================
melgan          4,260,257   4,266,050   4.26 M (MelGAN)
hifigan_v1     13,926,017  13,936,130   13.92 M
hifigan_v2        925,985     928,514   0.92 M
hifigan_v3      1,462,273   1,464,322   1.46 M
=============  ==========  ===========  ================

Discriminators (with weight norm): MelGAN multi-scale 16,924,086; HiFi-GAN
multi-period 41,105,770.
"""

import pytest
import torch
from torch.nn.utils import parametrize

from ganforge.core.losses import feature_matching_loss, get_loss
from ganforge.vocoder.discriminators import (
    DiscriminatorOutput,
    Discriminators,
    MultiPeriodDiscriminator,
    MultiScaleDiscriminator,
    PeriodDiscriminator,
)
from ganforge.vocoder.generators import (
    DEFAULT_GENERATOR,
    GENERATOR_CONFIGS,
    HiFiGANConfig,
    HiFiGANGenerator,
    MelGANGenerator,
    build_generator,
    count_parameters,
)

PARAMETERS = {
    "melgan": 4_260_257,
    "hifigan_v1": 13_926_017,
    "hifigan_v2": 925_985,
    "hifigan_v3": 1_462_273,
}
TINY_MSD = {"channels": 4, "max_channels": 16}
TINY_MPD = {"channels": (4, 8, 8, 8)}


def _mel(batch: int, frames: int, n_mels: int = 80) -> torch.Tensor:
    return torch.randn(batch, n_mels, frames, generator=torch.Generator().manual_seed(0))


# --- generators --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(GENERATOR_CONFIGS))
def test_published_config_output_is_frames_times_hop(name):
    generator = build_generator(name).eval()
    with torch.no_grad():
        for frames in (4, 5):
            wave = generator(_mel(1, frames))
            assert wave.shape == (1, 1, frames * 256)
            assert wave.abs().max() <= 1.0
    assert count_parameters(generator.remove_weight_norm()) == PARAMETERS[name]


def test_registry_names_and_published_settings():
    assert DEFAULT_GENERATOR == "melgan"
    assert set(GENERATOR_CONFIGS) == {"melgan", "hifigan_v1", "hifigan_v2", "hifigan_v3"}
    melgan = GENERATOR_CONFIGS["melgan"]
    assert (melgan.upsample_rates, melgan.dilations) == ((8, 8, 2, 2), (1, 3, 9))
    v1, v2, v3 = (GENERATOR_CONFIGS[f"hifigan_v{i}"] for i in (1, 2, 3))
    assert (v1.channels, v2.channels, v3.channels) == (512, 128, 256)
    assert v1.upsample_kernel_sizes == (16, 16, 4, 4)
    assert (v1.resblock, v3.resblock) == (1, 2)
    assert v3.upsample_rates == (8, 8, 4) and v3.resblock_kernel_sizes == (3, 5, 7)
    assert v3.resblock_dilations == ((1, 2), (2, 6), (3, 12))


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("melgan", {"upsample_rates": (5, 5, 4, 3), "channels": 32}),
        (
            "hifigan_v1",
            {
                "upsample_rates": (5, 5, 4, 3),
                "upsample_kernel_sizes": (11, 11, 8, 7),
                "channels": 32,
            },
        ),
    ],
)
def test_other_hop_lengths_with_odd_rates(name, overrides):
    generator = build_generator(name, hop=300, n_mels=16, **overrides)
    assert generator.hop_length == 300
    with torch.no_grad():
        assert generator(_mel(2, 4, 16)).shape == (2, 1, 1200)


def test_hop_mismatch_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"8 x 8 x 2 x 2 = 256 but the mel hop length is 300"):
        build_generator("melgan", hop=300)
    with pytest.raises(ValueError) as error:
        build_generator("hifigan_v3", hop=200)
    assert "\n" not in str(error.value) and "8 x 8 x 4 = 256" in str(error.value)


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown generator 'wavenet'; choose one of"):
        build_generator("wavenet")
    with pytest.raises(ValueError, match="has no setting kernel"):
        build_generator("melgan", kernel=3)
    with pytest.raises(ValueError, match="kernel - rate must be even"):
        HiFiGANConfig(upsample_kernel_sizes=(16, 15, 4, 4))
    with pytest.raises(ValueError, match="divisible"):
        build_generator("melgan", channels=24)


@pytest.mark.parametrize("name", list(GENERATOR_CONFIGS))
def test_remove_weight_norm_keeps_outputs(name):
    torch.manual_seed(0)
    generator = build_generator(name, n_mels=8, channels=32).eval()
    mel = _mel(1, 4, 8)
    with torch.no_grad():
        before = generator(mel)
        generator.remove_weight_norm()
        after = generator(mel)
    assert not any(parametrize.is_parametrized(m) for m in generator.modules())
    assert torch.allclose(before, after, atol=1e-6)


@pytest.mark.parametrize("name", list(GENERATOR_CONFIGS))
def test_one_training_step_with_both_discriminators(name):
    """Forward, backward and one optimizer step of every generator config (tiny sizes)."""
    torch.manual_seed(0)
    generator = build_generator(name, n_mels=8, channels=32)
    discriminators = Discriminators(msd=TINY_MSD, mpd=TINY_MPD)
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-3)
    mel, real = _mel(2, 4, 8), torch.rand(2, 1, 1024) * 2 - 1
    fake = generator(mel)
    fake_out, real_out = discriminators(fake), discriminators(real)
    loss = get_loss("least_squares").generator(fake_out.scores)
    loss = loss + feature_matching_loss(real_out.features, fake_out.features)
    loss.backward()
    before = [p.detach().clone() for p in generator.parameters()]
    optimizer.step()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in generator.parameters())
    assert any(not torch.equal(b, p) for b, p in zip(before, generator.parameters(), strict=True))


def test_generator_classes_and_shortest_input():
    melgan = build_generator("melgan", channels=32)
    assert isinstance(melgan, MelGANGenerator) and melgan.min_frames == 4
    assert isinstance(build_generator("hifigan_v2"), HiFiGANGenerator)
    with pytest.raises(ValueError, match="MelGAN needs at least 4 mel frames"):
        melgan(_mel(1, 3))
    with torch.no_grad():  # HiFi-GAN pads with zeros: one frame is enough
        assert build_generator("hifigan_v3", channels=32)(_mel(1, 1)).shape == (1, 1, 256)


# --- discriminators ----------------------------------------------------------------------


def test_multi_scale_structure_and_pooling():
    msd = MultiScaleDiscriminator(**TINY_MSD)
    wave = torch.randn(2, 1, 1024)
    with torch.no_grad():
        out = msd(wave)
        assert len(out.scores) == len(out.features) == 3
        for scale, (score, feats) in enumerate(zip(out.scores, out.features, strict=True)):
            length = 1024 // 2**scale
            assert len(feats) == 6  # first conv, 4 strided, 5-tap
            assert [tuple(f.shape) for f in feats] == [
                (2, 4, length),
                (2, 16, length // 4),
                (2, 16, length // 16),
                (2, 16, length // 64),
                (2, 16, length // 256),
                (2, 16, length // 256),
            ]
            assert score.shape == (2, length // 256)
        # scale k judges the waveform average-pooled k times
        pooled = msd.pool(msd.pool(wave))
        assert torch.equal(msd.discriminators[2](pooled)[0], out.scores[2])


def test_multi_scale_default_widths():
    with torch.no_grad():
        out = MultiScaleDiscriminator()(torch.randn(1, 1024))
    assert [f.shape[1] for f in out.features[0]] == [16, 64, 256, 1024, 1024, 1024]


@pytest.mark.parametrize("length", [330, 331])
def test_multi_period_structure(length):
    mpd = MultiPeriodDiscriminator(channels=(4, 8, 8, 8))
    with torch.no_grad():
        out = mpd(torch.randn(2, length))
    assert len(out.scores) == len(out.features) == 5
    for period, score, feats in zip((2, 3, 5, 7, 11), out.scores, out.features, strict=True):
        rows = -(-length // period)  # padded up to a multiple of the period
        assert len(feats) == 5  # 4 strided (stride 3) + 1 unstrided
        assert [f.shape[1] for f in feats] == [4, 8, 8, 8, 8]
        heights = [rows]
        for _ in range(4):
            heights.append((heights[-1] - 1) // 3 + 1)
        assert [tuple(f.shape[2:]) for f in feats] == [(h, period) for h in heights[1:]] + [
            (heights[-1], period)
        ]
        assert score.shape == (2, heights[-1] * period)


def test_period_fold_sees_every_pth_sample():
    disc = PeriodDiscriminator(3, channels=(4, 4, 4, 4))
    wave = torch.arange(10.0).view(1, 1, 10)
    folded = disc.fold(wave)
    assert folded.shape == (1, 1, 4, 3)
    assert folded[0, 0, :, 1].tolist() == [1.0, 4.0, 7.0, 8.0]  # last row reflect-padded


@pytest.mark.parametrize(("kinds", "count"), [(("msd",), 3), (("mpd",), 5), (("msd", "mpd"), 8)])
def test_combination_gives_flat_lists_for_the_core(kinds, count):
    torch.manual_seed(0)
    discriminators = Discriminators(kinds, msd=TINY_MSD, mpd=TINY_MPD)
    real, fake = torch.randn(2, 1, 1024), torch.randn(2, 1, 1024)
    with torch.no_grad():
        real_out, fake_out = discriminators(real), discriminators(fake)
    assert isinstance(real_out, DiscriminatorOutput)
    assert len(real_out.scores) == len(real_out.features) == count
    assert all(s.dim() == 2 and s.shape[0] == 2 for s in real_out.scores)
    for loss in ("least_squares", "hinge"):
        assert torch.isfinite(get_loss(loss).discriminator(real_out.scores, fake_out.scores))
    assert float(feature_matching_loss(real_out.features, fake_out.features)) > 0
    assert float(feature_matching_loss(real_out.features, real_out.features)) == 0.0


def test_combination_errors():
    with pytest.raises(ValueError, match="discriminator kinds"):
        Discriminators(("msd", "cqt"))
    with pytest.raises(ValueError, match="discriminator kinds"):
        Discriminators(())
    with pytest.raises(ValueError, match="waveform must be"):
        MultiScaleDiscriminator(**TINY_MSD)(torch.zeros(1, 2, 100))
