"""The two-stage recipe: PSNR-oriented pretraining, then adversarial fine-tuning.

:class:`MedSRModule` is what the core :class:`~ganforge.core.training.Trainer` runs.
Batches are ``(lr, hr)`` or ``(lr, hr, roi_mask)`` tensors.

- ``"pretrain"`` phase: one generator step on the pixel losses
  (L1 + gradient difference + ROI MSE).
- ``"adversarial"`` phase: a discriminator step (MONAI PatchDiscriminator logits,
  the core's adversarial loss, relativistic-average by default as in ESRGAN), then a
  generator step on L1 + perceptual + adversarial + gradient difference + ROI.

:class:`MedicalSR` wraps the two stages for users: ``fit()`` trains both with the
core trainer on random aligned patches and keeps both generators; ``save()`` writes
either one as a model file that :class:`~ganforge.medsr.enhance.Enhancer` reads.
"""

from __future__ import annotations

import copy
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ganforge.core.checkpoint import load_checkpoint, save_checkpoint
from ganforge.core.losses import get_loss
from ganforge.core.regularizers import r1_penalty
from ganforge.core.training import GANModule, Phase, Step, StepContext, Trainer, TrainerConfig
from ganforge.medsr.data import PairedPatchSource
from ganforge.medsr.degradation import Degradation
from ganforge.medsr.losses import LossWeights, PerceptualLoss, pixel_losses, weighted_total
from ganforge.medsr.networks import GeneratorConfig, PatchLogits, SRGenerator

STAGES = ("pretrain", "adversarial", "both")
MODEL_FORMAT = "ganforge-medsr-model-v1"


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
        g_lr, d_lr: Adam learning rates.
        pretrain_iterations: length of the pretraining phase when ``stage="both"``.
        r1_weight: weight of the core's R1 gradient penalty on real HR patches (0: off).
    """

    def __init__(
        self,
        generator: SRGenerator,
        discriminator: torch.nn.Module | None = None,
        *,
        stage: str = "both",
        weights: LossWeights | None = None,
        adversarial_loss: str = "relativistic_average",
        perceptual: PerceptualLoss | None = None,
        g_lr: float = 2e-4,
        d_lr: float = 1e-4,
        pretrain_iterations: int = 1000,
        r1_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if r1_weight < 0:
            raise ValueError(f"r1_weight must be >= 0, got {r1_weight!r}")
        self.r1_weight = r1_weight
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        if stage != "pretrain" and discriminator is None:
            raise ValueError(f"stage {stage!r} needs a discriminator")
        self.stage, self.pretrain_iterations = stage, pretrain_iterations
        self.weights = weights or LossWeights()
        self.adversarial = get_loss(adversarial_loss)
        self.g_lr, self.d_lr = g_lr, d_lr
        self.networks = {"G": generator}
        if discriminator is not None:
            self.networks["D"] = discriminator
        if stage != "pretrain" and self.weights.perceptual > 0:
            self.perceptual = perceptual or PerceptualLoss(generator.spatial_dims)
        else:
            self.perceptual = None

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizers = {
            "G": torch.optim.Adam(self.networks["G"].parameters(), self.g_lr, betas=(0.9, 0.99))
        }
        if "D" in self.networks:
            optimizers["D"] = torch.optim.Adam(
                self.networks["D"].parameters(), self.d_lr, betas=(0.9, 0.99)
            )
        return optimizers

    def phases(self) -> list[Phase]:
        pretrain = [Step("G_pixel", self.pixel_step, "G")]
        adversarial = [Step("D", self.d_step, "D"), Step("G", self.g_step, "G")]
        if self.stage == "pretrain":
            return [Phase("pretrain", pretrain)]
        if self.stage == "adversarial":
            return [Phase("adversarial", adversarial)]
        return [
            Phase("pretrain", pretrain, iterations=self.pretrain_iterations),
            Phase("adversarial", adversarial),
        ]

    def pixel_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """PSNR-oriented step: L1 + gradient difference + ROI."""
        lr, hr, roi = _unpack(batch)
        terms = pixel_losses(self.networks["G"](lr), hr, roi)
        return {"loss": weighted_total(terms, self.weights), **_detached(terms)}

    def d_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
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

    def g_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Generator step: pixel terms + perceptual + adversarial."""
        lr, hr, roi = _unpack(batch)
        sr = self.networks["G"](lr)
        terms = pixel_losses(sr, hr, roi)
        if self.perceptual is not None:
            terms["perceptual"] = self.perceptual(sr, hr)
        d = self.networks["D"]
        with torch.no_grad():
            real_logits = d(hr)
        terms["adversarial"] = self.adversarial.generator(d(sr), real_logits)
        return {"loss": weighted_total(terms, self.weights), **_detached(terms)}


def _detached(terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: value.detach() for name, value in terms.items()}


def save_model(
    path: str | Path,
    generator: SRGenerator,
    degradation: Degradation,
    stage: str,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write an inference model file: generator weights + config + degradation model."""
    state = {
        "format": MODEL_FORMAT,
        "stage": stage,
        "generator_config": generator.config.to_dict(),
        "degradation": asdict(degradation),
        "state_dict": {k: v.detach().cpu() for k, v in generator.state_dict().items()},
        "extra": extra or {},
    }
    return save_checkpoint(path, state)


def load_model(path: str | Path) -> tuple[SRGenerator, Degradation, str]:
    """Read a model file written by :func:`save_model` (safe: ``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such model file")
    try:
        state = load_checkpoint(path)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable model file ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: not a ganforge medsr model file (missing format tag)")
    generator = SRGenerator(GeneratorConfig(**state["generator_config"]))
    generator.load_state_dict(state["state_dict"])
    generator.eval()
    return generator, Degradation(**state["degradation"]), str(state["stage"])


class MedicalSR:
    """Two-stage medical super-resolution: ``fit()`` then ``save()`` / ``enhancer()``.

    Example::

        sr = MedicalSR(scale=2, degradation="kspace").fit(mni152_slices("train"))
        sr.save("psnr.pt", stage="pretrain"); sr.save("gan.pt", stage="adversarial")
        result = sr.enhancer(stage="adversarial").enhance("scan.nii.gz")

    Args:
        scale: 2 or 4.
        spatial_dims: 2 (slices / images) or 3 (volumes).
        degradation: a :class:`Degradation` or its kind (``"kspace"``, ``"psf"``,
            ``"bicubic"``) used to make the LR training images.
        noise_std: noise of the degradation when ``degradation`` is a kind.
        generator: generator hyper-parameters (scale / spatial_dims are taken from above).
        weights: loss weights.
        adversarial_loss: core loss name.
        vgg_weights: local VGG19 weights for the perceptual term; ``None``: offline fallback.
        r1_weight: R1 penalty weight of the discriminator (0: off).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        seed: seeds data, noise and initialisation.
    """

    def __init__(
        self,
        scale: int = 2,
        spatial_dims: int = 2,
        degradation: str | Degradation = "kspace",
        noise_std: float = 0.0,
        generator: GeneratorConfig | None = None,
        weights: LossWeights | None = None,
        adversarial_loss: str = "relativistic_average",
        vgg_weights: str | Path | None = None,
        r1_weight: float = 0.0,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        self.r1_weight = r1_weight
        if isinstance(degradation, str):
            degradation = Degradation(degradation, scale, spatial_dims, noise_std)
        if (degradation.scale, degradation.spatial_dims) != (scale, spatial_dims):
            raise ValueError("degradation scale / spatial_dims differ from the model's")
        self.degradation = degradation
        base = asdict(generator) if generator is not None else {}
        base.update(scale=scale, spatial_dims=spatial_dims)
        self.generator_config = GeneratorConfig(**base)
        self.weights = weights or LossWeights()
        self.adversarial_loss, self.vgg_weights = adversarial_loss, vgg_weights
        self.device, self.seed = device, seed
        self.generators: dict[str, SRGenerator] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}

    def fit(
        self,
        hr: torch.Tensor,
        pretrain_iterations: int = 2000,
        adversarial_iterations: int = 1000,
        batch_size: int = 16,
        patch_size: int = 64,
        run_dir: str | Path | None = None,
        progress: bool = True,
        g_lr: float = 2e-4,
        d_lr: float = 1e-4,
        roi: torch.Tensor | None = None,
    ) -> MedicalSR:
        """Train both stages on HR images ``(N, 1, *spatial)`` in [0, 1].

        ``roi``: optional region-of-interest masks of the same shape as ``hr`` (values
        in [0, 1]); they switch on the ROI-weighted MSE term (weight ``weights.roi``).

        The pretrained (PSNR-oriented) generator is kept as ``generators["pretrain"]``
        and the fine-tuned one as ``generators["adversarial"]``; with ``run_dir`` both
        are written as ``psnr_model.pt`` and ``gan_model.pt`` and each stage keeps its
        trainer checkpoints in a sub-folder.
        """
        torch.manual_seed(self.seed)
        source = PairedPatchSource(
            hr, self.degradation, patch_size, batch_size, seed=self.seed, roi=roi
        )
        generator = SRGenerator(self.generator_config)
        run_dir = None if run_dir is None else Path(run_dir)
        stages = [("pretrain", pretrain_iterations), ("adversarial", adversarial_iterations)]
        for stage, iterations in stages:
            if iterations <= 0:
                continue
            discriminator = None
            if stage == "adversarial":
                discriminator = PatchLogits(self.generator_config.spatial_dims)
            perceptual = None
            if stage == "adversarial" and self.weights.perceptual > 0:
                perceptual = PerceptualLoss(self.generator_config.spatial_dims, self.vgg_weights)
            module = MedSRModule(
                generator,
                discriminator,
                stage=stage,
                weights=self.weights,
                adversarial_loss=self.adversarial_loss,
                perceptual=perceptual,
                g_lr=g_lr if stage == "pretrain" else g_lr / 2,
                d_lr=d_lr,
                r1_weight=self.r1_weight,
            )
            config = TrainerConfig(
                iterations=iterations,
                batch_size=batch_size,
                seed=self.seed,
                run_dir=None if run_dir is None else run_dir / stage,
                device=self.device,
                log_every=max(1, iterations // 50),
                progress=progress,
                tensorboard=False,
            )
            trainer = Trainer(module, config).fit(source)
            generator = trainer.module.networks["G"]
            self.generators[stage] = copy.deepcopy(generator).cpu().eval()
            self.history[stage] = list(trainer.history)
            if run_dir is not None:
                name = "psnr_model.pt" if stage == "pretrain" else "gan_model.pt"
                self.save(run_dir / name, stage=stage)
        return self

    def _generator(self, stage: str) -> SRGenerator:
        if stage not in self.generators:
            trained = sorted(self.generators) or "none"
            raise ValueError(f"stage {stage!r} has not been trained (trained: {trained})")
        return self.generators[stage]

    def save(self, path: str | Path, stage: str = "adversarial") -> Path:
        """Write the generator of ``stage`` as a model file for :class:`Enhancer`."""
        return save_model(path, self._generator(stage), self.degradation, stage)

    def enhancer(self, stage: str = "adversarial", **kwargs: Any):
        """An :class:`~ganforge.medsr.enhance.Enhancer` for the generator of ``stage``."""
        from ganforge.medsr.enhance import Enhancer

        return Enhancer(self._generator(stage), self.degradation, **kwargs)
