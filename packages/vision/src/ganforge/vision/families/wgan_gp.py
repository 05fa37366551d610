"""WGAN-GP (Gulrajani et al. 2017): the Wasserstein critic kept near 1-Lipschitz by a
penalty ``10 * (||grad D(x_hat)|| - 1)^2`` on random interpolates of real and fake
images instead of clipping; no batch norm in the critic; five critic steps per
generator step; Adam 1e-4 with betas (0, 0.9)."""

from __future__ import annotations

from torch import Tensor

from ganforge.core.layers import dcgan_init
from ganforge.core.regularizers import gradient_penalty
from ganforge.core.training import StepContext
from ganforge.vision.families.base import Hyper, ImageGANModule
from ganforge.vision.families.dcgan import DCGANDiscriminator, DCGANGenerator

GP_WEIGHT = 10.0


class WGANGP(ImageGANModule):
    """DCGAN networks (no batch norm in the critic), Wasserstein loss, gradient penalty."""

    def penalty(self, real: Tensor, fake: Tensor, labels: Tensor, ctx: StepContext) -> Tensor:
        return gradient_penalty(self.networks["D"], real, fake, GP_WEIGHT, generator=None)


def build(shape: tuple[int, ...], num_classes: int, latent_dim: int, width: int) -> WGANGP:
    channels, resolution = shape[0], shape[-1]
    generator = DCGANGenerator(latent_dim, resolution, channels, width).apply(dcgan_init)
    critic = DCGANDiscriminator(resolution, channels, width, batch_norm=False).apply(dcgan_init)
    hyper = Hyper(lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), n_critic=5)
    return WGANGP(generator, critic, latent_dim, "wasserstein", hyper)
