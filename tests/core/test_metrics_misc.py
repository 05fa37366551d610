"""Inception-style score, diversity, MS-SSIM, the extractor registry and mnist_cnn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

from ganforge.core import metrics
from ganforge.core.metrics import (
    get_extractor,
    inception_score,
    list_extractors,
    ms_ssim,
    ms_ssim_diversity,
    pairwise_diversity,
    register_extractor,
    unregister_extractor,
)
from ganforge.core.metrics.mnist_cnn import WEIGHTS_NAME, load_weights
from ganforge.core.metrics.train_mnist_extractor import mnist_digits, train_mnist_extractor


def test_inception_score_extremes_and_a_hand_computed_case():
    assert inception_score(np.eye(4)[np.arange(100) % 4]).mean == pytest.approx(4.0)
    assert inception_score(np.full((50, 10), 0.1)).mean == pytest.approx(1.0)
    # p(y|x) = (0.9, 0.1) and (0.1, 0.9): p(y) = (0.5, 0.5),
    # KL = 0.9 ln 1.8 + 0.1 ln 0.2 for each sample.
    probs = np.array([[0.9, 0.1], [0.1, 0.9]])
    expected = math.exp(0.9 * math.log(1.8) + 0.1 * math.log(0.2))
    assert inception_score(probs).mean == pytest.approx(expected, rel=1e-12)
    logits = np.log(probs)
    assert inception_score(logits, from_logits=True).mean == pytest.approx(expected, rel=1e-12)


def test_inception_score_splits_and_errors():
    probs = np.eye(4)[np.arange(80) % 4]
    result = inception_score(probs, splits=4)
    assert result.mean == pytest.approx(4.0) and result.std == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="rows summing to 1"):
        inception_score(np.ones((3, 2)))


def test_pairwise_diversity_equals_scipy_pdist_mean():
    x = np.random.default_rng(0).normal(size=(257, 6))
    assert pairwise_diversity(x, chunk_size=50) == pytest.approx(pdist(x).mean(), rel=1e-9)
    assert pairwise_diversity(np.ones((20, 3))) == 0.0
    subset = pairwise_diversity(x, max_samples=100, seed=1)
    assert subset == pytest.approx(pdist(x).mean(), rel=0.1)


def test_ms_ssim_identical_is_one_and_collapse_is_detected():
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(16, 1, 28, 28, generator=gen)
    assert torch.allclose(ms_ssim(images, images), torch.ones(16, dtype=torch.float64))
    collapsed = images[:1].expand(16, -1, -1, -1)
    assert ms_ssim_diversity(collapsed, pairs=20) == pytest.approx(1.0)
    assert ms_ssim_diversity(images, pairs=20) < 0.5
    assert ms_ssim(torch.rand(2, 3, 128, 128), torch.rand(2, 3, 128, 128)).shape == (2,)
    with pytest.raises(ValueError, match="one shape"):
        ms_ssim(images, images[:, :, :20])


def test_registry_register_get_list_and_errors():
    def double(x):
        return 2 * x

    register_extractor("test_double", double)
    try:
        assert get_extractor("test_double") is double
        assert "test_double" in list_extractors() and "mnist_cnn" in list_extractors()
        with pytest.raises(ValueError, match="already registered; pass overwrite=True"):
            register_extractor("test_double", double)
        built = []
        register_extractor(
            "test_double", lambda: built.append(1) or double, factory=True, overwrite=True
        )
        assert get_extractor("test_double") is double and get_extractor("test_double") is double
        assert built == [1]  # the factory ran once
    finally:
        unregister_extractor("test_double")
    with pytest.raises(ValueError, match="unknown feature extractor 'test_double'; registered: "):
        get_extractor("test_double")
    with pytest.raises(ValueError, match="must be callable"):
        register_extractor("bad", 3)


@pytest.fixture(scope="module")
def quick_mnist_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("mnist") / WEIGHTS_NAME
    info = train_mnist_extractor(path, epochs=2, n_train=2000)
    return path, info


def test_quick_mnist_extractor_learns_digits_and_reloads_safely(quick_mnist_weights):
    path, info = quick_mnist_weights
    assert info["val_accuracy"] > 0.85 and info["n_val"] == 3000
    model = load_weights(path)
    x, y = mnist_digits()
    with torch.no_grad():
        assert model(x[:10]).shape == (10, 64)
        flat = model(x[:10].reshape(10, 784))
        assert torch.allclose(flat, model(x[:10]))
        assert model(torch.rand(3, 3, 56, 56)).shape == (3, 64)


def test_mnist_cnn_from_the_cache_and_fid_on_digits(quick_mnist_weights, tmp_path, monkeypatch):
    path, _ = quick_mnist_weights
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / WEIGHTS_NAME).write_bytes(path.read_bytes())
    monkeypatch.setenv("GANFORGE_CACHE", str(cache))
    register_extractor("mnist_cnn", metrics.load_mnist_cnn, factory=True, overwrite=True)
    try:
        extractor = get_extractor("mnist_cnn")
        x, _ = mnist_digits()
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))]
        same = metrics.fid(x[:1000], x[1000:2000], extractor="mnist_cnn")
        noise = metrics.fid(x[:1000], torch.rand(1000, 1, 28, 28), extractor=extractor)
        assert same < 0.1 * noise
    finally:
        register_extractor("mnist_cnn", metrics.load_mnist_cnn, factory=True, overwrite=True)


def test_corrupt_cached_weights_give_a_clear_error(tmp_path):
    bad = tmp_path / WEIGHTS_NAME
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not an MNIST extractor weights file"):
        load_weights(bad)


@pytest.mark.slow
def test_default_mnist_extractor_trains_within_a_minute_on_one_thread(tmp_path):
    import time

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        info = train_mnist_extractor(tmp_path / WEIGHTS_NAME)
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    assert elapsed < 60 and info["val_accuracy"] > 0.95


def test_the_extractor_trains_when_first_used_inside_no_grad(tmp_path):
    # evaluation code asks for features under torch.no_grad(); on a machine without the
    # cached weights that first call trains the extractor, which needs gradients
    with torch.no_grad():
        info = train_mnist_extractor(tmp_path / "w.pt", epochs=2, n_train=1000)
        assert not torch.is_grad_enabled()  # the caller's mode is left as it was
    assert (tmp_path / "w.pt").is_file() and info["val_accuracy"] > 0.3
