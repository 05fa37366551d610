"""ganforge.semisup: semi-supervised K+1-class GAN classifiers on the ganforge core.

Salimans et al. (2016)'s improved GAN: the discriminator is a K-class
classifier whose generated class has its logit fixed at 0
(:mod:`ganforge.semisup.losses`), trained on few labels, many unlabelled images
and the generator's images; the generator is trained by feature matching on
the discriminator's last hidden layer. The paper's MNIST networks
(:class:`Discriminator`, :class:`Generator`), a scikit-learn-style
:class:`SemiSupervisedGAN`, the benchmark's supervised baselines, the embedded
MNIST / 8x8 digits splits and loaders for MNIST IDX files and image folders.
"""

from ganforge.semisup.baselines import AugmentedCNN, fit_augmented_cnn, fit_supervised_same_net
from ganforge.semisup.data import (
    EMBEDDED,
    LABELS_PER_CLASS,
    SemiSupervisedSplit,
    as_images,
    as_labels,
    draw_labels,
    embedded_images,
    load_embedded,
    semisupervised_split,
)
from ganforge.semisup.evaluate import (
    baseline_errors,
    confusion_figure,
    confusion_matrix,
    evaluate,
    sample_grid_figure,
)
from ganforge.semisup.files import load_idx_pair, load_image_folder, load_mnist_folder, read_idx
from ganforge.semisup.losses import (
    class_probabilities,
    discriminator_loss,
    generated_loss,
    real_logit,
    supervised_loss,
    unlabelled_loss,
)
from ganforge.semisup.model import SemiSupervisedGAN, SemisupSpec
from ganforge.semisup.networks import Discriminator, GaussianNoise, Generator, initialise_from_data
from ganforge.semisup.training import LabelledUnlabelledBatches, SemiSupervisedModule

__all__ = [
    "EMBEDDED",
    "LABELS_PER_CLASS",
    "AugmentedCNN",
    "Discriminator",
    "GaussianNoise",
    "Generator",
    "LabelledUnlabelledBatches",
    "SemiSupervisedGAN",
    "SemiSupervisedModule",
    "SemiSupervisedSplit",
    "SemisupSpec",
    "as_images",
    "as_labels",
    "baseline_errors",
    "class_probabilities",
    "confusion_figure",
    "confusion_matrix",
    "discriminator_loss",
    "draw_labels",
    "embedded_images",
    "evaluate",
    "fit_augmented_cnn",
    "fit_supervised_same_net",
    "generated_loss",
    "initialise_from_data",
    "load_embedded",
    "load_idx_pair",
    "load_image_folder",
    "load_mnist_folder",
    "read_idx",
    "real_logit",
    "sample_grid_figure",
    "semisupervised_split",
    "supervised_loss",
    "unlabelled_loss",
]
