"""The training loop and what a domain gives it."""

from ganforge.core.training.module import GANModule, Phase, Step, StepContext

__all__ = ["GANModule", "Phase", "Step", "StepContext"]
