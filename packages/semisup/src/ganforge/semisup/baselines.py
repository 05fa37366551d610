"""The supervised baselines of the benchmark, trained on the same labels only.

- :func:`fit_supervised_same_net`: the GAN's discriminator (same network, noise
  layers, optimiser and schedule) trained on the labelled examples alone;
- :func:`fit_augmented_cnn`: a small CNN (the core's
  :class:`~ganforge.core.metrics.mnist_cnn.MNISTFeatureCNN`: two conv blocks and a
  64-d embedding, inputs resized to 28x28) trained on the labelled examples with
  random affine augmentation (shifts, small rotations and scalings).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.core.metrics.mnist_cnn import MNISTFeatureCNN, prepare_digits
from ganforge.core.settings import check_integer
from ganforge.semisup.data import as_images, as_labels
from ganforge.semisup.model import SemiSupervisedGAN, SemisupSpec


def fit_supervised_same_net(
    spec: SemisupSpec, x_labelled: Any, y_labelled: Any
) -> SemiSupervisedGAN:
    """The discriminator of ``spec`` trained on the labelled examples alone."""
    return SemiSupervisedGAN(replace(spec, supervised_only=True)).fit(x_labelled, y_labelled)


def augment(images: Tensor, generator: torch.Generator, shift: float = 0.1) -> Tensor:
    """Random affine copies of ``(N, 1, H, W)`` images: shifts up to ``shift`` of the
    side, rotations up to 10 degrees and scalings of 0.9-1.1 (zero padding)."""
    n = images.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(10)
    scale = 0.9 + 0.2 * torch.rand(n, generator=generator)
    offset = (torch.rand(n, 2, generator=generator) * 2 - 1) * 2 * shift
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, offset[:, 0]], 1), torch.stack([sin, cos, offset[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode="zeros", align_corners=False)


class AugmentedCNN:
    """A small CNN classifier trained with augmentation (``fit`` / ``predict`` / ``score``).

    Args:
        steps: optimizer steps; batch_size: examples per step (drawn with replacement).
        lr: Adam's learning rate (cosine-decayed to 0); seed: initialisation and draws.
    """

    def __init__(self, steps: int = 600, batch_size: int = 64, lr: float = 2e-3, seed: int = 0):
        check_integer("steps", steps, 1)
        check_integer("batch_size", batch_size, 1)
        self.steps, self.batch_size, self.lr, self.seed = steps, batch_size, lr, seed
        self.net: MNISTFeatureCNN | None = None
        self.classes_: np.ndarray | None = None

    def fit(self, x: Any, y: Any) -> AugmentedCNN:
        images, shape = as_images(x, "x")
        labels = as_labels(y, len(images), "y")
        self.classes_ = np.unique(labels)
        self.shape = shape
        targets = torch.from_numpy(np.searchsorted(self.classes_, labels)).long()
        inputs = prepare_digits(images.reshape(len(images), *self._image_shape()))
        torch.manual_seed(self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        net = MNISTFeatureCNN()
        net.head = torch.nn.Linear(net.head.in_features, len(self.classes_))
        optimizer = torch.optim.Adam(net.parameters(), self.lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, self.steps)
        net.train()
        for _ in range(self.steps):
            index = torch.randint(0, len(inputs), (self.batch_size,), generator=generator)
            loss = F.cross_entropy(net.logits(augment(inputs[index], generator)), targets[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        self.net = net.eval()
        return self

    def _image_shape(self) -> tuple[int, ...]:
        shape = self.shape
        if len(shape) == 1:
            side = int(round(math.sqrt(shape[0])))
            return (1, side, side)
        return shape if len(shape) == 3 else (1, *shape)

    def predict(self, x: Any) -> np.ndarray:
        if self.net is None:
            raise ValueError("the CNN is not trained: call fit(...) first")
        images, _ = as_images(x, "x")
        inputs = prepare_digits(images.reshape(len(images), *self._image_shape()))
        with torch.no_grad():
            logits = torch.cat([self.net.logits(b) for b in inputs.split(1000)])
        return self.classes_[logits.argmax(1).numpy()]

    def score(self, x: Any, y: Any) -> float:
        predicted = self.predict(x)
        return float(np.mean(predicted == as_labels(y, len(predicted), "y")))


def fit_augmented_cnn(
    x_labelled: Any, y_labelled: Any, seed: int = 0, **options: Any
) -> AugmentedCNN:
    """:class:`AugmentedCNN` trained on the labelled examples."""
    return AugmentedCNN(seed=seed, **options).fit(x_labelled, y_labelled)
