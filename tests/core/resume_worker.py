"""Run a small DCGAN (EMA, n_critic = 5, DiffAugment) for the resume test.

Usage: resume_worker.py RUN_DIR ITERATIONS OUT [RESUME_FROM]
"""

import sys

import torch

from ganforge.core.recipes import dcgan_recipe
from ganforge.core.regularizers import DiffAugment
from ganforge.core.training import Trainer, TrainerConfig


def main() -> None:
    run_dir, iterations, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    resume_from = sys.argv[4] if len(sys.argv) > 4 else None
    torch.set_num_threads(1)
    torch.manual_seed(0)
    module = dcgan_recipe(
        batch_size=8,
        latent_dim=16,
        width=8,
        loss="wasserstein",
        n_critic=5,
        gp_weight=10.0,
        augment=DiffAugment("color,translation,cutout"),
    )
    images = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    config = TrainerConfig(
        iterations=iterations,
        batch_size=8,
        seed=3,
        run_dir=run_dir,
        ema_decay=0.9,
        checkpoint_every=2,
        progress=False,
        tensorboard=False,
    )
    trainer = Trainer(module, config).fit(images, resume_from=resume_from)
    trainer.save(out)


if __name__ == "__main__":
    main()
