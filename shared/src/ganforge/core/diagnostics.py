"""Training health monitors: plug them into the trainer as periodic callbacks.

Each monitor is a small class whose ``__call__(trainer) -> dict[str, float]``
returns scalars to log and calls ``trainer.log_event(name, **info)`` when it
fires. The numbers come from pure functions of tensors (also exported here), so
they can be used and tested without a trainer::

    monitor = DiversityMonitor(noise=torch.randn(512, 2))
    Trainer(module, config, callbacks=[Callback(every=500, fn=monitor)])

What a monitor reads from the trainer:

- ``trainer.module``: the :class:`~ganforge.core.training.GANModule`; its
  ``.networks`` dict and ``.generator_name``;
- ``trainer.ema``: the EMA copy of the generator or ``None``;
- ``trainer.device``: where inputs go;
- ``trainer.iteration``: the current iteration (put into event info);
- ``trainer.history``: logged records (only :class:`LossRatioMonitor`);
- ``trainer.log_event(name, **info)``: records a named warning.

Events: ``discriminator_memorising``, ``exploding_gradients``,
``vanishing_gradients``, ``loss_imbalance``, ``mode_collapse``,
``discriminator_overfitting``, ``memorisation``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ganforge.core.metrics.diversity import pairwise_diversity
from ganforge.core.metrics.neighbours import nearest_neighbours

Forward = Callable[[nn.Module, torch.Tensor], Any]


# ----------------------------------------------------------------- pure computations
def discriminator_scores(output: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-sample scores ``(N,)`` from a discriminator's output.

    A patch map ``(N, 1, H, W)`` is averaged per sample; a list of outputs
    (multi-scale discriminators) is averaged over scales.
    """
    if isinstance(output, list | tuple):
        if not output:
            raise ValueError("discriminator returned an empty list of outputs")
        return torch.stack([discriminator_scores(o) for o in output]).mean(0)
    if not isinstance(output, torch.Tensor):
        raise ValueError(
            f"discriminator output must be a tensor or a list of tensors, got {type(output)}"
        )
    return output.detach().float().reshape(output.shape[0], -1).mean(1)


def discriminator_accuracy(
    real_scores: torch.Tensor, fake_scores: torch.Tensor, boundary: float = 0.0
) -> tuple[float, float]:
    """Share of real samples scored above ``boundary`` and of fakes at or below it."""
    return (
        float((real_scores > boundary).float().mean()),
        float((fake_scores <= boundary).float().mean()),
    )


def gradient_norm(module: nn.Module) -> float:
    """Total L2 norm of the gradients a module holds (``nan`` if it holds none)."""
    grads = [p.grad.detach().float() for p in module.parameters() if p.grad is not None]
    if not grads:
        return math.nan
    return float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])))


def loss_ratio(d_loss: float, g_loss: float) -> float:
    """``|d_loss| / |g_loss|`` (``inf`` when the generator loss is 0)."""
    return abs(d_loss) / abs(g_loss) if g_loss != 0 else math.inf


def diversity_drop(previous: float, current: float) -> float:
    """Relative fall of diversity since the previous evaluation (negative: it rose)."""
    if previous <= 0:
        return 0.0
    return (previous - current) / previous


def overfitting_gap(
    train_scores: torch.Tensor, heldout_scores: torch.Tensor, boundary: float = 0.0
) -> float:
    """Accuracy on training reals minus accuracy on held-out reals.

    A discriminator that generalises scores both alike (gap ≈ 0); one that has
    memorised its training set calls only those real (gap grows towards 1).
    """
    return float(
        (train_scores > boundary).float().mean() - (heldout_scores > boundary).float().mean()
    )


def sample_grid_figure(samples: torch.Tensor, nrow: int = 8, title: str | None = None):
    """A matplotlib Figure of generated samples.

    Images ``(N, 1|3, H, W)`` become a grid (scaled to the batch's range), volumes
    ``(N, C, D, H, W)`` show their middle slice, 2-D points a scatter plot and
    anything else (audio, sequences, table rows) one small line plot per sample.
    """
    from matplotlib.figure import Figure

    x = samples.detach().float().cpu()
    if x.dim() == 5:
        x = x[:, :, x.shape[2] // 2]
    fig = Figure(figsize=(6, 6))
    if x.dim() == 4 and x.shape[1] in (1, 3):
        ax = fig.add_subplot()
        ax.imshow(_image_grid(x, nrow), cmap="gray" if x.shape[1] == 1 else None)
        ax.axis("off")
    elif x.dim() == 2 and x.shape[1] == 2:
        ax = fig.add_subplot()
        ax.scatter(x[:, 0].numpy(), x[:, 1].numpy(), s=4, alpha=0.6)
        ax.set_aspect("equal", adjustable="datalim")
    else:
        rows = x.reshape(x.shape[0], -1)[: nrow * nrow // 4 or 1].numpy()
        cols = max(1, nrow // 2)
        for i, row in enumerate(rows):
            ax = fig.add_subplot(math.ceil(len(rows) / cols), cols, i + 1)
            ax.plot(row, linewidth=0.7)
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig


def _image_grid(x: torch.Tensor, nrow: int) -> np.ndarray:
    n, c, h, w = x.shape
    x = x[: nrow * nrow]
    n = x.shape[0]
    lo, hi = float(x.min()), float(x.max())
    x = (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    grid = torch.ones(c, rows * (h + 1) + 1, cols * (w + 1) + 1)
    for i in range(n):
        r, q = divmod(i, cols)
        grid[:, 1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + q * (w + 1) : 1 + q * (w + 1) + w] = x[i]
    grid = grid.permute(1, 2, 0).numpy()
    return grid[..., 0] if c == 1 else grid


# ----------------------------------------------------------------- helpers for monitors
def _network(trainer: Any, name: str | None, use_ema: bool = False) -> nn.Module:
    module = trainer.module
    if name is None and use_ema and getattr(trainer, "ema", None) is not None:
        return trainer.ema
    name = module.generator_name if name is None else name
    if name not in module.networks:
        raise ValueError(
            f"no network {name!r} in the module; it has {sorted(module.networks)}. "
            "Pass the right name to the monitor"
        )
    return module.networks[name]


@torch.no_grad()
def _run(network: nn.Module, forward: Forward | None, x: torch.Tensor) -> Any:
    """``forward(network, x)`` (default ``network(x)``) in eval mode, mode restored."""
    was_training = network.training
    network.eval()
    try:
        return forward(network, x) if forward is not None else network(x)
    finally:
        network.train(was_training)


def _event(trainer: Any, name: str, **info: Any) -> None:
    trainer.log_event(name, **info)


# ----------------------------------------------------------------- monitors
class DiscriminatorAccuracyMonitor:
    """Discriminator accuracy on real and generated samples.

    Fires ``discriminator_memorising`` when real accuracy reaches
    ``memorising_accuracy`` (default 100 %).

    Args:
        real: a fixed batch of real samples.
        noise: a fixed batch of generator inputs.
        discriminator: name of the discriminator in ``module.networks``.
        generator: name of the generator (default: ``module.generator_name``).
        boundary: score above which the discriminator calls a sample real
            (0 for logits and critic scores; 0.5 for probabilities).
        memorising_accuracy: real accuracy that fires the event.
        generate: ``generate(G, noise) -> samples`` (default ``G(noise)``), e.g. to
            add class labels; ``discriminate(D, x) -> scores`` likewise.
    """

    def __init__(
        self,
        real: torch.Tensor,
        noise: torch.Tensor,
        *,
        discriminator: str = "D",
        generator: str | None = None,
        boundary: float = 0.0,
        memorising_accuracy: float = 1.0,
        generate: Forward | None = None,
        discriminate: Forward | None = None,
    ) -> None:
        self.real, self.noise = real, noise
        self.discriminator, self.generator = discriminator, generator
        self.boundary, self.memorising_accuracy = boundary, memorising_accuracy
        self.generate, self.discriminate = generate, discriminate

    def __call__(self, trainer: Any) -> dict[str, float]:
        d = _network(trainer, self.discriminator)
        g = _network(trainer, self.generator)
        fake = _run(g, self.generate, self.noise.to(trainer.device))
        real_scores = discriminator_scores(_run(d, self.discriminate, self.real.to(trainer.device)))
        fake_scores = discriminator_scores(_run(d, self.discriminate, fake))
        acc_real, acc_fake = discriminator_accuracy(real_scores, fake_scores, self.boundary)
        if acc_real >= self.memorising_accuracy:
            _event(
                trainer, "discriminator_memorising", real_accuracy=acc_real, fake_accuracy=acc_fake
            )
        return {"diag/d_acc_real": acc_real, "diag/d_acc_fake": acc_fake}


class GradientNormMonitor:
    """Gradient norms of the named networks, as the last backward pass left them.

    Fires ``exploding_gradients`` when a norm exceeds ``max_norm`` or is not
    finite, ``vanishing_gradients`` when it falls below ``min_norm``. A network
    holding no gradients reports ``nan`` and fires nothing.
    """

    def __init__(
        self, networks: Sequence[str] = ("G", "D"), *, max_norm: float = 1e3, min_norm: float = 1e-8
    ) -> None:
        self.networks, self.max_norm, self.min_norm = tuple(networks), max_norm, min_norm

    def __call__(self, trainer: Any) -> dict[str, float]:
        values = {}
        for name in self.networks:
            norm = gradient_norm(_network(trainer, name))
            values[f"diag/grad_norm/{name}"] = norm
            held = any(p.grad is not None for p in _network(trainer, name).parameters())
            if held and (not math.isfinite(norm) or norm > self.max_norm):
                _event(trainer, "exploding_gradients", network=name, norm=norm)
            elif held and norm < self.min_norm:
                _event(trainer, "vanishing_gradients", network=name, norm=norm)
        return values


class LossRatioMonitor:
    """Ratio ``|D loss| / |G loss|`` from the latest logged record.

    Fires ``loss_imbalance`` when the ratio leaves ``[low, high]`` (one network
    overpowers the other).

    Args:
        d_loss, g_loss: keys of the losses in ``trainer.history`` (the trainer logs
            step outputs as ``"<step name>/<key>"``).
    """

    def __init__(
        self,
        d_loss: str = "D/loss",
        g_loss: str = "G/loss",
        *,
        low: float = 0.1,
        high: float = 10.0,
    ) -> None:
        self.d_loss, self.g_loss, self.low, self.high = d_loss, g_loss, low, high

    def __call__(self, trainer: Any) -> dict[str, float]:
        for record in reversed(trainer.history):
            if self.d_loss in record and self.g_loss in record:
                ratio = loss_ratio(float(record[self.d_loss]), float(record[self.g_loss]))
                break
        else:
            if not trainer.history:
                return {}
            raise ValueError(
                f"no logged record has both {self.d_loss!r} and {self.g_loss!r}; logged keys: "
                f"{sorted(trainer.history[-1])}. Pass d_loss=/g_loss= to LossRatioMonitor"
            )
        if not self.low <= ratio <= self.high:
            _event(trainer, "loss_imbalance", ratio=ratio, low=self.low, high=self.high)
        return {"diag/loss_ratio": ratio}


class DiversityMonitor:
    """Mean pairwise distance of samples from fixed noise; the mode-collapse alarm.

    Fires ``mode_collapse`` when diversity fell by more than ``drop_threshold``
    (default 10 %) since the previous evaluation.

    Args:
        noise: a fixed batch of generator inputs (a few hundred).
        extractor: maps samples to features (default: the flattened samples).
        generator: generator name (default: the EMA if ``use_ema`` and present,
            else ``module.generator_name``).
        use_ema: measure the EMA generator when there is one.
        generate: ``generate(G, noise) -> samples`` (default ``G(noise)``).
    """

    def __init__(
        self,
        noise: torch.Tensor,
        *,
        extractor: Callable[[torch.Tensor], torch.Tensor] | None = None,
        drop_threshold: float = 0.10,
        generator: str | None = None,
        use_ema: bool = False,
        generate: Forward | None = None,
    ) -> None:
        self.noise, self.extractor, self.drop_threshold = noise, extractor, drop_threshold
        self.generator, self.use_ema, self.generate = generator, use_ema, generate
        self.previous: float | None = None

    def __call__(self, trainer: Any) -> dict[str, float]:
        samples = _run(
            _network(trainer, self.generator, self.use_ema),
            self.generate,
            self.noise.to(trainer.device),
        )
        with torch.no_grad():
            feats = self.extractor(samples) if self.extractor is not None else samples
        current = pairwise_diversity(feats.detach().cpu())
        drop = 0.0 if self.previous is None else diversity_drop(self.previous, current)
        if drop > self.drop_threshold:
            _event(trainer, "mode_collapse", diversity=current, previous=self.previous, drop=drop)
        self.previous = current
        return {"diag/diversity": current, "diag/diversity_drop": drop}


class OverfittingMonitor:
    """Discriminator gap between training reals and held-out reals.

    Fires ``discriminator_overfitting`` when the accuracy on training reals
    exceeds the accuracy on held-out reals by more than ``max_gap``. Use a few
    hundred samples in each set, or sampling noise alone moves the gap by ~0.1.

    Args:
        train_real: a fixed batch from the training data.
        heldout_real: a batch of real data the discriminator never trains on.
        discriminator: name in ``module.networks``; ``discriminate(D, x)`` as in
            :class:`DiscriminatorAccuracyMonitor`.
        boundary: score above which a sample is called real.
    """

    def __init__(
        self,
        train_real: torch.Tensor,
        heldout_real: torch.Tensor,
        *,
        discriminator: str = "D",
        boundary: float = 0.0,
        max_gap: float = 0.2,
        discriminate: Forward | None = None,
    ) -> None:
        self.train_real, self.heldout_real = train_real, heldout_real
        self.discriminator, self.boundary, self.max_gap = discriminator, boundary, max_gap
        self.discriminate = discriminate

    def __call__(self, trainer: Any) -> dict[str, float]:
        d = _network(trainer, self.discriminator)
        train = discriminator_scores(_run(d, self.discriminate, self.train_real.to(trainer.device)))
        held = discriminator_scores(
            _run(d, self.discriminate, self.heldout_real.to(trainer.device))
        )
        gap = overfitting_gap(train, held, self.boundary)
        if gap > self.max_gap:
            _event(trainer, "discriminator_overfitting", gap=gap, max_gap=self.max_gap)
        return {
            "diag/d_overfit_gap": gap,
            "diag/d_score_train": float(train.mean()),
            "diag/d_score_heldout": float(held.mean()),
        }


class MemorisationMonitor:
    """Share of samples from fixed noise whose nearest training sample is a near copy.

    Fires ``memorisation`` when the share of samples with cosine similarity of at
    least ``threshold`` to some training sample exceeds ``max_share`` (set it from
    what held-out real data scores, e.g. the audit's ``heldout_near_duplicate_share``).

    Args:
        noise: a fixed batch of generator inputs.
        train_features: ``(n_train, d)`` features of the training data.
        extractor: maps samples to features; it may return ``views`` consecutive rows
            per sample (its transpositions...), the best of which counts.
        threshold: the cosine similarity of a near copy.
        max_share: the share of near copies that fires the event.
        views: rows per sample that ``extractor`` returns.
        generator, use_ema, generate: as in :class:`DiversityMonitor`.
    """

    def __init__(
        self,
        noise: torch.Tensor,
        train_features: torch.Tensor,
        *,
        extractor: Callable[[torch.Tensor], torch.Tensor] | None = None,
        threshold: float = 0.95,
        max_share: float = 0.05,
        views: int = 1,
        generator: str | None = None,
        use_ema: bool = False,
        generate: Forward | None = None,
    ) -> None:
        self.noise, self.train_features, self.extractor = noise, train_features, extractor
        self.threshold, self.max_share, self.views = threshold, max_share, views
        self.generator, self.use_ema, self.generate = generator, use_ema, generate

    def __call__(self, trainer: Any) -> dict[str, float]:
        samples = _run(
            _network(trainer, self.generator, self.use_ema),
            self.generate,
            self.noise.to(trainer.device),
        )
        with torch.no_grad():
            feats = self.extractor(samples) if self.extractor is not None else samples
        found = nearest_neighbours(
            feats.detach().cpu(), self.train_features, 1, with_cosine=True, device=trainer.device
        )
        cosine = found.max_cosine.reshape(-1, self.views).max(dim=1).values
        share = float((cosine >= self.threshold).double().mean())
        if share > self.max_share:
            _event(
                trainer,
                "memorisation",
                share=share,
                max_share=self.max_share,
                threshold=self.threshold,
            )
        return {"diag/near_copy_share": share, "diag/max_train_similarity": float(cosine.max())}


class SampleGridMonitor:
    """Figures of samples from fixed noise, kept for the report.

    ``figures`` maps iteration -> matplotlib Figure (the ``keep`` most recent);
    returns no scalars.
    """

    def __init__(
        self,
        noise: torch.Tensor,
        *,
        generator: str | None = None,
        use_ema: bool = True,
        nrow: int = 8,
        keep: int = 4,
        generate: Forward | None = None,
    ) -> None:
        self.noise, self.generator, self.use_ema = noise, generator, use_ema
        self.nrow, self.keep, self.generate = nrow, keep, generate
        self.figures: dict[int, Any] = {}

    def __call__(self, trainer: Any) -> dict[str, float]:
        samples = _run(
            _network(trainer, self.generator, self.use_ema),
            self.generate,
            self.noise.to(trainer.device),
        )
        title = f"samples at iteration {trainer.iteration}"
        self.figures[trainer.iteration] = sample_grid_figure(samples, self.nrow, title)
        while len(self.figures) > self.keep:
            del self.figures[min(self.figures)]
        return {}

    def latest(self):
        """The most recent figure, or ``None`` before the first evaluation."""
        return self.figures[max(self.figures)] if self.figures else None
