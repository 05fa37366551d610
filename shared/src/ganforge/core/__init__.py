"""ganforge.core: the shared adversarial core (losses, regularizers, layers,
training, checkpoints, metrics, diagnostics, reports)."""

__version__ = "0.1.0"
