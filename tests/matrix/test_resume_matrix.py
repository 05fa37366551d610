"""Every package's recipe through train -> checkpoint -> resume: identical continuation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch

from ganforge.core.checkpoint import load_checkpoint
from ganforge.core.training import GANModule, Trainer, TrainerConfig


@dataclass
class Case:
    """A module factory, the data it trains on, and the run's length."""

    build: Callable[[], tuple[GANModule, Any]]
    batch_size: int
    iterations: int = 4
    checkpoint_at: int = 2


def ring_case() -> tuple[GANModule, Any]:
    from ganforge.core.recipes import ring_of_gaussians, ring_recipe

    return ring_recipe("ns_r1", batch_size=16, width=16), ring_of_gaussians(256)


def dcgan_case() -> tuple[GANModule, Any]:
    from ganforge.core.recipes import dcgan_recipe
    from ganforge.core.regularizers import DiffAugment

    module = dcgan_recipe(
        batch_size=4, latent_dim=8, width=4, loss="hinge", n_critic=2, augment=DiffAugment()
    )
    return module, torch.rand(32, 3, 32, 32) * 2 - 1


def medsr_case() -> tuple[GANModule, Any]:
    from ganforge.medsr import Degradation, PairedPatchSource, synthetic_images
    from ganforge.medsr.networks import GeneratorConfig, PatchLogits, SRGenerator
    from ganforge.medsr.training import MedSRModule

    generator = SRGenerator(GeneratorConfig(channels=8, num_blocks=1, growth=8))
    module = MedSRModule(generator, PatchLogits(2, channels=4), pretrain_iterations=2)
    source = PairedPatchSource(
        synthetic_images(4, 48, seed=0), Degradation("psf", 2), patch_size=24, batch_size=4
    )
    return module, source


def finance_case() -> tuple[GANModule, Any]:
    from ganforge.finance import PaperTimeGANModule, TimeGANConfig

    config = TimeGANConfig(
        seq_len=6,
        feature_dim=2,
        hidden_dim=4,
        num_layers=1,
        embed_iterations=2,
        supervise_iterations=1,
        joint_iterations=3,
    )
    return PaperTimeGANModule(config), torch.rand(32, 6, 2)


def finance_stepwise_case() -> tuple[GANModule, Any]:
    from ganforge.finance import StepwiseTimeGANModule, TimeGANConfig

    config = TimeGANConfig(
        seq_len=6,
        feature_dim=1,
        hidden_dim=4,
        num_layers=1,
        embed_iterations=1,
        supervise_iterations=2,
        joint_iterations=3,
        scaling="standardize",
        generation="stepwise",
    )
    return StepwiseTimeGANModule(config), torch.randn(32, 6, 1)


def tabular_case() -> tuple[GANModule, Any]:
    import numpy as np
    import pandas as pd

    from ganforge.tabular import DataTransformer, PoissonBatches, TabularGAN
    from ganforge.tabular.model import DPConfig

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.choice(["u", "v"], 200)})
    transformer = DataTransformer.fit(frame)
    dp = DPConfig(1.0, 1.0, 0.1, 20, 50.0, 1e-5)
    module = TabularGAN(transformer.spans, 20, noise_dim=8, hidden=(16,), dp=dp)
    rows = torch.from_numpy(transformer.transform(frame)).float()
    return module, PoissonBatches(rows, 0.1)  # OS entropy; its state is in the checkpoint


def vocoder_case(warmup_iterations: int = 0) -> tuple[GANModule, Any]:
    from ganforge.core.training.loader import LoaderBatches
    from ganforge.vocoder import Discriminators, build_generator
    from ganforge.vocoder.audio import SegmentDataset
    from ganforge.vocoder.training import VocoderModule

    generator = build_generator("hifigan_v3", channels=16)
    discriminators = Discriminators(
        ("msd", "mpd"),
        msd={"scales": 2, "channels": 4, "max_channels": 16},
        mpd={"periods": (2, 3), "channels": (4, 8)},
    )
    module = VocoderModule(
        generator,
        discriminators,
        lr_decay=0.99,
        warmup_iterations=warmup_iterations,
    )
    clips = [torch.randn(3000, generator=torch.Generator().manual_seed(n)).numpy() * 0.1
             for n in range(3)]  # fmt: skip
    segments = SegmentDataset(clips, 1024, seed=1)  # random crops drawn per epoch
    return module, LoaderBatches(segments, 2, seed=3, pin_memory=False)


def semisup_case() -> tuple[GANModule, Any]:
    from ganforge.semisup import (
        Discriminator,
        Generator,
        LabelledUnlabelledBatches,
        SemiSupervisedModule,
    )

    images = torch.rand(40, 16, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(40) % 3
    # noise layers in D, batch norm in G, a decaying learning rate, two shuffled sources
    module = SemiSupervisedModule(
        Discriminator(16, 3, (8, 8)), Generator(16, 4, (8,)), iterations=5
    )
    return module, LabelledUnlabelledBatches(images[:9], labels[:9], images, 8, seed=2)


def robustness_case(mode: str = "white_box") -> tuple[GANModule, Any]:
    from ganforge.robustness import (
        AdvGANModule,
        PatchDiscriminator,
        PerturbationGenerator,
        SmallCNN,
    )

    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(32) % 3
    target = SmallCNN(1, 8, 3, width=4, hidden=8)  # dropout: eval mode inside the G step
    surrogate = None if mode == "white_box" else SmallCNN(1, 8, 3, width=4, hidden=8)
    module = AdvGANModule(
        PerturbationGenerator(1, 0.3, width=4, blocks=1),
        PatchDiscriminator(1, 4),
        target,
        surrogate=surrogate,
        mode=mode,
        kappa=2.0,
        distill_iterations=0 if mode == "white_box" else 2,
    )
    return module, (images, labels)


def robustness_defence_case() -> tuple[GANModule, Any]:
    from ganforge.robustness import (
        AdvGANDefenceModule,
        PatchDiscriminator,
        PerturbationGenerator,
        SmallCNN,
    )

    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(32) % 3
    classifier = SmallCNN(1, 8, 3, width=4, hidden=8)
    generator = PerturbationGenerator(1, 0.3, width=4, blocks=1)
    return AdvGANDefenceModule(generator, PatchDiscriminator(1, 4), classifier), (images, labels)


def imitation_case() -> tuple[GANModule, Any]:
    from ganforge.imitation import GAILModule, GAILSpec

    # CartPole cut to a 20-step horizon: rollouts, the discriminator, PPO's own Adam and
    # its annealed rate, the observation normaliser; env resets seeded per iteration
    spec = GAILSpec(
        env_id="CartPole-v1",
        horizon=20,
        n_envs=2,
        total_steps=200,
        hidden=(8,),
        d_hidden=(8,),
        epochs=2,
        minibatch_size=16,
        d_updates=2,
        device="cpu",
    )
    demos = (torch.randn(40, 4), torch.arange(40) % 2, torch.randn(40, 4))
    return GAILModule(spec), demos


def music_case() -> tuple[GANModule, Any]:
    from ganforge.core.training import ShuffledBatches
    from ganforge.music import MuseCritic, MuseGenerator, MusicGANModule

    # batch norm in G, the gradient penalty in D, transpositions drawn per step
    module = MusicGANModule(
        MuseGenerator(pitches=24, z_dim=4, width=8),
        MuseCritic(pitches=24, width=4),
        n_critic=2,
        max_shift=3,
    )
    rolls = torch.rand(16, 4, 64, 24, generator=torch.Generator().manual_seed(4)) < 0.1
    return module, ShuffledBatches((rolls, torch.arange(16) % 24), 4, seed=1)


def vision_case(family: str) -> tuple[GANModule, Any]:
    from ganforge.core.training import ShuffledBatches
    from ganforge.vision import UnpairedBatches, build_module

    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(6)) * 2 - 1
    labels = torch.arange(32) % 3
    options = {"stage_iterations": 2} if family == "pggan" else {}
    module = build_module(family, (1, 8, 8), 3, latent_dim=4, width=4, **options)
    if family == "cyclegan":  # two history buffers of past fakes in the checkpoint
        return module, UnpairedBatches(images, images.flip(0), 4, seed=2)
    return module, ShuffledBatches((images, labels), 4, seed=2)


CASES = {
    "core-ring": Case(ring_case, 16),
    "core-dcgan": Case(dcgan_case, 4),
    "medsr": Case(medsr_case, 4, iterations=4, checkpoint_at=1),
    "finance": Case(finance_case, 8, iterations=6, checkpoint_at=3),
    "finance-stepwise": Case(finance_stepwise_case, 8, iterations=6, checkpoint_at=2),
    "tabular-dp": Case(tabular_case, 20),
    "vocoder": Case(vocoder_case, 2, iterations=5, checkpoint_at=2),
    # resumed at the end of the generator-only warm-up, into the adversarial phase
    "vocoder-warmup": Case(lambda: vocoder_case(2), 2, iterations=5, checkpoint_at=2),
    "semisup": Case(semisup_case, 8, iterations=5, checkpoint_at=2),
    "robustness-advgan": Case(robustness_case, 8),
    # resumed inside the distillation phase, into the attack with dynamic distillation
    "robustness-blackbox": Case(
        lambda: robustness_case("dynamic"), 8, iterations=5, checkpoint_at=1
    ),
    "robustness-advgan-training": Case(robustness_defence_case, 8),
    "music": Case(music_case, 4, iterations=4, checkpoint_at=2),
    "imitation-gail": Case(imitation_case, 8, iterations=5, checkpoint_at=2),
    # style mixing draws, lazy R1 and the running mean of w
    "vision-stylegan": Case(lambda: vision_case("stylegan"), 4, iterations=5, checkpoint_at=2),
    # resumed in the middle of the first fade-in (stage and alpha come from the iteration)
    "vision-pggan": Case(lambda: vision_case("pggan"), 4, iterations=6, checkpoint_at=3),
    # RMSprop, five critic steps and weight clipping after each
    "vision-wgan": Case(lambda: vision_case("wgan"), 4, iterations=4, checkpoint_at=2),
    # projection discriminator on labels, spectral norm's power-iteration vectors
    "vision-cgan": Case(lambda: vision_case("cgan"), 4, iterations=4, checkpoint_at=2),
    # history buffers filled past their size: the resumed run draws the same past fakes
    "vision-cyclegan": Case(lambda: vision_case("cyclegan"), 4, iterations=16, checkpoint_at=14),
}


def train(case: Case, run_dir, resume_from=None) -> Trainer:
    torch.manual_seed(0)
    module, data = case.build()
    config = TrainerConfig(
        iterations=case.iterations,
        batch_size=case.batch_size,
        seed=5,
        run_dir=run_dir,
        checkpoint_every=case.checkpoint_at,
        keep_checkpoints=10,
        ema_decay=0.9,
        progress=False,
        tensorboard=False,
    )
    return Trainer(module, config).fit(data, resume_from=resume_from)


@pytest.mark.parametrize("name", sorted(CASES))
def test_resume_continues_identically(name, tmp_path, assert_identical):
    case = CASES[name]
    straight = train(case, tmp_path / "straight")
    checkpoint = tmp_path / "straight" / f"checkpoint_{case.checkpoint_at:08d}.pt"
    assert load_checkpoint(checkpoint)["iteration"] == case.checkpoint_at
    resumed = train(case, tmp_path / "resumed", resume_from=checkpoint)
    a, b = straight.state_dict(), resumed.state_dict()
    assert a["iteration"] == b["iteration"] == case.iterations
    for key in ("networks", "ema", "optimizers", "rng", "batches", "extra"):
        assert_identical(a[key], b[key], key)
