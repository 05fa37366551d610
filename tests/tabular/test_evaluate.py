import numpy as np
import pandas as pd
import pytest

from ganforge.tabular.evaluate import evaluate, quality


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "z": 2 * x + rng.normal(size=n) * 0.1,
            "c": rng.choice(["a", "b"], n),
            "y": (x + rng.normal(size=n) > 0).astype(int),
        }
    )


def test_identical_tables_have_perfect_quality():
    df = frame(500, 0)
    q = quality(df, df)
    assert q["column_shapes"] == pytest.approx(1.0)
    assert q["column_pair_trends"] == pytest.approx(1.0)


def test_quality_matches_hand_computed_scores():
    real = pd.DataFrame({"c": ["a", "a", "b", "b"], "d": ["u", "v", "u", "v"]})
    fake = pd.DataFrame({"c": ["a", "a", "a", "b"], "d": ["u", "v", "u", "v"]})
    q = quality(real, fake)
    assert q["per_column"]["c"] == pytest.approx(0.75)  # 1 - 0.5 * (0.25 + 0.25)
    # joint real: (a,u)(a,v)(b,u)(b,v) 1/4 each; fake: (a,u)1/2 (a,v)1/4 (b,v)1/4
    assert q["column_pair_trends"] == pytest.approx(0.75)


def test_a_copy_of_the_training_rows_is_caught_by_the_attacks():
    train, holdout = frame(600, 1), frame(600, 2)
    leaked = evaluate(train, holdout, train.copy(), target="y")
    assert leaked["privacy"]["mia_auc"]["distance"] > 0.95
    assert leaked["privacy"]["dcr_synthetic_median"] == pytest.approx(0.0)
    fresh = evaluate(train, holdout, frame(600, 3), target="y")
    assert 0.4 < fresh["privacy"]["mia_auc"]["distance"] < 0.6
    assert 0.4 < fresh["privacy"]["mia_auc"]["density"] < 0.6
    u = fresh["utility"]
    assert u["trtr_auc"] > 0.8 and u["tstr_over_trtr"] == pytest.approx(
        u["tstr_auc"] / u["trtr_auc"]
    )
    assert set(u["tstr"]) == {"logistic_regression", "random_forest", "gradient_boosting"}


def test_evaluate_rejects_mismatched_tables():
    df = frame(50, 0)
    with pytest.raises(ValueError, match="lacks the columns"):
        evaluate(df, df.drop(columns="z"), df)
    with pytest.raises(ValueError, match="target column 'w'"):
        evaluate(df, df, df, target="w")


def test_lift_is_the_share_of_signal_above_chance():
    from ganforge.tabular.evaluate import lift

    assert lift(0.75, 1.0) == pytest.approx(0.5)
    assert lift(0.5, 0.72) == pytest.approx(0.0)
    assert lift(0.61, 0.72) == pytest.approx(0.11 / 0.22)


def test_utility_scores_a_multiclass_target_one_vs_rest():
    from ganforge.tabular.evaluate import utility

    rng = np.random.default_rng(0)
    x = rng.normal(size=(900, 2))
    y = np.select([x[:, 0] > 0.5, x[:, 1] > 0], ["hi", "mid"], "lo")
    df = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y})
    train, test = df.iloc[:600], df.iloc[600:]
    u = utility(train, test, train, "y")
    assert u["trtr_auc"] > 0.95 and u["tstr_auc"] == pytest.approx(u["trtr_auc"])
    assert u["lift"] == pytest.approx(1.0)
    one_class = utility(train, test, train.assign(y="mid"), "y")  # a constant guess
    assert one_class["tstr_auc"] == pytest.approx(0.5) and one_class["lift"] == pytest.approx(0)
    assert set(u["tstr"]["random_forest"]) == {"auc", "accuracy"}
    # synthetic rows with a class the real target never has are dropped and counted
    odd = train.assign(y=np.where(np.arange(600) < 30, "??", train["y"]))
    assert utility(train, test, odd, "y")["tstr_rows_off_level"] == 30


def test_validity_shares_match_hand_counts():
    from ganforge.tabular.evaluate import validity

    real = pd.DataFrame(
        {
            "likert": [1.0, 2.0, 3.0, 4.0, 5.0] * 5,  # 5 levels
            "count": np.arange(25),  # 25 integer levels: only whole numbers count
            "price": np.linspace(0.5, 10.0, 25),  # continuous
            "colour": ["red", "blue"] * 12 + ["red"],
            "score": [np.nan] + [1.5] * 24,  # has missing values: no NaN check
        }
    )
    fake = pd.DataFrame(
        {
            "likert": [1.0, 2.5, 3.0, 6.0],  # 2.5 off level, 6 off level and out of range
            "count": [0.0, 3.5, 30.0, np.nan],  # 3.5 has a fraction, 30 out of range, a NaN
            "price": [0.4, 5.0, 5.0, 10.0],  # 0.4 below the minimum
            "colour": ["red", "green", "blue", "red"],  # green is no real level
            "score": [np.nan, 1.5, 1.5, 1.5],
        }
    )
    v = validity(real, fake)
    cols = v["per_column"]
    assert cols["likert"] == {"nan_share": 0.0, "out_of_range_share": 0.25, "off_level_share": 0.5}
    assert cols["count"]["nan_share"] == 0.25
    assert cols["count"]["out_of_range_share"] == pytest.approx(1 / 3)
    assert cols["count"]["off_level_share"] == pytest.approx(1 / 3)
    assert "off_level_share" not in cols["price"] and cols["price"]["out_of_range_share"] == 0.25
    assert cols["colour"] == {"nan_share": 0.0, "off_level_share": 0.25}
    assert "nan_share" not in cols["score"]
    assert v["nan_share"] == pytest.approx(0.25 / 4)
    assert v["worst_off_level_share"] == ("likert", 0.5)
    assert validity(real, real)["out_of_range_share"] == 0.0
