"""WGAN (Arjovsky et al. 2017): a critic with unbounded scores, the Wasserstein loss
``D(G(z)) - D(x)``, five critic steps per generator step, every critic weight clipped
to [-0.01, 0.01] after each update, RMSprop at 5e-5 (momentum destabilises it).

The critic keeps DCGAN's batch norm, as the paper's does: clipping alone leaves a
small critic too weak to tell the modes apart (on MNIST without batch norm the
generator collapsed to a few digits, recall 0.01). Batch norm is harmless here
because no per-sample gradient is taken, unlike WGAN-GP's penalty."""

from __future__ import annotations

import torch

from ganforge.core.layers import dcgan_init
from ganforge.core.regularizers import weight_clip
from ganforge.vision.families.base import Hyper, ImageGANModule
from ganforge.vision.families.dcgan import DCGANDiscriminator, DCGANGenerator

CLIP = 0.01


class WGAN(ImageGANModule):
    """DCGAN networks (batch norm in the critic too), Wasserstein loss, weight clipping."""

    def __init__(self, *args, clip: float = CLIP, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clip = clip

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        lr_g, lr_d = self.hyper.lr_g, self.hyper.lr_d
        return {
            "G": torch.optim.RMSprop(self.networks["G"].parameters(), lr_g),
            "D": torch.optim.RMSprop(self.networks["D"].parameters(), lr_d),
        }

    def after_d_step(self) -> None:
        weight_clip(self.networks["D"], self.clip)


def build(shape: tuple[int, ...], num_classes: int, latent_dim: int, width: int) -> WGAN:
    channels, resolution = shape[0], shape[-1]
    generator = DCGANGenerator(latent_dim, resolution, channels, width).apply(dcgan_init)
    critic = DCGANDiscriminator(resolution, channels, width).apply(dcgan_init)
    hyper = Hyper(lr_g=5e-5, lr_d=5e-5, n_critic=5)
    return WGAN(generator, critic, latent_dim, "wasserstein", hyper)
