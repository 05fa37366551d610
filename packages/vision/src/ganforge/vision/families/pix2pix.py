"""Pix2Pix (Isola et al. 2017): paired translation source -> target.

G is a U-Net: an encoder halving the resolution twice, a bottleneck, and a decoder
whose every upsampling step reads the encoder's map of the same resolution
concatenated to its input (the skips carry the outline's exact positions). D is a
PatchGAN on the pair ``[source, image]``. G's loss: non-saturating adversarial term
+ 100 * L1 to the true target. Adam 2e-4, betas (0.5, 0.999).

Batches are ``(source, target)`` in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.core.layers import dcgan_init
from ganforge.core.losses import get_loss
from ganforge.core.training import Phase, Step, StepContext
from ganforge.vision.families.base import BudgetedModule
from ganforge.vision.families.translation import PatchDiscriminator, run_in_eval

L1_WEIGHT = 100.0


def _down(cin: int, cout: int, norm: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 4, 2, 1)]
    layers += [nn.InstanceNorm2d(cout, affine=True)] if norm else []
    return nn.Sequential(*layers, nn.LeakyReLU(0.2, True))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.InstanceNorm2d(cout, affine=True), nn.ReLU(True)
    )


class UNet(nn.Module):
    """``(B, C, H, W) -> (B, C, H, W)`` in [-1, 1]; H and W divisible by 4.

    :meth:`skips` runs the network and reports, for each skip connection, the spatial
    size of the encoder map and of the decoder map it is joined to.
    """

    def __init__(self, channels: int = 1, width: int = 32) -> None:
        super().__init__()
        self.enc1 = _down(channels, width, norm=False)  # H/2
        self.enc2 = _down(width, 2 * width)  # H/4
        self.bottleneck = nn.Sequential(
            nn.Conv2d(2 * width, 2 * width, 3, 1, 1), nn.ReLU(True)
        )  # H/4
        self.dec2 = _up(4 * width, width)  # [bottleneck, enc2] -> H/2
        self.dec1 = nn.ConvTranspose2d(2 * width, channels, 4, 2, 1)  # [dec2, enc1] -> H

    def _run(self, x: Tensor) -> tuple[Tensor, list[tuple[tuple[int, ...], tuple[int, ...]]]]:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        b = self.bottleneck(e2)
        d2 = self.dec2(torch.cat([b, e2], dim=1))
        out = torch.tanh(self.dec1(torch.cat([d2, e1], dim=1)))
        pairs = [
            (tuple(e2.shape[-2:]), tuple(b.shape[-2:])),
            (tuple(e1.shape[-2:]), tuple(d2.shape[-2:])),
        ]
        return out, pairs

    def forward(self, x: Tensor) -> Tensor:
        return self._run(x)[0]

    def skips(self, x: Tensor) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """``[(encoder map size, decoder map size), ...]``, deepest skip first."""
        return self._run(x)[1]


class Pix2Pix(BudgetedModule):
    """U-Net G, PatchGAN D on pairs, non-saturating loss + L1 * 100."""

    generator_name = "G"
    task = "paired"

    def __init__(
        self,
        channels: int = 1,
        width: int = 32,
        l1_weight: float = L1_WEIGHT,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
    ) -> None:
        super().__init__()
        self.networks = {
            "G": UNet(channels, width).apply(dcgan_init),
            "D": PatchDiscriminator(2 * channels, width).apply(dcgan_init),
        }
        self.loss, self.l1_weight, self.lr, self.betas = (
            get_loss("non_saturating"),
            l1_weight,
            lr,
            betas,
        )

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            name: torch.optim.Adam(net.parameters(), self.lr, betas=self.betas)
            for name, net in self.networks.items()
        }

    def phases(self) -> list[Phase]:
        steps = [Step("D", self.d_step, "D"), Step("G", self.g_step, "G")]
        return [Phase("pix2pix", steps, share_batch=True)]

    def d_step(self, batch, ctx: StepContext) -> dict[str, Tensor]:
        source, target = batch
        with torch.no_grad():
            fake = self.networks["G"](source)
        D = self.networks["D"]
        d_real = D(torch.cat([source, target], 1))
        d_fake = D(torch.cat([source, fake], 1))
        return {"loss": self.loss.discriminator(d_real, d_fake)}

    def g_step(self, batch, ctx: StepContext) -> dict[str, Tensor]:
        source, target = batch
        fake = self.networks["G"](source)
        adversarial = self.loss.generator(self.networks["D"](torch.cat([source, fake], 1)))
        l1 = F.l1_loss(fake, target)
        return {
            "loss": adversarial + self.l1_weight * l1,
            "adversarial": adversarial.detach(),
            "l1": l1.detach(),
        }

    def translate(self, images: Tensor, direction: str = "forward") -> Tensor:
        """Sources in [0, 1] -> translated images in [0, 1] (one direction only)."""
        if direction != "forward":
            raise ValueError("Pix2Pix translates one way only: direction 'forward'")
        return run_in_eval(self.networks["G"], images)


def build(shape: tuple[int, ...], num_classes: int, latent_dim: int, width: int) -> Pix2Pix:
    return Pix2Pix(shape[0], width)
