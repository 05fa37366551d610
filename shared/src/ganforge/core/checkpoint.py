"""Checkpoints: atomic writes, safe loads, every RNG state, safetensors export.

A checkpoint is a plain dict of tensors and primitives, so it loads with
``torch.load(..., weights_only=True)``: nothing in it is unpickled as an
arbitrary object. It is written to a temporary file in the same folder,
flushed to disk and renamed over the target, so a process killed mid-write
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.core.files import atomic_write


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated or not a ganforge checkpoint."""


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temp file + fsync + rename)."""
    with atomic_write(path) as stream:
        torch.save(state, stream)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``), with a clear error if it is bad."""
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"no checkpoint at {source}")
    try:
        state = torch.load(source, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises many types for corrupt files
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise CheckpointError(
            f"{source} is not a loadable checkpoint ({type(error).__name__}: {first_line})"
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{source} does not hold a checkpoint dict")
    return state


def capture_rng_states() -> dict[str, Any]:
    """The RNG states of torch (CPU and CUDA), numpy and Python, as tensors and ints."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    version, python_state, gauss = random.getstate()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {
            "version": version,
            "state": torch.tensor(python_state, dtype=torch.int64),
            "gauss": gauss,
        },
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`capture_rng_states` returned."""
    torch.set_rng_state(states["torch"])
    numpy_state = states["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached"],
        )
    )
    python_state = states["python"]
    random.setstate(
        (python_state["version"], tuple(python_state["state"].tolist()), python_state["gauss"])
    )
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def export_generator(
    network: nn.Module | dict[str, torch.Tensor],
    path: str | os.PathLike[str],
    metadata: dict[str, str] | None = None,
) -> Path:
    """Export generator weights to a ``.safetensors`` file for inference."""
    from safetensors.torch import save_file

    state = network.state_dict() if isinstance(network, nn.Module) else network
    tensors = {name: value.detach().cpu().contiguous().clone() for name, value in state.items()}
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(target), metadata=metadata or {})
    return target


def load_generator_weights(
    network: nn.Module, path: str | os.PathLike[str], strict: bool = True
) -> nn.Module:
    """Load weights written by :func:`export_generator` (safetensors: no code is executed)."""
    from safetensors.torch import load_file

    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"no weights file at {source}")
    try:
        tensors = load_file(str(source))
    except Exception as error:
        raise CheckpointError(f"{source} is not a safetensors file ({error})") from None
    network.load_state_dict(tensors, strict=strict)
    return network
