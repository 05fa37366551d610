"""Chunked nearest-neighbour search and the memorisation audit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.core.metrics import kth_neighbour_radii, memorisation_audit, nearest_neighbours


def brute_force(q: torch.Tensor, r: torch.Tensor, k: int):
    d = torch.cdist(q.double(), r.double(), compute_mode="donot_use_mm_for_euclid_dist")
    return d.topk(k, dim=1, largest=False)


@pytest.mark.parametrize(("k", "chunk_size"), [(1, 64), (1, 10_000), (4, 37), (10, 128)])
def test_chunked_top_k_equals_brute_force(k, chunk_size):
    gen = torch.Generator().manual_seed(k)
    q, r = torch.randn(300, 12, generator=gen), torch.randn(500, 12, generator=gen)
    found = nearest_neighbours(q, r, k, chunk_size=chunk_size)
    expected = brute_force(q, r, k)
    assert torch.equal(found.indices, expected.indices)
    assert torch.allclose(found.distances.double(), expected.values, rtol=1e-6, atol=1e-6)
    assert found.max_cosine is None


def test_max_cosine_equals_brute_force_and_float64_is_kept():
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(200, 8, generator=gen, dtype=torch.float64)
    r = torch.randn(333, 8, generator=gen, dtype=torch.float64)
    found = nearest_neighbours(q, r, 2, chunk_size=50, with_cosine=True)
    cos = torch.nn.functional.normalize(q, dim=1) @ torch.nn.functional.normalize(r, dim=1).T
    assert found.distances.dtype == torch.float64
    assert torch.allclose(found.max_cosine, cos.max(1).values, atol=1e-12)
    assert torch.equal(found.max_cosine_index, cos.argmax(1))


def test_far_from_origin_float32_data_keep_exact_ranking_and_cosines():
    gen = torch.Generator().manual_seed(1)
    offset = torch.linspace(-1.0, 1.0, 8) * 1000.0
    q = torch.randn(300, 8, generator=gen) + offset
    r = torch.randn(400, 8, generator=gen) + offset
    found = nearest_neighbours(q, r, 3, chunk_size=64, with_cosine=True)
    expected = brute_force(q, r, 3)
    assert torch.equal(found.indices, expected.indices)
    cos = torch.nn.functional.normalize(q.double(), dim=1)
    cos = cos @ torch.nn.functional.normalize(r.double(), dim=1).T
    assert torch.allclose(found.max_cosine.double(), cos.max(1).values, atol=1e-6)


def test_kth_neighbour_radii_count_the_sample_itself():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    # nearest other points: 0 -> 1 (1), 1 -> 0 (1), 3 -> 1 (2), 7 -> 3 (4)
    assert torch.equal(kth_neighbour_radii(x, 1), torch.tensor([1.0, 1.0, 2.0, 4.0]))
    assert torch.equal(kth_neighbour_radii(x, 2), torch.tensor([3.0, 2.0, 3.0, 6.0]))


def test_search_errors():
    with pytest.raises(ValueError, match="k=5 exceeds the 3 reference samples"):
        nearest_neighbours(torch.zeros(2, 2), torch.zeros(3, 2), 5)
    with pytest.raises(ValueError, match="same feature extractor"):
        nearest_neighbours(torch.zeros(2, 2), torch.zeros(3, 4))


def gaussian_sets(seed: int = 0, dim: int = 16):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2000, dim)), rng.normal(size=(1000, dim)), rng


def test_a_generator_returning_noisy_training_samples_is_flagged():
    train, heldout, rng = gaussian_sets()
    copied = rng.choice(len(train), 500, replace=False)
    generated = train[copied] + rng.normal(scale=1e-3, size=(500, 16))
    report = memorisation_audit(generated, train, heldout, k=5)
    assert report.memorised
    assert report.share_below_threshold == 1.0 and report.p_value < 1e-100
    assert report.near_duplicate_share == 1.0 and report.exact_duplicate_share == 0.0
    assert report.share_closer_to_train == 1.0
    assert torch.equal(report.nn_train_index, torch.from_numpy(copied))
    assert len(report.suspicious_pairs) == 5
    distances = [d for _, _, d in report.suspicious_pairs]
    assert distances == sorted(distances) and distances[0] == float(report.nn_train_distance.min())
    for gen_idx, train_idx, dist in report.suspicious_pairs:
        assert train_idx == copied[gen_idx]
        assert dist == pytest.approx(
            np.linalg.norm(generated[gen_idx] - train[train_idx]), rel=1e-5
        )


def test_a_generator_sampling_the_true_distribution_is_not_flagged():
    train, heldout, rng = gaussian_sets(1)
    report = memorisation_audit(rng.normal(size=(1000, 16)), train, heldout)
    assert not report.memorised
    assert 0.02 < report.share_below_threshold < 0.09
    assert report.p_value > 1e-3
    assert report.share_closer_to_train == pytest.approx(2 / 3, abs=0.05)
    assert report.expected_closer_to_train == pytest.approx(2 / 3)
    assert report.exact_duplicate_share == 0.0 and report.near_duplicate_share == 0.0
    summary = report.summary()
    assert summary["memorised"] is False and len(summary["suspicious_pairs"]) == 10


def test_partial_copying_and_exact_duplicates_are_measured():
    train, heldout, rng = gaussian_sets(2)
    generated = rng.normal(size=(1000, 16))
    generated[:100] = train[:100]  # 10 % verbatim copies
    report = memorisation_audit(generated, train, heldout, chunk_size=256)
    assert report.memorised
    assert report.exact_duplicate_share == pytest.approx(0.10)
    assert report.near_duplicate_share == pytest.approx(0.10)
    assert {g for g, _, _ in report.suspicious_pairs} <= set(range(100))
    assert all(d == 0.0 for _, _, d in report.suspicious_pairs)


def test_near_duplicates_follow_the_cosine_threshold():
    train = np.eye(4)[:, :3].repeat(10, axis=0)[:30] * 5.0
    heldout = np.random.default_rng(3).normal(size=(40, 3))
    # cosine with e_1: 0.98 for the first, 0.9 for the second
    generated = np.array([[0.98, np.sqrt(1 - 0.98**2), 0.0], [0.9, np.sqrt(1 - 0.81), 0.0]])
    assert memorisation_audit(generated, train, heldout).near_duplicate_share == 0.5
    assert memorisation_audit(generated, train, heldout, threshold=0.85).near_duplicate_share == 1.0


def test_audit_errors():
    with pytest.raises(ValueError, match="heldout needs at least 20 samples"):
        memorisation_audit(np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="cosine similarity in"):
        memorisation_audit(np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((30, 2)), threshold=2)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_search_and_audit_match_the_cpu():
    train, heldout, rng = gaussian_sets(4)
    generated = np.concatenate([train[:50] + 1e-3, rng.normal(size=(450, 16))])
    cpu = nearest_neighbours(generated, train, 3, device="cpu", with_cosine=True)
    gpu = nearest_neighbours(generated, train, 3, device="cuda", with_cosine=True)
    assert torch.equal(cpu.indices, gpu.indices)
    assert torch.allclose(cpu.distances, gpu.distances, atol=1e-4)
    assert torch.allclose(cpu.max_cosine, gpu.max_cosine, atol=1e-5)
    audit = memorisation_audit(generated, train, heldout, device="cuda")
    assert audit.memorised and audit.near_duplicate_share == pytest.approx(0.1)
