"""`ganforge finance train | sample | evaluate` end to end on tiny settings, and bad input."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from ganforge.apps.cli import build_parser, installed_domains, main
from ganforge.apps.finance import _train_config
from ganforge.finance import TimeGAN, TimeGANConfig, sp500_log_returns

TINY = {"hidden_dim": 4, "num_layers": 1, "batch_size": 16}


@pytest.fixture()
def tiny_config(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return path


def _error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err  # warnings about other domains aside: one line
    lines = [line for line in err.splitlines() if not line.startswith("ganforge: warn")]
    assert len(lines) == 1 and lines[0].startswith("ganforge: error: "), err
    return lines[0]


def test_returns_model_trains_samples_and_evaluates(tmp_path, tiny_config, capsys):
    model = tmp_path / "model.pt"
    argv = [
        "finance",
        "train",
        "--mode",
        "returns",
        "--seq-len",
        "8",
        "--stride",
        "16",
        "--iterations",
        "2",
        "--config",
        str(tiny_config),
        "--out",
        str(model),
        "--no-progress",
    ]
    assert main(argv) == 0
    loaded = TimeGAN.load(model)
    assert loaded.metadata == {"mode": "returns", "columns": ["Adj Close"], "regimes": "none"}
    assert (loaded.config.seq_len, loaded.config.hidden_dim, loaded.batch_size) == (8, 4, 16)
    # returns default to the stepwise return-path model
    assert (loaded.config.generation, loaded.config.scaling) == ("stepwise", "standardize")
    csv = tmp_path / "paths.csv"
    assert (
        main(
            [
                "finance",
                "sample",
                "--model",
                str(model),
                "--paths",
                "3",
                "--days",
                "120",
                "--out",
                str(csv),
            ]
        )
        == 0
    )
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["path", "step", "Adj Close"]
    assert len(frame) == 3 * 120 and frame["step"].max() == 119
    report = tmp_path / "report.json"
    assert (
        main(
            ["finance", "evaluate", "--synthetic", str(csv), "--no-baselines", "--out", str(report)]
        )
        == 0
    )
    result = json.loads(report.read_text())
    assert result["synthetic"]["total"] == 17
    assert "/17 checks" in capsys.readouterr().out


# `train` then `sample` of the default returns model (stepwise, 40 iterations per phase,
# seed 0): 200 paths of 64 days whose mean return lies within 0.12 of the S&P 500 returns'
# standard deviation and whose standard deviation is 0.8-1.25 of theirs (seen: 0.059 and
# 1.04; seeds 1 and 2 give 0.023/0.92 and 0.042/0.88). After one iteration: 0.18 and 0.64.
CLI_MEAN_TOLERANCE, CLI_STD_RANGE = 0.12, (0.8, 1.25)


def _sampled_returns(tmp_path, iterations, config):
    model, csv = tmp_path / f"model{iterations}.pt", tmp_path / f"paths{iterations}.csv"
    argv = ["finance", "train", "--mode", "returns", "--seq-len", "8", "--stride", "8"]
    argv += ["--iterations", str(iterations), "--config", str(config), "--out", str(model)]
    assert main([*argv, "--no-progress"]) == 0
    argv = ["finance", "sample", "--model", str(model), "--paths", "200", "--days", "64"]
    assert main([*argv, "--out", str(csv)]) == 0
    return pd.read_csv(csv)["Adj Close"].to_numpy()


def test_trained_returns_model_matches_the_moments_of_sp500_returns(tmp_path, moments_match):
    config = tmp_path / "small.json"
    config.write_text(json.dumps({"hidden_dim": 8, "num_layers": 1, "batch_size": 32, "lr": 5e-3}))
    real = sp500_log_returns()
    trained = _sampled_returns(tmp_path, 40, config)
    ok, moments = moments_match(real, trained, CLI_MEAN_TOLERANCE, CLI_STD_RANGE)
    assert ok, f"trained: {moments}"
    barely = _sampled_returns(tmp_path, 1, config)
    ok, moments = moments_match(real, barely, CLI_MEAN_TOLERANCE, CLI_STD_RANGE)
    assert not ok, f"one iteration: {moments}"


def test_returns_model_keeps_the_papers_sampling_when_the_config_asks(tmp_path):
    config = tmp_path / "paper.json"
    config.write_text(json.dumps({**TINY, "generation": "paper", "scaling": "gaussianize"}))
    model = tmp_path / "model.pt"
    argv = ["finance", "train", "--mode", "returns", "--seq-len", "8", "--stride", "32"]
    argv += ["--iterations", "1", "--config", str(config), "--out", str(model), "--no-progress"]
    assert main(argv) == 0
    loaded = TimeGAN.load(model)
    assert (loaded.config.generation, loaded.config.scaling) == ("paper", "gaussianize")


def test_conditional_levels_model_samples_a_regime(tmp_path, tiny_config):
    model = tmp_path / "model.pt"
    assert (
        main(
            [
                "finance",
                "train",
                "--columns",
                "Close,Volume",
                "--seq-len",
                "6",
                "--stride",
                "25",
                "--regimes",
                "volatility",
                "--iterations",
                "1",
                "--config",
                str(tiny_config),
                "--out",
                str(model),
                "--no-progress",
            ]
        )
        == 0
    )
    assert TimeGAN.load(model).config.n_conditions == 2
    csv = tmp_path / "stressed.csv"
    assert (
        main(
            [
                "finance",
                "sample",
                "--model",
                str(model),
                "--paths",
                "2",
                "--regime",
                "stressed",
                "--device",
                "cpu",
                "--out",
                str(csv),
            ]
        )
        == 0
    )
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["path", "step", "Close", "Volume"]
    # the CSV holds the model's stressed samples, in price units, path after path
    expected = TimeGAN.load(model).sample(2, "stressed").reshape(-1, 2)
    np.testing.assert_allclose(frame[["Close", "Volume"]].to_numpy(), expected, rtol=1e-12)


def test_model_options_layer_defaults_config_iterations_and_flags(tmp_path):
    config = tmp_path / "options.json"
    config.write_text(json.dumps({"hidden_dim": 5, "seed": 2, "joint_iterations": 7, "lr": 0.01}))
    argv = ["finance", "train", "--mode", "returns", "--config", str(config), "--seed", "4"]
    argv += ["--iterations", "3", "--embed-iterations", "9", "--device", "cpu", "--out", "m.pt"]
    spec = _train_config(build_parser(installed_domains()).parse_args(argv))
    assert (spec.hidden_dim, spec.lr, spec.seed, spec.device) == (5, 0.01, 4, "cpu")
    # --iterations over the config file, a phase's own flag over --iterations
    assert (spec.embed_iterations, spec.supervise_iterations, spec.joint_iterations) == (9, 3, 3)
    # --mode returns defaults to the stepwise model; the rest are the spec's defaults
    assert (spec.generation, spec.scaling) == ("stepwise", "standardize")
    assert (spec.num_layers, spec.batch_size) == (
        TimeGANConfig.num_layers,
        TimeGANConfig.batch_size,
    )


def test_bad_input_gives_one_line_errors(tmp_path, tiny_config, capsys):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{nope")
    out = str(tmp_path / "m.pt")
    assert "not valid JSON" in _error(
        capsys, ["finance", "train", "--config", str(bad_json), "--out", out]
    )
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"hiden_dim": 3}))
    assert "unknown config keys ['hiden_dim']" in _error(
        capsys, ["finance", "train", "--config", str(unknown), "--out", out]
    )
    unsorted = tmp_path / "unsorted.csv"
    pd.DataFrame({"date": ["2020-01-03", "2020-01-02"], "px": [1.0, 2.0]}).to_csv(unsorted)
    assert "not sorted ascending" in _error(
        capsys, ["finance", "train", "--data", str(unsorted), "--out", out]
    )
    short = tmp_path / "short.csv"
    pd.DataFrame(
        {"date": pd.date_range("2020-01-01", periods=10), "px": np.arange(1.0, 11)}
    ).to_csv(short, index=False)
    assert "10 rows is too few for windows of 24" in _error(
        capsys, ["finance", "train", "--data", str(short), "--out", out]
    )
    assert "--iterations: must be at least 1" in _error(
        capsys, ["finance", "train", "--iterations", "0", "--out", out]
    )
    flat = tmp_path / "flat.csv"
    pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}).to_csv(flat, index=False)
    assert "lacks columns ['path', 'step']" in _error(
        capsys, ["finance", "evaluate", "--synthetic", str(flat), "--out", out]
    )
    assert "no such CSV file" in _error(
        capsys, ["finance", "evaluate", "--synthetic", str(tmp_path / "none.csv"), "--out", out]
    )


def test_sample_refuses_mismatched_options(tmp_path, tiny_config, capsys):
    model = tmp_path / "model.pt"
    assert (
        main(
            [
                "finance",
                "train",
                "--seq-len",
                "6",
                "--stride",
                "50",
                "--iterations",
                "1",
                "--config",
                str(tiny_config),
                "--out",
                str(model),
                "--no-progress",
            ]
        )
        == 0
    )
    out = str(tmp_path / "s.csv")
    assert "trained without --regimes" in _error(
        capsys, ["finance", "sample", "--model", str(model), "--regime", "calm", "--out", out]
    )
    assert "only makes sense for a returns model" in _error(
        capsys, ["finance", "sample", "--model", str(model), "--days", "30", "--out", out]
    )
    assert "--paths: must be at least 1" in _error(
        capsys, ["finance", "sample", "--model", str(model), "--paths", "0", "--out", out]
    )


def _model_tensors(path):
    state = torch.load(path, weights_only=True)
    return state, {
        f"{name}/{key}": value
        for name, network in state["state"].items()
        for key, value in network.items()
    }


@pytest.mark.parametrize("mode", ["levels", "returns"])  # the paper's model, the stepwise one
def test_train_resumes_from_a_checkpoint_to_the_identical_model(tmp_path, mode, capsys):
    argv = ["finance", "train", "--mode", mode, "--seq-len", "6", "--stride", "40"]
    argv += ["--iterations", "3", "--hidden-dim", "3", "--num-layers", "1", "--batch-size", "8"]
    argv += ["--columns", "Close", "--checkpoint-every", "4", "--no-progress"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert main([*argv, "--run-dir", str(whole), "--out", str(whole / "model.pt")]) == 0
    # a run killed after iteration 4 (in the supervised phase) left that checkpoint as latest.pt
    killed.mkdir()
    shutil.copy(whole / "checkpoint_00000004.pt", killed / "latest.pt")
    out = killed / "model.pt"
    assert main([*argv, "--run-dir", str(killed), "--out", str(out), "--resume"]) == 0
    # it went on from iteration 4: a fresh run would also have written checkpoint 4
    assert [p.name for p in killed.glob("checkpoint_*.pt")] == ["checkpoint_00000008.pt"]
    expected, expected_tensors = _model_tensors(whole / "model.pt")
    actual, actual_tensors = _model_tensors(out)
    assert expected_tensors.keys() == actual_tensors.keys()
    for key, value in expected_tensors.items():
        assert torch.equal(value, actual_tensors[key]), key
    assert {k: v for k, v in expected.items() if k != "state"} == {
        k: v for k, v in actual.items() if k != "state"
    }
    assert json.loads(expected["spec"])["generation"] == (
        "stepwise" if mode == "returns" else "paper"
    )
    # resuming with other options is refused before anything is written
    other = tmp_path / "other.pt"
    resume = [*argv, "--run-dir", str(killed), "--out", str(other), "--resume"]
    assert "its run had seed 0 (now 1)" in _error(capsys, [*resume, "--seed", "1"])
    assert "its networks have other shapes" in _error(capsys, [*resume, "--hidden-dim", "4"])
    assert not other.exists()


def _ohlcv_csv(path, days=200, seed=0):
    """A dated OHLCV table of valid bars (a random walk with wicks)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, days)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 0.003, days))
    high = np.maximum(open_, close) * np.exp(rng.uniform(0, 0.01, days))
    low = np.minimum(open_, close) * np.exp(-rng.uniform(0, 0.01, days))
    dates = pd.bdate_range("2020-01-01", periods=days)
    frame = pd.DataFrame(
        {
            "Date": dates,
            "Open": open_,
            "High": high,
            "Low": low,
            "Close": close,
            "Volume": rng.integers(1000, 5000, days),
        }
    )
    frame.to_csv(path, index=False)
    return frame


def test_bars_model_samples_dated_bars_that_are_valid_by_construction(tmp_path, tiny_config):
    from ganforge.finance import invalid_bar_share

    real = _ohlcv_csv(tmp_path / "ohlcv.csv")
    model, out = tmp_path / "bars.pt", tmp_path / "bars.csv"
    common = ["--seq-len", "8", "--iterations", "3", "--config", str(tiny_config)]
    argv = ["finance", "train", "--data", str(tmp_path / "ohlcv.csv"), "--mode", "bars"]
    assert main([*argv, *common, "--out", str(model), "--no-progress"]) == 0
    loaded = TimeGAN.load(model)
    assert loaded.metadata["columns"] == ["return", "open_gap", "upper", "lower", "log_volume"]
    assert loaded.metadata["last_close"] == pytest.approx(real["Close"].iloc[-1])
    assert (
        main(["finance", "sample", "--model", str(model), "--paths", "40", "--out", str(out)]) == 0
    )
    sampled = pd.read_csv(out)
    assert list(sampled.columns) == [
        "path",
        "step",
        "date",
        "Open",
        "High",
        "Low",
        "Close",
        "Volume",
    ]
    assert len(sampled) == 40 * 8 and invalid_bar_share(sampled.iloc[:, 3:].to_numpy()) == 0
    first_days = sampled.loc[sampled.step == 0, "date"].unique().tolist()
    assert first_days == [str((real["Date"].iloc[-1] + pd.offsets.BDay(1)).date())]


def test_bars_mode_refuses_a_table_that_is_not_bars(tmp_path, tiny_config, capsys):
    frame = _ohlcv_csv(tmp_path / "ohlcv.csv")
    frame.drop(columns="Volume").to_csv(tmp_path / "no_volume.csv", index=False)
    argv = ["finance", "train", "--mode", "bars", "--out", str(tmp_path / "m.pt")]
    line = _error(capsys, [*argv, "--data", str(tmp_path / "no_volume.csv")])
    assert "--mode bars: the table has no Volume column" in line
    frame.loc[3, "High"] = frame.loc[3, "Low"] / 2
    frame.to_csv(tmp_path / "broken.csv", index=False)
    line = _error(capsys, [*argv, "--data", str(tmp_path / "broken.csv")])
    assert "are not bars" in line


def test_validation_share_holds_out_the_latest_windows_and_keeps_the_best(
    tmp_path, tiny_config, capsys
):
    from ganforge.apps.finance import _validation_split

    _ohlcv_csv(tmp_path / "ohlcv.csv")
    argv = ["finance", "train", "--data", str(tmp_path / "ohlcv.csv"), "--mode", "returns"]
    argv += ["--columns", "Close", "--seq-len", "8", "--iterations", "4", "--config"]
    argv += [str(tiny_config), "--no-progress", "--out", str(tmp_path / "m.pt")]
    assert main([*argv, "--validation-share", "0.2", "--select-every", "2"]) == 0
    assert "kept iteration" in capsys.readouterr().out
    windows = np.arange(100)[:, None, None] * np.ones((1, 8, 1))  # window i starts on day i
    parsed = build_parser(installed_domains()).parse_args([*argv, "--validation-share", "0.2"])
    train, held = _validation_split(parsed, windows, None, 8)
    assert held[0, 0, 0] == 80 and len(held) == 20
    assert train[-1, 0, 0] + 8 <= 80  # the last training window ends before day 80
    line = _error(capsys, [*argv, "--validation-share", "0.7"])
    assert "--validation-share must be in [0, 0.5)" in line
