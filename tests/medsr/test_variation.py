import numpy as np
import pytest
import torch

from ganforge.medsr import Degradation, MedicalSR, synthetic_images
from ganforge.medsr.data import PairedPatchSource
from ganforge.medsr.variation import (
    ScannerVariation,
    VariedPatchPairs,
    bias_field,
    contrast_curve,
)

STILL = ScannerVariation(rotation_degrees=0.0, zoom=(1.0, 1.0), scan_noise_std=0.0)


def _pairs(variation=None, seed=0):
    hr = synthetic_images(3, 48, seed=2)
    return VariedPatchPairs(hr, Degradation("psf", 2), 32, 4, seed=seed, variation=variation)


def test_without_rotation_or_zoom_the_patch_is_the_central_window_flipped_or_turned():
    pairs = _pairs(STILL)
    patch = torch.arange(48 * 48, dtype=torch.float32).reshape(1, 48, 48)
    moved = pairs._move(patch, torch.Generator().manual_seed(3))
    window = patch[:, 8:40, 8:40]
    candidates = [
        torch.rot90(w, k, dims=(1, 2))
        for w in (window, window.flip(1), window.flip(2), window.flip(1).flip(2))
        for k in range(4)
    ]
    assert any(torch.allclose(moved, c, atol=1e-2) for c in candidates)


def test_contrast_curve_and_bias_field_by_hand():
    x = torch.linspace(0, 1, 11)
    curve = contrast_curve(x, 0.1, 1.0)
    assert curve[0] == 0 and curve[-1] == 1 and curve[5] == pytest.approx(0.6)
    assert torch.all(curve[1:] >= curve[:-1])  # monotone
    assert contrast_curve(x, 0.0, 2.0)[5] == pytest.approx(0.25)
    flat = bias_field((8, 8), 0.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(flat, torch.ones(1, 8, 8))
    field = bias_field((16, 16), 0.3, torch.Generator().manual_seed(0))
    # five terms of at most 0.3 each on [-1, 1]: the log-field stays within +-1.5
    assert field.min() >= np.exp(-1.5) and field.max() <= np.exp(1.5) and field.std() > 0


def test_items_are_reproducible_and_their_lr_is_a_degradation_of_their_hr():
    pairs = _pairs(STILL)
    lr, hr = pairs[5]
    again_lr, again_hr = _pairs(STILL)[5]
    assert torch.equal(lr, again_lr) and torch.equal(hr, again_hr)
    assert lr.shape == (1, 16, 16) and hr.shape == (1, 32, 32)
    assert hr.min() >= 0 and hr.max() <= 1
    torch.testing.assert_close(lr, Degradation("psf", 2)(hr[None])[0], atol=1e-5, rtol=0)
    pairs.epoch = 1
    assert not torch.equal(pairs[5][1], hr)


def test_the_default_spec_trains_with_scanner_variation_and_roi_keeps_flips():
    spec = MedicalSR(scale=2, degradation="kspace").spec
    assert spec.augmentation == "scanner"
    with pytest.raises(ValueError, match="augmentation must be 'scanner' or 'flips'"):
        MedicalSR(augmentation="elastic")
    hr = synthetic_images(2, 32, seed=0)
    source = PairedPatchSource(hr, Degradation("kspace", 2), 16, 4, variation=ScannerVariation())
    assert isinstance(source.pairs, VariedPatchPairs)
    assert ScannerVariation().kinds_for(Degradation("kspace", 2)) == ("kspace",)
    blind = ScannerVariation(kinds=("bicubic", "psf", "kspace"))
    assert blind.kinds_for(Degradation("psf", 2, spatial_dims=3)) == ("psf", "kspace")
    assert blind.kinds_for(Degradation("psf", 2)) == ("bicubic", "psf", "kspace")
    with pytest.raises(ValueError, match="ROI masks are not carried through scanner variation"):
        PairedPatchSource(hr, Degradation("kspace", 2), 16, 4, roi=hr, variation=ScannerVariation())


def test_the_scan_noise_is_in_the_hr_and_reaches_the_lr_through_the_declared_operator():
    noisy = ScannerVariation(rotation_degrees=0.0, zoom=(1.0, 1.0), scan_noise_std=0.05)
    hr = synthetic_images(3, 48, seed=2)
    pairs = VariedPatchPairs(hr, Degradation("psf", 2, noise_std=0.0), 32, 4, variation=noisy)
    clean = _pairs(STILL)
    stds = []
    for index in range(8):
        lr, hr_patch = pairs[index]
        # the LR is the declared operator of the (noisy) HR, with no noise of its own
        torch.testing.assert_close(lr, Degradation("psf", 2)(hr_patch[None])[0], atol=1e-5, rtol=0)
        stds.append(float((hr_patch - clean[index][1]).std()))
    # the same draws without noise give the same patch: the difference is the noise,
    # its std uniform in [0, 0.05] per item
    assert max(stds) <= 0.05 * 1.2 and min(stds) > 0.0 and max(stds) > 0.01


def test_the_declared_acquisition_noise_is_added_to_the_lr():
    hr = synthetic_images(3, 48, seed=2)
    declared = Degradation("psf", 2, noise_std=0.03)
    pairs = VariedPatchPairs(hr, declared, 32, 4, variation=STILL)
    residuals = []
    for index in range(6):
        lr, hr_patch = pairs[index]
        residuals.append(lr - Degradation("psf", 2)(hr_patch[None])[0])
    assert float(torch.cat(residuals).std()) == pytest.approx(0.03, rel=0.2)


def test_lr_noise_beyond_the_declared_level_is_drawn_per_item_within_its_range():
    hr = synthetic_images(3, 48, seed=2)
    varied = ScannerVariation(
        rotation_degrees=0.0, zoom=(1.0, 1.0), scan_noise_std=0.0, lr_noise_std=0.04
    )
    pairs = VariedPatchPairs(hr, Degradation("psf", 2, noise_std=0.01), 32, 4, variation=varied)
    stds = []
    for index in range(12):
        lr, hr_patch = pairs[index]
        stds.append(float((lr - Degradation("psf", 2)(hr_patch[None])[0]).std()))
    assert min(stds) > 0.01 * 0.7 and max(stds) < 0.05 * 1.3
    assert max(stds) - min(stds) > 0.01  # a level of its own per item


def test_a_model_trains_with_the_variation_it_is_given():
    model = MedicalSR(
        scale=2, degradation="psf", pretrain_iterations=1, adversarial_iterations=0, patch_size=16
    )
    assert model.variation == ScannerVariation()
    model.variation = ScannerVariation(kinds=("psf", "kspace"))
    plan = model.plan((synthetic_images(2, 32, seed=0), None), None)
    assert plan.data.pairs.kinds == ("psf", "kspace")
    flips = MedicalSR(
        scale=2, degradation="psf", augmentation="flips", adversarial_iterations=0, patch_size=16
    )
    assert not isinstance(
        flips.plan((synthetic_images(2, 32, seed=0), None), None).data.pairs, VariedPatchPairs
    )
