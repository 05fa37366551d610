"""One rank of ``torchrun``: read four batches with LoaderBatches and save their indices.

Usage: loader_worker.py OUT_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ganforge.core.training import LoaderBatches
from ganforge.core.training.distributed import setup_process_group


class Numbers(Dataset):
    """Sample ``i`` is the tensor ``[i]``."""

    def __len__(self) -> int:
        return 40

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.tensor([index])


def main(out_dir: Path) -> None:
    group = setup_process_group("cpu")
    source = LoaderBatches(Numbers(), 4, seed=3, rank=group.rank, world_size=group.world_size)
    seen = torch.cat([source.next_batch()[:, 0] for _ in range(4)])
    torch.save(seen, out_dir / f"rank{group.rank}.pt")
    assert int(os.environ["WORLD_SIZE"]) == group.world_size


if __name__ == "__main__":
    main(Path(sys.argv[1]))
