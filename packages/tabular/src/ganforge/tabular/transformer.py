"""The data transformer: DataFrame rows <-> the vectors the networks see (CTGAN's encoding).

- Numeric columns (continuous, integer, datetime) use mode-specific
  normalisation: a Bayesian Gaussian mixture over the column (scaled to its
  bounds) gives modes; a value is encoded as the one-hot of its most probable
  mode plus ``alpha = (u - mean) / (4 std)`` in ``[-1, 1]``. Decoding clips to the
  bounds and rounds integers. A column with missing values gets a two-way
  ``[observed, missing]`` one-hot.
- Discrete numeric columns (at most ``MAX_LEVELS`` distinct values: Likert
  answers stored as floats, coded columns, binary indicators) are one-hot over
  their levels and decode only to those levels, in the column's dtype.
- Categorical and boolean columns are one-hot; missing values are a category.

The statistics (levels, bounds, categories, mixture modes, missingness) come
from the public schema where it gives them, else from the data: exactly (no
privacy), or through the DP mechanisms of :mod:`ganforge.tabular.dp_stats`
when ``epsilon`` is given. What is paid and what is assumed under DP:

- paid: the numeric columns' levels (on the public grid of multiples of 0.5 in
  ``[-10, 100]``), ranges and shapes (bins and missing values), released
  together in three Gaussian rounds (Renyi composition, L2 sensitivity
  ``sqrt(columns)``); the categories of categorical columns without public
  ones (Laplace stability histograms, one per column);
- public assumptions, free: the dtypes (an integer or boolean column holds no
  missing value, an integer column only integers), the number of rows, and
  what the schema declares.

Bounds found under DP are *inner* ones (edges of bins that hold rows) so
samples do not leave the real range; a column whose range cannot be found at
the given budget is named, with every other such column, in one error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from ganforge.tabular import dp_stats
from ganforge.tabular.entropy import private_numpy_rng
from ganforge.tabular.schema import (
    MAX_LEVELS,
    NUMERIC_KINDS,
    ColumnSpec,
    Schema,
    complete_schema,
    numeric_values,
    to_python,
    validate_frame,
)

MAX_MODES = 10
# under DP an integer column's counts get this many times the precision (1/variance)
# of a float column's in the Gaussian rounds: integers are codes and indicators whose
# levels must be told apart (public: the dtype)
INTEGER_WEIGHT = 9.0
MISSING = dp_stats.MISSING_FAILURE
SHAPE_BINS = 32  # at most this many equal bins in the shape round, inside the DP range
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
        # else: missing values too rare for a DP release to show are encoded as the
        # commonest mode's centre (the DP-SGD step bounds what any row contributes)
        return np.concatenate(blocks, axis=1)

    def decode(self, block: np.ndarray) -> pd.Series:
        mode = block[:, 1 : 1 + len(self.means)].argmax(axis=1)
        u = np.clip(block[:, 0], -1, 1) * 4 * self.stds[mode] + self.means[mode]
        x = self.lower + np.clip(u, 0.0, 1.0) * (self.upper - self.lower)
        x = np.clip(x, self.lower, self.upper)  # no rounding error past a bound
        if self.kind in ("integer", "datetime"):
            x = np.clip(np.round(x), np.ceil(self.lower), np.floor(self.upper))
        if self.has_missing:
            x[block[:, -2:].argmax(axis=1) == 1] = np.nan
        return self._to_dtype(x)

    def _to_dtype(self, x: np.ndarray) -> pd.Series:
        missing = np.isnan(x)
        if self.kind == "datetime":
            ns = np.where(missing, 0, x).astype(np.int64)
            values = pd.Series(pd.to_datetime(ns, unit="ns"), name=self.name)
            return values.where(~missing, pd.NaT).astype(self.dtype)
        if self.kind == "integer" and self.dtype.startswith("float"):
            return pd.Series(x, name=self.name).astype(self.dtype)
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


class LevelsEncoder(CategoricalEncoder):
    """One-hot over the levels of a discrete numeric column (``None``: missing).

    Decodes to the levels only, in the column's dtype. A value between levels
    (one a DP release left out) is encoded as the nearest level.
    """

    def encode(self, column: pd.Series) -> np.ndarray:
        x = pd.to_numeric(column, errors="raise").astype(np.float64).to_numpy()
        present = [i for i, c in enumerate(self.categories) if c is not None]
        levels = np.array([self.categories[i] for i in present], dtype=np.float64)
        nearest = np.abs(np.nan_to_num(x)[:, None] - levels[None, :]).argmin(axis=1)
        missing = np.isnan(x)
        missing_index = self.categories.index(None) if None in self.categories else self.fallback
        codes = np.where(missing, missing_index, np.asarray(present)[nearest])
        return np.eye(len(self.categories))[codes]

    def decode(self, block: np.ndarray) -> pd.Series:
        chosen = [self.categories[i] for i in block.argmax(axis=1)]
        x = np.array([np.nan if v is None else v for v in chosen], dtype=np.float64)
        if np.isnan(x).any() and self.dtype.startswith(("int", "uint")):
            ints = [None if np.isnan(v) else int(v) for v in x]
            return pd.Series(pd.array(ints, dtype="Int64"), name=self.name)
        return pd.Series(x, name=self.name).astype(self.dtype)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "type": "levels"}


Encoder = NumericEncoder | CategoricalEncoder


def needs_statistics(spec: ColumnSpec) -> bool:
    """Whether a column's encoder needs statistics of the data (not all given publicly)."""
    if spec.kind in NUMERIC_KINDS:
        return True
    return spec.kind == "categorical" and spec.categories is None


def needs_delta(spec: ColumnSpec) -> bool:
    """Whether learning the column privately needs a delta (a stability histogram for
    categories, the Gaussian rounds for numeric columns)."""
    return needs_statistics(spec)


def can_hold_missing(column: pd.Series) -> bool:
    """Whether the column's dtype can hold a missing value (public: numpy integers and
    booleans cannot)."""
    return column.dtype.kind not in "iub"


class _StatsFitter:
    """Fits one encoder per column, exactly or under DP.

    Under DP the categorical columns spend ``epsilon`` / ``delta`` each (Laplace
    stability histograms); the numeric columns share the Gaussian rounds of
    :mod:`ganforge.tabular.dp_stats`, whose noise std per count is ``numeric_std[name]``.
    A numeric column whose range the rounds cannot find is recorded in ``failed``.
    """

    def __init__(
        self,
        private: bool,
        epsilon: float | None,
        delta: float | None,
        seed: int,
        numeric_std: dict[str, float] | None = None,
        rows: int = 0,
        rounds: int = dp_stats.NUMERIC_ROUNDS,
    ) -> None:
        self.private, self.epsilon, self.delta = private, epsilon, delta
        self.rng = private_numpy_rng()  # the DP noise: OS entropy, never the seed
        self.seed, self.stds, self.rows, self.rounds = seed, numeric_std or {}, rows, rounds
        self.failed: list[tuple[str, ColumnSpec]] = []

    def numeric(self, name: str, column: pd.Series, spec: ColumnSpec) -> Encoder | None:
        x = numeric_values(column, spec.kind)
        discrete = spec.discrete is not False and spec.kind != "datetime"
        if not self.private:
            return self._exact_numeric(name, column, spec, x, discrete)
        std, rng, integer = self.stds[name], self.rng, spec.kind == "integer"
        nullable = can_hold_missing(column)
        # every round is drawn (and paid) whatever the column turns out to be
        grid = dp_stats.level_grid(spec.lower, spec.upper, integer)
        grid_counts, off_grid, missing, fractional = dp_stats.gaussian_grid_counts(
            x, grid, std, rng
        )
        has_missing = nullable and missing > dp_stats.gaussian_threshold(std, 1, MISSING)
        present = self.rows - max(missing, 0.0)  # rows with a value (noisy, post-processing)
        on_grid = dp_stats.discrete_levels(
            grid, grid_counts, std, None if integer else off_grid, present, MAX_LEVELS
        )
        on_grid = on_grid if discrete else None
        if spec.kind == "continuous" and dp_stats.on_integers(
            grid, grid_counts, std, off_grid, self.rows, fractional
        ):
            spec, integer = replace(spec, kind="integer"), True  # whole numbers as floats
        lower, upper, coarse = spec.lower, spec.upper, None
        if lower is None or upper is None:
            steps = dp_stats.decade_steps(std, self.rows)
            found = dp_stats.gaussian_range(x, std, rng, steps, guess=True)
            if found is None and on_grid is None:
                self.failed.append((name, spec))
                return None
            if found is None:
                found = (float(on_grid[0].min()), float(on_grid[0].max()), None)
            lower = found[0] if lower is None else lower
            upper = found[1] if upper is None else upper
            coarse = found[2]
        if lower >= upper:
            raise ValueError(f"column {name!r}: public and DP bounds do not overlap")
        few = integer and np.floor(upper) - np.ceil(lower) <= 31
        integers = np.arange(np.ceil(lower), np.floor(upper) + 1) if few else np.zeros(0)
        if self.rounds < dp_stats.NUMERIC_ROUNDS:  # the shape from the range round's bins
            hist = dp_stats.within(coarse, lower, upper) if coarse is not None else None
            if hist is None or len(hist.counts) < 2:
                hist = dp_stats.NoisyHistogram(np.array([lower, upper]), np.ones(1), 0.0, False)
        elif integer and 2 <= len(integers) <= 32:  # a bin per integer
            edges = np.append(integers, integers[-1] + 1) - 0.5
            hist = dp_stats.gaussian_histogram(x, edges, std, rng, nullable)
        else:
            bins = int(np.clip(self.rows / (4 * std), 4, SHAPE_BINS))  # coarser when noisy
            edges = np.linspace(lower, upper, bins + 1)
            hist = dp_stats.gaussian_histogram(x, edges, std, rng, nullable)
        if self.rounds == dp_stats.NUMERIC_ROUNDS:  # two measurements of missingness
            missing = (missing + hist.missing) / 2
            threshold = dp_stats.gaussian_threshold(std / np.sqrt(2), 1, MISSING)
            has_missing = nullable and missing > threshold
        hist = dp_stats.NoisyHistogram(hist.edges, hist.counts, max(missing, 0.0), has_missing)
        if integer and 2 <= len(integers) <= 32:
            per_integer = self.rounds == dp_stats.NUMERIC_ROUNDS
            found = self._integer_levels(integers, grid, grid_counts, hist, std, per_integer)
            if discrete and found[0] is not None:
                return self._levels(name, column, spec, found[0], found[1], hist)
            lower = float(found[2] if spec.lower is None else spec.lower)
            upper = float(found[3] if spec.upper is None else spec.upper)
            return self._shape(name, column, spec, lower, upper, hist)
        if on_grid is not None:
            return self._levels(name, column, spec, on_grid[0], on_grid[1], hist)
        inner = dp_stats.inner_bounds(hist, std, self.rows - hist.missing)
        # a range starting (ending) at the public edge 0 holds rows in [0, 1e-6): keep 0
        lower = (inner[0] if lower != 0.0 else 0.0) if spec.lower is None else lower
        upper = (inner[1] if upper != 0.0 else 0.0) if spec.upper is None else upper
        if integer:
            lower, upper = float(np.ceil(lower)), float(np.floor(upper))
        if not upper > lower:
            lower, upper = float(hist.edges[0]), float(hist.edges[-1])
        return self._shape(name, column, spec, lower, upper, hist)

    def _shape(
        self,
        name: str,
        column: pd.Series,
        spec: ColumnSpec,
        lower: float,
        upper: float,
        hist: dp_stats.NoisyHistogram,
    ) -> NumericEncoder:
        try:
            samples = np.clip(hist.draw(MODE_FIT_ROWS, self.rng), lower, upper)
        except ValueError:  # no count above zero: no shape to fit, the GAN learns it
            samples = np.linspace(lower, upper, MODE_FIT_ROWS)
        return self._modes(name, column, spec, lower, upper, samples, hist.has_missing)

    def _integer_levels(
        self,
        integers: np.ndarray,
        grid: np.ndarray,
        grid_counts: np.ndarray,
        hist: dp_stats.NoisyHistogram,
        std: float,
        per_integer: bool,
    ) -> tuple[np.ndarray | None, np.ndarray | None, float, float]:
        """Levels, their counts and bounds of an integer column of few possible values.

        Each value's count is measured by the levels round (when on the grid) and,
        with ``per_integer``, by the shape round's bin of that integer: their mean
        has the noise std over sqrt(2). Levels: the values whose count clears the
        threshold, or the two fullest values when they hold nearly all rows (a
        binary indicator on a small table); ``None`` when neither. Bounds: the
        outermost values that clear the threshold, or the whole range.
        """
        stds = np.full(len(integers), np.inf)
        counts = np.zeros(len(integers))
        if per_integer:
            counts, stds = hist.counts.copy(), np.full(len(integers), std)
        at = np.searchsorted(grid, integers)
        on = (at < len(grid)) & (grid[np.minimum(at, len(grid) - 1)] == integers)
        both = on & per_integer
        counts[both] = (counts[both] + grid_counts[at[both]]) / 2
        stds[both] = std / np.sqrt(2)
        only = on & ~both
        counts[only], stds[only] = grid_counts[at[only]], std
        present = self.rows - hist.missing
        found = dp_stats.discrete_levels(integers, counts, stds, None, present, MAX_LEVELS)
        top = np.sort(np.argsort(counts)[-2:])
        rest = np.delete(counts, top).sum()
        if found is None and (rest < 0.25 * self.rows or counts[top].sum() >= 0.75 * present):
            found = integers[top], counts[top]
        kept = integers[counts > dp_stats.gaussian_threshold(1.0, len(integers)) * stds]
        bounds = (kept.min(), kept.max()) if len(kept) >= 2 else (integers[0], integers[-1])
        levels, level_counts = found if found is not None else (None, None)
        return levels, level_counts, float(bounds[0]), float(bounds[1])

    def _exact_numeric(
        self, name: str, column: pd.Series, spec: ColumnSpec, x: np.ndarray, discrete: bool
    ) -> Encoder:
        finite = x[np.isfinite(x)]
        lower = spec.lower if spec.lower is not None else float(np.min(finite))
        upper = spec.upper if spec.upper is not None else float(np.max(finite))
        levels, counts = np.unique(np.clip(finite, lower, upper), return_counts=True)
        has_missing = bool(np.isnan(x).any())
        if discrete and len(levels) <= MAX_LEVELS:
            categories = to_python(levels.astype(np.int64) if spec.kind == "integer" else levels)
            categories = categories + ([None] if has_missing else [])
            counts = np.append(counts, np.isnan(x).sum()) if has_missing else counts
            return LevelsEncoder(
                name, spec.kind, _dtype_name(column), categories, int(np.argmax(counts))
            )
        if spec.kind == "continuous" and np.array_equal(finite, np.round(finite)):
            spec = replace(spec, kind="integer")  # integers stored as floats: keep them whole
        samples = np.clip(finite, lower, upper)
        return self._modes(name, column, spec, lower, upper, samples, has_missing)

    def _levels(
        self,
        name: str,
        column: pd.Series,
        spec: ColumnSpec,
        levels: np.ndarray,
        counts: np.ndarray,
        hist: dp_stats.NoisyHistogram,
    ) -> LevelsEncoder:
        categories = to_python(levels.tolist())
        if spec.kind == "integer":
            categories = [int(v) for v in categories]
        counts = list(np.asarray(counts, dtype=np.float64))
        if hist.has_missing:
            categories, counts = categories + [None], counts + [hist.missing]
        return LevelsEncoder(
            name,
            spec.kind,
            _dtype_name(column),
            categories,
            int(np.argmax(counts)),
            False,
            counts,
        )

    def _modes(
        self,
        name: str,
        column: pd.Series,
        spec: ColumnSpec,
        lower: float,
        upper: float,
        samples: np.ndarray,
        has_missing: bool,
    ) -> NumericEncoder:
        if upper <= lower:
            raise ValueError(f"column {name!r} holds a single value: drop it")
        u = (samples - lower) / (upper - lower)
        means, stds, weights = fit_modes(u, self.seed)
        return NumericEncoder(
            name, spec.kind, str(column.dtype), lower, upper, means, stds, weights, has_missing
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


def range_error(failed: list[tuple[str, ColumnSpec]], rows: int, epsilon: float | None) -> str:
    """One message naming every numeric column whose range the budget could not find,
    with the bounds each needs."""
    needs = []
    for name, spec in failed:
        bounds = [b for b in ("lower", "upper") if getattr(spec, b) is None]
        needs.append(f"{name!r} ({' and '.join(bounds)})")
    example = ", ".join(f"{n!r}: {{'lower': ..., 'upper': ...}}" for n, _ in failed[:2])
    return (
        f"the privacy budget (statistics epsilon {epsilon:.3g} on {rows} rows) is too small "
        f"to estimate the range of {len(failed)} column(s): {', '.join(needs)}; give them "
        f"public bounds in the schema, e.g. {{{example}}}, or use a larger epsilon"
    )


def _dtype_name(column: pd.Series) -> str:
    return "category" if isinstance(column.dtype, pd.CategoricalDtype) else str(column.dtype)


def numeric_part(
    specs: dict[str, ColumnSpec], epsilon: float, delta: float | None
) -> tuple[float, float]:
    """The part of the statistics' ``(epsilon, delta)`` that :meth:`DataTransformer.fit`
    gives the numeric columns' Gaussian rounds: their share of the columns needing
    statistics (public arithmetic on the schema)."""
    needing = [n for n, s in specs.items() if needs_statistics(s)]
    needing_delta = [n for n in needing if needs_delta(specs[n])]
    numeric = [n for n in needing if specs[n].kind in NUMERIC_KINDS]
    if not numeric:
        return 0.0, 0.0
    share = len(numeric) / len(needing)
    return epsilon * share, (delta or 0.0) * len(numeric) / max(1, len(needing_delta))


def numeric_noise(
    specs: dict[str, ColumnSpec], rows: int, epsilon: float, delta: float | None
) -> tuple[dict[str, float], int]:
    """The noise std per count of each numeric column's Gaussian rounds, and the number
    of rounds, when the statistics of ``specs`` get ``(epsilon, delta)`` (public
    arithmetic on rows, columns and budget): the split :meth:`DataTransformer.fit`
    makes, evenly over the columns that need statistics."""
    budget = numeric_part(specs, epsilon, delta)
    if budget[0] <= 0:
        return {}, dp_stats.NUMERIC_ROUNDS
    weights = _numeric_weights(specs)
    total = sum(weights.values())
    rounds = dp_stats.numeric_rounds(dp_stats.gaussian_noise_std(*budget, total), rows)
    std = dp_stats.gaussian_noise_std(*budget, total, rounds)  # of a weight-1 column
    return {n: std / np.sqrt(w) for n, w in weights.items()}, rounds


def numeric_noise_at_rho(
    specs: dict[str, ColumnSpec], rows: int, rho: float
) -> tuple[dict[str, float], int]:
    """As :func:`numeric_noise` for rounds that spend the zCDP budget ``rho`` (a caller
    composing them with Gaussian releases of its own): ``r`` rounds of noise multiplier
    ``m`` spend ``r / (2 m**2)``."""
    weights = _numeric_weights(specs)
    if not weights or rho <= 0:
        return {}, dp_stats.NUMERIC_ROUNDS
    total = sum(weights.values())

    def std(rounds: int) -> float:  # of a weight-1 column
        return float(np.sqrt(rounds / (2 * rho)) * np.sqrt(total))

    rounds = dp_stats.numeric_rounds(std(dp_stats.NUMERIC_ROUNDS), rows)
    return {n: std(rounds) / np.sqrt(w) for n, w in weights.items()}, rounds


def _numeric_weights(specs: dict[str, ColumnSpec]) -> dict[str, float]:
    """Each numeric column needing statistics and its weight in the Gaussian rounds."""
    return {
        n: INTEGER_WEIGHT if s.kind == "integer" else 1.0
        for n, s in specs.items()
        if needs_statistics(s) and s.kind in NUMERIC_KINDS
    }


def rounded_up(epsilon: float) -> str:
    """``epsilon`` rounded up to one decimal (what an error may tell a user to ask for)."""
    return f"{np.ceil(epsilon * 10 - 1e-9) / 10:g}"


def smallest_epsilon(enough: Callable[[float], bool], epsilon: float) -> float:
    """The smallest epsilon, in steps of 25 % up from ``epsilon`` (to 1e4 at most), for
    which ``enough`` holds: what an error can tell a user to ask for."""
    while not enough(epsilon) and epsilon < 1e4:
        epsilon *= 1.25
    return epsilon


def unbounded_numeric(
    specs: dict[str, ColumnSpec], skip: str | None = None
) -> list[tuple[str, ColumnSpec]]:
    """The numeric columns needing statistics that lack a public lower or upper bound
    (all but ``skip``)."""
    return [
        (name, spec)
        for name, spec in specs.items()
        if name != skip
        and spec.kind in NUMERIC_KINDS
        and needs_statistics(spec)
        and (spec.lower is None or spec.upper is None)
    ]


def ranges_estimable(
    specs: dict[str, ColumnSpec], rows: int, epsilon: float, delta: float | None
) -> bool:
    """Whether the numeric columns' ranges can be told from the noise of statistics worth
    ``(epsilon, delta)`` (:func:`dp_stats.range_is_estimable`; public arithmetic)."""
    stds, _ = numeric_noise(specs, rows, epsilon, delta)
    return not stds or dp_stats.range_is_estimable(max(stds.values()), rows)


def ranges_estimable_at_rho(specs: dict[str, ColumnSpec], rows: int, rho: float) -> bool:
    """:func:`ranges_estimable` for rounds that spend the zCDP budget ``rho``."""
    if not _numeric_weights(specs):
        return True
    stds, _ = numeric_noise_at_rho(specs, rows, rho)
    return bool(stds) and dp_stats.range_is_estimable(max(stds.values()), rows)


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
        numeric_rho: float | None = None,
    ) -> DataTransformer:
        """Fit the encoders.

        Args:
            df: the table.
            schema: public column specs (see :class:`ColumnSpec`); missing
                columns get the kind of their dtype.
            epsilon: privacy budget for all statistics together (``None``:
                exact statistics, no privacy; ``0.0``: private mode where the
                schema must give every statistic). It is split evenly over the
                columns that need statistics; the numeric columns pool their
                shares in the Gaussian rounds.
            delta: the delta of the statistics (stability histograms of
                categorical columns without public categories, the Gaussian
                rounds), split as ``epsilon``.
            seed: seeds the mixture fits (the DP noise comes from OS entropy,
                :mod:`ganforge.tabular.entropy`).
            numeric_rho: under DP, the zCDP budget of the numeric columns'
                Gaussian rounds, accounted by the caller together with its own
                Gaussian releases (:func:`numeric_noise_at_rho`); the numeric
                columns' share of ``epsilon`` and ``delta`` is then not spent
                here (``epsilon_spent`` / ``delta_spent`` leave it out).
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
            raise ValueError("delta must be > 0 to learn statistics privately")
        numeric = [n for n in needing if specs[n].kind in NUMERIC_KINDS]
        eps_col = epsilon / len(needing) if epsilon and needing else None
        delta_col = delta / len(needing_delta) if delta and needing_delta else None
        stds, rounds = None, dp_stats.NUMERIC_ROUNDS
        if epsilon and numeric:
            if numeric_rho is None:
                stds, rounds = numeric_noise(specs, len(df), epsilon, delta)
            else:
                stds, rounds = numeric_noise_at_rho(specs, len(df), numeric_rho)
            unbounded = unbounded_numeric(specs)
            if unbounded and not (
                stds and dp_stats.range_is_estimable(max(stds.values()), len(df))
            ):
                message = range_error(unbounded, len(df), epsilon)
                if numeric_rho is not None:  # the caller's budget: it says what would do
                    raise ValueError(message)
                needed = smallest_epsilon(
                    lambda eps: ranges_estimable(specs, len(df), eps, delta), epsilon
                )
                raise ValueError(
                    f"{message} (statistics epsilon {rounded_up(needed)} or more would do "
                    "without bounds)"
                )
        fitter = _StatsFitter(epsilon is not None, eps_col, delta_col, seed, stds, len(df), rounds)
        encoders: list[Encoder] = []
        for name, spec in specs.items():
            fit = fitter.numeric if spec.kind in NUMERIC_KINDS else fitter.categorical
            encoders.append(fit(name, df[name], spec))
        if fitter.failed:
            raise ValueError(range_error(fitter.failed, len(df), epsilon))
        spent_eps = float(epsilon) if epsilon is not None and needing else 0.0
        spent_delta = float(delta) if epsilon is not None and needing_delta else 0.0
        if epsilon and numeric_rho is not None:  # the numeric share is the caller's
            eps_numeric, delta_numeric = numeric_part(specs, epsilon, delta)
            spent_eps, spent_delta = spent_eps - eps_numeric, max(spent_delta - delta_numeric, 0.0)
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
            kind = {"numeric": NumericEncoder, "levels": LevelsEncoder}
            encoders.append(kind.get(item["type"], CategoricalEncoder)(**args))
        return cls(encoders, state["epsilon_spent"], state["delta_spent"])
