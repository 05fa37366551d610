import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from ganforge.tabular import conditional, marginals, star, transformer


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def seeded_dp_noise(monkeypatch):
    """The DP noise from seeded generators (one new seed per draw), for tests that assert
    what a fit gives under noise: each run then sees the same noise and cannot fail by
    the draw alone. The package draws it from fresh OS entropy."""
    seeds = itertools.count(1000)
    for module in (conditional, marginals, star, transformer):
        monkeypatch.setattr(module, "private_numpy_rng", lambda: np.random.default_rng(next(seeds)))


def mixed_table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Continuous (bimodal), integer, string, boolean, datetime, categorical and NaN columns."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": np.r_[rng.normal(0, 1, n // 2), rng.normal(10, 0.5, n - n // 2)],
            "count": rng.integers(0, 50, n),
            "city": rng.choice(["oslo", "rome", "lima"], n),
            "flag": rng.random(n) > 0.5,
            "when": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
            "grade": pd.Categorical(rng.choice(["lo", "hi"], n)),
            "maybe": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
            "note": np.where(rng.random(n) < 0.1, None, rng.choice(["p", "q"], n)),
        }
    )


@pytest.fixture
def table() -> pd.DataFrame:
    return mixed_table()


@pytest.fixture
def make_table():
    return mixed_table
