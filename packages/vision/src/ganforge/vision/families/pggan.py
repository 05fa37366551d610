"""Progressive growing (PGGAN, Karras et al. 2018) at three resolutions.

Training starts at ``resolution / 4`` and doubles twice. Each new resolution is
faded in: the output is ``(1 - alpha) * upsample(toRGB_old(h)) + alpha *
toRGB_new(block(h))`` with alpha rising linearly from 0 to 1 over the fade phase (D
mirrors it on downsampled inputs, and the reals are blended the same way), then a
stable phase at alpha 1. With ``fade_in=False`` a new resolution switches on at
alpha 1 at once (the ablation of the loss-spike claim).

Channels halve as the resolution doubles (2w, w, w/2). PGGAN's other parts: pixel
norm after every G convolution, equalised learning rate on every layer (the core's
:class:`~ganforge.core.layers.EqualizedConv2d` and
:class:`~ganforge.core.layers.EqualizedLinear`), a minibatch standard-deviation
channel before D's last block, the WGAN-GP loss with drift ``1e-3 * D(x)^2``,
one critic step per generator step, Adam 1e-3 / betas (0, 0.99).

Stage and alpha are functions of the iteration alone (:meth:`ProgressiveGAN.stage_at`),
so a resumed run fades exactly as an uninterrupted one.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.core.layers import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm
from ganforge.core.regularizers import gradient_penalty
from ganforge.core.training import Phase, Step, StepContext
from ganforge.vision.families.base import Hyper, ImageGANModule
from ganforge.vision.families.dcgan import check_resolution

NUM_STAGES = 3
GP_WEIGHT, DRIFT = 10.0, 1e-3


def _act(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2)


def stage_channels(width: int) -> list[int]:
    """Channels at each stage: fewer as the resolution grows (PGGAN's habit)."""
    return [2 * width, width, max(width // 2, 1)]


class ProgressiveGenerator(nn.Module):
    """``G(z, stage, alpha)``: images at ``resolution / 4 * 2**stage`` in [-1, 1]."""

    def __init__(
        self, latent_dim: int = 100, resolution: int = 28, channels: int = 1, width: int = 32
    ) -> None:
        super().__init__()
        self.base, self.latent_dim = check_resolution(resolution), latent_dim
        self.channels = ch = stage_channels(width)
        self.norm = PixelNorm()
        self.project = EqualizedLinear(latent_dim, ch[0] * self.base**2, gain=math.sqrt(2) / 4)
        self.blocks = nn.ModuleList(
            [EqualizedConv2d(ch[max(i - 1, 0)], ch[i], 3, padding=1) for i in range(NUM_STAGES)]
        )
        self.to_rgb = nn.ModuleList(
            [EqualizedConv2d(ch[i], channels, 1, gain=1.0) for i in range(NUM_STAGES)]
        )

    def forward(self, z: Tensor, stage: int = NUM_STAGES - 1, alpha: float = 1.0) -> Tensor:
        h = self.project(self.norm(z)).view(len(z), self.channels[0], self.base, self.base)
        h = self.norm(_act(self.blocks[0](self.norm(_act(h)))))
        previous = h
        for index in range(1, stage + 1):
            previous = h
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = self.norm(_act(self.blocks[index](h)))
        image = self.to_rgb[stage](h)
        if stage > 0 and alpha < 1.0:
            old = F.interpolate(self.to_rgb[stage - 1](previous), scale_factor=2, mode="nearest")
            image = torch.lerp(old, image, alpha)
        return torch.tanh(image)


class ProgressiveDiscriminator(nn.Module):
    """``D(x, stage, alpha)``: scores of images at the stage's resolution."""

    def __init__(self, resolution: int = 28, channels: int = 1, width: int = 32) -> None:
        super().__init__()
        base = check_resolution(resolution)
        ch = stage_channels(width)
        self.from_rgb = nn.ModuleList(
            [EqualizedConv2d(channels, ch[i], 1) for i in range(NUM_STAGES)]
        )
        self.blocks = nn.ModuleList(
            [EqualizedConv2d(ch[i], ch[i - 1], 3, padding=1) for i in range(1, NUM_STAGES)]
        )  # blocks[i - 1] takes stage i's map to stage i - 1's channels, then halves it
        self.minibatch_std = MinibatchStdDev(group_size=4)
        self.last = EqualizedConv2d(ch[0] + 1, ch[0], 3, padding=1)
        self.head = EqualizedLinear(ch[0] * base * base, 1, gain=1.0)

    def forward(self, x: Tensor, stage: int = NUM_STAGES - 1, alpha: float = 1.0) -> Tensor:
        h = _act(self.from_rgb[stage](x))
        if stage > 0:
            h = F.avg_pool2d(_act(self.blocks[stage - 1](h)), 2)
            if alpha < 1.0:
                skip = _act(self.from_rgb[stage - 1](F.avg_pool2d(x, 2)))
                h = torch.lerp(skip, h, alpha)
        for index in range(stage - 1, 0, -1):
            h = F.avg_pool2d(_act(self.blocks[index - 1](h)), 2)
        h = _act(self.last(self.minibatch_std(h)))
        return self.head(h.flatten(1)).flatten()


def real_at(images: Tensor, stage: int, alpha: float) -> Tensor:
    """Reals at ``stage``'s resolution, blended with the previous one during a fade."""
    factor = 2 ** (NUM_STAGES - 1 - stage)
    x = F.avg_pool2d(images, factor) if factor > 1 else images
    if stage > 0 and alpha < 1.0:
        x = torch.lerp(F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest"), x, alpha)
    return x


class ProgressiveGAN(ImageGANModule):
    """The growing schedule: a stable phase at the lowest resolution, then for each
    doubling a fade phase and a stable phase, each ``stage_iterations`` long (the last
    stable phase runs to the end of training)."""

    def __init__(self, *args, stage_iterations: int = 500, fade_in: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stage_iterations, self.fade_in = int(stage_iterations), bool(fade_in)
        plan = [(0, False)]
        for stage in range(1, NUM_STAGES):
            plan += [(stage, True), (stage, False)] if fade_in else [(stage, False)]
        self.plan = plan

    def stage_at(self, iteration: int) -> tuple[int, float]:
        """``(stage, alpha)`` at ``iteration``."""
        index = min(iteration // self.stage_iterations, len(self.plan) - 1)
        stage, fading = self.plan[index]
        if not fading:
            return stage, 1.0
        return stage, (iteration - index * self.stage_iterations) / self.stage_iterations

    def switch_iterations(self) -> list[int]:
        """Iterations at which a new resolution enters (its fade, or its switch)."""
        return [
            i * self.stage_iterations
            for i, (stage, fading) in enumerate(self.plan)
            if stage > 0 and (fading or not self.fade_in)
        ]

    def phases(self) -> list[Phase]:
        steps = [Step("D", self.d_step, "D"), Step("G", self.g_step, "G")]
        phases = []
        for index, (stage, fading) in enumerate(self.plan):
            last = index == len(self.plan) - 1
            name = f"stage{stage}-{'fade' if fading else 'stable'}"
            phases.append(Phase(name, steps, iterations=None if last else self.stage_iterations))
        return phases

    def d_step(self, batch, ctx: StepContext) -> dict[str, Tensor]:
        stage, alpha = self.stage_at(ctx.iteration)
        real = real_at(batch[0], stage, alpha)
        G, D = self.networks["G"], self.networks["D"]
        with torch.no_grad():
            fake = G(ctx.randn(len(real), self.latent_dim), stage, alpha)
        d_real, d_fake = D(real, stage, alpha), D(fake, stage, alpha)
        adversarial = self.loss.discriminator(d_real, d_fake)
        penalty = gradient_penalty(lambda x: D(x, stage, alpha), real, fake, GP_WEIGHT)
        drift = DRIFT * d_real.pow(2).mean()
        return {
            "loss": adversarial + penalty + drift,
            "adversarial": adversarial.detach(),
            "penalty": penalty.detach(),
            "alpha": alpha,
            "stage": float(stage),
        }

    def g_step(self, batch, ctx: StepContext) -> dict[str, Tensor]:
        stage, alpha = self.stage_at(ctx.iteration)
        fake = self.networks["G"](ctx.randn(len(batch[0]), self.latent_dim), stage, alpha)
        return {"loss": self.loss.generator(self.networks["D"](fake, stage, alpha))}


def build(
    shape: tuple[int, ...],
    num_classes: int,
    latent_dim: int,
    width: int,
    stage_iterations: int = 500,
    fade_in: bool = True,
) -> ProgressiveGAN:
    channels, resolution = shape[0], shape[-1]
    generator = ProgressiveGenerator(latent_dim, resolution, channels, width)
    critic = ProgressiveDiscriminator(resolution, channels, width)
    hyper = Hyper(lr_g=1e-3, lr_d=1e-3, betas=(0.0, 0.99))
    return ProgressiveGAN(
        generator,
        critic,
        latent_dim,
        "wasserstein",
        hyper,
        stage_iterations=stage_iterations,
        fade_in=fade_in,
    )
