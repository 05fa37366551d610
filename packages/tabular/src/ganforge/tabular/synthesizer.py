"""DPTabularGAN: DataFrame in, DataFrame out, with a stated privacy guarantee."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ganforge.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ganforge.core.training import Trainer, TrainerConfig
from ganforge.tabular.conditional import ConditionalSampler
from ganforge.tabular.data import PoissonBatches
from ganforge.tabular.marginals import PairwiseMarginals
from ganforge.tabular.model import DPConfig, TabularGAN
from ganforge.tabular.networks import Generator
from ganforge.tabular.privacy import (
    PrivacyReport,
    calibrate_noise,
    default_delta,
    gaussian_noise_multiplier,
    split_budget,
)
from ganforge.tabular.schema import ColumnSpec, Schema, complete_schema, validate_frame
from ganforge.tabular.transformer import DataTransformer, needs_delta, needs_statistics

FORMAT = "ganforge-tabular-v1"
CONDITIONAL_KINDS = ("categorical", "boolean")


@dataclass
class SynthConfig:
    """Hyper-parameters of :class:`DPTabularGAN` (see its docstring)."""

    epsilon: float | None = 1.0
    delta: float | None = None
    epochs: float = 30.0
    batch_size: int = 256
    max_grad_norm: float = 1.0
    noise_multiplier: float | None = None
    statistics_share: float = 0.1
    loss: str = "non_saturating"
    lr: float = 2e-4
    noise_dim: int = 64
    hidden: tuple[int, ...] = (128, 128)
    d_hidden: tuple[int, ...] | None = None
    generator_steps: int = 3
    conditional: bool = True
    g_lr: float | None = None
    marginal_weight: float = 0.0
    marginal_share: float = 0.5
    pair_weight: float = 10.0
    seed: int = 0
    device: str = "cpu"


class DPTabularGAN:
    """A differentially private tabular GAN (CTGAN-style encoding, DP-SGD discriminator).

    Example::

        synth = DPTabularGAN(epsilon=1.0).fit(df)
        synthetic = synth.sample(1000)          # same columns and dtypes as df
        print(synth.privacy.describe())

    Args:
        epsilon: total privacy budget (statistics + training); ``None`` trains
            without differential privacy (a CTGAN-like model, for comparison).
        delta: total delta; default ``min(1e-5, 0.1 / n_rows)`` (below ``1 / n``).
        epochs: planned passes over the data (``epochs * n / batch_size``
            discriminator steps); with ``noise_multiplier=None`` the noise is
            calibrated so that exactly this many steps spend the training budget.
        batch_size: expected rows per Poisson batch (and fakes per step).
        max_grad_norm: per-row gradient clipping norm ``C``.
        noise_multiplier: fix ``sigma`` instead; training then runs until the
            accountant says one more step would exceed the budget (or the epochs end).
        statistics_share: share of epsilon spent on statistics when some are
            needed: the transformer's (bounds, modes, categories) for columns the
            schema does not give, and the category frequencies of the conditional
            vector; split evenly per column (none is spent when nothing is needed).
        loss: ``"non_saturating"`` or ``"wasserstein"`` (weight clipping).
        lr, noise_dim, hidden: optimisation and network sizes.
        d_hidden: discriminator widths (default ``hidden``); smaller means less DP noise.
        generator_steps: generator updates per discriminator update (free of privacy cost;
            more of them fit the released statistics more closely).
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
        seed: seeds the DP noise of the statistics, the batches and the networks.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        schema: public column specs (``{name: ColumnSpec}``); what it states costs no budget.
    """

    def __init__(
        self,
        epsilon: float | None = 1.0,
        delta: float | None = None,
        *,
        schema: Schema | None = None,
        **options: Any,
    ) -> None:
        self.config = SynthConfig(epsilon=epsilon, delta=delta, **options)
        self.schema = dict(schema or {})
        if epsilon is not None and not epsilon > 0:
            raise ValueError(f"epsilon must be > 0 (or None for no privacy), got {epsilon}")
        if delta is not None and not 0 < delta < 1:
            raise ValueError(f"delta must be in (0, 1), got {delta}")
        if self.config.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {self.config.batch_size}")
        self.transformer: DataTransformer | None = None
        self.generator: Generator | None = None
        self.conditional: ConditionalSampler | None = None
        self.privacy: PrivacyReport | None = None
        self.history: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame, progress: bool = False) -> DPTabularGAN:
        """Fit the transformer and train the GAN on ``df``; nothing is written to disk."""
        cfg = self.config
        validate_frame(df)
        n = len(df)
        if n < 2 * cfg.batch_size:
            raise ValueError(
                f"the table has {n} rows, too few for batch_size {cfg.batch_size}: "
                f"use at most {max(1, n // 2)} or more rows"
            )
        specs = complete_schema(df, self.schema)
        steps = max(1, math.ceil(cfg.epochs * n / cfg.batch_size))
        if cfg.epsilon is None:
            transformer = DataTransformer.fit(df, specs, seed=cfg.seed)
            encoded = transformer.transform(df)
            conditional = self._conditional(transformer, encoded, None)
            pairs = self._pairs(transformer, encoded, None)
            module = self._module(transformer, None, conditional, pairs)
            self._train(module, torch.from_numpy(encoded), steps, progress)
            self.privacy = PrivacyReport(
                None, None, 0.0, 0.0, None, None, None, None, None, steps, "none"
            )
        else:
            self._fit_private(df, specs, n, steps, progress)
        return self

    def _fit_private(
        self, df: pd.DataFrame, specs: dict[str, ColumnSpec], n: int, steps: int, progress: bool
    ) -> None:
        cfg = self.config
        delta = cfg.delta if cfg.delta is not None else default_delta(n)
        needing = [s for s in specs.values() if needs_statistics(s)]
        # categorical columns whose frequencies need a histogram of their own (the
        # transformer's DP counts serve the others)
        conditioned = [
            s for s in specs.values() if s.kind in CONDITIONAL_KINDS and not needs_statistics(s)
        ]
        conditioned = conditioned if cfg.conditional else []
        split = split_budget(
            cfg.epsilon,
            delta,
            cfg.statistics_share,
            bool(needing or conditioned),
            any(needs_delta(s) for s in needing),
        )
        per_column = split.epsilon_statistics / max(1, len(needing) + len(conditioned))
        transformer = DataTransformer.fit(
            df,
            specs,
            epsilon=per_column * len(needing),
            delta=split.delta_statistics or None,
            seed=cfg.seed,
        )
        rows = transformer.transform(df)
        conditional = self._conditional(transformer, rows, per_column * len(conditioned))
        sample_rate = cfg.batch_size / n
        prior, pairs = [], None
        if cfg.marginal_share > 0 and len(transformer.categorical_layout()) >= 2:
            eps_pairs = cfg.marginal_share * split.epsilon_training
            sigma_pairs = gaussian_noise_multiplier(eps_pairs, split.delta_training)
            prior, pairs = [(sigma_pairs, 1.0, 1)], self._pairs(transformer, rows, sigma_pairs)
        sigma = cfg.noise_multiplier or calibrate_noise(
            split.epsilon_training, split.delta_training, sample_rate, steps, prior
        )
        dp = DPConfig(
            sigma,
            cfg.max_grad_norm,
            sample_rate,
            cfg.batch_size,
            split.epsilon_training,
            split.delta_training,
            prior,
        )
        module = self._module(transformer, dp, conditional, pairs)
        batches = PoissonBatches(torch.from_numpy(rows), sample_rate, cfg.seed)
        self._train(module, batches, steps, progress)
        eps_train = module.epsilon_spent()
        eps_frequencies = 0.0 if conditional is None else conditional.epsilon
        eps_statistics = transformer.epsilon_spent + eps_frequencies
        self.privacy = PrivacyReport(
            epsilon=eps_statistics + eps_train,
            delta=split.delta_statistics + split.delta_training,
            epsilon_statistics=eps_statistics,
            delta_statistics=split.delta_statistics,
            epsilon_training=eps_train,
            delta_training=split.delta_training,
            noise_multiplier=sigma,
            max_grad_norm=cfg.max_grad_norm,
            sample_rate=sample_rate,
            steps=sum(h[2] for h in module.privacy_history),
            accountant="rdp",
            epsilon_frequencies=eps_frequencies,
            marginals_noise_multiplier=None if pairs is None else pairs.noise_multiplier,
        )

    def _conditional(
        self, transformer: DataTransformer, rows: np.ndarray, epsilon: float | None
    ) -> ConditionalSampler | None:
        """The conditional vector's frequencies: exact (``epsilon=None``) or epsilon-DP."""
        layout = transformer.categorical_layout()
        if not self.config.conditional or not layout:
            return None
        rng = np.random.default_rng([self.config.seed, 1])
        released = transformer.private_counts()
        return ConditionalSampler.fit(rows, layout, epsilon, rng, released)

    def _pairs(
        self, transformer: DataTransformer, rows: np.ndarray, noise_multiplier: float | None
    ) -> PairwiseMarginals | None:
        """Two-way marginals: exact (``noise_multiplier=None``) or a Gaussian release."""
        layout = transformer.categorical_layout()
        if not self.config.marginal_share > 0 or len(layout) < 2:
            return None
        rng = np.random.default_rng([self.config.seed, 2])
        return PairwiseMarginals.fit(rows, layout, noise_multiplier, rng)

    def _module(
        self,
        transformer: DataTransformer,
        dp: DPConfig | None,
        conditional: ConditionalSampler | None,
        pairs: PairwiseMarginals | None = None,
    ) -> TabularGAN:
        cfg = self.config
        self.transformer, self.conditional = transformer, conditional
        return TabularGAN(
            transformer.spans,
            cfg.batch_size,
            cfg.noise_dim,
            cfg.hidden,
            cfg.loss,
            cfg.lr,
            dp,
            d_hidden=cfg.d_hidden,
            generator_steps=cfg.generator_steps,
            conditional=conditional,
            g_lr=cfg.g_lr,
            marginal_weight=cfg.marginal_weight,
            pairs=pairs,
            pair_weight=cfg.pair_weight,
        )

    def _train(self, module: TabularGAN, data: Any, steps: int, progress: bool) -> None:
        cfg = self.config
        config = TrainerConfig(
            iterations=steps,
            batch_size=cfg.batch_size,
            seed=cfg.seed,
            device=cfg.device,
            log_every=max(1, steps // 50),
            progress=progress,
            tensorboard=False,
        )
        trainer = Trainer(module, config).fit(data)
        self.history = list(trainer.history)
        self.generator = module.networks["G"].cpu().eval()

    # --------------------------------------------------------------- sample
    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows with the fitted columns and dtypes."""
        if self.generator is None or self.transformer is None:
            raise ValueError("the synthesizer is not fitted: call fit(df) or load(path) first")
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        generator = torch.Generator().manual_seed(self.config.seed + 1 if seed is None else seed)
        chunks = []
        with torch.no_grad():
            for start in range(0, n, 4096):
                size = min(4096, n - start)
                z = torch.randn(size, self.config.noise_dim, generator=generator)
                cond = None
                if self.conditional is not None:
                    cond = self.conditional.sample(size, generator)[0]
                chunks.append(self.generator(z, cond, hard=True, generator=generator).numpy())
        return self.transformer.inverse_transform(np.concatenate(chunks).astype(np.float64))

    # ------------------------------------------------------------ save/load
    def save(self, path: str | Path) -> Path:
        """Write the fitted synthesizer atomically (tensors and JSON text only)."""
        if self.generator is None or self.transformer is None or self.privacy is None:
            raise ValueError("the synthesizer is not fitted: nothing to save")
        config = asdict(self.config)
        config["hidden"] = list(config["hidden"])
        config["d_hidden"] = None if config["d_hidden"] is None else list(config["d_hidden"])
        state = {
            "format": FORMAT,
            "config": json.dumps(config),
            "transformer": json.dumps(self.transformer.to_dict()),
            "privacy": json.dumps(self.privacy.to_dict()),
            "generator": self.generator.state_dict(),
            "conditional": json.dumps(
                None if self.conditional is None else self.conditional.to_dict()
            ),
        }
        return save_checkpoint(path, state)

    @classmethod
    def load(cls, path: str | Path) -> DPTabularGAN:
        """Load a synthesizer written by :meth:`save` (safe: ``weights_only=True``)."""
        state = load_checkpoint(path)
        if state.get("format") != FORMAT:
            raise CheckpointError(f"{path} is not a ganforge tabular synthesizer")
        config = json.loads(state["config"])
        config["hidden"] = tuple(config["hidden"])
        config["d_hidden"] = None if config["d_hidden"] is None else tuple(config["d_hidden"])
        synth = cls(config.pop("epsilon"), config.pop("delta"), **config)
        synth.transformer = DataTransformer.from_dict(json.loads(state["transformer"]))
        synth.privacy = PrivacyReport(**json.loads(state["privacy"]))
        conditional = json.loads(state.get("conditional", "null"))
        if conditional is not None:
            synth.conditional = ConditionalSampler.from_dict(conditional)
        cond_dim = 0 if synth.conditional is None else synth.conditional.width
        synth.generator = Generator(
            config["noise_dim"], synth.transformer.spans, config["hidden"], cond_dim=cond_dim
        )
        synth.generator.load_state_dict(state["generator"])
        synth.generator.eval()
        return synth
