"""Stepwise TimeGAN for return paths: a stochastic supervisor and step-by-step generation.

The paper's sampling path ``R(S(G(z)))`` passes the generator's latents
through the supervisor, a deterministic next-step predictor. For log returns,
which are close to unpredictable, that predictor's output is nearly the
conditional mean: it loses the tails and volatility clustering the
autoencoder keeps (``bench/finance_facts.py`` records the stages). This mode
keeps TimeGAN's five networks and three phases, and makes the supervised
next-step loss a likelihood instead:

- the **embedder** ``E`` reads returns and keeps a state; ``h_t = E(x_<=t)``;
- the **supervisor** ``S`` maps the state and the last return (and its size)
  to the next step's distribution, ``x_{t+1} = mu_t + sigma_t * eps`` with
  skewed Student-t innovations whose degrees of freedom and skew also follow
  the state (a neural GARCH with conditional skew-t innovations on the
  embedder's state, as in Hansen's autoregressive conditional density), trained
  on real paths by negative log-likelihood: the stochastic form of the paper's
  next-step loss. It learns the dynamics: volatility clustering, the leverage
  effect, and a shape that changes with them (S&P 500's standardised residuals
  have skewness -0.96 in calm days and -0.16 in turbulent ones; one global
  shape made every path's skewness that of the calm days);
- the **generator** ``G`` reads the noise and adds a learned shape to the
  innovations (it starts at zero; the adversarial loss and the first moment
  train it: skew, and the mean the robust Student-t location misses). It
  does not see the state, so it cannot undo the supervisor's dynamics;
- generation is step by step: ``x_t = mu + sigma * (eps_t + G(z)_t)``, then
  ``E`` reads ``x_t`` to advance the state, along paths of any length (from day
  ``seq_len`` on, the states are re-read each day from the last half window, so
  they never hold more history than training gave them);
- the first day, which has no past, comes from a Gaussian mixture over all its
  features together, fitted to the training windows' first days
  (:mod:`ganforge.finance.start`; one per regime for windows labelled with
  regimes, each holding two windows or more; none for a conditioning series):
  the supervisor's first-day draw is independent per feature, and a window's
  levels (its price, its volume) go together;
- the **discriminator** tells ``E(x)`` from ``E(x^)``, and the recovery keeps
  the embedder's latents decodable as in phase 1 of the paper.

Losses: phase 1 ``10 * sqrt(MSE)`` (the paper's); phase 2 the likelihood;
joint phase, per iteration: two generator steps on ``adv + 100 * drift``, one
supervisor step on the likelihood, one embedder step on
``10 * sqrt(MSE) + 0.1 * NLL``, and the discriminator as in the paper with its
0.15 threshold. The supervisor has its own optimizer, so the adversarial
gradient never reaches the dynamics: the paper's moment loss, which matches
each day's spread across a batch, would flatten the volatility (see
:func:`drift_loss`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F

from ganforge.core.losses import non_saturating_d_loss, non_saturating_g_loss
from ganforge.core.training import Phase, Step, StepContext
from ganforge.finance.config import TimeGANConfig
from ganforge.finance.innovations import skewed_t_mean, skewed_t_nll, skewed_t_noise
from ganforge.finance.module import AUTOENCODER, TimeGANModule, split_batch
from ganforge.finance.networks import RecurrentBlock, RecurrentState
from ganforge.finance.start import StartMixture

MIN_SCALE = 1e-3
MIN_DOF = 2.5
INITIAL_RAW_DOF = 5.0  # about 7.5 degrees of freedom
START_STREAM = 1  # the first days' noise: seeded this far after the sampling seed
OPTIMIZED = {
    "E": AUTOENCODER,
    "G": ("generator",),
    "S": ("supervisor",),
    "D": ("discriminator",),
}


def build_stepwise_networks(
    feature_dim: int, hidden_dim: int, num_layers: int, cell: str, cond_dim: int
) -> dict[str, torch.nn.Module]:
    """The five networks of the stepwise mode (see the module docstring) and the start
    mixture (:mod:`ganforge.finance.start`, fitted with the data)."""
    common: dict[str, Any] = {"cell": cell, "cond_dim": cond_dim}
    generator = RecurrentBlock(
        feature_dim, hidden_dim, feature_dim, num_layers, sigmoid=False, **common
    )
    torch.nn.init.zeros_(generator.linear.weight)  # the shaping starts at zero
    torch.nn.init.zeros_(generator.linear.bias)
    supervisor = RecurrentBlock(
        hidden_dim + 2 * feature_dim,
        hidden_dim,
        4 * feature_dim,
        max(num_layers - 1, 1),
        sigmoid=False,
        **common,
    )
    # the innovations' shape, per feature: degrees of freedom 2.5 + softplus(raw), skew exp(raw)
    supervisor.register_parameter(
        "raw_dof", torch.nn.Parameter(torch.full((feature_dim,), INITIAL_RAW_DOF))
    )
    supervisor.register_parameter("raw_log_skew", torch.nn.Parameter(torch.zeros(feature_dim)))
    with torch.no_grad():  # the shape's per-step offsets start at zero: the global shape
        supervisor.linear.weight[2 * feature_dim :].zero_()
        supervisor.linear.bias[2 * feature_dim :].zero_()
    return {
        "embedder": RecurrentBlock(feature_dim, hidden_dim, hidden_dim, num_layers, **common),
        "recovery": RecurrentBlock(
            hidden_dim, hidden_dim, feature_dim, num_layers, sigmoid=False, **common
        ),
        "generator": generator,
        "supervisor": supervisor,
        "discriminator": RecurrentBlock(
            hidden_dim, hidden_dim, 1, num_layers, sigmoid=False, **common
        ),
        "start": StartMixture(feature_dim, regimes=max(1, cond_dim)),
    }


def drift_loss(expected: torch.Tensor) -> torch.Tensor:
    """``mean|mean(E[x^])|`` over features, ``expected`` pooled over windows and days.

    ``expected`` holds each generated step's expectation given its past (the
    innovations' noise averaged out exactly); the target is 0, the mean of the
    training data in model units (both return scalers centre it). The paper's
    moment loss also matches each day's standard deviation across the batch;
    with volatility clustering a batch's spread depends on which periods it
    holds, and pulling every synthetic batch to it removes the clustering. The
    spread is left to the likelihood; the first moment stays, because the
    skewed Student-t location is a robust centre, not the mean.
    """
    return expected.mean(dim=(0, 1)).abs().mean()


def regime_labels(condition: torch.Tensor) -> torch.Tensor | None:
    """Each window's regime ``(n,)`` when ``condition`` ``(n, T, regimes)`` is regime labels
    (one-hot, the same on every day, at least two regimes); otherwise ``None`` (a
    conditioning series)."""
    first = condition[:, 0]
    if condition.shape[-1] < 2 or not torch.equal(condition, first[:, None].expand_as(condition)):
        return None
    if not (((first == 0) | (first == 1)).all() and (first.sum(-1) == 1).all()):
        return None
    return first.argmax(-1)


def _supervisor_input(x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return torch.cat([h, x, x.abs()], dim=-1)


def _slice(condition: torch.Tensor | None, t: int) -> torch.Tensor | None:
    return None if condition is None else condition[:, t : t + 1]


class NextStep(NamedTuple):
    """The supervisor's distribution of the next step, per step and feature: a skewed
    Student-t with this location, scale, degrees of freedom and skew."""

    mean: torch.Tensor
    scale: torch.Tensor
    dof: torch.Tensor
    skew: torch.Tensor


class StepwiseTimeGANModule(TimeGANModule):
    """The stepwise mode's networks, losses, phases and sampler (see the module docstring)."""

    networks: dict[str, Any]

    def __init__(self, config: TimeGANConfig) -> None:
        networks = build_stepwise_networks(
            config.feature_dim,
            config.hidden_dim,
            config.num_layers,
            config.cell,
            config.n_conditions,
        )
        super().__init__(config, networks)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Adam for the autoencoder, the generator, the supervisor, the discriminator."""
        return {key: self.adam(names) for key, names in OPTIMIZED.items()}

    def phases(self) -> list[Phase]:
        supervisor = Step("supervisor", self.supervisor_step, "S", networks=("supervisor",))
        joint = [
            Step("generator", self.generator_step, "G", repeat=2, networks=("generator",)),
            supervisor,
            Step("embedder", self.embedder_step, "E", networks=AUTOENCODER),
            Step("discriminator", self.discriminator_step, "D", networks=("discriminator",)),
        ]
        return [
            self.embed_phase(),
            Phase("supervise", [supervisor], iterations=self.config.supervise_iterations),
            Phase("joint", joint),
        ]

    def generate(
        self,
        z: torch.Tensor,
        condition: torch.Tensor | None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Paths generated one step at a time (:meth:`rollout`), the first day from the
        start mixture when it is fitted. Its noise comes from a stream of its own (seeded
        ``START_STREAM`` after ``generator``'s seed), so a seed's first days do not depend
        on the paths' length."""
        stream = None
        if generator is not None:
            stream = torch.Generator().manual_seed(generator.initial_seed() + START_STREAM)
        first = self.first_days(
            len(z), condition, lambda *shape: torch.randn(*shape, generator=stream)
        )
        return self.rollout(z, condition, first)

    def fit_start(self, days: torch.Tensor, condition: torch.Tensor | None = None) -> None:
        """Fit the start mixture to the training windows' first days (scaled units): one
        mixture, or one per regime when the windows are labelled with regimes; a model
        conditioned on a series starts from the supervisor's draw."""
        days_array = days.detach().cpu().numpy()
        if condition is None:
            if not self.config.n_conditions:
                self.networks["start"].fit(days_array, seed=self.config.seed)
            return
        labels = regime_labels(condition)
        if labels is None:
            return
        regimes, start = labels.cpu().numpy(), self.networks["start"]
        if start.enough_days(regimes).all():
            start.fit(days_array, seed=self.config.seed, regimes=regimes)

    def first_days(
        self, n: int, condition: torch.Tensor | None, randn: Callable[..., torch.Tensor]
    ) -> torch.Tensor | None:
        """``n`` first days from the start mixture (noise from ``randn(*shape)``; each from
        its regime's when the model is conditioned on regimes), or ``None`` (the supervisor
        draws them) when there is no fitted mixture for this kind of condition."""
        start = self.networks.get("start")
        if start is None or not start.active:
            return None
        noise_shape = (n, self.config.feature_dim + 1)
        if condition is None:
            return start.sample(randn(*noise_shape)) if start.regimes == 1 else None
        labels = regime_labels(condition)
        if labels is None or start.regimes == 1:
            return None
        return start.sample(randn(*noise_shape), labels)

    def _training_first_days(
        self, ctx: StepContext, x: torch.Tensor, c: torch.Tensor | None
    ) -> torch.Tensor | None:
        return self.first_days(len(x), c, ctx.randn)

    # -- the predictive distribution -------------------------------------------------
    def _shifted_inputs(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The supervisor's input before each step: ``[h, x, |x|]`` of the step before.

        Zeros before the first step. The last return and its size sit beside the
        state so the scale can follow them directly (as in GARCH) and by sign
        (the leverage effect).
        """
        inputs = _supervisor_input(x, h)
        return torch.cat([torch.zeros_like(inputs[:, :1]), inputs[:, :-1]], dim=1)

    def next_step(self, params: torch.Tensor) -> NextStep:
        """The supervisor's output ``(..., 4 * features)`` as a next-step distribution: the
        location, the scale, and the innovations' shape, each a per-step offset on the
        global shape parameters (``raw_dof``, ``raw_log_skew``; the skew's offset within
        a factor ``e`` either way)."""
        mean, raw_scale, dof_offset, skew_offset = params.chunk(4, dim=-1)
        supervisor = self.networks["supervisor"]
        return NextStep(
            mean,
            F.softplus(raw_scale) + MIN_SCALE,
            MIN_DOF + F.softplus(supervisor.raw_dof + dof_offset),
            torch.exp(supervisor.raw_log_skew + torch.tanh(skew_offset)),
        )

    def predictive(
        self, x: torch.Tensor, h: torch.Tensor, condition: torch.Tensor | None
    ) -> NextStep:
        """Every step of ``x``'s distribution given the steps before it (teacher forcing)."""
        inputs = self._shifted_inputs(x, h)
        return self.next_step(self.networks["supervisor"](inputs, condition))

    def likelihood_loss(
        self, x: torch.Tensor, h: torch.Tensor, condition: torch.Tensor | None
    ) -> torch.Tensor:
        """Skewed Student-t NLL of the real steps under the supervisor's next-step distribution."""
        return skewed_t_nll(x, *self.predictive(x, h, condition))

    def upgrade_state(
        self, name: str, state: dict[str, torch.Tensor] | None
    ) -> dict[str, torch.Tensor]:
        """A model file's network state in today's layout. A file written before the start
        mixture keeps it unfitted (the supervisor draws day one); a supervisor written
        before the per-step shape (two outputs per feature) gets zero shape offsets, which
        is the global shape it was trained with, so it samples as before."""
        if name == "start" and state is None:
            return self.networks["start"].state_dict()
        state = super().upgrade_state(name, state)
        weight = state.get("linear.weight")
        if name != "supervisor" or weight is None or len(weight) != 2 * self.config.feature_dim:
            return state
        upgraded = dict(state)
        upgraded["linear.weight"] = torch.cat([weight, torch.zeros_like(weight)])
        bias = state["linear.bias"]
        upgraded["linear.bias"] = torch.cat([bias, torch.zeros_like(bias)])
        return upgraded

    # -- generation ------------------------------------------------------------------
    def rollout(
        self,
        z: torch.Tensor,
        condition: torch.Tensor | None,
        first: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Paths ``(n, T, features)`` from noise ``z`` of the same shape, one step at a time;
        ``first`` ``(n, 1, features)``, when given, is the first day (the start mixture's)."""
        return self.rollout_with_expectations(z, condition, first)[0]

    def rollout_with_expectations(
        self,
        z: torch.Tensor,
        condition: torch.Tensor | None,
        first: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Paths, and each step's expected value given the path before it (a given first
        day is its own expectation).

        From day ``seq_len`` on, the states are re-read each day from the last
        ``seq_len // 2`` days alone (:meth:`reread_states`): the networks never hold more
        history than a training window gave them, and a long path is a process of fixed
        order (its volatility level and clustering hold along it).
        """
        nets = self.networks
        states: dict[str, RecurrentState | None] = dict.fromkeys(("E", "S"))
        shaped = nets["generator"](z, condition)
        h = z.new_zeros(z.shape[0], 1, self.config.hidden_dim)
        x_t = z.new_zeros(z.shape[0], 1, z.shape[2])
        supervisor_input = torch.zeros_like(_supervisor_input(x_t, h))
        context = max(self.config.seq_len // 2, 1)
        steps, expectations = [], []
        for t in range(z.shape[1]):
            if t >= self.config.seq_len:
                history = torch.cat(steps[t - context :], dim=1)
                before = None if condition is None else condition[:, t - context : t]
                supervisor_input, states = self.reread_states(history, before)
            c = _slice(condition, t)
            params, states["S"] = nets["supervisor"].step(supervisor_input, c, states["S"])
            mean, scale, dof, skew = self.next_step(params)
            shift = shaped[:, t : t + 1]
            if t == 0 and first is not None:
                x_t = first.to(z)
                expectations.append(x_t)
            else:
                innovation = skewed_t_noise(z[:, t : t + 1], dof, skew)
                x_t = mean + scale * (innovation + shift)
                expectations.append(mean + scale * (skewed_t_mean(dof, skew) + shift))
            h, states["E"] = nets["embedder"].step(x_t, c, states["E"])
            supervisor_input = _supervisor_input(x_t, h)
            steps.append(x_t)
        return torch.cat(steps, dim=1), torch.cat(expectations, dim=1)

    def reread_states(
        self, history: torch.Tensor, condition: torch.Tensor | None
    ) -> tuple[torch.Tensor, dict[str, RecurrentState | None]]:
        """The embedder's and the supervisor's states after reading ``history`` from zero
        states, as teacher forcing on a window that starts there gives them, and the
        supervisor's next input."""
        h, embedder_state = self.networks["embedder"].step(history, condition)
        inputs = self._shifted_inputs(history, h)
        _, supervisor_state = self.networks["supervisor"].step(inputs, condition)
        next_input = _supervisor_input(history[:, -1:], h[:, -1:])
        return next_input, {"E": embedder_state, "S": supervisor_state}

    # -- steps -----------------------------------------------------------------------
    def supervisor_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Phases 2 and 3: the supervisor's likelihood of real next steps (embedder fixed)."""
        x, c = split_batch(batch)
        with torch.no_grad():
            h = self.networks["embedder"](x, c)
        nll = self.likelihood_loss(x, h, c)
        return {"loss": nll, "nll": nll.detach()}

    def generator_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Joint phase: ``adv + 100 * drift`` for the generator (the innovations' shape)."""
        x, c = split_batch(batch)
        first = self._training_first_days(ctx, x, c)
        x_hat, expected = self.rollout_with_expectations(self.noise(ctx, x), c, first)
        h_hat = self.networks["embedder"](x_hat, c)
        adversarial = non_saturating_g_loss(self.networks["discriminator"](h_hat, c))
        drift = drift_loss(expected)
        loss = adversarial + 100.0 * drift
        return {"loss": loss, "adversarial": adversarial.detach(), "drift": drift.detach()}

    def embedder_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Joint phase: ``10 * sqrt(MSE) + 0.1 * NLL`` for the embedder and recovery."""
        x, c = split_batch(batch)
        h = self.networks["embedder"](x, c)
        mse = F.mse_loss(self.networks["recovery"](h, c), x)
        nll = self.likelihood_loss(x, h, c)
        return {"loss": 10.0 * torch.sqrt(mse) + 0.1 * nll, "reconstruction_mse": mse.detach()}

    def discriminator_step(self, batch: Any, ctx: StepContext) -> dict[str, Any]:
        """Joint phase: ``E(x)`` against ``E(x^)``; no update at or below ``d_threshold``."""
        x, c = split_batch(batch)
        embedder, discriminator = self.networks["embedder"], self.networks["discriminator"]
        with torch.no_grad():
            h = embedder(x, c)
            first = self._training_first_days(ctx, x, c)
            h_hat = embedder(self.rollout(self.noise(ctx, x), c, first), c)
        return self.thresholded(non_saturating_d_loss(discriminator(h, c), discriminator(h_hat, c)))
