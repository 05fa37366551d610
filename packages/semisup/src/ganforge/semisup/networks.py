"""The MNIST networks of Salimans et al. (2016), improved-gan's ``train_mnist_feature_matching``.

- :class:`Discriminator`: Gaussian noise on the input (sigma 0.3) and after every
  hidden layer (sigma 0.5), weight-normalised dense layers 1000-500-250-250-250
  with ReLU, and K output logits (the generated class's logit is fixed at 0,
  see :mod:`ganforge.semisup.losses`). ``features(x)`` is the last hidden layer,
  the one the generator's feature matching uses. The noise acts in training mode
  only.
- :class:`Generator`: ``z`` (100 uniform numbers) to 500-500 softplus units with
  batch norm, then a weight-normalised dense layer with a sigmoid to the pixels.

``hidden`` and ``noise`` make smaller versions for tests and small images.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

DISCRIMINATOR_HIDDEN = (1000, 500, 250, 250, 250)
INPUT_NOISE = 0.3
HIDDEN_NOISE = 0.5
GENERATOR_HIDDEN = (500, 500)
LATENT_DIM = 100


@torch.no_grad()
def initialise_from_data(network: nn.Module, x: Tensor) -> None:
    """Salimans & Kingma's data-dependent initialisation of weight-normalised layers.

    Runs ``network`` on ``x`` once; every weight-normalised ``nn.Linear`` (in
    the order they run) gets the gain and bias that give its pre-activations
    zero mean and unit variance over ``x`` (noise layers are active, as in
    improved-gan). Leaves the network in training mode.
    """
    network.train()
    handles = []

    def rescale(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
        mean, std = output.mean(0), output.std(0).clamp_min(1e-6)
        parametrization = module.parametrizations.weight
        parametrization.original0.div_(std.view(-1, 1))  # g: the gain per output unit
        module.bias.sub_(mean).div_(std)
        return (output - mean) / std

    for module in network.modules():
        if isinstance(module, nn.Linear) and hasattr(module, "parametrizations"):
            handles.append(module.register_forward_hook(rescale))
    try:
        network(x)
    finally:
        for handle in handles:
            handle.remove()


class GaussianNoise(nn.Module):
    """Adds ``N(0, sigma^2)`` noise in training mode; the identity in eval mode."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = float(sigma)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.sigma == 0:
            return x
        return x + self.sigma * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


class Discriminator(nn.Module):
    """K-logit classifier over flat inputs (see the module docstring).

    Args:
        in_features: pixels per image (784 for MNIST, 64 for 8x8 digits).
        num_classes: K, the number of real classes.
        hidden: widths of the hidden layers.
        input_noise, hidden_noise: standard deviations of the Gaussian noise layers.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        hidden: Sequence[int] = DISCRIMINATOR_HIDDEN,
        input_noise: float = INPUT_NOISE,
        hidden_noise: float = HIDDEN_NOISE,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [GaussianNoise(input_noise)]
        width = in_features
        for index, units in enumerate(hidden):
            if index:
                layers.append(GaussianNoise(hidden_noise))
            layers += [weight_norm(nn.Linear(width, units)), nn.ReLU()]
            width = units
        self.body = nn.Sequential(*layers)
        self.noise = GaussianNoise(hidden_noise)
        self.head = weight_norm(nn.Linear(width, num_classes))
        self.in_features, self.num_classes = in_features, num_classes

    def features(self, x: Tensor) -> Tensor:
        """The last hidden layer's activations ``(N, hidden[-1])``."""
        return self.body(x.flatten(1))

    def classify(self, features: Tensor) -> Tensor:
        """The K logits from :meth:`features`."""
        return self.head(self.noise(features))

    def forward(self, x: Tensor) -> Tensor:
        return self.classify(self.features(x))

    def forward_with_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(logits, features)`` in one pass."""
        features = self.features(x)
        return self.classify(features), features


class Generator(nn.Module):
    """``z`` to images in [0, 1] ``(N, out_features)`` (see the module docstring)."""

    def __init__(
        self,
        out_features: int,
        latent_dim: int = LATENT_DIM,
        hidden: Sequence[int] = GENERATOR_HIDDEN,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = latent_dim
        for units in hidden:
            layers += [nn.Linear(width, units), nn.Softplus(), nn.BatchNorm1d(units)]
            width = units
        layers += [weight_norm(nn.Linear(width, out_features)), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)
        self.latent_dim, self.out_features = latent_dim, out_features

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)
