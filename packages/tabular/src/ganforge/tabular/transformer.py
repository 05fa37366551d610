"""The data transformer: DataFrame rows <-> the vectors the networks see (CTGAN's encoding).

- Numeric columns (continuous, integer, datetime) use mode-specific
  normalisation: a Bayesian Gaussian mixture over the column (scaled to its
  bounds) gives modes; a value is encoded as the one-hot of its most probable
  mode plus ``alpha = (u - mean) / (4 std)`` in ``[-1, 1]``. Decoding clips to the
  bounds and rounds integers. A column with missing values gets a two-way
  ``[observed, missing]`` one-hot.
- Categorical and boolean columns are one-hot; missing values are a category.

The statistics (bounds, categories, mixture modes, missingness) come from the
public schema where it gives them, else from the data: exactly (no privacy),
or through the DP mechanisms of :mod:`ganforge.tabular.dp_stats` when
``epsilon`` is given, splitting it evenly over the columns that need
statistics (sequential composition: each row touches every column).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from ganforge.tabular import dp_stats
from ganforge.tabular.entropy import private_numpy_rng
from ganforge.tabular.schema import (
    NUMERIC_KINDS,
    ColumnSpec,
    Schema,
    complete_schema,
    numeric_values,
    to_python,
    validate_frame,
)

MAX_MODES = 10
MODE_FIT_ROWS = 2000


@dataclass(frozen=True)
class Span:
    """A block of the encoded vector: ``tanh`` (one scalar) or ``softmax`` (a one-hot)."""

    width: int
    activation: str


def fit_modes(u: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means, standard deviations and weights of the mixture modes of values in [0, 1]."""
    rng = np.random.default_rng(seed)
    if len(u) > MODE_FIT_ROWS:
        u = rng.choice(u, MODE_FIT_ROWS, replace=False)
    n_components = int(min(MAX_MODES, max(1, len(np.unique(u)))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bgm = _mixture(n_components, seed).fit(u.reshape(-1, 1))
    keep = bgm.weights_ > 5e-3
    stds = np.sqrt(bgm.covariances_.reshape(-1))[keep]
    weights = bgm.weights_[keep] / bgm.weights_[keep].sum()
    return bgm.means_.reshape(-1)[keep], np.maximum(stds, 1e-3), weights


def _mixture(n_components: int, seed: int) -> BayesianGaussianMixture:
    return BayesianGaussianMixture(
        n_components=n_components,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=1e-3,
        max_iter=200,
        random_state=seed,
    )


class NumericEncoder:
    """Mode-specific normalisation of one continuous, integer or datetime column."""

    def __init__(
        self,
        name: str,
        kind: str,
        dtype: str,
        lower: float,
        upper: float,
        means: list[float],
        stds: list[float],
        weights: list[float],
        has_missing: bool,
    ) -> None:
        self.name, self.kind, self.dtype = name, kind, dtype
        self.lower, self.upper = float(lower), float(upper)
        self.means, self.stds = np.asarray(means, float), np.asarray(stds, float)
        self.weights = np.asarray(weights, float)
        self.has_missing = bool(has_missing)

    @property
    def spans(self) -> list[Span]:
        spans = [Span(1, "tanh"), Span(len(self.means), "softmax")]
        return spans + [Span(2, "softmax")] if self.has_missing else spans

    def _scale(self, x: np.ndarray) -> np.ndarray:
        return np.clip((x - self.lower) / (self.upper - self.lower), 0.0, 1.0)

    def encode(self, column: pd.Series) -> np.ndarray:
        x = numeric_values(column, self.kind)
        missing = np.isnan(x)
        u = self._scale(np.where(missing, self.lower, x))[:, None]
        log_post = (
            np.log(self.weights) - np.log(self.stds) - (u - self.means) ** 2 / (2 * self.stds**2)
        )
        mode = np.where(missing, int(np.argmax(self.weights)), log_post.argmax(axis=1))
        alpha = np.clip((u[:, 0] - self.means[mode]) / (4 * self.stds[mode]), -0.99, 0.99)
        alpha[missing] = 0.0
        blocks = [alpha[:, None], np.eye(len(self.means))[mode]]
        if self.has_missing:
            blocks.append(np.eye(2)[missing.astype(int)])
        elif missing.any():
            raise ValueError(f"column {self.name!r} has missing values but none were modelled")
        return np.concatenate(blocks, axis=1)

    def decode(self, block: np.ndarray) -> pd.Series:
        mode = block[:, 1 : 1 + len(self.means)].argmax(axis=1)
        u = np.clip(block[:, 0], -1, 1) * 4 * self.stds[mode] + self.means[mode]
        x = self.lower + np.clip(u, 0.0, 1.0) * (self.upper - self.lower)
        if self.kind in ("integer", "datetime"):
            x = np.round(x)
        if self.has_missing:
            x[block[:, -2:].argmax(axis=1) == 1] = np.nan
        return self._to_dtype(x)

    def _to_dtype(self, x: np.ndarray) -> pd.Series:
        missing = np.isnan(x)
        if self.kind == "datetime":
            ns = np.where(missing, 0, x).astype(np.int64)
            values = pd.Series(pd.to_datetime(ns, unit="ns"), name=self.name)
            return values.where(~missing, pd.NaT).astype(self.dtype)
        if self.kind == "integer" and missing.any():
            dtype = "Int64" if self.dtype.islower() else self.dtype
            ints = [None if m else int(v) for v, m in zip(x, missing, strict=True)]
            return pd.Series(pd.array(ints, dtype=dtype), name=self.name)
        if self.kind == "integer":
            return pd.Series(x.astype(np.int64), name=self.name).astype(self.dtype)
        return pd.Series(x, name=self.name).astype(self.dtype)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "numeric",
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "lower": self.lower,
            "upper": self.upper,
            "means": self.means.tolist(),
            "stds": self.stds.tolist(),
            "weights": self.weights.tolist(),
            "has_missing": self.has_missing,
        }


class CategoricalEncoder:
    """One-hot encoding of a categorical or boolean column (``None`` = missing).

    ``private_counts``: the DP noisy counts of the categories when they were
    learnt privately (released already, so reusing them costs nothing).

    Values outside learnt categories (rare ones a DP release left out) are
    encoded as the most frequent category; outside public categories
    (``strict``) they are an error.
    """

    def __init__(
        self,
        name: str,
        kind: str,
        dtype: str,
        categories: list[Any],
        fallback: int = 0,
        strict: bool = False,
        private_counts: list[float] | None = None,
    ) -> None:
        self.name, self.kind, self.dtype = name, kind, dtype
        self.categories = list(categories)
        self.fallback, self.strict = int(fallback), bool(strict)
        self.private_counts = None if private_counts is None else list(map(float, private_counts))

    @property
    def spans(self) -> list[Span]:
        return [Span(len(self.categories), "softmax")]

    def encode(self, column: pd.Series) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.categories) if c is not None}
        missing_index = self.categories.index(None) if None in self.categories else self.fallback
        codes = column.astype(object).map(index)
        unknown = codes.isna() & ~column.isna()
        if self.strict and unknown.any():
            raise ValueError(
                f"column {self.name!r} holds values outside its public categories: "
                f"{sorted(map(str, column[unknown].unique()))[:5]}"
            )
        codes = codes.where(~column.isna(), missing_index).fillna(self.fallback)
        return np.eye(len(self.categories))[codes.to_numpy(dtype=int)]

    def decode(self, block: np.ndarray) -> pd.Series:
        values = pd.Series([self.categories[i] for i in block.argmax(axis=1)], dtype=object)
        values.name = self.name
        if self.dtype == "category":
            present = [c for c in self.categories if c is not None]
            return pd.Series(pd.Categorical(values, categories=present), name=self.name)
        if self.dtype == "bool" and values.isna().any():
            return values.astype("boolean")
        return values.astype(self.dtype)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "categories": to_python(self.categories),
            "fallback": self.fallback,
            "strict": self.strict,
            "private_counts": self.private_counts,
        }


Encoder = NumericEncoder | CategoricalEncoder


def needs_statistics(spec: ColumnSpec) -> bool:
    """Whether a column's encoder needs statistics of the data (not all given publicly)."""
    if spec.kind in NUMERIC_KINDS:
        return True
    return spec.kind == "categorical" and spec.categories is None


def needs_delta(spec: ColumnSpec) -> bool:
    """Whether learning the column privately needs a delta (a stability histogram)."""
    return spec.kind == "categorical" and spec.categories is None


class _StatsFitter:
    """Fits one encoder per column, exactly or under a per-column DP budget."""

    def __init__(
        self, private: bool, epsilon: float | None, delta: float | None, seed: int
    ) -> None:
        self.private, self.epsilon, self.delta = private, epsilon, delta
        self.rng = private_numpy_rng()  # the DP noise: OS entropy, never the seed
        self.seed = seed

    def numeric(self, name: str, column: pd.Series, spec: ColumnSpec) -> NumericEncoder:
        x = numeric_values(column, spec.kind)
        if not self.private:
            lower = spec.lower if spec.lower is not None else float(np.nanmin(x))
            upper = spec.upper if spec.upper is not None else float(np.nanmax(x))
            finite = x[np.isfinite(x)]
            samples, has_missing = np.clip(finite, lower, upper), bool(np.isnan(x).any())
        else:
            lower, upper, eps = spec.lower, spec.upper, self.epsilon
            if lower is None or upper is None:
                dp_lower, dp_upper = dp_stats.dp_range(x, eps / 2, self.rng)
                lower = dp_lower if lower is None else lower
                upper = dp_upper if upper is None else upper
                eps = eps / 2
            if lower >= upper:
                raise ValueError(f"column {name!r}: public and DP bounds do not overlap")
            hist = dp_stats.dp_fine_histogram(x, lower, upper, eps, self.rng)
            samples, has_missing = hist.draw(MODE_FIT_ROWS, self.rng), hist.has_missing
        if upper <= lower:
            raise ValueError(f"column {name!r} holds a single value: drop it")
        u = (samples - lower) / (upper - lower)
        means, stds, weights = fit_modes(u, self.seed)
        dtype = str(column.dtype)
        return NumericEncoder(
            name, spec.kind, dtype, lower, upper, means, stds, weights, has_missing
        )

    def categorical(self, name: str, column: pd.Series, spec: ColumnSpec) -> CategoricalEncoder:
        values = column.astype(object).to_numpy()
        values = np.array([None if pd.isna(v) else v for v in values], dtype=object)
        public = [False, True] if spec.kind == "boolean" else spec.categories
        if public is not None:
            categories = to_python(public) + ([None] if self._nullable(name, column, spec) else [])
            counts = np.array([np.sum(values == c) for c in categories])
            fallback = int(np.argmax(counts)) if not self.private else 0
            return CategoricalEncoder(
                name, spec.kind, _dtype_name(column), categories, fallback, strict=True
            )
        if not self.private:
            levels, counts = np.unique(values[values != None], return_counts=True)  # noqa: E711
            categories = sorted(to_python(levels), key=str)
            counts = np.array([np.sum(values == c) for c in categories])
            if column.isna().any():
                categories, counts = categories + [None], np.append(counts, column.isna().sum())
        else:
            categories, counts = dp_stats.dp_categories(values, self.epsilon, self.delta, self.rng)
            categories = to_python(categories)
        private_counts = counts.tolist() if self.private else None
        return CategoricalEncoder(
            name,
            spec.kind,
            _dtype_name(column),
            categories,
            int(np.argmax(counts)),
            False,
            private_counts,
        )

    def _nullable(self, name: str, column: pd.Series, spec: ColumnSpec) -> bool:
        """Public nullability, or (without privacy) whether the column has missing values."""
        has_missing = bool(column.isna().any())
        if spec.nullable is not None or self.private:
            if has_missing and not spec.nullable:
                raise ValueError(
                    f"column {name!r} has missing values: declare ColumnSpec(nullable=True) "
                    "in the schema (under DP missingness of public categories must be declared)"
                )
            return bool(spec.nullable)
        return has_missing


def _dtype_name(column: pd.Series) -> str:
    return "category" if isinstance(column.dtype, pd.CategoricalDtype) else str(column.dtype)


class DataTransformer:
    """Encodes a DataFrame to float32 vectors and decodes vectors back to a DataFrame."""

    def __init__(
        self, encoders: list[Encoder], epsilon_spent: float = 0.0, delta_spent: float = 0.0
    ) -> None:
        self.encoders = encoders
        self.epsilon_spent = float(epsilon_spent)
        self.delta_spent = float(delta_spent)

    @classmethod
    def fit(
        cls,
        df: pd.DataFrame,
        schema: Schema | None = None,
        epsilon: float | None = None,
        delta: float | None = None,
        seed: int = 0,
    ) -> DataTransformer:
        """Fit the encoders.

        Args:
            df: the table.
            schema: public column specs (see :class:`ColumnSpec`); missing
                columns get the kind of their dtype.
            epsilon: privacy budget for all statistics together (``None``:
                exact statistics, no privacy; ``0.0``: private mode where the
                schema must give every statistic). It is split evenly over the
                columns that need statistics; a numeric column without public
                bounds spends half of its share on the bounds.
            delta: the delta of the stability histograms of categorical
                columns without public categories, split evenly among them.
            seed: seeds the mixture fits (the DP noise comes from OS entropy,
                :mod:`ganforge.tabular.entropy`).
        """
        validate_frame(df)
        specs = complete_schema(df, schema)
        needing = [n for n, s in specs.items() if needs_statistics(s)]
        needing_delta = [n for n in needing if needs_delta(specs[n])]
        if epsilon is not None and (epsilon < 0 or (epsilon == 0 and needing)):
            raise ValueError(
                f"epsilon for the statistics must be > 0, got {epsilon}"
                + (f" (columns {needing} need statistics)" if needing else "")
            )
        if epsilon is not None and needing_delta and not delta:
            raise ValueError("delta must be > 0 to learn categories privately")
        eps_col = epsilon / len(needing) if epsilon and needing else None
        delta_col = delta / len(needing_delta) if delta and needing_delta else None
        fitter = _StatsFitter(epsilon is not None, eps_col, delta_col, seed)
        encoders: list[Encoder] = []
        for name, spec in specs.items():
            fit = fitter.numeric if spec.kind in NUMERIC_KINDS else fitter.categorical
            encoders.append(fit(name, df[name], spec))
        spent_eps = float(epsilon) if epsilon is not None and needing else 0.0
        spent_delta = float(delta) if epsilon is not None and needing_delta else 0.0
        return cls(encoders, spent_eps, spent_delta)

    @property
    def columns(self) -> list[str]:
        return [e.name for e in self.encoders]

    @property
    def spans(self) -> list[Span]:
        return [s for e in self.encoders for s in e.spans]

    def categorical_layout(self) -> list[tuple[str, int, int]]:
        """``(name, offset, width)`` of each categorical column's one-hot in the encoded row."""
        layout, offset = [], 0
        for encoder in self.encoders:
            width = sum(s.width for s in encoder.spans)
            if isinstance(encoder, CategoricalEncoder):
                layout.append((encoder.name, offset, width))
            offset += width
        return layout

    def private_counts(self) -> dict[str, np.ndarray]:
        """The DP counts of the categorical columns whose categories were learnt privately."""
        return {
            e.name: np.asarray(e.private_counts)
            for e in self.encoders
            if isinstance(e, CategoricalEncoder) and e.private_counts is not None
        }

    @property
    def output_dim(self) -> int:
        return sum(s.width for s in self.spans)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Encode the rows of ``df`` (it must hold the fitted columns)."""
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ValueError(f"the table lacks the fitted columns {missing}")
        blocks = [e.encode(df[e.name]) for e in self.encoders]
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def inverse_transform(self, data: np.ndarray) -> pd.DataFrame:
        """Decode encoded rows (or generator outputs) to a DataFrame with the original dtypes."""
        if data.ndim != 2 or data.shape[1] != self.output_dim:
            raise ValueError(f"expected an array of shape (n, {self.output_dim}), got {data.shape}")
        columns, start = {}, 0
        for encoder in self.encoders:
            width = sum(s.width for s in encoder.spans)
            columns[encoder.name] = encoder.decode(data[:, start : start + width]).reset_index(
                drop=True
            )
            start += width
        return pd.DataFrame(columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (no pickles)."""
        return {
            "encoders": [e.to_dict() for e in self.encoders],
            "epsilon_spent": self.epsilon_spent,
            "delta_spent": self.delta_spent,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> DataTransformer:
        encoders: list[Encoder] = []
        for item in state["encoders"]:
            args = {k: v for k, v in item.items() if k != "type"}
            encoders.append(
                NumericEncoder(**args) if item["type"] == "numeric" else CategoricalEncoder(**args)
            )
        return cls(encoders, state["epsilon_spent"], state["delta_spent"])
