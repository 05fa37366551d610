"""Each music metric on hand-made rolls with known values, and the overlap of distributions."""

from __future__ import annotations

import numpy as np
import pytest

from ganforge.music.metrics import (
    compare_sets,
    empty_bar_rate,
    in_key_rate,
    melodic_moves,
    note_length_histogram,
    notes_of,
    overlap_and_kl,
    pitch_class_histogram,
    pitch_classes_per_bar,
    pitch_range,
    polyphony,
    qualified_note_rate,
    tonal_distance,
)

LOW = 48  # row 0 is C3


def _roll(notes, tracks=4, steps=64, pitches=48):
    """``notes``: (track, start, length, midi pitch)."""
    roll = np.zeros((tracks, steps, pitches), bool)
    for track, start, length, pitch in notes:
        roll[track, start : start + length, pitch - LOW] = True
    return roll


# C5, G4 and C4 held for a bar in three tracks, then the soprano alone: E, D as 8ths,
# F# for one 16th, and three empty bars in the lower tracks
ROLL = _roll([
    (0, 0, 16, 72), (1, 0, 16, 67), (2, 0, 16, 60),
    (0, 16, 2, 76), (0, 18, 2, 74), (0, 20, 1, 66),
])  # fmt: skip


def test_notes_are_runs_per_track_and_pitch():
    notes = notes_of(ROLL, LOW)
    assert sorted(zip(notes.track, notes.start, notes.length, notes.pitch, strict=True)) == [
        (0, 0, 16, 72), (0, 16, 2, 76), (0, 18, 2, 74), (0, 20, 1, 66),
        (1, 0, 16, 67), (2, 0, 16, 60),
    ]  # fmt: skip


def test_each_metric_has_its_hand_computed_value():
    histogram = pitch_class_histogram(ROLL, LOW)
    assert histogram[[0, 2, 4, 6, 7]].tolist() == pytest.approx([2 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6])
    assert pitch_range(ROLL, LOW) == 76 - 60
    # steps 0-15: three pitches; steps 16-20: one
    assert polyphony(ROLL, LOW) == pytest.approx((16 * 3 + 5 * 1) / 21)
    lengths = note_length_histogram(ROLL, LOW)
    assert lengths[[0, 1, 7]].tolist() == pytest.approx([1 / 6, 2 / 6, 3 / 6])  # 1, 2, 16 steps
    assert empty_bar_rate(ROLL, LOW) == pytest.approx((2 + 3 + 3 + 4) / 16)
    # bar 1: C G C (two classes); bar 2: E D F#; bars 3-4: nothing
    assert pitch_classes_per_bar(ROLL, LOW) == pytest.approx((2 + 3 + 0 + 0) / 4)
    assert qualified_note_rate(ROLL, LOW) == pytest.approx(5 / 6)
    assert in_key_rate(ROLL, LOW, key=0) == pytest.approx(5 / 6)  # F# is not in C major
    assert in_key_rate(ROLL, LOW, key=7) == pytest.approx(1.0)  # G major holds all six


def test_tonal_distance_of_unison_and_of_a_tritone():
    same = _roll([(0, 0, 16, 72), (1, 0, 16, 60)])
    assert tonal_distance(same, LOW) == pytest.approx(0.0)
    tritone = _roll([(0, 0, 16, 66), (1, 0, 16, 60)])
    fifth = _roll([(0, 0, 16, 67), (1, 0, 16, 60)])
    assert tonal_distance(tritone, LOW) > tonal_distance(fifth, LOW) > 0
    # the fifth's centroids (Harte et al.): distance computed by hand
    angles = lambda p: np.array([  # noqa: E731
        np.sin(p * 7 * np.pi / 6), np.cos(p * 7 * np.pi / 6), np.sin(p * 3 * np.pi / 2),
        np.cos(p * 3 * np.pi / 2), 0.5 * np.sin(p * 2 * np.pi / 3), 0.5 * np.cos(p * 2 * np.pi / 3),
    ])  # fmt: skip
    assert tonal_distance(fifth, LOW) == pytest.approx(np.linalg.norm(angles(7) - angles(0)))


def test_overlap_area_and_kl_of_known_distributions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=4000), rng.normal(size=4000)
    overlap, kl = overlap_and_kl(a, b)
    assert overlap > 0.95 and kl < 0.01
    overlap, kl = overlap_and_kl(a, b + 10)
    assert overlap < 0.01 and kl > 5
    # two unit normals one standard deviation apart overlap by 2 * Phi(-0.5) = 0.617
    overlap, _ = overlap_and_kl(a, b + 1)
    assert overlap == pytest.approx(0.617, abs=0.03)


def test_a_set_against_itself_overlaps_and_a_silent_set_does_not():
    rng = np.random.default_rng(1)
    rolls = rng.random((60, 4, 64, 48)) < 0.03
    same = compare_sets(rolls[:30], rolls[30:], LOW)
    assert all(m["overlap_area"] > 0.6 for m in same.values())
    shifted = np.zeros_like(rolls[:30])
    shifted[:, :, :, :4] = rolls[:30, :, :, :4]  # low register only: other ranges, fewer notes
    other = compare_sets(shifted, rolls[30:], LOW)
    assert other["pitch_range"]["overlap_area"] < same["pitch_range"]["overlap_area"]


def test_melodic_moves_counts_steps_and_leaps_between_each_voices_notes():
    rolls = np.zeros((2, 4, 64, 24), bool)
    for i, pitch in enumerate([0, 2, 3, 10, 5]):  # moves 2, 1, 7, 5
        rolls[0, 0, 8 * i : 8 * i + 4, pitch] = True  # rests between the notes
    rolls[0, 1, 0:8, 12] = True  # the alto's one note: no move, and none to the soprano's
    rolls[1, 3, 0:4, 7] = True  # bass: 7 -> 7 after a rest (0) -> 10 (3)
    rolls[1, 3, 8:12, 7] = True
    rolls[1, 3, 12:16, 10] = True
    moves = melodic_moves(rolls)
    assert moves["moves"] == 6
    assert moves["step_share"] == pytest.approx(2 / 6)
    assert moves["leap_share"] == pytest.approx(2 / 6)
    assert moves["mean_move"] == pytest.approx((2 + 1 + 7 + 5 + 0 + 3) / 6)
    silent = melodic_moves(np.zeros((1, 4, 64, 24), bool))
    assert silent == {"moves": 0, "step_share": 0.0, "leap_share": 0.0, "mean_move": 0.0}
