"""Target models: the embedded defaults (trained once, cached) and the user's own files.

Embedded: :func:`embedded_target` trains a :class:`~ganforge.robustness.model.RobustClassifier`
(a small CNN, standard training) on the training part of an embedded split the
first time and keeps its model file in ``$GANFORGE_CACHE/robustness/`` (default
``~/.cache/ganforge``); later calls load it with ``weights_only=True``. Training
is seeded, so every machine builds the same model; in eval mode it is deterministic.

The user's model (:func:`load_target`): a TorchScript file, a ganforge
``RobustClassifier`` model file (a defended model from ``train-defence``), or a
state dict (``torch.save(model.state_dict())``) loaded into an architecture of
:data:`~ganforge.robustness.networks.ARCHITECTURES`. Nothing is unpickled:
state dicts and model files load with ``weights_only=True``.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.core.checkpoint import CheckpointError, load_checkpoint
from ganforge.core.files import cache_dir
from ganforge.core.training.distributed import resolve_device
from ganforge.robustness.data import load_embedded
from ganforge.robustness.model import ClassifierSpec, RobustClassifier
from ganforge.robustness.networks import build_architecture

PathLike = str | os.PathLike[str]
TARGET_VERSION = 1
# the embedded targets' training: standard (clean) training, seeded
TARGET_SPECS = {
    "mnist": ClassifierSpec(method="standard", iterations=1200, seed=0, device="cpu"),
    "digits": ClassifierSpec(
        method="standard", iterations=600, batch_size=64, seed=0, device="cpu"
    ),
}


def target_path(name: str) -> Path:
    """Where the embedded target ``name`` is cached."""
    return cache_dir() / "robustness" / f"{name}_target_v{TARGET_VERSION}.pt"


def embedded_classifier(name: str = "mnist", progress: bool = False) -> RobustClassifier:
    """The embedded target as a fitted :class:`RobustClassifier` (trained on first use)."""
    if name not in TARGET_SPECS:
        raise ValueError(
            f"unknown embedded target {name!r}; choose one of: {', '.join(TARGET_SPECS)}"
        )
    path = target_path(name)
    if path.is_file():
        try:
            return RobustClassifier.load(path, "cpu")
        except CheckpointError:
            pass  # a damaged cache file is rebuilt
    split = load_embedded(name)
    model = RobustClassifier(TARGET_SPECS[name]).fit(
        split.x_train, split.y_train, progress=progress
    )
    model.save(path)
    return model


def embedded_target(name: str = "mnist") -> nn.Module:
    """The embedded target network (images -> logits), in eval mode, on the CPU."""
    return embedded_classifier(name).network.eval()


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.split("/", 1)[-1].startswith("code/") for name in archive.namelist())


def load_target(
    path: PathLike,
    *,
    architecture: str | None = None,
    image_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    options: dict[str, Any] | None = None,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """The user's classifier from ``path`` in eval mode on ``device`` (see the module docstring).

    A state dict needs ``architecture``, ``image_shape`` ``(C, H, W)`` and
    ``num_classes`` (and ``options`` of the architecture, e.g. ``{"width": 16}``).
    Every problem is a one-line ``ValueError``.
    """
    target = resolve_device(device)
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such model file: {path}")
    if _is_torchscript(path):
        try:
            with warnings.catch_warnings():  # torch 2.10+ calls TorchScript deprecated
                warnings.simplefilter("ignore", FutureWarning)
                return torch.jit.load(str(path), map_location=target).eval()
        except (RuntimeError, ValueError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ValueError(f"{path} is not a loadable TorchScript model: {first}") from None
    try:
        state = load_checkpoint(path, map_location="cpu")
    except CheckpointError as error:
        raise ValueError(f"{error} (give a TorchScript file or a state dict)") from None
    if isinstance(state, dict) and "ganforge_model" in state:
        try:
            return RobustClassifier.load(path, target).network.eval()
        except CheckpointError as error:
            raise ValueError(str(error)) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} holds no state dict of tensors (give a TorchScript file)")
    if architecture is None or image_shape is None or num_classes is None:
        raise ValueError(
            f"{path} is a state dict: name its architecture, image shape and number of classes"
        )
    channels, _, size = image_shape
    network = build_architecture(architecture, channels, size, num_classes, **(options or {}))
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        first = (str(error).strip().splitlines() or ["mismatch"])[0]
        raise ValueError(
            f"{path} does not fit architecture {architecture!r} with {num_classes} classes on "
            f"{channels}x{size}x{size} images: {first}"
        ) from None
    return network.to(target).eval()
