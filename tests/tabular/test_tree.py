import numpy as np
import pandas as pd
import pytest

from ganforge.tabular.evaluate import utility
from ganforge.tabular.star import MarginalSynthesizer
from ganforge.tabular.tree import (
    TreeBudget,
    expected_noise_l1,
    orient,
    select_edges,
    star_prediction,
    three_way,
    worth_a_tree,
)


def xor_table(n: int, seed: int) -> pd.DataFrame:
    """The target is a XOR b: neither column alone says anything about it."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    noise = rng.integers(0, 3, n)
    flip = rng.random(n) < 0.05
    y = np.where(flip, 1 - (a ^ b), a ^ b)
    return pd.DataFrame({"a": a.astype(str), "b": b.astype(str), "c": noise.astype(str), "y": y})


def test_the_budget_split_keeps_the_rho_of_the_release_it_replaces():
    budget = TreeBudget.split(sigma=2.0, parts=5)
    assert budget.star_multiplier == pytest.approx(2 / np.sqrt(0.5))
    assert budget.tree_multiplier == pytest.approx(2 / np.sqrt(0.4))
    # four exponential mechanisms share 0.1 of rho = 1/8: sqrt(8 * 0.0125 / 4)
    assert budget.edges == 4 and budget.selection_epsilon == pytest.approx(np.sqrt(0.025))
    assert budget.rho() == pytest.approx(1 / (2 * 2.0**2))
    assert budget.tree_std() == pytest.approx(2 / np.sqrt(0.4) * 2)


def test_three_way_counts_and_the_star_prediction_by_hand():
    y, a, b = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0]), np.array([2, 2, 0, 1, 0])
    counts = three_way(y, a, b, (2, 2, 3))
    assert counts[0].tolist() == [[0, 0, 1], [0, 0, 1]]
    assert counts[1].tolist() == [[1, 0, 0], [1, 1, 0]]
    table_a = np.array([[1.0, 1.0], [1.0, 2.0]])  # class x category
    table_b = np.array([[0.0, 0.0, 2.0], [2.0, 1.0, 0.0]])
    prediction = star_prediction(table_a, table_b)
    # class 1: n = 3, P(a) = (1/3, 2/3), P(b) = (2/3, 1/3, 0)
    np.testing.assert_allclose(prediction[1], 3 * np.outer([1 / 3, 2 / 3], [2 / 3, 1 / 3, 0]))
    assert expected_noise_l1(2.0, 10) == pytest.approx(np.sqrt(2 / np.pi) * 20)


def test_orient_puts_each_parent_before_its_children():
    parents, order = orient(5, [(0, 2), (2, 3), (4, 1)])
    assert parents == [-1, -1, 0, 2, 1]
    assert order.index(0) < order.index(2) < order.index(3) and order.index(1) < order.index(4)


def test_selection_finds_the_pair_that_acts_on_the_target_together():
    table = xor_table(4000, 0)
    y = table["y"].to_numpy()
    codes = [table[c].astype(int).to_numpy() for c in ("a", "b", "c")]
    widths = (2, 2, 3)
    star = [
        three_way(y, np.zeros_like(y), c, (2, 1, k))[:, 0]
        for c, k in zip(codes, widths, strict=True)
    ]
    exact = select_edges(codes, y, star, TreeBudget(1, 1, np.inf, 2), None, exact=True)
    assert exact[0] == (0, 1)
    private = TreeBudget.split(sigma=0.5, parts=3)
    chosen = [select_edges(codes, y, star, private, np.random.default_rng(s))[0] for s in range(20)]
    assert chosen.count((0, 1)) >= 19


def test_the_tree_keeps_an_interaction_the_star_loses():
    train, test = xor_table(4000, 0), xor_table(2000, 1)
    star = MarginalSynthesizer("y", epsilon=None, structure="star").fit(train)
    tree = MarginalSynthesizer("y", epsilon=None).fit(train)
    assert star.edges == [] and (0, 1) in tree.edges
    lift_star = utility(train, test, star.sample(4000, seed=1), "y")["lift"]
    lift_tree = utility(train, test, tree.sample(4000, seed=1), "y")["lift"]
    # the star draws a and b independently of y: whatever it ranks, it is by chance
    assert lift_star < 0.3 and lift_tree > 0.85
    private = MarginalSynthesizer("y", epsilon=10.0).fit(train)
    assert private.edges and private.privacy.tree_edges == len(private.edges)
    assert "three-way tables" in private.privacy.describe()
    assert utility(train, test, private.sample(4000, seed=1), "y")["lift"] > 0.7


def test_no_tree_where_its_tables_would_drown_in_noise():
    budget = TreeBudget.split(sigma=10.0, parts=8)
    assert not worth_a_tree(300, 2, [5] * 8, budget)  # 6 rows a cell, noise std 70
    assert worth_a_tree(300_000, 2, [5] * 8, budget)
    small = MarginalSynthesizer("y", epsilon=1.0).fit(xor_table(300, 0))
    assert small.edges == [] and small.privacy.tree_noise_multiplier is None


def test_a_saved_tree_loads_and_a_broken_one_is_refused(tmp_path):
    synth = MarginalSynthesizer("y", epsilon=None).fit(xor_table(1000, 0))
    path = synth.save(tmp_path / "tree.pt")
    loaded = MarginalSynthesizer.load(path)
    assert loaded.edges == synth.edges
    pd.testing.assert_frame_equal(loaded.sample(200, seed=4), synth.sample(200, seed=4))
    synth.edges = synth.edges + [(synth.edges[0][1], synth.edges[0][0])]  # a cycle
    synth.tree_tables = synth.tree_tables + [synth.tree_tables[0].transpose(0, 2, 1)]
    broken = synth.save(tmp_path / "broken.pt")
    with pytest.raises(ValueError, match="damaged"):
        MarginalSynthesizer.load(broken)
