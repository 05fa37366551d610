"""Streaming inference equals whole-utterance inference."""

from __future__ import annotations

import pytest
import torch

from ganforge.vocoder import build_generator
from ganforge.vocoder.streaming import StreamingVocoder, receptive_field, synthesize_streaming


def inference_generator(name: str, **overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    generator = build_generator(name, **overrides).remove_weight_norm().eval()
    return generator


@pytest.mark.parametrize(
    ("name", "overrides"), [("melgan", {"channels": 32}), ("hifigan_v3", {"channels": 32})]
)
@pytest.mark.parametrize(("chunk", "feed"), [(8, None), (5, 3)])
def test_streaming_equals_whole_utterance(name, overrides, chunk, feed):
    generator = inference_generator(name, **overrides)
    mel = torch.randn(2, 80, 47, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = generator(mel).squeeze(1)
    streamed = synthesize_streaming(generator, mel, chunk_frames=chunk, feed_frames=feed)
    assert streamed.shape == (2, 47 * 256)
    assert (streamed - whole).abs().max() <= 1e-4


def test_context_matters_and_feed_returns_final_audio():
    generator = inference_generator("melgan", channels=32)
    left, right = receptive_field(generator)
    assert left >= 2 and right >= 2
    mel = torch.randn(1, 80, 40, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        whole = generator(mel).squeeze(1)
    blind = synthesize_streaming(generator, mel, chunk_frames=8, context=(0, 0))
    assert (blind - whole).abs().max() > 1e-3
    stream = StreamingVocoder(generator, chunk_frames=8)
    first = stream.feed(mel[..., :20])
    assert first.size(-1) % 256 == 0 and first.size(-1) <= (20 - right) * 256
    joined = torch.cat([first, stream.feed(mel[..., 20:]), stream.finish()], -1)
    assert joined.shape == whole.shape and (joined - whole).abs().max() <= 1e-4
    with pytest.raises(ValueError, match="no mel frames"):
        stream.finish()
