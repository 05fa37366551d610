"""DCGAN (Radford et al. 2016; seed 002 section 4): transposed convolutions with batch
norm and ReLU in G, strided convolutions with LeakyReLU 0.2 in D, no pooling, no fully
connected hidden layers, Adam 2e-4 / beta1 0.5, the non-saturating loss.

The networks serve every resolution divisible by 4 (28, 32, 8): G projects z to a
``resolution / 4`` map and doubles it twice; D halves twice and reads one score. The
loss families (WGAN, WGAN-GP, LSGAN, SNGAN) and SAGAN reuse them with other options.
"""

from __future__ import annotations

from torch import Tensor, nn

from ganforge.core.layers import SelfAttention, dcgan_init
from ganforge.vision.families.base import Hyper, ImageGANModule


def check_resolution(resolution: int) -> int:
    if resolution < 8 or resolution % 4:
        raise ValueError(f"image side must be a multiple of 4 and at least 8, got {resolution}")
    return resolution // 4


class DCGANGenerator(nn.Module):
    """z ``(B, latent_dim)`` -> images ``(B, channels, resolution, resolution)`` in [-1, 1].

    ``attention`` puts a SAGAN self-attention block at half resolution.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        resolution: int = 28,
        channels: int = 1,
        width: int = 32,
        attention: bool = False,
    ) -> None:
        super().__init__()
        self.base = check_resolution(resolution)
        self.latent_dim, self.width = latent_dim, width
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 2 * width * self.base**2, bias=False),
            nn.BatchNorm1d(2 * width * self.base**2),
            nn.ReLU(True),
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            SelfAttention(width) if attention else nn.Identity(),
            nn.ConvTranspose2d(width, channels, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z).view(len(z), 2 * self.width, self.base, self.base)
        return self.up(h)


class DCGANDiscriminator(nn.Module):
    """images -> one score per image ``(B,)``; :meth:`features` is the last hidden layer.

    ``batch_norm=False`` for critics with a gradient penalty or spectral norm (a
    per-sample gradient must not mix samples); ``attention`` adds self-attention at
    half resolution.
    """

    def __init__(
        self,
        resolution: int = 28,
        channels: int = 1,
        width: int = 32,
        batch_norm: bool = True,
        attention: bool = False,
    ) -> None:
        super().__init__()
        base = check_resolution(resolution)
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            SelfAttention(width) if attention else nn.Identity(),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=not batch_norm),
            nn.BatchNorm2d(2 * width) if batch_norm else nn.Identity(),
            nn.LeakyReLU(0.2, True),
            nn.Flatten(),
        )
        self.feature_dim = 2 * width * base * base
        self.head = nn.Linear(self.feature_dim, 1)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).flatten()


class DCGAN(ImageGANModule):
    """DCGAN: the networks above with the non-saturating loss."""


def build(shape: tuple[int, ...], num_classes: int, latent_dim: int, width: int) -> DCGAN:
    channels, resolution = shape[0], shape[-1]
    generator = DCGANGenerator(latent_dim, resolution, channels, width).apply(dcgan_init)
    discriminator = DCGANDiscriminator(resolution, channels, width).apply(dcgan_init)
    return DCGAN(generator, discriminator, latent_dim, "non_saturating", Hyper())
