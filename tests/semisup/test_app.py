"""`ganforge semisup train -> predict -> evaluate` and the demo section, on tiny settings."""

from __future__ import annotations

import json

import numpy as np
import torch

from ganforge.apps.cli import main
from ganforge.semisup import SemiSupervisedGAN, embedded_images

TINY = (
    "--dataset digits --hidden 16 8 --generator-hidden 8 --latent-dim 4 --batch-size 32 "
    "--iterations 4 --device cpu --no-progress"
)


def test_train_predict_evaluate_round_trip(tmp_path, capsys):
    model_path = tmp_path / "model.pt"
    assert main(["semisup", "train", *TINY.split(), "--out", str(model_path)]) == 0
    assert "50 labelled, 1387 unlabelled, 360 test" in capsys.readouterr().out
    model = SemiSupervisedGAN.load(model_path, "cpu")
    assert model.spec.iterations == 4 and model.spec.hidden == (16, 8)
    assert model.image_shape == (8, 8) and model.classes_.tolist() == list(range(10))

    images, _ = embedded_images("digits")
    npy = tmp_path / "five.npy"
    np.save(npy, images[:5])
    from PIL import Image

    png = tmp_path / "one.png"
    Image.fromarray((images[7] * 255).astype(np.uint8)).save(png)
    csv = tmp_path / "predictions.csv"
    argv = ["semisup", "predict", "--model", str(model_path), "--input", str(npy), str(png)]
    assert main([*argv, "--out", str(csv), "--no-progress"]) == 0
    rows = csv.read_text().splitlines()
    assert rows[0] == "source,index,prediction,probability" and len(rows) == 7
    expected = model.predict(images[:5])
    for row, label in zip(rows[1:6], expected, strict=True):
        source, index, predicted, probability = row.split(",")
        assert source == str(npy) and predicted == str(label) and 0 < float(probability) <= 1
    assert rows[6].startswith(f"{png},0,")

    report, page = tmp_path / "eval.json", tmp_path / "eval.html"
    argv = ["semisup", "evaluate", "--model", str(model_path), "--dataset", "digits"]
    assert main([*argv, "--out", str(report), "--report", str(page), "--no-progress"]) == 0
    result = json.loads(report.read_text())
    matrix = np.array(result["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == result["n_test"] == 360
    assert result["error"] == round(1 - np.trace(matrix) / 360, 6)
    text = page.read_text()
    assert "confusion matrix" in text and "generated images" in text


def test_resume_continues_exactly(tmp_path):
    """Resumed from the iteration-2 checkpoint of a 4-iteration run (what a run killed after
    it leaves), training writes the same model as the run that went straight through."""
    import shutil

    straight, resumed = tmp_path / "a.pt", tmp_path / "b.pt"
    run, killed = tmp_path / "run", tmp_path / "killed"
    argv = ["semisup", "train", *TINY.split(), "--run-dir", str(run), "--checkpoint-every", "2"]
    assert main([*argv, "--out", str(straight)]) == 0
    killed.mkdir()
    shutil.copy(run / "checkpoint_00000002.pt", killed / "latest.pt")
    argv = ["semisup", "train", *TINY.split(), "--run-dir", str(killed), "--resume"]
    assert main([*argv, "--out", str(resumed)]) == 0
    a = SemiSupervisedGAN.load(straight, "cpu")
    b = SemiSupervisedGAN.load(resumed, "cpu")
    for name in ("D", "G"):
        for key, value in a.file_state()[name].state_dict().items():
            assert torch.equal(value, b.file_state()[name].state_dict()[key]), (name, key)


def test_demo_section(tmp_path, monkeypatch):
    from ganforge.apps import semisup as app

    monkeypatch.setitem(app.DEMO_SPEC, "iterations", 5)
    section = app.demo(tmp_path)
    assert {"confusion matrix on the held-out images", "generated images"} <= set(section.figures)
    assert "same network on the labels alone" in section.metrics
    assert (tmp_path / "semisup.pt").is_file() and (tmp_path / "evaluation.json").is_file()
