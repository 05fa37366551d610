"""bench/peers: the tabular benchmark's peers (sdv's CTGAN, smartnoise-synth's MST and DPCTGAN).

The runner's checks, its protocol with the peer script (through a stand-in
interpreter) and the script's argument checks run everywhere; the smoke runs
of the real peers only where `make peers` has built .venv-peers.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PEERS = Path(__file__).resolve().parents[2] / "bench" / "peers"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_peers_{name}", PEERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


runner = _load("run")
peer_script = _load("tabular_peer")
peers_available = runner.DEFAULT_PYTHON.is_file()
needs_peers = pytest.mark.skipif(
    not peers_available, reason="no .venv-peers: `make peers` builds it"
)


def small_table(n: int = 200, seed: int = 0, continuous: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "city": rng.choice(["oslo", "rome", "lima"], n),
            "level": rng.integers(1, 4, n),
            "target": rng.integers(0, 2, n),
        }
    )
    if continuous:
        frame["income"] = rng.lognormal(3.0, 0.5, n)
    return frame


COLUMNS = {"categorical": ["city", "level", "target"], "continuous": ["income"]}


def stand_in(tmp_path: Path, body: str) -> Path:
    """An executable that takes the peers' interpreter's place: argv[1] is the script."""
    path = tmp_path / "python"
    header = f"""\
        #!{sys.executable}
        import json, os, sys
        args = dict(a[2:].split("=", 1) for a in sys.argv[2:])
    """
    path.write_text(textwrap.dedent(header) + textwrap.dedent(body))
    path.chmod(0o755)
    return path


# --- the runner on its own ---------------------------------------------------------------------


def test_missing_interpreter_says_make_peers(tmp_path, monkeypatch):
    absent = tmp_path / "no-venv" / "bin" / "python"
    with pytest.raises(runner.PeersUnavailable, match=r"run `make peers`"):
        runner.run_peer("ctgan", small_table(), rows=10, seed=0, python=absent, **COLUMNS)
    monkeypatch.setenv("GANFORGE_PEERS_PYTHON", str(absent))
    assert not runner.peers_available()
    with pytest.raises(runner.PeersUnavailable, match=str(absent)):
        runner.run_peer("mst", small_table(), rows=10, seed=0, epsilon=1.0, **COLUMNS)


@pytest.mark.parametrize(
    ("method", "rows", "epsilon", "columns", "message"),
    [
        ("ganforge", 10, None, COLUMNS, "method must be one of ctgan, mst, dpctgan"),
        ("ctgan", 0, None, COLUMNS, "rows must be a positive integer"),
        ("ctgan", 2.5, None, COLUMNS, "rows must be a positive integer"),
        ("ctgan", 10, 1.0, COLUMNS, "ctgan is not differentially private"),
        ("mst", 10, None, COLUMNS, "mst is differentially private: give epsilon > 0"),
        ("dpctgan", 10, 0.0, COLUMNS, "dpctgan is differentially private"),
        ("ctgan", 10, None, {"categorical": ["city"]}, r"not named \['level', 'target', 'in"),
        ("ctgan", 10, None, {"categorical": [*COLUMNS["categorical"], "age"]}, r"frame \['age'\]"),
        (
            "ctgan",
            10,
            None,
            {"categorical": [*COLUMNS["categorical"], "income"], "continuous": ["income"]},
            r"named twice \['income'\]",
        ),
    ],
)
def test_arguments_are_checked_before_anything_runs(method, rows, epsilon, columns, message):
    with pytest.raises(ValueError, match=message):
        runner.run_peer(
            method, small_table(), rows=rows, seed=0, epsilon=epsilon, python="/absent", **columns
        )


def test_column_names_must_be_plain_strings():
    frame = small_table().rename(columns={"income": 7})
    with pytest.raises(ValueError, match="strings without commas"):
        runner.run_peer("ctgan", frame, 5, 0, categorical=COLUMNS["categorical"], continuous=[7])


def test_protocol_success_reads_rows_back_in_train_order(tmp_path):
    python = stand_in(
        tmp_path,
        """
        import pandas as pd
        train = pd.read_csv(args["train"])
        out = train.sample(int(args["rows"]), replace=True, random_state=int(args["seed"]))
        out[list(reversed(train.columns))].to_csv(args["out"], index=False)
        report = {"fit_seconds": 1.5, "refused": False, "epsilon_spent": float(args["epsilon"]),
                  "threads": os.environ["OMP_NUM_THREADS"], "args": args}
        open(args["report"], "w").write(json.dumps(report))
        print(json.dumps(report))
        """,
    )
    train = small_table()
    train["city"] = train["city"].astype("category")
    result = runner.run_peer(
        "mst", train, rows=37, seed=4, epsilon=1.0, python=python, preprocessor_share=0.2, **COLUMNS
    )
    assert not result.refused and result.refused_reason is None
    assert result.fit_seconds == 1.5 and result.epsilon_spent == 1.0
    assert list(result.frame.columns) == list(train.columns) and len(result.frame) == 37
    assert result.frame["city"].dtype == train["city"].dtype
    assert result.report["threads"] == "1"
    sent = result.report["args"]
    assert sent["categorical"] == "city,level,target" and sent["continuous"] == "income"
    assert sent["preprocessor-share"] == "0.2" and "epochs" not in sent and "delta" not in sent


def test_protocol_refusal_is_a_result_not_an_error(tmp_path):
    python = stand_in(
        tmp_path,
        """
        report = {"refused": True, "reason": "ValueError: BinTransformer could not find bounds.",
                  "fit_seconds": 0.25}
        open(args["report"], "w").write(json.dumps(report))
        sys.exit(3)
        """,
    )
    result = runner.run_peer("mst", small_table(), 10, 0, 1.0, python=python, **COLUMNS)
    assert result.refused and result.frame is None
    assert result.refused_reason == "ValueError: BinTransformer could not find bounds."
    assert result.fit_seconds == 0.25


def test_protocol_crash_and_timeout_raise(tmp_path):
    python = stand_in(tmp_path, 'print("Traceback: boom", file=sys.stderr)\nsys.exit(1)\n')
    with pytest.raises(runner.PeerFailed, match=r"(?s)status 1.*Traceback: boom"):
        runner.run_peer("ctgan", small_table(), 10, 0, python=python, **COLUMNS)
    python = stand_in(tmp_path, "import time\ntime.sleep(30)\n")
    with pytest.raises(runner.PeerFailed, match="did not finish within 0.5 s"):
        runner.run_peer("ctgan", small_table(), 10, 0, python=python, timeout=0.5, **COLUMNS)


# --- the peer script's own argument checks (stdlib only at import) ------------------------------


BASE = ["--train=t.csv", "--out=o.csv", "--rows=5", "--seed=0", "--categorical=a", "--continuous=b"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method=ctgan", "--epsilon=1"], "ctgan is not differentially private"),
        (["--method=mst"], "mst needs --epsilon > 0"),
        (["--method=mst", "--epsilon=1", "--epochs=2"], "mst has no epochs"),
        (["--method=dpctgan", "--epsilon=1", "--preprocessor-share=1"], "preprocessor-share"),
        (["--method=ctgan", "--continuous=a"], "both categorical and continuous"),
    ],
)
def test_script_rejects_bad_arguments(extra, message, capsys):
    with pytest.raises(SystemExit) as stop:
        peer_script.parse_args(BASE + extra)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_script_arguments_parse():
    args = peer_script.parse_args(BASE + ["--method=dpctgan", "--epsilon=10", "--epochs=3"])
    assert (args.method, args.epsilon, args.epochs, args.preprocessor_share) == (
        "dpctgan",
        10.0,
        3,
        0.1,
    )
    assert args.categorical == ["a"] and args.continuous == ["b"]
    assert peer_script.one_line(ValueError("no\n  bounds")) == "ValueError: no bounds"


# --- the real peers (only with .venv-peers) -----------------------------------------------------


@needs_peers
def test_ctgan_one_epoch_smoke():
    train = small_table(200)
    result = runner.run_peer("ctgan", train, rows=150, seed=0, epochs=1, timeout=120, **COLUMNS)
    assert not result.refused, result.refused_reason
    frame = result.frame
    assert list(frame.columns) == list(train.columns) and len(frame) == 150
    assert set(frame["city"]) <= set(train["city"]) and set(frame["target"]) <= {0, 1}
    assert frame["income"].notna().all()
    assert result.report["epochs"] == 1 and result.fit_seconds > 0


@needs_peers
def test_mst_eps1_on_categorical_table_smoke():
    train = small_table(300, continuous=False)
    result = runner.run_peer(
        "mst",
        train,
        rows=120,
        seed=0,
        epsilon=1.0,
        categorical=["city", "level", "target"],
        timeout=120,
    )
    assert not result.refused, result.refused_reason
    frame = result.frame
    assert list(frame.columns) == list(train.columns) and len(frame) == 120
    for name in train.columns:
        assert set(frame[name]) <= set(train[name])
    # no continuous column: no bounds to pay for, the whole epsilon goes to MST
    assert result.report["epsilon_preprocessor"] == 0.0
    assert result.epsilon_spent == pytest.approx(1.0)


@needs_peers
def test_dpctgan_refuses_a_table_smaller_than_its_batch():
    train = small_table(200, continuous=False)
    result = runner.run_peer(
        "dpctgan", train, 50, 0, 1.0, categorical=["city", "level", "target"], timeout=120
    )
    assert result.refused and result.frame is None
    assert "sample_rate=2.5" in result.refused_reason  # batch 500 over 200 rows
    assert json.loads(json.dumps(result.report))["refused"] is True
