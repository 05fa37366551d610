"""Every adversarial loss x every regularizer x every discriminator input shape.

One discriminator step and one generator step on tiny networks: the losses must be
finite and gradients must reach the discriminator's and the generator's parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
