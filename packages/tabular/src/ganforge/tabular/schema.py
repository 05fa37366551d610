"""Column kinds, the public schema and validation of user tables.

A column's *kind* follows from its pandas dtype alone (public information):
``bool`` -> boolean, integers -> integer, floats -> continuous, ``datetime64`` ->
datetime, ``object`` / ``string`` / ``category`` -> categorical. A user may
declare more in a :class:`ColumnSpec` or a plain dict of the same fields (a
public codebook: the categories of a coded column, the bounds of a
measurement); whatever the schema states is treated as public and costs no
privacy budget.

What the transformer infers beyond the dtype (see
:mod:`ganforge.tabular.transformer`) is read from the data: exactly without
privacy, paid from the statistics budget under DP:

- a numeric column with at most ``MAX_LEVELS`` distinct values is *discrete*:
  one-hot over its levels (Likert answers stored as floats, coded columns,
  binary indicators), sampled only on those levels;
- other integer columns are rounded, every numeric column is clipped to its
  bounds, and a column has missing values only if the data says so.

Public assumptions (free): the dtypes (an integer or boolean dtype holds no
missing value and an integer column only integers), the number of rows, and
the schema. Under DP the levels of a float column are looked for on the public
grid of multiples of 0.5 inside its DP range; declare other levels as
``categories`` in the schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

KINDS = ("continuous", "integer", "categorical", "boolean", "datetime")
NUMERIC_KINDS = ("continuous", "integer", "datetime")
MAX_LEVELS = 20  # a numeric column with at most this many distinct values is discrete


@dataclass
class ColumnSpec:
    """What is publicly known about one column.

    A plain dict with the same keys works wherever a ColumnSpec does, e.g.
    ``{"age": {"lower": 0, "upper": 120}, "grade": {"categories": [1, 2, 3]}}``.

    Args:
        kind: one of ``continuous``, ``integer``, ``categorical``, ``boolean``,
            ``datetime``; ``None``: ``categorical`` when ``categories`` are given,
            else the kind of the column's dtype.
        categories: the full list of levels of a categorical column (public
            codebook); ``None`` lets the transformer learn them.
        lower: public lower bound of a numeric column (datetimes: nanoseconds
            since the epoch); ``None`` lets the transformer learn it.
        upper: public upper bound, as ``lower``.
        nullable: whether a categorical/boolean column with public categories
            may be missing (``None``: learnt from the data without privacy; under
            DP it must be declared when the column has missing values).
        discrete: for a numeric column, ``None`` looks for few levels in the data
            (at most ``MAX_LEVELS``), ``False`` never treats it as discrete, ``True``
            treats it as discrete when levels are found.
    """

    kind: str | None = None
    categories: list[Any] | None = None
    lower: float | None = None
    upper: float | None = None
    nullable: bool | None = None
    discrete: bool | None = None

    def __post_init__(self) -> None:
        if self.kind is None and self.categories is not None:
            self.kind = "categorical"
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}: use one of {', '.join(KINDS)}")
        if self.categories is not None and self.kind != "categorical":
            raise ValueError(f"categories given for a {self.kind} column: only categorical ones")
        if self.categories is not None and len(self.categories) < 2:
            raise ValueError("a categorical column needs at least two public categories")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError(f"lower bound {self.lower} must be below upper bound {self.upper}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Schema = Mapping[str, ColumnSpec | Mapping[str, Any]]


def kind_of_dtype(name: str, dtype: Any) -> str:
    """The column kind implied by a pandas dtype; a ValueError for unsupported dtypes."""
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "continuous"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            raise ValueError(
                f"column {name!r}: timezone-aware datetimes are not supported; "
                "convert them with .dt.tz_convert(None) first"
            )
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
        return "categorical"
    if pd.api.types.is_object_dtype(dtype):
        return "categorical"
    raise ValueError(
        f"column {name!r} has unsupported dtype {dtype}: use numbers, booleans, strings, "
        "categories or datetimes"
    )


def complete_schema(df: pd.DataFrame, schema: Schema | None) -> dict[str, ColumnSpec]:
    """One :class:`ColumnSpec` per column: the user's where given, else from the dtype."""
    schema = dict(schema or {})
    unknown = sorted(set(schema) - set(df.columns))
    if unknown:
        raise ValueError(f"schema names columns not in the table: {unknown}")
    specs = {}
    for name in df.columns:
        spec = as_column_spec(name, schema.get(name, ColumnSpec()))
        if spec.kind is None:
            spec = replace(spec, kind=kind_of_dtype(name, df[name].dtype))
        specs[name] = spec
    return specs


def as_column_spec(name: str, spec: Any) -> ColumnSpec:
    """A :class:`ColumnSpec` from a ColumnSpec or a plain dict of its fields."""
    if isinstance(spec, ColumnSpec):
        return spec
    if not isinstance(spec, Mapping):
        raise ValueError(f"column {name!r}: expected a ColumnSpec or a dict, got {spec!r}")
    unknown = sorted(set(spec) - {f.name for f in fields(ColumnSpec)})
    if unknown:
        raise ValueError(
            f"column {name!r}: unknown schema keys {unknown}: use "
            + ", ".join(f.name for f in fields(ColumnSpec))
        )
    try:
        return ColumnSpec(**spec)
    except ValueError as error:
        raise ValueError(f"column {name!r}: {error}") from None


def validate_frame(df: Any, min_rows: int = 2) -> pd.DataFrame:
    """Check a user table before anything is fitted; return it unchanged.

    Raises a one-line ValueError for: not a DataFrame, no rows or columns,
    duplicated or non-string column names, all-missing columns, columns of
    one value, infinite values, unsupported dtypes, fewer than ``min_rows`` rows.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0 or df.shape[0] == 0:
        raise ValueError(f"the table is empty ({df.shape[0]} rows, {df.shape[1]} columns)")
    if df.columns.duplicated().any():
        duplicated = sorted(set(df.columns[df.columns.duplicated()]))
        raise ValueError(f"duplicated column names: {duplicated}")
    if not all(isinstance(c, str) for c in df.columns):
        raise ValueError("column names must be strings; rename them with df.columns.astype(str)")
    if len(df) < min_rows:
        raise ValueError(f"the table has {len(df)} rows; at least {min_rows} are needed")
    for name in df.columns:
        kind_of_dtype(name, df[name].dtype)
        column = df[name]
        if column.isna().all():
            raise ValueError(f"column {name!r} is entirely missing: drop it before fitting")
        if column.nunique(dropna=True) < 2:
            raise ValueError(f"column {name!r} holds a single value: drop it (no signal)")
        _check_finite(name, column)
    return df


def _check_finite(name: str, column: pd.Series) -> None:
    """Refuse infinite values: a model fitted on them samples NaN and inf."""
    if not pd.api.types.is_float_dtype(column.dtype):
        return
    infinite = np.isinf(column.to_numpy(dtype=np.float64, na_value=np.nan))
    if infinite.any():
        raise ValueError(
            f"column {name!r} holds {int(infinite.sum())} infinite value(s) (first at row "
            f"{int(np.argmax(infinite))}): replace them or mark them missing"
        )


def numeric_values(column: pd.Series, kind: str) -> np.ndarray:
    """Float64 values of a numeric column (datetimes as ns since epoch), NaN for missing."""
    if kind == "datetime":
        values = column.to_numpy(dtype="datetime64[ns]").astype("int64").astype(np.float64)
        values[column.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(column, errors="raise").astype(np.float64).to_numpy()


def to_python(values: Sequence[Any]) -> list[Any]:
    """Plain Python scalars (JSON-able) from numpy / pandas scalars."""
    return [v.item() if hasattr(v, "item") else v for v in values]
