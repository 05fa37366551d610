"""The note grid: the generator writes every step (16ths) or every other one (eighths)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.core.modelfile import load_model, save_model
from ganforge.music import MusicGAN, MusicSpec, Segments, cut_segments
from ganforge.music.data import to_grid
from ganforge.music.metrics import notes_of, on_grid_share
from ganforge.music.networks import MuseGenerator

TINY = {"generator_width": 8, "critic_width": 4, "batch_size": 8, "iterations": 3,
        "n_critic": 1, "z_dim": 4, "device": "cpu"}  # fmt: skip


@pytest.fixture(scope="module")
def segments(chorales):
    return cut_segments(chorales, 35, 48)


def test_on_grid_share_counts_notes_that_start_and_end_on_the_grid():
    rolls = np.zeros((1, 4, 64, 48), dtype=bool)
    rolls[0, 0, 0:4, 5] = True  # on eighths
    rolls[0, 1, 2:8, 7] = True  # on eighths
    rolls[0, 2, 3:5, 9] = True  # starts off the grid
    rolls[0, 3, 8:9, 9] = True  # a 16th: ends off the grid
    assert on_grid_share(rolls, 2) == pytest.approx(2 / 4)
    assert on_grid_share(rolls, 1) == 1.0
    assert on_grid_share(np.zeros((1, 4, 64, 48)), 2) == 1.0


def test_to_grid_gives_each_eighth_its_first_sixteenth():
    rolls = np.zeros((1, 1, 8, 3), dtype=bool)
    rolls[0, 0, 1:4, 0] = True  # 16ths 1-3: off the grid at its start
    rolls[0, 0, 4, 1] = True  # a 16th on the grid
    rolls[0, 0, 7, 2] = True  # a 16th off the grid
    expected = np.zeros_like(rolls)
    expected[0, 0, 2:4, 0] = True
    expected[0, 0, 4:6, 1] = True
    assert np.array_equal(to_grid(rolls, 2), expected)
    assert to_grid(rolls, 1) is rolls


@pytest.mark.parametrize("monophonic", [True, False])
def test_an_eighth_grid_generator_repeats_each_generated_step(monophonic):
    torch.manual_seed(0)  # sigmoid cells start near one half: which decode to notes is drawn
    generator = MuseGenerator(width=8, z_dim=4, condition="key", monophonic=monophonic, step=2)
    generator.set_base_rate(0.02 if monophonic else 0.5, note_steps=2.0)  # notes to decode
    keys = torch.tensor([0, 7, 20])
    probabilities = generator.eval()(torch.randn(3, generator.latent_dim), keys)
    assert probabilities.shape == (3, 4, 64, 48)
    assert torch.equal(probabilities[:, :, ::2], probabilities[:, :, 1::2])
    lengths = notes_of(generator.decode(probabilities).numpy().reshape(-1, 64, 48)).length
    assert len(lengths) and (lengths % 2 == 0).all()


def test_an_eighth_grid_keeps_a_given_track_as_given():
    generator = MuseGenerator(width=8, z_dim=4, condition="track", condition_track=1, step=2)
    given = torch.zeros(2, 64, 48)
    given[:, 3:6, 10] = 1.0  # off the grid
    probabilities = generator.eval()(torch.randn(2, generator.latent_dim), given)
    assert torch.equal(probabilities[:, 1], given)
    others = probabilities[:, [0, 2, 3]]
    assert torch.equal(others[:, :, ::2], others[:, :, 1::2])


def test_a_step_that_does_not_divide_the_bar_is_refused():
    with pytest.raises(ValueError, match="step must divide steps_per_bar"):
        MuseGenerator(width=8, z_dim=4, step=3)


def test_auto_grid_follows_the_training_notes(segments, tmp_path):
    assert on_grid_share(segments.rolls, 2) >= 0.95  # the chorales' notes sit on eighths
    model = MusicGAN(**TINY).fit(segments)
    assert model.spec.grid == "eighth" and model.generator.step == 2
    rolls = model.sample(6, key=2, seed=1)
    assert np.array_equal(rolls[:, :, ::2], rolls[:, :, 1::2])
    loaded = MusicGAN.load(model.save(tmp_path / "m.pt"), device="cpu")
    assert loaded.spec.grid == "eighth"
    assert np.array_equal(loaded.sample(6, key=2, seed=1), rolls)
    sixteenths = segments.rolls.copy()
    sixteenths[:, 0, 1::2] = False  # the soprano sounds every other 16th only
    busy = Segments(sixteenths, segments.keys, segments.piece, segments.start, 35)
    assert MusicGAN(**TINY).fit(busy).spec.grid == "sixteenth"


def test_a_model_file_from_before_the_grid_and_the_chroma_stream_loads(segments, tmp_path):
    model = MusicGAN(**TINY, grid="sixteenth", chroma_stream=False).fit(segments)
    path = model.save(tmp_path / "m.pt")
    file = load_model(path, MusicGAN.kind)
    spec = {k: v for k, v in file.spec.items() if k not in ("grid", "chroma_stream")}
    old = save_model(tmp_path / "old.pt", MusicGAN.kind, spec, file.state, file.extra)
    loaded = MusicGAN.load(old, device="cpu")
    assert loaded.generator.step == 1 and loaded.critic.chroma is None
    assert not loaded.spec.chroma_stream
    assert np.array_equal(loaded.sample(4, key=3), model.sample(4, key=3))


def test_a_bad_grid_value_is_a_one_line_error():
    with pytest.raises(ValueError, match="grid must be one of auto, sixteenth, eighth"):
        MusicSpec(grid="quarter")
