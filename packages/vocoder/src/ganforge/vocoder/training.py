"""The vocoder's training recipe on the core trainer: HiFi-GAN's schedule as ordinary steps.

An optional warm-up phase first (``warmup_iterations``): the generator alone on
its spectral terms (mel L1 and, when weighted, the multi-resolution STFT loss),
as Parallel WaveGAN and Multi-band MelGAN start their discriminators only after
the generator has learnt the spectral envelope. Then the adversarial phase, with
a shared batch (D and G train on the same real segments, as HiFi-GAN does) and
three steps per iteration:

1. ``forward`` (no optimizer): the log-mel of the real segments (no gradient)
   and the generator's waveform from it, left in ``ctx.handoff``;
2. ``D``: the discriminators' weighted adversarial loss on the real segments and
   the detached generated ones;
3. ``G``: the generator's weighted adversarial, feature-matching, mel L1 and
   (optional) multi-resolution STFT terms, through the graph of step 1.

Optimizers are HiFi-GAN's AdamW (lr 2e-4, betas 0.8 / 0.99, weight decay 0.01),
with an optional exponential learning-rate decay stepped once per iteration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ganforge.core.settings import check_integer
from ganforge.core.training import GANModule, Phase, Step, StepContext
from ganforge.vocoder.discriminators import Discriminators
from ganforge.vocoder.losses import (
    LossWeights,
    MelL1Loss,
    MultiResolutionSTFTLoss,
    discriminator_loss,
    generator_loss,
)
from ganforge.vocoder.mel import MelConfig, MelSpectrogram

LEARNING_RATE = 2e-4
BETAS = (0.8, 0.99)
WEIGHT_DECAY = 0.01
"""HiFi-GAN's AdamW settings (``torch.optim.AdamW``'s default weight decay)."""


def _as_waveform(batch: Any) -> Tensor:
    """A batch of segments ``(B, 1, T)`` (a list or tuple batch: its first tensor)."""
    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    if batch.dim() == 2:
        batch = batch.unsqueeze(1)
    return batch.float()


class VocoderModule(GANModule):
    """Generator ``G`` and discriminators ``D`` trained with HiFi-GAN's schedule.

    Args:
        generator: a mel-to-waveform generator (:func:`~ganforge.vocoder.build_generator`).
        discriminators: the waveform discriminators (:class:`Discriminators`).
        mel_config: the front end computing the generator's input mels.
        weights: the loss weights (core conventions, see :mod:`ganforge.vocoder.losses`).
        loss_fmax: upper mel frequency of the mel L1 term (``None``: Nyquist, as HiFi-GAN).
        lr, betas, weight_decay: AdamW settings of both optimizers.
        lr_decay: ``ExponentialLR`` factor per iteration, or ``None`` for a constant rate.
        warmup_iterations: iterations of generator-only spectral training before
            the discriminators start (0: adversarial from the first iteration).
    """

    generator_name = "G"

    def __init__(
        self,
        generator: nn.Module,
        discriminators: Discriminators,
        *,
        mel_config: MelConfig | None = None,
        weights: LossWeights | None = None,
        loss_fmax: float | None = None,
        lr: float = LEARNING_RATE,
        betas: Sequence[float] = BETAS,
        weight_decay: float = WEIGHT_DECAY,
        lr_decay: float | None = None,
        warmup_iterations: int = 0,
    ) -> None:
        super().__init__()
        if lr_decay is not None and not 0 < lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay}")
        check_integer("warmup_iterations", warmup_iterations, 0)
        self.warmup_iterations = warmup_iterations
        self.mel_config = mel_config or MelConfig()
        self.weights = weights or LossWeights()
        self.lr, self.betas, self.weight_decay = lr, tuple(betas), weight_decay
        self.lr_decay = lr_decay
        self.networks = {"G": generator, "D": discriminators}
        self.front_end = MelSpectrogram(self.mel_config)
        loss_config = dataclasses.replace(self.mel_config, fmax=loss_fmax)
        self.mel_loss = MelL1Loss(MelSpectrogram(loss_config))
        self.stft_loss = MultiResolutionSTFTLoss() if self.weights.stft else None
        if warmup_iterations and not (self.weights.mel or self.weights.stft):
            raise ValueError("a warm-up needs a mel or STFT loss weight above 0")

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        def adamw(name: str) -> torch.optim.Optimizer:
            return torch.optim.AdamW(
                self.networks[name].parameters(),
                self.lr,
                betas=self.betas,
                weight_decay=self.weight_decay,
            )

        return {"G": adamw("G"), "D": adamw("D")}

    def build_schedulers(
        self, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """Exponential decay per iteration; the discriminators' clock starts after the warm-up."""
        if self.lr_decay is None:
            return {}
        decay, warmup = self.lr_decay, self.warmup_iterations
        return {
            "G": torch.optim.lr_scheduler.ExponentialLR(optimizers["G"], decay),
            "D": torch.optim.lr_scheduler.LambdaLR(
                optimizers["D"], lambda iteration: decay ** max(0, iteration - warmup)
            ),
        }

    def phases(self) -> list[Phase]:
        forward = Step("forward", self.forward_step, None)
        steps = [forward, Step("D", self.d_step, "D"), Step("G", self.g_step, "G")]
        adversarial = Phase("gan", steps, share_batch=True)
        if not self.warmup_iterations:
            return [adversarial]
        warmup_steps = [forward, Step("G", self.spectral_step, "G")]
        warmup = Phase("warmup", warmup_steps, self.warmup_iterations, share_batch=True)
        return [warmup, adversarial]

    def _losses_to(self, device: torch.device) -> None:
        for module in (self.front_end, self.mel_loss, self.stft_loss):
            if module is not None:
                module.to(device)

    def forward_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        """The real segments' mel (no gradient) and the generator's waveform from it."""
        real = _as_waveform(batch)
        self._losses_to(real.device)
        with torch.no_grad():
            mel = self.front_end(real)
        ctx.handoff.update(real=real, mel=mel, fake=self.networks["G"](mel))
        return {}

    def spectral_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        """The generator's spectral terms only (the warm-up's objective)."""
        real, fake = ctx.handoff["real"], ctx.handoff["fake"]
        mel = self.mel_loss(fake, real)
        out = {"mel": mel.detach()}
        total = self.weights.mel * mel
        if self.stft_loss is not None:
            stft = self.stft_loss(fake, real)
            out["stft"] = stft.detach()
            total = total + self.weights.stft * stft
        return {"loss": total, **out}

    def d_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        """The discriminators' loss on the real and the detached generated segments."""
        real, fake = ctx.handoff["real"], ctx.handoff["fake"].detach()
        judge = self.networks["D"]
        return {"loss": discriminator_loss(judge(real).scores, judge(fake).scores, self.weights)}

    def g_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        """Adversarial, feature-matching and spectral terms through the shared forward."""
        real, fake = ctx.handoff["real"], ctx.handoff["fake"]
        judge = self.networks["D"]
        with torch.no_grad():
            real_out = judge(real)
        fake_out = judge(fake)
        mel = self.mel_loss(fake, real) if self.weights.mel else None
        stft = self.stft_loss(fake, real) if self.stft_loss is not None else None
        total, terms = generator_loss(
            fake_out.scores, real_out.features, fake_out.features, self.weights, mel=mel, stft=stft
        )
        out = {"loss": total, **{name: value.detach() for name, value in terms.items()}}
        if "mel" not in out:
            with torch.no_grad():
                out["mel"] = self.mel_loss(fake, real)
        return out
