"""AdvGAN on the 8x8 digits: the target stays frozen, attacks work, files round-trip."""

import pytest
import torch
from torch import nn

from ganforge.core.checkpoint import CheckpointError
from ganforge.robustness import AdvGAN, AdvGANSpec, SmallCNN, predict_labels, success_rate

TINY = dict(width=4, blocks=1, disc_width=4, batch_size=32, device="cpu")


class RecordingTarget(nn.Module):
    """A classifier that records the mode it was in at every forward pass."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network
        self.modes: list[bool] = []

    def forward(self, x):
        self.modes.append(self.network.training)
        return self.network(x)


def test_training_the_attack_leaves_the_target_unchanged(digits, digits_target):
    network = SmallCNN(1, 8, 10, width=8, hidden=32)
    network.load_state_dict(digits_target.network.state_dict())
    target = RecordingTarget(network).train()  # the user left it in train mode (dropout on)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    flags = [p.requires_grad for p in target.parameters()]
    AdvGAN(eps=0.3, iterations=6, **TINY).fit(target, digits.x_train, digits.y_train)
    assert target.training and network.training  # its mode is as the user left it
    assert target.modes and not any(target.modes[1:])  # eval mode in every loss call
    for key, value in target.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert [p.requires_grad for p in target.parameters()] == flags
    assert all(p.grad is None for p in target.parameters())


def test_untargeted_attack_fools_the_target(digits, digits_target):
    target = digits_target.network
    attack = AdvGAN(eps=0.3, iterations=200, kappa=5.0, **{**TINY, "width": 8})
    attack.fit(target, digits.x_train, digits.y_train)
    x_adv = attack.perturb(digits.x_test)
    assert float((x_adv.double() - digits.x_test.double()).abs().max()) <= 0.3
    signs = torch.randint(0, 2, digits.x_test.shape, generator=torch.Generator().manual_seed(0))
    noisy = (digits.x_test + 0.3 * (2 * signs - 1)).clamp(0, 1)  # random corners of the ball
    noise = success_rate(target, noisy, digits.x_test, digits.y_test)
    rate = success_rate(target, x_adv, digits.x_test, digits.y_test)
    assert rate > 0.7 and rate > noise + 0.4, (rate, noise)


def test_targeted_attack_moves_images_toward_the_target_class(digits, digits_target):
    target = digits_target.network
    attack = AdvGAN(eps=0.3, iterations=300, kappa=5.0, target_class=3, **{**TINY, "width": 8})
    attack.fit(target, digits.x_train, digits.y_train)
    x_adv = attack.perturb(digits.x_test)
    before = float((predict_labels(target, digits.x_test) == 3).float().mean())
    after = float((predict_labels(target, x_adv) == 3).float().mean())
    assert before < 0.15 and after > 0.5, (before, after)
    rate = success_rate(target, x_adv, digits.x_test, digits.y_test, target_class=3)
    assert rate > 0.45


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_distilled_surrogate_agrees_with_the_target_on_held_out_images(mode, digits, digits_target):
    target = digits_target.network
    attack = AdvGAN(eps=0.3, iterations=20, distill_iterations=200, mode=mode, **TINY)
    attack.fit(target, digits.x_train)  # labels: the target's own answers
    agreement = predict_labels(attack.surrogate, digits.x_test) == predict_labels(
        target, digits.x_test
    )
    assert float(agreement.float().mean()) > 0.85


def test_save_load_round_trip(tmp_path, digits, digits_target):
    attack = AdvGAN(eps=0.2, iterations=3, mode="dynamic", distill_iterations=2, **TINY)
    attack.fit(digits_target.network, digits.x_train, digits.y_train)
    path = attack.save(tmp_path / "attack.pt")
    assert torch.load(path, weights_only=True)["ganforge_model"] == "robustness.AdvGAN"
    loaded = AdvGAN.load(path, "cpu")
    assert loaded.spec == AdvGANSpec(**{**attack.spec.__dict__, "device": "cpu"})
    torch.testing.assert_close(loaded.perturb(digits.x_test), attack.perturb(digits.x_test))
    assert loaded.surrogate is not None
    with pytest.raises(CheckpointError, match="not a robustness.RobustClassifier"):
        from ganforge.robustness import RobustClassifier

        RobustClassifier.load(path)


def test_two_fits_with_one_seed_are_identical(digits, digits_target):
    runs = [
        AdvGAN(eps=0.3, iterations=4, seed=3, **TINY)
        .fit(digits_target.network, digits.x_train, digits.y_train)
        .perturb(digits.x_test[:50])
        for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])


class WrongOutput(nn.Module):
    def __init__(self, out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(64, out)

    def forward(self, x):
        return self.linear(x.flatten(1))


@pytest.mark.parametrize(
    ("target", "x", "options", "fragment"),
    [
        (WrongOutput(3), None, {}, "the labels go up to 9 but the model's output has 3 classes"),
        (WrongOutput(10), None, {"target_class": 12}, "target_class 12 is not one of"),
        (nn.Linear(64, 10), None, {}, "the model cannot read images"),
        (WrongOutput(10), "x255", {}, "must lie in [0, 1], the declared range"),
        (WrongOutput(10), "flat", {}, "must be images"),
    ],
)
def test_bad_models_and_inputs_are_one_line_errors(digits, target, x, options, fragment):
    images = digits.x_train
    if x == "x255":
        images = images * 255.0
    elif x == "flat":
        images = images.flatten(1)
    with pytest.raises(ValueError) as error:
        AdvGAN(eps=0.3, iterations=1, **{**TINY, **options}).fit(target, images, digits.y_train)
    assert fragment in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("eps", [0.0, -0.3])
def test_a_nonpositive_epsilon_is_refused(eps):
    with pytest.raises(ValueError, match="epsilon must be a number > 0"):
        AdvGAN(eps=eps)
