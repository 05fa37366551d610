import json
import re
from typing import get_args, get_type_hints

import nibabel as nib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.io import imsave
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ganforge.apps import medsr as app
from ganforge.apps.cli import build_parser, main
from ganforge.apps.errors import UsageError
from ganforge.apps.specs import field_docs
from ganforge.medsr import (
    Degradation,
    GeneratorConfig,
    LossWeights,
    MedicalSR,
    MedicalSRSpec,
    SRGenerator,
)
from ganforge.medsr.degradation import KINDS, SUPPORTED_SCALES
from ganforge.medsr.networks import BLOCKS


def _run(argv):
    """The `ganforge` command itself, as a user runs it."""
    return main([str(a) for a in argv])


def _error(argv, capsys) -> str:
    """Run a call that must fail; return its one-line error."""
    assert _run(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge: error: "), lines
    return lines[0]


def _model(tmp_path, dims=3, degradation="kspace"):
    """An untrained (interpolating) model file of a tiny generator."""
    config = GeneratorConfig(channels=4, num_blocks=1, block="residual")
    model = MedicalSR(spatial_dims=dims, degradation=degradation, generator=config)
    model.generators = {"adversarial": SRGenerator(model.spec.generator)}
    return model.save(tmp_path / "m.pt")


def _stage(path):
    return list(MedicalSR.load(path).generators)


def test_enhance_command_writes_outputs(tmp_path, capsys):
    source = tmp_path / "scan.nii.gz"
    nib.save(nib.Nifti1Image(np.random.rand(10, 8, 6).astype(np.float32), np.eye(4)), source)
    assert (
        _run(
            [
                "medsr",
                "enhance",
                "--model",
                str(_model(tmp_path)),
                "--input",
                str(source),
                "--out",
                str(tmp_path / "sr.nii.gz"),
                "--no-tta",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert nib.load(tmp_path / "sr.nii.gz").shape == (20, 16, 12)
    assert (tmp_path / "sr_hallucination.nii.gz").exists()
    assert json.loads((tmp_path / "sr_report.json").read_text())["consistency_residual"] < 1e-6


def _train_config(tmp_path, **changes):
    config = tmp_path / "c.json"
    options = {
        "pretrain_iterations": 2,
        "adversarial_iterations": 1,
        "batch_size": 2,
        "patch_size": 32,
        "channels": 4,
        "num_blocks": 1,
        "block": "residual",
        "device": "cpu",
        "degradation": "psf",
    }
    config.write_text(json.dumps({**options, **changes}))
    return config


def _png_in_unit_range(path, shape=(32, 48)):
    """A PNG whose 0.5 / 99.5 percentiles are 0 and 255, so the app reads it as x / 255."""
    image = (np.random.default_rng(4).random(shape) * 255).astype(np.uint8)
    image[0], image[-1] = 0, 255
    imsave(path, image, check_contrast=False)
    return image.astype(np.float64) / 255


def _reference_metrics(hr, sr):
    sr = np.clip(sr, 0, 1).astype(np.float64)
    return {
        "psnr": peak_signal_noise_ratio(hr, sr, data_range=1.0),
        "ssim": structural_similarity(hr, sr, data_range=1.0),
    }


def test_train_and_evaluate_commands(tmp_path, capsys):
    out = tmp_path / "models"
    argv = ["medsr", "train", "--dataset", "synthetic", "--out", out]
    assert _run([*argv, "--config", _train_config(tmp_path), "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["gan_model.pt", "psnr_model.pt"]
    assert _stage(out / "psnr_model.pt") == ["pretrain"]
    assert _stage(out / "gan_model.pt") == ["adversarial"]
    hr = _png_in_unit_range(tmp_path / "hr.png")
    report = tmp_path / "eval.json"
    models = [out / "psnr_model.pt", out / "gan_model.pt"]
    assert (
        _run(
            ["medsr", "evaluate", "--model", *models, "--hr", tmp_path / "hr.png", "--out", report]
            + ["--device", "cpu"]
        )
        == 0
    )
    result = json.loads(report.read_text())
    assert set(result) == {"bicubic", "bicubic_dc", "best_baseline", "psnr_model", "gan_model"}
    # the same numbers computed here from the image, the degradation and skimage
    degradation = Degradation("psf", 2)
    lr = degradation(torch.from_numpy(hr).float()[None, None])
    bicubic = F.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False)
    expected = _reference_metrics(hr, bicubic[0, 0].numpy())
    generator = MedicalSR.load(out / "gan_model.pt", device="cpu").generator()
    with torch.no_grad():
        sr = degradation.project(generator(lr), lr)  # one window holds the image
    expected_gan = _reference_metrics(hr, sr[0, 0].numpy())
    for key in ("psnr", "ssim"):
        assert result["bicubic"][key] == pytest.approx(expected[key], rel=1e-5)
        assert result["gan_model"][key] == pytest.approx(expected_gan[key], rel=1e-4)
    assert result["gan_model"]["ssim"] != result["psnr_model"]["ssim"]


def test_train_into_a_model_file_writes_the_final_model_only(tmp_path):
    out = tmp_path / "out" / "sr.pt"
    config = _train_config(tmp_path, adversarial_iterations=0, patch_size=16)
    argv = ["medsr", "train", "--dataset", "synthetic", "--out", out, "--config", config]
    assert _run([*argv, "--no-progress"]) == 0
    assert [p.name for p in out.parent.iterdir()] == ["sr.pt"]
    assert _stage(out) == ["pretrain"]


def test_train_with_a_run_folder_and_resume(tmp_path):
    run, out = tmp_path / "run", tmp_path / "gan.pt"
    argv = ["medsr", "train", "--dataset", "synthetic", "--out", out, "--run-dir", run]
    argv += ["--config", _train_config(tmp_path), "--checkpoint-every", 1, "--no-progress"]
    assert _run(argv) == 0
    assert {"latest.pt", "metrics.jsonl", "checkpoint_00000003.pt"} <= {
        p.name for p in run.iterdir()
    }
    first = out.read_bytes()
    assert _run([*argv, "--resume"]) == 0  # a finished run resumes to the same model
    assert out.read_bytes() == first


@pytest.mark.parametrize(
    "argv,message",
    [
        (["medsr", "train", "--out", "x", "--scale", "3"], "invalid choice: 3 (choose from 2, 4)"),
        (["medsr", "train", "--out", "x", "--config", "missing.json"], "no such config file"),
        (
            ["medsr", "enhance", "--model", "missing.pt", "--input", "a.nii", "--out", "b.nii"],
            "no checkpoint at missing.pt",
        ),
        (["medsr", "train", "--out", "x", "--degradation", "jpeg"], "invalid choice: 'jpeg'"),
        (["medsr", "train", "--out", "x", "--batch-size", "two"], "must be an integer, got 'two'"),
        (["medsr", "train", "--out", "x", "--noise-std", "nan"], "must be a finite number"),
        (["medsr", "train", "--out", "x", "--device", "tpu"], "unknown device 'tpu'"),
        (["medsr", "train", "--out", "x", "--block", "nope"], "invalid choice: 'nope'"),
        (["medsr", "train", "--out", "x", "--blocks", "0"], "num_blocks must be >= 1, got 0"),
        (["medsr", "train", "--out", "x", "--weight-l1", "-1"], "loss weight l1 must be >= 0"),
        (["medsr", "train", "--out", "x", "--adversarial-loss", "l2"], "unknown loss 'l2'"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert message in _error(argv, capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "config,message",
    [
        ({"epochs": 3}, "unknown config keys ['epochs']"),
        ({"blocks": 2}, "unknown config keys ['blocks']"),  # the key is num_blocks
        ({"spatial_dims": 3}, "unknown config keys ['spatial_dims']"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"patch_size": "big"}, "patch_size must be a positive multiple of the scale 2, got 'big'"),
        ({"pretrain_iterations": 2.5}, "pretrain_iterations must be an integer >= 0, got 2.5"),
        ({"adversarial_iterations": True}, "adversarial_iterations must be an integer >= 0"),
        ({"scale": "2"}, "scale must be one of (2, 4), got '2'"),
        ({"degradation": "jpeg"}, "degradation kind must be one of"),
        ({"block": "dense"}, "block must be one of ('rrdb', 'residual'), got 'dense'"),
        ({"channels": "wide"}, "generator channels must be an integer, got 'wide'"),
        ({"num_blocks": 1.5}, "generator num_blocks must be an integer, got 1.5"),
        ({"residual_scale": None}, "generator residual_scale must be a finite number"),
        ({"weight_l1": "x"}, "loss weight l1 must be a finite number, got 'x'"),
        ({"weight_perceptual": -0.1}, "loss weight perceptual must be >= 0, got -0.1"),
        ({"adversarial_loss": ["hinge"]}, "adversarial_loss must be a loss name"),
        ({"device": 0}, "device must be auto, cpu, cuda or cuda:N"),
    ],
)
def test_bad_config_values(tmp_path, capsys, config, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    argv = ["medsr", "train", "--out", tmp_path / "x", "--run-dir", tmp_path / "run"]
    assert message in _error([*argv, "--config", path], capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_enhance_refuses_a_non_image_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    model = _model(tmp_path)
    argv = ["medsr", "enhance", "--model", model, "--input", bad, "--out", tmp_path / "sr.nii.gz"]
    assert "could not read it as an image" in _error(argv, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt", "notes.txt"]


def test_enhance_options_from_a_config_file(tmp_path, capsys):
    source = tmp_path / "scan.nii.gz"
    nib.save(nib.Nifti1Image(np.random.rand(10, 8, 6).astype(np.float32), np.eye(4)), source)
    config = tmp_path / "enhance.json"
    argv = ["medsr", "enhance", "--model", _model(tmp_path), "--input", source]
    argv += ["--out", tmp_path / "sr.nii.gz", "--config", config]
    config.write_text(json.dumps({"roi_size": 0}))
    assert "roi_size must be at least 1, got 0" in _error(argv, capsys)
    config.write_text(json.dumps({"no_tta": "yes"}))
    assert "no_tta must be true or false" in _error(argv, capsys)
    config.write_text(json.dumps({"no_tta": True, "threshold": 0.5}))
    assert _run(argv) == 0  # the switch in the file holds: no --no-tta on the line
    report = json.loads((tmp_path / "sr_report.json").read_text())
    assert report["uncertainty_mean"] == 0 and report["threshold"] == 0.5
    assert "exists" in _error(argv, capsys)  # and a second run does not overwrite


@pytest.mark.slow
def test_demo_section(tmp_path):
    section = app.demo(tmp_path)
    assert section.metrics["gan_model/consistency_residual"] < 1e-6
    assert 0 <= section.metrics["gan_model/flagged_area"] < 0.05
    assert "LR / SR / HR / hallucination map" in section.figures
    assert (tmp_path / "medsr_gan_model.pt").exists()


def _tiny_train_config(tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(
        json.dumps(
            {
                "pretrain_iterations": 2,
                "adversarial_iterations": 0,
                "batch_size": 2,
                "patch_size": 16,
                "channels": 4,
                "num_blocks": 1,
                "block": "residual",
                "device": "cpu",
                "degradation": "psf",
            }
        )
    )
    return config


def _volume_file(path, shape, seed=0):
    data = np.random.default_rng(seed).random(shape).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    return path


def test_train_with_an_roi_mask(tmp_path):
    image = _volume_file(tmp_path / "img.nii.gz", (32, 32, 4))
    mask = np.zeros((32, 32, 4), np.float32)
    mask[8:24, 8:24] = 1
    nib.save(nib.Nifti1Image(mask, np.eye(4)), tmp_path / "roi.nii.gz")
    out = tmp_path / "run"
    argv = ["medsr", "train", "--images", str(image), "--roi-mask", str(tmp_path / "roi.nii.gz")]
    argv += ["--out", str(out), "--config", str(_tiny_train_config(tmp_path)), "--no-progress"]
    assert _run(argv) == 0
    assert (out / "psnr_model.pt").exists()


@pytest.mark.parametrize(
    "mask_shape,extra,message",
    [
        ((32, 30, 4), [], r"has shape \(32, 30, 4\) but image .* has shape \(32, 32, 4\)"),
        ((32, 32, 4), ["--dataset", "synthetic"], "--roi-mask needs --images"),
    ],
)
def test_roi_mask_errors_write_nothing(tmp_path, capsys, mask_shape, extra, message):
    image = _volume_file(tmp_path / "img.nii.gz", (32, 32, 4))
    nib.save(nib.Nifti1Image(np.ones(mask_shape, np.float32), np.eye(4)), tmp_path / "roi.nii")
    source = extra or ["--images", str(image)]
    argv = ["medsr", "train", *source, "--roi-mask", str(tmp_path / "roi.nii")]
    argv += ["--out", str(tmp_path / "run"), "--config", str(_tiny_train_config(tmp_path))]
    assert re.search(message, _error(argv, capsys))
    assert not (tmp_path / "run").exists()


def test_roi_mask_count_must_match_the_images(tmp_path, capsys):
    images = [str(_volume_file(tmp_path / f"i{k}.nii", (16, 16, 4), k)) for k in range(3)]
    masks = [str(_volume_file(tmp_path / f"m{k}.nii", (16, 16, 4), k)) for k in range(2)]
    argv = ["medsr", "train", "--images", *images, "--roi-mask", *masks]
    assert "got 2 roi masks for 3 images" in _error([*argv, "--out", tmp_path / "x"], capsys)
    assert not (tmp_path / "x").exists()


def test_evaluate_a_3d_model_on_a_volume(tmp_path):
    volume = _volume_file(tmp_path / "hr.nii.gz", (24, 20, 16))
    report = tmp_path / "eval3d.json"
    model = _model(tmp_path, dims=3, degradation="psf")
    argv = ["medsr", "evaluate", "--model", str(model), "--hr", str(volume)]
    assert _run([*argv, "--out", str(report)]) == 0
    result = json.loads(report.read_text())
    assert set(result) == {"bicubic", "bicubic_dc", "best_baseline", "m"}
    # the untrained generator is trilinear interpolation; the 3-D conjugate-gradient
    # projection (50 iterations) makes it consistent to ~1e-5 of the input's norm
    assert result["m"]["consistency_residual"] < 1e-4
    assert result["bicubic"]["consistency_residual"] > 1e-3
    assert 0 < result["m"]["ssim"] <= 1 and result["m"]["psnr"] > 5


def test_evaluate_a_2d_model_slice_by_slice_and_a_3d_model_needs_volumes(tmp_path):
    volume = _volume_file(tmp_path / "hr.nii.gz", (24, 20, 6))
    hr = app._evaluation_data([volume], 2, 2)
    assert hr.shape == (6, 1, 24, 20)
    assert app._evaluation_data([volume], 4, 3).shape == (1, 1, 24, 20, 4)
    imsave(tmp_path / "slice.png", (np.random.rand(16, 16) * 255).astype(np.uint8))
    with pytest.raises(UsageError, match="a 3-D model needs 3-D volumes"):
        app._evaluation_data([tmp_path / "slice.png"], 2, 3)


def test_train_options_are_the_spec_fields_nested_as_the_spec_nests_them(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"num_blocks": 3, "weight_gradient": 0.5, "g_lr": 1e-3}))
    argv = ["medsr", "train", "--out", "x", "--config", config, "--blocks", "2"]
    argv += ["--block", "residual", "--weight-l1", "2", "--scale", "4", "--channels", "8"]
    arguments = build_parser({"medsr": app}).parse_args([str(a) for a in argv])
    options = app.merge_options(arguments, app.MODEL_KEYS, {})
    spec = MedicalSR(**app._train_settings(options)).spec
    assert (spec.scale, spec.g_lr) == (4, 1e-3)
    assert (spec.generator.scale, spec.generator.channels) == (4, 8)
    assert (spec.generator.num_blocks, spec.generator.block) == (2, "residual")
    assert (spec.weights.l1, spec.weights.gradient, spec.weights.roi) == (2.0, 0.5, 1.0)


def test_every_train_option_has_help_from_the_spec_docstrings():
    documented = {**field_docs(MedicalSRSpec), **field_docs(GeneratorConfig)}
    documented.update({f"weight_{k}": v for k, v in field_docs(LossWeights).items()})
    assert set(app.MODEL_KEYS) <= set(documented)
    hints = get_type_hints(MedicalSRSpec)
    assert get_args(hints["scale"]) == SUPPORTED_SCALES
    assert get_args(hints["degradation"]) == KINDS
    assert get_args(get_type_hints(GeneratorConfig)["block"]) == BLOCKS
