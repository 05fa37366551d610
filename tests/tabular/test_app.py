import json
import warnings

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


@pytest.mark.parametrize("dataset", ["fair", "breast_cancer", "wine", "iris", "diabetes"])
def test_every_embedded_dataset_fits_at_the_default_epsilon(dataset, tmp_path, capsys):
    from ganforge.apps.tabular import DATASETS
    from ganforge.tabular import DPTabularGAN

    assert dataset in DATASETS
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"hidden": [16], "noise_dim": 8, "epochs": 0.2}))
    model = tmp_path / "model.pt"
    args = ["--dataset", dataset, "--out", str(model), "--config", str(config)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # batch sizes adapted to small tables
        assert main(["tabular", "fit", *args, "--no-progress"]) == 0
    privacy = DPTabularGAN.load(model).privacy
    assert privacy.epsilon is not None and 0.9 < privacy.epsilon <= 1.0  # the default, spent
    assert "differential privacy" in capsys.readouterr().out


def test_a_plain_dict_schema_file_declares_bounds_and_levels(table, tmp_path, capsys):
    data = tmp_path / "data.csv"
    table[["x", "count", "city"]].to_csv(data, index=False)
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {"count": {"lower": 0, "upper": 60}, "city": {"categories": ["oslo", "rome", "lima"]}}
        )
    )
    model = tmp_path / "model.pt"
    args = ["--data", str(data), "--schema", str(schema), "--out", str(model), "--epochs", "1"]
    assert main(["tabular", "fit", *args, "--batch-size", "50", "--no-progress"]) == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"count": {"highest": 3}}))
    args = ["--data", str(data), "--schema", str(bad), "--out", str(tmp_path / "b.pt")]
    assert main(["tabular", "fit", *args]) == 2
    assert "column 'count': unknown schema keys ['highest']" in capsys.readouterr().err


def test_fit_with_a_target_writes_a_marginal_synthesizer_that_sample_reads(
    make_table, tmp_path, capsys
):
    data, model, out = tmp_path / "data.csv", tmp_path / "star.pt", tmp_path / "rows.csv"
    columns = ["x", "count", "city", "flag", "grade", "maybe", "note"]
    make_table(2000)[columns].to_csv(data, index=False)
    args = ["tabular", "fit", "--data", str(data), "--target", "city"]
    assert main([*args, "--epsilon", "10", "--out", str(model)]) == 0
    assert "cross-tables" in capsys.readouterr().out
    assert (
        main(["tabular", "sample", "--model", str(model), "--rows", "50", "--out", str(out)]) == 0
    )
    rows = pd.read_csv(out)
    assert len(rows) == 50 and set(rows["city"]) <= {"oslo", "rome", "lima"}
    assert list(rows.columns) == columns and rows["maybe"].isna().any()
    bad = ["tabular", "fit", "--data", str(data), "--target", "x"]
    assert main([*bad, "--epsilon", "none", "--out", str(model)]) != 0
    assert "is continuous" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["iris", "wine"])
def test_the_documented_bounds_of_the_small_embedded_tables_hold_their_data(name):
    from ganforge.tabular.data import load_sklearn_table, sklearn_schema

    table, schema = load_sklearn_table(name), sklearn_schema(name)
    bounded = [c for c, spec in schema.items() if spec.lower is not None]
    assert len(bounded) == table.shape[1] - 1  # every feature, not the target
    for column in bounded:  # within a printed unit (1, 0.1 or 0.01) of the extremes
        low, high = table[column].min(), table[column].max()
        unit = 1.0 if column == "proline" else 0.1
        assert (
            low - unit < schema[column].lower <= low and high <= schema[column].upper < high + unit
        )
