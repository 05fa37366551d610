"""The image GAN families, one small module each, and the registry that names them.

Each module defines its networks, its ``GANModule`` and ``build(shape, num_classes,
latent_dim, width) -> module``; :data:`FAMILIES` maps the family's name to its
:class:`Family` (the builder and the task: unconditional images, images of a given
class, paired or unpaired translation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ganforge.core.training import GANModule
from ganforge.vision.families import (
    cgan,
    cyclegan,
    dcgan,
    gan_mlp,
    lsgan,
    pggan,
    pix2pix,
    sagan,
    sngan,
    stylegan,
    wgan,
    wgan_gp,
)

TASKS = ("unconditional", "conditional", "paired", "unpaired")


@dataclass(frozen=True)
class Family:
    """A family: its name, what it learns (one of :data:`TASKS`), its builder and a line."""

    name: str
    task: str
    build: Callable[..., GANModule]
    summary: str

    @property
    def generates(self) -> bool:
        """Whether it draws images from noise (else it translates images)."""
        return self.task in ("unconditional", "conditional")


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("gan_mlp", "unconditional", gan_mlp.build, "the original GAN with MLPs (seed 004)"),
        Family("dcgan", "unconditional", dcgan.build, "DCGAN: all-convolutional, batch norm"),
        Family("cgan", "conditional", cgan.build, "conditional GAN, projection discriminator"),
        Family("wgan", "unconditional", wgan.build, "WGAN with weight clipping"),
        Family("wgan_gp", "unconditional", wgan_gp.build, "WGAN with gradient penalty"),
        Family("lsgan", "unconditional", lsgan.build, "least-squares GAN"),
        Family("sngan", "unconditional", sngan.build, "spectral norm + hinge loss"),
        Family("sagan", "unconditional", sagan.build, "self-attention in G and D"),
        Family("stylegan", "unconditional", stylegan.build, "mapping, AdaIN, noise, mixing"),
        Family("pggan", "unconditional", pggan.build, "progressive growing with fade-in"),
        Family("pix2pix", "paired", pix2pix.build, "U-Net + PatchGAN, L1 weight 100"),
        Family("cyclegan", "unpaired", cyclegan.build, "two G, two D, cycle 10, identity 5"),
    )
}


def get_family(name: str) -> Family:
    """The family registered as ``name`` (a one-line error naming the choices)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; choose one of: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def build_module(
    name: str,
    shape: tuple[int, ...],
    num_classes: int = 10,
    latent_dim: int = 100,
    width: int = 32,
    **options: Any,
) -> GANModule:
    """A fresh module of family ``name`` for images of ``shape`` ``(C, H, W)``."""
    return get_family(name).build(tuple(shape), num_classes, latent_dim, width, **options)


__all__ = ["FAMILIES", "TASKS", "Family", "build_module", "get_family"]
