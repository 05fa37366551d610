import math

import pytest
import torch

from ganforge.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ganforge.core.recipes import ring_of_gaussians, ring_recipe
from ganforge.core.training import BestCheckpoint, Trainer, TrainerConfig


def _scripted(scores):
    """A metric returning ``scores`` in turn and recording the G weights it saw."""
    seen = []

    def metric(trainer):
        seen.append(trainer.module.networks["G"].state_dict()["0.weight"].clone())
        return scores[len(seen) - 1]

    return metric, seen


def _train(callbacks, run_dir=None, iterations=8):
    torch.manual_seed(0)
    module = ring_recipe("wgan_gp", batch_size=32, width=16)
    config = TrainerConfig(
        iterations=iterations, batch_size=32, seed=0, run_dir=run_dir, log_every=1
    )
    return Trainer(module, config, callbacks=callbacks).fit(ring_of_gaussians(256))


def test_the_best_scoring_networks_are_kept_and_restored(tmp_path):
    metric, seen = _scripted([3.0, 1.0, math.nan, 2.0])
    best = BestCheckpoint(metric, every=2)
    trainer = _train([best.callback()], run_dir=tmp_path)
    assert len(seen) == 4 and best.score == 1.0 and best.iteration == 4
    last = trainer.module.networks["G"].state_dict()["0.weight"].clone()
    assert not torch.equal(last, seen[1])
    assert best.restore(trainer) == 4
    assert torch.equal(trainer.module.networks["G"].state_dict()["0.weight"], seen[1])
    logged = [row for row in trainer.history if "validation_best" in row]
    assert [row["validation_best"] for row in logged] == [3.0, 1.0, 1.0, 1.0]
    saved = load_checkpoint(tmp_path / "best.pt")  # weights-only loadable
    assert saved["score"] == 1.0 and saved["iteration"] == 4
    assert torch.equal(saved["networks"]["G"]["0.weight"], seen[1])


def test_mode_max_and_a_tracker_continued_from_its_file(tmp_path):
    metric, _ = _scripted([0.2, 0.9, 0.5, 0.1])
    best = BestCheckpoint(metric, every=2, mode="max")
    _train([best.callback()], run_dir=tmp_path)
    assert best.score == 0.9 and best.iteration == 4
    resumed = BestCheckpoint.from_file(tmp_path / "best.pt", metric, every=2)
    assert (resumed.mode, resumed.score, resumed.iteration) == ("max", 0.9, 4)
    assert not resumed.better(0.5) and resumed.better(0.95) and not resumed.better(math.inf)


def test_bad_settings_and_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="every must be >= 1"):
        BestCheckpoint(lambda t: 0.0, every=0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        BestCheckpoint(lambda t: 0.0, every=1, mode="lowest")
    save_checkpoint(tmp_path / "other.pt", {"format": "something-else"})
    with pytest.raises(CheckpointError, match="not a best-checkpoint file"):
        BestCheckpoint.from_file(tmp_path / "other.pt", lambda t: 0.0, every=1)
    untouched = _train([])
    assert BestCheckpoint(lambda t: 0.0, every=1).restore(untouched) is None


def test_scoring_does_not_change_the_training_that_follows():
    def noisy_metric(trainer):
        torch.manual_seed(123)  # a metric that reseeds and draws noise
        return float(torch.randn(1))

    plain = _train([])
    scored = _train([BestCheckpoint(noisy_metric, every=2).callback()])
    losses = [{k: v for k, v in row.items() if "/" in k} for row in plain.history]
    assert losses == [{k: v for k, v in row.items() if "/" in k} for row in scored.history]
