"""The K+1-class objective of Salimans et al. (2016) with the fake class's logit fixed at 0.

The discriminator outputs K logits ``l_1 .. l_K`` for the real classes; the
(K+1)-th, "generated", logit is fixed at 0, which removes the softmax's
redundant degree of freedom. With ``Z(x) = sum_k exp(l_k(x))``:

- ``p(y = k | x) = exp(l_k) / (Z + 1)`` and ``p(fake | x) = 1 / (Z + 1)``;
- ``D(x) = p(real | x) = Z / (Z + 1) = sigmoid(logsumexp(l))``.

So the unsupervised terms are binary cross-entropies on ``s = logsumexp(l)``:
``-log D(x) = softplus(-s)`` for real unlabelled data and ``-log(1 - D(G(z))) =
softplus(s)`` for generated data; the supervised term is the ordinary
cross-entropy over the K logits (``log p(y | x, y < K+1)``). Every term goes
through ``logsumexp`` / ``softplus``, so logits of any size stay finite.

(A common slip, in the seed's code too, writes the unlabelled term as
``-logsumexp(l) + softplus(logsumexp(l))`` with the opposite sign, or as
``log(1 - p_fake)`` with probabilities; ``tests/semisup/test_losses.py`` checks
these functions against the explicit K+1 softmax.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def real_logit(logits: Tensor) -> Tensor:
    """``s = logsumexp(l)``: the logit of ``D(x) = p(real | x)`` (``(N,)``)."""
    return torch.logsumexp(logits, dim=1)


def class_probabilities(logits: Tensor) -> Tensor:
    """``(N, K+1)`` probabilities: the K classes, then the generated class (logit 0)."""
    zeros = logits.new_zeros(logits.shape[0], 1)
    return torch.softmax(torch.cat([logits, zeros], dim=1), dim=1)


def supervised_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy of the labelled batch over the K real classes."""
    return F.cross_entropy(logits, labels)


def unlabelled_loss(logits: Tensor) -> Tensor:
    """``E[-log D(x)] = E[softplus(-s)]`` on real unlabelled data."""
    return F.softplus(-real_logit(logits)).mean()


def generated_loss(logits: Tensor) -> Tensor:
    """``E[-log(1 - D(G(z)))] = E[softplus(s)]`` on generated data."""
    return F.softplus(real_logit(logits)).mean()


def discriminator_loss(
    labelled_logits: Tensor,
    labels: Tensor,
    unlabelled_logits: Tensor,
    generated_logits: Tensor,
    unsupervised_weight: float = 1.0,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Salimans et al.'s discriminator objective: supervised + w * (unlabelled + generated) / 2.

    Returns the total and its detached terms (``supervised``, ``unlabelled``, ``generated``).
    """
    sup = supervised_loss(labelled_logits, labels)
    unl = unlabelled_loss(unlabelled_logits)
    gen = generated_loss(generated_logits)
    total = sup + unsupervised_weight * 0.5 * (unl + gen)
    return total, {
        "supervised": sup.detach(),
        "unlabelled": unl.detach(),
        "generated": gen.detach(),
    }
