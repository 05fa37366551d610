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
from ganforge.core.settings import check_fraction


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
        views: rows per sample in ``generated`` and ``heldout`` (see
            :func:`memorisation_audit`); every per-sample figure is the best over them.
        max_train_cosine_index: ``(n_generated,)`` the training row of ``max_train_cosine``.
        max_train_cosine_view: ``(n_generated,)`` the view that reached it.
        heldout_max_train_cosine: ``(n_heldout,)`` each held-out sample's largest
            cosine similarity to the training set: the reference for ``max_train_cosine``.
        heldout_near_duplicate_share: share of held-out samples at or above
            ``similarity_threshold``: what fresh data scores.
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
    views: int = 1
    max_train_cosine_index: torch.Tensor | None = None
    max_train_cosine_view: torch.Tensor | None = None
    heldout_max_train_cosine: torch.Tensor | None = None
    heldout_near_duplicate_share: float | None = None

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
            "heldout_near_duplicate_share": self.heldout_near_duplicate_share,
            "views": self.views,
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
    views: int = 1,
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
        views: how many consecutive rows of ``generated`` and of ``heldout`` are
            views of one sample (its 12 transpositions, its crops...); each
            sample's distance to the training set is the nearest over its views
            and its cosine the largest, so the audit is invariant to whatever the
            views enumerate. The distance to the held-out set uses each held-out
            sample's first view. 1 (the default): one row per sample.

    Returns:
        :class:`MemorisationReport`.
    """
    views = positive_int(views, "views")
    g = as_features(generated, "generated")
    t = as_features(train, "train")
    h = as_features(heldout, "heldout", min_rows=20 * views)
    for name, rows in (("generated", g), ("heldout", h)):
        if rows.shape[0] % views:
            raise ValueError(f"{name} has {rows.shape[0]} rows, not a multiple of views={views}")
    same_width(g, t, "generated", "train")
    same_width(h, t, "heldout", "train")
    k = min(positive_int(k, "k"), g.shape[0] // views)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold is a cosine similarity in (0, 1], got {threshold}")
    check_fraction("quantile", quantile)

    search = {"chunk_size": chunk_size, "device": device}
    to_train = nearest_neighbours(g, t, 1, with_cosine=True, **search)
    to_heldout = nearest_neighbours(g, h[::views], 1, **search)
    heldout_found = nearest_neighbours(h, t, 1, with_cosine=True, **search)
    reference, _ = _best_view(heldout_found.distances[:, 0], views, largest=False)
    heldout_cosine, _ = _best_view(heldout_found.max_cosine, views, largest=True)

    d_train, view_d = _best_view(to_train.distances[:, 0], views, largest=False)
    d_heldout, _ = _best_view(to_heldout.distances[:, 0], views, largest=False)
    cosine, view_c = _best_view(to_train.max_cosine, views, largest=True)
    rows = torch.arange(len(d_train)) * views
    nn_index = to_train.indices[rows + view_d, 0]
    cosine_index = to_train.max_cosine_index[rows + view_c]
    cut = float(torch.quantile(reference.double(), quantile))
    below = int((d_train < cut).sum())
    share_below = below / d_train.numel()
    p_value = excess_p_value(share_below, quantile, d_train.numel(), reference.numel())
    order = d_train.argsort()[:k]
    pairs = [(int(i), int(nn_index[i]), float(d_train[i])) for i in order]
    return MemorisationReport(
        nn_train_distance=d_train,
        nn_train_index=nn_index,
        nn_heldout_distance=d_heldout,
        heldout_nn_train_distance=reference,
        max_train_cosine=cosine,
        distance_threshold=cut,
        share_below_threshold=share_below,
        expected_share=quantile,
        p_value=p_value,
        share_closer_to_train=float((d_train < d_heldout).double().mean()),
        expected_closer_to_train=t.shape[0] / (t.shape[0] + h.shape[0]),
        exact_duplicate_share=float((d_train == 0).double().mean()),
        near_duplicate_share=float((cosine >= threshold).double().mean()),
        similarity_threshold=threshold,
        suspicious_pairs=pairs,
        memorised=bool(p_value < alpha),
        views=views,
        max_train_cosine_index=cosine_index,
        max_train_cosine_view=view_c,
        heldout_max_train_cosine=heldout_cosine,
        heldout_near_duplicate_share=float((heldout_cosine >= threshold).double().mean()),
    )


def _best_view(
    values: torch.Tensor, views: int, *, largest: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sample, the best of its ``views`` consecutive values and which view gave it."""
    grouped = values.reshape(-1, views)
    best = grouped.max(dim=1) if largest else grouped.min(dim=1)
    return best.values, best.indices


def excess_p_value(share: float, quantile: float, n_generated: int, n_heldout: int) -> float:
    """One-sided p-value of ``share > quantile`` (normal approximation).

    The variance counts both the generated sample (binomial, ``q(1-q)/n_generated``)
    and the threshold itself, an empirical quantile of ``n_heldout`` distances
    (``q(1-q)/n_heldout`` in probability units), so a small held-out set does not
    make chance deviations look significant.
    """
    spread = math.sqrt(quantile * (1 - quantile) * (1 / n_generated + 1 / n_heldout))
    return float(scipy.stats.norm.sf((share - quantile) / spread))
