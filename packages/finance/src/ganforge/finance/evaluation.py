"""Evaluation: TimeGAN's post-hoc scores, stylized facts against baselines, figures.

* :func:`discriminative_score`: a post-hoc GRU classifier tells real from
  synthetic windows; the score is ``|accuracy - 0.5|`` on a held-out 20 %
  (lower is better, 0 is indistinguishable).
* :func:`predictive_score`: train-on-synthetic, test-on-real: a GRU predicts
  the last feature one step ahead from the others; the score is its mean
  absolute error on the real windows (lower is better).

Both follow the TimeGAN paper's protocol and reference code (GRU width
``features // 2``, 2000 / 5000 iterations of batch 128, Adam, min-max-scaled
data) and are repeated with different seeds for a mean and a standard deviation.

* :func:`evaluate`: the stylized-fact table of synthetic return paths next to
  GARCH(1,1)-t and an i.i.d. bootstrap fitted to the same real returns, the
  clustering and leverage errors, and (given windows) the two scores; a plain
  dict, optionally written as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.core.files import write_json
from ganforge.finance.baselines import GarchT, bootstrap_returns
from ganforge.finance.facts import (
    as_paths,
    autocorrelation,
    clustering_and_leverage_scores,
    leverage_correlation,
    stylized_facts,
)


class _PostHocGRU(nn.Module):
    def __init__(self, input_dim: int, hidden_dim: int, per_step: bool) -> None:
        super().__init__()
        self.rnn = nn.GRU(input_dim, hidden_dim, batch_first=True)
        self.linear = nn.Linear(hidden_dim, 1)
        self.per_step = per_step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, last = self.rnn(x)
        return self.linear(outputs if self.per_step else last[-1])


def _check_pair(real: np.ndarray, synthetic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    real, synthetic = np.asarray(real, np.float32), np.asarray(synthetic, np.float32)
    if real.ndim != 3 or synthetic.ndim != 3 or real.shape[1:] != synthetic.shape[1:]:
        raise ValueError(
            f"real and synthetic must be windows (n, T, features) of one shape, got "
            f"{real.shape} and {synthetic.shape}"
        )
    if len(real) < 5 or len(synthetic) < 5:
        raise ValueError("need at least 5 real and 5 synthetic windows")
    if not (np.all(np.isfinite(real)) and np.all(np.isfinite(synthetic))):
        raise ValueError("windows hold NaN or infinite values")
    return real, synthetic


def _batch(data: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    return data[torch.randint(len(data), (min(size, len(data)),), generator=generator)]


def discriminative_score(
    real: np.ndarray,
    synthetic: np.ndarray,
    iterations: int = 2000,
    batch_size: int = 128,
    seed: int = 0,
) -> float:
    """``|accuracy - 0.5|`` of a post-hoc GRU classifier on held-out windows.

    Args:
        real, synthetic: min-max-scaled windows ``(n, T, features)``.
        iterations: classifier training iterations (2000 in the paper).
        batch_size: real and synthetic windows per batch (128 each).
        seed: seeds the split, the classifier and the batches.
    """
    real, synthetic = _check_pair(real, synthetic)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    real_train, real_test = _split(torch.from_numpy(real), generator)
    fake_train, fake_test = _split(torch.from_numpy(synthetic), generator)
    model = _PostHocGRU(real.shape[-1], max(real.shape[-1] // 2, 1), per_step=False)
    optimizer = torch.optim.Adam(model.parameters())
    for _ in range(iterations):
        x = torch.cat(
            [_batch(real_train, batch_size, generator), _batch(fake_train, batch_size, generator)]
        )
        half = len(x) - min(batch_size, len(fake_train))
        labels = torch.cat([torch.ones(half, 1), torch.zeros(len(x) - half, 1)])
        loss = F.binary_cross_entropy_with_logits(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        real_hits = (model(real_test) > 0).float().sum()
        fake_hits = (model(fake_test) <= 0).float().sum()
    accuracy = float((real_hits + fake_hits) / (len(real_test) + len(fake_test)))
    return abs(accuracy - 0.5)


def predictive_score(
    real: np.ndarray,
    synthetic: np.ndarray,
    iterations: int = 5000,
    batch_size: int = 128,
    seed: int = 0,
) -> float:
    """Mean absolute error on real windows of a GRU trained on synthetic ones.

    The GRU reads features ``0..F-2`` at steps ``0..T-2`` and predicts feature
    ``F-1`` at steps ``1..T-1`` (for one feature it reads the feature itself).
    """
    real, synthetic = _check_pair(real, synthetic)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    inputs_of = lambda d: d[:, :-1, :-1] if d.shape[-1] > 1 else d[:, :-1]  # noqa: E731
    train = torch.from_numpy(synthetic)
    train_x, train_y = inputs_of(train), train[:, 1:, -1:]
    model = _PostHocGRU(train_x.shape[-1], max(real.shape[-1] // 2, 1), per_step=True)
    optimizer = torch.optim.Adam(model.parameters())
    for _ in range(iterations):
        index = torch.randint(len(train), (min(batch_size, len(train)),), generator=generator)
        loss = (torch.sigmoid(model(train_x[index])) - train_y[index]).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test = torch.from_numpy(real)
    with torch.no_grad():
        error = (torch.sigmoid(model(inputs_of(test))) - test[:, 1:, -1:]).abs()
    return float(error.mean(dim=(1, 2)).mean())


def _split(data: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(len(data), generator=generator)
    cut = int(0.8 * len(data))
    return data[order[:cut]], data[order[cut:]]


def timegan_scores(
    real: np.ndarray,
    synthetic: np.ndarray,
    repeats: int = 3,
    discriminative_iterations: int = 2000,
    predictive_iterations: int = 5000,
    seed: int = 0,
) -> dict[str, Any]:
    """Discriminative and predictive scores over ``repeats`` seeds (the paper uses 10).

    Returns the mean and standard deviation of each score and, under
    ``discriminative_scores`` / ``predictive_scores``, the score of every seed:
    the post-hoc classifier is small and its result varies a lot between seeds.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    disc = [
        discriminative_score(real, synthetic, discriminative_iterations, seed=seed + i)
        for i in range(repeats)
    ]
    pred = [
        predictive_score(real, synthetic, predictive_iterations, seed=seed + i)
        for i in range(repeats)
    ]
    return {
        "discriminative_score": float(np.mean(disc)),
        "discriminative_score_std": float(np.std(disc)),
        "predictive_score": float(np.mean(pred)),
        "predictive_score_std": float(np.std(pred)),
        "discriminative_scores": [float(value) for value in disc],
        "predictive_scores": [float(value) for value in pred],
    }


def baseline_paths(
    real_returns: np.ndarray, n_paths: int = 20, length: int | None = None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Return paths of the two baselines fitted to ``real_returns`` (one series).

    ``garch_t``: GARCH(1,1) with Student-t shocks (``arch``); ``bootstrap``: i.i.d.
    resampling. Paths have the real series' length unless ``length`` is given.
    """
    series = as_paths(real_returns)
    length = series.shape[1] if length is None else length
    return {
        "garch_t": GarchT.fit(series[0]).simulate(n_paths, length, seed=seed),
        "bootstrap": bootstrap_returns(series, n_paths, length, seed=seed),
    }


def facts_summary(real_returns: np.ndarray, paths: np.ndarray) -> dict[str, Any]:
    """The stylized-fact checks and the clustering/leverage errors of one generator."""
    checks = stylized_facts(real_returns, paths)
    return {
        "checks": [check.as_dict() for check in checks],
        "passed": sum(check.passed for check in checks),
        "total": len(checks),
        **clustering_and_leverage_scores(real_returns, paths),
    }


def evaluate(
    real_returns: np.ndarray,
    synthetic_returns: np.ndarray,
    real_windows: np.ndarray | None = None,
    synthetic_windows: np.ndarray | None = None,
    baselines: bool = True,
    n_baseline_paths: int = 20,
    score_repeats: int = 3,
    seed: int = 0,
    out_path: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate synthetic returns against real ones (and the baselines).

    Args:
        real_returns: the real log-return series ``(T,)``.
        synthetic_returns: synthetic return paths ``(n_paths, T')`` with ``T' > 100``.
        real_windows, synthetic_windows: optional min-max-scaled windows for the
            discriminative and predictive scores.
        baselines: also evaluate GARCH(1,1)-t and an i.i.d. bootstrap.
        n_baseline_paths: paths simulated per baseline (real length each).
        score_repeats: seeds averaged for the two scores.
        seed: seeds the baselines and the scores.
        out_path: write the result there as JSON.

    Returns:
        ``{"synthetic": summary, "garch_t": summary, "bootstrap": summary,
        "scores": {...}}`` where a summary has ``checks`` (one dict per check),
        ``passed``, ``total``, ``volatility_clustering_error``, ``leverage_error``.
    """
    result: dict[str, Any] = {"synthetic": facts_summary(real_returns, synthetic_returns)}
    if baselines:
        for name, paths in baseline_paths(real_returns, n_baseline_paths, seed=seed).items():
            result[name] = facts_summary(real_returns, paths)
    if (real_windows is None) != (synthetic_windows is None):
        raise ValueError("pass both real_windows and synthetic_windows, or neither")
    if real_windows is not None:
        result["scores"] = timegan_scores(real_windows, synthetic_windows, score_repeats, seed=seed)
    if out_path is not None:
        write_json(out_path, result)
    return result


# -- figures ----------------------------------------------------------------------------
def facts_figure(real_returns: np.ndarray, generated: Mapping[str, np.ndarray]) -> Any:
    """Three panels: ACF of ``|r|`` (lags 1-100), leverage ``corr(r_t, r_{t+k}^2)``
    (lags 1-20), and the log-density of standardised returns, real vs each generator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {"real": as_paths(real_returns), **{k: as_paths(v) for k, v in generated.items()}}
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for name, paths in series.items():
        lags = np.arange(1, min(101, paths.shape[1]))
        axes[0].plot(lags, autocorrelation(np.abs(paths), lags), label=name)
        axes[1].plot(np.arange(1, 21), leverage_correlation(paths, 20), label=name)
        flat = paths.ravel()
        density, edges = np.histogram(
            (flat - flat.mean()) / flat.std(), bins=80, range=(-8, 8), density=True
        )
        axes[2].semilogy((edges[1:] + edges[:-1]) / 2, np.maximum(density, 1e-5), label=name)
    titles = [
        "ACF of |r| (volatility clustering)",
        "corr(r_t, r_{t+k}^2) (leverage)",
        "density of standardised returns",
    ]
    for axis, title in zip(axes, titles, strict=True):
        axis.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    return figure


def embedding_figure(
    real: np.ndarray, synthetic: np.ndarray, n: int = 500, seed: int = 0, tsne: bool = True
) -> Any:
    """PCA and t-SNE of windows averaged over features, as in the TimeGAN paper."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    real, synthetic = _check_pair(real, synthetic)
    rng = np.random.default_rng(seed)
    count = min(n, len(real), len(synthetic))
    a = real[rng.choice(len(real), count, replace=False)].mean(axis=2)
    b = synthetic[rng.choice(len(synthetic), count, replace=False)].mean(axis=2)
    panels = 2 if tsne else 1
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 4), squeeze=False)
    pca = PCA(n_components=2).fit(a)
    for data, label, colour in ((a, "real", "tab:red"), (b, "synthetic", "tab:blue")):
        points = pca.transform(data)
        axes[0, 0].scatter(points[:, 0], points[:, 1], s=6, alpha=0.4, c=colour, label=label)
    axes[0, 0].set_title("PCA")
    axes[0, 0].legend()
    if tsne:
        perplexity = float(min(40, max(2, count // 4)))
        points = TSNE(
            n_components=2, perplexity=perplexity, random_state=seed, init="pca"
        ).fit_transform(np.concatenate([a, b]))
        axes[0, 1].scatter(*points[:count].T, s=6, alpha=0.4, c="tab:red", label="real")
        axes[0, 1].scatter(*points[count:].T, s=6, alpha=0.4, c="tab:blue", label="synthetic")
        axes[0, 1].set_title("t-SNE")
    figure.tight_layout()
    return figure
