"""Atomic writes: all or nothing, with ordinary file permissions."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ganforge.core.files import atomic_write, remove_stale_temporaries, write_json

KILLED_WRITE = """
import os, signal, sys
from ganforge.core.files import atomic_write
with atomic_write(sys.argv[1]) as stream:
    stream.write(b"half a checkpoint")
    stream.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


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


def _killed_write(path) -> None:
    """Start a write to ``path`` in another process and kill it mid-write (SIGKILL)."""
    result = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(path)], check=False)
    assert result.returncode == -9


def test_remove_stale_temporaries_clears_what_killed_writes_left_and_nothing_else(tmp_path):
    (tmp_path / "latest.pt").write_bytes(b"good")
    (tmp_path / "checkpoint_00000008.pt").write_bytes(b"good")
    _killed_write(tmp_path / "latest.pt")
    _killed_write(tmp_path / "checkpoint_00000010.pt")
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert len(leftovers) == 2  # the real mkstemp names: .checkpoint_00000010.pt.xxxxxxxx ...
    unrelated = [
        ".gitignore",
        ".latest.pt.swp",  # an editor's file, not 8 characters after the name
        ".latest.pt.abcdefghi",  # 9 characters
        ".metrics.jsonl.abcdefgh",  # the temporary of a name not asked for
        ".checkpoint_final.pt.abcdefgh",
        "latest.pt.abcdefgh",  # no leading dot
    ]
    for name in unrelated:
        (tmp_path / name).write_text("keep")
    (tmp_path / ".latest.pt.folder_1").mkdir()  # matches the name but is not a file

    removed = remove_stale_temporaries(tmp_path, [r"latest\.pt", r"checkpoint_\d{8}\.pt"])

    assert sorted(p.name for p in removed) == leftovers
    remaining = sorted(p.name for p in tmp_path.iterdir())
    kept = ["checkpoint_00000008.pt", "latest.pt", ".latest.pt.folder_1", *unrelated]
    assert remaining == sorted(kept)
    assert (tmp_path / "latest.pt").read_bytes() == b"good"


def test_remove_stale_temporaries_on_a_missing_folder_and_without_targets(tmp_path):
    assert remove_stale_temporaries(tmp_path / "absent", [r"latest\.pt"]) == []
    with pytest.raises(ValueError, match="at least one target"):
        remove_stale_temporaries(tmp_path, [])


def test_atomic_files_appear_together_or_not_at_all(tmp_path):
    from ganforge.core.files import atomic_files

    targets = {"image": tmp_path / "out" / "sr.nii.gz", "report": tmp_path / "out" / "sr.json"}
    with atomic_files(targets) as temporary:
        assert temporary["image"].name.endswith(".nii.gz")  # the format stays readable
        assert temporary["image"].parent == targets["image"].parent
        temporary["image"].write_bytes(b"image")
        temporary["report"].write_text("{}")
        assert not targets["image"].exists()  # nothing appears before the block ends
    assert targets["image"].read_bytes() == b"image" and targets["report"].read_text() == "{}"
    with pytest.raises(RuntimeError, match="disk full"), atomic_files(targets) as temporary:
        temporary["image"].write_bytes(b"new image")
        raise RuntimeError("disk full")
    assert targets["image"].read_bytes() == b"image"  # unchanged
    assert sorted(p.name for p in targets["image"].parent.iterdir()) == ["sr.json", "sr.nii.gz"]
