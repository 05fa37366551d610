"""Every domain command on bad input: exit status 2, one line on stderr, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganforge.apps.cli import main

# {garbage}: a binary file that is no image/CSV/model; {missing}: a path that does not exist;
# {out}: the output the command must not create.
COMMANDS = {
    "medsr train": "medsr train --images {garbage} --out {out} --no-progress",
    "medsr enhance (model)": "medsr enhance --model {garbage} --input {garbage} --out {out}",
    "medsr enhance (input)": "medsr enhance --model {missing} --input {garbage} --out {out}",
    "medsr evaluate": "medsr evaluate --model {garbage} --out {out}",
    "finance train": "finance train --data {garbage} --out {out} --no-progress",
    "finance sample": "finance sample --model {garbage} --out {out}",
    "finance evaluate": "finance evaluate --synthetic {garbage} --out {out}",
    "tabular fit": "tabular fit --data {garbage} --out {out} --no-progress",
    "tabular sample": "tabular sample --model {garbage} --rows 10 --out {out}",
    "tabular evaluate": (
        "tabular evaluate --train {garbage} --holdout {garbage} --synthetic {garbage} --out {out}"
    ),
    "bad config": "tabular fit --dataset fair --config {garbage} --out {out} --no-progress",
    "missing input": "finance sample --model {missing} --out {out}",
}


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 8)
    return {"garbage": garbage, "missing": tmp_path / "missing.csv", "out": tmp_path / "out" / "x"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_bad_input_is_one_line_and_writes_nothing(name, paths, capsys):
    argv = COMMANDS[name].format(**{k: str(v) for k, v in paths.items()}).split()
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if not line.startswith("ganforge: warn")]
    assert len(lines) == 1 and lines[0].startswith("ganforge: error: "), captured.err
    assert "Traceback" not in captured.err
    assert not paths["out"].exists() and not paths["out"].parent.exists()


@pytest.mark.parametrize("domain", ["medsr", "finance", "tabular"])
def test_unknown_subcommand_is_one_line(domain, capsys):
    assert main([domain, "frobnicate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganforge: error: ") and "\n" not in err
