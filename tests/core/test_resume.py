"""Exact resume across processes, and checkpoints that survive a killed writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganforge.core.checkpoint import (
    CheckpointError,
    capture_rng_states,
    load_checkpoint,
    restore_rng_states,
    save_checkpoint,
)

WORKER = Path(__file__).with_name("resume_worker.py")


def run_worker(*args: object) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(WORKER), *map(str, args)], check=True, env=env)


def test_resume_in_a_new_process_is_bit_identical(tmp_path, assert_identical):
    straight, resumed = tmp_path / "straight.pt", tmp_path / "resumed.pt"
    run_worker(tmp_path / "a", 6, straight)
    run_worker(tmp_path / "b", 4, tmp_path / "first_part.pt")
    run_worker(tmp_path / "b", 6, resumed, tmp_path / "b" / "checkpoint_00000004.pt")
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a["iteration"] == b["iteration"] == 6
    for key in ("networks", "ema", "optimizers", "batches", "rng"):
        assert_identical(a[key], b[key], key)
    assert a["ema"] is not None and int(a["ema"]["n_averaged"]) == 6


def test_rng_states_round_trip_through_a_safe_checkpoint(tmp_path):
    import random

    import numpy as np

    states = capture_rng_states()
    save_checkpoint(tmp_path / "rng.pt", {"rng": states})
    expected = (torch.rand(3), np.random.rand(3), random.random())
    restore_rng_states(load_checkpoint(tmp_path / "rng.pt")["rng"])
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0])
    assert np.array_equal(expected[1], again[1]) and expected[2] == again[2]


KILLED_WRITER = """
import io, sys, time
import torch
from ganforge.core.checkpoint import save_checkpoint

real_save = torch.save

def half_then_hang(obj, stream):
    buffer = io.BytesIO()
    real_save(obj, buffer)
    data = buffer.getvalue()
    stream.write(data[: len(data) // 2])
    stream.flush()
    print("half written", flush=True)
    time.sleep(120)

torch.save = half_then_hang
save_checkpoint(sys.argv[1], {"weights": torch.ones(100_000), "step": 2})
"""


def test_a_writer_killed_mid_write_leaves_the_previous_checkpoint_loadable(tmp_path):
    target = tmp_path / "latest.pt"
    save_checkpoint(target, {"weights": torch.zeros(10), "step": 1})
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "half written"
        partial = list(tmp_path.glob(".latest.pt.*"))
        assert len(partial) == 1 and partial[0].stat().st_size > 0
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    state = load_checkpoint(target)
    assert state["step"] == 1 and torch.equal(state["weights"], torch.zeros(10))


def test_truncated_or_foreign_files_give_a_clear_error(tmp_path):
    save_checkpoint(tmp_path / "good.pt", {"weights": torch.ones(1000)})
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a loadable checkpoint"):
        load_checkpoint(tmp_path / "truncated.pt")
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoints_refuse_to_unpickle_arbitrary_objects(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo unsafe",))

    torch.save({"payload": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="not a loadable checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")


def test_generator_export_round_trips_through_safetensors(tmp_path):
    from ganforge.core.checkpoint import export_generator, load_generator_weights

    network = torch.nn.Linear(3, 2)
    path = export_generator(network, tmp_path / "generator.safetensors")
    restored = load_generator_weights(torch.nn.Linear(3, 2), path)
    assert torch.equal(restored.weight, network.weight)
    assert torch.equal(restored.bias, network.bias)
