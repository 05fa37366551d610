"""The training loop and what a domain gives it."""

from ganforge.core.training.config import TrainerConfig
from ganforge.core.training.data import BatchSource, ShuffledBatches, as_batch_source
from ganforge.core.training.distributed import resolve_device
from ganforge.core.training.gan_model import GANModel, TrainingPlan
from ganforge.core.training.loader import LoaderBatches
from ganforge.core.training.module import GANModule, Phase, Step, StepContext
from ganforge.core.training.selection import BestCheckpoint
from ganforge.core.training.trainer import Callback, NonFiniteTrainingError, Trainer

__all__ = [
    "BatchSource",
    "BestCheckpoint",
    "Callback",
    "GANModel",
    "GANModule",
    "LoaderBatches",
    "NonFiniteTrainingError",
    "Phase",
    "ShuffledBatches",
    "Step",
    "StepContext",
    "Trainer",
    "TrainerConfig",
    "TrainingPlan",
    "as_batch_source",
    "resolve_device",
]
