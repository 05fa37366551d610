"""Inception-style score for the class probabilities of any classifier."""

from __future__ import annotations

from typing import NamedTuple

import torch

from ganforge.core.metrics._validate import ArrayLike, as_features, positive_int


class ScoreResult(NamedTuple):
    """Mean and standard deviation over the splits."""

    mean: float
    std: float


def inception_score(probs: ArrayLike, splits: int = 1, *, from_logits: bool = False) -> ScoreResult:
    """``exp(E_x KL(p(y|x) || p(y)))`` (Salimans et al. 2016) for any classifier.

    High when each sample is classified confidently (low entropy p(y|x)) and the
    classes are used evenly (high entropy p(y)). Ranges from 1 to the number of
    classes.

    Args:
        probs: ``(n_samples, n_classes)`` class probabilities (rows sum to 1), or
            logits with ``from_logits=True``.
        splits: number of disjoint splits the score is averaged over.
        from_logits: apply a softmax first.

    Returns:
        :class:`ScoreResult` ``(mean, std)`` over the splits.
    """
    p = as_features(probs, "probs", dtype=torch.float64)
    splits = positive_int(splits, "splits")
    if from_logits:
        p = torch.softmax(p, dim=1)
    elif (p < 0).any() or not torch.allclose(
        p.sum(1), torch.ones(p.shape[0], dtype=p.dtype), atol=1e-3
    ):
        raise ValueError(
            "probs must be non-negative with rows summing to 1; pass from_logits=True for logits"
        )
    if splits > p.shape[0]:
        raise ValueError(f"splits={splits} exceeds the {p.shape[0]} samples")
    scores = torch.stack([_score(part) for part in p.tensor_split(splits)])
    std = float(scores.std(unbiased=False)) if splits > 1 else 0.0
    return ScoreResult(float(scores.mean()), std)


def _score(p: torch.Tensor) -> torch.Tensor:
    marginal = p.mean(0, keepdim=True)
    kl = torch.special.xlogy(p, p) - torch.special.xlogy(p, marginal)
    return kl.sum(1).mean().exp()
