"""The key's prior: a key-conditioned monophonic generator favours its scale's pitches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.core.modelfile import load_model, save_model
from ganforge.music import MusicGAN, cut_segments
from ganforge.music.data import degree_shares
from ganforge.music.networks import MuseGenerator

TINY = {"generator_width": 8, "critic_width": 4, "batch_size": 8, "iterations": 3,
        "n_critic": 1, "z_dim": 4, "device": "cpu"}  # fmt: skip


def test_degree_shares_count_steps_above_each_segments_tonic():
    rolls = np.zeros((3, 4, 64, 48), dtype=bool)
    rolls[0, 0, :8, 5] = True  # MIDI 40, E: the third of C major (key 0)
    rolls[0, 2, :8, 12] = True  # MIDI 47, B: the seventh of C major
    rolls[1, 1, :8, 10] = True  # MIDI 45, A: the third of F major (key 5)
    rolls[2, 3, :4, 10] = True  # MIDI 45, A: the tonic of A minor (key 21)
    shares = degree_shares(rolls, np.array([0, 5, 21]), lowest_pitch=35)
    expected_major = np.zeros(12)
    expected_major[4], expected_major[11] = 16 / 24, 8 / 24
    assert np.allclose(shares[0], expected_major)
    assert np.allclose(shares[1], np.eye(12)[0])
    only_major = degree_shares(rolls[:2], np.array([0, 5]), lowest_pitch=35)
    assert np.allclose(only_major[1], 1 / 12)  # no minor segment: uniform


def test_the_key_prior_puts_each_keys_degrees_on_its_pitches():
    generator = MuseGenerator(width=8, z_dim=4, monophonic=True, lowest_pitch=35)
    shares = np.full((2, 12), 0.02)
    shares[0, 7], shares[1, 3] = 0.78, 0.78  # major: the fifth; minor: the minor third
    generator.set_scales(shares, uniform=0.0)
    prior = generator.key_prior(torch.tensor([0, 2, 12 + 9]))  # C major, D major, A minor
    top = (prior.argmax(1) + 35) % 12
    assert top.tolist() == [7, 9, 0]  # G, A, C
    assert prior[0, 0].item() == pytest.approx(np.log(12 * 0.02))  # MIDI 35, B: degree 11


def test_a_key_prior_shapes_the_pitches_and_the_condition_uses_it():
    torch.manual_seed(0)
    generator = MuseGenerator(width=8, z_dim=4, monophonic=True, lowest_pitch=35).eval()
    generator.set_base_rate(0.02, note_steps=2.0)
    major_scale = [0, 2, 4, 5, 7, 9, 11]
    shares = np.full((2, 12), 1e-3)
    shares[:, major_scale] = 1.0
    generator.set_scales(shares / shares.sum(1, keepdims=True), uniform=0.0)
    z = torch.randn(64, generator.latent_dim)
    rolls = generator.decode(generator(z, torch.full((64,), 7)))  # G major
    pitches = rolls.nonzero()[:, -1] + 35
    assert len(pitches) > 100
    in_scale = torch.isin((pitches - 7) % 12, torch.tensor(major_scale)).float().mean()
    assert in_scale > 0.95


def test_no_prior_without_a_key_or_with_sigmoid_cells():
    assert MuseGenerator(width=8, z_dim=4, monophonic=True, condition="none").scale is None
    assert MuseGenerator(width=8, z_dim=4, monophonic=False, condition="key").scale is None
    MuseGenerator(width=8, z_dim=4, monophonic=False).set_scales(np.ones((2, 12)) / 12)  # no-op


def test_a_model_file_from_before_the_key_prior_loads_with_none(chorales, tmp_path):
    model = MusicGAN(**TINY).fit(cut_segments(chorales, 35, 48))
    assert model.generator.scale.abs().sum() > 0  # started from the chorales' degrees
    file = load_model(model.save(tmp_path / "m.pt"), MusicGAN.kind)
    state = dict(file.state)
    state["G"] = {k: v for k, v in state["G"].items() if k != "scale"}
    old = save_model(tmp_path / "old.pt", MusicGAN.kind, file.spec, state, file.extra)
    loaded = MusicGAN.load(old, device="cpu")
    assert torch.equal(loaded.generator.scale, torch.zeros(2, 12))


def _flat_generator(condition="key"):
    """A monophonic generator whose output layer ignores its input: every pitch gets the
    same logit (its bias), so what reaches the softmax beyond that is the prior."""
    generator = MuseGenerator(
        width=8, z_dim=4, monophonic=True, lowest_pitch=35, condition=condition
    ).eval()
    generator.set_base_rate(0.02, note_steps=2.0)
    with torch.no_grad():
        generator.private[-1].weight.zero_()
    return generator


def test_the_pitch_prior_moves_weight_between_pitches_only():
    generator = _flat_generator()
    shares = np.full((4, 48), 1e-3)
    shares[:, 20:30] = 1.0
    generator.set_registers(shares / shares.sum(1, keepdims=True))
    scale = np.full((2, 12), 0.01)
    scale[:, [0, 2, 4, 5, 7, 9, 11]] = 1.0
    generator.set_scales(scale / scale.sum(1, keepdims=True))
    keys = torch.arange(24)
    prior = generator.pitch_prior(keys)
    assert prior.shape == (24, 4, 1, 48)
    assert torch.allclose(prior.exp().sum(-1), torch.full((24, 4, 1), 48.0), atol=1e-4)
    choices = generator.logits(torch.randn(24, generator.latent_dim), keys).softmax(-1)
    rest = choices[..., 48]  # the rest's share at every step, for every key and voice
    bias = generator.private[-1].bias.detach()
    pitch, rest_logit, hold = bias[:, 0], bias[:, 1], bias[:, 2]  # per voice, set_base_rate's
    expected = rest_logit.exp() / (48 * pitch.exp() + rest_logit.exp() + hold.exp())
    assert torch.allclose(rest, expected[None, :, None].expand_as(rest), atol=1e-5)
    in_scale = ((torch.arange(48) + 35) % 12)[choices[0, 0, 0, :48].argmax()].item()
    assert in_scale in (0, 2, 4, 5, 7, 9, 11)  # C major: the prior still picks its pitches


def test_a_model_file_from_before_the_normalised_prior_adds_its_priors_as_trained(
    chorales, tmp_path
):
    model = MusicGAN(**TINY).fit(cut_segments(chorales, 35, 48))
    assert bool(model.generator.prior_normalised)
    file = load_model(model.save(tmp_path / "m.pt"), MusicGAN.kind)
    state = dict(file.state)
    state["G"] = {k: v for k, v in state["G"].items() if k != "prior_normalised"}
    old = save_model(tmp_path / "old.pt", MusicGAN.kind, file.spec, state, file.extra)
    loaded = MusicGAN.load(old, device="cpu").generator
    assert not bool(loaded.prior_normalised)
    keys = torch.tensor([0, 21])
    raw = loaded.register[None, :, None] + loaded.key_prior(keys)[:, None, None]
    assert torch.equal(loaded.pitch_prior(keys), raw)
    again = MusicGAN.load(tmp_path / "m.pt", device="cpu").generator
    assert bool(again.prior_normalised)
    assert not torch.allclose(again.pitch_prior(keys), raw)
