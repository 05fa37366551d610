"""A handful of music21's bundled chorales, parsed once per test session (a few seconds)."""

from __future__ import annotations

import warnings

import pytest

# two pairs of files holding the same chorale, and six others
CHORALES = (
    "bach/bwv227.1",
    "bach/bwv227.11",
    "bach/bwv176.6",
    "bach/bwv280",
    "bach/bwv10.7",
    "bach/bwv101.7",
    "bach/bwv102.7",
    "bach/bwv103.6",
    "bach/bwv104.6",
    "bach/bwv108.6",
)


@pytest.fixture(scope="session")
def chorales():
    from music21 import corpus

    from ganforge.music.data import score_to_piece

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [score_to_piece(corpus.parse(name), name) for name in CHORALES]
