"""The recipes on the core trainer: AdvGAN, its black-box variants, and adversarial training.

:class:`AdvGANModule` (Xiao et al. 2018), one iteration on a batch ``(x, y)``:

1. ``D``: the core's GAN loss on clean ``x`` (real) vs ``x' = clip(x + G(x))`` (fake);
2. ``G``: ``L_adv + alpha * L_GAN + beta * L_hinge`` (:mod:`ganforge.robustness.losses`),
   with ``L_adv`` the C&W margin of the target's logits on ``x'``. The target is one of
   the module's networks with no optimizer: the trainer freezes its parameters during
   the step, and the step evaluates it in eval mode (dropout and batch norm off), then
   restores its mode. It is never updated.

Black-box (the target's gradients and logits unseen): a surrogate ``S`` stands in for
the target in the ``G`` step. It is distilled on the target's answers (its predicted
labels) for the training images in a first phase ("static"), and, "dynamic", also
after every generator step on the target's answers for the clean and perturbed images.

:class:`AdvGANDefenceModule` adds a ``target`` step: the classifier is trained on clean
images and on the current generator's adversarial images, while the generator keeps
attacking the classifier as it is (adversarial training with AdvGAN examples).
:class:`ClassifierModule` trains a classifier, on clean images or with Madry et al.'s PGD
examples made inside its step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from ganforge.core.losses import get_loss
from ganforge.core.training import GANModule, Phase, Step, StepContext
from ganforge.robustness.attacks import evaluating, pgd
from ganforge.robustness.losses import cw_margin_loss, perturbation_hinge
from ganforge.robustness.networks import PerturbationGenerator

MODES = ("white_box", "static", "dynamic")


@contextmanager
def training_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in train mode for the block; every submodule's mode is restored afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    model.train()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


def _answers(target: nn.Module, x: Tensor) -> Tensor:
    """The target's predicted labels (all a black-box attack may ask of it)."""
    with torch.no_grad(), evaluating(target):
        return target(x).argmax(1)


class AdvGANModule(GANModule):
    """AdvGAN's networks and steps (see the module docstring).

    Args:
        generator: a :class:`PerturbationGenerator`.
        discriminator: images -> one logit per image.
        target: the classifier attacked (logits ``(N, K)``).
        surrogate: the distilled stand-in for a black-box target (``mode`` static or dynamic).
        mode: ``"white_box"``, ``"static"`` or ``"dynamic"``.
        kappa: the C&W confidence.
        alpha, beta: weights of the GAN term and of the hinge on ``||G(x)||_2``.
        norm_bound: ``c``, the L2 norm the hinge lets the perturbation have for free.
        target_class: ``None`` for an untargeted attack, else the class to reach.
        gan_loss: a name in :data:`ganforge.core.losses.LOSSES`.
        lr: Adam's learning rate (betas 0.5, 0.999) for every network.
        distill_iterations: the static distillation phase's length.
    """

    generator_name = "G"

    def __init__(
        self,
        generator: PerturbationGenerator,
        discriminator: nn.Module,
        target: nn.Module,
        *,
        surrogate: nn.Module | None = None,
        mode: str = "white_box",
        kappa: float = 0.0,
        alpha: float = 1.0,
        beta: float = 1.0,
        norm_bound: float = 1.0,
        target_class: int | None = None,
        gan_loss: str = "least_squares",
        lr: float = 1e-3,
        distill_iterations: int = 0,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if (mode == "white_box") != (surrogate is None):
            raise ValueError("a surrogate is needed for a black-box mode, and only then")
        self.networks = {"G": generator, "D": discriminator, "target": target}
        if surrogate is not None:
            self.networks["S"] = surrogate
        self.mode, self.kappa, self.alpha, self.beta = mode, kappa, alpha, beta
        self.norm_bound, self.target_class, self.lr = norm_bound, target_class, lr
        self.gan = get_loss(gan_loss)
        self.distill_iterations = distill_iterations

    # ----------------------------------------------------------------- set-up
    def trained_networks(self) -> tuple[str, ...]:
        return ("G", "D") if self.mode == "white_box" else ("G", "D", "S")

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            name: torch.optim.Adam(self.networks[name].parameters(), self.lr, betas=(0.5, 0.999))
            for name in self.trained_networks()
        }

    def attack_steps(self) -> list[Step]:
        steps = [Step("D", self.d_step, "D"), Step("G", self.g_step, "G")]
        if self.mode == "dynamic":
            steps.append(Step("S", self.dynamic_distill_step, "S"))
        return steps

    def phases(self) -> list[Phase]:
        attack = Phase("attack", self.attack_steps(), share_batch=True)
        if self.mode == "white_box" or self.distill_iterations == 0:
            return [attack]
        distill = Phase("distill", [Step("S", self.distill_step, "S")], self.distill_iterations)
        return [distill, attack]

    # ------------------------------------------------------------------ steps
    @property
    def judge(self) -> nn.Module:
        """The classifier whose logits the generator's loss reads: the target (white-box)
        or its distilled surrogate (black-box)."""
        return self.networks["target" if self.mode == "white_box" else "S"]

    def classes(self, y: Tensor) -> Tensor:
        """The true labels (untargeted) or the target class of every example (targeted)."""
        return y if self.target_class is None else torch.full_like(y, self.target_class)

    def d_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        """Clean images are real, perturbed ones fake."""
        x = batch[0]
        with torch.no_grad():
            x_adv = self.networks["G"].perturb(x)
        judge = self.networks["D"]
        loss = self.gan.discriminator(judge(x), judge(x_adv))
        return {"loss": loss}

    def g_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        """``L_adv + alpha L_GAN + beta L_hinge`` through the frozen classifier in eval mode."""
        x, y = batch[0], batch[1]
        generator = self.networks["G"]
        delta = generator(x)
        x_adv = (x + delta).clamp(generator.low, generator.high)
        with evaluating(self.judge) as classifier:
            logits = classifier(x_adv)
        adversarial = cw_margin_loss(
            logits, self.classes(y), self.kappa, self.target_class is not None
        )
        gan = self.gan.generator(self.networks["D"](x_adv))
        hinge = perturbation_hinge(x_adv - x, self.norm_bound)
        loss = adversarial + self.alpha * gan + self.beta * hinge
        hit = (
            logits.argmax(1) != y
            if self.target_class is None
            else logits.argmax(1) == self.target_class
        )
        return {
            "loss": loss,
            "adv": adversarial.detach(),
            "gan": gan.detach(),
            "hinge": hinge.detach(),
            "fooled": hit.float().mean(),
        }

    def distill_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        """Static distillation: the surrogate learns the target's labels of the clean images."""
        x = batch[0]
        return self._distill(x)

    def dynamic_distill_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        """Dynamic distillation: the target's labels of the clean and the perturbed images."""
        x = batch[0]
        with torch.no_grad():
            x_adv = self.networks["G"].perturb(x)
        return self._distill(torch.cat([x, x_adv]))

    def _distill(self, x: Tensor) -> dict[str, Tensor]:
        labels = _answers(self.networks["target"], x)
        with training_mode(self.networks["S"]) as surrogate:
            logits = surrogate(x)
        loss = nn.functional.cross_entropy(logits, labels)
        agreement = (logits.argmax(1) == labels).float().mean()
        return {"loss": loss, "agreement": agreement.detach()}


class AdvGANDefenceModule(AdvGANModule):
    """Adversarial training with AdvGAN examples: ``D``, ``G`` (against the classifier as it
    is, frozen and in eval mode for that step) and ``target``: the classifier trained on
    ``clean_weight`` x clean + the rest x the generator's adversarial images."""

    def __init__(self, *args: Any, clean_weight: float = 0.5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clean_weight = clean_weight

    def trained_networks(self) -> tuple[str, ...]:
        return ("G", "D", "target")

    def attack_steps(self) -> list[Step]:
        return [*super().attack_steps(), Step("target", self.classifier_step, "target")]

    def classifier_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        x, y = batch[0], batch[1]
        with torch.no_grad():
            x_adv = self.networks["G"].perturb(x)
        with training_mode(self.networks["target"]) as classifier:
            logits = classifier(torch.cat([x, x_adv]))
        clean_logits, adv_logits = logits.split([len(x), len(x)])
        clean = nn.functional.cross_entropy(clean_logits, y)
        adversarial = nn.functional.cross_entropy(adv_logits, y)
        loss = self.clean_weight * clean + (1 - self.clean_weight) * adversarial
        return {"loss": loss, "clean": clean.detach(), "adversarial": adversarial.detach()}


class ClassifierModule(GANModule):
    """A classifier ``C`` trained on clean images, or with PGD examples (Madry et al. 2018).

    Args:
        classifier: images -> logits.
        lr: Adam's learning rate.
        eps: the PGD examples' L-infinity bound (``None``: clean training).
        pgd_steps, pgd_step_size: the training attack (random start).
        clean_weight: the clean cross-entropy's weight (Madry et al.: 0); the adversarial
            one gets the rest.
        low, high: the images' value range.
    """

    generator_name = "C"

    def __init__(
        self,
        classifier: nn.Module,
        *,
        lr: float = 1e-3,
        eps: float | None = None,
        pgd_steps: int = 10,
        pgd_step_size: float = 0.04,
        clean_weight: float = 0.0,
        low: float = 0.0,
        high: float = 1.0,
    ) -> None:
        super().__init__()
        self.networks = {"C": classifier}
        self.lr, self.eps = lr, eps
        self.pgd_steps, self.pgd_step_size, self.clean_weight = (
            pgd_steps,
            pgd_step_size,
            clean_weight,
        )
        self.low, self.high = low, high

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"C": torch.optim.Adam(self.networks["C"].parameters(), self.lr)}

    def phases(self) -> list[Phase]:
        name = "clean" if self.eps is None else "pgd"
        return [Phase(name, [Step("C", self.step, "C")])]

    def step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        x, y = batch[0], batch[1]
        classifier = self.networks["C"]
        if self.eps is None:
            with training_mode(classifier):
                loss = nn.functional.cross_entropy(classifier(x), y)
            return {"loss": loss}
        x_adv = pgd(
            classifier,
            x,
            y,
            self.eps,
            steps=self.pgd_steps,
            step_size=self.pgd_step_size,
            low=self.low,
            high=self.high,
            generator=ctx.generator(),
        )
        with training_mode(classifier):
            logits = classifier(torch.cat([x, x_adv]))
        clean_logits, adv_logits = logits.split([len(x), len(x)])
        clean = nn.functional.cross_entropy(clean_logits, y)
        adversarial = nn.functional.cross_entropy(adv_logits, y)
        loss = self.clean_weight * clean + (1 - self.clean_weight) * adversarial
        return {"loss": loss, "clean": clean.detach(), "adversarial": adversarial.detach()}
