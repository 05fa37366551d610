"""Vocoder inference speed on one CPU thread: kHz of audio generated per second.

Every registered generator config (``melgan`` is the default) is built with
untrained weights (speed does not depend on the values), its weight norm removed,
put in eval mode and run without gradients on the log-mel of the same
``--seconds`` of audio (22050 Hz, hop 256: a chirp plus noise through
``MelSpectrogram``), as one batch of one utterance. The default is also timed
streaming (``synthesize_streaming`` with ``--chunk`` frames per generator call,
fed ``--chunk`` frames at a time, context measured once beforehand and not
timed). Griffin-Lim-32 (torchaudio ``GriffinLim``: 32 iterations, momentum 0.99,
n_fft 1024, hop 256, win 1024, power 1) is timed in the same run on the linear
STFT magnitude of the same audio (the mel is not inverted). Each timing is the
median of ``--repeats`` runs after one warm-up run.

Each arm runs in its own fresh (spawned) process, so that its peak memory is its
own: ``peak_rss_mb`` is that process's ``resource.getrusage(RUSAGE_SELF).ru_maxrss``
(Python, torch and the input included), ``baseline_rss_mb`` the same measured
just before the model is built, and ``added_rss_mb`` their difference.

Writes bench/results/vocoder_speed.json with ``default_khz_per_s``,
``fastest_khz_per_s`` (and ``fastest_config``), ``griffin_lim_khz_per_s``,
``streaming_khz_per_s``, the per-config table, the targets and the settings.

Usage: OMP_NUM_THREADS=1 python bench/vocoder_speed.py [--seconds S] [--repeats N] [--chunk F]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganforge.core.files import write_json
from ganforge.vocoder import (
    DEFAULT_GENERATOR,
    GENERATOR_CONFIGS,
    MelConfig,
    MelSpectrogram,
    build_generator,
    count_parameters,
    receptive_field,
    synthesize_streaming,
)

RESULT = Path(__file__).parent / "results" / "vocoder_speed.json"
TARGET_DEFAULT_KHZ = 52.0  # MelGAN paper, CPU
TARGET_FASTEST_KHZ = 296.0  # HiFi-GAN V3 paper, CPU
GRIFFIN_LIM_ITERATIONS = 32


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="audio length per run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per arm (median)")
    parser.add_argument("--chunk", type=int, default=32, help="streaming chunk in mel frames")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and audio")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON")
    args = parser.parse_args()
    if args.repeats < 1 or args.seconds <= 0 or args.chunk < 1:
        parser.error("--repeats and --chunk must be >= 1 and --seconds > 0")
    return args


def max_rss_mb() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def test_audio(seconds: float, mel: MelConfig, seed: int) -> Tensor:
    """``(1, samples)``: a rising chirp with a little noise, a whole number of hops long."""
    frames = round(seconds * mel.sample_rate / mel.hop_length)
    samples = frames * mel.hop_length
    t = torch.arange(samples, dtype=torch.float64) / mel.sample_rate
    duration = samples / mel.sample_rate
    f0, f1 = 100.0, 4000.0
    phase = 2 * math.pi * (f0 * t + (f1 - f0) * t**2 / (2 * duration))
    noise = torch.randn(samples, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (0.5 * torch.sin(phase) + 0.01 * noise).float().unsqueeze(0)


def median_seconds(run: Callable[[], Tensor], repeats: int) -> tuple[float, list[float], Tensor]:
    """One untimed warm-up, then the median wall time of ``repeats`` runs."""
    out = run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, out


def arm(kind: str, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """One timed arm, run in a fresh process: ``kind`` is batch, streaming or griffin_lim."""
    torch.set_num_threads(1)
    torch.manual_seed(settings["seed"])
    mel_config = MelConfig()
    audio = test_audio(settings["seconds"], mel_config, settings["seed"])
    with torch.no_grad():
        mel = MelSpectrogram(mel_config)(audio)
    frames = mel.size(-1)
    samples = frames * mel_config.hop_length
    row: dict[str, Any] = {"frames": frames, "samples": samples}
    baseline = max_rss_mb()
    if kind == "griffin_lim":
        import torchaudio

        n_fft, hop = mel_config.n_fft, mel_config.hop_length
        window = torch.hann_window(mel_config.win_length)
        magnitude = torch.stft(
            audio, n_fft, hop, mel_config.win_length, window, return_complex=True
        ).abs()
        griffin_lim = torchaudio.transforms.GriffinLim(
            n_fft=n_fft,
            n_iter=GRIFFIN_LIM_ITERATIONS,
            win_length=mel_config.win_length,
            hop_length=hop,
            power=1.0,
            length=samples,
        )
        with torch.no_grad():
            seconds, times, out = median_seconds(
                lambda: griffin_lim(magnitude), settings["repeats"]
            )
    else:
        generator = build_generator(name, hop=mel_config.hop_length, n_mels=mel_config.n_mels)
        parameters_training = count_parameters(generator)
        generator.remove_weight_norm()
        generator.eval()
        row["parameters"] = sum(p.numel() for p in generator.parameters())
        row["parameters_with_weight_norm"] = parameters_training
        with torch.no_grad():
            if kind == "batch":
                seconds, times, out = median_seconds(lambda: generator(mel), settings["repeats"])
            else:
                context = receptive_field(generator, mel_config.n_mels)
                chunk = settings["chunk"]
                row.update(chunk_frames=chunk, feed_frames=chunk, context_frames=list(context))
                seconds, times, out = median_seconds(
                    lambda: synthesize_streaming(generator, mel, chunk, context, chunk),
                    settings["repeats"],
                )
                row["max_abs_diff_vs_batch"] = float((out - generator(mel)).abs().max())
    assert out.shape[-1] == samples, (out.shape, samples)
    row.update(
        seconds_median=seconds,
        seconds_runs=times,
        khz_per_s=samples / seconds / 1000.0,
        real_time_factor=(samples / mel_config.sample_rate) / seconds,
        baseline_rss_mb=baseline,
        peak_rss_mb=max_rss_mb(),
    )
    row["added_rss_mb"] = row["peak_rss_mb"] - baseline
    return row


def run_isolated(kind: str, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """``arm`` in a fresh spawned process, so its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        row = pool.apply(arm, (kind, name, settings))
    print(f"{kind:12s} {name:12s} {row['khz_per_s']:9.1f} kHz/s  peak {row['peak_rss_mb']:.0f} MB")
    return row


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    settings = {
        "seconds": args.seconds,
        "repeats": args.repeats,
        "chunk": args.chunk,
        "seed": args.seed,
    }
    started = time.perf_counter()
    table = {name: run_isolated("batch", name, settings) for name in GENERATOR_CONFIGS}
    streaming = run_isolated("streaming", DEFAULT_GENERATOR, settings)
    griffin_lim = run_isolated("griffin_lim", "griffin_lim_32", settings)
    fastest = max(table, key=lambda name: table[name]["khz_per_s"])
    default_khz = table[DEFAULT_GENERATOR]["khz_per_s"]
    fastest_khz = table[fastest]["khz_per_s"]
    mel_config = MelConfig()
    result = {
        "default_khz_per_s": default_khz,
        "default_config": DEFAULT_GENERATOR,
        "fastest_khz_per_s": fastest_khz,
        "fastest_config": fastest,
        "griffin_lim_khz_per_s": griffin_lim["khz_per_s"],
        "streaming_khz_per_s": streaming["khz_per_s"],
        "configs": table,
        "streaming": streaming,
        "griffin_lim": griffin_lim,
        "targets": {
            "default_khz_per_s": TARGET_DEFAULT_KHZ,
            "fastest_khz_per_s": TARGET_FASTEST_KHZ,
            "default_met": default_khz >= TARGET_DEFAULT_KHZ,
            "fastest_met": fastest_khz >= TARGET_FASTEST_KHZ,
        },
        "config": {
            "threads": 1,
            "seconds_of_audio": args.seconds,
            "sample_rate": mel_config.sample_rate,
            "hop_length": mel_config.hop_length,
            "n_mels": mel_config.n_mels,
            "batch_size": 1,
            "repeats": args.repeats,
            "timing": "median of repeats after one untimed warm-up",
            "weights": "untrained (seeded init), weight norm removed, eval, torch.no_grad",
            "input": "log-mel of a 100-4000 Hz chirp plus noise (MelSpectrogram defaults)",
            "streaming": (
                f"synthesize_streaming on {DEFAULT_GENERATOR}, chunk_frames={args.chunk}, "
                f"fed {args.chunk} frames at a time; receptive field measured before timing"
            ),
            "griffin_lim": (
                f"torchaudio.transforms.GriffinLim, {GRIFFIN_LIM_ITERATIONS} iterations, "
                "momentum 0.99, n_fft 1024, hop 256, win 1024 (Hann), power 1, on the linear "
                "STFT magnitude of the same audio (mel not inverted)"
            ),
            "memory": (
                "resource.getrusage(RUSAGE_SELF).ru_maxrss of a fresh spawned process per arm; "
                "added_rss_mb is the peak minus the value just before the model was built"
            ),
            "parameters": "after weight-norm removal (parameters_with_weight_norm: before)",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
            "wall_seconds": time.perf_counter() - started,
        },
    }
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, dict)}, indent=2))


if __name__ == "__main__":
    main()
