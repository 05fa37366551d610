"""The paper's TimeGAN (Yoon, Jarrett & van der Schaar, NeurIPS 2019) on the core trainer.

Three phases with the reference code's losses and weights:

1. ``embed``: the autoencoder (embedder + recovery) on ``10 * sqrt(MSE(x, x~))``.
2. ``supervise``: the supervisor on the next-step latent loss ``MSE(h_{t+1}, S(h)_t)``.
3. ``joint``: per iteration, two generator steps on
   ``adv + gamma * adv_e + 100 * sqrt(L_S) + 100 * (moment loss)``, one
   embedder step on ``10 * sqrt(MSE) + 0.1 * L_S``, and one discriminator step
   on ``BCE(real, 1) + BCE(fake, 0) + gamma * BCE(fake_e, 0)`` that is taken
   only while that loss is above ``d_threshold`` (0.15); a skipped step returns
   no ``"loss"``, so the trainer runs no backward and no optimizer step.

Samples are ``R(S(G(z)))``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ganforge.core.losses import non_saturating_d_loss, non_saturating_g_loss
from ganforge.core.training import Phase, Step, StepContext
from ganforge.finance.config import TimeGANConfig
from ganforge.finance.losses import moment_loss, supervised_loss
from ganforge.finance.module import AUTOENCODER, TimeGANModule, split_batch
from ganforge.finance.networks import build_timegan_networks

GENERATOR = ("generator", "supervisor")


class PaperTimeGANModule(TimeGANModule):
    """The paper's networks, optimizers and three-phase schedule (see the module docstring)."""

    def __init__(self, config: TimeGANConfig) -> None:
        networks = build_timegan_networks(
            config.feature_dim,
            config.hidden_dim,
            config.num_layers,
            config.cell,
            cond_dim=config.n_conditions,
            recovery_sigmoid=config.scaling == "minmax",
            noise_skip=config.scaling != "minmax",
        )
        super().__init__(config, networks)

    @property
    def uniform_noise(self) -> bool:
        return self.config.scaling == "minmax"

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            "E": self.adam(AUTOENCODER),
            "G": self.adam(GENERATOR),
            "D": self.adam(["discriminator"]),
        }

    def phases(self) -> list[Phase]:
        supervise = Step("supervisor", self.supervisor_step, "G", networks=GENERATOR)
        joint = [
            Step("generator", self.generator_step, "G", repeat=2, networks=GENERATOR),
            Step("embedder", self.embedder_step, "E", networks=AUTOENCODER),
            Step("discriminator", self.discriminator_step, "D", networks=("discriminator",)),
        ]
        return [
            self.embed_phase(),
            Phase("supervise", [supervise], iterations=self.config.supervise_iterations),
            Phase("joint", joint),
        ]

    def generate(
        self,
        z: torch.Tensor,
        condition: torch.Tensor | None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``R(S(G(z)))`` (no noise beyond ``z``: ``generator`` is unused)."""
        _, h_hat = self._synthetic_latents(z, condition)
        return self.networks["recovery"](h_hat, condition)

    def _synthetic_latents(
        self, z: torch.Tensor, condition: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(E^, H^) = (G(z), S(G(z)))``."""
        e_hat = self.networks["generator"](z, condition)
        return e_hat, self.networks["supervisor"](e_hat, condition)

    # -- steps -----------------------------------------------------------------------
    def supervisor_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Phase 2: next-step supervised loss on real latents."""
        x, c = split_batch(batch)
        with torch.no_grad():
            h = self.networks["embedder"](x, c)
        return {"loss": supervised_loss(h, self.networks["supervisor"](h, c))}

    def generator_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Joint phase: adversarial + gamma * adversarial_e + 100 sqrt(L_S) + 100 moments."""
        x, c = split_batch(batch)
        nets = self.networks
        with torch.no_grad():
            h = nets["embedder"](x, c)
        e_hat, h_hat = self._synthetic_latents(self.noise(ctx, x), c)
        x_hat = nets["recovery"](h_hat, c)
        adversarial = non_saturating_g_loss(nets["discriminator"](h_hat, c))
        adversarial_e = non_saturating_g_loss(nets["discriminator"](e_hat, c))
        l_s = supervised_loss(h, nets["supervisor"](h, c))
        moments = moment_loss(x_hat, x)
        loss = (
            adversarial
            + self.config.gamma * adversarial_e
            + 100.0 * torch.sqrt(l_s)
            + 100.0 * moments
        )
        return {
            "loss": loss,
            "adversarial": adversarial.detach(),
            "supervised": l_s.detach(),
            "moments": moments.detach(),
        }

    def embedder_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Joint phase: ``10 * sqrt(MSE) + 0.1 * L_S`` for the embedder and recovery."""
        x, c = split_batch(batch)
        h = self.networks["embedder"](x, c)
        mse = F.mse_loss(self.networks["recovery"](h, c), x)
        l_s = supervised_loss(h, self.networks["supervisor"](h, c))
        return {"loss": 10.0 * torch.sqrt(mse) + 0.1 * l_s, "reconstruction_mse": mse.detach()}

    def discriminator_step(self, batch: Any, ctx: StepContext) -> dict[str, Any]:
        """Joint phase: the discriminator loss; no update when it is at most ``d_threshold``."""
        x, c = split_batch(batch)
        discriminator = self.networks["discriminator"]
        with torch.no_grad():
            h = self.networks["embedder"](x, c)
            e_hat, h_hat = self._synthetic_latents(self.noise(ctx, x), c)
        real, fake, fake_e = discriminator(h, c), discriminator(h_hat, c), discriminator(e_hat, c)
        # BCE(fake_e, 0) = mean softplus(logit)
        loss = non_saturating_d_loss(real, fake) + self.config.gamma * F.softplus(fake_e).mean()
        return self.thresholded(loss)
