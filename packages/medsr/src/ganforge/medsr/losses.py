"""Loss terms of the medical SR generator (seed recipe: L1 + 0.1 perceptual + 0.001
adversarial + gradient difference + ROI-weighted MSE).

Perceptual features:

- :class:`VGGFeatures` when the user gives a local torchvision VGG19 weights file
  (``.pth`` read with ``weights_only=True``, or ``.safetensors``);
- otherwise :class:`RandomFeatures`, the documented offline fallback: a frozen
  convolutional network with fixed, seeded random weights (multi-scale features,
  2-D or 3-D). Random conv features are a known usable perceptual proxy (they
  respond to local structure and texture statistics) and need no download.
  MONAI's ``PerceptualLoss`` is not used because it fetches its weights from a
  model hub at run time.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class LossWeights:
    """Weights of the generator's loss terms (defaults from the seed recipe), each >= 0.

    Args:
        l1: weight of the L1 pixel loss.
        perceptual: weight of the perceptual (VGG19 or random-feature) loss; adversarial
            stage only.
        adversarial: weight of the generator's adversarial loss; adversarial stage only.
        gradient: weight of the gradient-difference (edge) loss.
        roi: weight of the ROI-weighted MSE; used only with region-of-interest masks.
    """

    l1: float = 1.0
    perceptual: float = 0.1
    adversarial: float = 0.001
    gradient: float = 1.0
    roi: float = 1.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value >= 0:
                raise ValueError(f"loss weight {name} must be >= 0, got {value!r}")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def spatial_gradients(x: torch.Tensor) -> list[torch.Tensor]:
    """Forward differences of ``x`` along each spatial axis (axes 2..)."""
    return [torch.diff(x, dim=dim) for dim in range(2, x.ndim)]


def gradient_difference_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gradient-difference loss (Mathieu et al. 2016): mean over axes of
    ``| |d pred| - |d target| |`` for forward differences ``d``; preserves edges."""
    terms = [
        (gp.abs() - gt.abs()).abs().mean()
        for gp, gt in zip(spatial_gradients(pred), spatial_gradients(target), strict=True)
    ]
    return torch.stack(terms).mean()


def roi_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """MSE inside a region of interest (``mask`` in [0, 1], broadcastable); 0 without a mask."""
    if mask is None:
        return pred.new_zeros(())
    mask = mask.to(pred.dtype)
    return F.mse_loss(pred * mask, target * mask)


def gradient_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute forward-difference gradient (a sharpness measure)."""
    return torch.stack([g.abs().mean() for g in spatial_gradients(x)]).sum()


class RandomFeatures(nn.Module):
    """Frozen random-weight conv features: the offline perceptual fallback.

    Three stages of conv(3) + LeakyReLU, each followed by 2x average pooling; the
    weights are drawn from a fixed seed (independent of the global RNG), so the
    loss is the same on every run and machine.
    """

    def __init__(self, spatial_dims: int = 2, in_channels: int = 1, seed: int = 0) -> None:
        super().__init__()
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        widths = [in_channels, 16, 32, 64]
        generator = torch.Generator().manual_seed(seed)
        self.stages = nn.ModuleList()
        for cin, cout in zip(widths[:-1], widths[1:], strict=True):
            layer = conv(cin, cout, 3, padding=1)
            fan_in = cin * 3**spatial_dims
            with torch.no_grad():
                layer.weight.copy_(
                    torch.randn(layer.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5
                )
                layer.bias.zero_()
            self.stages.append(layer)
        self.pool = F.avg_pool2d if spatial_dims == 2 else F.avg_pool3d
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for i, layer in enumerate(self.stages):
            x = F.leaky_relu(layer(x), 0.2)
            features.append(x)
            if i < len(self.stages) - 1 and min(x.shape[2:]) >= 2:
                x = self.pool(x, 2)
        return features


def load_weights_file(path: str | Path, what: str = "weights") -> dict[str, torch.Tensor]:
    """Read a state dict safely: ``.safetensors``, or a ``.pth`` read with ``weights_only=True``.

    Raises:
        ValueError: one line when the file is missing, cannot be loaded safely (a
            pickle of arbitrary objects, a truncated file...) or holds no tensors by name.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: {what} file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            with warnings.catch_warnings():  # torch warns about foreign pickle protocols
                warnings.simplefilter("ignore", UserWarning)
                state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and safetensors errors of many types
        raise ValueError(
            f"{path}: {what} cannot be loaded safely (torch.load weights_only=True or "
            f"safetensors; {type(exc).__name__}): give a state dict of tensors"
        ) from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"{path}: {what} file does not hold a state dict of tensors")
    return state


class VGGFeatures(nn.Module):
    """torchvision VGG19 features (relu1_2, relu2_2, relu3_4, relu4_4) from local weights.

    Grey images are repeated to 3 channels and ImageNet-normalised; volumes are
    processed as stacks of 2-D slices along the last axis.
    """

    LAYERS = (3, 8, 17, 26)

    def __init__(self, weights_path: str | Path) -> None:
        super().__init__()
        from torchvision.models import vgg19

        path = Path(weights_path)
        state = load_weights_file(path, "VGG19 weights")
        model = vgg19(weights=None)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ValueError(f"{path}: not a torchvision VGG19 state dict ({first})") from None
        self.features = model.features[: self.LAYERS[-1] + 1].eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.ndim == 5:
            x = x.movedim(-1, 1).reshape(-1, x.shape[1], *x.shape[2:4])
        x = (x.expand(-1, 3, -1, -1) - self.mean) / self.std
        features = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.LAYERS:
                features.append(x)
        return features


class PerceptualLoss(nn.Module):
    """Mean L1 distance between feature maps of a frozen extractor.

    Args:
        spatial_dims: 2 or 3.
        vgg_weights: path to local torchvision VGG19 weights; ``None`` uses the
            offline :class:`RandomFeatures` fallback (see the module docstring).
    """

    def __init__(self, spatial_dims: int = 2, vgg_weights: str | Path | None = None) -> None:
        super().__init__()
        if vgg_weights is None:
            self.extractor: nn.Module = RandomFeatures(spatial_dims)
            self.kind = "random_features"
        else:
            self.extractor = VGGFeatures(vgg_weights)
            self.kind = "vgg19"

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.extractor.eval()
        fake, real = self.extractor(pred), self.extractor(target)
        return torch.stack([F.l1_loss(f, r) for f, r in zip(fake, real, strict=True)]).mean()


def pixel_losses(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """The PSNR-oriented terms (unweighted): L1, gradient difference and, with a mask, ROI MSE."""
    terms = {"l1": F.l1_loss(pred, target), "gradient": gradient_difference_loss(pred, target)}
    if mask is not None:
        terms["roi"] = roi_loss(pred, target, mask)
    return terms


def weighted_total(terms: dict[str, torch.Tensor], weights: LossWeights) -> torch.Tensor:
    """Sum of ``weights.<name> * terms[name]`` over the terms present."""
    table = weights.to_dict()
    return sum(table[name] * value for name, value in terms.items())
