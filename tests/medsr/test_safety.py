import math

import pytest
import torch

from ganforge.medsr import Degradation
from ganforge.medsr.safety import (
    conservative_upsample,
    flip_augmentations,
    hallucination_map,
    local_mean,
    uncertainty_map,
)


def _smooth_hr():
    x = torch.linspace(0, 1, 32)
    return (0.5 + 0.3 * torch.sin(6 * x)[:, None] * torch.cos(4 * x)[None, :])[None, None]


def test_consistent_output_has_zero_data_term_and_no_flags():
    degradation = Degradation("kspace", 2)
    hr = _smooth_hr()
    lr = degradation(hr)
    report = hallucination_map(hr, lr, degradation)
    assert float(report.data_term.max()) < 1e-6 and report.flagged_area == 0.0


def test_an_invented_blob_is_flagged_where_it_is():
    degradation = Degradation("psf", 2)
    hr = _smooth_hr()
    lr = degradation(hr)
    sr = degradation.project(conservative_upsample(lr, degradation), lr)
    sr[..., 10:14, 20:24] += 0.5  # a lesion that is not in the data
    report = hallucination_map(sr, lr, degradation, hr=hr)
    flagged = report.flagged[0, 0]
    assert bool(flagged[11, 21]) and not bool(flagged[0:4, 0:4].any())
    assert 0 < report.flagged_area < 0.2
    # the reference term alone: the blob is an error the baseline did not make
    assert float(report.reference_term[0, 0, 11, 21]) > 0.1


def test_baseline_itself_has_no_reference_excess():
    degradation = Degradation("psf", 2)
    hr = _smooth_hr()
    lr = degradation(hr)
    baseline = conservative_upsample(lr, degradation)
    report = hallucination_map(baseline, lr, degradation, hr=hr)
    assert float(report.reference_term.max()) < 1e-6


def test_a_model_better_than_interpolation_everywhere_is_not_flagged_at_error_zero_crossings():
    # baseline error 0.04 sin, model error 0.03 cos (period 16 along the last axis): the
    # model's local mean absolute error is 25 % lower everywhere, but the baseline's
    # error passes through zero at columns 0, 8, 16, 24
    degradation = Degradation("psf", 2)
    hr = _smooth_hr()
    phase = 2 * math.pi * torch.arange(32.0) / 16
    baseline, sr = hr + 0.04 * torch.sin(phase), hr + 0.03 * torch.cos(phase)
    lr = degradation(hr)
    old = hallucination_map(sr, lr, degradation, hr=hr, baseline=baseline, envelope=1)
    new = hallucination_map(sr, lr, degradation, hr=hr, baseline=baseline)
    s8, c8 = math.sin(math.pi / 8), math.cos(math.pi / 8)
    # voxel-wise: (0.03 + 2 * (0.03 cos(pi/8) - 0.04 sin(pi/8))) / 5 at column 8 -> flagged
    pointwise = (0.03 + 2 * (0.03 * c8 - 0.04 * s8)) / 5
    assert float(old.reference_term[0, 0, 16, 8]) == pytest.approx(pointwise, abs=1e-6)
    assert pointwise > 0.01 and bool(old.flagged[0, 0, 16, 8])
    # envelope: only column 8 exceeds its neighbours' largest baseline error 0.04 sin(pi/8)
    assert float(new.reference_term[0, 0, 16, 8]) == pytest.approx((0.03 - 0.04 * s8) / 5, abs=1e-6)
    assert float(new.reference_term.max()) < 0.01
    with pytest.raises(ValueError, match="envelope must be an odd width"):
        hallucination_map(sr, lr, degradation, hr=hr, envelope=2)


def test_threshold_validation_and_local_mean():
    with pytest.raises(ValueError, match="threshold"):
        hallucination_map(
            torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 4, 4), Degradation("psf", 2), threshold=0
        )
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 9.0
    assert float(local_mean(x, 3)[0, 0, 2, 2]) == pytest.approx(1.0)


def test_flip_augmentations_counts():
    assert len(flip_augmentations(2)) == 4 and len(flip_augmentations(3)) == 8
    assert flip_augmentations(2)[0] == ()


def test_uncertainty_of_an_equivariant_and_a_non_equivariant_predictor():
    lr = torch.rand(1, 1, 8, 8)
    mean, std = uncertainty_map(lambda x: 2 * x, lr)
    assert torch.allclose(mean, 2 * lr) and float(std.max()) < 1e-6
    ramp = torch.arange(8.0).repeat(8, 1)[None, None]
    mean, std = uncertainty_map(lambda x: x + ramp, lr)
    # flipping x adds the reversed ramp: the spread at column j is |j - (7 - j)| / 2
    assert torch.allclose(std[0, 0, 0], (torch.arange(8.0) - 3.5).abs(), atol=1e-5)
