"""Monophonic voices: one pitch or a rest per track and step, decided from the data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.music import MusicGAN, MusicSpec, Segments, cut_segments
from ganforge.music.data import monophonic_share, pitch_shares
from ganforge.music.metrics import mean_note_steps
from ganforge.music.networks import MuseGenerator, held

TINY = {"generator_width": 8, "critic_width": 4, "batch_size": 8, "iterations": 3,
        "n_critic": 1, "z_dim": 4, "device": "cpu"}  # fmt: skip


@pytest.fixture(scope="module")
def segments(chorales):
    return cut_segments(chorales, 35, 48)


def test_mean_note_steps_counts_runs_of_one_pitch():
    rolls = np.zeros((2, 4, 64, 48), dtype=bool)
    rolls[0, 0, 0:4, 5] = True  # a 4-step note from the first step
    rolls[0, 0, 4:6, 7] = True  # a 2-step note right after it
    rolls[1, 2, 10:19, 9] = True  # a 9-step note
    assert mean_note_steps(rolls) == pytest.approx(15 / 3)
    assert mean_note_steps(np.zeros((1, 4, 64, 48))) == 1.0


def test_monophonic_share_counts_sounding_steps_with_one_pitch():
    rolls = np.zeros((1, 4, 64, 48), dtype=bool)
    rolls[0, 0, :10, 5] = True  # 10 steps of one pitch
    rolls[0, 1, :5, [7, 11]] = True  # 5 steps of a two-note chord
    assert monophonic_share(rolls) == pytest.approx(10 / 15)
    assert monophonic_share(np.zeros((2, 4, 64, 48))) == 1.0


def test_monophonic_probabilities_are_a_softmax_with_a_rest():
    generator = MuseGenerator(width=8, z_dim=4, condition="none", monophonic=True).eval()
    probabilities = generator(torch.randn(3, generator.latent_dim))
    assert probabilities.shape == (3, 4, 64, 48)
    totals = probabilities.sum(-1)
    assert torch.all(totals < 1) and torch.all(totals > 0)  # the rest takes the remainder
    rolls = generator.decode(probabilities)
    assert rolls.dtype == torch.bool and rolls.sum(-1).max() <= 1


def test_decode_picks_the_most_probable_pitch_where_the_pitches_outweigh_the_rest():
    generator = MuseGenerator(width=8, z_dim=4, condition="none", monophonic=True)
    probabilities = torch.zeros(1, 4, 64, 48)
    probabilities[0, 0, 0, [3, 9]] = torch.tensor([0.2, 0.25])  # rest 0.55: silent
    probabilities[0, 0, 1, [3, 9]] = torch.tensor([0.45, 0.3])  # rest 0.25: pitch 3
    # rest 0.4 beats each pitch, but the three pitches together hold 0.6: pitch 9 sounds
    probabilities[0, 0, 2, [3, 9, 20]] = torch.tensor([0.2, 0.25, 0.15])
    rolls = generator.decode(probabilities)[0, 0]
    assert not rolls[0].any()
    assert rolls[1].nonzero().flatten().tolist() == [3]
    assert rolls[2].nonzero().flatten().tolist() == [9]
    assert not rolls[3:].any()
    polyphonic = MuseGenerator(width=8, z_dim=4, condition="none")
    chord = polyphonic.decode(torch.full((1, 4, 64, 48), 0.6))
    assert chord.sum(-1).min() == 48  # sigmoid cells: every cell above one half sounds


def test_a_hold_sounds_what_the_step_before_did():
    # one track, three steps, pitches (a, b), then the rest, then the hold
    choices = torch.tensor([[[[0.7, 0.1, 0.2, 0.0], [0.0, 0.1, 0.1, 0.8], [0.05, 0.0, 0.55, 0.4]]]])
    sounding = held(choices, 2)[0, 0]
    assert torch.allclose(sounding[0], torch.tensor([0.7, 0.1]))
    assert torch.allclose(sounding[1], torch.tensor([0.56, 0.18]))  # 0.8 of step 0, + b 0.1
    assert torch.allclose(sounding[2], torch.tensor([0.274, 0.072]))
    roll = MuseGenerator(width=8, z_dim=4, condition="none", monophonic=True).decode(
        held(choices, 2).expand(1, 4, 3, 2).contiguous()
    )
    assert roll[0, 0, :, 0].tolist() == [True, True, False]  # the note held, then let go


def test_the_base_rate_gives_the_training_share_of_sounding_steps():
    generator = MuseGenerator(width=8, z_dim=4, condition="none", monophonic=True)
    generator.set_base_rate(0.02, note_steps=4.0)  # 0.02 * 48 = 96 % of the steps sound
    pitch, rest, hold = generator.private[-1].bias[0].tolist()
    assert rest == 0.0
    logits = torch.tensor([pitch] * 48 + [rest, hold]).expand(1, 1, 64, 50)
    sounding = held(logits.softmax(-1), 48).sum(-1)[0, 0]
    assert sounding[0].item() == pytest.approx(0.24)  # a new note a quarter of the time
    assert sounding[-1].item() == pytest.approx(0.96, abs=1e-4)


def test_auto_voices_follow_the_training_rolls(segments, tmp_path):
    model = MusicGAN(**TINY).fit(segments)
    assert model.spec.voices == "monophonic" and model.generator.monophonic
    rolls = model.sample(6, key=2, seed=1)
    assert rolls.sum(-1).max() <= 1  # one pitch per voice and step
    loaded = MusicGAN.load(model.save(tmp_path / "m.pt"), device="cpu")
    assert loaded.spec.voices == "monophonic"
    assert np.array_equal(loaded.sample(6, key=2, seed=1), rolls)
    chords = segments.rolls.copy()
    chords[:, 0] |= np.roll(chords[:, 0], 4, axis=-1)  # a major third under every soprano note
    chordal = Segments(chords, segments.keys, segments.piece, segments.start, 35)
    assert MusicGAN(**TINY).fit(chordal).spec.voices == "polyphonic"


def test_a_monophonic_track_condition_keeps_the_given_voice(segments):
    model = MusicGAN(**TINY, voices="monophonic", condition="track", condition_track=3)
    model.fit(segments)
    given = segments.rolls[:3, 3]
    assert np.array_equal(model.sample(3, given=given)[:, 3], given)


def test_a_bad_voices_value_is_a_one_line_error():
    with pytest.raises(ValueError, match="voices must be one of auto, monophonic, polyphonic"):
        MusicSpec(voices="choir")


def test_pitch_shares_are_each_tracks_share_of_its_sounding_steps():
    rolls = np.zeros((2, 4, 64, 48), dtype=bool)
    rolls[0, 0, :30, 10] = True
    rolls[1, 0, :10, 12] = True
    shares = pitch_shares(rolls)
    assert shares.shape == (4, 48)
    assert shares[0, 10] == pytest.approx(0.75) and shares[0, 12] == pytest.approx(0.25)
    assert np.allclose(shares[1], 1 / 48)  # a silent track: uniform


def test_registers_shape_the_pitches_and_keep_the_sounding_share():
    generator = MuseGenerator(width=8, z_dim=4, condition="none", monophonic=True)
    shares = np.zeros((4, 48))
    shares[:, 20] = 1.0
    generator.set_registers(shares)
    register = generator.register.detach().numpy()
    spread = 1e-3  # REGISTER_SPREAD: a pitch outside the register keeps 0.1 % of the prior
    assert register[0, 20] == pytest.approx(np.log(48 * (1 - spread + spread / 48)))
    assert register[0, 0] == pytest.approx(np.log(spread))
    assert np.exp(register).sum(axis=1) == pytest.approx(np.full(4, 48.0))  # total unchanged
    with pytest.raises(ValueError, match=r"shares must be \(4, 48\)"):
        generator.set_registers(np.ones((4, 24)) / 24)
