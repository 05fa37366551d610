"""The synthesizer's settings: one dataclass, checked when it is made."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ganforge.core.settings import (
    check_at_least,
    check_fraction,
    check_integer,
    check_positive,
    is_number,
)
from ganforge.core.training.distributed import resolve_device
from ganforge.tabular.model import LOSSES

DEFAULT_EPOCHS = 30.0
MIN_STEPS = 1000  # without DP, the fewest discriminator steps of a default fit
DP_GENERATOR_STEPS = 3

# settings that privacy does not depend on but that describe this machine or this
# run, not the released model: never written to a model file
RUN_ONLY = ("seed", "device")


@dataclass
class SynthConfig:
    """Settings of :class:`~ganforge.tabular.DPTabularGAN`: the command line's options too.

    Every value is checked on construction; a bad one raises a one-line
    ``ValueError`` before any data is read.

    Args:
        epsilon: total privacy budget (statistics + training), finite and > 0;
            ``None`` trains without differential privacy (a CTGAN-like model, for comparison).
        delta: total delta, below ``1 / n_rows``; default ``min(1e-5, 0.1 / n_rows)``.
        epochs: planned passes over the data (``epochs * n / batch_size``
            discriminator steps); with ``noise_multiplier=None`` the noise is
            calibrated so that exactly this many steps spend the training budget.
            ``None`` (default): ``DEFAULT_EPOCHS`` (30) under DP; without DP 30 or
            as many as make ``MIN_STEPS`` (1000) steps, whichever is more: 30
            epochs of a table of a few hundred rows are about a hundred steps,
            too few for the generator to learn even to produce the category it
            is conditioned on (see :meth:`SynthConfig.planned_steps`).
        batch_size: expected rows per Poisson batch (and fakes per step); a table
            with fewer than two batches of rows trains with a quarter of its rows.
        max_grad_norm: per-row gradient clipping norm ``C`` (> 0).
        noise_multiplier: fix ``sigma`` (> 0) instead; training then runs until the
            accountant says one more step would exceed the budget (or the epochs end).
        statistics_share: share of epsilon spent on statistics when some are
            needed: the transformer's (levels, bounds, modes, categories) for
            columns the schema does not give, and the category frequencies of the
            conditional vector; split evenly per column (none is spent when nothing
            is needed). ``None`` (default): 0.1, raised (to at most 0.75) when
            numeric columns need statistics and the table is too small for their
            noise, until the noise per count is at most 1/40 of the rows (public
            arithmetic on rows, columns and budget).
        loss: ``"non_saturating"`` or ``"wasserstein"`` (weight clipping).
        lr: Adam learning rate of the discriminator (and of the generator unless ``g_lr``).
        noise_dim: size of the generator's noise vector.
        hidden: hidden widths of both networks.
        d_hidden: discriminator widths (default ``hidden``); smaller means less DP noise.
        generator_steps: generator updates per discriminator update. ``None``
            (default): 3 under DP (they are free of privacy cost and fit the
            released statistics more closely), 1 without DP (the usual balance:
            when the discriminator's steps cost nothing, more generator steps only
            let the generator chase a discriminator that lags behind it).
        conditional: CTGAN's conditional vector over the categorical columns
            (generator cross-entropy loss; under DP its category frequencies are
            a Laplace histogram paid from the statistics share).
        g_lr: generator learning rate (default ``lr``; free of privacy cost).
        marginal_weight: weight of a generator loss pulling every categorical
            marginal to the conditional vector's frequencies (free of privacy cost).
        marginal_share: share of the training epsilon spent on a one-off Gaussian
            release of the two-way marginals of the categorical columns (composed
            with DP-SGD in the RDP accountant); the generator learns to match them
            with weight ``pair_weight``. ``0`` releases none; without DP any
            positive value uses the exact tables.
        seed: seeds what privacy does not depend on: network initialisation, the
            generator's noise and sampling. Not stored in the model file.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    """

    epsilon: float | None = 1.0
    delta: float | None = None
    epochs: float | None = None
    batch_size: int = 256
    max_grad_norm: float = 1.0
    noise_multiplier: float | None = None
    statistics_share: float | None = None
    loss: Literal["non_saturating", "wasserstein"] = "non_saturating"
    lr: float = 2e-4
    noise_dim: int = 64
    hidden: tuple[int, ...] = (128, 128)
    d_hidden: tuple[int, ...] | None = None
    generator_steps: int | None = None
    conditional: bool = True
    g_lr: float | None = None
    marginal_weight: float = 0.0
    marginal_share: float = 0.5
    pair_weight: float = 10.0
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        self.hidden = _widths("hidden", self.hidden)
        self.d_hidden = None if self.d_hidden is None else _widths("d_hidden", self.d_hidden)
        if self.epsilon is not None:
            check_positive("epsilon", self.epsilon, " (or None to train without privacy)")
        if self.delta is not None:
            check_fraction("delta", self.delta)
        for name in ("max_grad_norm", "lr"):
            check_positive(name, getattr(self, name))
        for name in ("epochs", "noise_multiplier", "g_lr"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name))
        for name in ("marginal_weight", "pair_weight"):
            check_at_least(name, getattr(self, name), 0)
        if self.statistics_share is not None:
            _share("statistics_share", self.statistics_share, allow_zero=False)
        _share("marginal_share", self.marginal_share, allow_zero=True)
        check_integer("batch_size", self.batch_size, 2)
        check_integer("noise_dim", self.noise_dim, 1)
        if self.generator_steps is not None:
            check_integer("generator_steps", self.generator_steps, 1)
        check_integer("seed", self.seed, 0)
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}: choose one of {', '.join(LOSSES)}")
        if not isinstance(self.conditional, bool):
            raise ValueError(f"conditional must be true or false, got {self.conditional!r}")
        resolve_device(self.device)

    def planned_steps(self, n_rows: int, batch_size: int) -> int:
        """Discriminator steps of a fit on ``n_rows`` rows in batches of ``batch_size``
        (public arithmetic): ``epochs`` passes, or by default 30 under DP and at
        least ``MIN_STEPS`` without."""
        per_epoch = n_rows / batch_size
        if self.epochs is not None:
            return max(1, math.ceil(self.epochs * per_epoch))
        steps = math.ceil(DEFAULT_EPOCHS * per_epoch)
        return steps if self.epsilon is not None else max(steps, MIN_STEPS)

    def steps_per_discriminator_step(self) -> int:
        """Generator updates per discriminator update: ``generator_steps``, or by
        default 3 under DP and 1 without."""
        if self.generator_steps is not None:
            return self.generator_steps
        return DP_GENERATOR_STEPS if self.epsilon is not None else 1

    def released(self) -> dict[str, Any]:
        """The settings as plain data for a model file: without the seed and the device."""
        values = asdict(self)
        values["hidden"] = list(self.hidden)
        values["d_hidden"] = None if self.d_hidden is None else list(self.d_hidden)
        return {k: v for k, v in values.items() if k not in RUN_ONLY}


def _share(name: str, value: Any, allow_zero: bool) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (is_number(value) and low_ok and value < 1):
        interval = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")


def _widths(name: str, value: Any) -> tuple[int, ...]:
    widths = tuple(value) if isinstance(value, (list, tuple)) else ()
    if not widths or not all(
        isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths
    ):
        raise ValueError(f"{name} must be a non-empty list of integer widths >= 1, got {value!r}")
    return widths
