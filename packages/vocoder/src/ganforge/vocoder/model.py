"""Vocoder: waveforms in for training, mel spectrograms in and waveforms out afterwards.

Example::

    vocoder = Vocoder(VocoderSpec(generator="hifigan_v2", iterations=20_000))
    vocoder.fit(load_audio_folder("LJSpeech-1.1").waveforms())
    vocoder.save("ljspeech.vocoder")
    audio = Vocoder.from_file("ljspeech.vocoder")(mel)   # (B, 80, frames) -> (B, frames * 256)

The model file holds the spec and the generator's weights (with weight norm, as
trained); inference runs on a copy with weight norm folded into the weights.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ganforge.core.modelfile import ModelFile
from ganforge.core.settings import check_integer, check_positive
from ganforge.core.training.gan_model import GANModel, TrainingPlan
from ganforge.core.training.loader import LoaderBatches
from ganforge.vocoder.audio import SEGMENT_LENGTH, SegmentDataset
from ganforge.vocoder.discriminators import DISCRIMINATOR_KINDS, Discriminators
from ganforge.vocoder.generators import (
    DEFAULT_GENERATOR,
    build_generator,
    check_hop,
    generator_config,
)
from ganforge.vocoder.losses import PUBLISHED_WEIGHTS, LossWeights
from ganforge.vocoder.mel import MelConfig, MelSpectrogram
from ganforge.vocoder.training import BETAS, LEARNING_RATE, VocoderModule

PathLike = str | os.PathLike[str]
MEL_FIELDS = tuple(f.name for f in dataclasses.fields(MelConfig))


def _tuples(value: Any) -> Any:
    """Lists as tuples, recursively (model files store JSON lists)."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


@dataclass
class VocoderSpec:
    """Every setting of a :class:`Vocoder` (checked on construction, one-line errors).

    Attributes:
        generator: ``"melgan"`` (default), ``"hifigan_v1"``, ``"hifigan_v2"`` or ``"hifigan_v3"``.
        generator_options: overrides of the generator's config (``{"channels": 64}``).
        discriminators: ``"msd"`` (MelGAN multi-scale), ``"mpd"`` (HiFi-GAN
            multi-period) or both.
        discriminator_options: keyword arguments per kind (``{"msd": {"channels": 8}}``).
        loss_weights: a recipe of :data:`~ganforge.vocoder.PUBLISHED_WEIGHTS`.
        stft_weight: weight of the multi-resolution STFT term (``None``: the recipe's).
        sample_rate ... fmax: the mel front end (HiFi-GAN / Tacotron 2 convention).
        segment_length: samples per training segment (a multiple of the hop).
        batch_size, iterations: the training run.
        warmup_iterations: the first iterations train the generator alone on its
            spectral terms (mel L1 and STFT), before the discriminators start
            (Parallel WaveGAN's schedule); counted within ``iterations``.
        lr, betas: AdamW's settings; lr_decay: exponential decay per iteration or ``None``.
        seed: seeds initialisation, crops and batches; device: ``"auto"``, ``"cpu"``, ``"cuda"``.
    """

    generator: str = DEFAULT_GENERATOR
    generator_options: dict[str, Any] = field(default_factory=dict)
    discriminators: tuple[str, ...] = DISCRIMINATOR_KINDS
    discriminator_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    loss_weights: str = "hifigan"
    stft_weight: float | None = None
    # the front end's settings, with MelConfig's defaults (the one place they are set)
    sample_rate: int = MelConfig.sample_rate
    n_fft: int = MelConfig.n_fft
    hop_length: int = MelConfig.hop_length
    win_length: int = MelConfig.win_length
    n_mels: int = MelConfig.n_mels
    fmin: float = MelConfig.fmin
    fmax: float | None = MelConfig.fmax
    segment_length: int = SEGMENT_LENGTH
    batch_size: int = 16
    iterations: int = 10_000
    warmup_iterations: int = 0
    lr: float = LEARNING_RATE
    betas: tuple[float, float] = BETAS
    lr_decay: float | None = None
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        self.generator_options = {k: _tuples(v) for k, v in dict(self.generator_options).items()}
        self.discriminators = tuple(self.discriminators)
        self.discriminator_options = {
            kind: {k: _tuples(v) for k, v in dict(options).items()}
            for kind, options in dict(self.discriminator_options).items()
        }
        self.betas = tuple(float(b) for b in self.betas)
        config = generator_config(self.generator, **self.generator_options)
        mel = self.mel_config()  # checks the front end's own settings
        check_hop(config, mel.hop_length, name=f"generator {self.generator!r}")
        unknown = [k for k in self.discriminators if k not in DISCRIMINATOR_KINDS]
        if (
            not self.discriminators
            or unknown
            or len(set(self.discriminators)) != len(self.discriminators)
        ):
            raise ValueError(
                f"discriminators must be distinct names from {DISCRIMINATOR_KINDS}, "
                f"got {self.discriminators}"
            )
        stray = sorted(set(self.discriminator_options) - set(self.discriminators))
        if stray:
            raise ValueError(f"discriminator_options names kinds not in use: {stray}")
        if self.loss_weights not in PUBLISHED_WEIGHTS:
            raise ValueError(
                f"unknown loss_weights {self.loss_weights!r}; "
                f"choose one of: {', '.join(PUBLISHED_WEIGHTS)}"
            )
        self.weights()  # checks stft_weight
        for name in ("segment_length", "batch_size", "iterations"):
            check_integer(name, getattr(self, name), 1)
        if self.segment_length % mel.hop_length or self.segment_length <= mel.padding:
            raise ValueError(
                f"segment_length {self.segment_length} must be a multiple of the hop length "
                f"{mel.hop_length} and longer than {mel.padding} samples"
            )
        check_integer("warmup_iterations", self.warmup_iterations, 0)
        if self.warmup_iterations > self.iterations:
            raise ValueError(
                f"warmup_iterations {self.warmup_iterations} is more than iterations "
                f"{self.iterations}"
            )
        weights = self.weights()
        if self.warmup_iterations and not (weights.mel or weights.stft):
            raise ValueError(
                f"loss_weights {self.loss_weights!r} has no mel or STFT term for the warm-up: "
                "set stft_weight or warmup_iterations=0"
            )
        check_positive("lr", self.lr)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.lr_decay is not None and not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1] or None, got {self.lr_decay}")
        check_integer("seed", self.seed, 0)

    def mel_config(self) -> MelConfig:
        """The mel front end these settings describe."""
        return MelConfig(
            **{name: getattr(self, name) for name in MEL_FIELDS if hasattr(self, name)}
        )

    def weights(self) -> LossWeights:
        """The loss weights: the named recipe, with ``stft_weight`` when given."""
        weights = PUBLISHED_WEIGHTS[self.loss_weights]
        if self.stft_weight is None:
            return weights
        return dataclasses.replace(weights, stft=float(self.stft_weight))


class Vocoder(GANModel[VocoderSpec]):
    """A MelGAN / HiFi-GAN vocoder: ``fit(waveforms)``, then ``vocoder(mel) -> waveform``.

    Args:
        spec: the settings (default: MelGAN with HiFi-GAN's objective and both
            discriminators); keyword ``options`` are :class:`VocoderSpec` fields.
    """

    kind = "vocoder.Vocoder"
    spec_type = VocoderSpec

    def __init__(self, spec: VocoderSpec | None = None, **options: Any) -> None:
        if spec is not None and options:
            raise ValueError("pass either a VocoderSpec or its fields as keywords, not both")
        super().__init__(spec if spec is not None else VocoderSpec(**options))
        self.generator: nn.Module | None = None
        self._inference: nn.Module | None = None
        self.front_end = MelSpectrogram(self.spec.mel_config())

    # ------------------------------------------------------------------ fit
    def dataset(self, data: SegmentDataset | Sequence[np.ndarray | Tensor]) -> SegmentDataset:
        """``data`` as training segments (a :class:`SegmentDataset` is used as it is)."""
        spec = self.spec
        if isinstance(data, SegmentDataset):
            if data.segment_length != spec.segment_length or data.hop_length != spec.hop_length:
                raise ValueError(
                    f"the SegmentDataset cuts {data.segment_length} samples with hop "
                    f"{data.hop_length}; the spec needs {spec.segment_length} with hop "
                    f"{spec.hop_length}"
                )
            return data
        waveforms = [
            w.detach().cpu().numpy() if isinstance(w, Tensor) else np.asarray(w) for w in data
        ]
        return SegmentDataset(
            waveforms, spec.segment_length, hop_length=spec.hop_length, seed=spec.seed
        )

    def plan(self, data: Any, resume_from: Path | None) -> TrainingPlan:
        spec = self.spec
        dataset = self.dataset(data)
        if len(dataset) < spec.batch_size:
            raise ValueError(
                f"the audio gives {len(dataset)} training segments, fewer than batch_size "
                f"{spec.batch_size}: lower batch_size or add audio"
            )
        module = VocoderModule(
            self._build_generator(),
            Discriminators(spec.discriminators, **spec.discriminator_options),
            mel_config=spec.mel_config(),
            weights=spec.weights(),
            lr=spec.lr,
            betas=spec.betas,
            lr_decay=spec.lr_decay,
            warmup_iterations=spec.warmup_iterations,
        )
        batches = LoaderBatches(dataset, spec.batch_size, seed=spec.seed)
        options = {"log_every": max(1, min(100, spec.iterations // 50))}
        return TrainingPlan(module, batches, spec.iterations, spec.batch_size, options)

    def fitted(self, module: VocoderModule) -> None:
        self.generator = module.networks["G"].eval()
        self._inference = None

    def _build_generator(self) -> nn.Module:
        spec = self.spec
        return build_generator(
            spec.generator, hop=spec.hop_length, n_mels=spec.n_mels, **spec.generator_options
        )

    # ------------------------------------------------------------ file
    def file_state(self) -> dict[str, nn.Module]:
        self._check_fitted()
        return {"G": self.generator}

    def restore(self, file: ModelFile, device: torch.device) -> None:
        generator = self._build_generator()
        generator.load_state_dict(file.state["G"])
        self.generator = generator.to(device).eval()
        self._inference = None
        self.front_end = MelSpectrogram(self.spec.mel_config())

    @classmethod
    def from_file(cls, path: PathLike, device: str | torch.device = "auto") -> Vocoder:
        """A saved vocoder on ``device`` (``"auto"``: CUDA when present)."""
        return cls.load(path, device)  # type: ignore[return-value]

    # -------------------------------------------------------------- inference
    def _check_fitted(self) -> None:
        if self.generator is None:
            raise ValueError("the vocoder is not trained: call fit(...) or from_file(path) first")

    def inference_generator(self) -> nn.Module:
        """A copy of the generator with weight norm folded in, in eval mode."""
        self._check_fitted()
        if self._inference is None:
            # a fresh copy (deep-copying parametrized modules is unreliable)
            inference = self._build_generator()
            inference.load_state_dict(self.generator.state_dict())
            device = next(self.generator.parameters()).device
            inference = inference.to(device).remove_weight_norm().eval()
            for parameter in inference.parameters():
                parameter.requires_grad_(False)
            self._inference = inference
        return self._inference

    def mel(self, waveform: np.ndarray | Tensor) -> Tensor:
        """The log-mel of ``waveform`` (``(T,)`` or ``(B, T)``) in this vocoder's convention."""
        audio = torch.as_tensor(np.asarray(waveform, dtype=np.float32))
        with torch.no_grad():
            return self.front_end(audio)

    def __call__(self, mel: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Waveform(s) ``(B, frames * hop)`` (``(frames * hop,)`` for one mel) from log-mels
        ``(B, n_mels, frames)`` or ``(n_mels, frames)``; numpy in, numpy out."""
        generator = self.inference_generator()
        as_numpy = isinstance(mel, np.ndarray)
        x = torch.as_tensor(mel, dtype=torch.float32)
        single = x.dim() == 2
        if single:
            x = x.unsqueeze(0)
        if x.dim() != 3 or x.size(1) != self.spec.n_mels:
            raise ValueError(
                f"mel must be ({self.spec.n_mels}, frames) or (B, {self.spec.n_mels}, frames), "
                f"got shape {tuple(x.shape)}"
            )
        device = next(generator.parameters()).device
        with torch.no_grad():
            audio = generator(x.to(device)).squeeze(1).cpu()
        audio = audio[0] if single else audio
        return audio.numpy() if as_numpy else audio
