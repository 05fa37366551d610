"""Loading, validation, returns, scaling, windows and regimes."""

import numpy as np
import pandas as pd
import pytest

from ganforge.finance import data


def _frame(values, dates=None, **columns):
    dates = pd.date_range("2020-01-01", periods=len(values)) if dates is None else dates
    return pd.DataFrame({"Close": values, **columns}, index=pd.DatetimeIndex(dates))


def test_sp500_default_is_the_bundled_table():
    prices = data.load_prices()
    assert prices.shape == (5031, 6)
    assert list(prices.columns) == ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
    assert prices.index[0] == pd.Timestamp("1999-01-04")
    assert prices.dtypes.unique().tolist() == [np.float64]


def test_csv_with_date_column_round_trips(tmp_path):
    path = tmp_path / "prices.csv"
    pd.DataFrame({"date": ["2020-01-02", "2020-01-03"], "px": [10.0, 11.0]}).to_csv(path)
    prices = data.load_prices(path, columns=["px"])
    assert prices.index.tolist() == [pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-03")]
    assert prices["px"].tolist() == [10.0, 11.0]


def test_non_trading_days_are_dropped_and_gaps_filled_forward():
    frame = _frame([1.0, np.nan, 3.0, np.nan], Other=[1.0, np.nan, np.nan, 4.0])
    prices = data.load_prices(frame)
    # row 1 is all-missing: a non-trading day; Close at row 3 is carried forward
    assert prices.index.tolist() == [frame.index[0], frame.index[2], frame.index[3]]
    assert prices["Close"].tolist() == [1.0, 3.0, 3.0]
    assert prices["Other"].tolist() == [1.0, 1.0, 4.0]
    assert len(data.load_prices(frame, missing="drop")) == 1
    with pytest.raises(ValueError, match="2 missing values; use missing="):
        data.load_prices(frame, missing="raise")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (_frame([1.0, 2.0], dates=["2020-01-02", "2020-01-01"]), "not sorted ascending"),
        (_frame([1.0, 2.0], dates=["2020-01-01", "2020-01-01"]), "duplicated date 2020-01-01"),
        (_frame([1.0, 2.0], Name=["a", "b"]), r"non-numeric columns \['Name'\]"),
        (_frame([1.0, 2.0], Empty=[np.nan, np.nan]), r"columns \['Empty'\] hold no values"),
        (pd.DataFrame({"Close": [1.0, 2.0]}), "needs a date index or a date column"),
    ],
)
def test_bad_tables_are_refused_with_a_clear_message(frame, message):
    with pytest.raises(ValueError, match=message):
        data.load_prices(frame)


def test_bad_files_and_columns(tmp_path):
    with pytest.raises(ValueError, match="no such CSV file"):
        data.load_prices(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match=r"unknown columns \['Nope'\]"):
        data.load_prices(columns=["Nope"])
    with pytest.raises(ValueError, match="missing must be"):
        data.load_prices(missing="zero")


def test_log_returns_and_price_reconstruction():
    prices = np.array([100.0, 110.0, 99.0])
    returns = data.log_returns(prices)
    np.testing.assert_allclose(returns, [np.log(1.1), np.log(0.9)])
    np.testing.assert_allclose(data.prices_from_returns(returns, 100.0), prices)
    panel = np.stack([returns, -returns])  # (2 paths, 2 steps)
    rebuilt = data.prices_from_returns(panel, 100.0)
    np.testing.assert_allclose(rebuilt[1], [100.0, 100 / 1.1, 100 / 0.99])
    features = np.stack([returns, 2 * returns], axis=-1)  # (T, F)
    rebuilt = data.prices_from_returns(features, np.array([100.0, 1.0]))
    np.testing.assert_allclose(rebuilt[:, 1], [1.0, 1.21, 1.21 * 0.81])
    with pytest.raises(ValueError, match="positive and finite"):
        data.log_returns(np.array([1.0, 0.0, 2.0]))


def test_returns_of_a_frame_keep_dates():
    frame = _frame([1.0, 2.0, 4.0])
    returns = data.log_returns(frame)
    assert returns.index.tolist() == frame.index[1:].tolist()
    np.testing.assert_allclose(returns["Close"], [np.log(2), np.log(2)])


def test_sliding_windows_shape_and_content():
    windows = data.sliding_windows(np.arange(10.0), length=4, stride=3)
    assert windows.shape == (3, 4, 1)
    np.testing.assert_array_equal(windows[1, :, 0], [3, 4, 5, 6])
    with pytest.raises(ValueError, match="10 rows is too few for windows of 24"):
        data.sliding_windows(np.arange(10.0), length=24)
    with pytest.raises(ValueError, match="NaN"):
        data.sliding_windows(np.array([1.0, np.nan, 2.0]), length=2)


def test_min_max_scaler_round_trip_and_state():
    values = np.random.default_rng(0).normal(size=(5, 7, 3)) * [1, 10, 100]
    scaler = data.MinMaxScaler()
    scaled = scaler.fit_transform(values)
    assert scaled.min() == pytest.approx(0.0)
    np.testing.assert_allclose(scaled.reshape(-1, 3).max(axis=0), 1.0, atol=1e-6)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), values, atol=1e-9)
    restored = data.MinMaxScaler()
    restored.load_state_dict(scaler.state_dict())
    np.testing.assert_allclose(restored.transform(values), scaled)
    with pytest.raises(ValueError, match="not fitted"):
        data.MinMaxScaler().transform(values)


def test_volatility_regimes_mark_the_wild_windows():
    rng = np.random.default_rng(0)
    calm = rng.normal(0, 0.01, size=(80, 20, 1))
    wild = rng.normal(0, 0.05, size=(20, 20, 1))
    labels = data.volatility_regimes(np.concatenate([calm, wild]), quantile=0.8)
    np.testing.assert_array_equal(labels, [0] * 80 + [1] * 20)
    assert data.regime_index("stressed") == 1
    with pytest.raises(ValueError, match="unknown regime"):
        data.regime_index("panic")


def test_vix_regimes_and_window_labels():
    dates = pd.date_range("2018-01-01", "2018-03-31", freq="B")
    labels = data.vix_regimes(dates, threshold=25.0)
    assert labels.loc["2018-02-05":"2018-02-09"].sum() >= 3  # the February 2018 VIX spike
    assert labels.loc["2018-01-02":"2018-01-31"].sum() == 0
    np.testing.assert_array_equal(data.label_windows(np.array([0, 0, 1, 1, 1]), 3), [0, 1, 1])
    with pytest.raises(ValueError, match="overlaps the bundled VIX"):
        data.vix_regimes(pd.date_range("2000-01-01", periods=5))
