"""MIDI in and out, the chorales as rolls, the melody-identity split and bad MIDI files."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from ganforge.music import (
    cut_segments,
    estimate_key,
    load_midi_file,
    load_midi_folder,
    melody_identity,
    melody_split,
    roll_notes,
    roll_to_midi,
    write_midi,
)
from ganforge.music.data import scale_pitch_classes

TEMPO = 120.0  # a 16th note lasts 0.125 s


def _midi(
    tracks: list[list[tuple[float, float, int]]], drums: bool = False
) -> pretty_midi.PrettyMIDI:
    midi = pretty_midi.PrettyMIDI(initial_tempo=TEMPO)
    for i, notes in enumerate(tracks):
        instrument = pretty_midi.Instrument(program=52, name=f"voice {i}", is_drum=drums)
        instrument.notes = [pretty_midi.Note(80, p, s, e) for s, e, p in notes]
        midi.instruments.append(instrument)
    return midi


def _notes(midi: pretty_midi.PrettyMIDI) -> list[list[tuple[float, float, int]]]:
    return [sorted((round(n.start, 6), round(n.end, 6), n.pitch) for n in inst.notes)
            for inst in midi.instruments]  # fmt: skip


def test_midi_round_trip_keeps_every_note_and_its_timing(tmp_path):
    # repeated notes (two C5 in a row), a held note, rests, a chord in one track, 16ths
    tracks = [
        [(0.0, 0.5, 72), (0.5, 1.0, 72), (1.0, 1.125, 74), (1.125, 1.25, 76), (1.5, 2.0, 77)],
        [(0.0, 1.0, 67), (1.0, 2.0, 65)],
        [(0.0, 2.0, 60), (0.0, 2.0, 64)],
        [(0.25, 0.75, 48), (1.0, 2.0, 43)],
    ]
    path = tmp_path / "in.mid"
    _midi(tracks).write(str(path))
    piece = load_midi_file(path)
    assert piece.tempo == pytest.approx(TEMPO) and piece.roll.shape == (4, 16, 128)
    # step = 1/16 note = 0.125 s: the C5 pair is two notes of four steps each
    assert roll_notes(piece.roll[0])[:2] == [(0, 4, 72), (4, 8, 72)]
    out = write_midi(piece.roll, tmp_path / "out.mid", tempo=piece.tempo)
    assert _notes(pretty_midi.PrettyMIDI(str(out))) == [
        sorted((s, e, p) for s, e, p in t) for t in tracks
    ]


def test_chorales_become_four_track_rolls_with_keys_and_bars(chorales):
    piece = chorales[0]  # bwv227.1, E minor, no pickup
    assert piece.roll.shape == (4, 304, 128)  # 19 bars of 16 steps
    assert piece.key == 4 + 12 and piece.first_bar == 0
    # a pickup is a whole number of beats: the first full bar starts after it
    firsts = {p.name: p.first_bar for p in chorales}
    assert set(firsts.values()) <= {0, 4, 8, 12} and max(firsts.values()) > 0
    # one monophonic line per voice, soprano above bass at every onset both sound
    sounding = piece.roll > 0
    assert sounding.sum(2).max() == 1
    top = [np.nonzero(s)[0].max() for s in sounding[0] if s.any()]
    assert min(top) >= 60 and max(top) <= 84
    segments = cut_segments(chorales, 35, 48)
    assert segments.rolls.shape[1:] == (4, 64, 48)
    firsts = np.array([chorales[i].first_bar for i in segments.piece])
    assert ((segments.start - firsts) % 16 == 0).all()


def test_the_same_chorale_in_two_files_has_one_melody_and_one_side(chorales):
    ids = {piece.name: piece.melody for piece in chorales}
    assert ids["bach/bwv227.1"] == ids["bach/bwv227.11"]
    assert ids["bach/bwv176.6"] == ids["bach/bwv280"]
    assert len(set(ids.values())) == len(chorales) - 2
    for seed in range(20):
        train, held = melody_split(chorales, 0.3, seed=seed)
        assert sorted(train + held) == list(range(len(chorales))) and held
        for a, b in ((0, 1), (2, 3)):
            assert (a in held) == (b in held), f"seed {seed} split a duplicated chorale"


def test_melody_identity_ignores_transposition():
    roll = np.zeros((4, 32, 128), np.uint8)
    for step, pitch in enumerate([60, 62, 64, 65, 67, 65, 64, 62]):
        roll[0, step * 4, pitch] = 2
        roll[0, step * 4 + 1 : step * 4 + 4, pitch] = 1
    moved = np.roll(roll, 5, axis=2)
    assert melody_identity(roll) == melody_identity(moved)
    other = roll.copy()
    other[0, 4:8] = 0
    other[0, 4, 63] = 2
    assert melody_identity(other) != melody_identity(roll)


def test_key_estimate_of_scales():
    for tonic in (0, 7, 9):
        roll = np.zeros((1, 64, 128), np.uint8)
        degrees = [0, 2, 4, 5, 7, 9, 11, 12, 7, 4, 0, 0]
        for i, d in enumerate(degrees):
            roll[0, i * 4 : i * 4 + 4, 60 + tonic + d] = 1
        assert estimate_key(roll) == tonic
    assert scale_pitch_classes(9 + 12) == (9, 11, 0, 2, 4, 5, 7, 8)


def _bad_files(folder) -> dict[str, object]:
    (folder / "empty.mid").write_bytes(b"")
    (folder / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    _midi([[]] * 4).write(str(folder / "no_notes.mid"))
    _midi([[(0.0, 1.0, 36)]], drums=True).write(str(folder / "drums.mid"))
    _midi([[(0.0, 1.0, 60)]]).write(str(folder / "one_track.mid"))
    return {
        "empty.mid": "empty file",
        "corrupt.mid": "corrupt MIDI file",
        "no_notes.mid": "no notes",
        "drums.mid": "drums only",
        "one_track.mid": "1 pitched track(s) with notes, 4 needed",
    }


def test_bad_midi_files_are_one_line_errors_naming_the_file(tmp_path):
    for name, reason in _bad_files(tmp_path).items():
        with pytest.raises(ValueError) as error:
            load_midi_file(tmp_path / name)
        message = str(error.value)
        assert name in message and reason in message and "\n" not in message


def test_a_folder_skips_and_counts_bad_files_and_refuses_when_none_is_usable(tmp_path):
    bad = _bad_files(tmp_path)
    with pytest.raises(ValueError, match=r"none of its 5 MIDI files is usable"):
        load_midi_folder(tmp_path)
    _midi([[(0.0, 1.0, 72)], [(0.0, 1.0, 67)], [(0.0, 1.0, 60)], [(0.0, 1.0, 48)]]).write(
        str(tmp_path / "good.mid")
    )
    with pytest.warns(UserWarning, match="skipped 5 of 6"):
        pieces, skipped = load_midi_folder(tmp_path)
    assert [p.name for p in pieces] == ["good.mid"] and len(skipped) == len(bad)
    assert "1 empty file" in skipped.summary()


def test_track_selection_by_index_program_and_name(tmp_path):
    midi = _midi([[(0.0, 1.0, 72)], [(0.0, 1.0, 67)], [(0.0, 1.0, 60)], [(0.0, 1.0, 48)]])
    midi.instruments[2].program = 33
    midi.instruments[3].name = "Bass"
    midi.write(str(tmp_path / "a.mid"))
    piece = load_midi_file(tmp_path / "a.mid", tracks=["bass", "program:33", "1", 0])
    assert [roll_notes(t)[0][2] for t in piece.roll] == [48, 60, 67, 72]
    with pytest.raises(ValueError, match="no track 'tenor'"):
        load_midi_file(tmp_path / "a.mid", tracks=["tenor", 0, 1, 2])


def test_roll_to_midi_names_and_programs():
    roll = np.zeros((4, 16, 128), np.uint8)
    roll[:, 0:4, 60] = 1
    midi = roll_to_midi(roll, tempo=60.0)
    assert [i.name for i in midi.instruments] == ["soprano", "alto", "tenor", "bass"]
    assert midi.instruments[0].notes[0].end == pytest.approx(1.0)  # four 16ths at 60 qpm
