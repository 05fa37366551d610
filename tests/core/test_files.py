"""Atomic writes: all or nothing, with ordinary file permissions."""

import json
import os

import numpy as np
import pytest

from ganforge.core.files import atomic_write, write_json


def test_a_failed_write_keeps_the_previous_content(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as stream:
        stream.write("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_new_files_get_the_umask_permissions_and_existing_ones_keep_theirs(tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.txt"
        with atomic_write(fresh, "w") as stream:
            stream.write("x")
        assert fresh.stat().st_mode & 0o777 == 0o644
        private = tmp_path / "private.txt"
        private.write_text("y")
        private.chmod(0o600)
        with atomic_write(private, "w") as stream:
            stream.write("z")
        assert private.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


def test_write_json_handles_numpy_values_and_paths(tmp_path):
    path = write_json(tmp_path / "r.json", {"ratio": np.float64(0.5), "n": np.arange(3)})
    assert json.loads(path.read_text()) == {"ratio": 0.5, "n": [0, 1, 2]}
