"""Writing files so that a crash never leaves a half-written one behind."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
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
    and the temporary file is removed (or, after a hard kill, left as a dot-file that
    :func:`remove_stale_temporaries` clears).

    Example::

        with atomic_write("out.csv", "w", newline="") as stream:
            frame.to_csv(stream, index=False)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=_temporary_prefix(target.name), dir=target.parent)
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


def _temporary_prefix(name: str) -> str:
    """What the temporary file of a write to ``name`` starts with: ``.name.``."""
    return f".{name}."


# ``tempfile.mkstemp`` appends eight characters of this alphabet to the prefix.
_TEMPORARY_TAIL = r"[a-z0-9_]{8}"


def remove_stale_temporaries(folder: str | os.PathLike[str], targets: Iterable[str]) -> list[Path]:
    """Delete the temporary files that killed :func:`atomic_write` calls left in ``folder``.

    Only regular files named like the temporary of a write to one of ``targets``
    (regular expressions that must match a whole target name, e.g. ``r"latest\\.pt"``)
    are removed: ``.latest.pt.k3x9_a2q`` for ``latest.pt``. Anything else, other
    dot-files included, stays. Call it only while no write into ``folder`` is under
    way (the trainer does so when it starts).

    Returns:
        The paths removed (none when ``folder`` does not exist).
    """
    pattern = _temporary_pattern(targets)
    directory = Path(folder)
    if not directory.is_dir():
        return []
    removed = []
    for entry in sorted(directory.iterdir()):
        if pattern.fullmatch(entry.name) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _temporary_pattern(targets: Iterable[str]) -> re.Pattern[str]:
    """Names of the temporary files of writes to ``targets``: ``.{target}.{8 characters}``
    (the form :func:`_temporary_prefix` and ``mkstemp`` give)."""
    names = "|".join(f"(?:{target})" for target in targets)
    if not names:
        raise ValueError("remove_stale_temporaries needs at least one target name pattern")
    return re.compile(rf"\.(?:{names})\.{_TEMPORARY_TAIL}")


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


@contextmanager
def atomic_files(
    targets: dict[str, str | os.PathLike[str]],
) -> Iterator[dict[str, Path]]:
    """Outputs that must appear together (an image, its maps and its report).

    Yields ``{key: temporary path}`` beside each target, keeping the target's
    suffixes (``.nii.gz``: libraries that pick a format from the name still
    do). When the block ends without error every temporary is fsynced and
    renamed over its target; when it raises, every temporary is removed and no
    target changes.

    Example::

        with atomic_files({"image": "sr.nii.gz", "report": "sr_report.json"}) as tmp:
            nib.save(image, tmp["image"])
            tmp["report"].write_text(json.dumps(metrics))
    """
    paths = {key: Path(target) for key, target in targets.items()}
    temporaries: dict[str, Path] = {}
    try:
        for key, target in paths.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(
                prefix=_temporary_prefix(target.name),
                suffix="".join(target.suffixes),
                dir=target.parent,
            )
            os.close(handle)
            os.chmod(name, _permissions_for(target))
            temporaries[key] = Path(name)
        yield dict(temporaries)
        for key, target in paths.items():
            _fsync_file(temporaries[key])
            os.replace(temporaries[key], target)
        for folder in {target.parent for target in paths.values()}:
            _fsync_directory(folder)
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as stream:
        os.fsync(stream.fileno())


def cache_dir() -> Path:
    """Where ganforge caches what it builds once (extractor weights, rendered corpora):
    ``$GANFORGE_CACHE`` if set, else ``~/.cache/ganforge``."""
    env = os.environ.get("GANFORGE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ganforge"


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
