"""SAGAN (Zhang et al. 2019): self-attention blocks (``x + gamma * attention(x)``,
gamma starting at 0) at half resolution in G and in D, so a pixel can depend on every
other; spectral norm in both networks, the hinge loss and the two time-scale rule
(D at 4e-4, G at 1e-4, betas (0, 0.9))."""

from __future__ import annotations

from ganforge.core.layers import dcgan_init
from ganforge.core.regularizers import apply_spectral_norm
from ganforge.vision.families.base import Hyper, ImageGANModule
from ganforge.vision.families.dcgan import DCGANDiscriminator, DCGANGenerator


class SAGAN(ImageGANModule):
    """DCGAN networks with self-attention, spectral norm in G and D, hinge loss, TTUR."""


def build(shape: tuple[int, ...], num_classes: int, latent_dim: int, width: int) -> SAGAN:
    channels, resolution = shape[0], shape[-1]
    generator = DCGANGenerator(latent_dim, resolution, channels, width, attention=True)
    critic = DCGANDiscriminator(resolution, channels, width, batch_norm=False, attention=True)
    generator, critic = generator.apply(dcgan_init), critic.apply(dcgan_init)
    hyper = Hyper(lr_g=1e-4, lr_d=4e-4, betas=(0.0, 0.9))
    return SAGAN(
        apply_spectral_norm(generator), apply_spectral_norm(critic), latent_dim, "hinge", hyper
    )
