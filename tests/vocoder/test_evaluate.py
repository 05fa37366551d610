"""ganforge.vocoder.evaluate: PESQ-WB, STOI, mel L1 and MR-STFT beside Griffin-Lim."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.vocoder import MelConfig
from ganforge.vocoder.corpus import load_corpus
from ganforge.vocoder.evaluate import evaluate, griffin_lim, pesq_wb, stoi

CONFIG = MelConfig()


@pytest.fixture(scope="module")
def speech() -> list[np.ndarray]:
    """Two eSpeak NG clips (the tiny corpus's test split and unseen voice)."""
    corpus = load_corpus(size="tiny")
    return [corpus.waveforms("test")[0], corpus.waveforms("unseen")[0]]


class Replay:
    """A stand-in vocoder that returns each clip (cut to frames * hop), plus optional noise."""

    def __init__(self, clips: list[np.ndarray], noise: float = 0.0) -> None:
        self.clips, self.noise, self.calls = list(clips), noise, 0

    def __call__(self, mel: np.ndarray) -> np.ndarray:
        clip = self.clips[self.calls][: mel.shape[-1] * CONFIG.hop_length]
        self.calls += 1
        noise = np.random.default_rng(self.calls).standard_normal(clip.shape) * self.noise
        return (clip + noise).astype(np.float32)


def test_a_perfect_vocoder_scores_the_ceiling(speech):
    scores = evaluate(Replay(speech), speech, config=CONFIG)
    assert scores["clips"] == 2 and scores["pesq_skipped"] == 0
    assert scores["pesq_wb"] == pytest.approx(4.644, abs=0.001)  # PESQ-WB's maximum
    assert scores["stoi"] == pytest.approx(1.0, abs=1e-4)
    assert scores["mel_l1"] == pytest.approx(0.0, abs=1e-6)
    assert scores["mrstft"] == pytest.approx(0.0, abs=1e-3)
    # Griffin-Lim loses the phase: a real, lower baseline on the same mels
    assert 1.0 < scores["griffin_lim_pesq_wb"] < 4.0
    assert 0.8 < scores["griffin_lim_stoi"] < 1.0
    assert 0.0 < scores["griffin_lim_mel_l1"] < 0.5
    assert scores["griffin_lim_iterations"] == 32


def test_noise_lowers_every_score_and_griffin_lim_is_repeatable(speech):
    clean = evaluate(Replay(speech), speech, config=CONFIG)
    noisy = evaluate(Replay(speech, noise=0.05), speech, config=CONFIG)
    assert noisy["pesq_wb"] < clean["pesq_wb"] - 1.0
    assert noisy["stoi"] < clean["stoi"]
    assert noisy["mel_l1"] > 0.1 and noisy["mrstft"] > 0.1
    for metric in ("pesq_wb", "stoi", "mel_l1", "mrstft"):
        assert noisy[f"griffin_lim_{metric}"] == clean[f"griffin_lim_{metric}"]


def test_pesq_and_stoi_against_known_values(speech):
    clip = speech[0].astype(np.float64)
    assert pesq_wb(clip, clip, CONFIG.sample_rate) == pytest.approx(4.644, abs=0.001)
    assert stoi(clip, clip, CONFIG.sample_rate) == pytest.approx(1.0, abs=1e-6)
    # PESQ finds no utterance in silence: None, not an exception
    silence = np.zeros(CONFIG.sample_rate)
    assert pesq_wb(silence, silence, CONFIG.sample_rate) is None


def test_a_clip_without_speech_is_left_out_of_pesq_only(speech):
    silence = np.zeros(CONFIG.sample_rate, dtype=np.float32)
    clips = [speech[0], silence]
    scores = evaluate(Replay(clips), clips, config=CONFIG)
    assert scores["pesq_skipped"] == 1 and scores["clips"] == 2
    alone = evaluate(Replay(speech[:1]), speech[:1], config=CONFIG)
    assert scores["pesq_wb"] == alone["pesq_wb"]
    assert scores["griffin_lim_pesq_wb"] == alone["griffin_lim_pesq_wb"]


def test_griffin_lim_output_length_and_empty_input(speech):
    from ganforge.vocoder import MelSpectrogram

    mel = MelSpectrogram(CONFIG)(torch.as_tensor(speech[0]))
    assert griffin_lim(mel, CONFIG, iterations=2).shape == (mel.size(-1) * CONFIG.hop_length,)
    with pytest.raises(ValueError, match="no clips to evaluate"):
        evaluate(Replay([]), [], config=CONFIG)
