"""VisionGAN: any family of the zoo behind one fit / sample / translate / save API.

Example::

    split = load_embedded("mnist")
    gan = VisionGAN(family="dcgan", iterations=2000).fit(split.train)
    images = gan.sample(64)                                   # (64, 1, 28, 28) in [0, 1]
    cgan = VisionGAN(family="cgan").fit(split.train, split.train_labels)
    sevens = cgan.sample(16, labels=7)
    style = VisionGAN(family="stylegan").fit(split.train); style.sample(16, psi=0.7)
    edges, digits, _, _ = paired_edges(split)
    p2p = VisionGAN(family="pix2pix").fit(edges, digits); p2p.translate(edges[:8])
    gan.save("dcgan.pt"); VisionGAN.load("dcgan.pt").sample(8)

Images are ``(N, C, H, W)`` (or ``(N, H, W)``) in [0, 1] or 0-255 integers; the
side must be a multiple of 4 (28, 32; 8 for the 8x8 digits).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganforge.core.modelfile import ModelFile
from ganforge.core.regularizers import DiffAugment
from ganforge.core.settings import check_integer, check_positive
from ganforge.core.training import ShuffledBatches
from ganforge.core.training.gan_model import GANModel, TrainingPlan
from ganforge.vision.data import as_images
from ganforge.vision.families import FAMILIES, build_module, get_family
from ganforge.vision.families.cyclegan import UnpairedBatches


@dataclass
class VisionSpec:
    """Every setting of a :class:`VisionGAN` (checked on construction, one-line errors).

    Args:
        family: which GAN family (gan_mlp, dcgan, cgan, wgan, wgan_gp, lsgan, sngan,
            sagan, stylegan, pggan, pix2pix, cyclegan).
        latent_dim: size of the noise vector z (seed 004: 100).
        width: channels of the networks' first layer (the others are multiples of it).
        batch_size: images per step.
        iterations: training iterations (one critic round and one generator step each).
        time_budget: stop training after this many CPU seconds of the process (none: run
            every iteration).
        stage_iterations: iterations per PGGAN phase (none: the run split evenly over
            its five phases).
        fade_in: PGGAN fades each new resolution in (false: switches at once).
        diffaugment: DiffAugment policy applied to real and fake images before D, a
            comma-separated subset of color, translation, cutout (none: off; not for
            pggan, pix2pix and cyclegan).
        log_every: iterations between logged losses.
        seed: seeds initialisation, batches and noise.
        device: auto (CUDA when present), cpu, cuda or cuda:N.
    """

    family: str = "dcgan"
    latent_dim: int = 100
    width: int = 32
    batch_size: int = 64
    iterations: int = 2000
    time_budget: float | None = None
    stage_iterations: int | None = None
    fade_in: bool = True
    diffaugment: str | None = None
    log_every: int = 10
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        get_family(self.family)
        for name in ("latent_dim", "width", "batch_size", "iterations", "log_every"):
            check_integer(name, getattr(self, name), 1)
        check_integer("seed", self.seed, 0)
        if self.time_budget is not None:
            check_positive("time_budget", self.time_budget)
        if self.stage_iterations is not None:
            check_integer("stage_iterations", self.stage_iterations, 1)
        if not isinstance(self.fade_in, bool):
            raise ValueError(f"fade_in must be true or false, got {self.fade_in!r}")
        if self.diffaugment is not None:
            if self.family in ("pggan", "pix2pix", "cyclegan"):
                raise ValueError(f"diffaugment is not available for {self.family}")
            DiffAugment(self.diffaugment)  # a one-line error for an unknown policy


class VisionGAN(GANModel[VisionSpec]):
    """One family of the zoo: ``fit`` on images (labels for ``cgan``; source and target
    images for ``pix2pix`` / ``cyclegan``), then ``sample`` or ``translate``.

    Attributes after fitting: ``module`` (the family's GANModule with its networks),
    ``image_shape`` ``(C, H, W)``, ``num_classes``, ``seconds`` and ``cpu_seconds`` (training
    time, wall and CPU).
    """

    kind = "vision.VisionGAN"
    spec_type = VisionSpec
    seconds = cpu_seconds = 0.0  # also on a loaded model, which skips __init__

    def __init__(self, spec: VisionSpec | None = None, **options: Any) -> None:
        if spec is not None and options:
            raise ValueError("pass either a VisionSpec or its fields as keywords, not both")
        super().__init__(spec if spec is not None else VisionSpec(**options))
        self.module: Any = None
        self.image_shape: tuple[int, ...] | None = None
        self.num_classes = 1
        self.seconds = 0.0

    @property
    def family(self):
        return FAMILIES[self.spec.family]

    # ------------------------------------------------------------------ fit
    def fit(self, images: Any, other: Any = None, **options: Any) -> VisionGAN:  # type: ignore[override]
        """Train on ``images``; ``other`` is the labels (``cgan``, optional elsewhere) or,
        for ``pix2pix`` / ``cyclegan``, the target images (paired / unpaired).
        ``options`` are :meth:`GANModel.fit`'s (``progress``, ``run_dir``, ``resume_from``...)."""
        started, cpu_started = time.perf_counter(), time.process_time()
        super().fit(self.check_data(images, other), **options)
        self.seconds = time.perf_counter() - started
        self.cpu_seconds = time.process_time() - cpu_started
        return self

    def check_data(self, images: Any, other: Any) -> tuple[Tensor, Tensor]:
        """The training data as tensors, or a one-line ``ValueError``."""
        x = as_images(images, "images")
        side = x.shape[-1]
        if x.shape[-2] != side or side < 8 or side % 4:
            raise ValueError(
                f"images are {x.shape[-1]}x{x.shape[-2]}: the families need square images "
                "whose side is a multiple of 4 (resize them, e.g. to 28 or 32)"
            )
        task = self.family.task
        if task in ("paired", "unpaired"):
            if other is None:
                raise ValueError(f"{self.spec.family} needs target images as well as sources")
            y = as_images(other, "targets")
            if y.shape[1:] != x.shape[1:]:
                raise ValueError(f"targets are {tuple(y.shape[1:])}, sources {tuple(x.shape[1:])}")
            if task == "paired" and len(y) != len(x):
                raise ValueError(f"{len(y)} targets for {len(x)} sources: pix2pix needs pairs")
            return x, y
        if other is None:
            if task == "conditional":
                raise ValueError("cgan needs class labels")
            return x, torch.zeros(len(x), dtype=torch.long)
        labels = torch.as_tensor(other)
        if labels.dim() != 1 or len(labels) != len(x) or labels.is_floating_point():
            raise ValueError(f"labels must be {len(x)} integer class indices")
        if len(labels) and int(labels.min()) < 0:
            raise ValueError("labels must be class indices 0, 1, ...")
        if task == "conditional" and len(labels.unique()) < 2:
            raise ValueError("cgan needs at least two classes of images")
        return x, labels.long()

    def _build(self, shape: tuple[int, ...], num_classes: int, iterations: int) -> Any:
        spec = self.spec
        options: dict[str, Any] = {}
        if spec.family == "pggan":
            stage = spec.stage_iterations or max(1, iterations // 5)
            options = {"stage_iterations": stage, "fade_in": spec.fade_in}
        return build_module(spec.family, shape, num_classes, spec.latent_dim, spec.width, **options)

    def plan(self, data: tuple[Tensor, Tensor], resume_from: Path | None) -> TrainingPlan:
        spec = self.spec
        x, y = data
        self.image_shape = tuple(x.shape[1:])
        task = self.family.task
        self.num_classes = int(y.max()) + 1 if task in ("unconditional", "conditional") else 1
        module = self._build(self.image_shape, max(self.num_classes, 1), spec.iterations)
        if spec.time_budget is not None:
            module.deadline = time.process_time() + spec.time_budget
        if spec.diffaugment is not None:
            module.augment = DiffAugment(spec.diffaugment)
        scaled = (x * 2 - 1, y * 2 - 1 if task in ("paired", "unpaired") else y)
        if len(x) < spec.batch_size or len(scaled[1]) < spec.batch_size:
            raise ValueError(
                f"{min(len(x), len(y))} images are fewer than batch_size "
                f"{spec.batch_size}: lower batch_size"
            )
        if task == "unpaired":
            batches = UnpairedBatches(scaled[0], scaled[1], spec.batch_size, seed=spec.seed)
        else:
            batches = ShuffledBatches(scaled, spec.batch_size, seed=spec.seed)
        options = {"log_every": spec.log_every}
        return TrainingPlan(module, batches, spec.iterations, spec.batch_size, options)

    def fitted(self, module: Any) -> None:
        self.module = module
        for net in module.networks.values():
            net.eval()

    # ---------------------------------------------------------------- file
    def file_state(self) -> dict[str, nn.Module]:
        self._check_fitted()
        return dict(self.module.networks)

    def file_extra(self) -> dict[str, Any]:
        return {
            "image_shape": json.dumps(list(self.image_shape)),
            "num_classes": int(self.num_classes),
        }

    def restore(self, file: ModelFile, device: torch.device) -> None:
        shape = tuple(int(s) for s in json.loads(file.extra["image_shape"]))
        self.num_classes = int(file.extra["num_classes"])
        module = self._build(shape, max(self.num_classes, 1), self.spec.iterations)
        for name, net in module.networks.items():
            net.load_state_dict(file.state[name])
            net.to(device).eval()
        self.module, self.image_shape = module, shape

    # ----------------------------------------------------------- inference
    def _check_fitted(self) -> None:
        if self.module is None:
            raise ValueError("the model is not trained: call fit(...) or load(path) first")

    def parameters(self) -> int:
        """Trainable parameters of every network (generators and discriminators)."""
        self._check_fitted()
        return sum(p.numel() for net in self.module.networks.values() for p in net.parameters())

    def sample(self, n: int, labels: Any = None, seed: int = 0, **options: Any) -> Tensor:
        """``n`` generated images ``(n, C, H, W)`` in [0, 1].

        ``labels``: one class or ``n`` classes for ``cgan`` (default: cycling 0..K-1).
        ``options``: family-specific, e.g. ``psi=0.7`` (truncation) for ``stylegan``.
        """
        self._check_fitted()
        check_integer("n", n, 1)
        if not self.family.generates:
            raise ValueError(f"{self.spec.family} translates images: use translate(images)")
        if labels is not None:
            if self.family.task != "conditional":
                raise ValueError(f"{self.spec.family} is unconditional: it takes no labels")
            labels = torch.as_tensor(labels).long().reshape(-1)
            labels = labels.expand(n) if len(labels) == 1 else labels
            if len(labels) != n or int(labels.min()) < 0 or int(labels.max()) >= self.num_classes:
                raise ValueError(f"labels must be {n} classes in [0, {self.num_classes})")
        generator = torch.Generator().manual_seed(seed)
        parts, done = [], 0
        with torch.random.fork_rng(devices=[]):  # per-layer noise (StyleGAN) seeded too
            torch.manual_seed(seed)
            while done < n:
                count = min(500, n - done)
                part_labels = None if labels is None else labels[done : done + count]
                parts.append(self.module.sample(count, part_labels, generator, **options))
                done += count
        return torch.cat(parts)

    def translate(self, images: Any, direction: str = "forward") -> Tensor:
        """Translate images in [0, 1] (``pix2pix``: source -> target; ``cyclegan``:
        ``"forward"`` A -> B or ``"backward"`` B -> A)."""
        self._check_fitted()
        if self.family.generates:
            raise ValueError(f"{self.spec.family} generates from noise: use sample(n)")
        x = as_images(images, "images")
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"images are {tuple(x.shape[1:])}, the model was trained on {self.image_shape}"
            )
        return self.module.translate(x, direction)
