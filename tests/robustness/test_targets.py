"""Target models: the embedded cache, TorchScript, state dicts with a registry architecture."""

import pickle

import pytest
import torch

from ganforge.robustness import RobustClassifier, SmallCNN, load_target, predict_labels
from ganforge.robustness import targets as targets_module


def _small():
    torch.manual_seed(0)
    return SmallCNN(1, 8, 10, width=4, hidden=8).eval()


def test_torchscript_target_round_trip(tmp_path):
    model = _small()
    path = tmp_path / "model.ts"
    torch.jit.script(model).save(str(path))
    loaded = load_target(path)
    x = torch.rand(5, 1, 8, 8)
    torch.testing.assert_close(loaded(x), model(x))


def test_state_dict_needs_a_registry_architecture(tmp_path):
    model = _small()
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    with pytest.raises(ValueError, match="name its architecture"):
        load_target(path)
    loaded = load_target(
        path,
        architecture="small_cnn",
        image_shape=(1, 8, 8),
        num_classes=10,
        options={"width": 4, "hidden": 8},
    )
    x = torch.rand(5, 1, 8, 8)
    torch.testing.assert_close(loaded(x), model(x))
    with pytest.raises(ValueError, match="does not fit architecture 'small_cnn'") as error:
        load_target(path, architecture="small_cnn", image_shape=(1, 8, 8), num_classes=10)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        load_target(path, architecture="resnet", image_shape=(1, 8, 8), num_classes=10)


class Evil:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_pickled_objects_are_never_unpickled(tmp_path, capsys):
    path = tmp_path / "model.pt"
    torch.save(_small(), path)  # a whole pickled module
    with pytest.raises(ValueError) as error:
        load_target(path)
    assert "\n" not in str(error.value)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ValueError):
        load_target(evil)
    assert "unpickled!" not in capsys.readouterr().out
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError):
        load_target(garbage)
    with pytest.raises(ValueError, match="no such model file"):
        load_target(tmp_path / "missing.pt")


def test_a_ganforge_classifier_file_is_a_target(tmp_path, digits, digits_target):
    path = digits_target.save(tmp_path / "defended.pt")
    loaded = load_target(path)
    assert torch.equal(
        predict_labels(loaded, digits.x_test), predict_labels(digits_target.network, digits.x_test)
    )


def test_embedded_target_is_trained_once_and_cached(tmp_path, monkeypatch, digits):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path))
    spec = targets_module.TARGET_SPECS["digits"]
    monkeypatch.setitem(
        targets_module.TARGET_SPECS, "digits", type(spec)(**{**spec.__dict__, "iterations": 40})
    )
    first = targets_module.embedded_classifier("digits")
    path = targets_module.target_path("digits")
    assert path.is_file() and path.is_relative_to(tmp_path)
    stamp = path.stat().st_mtime_ns
    second = targets_module.embedded_classifier("digits")
    assert path.stat().st_mtime_ns == stamp  # loaded, not retrained
    network = second.network
    assert not network.training
    logits = [network(digits.x_test[:20]) for _ in range(2)]
    assert torch.equal(logits[0], logits[1])  # deterministic in eval (dropout off)
    for a, b in zip(first.network.parameters(), network.parameters(), strict=True):
        assert torch.equal(a, b)
    assert isinstance(second, RobustClassifier)
