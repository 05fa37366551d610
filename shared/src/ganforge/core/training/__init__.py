"""The training loop and what a domain gives it."""

from ganforge.core.training.config import TrainerConfig
from ganforge.core.training.data import BatchSource, ShuffledBatches, as_batch_source
from ganforge.core.training.module import GANModule, Phase, Step, StepContext
from ganforge.core.training.trainer import Callback, NonFiniteTrainingError, Trainer

__all__ = [
    "BatchSource",
    "Callback",
    "GANModule",
    "NonFiniteTrainingError",
    "Phase",
    "ShuffledBatches",
    "Step",
    "StepContext",
    "Trainer",
    "TrainerConfig",
    "as_batch_source",
]
