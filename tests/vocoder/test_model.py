"""Vocoder: spec checks, a tiny fit, inference, and the model file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.core.checkpoint import CheckpointError
from ganforge.core.modelfile import save_model
from ganforge.vocoder import SegmentDataset, Vocoder, VocoderSpec

TINY = {
    "generator": "melgan",
    "generator_options": {"channels": 16},
    "discriminators": ("msd",),
    "discriminator_options": {"msd": {"scales": 2, "channels": 4, "max_channels": 8}},
    "segment_length": 1024,
    "batch_size": 2,
    "iterations": 2,
    "device": "cpu",
}


def clips() -> list[np.ndarray]:
    draw = np.random.default_rng(0)
    return [(0.1 * draw.standard_normal(3000)).astype(np.float32) for _ in range(2)]


@pytest.fixture(scope="module")
def fitted() -> Vocoder:
    return Vocoder(VocoderSpec(**TINY)).fit(clips())


def test_fit_and_call_shapes(fitted):
    mel = torch.randn(2, 80, 12)
    audio = fitted(mel)
    assert audio.shape == (2, 12 * 256) and audio.dtype == torch.float32
    single = fitted(mel[0].numpy())
    assert isinstance(single, np.ndarray) and single.shape == (12 * 256,)
    np.testing.assert_allclose(single, audio[0].numpy(), atol=1e-5)
    assert fitted.mel(clips()[0]).shape == (80, 3000 // 256)
    assert fitted.history and "G/mel" in fitted.history[-1]


def test_inference_folds_weight_norm_without_changing_output(fitted):
    mel = torch.randn(1, 80, 10)
    with torch.no_grad():
        trained = fitted.generator(mel)
    torch.testing.assert_close(fitted(mel), trained.squeeze(1), atol=1e-5, rtol=1e-4)
    assert fitted.inference_generator() is not fitted.generator


def test_save_load_round_trip_gives_identical_output(fitted, tmp_path):
    path = fitted.save(tmp_path / "tiny.vocoder")
    loaded = Vocoder.from_file(path, device="cpu")
    assert loaded.spec == fitted.spec
    mel = torch.randn(2, 80, 9)
    assert torch.equal(loaded(mel), fitted(mel))


def test_fit_takes_a_segment_dataset():
    data = SegmentDataset(clips(), 1024, hop_length=256, seed=0)
    assert Vocoder(VocoderSpec(**{**TINY, "iterations": 1})).fit(data).generator is not None
    with pytest.raises(ValueError, match="cuts 512 samples"):
        Vocoder(VocoderSpec(**TINY)).fit(SegmentDataset(clips(), 512, hop_length=256))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hop_length": 300}, "upsamples by 8 x 8 x 2 x 2 = 256 but the mel hop length is 300"),
        ({"generator": "wavenet"}, "unknown generator 'wavenet'"),
        ({"generator_options": {"depth": 3}}, "has no setting depth"),
        ({"discriminators": ("msd", "xyz")}, "discriminators must be distinct names"),
        ({"loss_weights": "mine"}, "unknown loss_weights 'mine'"),
        ({"segment_length": 1000}, "multiple of the hop length"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"lr": -1.0}, "lr must be a finite number > 0, got -1.0"),
        ({"lr_decay": 2.0}, "lr_decay"),
        ({"seed": True}, "seed must be an integer >= 0, got True"),
        ({"warmup_iterations": -1}, "warmup_iterations must be an integer >= 0, got -1"),
        ({"warmup_iterations": 3}, "warmup_iterations 3 is more than iterations 2"),
        (
            {"loss_weights": "melgan", "warmup_iterations": 1},
            "loss_weights 'melgan' has no mel or STFT term for the warm-up",
        ),
    ],
)
def test_bad_config_is_a_one_line_error(change, message):
    with pytest.raises(ValueError, match=message) as error:
        VocoderSpec(**{**TINY, **change})
    assert "\n" not in str(error.value)


def test_unfitted_and_too_little_audio():
    with pytest.raises(ValueError, match="not trained"):
        Vocoder(VocoderSpec(**TINY))(torch.randn(80, 10))
    with pytest.raises(ValueError, match="fewer than batch_size"):
        Vocoder(VocoderSpec(**{**TINY, "batch_size": 8})).fit(clips())


def test_model_file_of_another_kind_is_refused(tmp_path):
    path = save_model(tmp_path / "other.model", "tabular.DPTabularGAN", {}, {})
    with pytest.raises(CheckpointError) as error:
        Vocoder.from_file(path)
    assert "\n" not in str(error.value)
