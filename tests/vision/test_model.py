"""VisionGAN end to end on tiny settings: fit, sample, translate, save / load, errors."""

from __future__ import annotations

import pytest
import torch

from ganforge.core.checkpoint import CheckpointError
from ganforge.vision import VisionGAN, VisionSpec

TINY = {"latent_dim": 8, "width": 4, "batch_size": 8, "iterations": 3, "device": "cpu"}


def _digits(n: int = 32, side: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, side, side, generator=generator), torch.arange(n) % 3


@pytest.mark.parametrize("family", ["dcgan", "stylegan", "pggan", "wgan"])
def test_fit_sample_and_the_model_file_round_trip(family, tmp_path):
    x, _ = _digits()
    model = VisionGAN(family=family, **TINY).fit(x)
    assert model.trainer.iteration == 3 and model.image_shape == (1, 8, 8)
    images = model.sample(5, seed=1)
    assert images.shape == (5, 1, 8, 8) and 0 <= float(images.min()) <= float(images.max()) <= 1
    torch.testing.assert_close(model.sample(5, seed=1), images)  # seeded
    path = model.save(tmp_path / "model.pt")
    loaded = VisionGAN.load(path, "cpu")
    assert loaded.spec == model.spec and loaded.parameters() == model.parameters()
    options = {"noise": "const"} if family == "stylegan" else {}
    torch.testing.assert_close(
        loaded.sample(5, seed=1, **options), model.sample(5, seed=1, **options)
    )


def test_two_fits_with_one_seed_are_identical():
    x, _ = _digits()
    a = VisionGAN(family="sngan", **TINY).fit(x).sample(4)
    b = VisionGAN(family="sngan", **TINY).fit(x).sample(4)
    torch.testing.assert_close(a, b)


def test_conditional_samples_follow_the_labels(tmp_path):
    x, y = _digits()
    model = VisionGAN(family="cgan", **TINY).fit(x, y)
    assert model.num_classes == 3
    zeros, ones = model.sample(4, labels=0), model.sample(4, labels=1)
    assert not torch.allclose(zeros, ones)  # same noise, another label
    loaded = VisionGAN.load(model.save(tmp_path / "c.pt"), "cpu")
    torch.testing.assert_close(
        loaded.sample(4, labels=[0, 1, 2, 0]), model.sample(4, labels=[0, 1, 2, 0])
    )
    with pytest.raises(ValueError, match="classes in"):
        model.sample(2, labels=5)
    with pytest.raises(ValueError, match="needs class labels"):
        VisionGAN(family="cgan", **TINY).fit(x)


@pytest.mark.parametrize("family", ["pix2pix", "cyclegan"])
def test_translation_families(family, tmp_path):
    x, _ = _digits()
    model = VisionGAN(family=family, **TINY).fit(x, 1 - x)
    out = model.translate(x[:3])
    assert out.shape == (3, 1, 8, 8) and float(out.min()) >= 0 and float(out.max()) <= 1
    loaded = VisionGAN.load(model.save(tmp_path / "t.pt"), "cpu")
    torch.testing.assert_close(loaded.translate(x[:3]), out)
    if family == "cyclegan":
        assert model.translate(x[:3], "backward").shape == (3, 1, 8, 8)
    else:
        with pytest.raises(ValueError, match="one way"):
            model.translate(x[:3], "backward")
    with pytest.raises(ValueError, match="use translate"):
        model.sample(2)


def test_bad_settings_and_data_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown family 'biggan'"):
        VisionSpec(family="biggan")
    with pytest.raises(ValueError, match="batch_size"):
        VisionSpec(batch_size=0)
    with pytest.raises(ValueError, match="time_budget"):
        VisionSpec(time_budget=-1.0)
    model = VisionGAN(family="dcgan", **TINY)
    with pytest.raises(ValueError, match="multiple of 4"):
        model.fit(torch.rand(16, 1, 10, 10))
    with pytest.raises(ValueError, match="float pixels must lie in"):
        model.fit(torch.rand(16, 1, 8, 8) * 3)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        model.fit(torch.rand(4, 1, 8, 8))
    with pytest.raises(ValueError, match="needs pairs"):
        VisionGAN(family="pix2pix", **TINY).fit(torch.rand(16, 1, 8, 8), torch.rand(12, 1, 8, 8))
    with pytest.raises(ValueError, match="not trained"):
        model.sample(2)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        VisionGAN.load(tmp_path / "junk.pt")


def test_a_time_budget_ends_training_early():
    x, _ = _digits()
    model = VisionGAN(family="dcgan", **{**TINY, "iterations": 100_000}, time_budget=0.5).fit(x)
    assert 0 < model.trainer.iteration < 100_000
    assert model.seconds < 5


def test_diffaugment_reaches_the_discriminator():
    x, y = _digits()
    model = VisionGAN(family="cgan", diffaugment="translation,cutout", **TINY).fit(x, y)
    module = model.module
    assert module.augment is not None and module.augment.ops == ["translation", "cutout"]
    images = torch.rand(4, 1, 8, 8)
    labels = torch.zeros(4, dtype=torch.long)
    with torch.no_grad():
        assert not torch.equal(module.judge(images, labels), module.judge(images, labels))
        module.augment = None
        torch.testing.assert_close(module.judge(images, labels), module.judge(images, labels))
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        VisionSpec(diffaugment="rotate")
    with pytest.raises(ValueError, match="not available for pggan"):
        VisionSpec(family="pggan", diffaugment="cutout")


def test_wgan_critic_keeps_batch_norm_and_every_weight_stays_clipped():
    x, _ = _digits()
    critic = VisionGAN(family="wgan", **TINY).fit(x).module.networks["D"]
    assert any(isinstance(layer, torch.nn.BatchNorm2d) for layer in critic.modules())
    largest = max(float(p.abs().max()) for p in critic.parameters())
    assert 0 < largest <= 0.01  # batch norm's scale too, as the paper's critic
    # WGAN-GP's penalty needs per-sample gradients: no batch norm in its critic
    gp_critic = VisionGAN(family="wgan_gp", **TINY).fit(x).module.networks["D"]
    assert not any(isinstance(layer, torch.nn.BatchNorm2d) for layer in gp_critic.modules())
