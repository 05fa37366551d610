"""The policy's reward and the discriminator's loss against hand-computed values."""

import math

import pytest
import torch

from ganforge.imitation import discriminator_loss, normalise, reward_from_logits


def _logit(d: float) -> float:
    return math.log(d / (1 - d))


@pytest.mark.parametrize("d", [0.1, 0.5, 0.9, 0.999])
def test_gail_reward_is_minus_log_one_minus_d(d):
    reward = reward_from_logits(torch.tensor([_logit(d)], dtype=torch.float64), "gail")
    assert reward.item() == pytest.approx(-math.log(1 - d), rel=1e-9)
    assert reward.item() > 0  # always positive: the survival bias


def test_gail_reward_hand_values():
    logits = torch.tensor([_logit(0.5), _logit(0.9), _logit(0.1)], dtype=torch.float64)
    expected = [math.log(2), math.log(10), math.log(10 / 9)]  # 0.693, 2.303, 0.105
    assert reward_from_logits(logits).tolist() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("d", [0.1, 0.5, 0.9])
def test_airl_reward_is_log_d_minus_log_one_minus_d(d):
    reward = reward_from_logits(torch.tensor([_logit(d)], dtype=torch.float64), "airl")
    assert reward.item() == pytest.approx(math.log(d) - math.log(1 - d), abs=1e-12)
    assert (reward.item() > 0) == (d > 0.5)  # either sign


def test_rewards_grow_with_d_and_stay_finite_at_the_extremes():
    logits = torch.tensor([-200.0, -5.0, 0.0, 5.0, 200.0])
    for kind in ("gail", "airl"):
        reward = reward_from_logits(logits, kind)
        assert torch.isfinite(reward).all()
        assert (reward.diff() > 0).all()
    assert reward_from_logits(torch.tensor([200.0])).item() == pytest.approx(200.0)


def test_unknown_reward_kind():
    with pytest.raises(ValueError, match="reward must be one of"):
        reward_from_logits(torch.zeros(1), "wgan")


def test_normalise_standardises_and_maps_a_constant_to_zero():
    r = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    out = normalise(r)
    assert out.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert out.std().item() == pytest.approx(1.0, abs=1e-6)
    assert out[1, 1].item() == pytest.approx((6 - 3) / r.std().item(), rel=1e-6)
    assert torch.equal(normalise(torch.full((3, 2), 0.7)), torch.zeros(3, 2))


def test_discriminator_loss_hand_values():
    # D = 0.5 everywhere: log 2 for each side
    assert discriminator_loss(torch.zeros(4), torch.zeros(4)).item() == pytest.approx(
        2 * math.log(2)
    )
    # expert judged 0.9, policy 0.2: -log 0.9 - log 0.8
    loss = discriminator_loss(torch.tensor([_logit(0.9)]), torch.tensor([_logit(0.2)]))
    assert loss.item() == pytest.approx(-math.log(0.9) - math.log(0.8), rel=1e-6)
