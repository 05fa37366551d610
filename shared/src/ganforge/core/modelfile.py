"""The model file: one format for every package's fitted model.

A model file is a dict of tensors, strings and numbers (so it loads with
``torch.load(..., weights_only=True)`` and nothing is unpickled):

- ``ganforge_model``: the kind, ``"<package>.<Class>"`` (``"tabular.DPTabularGAN"``);
- ``format_version``: :data:`FORMAT_VERSION` of the writer;
- ``spec``: the model's settings as JSON text (plain data);
- ``state``: ``{network name: state_dict}``;
- ``extra``: tensors and primitives the model needs besides its networks
  (scalers, schemas, privacy reports), JSON text for nested plain data;
- ``versions``: JSON text with the writing library versions.

Every problem is a :class:`~ganforge.core.checkpoint.CheckpointError` with a
one-line message: a missing or truncated file, a file of another kind, a newer
format, a missing key.

Example::

    save_model("m.pt", "tabular.DPTabularGAN", {"epsilon": 1.0}, {"G": net.state_dict()})
    model = load_model("m.pt", "tabular.DPTabularGAN")
    net.load_state_dict(model.state["G"])
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganforge.core import __version__
from ganforge.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

FORMAT_VERSION = 1
REQUIRED = ("ganforge_model", "format_version", "spec", "state", "extra", "versions")


@dataclass
class ModelFile:
    """What :func:`load_model` read: the spec as plain data, state dicts and extras."""

    kind: str
    spec: dict[str, Any]
    state: dict[str, dict[str, torch.Tensor]]
    extra: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


def save_model(
    path: str | os.PathLike[str],
    kind: str,
    spec: dict[str, Any],
    state: dict[str, dict[str, torch.Tensor]],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a model file atomically (see the module docstring for its layout)."""
    payload = {
        "ganforge_model": kind,
        "format_version": FORMAT_VERSION,
        "spec": json.dumps(spec),
        "state": {name: _cpu(values) for name, values in state.items()},
        "extra": dict(extra or {}),
        "versions": json.dumps(library_versions()),
    }
    return save_checkpoint(path, payload)


def require_kind(found: str, kind: str | tuple[str, ...], path: str | os.PathLike[str]) -> None:
    """A one-line :class:`CheckpointError` unless a model file of kind ``found`` is of
    ``kind`` (or one of several kinds); ``path`` names the file."""
    kinds = (kind,) if isinstance(kind, str) else kind
    if found not in kinds:
        raise CheckpointError(f"{path} holds a {found} model, not a {' or '.join(kinds)} model")


def load_model(
    path: str | os.PathLike[str], kind: str | tuple[str, ...], map_location: Any = "cpu"
) -> ModelFile:
    """Read a model file of ``kind`` (or of one of several kinds, for a command that
    accepts more than one; ``ModelFile.kind`` says which) safely, with a one-line error
    for anything else."""
    raw = load_checkpoint(path, map_location=map_location)
    found = raw.get("ganforge_model")
    if not isinstance(found, str):
        raise CheckpointError(f"{path} is not a ganforge model file")
    version = raw.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has model format {version}, newer than this ganforge reads "
            f"({FORMAT_VERSION}): upgrade ganforge"
        )
    require_kind(found, kind, path)  # after the version: a newer format may name kinds otherwise
    missing = [key for key in REQUIRED if key not in raw]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}: the model file is damaged")
    try:
        spec, versions = json.loads(raw["spec"]), json.loads(raw["versions"])
    except (TypeError, json.JSONDecodeError):
        raise CheckpointError(f"{path} has an unreadable spec: the model file is damaged") from None
    return ModelFile(found, spec, raw["state"], raw["extra"], versions, version)


def library_versions() -> dict[str, str]:
    """The versions a model file records (for a user comparing environments)."""
    return {
        "ganforge_core": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _cpu(values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value.detach().cpu() for key, value in values.items()}
