"""Feature-extractor registry: domains register theirs, metrics look them up by name.

An extractor is any callable mapping a batch ``(N, ...)`` to features ``(N, d)``
(usually an ``nn.Module`` in eval mode). Expensive extractors register a
*factory* that runs once, on first use::

    register_extractor("pianoroll", my_pianoroll_features)
    register_extractor("mel", build_mel_encoder, factory=True)
    fid(real, fake, extractor="mel")

The core registers ``"mnist_cnn"`` (offline, trained on first use and cached) and
``"inception"`` (Inception-v3 pool features from a local weights file).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch

Extractor = Callable[[torch.Tensor], torch.Tensor]

_REGISTRY: dict[str, Extractor] = {}
_FACTORIES: dict[str, Callable[[], Extractor]] = {}
_LOCK = threading.Lock()


def register_extractor(
    name: str,
    fn: Extractor | Callable[[], Extractor],
    *,
    factory: bool = False,
    overwrite: bool = False,
) -> None:
    """Register a feature extractor under ``name``.

    Args:
        name: the name metrics and configs use (``"mel"``, ``"returns"``...).
        fn: the extractor ``fn(batch) -> (N, d)``, or with ``factory=True`` a
            zero-argument function that builds it on first :func:`get_extractor`.
        factory: treat ``fn`` as a factory (lazy construction, built once).
        overwrite: replace an existing registration instead of raising.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"extractor name must be a non-empty string, got {name!r}")
    if not callable(fn):
        raise ValueError(f"extractor {name!r} must be callable, got {type(fn).__name__}")
    with _LOCK:
        if not overwrite and (name in _REGISTRY or name in _FACTORIES):
            raise ValueError(
                f"feature extractor {name!r} is already registered; "
                "pass overwrite=True to replace it"
            )
        _REGISTRY.pop(name, None)
        _FACTORIES.pop(name, None)
        if factory:
            _FACTORIES[name] = fn
        else:
            _REGISTRY[name] = fn


def get_extractor(name: str) -> Extractor:
    """The extractor registered under ``name`` (built now if it was registered lazily)."""
    with _LOCK:
        if name in _REGISTRY:
            return _REGISTRY[name]
        if name not in _FACTORIES:
            known = ", ".join(sorted({*_REGISTRY, *_FACTORIES})) or "none"
            raise ValueError(
                f"unknown feature extractor {name!r}; registered: {known}. "
                "Add one with ganforge.core.metrics.register_extractor(name, fn)"
            )
        build = _FACTORIES[name]
    extractor = build()
    with _LOCK:
        if _FACTORIES.get(name) is build:
            _REGISTRY[name] = extractor
            del _FACTORIES[name]
    return extractor


def list_extractors() -> list[str]:
    """Names of all registered extractors, sorted."""
    with _LOCK:
        return sorted({*_REGISTRY, *_FACTORIES})


def unregister_extractor(name: str) -> None:
    """Remove ``name`` from the registry (no error if it is absent)."""
    with _LOCK:
        _REGISTRY.pop(name, None)
        _FACTORIES.pop(name, None)
