"""Exact tiled inference: the generator's whole-image output, one tile at a time.

A tile of the output needs the input tile plus the generator's receptive-field
margin (:func:`margins`). Every layer is evaluated on the region it can compute
exactly: a convolution pads zeros only where the region touches the image border
(as the whole-image forward does) and elsewhere consumes one voxel of the margin
per side ("valid" convolution), so the margin is recomputed, never blended. The
stitched output equals ``generator(lr)`` on the whole image up to float rounding,
with no seams, at a fraction of the memory. The overlap is the margin alone (for a
3-D residual generator at x2: 6 LR voxels per side for the body, 3 before and 2
after for the upsampling and the layers at the output resolution), and it shrinks
layer by layer.

On the CPU the tiles run in channels-last memory order straight through oneDNN,
the voxel shuffle keeps that order, MONAI's pad-and-average after the shuffle is
a running sum per axis, and a last convolution to few channels is a matrix
product per kernel plane (:func:`_tap_conv`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from monai.networks.blocks import SubpixelUpsample
from torch import nn

from ganforge.medsr.networks import RRDB, DenseBlock, ResidualBlock, SRGenerator


@dataclass(frozen=True)
class Region:
    """``data`` holds the exact values of ``[lo, hi)`` (per axis) of a whole-image
    feature map whose spatial size is ``size``."""

    data: torch.Tensor
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    size: tuple[int, ...]

    def like(self, data: torch.Tensor) -> Region:
        return Region(data, self.lo, self.hi, self.size)

    def crop(self, lo: tuple[int, ...], hi: tuple[int, ...]) -> Region:
        index = [slice(None), slice(None)]
        index += [slice(a - s, b - s) for a, b, s in zip(lo, hi, self.lo, strict=True)]
        return Region(self.data[tuple(index)], tuple(lo), tuple(hi), self.size)


def _layout(x: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if x.ndim == 4 else torch.channels_last_3d


def _zero_pad(x: torch.Tensor, before: list[int], after: list[int]) -> torch.Tensor:
    """``x`` with zeros before / after each spatial axis, in ``x``'s memory order
    (``F.pad`` returns a contiguous tensor, which turns the convolutions that follow
    away from channels-last)."""
    if not any(before) and not any(after):
        return x
    spatial = [n + a + b for n, a, b in zip(x.shape[2:], before, after, strict=True)]
    channels_last = x.stride(1) == 1 and x.shape[1] > 1
    memory = _layout(x) if channels_last else torch.contiguous_format
    out = torch.empty(
        (*x.shape[:2], *spatial), dtype=x.dtype, device=x.device, memory_format=memory
    )
    index = (
        slice(None),
        slice(None),
        *(slice(a, a + n) for a, n in zip(before, x.shape[2:], strict=True)),
    )
    out[index] = x
    for axis, (a, b) in enumerate(zip(before, after, strict=True), start=2):
        out.narrow(axis, 0, a).zero_()
        out.narrow(axis, out.shape[axis] - b, b).zero_()
    return out


def _padded(
    r: Region,
    left: tuple[int, ...],
    right: tuple[int, ...],
    fn: Callable[[torch.Tensor], torch.Tensor],
) -> Region:
    """Apply a window op that reaches ``left`` / ``right`` voxels (per axis): zero
    padding where the region touches the image border, margin consumed elsewhere."""
    lo, hi = _shrunk(r, left, right)
    before = [reach if a == 0 else 0 for a, reach in zip(r.lo, left, strict=True)]
    after = [reach if b == n else 0 for b, n, reach in zip(r.hi, r.size, right, strict=True)]
    return Region(fn(_zero_pad(r.data, before, after)), lo, hi, r.size)


def _shrunk(
    r: Region, left: tuple[int, ...], right: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The region a window op reaching ``left`` / ``right`` voxels computes exactly."""
    lo = tuple(a if a == 0 else a + reach for a, reach in zip(r.lo, left, strict=True))
    hi = tuple(b if b == n else b - reach for b, n, reach in zip(r.hi, r.size, right, strict=True))
    if any(x >= y for x, y in zip(lo, hi, strict=True)):
        raise ValueError("tile margin too small for the generator's receptive field")
    return lo, hi


def _conv(r: Region, conv: nn.Module) -> Region:
    if conv.padding_mode != "zeros" or any(s != 1 for s in conv.stride):
        raise ValueError(f"tiled inference needs zero-padded stride-1 convolutions, got {conv}")
    pad = tuple(conv.padding)
    if tuple(k // 2 for k in conv.kernel_size) != pad or any(d != 1 for d in conv.dilation):
        raise ValueError(f"tiled inference needs 'same' convolutions, got {conv}")
    if r.data.device.type == "cpu" and conv.out_channels * 8 <= conv.in_channels:
        return _tap_conv(r, conv)
    return _padded(r, pad, pad, lambda x: _valid_conv(x, conv))


def _valid_conv(x: torch.Tensor, conv: nn.Module) -> torch.Tensor:
    """``conv`` without padding. On the CPU straight through oneDNN in channels-last
    order: PyTorch's dispatch sends small single-image inputs (fewer than 20480
    voxels in the first two spatial axes times channels) to a slower generic kernel."""
    if x.device.type == "cpu" and x.dtype == torch.float32 and torch.backends.mkldnn.is_available():
        ones = [1] * (x.ndim - 2)
        weight = conv.weight.contiguous(memory_format=_layout(conv.weight))
        x = x.contiguous(memory_format=_layout(x))
        return torch.ops.aten.mkldnn_convolution(
            x, weight, conv.bias, [0] * len(ones), ones, ones, conv.groups
        )
    functional = F.conv2d if isinstance(conv, nn.Conv2d) else F.conv3d
    return functional(x, conv.weight, conv.bias, groups=conv.groups)


def _tap_conv(r: Region, conv: nn.Module) -> Region:
    """A convolution to few channels (the last layer) as matrix products to one plane
    per kernel tap, then shifted sums of the planes: on the CPU several times faster
    than oneDNN's direct convolution for this shape, same arithmetic. The taps go in
    groups of one offset along the first axis, to keep the planes small."""
    if conv.groups != 1:
        raise ValueError("tiled inference needs ungrouped convolutions")
    x = r.data.contiguous(memory_format=_layout(r.data))
    batch, channels, *spatial = x.shape
    columns = x.movedim(1, -1).reshape(-1, channels).T
    pad = tuple(conv.padding)
    lo, hi = _shrunk(r, pad, pad)
    out = torch.empty(
        (batch, conv.out_channels, *(b - a for a, b in zip(lo, hi, strict=True))), dtype=x.dtype
    )
    if conv.bias is None:
        out.zero_()
    else:
        out.copy_(conv.bias.view(1, -1, *[1] * len(spatial)).expand_as(out))
    for first in range(conv.kernel_size[0]):
        taps = list(itertools.product(*(range(k) for k in conv.kernel_size[1:])))
        weight = conv.weight[:, :, first].flatten(2).permute(2, 0, 1).reshape(-1, channels)
        planes = (weight @ columns).view(len(taps), conv.out_channels, batch, *spatial)
        for tap, rest in zip(planes.transpose(1, 2), taps, strict=True):
            offset = [k - p for k, p in zip((first, *rest), pad, strict=True)]
            # output j reads input j + d: both must lie in their regions
            starts = [max(a, s - d) for a, s, d in zip(lo, r.lo, offset, strict=True)]
            stops = [min(b, e - d) for b, e, d in zip(hi, r.hi, offset, strict=True)]
            target = (slice(None), slice(None))
            target += tuple(slice(a - o, b - o) for a, b, o in zip(starts, stops, lo, strict=True))
            source = (slice(None), slice(None))
            source += tuple(
                slice(a + d - o, b + d - o)
                for a, b, d, o in zip(starts, stops, offset, r.lo, strict=True)
            )
            out[target] += tap[source]
    return Region(out, lo, hi, r.size)


def _add(a: Region, b: Region, scale: float = 1.0) -> Region:
    """``a + scale * b`` on the regions' intersection (a residual connection)."""
    lo = tuple(max(x, y) for x, y in zip(a.lo, b.lo, strict=True))
    hi = tuple(min(x, y) for x, y in zip(a.hi, b.hi, strict=True))
    a, b = a.crop(lo, hi), b.crop(lo, hi)
    return a.like(a.data + b.data if scale == 1 else torch.add(a.data, b.data, alpha=scale))


def voxel_shuffle(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Pixel / voxel shuffle ``(B, C * f**d, *S) -> (B, C, *(f * S))`` in MONAI's
    channel order (``monai.networks.utils.pixelshuffle``), output channels-last."""
    batch, channels, *spatial = x.shape
    dims = len(spatial)
    c = channels // factor**dims
    x = x.movedim(1, -1).contiguous().view(batch, *spatial, c, *[factor] * dims)
    order = [0]
    for axis in range(dims):
        order += [1 + axis, 2 + dims + axis]
    x = x.permute(*order, 1 + dims).reshape(batch, *[n * factor for n in spatial], c)
    return x.movedim(-1, 1)


def _subpixel(r: Region, module: SubpixelUpsample) -> Region:
    if not isinstance(module.conv_block, (nn.Conv2d, nn.Conv3d)):
        raise ValueError("tiled inference needs SubpixelUpsample's default conv block")
    r = _conv(r, module.conv_block)
    f = module.scale_factor
    r = Region(
        voxel_shuffle(r.data, f),
        tuple(f * a for a in r.lo),
        tuple(f * b for b in r.hi),
        tuple(f * n for n in r.size),
    )
    if isinstance(module.pad_pool, nn.Identity):
        return r
    pad, pool = module.pad_pool
    dims = len(r.size)
    if _is_box_mean(pad, pool, f, dims):
        return _box_mean(r, f)
    left = tuple(pad.padding[2 * (dims - 1 - i)] for i in range(dims))
    right = tuple(pad.padding[2 * (dims - 1 - i) + 1] for i in range(dims))
    return _padded(r, left, right, pool)


def _is_box_mean(pad: nn.Module, pool: nn.Module, f: int, dims: int) -> bool:
    """MONAI's pad-pool: zeros before each axis (``f - 1``), mean of ``f`` per axis."""
    return (
        tuple(pad.padding) == (f - 1, 0) * dims
        and pad.value == 0
        and pool.kernel_size in (f, (f,) * dims)
        and pool.stride in (1, (1,) * dims)
        and pool.padding in (0, (0,) * dims)
    )


def _box_mean(r: Region, f: int) -> Region:
    """Mean of the ``f**d`` voxels ending at each voxel (zeros before the image), as
    one running sum per axis: far less memory traffic than ``avg_pool3d``."""
    x = r.data
    for axis, start in enumerate(r.lo, start=2):
        n = x.shape[axis]
        m = n - f + 1
        total = torch.empty_like(x)
        body = total.narrow(axis, f - 1, m)
        torch.add(x.narrow(axis, f - 1, m), x.narrow(axis, f - 2, m), out=body)
        for s in range(2, f):
            body.add_(x.narrow(axis, f - 1 - s, m))
        if start == 0:  # the image begins here: the first f - 1 sums see zeros
            for j in range(f - 1):
                total.narrow(axis, j, 1).copy_(x.narrow(axis, 0, j + 1).sum(axis, keepdim=True))
        else:  # margin: the first f - 1 voxels only feed the sums
            total = body
        x = total
    lo, hi = _shrunk(r, (f - 1,) * len(r.lo), (0,) * len(r.lo))
    return Region(x.mul_(1.0 / f ** len(r.lo)), lo, hi, r.size)


def _run(module: nn.Module, r: Region) -> Region:
    """``module(x)`` on a region, for the layer types of :class:`SRGenerator`."""
    if isinstance(module, nn.Sequential):
        for layer in module:
            r = _run(layer, r)
        return r
    if isinstance(module, (nn.Conv2d, nn.Conv3d)):
        return _conv(r, module)
    if isinstance(module, nn.LeakyReLU):
        act = F.leaky_relu_ if module.inplace else F.leaky_relu
        return r.like(act(r.data, module.negative_slope))
    if isinstance(module, ResidualBlock):
        return _add(r, _run(module.body, r), module.residual_scale)
    if isinstance(module, RRDB):
        return _add(r, _run(module.blocks, r), module.residual_scale)
    if isinstance(module, DenseBlock):
        features = [r]
        for i, conv in enumerate(module.convs):
            lo = tuple(max(axis) for axis in zip(*(f.lo for f in features), strict=True))
            hi = tuple(min(axis) for axis in zip(*(f.hi for f in features), strict=True))
            joined = torch.cat([f.crop(lo, hi).data for f in features], dim=1)
            out = _conv(Region(joined, lo, hi, r.size), conv)
            if i < 4:
                features.append(out.like(F.leaky_relu(out.data, 0.2)))
        return _add(r, out, module.residual_scale)
    if isinstance(module, SubpixelUpsample):
        return _subpixel(r, module)
    raise ValueError(f"tiled inference does not know the layer {type(module).__name__}")


def body_region(generator: SRGenerator, r: Region) -> Region:
    """The LR features ``head(lr) + body(head(lr))`` on a region of an LR image."""
    features = _run(generator.head, r)
    return _add(features, _run(generator.body, features))


def _interpolation_reach(generator: SRGenerator) -> int:
    """Output voxels per side that the baseline interpolation of a region gets wrong
    at a cut: trilinear reads one LR voxel beyond, bicubic two."""
    f = generator.scale
    return f // 2 if generator.spatial_dims == 3 else 2 * f


def upsample_region(
    generator: SRGenerator,
    features: Region,
    lr: Region,
    target: tuple[tuple[int, ...], tuple[int, ...]] | None = None,
) -> Region:
    """The output from LR features and the LR image (the interpolation baseline).

    ``target``: the output corners wanted; the layers at the output resolution are
    then computed on that region plus their reach only.
    """
    up = _run(generator.upsample, features)
    if target is not None:
        reach = _reach(generator.tail)
        lo = tuple(max(a, t - reach, 0) for a, t in zip(up.lo, target[0], strict=True))
        hi = tuple(min(b, t + reach, n) for b, t, n in zip(up.hi, target[1], up.size, strict=True))
        up = up.crop(lo, hi)
    out = _run(generator.tail, up)
    f, reach = generator.scale, _interpolation_reach(generator)
    base = Region(
        generator.interpolate(lr.data),
        tuple(f * a for a in lr.lo),
        tuple(f * b for b in lr.hi),
        tuple(f * n for n in lr.size),
    )
    base = base.crop(
        tuple(a + (reach if a > 0 else 0) for a in base.lo),
        tuple(b - (reach if b < n else 0) for b, n in zip(base.hi, base.size, strict=True)),
    )
    return _add(base, out)


def forward_region(generator: SRGenerator, r: Region) -> Region:
    """``generator(lr)`` on the region ``r`` of an LR image: the output region that
    the input region determines exactly (:meth:`SRGenerator.forward`, layer by layer)."""
    return upsample_region(generator, body_region(generator, r), r)


def _reaches(module: nn.Module) -> tuple[float, float]:
    """How many voxels (at the module's input resolution) its output region shrinks
    by against its input region: before and after, on every axis."""
    if isinstance(module, nn.Sequential):
        parts = [_reaches(layer) for layer in module] or [(0.0, 0.0)]
        return sum(p[0] for p in parts), sum(p[1] for p in parts)
    if isinstance(module, (nn.Conv2d, nn.Conv3d)):
        return float(max(module.padding)), float(max(module.padding))
    if isinstance(module, ResidualBlock):
        return _reaches(module.body)
    if isinstance(module, RRDB):
        return _reaches(module.blocks)
    if isinstance(module, DenseBlock):
        return _reaches(nn.Sequential(*module.convs))
    if isinstance(module, SubpixelUpsample):
        before, after = _reaches(module.conv_block)
        f = module.scale_factor
        pool = 0 if isinstance(module.pad_pool, nn.Identity) else f - 1  # zeros before
        return before + pool / f, after
    if isinstance(module, (nn.LeakyReLU, nn.Identity)):
        return 0.0, 0.0
    raise ValueError(f"tiled inference does not know the layer {type(module).__name__}")


def _reach(module: nn.Module) -> int:
    return math.ceil(max(_reaches(module)))


def margins(generator: SRGenerator) -> tuple[int, tuple[int, int]]:
    """The LR margins (voxels per side) for an exact output: of the body (head and
    body convolutions, both sides) and of the upsampling part (upsampling, tail and
    interpolation: before, after). Together: the generator's receptive field."""
    body = math.ceil(max(_reaches(generator.head)) + max(_reaches(generator.body)))
    before, after, resolution = 0.0, 0.0, 1
    for layer in generator.upsample:
        b, a = _reaches(layer)
        before, after = before + b / resolution, after + a / resolution
        if isinstance(layer, SubpixelUpsample):
            resolution *= layer.scale_factor
    b, a = _reaches(generator.tail)
    before, after = before + b / resolution, after + a / resolution
    base = math.ceil(_interpolation_reach(generator) / generator.scale)
    return body, (max(math.ceil(before), base), max(math.ceil(after), base))


def splits(n: int, tile: int) -> list[tuple[int, int]]:
    """``[0, n)`` in ``ceil(n / tile)`` near-equal parts."""
    parts = math.ceil(n / tile)
    bounds = [round(i * n / parts) for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _boxes(grids: list[list[tuple[int, int]]]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    out: list[tuple[tuple[int, ...], tuple[int, ...]]] = [((), ())]
    for grid in grids:
        out = [(lo + (a,), hi + (b,)) for lo, hi in out for a, b in grid]
    return out


def tiles(
    size: tuple[int, ...], tile: int, upsample_tile: int
) -> list[tuple[tuple[tuple[int, ...], tuple[int, ...]], list]]:
    """Body tiles, each with its upsampling sub-tiles: ``((lo, hi), [(lo, hi), ...])``.

    The sub-tiles split every axis into parts of at most ``upsample_tile`` voxels;
    a body tile groups ``max(1, tile // upsample_tile)`` consecutive parts per axis.
    """
    group = max(1, tile // upsample_tile)
    fine = [splits(n, upsample_tile) for n in size]
    coarse = [[parts[i : i + group] for i in range(0, len(parts), group)] for parts in fine]
    out = []
    for combo in itertools.product(*coarse):
        lo = tuple(parts[0][0] for parts in combo)
        hi = tuple(parts[-1][1] for parts in combo)
        out.append(((lo, hi), _boxes([list(parts) for parts in combo])))
    return out


def tiled_forward(
    generator: SRGenerator,
    lr: torch.Tensor,
    tile: int = 64,
    upsample_tile: int = 32,
    batch: int = 1,
    out_device: torch.device | str = "cpu",
) -> torch.Tensor:
    """``generator(lr)`` for ``(B, C, *spatial)`` LR images, computed tile by tile.

    The body runs on tiles of about ``tile`` LR voxels per axis (plus the margin);
    the upsampling and the layers at the output resolution, which hold ``scale**d``
    times more voxels, run on sub-tiles of at most ``upsample_tile``. On the CPU the
    defaults keep every tensor under 32 MB (16 channels, 3-D, x2): larger ones come
    from fresh memory pages on every allocation, which costs more than the margins.

    Args:
        generator: the generator (its device is where the tiles run).
        lr: the LR images (any device).
        tile: body tile size in LR voxels per axis.
        upsample_tile: sub-tile size in LR voxels per axis.
        batch: images per forward pass.
        out_device: where the output is assembled.

    A subclass of :class:`SRGenerator` with its own ``forward`` runs on whole images.
    """
    dims, f = generator.spatial_dims, generator.scale
    if lr.ndim != dims + 2:
        raise ValueError(
            f"expected a (batch, channel, {dims} spatial axes) tensor, got {tuple(lr.shape)}"
        )
    if min(tile, upsample_tile, batch) < 1:
        raise ValueError("tile, upsample_tile and batch must be >= 1")
    out = torch.empty(
        (lr.shape[0], lr.shape[1], *[n * f for n in lr.shape[2:]]),
        dtype=torch.float32,
        device=out_device,
    )
    with torch.inference_mode():
        if type(generator).forward is not SRGenerator.forward:  # layers unknown here
            for start in range(0, lr.shape[0], batch):
                images = slice(start, start + batch)
                device = next(generator.parameters()).device
                out[images] = generator(lr[images].to(device, torch.float32)).to(out.device)
            return out
        for start in range(0, lr.shape[0], batch):
            images = slice(start, start + batch)
            _fill(generator, lr[images], out[images], tile, upsample_tile)
    return out


def _fill(
    generator: SRGenerator, lr: torch.Tensor, out: torch.Tensor, tile: int, upsample_tile: int
) -> None:
    device = next(generator.parameters()).device
    f, size = generator.scale, tuple(lr.shape[2:])
    body, (before, after) = margins(generator)

    def region(lo: tuple[int, ...], hi: tuple[int, ...], left: int, right: int) -> Region:
        lo = tuple(max(a - left, 0) for a in lo)
        hi = tuple(min(b + right, n) for b, n in zip(hi, size, strict=True))
        data = lr[(slice(None), slice(None), *map(slice, lo, hi))].to(device, torch.float32)
        if device.type == "cpu":
            data = data.contiguous(memory_format=_layout(data))
        return Region(data, lo, hi, size)

    for (lo, hi), parts in tiles(size, tile, upsample_tile):
        features = body_region(generator, region(lo, hi, body + before, body + after))
        for sub_lo, sub_hi in parts:
            image = region(sub_lo, sub_hi, before, after)
            _check_covers(features, image.lo, image.hi)
            hr_lo, hr_hi = tuple(f * a for a in sub_lo), tuple(f * b for b in sub_hi)
            result = upsample_region(
                generator, features.crop(image.lo, image.hi), image, (hr_lo, hr_hi)
            )
            _check_covers(result, hr_lo, hr_hi)
            target = (slice(None), slice(None), *map(slice, hr_lo, hr_hi))
            out[target] = result.crop(hr_lo, hr_hi).data.to(out.device)


def _check_covers(r: Region, lo: tuple[int, ...], hi: tuple[int, ...]) -> None:
    if any(a < b for a, b in zip(lo, r.lo, strict=True)) or any(
        a > b for a, b in zip(hi, r.hi, strict=True)
    ):
        raise RuntimeError("tile margin too small for the generator's receptive field")
