"""Data: Poisson-sampled batches for DP-SGD, the embedded tables, and reading user CSVs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ganforge.core.csvfile import read_csv
from ganforge.tabular.entropy import private_torch_generator
from ganforge.tabular.schema import ColumnSpec, validate_frame


class PoissonBatches:
    """Batches where every row is included independently with probability ``sample_rate``.

    This is the sampling DP-SGD's privacy amplification assumes (batch sizes
    vary; a batch may be empty). The amplification holds only while nobody
    can tell which rows were drawn, so the masks come from a generator seeded
    with OS entropy (:mod:`ganforge.tabular.entropy`), never from a public seed.
    Its state is saved in the trainer's checkpoint (private training state) so
    a resumed run draws exactly the batches the killed one would have; an
    older state never rewinds a sampler that has moved on (see the entropy module).
    """

    def __init__(
        self, rows: torch.Tensor, sample_rate: float, generator: torch.Generator | None = None
    ) -> None:
        if not 0 < sample_rate <= 1:
            raise ValueError(f"sample_rate must be in (0, 1], got {sample_rate}")
        self.rows, self.sample_rate = rows, sample_rate
        self.generator = private_torch_generator() if generator is None else generator
        self.draws = 0

    def next_batch(self) -> torch.Tensor:
        self.draws += 1
        uniform = torch.rand(self.rows.shape[0], generator=self.generator, dtype=torch.float64)
        return self.rows[uniform < self.sample_rate]

    def state_dict(self) -> dict[str, Any]:
        return {"draws": self.draws, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["draws"]) < self.draws:
            return  # a rollback: never replay a batch mask
        self.draws = int(state["draws"])
        self.generator.set_state(state["generator"].cpu())


# The codebook of the `fair` survey (statsmodels' documentation and Fair 1978):
# public knowledge about the questionnaire, so declaring it costs no privacy.
FAIR_CODEBOOK: dict[str, list[float]] = {
    "rate_marriage": [1.0, 2.0, 3.0, 4.0, 5.0],
    "age": [17.5, 22.0, 27.0, 32.0, 37.0, 42.0],
    "yrs_married": [0.5, 2.5, 6.0, 9.0, 13.0, 16.5, 23.0],
    "children": [0.0, 1.0, 2.0, 3.0, 4.0, 5.5],
    "religious": [1.0, 2.0, 3.0, 4.0],
    "educ": [9.0, 12.0, 14.0, 16.0, 17.0, 20.0],
    "occupation": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    "occupation_husb": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
}


def load_fair() -> pd.DataFrame:
    """statsmodels' `fair` affairs survey (6,366 rows): eight coded answers and
    ``affair`` (1 when ``affairs > 0``, the usual classification target)."""
    import statsmodels.api as sm

    data = sm.datasets.fair.load_pandas().data
    table = data.drop(columns="affairs")
    table["affair"] = (data["affairs"] > 0).astype(np.int64)
    return table.reset_index(drop=True)


def fair_schema() -> dict[str, ColumnSpec]:
    """The public schema of :func:`load_fair`: codebook categories, a binary target."""
    schema = {name: ColumnSpec("categorical", levels) for name, levels in FAIR_CODEBOOK.items()}
    schema["affair"] = ColumnSpec("categorical", [0, 1])
    return schema


SKLEARN_TABLES = ("breast_cancer", "wine", "iris", "diabetes")


def load_sklearn_table(name: str = "breast_cancer") -> pd.DataFrame:
    """A scikit-learn bundled table with its target as the last column."""
    import sklearn.datasets as ds

    if name not in SKLEARN_TABLES:
        raise ValueError(f"unknown table {name!r}: choose one of {', '.join(SKLEARN_TABLES)}")
    bunch = getattr(ds, f"load_{name}")(as_frame=True)
    return bunch.frame.reset_index(drop=True)


# The "Summary Statistics" (Min, Max) that scikit-learn's documentation of the iris
# and wine tables publishes (their DESCR), as printed: public bounds, widened by half
# a unit of their last digit (11.0 is a minimum between 10.95 and 11.05). Tables of
# 150 and 178 rows are too small for DP ranges at epsilon 1 (the fit says so and
# names the columns).
DOCUMENTED_BOUNDS = {
    "iris": {
        "sepal length (cm)": ("4.3", "7.9"),
        "sepal width (cm)": ("2.0", "4.4"),
        "petal length (cm)": ("1.0", "6.9"),
        "petal width (cm)": ("0.1", "2.5"),
    },
    "wine": {
        "alcohol": ("11.0", "14.8"),
        "malic_acid": ("0.74", "5.80"),
        "ash": ("1.36", "3.23"),
        "alcalinity_of_ash": ("10.6", "30.0"),
        "magnesium": ("70.0", "162.0"),
        "total_phenols": ("0.98", "3.88"),
        "flavanoids": ("0.34", "5.08"),
        "nonflavanoid_phenols": ("0.13", "0.66"),
        "proanthocyanins": ("0.41", "3.58"),
        "color_intensity": ("1.3", "13.0"),
        "hue": ("0.48", "1.71"),
        "od280/od315_of_diluted_wines": ("1.27", "4.00"),
        "proline": ("278", "1680"),
    },
}


def _widened(low: str, high: str) -> tuple[float, float]:
    """Printed bounds widened by half a unit of their last digit."""

    def half_unit(text: str) -> float:
        return 0.5 * 10.0 ** -len(text.partition(".")[2])

    return float(low) - half_unit(low), float(high) + half_unit(high)


def sklearn_schema(name: str = "breast_cancer") -> dict[str, ColumnSpec]:
    """The public codebook of a :func:`load_sklearn_table` table: the class codes of a
    classification target (its documented ``target_names``), nothing for a regression
    target, and for iris and wine the bounds their documentation publishes
    (:data:`DOCUMENTED_BOUNDS`). The other columns are left to the fit (paid from the
    budget under DP)."""
    import sklearn.datasets as ds

    if name not in SKLEARN_TABLES:
        raise ValueError(f"unknown table {name!r}: choose one of {', '.join(SKLEARN_TABLES)}")
    bunch = getattr(ds, f"load_{name}")(as_frame=True)
    schema = {
        column: ColumnSpec("continuous", lower=bounds[0], upper=bounds[1])
        for column, bounds in (
            (column, _widened(*printed))
            for column, printed in DOCUMENTED_BOUNDS.get(name, {}).items()
        )
    }
    if "target_names" in bunch:
        schema["target"] = ColumnSpec("categorical", list(range(len(bunch.target_names))))
    return schema


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a user's CSV file into a validated DataFrame (a one-line ValueError if it is bad:
    unreadable, truncated mid-row, infinite values, an unusable column...)."""
    table = read_csv(path)
    try:
        return validate_frame(table)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
