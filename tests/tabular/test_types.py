"""Column types inferred from the data: levels, integers, bounds and missing values,
exactly and under DP; plain-dict schemas; small tables under DP."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from ganforge.tabular import (
    ColumnSpec,
    DataTransformer,
    DPTabularGAN,
    load_sklearn_table,
    sklearn_schema,
)
from ganforge.tabular.transformer import CategoricalEncoder, LevelsEncoder, NumericEncoder


def survey(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Likert answers stored as floats, a binary indicator, a coded integer, a proportion,
    integers stored as floats, a measurement with missing values and one without."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "likert": rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n, p=[0.1, 0.2, 0.3, 0.25, 0.15]),
            "smoker": rng.integers(0, 2, n),
            "code": rng.choice([3, 7, 9, 12, 20], n),
            "share": rng.beta(2, 5, n),
            "visits": rng.poisson(40, n).astype(np.float64),
            "income": np.where(rng.random(n) < 0.2, np.nan, rng.lognormal(10, 0.5, n)),
            "height": rng.normal(170, 10, n),
        }
    )


def shares(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per column: off-level share (values not among the real levels, for columns of at
    most 20 levels; non-integers for integer-valued columns), out-of-range share and NaN
    share where the real column has none."""
    result = {}
    for name in real.columns:
        r = pd.to_numeric(real[name]).dropna().to_numpy(float)
        s = pd.to_numeric(synthetic[name]).astype(float)
        values = s.dropna().to_numpy()
        levels = np.unique(r)
        if len(levels) <= 20:
            off = ~np.isin(values, levels)
        elif np.array_equal(r, np.round(r)):
            off = values != np.round(values)
        else:
            off = np.zeros(len(values), bool)
        result[name] = {
            "off_level": float(off.mean()),
            "out_of_range": float(((values < r.min()) | (values > r.max())).mean()),
            "nan": float(s.isna().mean()) if not real[name].isna().any() else 0.0,
        }
    return result


def decode_noise(transformer: DataTransformer, n: int = 3000, seed: int = 1) -> pd.DataFrame:
    """Decode random vectors, as an untrained generator would produce: every value the
    decoder can return, not only those of real rows."""
    rng = np.random.default_rng(seed)
    return transformer.inverse_transform(rng.uniform(-1.5, 1.5, (n, transformer.output_dim)))


def assert_valid(real: pd.DataFrame, synthetic: pd.DataFrame) -> None:
    for name, share in shares(real, synthetic).items():
        assert share == {"off_level": 0.0, "out_of_range": 0.0, "nan": 0.0}, (name, share)


def test_exact_fit_keeps_levels_integers_bounds_and_missingness():
    df = survey()
    transformer = DataTransformer.fit(df)
    kinds = {e.name: type(e) for e in transformer.encoders}
    assert kinds["likert"] is LevelsEncoder and kinds["smoker"] is LevelsEncoder
    assert kinds["code"] is LevelsEncoder and kinds["share"] is NumericEncoder
    assert transformer.encoders[0].categories == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert transformer.encoders[1].categories == [0, 1]
    back = transformer.inverse_transform(transformer.transform(df).astype(np.float64))
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    for name in ("likert", "smoker", "code", "visits"):
        np.testing.assert_array_equal(back[name], df[name])
    random = decode_noise(transformer)
    assert random.dtypes.to_dict() == df.dtypes.to_dict()
    assert_valid(df, random)
    assert set(random["smoker"]) == {0, 1} and set(random["likert"]) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert 0 < random["income"].isna().mean() < 1  # the real column has missing values
    again = DataTransformer.from_dict(json.loads(json.dumps(transformer.to_dict())))
    assert isinstance(again.encoders[0], LevelsEncoder)
    np.testing.assert_array_equal(again.transform(df), transformer.transform(df))


def test_dp_fit_finds_levels_and_inner_bounds_and_no_missing_where_none(seeded_dp_noise):
    df = survey()
    for _ in range(3):  # DP noise is fresh every fit
        transformer = DataTransformer.fit(df, epsilon=1.0, delta=1e-6)
        assert transformer.epsilon_spent == 1.0 and transformer.delta_spent == 1e-6
        encoders = {e.name: e for e in transformer.encoders}
        assert encoders["likert"].categories == [1.0, 2.0, 3.0, 4.0, 5.0]
        assert encoders["smoker"].categories == [0, 1]
        assert encoders["code"].categories == [3, 7, 9, 12, 20]
        share, height = encoders["share"], encoders["height"]
        assert df["share"].min() <= share.lower < share.upper <= df["share"].max()
        # inner bounds: inside the real range, around the bulk (thin tails are clipped)
        assert df["height"].min() <= height.lower < 165 and 175 < height.upper <= df["height"].max()
        assert encoders["income"].has_missing and not height.has_missing
        assert_valid(df, decode_noise(transformer))


def test_dp_levels_outside_the_public_grid_are_declared_or_continuous():
    # under DP a float column's levels are found only on the multiples of 0.5 in
    # [-10, 100]; other codes need a public declaration
    df = pd.DataFrame({"dose": np.resize([0.05, 0.1, 0.25], 3000), "y": np.arange(3000.0)})
    private = DataTransformer.fit(df, epsilon=2.0, delta=1e-6)
    assert isinstance(private.encoders[0], NumericEncoder)
    declared = DataTransformer.fit(
        df, {"dose": {"categories": [0.05, 0.1, 0.25]}}, epsilon=2.0, delta=1e-6
    )
    assert isinstance(declared.encoders[0], CategoricalEncoder)
    assert set(decode_noise(declared)["dose"]) <= {0.05, 0.1, 0.25}


def test_plain_dict_schemas_work_like_column_specs():
    df = pd.DataFrame({"age": np.arange(100) % 90, "grade": np.resize([1, 2, 3], 100)})
    schema = {"age": {"lower": 0, "upper": 120}, "grade": {"categories": [1, 2, 3]}}
    transformer = DataTransformer.fit(df, schema, epsilon=1.0, delta=1e-6)
    age, grade = transformer.encoders
    assert (age.lower, age.upper) == (0.0, 120.0)  # public, so taken as given
    assert grade.categories == [1, 2, 3] and grade.strict and grade.private_counts is None
    as_specs = {"age": ColumnSpec(lower=0, upper=120), "grade": ColumnSpec(categories=[1, 2, 3])}
    assert DataTransformer.fit(df, as_specs).encoders[1].categories == [1, 2, 3]
    with pytest.raises(ValueError, match="column 'age': unknown schema keys \\['max'\\]"):
        DataTransformer.fit(df, {"age": {"max": 3}})


def test_dp_synthesizer_samples_only_valid_values_within_the_budget():
    # whole numbers stored as floats are found under DP only when the levels round
    # sees them clearly; an integer dtype says so for free
    df = survey(3000).astype({"visits": np.int64})
    synth = DPTabularGAN(epsilon=3.0, epochs=1, hidden=(32,), noise_dim=8, batch_size=100)
    synth.fit(df)
    assert synth.privacy.epsilon <= 3.0
    sample = synth.sample(2000)
    assert sample.dtypes.to_dict() == df.dtypes.to_dict()
    assert_valid(df, sample)
    assert set(sample["smoker"]) == {0, 1}


def test_breast_cancer_fits_at_epsilon_1_without_a_schema(seeded_dp_noise):
    df = load_sklearn_table("breast_cancer")  # 569 rows, 30 measurements and a 0/1 target
    synth = DPTabularGAN(epsilon=1.0, epochs=1, hidden=(32,), noise_dim=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the batch size adapted to 569 rows
        synth.fit(df)
    assert synth.privacy.epsilon <= 1.0 and synth.privacy.delta <= 1e-5
    sample = synth.sample(500)
    assert not sample.isna().any().any()
    assert set(sample["target"]) <= {0, 1} and sample["target"].dtype == np.int64


def test_iris_fits_at_epsilon_1_with_the_batch_adapted_to_150_rows():
    df = load_sklearn_table("iris")
    synth = DPTabularGAN(epsilon=1.0, epochs=1, hidden=(32,), noise_dim=8)
    with pytest.warns(UserWarning, match="150 rows, fewer than two batches of 256"):
        synth.schema = sklearn_schema("iris")
        synth.fit(df)
    assert synth.trainer.config.batch_size == 37
    assert synth.privacy.epsilon <= 1.0 and synth.privacy.sample_rate == pytest.approx(37 / 150)
    sample = synth.sample(300)
    assert set(sample["target"]) <= {0, 1, 2} and not sample.isna().any().any()


def test_integers_stored_as_floats_come_back_whole():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"count": rng.integers(0, 300, 1000).astype(float), "x": rng.random(1000)})
    random = decode_noise(DataTransformer.fit(df))
    assert random["count"].dtype == np.float64
    assert (random["count"] == random["count"].round()).all()
    assert random["count"].between(df["count"].min(), df["count"].max()).all()


def test_missing_values_too_rare_for_the_dp_release_do_not_stop_the_fit():
    rng = np.random.default_rng(0)
    n = 3000
    x = np.where(rng.random(n) < 0.01, np.nan, rng.normal(size=n))
    df = pd.DataFrame({"x": x, "y": rng.integers(0, 3, n)})
    synth = DPTabularGAN(epsilon=1.0, epochs=0.2, hidden=(16,), noise_dim=8).fit(df)
    assert not synth.transformer.encoders[0].has_missing  # 30 rows: below the noise
    assert not synth.sample(200)["x"].isna().any()
