"""What every image family shares: one generator ``G``, one discriminator ``D``, Adam,
and a discriminator step / generator step pair around a loss from the core registry.

A family is a small subclass: its networks, its loss, and where it differs from the
plain pair of steps (a penalty, weight clipping after the critic step, labels...).
One iteration of every family is::

    D step (repeat n_critic):  fake = G(z).detach(); loss = loss_D(D(real), D(fake)) + penalty
    G step:                    loss = loss_G(D(G(z)))

Images reach the networks in [-1, 1] (``tanh`` generators); batches are
``(images, labels)``, images in [-1, 1].
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ganforge.core.losses import get_loss
from ganforge.core.training import GANModule, Phase, Step, StepContext


@dataclass(frozen=True)
class Hyper:
    """A family's optimiser settings (its paper's, scaled to small CPU runs)."""

    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1


class BudgetedModule(GANModule):
    """A module whose training ends at ``deadline`` when one is set: a value of
    ``time.process_time()``, the CPU seconds this process has used, so the zoo gives
    every family the same CPU budget however busy a shared machine is."""

    deadline: float | None = None

    def should_stop(self, iteration: int) -> bool:
        return self.deadline is not None and time.process_time() > self.deadline


class ImageGANModule(BudgetedModule):
    """Base of the unconditional and conditional image families (see the module docstring).

    Args:
        generator: ``z (B, latent_dim) [, labels] -> images (B, C, H, W)`` in [-1, 1].
        discriminator: ``images [, labels] -> scores (B,)``.
        latent_dim: size of z.
        loss: a name of :data:`ganforge.core.losses.LOSSES`.
        hyper: learning rates, betas and critic steps.
    """

    generator_name = "G"
    conditional = False

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        latent_dim: int,
        loss: str,
        hyper: Hyper,
    ) -> None:
        super().__init__()
        self.networks = {"G": generator, "D": discriminator}
        self.latent_dim = latent_dim
        self.loss = get_loss(loss)
        self.hyper = hyper
        self.augment: Callable[[Tensor], Tensor] | None = None  # DiffAugment before D

    # ------------------------------------------------------------ trainer side
    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        h = self.hyper
        return {
            "G": torch.optim.Adam(self.networks["G"].parameters(), h.lr_g, betas=h.betas),
            "D": torch.optim.Adam(self.networks["D"].parameters(), h.lr_d, betas=h.betas),
        }

    def phases(self) -> list[Phase]:
        critic = Step("D", self.d_step, "D", repeat=self.hyper.n_critic, after=self.after_d_step)
        return [Phase(type(self).__name__, [critic, Step("G", self.g_step, "G")])]

    # --------------------------------------------------------------- the steps
    def d_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        real, labels = batch
        with torch.no_grad():
            fake = self.generate(ctx.randn(len(real), self.latent_dim), labels)
        d_real, d_fake = self.judge(real, labels), self.judge(fake, labels)
        adversarial = self.loss.discriminator(d_real, d_fake)
        penalty = self.penalty(real, fake, labels, ctx)
        return {
            "loss": adversarial + penalty,
            "adversarial": adversarial.detach(),
            "penalty": penalty.detach(),
            "real_score": d_real.detach().mean(),
            "fake_score": d_fake.detach().mean(),
        }

    def g_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        labels = batch[1]
        fake = self.generate(ctx.randn(len(labels), self.latent_dim), labels)
        return {"loss": self.loss.generator(self.judge(fake, labels))}

    # ------------------------------------------------------- family overrides
    def generate(self, z: Tensor, labels: Tensor | None = None, **options: Any) -> Tensor:
        """Images from noise (labels only for conditional families)."""
        return self.networks["G"](z)

    def augmented(self, images: Tensor) -> Tensor:
        """``images`` through the differentiable augmentation, when one is set (real and
        fake alike, in both steps, so gradients reach G through it)."""
        return images if self.augment is None else self.augment(images)

    def judge(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        """The discriminator's scores (of the augmented images, when augmenting)."""
        return self.networks["D"](self.augmented(images))

    def penalty(self, real: Tensor, fake: Tensor, labels: Tensor, ctx: StepContext) -> Tensor:
        """A regulariser added to the discriminator loss (none by default)."""
        return real.new_zeros(())

    after_d_step = None  # a callable run after each critic update (weight clipping)

    # ----------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample(
        self,
        n: int,
        labels: Tensor | None = None,
        generator: torch.Generator | None = None,
        **options: Any,
    ) -> Tensor:
        """``n`` images in [0, 1] (eval mode; ``options`` such as ``psi`` go to the family)."""
        net = self.networks["G"]
        device = next(net.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        if labels is not None:
            labels = labels.to(device)
        was_training = net.training
        net.eval()
        try:
            images = self.generate(z, labels, **options)
        finally:
            net.train(was_training)
        return ((images + 1) / 2).clamp(0, 1).cpu()
