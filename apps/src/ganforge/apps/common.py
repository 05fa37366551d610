"""What every domain's command group needs: the group itself, JSON config files, run
options and atomic CSV output."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganforge.apps.errors import UsageError
from ganforge.core.files import atomic_write

DEVICE_HELP = "auto (CUDA when present), cpu, cuda or cuda:N (default: auto)"
Subcommands = argparse._SubParsersAction


def add_command_group(
    subparsers: Subcommands,
    name: str,
    help: str,
    description: str,
    commands: Iterable[Callable[[Subcommands], None]],
) -> None:
    """Add ``ganforge <name>`` with the subcommands each of ``commands`` adds (one
    required subcommand; ``--help`` lists them)."""
    group = subparsers.add_parser(name, help=help, description=description)
    children = group.add_subparsers(
        dest=f"{name}_command", metavar="<subcommand>", parser_class=type(group)
    )
    children.required = True
    for add in commands:
        add(children)


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


class _GivenNone:
    """A flag given as ``none`` on the line (unlike ``None``: a flag not given)."""

    def __repr__(self) -> str:
        return "none"


GIVEN_NONE = _GivenNone()


def merge_options(
    arguments: argparse.Namespace, keys: Iterable[str], defaults: dict[str, Any]
) -> dict[str, Any]:
    """Defaults, overridden by the ``--config`` file, overridden by flags given on the line.

    A flag whose value is ``None`` was not given; one given as ``none``
    (:data:`GIVEN_NONE`, alone or as the only item of a list) sets ``None``.
    """
    keys = tuple(keys)
    options = {**defaults, **read_json_object(getattr(arguments, "config", None), "config", keys)}
    for key in keys:
        flag = getattr(arguments, key, None)
        if flag is not None:
            options[key] = _explicit(flag)
    return options


def _explicit(flag: Any) -> Any:
    if flag is GIVEN_NONE or (isinstance(flag, list) and GIVEN_NONE in flag):
        return None
    return flag


def write_csv(frame: Any, path: Path) -> Path:
    """Write a DataFrame as CSV atomically: never a half-written file."""
    with atomic_write(path, "w", newline="") as stream:
        frame.to_csv(stream, index=False)
    return Path(path)


# ------------------------------------------------------------- argument types
# argparse calls these on the text of a flag; a bad value becomes a one-line
# usage error (exit 2) before any work starts.
def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _parsed(text, int, "an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    """An integer >= 0."""
    value = _parsed(text, int, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite number >= 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def finite_float(text: str) -> float:
    """A finite number (no nan or inf)."""
    value = _parsed(text, float, "a number")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def output_file(text: str) -> Path:
    """A file path to write: not an existing folder."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name")
    return path


def _parsed(text: str, kind: type, what: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


# ------------------------------------------------------- checkpoints and resume
LATEST = "latest.pt"


@dataclass(frozen=True)
class RunOptions:
    """Where a training command keeps its checkpoints and whether it resumes.

    ``resume_from`` is ``run_dir / "latest.pt"`` with ``--resume``, else ``None``.
    """

    run_dir: Path | None
    resume_from: Path | None
    checkpoint_every: int | None


def add_data_source(
    parser: argparse.ArgumentParser,
    choices: Iterable[str],
    embedded_help: str,
    data_help: str,
    flag: str = "--dataset",
) -> None:
    """Add the choice every domain offers, one or the other: an embedded dataset
    (``flag``, one of ``choices``) or ``--data``, the user's own files."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument(flag, choices=tuple(choices), help=embedded_help)
    source.add_argument("--data", type=Path, help=data_help)


def add_device_option(parser: argparse.ArgumentParser, default: str | None = "auto") -> None:
    """Add ``--device`` (:data:`DEVICE_HELP`); ``default=None`` where a ``--config`` file
    may give it (a flag left off the line keeps the file's value)."""
    parser.add_argument("--device", default=default, help=DEVICE_HELP)


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--no-progress``, which hides the command's progress bar."""
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_run_options(parser: argparse.ArgumentParser, default_every: int = 100) -> None:
    """Add --run-dir, --resume and --checkpoint-every to a training command."""
    parser.add_argument(
        "--run-dir",
        type=Path,
        help="folder for training checkpoints (latest.pt, checkpoint_*.pt) and the run log, "
        "so a killed run can continue with --resume",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from RUN_DIR/latest.pt exactly where the killed run stopped "
        "(same data and options)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=positive_int,
        help=f"iterations between checkpoints in --run-dir (default {default_every})",
    )
    parser.set_defaults(_checkpoint_every_default=default_every)


def run_options(arguments: argparse.Namespace) -> RunOptions:
    """Validate the options of :func:`add_run_options` (before any work starts)."""
    run_dir = arguments.run_dir
    every = arguments.checkpoint_every
    if run_dir is None:
        if arguments.resume:
            raise UsageError("--resume needs --run-dir (the folder of the killed run)")
        if every is not None:
            raise UsageError("--checkpoint-every needs --run-dir")
        return RunOptions(None, None, None)
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--run-dir {run_dir} is a file, not a folder")
    resume_from = None
    if arguments.resume:
        resume_from = run_dir / LATEST
        if not resume_from.is_file():
            raise UsageError(f"nothing to resume: {resume_from} does not exist")
    return RunOptions(run_dir, resume_from, every or arguments._checkpoint_every_default)
