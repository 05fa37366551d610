"""CycleGAN (Zhu et al. 2017): unpaired translation between domains A and B.

Two generators (``G_AB``: A -> B, ``G_BA``: B -> A; small ResNet-style encoders /
decoders with instance norm) and two PatchGAN discriminators (``D_A``, ``D_B``).
The generators' loss, one optimiser for both::

    LSGAN(D_B(G_AB(a))) + LSGAN(D_A(G_BA(b)))                    adversarial
    + 10 * (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|)            cycle consistency
    + 5 * (|G_BA(a) - a| + |G_AB(b) - b|)                         identity

The discriminators (one optimiser for both) see the current fakes mixed with a
history of 50 past ones (the core's :class:`~ganforge.core.regularizers.HistoryBuffer`,
one per direction), saved in checkpoints so a resumed run continues exactly.
Adam 2e-4, betas (0.5, 0.999). Batches are ``(a, b)`` drawn independently
(:class:`UnpairedBatches`), in [-1, 1].
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.core.layers import dcgan_init
from ganforge.core.losses import get_loss
from ganforge.core.regularizers import HistoryBuffer
from ganforge.core.training import Phase, ShuffledBatches, Step, StepContext
from ganforge.vision.families.base import BudgetedModule
from ganforge.vision.families.translation import PatchDiscriminator, run_in_eval

CYCLE_WEIGHT, IDENTITY_WEIGHT, HISTORY = 10.0, 5.0, 50


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1),
            nn.InstanceNorm2d(channels),
            nn.ReLU(True),
            nn.Conv2d(channels, channels, 3, 1, 1),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class ResnetGenerator(nn.Module):
    """``(B, C, H, W) -> (B, C, H, W)`` in [-1, 1]: conv, one downsampling, ``blocks``
    residual blocks, one upsampling, conv, tanh (H, W even)."""

    def __init__(self, channels: int = 1, width: int = 32, blocks: int = 2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 5, 1, 2),
            nn.InstanceNorm2d(width),
            nn.ReLU(True),
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.InstanceNorm2d(2 * width),
            nn.ReLU(True),
            *[ResidualBlock(2 * width) for _ in range(blocks)],
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
            nn.InstanceNorm2d(width),
            nn.ReLU(True),
            nn.Conv2d(width, channels, 5, 1, 2),
            nn.Tanh(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class UnpairedBatches:
    """Batches ``(a, b)`` from two image sets shuffled independently (resumable)."""

    def __init__(self, a: Tensor, b: Tensor, batch_size: int, seed: int = 0) -> None:
        self.a = ShuffledBatches(a, batch_size, seed=seed)
        self.b = ShuffledBatches(b, batch_size, seed=seed + 1)

    def next_batch(self) -> tuple[Tensor, Tensor]:
        return self.a.next_batch(), self.b.next_batch()

    def state_dict(self) -> dict[str, Any]:
        return {"a": self.a.state_dict(), "b": self.b.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.a.load_state_dict(state["a"])
        self.b.load_state_dict(state["b"])


class TwoNetworks(nn.Module):
    """Two networks under one optimiser (``G`` = ``G_AB`` + ``G_BA``, ``D`` = ``D_A`` + ``D_B``)."""

    def __init__(self, first: nn.Module, second: nn.Module) -> None:
        super().__init__()
        self.first, self.second = first, second


class CycleGAN(BudgetedModule):
    """Networks ``G`` (``.first`` = A -> B, ``.second`` = B -> A) and ``D`` (``.first`` =
    D_A, ``.second`` = D_B); see the module docstring."""

    generator_name = "G"
    task = "unpaired"

    def __init__(
        self,
        channels: int = 1,
        width: int = 32,
        history: int = HISTORY,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
    ) -> None:
        super().__init__()
        generators = TwoNetworks(ResnetGenerator(channels, width), ResnetGenerator(channels, width))
        critics = TwoNetworks(
            PatchDiscriminator(channels, width), PatchDiscriminator(channels, width)
        )
        self.networks = {"G": generators.apply(dcgan_init), "D": critics.apply(dcgan_init)}
        self.loss, self.lr, self.betas = get_loss("least_squares"), lr, betas
        self.history_a, self.history_b = HistoryBuffer(history), HistoryBuffer(history)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            name: torch.optim.Adam(net.parameters(), self.lr, betas=self.betas)
            for name, net in self.networks.items()
        }

    def phases(self) -> list[Phase]:
        steps = [Step("G", self.g_step, "G"), Step("D", self.d_step, "D")]
        return [Phase("cyclegan", steps, share_batch=True)]

    def g_step(self, batch, ctx: StepContext) -> dict[str, Tensor]:
        a, b = batch
        g_ab, g_ba = self.networks["G"].first, self.networks["G"].second
        d_a, d_b = self.networks["D"].first, self.networks["D"].second
        fake_b, fake_a = g_ab(a), g_ba(b)
        adversarial = self.loss.generator(d_b(fake_b)) + self.loss.generator(d_a(fake_a))
        cycle = F.l1_loss(g_ba(fake_b), a) + F.l1_loss(g_ab(fake_a), b)
        identity = F.l1_loss(g_ba(a), a) + F.l1_loss(g_ab(b), b)
        ctx.handoff["fakes"] = (fake_a.detach(), fake_b.detach())
        loss = adversarial + CYCLE_WEIGHT * cycle + IDENTITY_WEIGHT * identity
        return {
            "loss": loss,
            "adversarial": adversarial.detach(),
            "cycle": cycle.detach(),
            "identity": identity.detach(),
        }

    def d_step(self, batch, ctx: StepContext) -> dict[str, Tensor]:
        a, b = batch
        if "fakes" in ctx.handoff:  # the generator step of this iteration left them
            fake_a, fake_b = ctx.handoff.pop("fakes")
        else:
            with torch.no_grad():
                fake_a, fake_b = self.networks["G"].second(b), self.networks["G"].first(a)
        d_a, d_b = self.networks["D"].first, self.networks["D"].second
        past_a, past_b = self.history_a.query(fake_a), self.history_b.query(fake_b)
        loss_a = self.loss.discriminator(d_a(a), d_a(past_a))
        loss_b = self.loss.discriminator(d_b(b), d_b(past_b))
        return {"loss": 0.5 * (loss_a + loss_b), "D_A": loss_a.detach(), "D_B": loss_b.detach()}

    def extra_state(self) -> dict[str, Any]:
        return {"history_a": self.history_a.state_dict(), "history_b": self.history_b.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.history_a.load_state_dict(state["history_a"])
        self.history_b.load_state_dict(state["history_b"])

    def translate(self, images: Tensor, direction: str = "forward") -> Tensor:
        """Images in [0, 1] of A (``"forward"``: A -> B) or B (``"backward"``: B -> A)."""
        if direction not in ("forward", "backward"):
            raise ValueError(f"direction must be 'forward' or 'backward', got {direction!r}")
        net = self.networks["G"].first if direction == "forward" else self.networks["G"].second
        return run_in_eval(net, images)


def build(shape: tuple[int, ...], num_classes: int, latent_dim: int, width: int) -> CycleGAN:
    return CycleGAN(shape[0], width)
