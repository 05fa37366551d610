"""The training recipe: a GANModule whose discriminator is trained with DP-SGD (Opacus).

One iteration is one discriminator step then one generator step.

Discriminator step (the only one that reads real rows): the Poisson batch of
real rows and a batch of detached fakes go through the discriminator in *one*
forward pass and give one loss per row. Opacus' ghost clipping
(``GradSampleModuleFastGradientClipping``) clips each row's gradient to
``max_grad_norm`` without materialising it: a first backward pass of the summed
loss gives every row's gradient norm from the layers' activations and output
gradients, and the step returns the loss with each row weighted by
``min(1, max_grad_norm / norm)``, whose gradient (the trainer's backward) is the
sum of the clipped per-row gradients. ``DPOptimizerFastGradientClipping`` adds
Gaussian noise of standard deviation ``noise_multiplier * max_grad_norm`` once;
the accountant records one step at rate ``q``. Fakes ride in the same clipped,
noised step, so they are never charged as a second step (the double charging of
Opacus issues #31 / #418).

Generator step: fakes through the discriminator with its parameters frozen and
Opacus' hooks off, so no per-sample state leaks into the next private step.

Conditional vector and released statistics: the generator also gets a
condition (CTGAN's training-by-sampling, adapted to Poisson sampling: real
rows are conditioned on one of their own categories) and losses against
statistics released before training (the conditional frequencies, the
two-way marginals); both are post-processing of DP releases, free of cost.

Lipschitz control without a gradient penalty: Opacus cannot take per-sample
gradients of a double backward, so the Wasserstein loss uses weight clipping
(DP-WGAN, Xie et al. 2018) and the default non-saturating loss needs none.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from opacus.accountants import RDPAccountant
from opacus.grad_sample import GradSampleModuleFastGradientClipping
from opacus.optimizers import DPOptimizerFastGradientClipping

from ganforge.core.losses import get_loss
from ganforge.core.regularizers import weight_clip
from ganforge.core.training import GANModule, Phase, Step, StepContext
from ganforge.tabular.conditional import ConditionalSampler
from ganforge.tabular.entropy import private_torch_generator
from ganforge.tabular.marginals import PairwiseMarginals
from ganforge.tabular.networks import Discriminator, Generator
from ganforge.tabular.privacy import rdp_epsilon
from ganforge.tabular.transformer import Span

# Opacus records per-sample gradient norms with full backward hooks; the discriminator's
# inputs (rows) need no gradient, so torch warns on every step. The hooks read the
# gradients of the module outputs, which is what they need: the warning is noise.
warnings.filterwarnings(
    "ignore",
    message="Full backward hook is firing when gradients are computed with respect to module",
    category=UserWarning,
)

LOSSES = ("non_saturating", "wasserstein")


class DPConfig:
    """DP-SGD settings of the discriminator."""

    def __init__(
        self,
        noise_multiplier: float,
        max_grad_norm: float,
        sample_rate: float,
        expected_batch_size: int,
        max_epsilon: float,
        delta: float,
        prior: Sequence[tuple[float, float, int]] = (),
    ) -> None:
        self.noise_multiplier, self.max_grad_norm = noise_multiplier, max_grad_norm
        self.sample_rate, self.expected_batch_size = sample_rate, expected_batch_size
        self.max_epsilon, self.delta = max_epsilon, delta
        # releases made before training ((noise_multiplier, sample_rate, steps) entries)
        # that share the budget in the same RDP accountant
        self.prior = [tuple(p) for p in prior]


def max_steps_within_budget(dp: DPConfig, limit: int = 10**8) -> int:
    """The most steps at ``(sigma, q)`` whose RDP epsilon stays within ``dp.max_epsilon``.

    Found once by bisection on Opacus' accountant (epsilon grows with the steps),
    so the per-iteration check is a comparison rather than an RDP evaluation.
    """
    within = lambda steps: (
        rdp_epsilon([*dp.prior, (dp.noise_multiplier, dp.sample_rate, steps)], dp.delta)
        <= dp.max_epsilon
    )
    if not within(1):
        return 0
    low, high = 1, 2
    while high < limit and within(high):
        low, high = high, high * 2
    if high >= limit:
        return limit
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if within(middle) else (low, middle)
    return low


class TabularGAN(GANModule):
    """Generator + discriminator on encoded rows, optionally with a DP discriminator.

    Args:
        spans: the data transformer's output layout.
        batch_size: fake rows per step (and the expected real batch under DP).
        noise_dim: generator noise size.
        hidden: hidden widths of both networks.
        loss: ``"non_saturating"`` or ``"wasserstein"`` (weight-clipped).
        lr: Adam learning rate of both networks.
        dp: DP-SGD settings, or ``None`` to train without privacy.
        clip_value: weight clipping of the Wasserstein critic.
        d_hidden: discriminator widths (default ``hidden``); a small one keeps
            the DP noise (whose norm grows with the parameter count) low.
        generator_steps: generator updates per discriminator update; they read
            no real rows, so they cost no privacy.
        conditional: CTGAN's conditional vector (``None``: unconditional). The
            generator gets a condition with its noise and a cross-entropy loss
            for producing its category; the discriminator sees rows with their
            conditions (real rows: their own category in a random column).
        g_lr: learning rate of the generator (default ``lr``); its steps are free of
            privacy cost, so it may move faster than the noisy discriminator.
        dropout: dropout of the discriminator.
        marginal_weight: weight of the generator's loss pulling each categorical
            marginal to the conditional vector's frequencies (needs ``conditional``).
        pairs: released two-way marginals the generator is trained to match.
        pair_weight: weight of that loss.
        released: the statistics released before training (JSON-able), kept in
            the checkpoints so a resumed run reuses them instead of paying again.
    """

    def __init__(
        self,
        spans: Sequence[Span],
        batch_size: int,
        noise_dim: int = 64,
        hidden: Sequence[int] = (128, 128),
        loss: str = "non_saturating",
        lr: float = 2e-4,
        dp: DPConfig | None = None,
        clip_value: float = 0.05,
        d_hidden: Sequence[int] | None = None,
        generator_steps: int = 1,
        conditional: ConditionalSampler | None = None,
        g_lr: float | None = None,
        dropout: float = 0.2,
        marginal_weight: float = 0.0,
        pairs: PairwiseMarginals | None = None,
        pair_weight: float = 1.0,
        released: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")
        self.batch_size, self.noise_dim, self.loss, self.lr = batch_size, noise_dim, loss, lr
        self.dp, self.clip_value, self.generator_steps = dp, clip_value, generator_steps
        self.conditional, self.g_lr = conditional, lr if g_lr is None else g_lr
        self.marginal_weight, self.pairs, self.pair_weight = marginal_weight, pairs, pair_weight
        cond_dim = 0 if conditional is None else conditional.width
        width = sum(s.width for s in spans) + cond_dim
        discriminator = Discriminator(width, hidden if d_hidden is None else d_hidden, dropout)
        if dp is not None:
            discriminator = GradSampleModuleFastGradientClipping(
                discriminator, loss_reduction="sum", max_grad_norm=dp.max_grad_norm
            )
        generator = Generator(noise_dim, spans, hidden, cond_dim=cond_dim)
        self.networks = {"G": generator, "D": discriminator}
        self.accountant = RDPAccountant() if dp is not None else None
        self.max_steps = None if dp is None else max_steps_within_budget(dp)
        self.noise_generator: torch.Generator | None = None  # built with the DP optimizer
        self.released = dict(released or {})

    # ------------------------------------------------------------ optimizers
    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        g_opt = torch.optim.Adam(self.networks["G"].parameters(), self.g_lr, betas=(0.5, 0.9))
        d_opt = torch.optim.Adam(self.networks["D"].parameters(), self.lr, betas=(0.5, 0.9))
        if self.dp is not None:
            device = next(self.networks["D"].parameters()).device
            self.noise_generator = private_torch_generator(device)
            d_opt = DPOptimizerFastGradientClipping(
                d_opt,
                noise_multiplier=self.dp.noise_multiplier,
                max_grad_norm=self.dp.max_grad_norm,
                expected_batch_size=self.dp.expected_batch_size,
                loss_reduction="sum",
                generator=self.noise_generator,
                secure_mode=True,
            )
            d_opt.attach_step_hook(
                self.accountant.get_optimizer_hook_fn(sample_rate=self.dp.sample_rate)
            )
        return {"G": g_opt, "D": d_opt}

    def phases(self) -> list[Phase]:
        after = self._clip_weights if self.loss == "wasserstein" else None
        return [
            Phase(
                "gan",
                [
                    # under DP the step's values come from real rows without noise
                    Step("D", self.d_step, "D", after=after, log_outputs=self.dp is None),
                    Step("G", self.g_step, "G", repeat=self.generator_steps, needs_batch=False),
                ],
            )
        ]

    # ----------------------------------------------------------------- steps
    def d_step(self, real: torch.Tensor, ctx: StepContext) -> dict[str, Any]:
        """One discriminator update on a (Poisson) batch of real rows and detached fakes."""
        self._per_sample_hooks(True)
        with torch.no_grad():
            fake, fake_cond, _ = self._generate(ctx)
        if self.conditional is not None:
            real_cond = self.conditional.from_rows(real, ctx.generator())
            real, fake = torch.cat([real, real_cond], 1), torch.cat([fake, fake_cond], 1)
        scores = self.networks["D"](torch.cat([real, fake]))
        real_scores, fake_scores = scores[: len(real)], scores[len(real) :]
        objective = get_loss(self.loss)
        if self.dp is not None:  # one loss per row (reals first), each row's gradient clipped
            per_row = objective.discriminator(real_scores, fake_scores, reduction="none")
            loss = self._clipped_loss(per_row)
        else:
            loss = objective.discriminator(real_scores, fake_scores)
        return {
            "loss": loss,
            "real_rows": float(len(real)),
            "real_score": real_scores.detach().mean() if len(real) else 0.0,
            "fake_score": fake_scores.detach().mean(),
        }

    def g_step(self, _: None, ctx: StepContext) -> dict[str, Any]:
        """One generator update through a frozen discriminator (never sees real rows)."""
        self._per_sample_hooks(False)
        fake, cond, cond_loss = self._generate(ctx)
        if cond is not None:
            fake = torch.cat([fake, cond], 1)
        adversarial = get_loss(self.loss).generator(self.networks["D"](fake))
        return {
            "loss": adversarial + cond_loss,
            "adversarial": adversarial,
            "statistics": cond_loss,
        }

    def _generate(self, ctx: StepContext) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Fakes, their conditions (or ``None``) and the generator's losses on the
        released statistics (conditional cross-entropy, marginals)."""
        generator = self.networks["G"]
        z = ctx.randn(self.batch_size, self.noise_dim)
        cond, loss = None, z.new_zeros(())
        if self.conditional is not None:
            cond, position = self.conditional.sample(self.batch_size, ctx.generator())
            cond = cond.to(z.device)
        logits = generator.logits(z, cond)
        if self.conditional is not None:
            loss = loss + self.conditional.cross_entropy(logits, position)
            if self.marginal_weight:
                loss = loss + self.marginal_weight * self.conditional.marginal_loss(logits)
        if self.pairs is not None and self.pair_weight:
            loss = loss + self.pair_weight * self.pairs.loss(logits)
        return generator.activate(logits), cond, loss

    def _clipped_loss(self, per_row: torch.Tensor) -> torch.Tensor:
        """Ghost clipping's first pass: the loss whose gradient is the sum of the per-row
        gradients, each clipped to ``max_grad_norm``.

        The backward pass of the summed loss lets Opacus' norm samplers compute every
        row's gradient norm (no per-row gradient is materialised); its parameter
        gradients are discarded. The hooks are then turned off, so the trainer's
        backward of the returned loss is an ordinary one (as in Opacus'
        ``DPTensorFastGradientClipping.backward``, split at the point where the
        trainer takes over). The clipping weights are constants of that backward.
        """
        discriminator = self.networks["D"]
        per_row.sum().backward(retain_graph=True)
        weights = discriminator.get_clipping_coef().to(per_row.device).detach()
        discriminator.zero_grad(set_to_none=True)
        discriminator.disable_hooks()
        return (weights * per_row).sum()

    def _per_sample_hooks(self, on: bool) -> None:
        """Opacus' per-sample hooks: on for the DP step, off for the generator's (the
        trainer freezes the discriminator's parameters there; the hooks are Opacus' own)."""
        discriminator = self.networks["D"]
        if isinstance(discriminator, GradSampleModuleFastGradientClipping):
            (discriminator.enable_hooks if on else discriminator.disable_hooks)()

    def _clip_weights(self) -> None:
        weight_clip(self.networks["D"], self.clip_value)

    # -------------------------------------------------------------- privacy
    @property
    def privacy_history(self) -> list[tuple[float, float, int]]:
        return [] if self.accountant is None else list(self.accountant.history)

    def epsilon_spent(self) -> float:
        """Epsilon so far at the training delta: DP-SGD and the prior releases (RDP)."""
        if self.accountant is None:
            return 0.0
        return rdp_epsilon([*self.dp.prior, *self.accountant.history], self.dp.delta)

    def should_stop(self, iteration: int) -> bool:
        """Stop when one more discriminator step would exceed the training budget."""
        if self.dp is None:
            return False
        return sum(h[2] for h in self.accountant.history) + 1 > self.max_steps

    def extra_state(self) -> dict[str, Any]:
        """The accountant, the released statistics and (under DP) the noise generator's
        state: private training state, for checkpoints only (never a model file)."""
        state: dict[str, Any] = {
            "privacy_history": [list(h) for h in self.privacy_history],
            "released": json.dumps(self.released),
        }
        if self.noise_generator is not None:
            state["noise_generator"] = self.noise_generator.get_state()
        return state

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore the accountant and the noise generator for a resume; after a rollback
        keep both moving forward (a rollback refunds no privacy and replays no noise)."""
        if self.accountant is None:
            return
        saved = [tuple(h) for h in state.get("privacy_history", [])]
        spent = sum(h[2] for h in self.accountant.history)
        if sum(h[2] for h in saved) < spent:
            return
        self.accountant.history = saved
        if self.noise_generator is not None and "noise_generator" in state:
            self.noise_generator.set_state(state["noise_generator"].cpu())
