"""The trainer: schedules, EMA, non-finite handling, logging, checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from ganforge.core.checkpoint import load_checkpoint
from ganforge.core.training import (
    GANModule,
    NonFiniteTrainingError,
    Phase,
    ShuffledBatches,
    Step,
    Trainer,
    TrainerConfig,
)


class CountingModule(GANModule):
    """Two linear networks; records which steps ran, and can inject NaN losses."""

    def __init__(self, phases: list[Phase] | None = None, nan_at: set[int] | None = None):
        super().__init__()
        torch.manual_seed(0)
        self.networks = {"G": nn.Linear(2, 2), "D": nn.Linear(2, 1)}
        self.calls: list[tuple[int, str]] = []
        self.nan_at = set(nan_at or ())
        self._phases = phases

    def build_optimizers(self):
        return {n: torch.optim.SGD(net.parameters(), lr=0.01) for n, net in self.networks.items()}

    def phases(self):
        return self._phases or [
            Phase("gan", [Step("D", self.d_step, "D", repeat=3), Step("G", self.g_step, "G")])
        ]

    def d_step(self, batch, ctx):
        self.calls.append((ctx.iteration, "D"))
        fake = self.networks["G"](ctx.randn(batch.shape[0], 2)).detach()
        loss = self.networks["D"](fake).mean() - self.networks["D"](batch).mean()
        if ctx.iteration in self.nan_at:
            self.nan_at.discard(ctx.iteration)
            loss = loss * float("nan")
        return {"loss": loss}

    def g_step(self, batch, ctx):
        self.calls.append((ctx.iteration, "G"))
        return {"loss": -self.networks["D"](self.networks["G"](ctx.randn(4, 2))).mean()}


def data() -> torch.Tensor:
    return torch.randn(64, 2, generator=torch.Generator().manual_seed(1))


def config(**overrides) -> TrainerConfig:
    values = dict(iterations=4, batch_size=8, progress=False, tensorboard=False, log_every=1)
    return TrainerConfig(**{**values, **overrides})


def test_n_critic_runs_discriminator_repeat_times_per_generator_step():
    module = CountingModule()
    Trainer(module, config(iterations=2)).fit(data())
    assert module.calls == [(0, "D")] * 3 + [(0, "G")] + [(1, "D")] * 3 + [(1, "G")]


def test_phases_switch_after_their_iterations_and_every_skips_iterations():
    module = CountingModule()
    module._phases = [
        Phase("first", [Step("D", module.d_step, "D")], iterations=2),
        Phase("second", [Step("G", module.g_step, "G", every=2)]),
    ]
    trainer = Trainer(module, config(iterations=6)).fit(data())
    assert module.calls == [(0, "D"), (1, "D"), (2, "G"), (4, "G")]
    assert trainer.phase_at(1).name == "first" and trainer.phase_at(5).name == "second"


def test_only_last_phase_may_be_open_and_optimizers_must_exist():
    module = CountingModule()
    module._phases = [Phase("a", [Step("D", module.d_step, "D")]), Phase("b", [])]
    with pytest.raises(ValueError, match="only the last phase"):
        Trainer(module, config())
    module._phases = [Phase("a", [Step("D", module.d_step, "critic")])]
    with pytest.raises(ValueError, match="names optimizer 'critic'"):
        Trainer(module, config())


def test_a_step_updates_only_its_own_network():
    module = CountingModule()
    module._phases = [Phase("d only", [Step("D", module.d_step, "D")])]
    g_before = module.networks["G"].weight.clone()
    d_before = module.networks["D"].weight.clone()
    Trainer(module, config(iterations=3)).fit(data())
    assert torch.equal(module.networks["G"].weight, g_before)
    assert not torch.equal(module.networks["D"].weight, d_before)


def test_ema_average_matches_hand_computed_recursion():
    module = CountingModule()
    snapshots = []

    def record() -> None:
        snapshots.append(module.networks["G"].weight.detach().clone())

    module._phases = [Phase("g", [Step("G", module.g_step, "G", after=record)])]
    trainer = Trainer(module, config(iterations=4, ema_decay=0.8)).fit(data())
    # torch's EMA copies the first update, then averages with the decay.
    expected = snapshots[0]
    for weights in snapshots[1:]:
        expected = 0.8 * expected + 0.2 * weights
    assert torch.allclose(trainer.ema.module.weight, expected, atol=1e-6)


def test_nan_loss_is_skipped_logged_and_training_goes_on(tmp_path):
    module = CountingModule(nan_at={1})
    trainer = Trainer(module, config(iterations=5, run_dir=tmp_path)).fit(data())
    assert trainer.iteration == 5
    skipped = [e for e in trainer.events if e["event"] == "nonfinite_step_skipped"]
    assert len(skipped) == 1 and skipped[0]["iteration"] == 1 and skipped[0]["step"] == "D"
    assert all(torch.isfinite(p).all() for p in module.networks["D"].parameters())
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any(entry.get("event") == "nonfinite_step_skipped" for entry in logged)


def test_too_many_nan_steps_roll_back_to_the_last_checkpoint(tmp_path):
    module = CountingModule(nan_at={5, 6})
    module._phases = [Phase("d", [Step("D", module.d_step, "D")])]
    trainer = Trainer(
        module, config(iterations=8, run_dir=tmp_path, checkpoint_every=4, max_nonfinite=2)
    )
    trainer.fit(data())
    rollbacks = [e for e in trainer.events if e["event"] == "rolled_back"]
    assert rollbacks == [
        {"iteration": 4, "event": "rolled_back", "from_iteration": 6, "to_iteration": 4}
    ]
    assert trainer.iteration == 8
    assert all(torch.isfinite(p).all() for p in module.networks["D"].parameters())


def test_endless_nan_stops_with_a_clear_error():
    module = CountingModule(nan_at=set(range(100)))
    module.nan_at = type("Always", (set,), {"__contains__": lambda s, x: True})()
    module._phases = [Phase("d", [Step("D", module.d_step, "D")])]
    trainer = Trainer(module, config(iterations=50, max_nonfinite=2, max_rollbacks=1))
    with pytest.raises(NonFiniteTrainingError, match="non-finite steps in a row"):
        trainer.fit(data())


def test_checkpoints_are_written_pruned_and_load_safely(tmp_path):
    module = CountingModule()
    Trainer(module, config(iterations=6, run_dir=tmp_path, checkpoint_every=2)).fit(data())
    numbered = sorted(p.name for p in tmp_path.glob("checkpoint_*.pt"))
    assert numbered == ["checkpoint_00000004.pt", "checkpoint_00000006.pt"]
    state = load_checkpoint(tmp_path / "latest.pt")
    assert state["iteration"] == 6 and state["format"] == "ganforge-checkpoint-v1"
    assert torch.equal(state["networks"]["G"]["weight"], module.networks["G"].weight)


def test_a_trainer_starting_in_a_run_dir_removes_temporaries_of_killed_checkpoint_writes(
    tmp_path,
):
    Trainer(CountingModule(), config(iterations=4, run_dir=tmp_path, checkpoint_every=2)).fit(
        data()
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    stale = [".checkpoint_00000010.pt.k3x9_a2q", ".latest.pt.0abc_xyz"]
    for name in stale:
        (tmp_path / name).write_bytes(b"half a checkpoint")
    (tmp_path / ".keep").write_text("not ours")

    trainer = Trainer(CountingModule(), config(iterations=4, run_dir=tmp_path))

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, ".keep"])
    assert "checkpoint_00000004.pt" in before and "latest.pt" in before
    assert trainer.events[-1]["event"] == "stale_temporaries_removed"
    assert sorted(trainer.events[-1]["files"]) == stale
    trainer.fit(data(), resume_from=tmp_path / "latest.pt")
    assert trainer.iteration == 4


def test_logged_records_hold_step_outputs_and_callback_values(tmp_path):
    from ganforge.core.training import Callback

    module = CountingModule()
    callback = Callback(every=2, fn=lambda trainer: {"eval/iteration_seen": trainer.iteration})
    trainer = Trainer(module, config(iterations=4, log_every=2), callbacks=[callback])
    trainer.fit(data())
    assert [r["iteration"] for r in trainer.history] == [2, 4]
    assert [r["eval/iteration_seen"] for r in trainer.history] == [2, 4]
    assert {"D/loss", "G/loss"} <= set(trainer.history[0])


def test_shuffled_batches_cover_each_epoch_once_and_resume():
    values = torch.arange(10.0)
    source = ShuffledBatches(values, batch_size=5, seed=3)
    first_epoch = torch.cat([source.next_batch(), source.next_batch()])
    assert sorted(first_epoch.tolist()) == values.tolist()
    state = source.state_dict()
    upcoming = source.next_batch()
    resumed = ShuffledBatches(values, batch_size=5, seed=3)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.next_batch(), upcoming)


def test_ranks_split_the_global_batch_of_a_single_process():
    values = torch.arange(12.0)
    single = ShuffledBatches(values, batch_size=6, seed=0).next_batch()
    ranks = [ShuffledBatches(values, 3, seed=0, rank=r, world_size=2).next_batch() for r in (0, 1)]
    assert torch.equal(torch.cat(ranks), single)


def test_batch_larger_than_data_is_a_clear_error():
    with pytest.raises(ValueError, match="larger than the data"):
        ShuffledBatches(torch.zeros(4, 2), batch_size=8)


@pytest.mark.parametrize("precision", ["bf16"])
def test_cpu_autocast_runs_and_keeps_fp32_master_weights(precision):
    module = CountingModule()
    Trainer(module, config(iterations=2, precision=precision)).fit(data())
    assert module.networks["D"].weight.dtype == torch.float32
    assert torch.isfinite(module.networks["D"].weight).all()


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="precision"):
        TrainerConfig(iterations=1, precision="fp8")
    with pytest.raises(ValueError, match="ema_decay"):
        TrainerConfig(iterations=1, ema_decay=1.5)


def test_a_step_leaves_no_gradients_on_networks_it_does_not_train():
    module = CountingModule()
    module._phases = [Phase("g", [Step("G", module.g_step, "G")])]
    Trainer(module, config(iterations=2)).fit(data())
    assert all(p.grad is None for p in module.networks["D"].parameters())
    assert all(p.grad is not None for p in module.networks["G"].parameters())
    assert all(p.requires_grad for p in module.networks["D"].parameters())


def test_parameters_frozen_by_the_module_stay_frozen():
    module = CountingModule()
    module.networks["D"].bias.requires_grad_(False)
    bias = module.networks["D"].bias.detach().clone()
    Trainer(module, config(iterations=2)).fit(data())
    assert not module.networks["D"].bias.requires_grad
    assert torch.equal(module.networks["D"].bias, bias)
    assert module.networks["D"].weight.requires_grad


def test_a_step_without_loss_skips_its_optimizer_and_stale_values_are_not_logged():
    module = CountingModule()
    d_before = module.networks["D"].weight.detach().clone()

    def skipping_step(batch, ctx):
        return {"gap": torch.tensor(float(ctx.iteration))} if ctx.iteration < 2 else {}

    module._phases = [Phase("d", [Step("D", skipping_step, "D")])]
    trainer = Trainer(module, config(iterations=4)).fit(data())
    assert torch.equal(module.networks["D"].weight, d_before)
    assert [record.get("D/gap") for record in trainer.history] == [0.0, 1.0, None, None]


class BatchRecorder(GANModule):
    """Records the batch each step got and hands D's fakes to G through ``ctx.handoff``."""

    def __init__(self, share_batch: bool):
        super().__init__()
        torch.manual_seed(0)
        self.networks = {"G": nn.Linear(2, 2), "D": nn.Linear(2, 1)}
        self.share_batch, self.seen, self.generator_forwards = share_batch, [], 0

    def build_optimizers(self):
        return {n: torch.optim.SGD(net.parameters(), lr=0.01) for n, net in self.networks.items()}

    def phases(self):
        steps = [Step("D", self.d_step, "D", repeat=2), Step("G", self.g_step, "G")]
        return [Phase("gan", steps, share_batch=self.share_batch)]

    def fake(self, ctx):
        if "fake" not in ctx.handoff:
            self.generator_forwards += 1
            ctx.handoff["fake"] = self.networks["G"](ctx.randn(4, 2))
        return ctx.handoff["fake"]

    def d_step(self, batch, ctx):
        self.seen.append(("D", ctx.iteration, batch.clone()))
        fake = self.fake(ctx).detach()
        return {"loss": self.networks["D"](fake).mean() - self.networks["D"](batch).mean()}

    def g_step(self, batch, ctx):
        self.seen.append(("G", ctx.iteration, batch.clone()))
        ctx.handoff.pop("fake", None)  # G needs a graph through its own weights
        return {"loss": -self.networks["D"](self.fake(ctx)).mean()}


def test_a_phase_can_share_one_real_batch_between_its_steps():
    shared = BatchRecorder(share_batch=True)
    Trainer(shared, config(iterations=2)).fit(data())
    for iteration in range(2):
        d_first, d_again, g = [b for _, it, b in shared.seen if it == iteration]
        assert torch.equal(d_first, g) and not torch.equal(d_first, d_again)  # repeats: fresh
    separate = BatchRecorder(share_batch=False)
    Trainer(separate, config(iterations=2)).fit(data())
    batches = [b for _, _, b in separate.seen]
    assert all(not torch.equal(a, b) for a, b in zip(batches, batches[1:], strict=False))


def test_handoff_lives_for_one_iteration_and_saves_forwards():
    module = BatchRecorder(share_batch=True)
    Trainer(module, config(iterations=3)).fit(data())
    # per iteration: one forward for both D repeats, one for G (which drops D's detached copy)
    assert module.generator_forwards == 3 * 2


def staged_module(events: list[str]) -> type[CountingModule]:
    """Two phases ("first" for two iterations, then "second") whose entries are recorded
    in ``events``; entering "second" replaces D's optimizer, as a stage change would."""

    class Staged(CountingModule):
        def phases(self):
            def enter(name):
                def run():
                    events.append(name)
                    if name == "second":
                        return {"D": torch.optim.SGD(self.networks["D"].parameters(), lr=0.5)}
                    return None

                return run

            steps = [Step("D", self.d_step, "D"), Step("G", self.g_step, "G")]
            return [
                Phase("first", steps, iterations=2, on_enter=enter("first")),
                Phase("second", steps, on_enter=enter("second")),
            ]

    return Staged


def test_phase_on_enter_runs_once_in_order_and_before_a_resumed_state_loads(tmp_path):
    events = []
    Staged = staged_module(events)

    trainer = Trainer(Staged(), config(iterations=4, run_dir=tmp_path, checkpoint_every=3))
    trainer.fit(data())
    assert events == ["first", "second"]
    assert trainer.optimizers["D"].param_groups[0]["lr"] == 0.5
    events.clear()
    resumed = Trainer(Staged(), config(iterations=4, run_dir=tmp_path / "b"))
    resumed.fit(data(), resume_from=tmp_path / "checkpoint_00000003.pt")
    assert events == ["first", "second"]
    # the checkpoint's optimizer state loaded into the new optimizer (lr 0.5, not replaced)
    assert resumed.optimizers["D"].param_groups[0]["lr"] == 0.5
    for name, net in trainer.module.networks.items():
        for key, value in net.state_dict().items():
            assert torch.equal(value, resumed.module.networks[name].state_dict()[key])


def test_a_resume_exactly_at_a_phase_boundary_enters_the_next_phase_as_the_run_did(tmp_path):
    events = []
    Staged = staged_module(events)

    straight = Trainer(Staged(), config(iterations=4, run_dir=tmp_path, checkpoint_every=2))
    straight.fit(data())
    events.clear()
    resumed = Trainer(Staged(), config(iterations=4, run_dir=tmp_path / "b"))
    resumed.fit(data(), resume_from=tmp_path / "checkpoint_00000002.pt")  # end of "first"
    assert events == ["first", "second"]
    for name, net in straight.module.networks.items():
        for key, value in net.state_dict().items():
            assert torch.equal(value, resumed.module.networks[name].state_dict()[key]), key


def test_a_resumed_run_log_keeps_the_killed_runs_records_once(tmp_path):
    straight = Trainer(CountingModule(), config(iterations=6, run_dir=tmp_path, checkpoint_every=2))
    straight.fit(data())
    log = tmp_path / "metrics.jsonl"
    with log.open("a") as stream:  # what a killed run wrote after checkpoint 4, torn at the end
        stream.write('{"iteration": 5, "D/loss": 1.0}\n{"iteration": 6, "D/lo')
    resumed = Trainer(CountingModule(), config(iterations=6, run_dir=tmp_path))
    resumed.fit(data(), resume_from=tmp_path / "checkpoint_00000004.pt")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    iterations = [line["iteration"] for line in lines if "event" not in line]
    assert iterations == [1, 2, 3, 4, 5, 6]  # each logged once: 5 and 6 by the resumed run
    assert [line["event"] for line in lines if "event" in line] == ["resumed"]
    assert [r["iteration"] for r in resumed.history] == [1, 2, 3, 4, 5, 6]
