"""LoaderBatches: batches of a Dataset through a DataLoader, rank-aware, resumable exactly.

Every epoch is a permutation of the dataset drawn from ``(seed, epoch)``
(the same on every rank); the permutation is cut into global batches and
each rank takes its contiguous share of every global batch, so N ranks
together see what one process with an N-times larger batch sees, and no two
ranks see the same sample. A :class:`torch.utils.data.DataLoader` reads this
rank's remaining indices of the epoch, so decoding (audio, MIDI, images,
volumes) runs in ``workers`` processes with pinned memory on CUDA.

The state is two integers, the epoch and the number of batches consumed in
it, saved in the trainer's checkpoint: a resumed run reads exactly the
batches the killed one would have, from the middle of an epoch too.
Prefetched batches a killed run never consumed are read again. A dataset
with a ``set_epoch(epoch)`` method is told the epoch before its workers start.
A dataset that augments at random should draw its randomness from the epoch
and the index it gets (e.g. a ``torch.Generator`` seeded with
``(seed * 1_000_003 + epoch) * 100_003 + index``), not from a worker's global
RNG, so that its samples survive a resume too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class _Indices(Sampler[int]):
    """A fixed list of indices, in order."""

    def __init__(self, indices: torch.Tensor) -> None:
        self.indices = indices.tolist()

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class LoaderBatches:
    """Epoch-wise shuffled batches of a map-style Dataset, read by a DataLoader.

    Args:
        dataset: a map-style ``Dataset`` (``__len__`` and ``__getitem__``).
        batch_size: samples per batch on this process.
        seed: seeds the permutation of every epoch.
        rank, world_size: this process's share of every global batch.
        workers: DataLoader worker processes (0 reads in this process).
        pin_memory: pin batches for faster copies to CUDA (default: when CUDA is present).
        collate_fn: how samples become a batch (default: torch's ``default_collate``).

    An incomplete last global batch of an epoch is dropped, so every batch is full.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        workers: int = 0,
        pin_memory: bool | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
        if workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.rank, self.world_size, self.workers = rank, world_size, workers
        self.length = len(dataset)  # type: ignore[arg-type]
        self.batches_per_epoch = self.length // (batch_size * world_size)
        if self.batches_per_epoch == 0:
            raise ValueError(
                f"the global batch ({batch_size * world_size}) is larger than the data "
                f"({self.length} samples): lower batch_size"
            )
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        self.collate_fn = collate_fn
        self.epoch, self.position = 0, 0
        self._iterator: Iterator[Any] | None = None

    def rank_indices(self, epoch: int) -> torch.Tensor:
        """This rank's indices of ``epoch``, shaped ``(batches_per_epoch, batch_size)``."""
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        order = torch.randperm(self.length, generator=generator)
        used = order[: self.batches_per_epoch * self.batch_size * self.world_size]
        return used.view(self.batches_per_epoch, self.world_size, self.batch_size)[:, self.rank]

    def next_batch(self) -> Any:
        """The next batch of this rank (tensors stay on the CPU, pinned on CUDA machines)."""
        if self.position >= self.batches_per_epoch:
            self.epoch, self.position = self.epoch + 1, 0
            self._iterator = None
        if self._iterator is None:
            self._iterator = iter(self._loader())
        self.position += 1
        return next(self._iterator)

    def _loader(self) -> DataLoader:
        if hasattr(self.dataset, "set_epoch"):  # before the workers take their copies
            self.dataset.set_epoch(self.epoch)
        remaining = self.rank_indices(self.epoch)[self.position :].reshape(-1)
        options: dict[str, Any] = {}
        if self.collate_fn is not None:
            options["collate_fn"] = self.collate_fn
        return DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            sampler=_Indices(remaining),
            num_workers=self.workers,
            pin_memory=self.pin_memory,
            drop_last=True,
            **options,
        )

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._iterator = None
