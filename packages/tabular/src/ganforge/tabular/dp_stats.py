"""Differentially private column statistics for the data transformer.

Numeric columns: see the Gaussian rounds below. Categorical columns use Laplace
histograms: under add/remove-one-row neighbouring tables a row changes one bin
of a histogram by one, so the L1 sensitivity is 1 and Laplace noise of scale
``1 / epsilon`` gives ``epsilon``-DP. What is computed from the noisy counts
afterwards (bounds, mixture modes, category lists) is post-processing and costs
nothing more.

- :func:`dp_range`: a column's bounds from a Laplace histogram on the range round's
  public log-scale bins covering ``[-1e19, 1e19]`` (pure ``epsilon``-DP).
- :func:`dp_categories`: the categories of a column by a stability-based
  histogram (``(epsilon, delta)``-DP: a category held by one row is released
  with probability at most ``delta``).
- :func:`dp_integer_classes`: the classes of an integer column from Laplace
  counts of public integer candidates (pure ``epsilon``-DP).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganforge.core.settings import check_fraction


def laplace_counts(counts: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Counts plus Laplace(1/epsilon) noise (epsilon-DP for a sensitivity-1 histogram)."""
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    return counts.astype(np.float64) + rng.laplace(0.0, 1.0 / epsilon, size=counts.shape)


FAILURE_PROBABILITY = 0.05


def dp_range(values: np.ndarray, epsilon: float, rng: np.random.Generator) -> tuple[float, float]:
    """Bounds of the finite values: outermost public bins (:func:`range_edges`, 8 a
    decade) whose Laplace count clears ``ln(bins / 0.05) / epsilon``, which keeps an
    empty bin out with probability 0.95 over all bins together; values beyond the
    bounds are clipped to them later."""
    edges = range_edges(8)
    finite = values[np.isfinite(values)]
    counts, _ = np.histogram(np.clip(finite, edges[0], edges[-1]), edges)
    noisy = laplace_counts(counts, epsilon, rng)
    threshold = np.log(len(counts) / FAILURE_PROBABILITY) / epsilon
    kept = np.flatnonzero(noisy > threshold)
    if kept.size == 0:
        raise ValueError(
            "the privacy budget is too small to estimate a column's range: give public "
            "bounds (ColumnSpec lower/upper) or a larger epsilon"
        )
    return float(edges[kept.min()]), float(edges[kept.max() + 1])


@dataclass
class NoisyHistogram:
    """A DP histogram of a numeric column inside ``[lower, upper]`` and of its missing values."""

    edges: np.ndarray
    counts: np.ndarray
    missing: float
    has_missing: bool

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` values drawn from the histogram (uniform inside each bin)."""
        weights = np.clip(self.counts, 0.0, None)
        if weights.sum() <= 0:
            raise ValueError(
                "the privacy budget is too small to estimate a column's distribution: "
                "use a larger epsilon or a larger share for statistics"
            )
        bins = rng.choice(len(weights), size=n, p=weights / weights.sum())
        return rng.uniform(self.edges[bins], self.edges[bins + 1])


def stability_threshold(epsilon: float, delta: float) -> float:
    """Noisy-count threshold above which a category held by one row appears w.p. <= delta."""
    check_fraction("delta", delta)
    return 1.0 + np.log(1.0 / (2.0 * delta)) / epsilon


def dp_categories(
    values: np.ndarray, epsilon: float, delta: float, rng: np.random.Generator
) -> tuple[list, np.ndarray]:
    """(epsilon, delta)-DP list of categories and their noisy counts (stability histogram).

    Missing values count as one more category, ``None``. Categories are
    returned in sorted order of their string form.
    """
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values])
    present, counts = np.unique(values[~missing].astype(object), return_counts=True)
    levels = list(present) + ([None] if missing.any() else [])
    counts = np.append(counts, missing.sum()) if missing.any() else counts
    noisy = laplace_counts(counts, epsilon, rng)
    kept = noisy > stability_threshold(epsilon, delta)
    if not kept.any():
        raise ValueError(
            "the privacy budget is too small to find any category of a column: give its "
            "categories in the schema (ColumnSpec categories) or a larger epsilon"
        )
    pairs = [(lvl, c) for lvl, c, k in zip(levels, noisy, kept, strict=True) if k]
    pairs.sort(key=lambda p: (p[0] is None, str(p[0])))
    return [p[0] for p in pairs], np.array([p[1] for p in pairs])


INTEGER_CLASS_GRID = np.arange(-10, 101)  # public candidate classes of an integer column
CLASS_FAILURE = 0.01  # chance that noise alone releases a class no row holds


def dp_integer_classes(
    values: np.ndarray, epsilon: float, rng: np.random.Generator
) -> tuple[list[int], np.ndarray]:
    """Pure epsilon-DP classes of an integer column: Laplace counts of the public integers
    in ``[-10, 100]`` (:data:`INTEGER_CLASS_GRID`), those above ``ln(cells / 0.01) /
    epsilon`` kept (a class no row holds is released with probability at most 0.01).

    No delta: the candidates are public, so a class of few rows is no more exposed
    than any other count, and the threshold is lower than a stability histogram's
    (``ln(1 / (2 delta)) / epsilon``) for the deltas of tables of hundreds of rows.
    Values off the grid are not classes this finds; missing values are ignored.
    """
    grid = INTEGER_CLASS_GRID
    finite = values[np.isfinite(values)]
    on_grid = finite[(finite == np.round(finite)) & (finite >= grid[0]) & (finite <= grid[-1])]
    counts = np.bincount((on_grid - grid[0]).astype(np.int64), minlength=len(grid))
    noisy = laplace_counts(counts, epsilon, rng)
    kept = noisy > np.log(len(grid) / CLASS_FAILURE) / epsilon
    return [int(v) for v in grid[kept]], noisy[kept]


# ------------------------------------------------- numeric columns: Gaussian rounds
#
# Under DP the statistics of all numeric columns are released together in
# ``NUMERIC_ROUNDS`` rounds, each a histogram per column with Gaussian noise
# (a row changes one count of each column's histogram by one: L2 sensitivity
# ``sqrt(columns)``). The rounds compose by Renyi DP (:func:`gaussian_rdp_epsilon`),
# which grows like the square root of the number of columns where Laplace
# noise with basic composition grows linearly: what lets tables of a few
# hundred rows and tens of columns be fitted at epsilon 1.
#
# 1. levels: counts of the public grid of multiples of 0.5 in [-10, 100]
#    (:func:`level_grid`) and of the values off the grid: a column whose values
#    lie on at most ``MAX_LEVELS`` grid points is discrete on those;
# 2. range: counts on public log-scale bins (:func:`gaussian_range`);
# 3. shape: counts on equal bins inside the range, and of the missing values
#    (on small tables this round is left out and the range round's bins serve,
#    :func:`numeric_rounds`).

NUMERIC_ROUNDS = 3
# chance that noise alone puts a bin above the threshold, over all bins of one column:
# a false bin widens a range or adds an off-level value
GAUSSIAN_FAILURE = 1e-3
# chance that noise alone makes a column without missing values look nullable
MISSING_FAILURE = 1e-5
_ALPHAS = np.concatenate([np.linspace(1.01, 10.0, 900), np.linspace(10.0, 20000.0, 20000)])


def gaussian_rdp_epsilon(noise_multiplier: float, rounds: int, delta: float) -> float:
    """Epsilon at ``delta`` of ``rounds`` Gaussian mechanisms of noise multiplier
    ``noise_multiplier`` (noise std / L2 sensitivity), by Renyi DP."""
    alphas = _ALPHAS
    rdp = rounds * alphas / (2 * noise_multiplier**2)
    return float(np.min(rdp + np.log(1 / delta) / (alphas - 1)))


def gaussian_noise_std(
    epsilon: float, delta: float, columns: float, rounds: int = NUMERIC_ROUNDS
) -> float:
    """Noise std per count such that ``rounds`` joint releases of one histogram per
    column (``columns`` of them) are ``(epsilon, delta)``-DP (``inf`` for an epsilon
    too small to reach). With weights, ``columns`` is their sum and a column of
    weight ``w`` gets the std divided by ``sqrt(w)``: the L2 sensitivity of the
    standardised release stays ``1 / noise_multiplier``."""
    if epsilon <= 0 or not 0 < delta < 1:
        raise ValueError(f"epsilon must be > 0 and delta in (0, 1), got {epsilon}, {delta}")
    low, high = 1e-3, 1.0
    while gaussian_rdp_epsilon(high, rounds, delta) > epsilon:
        low, high = high, high * 2
        if high > 1e9:  # out of reach of the orders used: no useful release
            return float("inf")
    while high - low > 1e-4 * high:
        middle = (low + high) / 2
        spent = gaussian_rdp_epsilon(middle, rounds, delta)
        low, high = (low, middle) if spent <= epsilon else (middle, high)
    return high * float(np.sqrt(columns))


def gaussian_counts(counts: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Counts plus Gaussian noise of standard deviation ``std``."""
    return np.asarray(counts, np.float64) + rng.normal(0.0, std, size=np.shape(counts))


def gaussian_threshold(std: float, bins: int, failure: float = GAUSSIAN_FAILURE) -> float:
    """A count an empty bin's noise exceeds with probability at most ``failure`` over ``bins``."""
    from scipy.stats import norm

    return float(std * norm.isf(failure / max(1, bins)))


def decade_steps(std: float, rows: int) -> int:
    """Public log-scale bins per decade for the range round: fewer (wider) bins when
    the noise is large against the number of rows, so that the bulk still shows."""
    return 8 if rows >= 60 * std else (2 if rows >= 15 * std else 1)


WINDOWS = (1, 2, 4, 8)


def range_edges(per_decade: int) -> np.ndarray:
    """Public log-scale bin edges for the range round: 0 and +-10**(k/per_decade) for
    magnitudes 1e-6 .. 1e19."""
    magnitudes = 10.0 ** (np.arange(-6 * per_decade, 19 * per_decade + 1) / per_decade)
    return np.concatenate([-magnitudes[::-1], [0.0], magnitudes])


def window_threshold(std: float, width: int, windows: int) -> float:
    """The count a sum of ``width`` adjacent empty bins exceeds by noise alone with
    probability at most ``GAUSSIAN_FAILURE / len(WINDOWS)`` over ``windows`` such sums:
    over the widths tried, a range made of noise alone has probability at most
    ``GAUSSIAN_FAILURE`` per column."""
    return gaussian_threshold(std * np.sqrt(width), windows, GAUSSIAN_FAILURE / len(WINDOWS))


def supported_bins(noisy: np.ndarray, threshold: float, edges: np.ndarray) -> np.ndarray:
    """The bins above ``threshold`` that a range may span: those standing at least twice
    the threshold high, and the others whose values lie within ten times the largest
    magnitude those reach. A bin just above the threshold decades beyond the rows is what
    noise alone makes once in ``1 / GAUSSIAN_FAILURE`` columns, and it would stretch the
    range by decades (values up to 1e7 for a column of counts near 40); real rows that
    thin and that far out are a tail the inner bounds clip anyway. Near zero nothing is
    far (the zeros of a 0/1 column sit six log decades below its ones). Where no bin
    stands out (a tiny table), every bin above the threshold is kept. Post-processing."""
    kept = np.flatnonzero(noisy > threshold)
    strong = kept[noisy[kept] >= 2 * threshold]
    if strong.size == 0:
        return kept
    reach = 10 * np.abs(edges[np.concatenate([strong, strong + 1])]).max()
    nearest = np.minimum(np.abs(edges[kept]), np.abs(edges[kept + 1]))
    return kept[nearest <= reach]


def gaussian_range(
    values: np.ndarray,
    std: float,
    rng: np.random.Generator,
    per_decade: int = 8,
    guess: bool = False,
) -> tuple[float, float, NoisyHistogram] | None:
    """Outer bounds of the finite values from public log-scale bins with Gaussian noise;
    ``None`` when no window of bins clears its threshold (with ``guess``: the best one).

    The range spans the outermost bins above :func:`window_threshold` that
    :func:`supported_bins` keeps. When no single bin clears it, sums of 2, 4 then 8
    adjacent bins are tried (post-processing: their noise std grows as the square root
    of the width) and the fullest window that clears its threshold is the range.
    Returned with the noisy histogram.

    With ``guess``, a column none of whose windows clears the threshold gets the
    window of any width whose sum stands highest above its noise (``sum / (std *
    sqrt(width))``): where the table is large against the noise
    (:func:`range_is_estimable`, which callers check first) that is where the
    column's rows are, spread over more decades than a threshold allows for. Without
    that check a guess would be noise: values anywhere between -1e19 and 1e19.
    """
    edges = range_edges(per_decade)
    finite = values[np.isfinite(values)]
    counts, _ = np.histogram(np.clip(finite, edges[0], edges[-1]), edges)
    noisy = gaussian_counts(counts, std, rng)
    hist = NoisyHistogram(edges, noisy, 0.0, False)
    threshold = window_threshold(std, 1, len(counts))
    if (noisy > threshold).any():
        kept = supported_bins(noisy, threshold, edges)
        return float(edges[kept.min()]), float(edges[kept.max() + 1]), hist
    best = (-np.inf, 0, 1)
    for width in WINDOWS[1:]:
        sums = np.convolve(noisy, np.ones(width), mode="valid")
        clear = sums > window_threshold(std, width, len(sums))
        if clear.any():
            start = int(np.argmax(np.where(clear, sums, -np.inf)))
            return float(edges[start]), float(edges[start + width]), hist
        z = sums / (std * np.sqrt(width))
        if z.max() > best[0]:
            best = (float(z.max()), int(np.argmax(z)), width)
    if not guess:
        return None
    _, start, width = best
    return float(edges[start]), float(edges[start + width]), hist


def within(hist: NoisyHistogram, lower: float, upper: float) -> NoisyHistogram:
    """The bins of ``hist`` inside ``[lower, upper]`` (post-processing)."""
    inside = np.flatnonzero((hist.edges[:-1] >= lower) & (hist.edges[1:] <= upper))
    if inside.size == 0:
        return NoisyHistogram(np.array([lower, upper]), np.zeros(1), 0.0, False)
    edges = hist.edges[inside.min() : inside.max() + 2]
    return NoisyHistogram(edges, hist.counts[inside.min() : inside.max() + 1], 0.0, False)


def range_is_estimable(std: float, rows: int) -> bool:
    """Whether the range round finds the range of a column whose rows lie in two adjacent
    decades (one bin per decade, the coarsest it uses) with probability 0.95: their
    sum clears the window threshold (public: rows and noise). Below that, columns
    would come back without a range (an error naming them) too often to be useful."""
    bins = len(range_edges(1)) - 1
    margin = 1.6449 * np.sqrt(2) * std  # the 95 % lower quantile of the window's noise
    return rows >= window_threshold(std, 2, bins - 1) + margin


def numeric_rounds(std_three_rounds: float, rows: int) -> int:
    """Rounds of the numeric statistics: three (levels, range, shape) unless their
    noise is so large against the rows that the range could not be told from it
    (:func:`range_is_estimable`); then two, less noisy, the shape read off the range
    round's bins (public: rows, columns and budget)."""
    return NUMERIC_ROUNDS if range_is_estimable(std_three_rounds, rows) else 2


PUBLIC_GRID = np.arange(-20, 201) / 2  # multiples of 0.5 in [-10, 100]
MAX_GRID = 64


def level_grid(lower: float | None, upper: float | None, integer: bool) -> np.ndarray:
    """The public candidate levels of a column: multiples of 0.5 in ``[-10, 100]``
    (integers only for an integer column), inside public bounds when given; the
    integers between public bounds when those are few."""
    grid = np.round(PUBLIC_GRID) if integer else PUBLIC_GRID
    grid = np.unique(grid)
    if integer and lower is not None and upper is not None and upper - lower <= 4 * MAX_GRID:
        return np.arange(np.ceil(lower), np.floor(upper) + 1)
    low = -np.inf if lower is None else lower
    high = np.inf if upper is None else upper
    return grid[(grid >= low) & (grid <= high)]


def gaussian_grid_counts(
    values: np.ndarray, grid: np.ndarray, std: float, rng: np.random.Generator
) -> tuple[np.ndarray, float, float, float]:
    """Noisy counts of the values on each point of the public ``grid``, of the finite
    values off it, of the missing ones, and of the values off it with a fractional
    part. One histogram: a row falls in one cell (grid point, whole number off the
    grid, fraction off the grid, missing); the off-grid count is the sum of its two
    cells (post-processing)."""
    finite = values[np.isfinite(values)]
    on = np.isclose(finite[:, None], grid[None, :], rtol=0.0, atol=1e-9)
    off = finite[~on.any(axis=1)]
    fractional = (off != np.round(off)).sum()
    cells = [len(off) - fractional, fractional, np.isnan(values).sum()]
    noisy = gaussian_counts(np.append(on.sum(axis=0), cells), std, rng)
    return noisy[:-3], float(noisy[-3] + noisy[-2]), float(noisy[-1]), float(noisy[-2])


def on_integers(
    grid: np.ndarray,
    counts: np.ndarray,
    std: float,
    off_grid: float,
    rows: int,
    fractional: float | None = None,
) -> bool:
    """Whether the levels round says a float column holds integers: no half-integer grid
    point clears the threshold, and nothing with a fraction beyond :func:`stray_limit`
    lies off the grid (``fractional``; without it, nothing off the grid at
    all). Whole numbers need not clear the threshold one by one: a column of many
    distinct whole numbers (ages, prices in whole units) spreads its rows thinner
    than the noise, and what is not fractional is whole. With ``fractional``, whole
    numbers off the grid (beyond its range) count as integers too.

    Half-integers too thin to clear the threshold are taken for whole numbers (and
    rounded): the price of needing one noisy count, not one per grid point.
    """
    threshold = gaussian_threshold(std, len(grid) + 2)
    kept = grid[counts > threshold]
    loose = off_grid if fractional is None else fractional
    return bool(np.all(kept == np.round(kept)) and loose <= stray_limit(threshold, rows))


def stray_limit(threshold: float, rows: float) -> float:
    """The most a noisy count of values that do not fit a kind (fractions in a column
    of integers, values off the levels of a discrete one) may be and the kind still
    hold: the noise threshold or 5 % of the rows, whichever is larger, but never
    above a quarter of the rows (noise as large as the table says nothing, and
    then the column is taken for the more general kind)."""
    return max(0.05 * rows, min(threshold, 0.25 * rows))


def discrete_levels(
    grid: np.ndarray,
    counts: np.ndarray,
    std: float | np.ndarray,
    off_grid: float | None,
    rows: int,
    max_levels: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The levels of a discrete column and their noisy counts, or ``None``.

    A grid point is a level when its noisy count clears the threshold; the column
    is discrete when 2 to ``max_levels`` points do, hold 75 % of the rows (noisy
    counts; the number of rows is public), and the noisy count off the
    grid is within :func:`stray_limit` (``off_grid=None``: the public dtype says
    there is nothing off the grid).
    """
    threshold = gaussian_threshold(1.0, len(grid) + 1) * np.asarray(std)
    kept = counts > threshold
    if off_grid is not None and off_grid > stray_limit(float(np.max(threshold)), rows):
        return None
    if not 2 <= kept.sum() <= max_levels or counts[kept].sum() < 0.75 * rows:
        return None
    return grid[kept], counts[kept]


def gaussian_histogram(
    values: np.ndarray,
    edges: np.ndarray,
    std: float,
    rng: np.random.Generator,
    nullable: bool,
) -> NoisyHistogram:
    """Counts on the bins of ``edges`` (values clipped into them) plus a missing bin
    (omitted when the dtype cannot hold missing values: public), with Gaussian noise."""
    finite = values[np.isfinite(values)]
    counts, _ = np.histogram(np.clip(finite, edges[0], edges[-1]), edges)
    noisy = gaussian_counts(counts, std, rng)
    if not nullable:
        return NoisyHistogram(edges, noisy, 0.0, False)
    missing = float(gaussian_counts(np.array([np.isnan(values).sum()]), std, rng)[0])
    has_missing = missing > gaussian_threshold(std, 1, MISSING_FAILURE)
    return NoisyHistogram(edges, noisy, max(missing, 0.0), bool(has_missing))


def inner_bounds(hist: NoisyHistogram, std: float, rows: float) -> tuple[float, float]:
    """Bounds inside the data's range, from the outermost bins whose noisy count clears
    the threshold: a bin that truly holds rows puts the real minimum at or below its
    upper edge (and the real maximum at or above its lower edge), so these inner
    edges are the bounds. Where fewer than three bins clear it, sums of 2, 4, 8
    adjacent bins are tried (post-processing; noise std grows as the square root of
    the width); where no width gives three, :func:`central_window`."""
    counts, edges = hist.counts, hist.edges
    for width in (1, 2, 4, 8):
        if width > len(counts):
            break
        sums = np.convolve(counts, np.ones(width), mode="valid")[::width]
        starts = np.arange(0, len(counts) - width + 1, width)
        threshold = gaussian_threshold(std * np.sqrt(width), 4 * len(sums))
        kept = np.flatnonzero(sums > threshold)
        if kept.size >= 3 or (kept.size and kept.max() - kept.min() >= 2):
            low, high = starts[kept.min()] + width, starts[kept.max()]
            return float(edges[low]), float(edges[high])
    return central_window(hist, rows)


def central_window(hist: NoisyHistogram, rows: float, share: float = 0.8) -> tuple[float, float]:
    """The narrowest run of bins whose noisy counts add up to ``share`` of the rows (the
    number of rows is public) among the runs that overlap the fullest quarter of the
    histogram (where the bulk is, even when single bins drown in noise): a central
    interval of the data; the histogram's own edges when no run reaches it."""
    counts = hist.counts
    quarter = max(1, len(counts) // 4)
    coarse = np.convolve(counts, np.ones(quarter), mode="valid")
    bulk = int(np.argmax(coarse))
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    for width in range(1, len(counts) + 1):
        starts = np.arange(0, len(counts) - width + 1)
        overlap = (starts < bulk + quarter) & (starts + width > bulk)
        sums = np.where(overlap, cumulative[width:] - cumulative[:-width], -np.inf)
        if sums.max() >= share * rows:
            start = int(np.argmax(sums))
            return float(hist.edges[start]), float(hist.edges[start + width])
    return float(hist.edges[0]), float(hist.edges[-1])
