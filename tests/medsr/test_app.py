import argparse
import json

import nibabel as nib
import numpy as np
import pytest

from ganforge.apps import medsr as app
from ganforge.apps.errors import UsageError
from ganforge.medsr import Degradation, SRGenerator, save_model


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser():
    parser = _Parser(prog="ganforge")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    app.add_commands(commands)
    return parser


def _run(argv):
    arguments = _parser().parse_args(argv)
    return arguments.handler(arguments)


def _model(tmp_path, dims=3):
    generator = SRGenerator(spatial_dims=dims, channels=4, num_blocks=1, block="residual")
    return save_model(tmp_path / "m.pt", generator, Degradation("kspace", 2, dims), "adversarial")


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
            ]
        )
        == 0
    )
    assert nib.load(tmp_path / "sr.nii.gz").shape == (20, 16, 12)
    assert (tmp_path / "sr_hallucination.nii.gz").exists()
    assert json.loads((tmp_path / "sr_report.json").read_text())["consistency_residual"] < 1e-6


def test_train_and_evaluate_commands(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(
        json.dumps(
            {
                "pretrain_iterations": 2,
                "adversarial_iterations": 1,
                "batch_size": 2,
                "patch_size": 32,
                "channels": 4,
                "blocks": 1,
                "block": "residual",
                "device": "cpu",
            }
        )
    )
    out = tmp_path / "run"
    assert (
        _run(
            [
                "medsr",
                "train",
                "--dataset",
                "synthetic",
                "--out",
                str(out),
                "--config",
                str(config),
                "--no-progress",
                "--degradation",
                "psf",
            ]
        )
        == 0
    )
    assert (out / "psnr_model.pt").exists() and (out / "gan_model.pt").exists()
    hr = tmp_path / "hr.png"
    from skimage.io import imsave

    imsave(hr, (np.random.rand(32, 48) * 255).astype(np.uint8), check_contrast=False)
    report = tmp_path / "eval.json"
    assert (
        _run(
            [
                "medsr",
                "evaluate",
                "--model",
                str(out / "psnr_model.pt"),
                str(out / "gan_model.pt"),
                "--hr",
                str(hr),
                "--out",
                str(report),
            ]
        )
        == 0
    )
    result = json.loads(report.read_text())
    assert set(result) == {"bicubic", "psnr_model", "gan_model"}
    assert 0 < result["gan_model"]["ssim"] <= 1


@pytest.mark.parametrize(
    "argv,message",
    [
        (["medsr", "train", "--out", "x", "--scale", "3"], "scale must be one of"),
        (["medsr", "train", "--out", "x", "--config", "missing.json"], "no such config file"),
        (
            ["medsr", "enhance", "--model", "missing.pt", "--input", "a.nii", "--out", "b.nii"],
            "no such model file",
        ),
        (["medsr", "train", "--out", "x", "--degradation", "jpeg"], "invalid choice"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises((UsageError, ValueError), match=message):
        _run(argv)
    assert not (tmp_path / "x").exists()


def test_bad_config_keys(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"epochs": 3}))
    with pytest.raises(UsageError, match="unknown config keys"):
        _run(["medsr", "train", "--out", str(tmp_path / "x"), "--config", str(config)])


def test_enhance_refuses_a_non_image_and_writes_nothing(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    model = _model(tmp_path)
    with pytest.raises(ValueError, match="could not read it as an image"):
        _run(
            [
                "medsr",
                "enhance",
                "--model",
                str(model),
                "--input",
                str(bad),
                "--out",
                str(tmp_path / "sr.nii.gz"),
            ]
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt", "notes.txt"]


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
                "blocks": 1,
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
def test_roi_mask_errors_write_nothing(tmp_path, mask_shape, extra, message):
    image = _volume_file(tmp_path / "img.nii.gz", (32, 32, 4))
    nib.save(nib.Nifti1Image(np.ones(mask_shape, np.float32), np.eye(4)), tmp_path / "roi.nii")
    source = extra or ["--images", str(image)]
    argv = ["medsr", "train", *source, "--roi-mask", str(tmp_path / "roi.nii")]
    argv += ["--out", str(tmp_path / "run"), "--config", str(_tiny_train_config(tmp_path))]
    with pytest.raises(UsageError, match=message):
        _run(argv)
    assert not (tmp_path / "run").exists()


def test_roi_mask_count_must_match_the_images(tmp_path):
    images = [str(_volume_file(tmp_path / f"i{k}.nii", (16, 16, 4), k)) for k in range(3)]
    masks = [str(_volume_file(tmp_path / f"m{k}.nii", (16, 16, 4), k)) for k in range(2)]
    argv = ["medsr", "train", "--images", *images, "--roi-mask", *masks, "--out", "x"]
    with pytest.raises(UsageError, match="got 2 roi masks for 3 images"):
        _run(argv)


def test_evaluate_a_3d_model_on_a_volume(tmp_path):
    volume = _volume_file(tmp_path / "hr.nii.gz", (24, 20, 16))
    report = tmp_path / "eval3d.json"
    generator = SRGenerator(spatial_dims=3, channels=4, num_blocks=1, block="residual")
    model = save_model(tmp_path / "m.pt", generator, Degradation("psf", 2, 3), "adversarial")
    argv = ["medsr", "evaluate", "--model", str(model), "--hr", str(volume)]
    assert _run([*argv, "--out", str(report)]) == 0
    result = json.loads(report.read_text())
    assert set(result) == {"bicubic", "m"}
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
    from skimage.io import imsave

    imsave(tmp_path / "slice.png", (np.random.rand(16, 16) * 255).astype(np.uint8))
    with pytest.raises(UsageError, match="a 3-D model needs 3-D volumes"):
        app._evaluation_data([tmp_path / "slice.png"], 2, 3)
