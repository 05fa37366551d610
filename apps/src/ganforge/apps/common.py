"""What every domain's command group needs: JSON config files and atomic CSV output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ganforge.apps.errors import UsageError
from ganforge.core.files import atomic_write


def read_json_object(
    path: Path | None, what: str = "config", allowed: Iterable[str] | None = None
) -> dict[str, Any]:
    """Read a JSON object from ``path`` (``{}`` when None), with one-line errors.

    Args:
        path: the file; ``None`` means no file was given.
        what: how the error messages name the file ("config", "schema"...).
        allowed: the keys the object may hold; others are an error.
    """
    if path is None:
        return {}
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no such {what} file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{what} {path} is a folder, not a JSON file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path} is not a text file") from None
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{what} {path} is not valid JSON: {error.msg} (line {error.lineno})"
        ) from None
    if not isinstance(value, dict):
        raise UsageError(f"{what} {path} must hold a JSON object")
    if allowed is not None:
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise UsageError(f"unknown {what} keys {unknown}: use {', '.join(sorted(allowed))}")
    return value


def merge_options(
    arguments: argparse.Namespace, keys: Iterable[str], defaults: dict[str, Any]
) -> dict[str, Any]:
    """Defaults, overridden by the ``--config`` file, overridden by flags given on the line."""
    keys = tuple(keys)
    options = {**defaults, **read_json_object(getattr(arguments, "config", None), "config", keys)}
    for key in keys:
        flag = getattr(arguments, key, None)
        if flag is not None:
            options[key] = flag
    return options


def write_csv(frame: Any, path: Path) -> Path:
    """Write a DataFrame as CSV atomically: never a half-written file."""
    with atomic_write(path, "w", newline="") as stream:
        frame.to_csv(stream, index=False)
    return Path(path)
