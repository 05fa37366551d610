"""The embedded eSpeak NG corpus: real speech, clean splits, a cache that is reused."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ganforge.vocoder import corpus as corpus_module
from ganforge.vocoder.corpus import (
    SAMPLE_RATE,
    SIZES,
    CorpusSpec,
    SpeechEngineError,
    corpus_plan,
    english_sentences,
    load_corpus,
    render_readings,
    render_speech,
    split_sentences,
)

TINY_TEXTS = (
    "The birch canoe slid on the smooth planks.",
    "Where were you when the lights went out last night?",
    "Please call Stella and ask her to bring these things with her from the store.",
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    """Three sentences read by two voices (the second held out), rendered once."""
    cache = tmp_path_factory.mktemp("corpus-cache")
    return load_corpus(size="tiny", cache=cache, sentences=TINY_TEXTS, padding=0.0)


def _frame_levels_db(audio: np.ndarray, frame: int = 441) -> np.ndarray:
    """dBFS of each 20 ms frame."""
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame)
    return 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)


def _f0(audio: np.ndarray) -> float:
    """Median fundamental frequency (Hz) of the loud 40 ms frames, by autocorrelation."""
    frame, estimates = 882, []
    for start in range(0, len(audio) - frame, frame):
        chunk = audio[start : start + frame].astype(np.float64)
        if np.sqrt(np.mean(chunk**2)) < 0.05:
            continue
        correlation = np.correlate(chunk, chunk, "full")[frame - 1 :]
        low, high = SAMPLE_RATE // 400, SAMPLE_RATE // 60  # 60-400 Hz
        estimates.append(SAMPLE_RATE / (low + int(np.argmax(correlation[low:high]))))
    return float(np.median(estimates))


def test_tiny_corpus_is_speech_at_22050_hz(tiny):
    assert tiny.sample_rate == SAMPLE_RATE == 22050
    assert len(tiny) == 4  # 3 sentences by en-us, the test sentence by the held-out en-us+f3
    for clip in tiny.clips:
        audio = clip.audio
        assert audio.dtype == np.float32 and audio.ndim == 1
        assert 0.2 < np.abs(audio).max() <= 1.0
        assert np.sqrt(np.mean(audio**2)) > 0.03  # speech energy, not a whisper or silence
        assert np.mean(_frame_levels_db(audio) > -40) > 0.6  # mostly voiced, few pauses
        # 40 to 110 ms of speech per character at 150-200 words per minute
        assert 0.04 < clip.seconds / len(clip.text) < 0.11, (clip.text, clip.seconds)
        spectrum = np.abs(np.fft.rfft(audio)) ** 2
        frequencies = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
        assert spectrum[frequencies < 5000].sum() / spectrum.sum() > 0.9  # a speech spectrum


def test_voices_differ_in_pitch(tiny):
    male = next(clip for clip in tiny.clips if clip.voice == "en-us")
    female = next(clip for clip in tiny.clips if clip.voice == "en-us+f3")
    assert 70 < _f0(male.audio) < 160
    assert 160 < _f0(female.audio) < 330


def test_tiny_corpus_splits(tiny):
    splits = {name: {clip.text for clip in tiny.split(name)} for name in corpus_module.SPLITS}
    assert all(len(splits[name]) == 1 for name in ("train", "validation", "test"))
    assert splits["train"] | splits["validation"] | splits["test"] == set(TINY_TEXTS)
    assert splits["unseen"] == splits["test"]
    assert tiny.held_out_voice == "en-us+f3"
    assert {clip.voice for clip in tiny.split("unseen")} == {"en-us+f3"}
    assert all(clip.voice == "en-us" for name in ("train", "validation", "test")
               for clip in tiny.split(name))  # fmt: skip


def test_plan_keeps_sentences_in_one_split_and_the_held_out_voice_out_of_training():
    spec = CorpusSpec(sentences=50, voices=("en-us", "en-us+f3", "en+m3"))
    plan = corpus_plan(spec)
    texts = {name: {text for text, _, split, _, _ in plan if split == name} for name in
             corpus_module.SPLITS}  # fmt: skip
    assert not texts["train"] & texts["validation"]
    assert not texts["train"] & texts["test"]
    assert not texts["validation"] & texts["test"]
    assert texts["unseen"] == texts["test"]
    assert (len(texts["train"]), len(texts["validation"]), len(texts["test"])) == (39, 3, 8)
    voices = {name: {voice for _, voice, split, _, _ in plan if split == name} for name in
              corpus_module.SPLITS}  # fmt: skip
    assert voices["train"] == voices["validation"] == voices["test"] == {"en-us", "en-us+f3"}
    assert voices["unseen"] == {"en+m3"}
    assert len(plan) == 2 * 50 + 8
    assert {rate for *_, rate, _ in plan} == set(spec.rates)
    assert {pitch for *_, pitch in plan} == set(spec.pitches)
    assert corpus_plan(spec) == plan  # the draws are seeded


def test_split_sentences_counts_and_refusals():
    texts = [f"sentence {number}" for number in range(150)]
    splits = split_sentences(texts, 0.06, 0.16)
    counts = {name: list(splits.values()).count(name) for name in ("train", "validation", "test")}
    assert counts == {"train": 117, "validation": 9, "test": 24}
    assert split_sentences(texts, 0.06, 0.16, seed=1) != splits
    assert sorted(split_sentences(["a", "b", "c"], 0.1, 0.1).values()) == [
        "test", "train", "validation"
    ]  # fmt: skip
    # training keeps one sentence; validation, the second split asked for, gets none
    assert sorted(split_sentences(["a", "b"], 0.1, 0.1).values()) == ["test", "train"]
    assert split_sentences(["a"], 0.1, 0.1) == {"a": "train"}


def test_sentences_are_distinct_varied_and_seeded():
    sentences = english_sentences(400)
    assert len(set(sentences)) == 400
    assert english_sentences(400) == sentences
    assert english_sentences(400, seed=1)[:32] == sentences[:32]  # the hand-written ones
    assert english_sentences(400, seed=1)[32:] != sentences[32:]
    assert sum(sentence.endswith("?") for sentence in sentences) > 40
    assert sum(sentence.endswith("!") for sentence in sentences) > 20
    words = {word.strip(".,;?!").lower() for sentence in sentences for word in sentence.split()}
    assert len(words) > 400
    assert all(4 <= len(sentence.split()) <= 20 for sentence in sentences)


def test_cache_is_reused_and_a_new_spec_renders_again(tmp_path: Path):
    first = load_corpus(size="tiny", cache=tmp_path)
    assert first.rendered and first.path is not None and first.path.parent == tmp_path
    again = load_corpus(size="tiny", cache=tmp_path)
    assert not again.rendered
    assert [clip.text for clip in again.clips] == [clip.text for clip in first.clips]
    for cached, rendered in zip(again.clips, first.clips, strict=True):
        # the cache holds 16-bit samples: the rendering is 16-bit already
        np.testing.assert_array_equal(cached.audio, rendered.audio)
        assert (cached.voice, cached.split, cached.rate, cached.pitch) == (
            rendered.voice, rendered.split, rendered.rate, rendered.pitch
        )  # fmt: skip
    changed = load_corpus(size="tiny", cache=tmp_path, pitches=(80,))
    assert changed.rendered and changed.path != first.path
    assert {clip.pitch for clip in changed.clips} == {80}
    names = sorted(path.name for path in tmp_path.iterdir())
    assert len(names) == 4 and not any(name.startswith(".") for name in names)


def test_a_damaged_cache_is_rendered_again(tmp_path: Path):
    first = load_corpus(size="tiny", cache=tmp_path)
    first.path.with_suffix(".json").write_text("{ not json", encoding="utf-8")
    assert load_corpus(size="tiny", cache=tmp_path).rendered
    first.path.write_bytes(first.path.read_bytes()[:1000])
    assert load_corpus(size="tiny", cache=tmp_path).rendered
    assert not load_corpus(size="tiny", cache=tmp_path).rendered


def test_default_cache_folder_follows_ganforge_cache(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path))
    assert corpus_module.default_cache_folder() == tmp_path / "vocoder"


def test_sizes_and_spec_refusals():
    assert SIZES["default"].voices == corpus_module.DEFAULT_VOICES
    with pytest.raises(ValueError, match="unknown corpus size"):
        load_corpus(size="huge")
    with pytest.raises(ValueError, match="unknown corpus setting"):
        load_corpus(size="tiny", speakers=3)
    with pytest.raises(ValueError, match="rates"):
        CorpusSpec(rates=(20,))
    with pytest.raises(ValueError, match="two voices"):
        CorpusSpec(voices=("en-us",))
    assert not CorpusSpec(voices=("en-us",), hold_out_voice=False).held_out_voice()


@pytest.mark.parametrize(
    ("voice", "message"),
    [("xx-yy", "unknown eSpeak NG language 'xx-yy'"), ("en-us+nobody", "variant 'nobody'")],
)
def test_unknown_voices_are_refused_in_one_line(voice: str, message: str, tmp_path: Path):
    with pytest.raises(ValueError, match=message) as error:
        load_corpus(size="tiny", cache=tmp_path, voices=("en-us", voice))
    assert "\n" not in str(error.value)
    assert not list(tmp_path.iterdir())


def test_missing_engine_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # import fails
    with pytest.raises(SpeechEngineError, match="pip install espeakng-loader") as error:
        render_readings([("Hello.", "en-us", 175, 50)])
    assert "\n" not in str(error.value)
    with pytest.raises(SpeechEngineError, match="pip install espeakng-loader"):
        corpus_module._Engine("/nonexistent/libespeak-ng.so", "/nonexistent")


def test_rendering_is_reproducible(tiny, tmp_path: Path):
    """eSpeak keeps state between utterances: fresh worker processes and a seed make the
    same spec give the same samples, whatever was rendered before."""
    render_speech("Something else first.", "en-us+f3")
    again = load_corpus(size="tiny", cache=tmp_path, sentences=TINY_TEXTS, padding=0.0)
    assert again.rendered
    for first, second in zip(tiny.clips, again.clips, strict=True):
        np.testing.assert_array_equal(first.audio, second.audio)
    text = "One two three four."
    assert np.array_equal(render_speech(text, "en-us+m3"), render_speech(text, "en-us+m3"))
    assert not np.array_equal(render_speech(text, "en-us+m3"), render_speech(text, "en-us"))
