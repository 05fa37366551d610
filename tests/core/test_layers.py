"""Shared layers: normalisation statistics, attention init, equalised LR, DCGAN init."""

import math

import pytest
import torch
from torch import nn

from ganforge.core.layers import (
    AdaIN,
    ConditionalBatchNorm2d,
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
    SelfAttention,
    adain,
    dcgan_init,
)
from ganforge.core.regularizers import apply_spectral_norm


@pytest.mark.parametrize("shape", [(3, 8), (3, 8, 5), (3, 8, 4, 4), (2, 8, 2, 3, 3)])
def test_pixel_norm_gives_unit_rms_over_channels(shape):
    y = PixelNorm()(5 * torch.randn(shape) + 2)
    rms = y.pow(2).mean(dim=1).sqrt()
    assert torch.allclose(rms, torch.ones_like(rms), atol=1e-5)


def test_minibatch_stddev_adds_one_channel_with_the_group_std():
    x = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]], [[[3.0, 2.0]], [[3.0, 0.0]]]])  # (2, 2, 1, 2)
    y = MinibatchStdDev(group_size=2)(x)
    assert y.shape == (2, 3, 1, 2)
    assert torch.equal(y[:, :2], x)
    # biased std over the 2 samples per feature: |a - b| / 2 -> 1, 0, 0, 2; mean 0.75
    assert torch.allclose(y[:, 2], torch.full((2, 1, 2), 0.75), atol=1e-4)


def test_minibatch_stddev_groups_and_other_ranks():
    x = torch.randn(8, 4, 16)
    y = MinibatchStdDev(group_size=4)(x)
    assert y.shape == (8, 5, 16)
    for m in range(2):  # sample b belongs to group b % (B / G)
        members = x[m::2]
        expected = members.std(dim=0, unbiased=False).mean()
        assert torch.allclose(y[m::2, 4], expected.expand(4, 16), atol=1e-5)
    with pytest.raises(ValueError, match="divisible"):
        MinibatchStdDev(group_size=4)(torch.randn(6, 4, 3, 3))


def test_self_attention_starts_as_identity_and_learns():
    layer = SelfAttention(16)
    x = torch.randn(2, 16, 4, 4)
    assert layer.gamma.item() == 0.0
    assert torch.equal(layer(x), x)
    with torch.no_grad():
        layer.gamma.fill_(1.0)
    y = layer(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    y.sum().backward()
    assert layer.query.weight.grad.abs().sum() > 0
    assert SelfAttention(8)(torch.randn(2, 8, 10)).shape == (2, 8, 10)


def test_adain_function_transfers_style_statistics():
    content = 3 * torch.randn(2, 4, 8, 8) + 1
    style = torch.randn(2, 4, 6, 6) * torch.tensor([0.5, 2, 1, 3]).view(1, 4, 1, 1) - 2
    out = adain(content, style)
    dims = (2, 3)
    assert torch.allclose(out.mean(dims), style.mean(dims), atol=1e-4)
    assert torch.allclose(out.std(dims, unbiased=False), style.std(dims, unbiased=False), atol=1e-3)
    with pytest.raises(ValueError, match="same batch size and channels"):
        adain(content, style[:, :2])


def test_adain_module_output_has_the_styles_mean_and_std():
    layer = AdaIN(num_features=3, style_dim=5)
    x, w = 4 * torch.randn(2, 3, 16) + 7, torch.randn(2, 5)
    scale, bias = layer.style_params(w)
    out = layer(x, w)
    assert torch.allclose(out.mean(2), bias, atol=1e-4)
    assert torch.allclose(out.std(2, unbiased=False), scale.abs(), atol=1e-3)


def test_equalized_lr_scale_is_he_constant():
    linear = EqualizedLinear(50, 7)
    assert linear.scale == pytest.approx(math.sqrt(2 / 50))
    assert linear.weight.std().item() == pytest.approx(1.0, abs=0.1)
    x = torch.randn(4, 50)
    assert torch.allclose(linear(x), x @ (linear.weight * math.sqrt(2 / 50)).T, atol=1e-5)
    conv = EqualizedConv2d(6, 4, kernel_size=3, padding=1)
    assert conv.scale == pytest.approx(math.sqrt(2 / (6 * 3 * 3)))
    assert conv(torch.randn(2, 6, 5, 5)).shape == (2, 4, 5, 5)
    mapping = EqualizedLinear(8, 8, lr_mul=0.01, bias_init=1.0)
    assert mapping.scale == pytest.approx(math.sqrt(2 / 8) * 0.01)
    assert torch.allclose(mapping.bias * mapping.lr_mul, torch.ones(8))


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.ConvTranspose2d(64, 128, 4),
        nn.BatchNorm2d(128),
        nn.Conv2d(128, 128, 4),
        nn.Linear(256, 256),
    )
    apply_spectral_norm(net[3])
    dcgan_init(net)
    for layer in (net[0], net[2]):
        assert layer.weight.mean().item() == pytest.approx(0.0, abs=2e-3)
        assert layer.weight.std().item() == pytest.approx(0.02, rel=0.02)
        assert torch.all(layer.bias == 0)
    raw = net[3].parametrizations.weight.original
    assert raw.std().item() == pytest.approx(0.02, rel=0.02)
    bn = net[1]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert bn.weight.std().item() == pytest.approx(0.02, rel=0.3)
    assert torch.all(bn.bias == 0)


def test_conditional_batch_norm_applies_per_class_affine():
    layer = ConditionalBatchNorm2d(num_features=2, num_classes=3)
    x = torch.randn(6, 2, 4, 4)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    assert torch.allclose(layer(x, labels), nn.functional.batch_norm(x, None, None, training=True))
    with torch.no_grad():
        layer.embed.weight.copy_(
            torch.tensor([[1.0, 2.0, 0.0, 0.5], [3.0, 1.0, -1.0, 0.0], [0.5, 0.5, 2.0, 2.0]])
        )
    out = layer(x, labels)
    normed = nn.functional.batch_norm(x, None, None, training=True)
    gamma = layer.embed.weight[labels, :2][:, :, None, None]
    beta = layer.embed.weight[labels, 2:][:, :, None, None]
    assert torch.allclose(out, gamma * normed + beta, atol=1e-5)
    # class 1, channel 0: scale 3, shift -1
    assert torch.allclose(out[1, 0], 3 * normed[1, 0] - 1, atol=1e-5)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        layer(x, torch.tensor([0, 1, 2, 3, 0, 1]))
    with pytest.raises(ValueError, match="integer class indices"):
        layer(x, labels.float())
