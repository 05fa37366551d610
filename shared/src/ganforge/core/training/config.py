"""The trainer's settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ganforge.core.settings import check_fraction

PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class TrainerConfig:
    """Everything the trainer decides; the networks and losses are the module's.

    Args:
        iterations: total iterations (one pass over the current phase's steps).
        batch_size: samples per batch on each process.
        seed: seeds torch/numpy/python (offset by rank) and the batch order.
        run_dir: folder for logs, checkpoints and samples; ``None`` keeps all in memory.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:1"``.
        precision: ``"fp32"``; ``"bf16"`` or ``"fp16"`` autocast (fp16 with loss scaling).
        ema_decay: decay of the generator's exponential moving average; ``None`` for none.
        grad_clip: clip the gradient norm of each step's networks to this value.
        log_every: iterations between logged records.
        checkpoint_every: iterations between checkpoints (``run_dir`` needed to write files).
        keep_checkpoints: how many numbered checkpoints to keep beside ``latest.pt``.
        max_nonfinite: consecutive non-finite steps tolerated before rolling back
            to the last good checkpoint.
        max_rollbacks: rollbacks tolerated before training stops with an error.
        progress: show a progress bar.
        tensorboard: write TensorBoard logs in ``run_dir/tensorboard``.
    """

    iterations: int
    batch_size: int = 64
    seed: int = 0
    run_dir: str | Path | None = None
    device: str = "auto"
    precision: str = "fp32"
    ema_decay: float | None = None
    grad_clip: float | None = None
    log_every: int = 10
    checkpoint_every: int | None = None
    keep_checkpoints: int = 2
    max_nonfinite: int = 5
    max_rollbacks: int = 3
    progress: bool = True
    tensorboard: bool = True

    def __post_init__(self) -> None:
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.ema_decay is not None:
            check_fraction("ema_decay", self.ema_decay)
        if self.log_every < 1:
            raise ValueError(f"log_every must be >= 1, got {self.log_every}")
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")

    def to_dict(self) -> dict[str, Any]:
        """Primitives only, for checkpoints and logs."""
        values = asdict(self)
        values["run_dir"] = None if self.run_dir is None else str(self.run_dir)
        return values
