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
