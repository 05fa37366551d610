"""Data-parallel training with torch.distributed, launched by ``torchrun``.

Every rank holds a full copy of each network. After each backward pass the
gradients of the networks being stepped are averaged across ranks (one
coalesced all-reduce per step), so every rank takes the same optimizer step
and the networks stay identical; buffers (BatchNorm statistics) are broadcast
from rank 0 after each iteration. This is what DistributedDataParallel does,
done explicitly so that it also holds for GAN patterns DDP's hooks handle
badly: a network used twice before backward, double backward for gradient
penalties, and steps that update only some networks.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


@dataclass(frozen=True)
class ProcessGroupInfo:
    """Where this process stands: its rank, the world size and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


DEVICE_SPELLINGS = "auto, cpu, cuda or cuda:N"
TEARDOWN_WAIT_SECONDS = 60  # how long a leaving gloo rank waits for the others


def resolve_device(
    preference: str | torch.device | None = "auto", local_rank: int = 0
) -> torch.device:
    """The one device rule: ``"auto"`` (or ``None``) is CUDA when present, else the CPU;
    ``"cpu"``, ``"cuda"`` (this process's GPU) and ``"cuda:N"`` name a device.

    Raises:
        ValueError: one line for another spelling or a CUDA device that is not there.
    """
    if preference is None or preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    device = _parse_device(preference)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {str(preference)!r} was asked for but no CUDA GPU is available"
            )
        if device.index is None:
            device = torch.device("cuda", local_rank)
        if device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {str(device)!r} is not there: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    return device


def _parse_device(preference: str | torch.device) -> torch.device:
    if isinstance(preference, torch.device):
        device = preference
    else:
        try:
            device = torch.device(str(preference))
        except RuntimeError:
            raise ValueError(f"unknown device {preference!r}: use {DEVICE_SPELLINGS}") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {str(preference)!r}: use {DEVICE_SPELLINGS}")
    return device


def setup_process_group(device_preference: str = "auto") -> ProcessGroupInfo:
    """Join the process group ``torchrun`` describes in the environment, if any.

    Without ``WORLD_SIZE > 1`` this is a single process on the preferred device.
    The backend is NCCL on CUDA and gloo on the CPU. A group joined here is
    left again at interpreter exit (:func:`teardown_process_group`): a gloo
    group still alive while Python finalises can abort the process.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_preference, local_rank)
    if world_size <= 1:
        return ProcessGroupInfo(0, 1, device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
        atexit.register(teardown_process_group)
    return ProcessGroupInfo(dist.get_rank(), dist.get_world_size(), device)


def teardown_process_group() -> None:
    """Leave the default process group if this process is in one; otherwise nothing.

    On gloo every rank first waits for the others (at most
    :data:`TEARDOWN_WAIT_SECONDS`): a rank that closes its connections while a peer's
    gloo threads still use them can abort that peer. A peer that is gone by then does
    not keep this rank from leaving.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    if dist.get_backend() == "gloo":
        with contextlib.suppress(RuntimeError):  # a peer has gone already: leave without it
            dist.monitored_barrier(timeout=timedelta(seconds=TEARDOWN_WAIT_SECONDS))
    dist.destroy_process_group()


def broadcast_module_state(modules: Iterable[nn.Module], buffers_only: bool = False) -> None:
    """Copy rank 0's parameters (and buffers) to every rank."""
    for module in modules:
        tensors = [] if buffers_only else [p.data for p in module.parameters()]
        tensors += [b for b in module.buffers() if b.is_floating_point() or b.dtype == torch.long]
        for tensor in tensors:
            dist.broadcast(tensor, src=0)


def average_gradients(parameters: Iterable[nn.Parameter], world_size: int) -> None:
    """Average ``.grad`` of ``parameters`` across ranks with one coalesced all-reduce."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    for dtype in {g.dtype for g in grads}:
        group = [g for g in grads if g.dtype == dtype]
        flat = _flatten_dense_tensors(group)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= world_size
        for grad, reduced in zip(group, _unflatten_dense_tensors(flat, group), strict=True):
            grad.copy_(reduced)


def true_on_every_rank(flag: torch.Tensor) -> bool:
    """All-reduce a boolean flag with MIN: True only if it is True on every rank."""
    value = flag.to(torch.float32).reshape(1)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())


def gather_objects(value: object, world_size: int) -> list[object]:
    """Every rank's ``value`` (used for per-rank RNG states in checkpoints)."""
    if world_size == 1:
        return [value]
    gathered: list[object] = [None] * world_size
    dist.all_gather_object(gathered, value)
    return gathered
