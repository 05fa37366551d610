"""Tabular synthesis on six bundled tables, DP or not, beside CTGAN, MST and DPCTGAN.

Writes bench/results/tabular_suite.json. Every table is split once, stratified
70/30 on its target with seed 0; every method is fitted on the same train rows
with its defaults and no hand-written schema (ganforge infers the column types
from the data; the peers get the same rule: a column that is not numeric or has
at most 20 distinct values is categorical, the others continuous), samples as
many rows as the train split has, and is scored on the held-out rows (columns
that hold one value in the train split, digits' blank border pixels, are
dropped for every method, as ganforge's error for them asks):

- utility: TSTR and TRTR ROC AUC (mean of logistic regression, random forest
  and gradient boosting; macro one-vs-rest AUC for a multi-class target), the
  lift (TSTR - 0.5) / (TRTR - 0.5) and TSTR / TRTR;
- quality: column shapes and column-pair trends (SDMetrics' way);
- validity: NaN share where the real column has none, out-of-range share,
  off-level share for integer and low-cardinality columns;
- privacy: membership-inference AUC (max of the distance and density
  attacks), epsilon spent;
- the target's class shares, real against synthetic, and the fit seconds.

ganforge's GAN (DPTabularGAN, "runs") and its marginal synthesizer
(MarginalSynthesizer given the table's target, "marginals") run at epsilon 1,
10 and without DP; CTGAN without DP; MST and
DPCTGAN at epsilon 1 and 10; each with seeds 0, 1, 2. A table a method
refuses (it cannot fit without public bounds, too few rows...) counts as lift
0 for that method and is listed under "refusals" with the method's reason; so
does a peer run that has not finished after 10 minutes (DPCTGAN's per-row
gradients on one CPU thread), with that as its reason.
The peers run in `.venv-peers` (`make peers`) through bench/peers/run.py.

Each run is cached in ~/.cache/ganforge/bench/tabular-suite/ under a key of
the table, method, epsilon, seed and the method's code (ganforge's package
sources, or the peer script), so an interrupted suite resumes where it stopped
and changing the package re-runs only ganforge's runs. The statsmodels tables
the issue keeps for independent checks are never used here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from ganforge.core.files import cache_dir, write_json
from ganforge.tabular import DPTabularGAN
from ganforge.tabular.evaluate import privacy, quality, utility, validity
from ganforge.tabular.schema import MAX_LEVELS
from ganforge.tabular.star import MarginalSynthesizer

sys.path.insert(0, str(Path(__file__).parent))
from peers.run import SCRIPT as PEER_SCRIPT  # noqa: E402
from peers.run import PeerFailed, run_peer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "tabular_suite.json"
PACKAGE_SOURCES = ROOT / "packages" / "tabular" / "src"
EPSILONS: dict[str, float | None] = {"1": 1.0, "10": 10.0, "none": None}
PEER_EPSILONS = {"ctgan": ("none",), "mst": ("1", "10"), "dpctgan": ("1", "10")}
PEER_TIMEOUT = 600.0
OURS = ("ganforge", "marginals")
MARGINAL_MODULES = ("star", "tree", "transformer", "dp_stats", "privacy", "schema", "entropy")
NOT_THE_GAN = ("__init__", "star", "tree")  # modules the GAN does not run on


def _fair() -> tuple[pd.DataFrame, str]:
    from ganforge.tabular import load_fair

    return load_fair(), "affair"


def _breast_cancer() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame, "target"


def _digits() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_digits

    return load_digits(as_frame=True).frame, "target"


def _diabetes() -> tuple[pd.DataFrame, str]:
    """Raw (unscaled) diabetes table; target: progression above the median."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    high = (frame["target"] > frame["target"].median()).astype(np.int64)
    return frame.drop(columns="target").assign(progression_high=high), "progression_high"


def _modechoice() -> tuple[pd.DataFrame, str]:
    """Travel-mode choice, one row per traveller and mode (the traveller's id dropped)."""
    import statsmodels.api as sm

    frame = sm.datasets.modechoice.load_pandas().data.drop(columns="individual")
    return frame.assign(choice=frame["choice"].astype(np.int64)), "choice"


def _star98() -> tuple[pd.DataFrame, str]:
    """California schools 1998: the twelve school covariates; target: more than half the
    pupils above the national maths median (the count columns it is made of dropped)."""
    import statsmodels.api as sm

    data = sm.datasets.star98.load_pandas().data
    share = data["NABOVE"] / (data["NABOVE"] + data["NBELOW"])
    frame = data.loc[:, "LOWINC":"PCTYRRND"].copy()
    frame["above_half"] = (share > 0.5).astype(np.int64)
    return frame, "above_half"


TABLES: dict[str, Callable[[], tuple[pd.DataFrame, str]]] = {
    "fair": _fair,
    "breast_cancer": _breast_cancer,
    "digits": _digits,
    "diabetes": _diabetes,
    "modechoice": _modechoice,
    "star98": _star98,
}


def split(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The table's one train / held-out split (stratified 70/30 on its target, seed 0)."""
    frame, target = TABLES[name]()
    frame = frame.reset_index(drop=True)
    train, holdout = train_test_split(frame, test_size=0.3, stratify=frame[target], random_state=0)
    constant = [c for c in train.columns if train[c].nunique(dropna=True) < 2]
    train, holdout = train.drop(columns=constant), holdout.drop(columns=constant)
    return train.reset_index(drop=True), holdout.reset_index(drop=True), target


def column_kinds(train: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The peers' column types: categorical when not numeric or at most MAX_LEVELS values."""
    categorical = [
        c
        for c in train.columns
        if not pd.api.types.is_numeric_dtype(train[c]) or train[c].nunique() <= MAX_LEVELS
    ]
    return categorical, [c for c in train.columns if c not in categorical]


def _fingerprint(method: str) -> str:
    digest = hashlib.sha256()
    if method == "marginals":  # the modules the marginal synthesizer runs on
        files = [PACKAGE_SOURCES / "ganforge" / "tabular" / f"{m}.py" for m in MARGINAL_MODULES]
    else:
        files = [PEER_SCRIPT]
        if method in OURS:
            files = [p for p in sorted(PACKAGE_SOURCES.rglob("*.py")) if p.stem not in NOT_THE_GAN]
    for path in files:
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:12]


def _cache_path(table: str, method: str, eps: str, seed: int) -> Path:
    folder = cache_dir() / "bench" / "tabular-suite"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{table}-{method}-eps{eps}-seed{seed}-{_fingerprint(method)}.json"


def _fit_ganforge(
    method: str, train: pd.DataFrame, target: str, eps: float | None, seed: int
) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "marginals":
                synth = MarginalSynthesizer(target, epsilon=eps, seed=seed).fit(train)
            else:
                synth = DPTabularGAN(epsilon=eps, seed=seed).fit(train)
    except ValueError as error:
        return {"refused": str(error), "fit_seconds": time.perf_counter() - start}
    seconds = time.perf_counter() - start
    spent = synth.privacy.epsilon if eps is not None else None
    return {"frame": synth.sample(len(train), seed=seed), "fit_seconds": seconds, "spent": spent}


def _fit_peer(method: str, train: pd.DataFrame, eps: float | None, seed: int) -> dict[str, Any]:
    categorical, continuous = column_kinds(train)
    try:
        result = run_peer(
            method,
            train,
            rows=len(train),
            seed=seed,
            epsilon=eps,
            categorical=categorical,
            continuous=continuous,
            timeout=PEER_TIMEOUT,
        )
    except PeerFailed as error:
        return {"refused": str(error).splitlines()[0], "fit_seconds": None}
    if result.refused:
        return {"refused": result.refused_reason, "fit_seconds": result.fit_seconds}
    return {"frame": result.frame, "fit_seconds": result.fit_seconds, "spent": result.epsilon_spent}


def _class_shares(column: pd.Series, levels: list[str]) -> dict[str, float]:
    values = column.astype(str)
    return {level: float((values == level).mean()) for level in levels}


def score(
    train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, target: str
) -> dict[str, Any]:
    """Utility, quality, validity, privacy and target shares of one synthetic table."""
    synthetic = synthetic[list(train.columns)]
    use = utility(train, holdout, synthetic, target, seed=0)
    shape = quality(train, synthetic)
    valid = validity(train, synthetic)
    levels = sorted(train[target].astype(str).unique())
    return {
        "tstr_auc": use["tstr_auc"],
        "trtr_auc": use["trtr_auc"],
        "lift": use["lift"],
        "tstr_over_trtr": use["tstr_over_trtr"],
        "tstr_per_classifier": {k: v["auc"] for k, v in use["tstr"].items()},
        "column_shapes": shape["column_shapes"],
        "column_pair_trends": shape["column_pair_trends"],
        "mia_auc": privacy(train, holdout, synthetic, seed=0)["mia_auc_max"],
        "nan_share": valid["nan_share"],
        "out_of_range_share": valid["out_of_range_share"],
        "off_level_share": valid["off_level_share"],
        "worst_columns": {
            k: valid[f"worst_{k}"] for k in ("out_of_range_share", "off_level_share")
        },
        "target_shares": _class_shares(synthetic[target], levels),
    }


def one_run(
    table: str, method: str, eps: str, seed: int, data: tuple, fit: bool = True
) -> dict[str, Any] | None:
    """Fit, sample and score one method on one table (cached); ``None`` when not cached
    and ``fit`` is false."""
    path = _cache_path(table, method, eps, seed)
    if path.is_file():
        return json.loads(path.read_text())
    if not fit:
        return None
    train, holdout, target = data
    epsilon = EPSILONS[eps]
    if method in OURS:
        fitted = _fit_ganforge(method, train, target, epsilon, seed)
    else:
        fitted = _fit_peer(method, train, epsilon, seed)
    run: dict[str, Any] = {"epsilon": epsilon, "seed": seed, "fit_seconds": fitted["fit_seconds"]}
    if "refused" in fitted:
        run.update(refused=fitted["refused"], lift=0.0)
    else:
        run.update(epsilon_spent=fitted["spent"], **score(train, holdout, fitted["frame"], target))
    write_json(path, run)
    return run


def _mean(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return float(np.mean(values)) if values else None


def _summary(runs: list[dict]) -> dict[str, Any]:
    keys = ("tstr_auc", "lift", "tstr_over_trtr", "mia_auc", "fit_seconds")
    return {k: _mean(runs, k) for k in keys} | {"refused": sum("refused" in r for r in runs)}


def table_result(
    table: str, methods: list[str], seeds: list[int], progress, fit: bool = True
) -> dict[str, Any]:
    """Every run of every method on one table, with per-method means over seeds."""
    data = split(table)
    train, holdout, target = data
    levels = sorted(train[target].astype(str).unique())
    result: dict[str, Any] = {
        "rows": {"train": len(train), "holdout": len(holdout)},
        "columns": train.shape[1],
        "target": target,
        "classes": len(levels),
        "trtr_auc": utility(train, holdout, train, target, seed=0)["trtr_auc"],
        "target_shares_real": _class_shares(train[target], levels),
        "runs": [],
        "not_run": [],
    }
    for method in methods:
        for eps in ("1", "10", "none") if method in OURS else PEER_EPSILONS[method]:
            found = {seed: one_run(table, method, eps, seed, data, fit) for seed in seeds}
            runs = [run for run in found.values() if run is not None]
            missing = [seed for seed, run in found.items() if run is None]
            if missing:
                result["not_run"].append({"method": method, "epsilon": eps, "seeds": missing})
            if not runs:
                continue
            progress(table, method, eps, runs)
            if method == "ganforge":
                result["runs"] += runs
            elif method == "marginals":
                result.setdefault("marginals", {"runs": []})["runs"] += runs
            else:
                result.setdefault(method, {})[eps] = _summary(runs) | {"runs": runs}
    if "ctgan" in result:
        result["ctgan"] = result["ctgan"]["none"]
    return result


def _by_epsilon(runs: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for run in runs:
        eps = run["epsilon"]
        grouped.setdefault("none" if eps is None else f"{eps:g}", []).append(run)
    return grouped


def _our_runs(table: dict, method: str) -> list[dict]:
    """ganforge's runs of ``method`` on a table: the GAN's under "runs", the marginal
    synthesizer's under "marginals"."""
    return table["runs"] if method == "ganforge" else table.get("marginals", {}).get("runs", [])


def _mean_lifts(tables: dict[str, dict], method: str) -> dict[str, float]:
    """Mean over the tables of each table's mean lift per epsilon (an epsilon only when
    every table has runs at it)."""
    ours = {name: _by_epsilon(_our_runs(t, method)) for name, t in tables.items()}
    return {
        eps: float(np.mean([_mean(ours[n][eps], "lift") for n in tables]))
        for eps in ("1", "10", "none")
        if all(eps in ours[n] for n in tables)
    }


def _peer_lifts(tables: dict[str, dict], peer: str) -> tuple[dict[str, float], dict[str, list]]:
    """A DP peer's mean lift per epsilon over the tables it ran on, and those tables."""
    lifts, counted = {}, {}
    for eps in ("1", "10"):
        ran = [n for n, t in tables.items() if eps in t.get(peer, {})]
        if ran:
            lifts[eps] = float(np.mean([tables[n][peer][eps]["lift"] for n in ran]))
            counted[eps] = ran
    return lifts, counted


def aggregate(tables: dict[str, dict]) -> dict[str, Any]:
    """Mean lifts across tables, the refusals, and which targets the runs meet."""
    out: dict[str, Any] = {"mean_lift": _mean_lifts(tables, "ganforge")}
    out["marginals_mean_lift"] = _mean_lifts(tables, "marginals")
    if all("ctgan" in t for t in tables.values()):
        out["ctgan_mean_lift"] = float(np.mean([t["ctgan"]["lift"] for t in tables.values()]))
    for peer in ("mst", "dpctgan"):
        lifts, counted = _peer_lifts(tables, peer)
        if lifts:
            out[f"{peer}_mean_lift"], out[f"{peer}_tables"] = lifts, counted
    out["refusals"] = _refusals(tables)
    out["targets"] = {
        method: _targets(tables, out, method)
        for method in OURS
        if any(_our_runs(t, method) for t in tables.values())
    }
    return out


def _refusals(tables: dict[str, dict]) -> list[dict[str, Any]]:
    found = []
    for name, t in tables.items():
        for method in OURS:
            found += [
                {"table": name, "method": method, **_why(r)}
                for r in _our_runs(t, method)
                if "refused" in r
            ]
        for peer in ("ctgan", "mst", "dpctgan"):
            groups = {"none": t[peer]} if peer == "ctgan" and peer in t else t.get(peer, {})
            for summary in groups.values():
                found += [
                    {"table": name, "method": peer, **_why(r)}
                    for r in summary["runs"]
                    if "refused" in r
                ]
    return found


def _why(run: dict) -> dict[str, Any]:
    return {"epsilon": run["epsilon"], "seed": run["seed"], "reason": run["refused"]}


def _targets(tables: dict[str, dict], out: dict[str, Any], method: str) -> dict[str, Any]:
    """The issue's targets for one of ganforge's methods, with the numbers judged."""
    lifts, checks = _mean_lifts(tables, method), {}
    runs = {n: _our_runs(t, method) for n, t in tables.items()}
    fitted = [r for table_runs in runs.values() for r in table_runs if "refused" not in r]
    if "none" in lifts and "ctgan_mean_lift" in out:
        per_table = {
            n: _mean(_by_epsilon(runs[n]).get("none", []), "lift") >= t["ctgan"]["lift"]
            for n, t in tables.items()
        }
        ours_seconds = _mean([r for r in fitted if r["epsilon"] is None], "fit_seconds")
        ctgan_seconds = _mean([t["ctgan"] for t in tables.values()], "fit_seconds")
        checks["no_dp"] = {
            "mean_lift": lifts["none"],
            "mean_lift_at_least_ctgan": lifts["none"] >= out["ctgan_mean_lift"],
            "tables_at_least_ctgan": per_table,
            "most_tables": sum(per_table.values()) > len(per_table) / 2,
            "fit_seconds": {method: ours_seconds, "ctgan": ctgan_seconds},
            "faster": ours_seconds is not None and ours_seconds < (ctgan_seconds or 0),
        }
    for eps, floor in (("10", 0.8), ("1", 0.6)):
        if eps in lifts and eps in out.get("mst_mean_lift", {}):
            checks[f"eps_{eps}"] = {
                "mean_lift": lifts[eps],
                "floor": floor,
                "at_least_floor": lifts[eps] >= floor,
                "at_least_mst": lifts[eps] >= out["mst_mean_lift"][eps],
            }
    refused = [r for table_runs in runs.values() for r in table_runs if "refused" in r]
    checks["every_table_fitted_without_bounds"] = not refused
    checks["every_run"] = {
        "nan_share_max": max((r["nan_share"] for r in fitted), default=None),
        "out_of_range_share_max": max((r["out_of_range_share"] for r in fitted), default=None),
        "off_level_share_max": max((r["off_level_share"] for r in fitted), default=None),
        "mia_auc_max": max((r["mia_auc"] for r in fitted), default=None),
        "epsilon_overspent": [
            {"epsilon": r["epsilon"], "spent": r["epsilon_spent"], "seed": r["seed"]}
            for r in fitted
            if r["epsilon"] is not None and r["epsilon_spent"] > r["epsilon"] + 1e-9
        ],
    }
    return checks


def _print_progress(table: str, method: str, eps: str, runs: list[dict]) -> None:
    lifts = [f"{r['lift']:.3f}" + ("(refused)" if "refused" in r else "") for r in runs]
    print(f"{table:14s} {method:10s} eps={eps:4s} lift {' '.join(lifts)}", flush=True)


def copy_previous_runs(tables: dict[str, dict], methods: list[str], path: Path) -> dict[str, Any]:
    """Put the runs of ``methods`` from an earlier results file into ``tables`` (each
    table's GAN ``runs`` and its not-run entries, or the method's own entry), and say
    where they come from: the file and the last commit that wrote it."""
    previous = json.loads(path.read_text())["tables"]
    for name, table in tables.items():
        old = previous[name]
        for method in methods:
            if method == "ganforge":
                table["runs"] = old["runs"]
                table["not_run"] += [e for e in old["not_run"] if e["method"] == method]
            elif method in old:
                table[method] = old[method]
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h %cs", "--", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    resolved = path.resolve()
    shown = resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved
    return {"file": str(shown), "commit": commit, "methods": methods}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help="comma list of tables")
    parser.add_argument(
        "--methods",
        default="ganforge,marginals,ctgan,mst,dpctgan",
        help="comma list of methods",
    )
    parser.add_argument("--seeds", default="0,1,2", help="comma list of seeds")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON to write")
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="fit nothing: report the cached runs and list the others under not_run",
    )
    parser.add_argument(
        "--from-previous",
        default="",
        help="comma list of methods not run now: their runs are copied from --previous "
        "(the JSON names the file and the commit that wrote it)",
    )
    parser.add_argument(
        "--previous", type=Path, default=RESULTS, help="results to copy --from-previous runs from"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    names, methods = args.tables.split(","), args.methods.split(",")
    copied = [m for m in args.from_previous.split(",") if m]
    methods = [m for m in methods if m not in copied]
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        parser.error(f"unknown tables {unknown}: choose from {', '.join(TABLES)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    fit = not args.cached_only
    tables = {name: table_result(name, methods, seeds, _print_progress, fit) for name in names}
    provenance = copy_previous_runs(tables, copied, args.previous) if copied else None
    result = {
        "protocol": __doc__.split("\n\n")[1],
        "settings": {
            "tables": names,
            "methods": methods,
            "seeds": seeds,
            "threads": 1,
            "peer_timeout_seconds": PEER_TIMEOUT,
            "from_previous": provenance,
        },
        "tables": tables,
        **aggregate(tables),
    }
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
