"""MarginalSynthesizer: DP synthetic tables from a target column's two-way marginals.

An adversarial model under DP pays for every discriminator step; on tables of
hundreds to thousands of rows at epsilon 1 to 10 the noise drowns what the
target column has to do with the others. This synthesizer releases, once,
what a classifier trained on the synthetic rows needs: the cross-table of the
target with every other column, and samples from the star-shaped model they
define (the target first, then each column given the target)::

    synth = MarginalSynthesizer(target="affair", epsilon=1.0).fit(df)
    synthetic = synth.sample(len(df))

Columns are encoded by the same DP statistics as :class:`DPTabularGAN`
(:class:`DataTransformer`: categories, levels of discrete numeric columns,
ranges and mixture modes of continuous ones), so the synthetic values keep the
real columns' types, levels and bounds. A continuous column enters the
cross-tables through its mode; its value is drawn inside the mode.

Privacy (record level, add/remove one row), basic composition of three parts:
the target's classes (15 % of epsilon, unless the schema declares them:
Laplace counts of public integer candidates for an integer dtype, else a
stability histogram with a quarter of delta), the categorical columns'
Laplace statistics (their share of the rest of ``statistics_share`` of
epsilon, as in :class:`DPTabularGAN`) and one Gaussian part
(:func:`gaussian_part`): the numeric columns' statistics rounds and the
cross-tables, composed in zCDP and converted to ``(epsilon, delta)`` once. A
row adds one to one cell of each of the ``P`` cross-tables, so their L2
sensitivity is ``sqrt(P)``. The target's own frequencies, each column's
frequencies and everything sampled are computed from the noisy tables:
post-processing (each row of a noisy table is made non-negative by
:func:`norm_sub`, which keeps the row's total instead of the positive half of
every empty cell's noise).

What it does not keep: relations between two non-target columns beyond what
the target explains (column-pair trends among features fall toward
independence given the target).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ganforge.core.modelfile import ModelFile, load_model, require_kind, save_model
from ganforge.core.settings import check_fraction
from ganforge.tabular.dp_stats import (
    dp_categories,
    dp_integer_classes,
    gaussian_counts,
    stability_threshold,
)
from ganforge.tabular.entropy import private_numpy_rng
from ganforge.tabular.privacy import (
    PrivacyReport,
    default_delta,
    single_release_multiplier,
    split_budget,
)
from ganforge.tabular.schema import (
    NUMERIC_KINDS,
    ColumnSpec,
    Schema,
    complete_schema,
    to_python,
    validate_frame,
)
from ganforge.tabular.transformer import (
    CategoricalEncoder,
    DataTransformer,
    NumericEncoder,
    needs_delta,
    needs_statistics,
    numeric_part,
    range_error,
    ranges_estimable_at_rho,
    rounded_up,
    smallest_epsilon,
    unbounded_numeric,
)
from ganforge.tabular.tree import (
    TreeBudget,
    informative,
    measure,
    orient,
    select_edges,
    star_prediction,
    tree_noise_std,
    worth_a_tree,
)

KIND = "tabular-marginals"
TARGET_SHARE = 0.15  # of epsilon, from the statistics' share: the target's classes
# of epsilon for the statistics: the first that works. Never more than 0.7: below 0.3
# the cross-tables drown (a 309-row table at epsilon 1 and 0.9 kept a lift of 0.1)
SHARES = (0.5, 0.6, 0.7)
MIN_ROWS = 8
STRUCTURES = ("tree", "star")
OFFSET_STD = 0.25  # a mode's values, (x - mean) / (4 std): standard deviation 1/4
PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class MarginalConfig:
    """The settings of a :class:`MarginalSynthesizer` (see its docstring)."""

    target: str
    epsilon: float | None = 1.0
    delta: float | None = None
    statistics_share: float | None = None
    seed: int = 0
    structure: str = "tree"

    def __post_init__(self) -> None:
        if self.structure not in STRUCTURES:
            raise ValueError(f"structure must be one of {STRUCTURES}, got {self.structure!r}")
        if not isinstance(self.target, str) or not self.target:
            raise ValueError(f"target must name a column, got {self.target!r}")
        if self.epsilon is not None and not (
            isinstance(self.epsilon, int | float) and np.isfinite(self.epsilon) and self.epsilon > 0
        ):
            raise ValueError(f"epsilon must be a finite number > 0 or None, got {self.epsilon!r}")
        for name in ("delta", "statistics_share"):
            if getattr(self, name) is not None:
                check_fraction(name, getattr(self, name))


@dataclass(frozen=True)
class Part:
    """One categorical block of the encoded row: ``(offset, width)``, and the offset of
    the continuous value it selects a mode for (``None`` for a categorical column)."""

    offset: int
    width: int
    value: int | None = None


def discrete_parts(transformer: DataTransformer) -> list[Part]:
    """Every one-hot block of the encoded row, in column order (categories, levels,
    a continuous column's modes and its missing-value flag)."""
    parts, offset = [], 0
    for encoder in transformer.encoders:
        widths = [s.width for s in encoder.spans]
        if isinstance(encoder, NumericEncoder):
            parts.append(Part(offset + 1, widths[1], offset))
            if encoder.has_missing:
                parts.append(Part(offset + 1 + widths[1], widths[2]))
        else:
            parts.append(Part(offset, widths[0]))
        offset += sum(widths)
    return parts


def cross_tables(
    rows: np.ndarray, target: Part, parts: list[Part], noise_std: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """The target's cross-table with each part, plus Gaussian noise of ``noise_std``."""
    y = rows[:, target.offset : target.offset + target.width]
    tables = []
    for part in parts:
        counts = y.T @ rows[:, part.offset : part.offset + part.width]
        tables.append(gaussian_counts(counts, noise_std, rng) if noise_std else counts)
    return tables


def _normalised(weights: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Non-negative weights scaled to sum to one per row; ``fallback`` for an empty row."""
    weights = np.clip(weights, 0.0, None)
    sums = weights.sum(axis=-1, keepdims=True)
    return np.where(sums > 0, weights / np.where(sums > 0, sums, 1.0), fallback)


def norm_sub(counts: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Noisy counts made non-negative with each row summing to its ``totals``.

    Subtracts from every cell of a row the one constant ``c >= 0`` that leaves
    ``sum(max(count - c, 0)) = total`` (cells that hold only noise fall to zero
    instead of each keeping the positive half of their noise, as clipping at
    zero does); a row whose positive cells hold less than its total is clipped
    at zero, and a row whose total is zero (a class whose noisy count fell to zero)
    is all zeros. Post-processing: no privacy cost.
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    out = np.clip(counts, 0.0, None)
    for row, total in enumerate(np.broadcast_to(totals, len(counts))):
        if total <= 0:
            out[row] = 0.0
            continue
        if out[row].sum() <= total:
            continue
        ordered = np.sort(counts[row])[::-1]
        kept = np.arange(1, len(ordered) + 1)
        shifts = (np.cumsum(ordered) - total) / kept
        last = np.flatnonzero(ordered > shifts)[-1]
        out[row] = np.clip(counts[row] - max(shifts[last], 0.0), 0.0, None)
    return out


class MarginalSynthesizer:
    """DataFrame in, DataFrame out: the target and each column given the target, under DP.

    Args:
        target: the column whose relation to the others the synthetic rows keep (a
            categorical, boolean or discrete numeric column).
        epsilon: the total privacy budget, or ``None`` for no privacy (exact tables).
        delta: the total delta (default ``min(1e-5, 0.1 / n)``).
        schema: public column specs, as for :class:`DPTabularGAN` (``ColumnSpec`` or
            plain dicts); what it states is not paid for.
        statistics_share: share of epsilon for the column statistics; the rest
            releases the cross-tables. ``None``: half, or more on tables too small
            for the numeric columns' ranges to show at half.
        seed: seeds the mixture fits and the sampling (the DP noise comes from OS
            entropy).
        structure: ``"tree"`` adds, where a typical three-way table would show
            through its noise (always without DP), a tree over the columns given the
            target (:mod:`ganforge.tabular.tree`); ``"star"``: the cross-tables alone.
    """

    def __init__(
        self,
        target: str,
        epsilon: float | None = 1.0,
        delta: float | None = None,
        schema: Schema | None = None,
        statistics_share: float | None = None,
        seed: int = 0,
        structure: str = "tree",
    ) -> None:
        self.config = MarginalConfig(target, epsilon, delta, statistics_share, seed, structure)
        self.schema = dict(schema or {})
        self.transformer: DataTransformer | None = None
        self.tables: list[np.ndarray] | None = None
        self.edges: list[tuple[int, int]] = []
        self.tree_tables: list[np.ndarray] = []
        self.privacy: PrivacyReport | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame) -> MarginalSynthesizer:
        """Release the statistics and the cross-tables of ``df`` (the private table)."""
        cfg = self.config
        validate_frame(df, min_rows=MIN_ROWS)
        if cfg.target not in df.columns:
            raise ValueError(f"target column {cfg.target!r} is not in the table")
        n = len(df)
        delta = cfg.delta if cfg.delta is not None else default_delta(n)
        if cfg.epsilon is not None and delta >= 1 / n:
            raise ValueError(f"delta {delta:g} is not below 1/n = {1 / n:.3g} for {n} rows")
        specs = complete_schema(df, self.schema)
        plan = None
        if cfg.epsilon is not None:
            integer_target = pd.api.types.is_integer_dtype(df[cfg.target].dtype)
            share = self._statistics_share(specs, delta, n, integer_target)
            plan = budget_plan(specs, cfg.target, cfg.epsilon, delta, share, integer_target)
            if needs_statistics(specs[cfg.target]):
                specs[cfg.target] = self._release_classes(
                    df[cfg.target], plan.epsilon_target, plan.delta_target
                )
        transformer = DataTransformer.fit(
            df,
            specs,
            epsilon=None if plan is None else plan.statistics[0],
            delta=None if plan is None else (plan.statistics[1] or None),
            seed=cfg.seed,
            numeric_rho=None if plan is None else plan.gaussian.numeric_rho,
        )
        _tolerate_unreleased_classes(transformer, cfg.target)
        target = self._target_part(transformer)
        parts = [p for p in discrete_parts(transformer) if p != target]
        if not parts:
            raise ValueError("the table needs at least one column besides the target")
        sigma = None if plan is None else plan.gaussian.table_sigma
        rows = transformer.transform(df).astype(np.float64)
        budget = self._tree_budget(sigma, n, target, parts)
        self._release_tables(rows, target, parts, sigma, budget)
        self.transformer = transformer
        self.privacy = _report(plan, transformer, budget, len(self.edges))
        return self

    def _tree_budget(
        self, sigma: float | None, rows: int, target: Part, parts: list[Part]
    ) -> TreeBudget | None:
        """The star + tree noise when a tree is asked for and a typical three-way table
        would show through its noise (:func:`worth_a_tree`; public), else ``None``."""
        if self.config.structure != "tree" or sigma is None or len(parts) < 2:
            return None
        budget = TreeBudget.split(sigma, len(parts))
        widths = [p.width for p in parts]
        return budget if worth_a_tree(rows, target.width, widths, budget) else None

    def _release_tables(
        self,
        rows: np.ndarray,
        target: Part,
        parts: list[Part],
        sigma: float | None,
        budget: TreeBudget | None,
    ) -> None:
        """The cross-tables, and without DP or with a ``budget`` the tree's three-way
        tables (edges chosen exactly without DP, by the exponential mechanism with)."""
        rng = private_numpy_rng()
        std = 0.0 if sigma is None else sigma * np.sqrt(len(parts))
        if budget is not None:
            std = budget.star_multiplier * np.sqrt(len(parts))
        self.tables = cross_tables(rows, target, parts, std, rng)
        self.edges, self.tree_tables = [], []
        if (sigma is not None and budget is None) or self.config.structure != "tree":
            return
        y = _codes(rows, target)
        codes = [_codes(rows, part) for part in parts]
        plan = budget or TreeBudget(1.0, 1.0, np.inf, max(len(parts) - 1, 1))
        tree_std = 0.0 if budget is None else budget.tree_std()
        edges = select_edges(codes, y, self.tables, plan, rng, exact=budget is None)
        measured = measure(codes, y, self.tables, edges, tree_std, rng)
        for edge, table in zip(edges, measured, strict=True):
            prediction = star_prediction(self.tables[edge[0]], self.tables[edge[1]])
            if informative(table, prediction, tree_std):
                self.edges.append(edge)
                self.tree_tables.append(table)

    def _release_classes(self, column: pd.Series, epsilon: float, delta: float) -> ColumnSpec:
        """The target's classes from their own budget: for an integer dtype (public)
        Laplace counts of public integer candidates (:func:`dp_integer_classes`, no
        delta), else a stability histogram. A categorical spec for the transformer:
        DP output, so free to reuse."""
        if pd.api.types.is_integer_dtype(column.dtype):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            classes, _ = dp_integer_classes(values, epsilon, private_numpy_rng())
            return self._two_classes(classes)
        values = column.astype(object).to_numpy()
        values = np.array([None if pd.isna(v) else v for v in values], dtype=object)
        try:
            classes, _ = dp_categories(values, epsilon, delta, private_numpy_rng())
        except ValueError:
            classes = []
        return self._two_classes(classes)

    def _two_classes(self, classes: list) -> ColumnSpec:
        """A categorical spec of the released classes; an error for fewer than two."""
        classes = [c for c in to_python(classes) if c is not None]
        if len(classes) < 2:
            raise ValueError(
                f"the privacy budget is too small to find two classes of the target "
                f"{self.config.target!r}: declare its classes in the schema "
                f"({{{self.config.target!r}: {{'categories': [...]}}}}) or use a larger epsilon"
            )
        return ColumnSpec("categorical", classes)

    def _statistics_share(self, specs: dict, delta: float, n: int, integer_target: bool) -> float:
        """``statistics_share``, or half unless the numeric columns' ranges could not be
        told from the noise at half (public arithmetic on rows, columns and budget);
        then the smallest larger share that can. When none can: an error naming the
        columns that need public bounds and the epsilon that would do without them."""
        if self.config.statistics_share is not None:
            return self.config.statistics_share
        target, epsilon = self.config.target, self.config.epsilon
        unbounded = unbounded_numeric(specs, skip=target)

        def estimable(eps: float) -> float | None:
            return _estimable_share(specs, target, eps, delta, n, integer_target)

        share = estimable(epsilon)
        if share is not None or not unbounded:  # else the categories' error, if any, says
            return share if share is not None else SHARES[-1]
        enough = smallest_epsilon(lambda eps: estimable(eps) is not None, epsilon)
        message = range_error(unbounded, n, epsilon * (SHARES[-1] - TARGET_SHARE))
        raise ValueError(
            f"{message} (epsilon {rounded_up(enough)} or more would do without bounds)"
        )

    def _target_part(self, transformer: DataTransformer) -> Part:
        name = self.config.target
        index = transformer.columns.index(name)
        encoder = transformer.encoders[index]
        if not isinstance(encoder, CategoricalEncoder):
            raise ValueError(
                f"target column {name!r} is continuous: give a categorical, boolean or "
                "discrete numeric target (at most 20 distinct values), or declare its "
                "levels in the schema"
            )
        offset = sum(sum(s.width for s in e.spans) for e in transformer.encoders[:index])
        return Part(offset, encoder.spans[0].width)

    # --------------------------------------------------------------- sample
    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows with the fitted columns and dtypes."""
        if self.transformer is None or self.tables is None:
            raise ValueError("the synthesizer is not fitted: call fit(df) or load(path) first")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        rng = np.random.default_rng(self.config.seed + 1 if seed is None else seed)
        target = self._target_part(self.transformer)
        parts = [p for p in discrete_parts(self.transformer) if p != target]
        target_counts = np.mean([t.sum(axis=1) for t in self.tables], axis=0)
        uniform = np.full(target.width, 1.0 / target.width)
        y = _draw(rng, np.tile(_normalised(target_counts, uniform), (n, 1)))
        rows = np.zeros((n, self.transformer.output_dim))
        rows[np.arange(n), target.offset + y] = 1.0
        parents, order = orient(len(parts), self.edges)
        drawn: dict[int, np.ndarray] = {}
        class_totals = target_counts.clip(0.0)
        for k in order:
            part, table = parts[k], self.tables[k]
            overall = _normalised(
                norm_sub(table.sum(axis=0), class_totals.sum())[0],
                np.full(part.width, 1.0 / part.width),
            )
            given_target = _normalised(norm_sub(table, class_totals), overall)[y]
            if parents[k] >= 0:
                given_target = self._given_parent(k, parents[k], y, drawn[parents[k]], given_target)
            chosen = drawn[k] = _draw(rng, given_target)
            rows[np.arange(n), part.offset + chosen] = 1.0
            if part.value is not None:
                offsets = rng.normal(0.0, OFFSET_STD, n)
                rows[:, part.value] = np.clip(offsets, -0.99, 0.99)
        return self.transformer.inverse_transform(rows)

    def _given_parent(
        self, child: int, parent: int, y: np.ndarray, a: np.ndarray, fallback: np.ndarray
    ) -> np.ndarray:
        """Each row's probabilities of ``child``'s categories given its target class and
        its parent's category: the edge's three-way table, with pseudo-counts of the
        star's ``P(child | class)`` (``fallback``) worth the table row's noise, so
        that a parent category of few rows leans on the star (exact tables: none)."""
        index = self.edges.index((parent, child)) if (parent, child) in self.edges else None
        if index is not None:
            table = self.tree_tables[index]
        else:
            table = self.tree_tables[self.edges.index((child, parent))].transpose(0, 2, 1)
        counts = np.clip(table[y, a], 0.0, None)
        return _normalised(counts + self._tree_std() * counts.shape[1] * fallback, fallback)

    def _tree_std(self) -> float:
        """Noise std per count of the three-way tables (0 for exact tables)."""
        multiplier = getattr(self.privacy, "tree_noise_multiplier", None)
        return 0.0 if multiplier is None else tree_noise_std(multiplier, len(self.tables))

    # ------------------------------------------------------------ save/load
    def save(self, path: PathLike) -> Path:
        """Write the fitted synthesizer: DP outputs and public facts only."""
        if self.transformer is None or self.tables is None or self.privacy is None:
            raise ValueError("the synthesizer is not fitted: nothing to save")
        extra = {
            "transformer": json.dumps(self.transformer.to_dict()),
            "tables": json.dumps([t.tolist() for t in self.tables]),
            "edges": json.dumps([list(e) for e in self.edges]),
            "tree_tables": json.dumps([t.tolist() for t in self.tree_tables]),
            "privacy": json.dumps(self.privacy.to_dict()),
        }
        spec = {k: v for k, v in asdict(self.config).items() if k != "seed"}
        return save_model(path, KIND, spec, {}, extra)

    @classmethod
    def load(cls, path: PathLike) -> MarginalSynthesizer:
        """Load a synthesizer written by :meth:`save` (safe: ``weights_only=True``)."""
        return cls.from_model_file(load_model(path, KIND), path)

    @classmethod
    def from_model_file(cls, file: ModelFile, path: PathLike) -> MarginalSynthesizer:
        """The synthesizer in a model file already read (``path`` names it in errors)."""
        require_kind(file.kind, KIND, path)
        try:
            synth = cls(**file.spec)
            synth.transformer = DataTransformer.from_dict(json.loads(file.extra["transformer"]))
            synth.tables = [
                np.asarray(t, dtype=np.float64) for t in json.loads(file.extra["tables"])
            ]
            synth.edges = [tuple(e) for e in json.loads(file.extra.get("edges", "[]"))]
            synth.tree_tables = [
                np.asarray(t, dtype=np.float64)
                for t in json.loads(file.extra.get("tree_tables", "[]"))
            ]
            synth.privacy = MarginalPrivacyReport(**json.loads(file.extra["privacy"]))
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} is not a readable marginal synthesizer: {error}") from None
        widths = [p.width for p in discrete_parts(synth.transformer)]
        if len(synth.tables) != len(widths) - 1 or not _tree_fits(synth, len(widths) - 1):
            raise ValueError(f"{path} is damaged: its tables do not match its columns")
        return synth


def _codes(rows: np.ndarray, part: Part) -> np.ndarray:
    """Each row's category in a one-hot block."""
    return rows[:, part.offset : part.offset + part.width].argmax(axis=1)


def _tree_fits(synth: MarginalSynthesizer, parts: int) -> bool:
    """Whether a loaded tree is a forest over the parts whose tables have the right shapes."""
    if len(synth.edges) != len(synth.tree_tables):
        return False
    classes = synth.tables[0].shape[0] if synth.tables else 0
    for (i, j), table in zip(synth.edges, synth.tree_tables, strict=True):
        if not (0 <= i < parts and 0 <= j < parts) or i == j:
            return False
        if table.shape != (classes, synth.tables[i].shape[1], synth.tables[j].shape[1]):
            return False
    roots = orient(parts, synth.edges)[0].count(-1)
    return len(synth.edges) == parts - roots  # a forest: no cycle


def _draw(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One category per row from each row's probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random((len(probabilities), 1)) * cumulative[:, -1:]
    return np.minimum((u > cumulative).sum(axis=1), probabilities.shape[1] - 1)


def _tolerate_unreleased_classes(transformer: DataTransformer, target: str) -> None:
    """A target value the DP release of its classes left out is encoded as its first
    released class (a public categorical spec would refuse it)."""
    encoder = transformer.encoders[transformer.columns.index(target)]
    encoder.strict = False


@dataclass(frozen=True)
class MarginalPrivacyReport(PrivacyReport):
    """:class:`PrivacyReport` of a :class:`MarginalSynthesizer`. ``epsilon_statistics``:
    the Laplace releases (the target's classes, categories); ``epsilon_training``: the
    Gaussian part (:class:`GaussianPart`), the numeric statistics' rounds
    (``numeric_rho`` of its zCDP budget) and the cross-tables, plus the tree: its
    edges, the noise multiplier of its three-way tables and the epsilon of each
    edge's exponential mechanism."""

    tree_edges: int = 0
    tree_noise_multiplier: float | None = None
    selection_epsilon: float | None = None
    numeric_rho: float = 0.0

    def describe(self) -> str:
        if self.epsilon is None:
            return super().describe()
        rounds = (
            f"the numeric columns' statistics (zCDP rho {self.numeric_rho:.3g}) and "
            if self.numeric_rho
            else ""
        )
        text = (
            f"({self.epsilon:.4g}, {self.delta:.3g})-differential privacy, record-level "
            f"(add/remove one row): Laplace statistics ({self.epsilon_statistics:.4g}, "
            f"{self.delta_statistics:.3g}) + one Gaussian part ({self.epsilon_training:.4g}, "
            f"{self.delta_training:.3g}, composed in zCDP): {rounds}the target's "
            f"cross-tables (sigma={self.marginals_noise_multiplier:.4g})"
        )
        if self.tree_noise_multiplier is None:
            return text + "."
        return text + (
            f", a tree of {self.tree_edges} kept three-way tables "
            f"(sigma={self.tree_noise_multiplier:.4g}) whose edges were chosen by exponential "
            f"mechanisms (epsilon={self.selection_epsilon:.3g} each)."
        )


def _estimable_share(
    specs: dict, target: str, epsilon: float, delta: float, n: int, integer_target: bool
) -> float | None:
    """The first of :data:`SHARES` of ``epsilon`` at which the statistics can be told
    from the noise, or ``None``: the numeric columns' ranges
    (:func:`ranges_estimable_at_rho`) and, for a categorical column without public
    categories, a category of a quarter of the rows (its noisy count clears the
    stability threshold). The target's classes have a release of their own (public
    arithmetic)."""
    others = {name: spec for name, spec in specs.items() if name != target}
    needing = [s for s in others.values() if needs_statistics(s)]
    categorical = sum(s.kind not in NUMERIC_KINDS for s in needing)
    for share in SHARES:
        plan = budget_plan(specs, target, epsilon, delta, share, integer_target)
        numeric_ok = ranges_estimable_at_rho(others, n, plan.gaussian.numeric_rho)
        per_column = plan.statistics[0] / max(1, len(needing))
        delta_column = plan.statistics[1] / max(1, sum(needs_delta(s) for s in needing))
        categories_ok = not categorical or (
            delta_column > 0 and stability_threshold(per_column, delta_column) <= n / 4
        )
        if numeric_ok and categories_ok:
            return share
    return None


@dataclass(frozen=True)
class GaussianPart:
    """The numeric statistics' Gaussian rounds and the cross-tables as one part worth
    ``(epsilon, delta)``: zCDP composes them (``numeric_rho`` for the rounds, the
    rest for the cross-tables, whose noise multiplier is ``table_sigma``)."""

    epsilon: float
    delta: float
    numeric_rho: float
    table_sigma: float


@dataclass(frozen=True)
class BudgetPlan:
    """How a synthesizer's ``(epsilon, delta)`` is spent (basic composition of three
    parts): the target's classes, the Laplace statistics of the transformer
    (``statistics``, of which the numeric columns' share moves to the Gaussian
    part) and :class:`GaussianPart`."""

    epsilon_target: float
    delta_target: float
    statistics: tuple[float, float]
    gaussian: GaussianPart


def zcdp_rho(epsilon: float, delta: float) -> float:
    """The zCDP budget ``1 / (2 sigma**2)`` of one Gaussian release worth ``(epsilon, delta)``."""
    return 1.0 / (2.0 * single_release_multiplier(epsilon, delta) ** 2)


def gaussian_part(
    specs: dict, statistics: tuple[float, float], training: tuple[float, float]
) -> GaussianPart:
    """The numeric columns' share of ``statistics`` and the cross-tables' ``training``
    budget as one Gaussian part. Converted to ``(epsilon, delta)`` apart, as basic
    composition would, each would get the zCDP budget of its own ``(epsilon,
    delta)``; converted once, the sum buys more rho (the conversion is concave in
    rho), which is shared in the same proportion: both get less noise."""
    eps_numeric, delta_numeric = numeric_part(specs, *statistics)
    rho_tables = zcdp_rho(*training)
    rho_numeric = zcdp_rho(eps_numeric, delta_numeric) if eps_numeric > 0 else 0.0
    epsilon, delta = eps_numeric + training[0], delta_numeric + training[1]
    rho = zcdp_rho(epsilon, delta) if rho_numeric else rho_tables
    numeric = rho * rho_numeric / (rho_numeric + rho_tables)
    return GaussianPart(epsilon, delta, numeric, float(1.0 / np.sqrt(2.0 * (rho - numeric))))


def budget_plan(
    specs: dict, target: str, epsilon: float, delta: float, share: float, integer_target: bool
) -> BudgetPlan:
    """The :class:`BudgetPlan` of ``epsilon`` / ``delta`` with ``share`` of epsilon for
    the statistics (the target's classes take :data:`TARGET_SHARE` of epsilon of it
    unless the schema declares them; an integer target's classes need no delta)."""
    needing = [s for s in specs.values() if needs_statistics(s)]
    split = split_budget(epsilon, delta, share, bool(needing), any(needs_delta(s) for s in needing))
    eps_target, delta_target = 0.0, 0.0
    if needs_statistics(specs[target]):
        eps_target = TARGET_SHARE * epsilon
        delta_target = 0.0 if integer_target else split.delta_statistics / 2
        if any(needs_statistics(s) for n, s in specs.items() if n != target) and (
            split.epsilon_statistics <= eps_target
        ):
            raise ValueError(
                f"statistics_share {share} leaves nothing for the column statistics once "
                f"the target's classes take {TARGET_SHARE:.0%} of epsilon: use more than "
                f"{TARGET_SHARE}, or declare the target's classes in the schema"
            )
    others = {n: s for n, s in specs.items() if n != target}
    statistics = (split.epsilon_statistics - eps_target, split.delta_statistics - delta_target)
    training = (split.epsilon_training, split.delta_training)
    return BudgetPlan(
        eps_target, delta_target, statistics, gaussian_part(others, statistics, training)
    )


def _report(
    plan: BudgetPlan | None,
    transformer: DataTransformer,
    budget: TreeBudget | None = None,
    tree_edges: int = 0,
) -> MarginalPrivacyReport:
    if plan is None:
        return MarginalPrivacyReport(None, None, 0.0, 0.0, None, None, None, None, None, 0, "none")
    eps_stats = transformer.epsilon_spent + plan.epsilon_target
    delta_stats = transformer.delta_spent + plan.delta_target
    part = plan.gaussian
    return MarginalPrivacyReport(
        epsilon=eps_stats + part.epsilon,
        delta=delta_stats + part.delta,
        epsilon_statistics=eps_stats,
        delta_statistics=delta_stats,
        epsilon_training=part.epsilon,
        delta_training=part.delta,
        noise_multiplier=None,
        max_grad_norm=None,
        sample_rate=None,
        steps=0,
        accountant="rdp",
        marginals_noise_multiplier=part.table_sigma if budget is None else budget.star_multiplier,
        tree_noise_multiplier=None if budget is None else budget.tree_multiplier,
        selection_epsilon=None if budget is None else budget.selection_epsilon,
        tree_edges=0 if budget is None else tree_edges,
        numeric_rho=part.numeric_rho,
    )
