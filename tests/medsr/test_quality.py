import math

import pytest
import torch

from ganforge.medsr import Degradation, SRGenerator, evaluate, image_metrics, synthetic_images
from ganforge.medsr.safety import flip_augmentations


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
        "gain_over_best_baseline_db",
    }
    assert (tmp_path / "q.json").exists()
    # the untrained model (bicubic + projection) is exactly the bicubic_dc baseline
    assert projected["bicubic_dc"]["consistency_residual"] < 1e-6
    assert projected["model"]["psnr"] == pytest.approx(projected["bicubic_dc"]["psnr"], abs=1e-3)
    best = projected["best_baseline"]
    assert best in ("bicubic", "bicubic_dc") and "zero_fill" not in projected
    gain = projected["model"]["psnr"] - projected[best]["psnr"]
    assert projected["model"]["gain_over_best_baseline_db"] == pytest.approx(gain)


def test_tta_scores_the_mean_of_the_flipped_predictions():
    hr = synthetic_images(2, 32, seed=5)
    degradation = Degradation("bicubic", 2)
    torch.manual_seed(0)
    model = SRGenerator(channels=4, num_blocks=1, block="residual")
    with torch.no_grad():  # an output far from bicubic, and not flip-equivariant
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.3)
    model.eval()
    plain = evaluate(hr, {"model": model}, degradation, device="cpu")
    flipped = evaluate(hr, {"model": model}, degradation, device="cpu", tta=True)
    lr = torch.cat([degradation(hr[i : i + 1], seed=i) for i in range(len(hr))])
    with torch.no_grad():
        outputs = [torch.flip(model(torch.flip(lr, a)), a) for a in flip_augmentations(2)]
    by_hand = degradation.project(torch.stack(outputs).mean(0), lr)
    assert flipped["model"]["psnr"] == pytest.approx(image_metrics(by_hand, hr)["psnr"], abs=1e-4)
    assert abs(flipped["model"]["psnr"] - plain["model"]["psnr"]) > 0.01
    # the baselines are flip-equivariant and scored the same either way
    assert flipped["bicubic_dc"]["psnr"] == pytest.approx(plain["bicubic_dc"]["psnr"])


def test_kspace_truncation_adds_the_zero_filled_baseline():
    from ganforge.medsr.degradation import kspace_upsample
    from ganforge.medsr.quality import baselines

    hr = synthetic_images(2, 32, seed=1)
    degradation = Degradation("kspace", 2)
    lr = degradation(hr)
    found = baselines(lr, degradation)
    assert set(found) == {"bicubic", "bicubic_dc", "zero_fill"}
    torch.testing.assert_close(found["zero_fill"], kspace_upsample(lr, 2, 2).float())
    # zero filling already agrees with the measured low frequencies: projection keeps it
    torch.testing.assert_close(degradation.project(found["zero_fill"], lr), found["zero_fill"])
    torch.testing.assert_close(degradation(found["bicubic_dc"]), lr, atol=1e-4, rtol=0)


def test_pydicom_images_are_real_mr_and_ct_scaled_and_cropped():
    from ganforge.medsr import pydicom_images

    images = pydicom_images()
    assert set(images) == {
        "mr_toshiba_small",
        "ct_ge_small",
        "mr_siemens_abdomen",
        "ct_512",
        "ct_head_512",
    }
    assert images["mr_toshiba_small"].shape == (1, 1, 64, 64)
    assert images["mr_siemens_abdomen"].shape == (1, 1, 300, 484)
    for image in images.values():
        assert image.dtype == torch.float32 and image.shape[2] % 4 == 0 == image.shape[3] % 4
        assert image.min() == 0 and image.max() == 1 and image.std() > 0.05
