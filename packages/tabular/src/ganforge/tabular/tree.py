"""A tree over the columns, given the target: what the star of cross-tables misses.

The star model (:mod:`ganforge.tabular.star`) draws each column from its
cross-table with the target alone, so two columns that act on the target
together (a travel mode and its cost) lose their joint effect. Tree-augmented
naive Bayes keeps it at little cost: each column may have one other column as
its parent, and is drawn from the three-way table (target, parent, column).

Which pairs become edges is chosen under DP, in the manner of MST (McKenna et
al. 2021): a pair's score is how far its true three-way table lies from what the
star predicts for it (``n_c P(a | c) P(b | c)`` from the noisy cross-tables: a
row moves the score by at most one), less the L1 error its noisy measurement
would have; the exponential mechanism picks, one edge at a time, among the pairs
that join two parts of the forest not yet joined (Kruskal). The chosen tables
are released with Gaussian noise. A measured table that stands no further from
the star's prediction than its noise would put it is left out (post-processing).

Privacy: all of it is accounted in zero-concentrated DP within the budget of the
cross-tables, ``rho = 1 / (2 sigma**2)`` of the single Gaussian release it
replaces: the star's tables, the selection (an ``epsilon``-DP exponential
mechanism is ``epsilon**2 / 8``-zCDP) and the three-way tables each get a share
of ``rho``, so the Renyi curve of the whole, and the ``(epsilon, delta)`` the
accountant states for it, is that of the release it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ganforge.tabular.dp_stats import gaussian_counts

STAR_SHARE, SELECTION_SHARE, TREE_SHARE = 0.5, 0.1, 0.4  # of the cross-tables' rho
MIN_SIGNAL = 2.0  # rows a three-way cell must hold on average, in noise stds, for a tree


@dataclass(frozen=True)
class TreeBudget:
    """The noise of a star + tree release worth the zCDP ``rho`` of one Gaussian
    release of noise multiplier ``sigma`` (see the module docstring)."""

    star_multiplier: float
    tree_multiplier: float
    selection_epsilon: float  # of each of the ``edges`` exponential mechanisms
    edges: int

    @classmethod
    def split(cls, sigma: float, parts: int) -> TreeBudget:
        """Shares of ``rho = 1 / (2 sigma**2)`` for ``parts - 1`` edges over ``parts``."""
        rho, edges = 1.0 / (2.0 * sigma**2), max(parts - 1, 1)
        return cls(
            star_multiplier=sigma / np.sqrt(STAR_SHARE),
            tree_multiplier=sigma / np.sqrt(TREE_SHARE),
            selection_epsilon=float(np.sqrt(8.0 * SELECTION_SHARE * rho / edges)),
            edges=edges,
        )

    def rho(self) -> float:
        """The zCDP of the whole release (equal to the replaced release's)."""
        return (
            1.0 / (2.0 * self.star_multiplier**2)
            + 1.0 / (2.0 * self.tree_multiplier**2)
            + self.edges * self.selection_epsilon**2 / 8.0
        )

    def tree_std(self) -> float:
        """Noise std per count of the three-way tables (a row adds one to each)."""
        return tree_noise_std(self.tree_multiplier, self.edges + 1)


def tree_noise_std(multiplier: float, parts: int) -> float:
    """Noise std per count of the three-way tables budgeted for ``parts`` parts: a row
    adds one to each of the ``parts - 1`` tables, the L2 sensitivity is their root."""
    return float(multiplier * np.sqrt(max(parts - 1, 1)))


def worth_a_tree(rows: int, classes: int, widths: list[int], budget: TreeBudget) -> bool:
    """Whether a typical three-way table would hold ``MIN_SIGNAL`` noise stds of rows per
    cell (public: rows, the DP encoders' widths and the budget)."""
    if len(widths) < 2:
        return False
    cells = classes * float(np.mean(widths)) ** 2
    return rows / cells >= MIN_SIGNAL * budget.tree_std()


def three_way(y: np.ndarray, a: np.ndarray, b: np.ndarray, shape: tuple[int, int, int]):
    """Counts of (target class, a's category, b's category) from integer codes."""
    index = (y * shape[1] + a) * shape[2] + b
    return np.bincount(index, minlength=int(np.prod(shape))).reshape(shape).astype(np.float64)


def star_prediction(table_a: np.ndarray, table_b: np.ndarray) -> np.ndarray:
    """The three-way table the star implies: ``n_c P(a | c) P(b | c)``."""
    a, b = np.clip(table_a, 0.0, None), np.clip(table_b, 0.0, None)
    n_c = (a.sum(axis=1) + b.sum(axis=1)) / 2
    p_a = a / np.maximum(a.sum(axis=1, keepdims=True), 1e-12)
    p_b = b / np.maximum(b.sum(axis=1, keepdims=True), 1e-12)
    return n_c[:, None, None] * p_a[:, :, None] * p_b[:, None, :]


def expected_noise_l1(std: float, cells: int) -> float:
    """The mean L1 norm of ``cells`` independent Gaussian noises of std ``std``."""
    return float(np.sqrt(2.0 / np.pi) * std * cells)


def select_edges(
    codes: list[np.ndarray],
    y: np.ndarray,
    star_tables: list[np.ndarray],
    budget: TreeBudget,
    rng: np.random.Generator,
    exact: bool = False,
) -> list[tuple[int, int]]:
    """``budget.edges`` edges of a spanning tree over the parts, each by the exponential
    mechanism (sensitivity 1) among the pairs that join two components; with
    ``exact`` (no privacy) the best-scoring pair each time."""
    classes = star_tables[0].shape[0]
    scores = {}
    for i, j in combinations(range(len(codes)), 2):
        shape = (classes, star_tables[i].shape[1], star_tables[j].shape[1])
        true = three_way(y, codes[i], codes[j], shape)
        error = np.abs(true - star_prediction(star_tables[i], star_tables[j])).sum()
        scores[(i, j)] = error - expected_noise_l1(budget.tree_std(), int(np.prod(shape)))
    component = list(range(len(codes)))
    edges: list[tuple[int, int]] = []
    for _ in range(budget.edges):
        valid = [p for p in scores if component[p[0]] != component[p[1]]]
        if not valid:
            break
        values = np.array([scores[p] for p in valid])
        if exact:
            chosen = valid[int(np.argmax(values))]
        else:
            logits = budget.selection_epsilon * (values - values.max()) / 2.0
            weights = np.exp(logits)
            chosen = valid[int(rng.choice(len(valid), p=weights / weights.sum()))]
        edges.append(chosen)
        old, new = component[chosen[1]], component[chosen[0]]
        component = [new if c == old else c for c in component]
    return edges


def measure(
    codes: list[np.ndarray],
    y: np.ndarray,
    star_tables: list[np.ndarray],
    edges: list[tuple[int, int]],
    std: float,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """The three-way table of each edge plus Gaussian noise of ``std``."""
    classes = star_tables[0].shape[0]
    tables = []
    for i, j in edges:
        shape = (classes, star_tables[i].shape[1], star_tables[j].shape[1])
        tables.append(gaussian_counts(three_way(y, codes[i], codes[j], shape), std, rng))
    return tables


def informative(table: np.ndarray, prediction: np.ndarray, std: float) -> bool:
    """Whether a noisy three-way table stands further from the star's prediction than
    its noise alone would put it (post-processing of DP outputs)."""
    distance = np.abs(table - prediction).sum()
    return distance > 1.5 * expected_noise_l1(std, table.size)


def orient(parts: int, edges: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Parents (``-1`` for a root) and a drawing order in which each parent comes first."""
    neighbours: list[list[int]] = [[] for _ in range(parts)]
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)
    parent, order, seen = [-1] * parts, [], [False] * parts
    for root in range(parts):
        if seen[root]:
            continue
        seen[root], queue = True, [root]
        while queue:
            node = queue.pop(0)
            order.append(node)
            for other in sorted(neighbours[node]):
                if not seen[other]:
                    seen[other], parent[other] = True, node
                    queue.append(other)
    return parent, order
