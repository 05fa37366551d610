"""A generic unconditional GAN module: one generator, one discriminator, any
registered loss, optional gradient penalty / R1 and differentiable augmentation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ganforge.core.losses import get_loss
from ganforge.core.regularizers import LazyInterval, gradient_penalty, r1_penalty
from ganforge.core.training import GANModule, Phase, Step, StepContext


class AdversarialRecipe(GANModule):
    """Train ``generator`` against ``discriminator`` with a registered loss.

    Args:
        generator: maps noise of shape ``(B, *latent_shape)`` to samples.
        discriminator: maps samples to logits / critic scores.
        latent_shape: shape of one noise vector.
        batch_size: samples the generator step draws.
        loss: a name from :data:`ganforge.core.losses.LOSSES`.
        n_critic: discriminator steps per generator step.
        gp_weight: WGAN-GP gradient penalty weight (0 = off).
        r1_weight: R1 penalty weight (0 = off), applied every ``r1_interval`` iterations.
        lr_g, lr_d, betas: Adam settings (two time-scale when ``lr_d != lr_g``).
        augment: a differentiable augmentation applied to real and fake alike
            before the discriminator (e.g. :class:`~ganforge.core.regularizers.DiffAugment`).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        latent_shape: tuple[int, ...],
        batch_size: int,
        loss: str = "non_saturating",
        n_critic: int = 1,
        gp_weight: float = 0.0,
        r1_weight: float = 0.0,
        r1_interval: int = 1,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        augment: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.networks = {"G": generator, "D": discriminator}
        self.latent_shape, self.batch_size = tuple(latent_shape), batch_size
        self.loss, self.n_critic = get_loss(loss), n_critic
        self.gp_weight, self.r1_weight = gp_weight, r1_weight
        self.r1_schedule = LazyInterval(r1_interval)
        self.lr_g, self.lr_d, self.betas = lr_g, lr_d, betas
        self.augment = augment or (lambda x: x)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            "G": torch.optim.Adam(self.networks["G"].parameters(), self.lr_g, betas=self.betas),
            "D": torch.optim.Adam(self.networks["D"].parameters(), self.lr_d, betas=self.betas),
        }

    def phases(self) -> list[Phase]:
        return [
            Phase(
                "adversarial",
                [
                    Step("D", self.discriminator_step, "D", repeat=self.n_critic),
                    Step("G", self.generator_step, "G", needs_batch=self.loss.needs_real),
                ],
            )
        ]

    def sample(self, count: int, generator: nn.Module | None = None) -> Tensor:
        """Draw ``count`` samples (from ``generator``, default the trained G) without grad."""
        network = generator or self.networks["G"]
        device = next(network.parameters()).device
        with torch.no_grad():
            return network(torch.randn(count, *self.latent_shape, device=device))

    def discriminator_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        real = _first(batch)
        with torch.no_grad():
            fake = self.networks["G"](ctx.randn(real.shape[0], *self.latent_shape))
        real_in, fake_in = self.augment(real), self.augment(fake)
        use_r1 = self.r1_weight > 0 and self.r1_schedule.is_due(ctx.iteration)
        if use_r1:
            real_in = real_in.detach().requires_grad_(True)
        d_real, d_fake = self.networks["D"](real_in), self.networks["D"](fake_in)
        loss = self.loss.discriminator(d_real, d_fake)
        outputs = {"adversarial": loss.detach(), "real_score": d_real.detach().mean()}
        if self.gp_weight > 0:
            penalty = gradient_penalty(self.networks["D"], real_in, fake_in, self.gp_weight)
            loss, outputs["gradient_penalty"] = loss + penalty, penalty.detach()
        if use_r1:
            penalty = self.r1_schedule.scale(r1_penalty(d_real, real_in, self.r1_weight))
            loss, outputs["r1"] = loss + penalty, penalty.detach()
        outputs["fake_score"] = d_fake.detach().mean()
        outputs["loss"] = loss
        return outputs

    def generator_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        fake = self.networks["G"](ctx.randn(self.batch_size, *self.latent_shape))
        d_fake = self.networks["D"](self.augment(fake))
        d_real = None
        if self.loss.needs_real:
            d_real = self.networks["D"](self.augment(_first(batch))).detach()
        return {"loss": self.loss.generator(d_fake, d_real)}


def _first(batch: Any) -> Tensor:
    return batch[0] if isinstance(batch, (tuple, list)) else batch
