"""MusicGAN: fit, sample, conditions, save/load, seeding, alarms and the baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.core.checkpoint import CheckpointError
from ganforge.music import MarkovChain, MusicGAN, MusicSpec, cut_segments, transpose_batch
from ganforge.music.training import training_monitors

TINY = {"generator_width": 8, "critic_width": 4, "batch_size": 8, "iterations": 3,
        "n_critic": 1, "z_dim": 4, "device": "cpu"}  # fmt: skip


@pytest.fixture(scope="module")
def segments(chorales):
    return cut_segments(chorales, 35, 48)


def test_fit_sample_and_the_model_file_round_trip(segments, tmp_path):
    model = MusicGAN(**TINY).fit(segments)
    rolls = model.sample(5, key=7, seed=3)
    assert rolls.shape == (5, 4, 64, 48) and rolls.dtype == bool
    assert len(model.history) and "D/gp" in model.history[-1]
    path = model.save(tmp_path / "m.pt")
    loaded = MusicGAN.load(path, device="cpu")
    assert loaded.spec == model.spec
    assert np.array_equal(loaded.sample(5, key=7, seed=3), rolls)
    # a three-step model is still almost silent: compare its note probabilities
    probabilities = model.probabilities(model.latents(5, seed=3), key=7)
    assert np.array_equal(loaded.probabilities(loaded.latents(5, seed=3), key=7), probabilities)
    assert not np.array_equal(model.probabilities(model.latents(5, seed=4), key=7), probabilities)
    assert 0 < probabilities.mean() < 0.1  # it starts at the chorales' note density
    full = model.full_roll(rolls[0])
    assert full.shape == (4, 64, 128) and np.array_equal(full[:, :, 35:83] > 0, rolls[0])


def test_two_fits_with_one_seed_are_identical(segments):
    a = MusicGAN(**TINY, seed=2).fit(segments)
    torch.manual_seed(123)  # the global RNG must not matter
    b = MusicGAN(**TINY, seed=2).fit(segments)
    for x, y in zip(
        a.generator.state_dict().values(), b.generator.state_dict().values(), strict=True
    ):
        assert torch.equal(x, y)


def test_a_track_conditioned_model_keeps_the_given_track(segments):
    model = MusicGAN(**TINY, condition="track", condition_track=0).fit(segments)
    given = segments.rolls[:3, 0]
    rolls = model.sample(3, given=given)
    assert np.array_equal(rolls[:, 0], given)
    with pytest.raises(ValueError, match="pass given="):
        model.sample(2)
    assert model.interpolate(4, given=given[0]).shape == (4, 4, 64, 48)


def test_an_unconditioned_model_and_interpolation(segments):
    model = MusicGAN(**TINY, condition="none").fit(segments)
    path = model.interpolate(10)
    assert path.shape == (10, 4, 64, 48)


def test_spec_errors_are_one_line():
    for options, message in [
        ({"n_pitches": 40}, "multiple of 24"),
        ({"lowest_pitch": 100}, "at most 128"),
        ({"condition": "mood"}, "condition must be"),
        ({"condition_track": 4}, "below 4"),
        ({"max_shift": 12}, "at most 11"),
        ({"lr": 0}, "lr must be"),
        ({"batch_size": 0}, "batch_size must be"),
        ({"truncation": 0}, r"truncation must be a finite number > 0 \(or none\)"),
        ({"truncation": "1.5"}, "truncation must be"),
    ]:
        with pytest.raises(ValueError, match=message):
            MusicSpec(**options)


def test_too_few_segments_for_a_batch(segments):
    with pytest.raises(ValueError, match="fewer than batch_size"):
        MusicGAN(**{**TINY, "batch_size": 500}).fit(segments)


def test_loading_another_kind_is_refused(tmp_path):
    from ganforge.core.modelfile import save_model

    path = save_model(tmp_path / "x.pt", "elsewhere.Model", {}, {"G": {}})
    with pytest.raises(CheckpointError, match="not a music.MusicGAN"):
        MusicGAN.load(path)


def test_transposition_moves_rolls_and_keys():
    rolls = torch.zeros(2, 4, 64, 48)
    rolls[0, 0, :, 10] = 1
    rolls[1, 0, :, 20] = 1
    moved, keys = transpose_batch(rolls, torch.tensor([0, 21]), torch.tensor([3, -2]))
    assert moved[0, 0, 0].argmax() == 13 and moved[1, 0, 0].argmax() == 18
    assert keys.tolist() == [3, 19]  # C major -> Eb major, A minor -> G minor


def test_the_memorisation_alarm_fires_for_a_copying_generator(segments):
    class Copier(torch.nn.Module):
        latent_dim = 40

        def __init__(self, rolls):
            super().__init__()
            self.rolls = torch.as_tensor(rolls).float()

        def forward(self, z, condition=None):
            return self.rolls[: len(z)]

        def decode(self, probabilities):
            return probabilities > 0.5

    model = MusicGAN(**TINY)
    monitors = training_monitors(model, segments, every=1, samples=8)
    trainer = type("T", (), {})()
    trainer.module = type("M", (), {"generator_name": "G"})()
    trainer.module.networks = {"G": Copier(segments.rolls)}
    trainer.ema, trainer.device, trainer.iteration, trainer.events = (
        None,
        torch.device("cpu"),
        1,
        [],
    )
    trainer.log_event = lambda name, **info: trainer.events.append(name)
    values = monitors[1].fn(trainer)
    assert values["diag/near_copy_share"] == 1.0 and trainer.events == ["memorisation"]
    monitors[0].fn(trainer)  # the diversity monitor's first reading sets its reference
    trainer.module.networks["G"] = Copier(np.repeat(segments.rolls[:1], 8, axis=0))
    monitors[0].fn(trainer)
    assert "mode_collapse" in trainer.events


def test_markov_baseline_walks_the_training_transitions(segments):
    chain = MarkovChain().fit(segments)
    rolls = chain.sample(4, seed=0)
    assert rolls.shape == (4, 4, 64, 48)
    states = {s for roll in segments.rolls for s in MarkovChain._states(roll)}
    assert all(s in states for roll in rolls for s in MarkovChain._states(roll)[1:2])


def test_sampling_truncates_the_latents_and_older_files_do_not(segments, tmp_path):
    from dataclasses import asdict

    from ganforge.core.modelfile import load_model, save_model

    model = MusicGAN(**TINY).fit(segments)
    assert model.spec.truncation == 1.5  # the default
    z = model.latents(400, seed=1)
    assert z.abs().max() <= 1.5
    plain = torch.randn(z.shape, generator=torch.Generator().manual_seed(1))
    inside = plain.abs() <= 1.5
    assert torch.equal(z[inside], plain[inside])  # only the values beyond are drawn again
    file = load_model(model.save(tmp_path / "m.pt"), MusicGAN.kind)
    spec = {k: v for k, v in asdict(model.spec).items() if k != "truncation"}
    old = save_model(tmp_path / "old.pt", MusicGAN.kind, spec, file.state, file.extra)
    loaded = MusicGAN.load(old, device="cpu")
    assert loaded.spec.truncation is None  # written before truncation: the plain normal
    assert torch.equal(loaded.latents(400, seed=1), plain)
