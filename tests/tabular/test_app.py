import json

import pandas as pd
import pytest

from ganforge.apps.cli import main


def test_fit_sample_evaluate_round_trip_through_csv(table, tmp_path, capsys):
    data = tmp_path / "data.csv"
    table[["x", "count", "city", "flag"]].to_csv(data, index=False)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"hidden": [16], "noise_dim": 8, "batch_size": 50}))
    model = tmp_path / "model.pt"
    args = [
        "tabular",
        "fit",
        "--data",
        str(data),
        "--out",
        str(model),
        "--epsilon",
        "none",
        "--epochs",
        "1",
        "--config",
        str(config),
        "--no-progress",
    ]
    assert main(args) == 0 and model.is_file()
    out = tmp_path / "synthetic.csv"
    assert (
        main(["tabular", "sample", "--model", str(model), "--rows", "120", "--out", str(out)]) == 0
    )
    synthetic = pd.read_csv(out)
    assert list(synthetic.columns) == ["x", "count", "city", "flag"] and len(synthetic) == 120
    assert set(synthetic["city"]) <= {"oslo", "rome", "lima"}
    report = tmp_path / "report.json"
    args = [
        "tabular",
        "evaluate",
        "--train",
        str(data),
        "--holdout",
        str(data),
        "--synthetic",
        str(out),
        "--target",
        "flag",
        "--out",
        str(report),
    ]
    assert main(args) == 0
    assert 0.0 <= json.loads(report.read_text())["quality"]["quality_score"] <= 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "missing.csv", "--out", "m.pt"], "no such CSV file"),
        (
            ["--dataset", "fair", "--out", "m.pt", "--epsilon", "abc"],
            "argument --epsilon: must be a number",
        ),
        (
            ["--dataset", "fair", "--out", "m.pt", "--epsilon", "0"],
            "epsilon must be a finite number > 0",
        ),
    ],
)
def test_fit_errors_are_one_line(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["tabular", "fit", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0
    assert not (tmp_path / "m.pt").exists()


def test_sample_rejects_a_bad_model_file(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("nope")
    out = tmp_path / "s.csv"
    assert main(["tabular", "sample", "--model", str(bad), "--rows", "5", "--out", str(out)]) == 2
    assert "ganforge: error:" in capsys.readouterr().err and not out.exists()
