"""Run a tabular peer (sdv's CTGAN, smartnoise-synth's MST or DPCTGAN) from the project's .venv.

The peers cannot share the project's environment, so ``run_peer`` writes the
train frame to a temporary folder, runs ``tabular_peer.py`` beside this file
with the peers' interpreter (``.venv-peers/bin/python``, built by ``make
peers``; ``GANFORGE_PEERS_PYTHON`` names another), one thread, and reads the
synthetic rows back::

    from peers.run import run_peer  # with bench/ on sys.path

    result = run_peer("mst", train, rows=len(train), seed=0, epsilon=1.0,
                      categorical=["sex", "target"], continuous=["age"])
    if result.refused:
        print(result.refused_reason)

Stdlib and pandas only: nothing here imports ganforge or the peers' libraries.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPT = HERE / "tabular_peer.py"
DEFAULT_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
METHODS = ("ctgan", "mst", "dpctgan")
DP_METHODS = ("mst", "dpctgan")
REFUSED = 3


class PeersUnavailable(RuntimeError):
    """The peers' interpreter is missing."""


class PeerFailed(RuntimeError):
    """The peer script failed in a way that is not a refusal (bad arguments, crash, timeout)."""


@dataclass
class PeerResult:
    """``frame`` is None exactly when the peer refused the table; ``report``: the script's JSON."""

    frame: pd.DataFrame | None
    fit_seconds: float | None
    refused_reason: str | None
    report: dict = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return self.refused_reason is not None

    @property
    def epsilon_spent(self) -> float | None:
        return self.report.get("epsilon_spent")


def peers_python() -> Path:
    """The peers' interpreter: ``$GANFORGE_PEERS_PYTHON`` or ``.venv-peers/bin/python``."""
    named = os.environ.get("GANFORGE_PEERS_PYTHON")
    return Path(named) if named else DEFAULT_PYTHON


def peers_available() -> bool:
    return peers_python().is_file()


def _check(
    method: str,
    train_frame: pd.DataFrame,
    rows: int,
    epsilon: float | None,
    categorical: Sequence[str],
    continuous: Sequence[str],
) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows must be a positive integer, got {rows!r}")
    if method in DP_METHODS and (epsilon is None or not epsilon > 0):
        raise ValueError(f"{method} is differentially private: give epsilon > 0, got {epsilon!r}")
    if method not in DP_METHODS and epsilon is not None:
        raise ValueError(f"{method} is not differentially private: epsilon must be None")
    if not isinstance(train_frame, pd.DataFrame) or train_frame.empty:
        raise ValueError("train_frame must be a non-empty pandas DataFrame")
    names = [*categorical, *continuous]
    for name in [*names, *train_frame.columns]:
        if not isinstance(name, str) or "," in name:
            raise ValueError(f"column names must be strings without commas, got {name!r}")
    twice = sorted({str(c) for c in names if names.count(c) > 1})
    missing = [c for c in names if c not in train_frame.columns]
    unnamed = [c for c in train_frame.columns if c not in names]
    if twice or missing or unnamed:
        raise ValueError(
            "categorical and continuous must name each column of train_frame once: "
            f"named twice {twice}, not in the frame {missing}, not named {unnamed}"
        )


def run_peer(
    method: str,
    train_frame: pd.DataFrame,
    rows: int,
    seed: int,
    epsilon: float | None = None,
    *,
    categorical: Sequence[str] = (),
    continuous: Sequence[str] = (),
    timeout: float | None = None,
    delta: float | None = None,
    preprocessor_share: float | None = None,
    epochs: int | None = None,
    python: str | os.PathLike | None = None,
) -> PeerResult:
    """Fit ``method`` on ``train_frame`` in the peers' venv and sample ``rows`` rows.

    ``epsilon`` is required for ``mst`` and ``dpctgan`` and refused for
    ``ctgan``; ``delta`` defaults to the library's, ``preprocessor_share`` (the
    share of epsilon for the continuous columns' DP bounds) to the script's 0.1,
    ``epochs`` to the library's (override for smoke tests only). Returns the
    synthetic frame, or ``frame=None`` with the library's one-line reason when
    the peer refuses the table. Raises ``PeersUnavailable`` without the
    interpreter and ``PeerFailed`` on a crash, bad arguments or a timeout.
    """
    _check(method, train_frame, rows, epsilon, categorical, continuous)
    interpreter = Path(python) if python is not None else peers_python()
    if not interpreter.is_file():
        raise PeersUnavailable(
            f"the peers' interpreter {interpreter} is missing: run `make peers` in {ROOT} "
            "to build .venv-peers (sdv's ctgan and smartnoise-synth)"
        )
    with tempfile.TemporaryDirectory(prefix="ganforge-peer-") as folder:
        folder = Path(folder)
        train_csv, out_csv = folder / "train.csv", folder / "synth.csv"
        report_json = folder / "report.json"
        train_frame.to_csv(train_csv, index=False)
        command = [
            str(interpreter),
            str(SCRIPT),
            f"--method={method}",
            f"--train={train_csv}",
            f"--out={out_csv}",
            f"--rows={rows}",
            f"--seed={seed}",
            f"--categorical={','.join(map(str, categorical))}",
            f"--continuous={','.join(map(str, continuous))}",
            f"--report={report_json}",
        ]
        for flag, value in (
            ("epsilon", epsilon),
            ("delta", delta),
            ("preprocessor-share", preprocessor_share),
            ("epochs", epochs),
        ):
            if value is not None:
                command.append(f"--{flag}={value}")
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, env=env, cwd=folder
            )
        except subprocess.TimeoutExpired as error:
            raise PeerFailed(f"{method} did not finish within {timeout} s") from error
        report = json.loads(report_json.read_text()) if report_json.is_file() else None
        if done.returncode == REFUSED and report is not None:
            return PeerResult(None, report.get("fit_seconds"), report["reason"], report)
        if done.returncode != 0 or report is None or not out_csv.is_file():
            tail = "\n".join(done.stderr.strip().splitlines()[-15:])
            raise PeerFailed(f"{method} exited with status {done.returncode}:\n{tail}")
        frame = _restore_dtypes(pd.read_csv(out_csv), train_frame, categorical)
    return PeerResult(frame, report["fit_seconds"], None, report)


def _restore_dtypes(
    frame: pd.DataFrame, train_frame: pd.DataFrame, categorical: Sequence[str]
) -> pd.DataFrame:
    """Give the categorical columns the train frame's dtypes back where the values allow it."""
    for name in categorical:
        with contextlib.suppress(TypeError, ValueError):
            frame[name] = frame[name].astype(train_frame[name].dtype)
    return frame[list(train_frame.columns)]
