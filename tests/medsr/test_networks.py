import pytest
import torch

from ganforge.medsr.networks import GeneratorConfig, PatchLogits, SRGenerator


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("block", ["rrdb", "residual"])
def test_generator_output_shape(dims, scale, block):
    generator = SRGenerator(
        spatial_dims=dims, scale=scale, block=block, channels=4, num_blocks=1, growth=4
    )
    lr = torch.rand(2, 1, *([6] * dims))
    assert generator(lr).shape == (2, 1, *([6 * scale] * dims))


def test_untrained_generator_is_plain_interpolation():
    generator = SRGenerator(channels=4, num_blocks=1, growth=4)
    lr = torch.rand(1, 1, 8, 8)
    expected = torch.nn.functional.interpolate(lr, scale_factor=2, mode="bicubic")
    assert torch.allclose(generator(lr), expected)


def test_generator_is_translation_equivariant_by_whole_lr_pixels():
    torch.manual_seed(0)
    generator = SRGenerator(channels=4, num_blocks=1, growth=4, scale=2)
    for p in generator.tail[-1].parameters():
        torch.nn.init.normal_(p, std=0.1)
    lr = torch.rand(1, 1, 24, 24)
    out = generator(lr)
    shifted = generator(torch.roll(lr, 1, dims=-1))
    # interior (away from zero-padding effects): a 1-pixel LR shift is a 2-pixel HR shift
    assert torch.allclose(
        torch.roll(out, 2, dims=-1)[..., 16:32, 16:32], shifted[..., 16:32, 16:32], atol=1e-5
    )


def test_generator_config_errors():
    with pytest.raises(ValueError, match="scale must be one of"):
        GeneratorConfig(scale=3)
    with pytest.raises(ValueError, match="block must be one of"):
        GeneratorConfig(block="unet")
    with pytest.raises(ValueError, match="spatial axes"):
        SRGenerator(channels=4, num_blocks=1)(torch.rand(1, 1, 4, 4, 4))


@pytest.mark.parametrize("dims", [2, 3])
def test_patch_discriminator_returns_raw_patch_logits(dims):
    discriminator = PatchLogits(dims, channels=4)
    x = torch.rand(4, 1, *([32] * dims))
    with torch.no_grad():
        logits = discriminator(x)
        assert torch.equal(logits, discriminator.net(x)[-1])
    assert logits.shape == (4, 1, *([2] * dims))
    # raw logits, not probabilities: some are negative
    assert float(logits.min()) < 0
