"""The zoo's scores on known cases."""

from __future__ import annotations

import pytest
import torch

from ganforge.vision import (
    evaluate_translation,
    image_metrics,
    kde_baseline,
    kde_samples,
    load_embedded,
    ssim,
)


@pytest.fixture(scope="module")
def mnist():
    return load_embedded("mnist")


def test_real_digits_score_near_the_floor_and_noise_far_from_it(mnist):
    heldout, train = mnist.heldout[::3][:300], mnist.train[::13][:300]  # every class
    real = image_metrics(heldout, train)
    noise = image_metrics(heldout, torch.rand(300, 1, 28, 28))
    assert real["fid"] < noise["fid"] / 20
    assert real["precision"] > 0.6 and real["recall"] > 0.6
    assert noise["recall"] == 0.0 and noise["coverage"] < 0.1 < real["coverage"]
    same = image_metrics(heldout, heldout)
    assert same["fid"] == pytest.approx(0.0, abs=1e-6) and same["coverage"] == 1.0


def test_kde_bandwidth_is_chosen_by_cross_validation(mnist):
    train = mnist.train[::13][:300]
    estimator, info = kde_baseline(train, bandwidths=(0.3, 1.5, 30.0), fit_size=300)
    scores = info["cv_log_likelihood"]
    assert set(scores) == {"0.3", "1.5", "30.0"}
    assert str(info["bandwidth"]) == max(scores, key=lambda b: scores[b])
    assert estimator.bandwidth == info["bandwidth"]
    samples = kde_samples(estimator, 7, (1, 28, 28))
    assert (
        samples.shape == (7, 1, 28, 28) and 0 <= float(samples.min()) <= float(samples.max()) <= 1
    )


def test_ssim_of_identical_images_is_one_and_of_inverted_images_is_low(mnist):
    x = mnist.heldout[:20]
    assert ssim(x, x) == pytest.approx(1.0)
    assert ssim(x, 1 - x) < 0.0


class _Inverter:
    """A stand-in translator with a known answer: ``1 - x``."""

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        return 1 - x


def test_translation_scores_are_its_errors_and_the_image_metrics_of_its_outputs(mnist):
    source, target = mnist.heldout[:200], mnist.train[:200]
    scores = evaluate_translation(_Inverter(), source, target)
    assert scores["l1"] == pytest.approx(float((1 - source - target).abs().mean()))
    assert scores["identity_l1"] == pytest.approx(float((source - target).abs().mean()))
    assert scores["ssim"] == pytest.approx(ssim(1 - source, target))
    metrics = image_metrics(target, 1 - source)
    assert {k: scores[k] for k in metrics} == metrics  # FID, KID, precision, recall...
    perfect = evaluate_translation(_Inverter(), 1 - target, target)
    assert perfect["l1"] == pytest.approx(0.0, abs=1e-6) and perfect["fid"] == pytest.approx(
        0.0, abs=1e-6
    )
