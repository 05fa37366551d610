"""Shared GAN building blocks: normalisations, attention, equalised learning rate, init.

Layers that act on feature maps accept ``(B, C, *axes)`` with any number of spatial
or time axes (1-D audio, 2-D images, 3-D volumes) unless their name says otherwise.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize


def _axes(x: Tensor) -> tuple[int, ...]:
    return tuple(range(2, x.dim()))


class PixelNorm(nn.Module):
    """Normalise each position's feature vector to unit RMS over channels (ProGAN)."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class MinibatchStdDev(nn.Module):
    """Append the average standard deviation across a group of samples as extra channels.

    Following ProGAN / StyleGAN2: the batch is split into groups of ``group_size``
    samples (the whole batch if smaller); within a group, the per-feature standard
    deviation (biased, over the group) is averaged over channels and positions into
    ``num_channels`` values that are broadcast as new channels to every sample in the
    group. Lets the discriminator see the diversity of a batch (mode-collapse cue).
    """

    def __init__(self, group_size: int = 4, num_channels: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        if group_size < 1 or num_channels < 1:
            raise ValueError("group_size and num_channels must be >= 1")
        self.group_size = group_size
        self.num_channels = num_channels
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        batch, channels = x.shape[:2]
        group = min(self.group_size, batch)
        if batch % group or channels % self.num_channels:
            raise ValueError(
                f"batch {batch} must be divisible by group_size {group} and channels "
                f"{channels} by num_channels {self.num_channels}"
            )
        spatial = x.shape[2:]
        y = x.reshape(group, batch // group, self.num_channels, channels // self.num_channels, -1)
        y = y - y.mean(dim=0)
        std = (y.pow(2).mean(dim=0) + self.eps).sqrt()  # (B/G, F, C/F, N)
        std = std.mean(dim=(2, 3))  # (B/G, F)
        std = std.repeat(group, 1).reshape(batch, self.num_channels, *([1] * len(spatial)))
        return torch.cat([x, std.expand(batch, self.num_channels, *spatial)], dim=1)


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019): x + γ · attention(x), γ initialised to 0.

    Query and key are 1x1 projections to ``channels // reduction`` channels, the value a
    1x1 projection to ``channels``; attention runs over all positions (flattened axes).
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        inner = max(channels // reduction, 1)
        self.query = nn.Conv1d(channels, inner, 1)
        self.key = nn.Conv1d(channels, inner, 1)
        self.value = nn.Conv1d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        flat = x.flatten(2)  # (B, C, N)
        q, k, v = self.query(flat), self.key(flat), self.value(flat)
        attention = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, N, N)
        out = v @ attention.transpose(1, 2)  # (B, C, N)
        return x + self.gamma * out.reshape(x.shape)


def instance_stats(x: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-sample, per-channel mean and standard deviation over the spatial/time axes."""
    mean = x.mean(dim=_axes(x), keepdim=True)
    std = (x.var(dim=_axes(x), keepdim=True, unbiased=False) + eps).sqrt()
    return mean, std


def adain(content: Tensor, style: Tensor, eps: float = 1e-5) -> Tensor:
    """Adaptive instance norm (Huang & Belongie 2017): ``content`` with ``style``'s
    per-channel mean and standard deviation."""
    if content.shape[:2] != style.shape[:2]:
        raise ValueError(
            f"content {tuple(content.shape)} and style {tuple(style.shape)} need the same "
            "batch size and channels"
        )
    c_mean, c_std = instance_stats(content, eps)
    s_mean, s_std = instance_stats(style, eps)
    return (content - c_mean) / c_std * s_std + s_mean


class AdaIN(nn.Module):
    """StyleGAN's AdaIN: instance-normalise, then scale and shift from a style vector w.

    ``y_s = 1 + A_s(w)`` and ``y_b = A_b(w)`` per channel, so the output of each channel
    has mean ``y_b`` and standard deviation ``|y_s|``.
    """

    def __init__(self, num_features: int, style_dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = num_features
        self.affine = nn.Linear(style_dim, 2 * num_features)
        nn.init.zeros_(self.affine.bias)
        self.eps = eps

    def style_params(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """(scale, bias), each ``(B, C)``."""
        scale, bias = self.affine(w).chunk(2, dim=1)
        return 1 + scale, bias

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        scale, bias = self.style_params(w)
        shape = (*scale.shape, *([1] * (x.dim() - 2)))
        mean, std = instance_stats(x, self.eps)
        return (x - mean) / std * scale.reshape(shape) + bias.reshape(shape)


class EqualizedLinear(nn.Module):
    """Linear layer with equalised learning rate (Karras et al. 2018).

    Weights are stored as N(0, 1) / ``lr_mul`` and scaled at run time by
    ``gain / sqrt(fan_in) · lr_mul`` (He's constant: ``gain = sqrt(2)``); the bias is
    scaled by ``lr_mul``. StyleGAN's mapping network uses ``lr_mul = 0.01``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        gain: float = math.sqrt(2),
        lr_mul: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_mul)) if bias else None
        self.scale = gain / math.sqrt(in_features) * lr_mul
        self.lr_mul = lr_mul

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        return F.linear(x, self.weight * self.scale, bias)


class EqualizedConv2d(nn.Module):
    """2-D convolution with equalised learning rate: N(0, 1) weights scaled by
    ``gain / sqrt(in_channels · k · k)`` at run time."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        gain: float = math.sqrt(2),
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.stride, self.padding = stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, self.stride, self.padding)


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose affine scale and shift are looked up per class (Dumoulin et al.
    2017; Miyato & Koyama 2018). Scales start at 1 and shifts at 0."""

    def __init__(self, num_features: int, num_classes: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features = num_features
        self.num_classes = num_classes
        self.bn = nn.BatchNorm2d(num_features, affine=False, momentum=momentum)
        self.embed = nn.Embedding(num_classes, 2 * num_features)
        with torch.no_grad():
            self.embed.weight[:, :num_features].fill_(1.0)
            self.embed.weight[:, num_features:].zero_()

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        if labels.dtype not in (torch.int32, torch.int64) or labels.dim() != 1:
            raise ValueError("labels must be a 1-D tensor of integer class indices")
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"class labels must lie in [0, {self.num_classes})")
        gamma, beta = self.embed(labels).chunk(2, dim=1)
        out = self.bn(x)
        return gamma[:, :, None, None] * out + beta[:, :, None, None]


_DCGAN_WEIGHTED = (nn.Linear, nn.modules.conv._ConvNd)
_DCGAN_NORMS = (nn.modules.batchnorm._BatchNorm,)


def _weight_tensor(module: nn.Module) -> Tensor:
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return module.weight


@torch.no_grad()
def dcgan_init(module: nn.Module) -> nn.Module:
    """DCGAN initialisation (Radford et al. 2016) of every submodule, in place.

    Conv / ConvTranspose / Linear weights ~ N(0, 0.02), batch-norm weights ~ N(1, 0.02),
    all their biases 0. Works on spectral-normalised layers (initialises the raw weight).
    Returns ``module``; ``net.apply(dcgan_init)`` works too.
    """
    for m in module.modules():
        if isinstance(m, _DCGAN_WEIGHTED):
            nn.init.normal_(_weight_tensor(m), 0.0, 0.02)
        elif isinstance(m, _DCGAN_NORMS) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    return module
