"""Data-parallel training: two gloo ranks on the CPU against one process.

Two ranks with batch B each must take the same steps as one process with
batch 2B (each rank gets its contiguous share of the global batch and its
slice of one global noise draw; gradients are averaged), stay identical to
each other, and leave every file in the run folder to rank 0.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from ganforge.core.checkpoint import load_checkpoint

WORKER_PATH = Path(__file__).with_name("ddp_worker.py")
BATCH_PER_RANK = 8
WORLD_SIZE = 2

pytestmark = pytest.mark.ddp


def load_worker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ddp_worker", WORKER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def launch_two_ranks(out_dir: Path, run_dir: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={WORLD_SIZE}",
        str(WORKER_PATH),
        str(out_dir),
        str(run_dir),
        str(BATCH_PER_RANK),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"torchrun failed:\n{(result.stdout + result.stderr)[-3000:]}"


def flatten(state: Any, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    """(path, tensor) for every tensor in a nested state dict."""
    if isinstance(state, torch.Tensor):
        yield prefix, state
    elif isinstance(state, dict):
        for key, value in state.items():
            yield from flatten(value, f"{prefix}.{key}")
    elif isinstance(state, (list, tuple)):
        for index, value in enumerate(state):
            yield from flatten(value, f"{prefix}.{index}")


def max_difference(a: dict[str, Any], b: dict[str, Any]) -> float:
    tensors_a, tensors_b = dict(flatten(a)), dict(flatten(b))
    assert tensors_a.keys() == tensors_b.keys()
    return max(
        float((tensors_a[key].double() - tensors_b[key].double()).abs().max()) for key in tensors_a
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The two ranks' final states and run folder, and two single-process runs."""
    root = tmp_path_factory.mktemp("ddp")
    out_dir, run_dir = root / "out", root / "run"
    out_dir.mkdir()
    launch_two_ranks(out_dir, run_dir)
    worker = load_worker()
    return {
        "ranks": [
            torch.load(out_dir / f"rank{rank}.pt", weights_only=True) for rank in range(WORLD_SIZE)
        ],
        "run_dir": run_dir,
        "single_global_batch": worker.train(BATCH_PER_RANK * WORLD_SIZE, None),
        "single_rank_batch": worker.train(BATCH_PER_RANK, None),
        "iterations": worker.ITERATIONS,
        "checkpoint_every": worker.CHECKPOINT_EVERY,
    }


def test_every_state_tensor_is_saved(runs):
    names = {name.split(".")[1] for name, _ in flatten(runs["ranks"][0])}
    assert names == {"networks", "ema", "optimizers"}
    optimizer_tensors = [name for name, _ in flatten(runs["ranks"][0]["optimizers"])]
    assert any(name.endswith("exp_avg_sq") for name in optimizer_tensors)


def test_ranks_stay_identical(runs):
    rank0, rank1 = runs["ranks"]
    assert max_difference(rank0, rank1) == 0.0


def test_two_ranks_match_one_process_with_the_global_batch(runs):
    assert max_difference(runs["ranks"][0], runs["single_global_batch"]) < 1e-5


def test_two_ranks_differ_from_one_process_with_the_per_rank_batch(runs):
    # The comparison above can fail: a run that sees only half the batch drifts away.
    assert max_difference(runs["ranks"][0], runs["single_rank_batch"]) > 1e-3


def test_only_rank_zero_writes_the_run_folder(runs):
    run_dir: Path = runs["run_dir"]
    assert not (run_dir / "rank1").exists()
    written = sorted(path.name for path in (run_dir / "rank0").iterdir())
    every, iterations = runs["checkpoint_every"], runs["iterations"]
    numbered = [f"checkpoint_{i:08d}.pt" for i in range(every, iterations + 1, every)]
    assert written == sorted([*numbered, "latest.pt", "metrics.jsonl"])


def test_rank_zero_logs_each_iteration_once(runs):
    lines = (runs["run_dir"] / "rank0" / "metrics.jsonl").read_text().splitlines()
    iterations = [json.loads(line)["iteration"] for line in lines]
    assert iterations == list(range(1, runs["iterations"] + 1))


def test_checkpoint_holds_final_networks_and_every_rank_rng(runs):
    checkpoint = load_checkpoint(runs["run_dir"] / "rank0" / "latest.pt")
    assert checkpoint["iteration"] == runs["iterations"]
    assert len(checkpoint["rng"]) == WORLD_SIZE
    assert max_difference(checkpoint["networks"], runs["ranks"][0]["networks"]) == 0.0
