"""Input checks shared by the metrics: one clear ValueError instead of a deep traceback."""

from __future__ import annotations

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray


def as_features(
    x: ArrayLike, name: str, *, min_rows: int = 1, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Return ``x`` as a 2-D floating tensor ``(n_samples, n_features)``.

    Samples of any shape are flattened (``(N, C, H, W)`` becomes ``(N, C*H*W)``).
    Raises ``ValueError`` for empty, non-finite or too-small inputs.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if x.dim() == 0:
        raise ValueError(f"{name} must have a sample dimension, got a scalar")
    if x.dim() == 1:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)}; pass (n_samples, n_features), "
            "e.g. x.reshape(-1, 1) for one feature"
        )
    x = x.reshape(x.shape[0], -1)
    if dtype is not None:
        x = x.to(dtype)
    elif not x.is_floating_point():
        x = x.float()
    if x.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples, got {x.shape[0]}")
    if x.shape[1] == 0:
        raise ValueError(f"{name} has zero features per sample")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values; clean the features first")
    return x


def same_width(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same number of features."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{name_a} has {a.shape[1]} features per sample but {name_b} has {b.shape[1]}; "
            "both must come from the same feature extractor"
        )


def positive_int(value: int, name: str) -> int:
    """Raise ``ValueError`` unless ``value`` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` or ``"auto"`` means CUDA when present, else CPU (the trainer's rule)."""
    from ganforge.core.training.distributed import resolve_device as resolve

    return resolve(device)
