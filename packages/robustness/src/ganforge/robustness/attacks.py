"""Gradient attacks in PyTorch: FGSM and PGD (Madry et al.'s L-infinity projected gradient).

They serve adversarial training (a PGD step inside the classifier's training
step, on any device) and cross-check the peer library the benchmark runs
(adversarial-robustness-toolbox). The model is evaluated in eval mode and its
mode is restored; its parameters get no gradient.

Every output satisfies ``|x_adv - x| <= eps`` elementwise and stays in
``[low, high]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from ganforge.robustness.networks import BOUND_MARGIN


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode (dropout and batch norm off) for the block; its mode of every
    submodule is restored afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def check_eps(eps: float) -> float:
    """``eps`` as a float, or a one-line ``ValueError`` for eps <= 0."""
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"epsilon must be a number > 0, got {eps!r}")
    if eps != eps or eps == float("inf"):
        raise ValueError(f"epsilon must be finite, got {eps!r}")
    return float(eps)


def _project(x_adv: Tensor, x: Tensor, eps: float, low: float, high: float) -> Tensor:
    step = eps - BOUND_MARGIN
    return (x + (x_adv - x).clamp(-step, step)).clamp(low, high)


def _input_gradient(model: nn.Module, x: Tensor, y: Tensor, targeted: bool) -> Tensor:
    x = x.detach().requires_grad_(True)
    loss = nn.functional.cross_entropy(model(x), y)
    (grad,) = torch.autograd.grad(-loss if targeted else loss, x)
    return grad


def fgsm(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    *,
    low: float = 0.0,
    high: float = 1.0,
    targeted: bool = False,
) -> Tensor:
    """Goodfellow et al.'s fast gradient sign step (``y`` the target classes when targeted)."""
    eps = check_eps(eps)
    with evaluating(model), torch.enable_grad():
        grad = _input_gradient(model, x, y, targeted)
    return _project(x + eps * grad.sign(), x, eps, low, high).detach()


def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    *,
    steps: int = 40,
    step_size: float = 0.01,
    random_start: bool = True,
    low: float = 0.0,
    high: float = 1.0,
    targeted: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Madry et al.'s PGD: ``steps`` signed-gradient steps of ``step_size`` on the
    cross-entropy, each projected on the eps-ball and the value range, from a uniform
    random start in the ball (``generator`` seeds it, on the CPU)."""
    eps = check_eps(eps)
    x = x.detach()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        x_adv = _project(x + (2 * noise - 1) * eps, x, eps, low, high)
    else:
        x_adv = x.clone()
    with evaluating(model), torch.enable_grad():
        for _ in range(steps):
            grad = _input_gradient(model, x_adv, y, targeted)
            x_adv = _project(x_adv + step_size * grad.sign(), x, eps, low, high).detach()
    return x_adv
