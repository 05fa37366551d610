"""The peer library's FGSM and PGD: adversarial-robustness-toolbox (ART, IBM).

ART installs beside the project's pins (torchattacks pins ``requests~=2.25.1``),
so it is a dependency of this package: the benchmark's FGSM / PGD-40 numbers come
from it, on the same split and target as AdvGAN. The attacks run the model in
eval mode (its mode is restored) on the CPU or the model's device.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ganforge.robustness.attacks import check_eps, evaluating


def _classifier(model: nn.Module, shape: tuple[int, ...], k: int, low: float, high: float):
    from art.estimators.classification import PyTorchClassifier

    device = next(iter(model.parameters()), torch.empty(0)).device
    return PyTorchClassifier(
        model=model,
        loss=nn.CrossEntropyLoss(),
        input_shape=shape,
        nb_classes=k,
        clip_values=(low, high),
        device_type="gpu" if device.type == "cuda" else "cpu",
    )


def _run(attack_type, model, x, y, k, low, high, **options) -> Tensor:
    with evaluating(model):
        classifier = _classifier(model, tuple(x.shape[1:]), k, low, high)
        attack = attack_type(classifier, **options)
        labels = np.eye(k, dtype=np.float32)[y.numpy()]
        adversarial = attack.generate(x.numpy(), y=labels)
    return torch.from_numpy(np.asarray(adversarial, np.float32))


def art_fgsm(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    *,
    num_classes: int,
    low: float = 0.0,
    high: float = 1.0,
    batch_size: int = 100,
) -> Tensor:
    """ART's FastGradientMethod (L-infinity, untargeted)."""
    from art.attacks.evasion import FastGradientMethod

    return _run(
        FastGradientMethod, model, x, y, num_classes, low, high,
        norm=np.inf, eps=check_eps(eps), batch_size=batch_size,
    )  # fmt: skip


def art_pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    *,
    num_classes: int,
    steps: int = 40,
    step_size: float = 0.01,
    low: float = 0.0,
    high: float = 1.0,
    batch_size: int = 100,
    seed: int = 0,
) -> Tensor:
    """ART's ProjectedGradientDescent (L-infinity, random start, ``steps`` of ``step_size``)."""
    from art.attacks.evasion import ProjectedGradientDescent

    np.random.seed(seed)  # ART draws its random start from numpy's global generator
    return _run(
        ProjectedGradientDescent, model, x, y, num_classes, low, high,
        norm=np.inf, eps=check_eps(eps), eps_step=step_size, max_iter=steps,
        num_random_init=1, batch_size=batch_size, verbose=False,
    )  # fmt: skip
