"""Fréchet distance against closed forms and a float64 scipy reference; FID plumbing."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from ganforge.core.metrics import fid, frechet_distance, frechet_distance_from_statistics
from ganforge.core.metrics.inception import load_inception


def with_exact_moments(n: int, mean: np.ndarray, cov: np.ndarray, seed: int) -> np.ndarray:
    """n samples whose sample mean and (unbiased) covariance are exactly mean and cov."""
    x = np.random.default_rng(seed).normal(size=(n, len(mean)))
    x -= x.mean(0)
    whiten = np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False)))
    return x @ whiten.T @ np.linalg.cholesky(cov).T + mean


def scipy_reference(mu1, s1, mu2, s2) -> float:
    """Symmetric form ||mu1-mu2||^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), float64."""
    root1 = scipy.linalg.sqrtm(s1).real
    middle = scipy.linalg.sqrtm(root1 @ s2 @ root1).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(middle))


def test_identical_gaussian_samples_give_zero():
    x = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(x, x.copy()) == pytest.approx(0.0, abs=1e-9)


def test_diagonal_gaussians_match_hand_computed_closed_form():
    # mu1 = (0, 0), S1 = diag(1, 4); mu2 = (1, 2), S2 = diag(9, 1)
    # ||mu1 - mu2||^2 = 5; Tr(S1 + S2) = 15; 2 Tr((S1 S2)^1/2) = 2 (3 + 2) = 10  ->  10
    a = with_exact_moments(400, np.zeros(2), np.diag([1.0, 4.0]), seed=1)
    b = with_exact_moments(300, np.array([1.0, 2.0]), np.diag([9.0, 1.0]), seed=2)
    assert frechet_distance(a, b) == pytest.approx(10.0, rel=1e-9)
    assert frechet_distance(torch.from_numpy(a).float(), torch.from_numpy(b).float()) == (
        pytest.approx(10.0, rel=1e-5)
    )


def test_full_covariances_agree_with_scipy_reference_to_1e6():
    rng = np.random.default_rng(3)
    for d in (3, 16, 64):
        m1, m2 = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        s1, s2 = m1 @ m1.T / d + 0.1 * np.eye(d), m2 @ m2.T / d + 0.1 * np.eye(d)
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        ours = frechet_distance_from_statistics(mu1, s1, mu2, s2)
        assert ours == pytest.approx(scipy_reference(mu1, s1, mu2, s2), rel=1e-6)
        a = with_exact_moments(5 * d, mu1, s1, seed=d)
        b = with_exact_moments(4 * d, mu2, s2, seed=d + 1)
        assert frechet_distance(a, b) == pytest.approx(scipy_reference(mu1, s1, mu2, s2), rel=1e-6)


def test_fewer_samples_than_dimensions_stays_finite_and_real():
    rng = np.random.default_rng(4)
    value = frechet_distance(rng.normal(size=(10, 32)), rng.normal(size=(12, 32)) + 1.0)
    assert np.isfinite(value) and value > 20.0  # mean shift alone contributes 32


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        (np.zeros(5), np.zeros((5, 1)), "n_samples, n_features"),
        (np.zeros((5, 2)), np.zeros((5, 3)), "same feature extractor"),
        (np.full((5, 2), np.nan), np.zeros((5, 2)), "NaN"),
        (np.zeros((1, 2)), np.zeros((5, 2)), "at least 2 samples"),
    ],
)
def test_bad_inputs_raise_clear_errors(a, b, message):
    with pytest.raises(ValueError, match=message):
        frechet_distance(a, b)


def test_fid_with_a_callable_extractor_equals_frechet_distance_of_its_features():
    gen = torch.Generator().manual_seed(5)
    real = torch.rand(300, 1, 8, 8, generator=gen)
    fake = torch.rand(250, 1, 8, 8, generator=gen) ** 2
    projection = torch.randn(64, 6, generator=gen, dtype=torch.float64)

    def extractor(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1).double() @ projection

    value = fid(real, fake, extractor=extractor, batch_size=64)
    assert value == pytest.approx(frechet_distance(extractor(real), extractor(fake)), rel=1e-6)
    assert value > 0.01
    batches = fid(real.split(100), fake.split(70), extractor=extractor)
    assert batches == pytest.approx(value, rel=1e-9)


def test_fid_rejects_unknown_extractor_and_tiny_sets():
    images = torch.rand(4, 1, 8, 8)
    with pytest.raises(ValueError, match="unknown feature extractor 'nope'"):
        fid(images, images, extractor="nope")
    with pytest.raises(ValueError, match="at least 2 real and 2 fake"):
        fid(images, images[:1], extractor=lambda x: x.reshape(x.shape[0], -1))


def test_inception_without_weights_says_how_to_provide_them(monkeypatch):
    monkeypatch.delenv("GANFORGE_INCEPTION_WEIGHTS", raising=False)
    with pytest.raises(ValueError, match="GANFORGE_INCEPTION_WEIGHTS=<file>.*mnist_cnn"):
        load_inception()


def test_inception_rejects_missing_and_foreign_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_INCEPTION_WEIGHTS", str(tmp_path / "absent.pth"))
    with pytest.raises(ValueError, match="does not exist"):
        load_inception()
    foreign = tmp_path / "foreign.pth"
    torch.save({"weight": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match="not torchvision's Inception-v3 state dict"):
        load_inception(foreign)


@pytest.mark.slow
def test_inception_features_from_a_local_state_dict(tmp_path):
    from torchvision.models import inception_v3

    path = tmp_path / "inception.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=True).state_dict(), path)
    features = load_inception(path)(torch.rand(2, 3, 64, 64))
    assert features.shape == (2, 2048)


def test_fid_names_no_extractor_by_default():
    images = torch.rand(4, 1, 28, 28)
    with pytest.raises(TypeError, match="extractor"):
        fid(images, images)
