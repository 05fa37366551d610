"""ganforge.robustness: AdvGAN attacks and adversarial training on the ganforge core.

AdvGAN (Xiao et al., IJCAI 2018): a generator maps an image to a perturbation
inside the L-infinity ball (by construction), trained against a fixed target
classifier (C&W margin loss), a discriminator (clean vs perturbed) and a hinge
on the perturbation's L2 norm; semi-white-box, or black-box through a
surrogate distilled on the target's labels (static or dynamic). FGSM / PGD
in PyTorch and from adversarial-robustness-toolbox; adversarial training
with PGD examples (Madry et al.) or with AdvGAN examples; embedded MNIST /
8x8 digits targets and loaders for the user's models and images.
"""

from ganforge.robustness.attacks import check_eps, evaluating, fgsm, pgd
from ganforge.robustness.baselines import art_fgsm, art_pgd
from ganforge.robustness.data import (
    EMBEDDED,
    EPSILONS,
    ImageSplit,
    as_class_labels,
    as_image_batch,
    load_embedded,
    load_images,
    stratified_split,
)
from ganforge.robustness.evaluate import (
    accuracy,
    attack_row,
    perturbation_figure,
    perturbation_norms,
    success_rate,
    timed,
)
from ganforge.robustness.losses import cw_margin, cw_margin_loss, perturbation_hinge
from ganforge.robustness.model import (
    AdvGAN,
    AdvGANSpec,
    ClassifierSpec,
    RobustClassifier,
    check_target,
    predict_labels,
)
from ganforge.robustness.networks import (
    ARCHITECTURES,
    BOUND_MARGIN,
    DenseNet,
    PatchDiscriminator,
    PerturbationGenerator,
    SmallCNN,
    build_architecture,
)
from ganforge.robustness.targets import (
    embedded_classifier,
    embedded_target,
    load_target,
    target_path,
)
from ganforge.robustness.training import AdvGANDefenceModule, AdvGANModule, ClassifierModule

__all__ = [
    "ARCHITECTURES",
    "BOUND_MARGIN",
    "EMBEDDED",
    "EPSILONS",
    "AdvGAN",
    "AdvGANDefenceModule",
    "AdvGANModule",
    "AdvGANSpec",
    "ClassifierModule",
    "ClassifierSpec",
    "DenseNet",
    "ImageSplit",
    "PatchDiscriminator",
    "PerturbationGenerator",
    "RobustClassifier",
    "SmallCNN",
    "accuracy",
    "art_fgsm",
    "art_pgd",
    "as_class_labels",
    "as_image_batch",
    "attack_row",
    "build_architecture",
    "check_eps",
    "check_target",
    "cw_margin",
    "cw_margin_loss",
    "embedded_classifier",
    "embedded_target",
    "evaluating",
    "fgsm",
    "load_embedded",
    "load_images",
    "load_target",
    "perturbation_figure",
    "perturbation_hinge",
    "perturbation_norms",
    "pgd",
    "predict_labels",
    "stratified_split",
    "success_rate",
    "target_path",
    "timed",
]
