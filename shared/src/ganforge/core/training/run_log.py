"""Where a run's numbers go: memory, a JSONL file and TensorBoard (rank 0 only)."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from ganforge.core.files import atomic_write

LOGGER = logging.getLogger("ganforge")


class RunLog:
    """Collects scalar records and named events of a run.

    ``records`` holds every logged dict in memory; with a ``run_dir`` they are
    also appended to ``metrics.jsonl`` (one JSON object a line) and written to
    TensorBoard under ``tensorboard/`` when the package is installed. Only the
    main process writes files.
    """

    def __init__(self, run_dir: Path | None, writes: bool, tensorboard: bool = True) -> None:
        self.records: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.run_dir = run_dir if writes else None
        self._jsonl = None
        self._tensorboard = None
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._jsonl = (self.run_dir / "metrics.jsonl").open("a", encoding="utf-8")
            if tensorboard:
                self._tensorboard = _open_tensorboard(self.run_dir / "tensorboard")

    def scalars(self, iteration: int, values: dict[str, float]) -> dict[str, Any]:
        """Record scalar values at ``iteration``."""
        record = {"iteration": iteration, **values}
        self.records.append(record)
        self._write(record)
        if self._tensorboard is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self._tensorboard.add_scalar(key, value, iteration)
        return record

    def event(self, iteration: int, name: str, **info: Any) -> dict[str, Any]:
        """Record a named event (a warning from a monitor, a skipped step, a rollback)."""
        record = {"iteration": iteration, "event": name, **info}
        self.events.append(record)
        self._write(record)
        LOGGER.warning("iteration %d: %s %s", iteration, name, info or "")
        return record

    def continue_from(self, iteration: int) -> None:
        """Resume the log of a killed run at ``iteration``: keep what it logged up to
        there (in ``metrics.jsonl`` and in memory) and drop what it logged after its
        last checkpoint, which the resumed run logs again; a torn last line goes too."""
        if self._jsonl is None:
            return
        path = self.run_dir / "metrics.jsonl"
        self._jsonl.close()
        kept = [e for e in _entries(path) if int(e.get("iteration", 0)) <= iteration]
        with atomic_write(path, "w", encoding="utf-8") as stream:
            stream.writelines(json.dumps(entry, default=float) + "\n" for entry in kept)
        self.records = [e for e in kept if "event" not in e] + self.records
        self.events = [e for e in kept if "event" in e] + self.events
        self._jsonl = path.open("a", encoding="utf-8")

    def _write(self, record: dict[str, Any]) -> None:
        if self._jsonl is not None:
            self._jsonl.write(json.dumps(record, default=float) + "\n")
            self._jsonl.flush()

    def close(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None


def _open_tensorboard(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional at run time
        return None
    return SummaryWriter(log_dir=str(folder))


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Read a run's ``metrics.jsonl`` back as (scalar records, events)."""
    records, events = [], []
    for entry in _entries(path):
        (events if "event" in entry else records).append(entry)
    return records, events


def _entries(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file; a line cut by a kill is left out."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
