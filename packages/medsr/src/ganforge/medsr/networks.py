"""Networks: an SRGAN/ESRGAN-style generator (2-D and 3-D) and MONAI's PatchDiscriminator.

The generator learns a residual over plain interpolation of its input
(``output = interpolate(lr) + body(lr)``), so an untrained or weakly trained model
starts as bicubic / trilinear upsampling and adds detail conservatively.
Upsampling is sub-pixel convolution (MONAI ``SubpixelUpsample``: pixel shuffle in
2-D and its voxel-shuffle counterpart in 3-D), one x2 stage per factor of 2.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from monai.networks.blocks import SubpixelUpsample
from monai.networks.nets import PatchDiscriminator
from torch import nn

from ganforge.medsr.degradation import check_scale

BLOCKS = ("rrdb", "residual")


def _conv(spatial_dims: int, cin: int, cout: int, kernel: int = 3) -> nn.Module:
    conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
    return conv(cin, cout, kernel, padding=kernel // 2)


class ResidualBlock(nn.Module):
    """SRGAN residual block without batch norm (EDSR): conv-ReLU-conv, scaled skip."""

    def __init__(self, spatial_dims: int, channels: int, residual_scale: float = 0.2) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(spatial_dims, channels, channels),
            nn.LeakyReLU(0.2, inplace=True),
            _conv(spatial_dims, channels, channels),
        )
        self.residual_scale = residual_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual_scale * self.body(x)


class DenseBlock(nn.Module):
    """ESRGAN residual dense block: 5 densely connected convs, scaled skip."""

    def __init__(
        self, spatial_dims: int, channels: int, growth: int, residual_scale: float = 0.2
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            _conv(spatial_dims, channels + i * growth, growth if i < 4 else channels)
            for i in range(5)
        )
        self.residual_scale = residual_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for i, conv in enumerate(self.convs):
            out = conv(torch.cat(features, dim=1))
            if i < 4:
                features.append(F.leaky_relu(out, 0.2))
        return x + self.residual_scale * out


class RRDB(nn.Module):
    """Residual-in-residual dense block (ESRGAN): three dense blocks, scaled skip."""

    def __init__(
        self, spatial_dims: int, channels: int, growth: int, residual_scale: float = 0.2
    ) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            *(DenseBlock(spatial_dims, channels, growth, residual_scale) for _ in range(3))
        )
        self.residual_scale = residual_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual_scale * self.blocks(x)


@dataclass(frozen=True)
class GeneratorConfig:
    """Hyper-parameters of :class:`SRGenerator` (stored in checkpoints).

    Args:
        spatial_dims: 2 (images / slices) or 3 (volumes).
        scale: upsampling factor, 2 or 4.
        in_channels: image channels.
        channels: feature channels of the generator's body.
        num_blocks: number of generator blocks (RRDB or residual).
        block: generator block type: ``"rrdb"`` (ESRGAN) or ``"residual"`` (SRGAN / EDSR).
        growth: growth channels of the dense blocks (RRDB only).
        residual_scale: scale of every residual branch (0.2 as in ESRGAN).
    """

    spatial_dims: int = 2
    scale: int = 2
    in_channels: int = 1
    channels: int = 32
    num_blocks: int = 4
    block: Literal["rrdb", "residual"] = "rrdb"
    growth: int = 16
    residual_scale: float = 0.2

    def __post_init__(self) -> None:
        check_scale(self.scale)
        if self.spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {self.spatial_dims!r}")
        if self.block not in BLOCKS:
            raise ValueError(f"block must be one of {BLOCKS}, got {self.block!r}")
        for name in ("in_channels", "channels", "num_blocks", "growth"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)


class SRGenerator(nn.Module):
    """SRGAN/ESRGAN-style super-resolution generator for 2-D images or 3-D volumes.

    ``forward(lr)`` maps ``(B, C, *spatial)`` to ``(B, C, *[n * scale for n in spatial])``.
    """

    def __init__(self, config: GeneratorConfig | None = None, **kwargs) -> None:
        super().__init__()
        self.config = config if config is not None else GeneratorConfig(**kwargs)
        c = self.config
        dims, ch = c.spatial_dims, c.channels
        self.head = _conv(dims, c.in_channels, ch)
        if c.block == "rrdb":
            blocks = [RRDB(dims, ch, c.growth, c.residual_scale) for _ in range(c.num_blocks)]
        else:
            blocks = [ResidualBlock(dims, ch, c.residual_scale) for _ in range(c.num_blocks)]
        self.body = nn.Sequential(*blocks, _conv(dims, ch, ch))
        stages: list[nn.Module] = []
        for _ in range(int(math.log2(c.scale))):
            stages += [SubpixelUpsample(dims, ch, ch, scale_factor=2), nn.LeakyReLU(0.2, True)]
        self.upsample = nn.Sequential(*stages)
        self.tail = nn.Sequential(
            _conv(dims, ch, ch), nn.LeakyReLU(0.2, True), _conv(dims, ch, c.in_channels)
        )
        nn.init.zeros_(self.tail[-1].weight)
        nn.init.zeros_(self.tail[-1].bias)

    @property
    def scale(self) -> int:
        return self.config.scale

    @property
    def spatial_dims(self) -> int:
        return self.config.spatial_dims

    def interpolate(self, lr: torch.Tensor) -> torch.Tensor:
        """The baseline the generator refines: bicubic (2-D) or trilinear (3-D) upsampling."""
        mode = "bicubic" if self.spatial_dims == 2 else "trilinear"
        return F.interpolate(lr, scale_factor=self.scale, mode=mode, align_corners=False)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        if lr.ndim != self.spatial_dims + 2:
            raise ValueError(
                f"expected a (batch, channel, {self.spatial_dims} spatial axes) tensor, "
                f"got shape {tuple(lr.shape)}"
            )
        features = self.head(lr)
        features = features + self.body(features)
        return self.interpolate(lr) + self.tail(self.upsample(features))


def flops_per_output_voxel(config: GeneratorConfig) -> float:
    """Floating-point operations of :class:`SRGenerator` per output voxel (pixel).

    Counted analytically from the layer shapes: every convolution costs
    ``2 * kernel_volume * in_channels * out_channels`` per voxel at the resolution it
    runs at (a multiply and an add per weight): head, blocks and the body's last
    convolution at the input resolution, each x2 upsampling convolution at its own
    resolution, the two tail convolutions at the output resolution. Biases,
    activations, the voxel shuffle, its pooling and the interpolation baseline are
    left out (each a few operations per voxel against tens of thousands).
    """
    c, dims = config.channels, config.spatial_dims

    def conv(cin: int, cout: int) -> int:
        return 2 * 3**dims * cin * cout

    if config.block == "residual":
        block = 2 * conv(c, c)
    else:
        g = config.growth
        block = 3 * sum(conv(c + i * g, g if i < 4 else c) for i in range(5))
    lr = conv(config.in_channels, c) + config.num_blocks * block + conv(c, c)
    total = lr / config.scale**dims
    resolution = 1  # of each x2 upsampling stage's input, relative to the input
    while resolution < config.scale:
        total += conv(c, c * 2**dims) * (resolution / config.scale) ** dims
        resolution *= 2
    return total + conv(c, c) + conv(c, config.in_channels)


class PatchLogits(nn.Module):
    """MONAI's ``PatchDiscriminator`` returning only its raw patch logits (no sigmoid).

    Args:
        spatial_dims: 2 or 3.
        in_channels: image channels.
        channels: channels of the first layer (doubled per layer).
        num_layers: strided layers.
        norm: MONAI norm name (``"INSTANCE"`` by default: batch statistics would mix
            real and fake batches).
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        channels: int = 32,
        num_layers: int = 3,
        norm: str = "INSTANCE",
    ) -> None:
        super().__init__()
        self.num_layers = num_layers
        self.net = PatchDiscriminator(
            spatial_dims=spatial_dims,
            channels=channels,
            in_channels=in_channels,
            num_layers_d=num_layers,
            norm=norm,
        )

    @property
    def min_size(self) -> int:
        """The smallest patch size per axis it accepts (:func:`patch_min_size`)."""
        return patch_min_size(self.num_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[-1]


def patch_min_size(num_layers: int = 3) -> int:
    """The smallest input size per axis of a :class:`PatchLogits`: ``3 * 2**num_layers``.

    ``num_layers`` stride-2 convolutions (kernel 4, padding 1) halve the size; the
    stride-1 layer and the final convolution (kernel 4, padding 1) then take one
    voxel each, and the instance norm between them needs more than one.
    """
    return 3 * 2**num_layers
