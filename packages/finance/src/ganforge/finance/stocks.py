"""The TimeGAN paper's "Stocks" data, shipped with the package, and its reference
preprocessing.

``stocks_ohlcv()`` is the daily Google OHLCV table the paper evaluates on (3,685
trading days; the file, from the paper's public reference repository, has no
dates and lists the newest day first: it is returned in chronological order).
``paper_windows()`` reproduces the reference loader exactly: min-max scaling of
each column over the whole series (``(x - min) / (max - min + 1e-7)``), windows
of 24 days with stride 1 starting at every day but the last 24 (3,661 windows),
shuffled. See ``datasets/README.md`` for the source and the paper's scores.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd

STOCKS_COLUMNS = ("Open", "High", "Low", "Close", "Adj_Close", "Volume")
STOCKS_DAYS = 3685
PAPER_WINDOW = 24


def stocks_ohlcv() -> pd.DataFrame:
    """The paper's Stocks table, oldest day first (float64, a ``day`` index 0..3684)."""
    with files("ganforge.finance").joinpath("datasets/stock_data.csv").open("rb") as handle:
        frame = pd.read_csv(handle, dtype="float64")
    if tuple(frame.columns) != STOCKS_COLUMNS or len(frame) != STOCKS_DAYS:
        raise ValueError("the packaged stock_data.csv is damaged: reinstall ganforge-finance")
    frame = frame.iloc[::-1].reset_index(drop=True)
    frame.index.name = "day"
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
    ``seed``. Default ``values``: :func:`stocks_ohlcv` (3,661 windows of 24 x 6)."""
    series = paper_minmax(stocks_ohlcv().to_numpy() if values is None else np.asarray(values))
    if length < 2 or len(series) <= length:
        raise ValueError(f"need more than {length} rows for windows of {length}, got {len(series)}")
    windows = np.stack([series[i : i + length] for i in range(len(series) - length)])
    return windows[np.random.default_rng(seed).permutation(len(windows))]
