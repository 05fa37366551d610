"""`ganforge robustness attack -> train-defence -> evaluate` on the 8x8 digits, tiny settings."""

from __future__ import annotations

import json

import numpy as np
import torch

from ganforge.apps.cli import main
from ganforge.robustness import AdvGAN, RobustClassifier

ATTACK = "--dataset digits --width 4 --blocks 1 --iterations 20 --device cpu --no-progress"


def test_attack_defence_evaluate_round_trip(tmp_path, capsys):
    attack_path = tmp_path / "attack.pt"
    assert (
        main(["robustness", "attack", *ATTACK.split(), "--eps", "0.2", "--out", str(attack_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "1437 training and 360 test images" in out and "at eps 0.2" in out
    attack = AdvGAN.load(attack_path, "cpu")
    assert attack.spec.eps == 0.2 and attack.image_shape == (1, 8, 8)

    defended_path = tmp_path / "defended.pt"
    argv = ["robustness", "train-defence", "--dataset", "digits", "--method", "pgd"]
    argv += ["--iterations", "3", "--pgd-steps", "2", "--device", "cpu", "--no-progress"]
    assert main([*argv, "--out", str(defended_path)]) == 0
    assert "pgd training, 3 iterations" in capsys.readouterr().out
    assert RobustClassifier.load(defended_path).spec.method == "pgd"

    report, result = tmp_path / "eval.html", tmp_path / "eval.json"
    argv = ["robustness", "evaluate", "--model", str(defended_path), "--attack", str(attack_path)]
    argv += ["--dataset", "digits", "--baselines", "--out", str(result), "--report", str(report)]
    assert main([*argv, "--no-progress"]) == 0
    values = json.loads(result.read_text())
    assert values["eps"] == 0.2 and set(values["attacks"]) == {"advgan", "fgsm", "pgd40"}
    for row in values["attacks"].values():
        assert 0 <= row["success"] <= 1 and row["max_linf"] <= 0.2 + 1e-6
    assert "data:image/png;base64" in report.read_text()
    assert "clean / perturbed / perturbation" in report.read_text()


def test_user_images_and_a_torchscript_model(tmp_path, capsys, digits, digits_target):
    model = tmp_path / "model.ts"  # unlabelled images: the model's answers are the labels
    torch.jit.script(digits_target.network.eval()).save(str(model))
    images = tmp_path / "images.npy"
    np.save(images, (digits.x_test[:100, 0].numpy() * 255).astype(np.uint8))
    out = tmp_path / "attack.pt"
    argv = ["robustness", "attack", "--data", str(images), "--model", str(model)]
    argv += ["--width", "4", "--blocks", "1", "--iterations", "2", "--batch-size", "16"]
    assert main([*argv, "--device", "cpu", "--no-progress", "--out", str(out)]) == 0
    assert "80 training and 20 test images" in capsys.readouterr().out


def test_demo_section(tmp_path, monkeypatch):
    from ganforge.apps import robustness as app

    monkeypatch.setitem(app.DEMO_SPEC, "iterations", 5)
    section = app.demo(tmp_path)
    assert any("clean / perturbed / perturbation" in name for name in section.figures)
    assert {"advgan success", "fgsm success", "pgd40 success"} <= set(section.metrics)
    assert (tmp_path / "advgan.pt").is_file() and (tmp_path / "evaluation.json").is_file()
