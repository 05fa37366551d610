"""Train the ring GAN for a few iterations, in one process or one rank of ``torchrun``.

Usage: ddp_worker.py OUT_DIR RUN_DIR BATCH_PER_RANK

Each rank writes its final networks, EMA and optimizer state to
``OUT_DIR/rank<r>.pt`` and trains with ``RUN_DIR/rank<r>`` as its run folder,
so a test can see which ranks wrote files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import torch

from ganforge.core.recipes import AdversarialRecipe, ring_mlps, ring_of_gaussians
from ganforge.core.training import Trainer, TrainerConfig

ITERATIONS = 6
CHECKPOINT_EVERY = 3


def train(batch_per_rank: int, run_dir: Path | None) -> dict[str, Any]:
    """Train the tiny ring recipe; return the networks, EMA and optimizer states."""
    torch.manual_seed(0)
    generator, discriminator = ring_mlps(latent_dim=2, width=32)
    module = AdversarialRecipe(
        generator,
        discriminator,
        (2,),
        batch_size=batch_per_rank,
        loss="non_saturating",
        n_critic=2,
        r1_weight=0.1,
        r1_interval=2,
        lr_g=1e-3,
        lr_d=1e-3,
    )
    config = TrainerConfig(
        iterations=ITERATIONS,
        batch_size=batch_per_rank,
        seed=5,
        run_dir=run_dir,
        device="cpu",
        ema_decay=0.9,
        log_every=1,
        checkpoint_every=CHECKPOINT_EVERY,
        progress=False,
        tensorboard=False,
    )
    trainer = Trainer(module, config).fit(ring_of_gaussians(96, seed=1))
    state = trainer.state_dict()
    return {key: state[key] for key in ("networks", "ema", "optimizers")}


def main() -> None:
    out_dir, run_dir, batch_per_rank = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(1)
    rank = int(os.environ.get("RANK", "0"))
    state = train(batch_per_rank, run_dir / f"rank{rank}")
    torch.save(state, out_dir / f"rank{rank}.pt")


if __name__ == "__main__":
    main()
