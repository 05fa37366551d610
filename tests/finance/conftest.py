"""Helpers for the finance tests: moment checks that can fail, and randomised models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from ganforge.finance import TimeGAN, moment_errors

MomentCheck = Callable[[np.ndarray, np.ndarray, float, tuple[float, float]], tuple[bool, str]]


def _moments_match(
    real: np.ndarray, synthetic: np.ndarray, mean_tolerance: float, std_range: tuple[float, float]
) -> tuple[bool, str]:
    """Each feature: mean within ``mean_tolerance`` real stds, std ratio within ``std_range``."""
    mean_error, std_ratio = moment_errors(real, synthetic)
    low, high = std_range
    ok = bool(
        np.all(mean_error <= mean_tolerance) and np.all((low <= std_ratio) & (std_ratio <= high))
    )
    text = f"mean error {np.round(mean_error, 3)} (std units), std ratio {np.round(std_ratio, 3)}"
    return ok, text


@pytest.fixture
def moments_match() -> MomentCheck:
    """``moments_match(real, synthetic, mean_tolerance, (low, high)) -> (ok, description)``."""
    return _moments_match


@pytest.fixture
def randomised() -> Callable[[TimeGAN], TimeGAN]:
    """Set every weight of a model's networks to N(0, 50^2) draws (a model no test should pass)."""

    def randomise(model: TimeGAN) -> TimeGAN:
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for network in model.module.networks.values():
                for parameter in network.parameters():
                    parameter.copy_(50.0 * torch.randn(parameter.shape, generator=generator))
        return model

    return randomise
