"""Regularizers: analytic values on every input rank, schedules and resumable state."""

import math

import pytest
import torch
from torch import nn

from ganforge.core.regularizers import (
    ADAController,
    DiffAugment,
    HistoryBuffer,
    InstanceNoise,
    LazyInterval,
    LeCam,
    apply_spectral_norm,
    dragan_points,
    gradient_penalty,
    interpolates,
    r1_penalty,
    r2_penalty,
    rand_cutout,
    rand_translation,
    weight_clip,
)

SHAPES = {
    "audio": (4, 2, 16),
    "image": (4, 3, 6, 6),
    "volume": (4, 1, 3, 4, 4),
    "sequence": (4, 8, 3),
    "tabular": (4, 5),
}


class LinearCritic(nn.Module):
    """f(x) = w · flatten(x) + b, so ∇ₓf = w for every sample."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.clone())
        self.bias = nn.Parameter(torch.tensor(0.3))

    def forward(self, x, condition=None):
        out = x.flatten(1) @ self.weight + self.bias
        if condition is not None:
            out = out + condition.float()  # does not depend on x: same gradient
        return out


def numel(shape):
    return math.prod(shape[1:])


# --- gradient penalty ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_gradient_penalty_zero_for_unit_norm_linear_critic(kind):
    shape = SHAPES[kind]
    w = torch.randn(numel(shape))
    critic = LinearCritic(w / w.norm())
    gp = gradient_penalty(critic, torch.randn(shape), torch.randn(shape))
    assert gp.item() == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_gradient_penalty_equals_lambda_norm_minus_one_squared(kind):
    shape = SHAPES[kind]
    w = torch.randn(numel(shape), dtype=torch.float64)
    critic = LinearCritic(w).double()
    expected = 10.0 * (w.norm().item() - 1.0) ** 2
    real, fake = torch.randn(shape).double(), torch.randn(shape).double()
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected, rel=1e-9)
    # zero-centred and DRAGAN variants
    zero = gradient_penalty(critic, real, fake, weight=2.0, center=0.0).item()
    assert zero == pytest.approx(2.0 * w.norm().item() ** 2, rel=1e-9)
    dragan = gradient_penalty(critic, real, None, points="dragan").item()
    assert dragan == pytest.approx(expected, rel=1e-9)


def test_gradient_penalty_uses_all_non_batch_dims_not_dim_one():
    """The seeds' norm(2, dim=1) would give a per-row norm for images; ours is per sample."""
    shape = (2, 1, 4, 4)
    w = torch.full((16,), 0.25)  # ‖w‖ = 1 over all 16 pixels; every row has norm 0.5
    gp = gradient_penalty(LinearCritic(w), torch.randn(shape), torch.randn(shape))
    assert gp.item() == pytest.approx(0.0, abs=1e-8)


def test_gradient_penalty_with_conditional_critic_and_grad_to_parameters():
    w = torch.full((5,), 0.5)  # ‖w‖ = sqrt(1.25)
    critic = LinearCritic(w)
    labels = torch.tensor([0, 1, 2, 3])
    gp = gradient_penalty(critic, torch.randn(4, 5), torch.randn(4, 5), condition=labels)
    assert gp.item() == pytest.approx(10 * (math.sqrt(1.25) - 1) ** 2, rel=1e-5)
    gp.backward()
    # d/dw 10 (‖w‖ - 1)² = 20 (‖w‖ - 1) w / ‖w‖
    expected = 20 * (math.sqrt(1.25) - 1) * 0.5 / math.sqrt(1.25)
    assert critic.weight.grad.tolist() == pytest.approx([expected] * 5, rel=1e-4)


def test_gradient_penalty_sums_multi_scale_outputs():
    w = torch.randn(8)
    critic = lambda x: [x @ w, (x @ w).unsqueeze(1)]  # two scales: gradient 2w
    gp = gradient_penalty(critic, torch.randn(3, 8), torch.randn(3, 8), weight=1.0)
    assert gp.item() == pytest.approx((2 * w.norm().item() - 1) ** 2, rel=1e-5)


def test_gradient_penalty_errors():
    critic = LinearCritic(torch.ones(4))
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(critic, torch.randn(2, 4), torch.randn(3, 4))
    with pytest.raises(ValueError, match="needs a fake batch"):
        gradient_penalty(critic, torch.randn(2, 4), None)
    with pytest.raises(ValueError, match="points must be"):
        gradient_penalty(critic, torch.randn(2, 4), torch.randn(2, 4), points="middle")


def test_interpolates_lie_on_segment_and_dragan_points_near_data():
    real, fake = torch.zeros(64, 3, 2), torch.ones(64, 3, 2)
    x = interpolates(real, fake, torch.Generator().manual_seed(0))
    eps = x[:, 0, 0]
    assert torch.all(x == eps[:, None, None])  # one ε per sample
    assert eps.min() >= 0 and eps.max() <= 1 and eps.std() > 0.1
    data = torch.randn(64, 4)
    near = dragan_points(data, generator=torch.Generator().manual_seed(0))
    bound = 0.5 * data.std(dim=0)
    assert torch.all((near - data) >= 0) and torch.all((near - data) <= bound)


# --- R1 / R2 ------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [3, 5])
def test_r1_matches_quadratic_discriminator(dim):
    torch.manual_seed(dim)
    m = torch.randn(dim, dim, dtype=torch.float64)
    a = m + m.T  # symmetric, so ∇ ½ xᵀAx = Ax
    x = torch.randn(6, dim, dtype=torch.float64, requires_grad=True)
    logits = 0.5 * torch.einsum("bi,ij,bj->b", x, a, x)
    expected = 0.5 * 10.0 * (x.detach() @ a).pow(2).sum(dim=1).mean()
    assert r1_penalty(logits, x, weight=10.0).item() == pytest.approx(expected.item(), rel=1e-10)


def test_r1_on_images_uses_all_dims_and_r2_on_fakes():
    x = torch.randn(3, 2, 4, 4, requires_grad=True)
    logits = (x**2).sum(dim=(1, 2, 3)) * 0.5  # gradient = x
    expected = 0.5 * 4.0 * x.detach().pow(2).flatten(1).sum(1).mean()
    assert r1_penalty(logits, x, 4.0).item() == pytest.approx(expected.item(), rel=1e-5)
    fake = torch.randn(3, 2, 4, 4).requires_grad_(True)
    fake_logits = 3.0 * fake.sum(dim=(1, 2, 3))  # gradient = 3 everywhere
    assert r2_penalty(fake_logits, fake, 1.0).item() == pytest.approx(0.5 * 9 * 32, rel=1e-6)


def test_r1_needs_inputs_with_grad():
    x = torch.randn(2, 3)
    with pytest.raises(ValueError, match="requires_grad_"):
        r1_penalty(x.sum(1), x, 1.0)


def test_lazy_interval():
    lazy = LazyInterval(4)
    assert [s for s in range(10) if lazy.is_due(s)] == [0, 4, 8]
    assert lazy.scale(torch.tensor(2.5)).item() == 10.0
    lr, betas = lazy.adam_hparams(0.002, (0.0, 0.99))
    assert lr == pytest.approx(0.002 * 0.8)
    assert betas == pytest.approx((0.0, 0.99**0.8))
    with pytest.raises(ValueError, match="interval"):
        LazyInterval(0)


# --- weight clipping and spectral norm ------------------------------------------------------


def test_weight_clip_clamps_every_parameter():
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
    for p in net.parameters():
        nn.init.normal_(p, 0, 1)
    weight_clip(net, 0.01)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())
    assert any((p.abs() == 0.01).any() for p in net.parameters())
    with pytest.raises(ValueError, match="positive"):
        weight_clip(net, 0.0)


def _sigma_max(layer: nn.Module) -> float:
    w = layer.weight
    if isinstance(layer, nn.modules.conv._ConvTransposeNd):
        w = w.transpose(0, 1)  # spectral_norm normalises along the output-channel dim 1
    return torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item()


def test_spectral_norm_brings_sigma_max_to_one():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv1d(2, 4, 3),
        nn.Conv2d(4, 6, 3),
        nn.Conv3d(2, 3, 3),
        nn.ConvTranspose2d(4, 5, 4),
        nn.Linear(7, 9),
        nn.BatchNorm1d(9),
    )
    with torch.no_grad():
        for layer in net:
            if hasattr(layer, "weight") and layer.weight.dim() > 1:
                layer.weight.mul_(3.0)
    apply_spectral_norm(net)
    apply_spectral_norm(net)  # idempotent: no double normalisation
    inputs = [
        torch.randn(1, 2, 8),
        torch.randn(1, 4, 5, 5),
        torch.randn(1, 2, 5, 5, 5),
        torch.randn(1, 4, 3, 3),
        torch.randn(1, 7),
    ]
    net.train()
    for _ in range(60):
        for layer, x in zip(net[:5], inputs, strict=True):
            layer(x)
    for layer in net[:5]:
        assert len(layer.parametrizations.weight) == 1
        assert _sigma_max(layer) == pytest.approx(1.0, abs=1e-3)
    assert not hasattr(net[5], "parametrizations")


# --- instance noise -----------------------------------------------------------------------------


def test_instance_noise_anneals_linearly_and_resumes():
    noise = InstanceNoise(std=0.4, anneal_steps=4)
    assert [noise.std_at(s) for s in range(6)] == pytest.approx([0.4, 0.3, 0.2, 0.1, 0.0, 0.0])
    x = torch.zeros(2000, 3)
    assert noise(x).std().item() == pytest.approx(0.4, rel=0.05)
    noise.step()
    noise.step()
    restored = InstanceNoise(std=1.0, anneal_steps=1)
    restored.load_state_dict(noise.state_dict())
    assert restored.current_std == pytest.approx(0.2)
    for _ in range(2):
        restored.step()
    assert torch.equal(restored(x), x)
    with pytest.raises(ValueError):
        InstanceNoise(std=-1.0, anneal_steps=2)


def test_instance_noise_uses_passed_generator():
    noise = InstanceNoise(std=1.0, anneal_steps=10)
    x = torch.zeros(4, 2)
    a = noise(x, torch.Generator().manual_seed(3))
    b = noise(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.abs().sum() > 0


# --- DiffAugment -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "channel_dim"),
    [((3, 2, 32), 1), ((3, 16, 4), -1), ((3, 3, 8, 8), 1), ((3, 2, 4, 8, 8), 1)],
)
def test_diffaugment_keeps_shape_and_is_differentiable(shape, channel_dim):
    aug = DiffAugment(channel_dim=channel_dim)
    x = torch.randn(shape, requires_grad=True)
    y = aug(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    assert not torch.equal(y, x)
    y.pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_diffaugment_same_generator_same_augmentation_for_real_and_fake_calls():
    aug = DiffAugment("color,translation,cutout")
    x = torch.randn(2, 3, 8, 8)
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_translation_shifts_with_zero_fill_and_cutout_masks_a_box():
    x = torch.arange(1.0, 9.0).view(1, 1, 8)
    g = torch.Generator().manual_seed(0)
    shifted = rand_translation(x, ratio=0.25, generator=g)
    values = shifted.flatten()
    shift_candidates = [
        torch.cat(
            [
                torch.zeros(max(-s, 0)),
                x.flatten()[max(s, 0) : 8 + min(s, 0)],
                torch.zeros(max(s, 0)),
            ]
        )
        for s in range(-2, 3)
    ]
    assert any(torch.equal(values, c) for c in shift_candidates)
    img = torch.ones(4, 2, 8, 8)
    cut = rand_cutout(img, ratio=0.5, generator=g)
    zeros = (cut == 0).flatten(2).sum(2)
    assert torch.all(zeros[:, 0] == zeros[:, 1])  # same box on every channel
    assert torch.all(zeros[:, 0] <= 16) and torch.all(zeros[:, 0] >= 4)


def test_diffaugment_probability_and_errors():
    x = torch.randn(400, 1, 8)
    assert torch.equal(DiffAugment()(x, p=0.0), x)
    y = DiffAugment("cutout")(x, torch.Generator().manual_seed(1), p=0.5)
    changed = (y != x).flatten(1).any(1).float().mean().item()
    assert 0.35 < changed < 0.65
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        DiffAugment("rotate")
    with pytest.raises(ValueError, match="needs a time or spatial axis"):
        DiffAugment()(torch.randn(4, 5))


# --- ADA ---------------------------------------------------------------------------------------


def test_ada_p_rises_when_discriminator_overfits_and_falls_otherwise():
    ada = ADAController(target=0.6, adjust_speed_imgs=1000, batch_size=10, update_every=4)
    assert ada.step_size == pytest.approx(0.04)
    overfit = torch.full((10,), 3.0)  # sign(D_real) = 1 > 0.6
    for _ in range(8):
        ada.observe(overfit)
    assert ada.p == pytest.approx(0.08)
    assert ada.last_rt == pytest.approx(1.0)
    healthy = torch.tensor([1.0, -1.0] * 5)  # r_t = 0 < 0.6
    for _ in range(4):
        ada.observe(healthy)
    assert ada.p == pytest.approx(0.04)
    for _ in range(40):
        ada.observe(healthy)
    assert ada.p == 0.0


def test_ada_state_dict_resumes_mid_interval():
    a = ADAController(batch_size=8, adjust_speed_imgs=64, update_every=2)
    b = ADAController(batch_size=8, adjust_speed_imgs=64, update_every=2)
    logits = torch.ones(8)
    a.observe(logits)
    b.load_state_dict(a.state_dict())
    assert a.observe(logits) == b.observe(logits) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="target"):
        ADAController(target=1.5, batch_size=8)


# --- LeCam -------------------------------------------------------------------------------------


def test_lecam_by_hand_and_ema():
    lecam = LeCam(decay=0.5)
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 1.0])
    # first call: anchors = batch means α_R = 2, α_F = 0
    value = lecam(real, fake)
    by_hand = ((1 - 0) ** 2 + (3 - 0) ** 2) / 2 + ((2 - (-1)) ** 2 + max(2 - 1, 0) ** 2) / 2
    assert value.item() == pytest.approx(by_hand)
    real2, fake2 = torch.tensor([0.0, -2.0]), torch.tensor([2.0, 4.0])
    value2 = lecam(real2, fake2)
    a_r, a_f = 0.5 * 2 + 0.5 * (-1), 0.5 * 0 + 0.5 * 3  # 0.5, 1.5
    assert lecam.anchor_real.item() == pytest.approx(a_r)
    assert lecam.anchor_fake.item() == pytest.approx(a_f)
    # relu: real scores below α_F and fake scores above α_R cost nothing
    assert value2.item() == pytest.approx(0.0)


def test_lecam_state_dict_and_errors():
    lecam = LeCam(decay=0.9, weight=0.3)
    with pytest.raises(ValueError, match="not initialised"):
        lecam.penalty(torch.ones(2), torch.ones(2))
    lecam([torch.ones(2), torch.zeros(3)], [torch.zeros(2), torch.ones(3)])
    copy = LeCam()
    copy.load_state_dict(lecam.state_dict())
    r, f = [torch.randn(2), torch.randn(3)], [torch.randn(2), torch.randn(3)]
    assert copy(r, f).item() == pytest.approx(lecam(r, f).item())
    with pytest.raises(ValueError, match="scales"):
        lecam(torch.ones(2), torch.ones(2))


# --- history buffer ------------------------------------------------------------------------------


def test_history_buffer_fills_then_mixes_half_from_history():
    buffer = HistoryBuffer(size=4)
    first = torch.arange(4.0).view(4, 1)
    assert torch.equal(buffer.query(first), first)  # filling: returned unchanged
    current = torch.arange(10.0, 14.0).view(4, 1)
    mixed = buffer.query(current, torch.Generator().manual_seed(0))
    assert mixed.shape == current.shape
    assert torch.equal(mixed[:2], current[:2])
    history = set(mixed[2:].flatten().tolist())
    assert len(history) == 2 and history <= {0.0, 1.0, 2.0, 3.0}
    stored = set(buffer.buffer.flatten().tolist())
    assert stored == ({0.0, 1.0, 2.0, 3.0} - history) | {12.0, 13.0}


def test_history_buffer_state_dict_resumes_and_validates():
    a = HistoryBuffer(size=3)
    a.query(torch.randn(2, 2, 5))
    b = HistoryBuffer(size=1)
    b.load_state_dict(a.state_dict())
    assert b.size == 3 and b.count == 2
    batch = torch.randn(4, 2, 5)
    a.query(batch)
    b.query(batch)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    nxt = torch.randn(4, 2, 5)
    assert torch.equal(a.query(nxt, g1), b.query(nxt, g2))
    with pytest.raises(ValueError, match="sample shape"):
        a.query(torch.randn(4, 3))
