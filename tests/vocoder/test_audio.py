"""The user's own audio: reading, mixdown, resampling, bad files, and training segments."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from ganforge.core.training import LoaderBatches
from ganforge.vocoder.audio import (
    AudioFileError,
    SegmentDataset,
    load_audio,
    load_audio_folder,
    mix_down,
    normalize_audio,
    wav_shortfall,
)

RATE = 22050


def _tone(seconds: float, rate: int = RATE, frequency: float = 440.0, level: float = 0.5):
    """A sine of ``seconds`` at ``rate`` (float32)."""
    t = np.arange(round(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def _write(path: Path, audio: np.ndarray, rate: int = RATE, subtype: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate, subtype=subtype)
    return path


def _bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """One file of each bad kind, with the words its error must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    whole = _write(folder / "whole.wav", _tone(1.0), subtype="PCM_16").read_bytes()
    (folder / "whole.wav").unlink()
    truncated = folder / "truncated.wav"
    truncated.write_bytes(whole[: len(whole) // 2])
    flac = _write(folder / "cut.flac", _tone(1.0, frequency=3000)).read_bytes()
    cut_flac = folder / "cut.flac"
    cut_flac.write_bytes(flac[: len(flac) // 2])
    text = folder / "notes.wav"
    text.write_text("these are my notes, not audio\n", encoding="utf-8")
    silent = _write(folder / "silent.wav", np.zeros(RATE, dtype=np.float32), subtype="PCM_16")
    short = _write(folder / "short.flac", _tone(0.2))
    return {
        "empty": (empty, "empty file (0 bytes)"),
        "truncated": (truncated, "truncated WAV: its header declares 44100 bytes"),
        "truncated flac": (cut_flac, "truncated or corrupt FLAC audio"),
        "not audio": (text, "not a readable audio file"),
        "silent": (silent, "silent (every sample is zero)"),
        "too short": (short, "too short: 0.20 s (4410 samples at 22050 Hz)"),
    }


def test_stereo_is_mixed_down_to_the_mean_of_its_channels(tmp_path: Path):
    left, right = _tone(1.0, frequency=300), _tone(1.0, frequency=500, level=0.25)
    path = _write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), subtype="FLOAT")
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.shape == (RATE,)
    np.testing.assert_allclose(audio, (left + right) / 2, atol=1e-7)
    np.testing.assert_array_equal(mix_down(np.stack([left, right], axis=1)), audio)


def test_resampling_44100_to_22050_keeps_a_sines_frequency(tmp_path: Path):
    path = _write(tmp_path / "tone.flac", _tone(1.0, rate=44100, frequency=1234.0), rate=44100)
    audio = load_audio(path, sample_rate=RATE)
    assert audio.shape == (RATE,)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    peak = np.fft.rfftfreq(len(audio), 1 / RATE)[np.argmax(spectrum)]
    assert abs(peak - 1234.0) <= 1.0
    middle = audio[RATE // 4 : 3 * RATE // 4]  # away from the edges of the filter
    assert abs(np.sqrt(np.mean(middle**2)) - 0.5 / np.sqrt(2)) < 0.01  # the level too


def test_a_tone_above_the_new_nyquist_is_filtered_out_not_aliased(tmp_path: Path):
    path = _write(tmp_path / "high.wav", _tone(1.0, rate=44100, frequency=15000.0), rate=44100)
    audio = load_audio(path, sample_rate=RATE)[RATE // 10 : -RATE // 10]
    rms = np.sqrt(np.mean(audio**2))
    assert 20 * np.log10(rms / (0.5 / np.sqrt(2))) < -40  # no 7050 Hz alias left


@pytest.mark.parametrize(
    "kind", ["empty", "truncated", "truncated flac", "not audio", "silent", "too short"]
)
def test_each_bad_file_gives_one_line_naming_it(kind: str, tmp_path: Path):
    path, words = _bad_files(tmp_path)[kind]
    with pytest.raises(AudioFileError) as error:
        load_audio(path, min_samples=8192)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and words in message
    assert "\n" not in message and error.value.path == path


def test_a_bad_file_stops_the_folder_without_skip_bad(tmp_path: Path):
    _write(tmp_path / "a_good.wav", _tone(1.0))
    _bad_files(tmp_path / "more")
    with pytest.raises(
        AudioFileError,
        match=r"cut.flac: truncated or corrupt FLAC audio \(flac decoder lost sync\)$",
    ):
        load_audio_folder(tmp_path)


def test_skip_bad_skips_each_bad_file_with_one_warning_and_counts(tmp_path: Path, caplog):
    good = [_write(tmp_path / "good" / f"{n}.wav", _tone(1.0, frequency=200 + n)) for n in range(2)]
    bad = _bad_files(tmp_path / "bad")
    with caplog.at_level(logging.WARNING, logger="ganforge.vocoder.audio"):
        loaded = load_audio_folder(tmp_path, skip_bad=True)
    assert [clip.path for clip in loaded.clips] == good
    assert sorted(item.path for item in loaded.skipped) == sorted(p for p, _ in bad.values())
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == len(bad) + 1 and all("\n" not in line for line in lines)
    for path, words in bad.values():
        mine = [line for line in lines if line.startswith(f"skipped {path}: ")]
        assert len(mine) == 1 and words in mine[0]
    assert lines[-1] == f"skipped 6 of 8 audio files under {tmp_path}"
    assert loaded.seconds() == pytest.approx(2.0)


def test_folders_are_read_recursively_in_order(tmp_path: Path):
    paths = [
        _write(tmp_path / "b" / "two.FLAC", _tone(0.5)),
        _write(tmp_path / "a" / "deep" / "one.wav", _tone(0.5)),
        _write(tmp_path / "three.wav", _tone(0.5)),
    ]
    (tmp_path / "readme.txt").write_text("not read", encoding="utf-8")
    loaded = load_audio_folder(tmp_path)
    assert [clip.path for clip in loaded.clips] == sorted(paths)
    assert all(clip.text is None for clip in loaded.clips)
    nothing = tmp_path / "a" / "nothing"
    nothing.mkdir()
    with pytest.raises(ValueError, match="no .wav or .flac files found"):
        load_audio_folder(nothing)


def test_ljspeech_layout(tmp_path: Path):
    for number in (1, 2, 3):
        _write(tmp_path / "wavs" / f"LJ001-000{number}.wav", _tone(0.5, frequency=100 * number))
    _write(tmp_path / "wavs" / "unlisted.wav", _tone(0.5))
    (tmp_path / "metadata.csv").write_text(
        "LJ001-0002|Printing, in 1450.|Printing, in fourteen fifty.\n"
        "LJ001-0001|The first.|\n"
        "\n"
        'LJ001-0003|He said "yes"|He said "yes"\n',
        encoding="utf-8",
    )
    loaded = load_audio_folder(tmp_path)
    assert [clip.path.name for clip in loaded.clips] == [
        "LJ001-0002.wav", "LJ001-0001.wav", "LJ001-0003.wav"
    ]  # fmt: skip
    assert [clip.text for clip in loaded.clips] == [
        "Printing, in fourteen fifty.", "The first.", 'He said "yes"'
    ]  # fmt: skip
    (tmp_path / "metadata.csv").write_text("LJ001-0009|Missing.|Missing.\n", encoding="utf-8")
    with pytest.raises(AudioFileError, match="LJ001-0009.wav: no such file"):
        load_audio_folder(tmp_path)


def test_normalisation_peak_and_rms():
    audio = _tone(1.0, level=0.2)
    assert np.abs(normalize_audio(audio, "peak")).max() == pytest.approx(0.95, abs=1e-6)
    levelled = normalize_audio(audio, "rms")
    assert np.sqrt(np.mean(levelled**2)) == pytest.approx(0.1, rel=1e-3)
    spiky = np.zeros(RATE, dtype=np.float32)
    spiky[::1000] = 0.5  # a low RMS and a high peak: the peak limits the gain
    assert np.abs(normalize_audio(spiky, "rms")).max() == pytest.approx(0.99, abs=1e-6)
    assert normalize_audio(audio, None) is audio


def test_wav_shortfall_reads_the_riff_header(tmp_path: Path):
    whole = _write(tmp_path / "whole.wav", _tone(0.1), subtype="PCM_16")
    assert wav_shortfall(whole) is None
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:-100])
    assert wav_shortfall(cut) == (4410, 4310)
    assert wav_shortfall(_write(tmp_path / "x.flac", _tone(0.1))) is None


# --- training segments ---------------------------------------------------------------------


def _waveforms() -> list[np.ndarray]:
    """Three recordings: 5.5, 2 and 0.25 segments of 8192 samples long."""
    generator = np.random.default_rng(0)
    lengths = (45056, 16384, 2048)
    return [generator.uniform(-1, 1, n).astype(np.float32) for n in lengths]


def test_segments_are_crops_of_fixed_length():
    waveforms = _waveforms()
    dataset = SegmentDataset(waveforms, 8192, seed=3)
    assert len(dataset) == 5 + 2 + 1
    for index in range(len(dataset)):
        number, start = dataset.crop(index)
        segment = dataset[index]
        assert segment.shape == (1, 8192) and segment.dtype == torch.float32
        expected = waveforms[number][start : start + 8192]
        np.testing.assert_array_equal(segment[0, : len(expected)].numpy(), expected)
    assert [dataset.crop(index)[0] for index in range(8)] == [0] * 5 + [1] * 2 + [2]
    short = dataset[7][0].numpy()  # zero-padded at the end
    np.testing.assert_array_equal(short[:2048], waveforms[2])
    assert not short[2048:].any()


def test_crops_depend_on_seed_epoch_and_index_only():
    waveforms = _waveforms()
    first, second = SegmentDataset(waveforms, seed=7), SegmentDataset(waveforms, seed=7)
    torch.manual_seed(123)
    np.random.seed(123)  # the global RNGs play no part
    crops = [first.crop(index) for index in range(len(first))]
    assert crops == [second.crop(index) for index in reversed(range(len(second)))][::-1]
    first.set_epoch(1)
    moved = [first.crop(index) for index in range(6)]
    assert sum(a != b for a, b in zip(crops[:6], moved, strict=True)) >= 5  # fresh crops
    first.set_epoch(0)
    assert [first.crop(index) for index in range(len(first))] == crops
    other = SegmentDataset(waveforms, seed=8)
    assert [other.crop(index) for index in range(6)] != crops[:6]


def test_loader_batches_resume_exactly_across_an_epoch():
    dataset = SegmentDataset(_waveforms(), 512, seed=1)  # 88 + 32 + 4 segments
    batches = LoaderBatches(dataset, batch_size=16, seed=5, workers=0, pin_memory=False)
    assert batches.batches_per_epoch == 7
    for _ in range(5):
        batches.next_batch()
    state = batches.state_dict()
    expected = [batches.next_batch() for _ in range(6)]  # crosses into epoch 1
    resumed = LoaderBatches(SegmentDataset(_waveforms(), 512, seed=1), 16, seed=5,
                            pin_memory=False)  # fmt: skip
    resumed.load_state_dict(state)
    for want in expected:
        assert torch.equal(resumed.next_batch(), want)
    assert not torch.equal(expected[2], expected[-1])


def test_segment_settings_are_checked():
    with pytest.raises(ValueError, match="multiple of hop_length"):
        SegmentDataset(_waveforms(), 8000)
    with pytest.raises(ValueError, match="at least one waveform"):
        SegmentDataset([])
    with pytest.raises(ValueError, match="waveform 1 must be 1-D"):
        SegmentDataset([np.ones(9000), np.ones((2, 9000))])
    with pytest.raises(IndexError):
        SegmentDataset(_waveforms())[8]
