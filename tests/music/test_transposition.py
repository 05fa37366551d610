"""Transposition augmentation within the voices' usual ranges (DeepBach's rule)."""

from __future__ import annotations

import numpy as np
import torch

from ganforge.core.training import StepContext
from ganforge.music.model import usual_ranges
from ganforge.music.networks import MuseCritic, MuseGenerator
from ganforge.music.training import MusicGANModule, allowed_shifts


def _rolls() -> torch.Tensor:
    rolls = torch.zeros(3, 4, 64, 48)
    rolls[0, 0, :4, 40] = 1.0  # soprano 4 rows under its top
    rolls[0, 3, :4, 2] = 1.0  # bass 2 rows over its bottom
    rolls[1, 1, :, 20] = 1.0  # an alto in the middle of its range
    rolls[2, 0, :4, 47] = 1.0  # a soprano already above its range
    return rolls


RANGES = torch.tensor([[30, 44], [10, 40], [5, 35], [0, 20]])


def test_allowed_shifts_keep_every_sounding_voice_in_its_range():
    allowed = allowed_shifts(_rolls(), RANGES, 5)
    shifts = torch.arange(-5, 6)
    assert shifts[allowed[0]].tolist() == [-2, -1, 0, 1, 2, 3, 4]
    assert allowed[1].all()  # silent tracks do not constrain
    assert shifts[allowed[2]].tolist() == [-5, -4, -3, 0]  # down into range, or stay
    assert allowed_shifts(_rolls(), None, 5).all()


def test_usual_ranges_are_the_5th_and_95th_percentiles_of_the_voices_extremes():
    rolls = np.zeros((20, 4, 64, 48), dtype=bool)
    for i in range(20):
        rolls[i, 0, :4, 20 + i] = True  # the soprano's notes climb one row per segment
    ranges = usual_ranges(rolls).numpy()
    assert ranges[0].tolist() == [21, 38]  # percentiles 5 and 95 of 20..39, rounded
    assert ranges[1:].tolist() == [[0, 47]] * 3  # silent voices: the whole roll


def test_training_draws_only_allowed_shifts_and_all_of_them():
    generator = MuseGenerator(width=8, z_dim=4)
    critic = MuseCritic(width=4)
    module = MusicGANModule(generator, critic, max_shift=5, voice_ranges=RANGES)
    rolls = _rolls()[:1].expand(400, -1, -1, -1).clone()
    keys = torch.zeros(400, dtype=torch.long)
    ctx = StepContext(iteration=0, phase="wgan-gp", device=torch.device("cpu"))
    moved, moved_keys = module._real((rolls, keys), ctx)
    shifts = (moved[:, 0].amax(1).float().argmax(-1) - 40).tolist()
    assert set(shifts) == {-2, -1, 0, 1, 2, 3, 4}
    assert torch.equal(moved_keys, torch.tensor(shifts) % 12)
