"""What the two image-to-image families share: a PatchGAN discriminator and the
translation side of the module API (``translate``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017): a fully convolutional D whose output is a map of
    logits, one per overlapping patch (at 28x28: 7x7 patches of 10x10 pixels each)."""

    def __init__(self, in_channels: int = 2, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.InstanceNorm2d(2 * width, affine=True),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * width, 1, 3, 1, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def to_model_range(images: Tensor) -> Tensor:
    return images * 2 - 1


@torch.no_grad()
def run_in_eval(net: nn.Module, images: Tensor, batch_size: int = 500) -> Tensor:
    """``net`` on images in [0, 1], in eval mode, batched; results in [0, 1] on the CPU."""
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        parts = [net(to_model_range(b.to(device))).cpu() for b in images.split(batch_size)]
    finally:
        net.train(was_training)
    return ((torch.cat(parts) + 1) / 2).clamp(0, 1)
