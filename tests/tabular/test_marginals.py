import numpy as np
import pandas as pd
import pytest
import torch
from opacus.accountants import RDPAccountant

from ganforge.tabular import ColumnSpec, DPTabularGAN
from ganforge.tabular.marginals import PairwiseMarginals
from ganforge.tabular.privacy import gaussian_noise_multiplier, rdp_epsilon

# encoded rows: [scalar, a0, a1, b0, b1, b2]
ENCODED = np.array(
    [[0.1, 1, 0, 1, 0, 0], [0.2, 1, 0, 0, 1, 0], [0.3, 0, 1, 0, 1, 0], [0.4, 0, 1, 0, 1, 0]],
    dtype=np.float32,
)
LAYOUT = [("a", 1, 2), ("b", 3, 3)]


def test_exact_tables_are_the_normalised_cross_tabulation():
    pairs = PairwiseMarginals.fit(ENCODED, LAYOUT, None, np.random.default_rng(0))
    expected = np.array([[1, 1, 0], [0, 2, 0]]) / 4
    torch.testing.assert_close(pairs.target[:2, 2:], torch.tensor(expected, dtype=torch.float32))
    assert pairs.mask.sum() == 6 and pairs.pairs == 1


def test_noisy_tables_add_gaussian_noise_scaled_by_the_l2_sensitivity():
    # 4000 copies of the four rows: cross-table of a x b = 1000 * [[1, 1, 0], [0, 2, 0]]
    encoded = np.repeat(ENCODED, 1000, axis=0)
    three = [("a", 1, 2), ("b", 3, 3), ("c", 1, 2)]  # 3 pairs: L2 sensitivity sqrt(3)
    fits = [PairwiseMarginals.fit(encoded, three, 2.0) for _ in range(1000)]
    cells = np.array([f.target[:2, 2:5].numpy().ravel() for f in fits])
    counts = 1000 * np.array([1.0, 1, 0, 0, 2, 0])
    # the mechanism by hand: each cell + N(0, (2 sqrt 3)^2), clipped at 0, normalised
    rng = np.random.default_rng(0)
    by_hand = np.clip(counts + rng.normal(0, 2.0 * np.sqrt(3), (20_000, 6)), 0, None)
    by_hand /= by_hand.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(cells.mean(0), by_hand.mean(0), atol=2e-4)
    np.testing.assert_allclose(cells.std(0), by_hand.std(0), rtol=0.15, atol=1e-4)
    assert cells[:, 1].std() > 5e-4  # noise is there, fresh in every fit


def test_loss_is_the_kl_between_target_and_the_batch_expected_table():
    pairs = PairwiseMarginals.fit(ENCODED, LAYOUT, None, np.random.default_rng(0))
    logits = torch.zeros(2, 6)
    logits[0, 1:3] = torch.log(torch.tensor([0.5, 0.5]))
    logits[1, 1:3] = torch.log(torch.tensor([0.25, 0.75]))
    # b uniform for both rows: expected table = mean_i outer(p_a(i), 1/3)
    model = np.outer([0.375, 0.625], [1 / 3] * 3)
    target = np.array([[1, 1, 0], [0, 2, 0]]) / 4
    kl = sum(t * np.log(t / m) for t, m in zip(target.ravel(), model.ravel(), strict=True) if t > 0)
    assert float(pairs.loss(logits)) == pytest.approx(kl, rel=1e-5)
    # a generator that reproduces the table exactly has zero loss
    exact = torch.full((4, 6), -30.0)
    exact[torch.arange(4)[:, None], torch.tensor([[1, 3], [1, 4], [2, 4], [2, 4]])] = 0.0
    assert float(pairs.loss(exact)) == pytest.approx(0.0, abs=1e-6)


def test_gaussian_noise_multiplier_matches_the_rdp_of_one_gaussian_release():
    sigma = gaussian_noise_multiplier(0.5, 1e-5)
    assert rdp_epsilon([(sigma, 1.0, 1)], 1e-5) <= 0.5
    assert rdp_epsilon([(sigma * 0.99, 1.0, 1)], 1e-5) > 0.5


def test_released_marginals_share_the_training_budget_in_one_accountant():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"b": rng.choice(["u", "v"], 300), "c": rng.random(300) > 0.4})
    synth = DPTabularGAN(
        epsilon=2.0,
        epochs=2,
        batch_size=50,
        hidden=(16,),
        noise_dim=8,
        marginal_share=0.4,
        schema={"b": ColumnSpec("categorical", ["u", "v"])},
    ).fit(frame)
    p = synth.privacy
    sigma_pairs = p.marginals_noise_multiplier
    assert sigma_pairs == pytest.approx(gaussian_noise_multiplier(0.4 * 1.8, p.delta_training))
    accountant = RDPAccountant()
    accountant.step(noise_multiplier=sigma_pairs, sample_rate=1.0)
    for _ in range(p.steps):
        accountant.step(noise_multiplier=p.noise_multiplier, sample_rate=p.sample_rate)
    assert p.epsilon_training == pytest.approx(accountant.get_epsilon(p.delta_training))
    assert p.epsilon_training <= 1.8 + 1e-9 and p.epsilon <= 2.0 + 1e-9
    assert p.epsilon == pytest.approx(p.epsilon_statistics + p.epsilon_training)
    plain = DPTabularGAN(
        epsilon=2.0,
        epochs=2,
        batch_size=50,
        hidden=(16,),
        noise_dim=8,
        marginal_share=0.0,
        schema=synth.schema,
    ).fit(frame)
    assert plain.privacy.noise_multiplier < p.noise_multiplier  # DP-SGD pays for the release
    assert plain.privacy.marginals_noise_multiplier is None


def test_the_guarantee_names_the_marginals_release():
    from ganforge.tabular import PrivacyReport

    base = (1.0, 1e-5, 0.1, 0.0, 0.9, 1e-5, 7.0, 1.0, 0.05, 523, "rdp")
    with_pairs = PrivacyReport(*base, marginals_noise_multiplier=5.2).describe()
    assert "two-way marginals (sigma=5.2) in the same accountant" in with_pairs
    assert "marginals" not in PrivacyReport(*base).describe()
