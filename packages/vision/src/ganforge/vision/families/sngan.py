"""SNGAN (Miyato et al. 2018): every discriminator layer spectral-normalised (its
largest singular value held at 1 by one power iteration per forward), the hinge loss
``relu(1 - D(x)) + relu(1 + D(G(z)))`` for D and ``-D(G(z))`` for G."""

from __future__ import annotations

from ganforge.core.layers import dcgan_init
from ganforge.core.regularizers import apply_spectral_norm
from ganforge.vision.families.base import Hyper, ImageGANModule
from ganforge.vision.families.dcgan import DCGANDiscriminator, DCGANGenerator


class SNGAN(ImageGANModule):
    """DCGAN networks, spectral norm in D (no batch norm), hinge loss."""


def build(shape: tuple[int, ...], num_classes: int, latent_dim: int, width: int) -> SNGAN:
    channels, resolution = shape[0], shape[-1]
    generator = DCGANGenerator(latent_dim, resolution, channels, width).apply(dcgan_init)
    critic = DCGANDiscriminator(resolution, channels, width, batch_norm=False).apply(dcgan_init)
    return SNGAN(generator, apply_spectral_norm(critic), latent_dim, "hinge", Hyper())
