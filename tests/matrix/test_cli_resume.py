"""Every domain's training command survives ``kill -9``: --resume gives the identical model.

Each ``cli_resume_<domain>.py`` beside this file holds ``TRAIN``, a command
line template with ``{run}`` (the run folder) and ``{out}`` (the model file),
that checkpoints often (``--checkpoint-every``). The test runs it once to the
end, runs it again in a subprocess killed with SIGKILL as soon as its second
numbered checkpoint is on disk, resumes that run with ``--resume`` and
compares the two model files tensor by tensor.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent
COMMANDS = {
    source.stem[len("cli_resume_") :]: runpy.run_path(str(source))["TRAIN"]
    for source in sorted(HERE.glob("cli_resume_*.py"))
}
KILL_TIMEOUT_S = 240


def _argv(template: str, run: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "ganforge.apps.cli", *template.format(run=run, out=out).split()]


def _environment() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run_killed(argv: list[str], run: Path) -> int:
    """Start ``argv``, SIGKILL it once two numbered checkpoints exist; the iteration of
    the ``latest.pt`` it left."""
    process = subprocess.Popen(
        argv, env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while len(list(run.rglob("checkpoint_*.pt"))) < 2:
            if process.poll() is not None:
                stderr = process.stderr.read().decode()
                pytest.fail(
                    f"the run ended before it was killed (rc {process.returncode}): {stderr}"
                )
            if time.monotonic() > deadline:
                pytest.fail("no second checkpoint in time")
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
        process.stderr.close()
    [latest] = run.rglob("latest.pt")
    return int(torch.load(latest, weights_only=True)["iteration"])


def _resumed_at(run: Path) -> list[int]:
    """Iterations at which the run log records a resume."""
    [log] = run.rglob("metrics.jsonl")
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [r["iteration"] for r in records if r.get("event") == "resumed"]


def _tensors(state: object, prefix: str = "") -> dict[str, object]:
    """Flatten a model file into {path: value} for comparison."""
    if isinstance(state, dict):
        flat = {}
        for key, value in state.items():
            flat.update(_tensors(value, f"{prefix}{key}/"))
        return flat
    if isinstance(state, (list, tuple)):
        flat = {}
        for index, value in enumerate(state):
            flat.update(_tensors(value, f"{prefix}{index}/"))
        return flat
    return {prefix: state}


@pytest.mark.parametrize("domain", sorted(COMMANDS))
def test_killed_cli_run_resumes_to_the_identical_model(domain, tmp_path):
    template = COMMANDS[domain]
    whole = tmp_path / "whole"
    subprocess.run(
        _argv(template, whole / "run", whole / "model.pt"),
        env=_environment(),
        check=True,
        capture_output=True,
    )
    killed = tmp_path / "killed"
    argv = _argv(template, killed / "run", killed / "model.pt")
    stopped_at = _run_killed(argv, killed / "run")
    assert not (killed / "model.pt").exists(), "the killed run wrote its model"
    resumed = subprocess.run([*argv, "--resume"], env=_environment(), capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()
    # it continued from the killed run's checkpoint rather than starting again
    assert stopped_at > 0 and _resumed_at(killed / "run") == [stopped_at]
    expected = _tensors(torch.load(whole / "model.pt", weights_only=True))
    actual = _tensors(torch.load(killed / "model.pt", weights_only=True))
    assert expected.keys() == actual.keys()
    for key, value in expected.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, actual[key]), f"{domain}: {key} differs after resume"
        else:
            assert value == actual[key], f"{domain}: {key} differs after resume"
