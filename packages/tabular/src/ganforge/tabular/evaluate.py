"""Utility and privacy of a synthetic table against the real one.

- Utility: train on synthetic, test on real held-out (TSTR) against train on
  real (TRTR) with logistic regression, random forest and gradient boosting:
  ROC AUC and accuracy.
- Quality, in the manner of SDMetrics' quality report: column shapes (KS
  complement for numeric columns, total-variation complement for categorical
  ones) and column-pair trends (correlation similarity for numeric pairs,
  contingency similarity otherwise); the score is the mean of the two.
- Validity: shares of synthetic cells that are missing where the real column
  never is, outside the real column's range, or off its levels.
- Privacy: distance to closest record (synthetic -> train against held-out ->
  train) and membership-inference attacks scoring real rows as members of the
  training set: by distance to the closest synthetic row and by the density of
  a kernel density estimate fitted on the synthetic rows (AUC 0.5 = no leak).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.neighbors import KernelDensity, NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ganforge.core.files import write_json
from ganforge.tabular.schema import MAX_LEVELS

CLASSIFIERS = ("logistic_regression", "random_forest", "gradient_boosting")


def _classifier(name: str, seed: int) -> Any:
    if name == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    if name == "random_forest":
        return RandomForestClassifier(
            n_estimators=100, min_samples_leaf=5, random_state=seed, n_jobs=1
        )
    return HistGradientBoostingClassifier(random_state=seed)


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


class _Design:
    """Numeric design matrices: numbers as they are (missing -> train median), one-hots else."""

    def __init__(self, train: pd.DataFrame) -> None:
        self.numeric = [
            c
            for c in train.columns
            if _is_numeric(train[c]) or pd.api.types.is_datetime64_any_dtype(train[c])
        ]
        self.categorical = [c for c in train.columns if c not in self.numeric]
        self.levels = {c: sorted(train[c].dropna().astype(str).unique()) for c in self.categorical}
        self.medians = {c: self._numbers(train[c]).median() for c in self.numeric}

    @staticmethod
    def _numbers(column: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(column):
            return column.astype("datetime64[ns]").astype("int64").astype(float)
        return column.astype(float)

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        blocks = [
            self._numbers(df[c]).fillna(self.medians[c]).to_numpy()[:, None] for c in self.numeric
        ]
        for c in self.categorical:
            values = df[c].astype(str).to_numpy()
            blocks.append((values[:, None] == np.array(self.levels[c])[None, :]).astype(float))
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(df), 0))


def _class_codes(y: pd.Series, levels: list[str]) -> np.ndarray:
    """Each row's index in ``levels`` (by string value), -1 for a value outside them."""
    lookup = {level: i for i, level in enumerate(levels)}
    return np.array([lookup.get(v, -1) for v in y.astype(str)], dtype=int)


def _probabilities(model: Any, x: np.ndarray, classes: np.ndarray, k: int) -> np.ndarray:
    """``predict_proba`` spread over all ``k`` classes (zeros for classes the model never saw)."""
    full = np.zeros((len(x), k))
    full[:, classes] = model.predict_proba(x)
    return full


def _scores(y_test: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """ROC AUC (macro one-vs-rest for more than two classes) and accuracy."""
    if proba.shape[1] == 2:
        auc = roc_auc_score(y_test, proba[:, 1])
    else:
        auc = roc_auc_score(y_test, proba, multi_class="ovr", labels=range(proba.shape[1]))
    return {"auc": float(auc), "accuracy": float(accuracy_score(y_test, proba.argmax(axis=1)))}


def _fit_predict(name: str, seed: int, x: np.ndarray, y: np.ndarray, x_test, k: int) -> np.ndarray:
    classes = np.unique(y)
    if len(classes) < 2:  # a synthetic table with one class: a constant guess
        proba = np.zeros((len(x_test), k))
        proba[:, classes] = 1.0
        return proba
    model = _classifier(name, seed).fit(x, y)
    return _probabilities(model, x_test, classes, k)


def lift(tstr_auc: float, trtr_auc: float) -> float:
    """Share of the real data's signal above chance that the synthetic data keeps:
    ``(TSTR - 0.5) / (TRTR - 0.5)`` (0 = chance, 1 = as good as the real rows)."""
    return (tstr_auc - 0.5) / (trtr_auc - 0.5)


def utility(
    train: pd.DataFrame, test: pd.DataFrame, synthetic: pd.DataFrame, target: str, seed: int = 0
) -> dict[str, Any]:
    """TRTR and TSTR ROC AUC / accuracy of three classifiers predicting ``target``.

    A binary target scores the AUC of its second level (in sorted order); a
    target with more levels scores the macro one-vs-rest AUC. Synthetic rows
    whose target is not one of the real levels are dropped (and counted).
    """
    levels = sorted(train[target].dropna().astype(str).unique())
    if len(levels) < 2:
        raise ValueError(f"target {target!r} must have at least two levels, it has {len(levels)}")
    k = len(levels)
    design = _Design(train.drop(columns=target))
    test = test[_class_codes(test[target], levels) >= 0]
    x_test, y_test = design(test.drop(columns=target)), _class_codes(test[target], levels)
    codes = _class_codes(synthetic[target], levels)
    frames = {"trtr": train, "tstr": synthetic[codes >= 0]}
    results: dict[str, Any] = {
        "trtr": {},
        "tstr": {},
        "tstr_rows_off_level": int((codes < 0).sum()),
    }
    for source, frame in frames.items():
        x, y = design(frame.drop(columns=target)), _class_codes(frame[target], levels)
        for name in CLASSIFIERS:
            proba = _fit_predict(name, seed, x, y, x_test, k)
            results[source][name] = _scores(y_test, proba)
    for source in ("trtr", "tstr"):
        results[f"{source}_auc"] = float(np.mean([v["auc"] for v in results[source].values()]))
    results["tstr_over_trtr"] = results["tstr_auc"] / results["trtr_auc"]
    results["lift"] = lift(results["tstr_auc"], results["trtr_auc"])
    return results


def _shape_score(real: pd.Series, synthetic: pd.Series) -> float:
    if _is_numeric(real):
        real, synthetic = real.dropna().astype(float), synthetic.dropna().astype(float)
        if len(synthetic) == 0:
            return 0.0
        return float(1.0 - ks_2samp(real, synthetic).statistic)
    p = real.astype(str).value_counts(normalize=True)
    q = synthetic.astype(str).value_counts(normalize=True)
    return float(1.0 - 0.5 * p.subtract(q, fill_value=0.0).abs().sum())


def _binned(column: pd.Series, reference: pd.Series) -> pd.Series:
    if _is_numeric(reference) and reference.nunique() > 10:
        edges = np.unique(np.nanquantile(reference.astype(float), np.linspace(0, 1, 11)))
        return pd.Series(np.digitize(column.astype(float), edges[1:-1])).astype(str)
    return column.astype(str).reset_index(drop=True)


def _pair_score(real: pd.DataFrame, synthetic: pd.DataFrame, a: str, b: str) -> float:
    if _is_numeric(real[a]) and _is_numeric(real[b]):
        r = real[[a, b]].astype(float).corr().iloc[0, 1]
        s = synthetic[[a, b]].astype(float).corr().iloc[0, 1]
        r, s = np.nan_to_num(r), np.nan_to_num(s)
        return float(1.0 - abs(r - s) / 2.0)
    joint_r = pd.crosstab(_binned(real[a], real[a]), _binned(real[b], real[b]), normalize=True)
    joint_s = pd.crosstab(
        _binned(synthetic[a], real[a]), _binned(synthetic[b], real[b]), normalize=True
    )
    diff = joint_r.stack().subtract(joint_s.stack(), fill_value=0.0).abs().sum()
    return float(1.0 - 0.5 * diff)


def quality(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """Column shapes, column-pair trends and their mean (SDMetrics' quality score)."""
    shapes = {c: _shape_score(real[c], synthetic[c]) for c in real.columns}
    pairs = {
        f"{a}|{b}": _pair_score(real, synthetic, a, b) for a, b in combinations(real.columns, 2)
    }
    shape_mean = float(np.mean(list(shapes.values())))
    pair_mean = float(np.mean(list(pairs.values()))) if pairs else shape_mean
    return {
        "column_shapes": shape_mean,
        "column_pair_trends": pair_mean,
        "quality_score": (shape_mean + pair_mean) / 2,
        "per_column": shapes,
    }


def _share(flags: np.ndarray) -> float:
    return float(flags.mean()) if len(flags) else 0.0


def _column_validity(real: pd.Series, synthetic: pd.Series) -> dict[str, Any]:
    """NaN share (where the real column has none), out-of-range share, off-level share."""
    out: dict[str, Any] = {}
    if not real.isna().any():
        out["nan_share"] = _share(synthetic.isna().to_numpy())
    values, seen = synthetic.dropna(), real.dropna()
    if _is_numeric(real) and _is_numeric(synthetic):
        numbers = values.to_numpy(dtype=float)
        low, high = float(seen.min()), float(seen.max())
        out["out_of_range_share"] = _share((numbers < low) | (numbers > high))
        if seen.nunique() <= MAX_LEVELS:
            known = np.round(seen.to_numpy(dtype=float), 9)
            out["off_level_share"] = _share(~np.isin(np.round(numbers, 9), known))
        elif np.all(np.mod(seen.to_numpy(dtype=float), 1) == 0):
            out["off_level_share"] = _share(np.mod(numbers, 1) != 0)
    elif not _is_numeric(real):
        known = set(seen.astype(str))
        out["off_level_share"] = _share(~values.astype(str).isin(known).to_numpy())
    return out


def validity(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """Do the synthetic values look like values of the real columns?

    Shares of synthetic cells, pooled over the columns each check applies to:
    ``nan_share`` over columns whose real values have no missing value;
    ``out_of_range_share`` over numeric columns (outside the real min..max);
    ``off_level_share`` over categorical columns, numeric columns with at most
    ``MAX_LEVELS`` distinct real values (a value none of the real rows has) and
    integer-valued columns (a value with a fraction). ``per_column`` has each
    column's shares and ``worst`` the column with the largest share of each.
    """
    per_column = {c: _column_validity(real[c], synthetic[c]) for c in real.columns}
    summary: dict[str, Any] = {}
    for key in ("nan_share", "out_of_range_share", "off_level_share"):
        shares = {c: v[key] for c, v in per_column.items() if key in v}
        summary[key] = float(np.mean(list(shares.values()))) if shares else 0.0
        summary[f"worst_{key}"] = max(shares.items(), key=lambda kv: kv[1]) if shares else None
    summary["per_column"] = per_column
    return summary


def privacy(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    seed: int = 0,
    max_rows: int = 2000,
) -> dict[str, Any]:
    """Distance to closest record and membership-inference AUCs (distance and density)."""
    rng = np.random.default_rng(seed)
    size = min(len(train), len(holdout), max_rows)
    members = train.iloc[rng.choice(len(train), size, replace=False)]
    non_members = holdout.iloc[rng.choice(len(holdout), size, replace=False)]
    design = _Design(train)
    scaler = StandardScaler().fit(design(train))
    encode = lambda df: scaler.transform(design(df))
    x_train, x_syn = encode(train), encode(synthetic)
    x_members, x_non = encode(members), encode(non_members)
    to_train = NearestNeighbors(n_neighbors=1).fit(x_train)
    dcr_syn = to_train.kneighbors(x_syn[:max_rows])[0][:, 0]
    dcr_holdout = to_train.kneighbors(x_non)[0][:, 0]
    to_syn = NearestNeighbors(n_neighbors=1).fit(x_syn)
    labels = np.r_[np.ones(size), np.zeros(size)]
    distance_scores = -np.r_[
        to_syn.kneighbors(x_members)[0][:, 0], to_syn.kneighbors(x_non)[0][:, 0]
    ]
    kde = KernelDensity(bandwidth=0.5).fit(x_syn[:max_rows])
    density_scores = np.r_[kde.score_samples(x_members), kde.score_samples(x_non)]
    mia = {
        "distance": float(roc_auc_score(labels, distance_scores)),
        "density": float(roc_auc_score(labels, density_scores)),
    }
    return {
        "dcr_synthetic_median": float(np.median(dcr_syn)),
        "dcr_holdout_median": float(np.median(dcr_holdout)),
        "dcr_synthetic_closer_than_holdout_p5": float(
            np.mean(dcr_syn < np.quantile(dcr_holdout, 0.05))
        ),
        "mia_auc": mia,
        "mia_auc_max": max(mia.values()),
    }


def evaluate(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str | None = None,
    seed: int = 0,
    out_path: str | Path | None = None,
) -> dict[str, Any]:
    """Utility (if ``target`` is given), quality, validity and privacy, as a plain dict.

    Args:
        train: the real rows the synthesizer was fitted on.
        holdout: real rows it never saw (the test set of TSTR and the non-members of the attacks).
        synthetic: the synthetic rows (same columns).
        target: a class column for TSTR / TRTR (binary or more levels), or ``None`` to
            skip utility.
        seed: seeds the classifiers and the attack subsamples.
        out_path: also write the dict as JSON there.
    """
    for name, frame in (("holdout", holdout), ("synthetic", synthetic)):
        missing = [c for c in train.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"the {name} table lacks the columns {missing}")
    if target is not None and target not in train.columns:
        raise ValueError(f"target column {target!r} is not in the table")
    synthetic = synthetic[list(train.columns)]
    report: dict[str, Any] = {
        "rows": {"train": len(train), "holdout": len(holdout), "synthetic": len(synthetic)}
    }
    if target is not None:
        report["utility"] = utility(train, holdout, synthetic, target, seed)
    report["quality"] = quality(train, synthetic)
    report["validity"] = validity(train, synthetic)
    report["privacy"] = privacy(train, holdout, synthetic, seed)
    if out_path is not None:
        write_json(out_path, report)
    return report
