"""Pieces as multi-track piano rolls: music21's corpus and MIDI files in, MIDI and WAV out.

A :class:`Piece` holds one roll ``(tracks, steps, 128)`` of ``uint8``: 0 silent,
1 a note held, 2 a note starting (so repeated notes survive a round trip).
Steps are a quarter of the time signature's beat: a 16th note in 4/4, an 8th
note in 4/2 (Palestrina's half-note beat); a bar is four beats, 16 steps.

Embedded data: music21's bundled Bach chorales (``"bach"``, four voices) and,
as the second four-voice collection, Palestrina's mass movements
(``"palestrina"``, the four-voice pieces). Parsing is slow, so each corpus is
parsed once and cached under ``cache_dir() / "music"``.

The user's own data: :func:`load_midi_folder` reads every ``.mid`` / ``.midi``
file of a folder with a track selection; a file that cannot be used (empty,
corrupt, no notes, drums only, missing tracks) is skipped and counted, and a
folder without one usable file is a one-line error.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganforge.core.files import atomic_write, cache_dir
from ganforge.core.settings import check_fraction

TRACKS = 4
STEPS_PER_BEAT = 4
BEATS_PER_BAR = 4
STEPS_PER_BAR = STEPS_PER_BEAT * BEATS_PER_BAR
BARS = 4
SEGMENT_STEPS = BARS * STEPS_PER_BAR
VOICES = ("soprano", "alto", "tenor", "bass")
CORPORA = ("bach", "palestrina")
DEFAULT_TEMPO = 100.0
CACHE_VERSION = 1
MELODY_INTERVALS = 16  # soprano intervals hashed into a melody identity
MIDI_SUFFIXES = (".mid", ".midi")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor with the raised leading note
# Krumhansl-Kessler key profiles
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass
class Piece:
    """One piece as a piano roll.

    Attributes:
        name: where it came from (``"bach/bwv227.1"``, a file name).
        roll: ``(tracks, steps, 128)`` uint8, 0 silent, 1 held, 2 onset.
        key: 0-23, tonic pitch class + 12 for minor.
        tempo: quarter notes per minute (the MIDI file's first tempo; 100 when none).
        first_bar: the step of the first full bar (after a pickup).
        step_quarters: quarter notes per step (0.25 for a 16th-note step).
        melody: the melody identity: a hash of the transposition-normalised soprano line.
    """

    name: str
    roll: np.ndarray
    key: int
    tempo: float = DEFAULT_TEMPO
    first_bar: int = 0
    step_quarters: float = 0.25
    melody: str = ""

    def __post_init__(self) -> None:
        if not self.melody:
            self.melody = melody_identity(self.roll)

    @property
    def steps(self) -> int:
        return int(self.roll.shape[1])


@dataclass
class Skipped:
    """Files a folder loader left out, with the reason of each."""

    files: list[tuple[str, str]] = field(default_factory=list)

    def add(self, path: str | os.PathLike[str], reason: str) -> None:
        self.files.append((str(path), reason))

    def __len__(self) -> int:
        return len(self.files)

    def summary(self) -> str:
        counts = Counter(re.sub(r"\d+", "N", reason) for _, reason in self.files)
        return ", ".join(f"{n} {reason}" for reason, n in counts.most_common())


# ------------------------------------------------------------------- keys
def monophonic_share(rolls: np.ndarray) -> float:
    """Share of the sounding (segment, track, step) cells of ``rolls`` ``(n, tracks, steps,
    pitches)`` that hold exactly one pitch (1.0 for a roll with nothing sounding)."""
    counts = (np.asarray(rolls) > 0).sum(axis=-1)
    sounding = counts > 0
    return float((counts[sounding] == 1).mean()) if sounding.any() else 1.0


def pitch_shares(rolls: np.ndarray) -> np.ndarray:
    """Each track's share of its sounding steps on each pitch, ``(tracks, pitches)`` from
    ``rolls`` ``(n, tracks, steps, pitches)`` (uniform for a track that never sounds)."""
    counts = (np.asarray(rolls) > 0).sum(axis=(0, 2)).astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / counts.shape[1])
    return np.where(totals > 0, counts / np.maximum(totals, 1.0), uniform)


def to_grid(rolls: np.ndarray, step: int) -> np.ndarray:
    """``rolls`` ``(..., steps, pitches)`` on a grid of ``step`` steps: each group of
    ``step`` steps takes its first step's cells (notes start and end on the grid)."""
    rolls = np.asarray(rolls)
    if step == 1:
        return rolls
    return np.repeat(rolls[..., ::step, :], step, axis=-2)


def degree_shares(rolls: np.ndarray, keys: np.ndarray, lowest_pitch: int) -> np.ndarray:
    """Share of the sounding steps of ``rolls`` ``(n, tracks, steps, pitches)`` on each
    scale degree (semitones above the tonic of each segment's key ``keys``, 0-23),
    ``(2, 12)``: major keys, then minor (uniform for a mode no segment is in)."""
    counts = (np.asarray(rolls) > 0).sum(axis=(1, 2)).astype(np.float64)  # (n, pitches)
    keys = np.asarray(keys, dtype=np.int64)[:, None]
    degree = ((np.arange(counts.shape[1]) + lowest_pitch) - keys % 12) % 12  # (n, pitches)
    totals = np.zeros((2, 12))
    np.add.at(totals, (np.broadcast_to(keys // 12, degree.shape), degree), counts)
    sums = totals.sum(axis=1, keepdims=True)
    return np.where(sums > 0, totals / np.maximum(sums, 1.0), 1.0 / 12)


def key_name(key: int) -> str:
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    return f"{names[key % 12]} {'minor' if key >= 12 else 'major'}"


def scale_pitch_classes(key: int) -> tuple[int, ...]:
    """The pitch classes in ``key`` (the minor scale with its raised leading note)."""
    steps = MINOR if key >= 12 else MAJOR
    return tuple((key % 12 + s) % 12 for s in steps)


def estimate_key(roll: np.ndarray) -> int:
    """Krumhansl-Schmuckler key estimate (0-23) from the sounding steps of a roll."""
    active = np.asarray(roll) > 0
    weights = active.reshape(-1, active.shape[-1]).sum(0)
    histogram = np.zeros(12)
    np.add.at(histogram, np.arange(len(weights)) % 12, weights)
    if histogram.sum() == 0:
        return 0
    scores = []
    for profile in (_MAJOR_PROFILE, _MINOR_PROFILE):
        for tonic in range(12):
            scores.append(np.corrcoef(histogram, np.roll(profile, tonic))[0, 1])
    return int(np.nanargmax(scores))


# ---------------------------------------------------------- melody identity
def melody_identity(roll: np.ndarray, track: int = 0) -> str:
    """A hash of the soprano line's first intervals (transposition-normalised).

    The line is the sequence of onset pitches of ``track`` (its highest note when
    several start together), repeated notes merged, taken as intervals, so the
    same chorale in another key or another file gets the same identity.
    """
    line = onset_pitches(roll[track])
    merged = [p for i, p in enumerate(line) if i == 0 or p != line[i - 1]]
    intervals = np.diff(merged)[:MELODY_INTERVALS]
    return hashlib.sha1(intervals.astype(np.int16).tobytes()).hexdigest()[:12]


def onset_pitches(track_roll: np.ndarray) -> list[int]:
    """The pitch of each onset step of one track (highest pitch at a step), in order."""
    onsets = np.asarray(track_roll) == 2
    steps = np.nonzero(onsets.any(1))[0]
    return [int(np.nonzero(onsets[t])[0].max()) for t in steps]


# --------------------------------------------------------------- music21
def score_to_piece(score, name: str) -> Piece:
    """A music21 score of four parts in four beats a bar as a :class:`Piece`.

    Raises ``ValueError`` (one line) for other scores.
    """
    from music21 import meter, tempo

    parts = _four_voices(list(score.parts), name)
    signatures = list(score.recurse().getElementsByClass(meter.TimeSignature))
    if not signatures or any(ts.numerator != BEATS_PER_BAR for ts in signatures):
        raise ValueError(f"{name} is not in four beats a bar throughout")
    beat_quarters = float(signatures[0].beatDuration.quarterLength)
    if any(float(ts.beatDuration.quarterLength) != beat_quarters for ts in signatures):
        raise ValueError(f"{name} changes its beat unit")
    step_quarters = beat_quarters / STEPS_PER_BEAT
    length = float(score.highestTime)
    steps = int(round(length / step_quarters))
    roll = np.zeros((TRACKS, steps, 128), np.uint8)
    for index, part in enumerate(parts):
        for item in part.stripTies().flatten().notes:
            start = int(round(float(item.offset) / step_quarters))
            stop = int(round(float(item.offset + item.quarterLength) / step_quarters))
            for pitch in item.pitches:
                _put_note(roll[index], int(pitch.midi), start, max(stop, start + 1))
    measures = list(parts[0].getElementsByClass("Measure"))
    first = next((m for m in measures if m.number >= 1 and m.paddingLeft == 0), None)
    first_bar = int(round(float(first.offset) / step_quarters)) if first is not None else 0
    marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    qpm = float(marks[0].getQuarterBPM()) if marks and marks[0].number else DEFAULT_TEMPO
    if not (roll > 0).any():
        raise ValueError(f"{name} has no notes")
    return Piece(name, roll, estimate_key(roll), qpm, first_bar, step_quarters)


def _four_voices(parts: list, name: str) -> list:
    """The four parts of a score: all of them when there are four, else the parts
    named soprano, alto, tenor and bass when each name occurs once (Bach's
    chorales with instrumental parts)."""
    if len(parts) == TRACKS:
        return parts
    named = {}
    for part in parts:
        word = (part.partName or "").strip().lower()
        voice = next((v for v in VOICES if word.startswith(v)), None)
        if voice is not None:
            named.setdefault(voice, []).append(part)
    if all(len(named.get(v, ())) == 1 for v in VOICES):
        return [named[v][0] for v in VOICES]
    raise ValueError(f"{name} has {len(parts)} parts, not four voices")


def _put_note(track: np.ndarray, pitch: int, start: int, stop: int) -> None:
    stop = min(stop, track.shape[0])
    if not 0 <= pitch < 128 or start >= stop:
        return
    track[start + 1 : stop, pitch] = np.maximum(track[start + 1 : stop, pitch], 1)
    track[start, pitch] = 2


def corpus_paths(name: str) -> list:
    """The music21 corpus files of a collection (``"bach"`` or ``"palestrina"``)."""
    from music21 import corpus

    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}: use {', '.join(CORPORA)}")
    return sorted(corpus.getComposer(name), key=str)


def load_corpus(name: str = "bach", *, limit: int | None = None, progress: bool = False):
    """The usable four-voice pieces of a music21 collection (parsed once, then cached).

    Returns ``(pieces, skipped)``. ``limit`` keeps the first ``limit`` usable pieces;
    without the whole collection's cache, only as many files as that takes are
    parsed (and cached on their own).
    """
    folder = cache_dir() / "music"
    whole = folder / f"{name}-v{CACHE_VERSION}.npz"
    if limit is not None and not whole.is_file():
        part = folder / f"{name}-first{limit}-v{CACHE_VERSION}.npz"
        if not part.is_file():
            _write_cache(part, *_parse_corpus(name, progress, limit))
        return _read_cache(part)
    if not whole.is_file():
        _write_cache(whole, *_parse_corpus(name, progress))
    pieces, skipped = _read_cache(whole)
    return (pieces if limit is None else pieces[:limit]), skipped


def _parse_corpus(
    name: str, progress: bool, limit: int | None = None
) -> tuple[list[Piece], Skipped]:
    from music21 import corpus
    from tqdm.auto import tqdm

    pieces, skipped = [], Skipped()
    for path in tqdm(corpus_paths(name), desc=f"parsing {name}", disable=not progress):
        if limit is not None and len(pieces) >= limit:
            break
        label = f"{name}/{Path(str(path)).stem}"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pieces.append(score_to_piece(corpus.parse(path), label))
        except Exception as error:  # music21 raises many kinds; every one skips the file
            skipped.add(label, _one_line(error).replace(f"{label} ", "", 1))
    return pieces, skipped


def _write_cache(path: Path, pieces: list[Piece], skipped: Skipped) -> None:
    arrays = {
        "names": np.array([p.name for p in pieces]),
        "lengths": np.array([p.steps for p in pieces]),
        "keys": np.array([p.key for p in pieces]),
        "tempos": np.array([p.tempo for p in pieces]),
        "first_bars": np.array([p.first_bar for p in pieces]),
        "step_quarters": np.array([p.step_quarters for p in pieces]),
        "skipped": np.array([f"{a}\t{b}" for a, b in skipped.files] or [""]),
    }
    # sparse: (piece, track, step, pitch, value) of every sounding cell
    cells = [np.column_stack([np.full(len(nz[0]), i), *nz, p.roll[nz]])
             for i, p in enumerate(pieces) for nz in [np.nonzero(p.roll)]]  # fmt: skip
    arrays["cells"] = np.concatenate(cells).astype(np.int32)
    with atomic_write(path) as stream:
        np.savez_compressed(stream, **arrays)


def _read_cache(path: Path) -> tuple[list[Piece], Skipped]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    cells = arrays["cells"]
    order = np.searchsorted(cells[:, 0], np.arange(len(arrays["names"]) + 1))
    pieces = []
    for i, name in enumerate(arrays["names"]):
        roll = np.zeros((TRACKS, int(arrays["lengths"][i]), 128), np.uint8)
        c = cells[order[i] : order[i + 1]]
        roll[c[:, 1], c[:, 2], c[:, 3]] = c[:, 4]
        pieces.append(
            Piece(
                str(name),
                roll,
                int(arrays["keys"][i]),
                float(arrays["tempos"][i]),
                int(arrays["first_bars"][i]),
                float(arrays["step_quarters"][i]),
            )
        )
    skipped = Skipped([tuple(s.split("\t", 1)) for s in arrays["skipped"] if s])
    return pieces, skipped


# ------------------------------------------------------------------ MIDI
def roll_to_midi(
    roll: np.ndarray,
    *,
    tempo: float = DEFAULT_TEMPO,
    step_quarters: float = 0.25,
    programs: Sequence[int] = (52, 52, 52, 52),
    names: Sequence[str] = VOICES,
    velocity: int = 90,
):
    """A ``pretty_midi.PrettyMIDI`` of a roll (0/1 held, 2 onset; a 0/1 roll's runs are notes)."""
    import pretty_midi

    roll = np.asarray(roll)
    step_seconds = 60.0 / tempo * step_quarters
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    for index in range(roll.shape[0]):
        program = programs[index % len(programs)]
        name = names[index] if index < len(names) else f"track {index}"
        instrument = pretty_midi.Instrument(program=program, name=name)
        for start, stop, pitch in roll_notes(roll[index]):
            instrument.notes.append(
                pretty_midi.Note(velocity, pitch, start * step_seconds, stop * step_seconds)
            )
        midi.instruments.append(instrument)
    return midi


def roll_notes(track: np.ndarray, lowest_pitch: int = 0) -> list[tuple[int, int, int]]:
    """``(start step, stop step, pitch)`` of every note of one track's roll."""
    track = np.asarray(track)
    notes = []
    for offset in np.nonzero(track.any(0))[0]:
        column = track[:, offset]
        start = None
        for t, value in enumerate(column):
            if start is not None and (value == 0 or value == 2):
                notes.append((start, t, int(offset) + lowest_pitch))
                start = None
            if value > 0 and start is None:
                start = t
        if start is not None:
            notes.append((start, len(column), int(offset) + lowest_pitch))
    return sorted(notes)


def midi_to_roll(midi, tracks: Sequence[int], step_seconds: float) -> np.ndarray:
    """The roll ``(len(tracks), steps, 128)`` of the chosen instruments of a PrettyMIDI."""
    end = max((n.end for i in tracks for n in midi.instruments[i].notes), default=0.0)
    steps = max(1, int(round(end / step_seconds)))
    roll = np.zeros((len(tracks), steps, 128), np.uint8)
    for row, index in enumerate(tracks):
        for note in midi.instruments[index].notes:
            start = int(round(note.start / step_seconds))
            stop = max(start + 1, int(round(note.end / step_seconds)))
            _put_note(roll[row], note.pitch, start, stop)
    return roll


def select_tracks(midi, tracks: Sequence[str | int] | None, n_tracks: int, name: str) -> list[int]:
    """Instrument indices of a PrettyMIDI for a track selection.

    ``tracks``: ``None`` for the first ``n_tracks`` pitched instruments with notes;
    else one entry per track: an instrument index (``2``), a program (``"program:52"``)
    or a name (``"Alto"``, case-insensitive). ``ValueError`` (one line) when the file
    cannot give them.
    """
    pitched = [i for i, inst in enumerate(midi.instruments) if not inst.is_drum and inst.notes]
    if not any(inst.notes for inst in midi.instruments):
        raise ValueError(f"{name}: no notes")
    if not pitched:
        raise ValueError(f"{name}: drums only")
    if tracks is None:
        if len(pitched) < n_tracks:
            raise ValueError(
                f"{name}: {len(pitched)} pitched track(s) with notes, {n_tracks} needed"
            )
        return pitched[:n_tracks]
    chosen = []
    for wanted in tracks:
        found = _find_track(midi, wanted)
        if found is None:
            available = ", ".join(
                f"{i}:{inst.name or '?'}(program {inst.program})"
                for i, inst in enumerate(midi.instruments)
            )
            raise ValueError(f"{name}: no track {wanted!r} (tracks: {available})")
        chosen.append(found)
    return chosen


def _find_track(midi, wanted: str | int) -> int | None:
    instruments = midi.instruments
    text = str(wanted).strip()
    if text.isdigit():
        index = int(text)
        return index if index < len(instruments) else None
    if text.lower().startswith("program:"):
        program = int(text.split(":", 1)[1])
        return next((i for i, x in enumerate(instruments) if x.program == program), None)
    return next(
        (i for i, x in enumerate(instruments) if x.name.strip().lower() == text.lower()), None
    )


def load_midi_file(
    path: str | os.PathLike[str],
    tracks: Sequence[str | int] | None = None,
    n_tracks: int = TRACKS,
) -> Piece:
    """One MIDI file as a :class:`Piece`, or a one-line ``ValueError`` naming it."""
    import pretty_midi

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such MIDI file")
    data = path.read_bytes()
    if not data:
        raise ValueError(f"{path}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as error:  # mido and pretty_midi raise many kinds on bad bytes
        raise ValueError(f"{path}: corrupt MIDI file ({_one_line(error)})") from None
    chosen = select_tracks(midi, tracks, n_tracks, str(path))
    times, tempi = midi.get_tempo_changes()
    qpm = float(tempi[0]) if len(tempi) else DEFAULT_TEMPO
    step_seconds = 60.0 / qpm / STEPS_PER_BEAT
    roll = midi_to_roll(midi, chosen, step_seconds)
    if not (roll > 0).any():
        raise ValueError(f"{path}: no notes in the chosen tracks")
    keys = midi.key_signature_changes
    key = (keys[0].key_number % 12 + 12 * (keys[0].key_number >= 12)) if keys else None
    return Piece(path.name, roll, estimate_key(roll) if key is None else int(key), qpm)


def load_midi_folder(
    folder: str | os.PathLike[str],
    tracks: Sequence[str | int] | None = None,
    n_tracks: int = TRACKS,
) -> tuple[list[Piece], Skipped]:
    """Every usable MIDI file of a folder (searched recursively) and the skipped ones.

    A folder with no MIDI file, or none usable, is a one-line ``ValueError``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES)
    if not files:
        raise ValueError(f"{folder} holds no MIDI files (.mid, .midi)")
    pieces, skipped = [], Skipped()
    for path in files:
        try:
            pieces.append(load_midi_file(path, tracks, n_tracks))
        except ValueError as error:
            skipped.add(path, str(error).split(": ", 1)[-1])
    if not pieces:
        raise ValueError(
            f"{folder}: none of its {len(files)} MIDI files is usable ({skipped.summary()})"
        )
    if skipped:
        warnings.warn(
            f"{folder}: skipped {len(skipped)} of {len(files)} MIDI files ({skipped.summary()})",
            stacklevel=2,
        )
    return pieces, skipped


def write_midi(roll: np.ndarray, path: str | os.PathLike[str], **options) -> Path:
    """Write a roll as a MIDI file atomically (see :func:`roll_to_midi` for ``options``)."""
    midi = roll_to_midi(roll, **options)
    with atomic_write(path) as stream:
        midi.write(stream)
    return Path(path)


def synthesize(roll: np.ndarray, sample_rate: int = 22050, soundfont: str | None = None, **options):
    """A mono float32 waveform of a roll: fluidsynth with ``soundfont`` when given and
    available, else pretty_midi's sine synthesis."""
    midi = roll_to_midi(roll, **options)
    if soundfont:
        try:
            return midi.fluidsynth(fs=sample_rate, sf2_path=soundfont).astype(np.float32)
        except (ImportError, ValueError, OSError):
            pass
    audio = np.nan_to_num(midi.synthesize(fs=sample_rate))  # a silent roll gives 0 / 0
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return (audio / peak * 0.8 if peak > 0 else audio).astype(np.float32)


def write_wav(
    roll: np.ndarray, path: str | os.PathLike[str], sample_rate: int = 22050, **options
) -> Path:
    """A WAV preview of a roll (16-bit PCM), written atomically."""
    from scipy.io import wavfile

    audio = synthesize(roll, sample_rate, **options)
    with atomic_write(path) as stream:
        wavfile.write(stream, sample_rate, (np.clip(audio, -1, 1) * 32767).astype(np.int16))
    return Path(path)


def _one_line(error: BaseException) -> str:
    return " ".join((str(error) or type(error).__name__).split())


# -------------------------------------------------------------- segments
@dataclass
class Segments:
    """Four-bar segments cut from pieces.

    Attributes:
        rolls: ``(n, tracks, 64, pitches)`` bool, the pitch axis from ``lowest_pitch``.
        keys: ``(n,)`` the key of each segment's piece (0-23).
        piece: ``(n,)`` index of the piece a segment comes from.
        start: ``(n,)`` its first step in the piece.
        lowest_pitch: MIDI pitch of the first column.
    """

    rolls: np.ndarray
    keys: np.ndarray
    piece: np.ndarray
    start: np.ndarray
    lowest_pitch: int

    def __len__(self) -> int:
        return len(self.rolls)


def as_rolls(data: Segments | np.ndarray) -> np.ndarray:
    """The rolls ``(n, tracks, steps, pitches)`` of ``data``: Segments' or an array's own."""
    return data.rolls if isinstance(data, Segments) else np.asarray(data)


def cut_segments(
    pieces: Sequence[Piece],
    lowest_pitch: int,
    n_pitches: int,
    *,
    hop: int = SEGMENT_STEPS,
    steps: int = SEGMENT_STEPS,
) -> Segments:
    """Segments of ``steps`` from every piece, from its first full bar on, every ``hop``
    steps; notes outside the pitch range are dropped, silent segments left out."""
    rolls, keys, index, starts = [], [], [], []
    for i, piece in enumerate(pieces):
        for start in range(piece.first_bar, piece.steps - steps + 1, hop):
            window = piece.roll[:, start : start + steps, lowest_pitch : lowest_pitch + n_pitches]
            if window.shape[-1] < n_pitches:
                window = np.pad(window, ((0, 0), (0, 0), (0, n_pitches - window.shape[-1])))
            if window.any():
                rolls.append(window > 0)
                keys.append(piece.key)
                index.append(i)
                starts.append(start)
    if not rolls:
        raise ValueError(f"no piece is {steps} steps long from its first full bar")
    return Segments(
        np.stack(rolls), np.array(keys), np.array(index), np.array(starts), lowest_pitch
    )


def melody_split(
    pieces: Sequence[Piece], heldout_fraction: float = 0.2, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Train and held-out piece indices, split by melody identity, never by file.

    Every piece sharing a melody (the same chorale in two files) lands on one side.
    Groups are shuffled with ``seed`` and held out until ``heldout_fraction`` of
    the pieces is reached.
    """
    check_fraction("heldout_fraction", heldout_fraction)
    groups: dict[str, list[int]] = {}
    for i, piece in enumerate(pieces):
        groups.setdefault(piece.melody, []).append(i)
    if len(groups) < 2:
        raise ValueError(f"{len(pieces)} piece(s) share one melody: nothing to hold out")
    names = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(names))
    heldout: list[int] = []
    target = heldout_fraction * len(pieces)
    for position in order:
        if len(heldout) >= target:
            break
        heldout += groups[names[position]]
    if len(heldout) == len(pieces):
        heldout = groups[names[order[0]]]
    held = set(heldout)
    return [i for i in range(len(pieces)) if i not in held], sorted(held)
