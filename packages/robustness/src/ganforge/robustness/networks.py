"""The networks: target classifiers (a registry of architectures), AdvGAN's generator and
discriminator.

Every network takes images ``(N, C, H, W)``. A target classifier returns
logits ``(N, K)``. :class:`PerturbationGenerator` returns a perturbation whose
every element lies in ``[-eps, eps]`` by construction (``eps * tanh``), so
``clip(x + G(x))`` can never leave the L-infinity ball, whatever the weights.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

# float32 rounding of ``x + delta`` (values of magnitude <= 4) moves it by at most
# 2.4e-7; the generator's step stays this far inside eps, so |x' - x| <= eps holds
# for every pixel when computed exactly (the tests check it in float64).
BOUND_MARGIN = 4 * float(torch.finfo(torch.float32).eps)


class SmallCNN(nn.Module):
    """Two conv blocks (3x3, ReLU, 2x2 max-pool), a hidden dense layer with dropout, K logits.

    Args:
        in_channels: image channels.
        image_size: the side of the (square) images; 28 for MNIST, 8 for 8x8 digits.
        num_classes: K.
        width: channels of the first block (the second has twice as many).
        hidden: the dense layer's width.
        dropout: dropout before the logits (off in eval mode).
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 28,
        num_classes: int = 10,
        width: int = 32,
        hidden: int = 128,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        side = image_size // 4
        if side < 1:
            raise ValueError(f"image_size must be at least 4, got {image_size}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(2 * width * side * side, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class DenseNet(nn.Module):
    """A multilayer perceptron classifier on flattened images (for the registry's variety)."""

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 28,
        num_classes: int = 10,
        hidden: int = 256,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_channels * image_size * image_size, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


# name -> constructor(in_channels, image_size, num_classes, **options); a user's state
# dict is loaded into one of these (never an unpickled object).
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {"small_cnn": SmallCNN, "mlp": DenseNet}


def build_architecture(
    name: str, in_channels: int, image_size: int, num_classes: int, **options: int | float
) -> nn.Module:
    """A registered architecture, or a one-line ``ValueError`` naming the choices."""
    if name not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {name!r}; choose one of: {', '.join(sorted(ARCHITECTURES))}"
        )
    return ARCHITECTURES[name](in_channels, image_size, num_classes, **options)


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class PerturbationGenerator(nn.Module):
    """AdvGAN's generator (Xiao et al. 2018): an encoder, residual blocks and a decoder.

    Two stride-2 convolutions down to a quarter of the resolution, residual
    blocks there, two stride-2 transposed convolutions back (instance norm and
    ReLU between): cheap at attack time, one forward pass per image.
    ``forward(x)`` is the perturbation ``eps * tanh(f(x))``, inside ``[-eps, eps]``
    elementwise by construction (less :data:`BOUND_MARGIN`); :meth:`perturb`
    adds it and clips to the value range ``[low, high]``.

    Args:
        in_channels: image channels.
        eps: the L-infinity bound.
        width: channels after the first convolution (twice as many after the second).
        blocks: residual blocks at the lowest resolution.
        low, high: the images' value range.
    """

    def __init__(
        self,
        in_channels: int = 1,
        eps: float = 0.3,
        width: int = 16,
        blocks: int = 2,
        low: float = 0.0,
        high: float = 1.0,
    ) -> None:
        super().__init__()
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.eps, self.low, self.high = float(eps), float(low), float(high)
        w = width
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, stride=2, padding=1),
            nn.InstanceNorm2d(w, affine=True),
            nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
            nn.InstanceNorm2d(2 * w, affine=True),
            nn.ReLU(),
        )
        self.blocks = nn.Sequential(*[_Residual(2 * w) for _ in range(blocks)])
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 3, stride=2, padding=1, output_padding=1),
            nn.InstanceNorm2d(w, affine=True),
            nn.ReLU(),
            nn.ConvTranspose2d(w, in_channels, 3, stride=2, padding=1, output_padding=1),
        )

    @property
    def step(self) -> float:
        """The largest perturbation the generator can output: ``eps`` less the rounding margin."""
        return self.eps - BOUND_MARGIN

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        padded_h, padded_w = -(-h // 4) * 4, -(-w // 4) * 4
        padded = nn.functional.pad(x, (0, padded_w - w, 0, padded_h - h))
        raw = self.decoder(self.blocks(self.encoder(padded)))[..., :h, :w]
        return self.step * torch.tanh(raw)

    def perturb(self, x: Tensor) -> Tensor:
        """The adversarial images ``clip(x + G(x), low, high)``."""
        return (x + self(x)).clamp(self.low, self.high)


class PatchDiscriminator(nn.Module):
    """AdvGAN's discriminator: strided convolutions to one logit per image (clean vs perturbed)."""

    def __init__(self, in_channels: int = 1, width: int = 8) -> None:
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, w, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1),
            nn.InstanceNorm2d(2 * w, affine=True),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 3, stride=1, padding=1),
            nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4 * w, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)
