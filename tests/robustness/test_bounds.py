"""The L-infinity bound holds exactly for every output, whatever the generator's weights."""

import pytest
import torch

from ganforge.robustness import PerturbationGenerator, SmallCNN, fgsm, pgd


def _within(x_adv, x, eps, low=0.0, high=1.0):
    delta = (x_adv.double() - x.double()).abs()  # exact: no rounding in the check
    return bool(delta.max() <= eps) and bool(x_adv.min() >= low) and bool(x_adv.max() <= high)


@pytest.mark.parametrize("eps", [0.3, 0.1, 8 / 255, 1e-3])
@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_generator_output_never_leaves_the_ball(eps, scale):
    torch.manual_seed(0)
    generator = PerturbationGenerator(3, eps, width=4, blocks=1)
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.mul_(scale)  # saturate tanh: the bound must hold by construction
    x = torch.rand(16, 3, 10, 10)
    x[:4] = torch.where(x[:4] > 0.5, 1.0, 0.0)  # pixels at the range's edges
    with torch.no_grad():
        delta = generator(x)
        x_adv = generator.perturb(x)
    assert delta.shape == x.shape
    assert float(delta.abs().max()) <= eps
    assert _within(x_adv, x, eps)
    if scale > 1:  # saturated: the generator uses the whole ball
        assert float(delta.abs().max()) > eps * 0.999


def test_generator_keeps_a_declared_range():
    generator = PerturbationGenerator(1, 0.5, width=4, blocks=1, low=-1.0, high=1.0)
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    with torch.no_grad():
        assert _within(generator.perturb(x), x, 0.5, -1.0, 1.0)


@pytest.mark.parametrize("attack", [fgsm, pgd])
def test_gradient_attacks_stay_in_the_ball(attack):
    torch.manual_seed(0)
    model = SmallCNN(1, 8, 3, width=4, hidden=8)
    x = torch.rand(20, 1, 8, 8)
    x[:5] = 1.0
    y = torch.randint(0, 3, (20,))
    x_adv = attack(model, x, y, 0.3) if attack is fgsm else attack(model, x, y, 0.3, steps=5)
    assert _within(x_adv, x, 0.3)
    assert float((x_adv - x).abs().max()) > 0.25


@pytest.mark.parametrize("eps", [0, -0.1, float("nan")])
def test_a_nonpositive_epsilon_is_a_one_line_error(eps):
    model = SmallCNN(1, 8, 3, width=4, hidden=8)
    with pytest.raises(ValueError, match="epsilon") as error:
        pgd(model, torch.rand(2, 1, 8, 8), torch.zeros(2, dtype=torch.long), eps)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError):
        PerturbationGenerator(1, 0.0)
