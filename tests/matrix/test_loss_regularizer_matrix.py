"""Every adversarial loss x every regularizer x every discriminator input shape.

One discriminator step and one generator step on tiny networks: the losses must be
finite and gradients must reach the discriminator's and the generator's parameters.
Then, on the same output shapes, values against hand computation: every loss,
the gradient penalties, R1 / R2, LeCam, weight clipping and the instance-noise schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from ganforge.core.losses import LOSSES, get_loss
from ganforge.core.regularizers import (
    ADAController,
    DiffAugment,
    HistoryBuffer,
    InstanceNoise,
    LeCam,
    apply_spectral_norm,
    gradient_penalty,
    r1_penalty,
    r2_penalty,
    weight_clip,
)

BATCH, LATENT = 4, 6
SHAPES = {
    "audio": (2, 32),  # (B, C, T)
    "image": (3, 8, 8),  # (B, C, H, W)
    "volume": (1, 4, 6, 6),  # (B, C, D, H, W)
    "sequence": (10, 3),  # (B, T, F)
    "tabular": (5,),  # (B, F)
}


class SequenceCritic(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.gru = nn.GRU(features, 8, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out)  # one score per time step


def make_discriminator(kind: str) -> nn.Module:
    shape = SHAPES[kind]
    if kind == "audio":  # multi-scale: two score maps
        return MultiScale(nn.Conv1d(shape[0], 4, 5, stride=2), nn.Conv1d(shape[0], 4, 9, stride=4))
    if kind == "image":  # PatchGAN-style score map
        return nn.Sequential(nn.Conv2d(shape[0], 4, 3), nn.LeakyReLU(0.2), nn.Conv2d(4, 1, 3))
    if kind == "volume":
        return nn.Sequential(
            nn.Conv3d(shape[0], 2, 3), nn.LeakyReLU(0.2), nn.Flatten(), nn.LazyLinear(1)
        )
    if kind == "sequence":
        return SequenceCritic(shape[-1])
    return nn.Sequential(nn.Linear(shape[0], 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))


class MultiScale(nn.Module):
    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return [branch(torch.tanh(x)) for branch in self.branches]


class Generator(nn.Module):
    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape
        self.net = nn.Linear(LATENT, math.prod(shape))

    def forward(self, z):
        return self.net(z).view(z.shape[0], *self.shape)


@dataclass
class Regularizer:
    """Hooks of one regularizer in a GAN step; defaults do nothing."""

    name: str

    def prepare(self, d: nn.Module) -> None:
        """Change the discriminator before training (none by default)."""

    def d_inputs(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        return x

    def d_fakes(self, fake: torch.Tensor) -> torch.Tensor:
        return fake

    def penalty(self, d, real, fake, real_out, fake_out) -> torch.Tensor | float:
        return 0.0

    def after_d_step(self, d: nn.Module) -> None:
        """Act on the discriminator after its step (nothing by default)."""


class GradientPenalty(Regularizer):
    def __init__(self, name: str, **options) -> None:
        super().__init__(name)
        self.options = options

    def penalty(self, d, real, fake, real_out, fake_out):
        return gradient_penalty(d, real, fake, **self.options)


class R1(Regularizer):
    def d_inputs(self, x, kind):
        return x.requires_grad_(True)

    def penalty(self, d, real, fake, real_out, fake_out):
        return r1_penalty(real_out, real, 1.0) + r2_penalty(fake_out, fake, 1.0)


class SpectralNorm(Regularizer):
    def prepare(self, d):
        apply_spectral_norm(d)


class WeightClip(Regularizer):
    def after_d_step(self, d):
        weight_clip(d, 0.01)


class Noise(Regularizer):
    def __init__(self) -> None:
        super().__init__("instance_noise")
        self.noise = InstanceNoise(std=0.1, anneal_steps=10)

    def d_inputs(self, x, kind):
        return self.noise(x)


class Augment(Regularizer):
    def __init__(self, name: str, ada: bool = False) -> None:
        super().__init__(name)
        self.ada = ADAController(batch_size=BATCH, adjust_speed_imgs=16, update_every=1)
        self.use_ada = ada

    def d_inputs(self, x, kind):
        augment = DiffAugment(channel_dim=-1 if kind == "sequence" else 1)
        if not self.use_ada:
            return augment(x)
        return augment(x, p=max(self.ada.p, 0.5))

    def penalty(self, d, real, fake, real_out, fake_out):
        if self.use_ada:
            self.ada.observe(real_out)
        return 0.0


class LeCamReg(Regularizer):
    def __init__(self) -> None:
        super().__init__("lecam")
        self.lecam = LeCam(decay=0.9, weight=0.3)

    def penalty(self, d, real, fake, real_out, fake_out):
        return self.lecam(real_out, fake_out)


class History(Regularizer):
    def __init__(self) -> None:
        super().__init__("history_buffer")
        self.buffer = HistoryBuffer(size=BATCH)
        self.filled = False

    def d_fakes(self, fake):
        if not self.filled:  # fill once so the step below mixes history in
            self.buffer.query(torch.randn_like(fake))
            self.filled = True
        return self.buffer.query(fake)


REGULARIZERS = {
    "none": lambda: Regularizer("none"),
    "wgan_gp": lambda: GradientPenalty("wgan_gp"),
    "zero_centred_gp": lambda: GradientPenalty("zero_centred_gp", center=0.0, weight=1.0),
    "dragan": lambda: GradientPenalty("dragan", points="dragan"),
    "r1_r2": lambda: R1("r1_r2"),
    "spectral_norm": lambda: SpectralNorm("spectral_norm"),
    "weight_clip": lambda: WeightClip("weight_clip"),
    "instance_noise": Noise,
    "diffaugment": lambda: Augment("diffaugment"),
    "ada": lambda: Augment("ada", ada=True),
    "lecam": LeCamReg,
    "history_buffer": History,
}
AUGMENTING = {"diffaugment", "ada"}


def _grads_flow(module: nn.Module) -> bool:
    grads = [p.grad for p in module.parameters() if p.requires_grad]
    return (
        all(g is not None and torch.isfinite(g).all() for g in grads)
        and sum(g.abs().sum().item() for g in grads) > 0
    )


def _run_steps(loss_name: str, reg: Regularizer, kind: str) -> None:
    torch.manual_seed(0)
    shape = SHAPES[kind]
    d, g = make_discriminator(kind), Generator(shape)
    d(torch.randn(BATCH, *shape))  # materialise lazy layers
    reg.prepare(d)
    loss = get_loss(loss_name)
    real = torch.randn(BATCH, *shape)

    # discriminator step
    fake = reg.d_fakes(g(torch.randn(BATCH, LATENT)).detach())
    real_in, fake_in = reg.d_inputs(real.clone(), kind), reg.d_inputs(fake, kind)
    real_out, fake_out = d(real_in), d(fake_in)
    d_loss = loss.discriminator(real_out, fake_out) + reg.penalty(
        d, real_in, fake_in, real_out, fake_out
    )
    assert d_loss.dim() == 0 and torch.isfinite(d_loss)
    d_loss.backward()
    assert _grads_flow(d), f"no finite discriminator gradient for {loss_name} + {reg.name}"
    reg.after_d_step(d)

    # generator step
    d.zero_grad()
    fake = g(torch.randn(BATCH, LATENT))
    g_loss = loss.generator(d(reg.d_inputs(fake, kind)), d(reg.d_inputs(real.clone(), kind)))
    assert g_loss.dim() == 0 and torch.isfinite(g_loss)
    g_loss.backward()
    assert _grads_flow(g), f"no finite generator gradient for {loss_name} + {reg.name}"


@pytest.mark.parametrize("kind", sorted(SHAPES))
@pytest.mark.parametrize("reg_name", sorted(REGULARIZERS))
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_loss_regularizer_shape(loss_name, reg_name, kind):
    reg = REGULARIZERS[reg_name]()
    if reg_name in AUGMENTING and kind == "tabular":
        with pytest.raises(ValueError, match="needs a time or spatial axis"):
            _run_steps(loss_name, reg, kind)
        return
    _run_steps(loss_name, reg, kind)


# --- values against hand computation ----------------------------------------------------------
#
# The matrix above checks that every combination trains. The tests below check the numbers on
# the outputs of each discriminator above (two score maps for audio, a patch map for images,
# one score per time step for sequences...): every formula is written out again with numpy
# in float64, not taken from ganforge, and compared with what ganforge computes.

SMOOTHABLE = {"minimax", "non_saturating", "relativistic_average"}


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _bce(logits: np.ndarray, target: float) -> np.ndarray:
    """-t log σ(l) - (1 - t) log(1 - σ(l)), element by element."""
    p = _sigmoid(logits)
    return -(target * np.log(p) + (1.0 - target) * np.log(1.0 - p))


def _hand_d_loss(name: str, r: np.ndarray, f: np.ndarray, label: float) -> float:
    """The discriminator loss of one scale, from the formulas in the literature."""
    if name in ("minimax", "non_saturating"):  # -E log D(x) - E log(1 - D(G(z)))
        return _bce(r, label).mean() + _bce(f, 0.0).mean()
    if name == "least_squares":  # ½E (D(x) - 1)² + ½E D(G(z))²
        return 0.5 * ((r - 1.0) ** 2).mean() + 0.5 * (f**2).mean()
    if name == "hinge":  # E max(0, 1 - D(x)) + E max(0, 1 + D(G(z)))
        return np.maximum(0.0, 1.0 - r).mean() + np.maximum(0.0, 1.0 + f).mean()
    if name == "wasserstein":  # E C(G(z)) - E C(x)
        return f.mean() - r.mean()
    # relativistic average: real should look more real than the average fake, and back
    return _bce(r - f.mean(), label).mean() + _bce(f - r.mean(), 0.0).mean()


def _hand_g_loss(name: str, f: np.ndarray, r: np.ndarray) -> float:
    """The generator loss of one scale."""
    if name == "minimax":  # E log(1 - D(G(z)))
        return np.log(1.0 - _sigmoid(f)).mean()
    if name == "non_saturating":  # -E log D(G(z))
        return -np.log(_sigmoid(f)).mean()
    if name == "least_squares":  # ½E (D(G(z)) - 1)²
        return 0.5 * ((f - 1.0) ** 2).mean()
    if name in ("hinge", "wasserstein"):  # -E D(G(z))
        return -f.mean()
    return _bce(f - r.mean(), 1.0).mean() + _bce(r - f.mean(), 0.0).mean()


def _numpy_scales(scores: torch.Tensor | list[torch.Tensor]) -> list[np.ndarray]:
    items = scores if isinstance(scores, list) else [scores]
    return [item.detach().double().numpy() for item in items]


def _double_discriminator(kind: str) -> nn.Module:
    torch.manual_seed(1)
    d = make_discriminator(kind)
    d(torch.randn(BATCH, *SHAPES[kind]))  # materialise lazy layers
    return d.double()


def _score_pair(kind: str) -> tuple[Any, Any]:
    """The discriminator's outputs on a real and a fake batch, spread (x4, ±0.5) so that
    scores fall on both sides of the hinge's margins and of zero."""
    d = _double_discriminator(kind)
    source = torch.Generator().manual_seed(2)
    real = torch.randn(BATCH, *SHAPES[kind], generator=source, dtype=torch.float64)
    fake = torch.randn(BATCH, *SHAPES[kind], generator=source, dtype=torch.float64)
    with torch.no_grad():
        return _spread(d(real), 0.5), _spread(d(fake), -0.5)


def _spread(scores: Any, shift: float) -> Any:
    if isinstance(scores, list):
        return [4.0 * item + shift for item in scores]
    return 4.0 * scores + shift


@pytest.mark.parametrize("kind", sorted(SHAPES))
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_loss_values_by_hand_on_each_discriminator_output(loss_name, kind):
    """Mean over every score of a map, sum over scales, label smoothing on real targets."""
    real_out, fake_out = _score_pair(kind)
    reals, fakes = _numpy_scales(real_out), _numpy_scales(fake_out)
    assert len(reals) == (2 if kind == "audio" else 1)
    for label in (1.0, 0.9) if loss_name in SMOOTHABLE else (1.0,):
        loss = get_loss(loss_name, real_label=label)
        pairs = list(zip(reals, fakes, strict=True))
        d_by_hand = sum(_hand_d_loss(loss_name, r, f, label) for r, f in pairs)
        g_by_hand = sum(_hand_g_loss(loss_name, f, r) for r, f in pairs)
        d_value = loss.discriminator(real_out, fake_out).item()
        assert d_value == pytest.approx(d_by_hand, rel=1e-9, abs=1e-12)
        g_value = loss.generator(fake_out, real_out).item()
        assert g_value == pytest.approx(g_by_hand, rel=1e-9, abs=1e-12)


# Output shapes (after the batch) of each kind's discriminator, one entry per scale.
OUTPUTS = {
    "audio": [(1, 5), (1, 3)],  # two score maps over time
    "image": [(1, 2, 2)],  # a patch map
    "volume": [(1,)],
    "sequence": [(10, 1)],  # one score per time step
    "tabular": [(1,)],
}


class LinearCritic(nn.Module):
    """Linear scores with the output structure of a kind's discriminator.

    Scale s scores ``x.flatten(1) @ W_s`` (one column of ``W_s`` per output element), so the
    gradient of the summed scores with respect to each sample is ``g = Σ_s W_s.sum(1)``,
    whatever the sample: ‖∇D‖ = ‖g‖ everywhere.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        source = torch.Generator().manual_seed(3)
        features = math.prod(SHAPES[kind])
        self.outputs = OUTPUTS[kind]
        self.weights = nn.ParameterList(
            nn.Parameter(
                0.3 * torch.randn(features, math.prod(out), generator=source, dtype=torch.float64)
            )
            for out in self.outputs
        )

    def forward(self, x):
        scores = [
            (x.flatten(1) @ w).view(x.shape[0], *out)
            for w, out in zip(self.weights, self.outputs, strict=True)
        ]
        return scores if len(scores) > 1 else scores[0]

    def input_gradient(self) -> np.ndarray:
        """g = Σ_s W_s.sum(1), from the weights as numpy arrays."""
        return sum(w.detach().numpy().sum(axis=1) for w in self.weights)


def _batches(kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    source = torch.Generator().manual_seed(4)
    shape = (BATCH, *SHAPES[kind])
    real = torch.randn(shape, generator=source, dtype=torch.float64)
    return real, torch.randn(shape, generator=source, dtype=torch.float64)


def _ganforge_penalty(name: str, critic: LinearCritic, real, fake) -> torch.Tensor:
    if name == "wgan_gp":
        return gradient_penalty(critic, real, fake, 10.0)
    if name == "zero_centred_gp":
        return gradient_penalty(critic, real, fake, 2.0, center=0.0)
    if name == "dragan":
        return gradient_penalty(critic, real, None, 10.0, points="dragan")
    inputs = (real if name == "r1" else fake).clone().requires_grad_(True)
    penalty = r1_penalty if name == "r1" else r2_penalty
    return penalty(critic(inputs), inputs, 10.0)


def _hand_penalty(name: str, norm: float) -> float:
    """The penalty of a critic whose input gradient has norm ``norm`` at every point."""
    if name in ("wgan_gp", "dragan"):  # λ (‖∇D‖ - 1)², λ = 10
        return 10.0 * (norm - 1.0) ** 2
    if name == "zero_centred_gp":  # λ ‖∇D‖², λ = 2
        return 2.0 * norm**2
    return 10.0 / 2.0 * norm**2  # R1 / R2: γ/2 ‖∇D‖², γ = 10


PENALTIES = ("wgan_gp", "zero_centred_gp", "dragan", "r1", "r2")


@pytest.mark.parametrize("kind", sorted(SHAPES))
@pytest.mark.parametrize("penalty_name", PENALTIES)
def test_penalty_values_by_hand_on_a_linear_critic_of_each_output_shape(penalty_name, kind):
    """Penalties sum every score of every scale before differentiating, and take the norm
    over all non-batch dimensions of the input."""
    critic = LinearCritic(kind)
    real, fake = _batches(kind)
    norm = float(np.sqrt((critic.input_gradient() ** 2).sum()))
    assert abs(norm - 1.0) > 0.5  # far from the two-sided penalty's minimum
    value = _ganforge_penalty(penalty_name, critic, real, fake).item()
    assert value == pytest.approx(_hand_penalty(penalty_name, norm), rel=1e-9)


@pytest.mark.parametrize("kind", sorted(SHAPES))
@pytest.mark.parametrize(
    ("loss_name", "penalty_name"), [("wasserstein", "wgan_gp"), ("non_saturating", "r1")]
)
def test_discriminator_objective_with_its_penalty_by_hand(loss_name, penalty_name, kind):
    """WGAN-GP and NS + R1: the whole discriminator objective, scores computed by numpy."""
    critic = LinearCritic(kind)
    real, fake = _batches(kind)
    g = critic.input_gradient()
    weights = [w.detach().numpy() for w in critic.weights]
    real_np, fake_np = real.flatten(1).numpy(), fake.flatten(1).numpy()
    by_hand = _hand_penalty(penalty_name, float(np.sqrt((g**2).sum()))) + sum(
        _hand_d_loss(loss_name, real_np @ w, fake_np @ w, 1.0) for w in weights
    )
    objective = get_loss(loss_name).discriminator(critic(real), critic(fake))
    objective = objective + _ganforge_penalty(penalty_name, critic, real, fake)
    assert objective.item() == pytest.approx(by_hand, rel=1e-9)


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_lecam_by_hand_on_each_discriminator_output(kind):
    """One pair of EMA anchors per scale; relu(D(x) - α_F)² and relu(α_R - D(x̃))², averaged
    within a scale and summed over scales."""
    decay, weight = 0.75, 0.3
    lecam = LeCam(decay=decay, weight=weight)
    first, second = _score_pair(kind), _score_pair_shifted(kind)
    anchors_real = anchors_fake = None
    for real_out, fake_out in (first, second):
        reals, fakes = _numpy_scales(real_out), _numpy_scales(fake_out)
        means_real = np.array([r.mean() for r in reals])
        means_fake = np.array([f.mean() for f in fakes])
        if anchors_real is None:  # the first call starts the anchors at the batch means
            anchors_real, anchors_fake = means_real, means_fake
        else:
            anchors_real = decay * anchors_real + (1 - decay) * means_real
            anchors_fake = decay * anchors_fake + (1 - decay) * means_fake
        by_hand = weight * sum(
            (np.maximum(r - a_f, 0.0) ** 2).mean() + (np.maximum(a_r - f, 0.0) ** 2).mean()
            for r, f, a_r, a_f in zip(reals, fakes, anchors_real, anchors_fake, strict=True)
        )
        assert lecam(real_out, fake_out).item() == pytest.approx(by_hand, rel=1e-6, abs=1e-9)
    assert lecam.anchor_real.numpy() == pytest.approx(anchors_real, rel=1e-6)
    assert lecam.anchor_fake.numpy() == pytest.approx(anchors_fake, rel=1e-6)


def _score_pair_shifted(kind: str) -> tuple[Any, Any]:
    """A second batch of scores: the fakes now score above the reals."""
    real_out, fake_out = _score_pair(kind)
    return _spread(fake_out, 1.0), _spread(real_out, -1.0)


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_weight_clip_by_hand_on_each_discriminator(kind):
    """Every parameter becomes clip(p, -c, c); with c the median |p|, half of them move."""
    d = _double_discriminator(kind)
    before = [p.detach().numpy().copy() for p in d.parameters()]
    c = float(np.median(np.abs(np.concatenate([b.ravel() for b in before]))))
    weight_clip(d, c)
    after = [p.detach().numpy() for p in d.parameters()]
    for old, new in zip(before, after, strict=True):
        assert np.array_equal(new, np.minimum(np.maximum(old, -c), c))
    clipped = sum(int((old != new).sum()) for old, new in zip(before, after, strict=True))
    total = sum(old.size for old in before)
    assert clipped == pytest.approx(total / 2, abs=1)


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_instance_noise_schedule_by_hand_on_each_input_shape(kind):
    """σ_t = σ_0 · max(0, 1 - t / T): the noise added at each step has that spread, and none
    is added once σ_t = 0."""
    sigma_0, anneal_steps = 0.5, 4
    noise = InstanceNoise(std=sigma_0, anneal_steps=anneal_steps)
    x = torch.randn(512, *SHAPES[kind], dtype=torch.float64)
    source = torch.Generator().manual_seed(5)
    for step in range(anneal_steps + 2):
        by_hand = sigma_0 * max(0.0, 1.0 - step / anneal_steps)  # 0.5, 0.375, 0.25, 0.125, 0, 0
        assert noise.current_std == pytest.approx(by_hand)
        added = (noise(x, source) - x).numpy()
        assert added.shape == x.shape
        if by_hand == 0.0:
            assert not added.any()
        else:
            assert added.std() == pytest.approx(by_hand, rel=0.05)
            assert abs(added.mean()) < 0.1 * by_hand
        noise.step()
