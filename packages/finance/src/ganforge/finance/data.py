"""Market data: loading and validating price tables, log returns, windows and regimes.

The embedded default is the S&P 500 daily OHLCV table bundled with ``arch``
(1999-2018). A user's own data is any CSV file or DataFrame with a date index
(or a date column) and numeric price columns.

Missing data is handled explicitly:

* rows where every column is missing are non-trading days (weekends and
  holidays of a calendar-day table) and are dropped;
* isolated missing values are filled, dropped or refused according to
  ``missing="ffill" | "drop" | "raise"``; ``"ffill"`` carries the last price
  forward (a zero return), never backwards, so no future value leaks in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ganforge.core.csvfile import read_csv

MissingPolicy = Literal["ffill", "drop", "raise"]


def load_sp500() -> pd.DataFrame:
    """The S&P 500 daily OHLCV table bundled with ``arch`` (1999-2018, 5031 rows)."""
    from arch.data import sp500

    return sp500.load().astype("float64")


def load_vix() -> pd.Series:
    """The daily VIX close bundled with ``arch`` (2014-2018)."""
    from arch.data import vix

    return vix.load()["vix"].astype("float64")


def load_prices(
    source: str | Path | pd.DataFrame | None = None,
    columns: list[str] | None = None,
    date_column: str | None = None,
    missing: MissingPolicy = "ffill",
) -> pd.DataFrame:
    """Load and validate a table of prices indexed by date.

    Args:
        source: a CSV path, a DataFrame, or ``None`` for the bundled S&P 500.
        columns: the columns to keep (default: all).
        date_column: the column holding the dates when the index does not;
            by default a column named ``date``/``Date`` is used, if any.
        missing: what to do with isolated missing values (see module doc).

    Returns:
        A float64 DataFrame with a sorted, unique DatetimeIndex and no NaN.

    Raises:
        ValueError: one line, naming the file when ``source`` is a path: a
            missing, unreadable or truncated file (a row with fewer fields than
            the header), no date index, unsorted or duplicated dates,
            non-numeric, infinite or all-missing columns, unknown columns.
    """
    if missing not in ("ffill", "drop", "raise"):
        raise ValueError(f"missing must be 'ffill', 'drop' or 'raise', got {missing!r}")
    frame = _read_source(source)
    try:
        return _validated_prices(frame, columns, date_column, missing)
    except ValueError as error:
        if isinstance(source, str | Path):
            raise ValueError(f"{source}: {error}") from None
        raise


def _validated_prices(
    frame: pd.DataFrame,
    columns: list[str] | None,
    date_column: str | None,
    missing: MissingPolicy,
) -> pd.DataFrame:
    frame = _with_date_index(frame, date_column)
    if columns is not None:
        unknown = [c for c in columns if c not in frame.columns]
        if unknown:
            raise ValueError(f"unknown columns {unknown}; the table has {list(frame.columns)}")
        frame = frame[columns]
    _check_numeric(frame)
    frame = frame.astype("float64")
    _check_finite(frame)
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise ValueError(f"columns {empty} hold no values; drop them with columns=[...]")
    frame = frame.dropna(how="all")
    return _fill_missing(frame, missing)


def _read_source(source: str | Path | pd.DataFrame | None) -> pd.DataFrame:
    if source is None:
        return load_sp500()
    if isinstance(source, pd.DataFrame):
        return source.copy()
    return read_csv(source)


def _with_date_index(frame: pd.DataFrame, date_column: str | None) -> pd.DataFrame:
    if date_column is None and not isinstance(frame.index, pd.DatetimeIndex):
        date_column = next((c for c in frame.columns if str(c).lower() == "date"), None)
    if date_column is not None:
        if date_column not in frame.columns:
            raise ValueError(f"date column {date_column!r} not found in {list(frame.columns)}")
        try:
            dates = pd.to_datetime(frame[date_column])
        except (ValueError, TypeError):
            raise ValueError(f"column {date_column!r} does not hold dates") from None
        frame = frame.drop(columns=[date_column]).set_index(pd.DatetimeIndex(dates, name="Date"))
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise ValueError("the table needs a date index or a date column (pass date_column=...)")
    if frame.index.hasnans:
        raise ValueError("the date index holds missing dates; drop those rows first")
    if frame.index.has_duplicates:
        duplicated = frame.index[frame.index.duplicated()][0]
        raise ValueError(f"duplicated date {duplicated.date()}; keep one row per date")
    if not frame.index.is_monotonic_increasing:
        raise ValueError("dates are not sorted ascending; sort them first (df.sort_index())")
    return frame


def _check_numeric(frame: pd.DataFrame) -> None:
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise ValueError(f"non-numeric columns {bad}; keep only price columns with columns=[...]")
    if frame.shape[1] == 0:
        raise ValueError("the table has no price columns")


def _check_finite(frame: pd.DataFrame) -> None:
    infinite = [c for c in frame.columns if np.isinf(frame[c].to_numpy()).any()]
    if infinite:
        raise ValueError(f"columns {infinite} hold infinite values; prices must be finite")


def _fill_missing(frame: pd.DataFrame, missing: MissingPolicy) -> pd.DataFrame:
    if not frame.isna().any().any():
        return frame
    if missing == "raise":
        count = int(frame.isna().sum().sum())
        raise ValueError(f"{count} missing values; use missing='ffill' or 'drop'")
    if missing == "drop":
        return frame.dropna()
    filled = frame.ffill()
    return filled.dropna()  # leading rows before a column's first value


def log_returns(
    prices: pd.DataFrame | pd.Series | np.ndarray,
) -> pd.DataFrame | pd.Series | np.ndarray:
    """Log returns ``log(p_t / p_{t-1})``; the first row is dropped.

    Raises:
        ValueError: a price is not positive or not finite.
    """
    values = np.asarray(prices, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("prices must be positive and finite to take log returns")
    if len(values) < 2:
        raise ValueError("need at least two prices to take returns")
    if isinstance(prices, pd.DataFrame | pd.Series):
        return np.log(prices.astype("float64")).diff().iloc[1:]
    return np.diff(np.log(values), axis=0)


def prices_from_returns(returns: np.ndarray, initial: float | np.ndarray) -> np.ndarray:
    """Rebuild prices from log returns: ``p_t = p_0 * exp(sum_{s<=t} r_s)``.

    ``returns`` has time on its last axis but one for multi-feature arrays
    (``(..., T)`` or ``(..., T, F)`` with ``initial`` broadcasting against the
    feature axis). The result has one more step than ``returns``: ``p_0`` first.
    """
    returns = np.asarray(returns, dtype=np.float64)
    axis = -1 if np.ndim(initial) == 0 else -2
    start = np.expand_dims(np.zeros_like(np.take(returns, 0, axis=axis)), axis)
    cumulative = np.concatenate([start, np.cumsum(returns, axis=axis)], axis=axis)
    return np.asarray(initial, dtype=np.float64) * np.exp(cumulative)


def sliding_windows(values: np.ndarray | pd.DataFrame, length: int, stride: int = 1) -> np.ndarray:
    """Windows of ``length`` consecutive rows: ``(n_windows, length, n_features)``.

    Raises:
        ValueError: fewer rows than ``length``, or a non-finite value.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if length < 2 or stride < 1:
        raise ValueError(f"window length must be >= 2 and stride >= 1, got {length}, {stride}")
    if len(array) < length:
        raise ValueError(
            f"{len(array)} rows is too few for windows of {length}; use a shorter window"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("the series holds NaN or infinite values; clean it with load_prices()")
    starts = np.arange(0, len(array) - length + 1, stride)
    return np.stack([array[s : s + length] for s in starts])


def feature_rows(data: np.ndarray) -> np.ndarray:
    """``data`` as float64 rows of features (every axis but the last flattened), all finite."""
    flat = np.asarray(data, dtype=np.float64).reshape(-1, np.shape(data)[-1])
    if not np.all(np.isfinite(flat)):
        raise ValueError("cannot fit the scaler on NaN or infinite values")
    return flat


class MinMaxScaler:
    """Per-feature min-max scaling to [0, 1], as in the TimeGAN reference code.

    Fitted over every axis but the last (features); ``eps`` keeps constant
    features finite.
    """

    def __init__(self, eps: float = 1e-7) -> None:
        self.eps = eps
        self.minimum: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, data: np.ndarray) -> MinMaxScaler:
        flat = feature_rows(data)
        self.minimum = flat.min(axis=0)
        self.scale = flat.max(axis=0) - self.minimum
        return self

    def transform(self, data: np.ndarray) -> np.ndarray:
        minimum, scale = self._fitted()
        return (np.asarray(data, dtype=np.float64) - minimum) / (scale + self.eps)

    def inverse_transform(self, data: np.ndarray) -> np.ndarray:
        minimum, scale = self._fitted()
        return np.asarray(data, dtype=np.float64) * (scale + self.eps) + minimum

    def fit_transform(self, data: np.ndarray) -> np.ndarray:
        return self.fit(data).transform(data)

    def state_dict(self) -> dict[str, list[float] | float]:
        minimum, scale = self._fitted()
        return {"minimum": minimum.tolist(), "scale": scale.tolist(), "eps": self.eps}

    def load_state_dict(self, state: dict) -> None:
        self.minimum = np.asarray(state["minimum"], dtype=np.float64)
        self.scale = np.asarray(state["scale"], dtype=np.float64)
        self.eps = float(state["eps"])

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.minimum is None or self.scale is None:
            raise ValueError("the scaler is not fitted; call fit() first")
        return self.minimum, self.scale


REGIME_NAMES = ("calm", "stressed")


def volatility_regimes(windows: np.ndarray, quantile: float = 0.8, feature: int = 0) -> np.ndarray:
    """Label return windows calm (0) or stressed (1) by their realised volatility.

    A window is stressed when the standard deviation of its returns (feature
    ``feature``) is at or above the ``quantile`` of all windows' deviations.
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must lie in (0, 1), got {quantile}")
    volatility = np.asarray(windows, dtype=np.float64)[..., feature].std(axis=1)
    return (volatility >= np.quantile(volatility, quantile)).astype(np.int64)


def vix_regimes(dates: pd.DatetimeIndex, threshold: float = 25.0) -> pd.Series:
    """Daily calm (0) / stressed (1) labels from the bundled VIX (stressed when VIX >= threshold).

    Only dates covered by the bundled VIX (2014-2018) get a label; others are dropped.
    """
    vix = load_vix()
    common = dates.intersection(vix.index)
    if len(common) == 0:
        raise ValueError("no date overlaps the bundled VIX (2014-2018); use volatility_regimes()")
    return (vix.loc[common] >= threshold).astype(np.int64).rename("regime")


def label_windows(daily_labels: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    """Label each sliding window by the majority of its daily labels (ties go to 1)."""
    windows = sliding_windows(np.asarray(daily_labels, dtype=np.float64), length, stride)[..., 0]
    return (windows.mean(axis=1) >= 0.5).astype(np.int64)


def regime_index(regime: int | str) -> int:
    """Map ``"calm"``/``"stressed"`` (or an int) to a label index."""
    if isinstance(regime, str):
        if regime not in REGIME_NAMES:
            raise ValueError(f"unknown regime {regime!r}; choose from {list(REGIME_NAMES)}")
        return REGIME_NAMES.index(regime)
    return int(regime)
