"""Bad input for `ganforge music ...` (see test_cli_bad_input.py)."""

import json
from pathlib import Path

TRAIN = "music train --out {out} --no-progress "
GENERATE = "music generate --out {out} --no-progress "
AUDIT = "music audit --out {out} --no-progress "
EVAL = "music evaluate --out {out} --no-progress "


def _four_track_midi(path: Path, first_pitch: int, bars: int = 8, step: int = 2) -> Path:
    """A four-track MIDI file of quarter notes climbing by ``step`` semitones (within an
    octave) from ``first_pitch`` in the top track."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    for track, drop in enumerate((0, 5, 12, 24)):
        instrument = pretty_midi.Instrument(program=52, name=f"voice {track}")
        for beat in range(4 * bars):
            pitch = first_pitch - drop + (beat * step) % 12
            instrument.notes.append(pretty_midi.Note(80, pitch, beat * 0.5, beat * 0.5 + 0.5))
        midi.instruments.append(instrument)
    midi.write(str(path))
    return path


def _model(path: Path, condition: str) -> Path:
    """A valid (untrained) model file of tiny networks."""
    from ganforge.music import MusicGAN

    model = MusicGAN(condition=condition, generator_width=8, critic_width=4, z_dim=4, device="cpu")
    model.generator, model.critic = model._build()
    return model.save(path)


def files(tmp: Path) -> dict[str, Path]:
    made: dict[str, Path] = {}
    midis = tmp / "midis"
    midis.mkdir()
    for i, step in enumerate((2, 3, 5)):  # three melodies
        _four_track_midi(midis / f"piece_{i}.mid", 72, step=step)
    made["midis"] = midis
    one = tmp / "one_midi"
    one.mkdir()
    _four_track_midi(one / "only.mid", 72)
    made["one_midi"] = one
    bad = tmp / "bad_midis"
    bad.mkdir()
    (bad / "empty.mid").write_bytes(b"")
    (bad / "garbage.mid").write_bytes(bytes(range(256)))
    made["bad_midis"] = bad
    made["unknown_key"] = tmp / "unknown_key.json"
    made["unknown_key"].write_text(json.dumps({"width": 3}))
    made["model"] = _model(tmp / "model.pt", "key")
    made["track_model"] = _model(tmp / "track_model.pt", "track")
    made["plain_file"] = tmp / "plain.txt"
    made["plain_file"].write_text("not a folder")
    return made


CASES = {
    "train on a missing folder": (TRAIN + "--data {missing}", "no such folder"),
    "train on a folder of bad MIDI files": (TRAIN + "--data {bad_midis}", "none of its 2 MIDI"),
    "train on a folder without MIDI files": (TRAIN + "--data {folder}", "holds no MIDI files"),
    "train on one melody": (TRAIN + "--data {one_midi}", "nothing to hold out"),
    "train with --batch-size larger than the data": (
        TRAIN + "--data {midis} --batch-size 500",
        "fewer than batch_size 500",
    ),
    "train with --tracks but no --data": (TRAIN + "--tracks 0 1 2 3", "needs --data"),
    "train with --pieces and --data": (TRAIN + "--data {midis} --pieces 3", "not with --data"),
    "train with --dataset and --data": (TRAIN + "--dataset bach --data {midis}", "not allowed"),
    "train with an unknown dataset": (TRAIN + "--dataset mozart", "invalid choice"),
    "train with --heldout-fraction 1": (TRAIN + "--heldout-fraction 1", "must be in (0, 1)"),
    "train with --n-pitches 40": (TRAIN + "--n-pitches 40", "multiple of 24"),
    "train with --lowest-pitch 100": (TRAIN + "--lowest-pitch 100", "at most 128"),
    "train with --condition mood": (TRAIN + "--condition mood", "invalid choice"),
    "train with --batch-size 0": (TRAIN + "--batch-size 0", "batch_size must be"),
    "train with --lr 0": (TRAIN + "--lr 0", "lr must be a finite number > 0"),
    "train with --max-shift 12": (TRAIN + "--max-shift 12", "at most 11"),
    "train with --device tpu": (TRAIN + "--device tpu", "device"),
    "train with an unknown config key": (TRAIN + "--config {unknown_key}", "unknown config keys"),
    "train with a garbage config": (TRAIN + "--config {garbage}", "config"),
    "train with --out a folder": ("music train --out {folder}", "is a folder"),
    "train --resume without --run-dir": (TRAIN + "--resume", "needs --run-dir"),
    "train --resume with nothing to resume": (
        TRAIN + "--run-dir {run} --resume",
        "nothing to resume",
    ),
    "generate with a garbage model": (GENERATE + "--model {garbage}", "garbage"),
    "generate with a model of another kind": (
        GENERATE + "--model {foreign_model}",
        "not a music.MusicGAN",
    ),
    "generate with a newer model format": (GENERATE + "--model {newer_model}", "upgrade ganforge"),
    "generate with a truncated model": (GENERATE + "--model {truncated_model}", "not a loadable"),
    "generate on an unknown device": (GENERATE + "--model {model} --device tpu", "device"),
    "generate in an unknown key": (GENERATE + "--model {model} --key H", "give a key such as"),
    "generate --n 0": (GENERATE + "--model {model} --n 0", "at least 1"),
    "generate at tempo 0": (GENERATE + "--model {model} --tempo 0", "--tempo must be"),
    "generate with --truncation 0": (
        GENERATE + "--model {model} --truncation 0",
        "--truncation must be a number > 0 or none, got '0'",
    ),
    "generate with --truncation wide": (
        GENERATE + "--model {model} --truncation wide",
        "--truncation must be a number > 0 or none, got 'wide'",
    ),
    "train with --truncation -1": (TRAIN + "--truncation -1", "truncation must be"),
    "generate into a file": (
        "music generate --model {model} --out {plain_file}",
        "is a file, not a folder",
    ),
    "generate --given for a key model": (
        GENERATE + "--model {model} --given {garbage}",
        "needs a track-conditioned model",
    ),
    "generate --key for a track model": (
        GENERATE + "--model {track_model} --key C",
        "needs a key-conditioned model",
    ),
    "generate a harmony without --given": (
        GENERATE + "--model {track_model}",
        "pass --given",
    ),
    "generate a harmony of a missing file": (
        GENERATE + "--model {track_model} --given {missing}",
        "no such MIDI file",
    ),
    "generate a harmony of a corrupt file": (
        GENERATE + "--model {track_model} --given {garbage}",
        "corrupt MIDI file",
    ),
    "audit a missing folder": (AUDIT + "--generated {missing} --data {midis}", "no such folder"),
    "audit a folder of bad MIDI files": (
        AUDIT + "--generated {bad_midis} --data {midis}",
        "none of its 2 MIDI",
    ),
    "audit against a missing training folder": (
        AUDIT + "--generated {midis} --data {missing}",
        "no such folder",
    ),
    "audit with a pitch range past 127": (
        AUDIT + "--generated {midis} --data {midis} --lowest-pitch 100",
        "at most 128",
    ),
    "audit on an unknown device": (
        AUDIT + "--generated {midis} --data {midis} --device tpu",
        "device",
    ),
    "audit into a folder": (
        "music audit --generated {midis} --data {midis} --out {folder}",
        "is a folder",
    ),
    "audit with the HTML report into a folder": (
        AUDIT + "--generated {midis} --data {midis} --report {folder}",
        "is a folder",
    ),
    "audit without --generated": (AUDIT + "--data {midis}", "required"),
    "evaluate a garbage model": (EVAL + "--model {garbage}", "garbage"),
    "evaluate a model of another kind": (EVAL + "--model {foreign_model}", "not a music"),
    "evaluate a newer model format": (EVAL + "--model {newer_model}", "upgrade ganforge"),
    "evaluate a truncated model": (EVAL + "--model {truncated_model}", "not a loadable"),
    "evaluate a harmonising model": (
        EVAL + "--model {track_model} --data {midis}",
        "needs given tracks",
    ),
    "evaluate on a missing folder": (EVAL + "--model {model} --data {missing}", "no such folder"),
    "evaluate on an unknown device": (EVAL + "--model {model} --device tpu", "device"),
    "evaluate into a folder": ("music evaluate --model {model} --out {folder}", "is a folder"),
}
