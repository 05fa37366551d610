"""Keep the best model by a validation metric, as a practitioner picks a checkpoint.

A GAN's scores wander from one checkpoint to the next (TimeGAN's discriminative
score swings between 0.15 and 0.31 over a joint phase), so the last iteration
is rarely the model to keep. :class:`BestCheckpoint` scores the model every
``every`` iterations with a function the domain gives (on validation data the
final score never sees) and keeps the networks (and the generator's EMA) of
the best score so far (the random number generators are restored after each
score, so training continues as it would have without it): in memory, and,
when the trainer has a ``run_dir``, as ``run_dir/best.pt`` through the core's
atomic checkpoint writer (loadable with ``weights_only=True``)::

    best = BestCheckpoint(lambda trainer: validation_score(trainer.module), every=500)
    trainer = Trainer(module, config, callbacks=[best.callback()]).fit(data)
    best.restore(trainer)  # the module's networks are now the best-scoring ones

After a resumed run, :meth:`BestCheckpoint.from_file` continues from the
``best.pt`` the killed run left.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganforge.core.checkpoint import (
    CheckpointError,
    capture_rng_states,
    load_checkpoint,
    restore_rng_states,
    save_checkpoint,
)
from ganforge.core.training.trainer import Callback, Trainer

BEST_FORMAT = "ganforge-best-v1"
BEST_NAME = "best.pt"


class BestCheckpoint:
    """Track the best value of ``metric(trainer)`` every ``every`` iterations.

    Args:
        metric: returns a finite float for the trainer's current model (a
            non-finite value never counts as best).
        every: iterations between evaluations.
        mode: ``"min"`` (lower is better) or ``"max"``.
        name: the logged key (``name`` and ``name_best`` each evaluation).
    """

    def __init__(
        self,
        metric: Callable[[Trainer], float],
        every: int,
        mode: str = "min",
        name: str = "validation",
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.metric, self.every, self.mode, self.name = metric, every, mode, name
        self.score: float | None = None
        self.iteration: int | None = None
        self.state: dict[str, Any] | None = None

    def callback(self) -> Callback:
        """The trainer callback that evaluates and keeps the best state."""
        return Callback(self.every, self._evaluate)

    def better(self, score: float) -> bool:
        """Whether ``score`` beats the best so far."""
        if not math.isfinite(score):
            return False
        if self.score is None:
            return True
        return score < self.score if self.mode == "min" else score > self.score

    def _evaluate(self, trainer: Trainer) -> dict[str, float]:
        rng = capture_rng_states()  # scoring draws noise; training's streams stay as they were
        try:
            score = float(self.metric(trainer))
        finally:
            restore_rng_states(rng)
        if self.better(score):
            self.score, self.iteration = score, trainer.iteration
            self.state = _model_state(trainer)
            if trainer.run_dir is not None and trainer.group.is_main:
                save_checkpoint(Path(trainer.run_dir) / BEST_NAME, self._file_state())
        values = {self.name: score}
        if self.score is not None:
            values[f"{self.name}_best"] = self.score
        return values

    def _file_state(self) -> dict[str, Any]:
        return {
            "format": BEST_FORMAT,
            "score": self.score,
            "iteration": self.iteration,
            "mode": self.mode,
            **(self.state or {}),
        }

    def restore(self, trainer: Trainer) -> int | None:
        """Load the best networks (and EMA) into the trainer's module; the iteration they
        come from, or ``None`` when nothing was evaluated (the model stays as it is)."""
        if self.state is None:
            return None
        for name, network in trainer.module.networks.items():
            network.load_state_dict(self.state["networks"][name])
        if trainer.ema is not None and self.state.get("ema") is not None:
            trainer.ema.load_state_dict(self.state["ema"])
        return self.iteration

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        metric: Callable[[Trainer], float],
        every: int,
        name: str = "validation",
    ) -> BestCheckpoint:
        """A tracker that continues from a ``best.pt`` a killed run wrote (its mode, score,
        iteration and networks); a one-line error for a file that is not one."""
        state = load_checkpoint(path)
        if state.get("format") != BEST_FORMAT:
            raise CheckpointError(f"{path} is not a best-checkpoint file")
        best = cls(metric, every, state["mode"], name)
        best.score, best.iteration = float(state["score"]), int(state["iteration"])
        best.state = {"networks": state["networks"], "ema": state.get("ema")}
        return best


def _model_state(trainer: Trainer) -> dict[str, Any]:
    """Copies of the networks' and the EMA's state dicts (on the CPU)."""
    networks = {
        name: {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        for name, net in trainer.module.networks.items()
    }
    ema = None if trainer.ema is None else copy.deepcopy(trainer.ema.state_dict())
    return {"networks": networks, "ema": ema}
