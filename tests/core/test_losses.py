"""Adversarial losses against hand-computed values."""

import math

import pytest
import torch

from ganforge.core import losses
from ganforge.core.losses import (
    LOSSES,
    feature_matching_loss,
    get_loss,
    mean_feature_matching_loss,
    minimax_value,
    optimal_discriminator,
)

REAL = torch.tensor([2.0, 0.0])
FAKE = torch.tensor([-1.0, 0.5])


def softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


# --- theory ---------------------------------------------------------------------------


def test_minimax_value_at_half_is_minus_two_ln_two():
    half = torch.full((5,), 0.5)
    assert minimax_value(half, half).item() == pytest.approx(-2 * math.log(2), abs=1e-12)


def test_optimal_discriminator_and_value_for_discrete_distributions():
    p_data = torch.tensor([0.8, 0.2], dtype=torch.float64)
    p_g = torch.tensor([0.4, 0.6], dtype=torch.float64)
    d_star = optimal_discriminator(p_data, p_g)
    assert d_star.tolist() == pytest.approx([2 / 3, 1 / 4], abs=1e-12)
    value = minimax_value(d_star, d_star, p_real=p_data, p_fake=p_g).item()
    by_hand = (
        0.8 * math.log(2 / 3)
        + 0.2 * math.log(1 / 4)
        + 0.4 * math.log(1 / 3)
        + 0.6 * math.log(3 / 4)
    )
    assert by_hand == pytest.approx(-1.2137, abs=1e-4)
    assert value == pytest.approx(-1.2137, abs=1e-3)
    # = -2 ln 2 + 2 JSD(p_data || p_g) > -2 ln 2, and D* beats any other D.
    assert value > -2 * math.log(2)
    other = torch.tensor([0.6, 0.3])
    assert minimax_value(other, other, p_data, p_g).item() < value


def test_optimal_discriminator_is_half_outside_both_supports_and_validates():
    d = optimal_discriminator(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]))
    assert d.tolist() == [1.0, 0.5]
    with pytest.raises(ValueError, match="non-negative"):
        optimal_discriminator(torch.tensor([-0.1]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        minimax_value(torch.tensor([1.5]), torch.tensor([0.5]))


def test_minimax_discriminator_loss_is_negated_value():
    value = minimax_value(torch.sigmoid(REAL), torch.sigmoid(FAKE))
    loss = get_loss("minimax").discriminator(REAL, FAKE)
    assert loss.item() == pytest.approx(-value.item(), abs=1e-6)


# --- each loss by hand ------------------------------------------------------------------


def test_minimax_losses_by_hand():
    d = mean([softplus(-2.0), softplus(0.0)]) + mean([softplus(-1.0), softplus(0.5)])
    g = -mean([softplus(-1.0), softplus(0.5)])  # E log(1 - sigmoid(f)) = -E softplus(f)
    loss = get_loss("minimax")
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(d, abs=1e-6)
    assert loss.generator(FAKE).item() == pytest.approx(g, abs=1e-6)


def test_non_saturating_losses_by_hand():
    loss = get_loss("non_saturating")
    d = mean([softplus(-2.0), softplus(0.0)]) + mean([softplus(-1.0), softplus(0.5)])
    g = mean([softplus(1.0), softplus(-0.5)])
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(d, abs=1e-6)
    assert loss.generator(FAKE).item() == pytest.approx(g, abs=1e-6)


def test_one_sided_label_smoothing_by_hand():
    loss = get_loss("non_saturating", real_label=0.9)

    def bce(logit: float, target: float) -> float:
        return target * softplus(-logit) + (1 - target) * softplus(logit)

    d = mean([bce(2.0, 0.9), bce(0.0, 0.9)]) + mean([bce(-1.0, 0.0), bce(0.5, 0.0)])
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(d, abs=1e-6)
    # one-sided: the generator target stays 1
    assert loss.generator(FAKE).item() == pytest.approx(
        get_loss("non_saturating").generator(FAKE).item()
    )


def test_least_squares_losses_by_hand():
    loss = get_loss("least_squares")
    d = 0.5 * mean([(2 - 1) ** 2, (0 - 1) ** 2]) + 0.5 * mean([1.0, 0.25])
    g = 0.5 * mean([(-1 - 1) ** 2, (0.5 - 1) ** 2])
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(d)
    assert loss.generator(FAKE).item() == pytest.approx(g)


def test_hinge_losses_by_hand():
    loss = get_loss("hinge")
    d = mean([max(0, 1 - 2), max(0, 1 - 0)]) + mean([max(0, 1 - 1), max(0, 1 + 0.5)])
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(d)
    assert loss.generator(FAKE).item() == pytest.approx(-(-1 + 0.5) / 2)


def test_wasserstein_losses_by_hand():
    loss = get_loss("wasserstein")
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(-0.25 - 1.0)
    assert loss.generator(FAKE).item() == pytest.approx(0.25)


def test_relativistic_average_losses_by_hand():
    loss = get_loss("relativistic_average")
    mean_real, mean_fake = 1.0, -0.25
    d = mean([softplus(-(2 - mean_fake)), softplus(-(0 - mean_fake))]) + mean(
        [softplus(-1 - mean_real), softplus(0.5 - mean_real)]
    )
    g = mean([softplus(-(-1 - mean_real)), softplus(-(0.5 - mean_real))]) + mean(
        [softplus(2 - mean_fake), softplus(0 - mean_fake)]
    )
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(d, abs=1e-6)
    assert loss.generator(FAKE, REAL).item() == pytest.approx(g, abs=1e-6)
    with pytest.raises(ValueError, match="needs the real scores"):
        loss.generator(FAKE)


def test_relativistic_generator_loss_gives_no_gradient_to_real_scores():
    real = REAL.clone().requires_grad_(True)
    fake = FAKE.clone().requires_grad_(True)
    get_loss("relativistic_average").generator(fake, real).backward()
    assert real.grad is None
    assert fake.grad is not None and fake.grad.abs().sum() > 0


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_list_inputs_sum_over_scales(name):
    loss = get_loss(name)
    reals = [REAL, torch.tensor([[0.3, -0.7], [1.1, 0.2]])]
    fakes = [FAKE, torch.tensor([[-0.4, 0.9], [0.0, -1.3]])]
    d_total = sum(loss.discriminator(r, f) for r, f in zip(reals, fakes, strict=True))
    g_total = sum(loss.generator(f, r) for r, f in zip(reals, fakes, strict=True))
    assert loss.discriminator(reals, fakes).item() == pytest.approx(d_total.item(), abs=1e-6)
    assert loss.generator(fakes, reals).item() == pytest.approx(g_total.item(), abs=1e-6)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_is_mean_within_a_tensor(name):
    """A patch discriminator's map gives the same loss as its flattened scores."""
    loss = get_loss(name)
    real = torch.tensor([[[0.5, -1.0], [2.0, 0.1]]])
    fake = torch.tensor([[[-0.3, 0.8], [0.0, -2.0]]])
    assert loss.discriminator(real, fake).item() == pytest.approx(
        loss.discriminator(real.flatten(), fake.flatten()).item(), abs=1e-6
    )


def test_registry_names_and_errors():
    assert set(LOSSES) == {
        "minimax",
        "non_saturating",
        "least_squares",
        "hinge",
        "wasserstein",
        "relativistic_average",
    }
    with pytest.raises(ValueError, match="unknown loss 'bce'.*hinge.*wasserstein"):
        get_loss("bce")
    with pytest.raises(ValueError, match="label smoothing needs a cross-entropy loss"):
        get_loss("hinge", real_label=0.9)
    with pytest.raises(ValueError, match=r"real_label must be in \(0, 1\]"):
        get_loss("non_saturating", real_label=1.5)
    with pytest.raises(ValueError, match="different lengths"):
        get_loss("hinge").discriminator([REAL, REAL], [FAKE])
    with pytest.raises(ValueError, match="non-empty list"):
        get_loss("hinge").generator([])


def test_pure_functions_match_registry():
    assert losses.hinge_d_loss(REAL, FAKE).item() == get_loss("hinge").discriminator(REAL, FAKE)
    assert losses.least_squares_g_loss(FAKE).item() == get_loss("least_squares").generator(FAKE)


# --- feature matching ---------------------------------------------------------------------


def test_feature_matching_by_hand_and_real_detached():
    real = [[torch.tensor([1.0, 2.0]), torch.tensor([[0.0, 0.0]])], [torch.tensor([3.0])]]
    fake = [
        [torch.tensor([0.0, 4.0], requires_grad=True), torch.tensor([[1.0, -1.0]])],
        [torch.tensor([1.0], requires_grad=True)],
    ]
    real[0][0].requires_grad_(True)
    value = feature_matching_loss(real, fake)
    assert value.item() == pytest.approx((1 + 2) / 2 + 1 + 2)
    value.backward()
    assert real[0][0].grad is None
    assert fake[0][0].grad.tolist() == [-0.5, 0.5]


def test_feature_matching_flat_list_is_one_discriminator_and_validates():
    real = [torch.zeros(2, 3), torch.ones(4)]
    fake = [torch.ones(2, 3), torch.ones(4)]
    assert feature_matching_loss(real, fake).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="differ in structure"):
        feature_matching_loss(real, fake[:1])
    with pytest.raises(ValueError, match="shapes differ"):
        feature_matching_loss([torch.zeros(2)], [torch.zeros(3)])


@pytest.mark.parametrize(
    "name", ["minimax", "non_saturating", "least_squares", "hinge", "wasserstein"]
)
def test_per_element_terms_add_up_to_the_mean_loss(name):
    from ganforge.core.losses import get_loss

    real = torch.tensor([0.3, -1.2, 2.0])
    fake = torch.tensor([0.5, -0.7])
    loss = get_loss(name)
    terms = loss.discriminator(real, fake, reduction="none")
    assert terms.shape == (5,)
    torch.testing.assert_close(terms[:3].mean() + terms[3:].mean(), loss.discriminator(real, fake))
    g_terms = loss.generator(fake, reduction="none")
    torch.testing.assert_close(g_terms.mean(), loss.generator(fake))


def test_per_element_terms_of_the_non_saturating_loss_by_hand():
    from ganforge.core.losses import get_loss

    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0])
    terms = get_loss("non_saturating").discriminator(real, fake, reduction="none")
    expected = [math.log(2), math.log1p(math.exp(-2.0)), math.log1p(math.exp(-1.0))]
    torch.testing.assert_close(terms, torch.tensor(expected))


def test_relativistic_loss_has_no_per_sample_terms():
    from ganforge.core.losses import get_loss

    with pytest.raises(ValueError, match="no per-sample terms"):
        get_loss("relativistic_average").discriminator(torch.zeros(2), torch.zeros(2), "none")


# --- mean feature matching (Salimans et al. 2016) ---


def test_mean_feature_matching_by_hand():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # means 2, 3
    fake = torch.tensor([[0.0, 0.0], [0.0, 2.0], [0.0, 4.0]], requires_grad=True)  # means 0, 2
    loss = mean_feature_matching_loss(real, fake)
    assert float(loss.detach()) == pytest.approx(((2 - 0) ** 2 + (3 - 2) ** 2) / 2)
    loss.backward()
    # d/d fake_ik = -2 (mean_real_k - mean_fake_k) / (K * N_fake)
    torch.testing.assert_close(fake.grad[0], torch.tensor([-2 * 2 / 6, -2 * 1 / 6]))


def test_mean_feature_matching_detaches_real_features():
    real = torch.randn(5, 3, requires_grad=True)
    fake = torch.randn(4, 3, requires_grad=True)
    mean_feature_matching_loss(real, fake).backward()
    assert real.grad is None and fake.grad is not None


def test_mean_feature_matching_rejects_other_shapes():
    with pytest.raises(ValueError, match="feature shapes differ"):
        mean_feature_matching_loss(torch.zeros(2, 3), torch.zeros(2, 4))
