"""LSGAN (Mao et al. 2017): DCGAN's networks with least-squares targets, real 1 and
fake 0 for D, 1 for G: ``(D(x) - 1)^2 + D(G(z))^2`` and ``(D(G(z)) - 1)^2``."""

from __future__ import annotations

from ganforge.core.layers import dcgan_init
from ganforge.vision.families.base import Hyper, ImageGANModule
from ganforge.vision.families.dcgan import DCGANDiscriminator, DCGANGenerator


class LSGAN(ImageGANModule):
    """DCGAN networks, the core's least-squares loss."""


def build(shape: tuple[int, ...], num_classes: int, latent_dim: int, width: int) -> LSGAN:
    channels, resolution = shape[0], shape[-1]
    generator = DCGANGenerator(latent_dim, resolution, channels, width).apply(dcgan_init)
    discriminator = DCGANDiscriminator(resolution, channels, width).apply(dcgan_init)
    return LSGAN(generator, discriminator, latent_dim, "least_squares", Hyper())
