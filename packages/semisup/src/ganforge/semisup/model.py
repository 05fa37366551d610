"""SemiSupervisedGAN: a scikit-learn-style classifier trained as a K+1-class GAN.

Example::

    split = load_embedded("mnist", seed=0)           # 100 labels, 3,900 unlabelled
    clf = SemiSupervisedGAN(num_classes=10, iterations=3000)
    clf.fit(split.x_labelled, split.y_labelled, split.x_unlabelled)
    clf.score(split.x_test, split.y_test)            # accuracy
    clf.save("mnist.semisup"); SemiSupervisedGAN.load("mnist.semisup").predict(x)

The model file holds the spec, both networks, the class labels and the image shape.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ganforge.core.modelfile import ModelFile
from ganforge.core.settings import check_at_least, check_fraction, check_integer, check_positive
from ganforge.core.training import ShuffledBatches
from ganforge.core.training.gan_model import GANModel, TrainingPlan
from ganforge.semisup.data import as_images, as_labels
from ganforge.semisup.losses import class_probabilities
from ganforge.semisup.networks import (
    DISCRIMINATOR_HIDDEN,
    GENERATOR_HIDDEN,
    HIDDEN_NOISE,
    INPUT_NOISE,
    LATENT_DIM,
    Discriminator,
    Generator,
    initialise_from_data,
)
from ganforge.semisup.training import (
    BETAS,
    LEARNING_RATE,
    LabelledUnlabelledBatches,
    SemiSupervisedModule,
)

PathLike = str | os.PathLike[str]
PREDICT_BATCH = 1000
INIT_EXAMPLES = 500  # images of the data-dependent initialisation (improved-gan's count)


@dataclass
class SemisupSpec:
    """Every setting of a :class:`SemiSupervisedGAN` (checked on construction, one-line errors).

    Attributes:
        num_classes: K, the number of classes (every one needs a labelled example).
        hidden: the discriminator's hidden widths (Salimans et al.: 1000-500-250-250-250).
        generator_hidden: the generator's hidden widths (500-500).
        latent_dim: the generator's input size.
        input_noise, hidden_noise: the discriminator's Gaussian noise (0.3 on the
            input, 0.5 after each hidden layer).
        batch_size: unlabelled and generated examples per step (labelled: at most this).
        iterations: discriminator + generator updates.
        lr, beta1: Adam's learning rate and first momentum (beta2 is 0.999).
        decay_fraction: the last share of the run over which the rate decays
            linearly to 0 (improved-gan: the last third).
        unsupervised_weight: weight of the unlabelled and generated terms.
        translation: the largest random shift of the real images the discriminator
            sees, as a share of each side, in whole pixels (0.075: 2 pixels on 28x28
            MNIST, 1 on 8x8 digits; 0: none; images given flat are not shifted).
        supervised_only: train the discriminator on the labels alone (the
            baseline "same network without the GAN").
        seed: seeds initialisation, batches and noise; device: ``"auto"``, ``"cpu"``, ``"cuda"``.
    """

    num_classes: int = 10
    hidden: tuple[int, ...] = DISCRIMINATOR_HIDDEN
    generator_hidden: tuple[int, ...] = GENERATOR_HIDDEN
    latent_dim: int = LATENT_DIM
    input_noise: float = INPUT_NOISE
    hidden_noise: float = HIDDEN_NOISE
    batch_size: int = 100
    iterations: int = 6000
    lr: float = LEARNING_RATE
    beta1: float = BETAS[0]
    decay_fraction: float = 1 / 3
    unsupervised_weight: float = 1.0
    translation: float = 0.075
    supervised_only: bool = False
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)
        self.generator_hidden = tuple(self.generator_hidden)
        check_integer("num_classes", self.num_classes, 2)
        for name in ("hidden", "generator_hidden"):
            widths = getattr(self, name)
            if not widths:
                raise ValueError(f"{name} must name at least one layer width")
            for width in widths:
                check_integer(f"every width in {name}", width, 1)
        for name in ("latent_dim", "batch_size", "iterations"):
            check_integer(name, getattr(self, name), 1)
        check_at_least("input_noise", self.input_noise, 0.0)
        check_at_least("hidden_noise", self.hidden_noise, 0.0)
        check_positive("lr", self.lr)
        check_fraction("beta1", self.beta1, "[0, 1)")
        check_fraction("decay_fraction", self.decay_fraction, "[0, 1]")
        check_at_least("unsupervised_weight", self.unsupervised_weight, 0.0)
        if not (0 <= self.translation < 0.5):
            raise ValueError(f"translation must be in [0, 0.5), got {self.translation!r}")
        if not isinstance(self.supervised_only, bool):
            raise ValueError(f"supervised_only must be true or false, got {self.supervised_only!r}")
        check_integer("seed", self.seed, 0)


@dataclass
class _FitData:
    x_labelled: Tensor
    y_labelled: np.ndarray
    x_unlabelled: Tensor
    image_shape: tuple[int, ...]


class SemiSupervisedGAN(GANModel[SemisupSpec]):
    """A K+1-class GAN classifier: ``fit(x_labelled, y_labelled, x_unlabelled)``, then ``predict``.

    Args:
        spec: the settings; keyword ``options`` are :class:`SemisupSpec` fields.

    Attributes after fitting: ``classes_`` (the labels, sorted), ``image_shape``,
    ``discriminator`` (the classifier) and ``generator``.
    """

    kind = "semisup.SemiSupervisedGAN"
    spec_type = SemisupSpec

    def __init__(self, spec: SemisupSpec | None = None, **options: Any) -> None:
        if spec is not None and options:
            raise ValueError("pass either a SemisupSpec or its fields as keywords, not both")
        super().__init__(spec if spec is not None else SemisupSpec(**options))
        self.discriminator: Discriminator | None = None
        self.generator: Generator | None = None
        self.classes_: np.ndarray | None = None
        self.image_shape: tuple[int, ...] | None = None

    # ------------------------------------------------------------------ fit
    def fit(  # type: ignore[override]
        self,
        x_labelled: Any,
        y_labelled: Any,
        x_unlabelled: Any | None = None,
        **options: Any,
    ) -> SemiSupervisedGAN:
        """Train on labelled images and (optionally) unlabelled ones.

        ``x_unlabelled=None`` uses the labelled images as the unlabelled set too.
        ``options`` are :meth:`GANModel.fit`'s (``progress``, ``run_dir``,
        ``checkpoint_every``, ``resume_from``, ``callbacks``).
        """
        return super().fit(self.check_data(x_labelled, y_labelled, x_unlabelled), **options)

    def check_data(self, x_labelled: Any, y_labelled: Any, x_unlabelled: Any | None) -> _FitData:
        """The training data as tensors, or a one-line ``ValueError``."""
        x, shape = as_images(x_labelled, "x_labelled")
        y = as_labels(y_labelled, len(x), "y_labelled")
        k = self.spec.num_classes
        if len(y) < k:
            raise ValueError(f"{len(y)} labelled examples are fewer than the {k} classes")
        classes = np.unique(y)
        if len(classes) != k:
            raise ValueError(
                f"the labels name {len(classes)} classes, num_classes is {k}: every class "
                "needs at least one labelled example"
            )
        if x_unlabelled is None:
            unlabelled = x
        else:
            unlabelled, unlabelled_shape = as_images(x_unlabelled, "x_unlabelled")
            if unlabelled_shape != shape:
                raise ValueError(
                    f"x_unlabelled images are {unlabelled_shape}, x_labelled images {shape}"
                )
        return _FitData(x, y, unlabelled, shape)

    def plan(self, data: _FitData, resume_from: Path | None) -> TrainingPlan:
        spec = self.spec
        self.classes_ = np.unique(data.y_labelled)
        self.image_shape = data.image_shape
        targets = torch.from_numpy(np.searchsorted(self.classes_, data.y_labelled)).long()
        discriminator, generator = self._build(int(np.prod(data.image_shape)))
        module = SemiSupervisedModule(
            discriminator,
            generator,
            iterations=spec.iterations,
            lr=spec.lr,
            betas=(spec.beta1, BETAS[1]),
            decay_fraction=spec.decay_fraction,
            unsupervised_weight=spec.unsupervised_weight,
            supervised_only=spec.supervised_only,
            image_shape=data.image_shape,
            translation=spec.translation,
        )
        initialise_from_data(discriminator, data.x_unlabelled[:INIT_EXAMPLES])
        initialise_from_data(generator, torch.rand(INIT_EXAMPLES, spec.latent_dim))
        if spec.supervised_only:
            batch = min(spec.batch_size, len(targets))
            batches = ShuffledBatches((data.x_labelled, targets), batch, seed=spec.seed)
        else:
            batches = LabelledUnlabelledBatches(
                data.x_labelled, targets, data.x_unlabelled, spec.batch_size, seed=spec.seed
            )
        options = {"log_every": max(1, min(100, spec.iterations // 50))}
        return TrainingPlan(module, batches, spec.iterations, spec.batch_size, options)

    def fitted(self, module: SemiSupervisedModule) -> None:
        self.discriminator = module.networks["D"].eval()
        self.generator = module.networks["G"].eval()

    def _build(self, in_features: int) -> tuple[Discriminator, Generator]:
        spec = self.spec
        discriminator = Discriminator(
            in_features, spec.num_classes, spec.hidden, spec.input_noise, spec.hidden_noise
        )
        return discriminator, Generator(in_features, spec.latent_dim, spec.generator_hidden)

    # ---------------------------------------------------------------- file
    def file_state(self) -> dict[str, nn.Module]:
        self._check_fitted()
        return {"D": self.discriminator, "G": self.generator}

    def file_extra(self) -> dict[str, Any]:
        return {
            "classes": json.dumps(self.classes_.tolist()),
            "image_shape": json.dumps(list(self.image_shape)),
        }

    def restore(self, file: ModelFile, device: torch.device) -> None:
        classes = json.loads(file.extra["classes"])
        shape = tuple(int(s) for s in json.loads(file.extra["image_shape"]))
        if len(classes) != self.spec.num_classes or not shape:
            raise ValueError(f"{len(classes)} class labels for num_classes {self.spec.num_classes}")
        discriminator, generator = self._build(int(np.prod(shape)))
        discriminator.load_state_dict(file.state["D"])
        generator.load_state_dict(file.state["G"])
        self.discriminator = discriminator.to(device).eval()
        self.generator = generator.to(device).eval()
        self.classes_, self.image_shape = np.asarray(classes), shape

    # ----------------------------------------------------------- inference
    def _check_fitted(self) -> None:
        if self.discriminator is None:
            raise ValueError("the classifier is not trained: call fit(...) or load(path) first")

    def logits(self, x: Any) -> Tensor:
        """The K class logits ``(N, K)`` of images shaped like the training images."""
        self._check_fitted()
        images, shape = as_images(x, "x")
        if shape != self.image_shape and int(np.prod(shape)) != int(np.prod(self.image_shape)):
            raise ValueError(f"x images are {shape}, the model was trained on {self.image_shape}")
        device = next(self.discriminator.parameters()).device
        with torch.no_grad():
            parts = [self.discriminator(b.to(device)).cpu() for b in images.split(PREDICT_BATCH)]
        return torch.cat(parts)

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities ``(N, K)``, given the image is real (they sum to one)."""
        return torch.softmax(self.logits(x), dim=1).numpy()

    def predict_proba_with_fake(self, x: Any) -> np.ndarray:
        """The discriminator's ``(N, K+1)`` probabilities, the generated class last."""
        return class_probabilities(self.logits(x)).numpy()

    def predict(self, x: Any) -> np.ndarray:
        """The most probable class label of each image."""
        return self.classes_[self.logits(x).argmax(1).numpy()]

    def score(self, x: Any, y: Any) -> float:
        """Accuracy on ``(x, y)`` (scikit-learn's convention; the error is ``1 - score``)."""
        predicted = self.predict(x)
        labels = as_labels(y, len(predicted), "y")
        return float(np.mean(predicted == labels))

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` generated images ``(n, *image_shape)`` in [0, 1]."""
        self._check_fitted()
        check_integer("n", n, 1)
        z = torch.rand(n, self.spec.latent_dim, generator=torch.Generator().manual_seed(seed))
        device = next(self.generator.parameters()).device
        with torch.no_grad():
            images = self.generator(z.to(device)).cpu().numpy()
        return images.reshape(n, *self.image_shape)
