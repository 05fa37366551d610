"""The TimeGAN paper's "Stocks" data, shipped with the package, and its reference
preprocessing.

``stocks_ohlcv()`` is the daily Google OHLCV table the paper evaluates on (3,685
trading days, 2004-08-19 to 2019; the file, from the paper's public reference
repository, has no dates and lists the oldest day first, as it is returned:
its first row is the listing day, 45.0 million shares at about 50, and
2015-07-17's close-to-close jump from 579.85 to 672.93 reads forward).
``paper_windows()`` reproduces the reference loader exactly: it reverses the
rows (the reference code takes the file for newest first, so its series runs
backwards in time), min-max scales each column over the whole series
(``(x - min) / (max - min + 1e-7)``), and cuts windows of 24 days with stride 1
starting at every day but the last 24 (3,661 windows), shuffled. See
``datasets/README.md`` for the source and the paper's scores.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd

STOCKS_COLUMNS = ("Open", "High", "Low", "Close", "Adj_Close", "Volume")
STOCKS_DAYS = 3685
PAPER_WINDOW = 24


def stocks_ohlcv() -> pd.DataFrame:
    """The paper's Stocks table, oldest day first, as the file lists it (float64, a ``day``
    index 0..3684)."""
    with files("ganforge.finance").joinpath("datasets/stock_data.csv").open("rb") as handle:
        frame = pd.read_csv(handle, dtype="float64")
    if tuple(frame.columns) != STOCKS_COLUMNS or len(frame) != STOCKS_DAYS:
        raise ValueError("the packaged stock_data.csv is damaged: reinstall ganforge-finance")
    frame.index.name = "day"
    return frame


def reference_rows() -> pd.DataFrame:
    """The Stocks table in the row order the reference loader uses: reversed, newest day
    first (the paper's scores are on this order)."""
    frame = stocks_ohlcv().iloc[::-1].reset_index(drop=True)
    frame.index.name = "row"
    return frame


def paper_minmax(values: np.ndarray) -> np.ndarray:
    """The reference code's scaling: per column over the whole series, ``+ 1e-7``."""
    values = np.asarray(values, dtype=np.float64)
    low = values.min(axis=0)
    return (values - low) / (values.max(axis=0) - low + 1e-7)


def paper_windows(
    values: np.ndarray | pd.DataFrame | None = None, length: int = PAPER_WINDOW, seed: int = 0
) -> np.ndarray:
    """Windows as the reference loader makes them: scaled series (:func:`paper_minmax`),
    a window starting at each of the first ``len - length`` days, shuffled with
    ``seed``. Default ``values``: :func:`reference_rows` (3,661 windows of 24 x 6)."""
    series = paper_minmax(reference_rows().to_numpy() if values is None else np.asarray(values))
    if length < 2 or len(series) <= length:
        raise ValueError(f"need more than {length} rows for windows of {length}, got {len(series)}")
    windows = np.stack([series[i : i + length] for i in range(len(series) - length)])
    return windows[np.random.default_rng(seed).permutation(len(windows))]
