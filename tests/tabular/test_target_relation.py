"""Without DP the synthetic rows keep the relation of the features to a target.

A table of a few hundred rows used to get 30 epochs of about 100 discriminator
steps, too few for the generator to produce even the target category it was
conditioned on: a classifier trained on its rows scored near (or below) chance.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from ganforge.tabular import DPTabularGAN
from ganforge.tabular.config import DP_GENERATOR_STEPS, MIN_STEPS, SynthConfig


def planted_table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A skewed binary target (about 30 % ones) that two of four features decide."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
    score = 2.0 * a - 1.5 * b + rng.normal(0, 0.7, n)
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "noise": rng.normal(5, 2, n),
            "level": rng.integers(1, 6, n).astype(float),  # a Likert answer stored as a float
            "target": (score > np.quantile(score, 0.7)).astype(np.int64),
        }
    )


def test_default_training_length_without_dp_has_a_floor_of_steps():
    no_dp = SynthConfig(epsilon=None)
    assert no_dp.planned_steps(400, 100) == MIN_STEPS  # 30 epochs would be 120 steps
    assert no_dp.planned_steps(20_000, 256) == 2344  # 30 epochs are more than the floor
    assert SynthConfig(epsilon=None, epochs=2).planned_steps(400, 100) == 8  # asked: as asked


def test_dp_training_length_and_generator_steps_are_unchanged():
    dp = SynthConfig(epsilon=1.0)
    assert dp.planned_steps(400, 100) == 120  # 30 epochs: every step is paid
    assert dp.planned_steps(4456, 256) == 523
    assert dp.steps_per_discriminator_step() == DP_GENERATOR_STEPS == 3
    assert SynthConfig(epsilon=None).steps_per_discriminator_step() == 1
    assert SynthConfig(epsilon=None, generator_steps=2).steps_per_discriminator_step() == 2


def test_default_plan_without_dp_runs_the_floor_of_steps_with_one_generator_step():
    table = planted_table(200)
    with pytest.warns(UserWarning, match="batch_size 50"):
        plan = DPTabularGAN(epsilon=None).plan(table, None)
    assert (plan.iterations, plan.batch_size) == (MIN_STEPS, 50)
    assert plan.module.generator_steps == 1


def _conditioned_share(synth: DPTabularGAN, column: str, level: int, rows: int = 2000) -> float:
    """Share of rows whose ``column`` is ``level`` when the generator is asked for it."""
    sampler = synth.conditional
    index = [c.name for c in sampler.columns].index(column)
    encoder = next(e for e in synth.transformer.encoders if e.name == column)
    position = int(sampler.starts[index]) + encoder.categories.index(level)
    cond = torch.nn.functional.one_hot(torch.full((rows,), position), sampler.width).float()
    generator = torch.Generator().manual_seed(3)
    z = torch.randn(rows, synth.config.noise_dim, generator=generator)
    with torch.no_grad():
        encoded = synth.generator(z, cond, hard=True, generator=generator).numpy()
    decoded = synth.transformer.inverse_transform(encoded.astype(np.float64))
    return float((decoded[column] == level).mean())


def _lift(synth: DPTabularGAN, train: pd.DataFrame, holdout: pd.DataFrame):
    """The fitted model's lift (TSTR - 0.5) / (TRTR - 0.5) with logistic regression,
    its synthetic rows and the synthetic model's coefficients."""
    synthetic = synth.sample(len(train))
    features = ["a", "b", "noise", "level"]
    real = LogisticRegression().fit(train[features], train["target"])
    fake = LogisticRegression().fit(synthetic[features], synthetic["target"])
    trtr = roc_auc_score(holdout["target"], real.predict_proba(holdout[features])[:, 1])
    tstr = roc_auc_score(holdout["target"], fake.predict_proba(holdout[features])[:, 1])
    assert trtr > 0.9
    return (tstr - 0.5) / (trtr - 0.5), synthetic, fake.coef_[0]


def _split(seed: int = 0, n: int = 600):
    table = planted_table(n, seed)
    return train_test_split(table, test_size=0.3, stratify=table["target"], random_state=seed)


def test_synthetic_rows_keep_the_planted_target_relation():
    train, holdout = _split()
    # the recipe without DP (one generator step per discriminator step), cut to
    # 300 of its 1000 steps to stay fast
    synth = DPTabularGAN(epsilon=None, epochs=300 * 105 / 420, seed=0).fit(train)
    assert synth.privacy.steps == 300
    lift, synthetic, coefficients = _lift(synth, train, holdout)
    assert lift > 0.8  # most of the signal above chance survives
    assert np.sign(coefficients[:2]).tolist() == [1.0, -1.0]  # and its direction
    assert abs(synthetic["target"].mean() - train["target"].mean()) < 0.06
    for level in (0, 1):  # the generator mostly produces the target it is conditioned on
        assert _conditioned_share(synth, "target", level) > 0.7


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_fit_keeps_the_planted_target_relation(seed):
    train, holdout = _split(seed)
    synth = DPTabularGAN(epsilon=None, seed=seed).fit(train)  # the defaults a user gets
    lift, synthetic, _ = _lift(synth, train, holdout)
    assert lift > 0.8
    assert abs(synthetic["target"].mean() - train["target"].mean()) < 0.06
    for level in (0, 1):
        assert _conditioned_share(synth, "target", level) > 0.9
