"""`ganforge vision train -> sample -> evaluate` and the demo section, on tiny settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganforge.apps.cli import main
from ganforge.vision import VisionGAN

TINY = "--iterations 3 --batch-size 16 --width 4 --latent-dim 8 --device cpu --no-progress"


def test_train_sample_evaluate_round_trip(tmp_path, capsys):
    model_path = tmp_path / "model.pt"
    argv = ["vision", "train", "--family", "cgan", "--dataset", "digits", *TINY.split()]
    assert main([*argv, "--out", str(model_path)]) == 0
    assert "cgan on digits: 1438 training / 359 held-out 8x8" in capsys.readouterr().out
    model = VisionGAN.load(model_path, "cpu")
    assert model.spec.family == "cgan" and model.num_classes == 10 and model.spec.width == 4

    npy = tmp_path / "sevens.npy"
    argv = ["vision", "sample", "--model", str(model_path), "--n", "6", "--label", "7"]
    assert main([*argv, "--out", str(npy)]) == 0
    torch.testing.assert_close(torch.from_numpy(np.load(npy)), model.sample(6, labels=7))
    png = tmp_path / "grid.png"
    assert main(["vision", "sample", "--model", str(model_path), "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"

    out, report, zoo = tmp_path / "eval.json", tmp_path / "eval.html", tmp_path / "zoo.json"
    zoo.write_text(json.dumps({"families": {"dcgan": {"fid": 118.0}, "cgan": {"fid": 54.0}},
                               "real_fid_floor": 3.4, "kde_fid": 67.0}))  # fmt: skip
    argv = ["vision", "evaluate", "--model", str(model_path), "--n", "50", "--zoo", str(zoo)]
    assert main([*argv, "--out", str(out), "--report", str(report)]) == 0
    result = json.loads(out.read_text())
    assert result["family"] == "cgan" and result["n_generated"] == 50
    assert result["real_fid_floor"] < result["fid"]
    assert {"kid", "precision", "recall", "density", "coverage"} <= set(result)
    page = report.read_text()
    assert page.count("<img") == 2 and "the model zoo" in page  # samples and the zoo table


def test_config_file_and_translation(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"family": "pix2pix", "iterations": 2, "width": 4}))
    model_path = tmp_path / "p2p.pt"
    argv = ["vision", "train", "--config", str(config), "--dataset", "digits", "--batch-size", "8"]
    assert main([*argv, "--device", "cpu", "--no-progress", "--out", str(model_path)]) == 0
    assert VisionGAN.load(model_path).spec.iterations == 2
    images = tmp_path / "in.npy"
    np.save(images, np.random.default_rng(0).random((3, 8, 8)).astype(np.float32))
    out = tmp_path / "out.npy"
    argv = ["vision", "sample", "--model", str(model_path), "--input", str(images)]
    assert main([*argv, "--out", str(out)]) == 0
    assert np.load(out).shape == (3, 1, 8, 8)
    result = tmp_path / "eval.json"
    assert main(["vision", "evaluate", "--model", str(model_path), "--out", str(result)]) == 0
    assert {"l1", "ssim", "fid"} <= set(json.loads(result.read_text()))


@pytest.mark.slow
def test_demo_section(tmp_path):
    from ganforge.apps.vision import demo

    section = demo(tmp_path)
    assert "FID (MNIST features)" in section.metrics and "samples" in section.figures
