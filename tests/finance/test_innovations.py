"""Skewed Student-t innovations: density, likelihood, quantile map."""

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from ganforge.finance.innovations import (
    skewed_t_cdf,
    skewed_t_mean,
    skewed_t_nll,
    skewed_t_noise,
)


def _density(x: float, dof: float, skew: float) -> float:
    value = torch.tensor([x], dtype=torch.float64)
    nll = skewed_t_nll(
        value,
        torch.zeros(1, dtype=torch.float64),
        torch.ones(1, dtype=torch.float64),
        torch.tensor(dof, dtype=torch.float64),
        torch.tensor(skew, dtype=torch.float64),
    )
    return float(torch.exp(-nll))


def test_without_skew_the_likelihood_is_students_t():
    x, location, scale = torch.randn(3, 5), torch.randn(3, 5), torch.rand(3, 5) + 0.1
    dof = torch.tensor([3.0, 4.0, 5.0, 8.0, 30.0])
    reference = -torch.distributions.StudentT(dof, location, scale).log_prob(x).mean()
    torch.testing.assert_close(skewed_t_nll(x, location, scale, dof, torch.ones(5)), reference)


@pytest.mark.parametrize("skew", [0.6, 1.0, 1.7])
def test_density_integrates_to_one_with_the_stated_left_mass(skew):
    total, _ = integrate.quad(_density, -np.inf, np.inf, args=(5.0, skew))
    left, _ = integrate.quad(_density, -np.inf, 0.0, args=(5.0, skew))
    assert total == pytest.approx(1.0, abs=1e-7)
    assert left == pytest.approx(1 / (1 + skew**2), abs=1e-7)
    # the distribution function agrees with the density
    partial, _ = integrate.quad(_density, -np.inf, 0.8, args=(5.0, skew))
    assert float(skewed_t_cdf(0.8, 5.0, skew)) == pytest.approx(partial, abs=1e-7)


def test_scale_enters_as_a_jacobian():
    x = torch.tensor([0.3, -1.2], dtype=torch.float64)
    args = (torch.tensor(4.0, dtype=torch.float64), torch.tensor(0.8, dtype=torch.float64))
    zero, one = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    wide = skewed_t_nll(2 * x, zero, 2 * one, *args)
    torch.testing.assert_close(wide, skewed_t_nll(x, zero, one, *args) + np.log(2.0))


@pytest.mark.parametrize("skew", [0.7, 1.0, 1.4])
def test_noise_has_the_gaussian_quantiles_of_the_skewed_t(skew):
    z = torch.tensor([[-7.5, -2.0, -0.3, 0.0, 0.4, 1.5, 7.9]], dtype=torch.float64).T
    noise = skewed_t_noise(z, torch.tensor([4.0]), torch.tensor([skew])).numpy()[:, 0]
    values = z.numpy()[:, 0]
    cdf = skewed_t_cdf(noise, 4.0, skew)
    # compare in the nearer tail, where float64 keeps the digits
    right_tail = 2 * skew**2 / (1 + skew**2) * stats.t.sf(noise / skew, 4.0)
    upper = np.where(noise < 0, 1 - cdf, right_tail)
    np.testing.assert_allclose(
        np.where(values < 0, cdf, upper),
        np.where(values < 0, stats.norm.cdf(values), stats.norm.sf(values)),
        rtol=1e-6,
    )
    assert np.all(np.diff(noise) > 0)  # monotone


def test_symmetric_noise_is_students_t_and_far_tails_are_capped():
    z = torch.tensor([[[-7.5, 0.0], [-1.0, 1.0], [2.5, 7.9]]])
    dof = torch.tensor([3.0, 6.0])
    noise = skewed_t_noise(z, dof, torch.ones(2)).double().numpy()
    values = z.double().numpy()
    expected = -np.sign(values) * stats.t.ppf(stats.norm.cdf(-np.abs(values)), dof.numpy())
    np.testing.assert_allclose(noise, expected, rtol=1e-6)
    far = skewed_t_noise(torch.tensor([[[-40.0], [40.0]]]), torch.tensor([3.0]), torch.ones(1))
    at_eight = -stats.t.ppf(stats.norm.cdf(-8.0), 3.0)
    np.testing.assert_allclose(far.numpy()[0, :, 0], [-at_eight, at_eight], rtol=1e-6)


@pytest.mark.parametrize(("dof", "skew"), [(3.0, 0.7), (7.5, 1.0), (5.0, 1.3)])
def test_mean_matches_the_integral_of_the_density(dof, skew):
    first_moment, _ = integrate.quad(lambda x: x * _density(x, dof, skew), -np.inf, np.inf)
    mean = skewed_t_mean(torch.tensor(dof, dtype=torch.float64), torch.tensor(skew))
    assert float(mean) == pytest.approx(first_moment, abs=1e-6)
