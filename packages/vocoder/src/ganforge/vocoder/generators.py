"""Mel-to-waveform generators: MelGAN (the default) and HiFi-GAN V1 / V2 / V3.

Both are fully convolutional: ``(B, n_mels, frames) -> (B, 1, frames * hop)`` in
[-1, 1], where ``hop`` is the product of the upsampling rates and must equal the mel
front end's hop length (:func:`build_generator` refuses a config that breaks this).

* MelGAN (Kumar et al. 2019): a 7-tap input convolution to 512 channels, then per
  upsampling rate ``r`` a LeakyReLU(0.2), a transposed convolution (kernel ``2r``,
  stride ``r``) halving the channels, and a residual stack of three dilated
  3-tap convolutions (dilations 1, 3, 9, each with a 1x1 shortcut); a 7-tap output
  convolution and tanh. Weight norm on every convolution.
* HiFi-GAN (Kong et al. 2020): a 7-tap input convolution, then per upsampling rate a
  LeakyReLU(0.1), a transposed convolution and a multi-receptive-field fusion block
  (the mean of residual blocks with different kernels and dilations); type-1 blocks
  pair each dilated convolution with an undilated one, type-2 blocks (V3) do not.
  Weight norm everywhere; weights drawn from N(0, 0.01) as in the reference.

Call :meth:`remove_weight_norm` on a trained generator before inference: it folds the
weight-norm parametrisation into plain weights (same outputs, faster).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

# --- shared pieces -----------------------------------------------------------------------


def _wn(module: nn.Module) -> nn.Module:
    return weight_norm(module)


def _same_padding(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


def _init_normal(module: nn.Module, std: float = 0.01) -> nn.Module:
    nn.init.normal_(module.weight, 0.0, std)
    return module


def _check_positive(name: str, values: tuple[int, ...]) -> None:
    if not values or any(int(v) <= 0 for v in values):
        raise ValueError(f"{name} must be a non-empty tuple of positive integers, got {values}")


class _WeightNormRemovable(nn.Module):
    """Generators whose convolutions carry weight norm until :meth:`remove_weight_norm`."""

    upsample_rates: tuple[int, ...]

    @property
    def hop_length(self) -> int:
        """Output samples per mel frame: the product of the upsampling rates."""
        return math.prod(self.upsample_rates)

    def remove_weight_norm(self) -> _WeightNormRemovable:
        """Fold weight norm into plain weights (for inference); returns ``self``."""
        for module in self.modules():
            if parametrize.is_parametrized(module, "weight"):
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
        return self


# --- MelGAN ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MelGANConfig:
    """MelGAN generator settings (Kumar et al. 2019 defaults).

    Attributes:
        upsample_rates: transposed-convolution strides; their product is the hop length.
        channels: channels after the input convolution; halved at every upsampling.
        dilations: dilations of the residual stack after each upsampling.
    """

    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    channels: int = 512
    dilations: tuple[int, ...] = (1, 3, 9)

    def __post_init__(self) -> None:
        _check_positive("upsample_rates", self.upsample_rates)
        _check_positive("dilations", self.dilations)
        if self.channels % 2 ** len(self.upsample_rates):
            raise ValueError(
                f"channels {self.channels} must be divisible by 2 ** {len(self.upsample_rates)} "
                "(it is halved at every upsampling)"
            )


class _MelGANResidual(nn.Module):
    """LeakyReLU, dilated 3-tap conv, LeakyReLU, 1x1 conv; plus a 1x1 shortcut."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.LeakyReLU(0.2),
            nn.ReflectionPad1d(dilation),
            _wn(nn.Conv1d(channels, channels, 3, dilation=dilation)),
            nn.LeakyReLU(0.2),
            _wn(nn.Conv1d(channels, channels, 1)),
        )
        self.shortcut = _wn(nn.Conv1d(channels, channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.shortcut(x) + self.block(x)


def _melgan_upsample(channels: int, rate: int) -> nn.Module:
    """Transposed conv of kernel 2r, stride r whose output is exactly r times longer."""
    return _wn(
        nn.ConvTranspose1d(
            channels,
            channels // 2,
            kernel_size=2 * rate,
            stride=rate,
            padding=rate // 2 + rate % 2,
            output_padding=rate % 2,
        )
    )


class MelGANGenerator(_WeightNormRemovable):
    """MelGAN generator: ``(B, n_mels, frames) -> (B, 1, frames * hop)``."""

    def __init__(self, config: MelGANConfig | None = None, n_mels: int = 80) -> None:
        super().__init__()
        self.config = config or MelGANConfig()
        self.upsample_rates = self.config.upsample_rates
        channels = self.config.channels
        layers: list[nn.Module] = [nn.ReflectionPad1d(3), _wn(nn.Conv1d(n_mels, channels, 7))]
        for rate in self.upsample_rates:
            layers += [nn.LeakyReLU(0.2), _melgan_upsample(channels, rate)]
            channels //= 2
            layers += [_MelGANResidual(channels, d) for d in self.config.dilations]
        layers += [
            nn.LeakyReLU(0.2),
            nn.ReflectionPad1d(3),
            _wn(nn.Conv1d(channels, 1, 7)),
            nn.Tanh(),
        ]
        self.net = nn.Sequential(*layers)

    @property
    def min_frames(self) -> int:
        """Fewest mel frames accepted: reflect padding needs inputs longer than the pad."""
        first_rate = self.upsample_rates[0]
        return max(4, max(self.config.dilations) // first_rate + 1)

    def forward(self, mel: Tensor) -> Tensor:
        """Waveform ``(B, 1, frames * hop)`` in [-1, 1] from a log-mel ``(B, n_mels, frames)``."""
        if mel.size(-1) < self.min_frames:
            raise ValueError(
                f"MelGAN needs at least {self.min_frames} mel frames (its reflect padding), "
                f"got {mel.size(-1)}"
            )
        return self.net(mel)


# --- HiFi-GAN ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HiFiGANConfig:
    """HiFi-GAN generator settings (defaults: V1 of Kong et al. 2020).

    Attributes:
        upsample_rates: transposed-convolution strides; their product is the hop length.
        upsample_kernel_sizes: their kernels (``kernel - rate`` must be even and >= 0).
        channels: channels after the input convolution; halved at every upsampling.
        resblock: 1 (two convolutions per dilation) or 2 (one; V3's smaller block).
        resblock_kernel_sizes: one residual block per kernel size in every fusion block.
        resblock_dilations: the dilations of each of those residual blocks.
    """

    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    channels: int = 512
    resblock: int = 1
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilations: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))

    def __post_init__(self) -> None:
        _check_positive("upsample_rates", self.upsample_rates)
        _check_positive("upsample_kernel_sizes", self.upsample_kernel_sizes)
        _check_positive("resblock_kernel_sizes", self.resblock_kernel_sizes)
        if len(self.upsample_kernel_sizes) != len(self.upsample_rates):
            raise ValueError("upsample_kernel_sizes needs one kernel per upsample rate")
        for rate, kernel in zip(self.upsample_rates, self.upsample_kernel_sizes, strict=True):
            if kernel < rate or (kernel - rate) % 2:
                raise ValueError(
                    f"upsample kernel {kernel} for rate {rate}: kernel - rate must be even "
                    "and non-negative for an output exactly rate times longer"
                )
        if len(self.resblock_dilations) != len(self.resblock_kernel_sizes):
            raise ValueError("resblock_dilations needs one tuple per resblock kernel size")
        for dilations in self.resblock_dilations:
            _check_positive("resblock_dilations", tuple(dilations))
        if self.resblock not in (1, 2):
            raise ValueError(f"resblock must be 1 or 2, got {self.resblock}")
        if any(k % 2 == 0 for k in self.resblock_kernel_sizes):
            raise ValueError("resblock_kernel_sizes must be odd (same-length convolutions)")
        if self.channels % 2 ** len(self.upsample_rates):
            raise ValueError(
                f"channels {self.channels} must be divisible by 2 ** {len(self.upsample_rates)}"
            )


def _hifigan_conv(channels: int, kernel: int, dilation: int) -> nn.Module:
    padding = _same_padding(kernel, dilation)
    conv = nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=padding)
    return _wn(_init_normal(conv))


class _HiFiGANResBlock(nn.Module):
    """Residual block of HiFi-GAN: per dilation ``x = x + convs(leaky(x))``.

    Type 1: LeakyReLU, dilated conv, LeakyReLU, undilated conv. Type 2: LeakyReLU,
    dilated conv.
    """

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...], kind: int) -> None:
        super().__init__()
        branches = []
        for dilation in dilations:
            layers = [nn.LeakyReLU(0.1), _hifigan_conv(channels, kernel, dilation)]
            if kind == 1:
                layers += [nn.LeakyReLU(0.1), _hifigan_conv(channels, kernel, 1)]
            branches.append(nn.Sequential(*layers))
        self.branches = nn.ModuleList(branches)

    def forward(self, x: Tensor) -> Tensor:
        for branch in self.branches:
            x = x + branch(x)
        return x


class _MultiReceptiveField(nn.Module):
    """The mean of residual blocks with different kernels and dilations."""

    def __init__(self, channels: int, config: HiFiGANConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            _HiFiGANResBlock(channels, kernel, tuple(dilations), config.resblock)
            for kernel, dilations in zip(
                config.resblock_kernel_sizes, config.resblock_dilations, strict=True
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        total = self.blocks[0](x)
        for block in self.blocks[1:]:
            total = total + block(x)
        return total / len(self.blocks)


class HiFiGANGenerator(_WeightNormRemovable):
    """HiFi-GAN generator: ``(B, n_mels, frames) -> (B, 1, frames * hop)``."""

    def __init__(self, config: HiFiGANConfig | None = None, n_mels: int = 80) -> None:
        super().__init__()
        self.config = config or HiFiGANConfig()
        self.upsample_rates = self.config.upsample_rates
        channels = self.config.channels
        self.conv_pre = _wn(nn.Conv1d(n_mels, channels, 7, padding=3))
        ups, fusions = [], []
        for rate, kernel in zip(
            self.upsample_rates, self.config.upsample_kernel_sizes, strict=True
        ):
            up = nn.ConvTranspose1d(channels, channels // 2, kernel, rate, (kernel - rate) // 2)
            ups.append(_wn(_init_normal(up)))
            channels //= 2
            fusions.append(_MultiReceptiveField(channels, self.config))
        self.ups = nn.ModuleList(ups)
        self.fusions = nn.ModuleList(fusions)
        self.conv_post = _wn(_init_normal(nn.Conv1d(channels, 1, 7, padding=3)))

    def forward(self, mel: Tensor) -> Tensor:
        """Waveform ``(B, 1, frames * hop)`` in [-1, 1] from a log-mel ``(B, n_mels, frames)``."""
        x = self.conv_pre(mel)
        for up, fusion in zip(self.ups, self.fusions, strict=True):
            x = fusion(up(nn.functional.leaky_relu(x, 0.1)))
        # the reference's last activation is leaky_relu's default slope, 0.01
        return torch.tanh(self.conv_post(nn.functional.leaky_relu(x, 0.01)))


# --- registry ----------------------------------------------------------------------------

GeneratorConfig = MelGANConfig | HiFiGANConfig

GENERATOR_CONFIGS: dict[str, GeneratorConfig] = {
    "melgan": MelGANConfig(),
    "hifigan_v1": HiFiGANConfig(),
    "hifigan_v2": HiFiGANConfig(channels=128),
    "hifigan_v3": HiFiGANConfig(
        upsample_rates=(8, 8, 4),
        upsample_kernel_sizes=(16, 16, 8),
        channels=256,
        resblock=2,
        resblock_kernel_sizes=(3, 5, 7),
        resblock_dilations=((1, 2), (2, 6), (3, 12)),
    ),
}
"""The published generator configs by name; ``"melgan"`` is the default."""

DEFAULT_GENERATOR = "melgan"

Generator = MelGANGenerator | HiFiGANGenerator


def generator_config(name: str, **overrides: Any) -> GeneratorConfig:
    """The config registered as ``name`` with ``overrides`` (field names) applied.

    Raises:
        ValueError: unknown name or unknown field.
    """
    if name not in GENERATOR_CONFIGS:
        raise ValueError(
            f"unknown generator {name!r}; choose one of: {', '.join(GENERATOR_CONFIGS)}"
        )
    config = GENERATOR_CONFIGS[name]
    known = {f.name for f in fields(config)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(
            f"generator {name!r} has no setting {', '.join(unknown)}; "
            f"its settings are: {', '.join(sorted(known))}"
        )
    return replace(config, **overrides)


def check_hop(config: GeneratorConfig, hop: int, name: str = "generator") -> None:
    """Raise a one-line ``ValueError`` unless the upsampling rates multiply to ``hop``."""
    product = math.prod(config.upsample_rates)
    if product != hop:
        rates = " x ".join(str(r) for r in config.upsample_rates)
        raise ValueError(
            f"{name} upsamples by {rates} = {product} but the mel hop length is {hop}: "
            f"choose upsample_rates whose product is {hop}"
        )


def build_generator(
    name: str = DEFAULT_GENERATOR, hop: int = 256, n_mels: int = 80, **overrides: Any
) -> Generator:
    """A generator from the registry, checked against the mel front end's hop length.

    Args:
        name: ``"melgan"``, ``"hifigan_v1"``, ``"hifigan_v2"`` or ``"hifigan_v3"``.
        hop: the mel hop length; the product of the upsampling rates must equal it.
        n_mels: mel bands of the input.
        **overrides: config fields to change (e.g. ``channels=64``,
            ``upsample_rates=(5, 5, 4, 3)`` with ``hop=300``).

    Raises:
        ValueError: unknown name or setting, or upsampling that does not give ``hop``.
    """
    config = generator_config(name, **overrides)
    check_hop(config, hop, name=f"generator {name!r}")
    if isinstance(config, MelGANConfig):
        return MelGANGenerator(config, n_mels=n_mels)
    return HiFiGANGenerator(config, n_mels=n_mels)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (weight-norm magnitudes and directions included)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
