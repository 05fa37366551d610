"""Training health monitors, tested on tensors and on a small stand-in trainer."""

from __future__ import annotations

import math

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from ganforge.core.diagnostics import (
    DiscriminatorAccuracyMonitor,
    DiversityMonitor,
    GradientNormMonitor,
    LossRatioMonitor,
    OverfittingMonitor,
    SampleGridMonitor,
    discriminator_accuracy,
    discriminator_scores,
    diversity_drop,
    gradient_norm,
    overfitting_gap,
    sample_grid_figure,
)

RING = torch.stack(
    [2 * torch.cos(torch.arange(8) * math.pi / 4), 2 * torch.sin(torch.arange(8) * math.pi / 4)], 1
)


class RingGenerator(nn.Module):
    """Noise (N, 2) -> ring-of-8-Gaussians samples (std 0.02); ``collapsed`` uses mode 0 only."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.02))
        self.collapsed = False

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        modes = torch.zeros(len(z), dtype=torch.long)
        if not self.collapsed:
            modes = torch.arange(len(z)) % 8
        return RING[modes] + self.scale * z


class FakeModule:
    generator_name = "G"

    def __init__(self, **networks: nn.Module) -> None:
        self.networks = networks


class FakeTrainer:
    """The attributes the monitors read: module, ema, device, iteration, history, log_event."""

    def __init__(self, **networks: nn.Module) -> None:
        self.module = FakeModule(**networks)
        self.ema = None
        self.device = torch.device("cpu")
        self.iteration = 0
        self.history: list[dict] = []
        self.events: list[dict] = []

    def log_event(self, name: str, **info) -> None:
        self.events.append({"event": name, "iteration": self.iteration, **info})

    def names(self) -> list[str]:
        return [e["event"] for e in self.events]


class ThresholdD(nn.Module):
    """Scores +1 for points with x > 0.5, -1 otherwise."""

    def forward(self, x):
        return torch.where(x[:, :1] > 0.5, 1.0, -1.0)


def test_mode_collapse_fires_on_a_collapsed_ring_generator_only():
    noise = torch.randn(512, 2, generator=torch.Generator().manual_seed(0))
    trainer = FakeTrainer(G=RingGenerator())
    monitor = DiversityMonitor(noise)
    healthy = monitor(trainer)
    trainer.iteration = 100
    again = monitor(trainer)
    assert trainer.events == []
    assert healthy["diag/diversity"] == pytest.approx(again["diag/diversity"])
    # mean distance between random ring points of radius 2: about 2.3
    assert 2.0 < healthy["diag/diversity"] < 2.8 and again["diag/diversity_drop"] == 0.0
    trainer.module.networks["G"].collapsed = True
    trainer.iteration = 200
    collapsed = monitor(trainer)
    assert trainer.names() == ["mode_collapse"]
    assert collapsed["diag/diversity"] < 0.05 and collapsed["diag/diversity_drop"] > 0.95
    assert trainer.events[0]["iteration"] == 200


def test_diversity_monitor_prefers_the_ema_generator_when_asked():
    trainer = FakeTrainer(G=RingGenerator())
    ema = RingGenerator()
    ema.collapsed = True
    trainer.ema = ema
    noise = torch.randn(64, 2)
    assert DiversityMonitor(noise, use_ema=True)(trainer)["diag/diversity"] < 0.1
    assert DiversityMonitor(noise)(trainer)["diag/diversity"] > 1.0


def test_discriminator_memorising_fires_at_full_real_accuracy():
    trainer = FakeTrainer(G=RingGenerator(), D=ThresholdD())
    real = torch.tensor([[1.0, 0.0], [2.0, 1.0]])
    values = DiscriminatorAccuracyMonitor(real, torch.zeros(8, 2))(trainer)
    # generator modes 0..7: x > 0.5 for modes 0, 1, 7 -> 5 of 8 fakes called fake
    assert values == {"diag/d_acc_real": 1.0, "diag/d_acc_fake": 5 / 8}
    assert trainer.names() == ["discriminator_memorising"]
    trainer.events.clear()
    DiscriminatorAccuracyMonitor(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), torch.zeros(8, 2))(
        trainer
    )
    assert trainer.events == []


def test_overfitting_alarm_on_train_heldout_gap():
    trainer = FakeTrainer(D=ThresholdD())
    train = torch.ones(10, 2)
    heldout = torch.cat([torch.ones(5, 2), -torch.ones(5, 2)])
    values = OverfittingMonitor(train, heldout)(trainer)
    assert values["diag/d_overfit_gap"] == pytest.approx(0.5)
    assert trainer.names() == ["discriminator_overfitting"]
    trainer.events.clear()
    OverfittingMonitor(train, train.clone())(trainer)
    assert trainer.events == []


def test_gradient_norm_monitor_values_and_events():
    g, d = nn.Linear(2, 2), nn.Linear(2, 1)
    trainer = FakeTrainer(G=g, D=d)
    values = GradientNormMonitor()(trainer)
    assert math.isnan(values["diag/grad_norm/G"]) and trainer.events == []
    for p in g.parameters():
        p.grad = torch.full_like(p, 3.0)  # 6 entries: norm 3 * sqrt(6)
    for p in d.parameters():
        p.grad = torch.full_like(p, 1e4)
    values = GradientNormMonitor()(trainer)
    assert values["diag/grad_norm/G"] == pytest.approx(3 * math.sqrt(6))
    assert trainer.names() == ["exploding_gradients"] and trainer.events[0]["network"] == "D"
    for p in d.parameters():
        p.grad = torch.zeros_like(p)
    GradientNormMonitor(["D"])(trainer)
    assert trainer.names()[-1] == "vanishing_gradients"
    with pytest.raises(ValueError, match="no network 'critic'.*\\['D', 'G'\\]"):
        GradientNormMonitor(["critic"])(trainer)


def test_loss_ratio_monitor_reads_the_history():
    trainer = FakeTrainer()
    assert LossRatioMonitor()(trainer) == {}
    trainer.history = [{"D/loss": 1.4, "G/loss": 0.7}, {"other": 1.0}]
    assert LossRatioMonitor()(trainer) == {"diag/loss_ratio": pytest.approx(2.0)}
    assert trainer.events == []
    trainer.history.append({"D/loss": 0.01, "G/loss": 5.0})
    assert LossRatioMonitor()(trainer)["diag/loss_ratio"] == pytest.approx(0.002)
    assert trainer.names() == ["loss_imbalance"]
    with pytest.raises(ValueError, match="Pass d_loss=/g_loss="):
        LossRatioMonitor("critic/loss")(trainer)


def test_pure_functions():
    patch = torch.arange(8.0).reshape(2, 1, 2, 2)
    assert torch.equal(discriminator_scores(patch), torch.tensor([1.5, 5.5]))
    assert torch.equal(discriminator_scores([patch, patch + 1]), torch.tensor([2.0, 6.0]))
    assert discriminator_accuracy(torch.tensor([1.0, -1.0]), torch.tensor([-1.0, -2.0])) == (
        0.5,
        1.0,
    )
    assert diversity_drop(2.0, 1.5) == pytest.approx(0.25)
    assert diversity_drop(2.0, 3.0) == pytest.approx(-0.5)
    assert overfitting_gap(torch.ones(4), torch.tensor([1.0, -1.0, -1.0, -1.0])) == 0.75
    module = nn.Linear(3, 1, bias=False)
    module.weight.grad = torch.tensor([[3.0, 4.0, 0.0]])
    assert gradient_norm(module) == pytest.approx(5.0)


@pytest.mark.parametrize(
    "shape", [(16, 1, 8, 8), (16, 3, 8, 8), (300, 2), (6, 100), (4, 1, 4, 8, 8)]
)
def test_sample_grid_figures_for_every_sample_shape(shape):
    figure = sample_grid_figure(torch.randn(*shape), nrow=4, title="x")
    assert isinstance(figure, Figure) and figure.axes


def test_sample_grid_monitor_keeps_the_latest_figures():
    trainer = FakeTrainer(G=RingGenerator())
    monitor = SampleGridMonitor(torch.randn(64, 2), keep=2)
    assert monitor.latest() is None
    for it in (10, 20, 30):
        trainer.iteration = it
        assert monitor(trainer) == {}
    assert sorted(monitor.figures) == [20, 30]
    assert "iteration 30" in monitor.latest()._suptitle.get_text()


def test_monitors_plug_into_the_trainer_as_callbacks():
    from ganforge.core.training import Callback, GANModule, Phase, Step, Trainer, TrainerConfig

    class Ring(GANModule):
        def __init__(self) -> None:
            super().__init__()
            self.networks = {"G": RingGenerator(), "D": nn.Linear(2, 1)}

        def build_optimizers(self):
            return {"D": torch.optim.SGD(self.networks["D"].parameters(), lr=0.01)}

        def phases(self):
            return [Phase("gan", [Step("D", self.d_step, "D")])]

        def d_step(self, batch, ctx):
            if ctx.iteration >= 4:
                self.networks["G"].collapsed = True
            fake = self.networks["G"](ctx.randn(batch.shape[0], 2)).detach()
            return {"loss": self.networks["D"](fake).mean() - self.networks["D"](batch).mean()}

    diversity = DiversityMonitor(torch.randn(256, 2))
    trainer = Trainer(
        Ring(),
        TrainerConfig(iterations=6, batch_size=8, progress=False, tensorboard=False, device="cpu"),
        callbacks=[
            Callback(every=2, fn=diversity),
            Callback(every=3, fn=GradientNormMonitor(["D"])),
        ],
    )
    trainer.fit(RING.repeat(4, 1))
    assert [e["event"] for e in trainer.events] == ["mode_collapse"]
    assert trainer.events[0]["iteration"] == 6
    logged = [r for r in trainer.history if "diag/diversity" in r]
    assert len(logged) == 3 and logged[-1]["diag/diversity_drop"] > 0.9
    assert any("diag/grad_norm/D" in r for r in trainer.history)
