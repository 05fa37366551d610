"""Adversarial objectives as pure functions of discriminator outputs.

Every loss takes raw discriminator outputs (logits for the probabilistic losses,
critic scores for Wasserstein / hinge / least-squares) as one tensor or as a
list of tensors (multi-scale or multi-period discriminators). Within a tensor
the loss is a mean over all elements (so patch discriminators and per-frame
scores work unchanged); over a list, the per-tensor losses are summed.

The registry :data:`LOSSES` maps a config name to an :class:`AdversarialLoss`;
:func:`get_loss` builds one with options (e.g. one-sided label smoothing).

Conventions (Goodfellow et al. 2014, Mao et al. 2017, Lim & Ye 2017, Arjovsky
et al. 2017, Jolicoeur-Martineau 2018):

=====================  ===========================================  ================================
name                   discriminator loss                           generator loss
=====================  ===========================================  ================================
minimax                -E log D(x) - E log(1 - D(G(z)))             E log(1 - D(G(z)))
non_saturating         same as minimax (real target may be < 1)     -E log D(G(z))
least_squares          ½E (D(x) - 1)² + ½E D(G(z))²                 ½E (D(G(z)) - 1)²
hinge                  E relu(1 - D(x)) + E relu(1 + D(G(z)))       -E D(G(z))
wasserstein            E D(G(z)) - E D(x)                           -E D(G(z))
relativistic_average   BCE(C(x) - E C(G(z)), 1)                     BCE(C(G(z)) - E C(x), 1)
                       + BCE(C(G(z)) - E C(x), 0)                   + BCE(C(x) - E C(G(z)), 0)
=====================  ===========================================  ================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor

Scores = Tensor | Sequence[Tensor]
"""One discriminator output tensor, or a list of them (one per scale/period)."""

FeatureMaps = Sequence[Tensor] | Sequence[Sequence[Tensor]]


def _as_list(scores: Scores, what: str) -> list[Tensor]:
    if isinstance(scores, Tensor):
        return [scores]
    items = list(scores)
    if not items or not all(isinstance(t, Tensor) for t in items):
        raise ValueError(f"{what} must be a tensor or a non-empty list of tensors")
    return items


def _over_scales(fn: Callable[..., Tensor], *scores: Scores) -> Tensor:
    """Apply a per-tensor loss to paired scales and sum the results."""
    lists = [_as_list(s, "discriminator scores") for s in scores]
    lengths = {len(item) for item in lists}
    if len(lengths) != 1:
        raise ValueError(
            f"real and fake score lists have different lengths {sorted(lengths)}; "
            "pass one tensor per discriminator scale for both"
        )
    return _sum([fn(*pair) for pair in zip(*lists, strict=True)])


def _sum(terms: list[Tensor]) -> Tensor:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _check_real_label(real_label: float) -> None:
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0, 1], got {real_label}; 0.9 is typical")


# Each separable loss is defined once, by its element-wise terms on real and fake
# scores; the reduced loss is the mean of each, summed (and summed over scales).
# ``reduction="none"`` returns the terms themselves (real elements first), for
# per-sample losses such as DP-SGD needs.


def _reduced(terms: Callable[..., tuple[Tensor, ...]], reduction: str, *scores: Scores) -> Tensor:
    if reduction == "none":
        if not all(isinstance(s, Tensor) for s in scores):
            raise ValueError("reduction='none' takes one score tensor per argument, not lists")
        return torch.cat([t.reshape(-1) for t in terms(*scores)])
    if reduction != "mean":
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    return _over_scales(lambda *pair: _sum([t.mean() for t in terms(*pair)]), *scores)


def _bce_terms(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(
        logits, torch.full_like(logits, target), reduction="none"
    )


# --- minimax / non-saturating (Goodfellow et al. 2014) ------------------------------------


def minimax_d_loss(
    real: Scores, fake: Scores, real_label: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """-E log D(x) - E log(1 - D(G(z))) from logits; ``real_label < 1`` smooths the real target."""
    _check_real_label(real_label)
    return _reduced(
        lambda r, f: (_bce_terms(r, real_label), _bce_terms(f, 0.0)), reduction, real, fake
    )


def minimax_g_loss(fake: Scores, reduction: str = "mean") -> Tensor:
    """The saturating generator loss E log(1 - D(G(z))) = -E softplus(logit)."""
    return _reduced(lambda f: (-F.softplus(f),), reduction, fake)


def non_saturating_d_loss(
    real: Scores, fake: Scores, real_label: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """Same as :func:`minimax_d_loss`; ``real_label=0.9`` is one-sided label smoothing."""
    return minimax_d_loss(real, fake, real_label, reduction)


def non_saturating_g_loss(fake: Scores, reduction: str = "mean") -> Tensor:
    """-E log D(G(z)) = E softplus(-logit)."""
    return _reduced(lambda f: (F.softplus(-f),), reduction, fake)


# --- least squares (Mao et al. 2017, a=0, b=c=1) -----------------------------------------


def least_squares_d_loss(real: Scores, fake: Scores, reduction: str = "mean") -> Tensor:
    """½E (D(x) - 1)² + ½E D(G(z))²."""
    return _reduced(lambda r, f: (0.5 * (r - 1).pow(2), 0.5 * f.pow(2)), reduction, real, fake)


def least_squares_g_loss(fake: Scores, reduction: str = "mean") -> Tensor:
    """½E (D(G(z)) - 1)²."""
    return _reduced(lambda f: (0.5 * (f - 1).pow(2),), reduction, fake)


# --- hinge (Lim & Ye 2017; SAGAN, BigGAN) -------------------------------------------------


def hinge_d_loss(real: Scores, fake: Scores, reduction: str = "mean") -> Tensor:
    """E relu(1 - D(x)) + E relu(1 + D(G(z)))."""
    return _reduced(lambda r, f: (F.relu(1 - r), F.relu(1 + f)), reduction, real, fake)


def hinge_g_loss(fake: Scores, reduction: str = "mean") -> Tensor:
    """-E D(G(z))."""
    return _reduced(lambda f: (-f,), reduction, fake)


# --- Wasserstein (Arjovsky et al. 2017) ---------------------------------------------------


def wasserstein_d_loss(real: Scores, fake: Scores, reduction: str = "mean") -> Tensor:
    """E C(G(z)) - E C(x): the negated critic estimate of the Wasserstein-1 distance."""
    return _reduced(lambda r, f: (-r, f), reduction, real, fake)


def wasserstein_g_loss(fake: Scores, reduction: str = "mean") -> Tensor:
    """-E C(G(z))."""
    return _reduced(lambda f: (-f,), reduction, fake)


# --- relativistic average, non-saturating form (Jolicoeur-Martineau 2018) -----------------


def relativistic_average_d_loss(
    real: Scores, fake: Scores, real_label: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """BCE(C(x) - E C(G(z)), 1) + BCE(C(G(z)) - E C(x), 0) (RaSGAN)."""
    _check_real_label(real_label)
    _no_per_sample_terms(reduction)

    def per_scale(r: Tensor, f: Tensor) -> Tensor:
        return _bce(r - f.mean(), real_label) + _bce(f - r.mean(), 0.0)

    return _over_scales(per_scale, real, fake)


def relativistic_average_g_loss(
    fake: Scores, real: Scores | None = None, reduction: str = "mean"
) -> Tensor:
    """BCE(C(G(z)) - E C(x), 1) + BCE(C(x) - E C(G(z)), 0); needs the real scores."""
    _no_per_sample_terms(reduction)
    if real is None:
        raise ValueError(
            "the relativistic_average generator loss needs the real scores: "
            "call loss.generator(fake, real)"
        )

    def per_scale(f: Tensor, r: Tensor) -> Tensor:
        return _bce(f - r.detach().mean(), 1.0) + _bce(r.detach() - f.mean(), 0.0)

    return _over_scales(per_scale, fake, real)


def _no_per_sample_terms(reduction: str) -> None:
    if reduction != "mean":
        raise ValueError(
            "the relativistic_average loss compares each sample with the batch mean: it has "
            "no per-sample terms (reduction must be 'mean')"
        )


# --- registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AdversarialLoss:
    """A named pair of discriminator and generator objectives (both to be minimised).

    Attributes:
        name: registry name.
        discriminator_fn: ``(real_scores, fake_scores) -> loss``.
        generator_fn: ``(fake_scores) -> loss``, or ``(fake_scores, real_scores) -> loss``
            when ``needs_real`` is true (relativistic losses).
        needs_real: whether the generator loss needs the real scores.
    """

    name: str
    discriminator_fn: Callable[[Scores, Scores], Tensor]
    generator_fn: Callable[..., Tensor]
    needs_real: bool = False

    def discriminator(self, real: Scores, fake: Scores, reduction: str = "mean") -> Tensor:
        """Discriminator loss from its outputs on real and on (detached) fake samples.

        ``reduction="none"``: the loss of every output element, real ones first
        (one tensor each); the mean loss is the real terms' mean plus the fake terms'.
        """
        return self.discriminator_fn(real, fake, reduction=reduction)

    def generator(
        self, fake: Scores, real: Scores | None = None, reduction: str = "mean"
    ) -> Tensor:
        """Generator loss from the discriminator's outputs on fakes (and reals if needed);
        ``reduction="none"`` gives the loss of every output element."""
        if self.needs_real:
            return self.generator_fn(fake, real, reduction=reduction)
        return self.generator_fn(fake, reduction=reduction)


LOSSES: dict[str, AdversarialLoss] = {
    "minimax": AdversarialLoss("minimax", minimax_d_loss, minimax_g_loss),
    "non_saturating": AdversarialLoss(
        "non_saturating", non_saturating_d_loss, non_saturating_g_loss
    ),
    "least_squares": AdversarialLoss("least_squares", least_squares_d_loss, least_squares_g_loss),
    "hinge": AdversarialLoss("hinge", hinge_d_loss, hinge_g_loss),
    "wasserstein": AdversarialLoss("wasserstein", wasserstein_d_loss, wasserstein_g_loss),
    "relativistic_average": AdversarialLoss(
        "relativistic_average",
        relativistic_average_d_loss,
        relativistic_average_g_loss,
        needs_real=True,
    ),
}

_SMOOTHABLE = ("minimax", "non_saturating", "relativistic_average")


def get_loss(name: str, *, real_label: float = 1.0) -> AdversarialLoss:
    """The adversarial loss registered under ``name``.

    Args:
        name: one of :data:`LOSSES` (``"minimax"``, ``"non_saturating"``,
            ``"least_squares"``, ``"hinge"``, ``"wasserstein"``, ``"relativistic_average"``).
        real_label: target for real samples in the discriminator's cross-entropy
            (one-sided label smoothing, Salimans et al. 2016; 0.9 is typical). Only for
            the cross-entropy losses: minimax, non_saturating, relativistic_average.

    Raises:
        ValueError: unknown name, or label smoothing asked of a loss without a target.
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of: {', '.join(sorted(LOSSES))}")
    loss = LOSSES[name]
    if real_label == 1.0:
        return loss
    _check_real_label(real_label)
    if name not in _SMOOTHABLE:
        raise ValueError(
            f"label smoothing needs a cross-entropy loss ({', '.join(_SMOOTHABLE)}), not {name!r}"
        )
    d_fn = partial(loss.discriminator_fn, real_label=real_label)
    return AdversarialLoss(loss.name, d_fn, loss.generator_fn, loss.needs_real)


# --- feature matching (HiFi-GAN / MelGAN; Salimans et al.) --------------------------------


def _nested(feats: FeatureMaps) -> list[list[Tensor]]:
    items = list(feats)
    if items and all(isinstance(t, Tensor) for t in items):
        return [items]
    return [list(group) for group in items]


def feature_matching_loss(real_feats: FeatureMaps, fake_feats: FeatureMaps) -> Tensor:
    """Sum over discriminators and layers of the mean L1 distance between feature maps.

    ``real_feats`` / ``fake_feats``: per discriminator, the list of its intermediate
    feature maps (a flat list means one discriminator). Real features are detached, so
    only the generator receives gradients (Kumar et al. 2019; Kong et al. 2020).
    """
    real_groups, fake_groups = _nested(real_feats), _nested(fake_feats)
    shape_r = [len(g) for g in real_groups]
    shape_f = [len(g) for g in fake_groups]
    if shape_r != shape_f or not shape_r or 0 in shape_r:
        raise ValueError(
            f"real and fake feature lists differ in structure ({shape_r} vs {shape_f} "
            "feature maps per discriminator); pass the same discriminators' outputs"
        )
    terms = []
    for real_group, fake_group in zip(real_groups, fake_groups, strict=True):
        for real_map, fake_map in zip(real_group, fake_group, strict=True):
            if real_map.shape != fake_map.shape:
                raise ValueError(
                    f"feature map shapes differ: real {tuple(real_map.shape)} vs "
                    f"fake {tuple(fake_map.shape)}"
                )
            terms.append((real_map.detach() - fake_map).abs().mean())
    return _sum(terms)


def mean_feature_matching_loss(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """Salimans et al. (2016)'s feature matching: ``mean_k (E[f(x)]_k - E[f(G(z))]_k)^2``.

    The squared distance between the batch means of one intermediate
    discriminator layer's features ``(N, ...)`` (flattened per sample), averaged
    over the feature dimensions. Real features are detached, so only the
    generator receives gradients; the two batches may differ in size.
    """
    if real_features.dim() < 2 or real_features.shape[1:] != fake_features.shape[1:]:
        raise ValueError(
            f"feature shapes differ: real {tuple(real_features.shape)} vs "
            f"fake {tuple(fake_features.shape)} (expected (N, ...) with equal feature shapes)"
        )
    real_mean = real_features.detach().flatten(1).mean(0)
    fake_mean = fake_features.flatten(1).mean(0)
    return (real_mean - fake_mean).pow(2).mean()


# --- theory helpers -----------------------------------------------------------------------


def _weighted_mean(values: Tensor, weights: Tensor | None) -> Tensor:
    if weights is None:
        return values.mean()
    weights = torch.as_tensor(weights, dtype=values.dtype)
    if weights.shape != values.shape:
        raise ValueError(
            f"weights shape {tuple(weights.shape)} must match values shape {tuple(values.shape)}"
        )
    return (weights * values).sum() / weights.sum()


def minimax_value(
    d_real_probs: Tensor,
    d_fake_probs: Tensor,
    p_real: Tensor | None = None,
    p_fake: Tensor | None = None,
) -> Tensor:
    """V(D, G) = E_{x~p_data} log D(x) + E_{x~p_g} log(1 - D(x)).

    ``d_real_probs`` / ``d_fake_probs`` are discriminator probabilities at real and
    generated points. Without weights the expectations are sample means; with
    ``p_real`` / ``p_fake`` (discrete distributions over the same points) they are
    weighted sums. At D = 1/2 everywhere V = -2 ln 2.
    """
    d_real = torch.as_tensor(d_real_probs, dtype=torch.float64)
    d_fake = torch.as_tensor(d_fake_probs, dtype=torch.float64)
    if (d_real < 0).any() or (d_real > 1).any() or (d_fake < 0).any() or (d_fake > 1).any():
        raise ValueError("discriminator probabilities must lie in [0, 1]; apply sigmoid to logits")
    return _weighted_mean(torch.log(d_real), p_real) + _weighted_mean(torch.log1p(-d_fake), p_fake)


def optimal_discriminator(p_data: Tensor, p_g: Tensor) -> Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Prop. 1).

    Where both densities are 0 the value is arbitrary; 1/2 is returned there.
    """
    p_data = torch.as_tensor(p_data, dtype=torch.float64)
    p_g = torch.as_tensor(p_g, dtype=torch.float64)
    if p_data.shape != p_g.shape:
        raise ValueError(f"p_data {tuple(p_data.shape)} and p_g {tuple(p_g.shape)} differ")
    if (p_data < 0).any() or (p_g < 0).any():
        raise ValueError("densities must be non-negative")
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(math.ulp(0.0)), 0.5)
