"""The truncation trick's noise: within the threshold, normal inside it, reproducible."""

from __future__ import annotations

import pytest
import torch

from ganforge.core.latents import truncated_normal


def _seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_values_stay_within_the_threshold_and_keep_the_normal_inside_it():
    z = truncated_normal((20000, 8), 1.0, _seeded())
    assert z.shape == (20000, 8)
    assert z.abs().max() <= 1.0
    # a standard normal truncated to [-1, 1]: mean 0, variance 1 - 2 phi(1) / (2 Phi(1) - 1)
    phi = torch.exp(torch.tensor(-0.5)) / (2 * torch.pi) ** 0.5
    big_phi = 0.5 * (1 + torch.erf(torch.tensor(1.0) / 2**0.5))
    variance = 1 - 2 * phi / (2 * big_phi - 1)
    assert z.mean().item() == pytest.approx(0.0, abs=0.01)
    assert z.var().item() == pytest.approx(variance.item(), rel=0.02)  # 0.2911


def test_none_is_the_plain_normal_and_a_seed_gives_the_same_noise():
    assert torch.equal(
        truncated_normal((5, 3), None, _seeded(4)), torch.randn(5, 3, generator=_seeded(4))
    )
    assert torch.equal(
        truncated_normal((5, 3), 0.5, _seeded(4)), truncated_normal((5, 3), 0.5, _seeded(4))
    )


def test_values_already_within_are_kept():
    plain = torch.randn(1000, generator=_seeded(2))
    z = truncated_normal((1000,), 2.0, _seeded(2))
    inside = plain.abs() <= 2.0
    assert torch.equal(z[inside], plain[inside])
    assert not torch.equal(z[~inside], plain[~inside])


@pytest.mark.parametrize("threshold", [0, -1.0, float("nan")])
def test_a_threshold_that_is_not_positive_is_refused(threshold):
    with pytest.raises(ValueError, match="threshold must be > 0"):
        truncated_normal((2, 2), threshold)
