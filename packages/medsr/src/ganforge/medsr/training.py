"""The two-stage recipe: PSNR-oriented pretraining, then adversarial fine-tuning.

:class:`MedSRModule` is what the core :class:`~ganforge.core.training.Trainer` runs.
Batches are ``(lr, hr)`` or ``(lr, hr, roi_mask)`` tensors.

- ``"pretrain"`` phase: one generator step on the pixel losses
  (L1 + gradient difference + ROI MSE), with its own Adam optimizer (``"G_pixel"``).
- ``"adversarial"`` phase: a discriminator step (MONAI PatchDiscriminator logits,
  the core's adversarial loss, relativistic-average by default as in ESRGAN), then a
  generator step on L1 + perceptual + adversarial + gradient difference + ROI, with a
  fresh Adam optimizer (``"G"``) at the fine-tuning learning rate. With both stages,
  entering the phase keeps a copy of the pretrained generator; it is part of the
  module's checkpointed state, so a resumed run still has it.

:class:`~ganforge.medsr.MedicalSR` runs both stages for users.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ganforge.core.losses import get_loss
from ganforge.core.regularizers import r1_penalty
from ganforge.core.training import GANModule, Phase, Step, StepContext
from ganforge.medsr.losses import LossWeights, PerceptualLoss, pixel_losses, weighted_total
from ganforge.medsr.networks import SRGenerator
from ganforge.medsr.spec import MedicalSRSpec

MODULE_STAGES = ("pretrain", "adversarial", "both")
#: Default length of each stage (the spec's defaults).
PRETRAIN_ITERATIONS = MedicalSRSpec.pretrain_iterations
ADVERSARIAL_ITERATIONS = MedicalSRSpec.adversarial_iterations


def _unpack(batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    if isinstance(batch, dict):
        return batch["lr"], batch["hr"], batch.get("roi")
    if len(batch) == 2:
        return batch[0], batch[1], None
    return batch[0], batch[1], batch[2]


class MedSRModule(GANModule):
    """Networks, optimizers and steps of the medical SR GAN.

    Args:
        generator: the SR generator.
        discriminator: a patch discriminator returning logits (``None`` for pretraining only).
        stage: ``"pretrain"``, ``"adversarial"`` or ``"both"`` (pretrain for
            ``pretrain_iterations``, then adversarial).
        weights: loss weights (seed defaults 1 / 0.1 / 0.001 / 1 / 1).
        adversarial_loss: a core loss name (``ganforge.core.losses.get_loss``).
        perceptual: perceptual loss module; default: the offline random-feature fallback.
        g_lr, d_lr: Adam learning rates (``g_lr``: the generator's in pretraining).
        adversarial_g_lr: the generator's learning rate in the adversarial phase
            (default ``g_lr``); its optimizer starts fresh there.
        pretrain_iterations: length of the pretraining phase when ``stage="both"``.
        r1_weight: weight of the core's R1 gradient penalty on real HR patches (0: off).

    Defaults are those of :class:`~ganforge.medsr.MedicalSRSpec`.
    """

    def __init__(
        self,
        generator: SRGenerator,
        discriminator: torch.nn.Module | None = None,
        *,
        stage: str = "both",
        weights: LossWeights | None = None,
        adversarial_loss: str = MedicalSRSpec.adversarial_loss,
        perceptual: PerceptualLoss | None = None,
        g_lr: float = MedicalSRSpec.g_lr,
        d_lr: float = MedicalSRSpec.d_lr,
        adversarial_g_lr: float | None = None,
        pretrain_iterations: int = PRETRAIN_ITERATIONS,
        r1_weight: float = MedicalSRSpec.r1_weight,
    ) -> None:
        super().__init__()
        if r1_weight < 0:
            raise ValueError(f"r1_weight must be >= 0, got {r1_weight!r}")
        if stage not in MODULE_STAGES:
            raise ValueError(f"stage must be one of {MODULE_STAGES}, got {stage!r}")
        if stage != "pretrain" and discriminator is None:
            raise ValueError(f"stage {stage!r} needs a discriminator")
        if stage == "both" and pretrain_iterations < 1:
            raise ValueError(f"pretrain_iterations must be >= 1, got {pretrain_iterations!r}")
        self.r1_weight = r1_weight
        self.stage, self.pretrain_iterations = stage, pretrain_iterations
        self.weights = weights or LossWeights()
        self.adversarial = get_loss(adversarial_loss)
        self.g_lr, self.d_lr = g_lr, d_lr
        self.adversarial_g_lr = g_lr if adversarial_g_lr is None else adversarial_g_lr
        self.networks = {"G": generator}
        if discriminator is not None:
            self.networks["D"] = discriminator
        if stage != "pretrain" and self.weights.perceptual > 0:
            self.perceptual = perceptual or PerceptualLoss(generator.spatial_dims)
        else:
            self.perceptual = None
        self.pretrained_state: dict[str, torch.Tensor] | None = None

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """``"G_pixel"`` for pretraining, ``"G"`` and ``"D"`` for the adversarial phase."""
        optimizers = {}
        if self.stage != "adversarial":
            optimizers["G_pixel"] = self._adam("G", self.g_lr)
        if self.stage != "pretrain":
            optimizers["G"] = self._adam("G", self.adversarial_g_lr)
            optimizers["D"] = self._adam("D", self.d_lr)
        return optimizers

    def _adam(self, network: str, lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.networks[network].parameters(), lr, betas=(0.9, 0.99))

    def phases(self) -> list[Phase]:
        """One phase per stage; ``"both"`` runs pretraining for ``pretrain_iterations``."""
        pretrain = [Step("G_pixel", self.pixel_step, "G_pixel", networks=("G",))]
        adversarial = [Step("D", self.d_step, "D"), Step("G", self.g_step, "G")]
        if self.stage == "pretrain":
            return [Phase("pretrain", pretrain)]
        if self.stage == "adversarial":
            return [Phase("adversarial", adversarial)]
        return [
            Phase("pretrain", pretrain, iterations=self.pretrain_iterations),
            Phase("adversarial", adversarial, on_enter=self.keep_pretrained),
        ]

    def keep_pretrained(self) -> None:
        """Keep a copy of the generator as pretraining left it (on entering the
        adversarial phase); see :meth:`pretrained_generator`."""
        self.pretrained_state = self._generator_state()

    def _generator_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.networks["G"].state_dict().items()}

    def pretrained_generator(self) -> SRGenerator:
        """A CPU copy of the generator at the end of pretraining.

        Raises:
            ValueError: the module has no pretraining, or it has not ended yet.
        """
        generator = copy.deepcopy(self.networks["G"]).cpu().eval()
        if self.stage == "pretrain":
            return generator
        if self.pretrained_state is None:
            raise ValueError("pretraining has not finished: no pretrained generator yet")
        generator.load_state_dict(self.pretrained_state)
        return generator

    def extra_state(self) -> dict[str, Any]:
        """The kept pretrained generator (empty before the adversarial phase)."""
        if self.pretrained_state is None:
            return {}
        return {"pretrained_generator": self.pretrained_state}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned.

        A checkpoint written at the end of pretraining has no copy yet, while a
        resume from it has already entered the adversarial phase (before the
        networks loaded): then the loaded generator is the pretrained one.
        """
        kept = state.get("pretrained_generator")
        if kept is None and self.pretrained_state is not None:
            kept = self._generator_state()
        self.pretrained_state = kept

    def pixel_step(self, batch: Any, ctx: StepContext | None) -> dict[str, torch.Tensor]:
        """PSNR-oriented step: L1 + gradient difference + ROI."""
        lr, hr, roi = _unpack(batch)
        terms = pixel_losses(self.networks["G"](lr), hr, roi)
        return {"loss": weighted_total(terms, self.weights), **_detached(terms)}

    def d_step(self, batch: Any, ctx: StepContext | None) -> dict[str, torch.Tensor]:
        """Discriminator step on HR patches vs detached SR patches."""
        lr, hr, _ = _unpack(batch)
        with torch.no_grad():
            fake = self.networks["G"](lr)
        d = self.networks["D"]
        if self.r1_weight > 0:
            hr = hr.detach().requires_grad_(True)
        real_logits = d(hr)
        adversarial = self.adversarial.discriminator(real_logits, d(fake))
        out = {"adversarial": adversarial.detach()}
        loss = adversarial
        if self.r1_weight > 0:
            penalty = r1_penalty(real_logits, hr, self.r1_weight)
            loss = loss + penalty
            out["r1"] = penalty.detach()
        return {"loss": loss, **out}

    def g_step(self, batch: Any, ctx: StepContext | None) -> dict[str, torch.Tensor]:
        """Generator step: pixel terms + perceptual + adversarial."""
        lr, hr, roi = _unpack(batch)
        sr = self.networks["G"](lr)
        terms = pixel_losses(sr, hr, roi)
        if self.perceptual is not None:
            # frozen and not a trained network, so the trainer does not place it
            terms["perceptual"] = self.perceptual.to(sr.device)(sr, hr)
        d = self.networks["D"]
        with torch.no_grad():
            real_logits = d(hr)
        terms["adversarial"] = self.adversarial.generator(d(sr), real_logits)
        return {"loss": weighted_total(terms, self.weights), **_detached(terms)}


def _detached(terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: value.detach() for name, value in terms.items()}
