"""The user's own speech: WAV/FLAC folders or the LJSpeech layout, and training segments.

A folder is read recursively (``*.wav`` and ``*.flac``), or, when it holds
``metadata.csv`` and ``wavs/``, as LJSpeech (``id|text|normalized text`` lines,
``wavs/<id>.wav``). Each file is read with soundfile, mixed down to mono (the
mean of its channels), resampled to the model's rate with torchaudio and,
optionally, normalised (HiFi-GAN scales each file to a peak of 0.95).

A bad file (empty, truncated, not audio, silent, shorter than one training
segment) raises :class:`AudioFileError`, one line that names the file; with
``skip_bad=True`` it is skipped instead, with one warning line per file and a
closing count. Files are only read here; nothing is written.

:class:`SegmentDataset` cuts one random fixed-length segment per item, at a
position drawn from ``(seed, epoch, index)``, so the core's ``LoaderBatches``
(which calls ``set_epoch``) resumes a run exactly.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset

from ganforge.vocoder.corpus import SAMPLE_RATE

SEGMENT_LENGTH = 8192
"""Samples per training segment (32 hops of 256, HiFi-GAN's and MelGAN's choice)."""

AUDIO_SUFFIXES = (".wav", ".flac")
"""The file types read from a folder (case-insensitive)."""

SILENCE_PEAK = 1e-4
"""A file whose peak stays below this (-80 dBFS) is silent."""

PEAK_TARGET = 0.95
"""Peak after ``normalize="peak"`` (HiFi-GAN's ``normalize(audio) * 0.95``)."""

RMS_TARGET = 0.1
"""RMS after ``normalize="rms"`` (-20 dBFS), lowered if the peak would pass 0.99."""

Normalization = Literal["peak", "rms"] | None

log = logging.getLogger(__name__)


class AudioFileError(ValueError):
    """A bad audio file; the message is one line: ``path: what is wrong``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path, self.reason = Path(path), " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")


@dataclass(frozen=True)
class AudioClip:
    """One file's waveform.

    Attributes:
        path: the file.
        audio: float32 mono samples at the collection's rate.
        text: its transcript (LJSpeech), else ``None``.
    """

    path: Path
    audio: np.ndarray = field(repr=False)
    text: str | None = None


@dataclass(frozen=True)
class SkippedFile:
    """A file left out by ``skip_bad=True`` and why."""

    path: Path
    reason: str


@dataclass
class AudioSet:
    """The clips read from a folder, and the files skipped."""

    clips: list[AudioClip]
    skipped: list[SkippedFile]
    sample_rate: int
    root: Path

    def __len__(self) -> int:
        return len(self.clips)

    def waveforms(self) -> list[np.ndarray]:
        """The float32 waveforms, in file order."""
        return [clip.audio for clip in self.clips]

    def seconds(self) -> float:
        """Seconds of audio read."""
        return sum(len(clip.audio) for clip in self.clips) / self.sample_rate


def load_audio(
    path: str | Path,
    sample_rate: int = SAMPLE_RATE,
    *,
    min_samples: int = 0,
    normalize: Normalization = None,
) -> np.ndarray:
    """One audio file as float32 mono at ``sample_rate``.

    Args:
        path: a WAV or FLAC file (any format libsndfile reads).
        sample_rate: the rate to resample to (Hz).
        min_samples: refuse a file shorter than this after resampling
            (one training segment).
        normalize: ``"peak"`` (to 0.95, as HiFi-GAN), ``"rms"`` (to -20 dBFS)
            or ``None`` (as recorded).

    Raises:
        AudioFileError: the file is missing, empty, truncated, not audio,
            silent or too short (one line naming the file).
    """
    path = Path(path)
    audio, rate = _read(path)
    audio = mix_down(audio)
    if not np.isfinite(audio).all():
        raise AudioFileError(path, "contains NaN or infinite samples")
    audio = resample(audio, rate, sample_rate)
    _check_level_and_length(path, audio, sample_rate, min_samples)
    return normalize_audio(audio, normalize)


def _read(path: Path) -> tuple[np.ndarray, int]:
    """The samples (frames x channels, float32) and rate of ``path``, or a one-line error."""
    if not path.is_file():
        raise AudioFileError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioFileError(path, "empty file (0 bytes)")
    shortfall = wav_shortfall(path)
    if shortfall is not None:
        declared, present = shortfall
        raise AudioFileError(
            path, f"truncated WAV: its header declares {declared} bytes of samples, "
            f"the file holds {present}"
        )  # fmt: skip
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError) as error:
        raise AudioFileError(path, f"not a readable audio file ({_sf_reason(error)})") from None
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as error:
        reason = f"truncated or corrupt {info.format} audio ({_sf_reason(error)})"
        raise AudioFileError(path, reason) from None
    if audio.shape[0] == 0:
        raise AudioFileError(path, "no audio samples (0 frames)")
    if audio.shape[0] < info.frames:
        raise AudioFileError(path, f"truncated: {audio.shape[0]} of {info.frames} frames read")
    return audio, int(rate)


def _sf_reason(error: Exception) -> str:
    """libsndfile's message without its ``Error opening 'path':`` or ``Error :`` prefix."""
    text = str(error).strip()
    if text.startswith("Error") and ": " in text:
        text = text.split(": ", 1)[1]
    return text.rstrip(".")


def wav_shortfall(path: str | Path) -> tuple[int, int] | None:
    """``(declared, present)`` bytes of a RIFF/WAVE file's sample data when the file
    ends before its header says (libsndfile reads such a file silently shorter);
    ``None`` for a complete WAV, a streamed one (size 0 or unknown), or another format."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as stream:
        header = stream.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return None
        position = 12
        while position + 8 <= size:
            stream.seek(position)
            chunk = stream.read(8)
            length = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                present = size - position - 8
                if length in (0, 0xFFFFFFFF) or length <= present:
                    return None
                return length, present
            position += 8 + length + (length & 1)
    return None


def mix_down(audio: np.ndarray) -> np.ndarray:
    """Mono: the mean of the channels of ``(frames, channels)`` audio (1-D stays as is)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        return audio
    return audio.mean(axis=1, dtype=np.float32)


def resample(audio: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """``audio`` (1-D) from ``orig_rate`` to ``new_rate`` with torchaudio's windowed sinc."""
    if orig_rate == new_rate:
        return np.asarray(audio, dtype=np.float32)
    from torchaudio.functional import resample as sinc_resample

    signal = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    return sinc_resample(signal, orig_rate, new_rate).numpy()


def _check_level_and_length(path: Path, audio: np.ndarray, rate: int, min_samples: int) -> None:
    """Refuse silent audio and audio shorter than ``min_samples``."""
    peak = float(np.abs(audio).max(initial=0.0))
    if peak == 0.0:
        raise AudioFileError(path, "silent (every sample is zero)")
    if peak < SILENCE_PEAK:
        raise AudioFileError(path, f"silent (peak {20 * np.log10(peak):.0f} dBFS, below -80)")
    if len(audio) < min_samples:
        raise AudioFileError(
            path, f"too short: {len(audio) / rate:.2f} s ({len(audio)} samples at {rate} Hz) "
            f"is less than one training segment ({min_samples} samples)"
        )  # fmt: skip


def normalize_audio(audio: np.ndarray, mode: Normalization) -> np.ndarray:
    """Scale to a peak of 0.95 (``"peak"``), to -20 dBFS RMS (``"rms"``), or not (``None``)."""
    if mode is None:
        return audio
    peak = float(np.abs(audio).max(initial=0.0))
    if peak == 0.0:
        return audio
    if mode == "peak":
        return (audio * (PEAK_TARGET / peak)).astype(np.float32)
    if mode == "rms":
        rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
        gain = min(RMS_TARGET / rms, 0.99 / peak)
        return (audio * gain).astype(np.float32)
    raise ValueError(f"normalize must be 'peak', 'rms' or None, got {mode!r}")


def find_audio_files(folder: str | Path) -> list[tuple[Path, str | None]]:
    """The audio files of ``folder`` with their transcripts (LJSpeech) or ``None``.

    LJSpeech (``metadata.csv`` and ``wavs/``): the files the metadata lists, in
    its order, with the normalised text (else the raw text). Otherwise every
    ``*.wav`` and ``*.flac`` below ``folder``, sorted; a single file is itself.
    """
    folder = Path(folder)
    if folder.is_file():
        return [(folder, None)]
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder or file")
    if (folder / "metadata.csv").is_file() and (folder / "wavs").is_dir():
        return read_ljspeech_metadata(folder)
    files = sorted(
        path for path in folder.rglob("*")
        if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file()
    )  # fmt: skip
    return [(path, None) for path in files]


def read_ljspeech_metadata(folder: str | Path) -> list[tuple[Path, str | None]]:
    """``(wavs/<id>.wav, text)`` for each line ``id|text[|normalized text]`` of metadata.csv."""
    folder = Path(folder)
    metadata = folder / "metadata.csv"
    entries = []
    lines = metadata.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2 or not fields[0].strip():
            raise ValueError(f"{metadata}:{number}: expected 'id|text|normalized text'")
        text = fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]
        entries.append((folder / "wavs" / f"{fields[0].strip()}.wav", text.strip()))
    return entries


def load_audio_folder(
    folder: str | Path,
    sample_rate: int = SAMPLE_RATE,
    *,
    segment_length: int = SEGMENT_LENGTH,
    normalize: Normalization = None,
    skip_bad: bool = False,
) -> AudioSet:
    """Every audio file of a folder (recursive) or an LJSpeech folder, checked and resampled.

    Args:
        folder: a folder of WAV/FLAC files, an LJSpeech folder, or one file.
        sample_rate: the model's rate (Hz); files at other rates are resampled.
        segment_length: a file shorter than this (after resampling) is bad.
        normalize: see :func:`load_audio`.
        skip_bad: skip bad files with one warning line each (and a count)
            instead of raising on the first.

    Raises:
        AudioFileError: a bad file (without ``skip_bad``), one line naming it.
        FileNotFoundError, ValueError: no folder, no audio files, or none usable.
    """
    root = Path(folder)
    entries = find_audio_files(root)
    if not entries:
        raise ValueError(f"{root}: no {' or '.join(AUDIO_SUFFIXES)} files found")
    clips, skipped = [], []
    for path, text in entries:
        try:
            audio = load_audio(path, sample_rate, min_samples=segment_length, normalize=normalize)
        except AudioFileError as error:
            if not skip_bad:
                raise
            log.warning("skipped %s", error)
            skipped.append(SkippedFile(error.path, error.reason))
            continue
        clips.append(AudioClip(path=path, audio=audio, text=text))
    if skipped:
        log.warning("skipped %d of %d audio files under %s", len(skipped), len(entries), root)
    if not clips:
        raise ValueError(f"{root}: none of its {len(entries)} audio files is usable")
    return AudioSet(clips=clips, skipped=skipped, sample_rate=sample_rate, root=root)


class SegmentDataset(Dataset):
    """Random fixed-length training segments of waveforms, reproducible from
    ``(seed, epoch, index)``.

    A waveform of ``n`` samples gives ``max(1, n // segment_length)`` items per
    epoch (long recordings are not under-sampled); each item is one segment of
    that waveform at a random position. A waveform shorter than a segment is
    zero-padded at the end (as HiFi-GAN does). The position depends only on the
    seed, the epoch (:meth:`set_epoch`, called by ``LoaderBatches``) and the
    index, never on a global or per-worker RNG, so resumed runs and DataLoader
    workers see the same segments.

    Items are float32 tensors shaped ``(1, segment_length)``; the mel spectrogram
    is the model's to compute.

    Args:
        waveforms: 1-D float arrays (e.g. ``corpus.waveforms("train")`` or
            ``audio_set.waveforms()``).
        segment_length: samples per segment, a multiple of ``hop_length``.
        hop_length: the mel hop (256 in the HiFi-GAN convention).
        seed: seeds the crop positions (>= 0).
    """

    def __init__(
        self,
        waveforms: Sequence[np.ndarray],
        segment_length: int = SEGMENT_LENGTH,
        *,
        hop_length: int = 256,
        seed: int = 0,
    ) -> None:
        if hop_length < 1 or segment_length < hop_length or segment_length % hop_length:
            raise ValueError(
                f"segment_length ({segment_length}) must be a positive multiple of "
                f"hop_length ({hop_length})"
            )
        if not waveforms:
            raise ValueError("SegmentDataset needs at least one waveform")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.waveforms = [_as_mono_float32(audio, number) for number, audio in enumerate(waveforms)]
        self.segment_length, self.hop_length, self.seed = segment_length, hop_length, seed
        counts = [max(1, len(audio) // segment_length) for audio in self.waveforms]
        self.starts = np.concatenate([[0], np.cumsum(counts)]).tolist()
        self.epoch = 0

    def __len__(self) -> int:
        return self.starts[-1]

    def set_epoch(self, epoch: int) -> None:
        """Draw the crops of ``epoch`` from now on."""
        self.epoch = int(epoch)

    def crop(self, index: int) -> tuple[int, int]:
        """``(waveform number, start sample)`` of item ``index`` in the current epoch."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} segments")
        number = bisect.bisect_right(self.starts, index) - 1
        room = len(self.waveforms[number]) - self.segment_length
        if room <= 0:
            return number, 0
        draw = np.random.default_rng((self.seed, self.epoch, index))
        return number, int(draw.integers(0, room + 1))

    def __getitem__(self, index: int) -> torch.Tensor:
        number, start = self.crop(index)
        segment = self.waveforms[number][start : start + self.segment_length]
        if len(segment) < self.segment_length:
            segment = np.pad(segment, (0, self.segment_length - len(segment)))
        return torch.from_numpy(np.array(segment, dtype=np.float32)).unsqueeze(0)


def _as_mono_float32(audio: np.ndarray, number: int) -> np.ndarray:
    """``audio`` as a 1-D float32 array, or a one-line error naming its position."""
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"waveform {number} must be 1-D and not empty, got shape {array.shape}")
    return array
