"""`ganforge demo`: a quick run of the core and of every installed domain, one HTML report.

The command is registered by every `ganforge` invocation, so this module imports
only what registering it needs; the run's own imports happen when it runs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ganforge.apps.domains import installed_domains
from ganforge.apps.errors import UsageError

RING_BATCH = 128  # half the recipe's default: the core's section in about 40 s of the 3 minutes

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

    from ganforge.core.report import ReportSection
    from ganforge.core.training import Callback


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo",
        help="train every installed domain briefly on its embedded data and write an HTML report",
        description="Runs the core's ring-of-Gaussians GAN and each installed domain's quick "
        "demo on embedded default data, then writes one self-contained HTML report.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs/demo"), help="output folder (default: runs/demo)"
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=1500,
        help="iterations of the ring-of-Gaussians run (default: 1500)",
    )
    parser.add_argument(
        "--domains",
        default="all",
        help="comma-separated domains to include, 'none' for the core only (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    if arguments.iterations < 1:
        raise UsageError("--iterations must be at least 1")
    domains = _select_domains(installed_domains(), arguments.domains)
    out: Path = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    from ganforge.core.report import write_report

    sections = [ring_section(out / "core", arguments.iterations, arguments.seed)]
    for name, module in domains.items():
        started = time.perf_counter()
        print(f"demo: {name} ...", flush=True)
        section = module.demo(out / name)
        section.metrics.setdefault("demo seconds", round(time.perf_counter() - started, 1))
        sections.append(section)
    report = write_report(out / "report.html", "ganforge demo", sections)
    print(f"report: {report.resolve()}")
    return 0


def _select_domains(available: dict, wanted: str) -> dict:
    if wanted == "all":
        return available
    if wanted == "none":
        return {}
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = [name for name in names if name not in available]
    if unknown:
        raise UsageError(
            f"--domains names {', '.join(unknown)}, not installed here "
            f"(installed: {', '.join(sorted(available)) or 'none'})"
        )
    return {name: available[name] for name in names}


def ring_section(run_dir: Path, iterations: int, seed: int = 0) -> ReportSection:
    """Train the WGAN-GP ring GAN with health monitors and describe it as a report section."""
    import torch

    from ganforge.core.recipes import ring_of_gaussians, ring_recipe
    from ganforge.core.report import ReportSection, loss_curves_figure
    from ganforge.core.training import Trainer, TrainerConfig

    torch.manual_seed(seed)
    data = ring_of_gaussians(20_000, seed=seed)
    heldout = ring_of_gaussians(2_000, seed=seed + 1)
    module = ring_recipe("wgan_gp", batch_size=RING_BATCH)
    config = TrainerConfig(
        iterations=iterations,
        batch_size=module.batch_size,
        seed=seed,
        run_dir=run_dir,
        log_every=max(1, iterations // 100),
    )
    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2-D points through small MLPs: more threads only add waiting
    try:
        trainer = Trainer(module, config, callbacks=_monitors(data, heldout, iterations))
        trainer.fit(data)
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - started
    samples = module.sample(2000).cpu()
    metrics = {
        "objective": "WGAN-GP, n_critic = 5",
        "iterations": trainer.iteration,
        "seconds": round(seconds, 1),
        **_ring_metrics(samples, data, heldout),
        "health events": ", ".join(sorted({e["event"] for e in trainer.events})) or "none",
    }
    figures = {
        "real vs generated": _scatter(data[:2000], samples),
        "training curves and diagnostics": loss_curves_figure(trainer.history),
    }
    return ReportSection(
        "Core: ring of 8 Gaussians",
        metrics,
        figures,
        "A 2-D mixture of eight Gaussians on a circle; a GAN that collapses misses modes. "
        "Diagnostics (diversity, gradient norms, critic gap between training and held-out "
        "data) ran every tenth of the run; their events are listed above.",
    )


def _monitors(data: torch.Tensor, heldout: torch.Tensor, iterations: int) -> list[Callback]:
    import torch

    from ganforge.core.diagnostics import (
        DiversityMonitor,
        GradientNormMonitor,
        OverfittingMonitor,
    )
    from ganforge.core.training import Callback

    every = max(1, iterations // 10)
    noise = torch.randn(512, 2, generator=torch.Generator().manual_seed(1))
    monitors = [
        DiversityMonitor(noise),
        GradientNormMonitor(("G", "D")),
        OverfittingMonitor(data[:512], heldout[:512]),
    ]
    return [Callback(every, monitor) for monitor in monitors]


def _ring_metrics(
    samples: torch.Tensor, data: torch.Tensor, heldout: torch.Tensor
) -> dict[str, float | int | bool]:
    from ganforge.core.metrics import (
        frechet_distance,
        memorisation_audit,
        precision_recall_density_coverage,
    )
    from ganforge.core.recipes import mode_coverage

    coverage = mode_coverage(samples)
    manifold = precision_recall_density_coverage(heldout, samples[: len(heldout)])
    audit = memorisation_audit(samples, data[:5000], heldout)
    return {
        "modes covered (of 8)": coverage.modes_covered,
        "samples within 3 sigma of a mode": round(coverage.high_quality, 3),
        "Frechet distance to held-out": round(frechet_distance(samples, heldout), 4),
        **{name: round(value, 3) for name, value in manifold.items()},
        "share closer to train than held-out predicts": round(audit.share_below_threshold, 3),
        "memorised": audit.memorised,
    }


def _scatter(real: torch.Tensor, fake: torch.Tensor) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    axis.scatter(real[:, 0], real[:, 1], s=3, alpha=0.4, label="real")
    axis.scatter(fake[:, 0], fake[:, 1], s=3, alpha=0.4, label="generated")
    axis.set_aspect("equal")
    axis.legend(loc="upper right", fontsize=8)
    return figure
