"""Inception-v3 pool features (2048-d) from a local weights file; never downloaded.

Provide torchvision's ImageNet Inception-v3 state dict (the file torchvision
caches as ``inception_v3_google-0cc3c7bd.pth``), either as an argument to
:func:`load_inception` or through the environment variable
``GANFORGE_INCEPTION_WEIGHTS``. FIDs computed with it follow the FID recipe
(299 x 299 bilinear resize, 2048-d pool features) but use torchvision's port of
the weights, so they are close to, not identical with, TF-Inception numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_ENV = "GANFORGE_INCEPTION_WEIGHTS"


class InceptionFeatures(nn.Module):
    """Images in [0, 1], ``(N, 1 or 3, H, W)`` -> ``(N, 2048)`` pool features."""

    feature_dim = 2048

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(
                f"inception features need (N, 1 or 3, H, W) images, got {tuple(x.shape)}"
            )
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x.float(), size=(299, 299), mode="bilinear", align_corners=False)
        return self.network(x * 2.0 - 1.0)


def load_inception(weights: str | Path | None = None) -> InceptionFeatures:
    """Build the extractor from ``weights`` or ``$GANFORGE_INCEPTION_WEIGHTS``.

    Raises:
        ValueError: no weights given, missing file, or not an Inception-v3 state dict.
    """
    from torchvision.models import inception_v3

    path = weights or os.environ.get(WEIGHTS_ENV)
    if not path:
        raise ValueError(
            "Inception weights are not downloaded by ganforge: pass weights=<file> or set "
            f"{WEIGHTS_ENV}=<file> to torchvision's inception_v3_google-0cc3c7bd.pth; "
            "or use the offline extractor 'mnist_cnn'"
        )
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(
            f"Inception weights file {path} does not exist (from {WEIGHTS_ENV} or weights=)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        network = inception_v3(weights=None, aux_logits=True, init_weights=False)
        network.load_state_dict(state)
    except Exception as err:  # a truncated, pickled or foreign file
        raise ValueError(
            f"{path} is not torchvision's Inception-v3 state dict ({err.__class__.__name__}: "
            f"{str(err).splitlines()[0][:120]})"
        ) from None
    network.fc = nn.Identity()
    network.aux_logits = False
    network.AuxLogits = None
    return InceptionFeatures(network).eval()
