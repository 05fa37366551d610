"""Command-line options derived from a spec dataclass (CleanRL's habit: the spec is the CLI).

Each field of the spec becomes ``--field-name`` with its type, its default
(shown in the help) and its help text from the spec's docstring (the
``Args:`` section, Google style). Flags default to ``None`` ("not given"), so
``merge_options`` layers them once over a ``--config`` file and the spec's
own defaults; the spec validates the values when it is made, so a bad value
is a one-line error before any work.

Example::

    add_spec_options(parser, SynthConfig)            # --epochs, --batch-size, --hidden ...
    options = merge_options(arguments, spec_fields(SynthConfig), {})
    spec = SynthConfig(**options)

A nested spec's fields take a ``prefix`` (``add_spec_options(parser, LossWeights,
prefix="weight_")``: ``--weight-l1``, config key ``weight_l1``) and the command
builds the nested spec from them.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ganforge.apps.common import GIVEN_NONE

NONE_WORDS = ("none", "null")


def spec_fields(spec_type: type, skip: Iterable[str] = (), prefix: str = "") -> tuple[str, ...]:
    """The field names of a spec dataclass, less ``skip``, each after ``prefix``.

    With the same ``skip`` and ``prefix`` these are the ``dest`` names that
    :func:`add_spec_options` gives the flags, and so the ``--config`` keys.
    """
    skipped = set(skip)
    return tuple(prefix + f.name for f in dataclasses.fields(spec_type) if f.name not in skipped)


def add_spec_options(
    parser: argparse.ArgumentParser,
    spec_type: type,
    skip: Iterable[str] = (),
    prefix: str = "",
    aliases: Mapping[str, str] | None = None,
) -> None:
    """Add one option per field of ``spec_type`` (less ``skip``) to ``parser``.

    Args:
        parser: the command's parser.
        spec_type: the spec dataclass.
        skip: fields that get no flag (set by the command or nested specs).
        prefix: put before every field name, in the flag and its ``dest``, so the
            fields of a nested spec do not clash with others: ``prefix="weight_"``
            makes ``--weight-l1`` with ``dest="weight_l1"``.
        aliases: one more spelling of a field's flag, ``{"num_blocks": "--blocks"}``
            (the ``dest`` stays the field's).
    """
    hints = typing.get_type_hints(spec_type)
    docs = field_docs(spec_type)
    skipped = set(skip)
    aliases = aliases or {}
    for field in dataclasses.fields(spec_type):
        if field.name in skipped:
            continue
        dest = prefix + field.name
        flags = ["--" + dest.replace("_", "-")]
        if field.name in aliases:
            flags.append(aliases[field.name])
        text = docs.get(field.name, field.name.replace("_", " "))
        parser.add_argument(
            *flags,
            dest=dest,
            default=None,
            help=f"{text} (default: {_default(field)})".replace("%", "%%"),  # argparse formats
            **_argument(hints[field.name]),
        )


def field_docs(spec_type: type) -> dict[str, str]:
    """``{field: help}`` from the ``Args:`` section of the class docstring."""
    doc = inspect.getdoc(spec_type) or ""
    match = re.search(r"^Args:\n(.*?)(?:\n\S|\Z)", doc, flags=re.S | re.M)
    if not match:
        return {}
    docs: dict[str, str] = {}
    current = None
    for line in match.group(1).splitlines():
        entry = re.match(r"^ {4}(\w[\w, ]*):\s*(.*)$", line)
        if entry:
            names = [n.strip() for n in entry.group(1).split(",")]
            current = names
            for name in names:
                docs[name] = entry.group(2).strip()
        elif current and line.strip():
            for name in current:
                docs[name] = f"{docs[name]} {line.strip()}"
    return {name: _plain_text(text) for name, text in docs.items()}


def _plain_text(text: str) -> str:
    """A docstring entry as one line of terminal text (``None`` reads as none)."""
    text = text.replace("``None``", "none").replace("``", "")
    return " ".join(text.split())


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return "required"


def _argument(hint: Any) -> dict[str, Any]:
    """argparse keywords for a field type: bool, int, float, str, Literal, tuple[int, ...],
    each optionally ``| None`` (then the word ``none`` gives None)."""
    optional, base = _strip_none(hint)
    origin = typing.get_origin(base)
    if base is bool:
        return {"action": argparse.BooleanOptionalAction}
    if origin is typing.Literal:
        return _choices(typing.get_args(base), optional)
    if origin is tuple:
        item = typing.get_args(base)[0]
        return {"nargs": "+", "type": _parser(item, optional), "metavar": item.__name__.upper()}
    return {"type": _parser(base, optional), "metavar": base.__name__.upper()}


def _choices(values: tuple[Any, ...], optional: bool) -> dict[str, Any]:
    """argparse keywords for a ``Literal``: its values; numbers (``Literal[2, 4]``) are
    read as their type first, so ``--scale 2`` is the choice ``2``."""
    kind = type(values[0])
    if kind is str or any(type(value) is not kind for value in values):
        return {"choices": list(values)}
    return {"choices": list(values), "type": _parser(kind, optional)}


def _strip_none(hint: Any) -> tuple[bool, Any]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(args) < len(typing.get_args(hint)):
            return True, args[0]
    return False, hint


def _parser(kind: type, optional: bool) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if optional and text.lower() in NONE_WORDS:
            return GIVEN_NONE
        try:
            return kind(text)
        except ValueError:
            words = {int: "an integer", float: "a number"}.get(kind, kind.__name__)
            raise argparse.ArgumentTypeError(f"must be {words}, got {text!r}") from None

    parse.__name__ = kind.__name__
    return parse
