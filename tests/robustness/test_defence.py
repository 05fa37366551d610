"""Adversarial training (PGD, AdvGAN) from the core trainer, and the peer library cross-check."""

import pytest
import torch

from ganforge.core.training import StepContext
from ganforge.robustness import (
    ClassifierModule,
    RobustClassifier,
    SmallCNN,
    accuracy,
    art_fgsm,
    art_pgd,
    fgsm,
    pgd,
)

TINY = dict(width=8, hidden=32, batch_size=64, device="cpu")


def test_pgd_training_step_trains_on_attacked_images(digits):
    torch.manual_seed(0)
    module = ClassifierModule(SmallCNN(1, 8, 10, width=4, hidden=8), eps=0.3, pgd_steps=3)
    module.build_optimizers()
    x, y = digits.x_train[:16], digits.y_train[:16]
    out = module.step((x, y), StepContext(iteration=0, phase="pgd", device=torch.device("cpu")))
    assert float(out["adversarial"]) > float(out["clean"])  # the examples are harder
    assert module.networks["C"].training  # left as built


@pytest.mark.parametrize("method", ["pgd", "advgan"])
def test_defended_classifier_resists_pgd_better(method, digits, digits_target):
    options = dict(TINY, method=method, iterations=300, eps=0.1, pgd_steps=5, pgd_step_size=0.04)
    defended = RobustClassifier(**options).fit(digits.x_train, digits.y_train, init=digits_target)
    x, y = digits.x_test[:200], digits.y_test[:200]

    def under_pgd(network):
        gen = torch.Generator().manual_seed(0)
        return accuracy(
            network, pgd(network, x, y, 0.1, steps=10, step_size=0.02, generator=gen), y
        )

    assert under_pgd(defended.network) > under_pgd(digits_target.network) + 0.1
    assert defended.score(digits.x_test, digits.y_test) > 0.8


def test_classifier_save_load_round_trip(tmp_path, digits, digits_target):
    path = digits_target.save(tmp_path / "c.pt")
    loaded = RobustClassifier.load(path, "cpu")
    assert (loaded.predict(digits.x_test) == digits_target.predict(digits.x_test)).all()


def test_own_fgsm_matches_the_peer_library(digits, digits_target):
    network = digits_target.network
    x, y = digits.x_test[:100], digits.y_test[:100]
    ours = fgsm(network, x, y, 0.1)
    peer = art_fgsm(network, x, y, 0.1, num_classes=10)
    torch.testing.assert_close(ours, peer, atol=1e-6, rtol=0)


def test_own_pgd_and_the_peer_library_agree_on_success(digits, digits_target):
    network = digits_target.network
    x, y = digits.x_test[:200], digits.y_test[:200]
    ours = pgd(network, x, y, 0.15, steps=20, step_size=0.02, generator=torch.Generator())
    peer = art_pgd(network, x, y, 0.15, num_classes=10, steps=20, step_size=0.02)
    assert float((peer.double() - x.double()).abs().max()) <= 0.15 + 1e-6
    assert abs(accuracy(network, ours, y) - accuracy(network, peer, y)) < 0.05


def test_pgd_training_resumes_identically(tmp_path, assert_identical):
    from ganforge.core.training import Trainer, TrainerConfig

    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(32) % 3

    def train(run_dir, resume_from=None):
        torch.manual_seed(0)
        module = ClassifierModule(SmallCNN(1, 8, 3, width=4, hidden=8), eps=0.3, pgd_steps=2)
        config = TrainerConfig(
            iterations=4, batch_size=8, seed=5, run_dir=run_dir, checkpoint_every=2,
            keep_checkpoints=10, progress=False, tensorboard=False,
        )  # fmt: skip
        return Trainer(module, config).fit((images, labels), resume_from=resume_from)

    straight = train(tmp_path / "a")
    resumed = train(tmp_path / "b", tmp_path / "a" / "checkpoint_00000002.pt")
    a, b = straight.state_dict(), resumed.state_dict()
    for key in ("networks", "optimizers", "rng", "batches"):
        assert_identical(a[key], b[key], key)
