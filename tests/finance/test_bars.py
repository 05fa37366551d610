import numpy as np
import pandas as pd
import pytest

from ganforge.finance.bars import (
    bars_to_ohlcv,
    check_ohlcv,
    invalid_bar_share,
    inverse_softplus,
    ohlcv_to_bars,
    softplus,
)
from ganforge.finance.stocks import paper_minmax, paper_windows, reference_rows, stocks_ohlcv


def test_the_paper_stocks_table_is_shipped_oldest_day_first():
    frame = stocks_ohlcv()
    assert frame.shape == (3685, 6)
    assert list(frame.columns) == ["Open", "High", "Low", "Close", "Adj_Close", "Volume"]
    # the first row is the listing day (2004-08-19: 45.0 million shares), the last 2019's
    assert frame.iloc[0, 0] == pytest.approx(49.676899) and frame.iloc[0, 5] == 44994500.0
    assert frame.iloc[-1].tolist() == [1196.0, 1202.290039, 1193.079956, 1197.25, 1197.25, 865500.0]
    # 2015-07-17, forward in time: the close jumped from 579.85 to 672.93
    closes = frame["Close"].to_numpy()
    jump = int(np.argmax(np.diff(np.log(closes[2000:])))) + 2000
    assert closes[jump : jump + 2] == pytest.approx([579.849976, 672.929993])
    assert invalid_bar_share(frame[["Open", "High", "Low", "Close", "Volume"]].to_numpy()) == 0
    # the reference loader's order: reversed, newest first
    np.testing.assert_array_equal(reference_rows().to_numpy(), frame.to_numpy()[::-1])


def test_paper_windows_follow_the_reference_loader():
    windows = paper_windows(seed=0)
    assert windows.shape == (3661, 24, 6)  # a window at every day but the last 24
    assert windows.min() >= 0 and windows.max() < 1
    scaled = paper_minmax(reference_rows().to_numpy())
    # shuffled copies of the scaled series' windows: the first day of each is a row
    starts = {tuple(np.round(row, 12)) for row in scaled[:-24]}
    assert {tuple(np.round(w[0], 12)) for w in windows} == starts
    assert not np.array_equal(windows, paper_windows(seed=1))
    assert paper_minmax(np.array([[1.0], [3.0]])).ravel() == pytest.approx([0, 2 / (2 + 1e-7)])
    with pytest.raises(ValueError, match="need more than 24 rows"):
        paper_windows(np.ones((24, 2)))


def test_softplus_and_its_inverse():
    y = np.array([1e-6, 0.3, 5.0, 40.0])
    np.testing.assert_allclose(softplus(inverse_softplus(y)), y, rtol=1e-9)
    assert softplus(np.array([0.0]))[0] == pytest.approx(np.log(2))


def test_real_bars_round_trip_and_keep_their_values():
    ohlcv = stocks_ohlcv()[["Open", "High", "Low", "Close", "Volume"]].to_numpy()
    features = ohlcv_to_bars(ohlcv)
    assert features.shape == (3684, 5)
    assert features[0, 0] == pytest.approx(np.log(ohlcv[1, 3] / ohlcv[0, 3]))
    back = bars_to_ohlcv(features, ohlcv[0, 3])
    np.testing.assert_allclose(back, ohlcv[1:], rtol=1e-5)


def test_any_features_decode_to_valid_bars():
    rng = np.random.default_rng(0)
    features = rng.normal(0, 3, (2000, 24, 5)) * rng.choice([0.01, 1, 30], (2000, 24, 5))
    bars = bars_to_ohlcv(features, rng.uniform(1, 500, 2000))
    assert bars.shape == (2000, 24, 5) and np.isfinite(bars).all()
    assert invalid_bar_share(bars) == 0
    extreme = bars_to_ohlcv(np.full((3, 24, 5), 1e6) * np.array([1, -1, 1, 1, -1]), 10.0)
    assert invalid_bar_share(extreme) == 0 and np.isfinite(extreme).all()


def test_invalid_bars_are_counted_and_refused():
    good = [10.0, 11.0, 9.0, 10.5, 100.0]
    high_below_close = [10.0, 10.2, 9.0, 10.5, 100.0]
    assert invalid_bar_share(np.array([good, high_below_close])) == 0.5
    frame = pd.DataFrame(
        [good, high_below_close], columns=["Open", "High", "Low", "Close", "Volume"]
    )
    with pytest.raises(ValueError, match="50.0% of the rows are not bars"):
        check_ohlcv(frame)
    with pytest.raises(ValueError, match="no Volume column"):
        check_ohlcv(frame.drop(columns="Volume"))
    assert check_ohlcv(frame.iloc[:1]).shape == (1, 5)
