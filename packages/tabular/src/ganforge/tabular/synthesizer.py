"""DPTabularGAN: DataFrame in, DataFrame out, with a stated privacy guarantee."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ganforge.core.checkpoint import CheckpointError, load_checkpoint
from ganforge.core.modelfile import ModelFile
from ganforge.core.settings import check_known
from ganforge.core.training.gan_model import GANModel, TrainingPlan
from ganforge.tabular.conditional import ConditionalSampler
from ganforge.tabular.config import RUN_ONLY, SynthConfig
from ganforge.tabular.data import PoissonBatches
from ganforge.tabular.dp_stats import gaussian_noise_std
from ganforge.tabular.marginals import PairwiseMarginals
from ganforge.tabular.model import DPConfig, TabularGAN
from ganforge.tabular.networks import Generator
from ganforge.tabular.privacy import (
    BudgetSplit,
    PrivacyReport,
    calibrate_noise,
    default_delta,
    gaussian_noise_multiplier,
    split_budget,
)
from ganforge.tabular.schema import (
    NUMERIC_KINDS,
    ColumnSpec,
    Schema,
    complete_schema,
    validate_frame,
)
from ganforge.tabular.transformer import DataTransformer, needs_delta, needs_statistics

CONDITIONAL_KINDS = ("categorical", "boolean")
DEFAULT_STATISTICS_SHARE = 0.1
MAX_STATISTICS_SHARE = 0.75  # DP-SGD needs the rest: below ~0.2 it cannot be accounted
MIN_ROWS = 8
PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Budget:
    """How a DP fit spends its (epsilon, delta): public arithmetic, no data."""

    split: BudgetSplit
    epsilon_transformer: float  # the transformer's statistics
    epsilon_frequencies: float  # the conditional vector's own histogram
    sample_rate: float


@dataclass
class Released:
    """What a fit computes from the rows before training: DP releases under DP.

    Kept in the training checkpoints so a resumed run reuses these releases
    instead of drawing (and paying for) new ones.
    """

    transformer: DataTransformer
    conditional: ConditionalSampler | None
    pairs: PairwiseMarginals | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "transformer": self.transformer.to_dict(),
            "conditional": None if self.conditional is None else self.conditional.to_dict(),
            "pairs": None if self.pairs is None else self.pairs.to_dict(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Released:
        conditional, pairs = state["conditional"], state["pairs"]
        return cls(
            DataTransformer.from_dict(state["transformer"]),
            None if conditional is None else ConditionalSampler.from_dict(conditional),
            None if pairs is None else PairwiseMarginals.from_dict(pairs),
        )


class DPTabularGAN(GANModel[SynthConfig]):
    """A differentially private tabular GAN (CTGAN-style encoding, DP-SGD discriminator).

    Example::

        synth = DPTabularGAN(epsilon=1.0).fit(df)
        synthetic = synth.sample(1000)          # same columns and dtypes as df
        print(synth.privacy.describe())

    Privacy: every random draw the guarantee rests on (statistics noise,
    Poisson batches, DP-SGD noise, marginal noise) comes from OS entropy
    (:mod:`ganforge.tabular.entropy`), never from ``seed``; nothing computed
    from real rows without noise is logged or saved. A DP fit is therefore
    not bit-reproducible by design, and a model file holds only DP outputs
    and public facts.

    Args:
        epsilon: total privacy budget, finite and > 0; ``None`` trains without DP.
        delta: total delta, below ``1 / n_rows`` (default ``min(1e-5, 0.1 / n_rows)``).
        schema: public column specs (``{name: ColumnSpec}`` or ``{name: dict}`` of the
            same fields, e.g. ``{"age": {"lower": 0, "upper": 120}}``); what it
            states costs no budget. What the fit infers beyond it (levels, bounds,
            missingness) is paid from the statistics share under DP: see
            :mod:`ganforge.tabular.transformer`.
        options: any other field of :class:`~ganforge.tabular.SynthConfig`, the
            settings' single source of truth (documented there).
    """

    kind = "tabular.DPTabularGAN"
    spec_type = SynthConfig
    file_excludes = RUN_ONLY  # the seed is not published; the device is the loader's

    def __init__(
        self,
        epsilon: float | None = 1.0,
        delta: float | None = None,
        *,
        schema: Schema | None = None,
        **options: Any,
    ) -> None:
        check_known(options, SynthConfig, "options")
        super().__init__(SynthConfig(epsilon=epsilon, delta=delta, **options))
        self.schema = dict(schema or {})
        self._clear()

    def _clear(self) -> None:
        self.transformer: DataTransformer | None = None
        self.generator: Generator | None = None
        self.conditional: ConditionalSampler | None = None
        self.privacy: PrivacyReport | None = None
        self._budget_spent: tuple[Budget | None, DPConfig | None, Released] | None = None

    @property
    def config(self) -> SynthConfig:
        """The settings (the spec)."""
        return self.spec

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        df: pd.DataFrame,
        progress: bool = False,
        *,
        run_dir: PathLike | None = None,
        checkpoint_every: int | None = None,
        resume_from: PathLike | None = None,
    ) -> DPTabularGAN:
        """Fit the transformer and train the GAN on ``df``.

        Args:
            df: the private table.
            progress: show a progress bar (it shows only DP or public values).
            run_dir: folder for training checkpoints; under DP they hold private
                training state (sampler and noise generator states): keep them as
                private as the data and never release them.
            checkpoint_every: iterations between checkpoints (needs ``run_dir``).
            resume_from: a checkpoint of a killed fit on the same table and settings;
                its released statistics are reused, so nothing is paid twice.
        """
        super().fit(
            df,
            progress=progress,
            run_dir=run_dir,
            checkpoint_every=checkpoint_every,
            resume_from=resume_from,
        )
        return self

    def plan(self, df: pd.DataFrame, resume_from: Path | None) -> TrainingPlan:
        """Release the statistics (or reuse a killed fit's), then the module and batches."""
        cfg = self.config
        n = self._check_table(df)
        batch = self.batch_size_for(n)
        specs = complete_schema(df, self.schema)
        steps = cfg.planned_steps(n, batch)
        budget = None if cfg.epsilon is None else self._budget(specs, n, batch)
        if resume_from is not None:
            released = _released_in(resume_from)
        else:
            released = self._release(df, specs, budget)
        rows = torch.from_numpy(released.transformer.transform(df))
        dp = None if budget is None else self._dp_config(budget, steps, released.pairs, batch)
        module = self._module(released, dp, batch)
        data = rows if dp is None else PoissonBatches(rows, dp.sample_rate)
        self._budget_spent = (budget, dp, released)
        return TrainingPlan(module, data, steps, batch, {"log_every": max(1, steps // 50)})

    def batch_size_for(self, n_rows: int) -> int:
        """The batch size a table of ``n_rows`` trains with: ``batch_size``, or a quarter
        of the rows when the table has fewer than two batches of them (public: n)."""
        size = self.config.batch_size
        if n_rows >= 2 * size:
            return size
        adapted = max(2, n_rows // 4)
        warnings.warn(
            f"the table has {n_rows} rows, fewer than two batches of {size}: "
            f"training with batch_size {adapted} (a quarter of the rows)",
            stacklevel=3,
        )
        return adapted

    def fitted(self, module: TabularGAN) -> None:
        budget, dp, released = self._budget_spent
        self.transformer, self.conditional = released.transformer, released.conditional
        self.generator = module.networks["G"].eval()
        self.privacy = _report(module, budget, dp, released, self.trainer.config.iterations)

    def _check_table(self, df: pd.DataFrame) -> int:
        """The table's row count, once the table and the settings fit together."""
        cfg = self.config
        validate_frame(df, min_rows=MIN_ROWS)
        n = len(df)
        if cfg.epsilon is not None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ValueError(
                "a DP fit runs in one process: under torchrun every process would draw its "
                "own Poisson batch from every row, and the accountant would count one"
            )
        if cfg.epsilon is not None and cfg.delta is not None and cfg.delta >= 1 / n:
            raise ValueError(
                f"delta {cfg.delta:g} is not below 1/n = {1 / n:.3g} for {n} rows: such a "
                "delta allows publishing a whole row; use a smaller one"
            )
        return n

    def _budget(self, specs: dict[str, ColumnSpec], n: int, batch: int) -> Budget:
        cfg = self.config
        delta = cfg.delta if cfg.delta is not None else default_delta(n)
        needing = [s for s in specs.values() if needs_statistics(s)]
        numeric = sum(s.kind in NUMERIC_KINDS for s in needing)
        # categorical columns whose frequencies need a histogram of their own (the
        # transformer's DP counts serve the others)
        conditioned = [
            s for s in specs.values() if s.kind in CONDITIONAL_KINDS and not needs_statistics(s)
        ]
        conditioned = conditioned if cfg.conditional else []
        columns = len(needing) + len(conditioned)
        share = statistics_share(cfg.statistics_share, cfg.epsilon, delta, n, numeric, columns)
        split = split_budget(
            cfg.epsilon,
            delta,
            share,
            bool(needing or conditioned),
            any(needs_delta(s) for s in needing),
        )
        per_column = split.epsilon_statistics / max(1, columns)
        return Budget(split, per_column * len(needing), per_column * len(conditioned), batch / n)

    def _release(
        self, df: pd.DataFrame, specs: dict[str, ColumnSpec], budget: Budget | None
    ) -> Released:
        """The statistics the model needs: exact without DP, else DP releases."""
        cfg = self.config
        if budget is None:
            transformer = DataTransformer.fit(df, specs, seed=cfg.seed)
        else:
            transformer = DataTransformer.fit(
                df,
                specs,
                epsilon=budget.epsilon_transformer,
                delta=budget.split.delta_statistics or None,
                seed=cfg.seed,
            )
        rows = transformer.transform(df)
        layout = transformer.categorical_layout()
        conditional = None
        if cfg.conditional and layout:
            epsilon = None if budget is None else budget.epsilon_frequencies
            conditional = ConditionalSampler.fit(
                rows, layout, epsilon, released=transformer.private_counts()
            )
        pairs = None
        if cfg.marginal_share > 0 and len(layout) >= 2:
            sigma = None
            if budget is not None:
                eps_pairs = cfg.marginal_share * budget.split.epsilon_training
                sigma = gaussian_noise_multiplier(eps_pairs, budget.split.delta_training)
            pairs = PairwiseMarginals.fit(rows, layout, sigma)
        return Released(transformer, conditional, pairs)

    def _dp_config(
        self, budget: Budget, steps: int, pairs: PairwiseMarginals | None, batch: int
    ) -> DPConfig:
        cfg, split = self.config, budget.split
        prior = [] if pairs is None else [(pairs.noise_multiplier, 1.0, 1)]
        sigma = cfg.noise_multiplier or calibrate_noise(
            split.epsilon_training, split.delta_training, budget.sample_rate, steps, prior
        )
        return DPConfig(
            sigma,
            cfg.max_grad_norm,
            budget.sample_rate,
            batch,
            split.epsilon_training,
            split.delta_training,
            prior,
        )

    def _module(self, released: Released, dp: DPConfig | None, batch: int) -> TabularGAN:
        cfg = self.config
        return TabularGAN(
            released.transformer.spans,
            batch,
            cfg.noise_dim,
            cfg.hidden,
            cfg.loss,
            cfg.lr,
            dp,
            d_hidden=cfg.d_hidden,
            generator_steps=cfg.steps_per_discriminator_step(),
            conditional=released.conditional,
            g_lr=cfg.g_lr,
            marginal_weight=cfg.marginal_weight,
            pairs=released.pairs,
            pair_weight=cfg.pair_weight,
            released=released.to_dict(),
        )

    # --------------------------------------------------------------- sample
    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows with the fitted columns and dtypes."""
        if self.generator is None or self.transformer is None:
            raise ValueError("the synthesizer is not fitted: call fit(df) or load(path) first")
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        generator = torch.Generator().manual_seed(self.config.seed + 1 if seed is None else seed)
        device = next(self.generator.parameters()).device
        chunks = []
        with torch.no_grad():
            for start in range(0, n, 4096):
                size = min(4096, n - start)
                z = torch.randn(size, self.config.noise_dim, generator=generator)
                cond = None
                if self.conditional is not None:
                    cond = self.conditional.sample(size, generator)[0].to(device)
                rows = self.generator(z.to(device), cond, hard=True, generator=generator)
                chunks.append(rows.cpu().numpy())
        return self.transformer.inverse_transform(np.concatenate(chunks).astype(np.float64))

    # ------------------------------------------------------------ save/load
    def save(self, path: PathLike) -> Path:
        """Write the fitted synthesizer atomically: DP outputs and public facts only
        (no seed, no random state, nothing computed from rows without noise)."""
        if self.generator is None or self.transformer is None or self.privacy is None:
            raise ValueError("the synthesizer is not fitted: nothing to save")
        return super().save(path)

    def file_state(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator}

    def file_extra(self) -> dict[str, Any]:
        conditional = None if self.conditional is None else self.conditional.to_dict()
        return {
            "transformer": json.dumps(self.transformer.to_dict()),
            "privacy": json.dumps(self.privacy.to_dict()),
            "conditional": json.dumps(conditional),
        }

    def restore(self, file: ModelFile, device: torch.device) -> None:
        self.schema = {}
        self._clear()
        self.transformer = DataTransformer.from_dict(json.loads(file.extra["transformer"]))
        self.privacy = PrivacyReport(**json.loads(file.extra["privacy"]))
        conditional = json.loads(file.extra["conditional"])
        if conditional is not None:
            self.conditional = ConditionalSampler.from_dict(conditional)
        cond_dim = 0 if self.conditional is None else self.conditional.width
        spec = self.config
        self.generator = Generator(
            spec.noise_dim, self.transformer.spans, spec.hidden, cond_dim=cond_dim
        )
        self.generator.load_state_dict(file.state["generator"])
        self.generator.to(device).eval()

    @classmethod
    def load(cls, path: PathLike, device: str | torch.device = "auto") -> DPTabularGAN:
        """Load a synthesizer written by :meth:`save` (safe: ``weights_only=True``)."""
        return super().load(path, device)


def statistics_share(
    share: float | None, epsilon: float, delta: float, n_rows: int, numeric: int, columns: int
) -> float:
    """The share of epsilon for statistics: ``share`` when given; else
    ``DEFAULT_STATISTICS_SHARE``, raised (to at most ``MAX_STATISTICS_SHARE``) until
    the Gaussian rounds of the ``numeric`` columns have a noise std per count of at
    most ``n_rows / 40``, so that small tables find their levels and ranges. Public
    arithmetic: rows, columns and budget."""
    if share is not None:
        return share
    if not numeric:
        return DEFAULT_STATISTICS_SHARE
    candidates = (DEFAULT_STATISTICS_SHARE, 0.2, 0.3, 0.4, 0.5, MAX_STATISTICS_SHARE)
    for candidate in candidates:
        eps_numeric = epsilon * candidate * numeric / columns
        delta_numeric = delta / 2 * numeric / columns
        if gaussian_noise_std(eps_numeric, delta_numeric, numeric) <= n_rows / 40:
            return candidate
    return MAX_STATISTICS_SHARE


def _released_in(checkpoint: PathLike) -> Released:
    """The statistics a killed fit released, from its training checkpoint."""
    extra = load_checkpoint(checkpoint).get("extra", {})
    if "released" not in extra:
        raise CheckpointError(f"{checkpoint} is not a checkpoint of a tabular fit")
    return Released.from_dict(json.loads(extra["released"]))


def _report(
    module: TabularGAN, budget: Budget | None, dp: DPConfig | None, released: Released, steps: int
) -> PrivacyReport:
    if budget is None or dp is None:
        return PrivacyReport(None, None, 0.0, 0.0, None, None, None, None, None, steps, "none")
    eps_train = module.epsilon_spent()
    conditional, pairs = released.conditional, released.pairs
    eps_frequencies = 0.0 if conditional is None else conditional.epsilon
    eps_statistics = released.transformer.epsilon_spent + eps_frequencies
    split = budget.split
    return PrivacyReport(
        epsilon=eps_statistics + eps_train,
        delta=split.delta_statistics + split.delta_training,
        epsilon_statistics=eps_statistics,
        delta_statistics=split.delta_statistics,
        epsilon_training=eps_train,
        delta_training=split.delta_training,
        noise_multiplier=dp.noise_multiplier,
        max_grad_norm=dp.max_grad_norm,
        sample_rate=dp.sample_rate,
        steps=sum(h[2] for h in module.privacy_history),
        accountant="rdp",
        epsilon_frequencies=eps_frequencies,
        marginals_noise_multiplier=None if pairs is None else pairs.noise_multiplier,
    )
