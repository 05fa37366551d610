"""The user-facing models: :class:`AdvGAN` (an attack) and :class:`RobustClassifier`.

Example::

    split = load_embedded("mnist")
    target = embedded_target("mnist")                     # the cached CNN, eval mode
    attack = AdvGAN(eps=0.3).fit(target, split.x_train, split.y_train)
    x_adv = attack.perturb(split.x_test)                 # the generator alone
    success_rate(target, x_adv, split.x_test, split.y_test)
    attack.save("advgan.pt"); AdvGAN.load("advgan.pt")

    defended = RobustClassifier(method="pgd", eps=0.3).fit(split.x_train, split.y_train)

Model files are the core's (weights only); the target model is not part of an
AdvGAN's file (the generator alone attacks at attack time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ganforge.core.modelfile import ModelFile
from ganforge.core.settings import check_at_least, check_fraction, check_integer, check_positive
from ganforge.core.training import ShuffledBatches
from ganforge.core.training.gan_model import GANModel, TrainingPlan
from ganforge.robustness.attacks import check_eps, evaluating
from ganforge.robustness.data import as_class_labels, as_image_batch
from ganforge.robustness.networks import (
    ARCHITECTURES,
    PatchDiscriminator,
    PerturbationGenerator,
    SmallCNN,
    build_architecture,
)
from ganforge.robustness.training import (
    MODES,
    AdvGANDefenceModule,
    AdvGANModule,
    ClassifierModule,
)

BATCH = 500
METHODS = ("standard", "pgd", "advgan")


def _check_range(low: float, high: float) -> None:
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"the value range needs low < high, got [{low!r}, {high!r}]")


@dataclass
class AdvGANSpec:
    """Every setting of an :class:`AdvGAN` attack (checked on construction, one-line errors).

    Args:
        eps: the L-infinity bound of the perturbation, enforced by the generator's
            output layer (0.3 for MNIST, 8/255 for natural images).
        kappa: the C&W confidence: the margin the attack stops pushing at.
        alpha: the weight of the GAN loss (the discriminator tells clean from perturbed).
        beta: the weight of the hinge on the perturbation's L2 norm above norm_bound.
        norm_bound: c, the L2 norm per image the hinge allows for free.
        target_class: the class to reach (targeted attack); none for untargeted.
        mode: white_box (the target's logits in the generator's loss), static or
            dynamic (black-box: a surrogate distilled on the target's labels alone).
        gan_loss: the core's GAN loss for the discriminator and the generator.
        iterations: discriminator + generator updates.
        distill_iterations: the black-box surrogate's distillation steps before the attack.
        batch_size: images per step.
        lr: Adam's learning rate (betas 0.5, 0.999).
        width: the generator's first channel count.
        blocks: the generator's residual blocks.
        disc_width: the discriminator's first channel count.
        low: the images' lowest value.
        high: the images' highest value.
        seed: seeds initialisation, batches and noise.
        device: auto (CUDA when present), cpu, cuda or cuda:N.
    """

    eps: float = 0.3
    kappa: float = 10.0
    alpha: float = 0.1
    beta: float = 0.1
    norm_bound: float = 3.0
    target_class: int | None = None
    mode: str = "white_box"
    gan_loss: str = "least_squares"
    iterations: int = 1000
    distill_iterations: int = 500
    batch_size: int = 64
    lr: float = 1e-3
    width: int = 8
    blocks: int = 2
    disc_width: int = 8
    low: float = 0.0
    high: float = 1.0
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        check_eps(self.eps)
        for name in ("kappa", "alpha", "beta", "norm_bound"):
            check_at_least(name, getattr(self, name), 0.0)
        if self.target_class is not None:
            check_integer("target_class", self.target_class, 0)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        from ganforge.core.losses import LOSSES

        if self.gan_loss not in LOSSES:
            raise ValueError(f"gan_loss must be one of {', '.join(sorted(LOSSES))}")
        for name in ("iterations", "batch_size", "width", "blocks", "disc_width"):
            check_integer(name, getattr(self, name), 1)
        check_integer("distill_iterations", self.distill_iterations, 0)
        check_positive("lr", self.lr)
        _check_range(self.low, self.high)
        check_integer("seed", self.seed, 0)


def check_target(
    model: nn.Module, x: Tensor, y: Tensor | None, target_class: int | None = None
) -> int:
    """The number of classes K the model outputs, checked on two of the images; a one-line
    ``ValueError`` when its output is not ``(N, K)`` logits covering the labels."""
    device = next(iter(model.parameters()), torch.empty(0)).device
    probe = x[:2].to(device)
    try:
        with torch.no_grad(), evaluating(model):
            out = model(probe)
    except Exception as error:  # a user's model may raise anything on the wrong input
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(
            f"the model cannot read images of shape {tuple(x.shape[1:])}: {first}"
        ) from None
    if not isinstance(out, Tensor) or out.dim() != 2 or out.shape[0] != len(probe):
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(
            f"the model's output is {shape} for {len(probe)} images; it must give logits (N, K)"
        )
    k = int(out.shape[1])
    if k < 2:
        raise ValueError(f"the model gives {k} logit per image; a classifier needs K >= 2")
    if y is not None and int(y.max()) >= k:
        raise ValueError(
            f"the labels go up to {int(y.max())} but the model's output has {k} classes"
        )
    if target_class is not None and target_class >= k:
        raise ValueError(f"target_class {target_class} is not one of the model's {k} classes")
    return k


def predict_labels(model: nn.Module, x: Tensor, batch: int = BATCH) -> Tensor:
    """The model's predicted classes in eval mode (its mode is restored), on the CPU."""
    device = next(iter(model.parameters()), torch.empty(0)).device
    with torch.no_grad(), evaluating(model):
        return torch.cat([model(part.to(device)).argmax(1).cpu() for part in x.split(batch)])


@dataclass
class _AttackData:
    target: nn.Module
    x: Tensor
    y: Tensor
    num_classes: int


class AdvGAN(GANModel[AdvGANSpec]):
    """An AdvGAN attack: ``fit(target, x, y)`` trains the generator; ``perturb(x)`` attacks.

    ``y`` may be left out: the target's own predictions are then the labels
    (untargeted: move every image away from what the model says).
    """

    kind = "robustness.AdvGAN"
    spec_type = AdvGANSpec
    module_type: type[AdvGANModule] = AdvGANModule

    def __init__(self, spec: AdvGANSpec | None = None, **options: Any) -> None:
        if spec is not None and options:
            raise ValueError("pass either an AdvGANSpec or its fields as keywords, not both")
        super().__init__(spec if spec is not None else AdvGANSpec(**options))
        self.generator: PerturbationGenerator | None = None
        self.discriminator: nn.Module | None = None
        self.surrogate: nn.Module | None = None
        self.image_shape: tuple[int, ...] | None = None
        self.num_classes: int | None = None

    def fit(  # type: ignore[override]
        self, target: nn.Module, x: Any, y: Any | None = None, **options: Any
    ) -> AdvGAN:
        """Train the generator against ``target`` on images ``x`` (labels ``y``).

        ``options`` are :meth:`GANModel.fit`'s (``progress``, ``run_dir``,
        ``checkpoint_every``, ``resume_from``, ``callbacks``).
        """
        return super().fit(self.check_data(target, x, y), **options)

    def check_data(self, target: nn.Module, x: Any, y: Any | None) -> _AttackData:
        """The target and the data, checked (one-line ``ValueError`` for bad ones)."""
        if not isinstance(target, nn.Module):
            raise ValueError(f"the target must be a torch module, got {type(target).__name__}")
        images = as_image_batch(x, "x", self.spec.low, self.spec.high)
        labels = None if y is None else as_class_labels(y, len(images), "y")
        k = check_target(target, images, labels, self.spec.target_class)
        if labels is None:
            labels = predict_labels(target, images)
        if len(images) < self.spec.batch_size:
            raise ValueError(
                f"{len(images)} images are fewer than batch_size {self.spec.batch_size}"
            )
        return _AttackData(target, images, labels, k)

    def _build(self, channels: int, size: int, k: int) -> dict[str, nn.Module]:
        spec = self.spec
        nets: dict[str, nn.Module] = {
            "G": PerturbationGenerator(
                channels, spec.eps, spec.width, spec.blocks, spec.low, spec.high
            ),
            "D": PatchDiscriminator(channels, spec.disc_width),
        }
        if spec.mode != "white_box":
            nets["S"] = SmallCNN(channels, size, k)
        return nets

    def module(self, nets: dict[str, nn.Module], target: nn.Module) -> AdvGANModule:
        spec = self.spec
        return self.module_type(
            nets["G"],
            nets["D"],
            target,
            surrogate=nets.get("S"),
            mode=spec.mode,
            kappa=spec.kappa,
            alpha=spec.alpha,
            beta=spec.beta,
            norm_bound=spec.norm_bound,
            target_class=spec.target_class,
            gan_loss=spec.gan_loss,
            lr=spec.lr,
            distill_iterations=0 if spec.mode == "white_box" else spec.distill_iterations,
        )

    def plan(self, data: _AttackData, resume_from: Path | None) -> TrainingPlan:
        spec = self.spec
        self.image_shape = tuple(int(s) for s in data.x.shape[1:])
        self.num_classes = data.num_classes
        nets = self._build(self.image_shape[0], self.image_shape[-1], data.num_classes)
        module = self.module(nets, data.target)
        batches = ShuffledBatches((data.x, data.y), spec.batch_size, seed=spec.seed)
        distill = spec.distill_iterations if spec.mode != "white_box" else 0
        options = {"log_every": max(1, min(100, spec.iterations // 50))}
        return TrainingPlan(module, batches, spec.iterations + distill, spec.batch_size, options)

    def fitted(self, module: AdvGANModule) -> None:
        self.generator = module.networks["G"].eval()
        self.discriminator = module.networks["D"].eval()
        self.surrogate = module.networks["S"].eval() if "S" in module.networks else None

    # ---------------------------------------------------------------- file
    def file_state(self) -> dict[str, nn.Module]:
        self._check_fitted()
        nets = {"G": self.generator, "D": self.discriminator}
        if self.surrogate is not None:
            nets["S"] = self.surrogate
        return nets

    def file_extra(self) -> dict[str, Any]:
        return {"image_shape": json.dumps(list(self.image_shape)), "num_classes": self.num_classes}

    def restore(self, file: ModelFile, device: torch.device) -> None:
        shape = tuple(int(s) for s in json.loads(file.extra["image_shape"]))
        k = int(file.extra["num_classes"])
        nets = self._build(shape[0], shape[-1], k)
        for name, net in nets.items():
            net.load_state_dict(file.state[name])
            net.to(device).eval()
        self.generator, self.discriminator = nets["G"], nets["D"]
        self.surrogate = nets.get("S")
        self.image_shape, self.num_classes = shape, k

    # ----------------------------------------------------------- attacking
    def _check_fitted(self) -> None:
        if self.generator is None:
            raise ValueError("the attack is not trained: call fit(...) or load(path) first")

    def _images(self, x: Any) -> Tensor:
        self._check_fitted()
        images = as_image_batch(x, "x", self.spec.low, self.spec.high)
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(
                f"x images are {tuple(images.shape[1:])}, the attack was trained on "
                f"{self.image_shape}"
            )
        return images

    def perturb(self, x: Any, batch: int = BATCH) -> Tensor:
        """Adversarial images ``clip(x + G(x))`` (the generator alone; on the CPU)."""
        images = self._images(x)
        device = next(self.generator.parameters()).device
        with torch.no_grad():
            parts = [self.generator.perturb(p.to(device)).cpu() for p in images.split(batch)]
        return torch.cat(parts)


@dataclass
class ClassifierSpec:
    """Every setting of a :class:`RobustClassifier`.

    Args:
        architecture: a registered architecture (small_cnn or mlp).
        width: the CNN's first channel count.
        hidden: the dense layer's width.
        dropout: dropout before the logits.
        method: standard (clean images), pgd (Madry et al.'s PGD examples) or advgan
            (a generator trained alongside, attacking the classifier as it learns).
        eps: the L-infinity bound of the training attack.
        pgd_steps: PGD steps of the training attack (random start).
        pgd_step_size: the training attack's step.
        clean_weight: the clean cross-entropy's share of the loss (0: Madry et al.).
        iterations: classifier updates.
        batch_size: images per update.
        lr: Adam's learning rate.
        low: the images' lowest value.
        high: the images' highest value.
        seed: seeds initialisation, batches and noise.
        device: auto (CUDA when present), cpu, cuda or cuda:N.
    """

    architecture: str = "small_cnn"
    width: int = 32
    hidden: int = 128
    dropout: float = 0.3
    method: str = "standard"
    eps: float = 0.3
    pgd_steps: int = 7
    pgd_step_size: float = 0.06
    clean_weight: float = 0.5
    iterations: int = 2000
    batch_size: int = 100
    lr: float = 1e-3
    low: float = 0.0
    high: float = 1.0
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {', '.join(sorted(ARCHITECTURES))}, "
                f"got {self.architecture!r}"
            )
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        for name in ("width", "hidden", "pgd_steps", "iterations", "batch_size"):
            check_integer(name, getattr(self, name), 1)
        check_fraction("dropout", self.dropout, "[0, 1)")
        check_fraction("clean_weight", self.clean_weight, "[0, 1]")
        check_eps(self.eps)
        check_positive("pgd_step_size", self.pgd_step_size)
        check_positive("lr", self.lr)
        _check_range(self.low, self.high)
        check_integer("seed", self.seed, 0)

    def network_options(self) -> dict[str, Any]:
        if self.architecture == "small_cnn":
            return {"width": self.width, "hidden": self.hidden, "dropout": self.dropout}
        return {"hidden": self.hidden, "dropout": self.dropout}


@dataclass
class _ClassifierData:
    x: Tensor
    y: Tensor
    num_classes: int
    init: nn.Module | None


class RobustClassifier(GANModel[ClassifierSpec]):
    """An image classifier trained normally or adversarially (``method``).

    ``fit(x, y, init=other)`` starts from another classifier's weights (fine-tuning an
    undefended model into a defended one). ``network`` is a plain ``nn.Module``
    (images -> logits) that any attack here takes as its target.
    """

    kind = "robustness.RobustClassifier"
    spec_type = ClassifierSpec

    def __init__(self, spec: ClassifierSpec | None = None, **options: Any) -> None:
        if spec is not None and options:
            raise ValueError("pass either a ClassifierSpec or its fields as keywords, not both")
        super().__init__(spec if spec is not None else ClassifierSpec(**options))
        self.network: nn.Module | None = None
        self.image_shape: tuple[int, ...] | None = None
        self.num_classes: int | None = None
        self.attack_generator: PerturbationGenerator | None = None

    def fit(  # type: ignore[override]
        self,
        x: Any,
        y: Any,
        *,
        num_classes: int | None = None,
        init: RobustClassifier | None = None,
        **options: Any,
    ) -> RobustClassifier:
        """Train on images ``x`` and class indices ``y`` (``options``: GANModel.fit's)."""
        spec = self.spec
        images = as_image_batch(x, "x", spec.low, spec.high)
        labels = as_class_labels(y, len(images), "y")
        k = int(labels.max()) + 1 if num_classes is None else int(num_classes)
        if k < 2 or int(labels.max()) >= k:
            raise ValueError(f"the labels need at least 2 classes below num_classes, got {k}")
        if len(images) < spec.batch_size:
            raise ValueError(f"{len(images)} images are fewer than batch_size {spec.batch_size}")
        start = None
        if init is not None:
            init._check_fitted()
            if init.image_shape != tuple(images.shape[1:]) or init.num_classes != k:
                raise ValueError("init must be a classifier of the same images and classes")
            start = init.network
        return super().fit(_ClassifierData(images, labels, k, start), **options)

    def _build(self, shape: tuple[int, ...], k: int) -> nn.Module:
        spec = self.spec
        return build_architecture(
            spec.architecture, shape[0], shape[-1], k, **spec.network_options()
        )

    def plan(self, data: _ClassifierData, resume_from: Path | None) -> TrainingPlan:
        spec = self.spec
        self.image_shape = tuple(int(s) for s in data.x.shape[1:])
        self.num_classes = data.num_classes
        network = self._build(self.image_shape, data.num_classes)
        if data.init is not None:
            network.load_state_dict({k: v.cpu() for k, v in data.init.state_dict().items()})
        if spec.method == "advgan":
            attack = AdvGAN(eps=spec.eps, low=spec.low, high=spec.high, seed=spec.seed)
            nets = attack._build(self.image_shape[0], self.image_shape[-1], data.num_classes)
            module = AdvGANDefenceModule(
                nets["G"],
                nets["D"],
                network,
                kappa=attack.spec.kappa,
                alpha=attack.spec.alpha,
                beta=attack.spec.beta,
                norm_bound=attack.spec.norm_bound,
                gan_loss=attack.spec.gan_loss,
                lr=spec.lr,
                clean_weight=spec.clean_weight,
            )
        else:
            module = ClassifierModule(
                network,
                lr=spec.lr,
                eps=spec.eps if spec.method == "pgd" else None,
                pgd_steps=spec.pgd_steps,
                pgd_step_size=spec.pgd_step_size,
                clean_weight=spec.clean_weight,
                low=spec.low,
                high=spec.high,
            )
        batches = ShuffledBatches((data.x, data.y), spec.batch_size, seed=spec.seed)
        options = {"log_every": max(1, min(100, spec.iterations // 50))}
        return TrainingPlan(module, batches, spec.iterations, spec.batch_size, options)

    def fitted(self, module: Any) -> None:
        name = "target" if "target" in module.networks else "C"
        self.network = module.networks[name].eval()
        generator = module.networks.get("G")
        self.attack_generator = None if generator is None else generator.eval()

    def file_state(self) -> dict[str, nn.Module]:
        self._check_fitted()
        return {"C": self.network}

    def file_extra(self) -> dict[str, Any]:
        return {"image_shape": json.dumps(list(self.image_shape)), "num_classes": self.num_classes}

    def restore(self, file: ModelFile, device: torch.device) -> None:
        shape = tuple(int(s) for s in json.loads(file.extra["image_shape"]))
        k = int(file.extra["num_classes"])
        network = self._build(shape, k)
        network.load_state_dict(file.state["C"])
        self.network = network.to(device).eval()
        self.image_shape, self.num_classes = shape, k

    def _check_fitted(self) -> None:
        if self.network is None:
            raise ValueError("the classifier is not trained: call fit(...) or load(path) first")

    def predict(self, x: Any) -> np.ndarray:
        """The predicted class of every image."""
        self._check_fitted()
        return predict_labels(
            self.network, as_image_batch(x, "x", self.spec.low, self.spec.high)
        ).numpy()

    def score(self, x: Any, y: Any) -> float:
        """Accuracy on ``(x, y)``."""
        predicted = self.predict(x)
        return float(np.mean(predicted == as_class_labels(y, len(predicted)).numpy()))
