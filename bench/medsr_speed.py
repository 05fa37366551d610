"""3-D enhancement speed: the whole MNI152 volume (197 x 233 x 189) at x2.

Writes bench/results/medsr_speed.json, all on one CPU thread in one run:

- ``seconds`` / ``voxels_per_second``: ``Enhancer.predict`` on the whole volume
  (exact tiles, :mod:`ganforge.medsr.tiled`), wall clock; ``cpu_seconds`` beside it
  (the machine is shared: wall time includes waiting for a core);
- ``gflops_per_voxel``: the generator's FLOPs per output voxel, counted from the
  layer shapes (:func:`ganforge.medsr.networks.flops_per_output_voxel`);
- ``conv_roofline_gflops``: the best throughput of one 16 -> 16 channel 3x3x3
  convolution on a 64^3 channels-last tensor (the network's typical layer);
- ``fraction_of_conv_roofline``: achieved GFLOP/s (FLOPs of the output voxels, the
  tiles' margins not counted) over that roofline, both in CPU time so that waiting
  for a shared core does not count; the wall-clock version beside it;
- ``trilinear_seconds`` and ``ratio_to_trilinear``: plain trilinear interpolation of
  the same volume in the same run;
- ``exactness``: the largest difference between the tiled output and the generator's
  forward on a whole 40 x 44 x 36 sub-volume cut into many tiles (trained-looking
  weights: the zero-initialised last layer is randomised so the network contributes);
- ``before``: the earlier sliding-window path (MONAI ``SlidingWindowInferer``, roi 48,
  overlap 0.25, Gaussian blending, sw_batch_size 1) and the tiled path on the same
  64^3 sub-volume in this run, and that path's whole-volume figure from its run.

The generator is untrained (speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from monai.inferers import SlidingWindowInferer

from ganforge.core.files import write_json
from ganforge.medsr import Degradation, Enhancer, GeneratorConfig, SRGenerator, mni152_volume
from ganforge.medsr.networks import flops_per_output_voxel
from ganforge.medsr.tiled import tiled_forward

RESULTS = Path(__file__).parent / "results" / "medsr_speed.json"
#: The sliding-window path this replaced, measured on the whole volume in its own run
#: (bench/results/medsr_speed.json of commit cd79cfd): 1016.9 s, trilinear 7.32 s in that run.
BEFORE_WHOLE_VOLUME = {"seconds": 1016.8992730999998, "ratio_to_trilinear": 138.93665625129373}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    """``fn()``, its wall-clock and CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def conv_roofline(channels: int, size: int = 64, repeats: int = 5) -> dict[str, float]:
    """GFLOP/s of one ``channels -> channels`` 3x3x3 convolution (channels-last, the
    tiles' layout), best of ``repeats``, by CPU time and by wall clock."""
    conv = torch.nn.Conv3d(channels, channels, 3, padding=1)
    x = torch.randn(1, channels, size, size, size).contiguous(memory_format=torch.channels_last_3d)
    flops = 2 * 27 * channels * channels * size**3
    best_wall = best_cpu = float("inf")
    with torch.inference_mode():
        conv(x)
        for _ in range(repeats):
            _, wall, cpu = timed(lambda: conv(x))
            best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return {"cpu": flops / best_cpu / 1e9, "wall": flops / best_wall / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--block", default="residual")
    parser.add_argument("--roi-size", type=int, default=64, help="tile in LR voxels per axis")
    args = parser.parse_args()
    torch.set_num_threads(1)
    volume = torch.from_numpy(mni152_volume().array)[None, None]
    voxels_out = volume.numel() * 8

    with torch.inference_mode():
        _, trilinear_s, trilinear_cpu = timed(
            lambda: F.interpolate(volume, scale_factor=2, mode="trilinear")
        )
    rss_before = peak_rss_mib()

    config = GeneratorConfig(
        spatial_dims=3, scale=2, channels=args.channels, num_blocks=args.blocks, block=args.block
    )
    generator = SRGenerator(config).eval()
    enhancer = Enhancer(
        generator,
        Degradation("kspace", 2, 3),
        roi_size=args.roi_size,
        sw_batch_size=1,
        tta=False,
        project=False,
        device="cpu",
    )
    roofline_before = conv_roofline(args.channels)
    output, seconds, cpu_seconds = timed(lambda: enhancer.predict(volume))
    peak = peak_rss_mib()
    roofline_after = conv_roofline(args.channels)
    roofline = {k: max(roofline_before[k], roofline_after[k]) for k in ("cpu", "wall")}
    flops = flops_per_output_voxel(config)
    achieved_cpu = flops * voxels_out / cpu_seconds / 1e9
    achieved_wall = flops * voxels_out / seconds / 1e9
    del output

    # exactness: tiles against the whole-volume forward, with a contributing network
    torch.manual_seed(0)
    for p in generator.tail[-1].parameters():
        torch.nn.init.normal_(p, std=0.1)
    small = volume[..., 80:120, 90:134, 70:106].contiguous()
    with torch.inference_mode():
        whole = generator(small)
    tiled = tiled_forward(generator, small, tile=16, upsample_tile=8)
    exact = float((tiled - whole).abs().max())
    network = float((whole - generator.interpolate(small)).abs().max())

    # the path this replaced, on a sub-volume, against the tiled path
    sub = volume[..., 60:124, 60:124, 60:124].contiguous()
    inferer = SlidingWindowInferer(roi_size=48, sw_batch_size=1, overlap=0.25, mode="gaussian")
    with torch.no_grad():
        _, old_s, old_cpu = timed(lambda: inferer(sub, generator))
    _, new_s, new_cpu = timed(lambda: enhancer.predict(sub))

    result = {
        "input_shape": list(volume.shape[2:]),
        "output_shape": [n * 2 for n in volume.shape[2:]],
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "voxels_per_second": voxels_out / seconds,
        "gflops_per_voxel": flops / 1e9,
        "flops_per_voxel": flops,
        "conv_roofline_gflops": roofline["cpu"],
        "conv_roofline_gflops_wall": roofline["wall"],
        "achieved_gflops": achieved_cpu,
        "fraction_of_conv_roofline": achieved_cpu / roofline["cpu"],
        "fraction_of_conv_roofline_wall": achieved_wall / roofline["wall"],
        "seconds_at_conv_roofline": flops * voxels_out / roofline["cpu"] / 1e9,
        "peak_rss_mib": peak,
        "peak_rss_before_model_mib": rss_before,
        "trilinear_seconds": trilinear_s,
        "trilinear_cpu_seconds": trilinear_cpu,
        "ratio_to_trilinear": seconds / trilinear_s,
        "cpu_ratio_to_trilinear": cpu_seconds / trilinear_cpu,
        "exactness": {
            "subvolume": list(small.shape[2:]),
            "max_abs_diff_tiled_vs_whole": exact,
            "max_abs_network_contribution": network,
            "tolerance": 1e-5,
        },
        "before": {
            "method": "MONAI SlidingWindowInferer, roi 48, overlap 0.25, gaussian, batch 1",
            "whole_volume_seconds_earlier_run": BEFORE_WHOLE_VOLUME["seconds"],
            "whole_volume_ratio_to_trilinear_earlier_run": BEFORE_WHOLE_VOLUME[
                "ratio_to_trilinear"
            ],
            "subvolume": list(sub.shape[2:]),
            "subvolume_seconds": old_s,
            "subvolume_cpu_seconds": old_cpu,
            "subvolume_tiled_seconds": new_s,
            "subvolume_tiled_cpu_seconds": new_cpu,
            "subvolume_speedup_cpu": old_cpu / new_cpu,
        },
        "config": {
            **vars(args),
            "upsample_tile": max(1, args.roi_size // 2),
            "threads": 1,
            "device": "cpu",
            "memory_format": "channels_last_3d",
            "torch": torch.__version__,
            "sw_batch_size": 1,
            "tta": False,
            "consistency_projection": False,
            "machine": "shared 2-core CPU (other benchmarks running): wall times are noisy",
        },
    }
    write_json(RESULTS, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
