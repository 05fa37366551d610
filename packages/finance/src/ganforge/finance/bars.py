"""Daily OHLCV bars in a representation no generator can break.

A generator that outputs prices directly writes days whose High is below their
Open or Close. Here a day is five unconstrained numbers::

    return  = log(C_t / C_{t-1})          open gap = log(O_t / C_{t-1})
    upper   = softplus^-1(log(H_t / max(O_t, C_t)))
    lower   = softplus^-1(log(min(O_t, C_t) / L_t))
    volume  = log(V_t)

and any five real numbers decode to a valid bar: ``H = max(O, C) * exp(softplus(upper))
>= max(O, C) >= min(O, C) >= L = min(O, C) * exp(-softplus(lower)) > 0`` and
``V = exp(volume) > 0``. Decoding needs the close before the first day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BAR_FEATURES = ("return", "open_gap", "upper", "lower", "log_volume")
OHLCV = ("Open", "High", "Low", "Close", "Volume")
WICK_FLOOR = 1e-6  # a wick of zero (High == max(Open, Close)) encodes as this
# decoded logs are kept in these ranges so that no float over- or underflows to a
# price of 0 or inf (a day of a 22-fold move is far outside any market's)
LOG_PRICE_LIMIT, LOG_MOVE_LIMIT = 300.0, 50.0


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))``, stable for large ``|x|``."""
    return np.logaddexp(0.0, x)


def inverse_softplus(y: np.ndarray) -> np.ndarray:
    """``log(exp(y) - 1)`` for ``y > 0``, stable for large ``y``."""
    return y + np.log(-np.expm1(-y))


def check_ohlcv(frame: pd.DataFrame) -> np.ndarray:
    """The Open, High, Low, Close, Volume columns as an array; a one-line error for a
    missing column, a non-positive or non-finite value, or a bar that is not one."""
    missing = [c for c in OHLCV if c not in frame.columns]
    if missing:
        raise ValueError(f"the table has no {', '.join(missing)} column(s): need {OHLCV}")
    values = frame.loc[:, list(OHLCV)].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all() or (values <= 0).any():
        raise ValueError("OHLCV values must be finite and > 0")
    share = invalid_bar_share(values)
    if share > 0:
        raise ValueError(f"{share:.1%} of the rows are not bars (High < max(Open, Close) or ...)")
    return values


def invalid_bar_share(ohlcv: np.ndarray) -> float:
    """Share of days (rows of ``(..., 5)`` Open, High, Low, Close, Volume) that are not
    bars: High < max(Open, Close), Low > min(Open, Close), Low <= 0 or Volume <= 0."""
    bars = np.asarray(ohlcv, dtype=np.float64).reshape(-1, 5)
    o, h, low, c, v = bars.T
    bad = (h < np.maximum(o, c)) | (low > np.minimum(o, c)) | (low <= 0) | (v <= 0)
    bad |= ~np.isfinite(bars).all(axis=1)
    return float(bad.mean()) if len(bars) else 0.0


def ohlcv_to_bars(ohlcv: np.ndarray) -> np.ndarray:
    """``(T, 5)`` Open, High, Low, Close, Volume -> ``(T - 1, 5)`` bar features of
    days 1..T-1 (day 0 gives the first close)."""
    bars = np.asarray(ohlcv, dtype=np.float64)
    o, h, low, c, v = (bars[1:, k] for k in range(5))
    previous = bars[:-1, 3]
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    upper = np.maximum(np.log(h / top), WICK_FLOOR)
    lower = np.maximum(np.log(bottom / low), WICK_FLOOR)
    features = [
        np.log(c / previous),
        np.log(o / previous),
        inverse_softplus(upper),
        inverse_softplus(lower),
        np.log(v),
    ]
    return np.stack(features, axis=-1)


def bars_to_ohlcv(features: np.ndarray, first_close: float | np.ndarray) -> np.ndarray:
    """Bar features ``(..., T, 5)`` -> Open, High, Low, Close, Volume ``(..., T, 5)``,
    each path starting from ``first_close`` (a scalar or one per path). Every
    decoded day is a valid bar whatever the features are (finite ones; each decoded
    log price is kept within +-300 and each log move within +-50)."""
    features = np.clip(np.asarray(features, dtype=np.float64), -LOG_MOVE_LIMIT, LOG_MOVE_LIMIT)
    start = np.asarray(first_close, dtype=np.float64)
    log_close = np.log(start)[..., None] + np.cumsum(features[..., 0], axis=-1)
    log_close = np.clip(log_close, -LOG_PRICE_LIMIT, LOG_PRICE_LIMIT)
    previous = np.concatenate(
        [np.broadcast_to(np.log(start)[..., None], log_close[..., :1].shape), log_close[..., :-1]],
        axis=-1,
    )
    close = np.exp(log_close)
    open_ = np.exp(previous + features[..., 1])
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    high = top * np.exp(softplus(features[..., 2]))
    low = bottom * np.exp(-softplus(features[..., 3]))
    volume = np.exp(features[..., 4])
    return np.stack([open_, high, low, close, volume], axis=-1)
