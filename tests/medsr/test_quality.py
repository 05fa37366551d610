import math

import pytest
import torch

from ganforge.medsr import Degradation, SRGenerator, evaluate, image_metrics, synthetic_images


def test_image_metrics_hand_computed_psnr():
    hr = torch.zeros(1, 1, 16, 16)
    sr = torch.full((1, 1, 16, 16), 0.1)
    metrics = image_metrics(sr, hr)
    assert metrics["psnr"] == pytest.approx(10 * math.log10(1 / 0.01))


def test_untrained_generator_scores_as_bicubic_and_projection_is_consistent(tmp_path):
    hr = synthetic_images(3, 32, seed=4)
    degradation = Degradation("bicubic", 2)
    untrained = SRGenerator(channels=4, num_blocks=1, block="residual")
    plain = evaluate(hr, {"model": untrained}, degradation, project=False)
    assert plain["model"]["psnr"] == pytest.approx(plain["bicubic"]["psnr"], abs=1e-3)
    assert plain["model"]["ssim"] == pytest.approx(plain["bicubic"]["ssim"], abs=1e-4)
    projected = evaluate(hr, {"model": untrained}, degradation, out_path=tmp_path / "q.json")
    assert projected["model"]["consistency_residual"] < 1e-6
    assert projected["bicubic"]["consistency_residual"] > 1e-3
    assert set(projected["model"]) == {
        "psnr",
        "ssim",
        "flagged_area",
        "flagged_area_pointwise",
        "consistency_residual",
        "gradient_magnitude_ratio",
    }
    assert (tmp_path / "q.json").exists()
