"""Checks for a spec dataclass's values: one-line ``ValueError`` messages, the same in
every package.

Example::

    check_positive("lr", self.lr)               # lr must be a finite number > 0, got 0
    check_integer("batch_size", self.batch_size, 1)
    check_fraction("delta", self.delta)          # delta must be in (0, 1), got 1.5
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any


def is_integer(value: Any) -> bool:
    """An int (numpy integers too), not a bool."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A real number (int, float, numpy scalar), not a bool; it may be nan or inf."""
    return isinstance(value, Real) and not isinstance(value, bool)


def check_integer(name: str, value: Any, minimum: int) -> None:
    """``value`` is an integer of at least ``minimum``."""
    if not (is_integer(value) and value >= minimum):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_positive(name: str, value: Any, hint: str = "") -> None:
    """``value`` is a finite number above 0 (``hint`` is added to the message)."""
    if not (is_number(value) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0{hint}, got {value!r}")


def check_at_least(name: str, value: Any, minimum: float) -> None:
    """``value`` is a finite number of at least ``minimum``."""
    if not (is_number(value) and math.isfinite(value) and value >= minimum):
        raise ValueError(f"{name} must be a finite number >= {minimum}, got {value!r}")


UNIT_INTERVALS = {"(0, 1)": (False, False), "[0, 1)": (True, False), "(0, 1]": (False, True),
                  "[0, 1]": (True, True)}  # fmt: skip


def check_fraction(name: str, value: Any, interval: str = "(0, 1)", hint: str = "") -> None:
    """``value`` is a number in the unit ``interval``: ``"(0, 1)"``, ``"[0, 1)"``,
    ``"(0, 1]"`` or ``"[0, 1]"`` (a square bracket takes its end in; ``hint`` is added
    to the message)."""
    if interval not in UNIT_INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(UNIT_INTERVALS)}, got {interval!r}")
    with_low, with_high = UNIT_INTERVALS[interval]
    inside = (
        is_number(value)
        and (value >= 0 if with_low else value > 0)
        and (value <= 1 if with_high else value < 1)
    )
    if not inside:
        raise ValueError(f"{name} must be in {interval}{hint}, got {value!r}")


def check_known(given: Iterable[str], spec_type: type, what: str = "settings") -> None:
    """A one-line error naming the keys of ``given`` that are not fields of the spec
    dataclass ``spec_type``, and the fields there are."""
    names = [f.name for f in dataclasses.fields(spec_type)]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"unknown {what} {unknown}: use {', '.join(names)}")
