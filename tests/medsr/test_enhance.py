import json

import nibabel as nib
import numpy as np
import pytest
import torch

from ganforge.medsr import Degradation, MedicalSR
from ganforge.medsr.enhance import Enhancer, scaled_affine
from ganforge.medsr.networks import GeneratorConfig, SRGenerator


def _generator(dims=2, scale=2, seed=0):
    torch.manual_seed(seed)
    generator = SRGenerator(
        spatial_dims=dims, scale=scale, channels=4, num_blocks=1, block="residual"
    )
    for p in generator.tail[-1].parameters():
        torch.nn.init.normal_(p, std=0.05)
    return generator


def test_predict_equals_whole_volume_inference_when_it_fits():
    generator = _generator(dims=3)
    lr = torch.rand(1, 1, 12, 10, 8)
    enhancer = Enhancer(generator, Degradation("kspace", 2, 3), roi_size=32)
    with torch.no_grad():
        assert torch.allclose(enhancer.predict(lr), generator(lr), atol=1e-6)


def test_predict_in_tiles_equals_whole_volume_inference():
    generator = _generator(dims=3)
    lr = torch.rand(1, 1, 24, 20, 16)
    with torch.no_grad():
        whole = generator(lr)
    for roi in (4, 8, 16):
        out = Enhancer(generator, Degradation("kspace", 2, 3), roi_size=roi).predict(lr)
        assert out.shape == whole.shape
        assert float((out - whole).abs().max()) < 1e-5


def test_scaled_affine_keeps_the_field_of_view():
    affine = np.array([[2.0, 0, 0, 10], [0, 2.0, 0, -5], [0, 0, 3.0, 7], [0, 0, 0, 1]])
    new = scaled_affine(affine, 2, (0, 1, 2))
    assert np.allclose(np.diag(new)[:3], [1.0, 1.0, 1.5])
    # the first LR voxel's centre lies halfway between the first two HR voxel centres
    lr_centre = affine @ [0, 0, 0, 1]
    hr_mid = (new @ [0, 0, 0, 1] + new @ [1, 1, 1, 1]) / 2
    assert np.allclose(lr_centre, hr_mid)
    # in-plane only
    assert np.allclose(np.diag(scaled_affine(affine, 4, (0, 1)))[:3], [0.5, 0.5, 3.0])


def test_enhance_volume_writes_nifti_with_scaled_affine_and_maps(tmp_path):
    affine = np.diag([2.0, 2.0, 4.0, 1.0])
    affine[:3, 3] = [-20, 30, 5]
    data = np.random.default_rng(0).random((12, 10, 8)).astype(np.float32) * 300
    source = tmp_path / "scan.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), source)
    enhancer = Enhancer(_generator(dims=3), Degradation("kspace", 2, 3), roi_size=8)
    result = enhancer.enhance(source)
    assert result.image.shape == (24, 20, 16)
    assert np.allclose(result.image.header.get_zooms(), (1.0, 1.0, 2.0))
    assert b"enhanced" in result.image.header["descrip"].tobytes()
    # consistency projection: degrading the output reproduces the input
    assert (
        result.metrics["consistency_residual"] < 1e-6 < result.metrics["consistency_residual_raw"]
    )
    # intensities back in the input's units
    assert 100 < float(np.asarray(result.image.dataobj).mean()) < 200
    paths = result.save(tmp_path / "out" / "scan_sr.nii.gz")
    written = nib.load(paths["image"])
    assert np.allclose(written.affine, scaled_affine(affine, 2, (0, 1, 2)))
    assert nib.load(paths["hallucination"]).shape == (24, 20, 16)
    assert nib.load(paths["uncertainty"]).shape == (24, 20, 16)
    assert json.loads(paths["report"].read_text())["scale"] == 2
    assert np.array_equal(nib.load(source).get_fdata(), data.astype(np.float64))


def test_save_never_overwrites_the_input_or_existing_files(tmp_path):
    source = tmp_path / "scan.nii.gz"
    nib.save(nib.Nifti1Image(np.random.rand(8, 8, 6).astype(np.float32), np.eye(4)), source)
    before = source.read_bytes()
    result = Enhancer(_generator(dims=3), Degradation("psf", 2, 3), roi_size=8).enhance(source)
    with pytest.raises(ValueError, match="refusing to overwrite the input"):
        result.save(source, overwrite=True)
    assert source.read_bytes() == before
    result.save(tmp_path / "sr.nii")
    with pytest.raises(ValueError, match="exists"):
        result.save(tmp_path / "sr.nii")
    with pytest.raises(ValueError, match=r"\.nii or \.nii\.gz"):
        result.save(tmp_path / "sr.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "scan.nii.gz",
        "sr.nii",
        "sr_hallucination.nii",
        "sr_report.json",
        "sr_uncertainty.nii",
    ]


def test_2d_model_on_a_volume_enhances_in_plane():
    volume = np.random.rand(16, 12, 5).astype(np.float32)
    image = nib.Nifti1Image(volume, np.diag([1.0, 1.0, 5.0, 1.0]))
    result = Enhancer(_generator(dims=2, scale=4), Degradation("bicubic", 4)).enhance(image)
    assert result.image.shape == (64, 48, 5)
    assert np.allclose(result.image.header.get_zooms(), (0.25, 0.25, 5.0))


class _Oracle(SRGenerator):
    """A "generator" that outputs a fixed HR image whatever its input."""

    def __init__(self, image: torch.Tensor) -> None:
        super().__init__(GeneratorConfig(channels=4, num_blocks=1, block="residual"))
        self.register_buffer("image", image)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self.image.expand(len(lr), -1, -1, -1)


def _stripe(amplitude: float = 0.1) -> torch.Tensor:
    """An invented stripe: columns 10..13 of a 32 x 32 image, +-amplitude alternating
    down the rows. Its k-space is at the row Nyquist frequency only, which x2 k-space
    truncation drops: the LR image cannot show it, and projection cannot remove it."""
    stripe = torch.zeros(1, 1, 32, 32)
    stripe[..., 10:14] = amplitude * (-1.0) ** torch.arange(32.0)[:, None]
    return stripe


@pytest.mark.parametrize(
    "threshold,flagged_columns",
    # the 5 x 5 mean of |stripe| is 0.1 * n / 5 at a column whose window holds n stripe
    # columns: above 0.01 for n >= 1 (columns 8..15), above 0.05 for n >= 3 (10..13)
    [(0.01, 8), (0.05, 4)],
)
def test_an_invented_structure_is_flagged_and_its_area_measured(threshold, flagged_columns):
    degradation = Degradation("kspace", 2)
    hr = torch.full((1, 1, 32, 32), 0.5)
    lr = degradation(hr)
    assert torch.allclose(degradation(hr + _stripe()), lr, atol=1e-6)  # invisible in LR
    enhancer = Enhancer(_Oracle(hr + _stripe()), degradation, tta=False, threshold=threshold)
    sr, maps, metrics = enhancer.enhance_tensor(lr, hr)
    assert torch.allclose(sr, hr + _stripe(), atol=1e-5)  # consistent: projection keeps it
    assert metrics["flagged_area"] == flagged_columns / 32
    flagged = maps["hallucination"][0, 0] > threshold
    assert flagged[:, 12 - flagged_columns // 2 : 12 + flagged_columns // 2].all()
    # stripe columns x windows of 5 columns each = 20 (column, window) pairs of 0.1 / 5
    assert metrics["hallucination_mean"] == pytest.approx(0.02 * 20 / 32, rel=1e-4)
    honest = Enhancer(_Oracle(hr), degradation, tta=False, threshold=threshold)
    assert honest.enhance_tensor(lr, hr)[2]["flagged_area"] == 0


def test_tta_uncertainty():
    degradation = Degradation("psf", 2)
    lr = degradation(torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(1)))
    _, maps, metrics = Enhancer(_generator(dims=2), degradation).enhance_tensor(lr)
    assert metrics["uncertainty_mean"] > 1e-4
    assert torch.equal(maps["uncertainty"].mean(), torch.tensor(metrics["uncertainty_mean"]))
    # a flip-equivariant model (plain bicubic: the learned residual switched off) has none
    equivariant = _generator(dims=2)
    for p in equivariant.tail[-1].parameters():
        torch.nn.init.zeros_(p)
    assert Enhancer(equivariant, degradation).enhance_tensor(lr)[2]["uncertainty_mean"] < 1e-6
    plain = Enhancer(_generator(dims=2), degradation, tta=False).enhance_tensor(lr)
    assert plain[2]["uncertainty_mean"] == 0


def test_bad_inputs_are_clear_errors_and_write_nothing(tmp_path):
    enhancer = Enhancer(_generator(dims=3), Degradation("kspace", 2, 3), roi_size=8)
    (tmp_path / "notes.txt").write_text("hello")
    nib.save(
        nib.Nifti1Image(np.zeros((6, 6, 6, 2), np.float32) + [0, 1], np.eye(4)),
        tmp_path / "series.nii.gz",
    )
    nan = np.random.rand(8, 8, 8).astype(np.float32)
    nan[1, 1, 1] = np.nan
    nib.save(nib.Nifti1Image(nan, np.eye(4)), tmp_path / "nan.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 8), np.float32), np.eye(4)), tmp_path / "zero.nii.gz")
    cases = {
        "notes.txt": "could not read it as an image",
        "series.nii.gz": "4 non-singleton axes",
        "nan.nii.gz": "NaN",
        "zero.nii.gz": "empty",
        "missing.nii.gz": "no such file",
    }
    before = sorted(p.name for p in tmp_path.iterdir())
    for name, message in cases.items():
        with pytest.raises(ValueError, match=message):
            enhancer.enhance(tmp_path / name)
    with pytest.raises(ValueError, match="3-D model needs a 3-D volume"):
        enhancer.enhance(np.random.rand(16, 16))
    with pytest.raises(ValueError, match="differs from the generator"):
        Enhancer(_generator(dims=3), Degradation("kspace", 4, 3))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_from_file(tmp_path):
    generator = _generator(dims=2)
    model = MedicalSR(degradation="kspace", generator=generator.config)
    model.generators = {"adversarial": generator}
    model.save(tmp_path / "m.pt")
    enhancer = Enhancer.from_file(tmp_path / "m.pt", device="cpu", tta=False)
    assert enhancer.scale == 2 and enhancer.degradation.kind == "kspace"
    assert enhancer.device == torch.device("cpu")
    with torch.no_grad():
        lr = torch.rand(1, 1, 16, 16)
        assert torch.allclose(enhancer.predict(lr), generator(lr), atol=1e-6)
    assert enhancer.enhance(np.random.rand(16, 16)).image.shape == (32, 32)


def test_one_device_rule():
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    assert Enhancer(_generator(), Degradation("kspace", 2)).device.type == auto
    assert Enhancer(_generator(), Degradation("kspace", 2), device="cpu").device.type == "cpu"
    for device, message in (("tpu", "unknown device 'tpu'"), ("cuda:99", "'cuda:99'")):
        with pytest.raises(ValueError, match=message):
            Enhancer(_generator(), Degradation("kspace", 2), device=device)


def test_save_writes_every_output_or_none(tmp_path, monkeypatch):
    result = Enhancer(_generator(), Degradation("psf", 2), tta=False).enhance(np.random.rand(8, 8))
    real_save = nib.save

    def fail_on_the_uncertainty_map(image, path):
        if "uncertainty" in str(path):
            raise OSError("disk full")
        real_save(image, path)

    monkeypatch.setattr(nib, "save", fail_on_the_uncertainty_map)
    with pytest.raises(OSError, match="disk full"):
        result.save(tmp_path / "sr.nii.gz")
    assert list(tmp_path.iterdir()) == []  # nor temporaries
    monkeypatch.setattr(nib, "save", real_save)
    (tmp_path / "sr.nii.gz").write_bytes(b"old")
    paths = result.save(tmp_path / "sr.nii.gz", overwrite=True)
    assert nib.load(paths["image"]).shape == (16, 16)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "sr.nii.gz",
        "sr_hallucination.nii.gz",
        "sr_report.json",
        "sr_uncertainty.nii.gz",
    ]
