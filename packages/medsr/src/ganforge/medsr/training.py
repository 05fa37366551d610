"""The two-stage recipe: PSNR-oriented pretraining, then adversarial fine-tuning.

:class:`MedSRModule` is what the core :class:`~ganforge.core.training.Trainer` runs.
Batches are ``(lr, hr)`` or ``(lr, hr, roi_mask)`` tensors.

- ``"pretrain"`` phase: one generator step on the pixel losses
  (L1 + gradient difference + ROI MSE), with its own Adam optimizer (``"G_pixel"``).
- ``"adversarial"`` phase: a discriminator step (MONAI PatchDiscriminator logits,
  the core's adversarial loss, relativistic-average by default as in ESRGAN), then a
  generator step on L1 + perceptual + adversarial + gradient difference + ROI, with a
  fresh Adam optimizer (``"G"``) at the fine-tuning learning rate. With both stages,
  the phase first keeps a copy of the pretrained generator; it is part of the
  module's checkpointed state, so a resumed run still has it.

:class:`MedicalSR` wraps both stages for users: ``fit()`` runs them as the two phases
of one core trainer run on random aligned patches (so one ``latest.pt`` resumes
either) and keeps both generators; ``save()`` writes either one as a model file that
:class:`~ganforge.medsr.enhance.Enhancer` reads.
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
from ganforge.core.training.distributed import resolve_device
from ganforge.medsr.data import PairedPatchSource
from ganforge.medsr.degradation import Degradation
from ganforge.medsr.losses import LossWeights, PerceptualLoss, pixel_losses, weighted_total
from ganforge.medsr.networks import GeneratorConfig, PatchLogits, SRGenerator, patch_min_size

STAGES = ("pretrain", "adversarial", "both")
MODEL_FORMAT = "ganforge-medsr-model-v1"
#: Default length of each stage, used by the module, ``MedicalSR.fit`` and the CLI.
PRETRAIN_ITERATIONS = 2000
ADVERSARIAL_ITERATIONS = 1000


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
        adversarial_g_lr: float | None = None,
        pretrain_iterations: int = PRETRAIN_ITERATIONS,
        r1_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if r1_weight < 0:
            raise ValueError(f"r1_weight must be >= 0, got {r1_weight!r}")
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
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
        keep = Step(
            "keep_pretrained", self.keep_pretrained, None, needs_batch=False, log_outputs=False
        )
        return [
            Phase("pretrain", pretrain, iterations=self.pretrain_iterations),
            Phase("adversarial", [keep, *adversarial]),
        ]

    def keep_pretrained(self, batch: Any, ctx: StepContext | None) -> dict[str, torch.Tensor]:
        """Keep a copy of the generator as pretraining left it (once, on entering
        the adversarial phase); see :meth:`pretrained_generator`."""
        if self.pretrained_state is None:
            state = self.networks["G"].state_dict()
            self.pretrained_state = {k: v.detach().clone() for k, v in state.items()}
        return {}

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
        """Restore what :meth:`extra_state` returned."""
        self.pretrained_state = state.get("pretrained_generator")

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
        vgg_weights: local VGG19 weights for the perceptual term; ``None``: offline
            fallback. The file is read and checked here, before any training.
        r1_weight: R1 penalty weight of the discriminator (0: off).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; checked here.
        seed: seeds data, noise and initialisation.

    Raises:
        ValueError: an unknown or absent device, or a VGG weights file that is not a
            torchvision VGG19 state dict loadable with ``weights_only=True``.
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
        resolve_device(device)
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
        self.perceptual = None if vgg_weights is None else PerceptualLoss(spatial_dims, vgg_weights)
        self.device, self.seed = device, seed
        self.generators: dict[str, SRGenerator] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}

    def fit(
        self,
        hr: torch.Tensor,
        pretrain_iterations: int = PRETRAIN_ITERATIONS,
        adversarial_iterations: int = ADVERSARIAL_ITERATIONS,
        batch_size: int = 16,
        patch_size: int = 64,
        run_dir: str | Path | None = None,
        progress: bool = True,
        g_lr: float = 2e-4,
        d_lr: float = 1e-4,
        roi: torch.Tensor | None = None,
        checkpoint_every: int | None = None,
        resume_from: str | Path | None = None,
    ) -> MedicalSR:
        """Train both stages on HR images ``(N, 1, *spatial)`` in [0, 1].

        The stages are two phases of one core trainer run: ``pretrain_iterations`` of
        pixel-loss pretraining (generator learning rate ``g_lr``), then
        ``adversarial_iterations`` of adversarial fine-tuning (``g_lr / 2``, fresh
        optimizer). Either may be 0, not both.

        ``roi``: optional region-of-interest masks of the same shape as ``hr`` (values
        in [0, 1]); they switch on the ROI-weighted MSE term (weight ``weights.roi``).

        The pretrained (PSNR-oriented) generator is kept as ``generators["pretrain"]``
        and the fine-tuned one as ``generators["adversarial"]``. With ``run_dir`` the
        trainer keeps its run log and checkpoints there (``latest.pt``, and
        ``checkpoint_*.pt`` every ``checkpoint_every`` iterations), and at the end both
        generators are written there as ``psnr_model.pt`` and ``gan_model.pt``.
        ``resume_from`` (e.g. ``run_dir / "latest.pt"`` of a killed run, same data and
        arguments) continues exactly: the result is identical to an uninterrupted run.

        Raises:
            ValueError: bad arguments (checked before anything is trained or written).
        """
        stages = self.check_fit_arguments(
            pretrain_iterations, adversarial_iterations, batch_size, patch_size
        )
        stage = stages[0] if len(stages) == 1 else "both"
        torch.manual_seed(self.seed)
        source = PairedPatchSource(
            hr, self.degradation, patch_size, batch_size, seed=self.seed, roi=roi
        )
        module = self._module(stage, pretrain_iterations, g_lr, d_lr)
        total = pretrain_iterations + adversarial_iterations
        config = TrainerConfig(
            iterations=total,
            batch_size=batch_size,
            seed=self.seed,
            run_dir=run_dir,
            device=self.device,
            log_every=max(1, total // 50),
            checkpoint_every=checkpoint_every,
            progress=progress,
            tensorboard=False,
        )
        trainer = Trainer(module, config).fit(source, resume_from=resume_from)
        self._keep(module, stage, trainer.history, pretrain_iterations)
        if run_dir is not None:
            for kept in self.generators:
                name = "psnr_model.pt" if kept == "pretrain" else "gan_model.pt"
                self.save(Path(run_dir) / name, stage=kept)
        return self

    def check_fit_arguments(
        self,
        pretrain_iterations: int = PRETRAIN_ITERATIONS,
        adversarial_iterations: int = ADVERSARIAL_ITERATIONS,
        batch_size: int = 16,
        patch_size: int = 64,
    ) -> tuple[str, ...]:
        """Check :meth:`fit`'s schedule and patch arguments without training.

        Returns:
            the stages that will be trained, in order (``"pretrain"``, ``"adversarial"``).

        Raises:
            ValueError: a negative stage length or both 0, a batch size below 1, a patch
                size that is not a positive multiple of the scale, or one too small for
                the discriminator of the adversarial stage.
        """
        lengths = {"pretrain": pretrain_iterations, "adversarial": adversarial_iterations}
        for name, value in lengths.items():
            if not _is_int(value) or value < 0:
                raise ValueError(f"{name}_iterations must be an integer >= 0, got {value!r}")
        stages = tuple(name for name, value in lengths.items() if value > 0)
        if not stages:
            raise ValueError(
                "nothing to train: pretrain_iterations and adversarial_iterations are both 0"
            )
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        scale = self.degradation.scale
        if not _is_int(patch_size) or patch_size < scale or patch_size % scale:
            raise ValueError(
                f"patch_size must be a positive multiple of the scale {scale}, got {patch_size!r}"
            )
        if "adversarial" in stages and patch_size < patch_min_size():
            raise ValueError(
                f"patch_size {patch_size} is too small for the discriminator of the "
                f"adversarial stage: use at least {patch_min_size()}"
            )
        return stages

    def _module(
        self, stage: str, pretrain_iterations: int, g_lr: float, d_lr: float
    ) -> MedSRModule:
        generator = SRGenerator(self.generator_config)
        discriminator = None
        if stage != "pretrain":
            discriminator = PatchLogits(self.generator_config.spatial_dims)
        perceptual = None
        if stage != "pretrain" and self.weights.perceptual > 0:
            perceptual = self.perceptual or PerceptualLoss(self.generator_config.spatial_dims)
        return MedSRModule(
            generator,
            discriminator,
            stage=stage,
            weights=self.weights,
            adversarial_loss=self.adversarial_loss,
            perceptual=perceptual,
            g_lr=g_lr,
            d_lr=d_lr,
            adversarial_g_lr=g_lr / 2,
            pretrain_iterations=max(pretrain_iterations, 1),
            r1_weight=self.r1_weight,
        )

    def _keep(
        self,
        module: MedSRModule,
        stage: str,
        history: list[dict[str, Any]],
        pretrain_iterations: int,
    ) -> None:
        """Keep the trained generators and split the run's records by stage."""
        self.generators, self.history = {}, {}
        final = copy.deepcopy(module.networks["G"]).cpu().eval()
        if stage != "adversarial":
            self.generators["pretrain"] = module.pretrained_generator()
            self.history["pretrain"] = [r for r in history if r["iteration"] <= pretrain_iterations]
        if stage != "pretrain":
            self.generators["adversarial"] = final
            self.history["adversarial"] = [
                r for r in history if r["iteration"] > pretrain_iterations
            ]

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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
