"""Each family's networks: shapes and ranges at every resolution, and the parts the
seeds describe (projection, fade-in, truncation, style mixing, U-Net skips, history)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganforge.vision import (
    FAMILIES,
    CycleGAN,
    ProgressiveGenerator,
    ProjectionDiscriminator,
    StyleGenerator,
    UNet,
    build_module,
)
from ganforge.vision.families.pggan import ProgressiveGAN


@pytest.mark.parametrize("resolution", [8, 28, 32])
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_output_shape_and_range_at_each_resolution(name, resolution):
    torch.manual_seed(0)
    module = build_module(name, (1, resolution, resolution), 10, latent_dim=8, width=4)
    family = FAMILIES[name]
    if family.generates:
        labels = torch.arange(6) % 10 if family.task == "conditional" else None
        net = module.networks["G"].eval()
        z = torch.randn(6, 8) * 5  # large inputs: the output must still stay in [-1, 1]
        raw = module.generate(z, labels)
        images = module.sample(6, labels)
        net.train()
    else:
        raw = (
            module.networks["G"].first(torch.rand(6, 1, resolution, resolution) * 2 - 1)
            if name == "cyclegan"
            else module.networks["G"](torch.rand(6, 1, resolution, resolution))
        )
        images = module.translate(torch.rand(6, 1, resolution, resolution))
    assert raw.shape == (6, 1, resolution, resolution)
    assert raw.abs().max() <= 1.0
    assert images.shape == (6, 1, resolution, resolution)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0


def test_projection_discriminator_uses_the_label():
    torch.manual_seed(0)
    d = ProjectionDiscriminator(num_classes=3, resolution=8, channels=1, width=4)
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        d.embed.weight.normal_()
        scores = [d(x, torch.full((5,), k)) for k in range(3)]
        features = d.phi.features(x)
    assert not torch.allclose(scores[0], scores[1])
    # the score moves by exactly the projection on the difference of the embeddings
    expected = ((d.embed.weight[1] - d.embed.weight[0]) * features).sum(1)
    torch.testing.assert_close(scores[1] - scores[0], expected, rtol=1e-4, atol=1e-5)


def test_fade_in_alpha_rises_from_0_to_1_and_alpha_0_is_the_upsampled_lower_resolution():
    module = build_module("pggan", (1, 28, 28), latent_dim=8, width=4, stage_iterations=10)
    assert isinstance(module, ProgressiveGAN)
    assert module.stage_at(0) == (0, 1.0) and module.stage_at(9) == (0, 1.0)
    alphas = [module.stage_at(i) for i in range(10, 20)]
    assert [s for s, _ in alphas] == [1] * 10
    assert [a for _, a in alphas] == pytest.approx([k / 10 for k in range(10)])
    assert module.stage_at(20) == (1, 1.0) and module.stage_at(30) == (2, 0.0)
    assert module.stage_at(35) == (2, 0.5) and module.stage_at(10_000) == (2, 1.0)
    assert module.switch_iterations() == [10, 30]

    torch.manual_seed(0)
    g = ProgressiveGenerator(latent_dim=8, resolution=28, width=4)
    z = torch.randn(4, 8)
    with torch.no_grad():
        low = g(z, stage=1, alpha=1.0)
        faded = g(z, stage=2, alpha=0.0)
        new = g(z, stage=2, alpha=1.0)
        half = g(z, stage=2, alpha=0.5)
    assert low.shape[-1] == 14 and faded.shape[-1] == 28
    torch.testing.assert_close(faded, F.interpolate(low, scale_factor=2, mode="nearest"))
    assert not torch.allclose(new, faded)
    between = torch.atanh(half.clamp(-0.999999, 0.999999))
    expected = 0.5 * (
        torch.atanh(faded.clamp(-0.999999, 0.999999)) + torch.atanh(new.clamp(-0.999999, 0.999999))
    )
    torch.testing.assert_close(between, expected, rtol=1e-3, atol=1e-3)


def test_pggan_without_fade_switches_at_alpha_1():
    module = build_module(
        "pggan", (1, 8, 8), latent_dim=8, width=4, stage_iterations=5, fade_in=False
    )
    assert [module.stage_at(i) for i in (0, 4, 5, 9, 10)] == [
        (0, 1.0),
        (0, 1.0),
        (1, 1.0),
        (1, 1.0),
        (2, 1.0),
    ]
    assert module.switch_iterations() == [5, 10]


def _style_generator() -> StyleGenerator:
    torch.manual_seed(0)
    g = StyleGenerator(latent_dim=8, resolution=8, width=4, w_dim=6)
    with torch.no_grad():
        g.w_avg.copy_(torch.randn(6))
        for layer in g.layers:
            layer.noise_weight.normal_()
    return g.eval()


def test_truncation_at_psi_0_gives_the_mean_style():
    g = _style_generator()
    z = torch.randn(5, 8)
    with torch.no_grad():
        styles = g.styles(z, psi=0.0)
        images = g(z, psi=0.0, noise="const")
        full = g.styles(z, psi=1.0)
        half = g.styles(z, psi=0.5)
    torch.testing.assert_close(styles, g.w_avg.expand(5, 4, 6))
    torch.testing.assert_close(images, images[:1].expand_as(images))  # one image for every z
    torch.testing.assert_close(half, (full + styles) / 2)
    assert not torch.allclose(full[0], full[1])


@pytest.mark.parametrize("crossover", [1, 2, 3])
def test_style_mixing_crosses_at_the_given_layer(crossover):
    g = _style_generator()
    z1, z2 = torch.randn(3, 8), torch.randn(3, 8)
    with torch.no_grad():
        mixed = g.styles(z1, z2, crossover)
        w1, w2 = g.mapping(z1), g.mapping(z2)
        image = g(z1, z2, crossover, noise="const")
        pure = g(z1, noise="const")
    for layer in range(g.num_layers):
        torch.testing.assert_close(mixed[:, layer], w1 if layer < crossover else w2)
    assert not torch.allclose(image, pure)


def test_unet_skips_connect_matching_resolutions():
    net = UNet(channels=1, width=4)
    skips = net.skips(torch.rand(2, 1, 28, 28))
    assert skips == [((7, 7), (7, 7)), ((14, 14), (14, 14))]
    assert net.skips(torch.rand(2, 1, 32, 32)) == [((8, 8), (8, 8)), ((16, 16), (16, 16))]
    # the deepest decoder layer reads twice the bottleneck's channels: the skip is concatenated
    assert net.dec2[0].in_channels == 2 * net.bottleneck[0].out_channels


def test_cyclegan_history_returns_past_images_half_the_time():
    torch.manual_seed(0)
    module = CycleGAN(channels=1, width=4)
    buffer = module.history_a
    assert buffer.size == 50
    buffer.query(torch.zeros(50, 1, 4, 4))  # fills the history
    returned_past, returned = 0, 0
    for step in range(1, 41):
        current = torch.full((10, 1, 4, 4), float(step))  # this step's fakes carry its number
        mixed = buffer.query(current)
        values = mixed.flatten(1)[:, 0]
        assert (values <= step).all()  # nothing from the future
        returned_past += int((values < step).sum())
        returned += len(values)
    assert returned_past / returned == pytest.approx(0.5, abs=0.05)
    assert module.extra_state()["history_a"]["buffer"].shape == (50, 1, 4, 4)
