"""The ring of eight Gaussians through the trainer: both objectives cover the modes."""

import pytest
import torch

from ganforge.core.recipes import mode_coverage, ring_centres, ring_of_gaussians, ring_recipe
from ganforge.core.training import Trainer, TrainerConfig


def test_ring_data_and_coverage_statistic():
    data = ring_of_gaussians(8000, seed=0)
    coverage = mode_coverage(data)
    assert coverage.modes_covered == 8
    # 3 sigma in 2-D holds 1 - exp(-4.5) = 98.9 % of an isotropic Gaussian.
    assert coverage.high_quality == pytest.approx(0.989, abs=0.005)
    collapsed = ring_centres()[[0]].repeat(1000, 1)
    one_mode = mode_coverage(collapsed)
    assert one_mode.modes_covered == 1 and one_mode.high_quality == 1.0


def test_coverage_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        mode_coverage(torch.zeros(10, 3))


@pytest.mark.slow
@pytest.mark.parametrize(("objective", "iterations"), [("wgan_gp", 2000), ("ns_r1", 3000)])
def test_both_objectives_cover_at_least_seven_modes(objective, iterations):
    torch.manual_seed(0)
    module = ring_recipe(objective)
    config = TrainerConfig(
        iterations=iterations, batch_size=256, progress=False, tensorboard=False, log_every=100
    )
    Trainer(module, config).fit(ring_of_gaussians(20_000))
    coverage = mode_coverage(module.sample(4000))
    assert coverage.modes_covered >= 7
    assert coverage.high_quality >= 0.8
