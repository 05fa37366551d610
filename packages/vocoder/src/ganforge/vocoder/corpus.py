"""The embedded default speech corpus: English sentences read by eSpeak NG.

Nothing is downloaded. The sentences are written here (a few dozen by hand and
as many more as asked for, generated from word lists and sentence templates by
a seeded generator), and the speech is rendered by the eSpeak NG library and
voice data that the ``espeakng-loader`` wheel ships, through ctypes:
``espeak_Initialize`` (synchronous output, the bundled data folder),
``espeak_SetSynthCallback`` (16-bit samples arrive in chunks),
``espeak_SetVoiceByName`` (a language such as ``en-us`` and an optional
``+variant`` such as ``+f3``), ``espeak_SetParameter`` (rate in words per
minute, pitch 0-100, volume), ``espeak_ng_SetRandSeed`` and ``espeak_Synth``.
eSpeak renders 22050 Hz mono. It is not re-entrant and keeps state between
utterances, so each voice is read in a fresh worker process: the same spec
gives the same samples.

Every sentence is read by every training voice, each at a speaking rate and
pitch drawn from the spec's choices by a seeded generator. The sentences are
split into train / validation / test by text, so no sentence is in two of
them; the last voice (with ``hold_out_voice``) is kept out of training
entirely: it reads only the test sentences, and those clips form the
``unseen`` split, the unseen-speaker test.

The rendered corpus is cached in ``$GANFORGE_CACHE/vocoder`` (default
``~/.cache/ganforge/vocoder``) as one FLAC file and one JSON index named by a
hash of the spec, written together atomically; a changed spec renders anew.

Example::

    corpus = load_corpus(size="small")
    train = corpus.waveforms("train")      # list of float32 arrays in [-1, 1]
    unseen = corpus.split("unseen")        # Clip objects with text and voice
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ganforge.core.files import atomic_files, cache_dir

SAMPLE_RATE = 22050
"""eSpeak NG renders at this rate (Hz), the rate of the HiFi-GAN / Tacotron 2 convention."""

SPLITS = ("train", "validation", "test", "unseen")
"""The corpus splits; ``unseen`` is the held-out voice reading the test sentences."""

DEFAULT_VOICES = (
    "en-us",
    "en-us+f3",
    "en+f2",
    "en-gb-scotland+m1",
    "en-029+f4",
    "en-us-nyc+m4",
    "en-gb-x-rp+f1",
)
"""eSpeak NG voices (language ``+`` variant) of the default corpus: four women and three
men speaking American, British, Scottish, Caribbean and New York English. The last one
(British RP, female) is the held-out voice."""

_FORMAT = 1  # bump when the cached files' layout or the rendering changes
_VOLUME = 80  # eSpeak's volume (0-200, default 100): the loudest voices stay below full scale
_INSTALL_HINT = "install it with: pip install espeakng-loader"


class SpeechEngineError(RuntimeError):
    """eSpeak NG could not be loaded or could not render (its message is one line)."""


@dataclass(frozen=True)
class CorpusSpec:
    """What to render: sentences, voices, rates, pitches and the splits.

    Attributes:
        sentences: how many sentences (the hand-written ones first, then
            generated ones), or the sentences themselves.
        voices: eSpeak NG voices, ``language`` or ``language+variant`` (e.g.
            ``en-us``, ``en-us+f3``, ``en+m3``); see :func:`available_voices`.
        hold_out_voice: keep the last voice out of training: it reads only the
            test sentences, as the ``unseen`` split.
        rates: speaking rates in words per minute (80-450) drawn from per clip.
        pitches: base pitches (0-100, eSpeak's default 50) drawn from per clip.
        validation_fraction: share of the sentences in the validation split.
        test_fraction: share of the sentences in the test split.
        padding: seconds of silence added before and after every clip.
        seed: seeds the generated sentences, the splits and the rate/pitch draws.
    """

    sentences: int | tuple[str, ...] = 150
    voices: tuple[str, ...] = DEFAULT_VOICES
    hold_out_voice: bool = True
    rates: tuple[int, ...] = (150, 175, 200)
    pitches: tuple[int, ...] = (35, 50, 65)
    validation_fraction: float = 0.06
    test_fraction: float = 0.16
    padding: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("sentences", "voices", "rates", "pitches"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        _check_spec(self)

    def texts(self) -> list[str]:
        """The sentences, in order."""
        if isinstance(self.sentences, int):
            return english_sentences(self.sentences, seed=self.seed)
        return list(self.sentences)

    def training_voices(self) -> tuple[str, ...]:
        """The voices of the train, validation and test splits."""
        return self.voices[:-1] if self.hold_out_voice else self.voices

    def held_out_voice(self) -> str | None:
        """The voice of the ``unseen`` split, if one is held out."""
        return self.voices[-1] if self.hold_out_voice else None


def _check_spec(spec: CorpusSpec) -> None:
    """Refuse a spec that cannot give a corpus, in one line."""
    if isinstance(spec.sentences, int) and spec.sentences < 1:
        raise ValueError(f"sentences must be >= 1, got {spec.sentences}")
    if not isinstance(spec.sentences, int) and len(set(spec.sentences)) != len(spec.sentences):
        raise ValueError("sentences must be distinct (the splits are made by sentence text)")
    if not spec.voices or len(set(spec.voices)) != len(spec.voices):
        raise ValueError(f"voices must be distinct and not empty, got {spec.voices}")
    if spec.hold_out_voice and len(spec.voices) < 2:
        raise ValueError("hold_out_voice needs at least two voices (one is held out)")
    if not spec.rates or not all(80 <= rate <= 450 for rate in spec.rates):
        raise ValueError(f"rates must be words per minute in [80, 450], got {spec.rates}")
    if not spec.pitches or not all(0 <= pitch <= 100 for pitch in spec.pitches):
        raise ValueError(f"pitches must be in [0, 100], got {spec.pitches}")
    fractions = (spec.validation_fraction, spec.test_fraction)
    if not all(0.0 <= share < 1.0 for share in fractions) or sum(fractions) >= 1.0:
        raise ValueError(f"validation/test fractions must be in [0, 1) with a sum < 1: {fractions}")
    if spec.hold_out_voice and spec.test_fraction == 0:
        raise ValueError("hold_out_voice needs test sentences (test_fraction > 0)")
    if not 0.0 <= spec.padding <= 5.0:
        raise ValueError(f"padding must be in [0, 5] seconds, got {spec.padding}")


SIZES: dict[str, CorpusSpec] = {
    "tiny": CorpusSpec(sentences=3, voices=("en-us", "en-us+f3"), padding=0.05),
    "small": CorpusSpec(sentences=20, voices=("en-us", "en-us+f3", "en+m3", "en-029+f4")),
    "default": CorpusSpec(),
}
"""Named corpus sizes: ``tiny`` for tests (a few seconds of audio), ``small`` for
demos (about three minutes), ``default`` (about an hour, 924 clips)."""


@dataclass(frozen=True)
class Clip:
    """One reading of one sentence.

    Attributes:
        audio: float32 mono samples in [-1, 1] at :data:`SAMPLE_RATE`.
        text: the sentence.
        voice: the eSpeak NG voice that read it.
        split: ``train``, ``validation``, ``test`` or ``unseen``.
        rate: speaking rate in words per minute.
        pitch: eSpeak base pitch (0-100).
    """

    audio: np.ndarray = field(repr=False)
    text: str
    voice: str
    split: str
    rate: int
    pitch: int

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return len(self.audio) / SAMPLE_RATE


@dataclass
class Corpus:
    """The rendered clips with their spec.

    Attributes:
        clips: every clip, in rendering order.
        spec: what was rendered.
        path: the cached FLAC file (``None`` when not cached).
        rendered: the clips were rendered by this call (``False``: read from the cache).
        sample_rate: Hz, always :data:`SAMPLE_RATE`.
    """

    clips: list[Clip]
    spec: CorpusSpec
    path: Path | None = None
    rendered: bool = False
    sample_rate: int = SAMPLE_RATE

    def __len__(self) -> int:
        return len(self.clips)

    def split(self, name: str) -> list[Clip]:
        """The clips of one split (``train``, ``validation``, ``test`` or ``unseen``)."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}: choose one of {', '.join(SPLITS)}")
        return [clip for clip in self.clips if clip.split == name]

    def waveforms(self, name: str) -> list[np.ndarray]:
        """The float32 waveforms of one split."""
        return [clip.audio for clip in self.split(name)]

    @property
    def held_out_voice(self) -> str | None:
        """The voice kept out of training, if any."""
        return self.spec.held_out_voice()

    def seconds(self, name: str | None = None) -> float:
        """Seconds of audio in one split, or in the whole corpus."""
        clips = self.clips if name is None else self.split(name)
        return sum(clip.seconds for clip in clips)

    def summary(self) -> dict[str, dict[str, float]]:
        """Clips and seconds per split, as plain data."""
        return {
            name: {"clips": len(self.split(name)), "seconds": round(self.seconds(name), 2)}
            for name in SPLITS
        }


def load_corpus(
    spec: CorpusSpec | None = None,
    *,
    size: str | None = None,
    cache: str | Path | None = None,
    **changes: Any,
) -> Corpus:
    """The eSpeak NG corpus of ``spec``, read from the cache or rendered and cached.

    Args:
        spec: what to render (default: the ``size`` preset, else :class:`CorpusSpec`'s defaults).
        size: a named preset of :data:`SIZES` (``tiny``, ``small``, ``default``).
        cache: the cache folder (default ``$GANFORGE_CACHE/vocoder`` or
            ``~/.cache/ganforge/vocoder``).
        **changes: :class:`CorpusSpec` fields that replace the spec's, e.g.
            ``load_corpus(sentences=3, voices=("en-us", "en-us+f3"))``.

    Raises:
        SpeechEngineError: eSpeak NG is missing or failed (the message says what to install).
        ValueError: a bad spec or an unknown voice.
    """
    spec = _resolve_spec(spec, size, changes)
    audio_path, index_path = _cache_paths(spec, cache)
    cached = _read_cache(spec, audio_path, index_path)
    if cached is not None:
        return cached
    clips = render_corpus(spec)
    _write_cache(clips, audio_path, index_path, spec)
    return Corpus(clips=clips, spec=spec, path=audio_path, rendered=True)


def _resolve_spec(spec: CorpusSpec | None, size: str | None, changes: dict[str, Any]) -> CorpusSpec:
    """The spec given, else the named size, else the defaults; then ``changes`` applied."""
    if spec is not None and size is not None:
        raise ValueError("give either spec or size, not both")
    if size is not None and size not in SIZES:
        raise ValueError(f"unknown corpus size {size!r}: choose one of {', '.join(SIZES)}")
    base = spec or SIZES[size or "default"]
    known = {item.name for item in dataclasses.fields(CorpusSpec)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(f"unknown corpus setting(s) {unknown}: known are {sorted(known)}")
    return dataclasses.replace(base, **changes) if changes else base


def render_corpus(spec: CorpusSpec, workers: int | None = None) -> list[Clip]:
    """Render every clip of ``spec`` (no cache): the readings of :func:`corpus_plan`.

    Each voice reads its sentences in a fresh eSpeak NG process with a random
    seed drawn from ``spec.seed`` and the voice, so the audio depends on the
    spec alone (not on the number of ``workers``, default: one per CPU core).
    """
    check_voices(spec.voices)
    plan = corpus_plan(spec)
    by_voice: dict[str, list[int]] = {}
    for number, (_, voice, *_) in enumerate(plan):
        by_voice.setdefault(voice, []).append(number)

    def render_voice(voice: str) -> tuple[list[int], list[np.ndarray]]:
        numbers = by_voice[voice]
        readings = [(plan[n][0], voice, plan[n][3], plan[n][4]) for n in numbers]
        return numbers, render_readings(readings, _voice_seed(spec.seed, voice))

    speech: dict[int, np.ndarray] = {}
    with ThreadPoolExecutor(max_workers=workers or min(len(by_voice), os.cpu_count() or 1)) as pool:
        for numbers, samples in pool.map(render_voice, by_voice):
            speech.update(zip(numbers, samples, strict=True))
    pad = np.zeros(round(spec.padding * SAMPLE_RATE), dtype=np.float32)
    return [
        Clip(audio=np.concatenate([pad, _to_float(speech[number]), pad]), text=text,
             voice=voice, split=split, rate=rate, pitch=pitch)
        for number, (text, voice, split, rate, pitch) in enumerate(plan)
    ]  # fmt: skip


def _voice_seed(seed: int, voice: str) -> int:
    """eSpeak's random seed for one voice's readings (breath and frication noise)."""
    return int(hashlib.sha256(f"{seed}|{voice}".encode()).hexdigest()[:8], 16)


def _to_float(samples: np.ndarray) -> np.ndarray:
    """16-bit samples as float32 in [-1, 1)."""
    return samples.astype(np.float32) / 32768.0


def corpus_plan(spec: CorpusSpec) -> list[tuple[str, str, str, int, int]]:
    """Every reading of ``spec`` as ``(text, voice, split, rate, pitch)``, in rendering order.

    Training voices read every sentence, each in the split of its sentence; the
    held-out voice reads the test sentences only, in the ``unseen`` split.
    """
    texts = spec.texts()
    splits = split_sentences(texts, spec.validation_fraction, spec.test_fraction, spec.seed)
    held_out = spec.held_out_voice()
    plan = []
    for voice in spec.voices:
        for text in texts:
            split = splits[text]
            if voice == held_out:
                if split != "test":
                    continue
                split = "unseen"
            draw = random.Random(f"{spec.seed}|{voice}|{text}")
            plan.append((text, voice, split, draw.choice(spec.rates), draw.choice(spec.pitches)))
    return plan


def split_sentences(
    texts: Sequence[str], validation_fraction: float, test_fraction: float, seed: int = 0
) -> dict[str, str]:
    """Assign each sentence to ``train``, ``validation`` or ``test`` (a seeded shuffle).

    A split with a positive fraction gets at least one sentence when there are
    enough (training keeps at least one); the rest is rounded.
    """
    order = list(texts)
    random.Random(seed).shuffle(order)
    n = len(order)
    n_test = _share(n, test_fraction)
    n_validation = _share(n - n_test, validation_fraction, of=n)
    if n - n_test - n_validation < 1:
        raise ValueError(f"{n} sentences are too few for train, validation and test splits")
    names = ["test"] * n_test + ["validation"] * n_validation
    names += ["train"] * (n - len(names))
    return dict(zip(order, names, strict=True))


def _share(available: int, fraction: float, of: int | None = None) -> int:
    """``round(fraction * of)`` sentences, at least one when ``fraction > 0``, leaving one."""
    if fraction <= 0:
        return 0
    wanted = max(1, round(fraction * (of if of is not None else available)))
    return max(0, min(wanted, available - 1))


# --- the eSpeak NG engine --------------------------------------------------------------------
#
# eSpeak NG keeps global state between utterances (waveform phase, echo buffer, its
# random generator), so an utterance depends on what the process read before it. Every
# rendering therefore runs in a fresh worker process (this file, loaded on its own so
# that the worker starts in a fraction of a second) that seeds eSpeak's random generator
# and reads its list in order: the same list and seed give the same samples.

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _VOLUME_PARAMETER, _PITCH = 1, 2, 3
_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)
_WORKER = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('_ganforge_espeak_worker', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "sys.modules[spec.name] = module\n"
    "spec.loader.exec_module(module)\n"
    "sys.exit(module._worker_main(sys.argv[2:]))\n"
)


class _Engine:
    """eSpeak NG in this process (used by the worker process only)."""

    def __init__(self, library_path: str, data_path: str) -> None:
        try:
            self.library = ctypes.CDLL(library_path)
        except OSError as error:
            message = f"eSpeak NG could not be loaded ({error}); {_INSTALL_HINT}"
            raise SpeechEngineError(message) from None
        self._declare()
        rate = self.library.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), _INITIALIZE_DONT_EXIT
        )
        if rate != SAMPLE_RATE:
            raise SpeechEngineError(
                f"eSpeak NG failed to start with its data in {data_path} (it returned {rate}); "
                f"reinstall it with: pip install --force-reinstall espeakng-loader"
            )
        self.chunks: list[np.ndarray] = []
        self.callback = _SynthCallback(self._collect)  # kept alive as long as the engine
        self.library.espeak_SetSynthCallback(self.callback)

    def _declare(self) -> None:
        """The C signatures used (``speak_lib.h`` and ``espeak_ng.h``)."""
        lib = self.library
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,  # text
            ctypes.c_size_t,  # size in bytes, with the terminating zero
            ctypes.c_uint,  # position
            ctypes.c_int,  # position type
            ctypes.c_uint,  # end position (0: none)
            ctypes.c_uint,  # flags
            ctypes.c_void_p,  # unique identifier (out)
            ctypes.c_void_p,  # user data
        ]
        lib.espeak_Synth.restype = ctypes.c_int

    def _collect(self, samples: Any, count: int, _events: Any) -> int:
        """The synthesis callback: keep a copy of each chunk of 16-bit samples."""
        if count > 0 and samples:
            self.chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0

    def seed(self, seed: int) -> None:
        """Seed eSpeak's random generator (breath and frication noise)."""
        self.library.espeak_ng_SetRandSeed(seed)

    def render(self, text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
        """``text`` read by ``voice`` as int16 samples at 22050 Hz."""
        lib = self.library
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice!r}; see available_voices()")
        lib.espeak_SetParameter(_RATE, rate, 0)
        lib.espeak_SetParameter(_PITCH, pitch, 0)
        lib.espeak_SetParameter(_VOLUME_PARAMETER, _VOLUME, 0)
        self.chunks = []
        data = text.encode() + b"\0"
        status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        chunks, self.chunks = self.chunks, []
        if status != 0 or not chunks:
            raise SpeechEngineError(f"eSpeak NG failed to read {text!r} with {voice} ({status})")
        return np.concatenate(chunks)


def _espeak_paths() -> tuple[str, Path]:
    """The ``espeakng-loader`` wheel's library and voice data folder, or a one-line error."""
    try:
        import espeakng_loader
    except ImportError:
        raise SpeechEngineError(f"eSpeak NG is not installed; {_INSTALL_HINT}") from None
    try:
        data_path = Path(espeakng_loader.get_data_path())
    except RuntimeError as error:
        message = f"eSpeak NG's voice data is missing ({error}); {_INSTALL_HINT}"
        raise SpeechEngineError(message) from None
    return espeakng_loader.get_library_path(), data_path


def _load_engine() -> _Engine:
    """eSpeak NG from the ``espeakng-loader`` wheel (its library and its voice data)."""
    library_path, data_path = _espeak_paths()
    return _Engine(library_path, str(data_path))


def _worker_main(arguments: list[str]) -> int:
    """The worker process: read the job (JSON), render it, save the samples (``.npz``)."""
    job_path, out_path = arguments
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    try:
        engine = _load_engine()
        engine.seed(int(job["seed"]))
        readings = [engine.render(*reading) for reading in job["readings"]]
    except (SpeechEngineError, ValueError) as error:
        print(" ".join(str(error).split()), file=sys.stderr)
        return 2
    lengths = np.array([len(samples) for samples in readings], dtype=np.int64)
    np.savez(out_path, audio=np.concatenate(readings), lengths=lengths)
    return 0


def render_readings(
    readings: Sequence[tuple[str, str, int, int]], seed: int = 0
) -> list[np.ndarray]:
    """Render ``(text, voice, rate, pitch)`` readings in order in a fresh eSpeak NG
    process seeded with ``seed``: int16 samples at 22050 Hz, one array per reading."""
    if not readings:
        return []
    _espeak_paths()  # a missing wheel fails here, in one line
    with tempfile.TemporaryDirectory(prefix="ganforge-espeak-") as folder:
        job, out = Path(folder) / "job.json", Path(folder) / "speech.npz"
        job.write_text(json.dumps({"seed": seed, "readings": list(readings)}), encoding="utf-8")
        command = [sys.executable, "-P", "-c", _WORKER, __file__, str(job), str(out)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            reason = lines[-1] if lines else f"exit status {result.returncode}"
            raise SpeechEngineError(f"eSpeak NG failed: {reason}")
        with np.load(out) as saved:
            audio, lengths = saved["audio"], saved["lengths"]
    return np.split(audio, np.cumsum(lengths)[:-1])


def render_speech(
    text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50, seed: int = 0
) -> np.ndarray:
    """``text`` read by one eSpeak NG voice: float32 mono in [-1, 1] at 22050 Hz.

    Args:
        text: what to say (UTF-8).
        voice: ``language`` or ``language+variant`` (see :func:`available_voices`).
        rate: words per minute (80-450).
        pitch: base pitch, 0-100 (eSpeak's default 50).
        seed: eSpeak's random seed; the same arguments give the same samples.
    """
    check_voices([voice])
    return _to_float(render_readings([(text, voice, rate, pitch)], seed)[0])


@functools.cache
def available_voices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The bundled eSpeak NG languages (``en-us``, ``en``, ...) and variants (``f3``, ``m3``, ...).

    A voice is a language, optionally followed by ``+`` and a variant: ``en-us+f3``.
    """
    _, data = _espeak_paths()
    languages = sorted(path.name.lower() for path in (data / "lang").rglob("*") if path.is_file())
    variants = sorted(path.name for path in (data / "voices" / "!v").iterdir() if path.is_file())
    return tuple(languages), tuple(variants)


def check_voices(voices: Sequence[str]) -> None:
    """Refuse, in one line, a voice whose language or variant eSpeak NG does not have.

    (eSpeak itself ignores an unknown variant silently.)
    """
    languages, variants = available_voices()
    for voice in voices:
        language, _, variant = voice.partition("+")
        if language.lower() not in languages:
            english = ", ".join(name for name in languages if name.startswith("en"))
            raise ValueError(
                f"unknown eSpeak NG language {language!r} in voice {voice!r}: "
                f"English ones are {english}"
            )
        if variant and variant not in variants:
            raise ValueError(
                f"unknown eSpeak NG variant {variant!r} in voice {voice!r}: "
                f"choose one of {', '.join(variants)}"
            )


def engine_version() -> str:
    """The eSpeak NG wheel's version (``espeakng-loader``), or ``none`` when it is missing."""
    try:
        return metadata.version("espeakng-loader")
    except metadata.PackageNotFoundError:
        return "none"


# --- the cache -------------------------------------------------------------------------------


def corpus_key(spec: CorpusSpec) -> str:
    """A hash of everything the rendered audio depends on: the spec's sentences
    (resolved), voices, draws, splits, padding, the engine and the file format."""
    description = {
        "format": _FORMAT,
        "engine": engine_version(),
        "volume": _VOLUME,
        "spec": dataclasses.asdict(dataclasses.replace(spec, sentences=tuple(spec.texts()))),
    }
    text = json.dumps(description, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def default_cache_folder() -> Path:
    """``$GANFORGE_CACHE/vocoder``, else ``~/.cache/ganforge/vocoder``."""
    return cache_dir() / "vocoder"


def _cache_paths(spec: CorpusSpec, cache: str | Path | None) -> tuple[Path, Path]:
    """The FLAC and JSON files of ``spec`` in the cache folder."""
    folder = Path(cache).expanduser() if cache is not None else default_cache_folder()
    stem = f"espeak-corpus-{corpus_key(spec)}"
    return folder / f"{stem}.flac", folder / f"{stem}.json"


def _write_cache(clips: list[Clip], audio_path: Path, index_path: Path, spec: CorpusSpec) -> None:
    """Both files appear together or neither does: the audio of all clips end to end
    (16-bit FLAC) and an index of their texts, voices, splits and sample ranges."""
    entries, start = [], 0
    for clip in clips:
        entries.append({
            "text": clip.text, "voice": clip.voice, "split": clip.split,
            "rate": clip.rate, "pitch": clip.pitch, "start": start, "length": len(clip.audio),
        })  # fmt: skip
        start += len(clip.audio)
    index = {"format": _FORMAT, "key": corpus_key(spec), "samples": start, "clips": entries}
    audio = np.concatenate([clip.audio for clip in clips])
    with atomic_files({"audio": audio_path, "index": index_path}) as temporary:
        sf.write(temporary["audio"], audio, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
        temporary["index"].write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")


def _read_cache(spec: CorpusSpec, audio_path: Path, index_path: Path) -> Corpus | None:
    """The cached corpus of ``spec``, or ``None`` when it is missing, stale or damaged."""
    if not (audio_path.is_file() and index_path.is_file()):
        return None
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        if index.get("format") != _FORMAT or index.get("key") != corpus_key(spec):
            return None
        audio, rate = sf.read(audio_path, dtype="int16")
        if rate != SAMPLE_RATE or audio.ndim != 1 or len(audio) != index["samples"]:
            return None
        clips = [_clip_from_entry(audio, entry) for entry in index["clips"]]
    except (OSError, ValueError, KeyError, TypeError, sf.SoundFileError):
        return None
    return Corpus(clips=clips, spec=spec, path=audio_path, rendered=False)


def _clip_from_entry(audio: np.ndarray, entry: dict[str, Any]) -> Clip:
    """One clip cut out of the cached audio."""
    start, length = int(entry["start"]), int(entry["length"])
    samples = audio[start : start + length].astype(np.float32) / 32768.0
    return Clip(
        audio=samples, text=entry["text"], voice=entry["voice"], split=entry["split"],
        rate=int(entry["rate"]), pitch=int(entry["pitch"]),
    )  # fmt: skip


# --- the sentences ---------------------------------------------------------------------------

HANDWRITTEN = (
    "The birch canoe slid on the smooth planks.",
    "A large size in stockings is hard to sell.",
    "Where were you when the lights went out last night?",
    "She sells fresh oysters by the seashore every June.",
    "Quick zephyrs blow, vexing daft Jim.",
    "How much wood would a woodchuck chuck if it could?",
    "The museum opens at nine thirty on weekdays.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "Six spoons of fresh snow peas, five thick slabs of blue cheese.",
    "We also need a small plastic snake and a big toy frog for the kids.",
    "Oh no, the kettle is boiling over again!",
    "Is it true that owls can turn their heads almost all the way around?",
    "Thirty-three thousand people watched the final match.",
    "The judge paused, looked at the jury, and read the verdict aloud.",
    "My grandmother grows tomatoes, beans and pumpkins behind her cottage.",
    "Could you spell your surname for me, please?",
    "Lightning flashed twice before the thunder rolled across the hills.",
    "The recipe calls for two cups of flour and a pinch of salt.",
    "Nobody expected the quiet librarian to win the marathon.",
    "Turn left at the bakery, then walk straight until you reach the fountain.",
    "Measure twice and cut once, the old carpenter always said.",
    "A yellow submarine surfaced beside the fishing boats at dawn.",
    "Whose jacket is hanging on the back of the kitchen door?",
    "The orchestra tuned their instruments while the audience whispered.",
    "Seven brave knights rode north through the freezing rain.",
    "I would rather walk home than wait another hour for the bus.",
    "The thermometer showed minus twelve degrees this morning.",
    "Jazz musicians often improvise long solos in smoky clubs.",
    "Wash your hands before you touch the bread, Thomas.",
    "The zebra and the giraffe drank side by side at the water hole.",
    "Why does the moon look so much bigger near the horizon?",
    "Her voice echoed through the empty marble hallway.",
)

_SUBJECTS = (
    "Anna", "Peter", "the old fisherman", "my neighbour", "the young doctor", "our teacher",
    "the pilot", "a tall stranger", "the children", "Grandma Rose", "Mister Lee", "Doctor Patel",
    "the farmer", "the captain", "Sophie", "Jacob", "the baker", "a quiet student", "the mayor",
    "Uncle Martin", "the twins", "Maria", "the night guard", "Oliver", "the new manager",
)  # fmt: skip
_VERBS = (
    ("paint", "painted"), ("carry", "carried"), ("find", "found"), ("repair", "repaired"),
    ("sell", "sold"), ("buy", "bought"), ("open", "opened"), ("drop", "dropped"),
    ("wash", "washed"), ("borrow", "borrowed"), ("hide", "hid"), ("polish", "polished"),
    ("wrap", "wrapped"), ("measure", "measured"), ("deliver", "delivered"), ("notice", "noticed"),
    ("clean", "cleaned"), ("forget", "forgot"), ("pack", "packed"), ("examine", "examined"),
    ("move", "moved"), ("lose", "lost"), ("choose", "chose"), ("photograph", "photographed"),
)  # fmt: skip
_ADJECTIVES = (
    "rusty", "bright yellow", "heavy wooden", "tiny silver", "broken", "shiny", "ancient",
    "muddy", "fragile", "enormous", "crooked", "velvet", "frozen", "smooth", "striped", "dusty",
    "golden", "purple", "brand new", "battered", "curious", "narrow", "beautiful", "plain grey",
)  # fmt: skip
_NOUNS = (
    ("bicycle", "bicycles"), ("lantern", "lanterns"), ("violin", "violins"),
    ("suitcase", "suitcases"), ("kettle", "kettles"), ("umbrella", "umbrellas"),
    ("basket", "baskets"), ("telescope", "telescopes"), ("mirror", "mirrors"),
    ("blanket", "blankets"), ("envelope", "envelopes"), ("map", "maps"), ("clock", "clocks"),
    ("guitar", "guitars"), ("chair", "chairs"), ("rowing boat", "rowing boats"),
    ("letter", "letters"), ("cupboard", "cupboards"), ("shovel", "shovels"),
    ("jigsaw puzzle", "jigsaw puzzles"), ("vase", "vases"), ("notebook", "notebooks"),
    ("teapot", "teapots"), ("sculpture", "sculptures"), ("wheelbarrow", "wheelbarrows"),
)  # fmt: skip
_PLACES = (
    "near the harbour", "behind the station", "in the garden", "under the bridge",
    "at the market", "beside the river", "on the top shelf", "in the kitchen",
    "outside the library", "across the valley", "by the old church", "inside the garage",
    "in the attic", "at the edge of the forest", "next to the post office", "on the balcony",
)  # fmt: skip
_TIMES = (
    "yesterday morning", "last Thursday", "before sunrise", "after lunch", "during the storm",
    "in early spring", "on Sunday evening", "at midnight", "three weeks ago", "every winter",
    "just before the holidays", "on the fourth of July", "late in the afternoon", "at dawn",
)  # fmt: skip
_QUALITIES = (
    "quiet", "cold", "expensive", "crowded", "dark", "heavy", "noisy", "warm", "empty",
    "slippery", "bright", "strange", "lovely", "dangerous", "peaceful", "cheap",
)  # fmt: skip
_COUNTS = (
    "two", "three", "five", "seven", "eight", "eleven", "twelve", "fifteen", "twenty",
    "forty", "sixty-six", "ninety", "a hundred", "several", "a dozen", "hundreds of",
)  # fmt: skip
_WEATHER = (
    "It was raining hard", "The wind was howling", "The sun finally came out",
    "Snow covered the roads", "Fog rolled over the hills", "The night was clear and still",
    "A thunderstorm was coming", "The heat was unbearable",
)  # fmt: skip
_CLOCK = (
    "seven fifteen", "half past nine", "a quarter to four", "noon", "ten o'clock",
    "six forty-five", "eleven twenty", "two thirty", "midnight", "eight o'clock sharp",
)  # fmt: skip

_TEMPLATES = (
    "{subject} {past} the {adjective} {noun} {place} {time}.",
    "Did {subject} {base} the {adjective} {noun} {place}?",
    "{subject} {past} {count} {adjective} {nouns} {time}.",
    "Why is the {noun} {place} so {quality}?",
    "Please {base} the {noun} {place}, and {base2} it carefully.",
    "{weather}, so {subject} {past} the {noun} {place}.",
    "The meeting about the {adjective} {noun} starts at {clock}, not at {clock2}.",
    "What a {adjective} {noun}, and how {quality} the room feels!",
    "{subject} asked whether the {noun} was {quality} or {quality2}.",
    "I think {subject} will {base} those {nouns} {time}, don't you?",
    "Nobody could {base} the {adjective} {noun} because it was too {quality}.",
    "{weather}; still, {subject} {past} {count} {nouns} {place}.",
)


def english_sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct English sentences: the hand-written ones first, then generated ones.

    The generated sentences fill templates (statements, questions, requests,
    exclamations, numbers, times of day) from word lists with a generator
    seeded by ``seed``; the same arguments always give the same list.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    sentences = list(HANDWRITTEN[:count])
    seen = set(sentences)
    draw = random.Random(seed)
    attempts = 0
    while len(sentences) < count:
        attempts += 1
        if attempts > 100 * count:
            raise ValueError(f"cannot generate {count} distinct sentences")
        template = _TEMPLATES[(len(sentences) + attempts) % len(_TEMPLATES)]
        sentence = _fill(template, draw)
        if sentence not in seen:
            seen.add(sentence)
            sentences.append(sentence)
    return sentences


def _fill(template: str, draw: random.Random) -> str:
    """One sentence from ``template`` with words drawn by ``draw``."""
    (base, past), (base2, _) = draw.sample(_VERBS, 2)
    noun, nouns = draw.choice(_NOUNS)
    quality, quality2 = draw.sample(_QUALITIES, 2)
    clock, clock2 = draw.sample(_CLOCK, 2)
    words = {
        "subject": draw.choice(_SUBJECTS), "base": base, "past": past, "base2": base2,
        "adjective": draw.choice(_ADJECTIVES), "noun": noun, "nouns": nouns,
        "place": draw.choice(_PLACES), "time": draw.choice(_TIMES), "quality": quality,
        "quality2": quality2, "count": draw.choice(_COUNTS), "weather": draw.choice(_WEATHER),
        "clock": clock, "clock2": clock2,
    }  # fmt: skip
    sentence = template.format(**words)
    return sentence[0].upper() + sentence[1:]
