import math

import pytest
import torch
import torch.nn.functional as F

from ganforge.medsr import Degradation, consistency_residual, crop_to_multiple
from ganforge.medsr.degradation import kspace_downsample, kspace_upsample


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("kind", ["kspace", "psf", "bicubic"])
def test_shapes_2d(kind, scale):
    lr = Degradation(kind, scale)(_rand(2, 1, 32, 48))
    assert lr.shape == (2, 1, 32 // scale, 48 // scale)


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("kind", ["kspace", "psf"])
def test_shapes_3d(kind, scale):
    lr = Degradation(kind, scale, spatial_dims=3)(_rand(1, 1, 16, 24, 8))
    assert lr.shape == (1, 1, 16 // scale, 24 // scale, 8 // scale)


@pytest.mark.parametrize("scale", [2, 4])
def test_kspace_is_band_limited(scale):
    hr = _rand(1, 1, 32, 32)
    lr = kspace_downsample(hr, scale, 2)
    spectrum = torch.fft.fftshift(torch.fft.fft2(kspace_upsample(lr, scale, 2)))
    centre = 16 - 16 // scale, 16 + 16 // scale
    outside = spectrum.clone()
    outside[..., centre[0] : centre[1] + 1, centre[0] : centre[1] + 1] = 0
    assert outside.abs().max() < 1e-9
    # the measured band is the HR band itself (no other low-pass applied)
    k_hr = torch.fft.fftshift(torch.fft.fft2(hr))
    inner = slice(centre[0] + 1, centre[1])
    assert torch.allclose(spectrum[..., inner, inner], k_hr[..., inner, inner], atol=1e-9)


def test_kspace_preserves_mean_and_reproduces_a_band_limited_image():
    hr = _rand(1, 1, 32, 32)
    lr = kspace_downsample(hr, 2, 2)
    assert math.isclose(float(lr.mean()), float(hr.mean()), rel_tol=1e-12)
    smooth = kspace_upsample(lr, 2, 2)
    assert torch.allclose(kspace_downsample(smooth, 2, 2), lr, atol=1e-12)


def test_constant_image_stays_constant():
    hr = torch.full((1, 1, 16, 16), 0.3, dtype=torch.float64)
    for kind in ("kspace", "psf", "bicubic"):
        assert torch.allclose(
            Degradation(kind, 2).downsample(hr), torch.full((1, 1, 8, 8), 0.3, dtype=torch.float64)
        )


def test_psf_matches_hand_computed_block_mean_for_a_linear_ramp():
    # a linear ramp is unchanged by a symmetric blur (away from borders),
    # so the block mean of 2 samples i, i+1 is i + 0.5
    ramp = torch.arange(32, dtype=torch.float64).repeat(32, 1)[None, None]
    lr = Degradation("psf", 2).downsample(ramp)
    assert torch.allclose(lr[0, 0, 8, 4:12], torch.arange(4, 12, dtype=torch.float64) * 2 + 0.5)


@pytest.mark.parametrize("kind", ["kspace", "psf"])
def test_gaussian_and_rician_noise_levels_and_seeding(kind):
    hr = torch.full((1, 1, 64, 64), 0.5)
    degradation = Degradation(kind, 2, noise_std=0.05)
    lr = degradation(hr, seed=3)
    noise = lr - degradation.downsample(hr)
    assert 0.04 < float(noise.std()) < 0.06
    assert torch.equal(lr, degradation(hr, seed=3))
    assert not torch.equal(lr, degradation(hr, seed=4))


def test_rician_noise_is_positive_on_a_zero_background():
    lr = Degradation("kspace", 2, noise_std=0.05)(torch.zeros(1, 1, 64, 64), seed=0)
    assert float(lr.min()) >= 0
    # Rayleigh mean of the magnitude of zero signal: std * sqrt(pi / 2)
    assert abs(float(lr.mean()) - 0.05 * math.sqrt(math.pi / 2)) < 0.005


@pytest.mark.parametrize("kind,dims", [("kspace", 2), ("psf", 2), ("bicubic", 2), ("kspace", 3)])
def test_projection_drives_the_consistency_residual_to_zero(kind, dims):
    shape = (1, 1, 16, 24) if dims == 2 else (1, 1, 8, 12, 8)
    degradation = Degradation(kind, 2, spatial_dims=dims)
    lr = degradation(_rand(*shape))
    mode = "bilinear" if dims == 2 else "trilinear"
    sr = F.interpolate(lr, scale_factor=2, mode=mode) + 0.05 * _rand(*shape, seed=1)
    assert consistency_residual(sr, lr, degradation) > 0.01
    projected = degradation.project(sr, lr)
    assert consistency_residual(projected, lr, degradation) < 1e-6


def test_kspace_projection_keeps_the_unmeasured_frequencies():
    degradation = Degradation("kspace", 2)
    lr = degradation(_rand(1, 1, 32, 32))
    sr = _rand(1, 1, 32, 32, seed=5)
    k_before = torch.fft.fftshift(torch.fft.fft2(sr))
    k_after = torch.fft.fftshift(torch.fft.fft2(degradation.project(sr, lr)))
    assert torch.allclose(k_before[..., 0:4, :], k_after[..., 0:4, :], atol=1e-9)


@pytest.mark.parametrize("scale", [0, 1, 3, 8, 2.0, "2", True])
def test_wrong_scale_is_a_clear_error(scale):
    with pytest.raises(ValueError, match="scale must be one of"):
        Degradation("kspace", scale)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="degradation kind"):
        Degradation("jpeg", 2)
    with pytest.raises(ValueError, match="2-D only"):
        Degradation("bicubic", 2, spatial_dims=3)
    with pytest.raises(ValueError, match="not divisible by scale 4"):
        Degradation("psf", 4)(torch.zeros(1, 1, 30, 32))
    with pytest.raises(ValueError, match="spatial axes"):
        Degradation("psf", 2)(torch.zeros(1, 1, 8, 8, 8))
    with pytest.raises(ValueError, match="does not match"):
        Degradation("psf", 2).project(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))


def test_crop_to_multiple_centres():
    x = torch.arange(7 * 9).reshape(1, 1, 7, 9)
    out = crop_to_multiple(x, 4, 2)
    assert out.shape == (1, 1, 4, 8)
    assert int(out[0, 0, 0, 0]) == 1 * 9 + 0


@pytest.mark.parametrize("scale", [2, 4])
def test_kspace_samples_are_cell_centred(scale):
    # a band-limited cosine is sampled exactly, at HR positions s * i + (s - 1) / 2
    n, cycles = 64, 3
    positions = torch.arange(n, dtype=torch.float64)
    hr = torch.cos(2 * math.pi * cycles * positions / n)[None, None, :, None].repeat(1, 1, 1, 8)
    lr = kspace_downsample(hr, scale, 2)[0, 0, :, 0]
    centres = scale * torch.arange(n // scale, dtype=torch.float64) + (scale - 1) / 2
    assert torch.allclose(lr, torch.cos(2 * math.pi * cycles * centres / n), atol=1e-12)
