"""Chunked exact k-nearest-neighbour search that never builds the full distance matrix.

Distances come from one matrix product per block (``|q|^2 + |r|^2 - 2 q.r``), so the
same product also yields the cosine similarities the memorisation audit needs. The
returned distances are recomputed exactly from the found pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from ganforge.core.metrics._validate import (
    ArrayLike,
    as_features,
    positive_int,
    resolve_device,
    same_width,
)

CPU_QUERY_BLOCK = 256


class Neighbours(NamedTuple):
    """Result of :func:`nearest_neighbours` (all tensors on the CPU).

    Attributes:
        distances: ``(n_query, k)`` Euclidean distances, ascending per row.
        indices: ``(n_query, k)`` row indices into ``reference``.
        max_cosine: ``(n_query,)`` largest cosine similarity to any reference row,
            or ``None`` unless ``with_cosine=True``.
        max_cosine_index: ``(n_query,)`` the reference row reaching it, or ``None``.
    """

    distances: torch.Tensor
    indices: torch.Tensor
    max_cosine: torch.Tensor | None = None
    max_cosine_index: torch.Tensor | None = None


def nearest_neighbours(
    query: ArrayLike,
    reference: ArrayLike,
    k: int = 1,
    *,
    chunk_size: int = 2048,
    device: str | torch.device | None = None,
    with_cosine: bool = False,
) -> Neighbours:
    """Exact k nearest neighbours of every ``query`` row among the ``reference`` rows.

    Works block by block (at most ``chunk_size`` x ``chunk_size`` distances at a
    time; on the CPU query blocks of 256 rows) with a running top-k, so memory
    stays ``O(chunk_size^2)`` however large the inputs.

    Args:
        query: ``(n_query, d)`` features (any trailing shape is flattened).
        reference: ``(n_reference, d)`` features.
        k: neighbours per query row (``1 <= k <= n_reference``).
        chunk_size: rows per block on each side; lower it to save memory.
        device: where to compute; ``None``/``"auto"`` picks CUDA when present.
        with_cosine: also return the largest cosine similarity per query row.

    Returns:
        :class:`Neighbours` with distances, indices (and cosine maxima), on the CPU.
    """
    q = as_features(query, "query")
    r = as_features(reference, "reference")
    same_width(q, r, "query", "reference")
    k = positive_int(k, "k")
    chunk_size = positive_int(chunk_size, "chunk_size")
    if k > r.shape[0]:
        raise ValueError(f"k={k} exceeds the {r.shape[0]} reference samples; lower k")
    dev = resolve_device(device)
    dtype = torch.float64 if torch.float64 in (q.dtype, r.dtype) else torch.float32
    r_dev = r.to(dev, dtype)
    raw_sq = (r_dev * r_dev).sum(1)
    frame = _Frame.for_reference(r_dev, raw_sq, with_cosine)
    r_dev = r_dev - frame.offset if frame.offset is not None else r_dev
    r_sq = (r_dev * r_dev).sum(1) if frame.offset is not None else raw_sq

    # Small query blocks keep the score block in cache on CPUs; GPUs prefer big ones.
    q_chunk = chunk_size if dev.type == "cuda" else min(chunk_size, CPU_QUERY_BLOCK)
    parts = []
    for start in range(0, q.shape[0], q_chunk):
        q_blk = q[start : start + q_chunk].to(dev, dtype)
        parts.append(_search_block(q_blk, r_dev, r_sq, frame, k, chunk_size))
    idx = torch.cat([p[0] for p in parts])
    dist = _exact_distances(q, r, idx, chunk_size, dev, dtype)
    dist, order = dist.sort(dim=1)
    idx = idx.gather(1, order)
    if not with_cosine:
        return Neighbours(dist, idx)
    return Neighbours(dist, idx, torch.cat([p[1] for p in parts]), torch.cat([p[2] for p in parts]))


@dataclass
class _Frame:
    """How scores are formed for one reference set.

    When the data sit far from the origin (offset larger than spread), both sets
    are shifted by the reference mean before ``|r|^2 - 2 q.r`` is formed: the
    Euclidean ranking is unchanged and float32 cancellation is avoided. Cosines
    need the unshifted dot products, recovered as ``q.r = q_c.r_c + q_c.m + r.m``.
    """

    offset: torch.Tensor | None
    inv_norm: torch.Tensor | None  # 1 / |r| (unshifted), when cosines are wanted
    norm: torch.Tensor | None  # |r| (unshifted)
    col_term: torch.Tensor | None  # |r_c|^2 + 2 r.m, with an offset

    @staticmethod
    def for_reference(r: torch.Tensor, raw_sq: torch.Tensor, with_cosine: bool) -> _Frame:
        mean = r.mean(0)
        spread = float((raw_sq.mean() - (mean * mean).sum()).clamp_min(0))
        offset = mean if float((mean * mean).sum()) > spread else None
        if not with_cosine:
            return _Frame(offset, None, None, None)
        norm = raw_sq.sqrt()
        col = None
        if offset is not None:
            centred = r - offset
            col = (centred * centred).sum(1) + 2.0 * (r @ offset)
        return _Frame(offset, norm.clamp_min(1e-12).reciprocal(), norm, col)


def _search_block(
    q: torch.Tensor,
    r: torch.Tensor,
    r_sq: torch.Tensor,
    frame: _Frame,
    k: int,
    chunk_size: int,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Running top-k (and max cosine) of one query block over all reference blocks."""
    q_raw = q
    if frame.offset is not None:
        q = q - frame.offset
        row_term = (2.0 * (q @ frame.offset))[:, None]
    r_inv_norm = frame.inv_norm
    n = q.shape[0]
    best = torch.full((n, k), float("inf"), dtype=q.dtype, device=q.device)
    best_idx = torch.zeros((n, k), dtype=torch.long, device=q.device)
    cos_best = torch.full((n,), -float("inf"), dtype=q.dtype, device=q.device)
    cos_idx = torch.zeros((n,), dtype=torch.long, device=q.device)
    score_buf = torch.empty((n, min(chunk_size, r.shape[0])), dtype=q.dtype, device=q.device)
    cos_buf = torch.empty_like(score_buf) if r_inv_norm is not None else None
    for start in range(0, r.shape[0], chunk_size):
        stop = min(start + chunk_size, r.shape[0])
        score = score_buf[:, : stop - start]
        # |r|^2 - 2 q.r: |q|^2 is constant per row, so it does not change the ranking.
        torch.addmm(r_sq[start:stop], q, r[start:stop].T, beta=1.0, alpha=-2.0, out=score)
        if r_inv_norm is not None:
            # (|r|^2 - score) / |r| = 2 q.r / |r|: proportional to the cosine within a row.
            cos = cos_buf[:, : stop - start]
            if frame.offset is None:
                inv = r_inv_norm[start:stop]
                torch.addcmul(frame.norm[start:stop], score, inv, value=-1.0, out=cos)
            else:
                torch.sub(frame.col_term[start:stop], score, out=cos)
                cos.add_(row_term).mul_(r_inv_norm[start:stop])
            val, arg = cos.max(dim=1)
            better = val > cos_best
            cos_best = torch.where(better, val, cos_best)
            cos_idx = torch.where(better, arg + start, cos_idx)
        if k == 1:
            val, arg = score.min(dim=1, keepdim=True)
            better = val < best
            best = torch.where(better, val, best)
            best_idx = torch.where(better, arg + start, best_idx)
        else:
            val, arg = score.topk(min(k, stop - start), dim=1, largest=False)
            merged = torch.cat([best, val], dim=1)
            merged_idx = torch.cat([best_idx, arg + start], dim=1)
            best, pos = merged.topk(k, dim=1, largest=False)
            best_idx = merged_idx.gather(1, pos)
    if r_inv_norm is None:
        return best_idx.cpu(), None, None
    q_norm = q_raw.norm(dim=1)
    cosine = (0.5 * cos_best * q_norm.clamp_min(1e-12).reciprocal()).clamp(-1.0, 1.0)
    # a zero query has no direction: its cosine is 0, not round-off over 1e-12
    cosine = torch.where(q_norm > 0, cosine, torch.zeros_like(cosine))
    return best_idx.cpu(), cosine.cpu(), cos_idx.cpu()


def _exact_distances(
    q: torch.Tensor,
    r: torch.Tensor,
    idx: torch.Tensor,
    chunk_size: int,
    dev: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """``|q_i - r_idx[i, j]|`` computed directly (no cancellation) for the found pairs."""
    out = []
    for start in range(0, q.shape[0], chunk_size):
        q_blk = q[start : start + chunk_size].to(dev, dtype)
        i_blk = idx[start : start + chunk_size]
        diff = q_blk[:, None, :] - r[i_blk].to(dev, dtype)
        out.append(diff.norm(dim=2).cpu())
    return torch.cat(out)


def kth_neighbour_radii(
    features: ArrayLike,
    k: int,
    *,
    chunk_size: int = 2048,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Distance from each sample to its k-th nearest *other* sample in the same set.

    Counts the sample itself as its own first neighbour, exactly as the ``prdc``
    package does (the (k+1)-th smallest distance including the zero self-distance).
    """
    x = as_features(features, "features")
    k = positive_int(k, "k")
    if k + 1 > x.shape[0]:
        raise ValueError(f"k={k} needs at least {k + 1} samples, got {x.shape[0]}")
    found = nearest_neighbours(x, x, k + 1, chunk_size=chunk_size, device=device)
    return found.distances[:, k]
