"""The original GAN (Goodfellow et al. 2014) as seed 004 section 10 writes it: MLPs,
D 784-512-256-1 with LeakyReLU 0.2, G z-256-512-784 with LeakyReLU 0.2, batch norm
and tanh; binary cross-entropy with the generator's target "real" (the
non-saturating form); Adam 2e-4 with PyTorch's default betas."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganforge.vision.families.base import Hyper, ImageGANModule


class MLPGenerator(nn.Module):
    """z ``(B, latent_dim)`` -> images ``(B, *shape)`` in [-1, 1]."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], hidden: tuple[int, int]) -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden[0]),
            nn.LeakyReLU(0.2),
            nn.BatchNorm1d(hidden[0]),
            nn.Linear(hidden[0], hidden[1]),
            nn.LeakyReLU(0.2),
            nn.BatchNorm1d(hidden[1]),
            nn.Linear(hidden[1], math.prod(self.shape)),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(len(z), *self.shape)


class MLPDiscriminator(nn.Module):
    """images -> logits ``(B,)`` (the seed's sigmoid lives in the loss)."""

    def __init__(self, shape: tuple[int, ...], hidden: tuple[int, int]) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(shape), hidden[1]),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden[1], hidden[0]),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden[0], 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()


class OriginalGAN(ImageGANModule):
    """The seed's MLP GAN with binary cross-entropy."""


def build(shape: tuple[int, ...], num_classes: int, latent_dim: int, width: int) -> OriginalGAN:
    hidden = (8 * width, 16 * width)  # width 32: the seed's 256 / 512
    generator = MLPGenerator(latent_dim, shape, hidden)
    discriminator = MLPDiscriminator(shape, hidden)
    hyper = Hyper(betas=(0.9, 0.999))
    return OriginalGAN(generator, discriminator, latent_dim, "non_saturating", hyper)
