"""The C&W margin and the hinge against hand-computed values."""

import torch

from ganforge.robustness import cw_margin, cw_margin_loss, perturbation_hinge

LOGITS = torch.tensor([[2.0, 5.0, 1.0], [0.5, -1.0, 3.0], [4.0, 4.5, -2.0]])


def test_untargeted_margin_is_own_minus_best_other_clamped_at_minus_kappa():
    labels = torch.tensor([1, 2, 0])
    # row 0: 5 - 2 = 3; row 1: 3 - 0.5 = 2.5; row 2: 4 - 4.5 = -0.5
    torch.testing.assert_close(cw_margin(LOGITS, labels), torch.tensor([3.0, 2.5, 0.0]))
    torch.testing.assert_close(cw_margin(LOGITS, labels, kappa=1.0), torch.tensor([3.0, 2.5, -0.5]))
    torch.testing.assert_close(cw_margin_loss(LOGITS, labels, kappa=1.0), torch.tensor(5.0 / 3))


def test_targeted_margin_is_best_other_minus_target():
    target = torch.tensor([0, 0, 0])
    # row 0: 5 - 2 = 3; row 1: 3 - 0.5 = 2.5; row 2: 4.5 - 4 = 0.5
    torch.testing.assert_close(
        cw_margin(LOGITS, target, kappa=10.0, targeted=True), torch.tensor([3.0, 2.5, 0.5])
    )
    reached = torch.tensor([[9.0, 1.0, 2.0]])  # the target class leads by 7
    torch.testing.assert_close(
        cw_margin(reached, torch.tensor([0]), kappa=2.0, targeted=True), torch.tensor([-2.0])
    )


def test_margin_gradient_reaches_only_the_two_logits_involved():
    logits = LOGITS.clone().requires_grad_(True)
    cw_margin_loss(logits, torch.tensor([1, 2, 0]), kappa=5.0).backward()
    expected = torch.tensor([[-1.0, 1.0, 0.0], [-1.0, 0.0, 1.0], [1.0, -1.0, 0.0]]) / 3
    torch.testing.assert_close(logits.grad, expected)


def test_hinge_is_the_mean_l2_excess_over_the_bound():
    delta = torch.zeros(2, 1, 2, 2)
    delta[0, 0, 0, 0], delta[0, 0, 1, 1] = 3.0, 4.0  # norm 5
    delta[1, 0, 0, 1] = 1.0  # norm 1
    torch.testing.assert_close(perturbation_hinge(delta, 2.0), torch.tensor(1.5))
    torch.testing.assert_close(perturbation_hinge(delta, 6.0), torch.tensor(0.0))
