"""A buffer of past generated samples (Shrivastava et al. 2017; CycleGAN's image pool)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class HistoryBuffer:
    """Shows the discriminator a mix of current and past fakes.

    Once the buffer is full, :meth:`query` returns a batch whose first half is current
    fakes and whose second half (``batch // 2`` samples) is drawn at random from the
    buffer; those buffer slots are then replaced by the current fakes they displaced.
    While the buffer fills, the current fakes are stored and returned unchanged.
    Returned samples are detached (the discriminator step does not train the generator).

    Args:
        size: number of past samples kept (50 in CycleGAN).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size = int(size)
        self.buffer: Tensor | None = None
        self.count = 0

    def _check_shape(self, fakes: Tensor) -> None:
        if self.buffer is not None and self.buffer.shape[1:] != fakes.shape[1:]:
            raise ValueError(
                f"sample shape {tuple(fakes.shape[1:])} differs from the buffered "
                f"{tuple(self.buffer.shape[1:])}; use one HistoryBuffer per sample shape"
            )

    def query(self, fakes: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A batch of the same shape as ``fakes``, half of it from history when full."""
        fakes = fakes.detach()
        self._check_shape(fakes)
        if self.buffer is None:
            self.buffer = fakes.new_empty((self.size, *fakes.shape[1:]))
        self.buffer = self.buffer.to(fakes)
        if self.count < self.size:
            n_new = min(self.size - self.count, fakes.shape[0])
            self.buffer[self.count : self.count + n_new] = fakes[:n_new]
            self.count += n_new
            return fakes
        n_hist = min(fakes.shape[0] // 2, self.size)
        source = generator.device if generator is not None else torch.device("cpu")
        slots = torch.randperm(self.size, generator=generator, device=source)[:n_hist]
        slots = slots.to(fakes.device)
        keep = fakes.shape[0] - n_hist
        mixed = torch.cat([fakes[:keep], self.buffer[slots].clone()])
        self.buffer[slots] = fakes[keep:]
        return mixed

    def state_dict(self) -> dict[str, Any]:
        stored = None if self.buffer is None else self.buffer[: self.count].cpu().clone()
        return {"size": self.size, "buffer": stored}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.size = int(state["size"])
        stored = state["buffer"]
        if stored is None:
            self.buffer, self.count = None, 0
            return
        self.buffer = stored.new_empty((self.size, *stored.shape[1:]))
        self.buffer[: stored.shape[0]] = stored
        self.count = int(stored.shape[0])
