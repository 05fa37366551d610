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
