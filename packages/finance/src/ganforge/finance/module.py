"""What both TimeGAN training modules share: phase 1, the discriminator's threshold, sampling.

A TimeGAN module has five networks (embedder, recovery, generator, supervisor,
discriminator) and three phases on the core trainer. The paper's module
(:mod:`ganforge.finance.paper`) and the stepwise one for return paths
(:mod:`ganforge.finance.stepwise`) subclass :class:`TimeGANModule`; each says
how it builds its networks, optimizers and phases and how it turns noise into
scaled windows (:meth:`TimeGANModule.generate`). The base keeps the parts that
are the same in both: the autoencoder phase on ``10 * sqrt(MSE(x, R(E(x))))``,
the rule that skips a discriminator step while its loss is at most
``d_threshold``, the training noise, and sampling in eval mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.core.training import GANModule, Phase, Step, StepContext
from ganforge.finance.config import TimeGANConfig

AUTOENCODER = ("embedder", "recovery")
Batch = tuple[torch.Tensor, torch.Tensor | None]


def split_batch(batch: Any) -> Batch:
    """``(windows, condition or None)`` of a batch of one or two tensors."""
    if isinstance(batch, torch.Tensor):
        return batch, None
    if len(batch) == 1:
        return batch[0], None
    return batch[0], batch[1]


@contextmanager
def eval_mode(networks: Iterable[nn.Module]) -> Iterator[None]:
    """Networks in eval mode inside the block, each back in its own mode after it."""
    modes = [(network, network.training) for network in networks]
    for network, _ in modes:
        network.eval()
    try:
        yield
    finally:
        for network, training in modes:
            network.train(training)


class TimeGANModule(GANModule):
    """Base of the two TimeGAN training modules (see the module docstring).

    Args:
        config: the model's settings.
        networks: the five networks by name.
    """

    generator_name = "generator"

    def __init__(self, config: TimeGANConfig, networks: dict[str, nn.Module]) -> None:
        super().__init__()
        self.config = config
        self.networks = dict(networks)
        self.settings: dict[str, Any] = {}  # what a checkpoint must match to be resumed

    # -- for subclasses ---------------------------------------------------------------
    @property
    def uniform_noise(self) -> bool:
        """Whether the noise is uniform on [0, 1) (min-max scaling) rather than Gaussian."""
        return False

    def generate(
        self,
        z: torch.Tensor,
        condition: torch.Tensor | None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Scaled windows ``(n, T, feature_dim)`` from noise ``z`` of the same shape (any
        further noise a sampler needs drawn with ``generator``, after ``z``)."""
        raise NotImplementedError

    def fit_start(self, days: torch.Tensor, condition: torch.Tensor | None = None) -> None:
        """Fit what the sampler draws a path's first day from, on the training windows'
        first days ``(n, feature_dim)`` in scaled units and their conditions (nothing
        here: the paper's generator writes every day)."""

    def upgrade_state(
        self, name: str, state: dict[str, torch.Tensor] | None
    ) -> dict[str, torch.Tensor]:
        """Network ``name``'s state from a model file (``None``: the file has none) in
        today's layout; here as it is, and a missing network is refused."""
        if state is None:
            raise ValueError(f"it holds no {name} network")
        return state

    # -- shared parts -----------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        """The run's settings and data scaling, so a resume can check it continues the same run."""
        return {"settings": self.settings}

    def adam(self, names: Iterable[str]) -> torch.optim.Optimizer:
        """One Adam optimizer over the named networks at the configured learning rate."""
        params = [p for name in names for p in self.networks[name].parameters()]
        return torch.optim.Adam(params, lr=self.config.lr)

    def embed_phase(self) -> Phase:
        """Phase 1: the autoencoder alone."""
        step = Step("autoencoder", self.autoencoder_step, "E", networks=AUTOENCODER)
        return Phase("embed", [step], iterations=self.config.embed_iterations)

    def autoencoder_step(self, batch: Any, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Phase 1: ``10 * sqrt(MSE(x, R(E(x))))``."""
        x, c = split_batch(batch)
        x_tilde = self.networks["recovery"](self.networks["embedder"](x, c), c)
        mse = F.mse_loss(x_tilde, x)
        return {"loss": 10.0 * torch.sqrt(mse), "reconstruction_mse": mse.detach()}

    def thresholded(self, loss: torch.Tensor) -> dict[str, Any]:
        """A discriminator step's output: no ``"loss"`` (no update) at or below ``d_threshold``."""
        if float(loss.detach()) > self.config.d_threshold:
            return {"loss": loss, "updated": 1.0}
        return {"skipped_loss": loss.detach(), "updated": 0.0}

    def noise(self, ctx: StepContext, x: torch.Tensor) -> torch.Tensor:
        """Training noise of the shape of the windows ``x``."""
        shape = (x.shape[0], x.shape[1], self.config.feature_dim)
        return ctx.rand(*shape) if self.uniform_noise else ctx.randn(*shape)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        condition: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        length: int | None = None,
    ) -> torch.Tensor:
        """``n`` scaled windows ``(n, length, feature_dim)`` (in [0, 1] for min-max scaling).

        ``length`` defaults to ``seq_len``; the recurrent networks unroll to any length.
        """
        device = next(self.networks["generator"].parameters()).device
        draw = torch.rand if self.uniform_noise else torch.randn
        steps = self.config.seq_len if length is None else length
        z = draw(n, steps, self.config.feature_dim, generator=generator).to(device)
        if condition is not None:
            condition = condition.to(device)
        with eval_mode(self.networks.values()):
            return self.generate(z, condition, generator)
