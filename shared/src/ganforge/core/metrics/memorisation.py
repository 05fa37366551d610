"""Memorisation audit: does a generator copy its training data?

For each generated sample we find its nearest training and nearest held-out
sample. A generator that samples the data distribution is, in distribution, as
far from the training set as fresh held-out data is; one that copies training
samples sits much closer. The audit compares the generated samples' distances to
the training set with the held-out samples' own distances to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import scipy.stats
import torch

from ganforge.core.metrics._validate import (
    ArrayLike,
    as_features,
    positive_int,
    same_width,
)
from ganforge.core.metrics.neighbours import nearest_neighbours


@dataclass
class MemorisationReport:
    """What :func:`memorisation_audit` found (tensors on the CPU).

    Attributes:
        nn_train_distance: ``(n_generated,)`` distance to the nearest training sample.
        nn_train_index: ``(n_generated,)`` index of that training sample.
        nn_heldout_distance: ``(n_generated,)`` distance to the nearest held-out sample.
        heldout_nn_train_distance: ``(n_heldout,)`` distance of each held-out sample
            to its nearest training sample: the reference a fresh sample gives.
        max_train_cosine: ``(n_generated,)`` largest cosine similarity to any
            training sample.
        distance_threshold: the ``quantile`` of ``heldout_nn_train_distance``.
        share_below_threshold: share of generated samples nearer to the training set
            than ``distance_threshold``; ``expected_share`` (= ``quantile``) for a
            generator that does not copy.
        expected_share: see above.
        p_value: one-sided test of ``share_below_threshold > expected_share``
            (see :func:`excess_p_value`).
        share_closer_to_train: share of generated samples whose nearest training
            sample is nearer than their nearest held-out one.
        expected_closer_to_train: ``n_train / (n_train + n_heldout)``, what that share
            is for samples from the data distribution.
        exact_duplicate_share: share of generated samples equal to a training sample.
        near_duplicate_share: share with cosine similarity >= ``similarity_threshold``
            to some training sample.
        similarity_threshold: the cosine threshold used.
        suspicious_pairs: the ``k`` generated samples nearest to the training set, as
            ``(generated_idx, train_idx, distance)``, nearest first.
        memorised: ``True`` when ``p_value < alpha``: more generated samples sit
            closer to the training set than chance allows.
    """

    nn_train_distance: torch.Tensor
    nn_train_index: torch.Tensor
    nn_heldout_distance: torch.Tensor
    heldout_nn_train_distance: torch.Tensor
    max_train_cosine: torch.Tensor
    distance_threshold: float
    share_below_threshold: float
    expected_share: float
    p_value: float
    share_closer_to_train: float
    expected_closer_to_train: float
    exact_duplicate_share: float
    near_duplicate_share: float
    similarity_threshold: float
    suspicious_pairs: list[tuple[int, int, float]] = field(default_factory=list)
    memorised: bool = False

    def summary(self) -> dict[str, object]:
        """The scalar findings and the suspicious pairs, JSON-ready."""
        return {
            "memorised": self.memorised,
            "distance_threshold": self.distance_threshold,
            "share_below_threshold": self.share_below_threshold,
            "expected_share": self.expected_share,
            "p_value": self.p_value,
            "share_closer_to_train": self.share_closer_to_train,
            "expected_closer_to_train": self.expected_closer_to_train,
            "exact_duplicate_share": self.exact_duplicate_share,
            "near_duplicate_share": self.near_duplicate_share,
            "similarity_threshold": self.similarity_threshold,
            "median_nn_train_distance": float(self.nn_train_distance.median()),
            "median_heldout_nn_train_distance": float(self.heldout_nn_train_distance.median()),
            "suspicious_pairs": [list(p) for p in self.suspicious_pairs],
        }


def memorisation_audit(
    generated: ArrayLike,
    train: ArrayLike,
    heldout: ArrayLike,
    threshold: float = 0.95,
    k: int = 10,
    *,
    quantile: float = 0.05,
    alpha: float = 1e-3,
    chunk_size: int = 2048,
    device: str | torch.device | None = None,
) -> MemorisationReport:
    """Nearest-neighbour memorisation audit of generated samples.

    Args:
        generated: ``(n_generated, d)`` features of generated samples.
        train: ``(n_train, d)`` features of the generator's training data.
        heldout: ``(n_heldout, d)`` features of real data the generator never saw
            (same distribution as ``train``), at least 20 samples.
        threshold: cosine similarity at or above which a pair is a near duplicate.
        k: number of most suspicious pairs to report.
        quantile: the held-out distance quantile used as the "too close" threshold.
        alpha: significance level of the test behind ``memorised``.
        chunk_size: rows per block of the nearest-neighbour search (memory is
            ``O(chunk_size^2)``; 100k x 100k never builds the full matrix).
        device: where the search runs; ``None`` uses CUDA when present.

    Returns:
        :class:`MemorisationReport`.
    """
    g = as_features(generated, "generated")
    t = as_features(train, "train")
    h = as_features(heldout, "heldout", min_rows=20)
    same_width(g, t, "generated", "train")
    same_width(h, t, "heldout", "train")
    k = min(positive_int(k, "k"), g.shape[0])
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold is a cosine similarity in (0, 1], got {threshold}")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")

    search = {"chunk_size": chunk_size, "device": device}
    to_train = nearest_neighbours(g, t, 1, with_cosine=True, **search)
    to_heldout = nearest_neighbours(g, h, 1, **search)
    reference = nearest_neighbours(h, t, 1, **search).distances[:, 0]

    d_train = to_train.distances[:, 0]
    d_heldout = to_heldout.distances[:, 0]
    cut = float(torch.quantile(reference.double(), quantile))
    below = int((d_train < cut).sum())
    share_below = below / d_train.numel()
    p_value = excess_p_value(share_below, quantile, d_train.numel(), reference.numel())
    order = d_train.argsort()[:k]
    pairs = [(int(i), int(to_train.indices[i, 0]), float(d_train[i])) for i in order]
    return MemorisationReport(
        nn_train_distance=d_train,
        nn_train_index=to_train.indices[:, 0],
        nn_heldout_distance=d_heldout,
        heldout_nn_train_distance=reference,
        max_train_cosine=to_train.max_cosine,
        distance_threshold=cut,
        share_below_threshold=share_below,
        expected_share=quantile,
        p_value=p_value,
        share_closer_to_train=float((d_train < d_heldout).double().mean()),
        expected_closer_to_train=t.shape[0] / (t.shape[0] + h.shape[0]),
        exact_duplicate_share=float((d_train == 0).double().mean()),
        near_duplicate_share=float((to_train.max_cosine >= threshold).double().mean()),
        similarity_threshold=threshold,
        suspicious_pairs=pairs,
        memorised=bool(p_value < alpha),
    )


def excess_p_value(share: float, quantile: float, n_generated: int, n_heldout: int) -> float:
    """One-sided p-value of ``share > quantile`` (normal approximation).

    The variance counts both the generated sample (binomial, ``q(1-q)/n_generated``)
    and the threshold itself, an empirical quantile of ``n_heldout`` distances
    (``q(1-q)/n_heldout`` in probability units), so a small held-out set does not
    make chance deviations look significant.
    """
    spread = math.sqrt(quantile * (1 - quantile) * (1 / n_generated + 1 / n_heldout))
    return float(scipy.stats.norm.sf((share - quantile) / spread))
