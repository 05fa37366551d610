"""3-D enhancement speed: the whole MNI152 volume (197 x 233 x 189) at x2.

Writes bench/results/medsr_speed.json: seconds, peak memory (resident set, MiB),
output voxels per second of the sliding-window 3-D generator, and the ratio to
plain trilinear interpolation of the same volume measured in the same run.
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

from ganforge.core.files import write_json
from ganforge.medsr import Degradation, Enhancer, GeneratorConfig, SRGenerator, mni152_volume

RESULTS = Path(__file__).parent / "results" / "medsr_speed.json"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--block", default="residual")
    parser.add_argument("--roi-size", type=int, default=48, help="LR window per axis")
    args = parser.parse_args()
    torch.set_num_threads(1)
    volume = torch.from_numpy(mni152_volume().array)[None, None]
    voxels_out = volume.numel() * 8

    start = time.perf_counter()
    with torch.no_grad():
        baseline = F.interpolate(volume, scale_factor=2, mode="trilinear")
    trilinear_s = time.perf_counter() - start
    del baseline
    rss_before = peak_rss_mib()

    config = GeneratorConfig(
        spatial_dims=3, scale=2, channels=args.channels, num_blocks=args.blocks, block=args.block
    )
    enhancer = Enhancer(
        SRGenerator(config),
        Degradation("kspace", 2, 3),
        roi_size=args.roi_size,
        overlap=0.25,
        sw_batch_size=1,
        tta=False,
        project=False,
    )
    start = time.perf_counter()
    output = enhancer.predict(volume)
    seconds = time.perf_counter() - start
    result = {
        "input_shape": list(volume.shape[2:]),
        "output_shape": list(output.shape[2:]),
        "seconds": seconds,
        "voxels_per_second": voxels_out / seconds,
        "peak_rss_mib": peak_rss_mib(),
        "peak_rss_before_model_mib": rss_before,
        "trilinear_seconds": trilinear_s,
        "ratio_to_trilinear": seconds / trilinear_s,
        "config": {
            **vars(args),
            "threads": 1,
            "device": "cpu",
            "overlap": 0.25,
            "sw_batch_size": 1,
            "tta": False,
            "consistency_projection": False,
        },
    }
    write_json(RESULTS, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
