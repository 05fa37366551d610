"""The critic's chroma stream: each beat's pitch classes, all tracks together."""

from __future__ import annotations

import pytest
import torch

from ganforge.music import MusicSpec
from ganforge.music.networks import MuseCritic


def _chroma_features(critic: MuseCritic, rolls: torch.Tensor) -> torch.Tensor:
    return critic.chroma(MuseCritic.beat_chroma(rolls))


def test_beat_chroma_counts_each_beats_steps_per_pitch_class():
    rolls = torch.zeros(1, 4, 64, 48)
    rolls[0, 0, :3, 12] = 1.0  # three 16ths of C in the first beat ...
    rolls[0, 0, 2, 36] = 1.0  # ... one of them doubled two octaves up
    rolls[0, 2, 4:8, 19] = 1.0  # a G through the second beat
    chroma = MuseCritic.beat_chroma(rolls)
    assert chroma.shape == (1, 4, 16, 12)
    assert chroma[0, 0, 0, 0] == 4.0 and chroma[0, 2, 1, 7] == 4.0
    assert chroma.sum() == 8.0


def test_the_chroma_stream_hears_pitch_classes_not_octaves():
    torch.manual_seed(0)
    critic = MuseCritic(width=8, condition="none", chroma=True)
    rolls = (torch.rand(2, 4, 64, 48) > 0.97).float()
    rolls[..., 36:] = 0.0
    octave_up = torch.roll(rolls, 12, dims=-1)  # every voice an octave higher
    assert torch.allclose(_chroma_features(critic, rolls), _chroma_features(critic, octave_up))
    assert not torch.allclose(critic(rolls), critic(octave_up))  # the octave blocks see it
    fifth_up = torch.roll(rolls, 7, dims=-1)
    assert not torch.allclose(_chroma_features(critic, rolls), _chroma_features(critic, fifth_up))


def test_the_chroma_stream_reads_the_tracks_together():
    critic = MuseCritic(width=8, condition="none", chroma=True)
    first = critic.chroma[0]
    assert first.in_channels == 4 and first.kernel_size == (1, 12)
    rolls = torch.zeros(1, 4, 64, 48)
    rolls[0, 0, :16, 24] = 1.0  # soprano and alto a third apart for a bar
    rolls[0, 1, :16, 28] = 1.0
    apart = torch.zeros_like(rolls)
    apart[0, 0, :16, 24] = 1.0
    apart[0, 1, 16:32, 28] = 1.0  # the alto a bar later: each track's notes unchanged
    together, one_after = _chroma_features(critic, rolls), _chroma_features(critic, apart)
    assert not torch.allclose(together[..., 0, 0], one_after[..., 0, 0])


@pytest.mark.parametrize("chroma", [True, False])
def test_the_critic_scores_a_batch(chroma):
    critic = MuseCritic(width=8, chroma=chroma)
    assert critic(torch.rand(3, 4, 64, 48), torch.tensor([0, 5, 23])).shape == (3,)
    assert (critic.chroma is None) is not chroma


def test_a_bad_chroma_stream_value_is_a_one_line_error():
    with pytest.raises(ValueError, match="chroma_stream must be true or false"):
        MusicSpec(chroma_stream="yes")
