"""Tiny targets and data for the robustness tests (8x8 digits, a few seconds each)."""

from __future__ import annotations

import pytest
import torch

from ganforge.robustness import RobustClassifier, load_embedded


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits, the package's stratified split."""
    return load_embedded("digits")


@pytest.fixture(scope="session")
def digits_target(digits):
    """A small CNN trained briefly on the digits (about 95 % test accuracy), eval mode."""
    torch.manual_seed(0)
    spec = dict(width=8, hidden=32, iterations=300, batch_size=64, device="cpu")
    model = RobustClassifier(**spec).fit(digits.x_train, digits.y_train)
    return model
