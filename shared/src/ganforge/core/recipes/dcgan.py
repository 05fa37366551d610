"""A small DCGAN (Radford et al. 2016) for 32x32 images: the reference image
model of the core's tests and benchmarks."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ganforge.core.layers import dcgan_init
from ganforge.core.recipes.adversarial import AdversarialRecipe


class DCGANGenerator(nn.Module):
    """z (B, latent_dim, 1, 1) -> image (B, channels, 32, 32) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, width: int = 64, channels: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, width * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """image (B, channels, 32, 32) -> logits (B,). No BatchNorm, so any loss and
    penalty (WGAN-GP included) apply."""

    def __init__(self, width: int = 64, channels: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, width * 2, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width * 2, width * 4, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width * 4, 1, 4, 1, 0),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()


def dcgan_recipe(
    batch_size: int = 64, latent_dim: int = 100, width: int = 64, channels: int = 3, **kwargs: Any
) -> AdversarialRecipe:
    """A DCGAN module; ``kwargs`` go to :class:`AdversarialRecipe` (loss, n_critic...)."""
    generator = DCGANGenerator(latent_dim, width, channels)
    discriminator = DCGANDiscriminator(width, channels)
    generator.apply(dcgan_init)
    discriminator.apply(dcgan_init)
    return AdversarialRecipe(generator, discriminator, (latent_dim, 1, 1), batch_size, **kwargs)
