"""The one model file: kind tag, format version, spec as plain data, one error type."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from ganforge.core.checkpoint import CheckpointError
from ganforge.core.modelfile import FORMAT_VERSION, load_model, save_model


def written(tmp_path, **overrides):
    net = nn.Linear(3, 2)
    path = save_model(
        tmp_path / "m.pt",
        "demo.Model",
        {"width": 3, "sizes": [1, 2]},
        {"G": net.state_dict()},
        {"scale": torch.tensor([2.0]), "note": "x"},
    )
    if overrides:
        raw = torch.load(path, weights_only=True)
        raw.update(overrides)
        for key, value in list(raw.items()):
            if value is None:
                del raw[key]
        torch.save(raw, path)
    return path, net


def test_round_trip_keeps_spec_state_and_extras(tmp_path):
    path, net = written(tmp_path)
    model = load_model(path, "demo.Model")
    assert model.kind == "demo.Model" and model.format_version == FORMAT_VERSION
    assert model.spec == {"width": 3, "sizes": [1, 2]}
    torch.testing.assert_close(model.state["G"]["weight"], net.weight.detach())
    assert model.extra["note"] == "x" and float(model.extra["scale"]) == 2.0
    assert model.versions["torch"] == torch.__version__
    raw = torch.load(path, weights_only=True)  # plain data: loads weights-only
    assert json.loads(raw["spec"]) == {"width": 3, "sizes": [1, 2]}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ganforge_model": "other.Model"}, "holds a other.Model model, not a demo.Model"),
        ({"format_version": FORMAT_VERSION + 1}, "newer than this ganforge reads"),
        ({"state": None}, "lacks state"),
        ({"ganforge_model": None}, "not a ganforge model file"),
        ({"spec": "{not json"}, "unreadable spec"),
    ],
)
def test_bad_model_files_are_one_line_errors(tmp_path, overrides, message):
    path, _ = written(tmp_path, **overrides)
    with pytest.raises(CheckpointError, match=message) as caught:
        load_model(path, "demo.Model")
    assert "\n" not in str(caught.value)


def test_a_truncated_model_file_is_a_checkpoint_error(tmp_path):
    path, _ = written(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a loadable checkpoint"):
        load_model(path, "demo.Model")


def test_a_file_may_be_read_as_one_of_several_kinds(tmp_path):
    path, _ = written(tmp_path)
    assert load_model(path, ("other.Model", "demo.Model")).kind == "demo.Model"
    with pytest.raises(CheckpointError, match="holds a demo.Model model, not a a.A or b.B model"):
        load_model(path, ("a.A", "b.B"))
    (tmp_path / "untagged").mkdir()
    untagged, _ = written(tmp_path / "untagged", ganforge_model=None)
    with pytest.raises(CheckpointError, match="not a ganforge model file"):
        load_model(untagged, ("demo.Model",))
