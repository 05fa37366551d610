"""Every command of every domain on bad input: exit status 2, one line on stderr, nothing written.

The cases live beside this file in ``bad_input_<domain>.py``: each holds
``CASES = {name: (command, fragment)}``, a command line template and a piece
of text the one-line error must contain, and may define ``files(tmp) ->
{key: path}`` for inputs of its own (a truncated CSV, a pickle...). Templates
name ``{garbage}`` (a binary file that is no image, CSV or model),
``{missing}`` (a path that does not exist), ``{folder}`` (an existing folder),
``{out}`` (an output that must not appear), ``{run}`` (a run folder that
must not appear) and three model files every ``--model`` option must refuse:
``{foreign_model}`` (a core model file of the kind ``elsewhere.Model``),
``{newer_model}`` (a newer format) and ``{truncated_model}`` (cut in half).
Every command the ``ganforge`` parser offers must have at least one case, so
a new domain joins the table as soon as it is installed.
"""

from __future__ import annotations

import argparse
import runpy
from pathlib import Path

import pytest
import torch

from ganforge.apps.cli import build_parser, installed_domains, main

HERE = Path(__file__).parent


def _load_cases() -> dict[str, tuple[str, str, object]]:
    cases = {}
    for source in sorted(HERE.glob("bad_input_*.py")):
        namespace = runpy.run_path(str(source))
        for name, (command, fragment) in namespace["CASES"].items():
            cases[f"{source.stem[len('bad_input_') :]}: {name}"] = (
                command,
                fragment,
                namespace.get("files"),
            )
    return cases


CASES = _load_cases()


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every leaf command of the parser, as ``"domain command"``."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _subcommands(child, (*prefix, name))
    return found or [" ".join(prefix)]


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 8)
    folder = tmp_path / "folder"
    folder.mkdir()
    return {
        **bad_model_files(tmp_path),
        "garbage": garbage,
        "missing": tmp_path / "missing.csv",
        "folder": folder,
        "out": tmp_path / "out" / "x",
        "run": tmp_path / "run",
        "tmp": tmp_path,
    }


def bad_model_files(folder: Path) -> dict[str, Path]:
    """A model file of another kind, one of a newer format and a truncated one."""
    from ganforge.core.modelfile import FORMAT_VERSION, save_model

    foreign = save_model(folder / "foreign_model.pt", "elsewhere.Model", {}, {"G": {}})
    newer = folder / "newer_model.pt"
    torch.save(
        {**torch.load(foreign, weights_only=True), "format_version": FORMAT_VERSION + 1}, newer
    )
    truncated = folder / "truncated_model.pt"
    truncated.write_bytes(foreign.read_bytes()[:200])
    return {"foreign_model": foreign, "newer_model": newer, "truncated_model": truncated}


def _outputs_absent(paths: dict[str, Path]) -> bool:
    return not paths["out"].parent.exists() and not paths["run"].exists()


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_and_writes_nothing(name, paths, capsys):
    command, fragment, make_files = CASES[name]
    values = dict(paths)
    if make_files is not None:
        values.update(make_files(paths["tmp"]))
    argv = command.format(**{k: str(v) for k, v in values.items()}).split()
    assert main(argv) == 2, command
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if not line.startswith("ganforge: warn")]
    assert len(lines) == 1 and lines[0].startswith("ganforge: error: "), captured.err
    assert "Traceback" not in captured.err
    assert fragment.lower() in lines[0].lower(), f"{fragment!r} not in {lines[0]!r}"
    assert _outputs_absent(paths), f"{command} wrote output for a bad call"


def test_every_command_of_every_domain_has_bad_input_cases():
    parser = build_parser(installed_domains())
    domain_commands = [c for c in _subcommands(parser) if c.split()[0] not in ("demo", "doctor")]
    covered = {" ".join(command.split()[:2]) for command, _, _ in CASES.values()}
    assert domain_commands, "no domain command found"
    assert sorted(set(domain_commands) - covered) == []


@pytest.mark.parametrize("domain", sorted(installed_domains()))
def test_unknown_subcommand_is_one_line(domain, capsys):
    assert main([domain, "frobnicate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganforge: error: ") and "\n" not in err
