"""Shared helpers: a hand-written CartPole controller (return 500) as the expert."""

import pytest
import torch

from ganforge.imitation import collect_demos


def cartpole_controller(obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Push towards the side the pole falls to (angle + half its velocity): 500 every time."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).long()


@pytest.fixture(scope="session")
def cartpole_demos():
    """Four 500-step demonstrations of the controller on CartPole-v1."""
    return collect_demos(cartpole_controller, "CartPole-v1", 4, seed=3)
