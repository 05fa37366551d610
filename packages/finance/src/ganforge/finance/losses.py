"""TimeGAN's auxiliary losses (the reference code's supervised and moment losses)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def supervised_loss(h: torch.Tensor, h_hat_supervised: torch.Tensor) -> torch.Tensor:
    """Next-step latent loss: the supervisor's step ``t`` predicts ``h_{t+1}``."""
    return F.mse_loss(h_hat_supervised[:, :-1], h[:, 1:])


def moment_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``mean|std(x^) - std(x)| + mean|mean(x^) - mean(x)|``, moments over the batch axis."""
    std_hat = torch.sqrt(x_hat.var(dim=0, unbiased=False) + 1e-6)
    std = torch.sqrt(x.var(dim=0, unbiased=False) + 1e-6)
    return (std_hat - std).abs().mean() + (x_hat.mean(dim=0) - x.mean(dim=0)).abs().mean()
