import math

import numpy as np
import pandas as pd
import pytest
import torch
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis import rdp as rdp_analysis

from ganforge.core.training import StepContext
from ganforge.tabular import ColumnSpec, DataTransformer, DPTabularGAN, PoissonBatches, TabularGAN
from ganforge.tabular.model import DPConfig
from ganforge.tabular.privacy import default_delta, rdp_epsilon, split_budget


def small_frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.choice(["u", "v", "w"], n), "c": rng.random(n) > 0.3}
    )


def fit_small(schema=None, **options) -> DPTabularGAN:
    """DP-SGD alone in the accountant (the marginals' release is tested in test_marginals)."""
    options = {"epochs": 2, "batch_size": 50, "hidden": (16,), "noise_dim": 8, **options}
    options.setdefault("marginal_share", 0.0)
    public = {"a": ColumnSpec("continuous", lower=-4.0, upper=4.0), **(schema or {})}
    return DPTabularGAN(schema=public, **options).fit(small_frame())


def test_reported_epsilon_equals_opacus_rdp_for_the_same_steps_sigma_and_q():
    synth = fit_small(epsilon=3.0, statistics_share=0.2)
    p = synth.privacy
    assert p.sample_rate == pytest.approx(50 / 300) and p.steps == math.ceil(2 * 300 / 50)
    accountant = RDPAccountant()
    for _ in range(p.steps):
        accountant.step(noise_multiplier=p.noise_multiplier, sample_rate=p.sample_rate)
    assert p.epsilon_training == pytest.approx(accountant.get_epsilon(p.delta_training), rel=1e-9)
    # the same from the closed-form RDP of the subsampled Gaussian
    orders = RDPAccountant.DEFAULT_ALPHAS
    rdp = rdp_analysis.compute_rdp(
        q=p.sample_rate, noise_multiplier=p.noise_multiplier, steps=p.steps, orders=orders
    )
    eps, _ = rdp_analysis.get_privacy_spent(orders=orders, rdp=rdp, delta=p.delta_training)
    assert p.epsilon_training == pytest.approx(eps, rel=1e-9)
    # everything is covered: statistics (numeric column a, categories of b, frequencies
    # of boolean c for the conditional vector: 0.2 each) + training
    assert p.epsilon == pytest.approx(p.epsilon_statistics + p.epsilon_training)
    assert p.epsilon_statistics == pytest.approx(0.6) and p.delta_statistics > 0
    assert p.epsilon_frequencies == pytest.approx(0.2)
    assert p.epsilon <= 3.0 and p.epsilon > 2.9  # calibrated to use (almost) all of it
    assert p.delta == pytest.approx(default_delta(300)) and p.delta < 1 / 300


def test_training_stops_exactly_at_the_budget_with_a_fixed_noise_multiplier():
    categories = {"b": ColumnSpec("categorical", ["u", "v", "w"])}
    synth = fit_small(categories, epsilon=2.0, noise_multiplier=0.9, epochs=50)
    p = synth.privacy
    planned = math.ceil(50 * 300 / 50)
    assert p.steps < planned
    assert p.epsilon_training <= 2.0 - p.epsilon_statistics
    one_more = rdp_epsilon([(p.noise_multiplier, p.sample_rate, p.steps + 1)], p.delta_training)
    assert one_more > 2.0 - p.epsilon_statistics


def test_discriminator_real_row_gradients_are_clipped_per_sample():
    frame = small_frame()
    transformer = DataTransformer.fit(frame)
    clip = 0.01
    dp = DPConfig(1.0, clip, 0.2, 40, 10.0, 1e-5)
    module = TabularGAN(transformer.spans, 40, noise_dim=8, hidden=(16,), dp=dp)
    optimizers = module.build_optimizers()
    real = torch.from_numpy(transformer.transform(frame))[:30]
    ctx = StepContext(iteration=0, phase="gan", device=torch.device("cpu"))
    out = module.d_step(real, ctx)
    optimizers["D"].zero_grad()
    out["loss"].backward()
    params = [p for p in module.networks["D"].parameters()]
    per_sample = torch.cat([p.grad_sample.flatten(1) for p in params], dim=1)
    assert per_sample.shape[0] == 30 + 40  # one gradient per real row and per fake row
    norms = per_sample.norm(dim=1)
    assert (norms > clip).all()  # so clipping is active
    optimizers["D"].clip_and_accumulate()
    factors = (clip / (norms + 1e-6)).clamp(max=1.0)
    expected = (per_sample * factors[:, None]).sum(0)
    summed = torch.cat([p.summed_grad.flatten() for p in params])
    torch.testing.assert_close(summed, expected, rtol=1e-4, atol=1e-7)
    clipped = per_sample * factors[:, None]
    assert clipped.norm(dim=1).max() <= clip * (1 + 1e-4)


def test_generator_step_leaves_no_per_sample_state_in_the_discriminator():
    transformer = DataTransformer.fit(small_frame())
    dp = DPConfig(1.0, 1.0, 0.2, 20, 10.0, 1e-5)
    module = TabularGAN(transformer.spans, 20, noise_dim=8, hidden=(16,), dp=dp)
    module.build_optimizers()
    ctx = StepContext(iteration=0, phase="gan", device=torch.device("cpu"))
    module.g_step(None, ctx)["loss"].backward()
    for p in module.networks["D"].parameters():
        assert getattr(p, "grad_sample", None) is None and p.grad is None
    assert any(p.grad is not None for p in module.networks["G"].parameters())


def test_poisson_batches_sample_each_row_independently_and_resume():
    rows = torch.arange(10_000).float()[:, None]
    source = PoissonBatches(rows, 0.05, seed=3)
    sizes = [len(source.next_batch()) for _ in range(50)]
    assert abs(np.mean(sizes) - 500) < 15 and np.std(sizes) > 5  # Binomial(10000, 0.05)
    state = source.state_dict()
    expected = source.next_batch()
    again = PoissonBatches(rows, 0.05, seed=3)
    again.load_state_dict(state)
    torch.testing.assert_close(again.next_batch(), expected)


def test_budget_split_and_validation():
    split = split_budget(1.0, 1e-5, 0.1, needs_statistics=True, needs_delta=True)
    assert (split.epsilon_statistics, split.epsilon_training) == pytest.approx((0.1, 0.9))
    assert split.delta_statistics == split.delta_training == pytest.approx(5e-6)
    none = split_budget(1.0, 1e-5, 0.1, needs_statistics=False, needs_delta=False)
    assert none.epsilon_training == 1.0 and none.delta_training == 1e-5
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        split_budget(0.0, 1e-5, 0.1, True, True)
