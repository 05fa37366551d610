"""Conditional GAN with a projection discriminator (Mirza & Osindero 2014; Miyato &
Koyama 2018).

G: the class label is embedded and joined to z, ``G([z, embed(y)])``. D: a feature
map ``phi(x)`` and two heads, ``D(x, y) = w . phi(x) + embed_D(y) . phi(x)``: the
second term projects the image's features onto its label's embedding, so the score
says how well the image fits that class. Spectral norm and the hinge loss, as in
the projection paper.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganforge.core.layers import dcgan_init
from ganforge.core.regularizers import apply_spectral_norm
from ganforge.vision.families.base import Hyper, ImageGANModule
from ganforge.vision.families.dcgan import DCGANDiscriminator, DCGANGenerator


class ConditionalGenerator(nn.Module):
    """``(z, labels) -> images``: DCGAN's generator on ``[z, embedding(label)]``."""

    def __init__(
        self,
        latent_dim: int,
        num_classes: int,
        resolution: int,
        channels: int,
        width: int,
        embed_dim: int = 16,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.body = DCGANGenerator(latent_dim + embed_dim, resolution, channels, width)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        return self.body(torch.cat([z, self.embed(labels)], dim=1))


class ProjectionDiscriminator(nn.Module):
    """``(images, labels) -> scores (B,)`` = linear head + projection on the label embedding."""

    def __init__(self, num_classes: int, resolution: int, channels: int, width: int) -> None:
        super().__init__()
        self.phi = DCGANDiscriminator(resolution, channels, width, batch_norm=False)
        self.embed = nn.Embedding(num_classes, self.phi.feature_dim)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        features = self.phi.features(x)
        unconditional = self.phi.head(features).flatten()
        return unconditional + (self.embed(labels) * features).sum(dim=1)


class ConditionalGAN(ImageGANModule):
    """Label-conditioned G and projection D; batches are ``(images, labels)``."""

    conditional = True

    def __init__(self, *args, num_classes: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.num_classes = num_classes

    def generate(self, z: Tensor, labels: Tensor | None = None, **options) -> Tensor:
        if labels is None:
            labels = torch.arange(len(z), device=z.device) % self.num_classes
        return self.networks["G"](z, labels)

    def judge(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.networks["D"](self.augmented(images), labels)


def build(shape: tuple[int, ...], num_classes: int, latent_dim: int, width: int) -> ConditionalGAN:
    channels, resolution = shape[0], shape[-1]
    generator = ConditionalGenerator(latent_dim, num_classes, resolution, channels, width)
    discriminator = ProjectionDiscriminator(num_classes, resolution, channels, width)
    generator.apply(dcgan_init)
    discriminator.phi.apply(dcgan_init)
    return ConditionalGAN(
        generator,
        apply_spectral_norm(discriminator),
        latent_dim,
        "hinge",
        Hyper(),
        num_classes=num_classes,
    )
