"""AdvGAN's generator objective (Xiao et al. 2018, eq. 4): C&W margin + alpha GAN + beta hinge.

- :func:`cw_margin_loss`: Carlini & Wagner's f6 on the target's logits ``Z``:
  untargeted ``max(Z_y - max_{i != y} Z_i, -kappa)`` (push the true class below
  the best other one by kappa), targeted ``max(max_{i != t} Z_i - Z_t, -kappa)``;
- :func:`perturbation_hinge`: ``max(0, ||G(x)||_2 - c)`` per image;
- the GAN term is one of the core's adversarial losses (least squares by default,
  as the public AdvGAN ports use).

All are batch means.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _best_other(logits: Tensor, classes: Tensor) -> Tensor:
    """``max_{i != classes} logits_i`` per row."""
    mask = torch.nn.functional.one_hot(classes, logits.shape[1]).bool()
    return logits.masked_fill(mask, float("-inf")).amax(1)


def cw_margin(
    logits: Tensor, classes: Tensor, kappa: float = 0.0, targeted: bool = False
) -> Tensor:
    """The per-example C&W margin (see the module docstring); ``classes`` are the true
    labels (untargeted) or the target classes (targeted)."""
    own = logits.gather(1, classes[:, None]).squeeze(1)
    other = _best_other(logits, classes)
    margin = other - own if targeted else own - other
    return margin.clamp(min=-float(kappa))


def cw_margin_loss(
    logits: Tensor, classes: Tensor, kappa: float = 0.0, targeted: bool = False
) -> Tensor:
    """The batch mean of :func:`cw_margin`."""
    return cw_margin(logits, classes, kappa, targeted).mean()


def perturbation_hinge(perturbation: Tensor, bound: float) -> Tensor:
    """``mean(max(0, ||delta_n||_2 - bound))`` over the images of the batch."""
    norms = perturbation.flatten(1).norm(dim=1)
    return (norms - float(bound)).clamp(min=0).mean()
