"""Writing files so that a crash never leaves a half-written one behind."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    mode: str = "wb",
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it over ``path``.

    If the block raises (or the process dies), ``path`` keeps its previous content
    and the temporary file is removed (or, after a hard kill, left as a dot-file).

    Example::

        with atomic_write("out.csv", "w", newline="") as stream:
            frame.to_csv(stream, index=False)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.chmod(temporary, _permissions_for(target))
    try:
        with os.fdopen(handle, mode, encoding=encoding, newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _permissions_for(target: Path) -> int:
    """The target's current mode, or what a plain ``open()`` would give (0o666 less the umask);
    ``mkstemp`` alone would leave every output readable by its owner only."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (benchmark results, evaluation reports)."""
    with atomic_write(path, "w", encoding="utf-8") as stream:
        json.dump(data, stream, indent=2, sort_keys=False, default=_jsonable)
        stream.write("\n")
    return Path(path)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy / torch arrays and scalars
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
