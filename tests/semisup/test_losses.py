"""The K+1 objective with the fake logit fixed at 0 against the explicit K+1 softmax."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganforge.semisup import (
    class_probabilities,
    discriminator_loss,
    generated_loss,
    real_logit,
    supervised_loss,
    unlabelled_loss,
)


def explicit_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """softmax over K+1 logits, the (K+1)-th written out as a column of zeros."""
    full = torch.cat([logits, torch.zeros(len(logits), 1, dtype=logits.dtype)], 1)
    return torch.exp(full) / torch.exp(full).sum(1, keepdim=True)


@pytest.fixture
def logits() -> torch.Tensor:
    return torch.randn(64, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3


def test_unlabelled_term_is_minus_log_of_one_minus_p_fake(logits):
    p = explicit_probabilities(logits)
    expected = -torch.log(1 - p[:, -1]).mean()  # -log D(x), D = sum of the K real classes
    assert float(unlabelled_loss(logits)) == pytest.approx(float(expected), rel=1e-12)
    assert float(unlabelled_loss(logits)) == pytest.approx(
        float(-torch.log(p[:, :-1].sum(1)).mean())
    )


def test_generated_term_is_minus_log_p_fake(logits):
    p = explicit_probabilities(logits)
    assert float(generated_loss(logits)) == pytest.approx(
        float(-torch.log(p[:, -1]).mean()), rel=1e-12
    )


def test_supervised_term_is_class_given_real(logits):
    p = explicit_probabilities(logits)
    labels = torch.arange(len(logits)) % 10
    conditional = p[torch.arange(len(logits)), labels] / (1 - p[:, -1])
    expected = -torch.log(conditional).mean()
    assert float(supervised_loss(logits, labels)) == pytest.approx(float(expected), rel=1e-12)


def test_discriminator_loss_is_salimans_sum(logits):
    labels = torch.arange(len(logits)) % 10
    total, terms = discriminator_loss(logits, labels, logits * 0.5, logits - 2)
    p_unl, p_gen = explicit_probabilities(logits * 0.5), explicit_probabilities(logits - 2)
    expected = (
        supervised_loss(logits, labels)
        - 0.5 * torch.log(1 - p_unl[:, -1]).mean()
        - 0.5 * torch.log(p_gen[:, -1]).mean()
    )
    assert float(total) == pytest.approx(float(expected), rel=1e-12)
    assert set(terms) == {"supervised", "unlabelled", "generated"}


def test_seed_form_of_the_unlabelled_term_is_not_minus_log_d(logits):
    # the seed's code: -mean(log_softmax(l) - logsumexp(log_softmax(l))) over K+1 logits
    full = torch.cat([logits, torch.zeros(len(logits), 1, dtype=logits.dtype)], 1)
    log_p = F.log_softmax(full, 1)
    seed_form = -(log_p - torch.logsumexp(log_p, 1, keepdim=True)).mean()
    explicit = -torch.log(1 - explicit_probabilities(logits)[:, -1]).mean()
    assert abs(float(seed_form) - float(explicit)) > 0.5
    assert float(unlabelled_loss(logits)) == pytest.approx(float(explicit), rel=1e-12)


def test_stable_for_huge_logits():
    huge = torch.tensor([[300.0, -300.0, 0.0], [-400.0, -500.0, -450.0]], requires_grad=True)
    terms = [
        unlabelled_loss(huge),
        generated_loss(huge),
        supervised_loss(huge, torch.tensor([0, 2])),
    ]
    for term in terms:
        assert torch.isfinite(term)
    # -log D for a confident real image is ~0; for a confident fake one ~ -max logit
    minus_log_d = F.softplus(-real_logit(huge.detach()))
    assert float(minus_log_d[0]) == pytest.approx(0.0, abs=1e-6)
    assert float(minus_log_d[1]) == pytest.approx(400.0, rel=1e-6)
    sum(terms).backward()
    assert torch.isfinite(huge.grad).all()


def test_probabilities_sum_to_one_over_k_plus_one(logits):
    p = class_probabilities(logits)
    assert p.shape == (64, 11)
    torch.testing.assert_close(p.sum(1), torch.ones(64, dtype=torch.float64))
    torch.testing.assert_close(p, explicit_probabilities(logits))
    # D(x) = Z / (Z + 1) = sigmoid(logsumexp)
    torch.testing.assert_close(1 - p[:, -1], torch.sigmoid(real_logit(logits)))
