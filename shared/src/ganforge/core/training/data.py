"""Batches for the trainer, drawn so that a resumed run sees exactly the same ones.

A :class:`BatchSource` yields batches and can save and restore its position.
:class:`ShuffledBatches` covers tensors and map-style datasets: every epoch is a
permutation drawn from ``(seed, epoch)``, so its whole state is two integers.
With several processes each rank takes its contiguous share of the global
batch, so N ranks together see what one process with an N-times larger batch
sees. A domain with other needs (Poisson sampling for DP-SGD, an RL rollout
buffer, streaming volumes) passes its own object with the same three methods.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
from torch.utils.data import Dataset, default_collate


@runtime_checkable
class BatchSource(Protocol):
    """Anything that hands out batches and can resume where it stopped."""

    def next_batch(self) -> Any: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class ShuffledBatches:
    """Epoch-wise shuffled batches of a tensor, a tuple of tensors or a Dataset.

    Args:
        data: a tensor (first dim = samples), a tuple/list of tensors of equal
            length, or a map-style ``Dataset``.
        batch_size: samples per batch on this process.
        seed: seeds the permutation of every epoch.
        rank, world_size: this process's share of the global batch.
        drop_last: drop the incomplete batch at the end of an epoch (default True).
    """

    def __init__(
        self,
        data: torch.Tensor | tuple[torch.Tensor, ...] | list[torch.Tensor] | Dataset,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = True,
    ) -> None:
        self.data = data
        self.length = _length(data)
        self.batch_size = batch_size
        self.global_batch = batch_size * world_size
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if self.global_batch > self.length:
            raise ValueError(
                f"the global batch ({self.global_batch}) is larger than the data "
                f"({self.length} samples): lower batch_size"
            )
        self.seed, self.rank, self.drop_last = seed, rank, drop_last
        self.epoch, self.position = 0, 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(self.length, generator=generator)

    def _next_indices(self) -> torch.Tensor:
        remaining = self.length - self.position
        if remaining < self.global_batch and (self.drop_last or remaining == 0):
            self.epoch, self.position = self.epoch + 1, 0
            self._order = self._permutation(self.epoch)
        stop = min(self.position + self.global_batch, self.length)
        global_indices = self._order[self.position : stop]
        self.position = stop
        share = -(-len(global_indices) // (self.global_batch // self.batch_size))
        return global_indices[self.rank * share : (self.rank + 1) * share]

    def next_batch(self) -> Any:
        """The next batch for this rank (tensors stay on the CPU)."""
        return _gather(self.data, self._next_indices())

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order = self._permutation(self.epoch)


def _length(data: Any) -> int:
    if isinstance(data, torch.Tensor):
        return data.shape[0]
    if isinstance(data, (tuple, list)):
        if not data or not all(isinstance(t, torch.Tensor) for t in data):
            raise ValueError("a tuple/list of data must hold tensors")
        lengths = {t.shape[0] for t in data}
        if len(lengths) != 1:
            raise ValueError(f"tensors in the data tuple differ in length: {sorted(lengths)}")
        return lengths.pop()
    if isinstance(data, Dataset):
        return len(data)  # type: ignore[arg-type]
    raise TypeError(
        f"unsupported data of type {type(data).__name__}: pass a tensor, a tuple of tensors, "
        "a map-style Dataset or a BatchSource"
    )


def _gather(data: Any, indices: torch.Tensor) -> Any:
    if isinstance(data, torch.Tensor):
        return data[indices]
    if isinstance(data, (tuple, list)):
        return tuple(t[indices] for t in data)
    return default_collate([data[int(i)] for i in indices])


def as_batch_source(
    data: Any, batch_size: int, seed: int, rank: int = 0, world_size: int = 1
) -> BatchSource:
    """Wrap ``data`` in a :class:`ShuffledBatches` unless it already is a BatchSource."""
    if isinstance(data, BatchSource):
        return data
    return ShuffledBatches(data, batch_size, seed=seed, rank=rank, world_size=world_size)


def move_to(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) batch to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {key: move_to(value, device) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(move_to(value, device) for value in batch)
    return batch
