"""Every step of every phase of every package's training module, once, on tiny tensors.

The modules come from the registry of the resume matrix (``CASES`` in
``test_resume_matrix.py``), so a package that joins that matrix joins this
one. Each step runs once through the trainer's own step runner; it must
change parameters of the networks its optimizer trains (when it returns a
loss) and leave every other network's parameters exactly as they were. A step
that owns its backward (``optimizer=None``) may change only the networks it
names in ``networks`` (a policy update), and must change them if it names any.
"""

from __future__ import annotations

import dataclasses
import runpy
from pathlib import Path

import pytest
import torch

from ganforge.core.training import StepContext, Trainer, TrainerConfig
from ganforge.core.training.data import as_batch_source

REGISTRY = runpy.run_path(str(Path(__file__).with_name("test_resume_matrix.py")))["CASES"]


def _parameters(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{key}": value.detach().clone()
        for name, network in trainer.module.networks.items()
        for key, value in network.named_parameters()
    }


def _trained(trainer: Trainer, step) -> set[str]:
    """Names (``network.parameter``) of the parameters the step's optimizer updates; for a
    step that owns its backward (``optimizer=None``), those of the networks it names."""
    if step.optimizer is None:
        return {
            f"{name}.{key}"
            for name in step.networks or ()
            for key, _ in trainer.module.networks[name].named_parameters()
        }
    optimizer = trainer.optimizers[step.optimizer]
    ids = {id(p) for group in optimizer.param_groups for p in group["params"]}
    return {
        f"{name}.{key}"
        for name, network in trainer.module.networks.items()
        for key, value in network.named_parameters()
        if id(value) in ids
    }


def _recording(fn, outputs: dict):
    """``fn``, keeping what it returned in ``outputs``."""

    def run(batch, context):
        result = fn(batch, context)
        outputs.update(result)
        return result

    return run


def _phase_starts(trainer: Trainer) -> list[int]:
    starts, start = [], 0
    for phase in trainer.phases:
        starts.append(start)
        start += phase.iterations or 1
    return starts


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_step_trains_its_own_networks_and_no_others(name):
    case = REGISTRY[name]
    torch.manual_seed(0)
    module, data = case.build()
    config = TrainerConfig(
        iterations=1, batch_size=case.batch_size, progress=False, tensorboard=False
    )
    trainer = Trainer(module, config)
    trainer.batches = as_batch_source(data, case.batch_size, seed=0)
    ran = 0
    for phase, start in zip(trainer.phases, _phase_starts(trainer), strict=True):
        trainer._enter_phases_until(start)
        context = StepContext(iteration=start, phase=phase.name, device=trainer.device)
        for original in phase.steps:
            outputs: dict = {}
            step = dataclasses.replace(original, fn=_recording(original.fn, outputs))
            before = _parameters(trainer)
            batch = trainer._next_batch() if step.needs_batch else None
            trainer._run_step(step, batch, context)
            after = _parameters(trainer)
            changed = {key for key in before if not torch.equal(before[key], after[key])}
            own = _trained(trainer, step)
            where = f"{name}: phase {phase.name!r}, step {step.name!r}"
            assert changed <= own, f"{where} changed {sorted(changed - own)[:3]}"
            if own and (outputs.get("loss") is not None or step.optimizer is None):
                assert changed, f"{where} returned a loss but changed nothing"
            ran += 1
    assert ran >= 2
