"""MedicalSR: HR images in, a PSNR-oriented and a GAN generator out, one model file each."""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path
from typing import Any

import torch

from ganforge.core.modelfile import ModelFile
from ganforge.core.settings import check_known
from ganforge.core.training import Callback, GANModel, TrainingPlan
from ganforge.medsr.data import PairedPatchSource
from ganforge.medsr.degradation import Degradation
from ganforge.medsr.losses import PerceptualLoss
from ganforge.medsr.networks import PatchLogits, SRGenerator
from ganforge.medsr.spec import STAGES, MedicalSRSpec
from ganforge.medsr.training import MedSRModule
from ganforge.medsr.variation import ScannerVariation

PathLike = str | os.PathLike[str]
#: The files ``fit(run_dir=...)`` writes for each stage.
MODEL_NAMES = {"pretrain": "psnr_model.pt", "adversarial": "gan_model.pt"}


class MedicalSR(GANModel[MedicalSRSpec]):
    """Two-stage medical super-resolution: ``fit()``, then ``save()`` / ``enhancer()``.

    Example::

        sr = MedicalSR(scale=2, degradation="kspace").fit(mni152_slices("train"))
        sr.save("psnr.pt", stage="pretrain"); sr.save("gan.pt", stage="adversarial")
        result = MedicalSR.load("gan.pt").enhancer().enhance("scan.nii.gz")

    Args:
        settings: the fields of :class:`MedicalSRSpec` (scale, degradation, generator,
            stage lengths, batch and patch sizes, learning rates, seed, device...);
            ``degradation`` may also be a :class:`Degradation` of the same scale and
            spatial_dims. A VGG weights file is read and checked here, before any training.

    Raises:
        ValueError: an unknown or bad setting, an unknown or absent device, or a VGG
            weights file that is not a torchvision VGG19 state dict loadable with
            ``weights_only=True``.

    Attributes:
        variation: the ranges of scanner variation that ``augmentation="scanner"``
            trains with (:class:`~ganforge.medsr.variation.ScannerVariation`; its
            defaults unless set before ``fit``).
    """

    kind = "medsr.MedicalSR"
    spec_type = MedicalSRSpec

    def __init__(self, **settings: Any) -> None:
        super().__init__(_spec(settings))
        self.perceptual = _perceptual(self.spec)
        self.variation = ScannerVariation()
        self.generators: dict[str, SRGenerator] = {}
        self._file_stage: str | None = None

    @property
    def degradation(self) -> Degradation:
        """The degradation model the generators were trained for."""
        return self.spec.make_degradation()

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        hr: torch.Tensor,
        *,
        roi: torch.Tensor | None = None,
        progress: bool = True,
        run_dir: PathLike | None = None,
        checkpoint_every: int | None = None,
        resume_from: PathLike | None = None,
        callbacks: tuple[Callback, ...] = (),
        **settings: Any,
    ) -> MedicalSR:
        """Train both stages on HR images ``(N, 1, *spatial)`` in [0, 1].

        The stages are two phases of one core trainer run: ``pretrain_iterations`` of
        pixel-loss pretraining, then ``adversarial_iterations`` of adversarial
        fine-tuning. The pretrained (PSNR-oriented) generator is kept as
        ``generators["pretrain"]`` and the fine-tuned one as ``generators["adversarial"]``
        (the moving average of its weights, unless ``ema_decay`` is ``None``).

        Args:
            hr: the HR training images.
            roi: optional region-of-interest masks of the same shape as ``hr`` (values
                in [0, 1]); they switch on the ROI-weighted MSE term.
            progress: show a progress bar.
            run_dir: folder for the run log and checkpoints (``latest.pt``, and
                ``checkpoint_*.pt`` every ``checkpoint_every`` iterations); at the end
                the generators are written there as ``psnr_model.pt`` and ``gan_model.pt``.
            checkpoint_every: iterations between checkpoints (needs ``run_dir``).
            resume_from: a checkpoint of a killed run (same data and settings, e.g.
                ``run_dir / "latest.pt"``); the result is identical to an uninterrupted run.
            callbacks: periodic trainer callbacks.
            settings: spec fields to change before training (``pretrain_iterations=...``).

        Raises:
            ValueError: bad settings or data (checked before anything is trained or written).
        """
        if settings:
            self.spec = _spec({**_fields(self.spec), **settings})
            self.perceptual = _perceptual(self.spec)
        super().fit(
            (hr, roi),
            progress=progress,
            run_dir=run_dir,
            checkpoint_every=checkpoint_every,
            resume_from=resume_from,
            callbacks=callbacks,
        )
        if run_dir is not None:
            for stage in self.generators:
                self.save(Path(run_dir) / MODEL_NAMES[stage], stage=stage)
        return self

    def plan(
        self, data: tuple[torch.Tensor, torch.Tensor | None], resume_from: Path | None
    ) -> TrainingPlan:
        """Patches of the images (this process's share) and the module of both stages."""
        hr, roi = data
        spec = self.spec
        rank, world_size = _process_share()
        source = PairedPatchSource(
            hr,
            self.degradation,
            spec.patch_size,
            spec.batch_size,
            seed=spec.seed,
            roi=roi,
            rank=rank,
            world_size=world_size,
            variation=self._variation(roi),
        )
        options = {"log_every": max(1, spec.iterations // 50)}
        if "adversarial" in spec.stages and spec.ema_decay is not None:
            options["ema_decay"] = spec.ema_decay
        return TrainingPlan(self._module(), source, spec.iterations, spec.batch_size, options)

    def _variation(self, roi: torch.Tensor | None) -> ScannerVariation | None:
        """Scanner variation for ``augmentation="scanner"`` (ROI masks train without it)."""
        if self.spec.augmentation == "scanner" and roi is None:
            return self.variation
        return None

    def _module(self) -> MedSRModule:
        """The training module. The generator is built first, so its initial weights
        depend on the seed alone, not on whether an adversarial stage follows."""
        spec = self.spec
        stages = spec.stages
        adversarial = "adversarial" in stages
        generator = SRGenerator(spec.generator)
        perceptual = None
        if adversarial and spec.weights.perceptual > 0:
            perceptual = self.perceptual or PerceptualLoss(spec.spatial_dims)
        return MedSRModule(
            generator,
            PatchLogits(spec.spatial_dims) if adversarial else None,
            stage=stages[0] if len(stages) == 1 else "both",
            weights=spec.weights,
            adversarial_loss=spec.adversarial_loss,
            perceptual=perceptual,
            g_lr=spec.g_lr,
            d_lr=spec.d_lr,
            adversarial_g_lr=spec.g_lr / 2,
            pretrain_iterations=max(spec.pretrain_iterations, 1),
            r1_weight=spec.r1_weight,
        )

    def fitted(self, module: MedSRModule) -> None:
        """Keep a CPU copy of the generator of every trained stage (the adversarial
        stage's: the trainer's moving average of the weights, when ``ema_decay`` is set)."""
        self.generators = {}
        if module.stage != "adversarial":
            self.generators["pretrain"] = module.pretrained_generator()
        if module.stage != "pretrain":
            averaged = self.trainer.ema  # fit has set the trainer before this runs
            kept = module.networks["G"] if averaged is None else averaged.module
            self.generators["adversarial"] = copy.deepcopy(kept).cpu().eval()

    def stage_history(self, stage: str) -> list[dict[str, Any]]:
        """The logged records of one stage of the last fit (``history`` holds both)."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        boundary = self.spec.pretrain_iterations
        pretraining = stage == "pretrain"
        return [r for r in self.history if (r["iteration"] <= boundary) == pretraining]

    # ------------------------------------------------------ generators, files
    def generator(self, stage: str | None = None) -> SRGenerator:
        """The generator of ``stage`` (default: the last one trained, or the file's)."""
        return self.generators[self._stage(stage)]

    def _stage(self, stage: str | None) -> str:
        if not self.generators:
            raise ValueError("the model is not fitted: call fit(hr) or MedicalSR.load(path) first")
        if stage is None:
            return list(self.generators)[-1]
        if stage not in self.generators:
            trained = ", ".join(self.generators)
            raise ValueError(f"stage {stage!r} has not been trained (trained: {trained})")
        return stage

    def save(self, path: PathLike, stage: str | None = None) -> Path:
        """Write the generator of ``stage`` (default: the last trained) as a model file
        for :meth:`load` and :class:`~ganforge.medsr.Enhancer` (atomic, weights-only)."""
        self._file_stage = self._stage(stage)
        return super().save(path)

    def file_state(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generators[self._file_stage]}

    def file_extra(self) -> dict[str, Any]:
        return {"stage": self._file_stage}

    def restore(self, file: ModelFile, device: torch.device) -> None:
        stage = file.extra["stage"]
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        generator = SRGenerator(self.spec.generator)
        _load_weights(generator, file.state["generator"])
        self.perceptual, self._file_stage = None, stage
        self.generators = {stage: generator.to(device).eval()}

    @classmethod
    def load(cls, path: PathLike, device: str | torch.device = "auto") -> MedicalSR:
        """Load a model file written by :meth:`save` onto ``device`` (safe: weights only).

        Raises:
            CheckpointError: one line for a missing, truncated or damaged file, a file
                of another kind or a newer format.
        """
        return super().load(path, device)

    def enhancer(self, stage: str | None = None, **options: Any):
        """An :class:`~ganforge.medsr.Enhancer` for the generator of ``stage``
        (options: those of the Enhancer; ``device`` defaults to the spec's)."""
        from ganforge.medsr.enhance import Enhancer

        options.setdefault("device", self.spec.device)
        return Enhancer(self.generator(stage), self.degradation, **options)


def _spec(settings: dict[str, Any]) -> MedicalSRSpec:
    """The spec of keyword settings; a :class:`Degradation` becomes its kind and noise."""
    check_known(settings, MedicalSRSpec)
    degradation = settings.get("degradation")
    if isinstance(degradation, Degradation):
        scale = settings.get("scale", MedicalSRSpec.scale)
        dims = settings.get("spatial_dims", MedicalSRSpec.spatial_dims)
        if (degradation.scale, degradation.spatial_dims) != (scale, dims):
            raise ValueError("degradation scale / spatial_dims differ from the model's")
        settings = {**settings, "degradation": degradation.kind, "noise_std": degradation.noise_std}
    return MedicalSRSpec(**settings)


def _load_weights(generator: SRGenerator, state: dict[str, torch.Tensor]) -> None:
    """Load the generator's weights; a mismatch is a one-line ValueError."""
    try:
        generator.load_state_dict(state)
    except RuntimeError as error:
        details = [line.strip() for line in str(error).splitlines()[1:] if line.strip()]
        detail = details[0][:160] if details else type(error).__name__
        raise ValueError(f"its generator weights do not fit its settings ({detail})") from None


def _fields(spec: MedicalSRSpec) -> dict[str, Any]:
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}


def _perceptual(spec: MedicalSRSpec) -> PerceptualLoss | None:
    """The VGG perceptual loss of ``spec.vgg_weights`` (its file checked now), else None."""
    if spec.vgg_weights is None:
        return None
    return PerceptualLoss(spec.spatial_dims, spec.vgg_weights)


def _process_share() -> tuple[int, int]:
    """This process's rank and the world size (``torchrun`` sets them; 0 and 1 without)."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
