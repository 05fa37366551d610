"""The vocoder's training recipe: a short run learns, and the steps share one forward."""

from __future__ import annotations

import math

import pytest
import torch

from ganforge.core.training import StepContext, Trainer, TrainerConfig
from ganforge.vocoder import Discriminators, LossWeights, MelL1Loss, build_generator
from ganforge.vocoder.training import VocoderModule


def tiny_module(**options) -> VocoderModule:
    generator = build_generator("melgan", channels=32)
    discriminators = Discriminators(("msd",), msd={"channels": 4, "max_channels": 16})
    return VocoderModule(generator, discriminators, **options)


def sine_segments() -> torch.Tensor:
    """Two fixed clips (220 Hz and 440 Hz tones), cut into eight 2048-sample segments."""
    t = torch.arange(4 * 2048) / 22050
    clips = torch.stack([0.5 * torch.sin(2 * math.pi * f * t) for f in (220.0, 440.0)])
    return clips.reshape(8, 1, 2048)


def mel_l1(module: VocoderModule, waves: torch.Tensor) -> float:
    generator = module.networks["G"]
    with torch.no_grad():
        fake = generator(module.front_end(waves))
        return float(MelL1Loss(module.mel_loss.front_end)(fake, waves))


def test_short_training_run_lowers_mel_l1():
    torch.manual_seed(0)
    module, waves = tiny_module(lr=2e-3), sine_segments()
    before = mel_l1(module, waves)
    config = TrainerConfig(
        iterations=25, batch_size=4, seed=0, progress=False, tensorboard=False, log_every=10
    )
    trainer = Trainer(module, config).fit(waves)
    after = mel_l1(module, waves)
    assert after < 0.7 * before, (before, after)
    logged = trainer.history[-1]
    assert {"D/loss", "G/loss", "G/adversarial", "G/feature_matching", "G/mel"} <= set(logged)


def test_steps_share_one_generator_forward():
    torch.manual_seed(0)
    module, waves = tiny_module(), sine_segments()[:2]
    module.build_optimizers()
    ctx = StepContext(iteration=0, phase="gan", device=torch.device("cpu"))
    assert module.forward_step(waves, ctx) == {}
    fake = ctx.handoff["fake"]
    assert fake.shape == waves.shape and fake.requires_grad
    assert not ctx.handoff["mel"].requires_grad
    assert torch.isfinite(module.d_step(waves, ctx)["loss"])
    assert torch.isfinite(module.g_step(waves, ctx)["loss"])


def test_stft_term_and_schedulers():
    torch.manual_seed(0)
    module = tiny_module(weights=LossWeights(stft=1.0), lr_decay=0.5)
    optimizers = module.build_optimizers()
    schedulers = module.build_schedulers(optimizers)
    assert set(schedulers) == {"G", "D"}
    optimizers["G"].step()
    schedulers["G"].step()
    assert optimizers["G"].param_groups[0]["lr"] == pytest.approx(1e-4)
    ctx = StepContext(iteration=0, phase="gan", device=torch.device("cpu"))
    module.forward_step(sine_segments()[:2], ctx)
    assert "stft" in module.g_step(None, ctx)
    assert tiny_module().build_schedulers(optimizers) == {}
    with pytest.raises(ValueError, match="lr_decay"):
        tiny_module(lr_decay=0.0)


def test_warmup_trains_the_generator_alone_then_the_gan():
    torch.manual_seed(0)
    module = tiny_module(weights=LossWeights(stft=1.0), warmup_iterations=3)
    assert [(phase.name, phase.iterations) for phase in module.phases()] == [
        ("warmup", 3),
        ("gan", None),
    ]
    discriminator = module.networks["D"]
    untouched = [p.detach().clone() for p in discriminator.parameters()]
    generator_before = [p.detach().clone() for p in module.networks["G"].parameters()]
    config = TrainerConfig(
        iterations=3, batch_size=4, seed=0, progress=False, tensorboard=False, log_every=1
    )
    trainer = Trainer(module, config).fit(sine_segments())
    assert all(
        torch.equal(a, b) for a, b in zip(untouched, discriminator.parameters(), strict=True)
    )
    assert not all(
        torch.equal(a, b)
        for a, b in zip(generator_before, module.networks["G"].parameters(), strict=True)
    )
    for record in trainer.history:
        assert {"G/loss", "G/mel", "G/stft"} <= set(record)
        assert not {"D/loss", "G/adversarial"} & set(record)
        # the warm-up objective is exactly 45 * mel + 1 * stft
        assert record["G/loss"] == pytest.approx(45 * record["G/mel"] + record["G/stft"], rel=1e-5)


def test_warmup_needs_a_spectral_term_and_a_count():
    with pytest.raises(ValueError, match="warm-up needs a mel or STFT loss weight"):
        tiny_module(weights=LossWeights(mel=0.0, stft=0.0), warmup_iterations=1)
    with pytest.raises(ValueError, match="warmup_iterations must be an integer >= 0"):
        tiny_module(warmup_iterations=-2)
    assert [phase.name for phase in tiny_module().phases()] == ["gan"]


def test_discriminator_learning_rate_decays_only_once_it_trains():
    module = tiny_module(lr_decay=0.5, warmup_iterations=2)
    optimizers = module.build_optimizers()
    schedulers = module.build_schedulers(optimizers)
    rates = []
    for _ in range(4):
        for name in ("G", "D"):
            optimizers[name].step()
            schedulers[name].step()
        rates += [optimizers[name].param_groups[0]["lr"] for name in ("G", "D")]
    # G: 2e-4 halved every iteration; D: held at 2e-4 through the 2-iteration warm-up
    assert rates == pytest.approx([1e-4, 2e-4, 5e-5, 2e-4, 2.5e-5, 1e-4, 1.25e-5, 5e-5])
