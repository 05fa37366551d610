"""Degradation models: how a high-resolution (HR) scan becomes a low-resolution (LR) one.

Each model is a linear downsampling operator ``A`` plus optional noise:

- ``"kspace"`` (MRI): keep the central ``1/scale`` of k-space along every spatial
  axis and transform back on the smaller grid. The LR image is exactly band-limited
  and ``A`` has orthogonal rows, so data consistency can be enforced in closed form
  (:meth:`Degradation.project`). Optional Rician noise (magnitude images).
- ``"psf"`` (CT / X-ray): blur with a Gaussian point-spread function whose FWHM
  equals ``scale`` HR voxels, then integrate over ``scale``-wide detector cells
  (block mean). Optional Gaussian noise.
- ``"bicubic"`` (2-D only): antialiased bicubic downsampling, the usual SR benchmark
  degradation.

Tensors are ``(batch, channel, *spatial)`` with 2 or 3 spatial axes; every spatial
size must be divisible by ``scale``. Intensities are assumed scaled to about [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from monai.transforms import RandRicianNoise

SUPPORTED_SCALES = (2, 4)
KINDS = ("kspace", "psf", "bicubic")


def check_scale(scale: int) -> int:
    """Return ``scale`` if supported, else raise a one-line ValueError."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale not in SUPPORTED_SCALES:
        raise ValueError(f"scale must be one of {SUPPORTED_SCALES}, got {scale!r}")
    return scale


def check_divisible(shape: tuple[int, ...], scale: int) -> None:
    """Raise if a spatial size is not a multiple of ``scale`` (use :func:`crop_to_multiple`)."""
    bad = [n for n in shape if n % scale]
    if bad:
        raise ValueError(
            f"spatial size {tuple(shape)} is not divisible by scale {scale}; "
            "crop it first (ganforge.medsr.crop_to_multiple)"
        )


def crop_to_multiple(x: torch.Tensor, multiple: int, spatial_dims: int) -> torch.Tensor:
    """Centre-crop the last ``spatial_dims`` axes of ``x`` to multiples of ``multiple``."""
    slices = [slice(None)] * (x.ndim - spatial_dims)
    for n in x.shape[-spatial_dims:]:
        keep = n - n % multiple
        start = (n - keep) // 2
        slices.append(slice(start, start + keep))
    return x[tuple(slices)]


def _phase(n: int, shift: float, dim: int, ndim: int, device: torch.device) -> torch.Tensor:
    """``exp(2 pi i f shift / n)``: multiplying a spectrum by it shifts the signal by -shift."""
    freq = torch.fft.fftfreq(n, device=device, dtype=torch.float64)
    phase = torch.polar(torch.ones_like(freq), 2 * math.pi * freq * shift)
    shape = [1] * ndim
    shape[dim] = n
    return phase.reshape(shape)


def _fourier_crop(x: torch.Tensor, dim: int, m: int) -> torch.Tensor:
    """Keep the ``m`` lowest frequencies of ``x`` along ``dim`` (Nyquist pair averaged).

    The LR sample ``i`` sits at HR position ``s * i + (s - 1) / 2`` (cell-centred, as
    for block averaging), so every degradation model puts LR voxels at the same place.
    """
    n = x.shape[dim]
    dim = dim % x.ndim
    k = torch.fft.fft(x, dim=dim) * _phase(n, (n / m - 1) / 2, dim, x.ndim, x.device)
    half = (m + 1) // 2
    pos, neg = k.narrow(dim, 0, half), k.narrow(dim, n - (m - half), m - half)
    if m % 2 == 0:
        neg = neg.narrow(dim, 1, neg.shape[dim] - 1)
        nyquist = 0.5 * (k.narrow(dim, m // 2, 1) + k.narrow(dim, n - m // 2, 1))
        parts = (pos, nyquist, neg)
    else:
        parts = (pos, neg)
    return torch.fft.ifft(torch.cat(parts, dim=dim), dim=dim) * (m / n)


def _fourier_pad(x: torch.Tensor, dim: int, n: int) -> torch.Tensor:
    """Zero-pad the spectrum of ``x`` along ``dim`` to ``n`` (Nyquist split to both sides).

    The right inverse (and pseudo-inverse) of :func:`_fourier_crop`: sinc interpolation.
    """
    m = x.shape[dim]
    dim = dim % x.ndim
    c = torch.fft.fft(x, dim=dim)
    half = (m + 1) // 2
    shape = list(c.shape)
    shape[dim] = n
    k = torch.zeros(shape, dtype=c.dtype, device=c.device)
    k.narrow(dim, 0, half).copy_(c.narrow(dim, 0, half))
    k.narrow(dim, n - (m - half), m - half).copy_(c.narrow(dim, half, m - half))
    if m % 2 == 0:
        k.narrow(dim, m // 2, 1).copy_(c.narrow(dim, m // 2, 1))
    k = k * _phase(n, (n / m - 1) / 2, dim, x.ndim, x.device).conj()
    return torch.fft.ifft(k, dim=dim) * (n / m)


def kspace_downsample(x: torch.Tensor, scale: int, spatial_dims: int) -> torch.Tensor:
    """Keep the central ``1/scale`` of k-space per axis; return the LR image.

    Separable ideal low-pass + decimation; the mean intensity is preserved and the
    result is exactly band-limited.
    """
    y = x.to(torch.float64)
    for dim in range(x.ndim - spatial_dims, x.ndim):
        y = _fourier_crop(y, dim, x.shape[dim] // scale)
    return y.real.to(x.dtype)


def kspace_upsample(lr: torch.Tensor, scale: int, spatial_dims: int) -> torch.Tensor:
    """Zero-filled k-space upsampling (sinc interpolation): the pseudo-inverse of the crop."""
    y = lr.to(torch.float64)
    for dim in range(lr.ndim - spatial_dims, lr.ndim):
        y = _fourier_pad(y, dim, lr.shape[dim] * scale)
    return y.real.to(lr.dtype)


def kspace_project(
    sr: torch.Tensor, lr: torch.Tensor, scale: int, spatial_dims: int
) -> torch.Tensor:
    """Replace the measured (central) k-space of ``sr`` by that of ``lr``.

    ``sr + A^+ (lr - A sr)``: afterwards ``kspace_downsample(result) == lr`` up to
    floating-point error; only the unmeasured high frequencies come from ``sr``.
    """
    sr64 = sr.to(torch.float64)
    residual = lr.to(torch.float64) - kspace_downsample(sr64, scale, spatial_dims)
    return (sr64 + kspace_upsample(residual, scale, spatial_dims)).to(sr.dtype)


def gaussian_psf_downsample(x: torch.Tensor, scale: int, spatial_dims: int) -> torch.Tensor:
    """Gaussian blur (FWHM = ``scale`` voxels, reflect padding) then ``scale``-wide block mean."""
    sigma = scale / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    batch, channels = x.shape[:2]
    y = x.reshape(batch * channels, 1, *x.shape[2:])
    conv = F.conv2d if spatial_dims == 2 else F.conv3d
    for axis in range(spatial_dims):
        shape = [1, 1] + [1] * spatial_dims
        shape[2 + axis] = kernel.numel()
        pad = [0, 0] * spatial_dims
        pad[2 * (spatial_dims - 1 - axis)] = radius
        pad[2 * (spatial_dims - 1 - axis) + 1] = radius
        y = conv(F.pad(y, pad, mode="reflect"), kernel.reshape(shape))
    pool = F.avg_pool2d if spatial_dims == 2 else F.avg_pool3d
    y = pool(y, scale)
    return y.reshape(batch, channels, *y.shape[2:])


def bicubic_downsample(x: torch.Tensor, scale: int, spatial_dims: int) -> torch.Tensor:
    """Antialiased bicubic downsampling (2-D only)."""
    if spatial_dims != 2:
        raise ValueError("bicubic degradation is 2-D only; use 'kspace' or 'psf' for volumes")
    return F.interpolate(x, scale_factor=1 / scale, mode="bicubic", antialias=True)


_OPERATORS = {
    "kspace": kspace_downsample,
    "psf": gaussian_psf_downsample,
    "bicubic": bicubic_downsample,
}


@dataclass(frozen=True)
class Degradation:
    """A degradation model: linear downsampling ``A`` and optional noise.

    Args:
        kind: ``"kspace"`` (MRI), ``"psf"`` (CT / X-ray) or ``"bicubic"`` (2-D benchmark).
        scale: downsampling factor per spatial axis, 2 or 4.
        spatial_dims: 2 for images / slices, 3 for volumes.
        noise_std: standard deviation of the noise added to the LR image, in intensity
            units (Rician for ``"kspace"``, Gaussian otherwise); 0 for none.
    """

    kind: str = "kspace"
    scale: int = 2
    spatial_dims: int = 2
    noise_std: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"degradation kind must be one of {KINDS}, got {self.kind!r}")
        check_scale(self.scale)
        if self.spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {self.spatial_dims!r}")
        if self.kind == "bicubic" and self.spatial_dims != 2:
            raise ValueError("bicubic degradation is 2-D only; use 'kspace' or 'psf' for volumes")
        if not self.noise_std >= 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std!r}")

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != self.spatial_dims + 2:
            raise ValueError(
                f"expected a (batch, channel, {self.spatial_dims} spatial axes) tensor, "
                f"got shape {tuple(x.shape)}"
            )
        check_divisible(tuple(x.shape[2:]), self.scale)

    def downsample(self, hr: torch.Tensor) -> torch.Tensor:
        """The noiseless linear operator ``A``: HR grid -> LR grid."""
        self._check(hr)
        return _OPERATORS[self.kind](hr, self.scale, self.spatial_dims)

    def __call__(self, hr: torch.Tensor, seed: int | None = None) -> torch.Tensor:
        """Degrade ``hr``: ``A(hr)`` plus noise drawn with ``seed``."""
        lr = self.downsample(hr)
        if self.noise_std == 0:
            return lr
        if self.kind == "kspace":
            return rician_noise(lr, self.noise_std, seed)
        gen = torch.Generator().manual_seed(0 if seed is None else seed)
        noise = torch.randn(lr.shape, generator=gen, dtype=lr.dtype) * self.noise_std
        return lr + noise.to(lr.device)

    def project(self, sr: torch.Tensor, lr: torch.Tensor, iterations: int = 50) -> torch.Tensor:
        """Data-consistency projection: the image closest to ``sr`` with ``A(x) == lr``.

        Closed form for ``"kspace"`` (restores the measured low frequencies); for the
        other operators a conjugate-gradient solve of ``x = sr + A^T (A A^T)^-1 (lr - A sr)``.
        """
        self._check(sr)
        expected = tuple(n // self.scale for n in sr.shape[2:])
        if tuple(lr.shape[2:]) != expected:
            raise ValueError(
                f"LR shape {tuple(lr.shape[2:])} does not match SR shape "
                f"{tuple(sr.shape[2:])} / scale {self.scale}"
            )
        if self.kind == "kspace":
            return kspace_project(sr, lr, self.scale, self.spatial_dims)
        return _least_norm_correction(self.downsample, sr, lr, iterations)


def _adjoint(op, like: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``A^T v`` for a linear ``op`` by reverse-mode differentiation."""
    with torch.enable_grad():
        x = torch.zeros_like(like, requires_grad=True)
        (grad,) = torch.autograd.grad(op(x), x, grad_outputs=v)
    return grad


def _least_norm_correction(op, sr: torch.Tensor, lr: torch.Tensor, iterations: int):
    """Solve ``(A A^T) z = lr - A sr`` by conjugate gradients; return ``sr + A^T z``."""
    sr64, lr64 = sr.detach().to(torch.float64), lr.detach().to(torch.float64)
    residual = lr64 - op(sr64)
    normal = lambda v: op(_adjoint(op, sr64, v))
    z = torch.zeros_like(residual)
    r = residual.clone()
    p = r.clone()
    rs = (r * r).sum()
    tol = 1e-20 * max(1.0, float((lr64 * lr64).sum()))
    for _ in range(iterations):
        if rs <= tol:
            break
        ap = normal(p)
        alpha = rs / (p * ap).sum()
        z = z + alpha * p
        r = r - alpha * ap
        rs_new = (r * r).sum()
        p = r + (rs_new / rs) * p
        rs = rs_new
    return (sr64 + _adjoint(op, sr64, z)).to(sr.dtype)


def rician_noise(x: torch.Tensor, std: float, seed: int | None = None) -> torch.Tensor:
    """Rician noise as in magnitude MRI: ``|x + n1 + i n2|`` with ``n ~ N(0, std)`` (MONAI)."""
    transform = RandRicianNoise(prob=1.0, std=std, relative=False, sample_std=False)
    transform.set_random_state(seed=0 if seed is None else seed)
    flat = x.detach().cpu().reshape(-1, *x.shape[2:])
    noisy = np.stack([np.asarray(transform(img[None]))[0] for img in flat.numpy()])
    return torch.from_numpy(noisy).reshape(x.shape).to(x.device, x.dtype)


def consistency_residual(sr: torch.Tensor, lr: torch.Tensor, degradation: Degradation) -> float:
    """RMS of ``A(sr) - lr`` relative to the RMS of ``lr`` (0 = perfectly consistent)."""
    diff = degradation.downsample(sr.to(torch.float64)) - lr.to(torch.float64)
    denom = lr.to(torch.float64).pow(2).mean().sqrt().clamp_min(1e-12)
    return float(diff.pow(2).mean().sqrt() / denom)
