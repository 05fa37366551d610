import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis import rdp as rdp_analysis

from ganforge.core.training import StepContext, Trainer, TrainerConfig
from ganforge.tabular import ColumnSpec, DataTransformer, DPTabularGAN, PoissonBatches, TabularGAN
from ganforge.tabular.model import DPConfig
from ganforge.tabular.networks import Discriminator
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


def clipping_setup(clip: float):
    """A DP module without dropout (so the step is deterministic) and 30 real rows."""
    frame = small_frame()
    transformer = DataTransformer.fit(frame)
    dp = DPConfig(1.0, clip, 0.2, 40, 10.0, 1e-5)
    module = TabularGAN(transformer.spans, 40, noise_dim=8, hidden=(16,), dp=dp, dropout=0.0)
    optimizers = module.build_optimizers()
    real = torch.from_numpy(transformer.transform(frame))[:30]
    return module, optimizers, real


def d_step_gradient(module: TabularGAN, real: torch.Tensor) -> tuple[dict, torch.Tensor]:
    """The step's outputs and the gradient the trainer's backward of its loss leaves."""
    torch.manual_seed(0)  # the fakes' Gumbel-softmax noise
    ctx = StepContext(iteration=0, phase="gan", device=torch.device("cpu"), seed=1)
    out = module.d_step(real, ctx)
    module.networks["D"].zero_grad(set_to_none=True)
    out["loss"].backward()
    grad = torch.cat([p.grad.flatten() for p in module.networks["D"].parameters()])
    return out, grad


def reference_row_gradients(module: TabularGAN, rows: torch.Tensor, n_real: int) -> torch.Tensor:
    """Each row's gradient of its own loss, one backward per row through a plain copy of D."""
    inner = module.networks["D"]._module
    plain = Discriminator(rows.shape[1], (16,), dropout=0.0)
    plain.load_state_dict(inner.state_dict())
    gradients = []
    for index, row in enumerate(rows):
        score = plain(row[None])
        loss = F.softplus(-score) if index < n_real else F.softplus(score)
        grads = torch.autograd.grad(loss.sum(), list(plain.parameters()))
        gradients.append(torch.cat([g.flatten() for g in grads]))
    return torch.stack(gradients)


def test_discriminator_real_row_gradients_are_clipped_per_sample():
    clip = 0.01
    module, optimizers, real = clipping_setup(clip)
    seen = []
    module.networks["D"].register_forward_hook(lambda _m, inputs, _o: seen.append(inputs[0]))
    out, grad = d_step_gradient(module, real)
    rows = seen[0]
    assert rows.shape[0] == 30 + 40 and out["real_rows"] == 30.0  # real rows, then fakes
    per_row = reference_row_gradients(module, rows, 30)
    norms = per_row.norm(dim=1)
    assert (norms > clip).all()  # so clipping is active for every row
    # Opacus' ghost norms (never materialising a row's gradient) are the true norms
    ghost = module.networks["D"].per_sample_gradient_norms
    torch.testing.assert_close(ghost, norms, rtol=1e-4, atol=1e-7)
    # the gradient handed to the optimizer is the sum of rows clipped to the norm
    factors = (clip / (norms + 1e-6)).clamp(max=1.0)
    torch.testing.assert_close(grad, (per_row * factors[:, None]).sum(0), rtol=1e-4, atol=1e-7)
    assert (per_row * factors[:, None]).norm(dim=1).max() <= clip * (1 + 1e-4)
    # the optimizer adds the noise to exactly that sum and the accountant records one step
    optimizers["D"].step()
    summed = torch.cat([p.summed_grad.flatten() for p in module.networks["D"].parameters()])
    torch.testing.assert_close(summed, grad)
    assert module.privacy_history == [(1.0, 0.2, 1)]


def test_one_real_row_moves_the_discriminator_gradient_by_at_most_the_clipping_norm():
    """Sensitivity, checked end to end: removing one real row (an outlier far outside
    the data included) changes the summed gradient by at most ``max_grad_norm``."""
    clip = 0.05
    module, _, real = clipping_setup(clip)
    real = real.clone()
    real[7] *= 100.0
    _, full = d_step_gradient(module, real)
    for row in (0, 7, 29):
        without = torch.cat([real[:row], real[row + 1 :]])
        _, reduced = d_step_gradient(module, without)  # the same fakes
        change = (full - reduced).norm()
        assert 0 < change <= clip * (1 + 1e-4)
    assert torch.isclose((full - d_step_gradient(module, real[1:])[1]).norm(), torch.tensor(clip))


def test_generator_step_leaves_no_per_sample_state_in_the_discriminator():
    transformer = DataTransformer.fit(small_frame())
    dp = DPConfig(1.0, 1.0, 0.2, 20, 10.0, 1e-5)
    module = TabularGAN(transformer.spans, 20, noise_dim=8, hidden=(16,), dp=dp)
    config = TrainerConfig(iterations=1, batch_size=20, progress=False, tensorboard=False)
    trainer = Trainer(module, config)  # the trainer freezes D for the G step
    g_step = next(s for s in trainer.phases[0].steps if s.name == "G")
    seen = {}

    def keep_gradients(batch, ctx):
        out = g_step.fn(batch, ctx)
        out["loss"].backward(retain_graph=True)
        seen.update({id(p): p.grad is not None for p in module.networks["G"].parameters()})
        return out

    ctx = StepContext(iteration=0, phase="gan", device=torch.device("cpu"))
    trainer._run_step(dataclasses.replace(g_step, fn=keep_gradients), None, ctx)
    for p in module.networks["D"].parameters():
        assert getattr(p, "grad_sample", None) is None and p.grad is None
        assert getattr(p, "_norm_sample", None) is None
    assert any(seen.values())  # the generator got gradients


def test_poisson_batches_sample_each_row_independently_and_resume():
    rows = torch.arange(10_000).float()[:, None]
    source = PoissonBatches(rows, 0.05)
    sizes = [len(source.next_batch()) for _ in range(50)]
    assert abs(np.mean(sizes) - 500) < 15 and np.std(sizes) > 5  # Binomial(10000, 0.05)
    state = source.state_dict()
    expected = source.next_batch()
    again = PoissonBatches(rows, 0.05)  # its own fresh entropy until it takes the state
    again.load_state_dict(state)
    torch.testing.assert_close(again.next_batch(), expected)


def test_poisson_batches_draw_from_fresh_entropy_and_never_rewind():
    rows = torch.arange(2_000).float()[:, None]
    first, second = PoissonBatches(rows, 0.1), PoissonBatches(rows, 0.1)
    assert not torch.equal(first.next_batch(), second.next_batch())
    state = first.state_dict()
    replayed = first.next_batch()
    first.load_state_dict(state)  # an older state: a rollback, not a resume
    assert first.draws == 2 and not torch.equal(first.next_batch(), replayed)


def test_budget_split_and_validation():
    split = split_budget(1.0, 1e-5, 0.1, needs_statistics=True, needs_delta=True)
    assert (split.epsilon_statistics, split.epsilon_training) == pytest.approx((0.1, 0.9))
    assert split.delta_statistics == split.delta_training == pytest.approx(5e-6)
    none = split_budget(1.0, 1e-5, 0.1, needs_statistics=False, needs_delta=False)
    assert none.epsilon_training == 1.0 and none.delta_training == 1e-5
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        split_budget(0.0, 1e-5, 0.1, True, True)
