"""ganforge.vision: the image GAN families of the reference documents, side by side.

Twelve families on the ganforge core, each in its own small module under
:mod:`ganforge.vision.families` (the original MLP GAN, DCGAN, a conditional GAN with
a projection discriminator, WGAN with clipping, WGAN-GP, LSGAN, SNGAN, SAGAN, a
StyleGAN-style generator, progressive growing with fade-in, Pix2Pix and CycleGAN),
one user-facing :class:`VisionGAN` (fit / sample / translate / save / load), the
embedded MNIST and 8x8 digits with the translation tasks built from them, image
folders via torchvision, and the zoo's scores (FID / KID / precision / recall with
the core's offline MNIST extractor, the real-vs-real floor, a pixel KDE baseline).
"""

from ganforge.vision.data import (
    EMBEDDED,
    ImageSplit,
    as_images,
    digits_in_mnist_frame,
    edge_map,
    load_embedded,
    load_image_folder,
    paired_edges,
    unpaired_digits,
)
from ganforge.vision.evaluate import (
    evaluate,
    evaluate_cycle,
    evaluate_translation,
    image_features,
    image_metrics,
    kde_baseline,
    kde_samples,
    real_floor,
    ssim,
)
from ganforge.vision.families import FAMILIES, TASKS, Family, build_module, get_family
from ganforge.vision.families.base import Hyper, ImageGANModule
from ganforge.vision.families.cgan import ConditionalGenerator, ProjectionDiscriminator
from ganforge.vision.families.cyclegan import CycleGAN, ResnetGenerator, UnpairedBatches
from ganforge.vision.families.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.vision.families.gan_mlp import MLPDiscriminator, MLPGenerator
from ganforge.vision.families.pggan import (
    ProgressiveDiscriminator,
    ProgressiveGAN,
    ProgressiveGenerator,
)
from ganforge.vision.families.pix2pix import Pix2Pix, UNet
from ganforge.vision.families.stylegan import MappingNetwork, StyleGAN, StyleGenerator
from ganforge.vision.families.translation import PatchDiscriminator
from ganforge.vision.figures import sample_grid_figure, zoo_figure
from ganforge.vision.model import VisionGAN, VisionSpec

__all__ = [
    "EMBEDDED",
    "FAMILIES",
    "TASKS",
    "ConditionalGenerator",
    "CycleGAN",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "Family",
    "Hyper",
    "ImageGANModule",
    "ImageSplit",
    "MLPDiscriminator",
    "MLPGenerator",
    "MappingNetwork",
    "PatchDiscriminator",
    "Pix2Pix",
    "ProgressiveDiscriminator",
    "ProgressiveGAN",
    "ProgressiveGenerator",
    "ProjectionDiscriminator",
    "ResnetGenerator",
    "StyleGAN",
    "StyleGenerator",
    "UNet",
    "UnpairedBatches",
    "VisionGAN",
    "VisionSpec",
    "as_images",
    "build_module",
    "digits_in_mnist_frame",
    "edge_map",
    "evaluate",
    "evaluate_cycle",
    "evaluate_translation",
    "get_family",
    "image_features",
    "image_metrics",
    "kde_baseline",
    "kde_samples",
    "load_embedded",
    "load_image_folder",
    "paired_edges",
    "real_floor",
    "sample_grid_figure",
    "ssim",
    "unpaired_digits",
    "zoo_figure",
]
