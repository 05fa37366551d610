"""The trainer on a CUDA GPU: mixed precision and device placement (skipped without one)."""

import pytest
import torch

from ganforge.core.recipes import dcgan_recipe
from ganforge.core.training import Trainer, TrainerConfig

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_dcgan_trains_on_cuda_in_every_precision(precision):
    torch.manual_seed(0)
    module = dcgan_recipe(batch_size=16, latent_dim=16, width=16, loss="hinge")
    images = torch.rand(64, 3, 32, 32) * 2 - 1
    config = TrainerConfig(
        iterations=5,
        batch_size=16,
        device="cuda",
        precision=precision,
        progress=False,
        tensorboard=False,
        ema_decay=0.99,
        log_every=1,
    )
    trainer = Trainer(module, config).fit(images)
    assert next(module.networks["G"].parameters()).device.type == "cuda"
    assert all(torch.isfinite(p).all() for p in module.networks["D"].parameters())
    assert trainer.scalers["G"].is_enabled() == (precision == "fp16")
    assert len(trainer.history) == 5


def test_resume_on_cuda_restores_cuda_rng(tmp_path):
    torch.manual_seed(0)
    module = dcgan_recipe(batch_size=8, latent_dim=16, width=8)
    images = torch.rand(32, 3, 32, 32) * 2 - 1
    config = TrainerConfig(
        iterations=2,
        batch_size=8,
        device="cuda",
        run_dir=tmp_path,
        progress=False,
        tensorboard=False,
    )
    trainer = Trainer(module, config).fit(images)
    state = trainer.state_dict()
    assert "cuda" in state["rng"][0]
