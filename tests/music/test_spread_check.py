"""The in-key rate and the voice ranges of a set against the human sets' spread."""

from __future__ import annotations

import numpy as np

from ganforge.music import spread_check
from ganforge.music.evaluate import RANGE_MARGIN

LOW = 35
SATB = [(62, 79), (57, 72), (50, 67), (38, 62)]  # lowest and highest pitch, all in C major
C_MAJOR = [0, 2, 4, 5, 7, 9, 11]


def _set(ranges, n=20):
    """``n`` segments in which every voice climbs a C major scale from its lowest pitch to its
    highest (one pitch per four steps), with both ends sounding: every segment's range of
    each voice is exactly ``ranges``."""
    rolls = np.zeros((n, 4, 64, 48), bool)
    for track, (low, high) in enumerate(ranges):
        inside = [p for p in range(low + 1, high) if p % 12 in C_MAJOR]
        pitches = [low, *inside, high][:16]
        pitches[-1] = high
        for i, pitch in enumerate(pitches):
            rolls[:, track, 4 * i : 4 * i + 4, pitch - LOW] = True
    return rolls


def _moved(ranges, voice, end, by):
    out = [list(r) for r in ranges]
    out[voice][end] += by
    return out


def test_a_set_with_the_human_ranges_is_within_the_spread():
    check = spread_check(_set(SATB), _set(SATB), LOW)
    assert check["voice_ranges"] == [[float(a), float(b)] for a, b in SATB]
    assert check["human_voice_ranges"] == check["voice_ranges"]
    assert check["voice_ranges_within_human_spread"]
    bounds = np.array(check["voice_range_bounds"])  # (voices, ends, lower / upper)
    assert bounds.shape == (4, 2, 2)
    assert bounds[1, 0].tolist() == [57 - RANGE_MARGIN, 57 + RANGE_MARGIN]


def test_a_voice_beyond_the_margin_fails_and_one_at_it_passes():
    alto_low = _set(_moved(SATB, voice=1, end=0, by=-(RANGE_MARGIN + 1)))
    assert not spread_check(alto_low, _set(SATB), LOW)["voice_ranges_within_human_spread"]
    at_margin = _set(_moved(SATB, voice=3, end=1, by=RANGE_MARGIN))
    assert spread_check(at_margin, _set(SATB), LOW)["voice_ranges_within_human_spread"]


def test_the_training_set_widens_the_spread_to_what_both_human_sets_give():
    held, train = _set(SATB), _set(_moved(SATB, voice=1, end=1, by=5))  # alto up to 77
    generated = _set(_moved(SATB, voice=1, end=1, by=7))  # alto up to 79
    alone = spread_check(generated, held, LOW)
    assert not alone["voice_ranges_within_human_spread"]
    assert "training_voice_ranges" not in alone
    both = spread_check(generated, held, LOW, train=train)
    assert both["voice_ranges_within_human_spread"]
    assert both["training_voice_ranges"][1] == [57.0, 77.0]
    assert both["voice_range_bounds"][1][1] == [72 - RANGE_MARGIN, 77 + RANGE_MARGIN]
    beyond = _set(_moved(SATB, voice=1, end=1, by=9))  # 81: beyond 77 + 3
    assert not spread_check(beyond, held, LOW, train=train)["voice_ranges_within_human_spread"]


def test_a_silent_voice_is_not_within_the_spread():
    generated = _set(SATB)
    generated[:, 2] = False
    assert not spread_check(generated, _set(SATB), LOW)["voice_ranges_within_human_spread"]


def test_the_in_key_rate_against_the_held_out_segments_5th_to_95th_percentiles():
    held = _set(SATB)
    check = spread_check(held, held, LOW)
    assert check["in_key_rate"] == 1.0  # every note is in C major
    assert check["human_in_key_rate_5_95"] == [1.0, 1.0]
    assert check["in_key_within_human_spread"]
    chromatic = held.copy()
    chromatic[:, 0, :, :] = False
    chromatic[:, 0, :, 66 - LOW] = True  # the soprano holds F#, outside C major
    assert spread_check(chromatic, held, LOW)["in_key_rate"] < 1.0
    assert not spread_check(chromatic, held, LOW)["in_key_within_human_spread"]
