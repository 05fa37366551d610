import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from ganforge.tabular import ColumnSpec, DataTransformer, DPTabularGAN
from ganforge.tabular.conditional import ConditionalColumn, ConditionalSampler


def sampler() -> ConditionalSampler:
    # encoded row: [scalar, a0, a1, a2, b0, b1]; a at offset 1, b at offset 4
    columns = [ConditionalColumn("a", 1, (0.2, 0.5, 0.3)), ConditionalColumn("b", 4, (0.9, 0.1))]
    return ConditionalSampler(columns)


def test_sampled_conditions_pick_columns_uniformly_and_categories_by_frequency():
    cond, position = sampler().sample(40_000, torch.Generator().manual_seed(0))
    assert cond.shape == (40_000, 5) and torch.equal(cond.argmax(1), position)
    shares = cond.mean(0)
    # column a or b with probability 1/2 each, then its category by frequency
    expected = torch.tensor([0.2, 0.5, 0.3, 0.9, 0.1]) / 2
    torch.testing.assert_close(shares, expected, atol=0.01, rtol=0)


def test_real_rows_are_conditioned_on_one_of_their_own_categories():
    rows = torch.tensor([[0.3, 0, 0, 1, 1, 0], [-0.5, 1, 0, 0, 0, 1]]).float().repeat(500, 1)
    cond = sampler().from_rows(rows, torch.Generator().manual_seed(1))
    own = {0: {2, 3}, 1: {0, 4}}  # positions in the condition vector of each row's categories
    positions = cond.argmax(1)
    assert all(int(p) in own[i % 2] for i, p in enumerate(positions))
    assert 0.4 < (positions[::2] == 2).float().mean() < 0.6  # column a about half the time


def test_conditional_cross_entropy_equals_the_hand_computed_value():
    logits = torch.tensor([[9.0, 1.0, 2.0, 0.0, 0.5, -1.0], [9.0, 0.0, 0.0, 0.0, 3.0, 1.0]])
    position = torch.tensor([1, 4])  # row 0: a = a1; row 1: b = b1
    expected = (
        F.cross_entropy(logits[:1, 1:4], torch.tensor([1]))
        + F.cross_entropy(logits[1:, 4:6], torch.tensor([1]))
    ) / 2
    torch.testing.assert_close(sampler().cross_entropy(logits, position), expected)


def test_dp_frequencies_are_a_laplace_histogram_with_one_count_per_column():
    # 3000 rows: a = (1000, 2000), b = (2000, 1000); a row changes one count per column,
    # so the L1 sensitivity is 2 and each count gets Laplace noise of scale 2 / 0.5 = 4
    encoded = np.zeros((3000, 4), dtype=np.float32)
    encoded[:1000, 0] = encoded[1000:, 1] = 1
    encoded[:2000, 2] = encoded[2000:, 3] = 1
    layout = [("a", 0, 2), ("b", 2, 2)]
    fits = [ConditionalSampler.fit(encoded, layout, 0.5) for _ in range(2000)]
    first = np.array([f.columns[0].frequencies[0] for f in fits])
    # f = (1000 + e1) / (3000 + e1 + e2): by the delta method its standard deviation is
    # sqrt((2/3)^2 + (1/3)^2) * sqrt(2) * 4 / 3000 (Laplace(b) has variance 2 b^2)
    expected_std = np.sqrt(4 / 9 + 1 / 9) * np.sqrt(2) * 4 / 3000
    assert first.mean() == pytest.approx(1 / 3, abs=1e-4)
    assert first.std() == pytest.approx(expected_std, rel=0.15)
    assert len(set(first.round(12))) == len(first)  # fresh noise every fit
    assert all(f.epsilon == 0.5 for f in fits)
    exact = ConditionalSampler.fit(encoded, layout, None)
    assert exact.columns[0].frequencies == pytest.approx((1 / 3, 2 / 3)) and exact.epsilon == 0
    with pytest.raises(ValueError, match="must be > 0"):
        ConditionalSampler.fit(encoded, layout, 0.0)


def public_frame(n: int = 300) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"b": rng.choice(["u", "v", "w"], n, p=[0.6, 0.3, 0.1]), "c": rng.random(n) > 0.3}
    )
    return frame, {"b": ColumnSpec("categorical", ["u", "v", "w"])}


def test_dp_frequencies_cost_budget_and_are_reported():
    frame, schema = public_frame()
    options = {"epochs": 1, "batch_size": 50, "hidden": (16,), "noise_dim": 8, "schema": schema}
    synth = DPTabularGAN(epsilon=2.0, statistics_share=0.2, **options).fit(frame)
    p = synth.privacy
    # the schema gives every category: the statistics are the frequencies alone
    assert p.epsilon_frequencies == pytest.approx(0.4) == pytest.approx(p.epsilon_statistics)
    assert synth.conditional.epsilon == pytest.approx(0.4)
    assert p.epsilon == pytest.approx(p.epsilon_statistics + p.epsilon_training) and p.epsilon <= 2
    plain = DPTabularGAN(epsilon=2.0, conditional=False, **options).fit(frame)
    assert plain.privacy.epsilon_statistics == 0.0 and plain.conditional is None
    assert plain.privacy.epsilon_training > p.epsilon_training


def test_sampling_honours_the_category_frequencies_and_survives_save_load(tmp_path):
    frame, schema = public_frame(600)
    synth = DPTabularGAN(
        epsilon=None, epochs=1, batch_size=50, hidden=(16,), noise_dim=8, schema=schema
    ).fit(frame)
    assert synth.conditional.columns[0].frequencies == pytest.approx(
        tuple(frame["b"].value_counts(normalize=True)[["u", "v", "w"]])
    )
    again = DPTabularGAN.load(synth.save(tmp_path / "s.pt"))
    assert again.conditional.to_dict() == synth.conditional.to_dict()
    pd.testing.assert_frame_equal(again.sample(50, seed=1), synth.sample(50, seed=1))


def test_transformer_reports_the_one_hot_layout_of_categorical_columns(table):
    transformer = DataTransformer.fit(table)
    layout = transformer.categorical_layout()
    assert [name for name, _, _ in layout] == ["city", "flag", "grade", "note"]
    encoded = transformer.transform(table)
    for name, offset, width in layout:
        block = encoded[:, offset : offset + width]
        assert np.all(block.sum(1) == 1) and width == table[name].nunique(dropna=False)
