"""Stylized facts of TimeGAN return paths next to GARCH(1,1)-t and an i.i.d. bootstrap, two markets.

Markets (the same defaults, untuned per market): S&P 500 daily log returns
(1999-2018, bundled) and the close-to-close log returns of the paper's Stocks
table (``stocks_ohlcv()``). Per market, TimeGAN is trained on sliding windows of
the returns with ``--seeds`` training seeds (the stepwise return-path mode by
default, ``--generation stepwise --scaling standardize``: a skewed Student-t
likelihood supervisor and step-by-step generation, one pass per path). It
samples ``--paths`` return paths of 256 and of 1000 days; GARCH(1,1)-t
(``arch``, fitted to the market) and the i.i.d. bootstrap give as many paths of
each length.

Like with like: a generator's paths of L days are compared with the real series
cut into non-overlapping chunks of L days (the statistics pooled over chunks as
over paths), so the path length does not enter the verdict. Each length gets the
full stylized-fact table, the volatility-clustering error (mean |ACF(|r|) gap|
over lags 1-100), the leverage error (mean |corr(r_t, r_{t+k}^2) gap| over lags
1-10) and ``volatility_level_by_block``: the std of the paths in each 32-day
block over the real std (1.0: the level stays put along the path). The
figures against the whole 20-year series are kept under ``whole_series``.

The checks' own noise floor (``real_halves``): the first half of the real series,
cut into chunks, scored against the second half, and back.

A seed passes every check when it does at both lengths, and beats GARCH-t on
both when its clustering and leverage errors are below GARCH-t's at both
lengths. Writes bench/results/finance_facts.json (top-level ``markets``);
``--combine A B`` joins per-market runs made side by side.

Usage: OMP_NUM_THREADS=1 python bench/finance_facts.py [--markets sp500 stocks]
    [--seeds 3] [--paths 200] [--out F] [--combine A.json B.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.core.files import write_json
from ganforge.finance import (
    GarchT,
    TimeGAN,
    TimeGANConfig,
    bootstrap_returns,
    facts_summary,
    sliding_windows,
    sp500_log_returns,
    stocks_ohlcv,
)
from ganforge.finance.facts import autocorrelation, excess_kurtosis, leverage_correlation

RESULT = Path(__file__).parent / "results" / "finance_facts.json"
MARKETS = ("sp500", "stocks")
PATH_LENGTHS = (256, 1000)
BLOCK_DAYS = 32


def _headline(paths: np.ndarray) -> dict[str, float]:
    return {
        "excess_kurtosis": excess_kurtosis(paths),
        "acf_abs_r_lag1": float(autocorrelation(np.abs(paths), [1])[0]),
        "corr_r_r2_lag1": float(leverage_correlation(paths, [1])[0]),
    }


def _stage_diagnostics(model: TimeGAN, real: np.ndarray, length: int) -> dict[str, dict]:
    """Where the returns' character is kept or lost: paths read out after each network.

    ``R(E(x))`` is the autoencoder on real paths, ``R(S(E(x)))`` the supervisor's
    next-step prediction of real latents, ``R(G(z))`` the generator alone and
    ``R(S(G(z)))`` TimeGAN's output; each with its std and headline facts.
    """
    nets, scaler = model.module.networks, model.scaler
    x = torch.as_tensor(scaler.transform(sliding_windows(real, length, 64)), dtype=torch.float32)
    noise = torch.randn(200, length, 1, generator=torch.Generator().manual_seed(1))
    if model.config.scaling == "minmax":
        noise = torch.rand(200, length, 1, generator=torch.Generator().manual_seed(1))
    if model.config.generation == "stepwise":
        return _stepwise_stages(model, x, noise)
    with torch.no_grad():
        h, e = nets["embedder"](x), nets["generator"](noise)
        stages = {
            "real": x,
            "R(E(x))": nets["recovery"](h),
            "R(S(E(x)))": nets["recovery"](nets["supervisor"](h)),
            "R(G(z))": nets["recovery"](e),
            "R(S(G(z)))": nets["recovery"](nets["supervisor"](e)),
        }
    return _summarise_stages(stages, model.scaler)


def _stepwise_stages(model: TimeGAN, x: torch.Tensor, noise: torch.Tensor) -> dict[str, dict]:
    """Stepwise mode: the autoencoder, the model, the model with the generator's shaping off."""
    module, nets = model.module, model.module.networks
    with torch.no_grad():
        stages = {"real": x, "R(E(x))": nets["recovery"](nets["embedder"](x))}
        stages["rollout"] = module.rollout(noise, None)
        saved = [p.detach().clone() for p in nets["generator"].linear.parameters()]
        for p in nets["generator"].linear.parameters():
            p.zero_()  # the generator's shaping off: the supervisor's skewed-t innovations alone
        stages["rollout, generator off"] = module.rollout(noise, None)
        for p, value in zip(nets["generator"].linear.parameters(), saved, strict=True):
            p.copy_(value)
    return _summarise_stages(stages, model.scaler)


def _summarise_stages(stages: dict[str, torch.Tensor], scaler) -> dict[str, dict]:
    result = {}
    for name, scaled in stages.items():
        paths = scaler.inverse_transform(scaled.double().numpy())[..., 0]
        result[name] = {"std": float(paths.std()), **_headline(paths)}
        result[name]["acf_r_lag1"] = float(autocorrelation(paths, [1])[0])
    return result


def market_returns(market: str) -> np.ndarray:
    """Daily log returns of a market, oldest first."""
    if market == "sp500":
        return sp500_log_returns()
    if market == "stocks":
        return np.diff(np.log(stocks_ohlcv()["Close"].to_numpy()))
    raise ValueError(f"market must be one of {MARKETS}, got {market!r}")


def real_chunks(real: np.ndarray, length: int) -> np.ndarray:
    """The real series as non-overlapping chunks of ``length`` days ``(n, length)``."""
    count = len(real) // length
    if count < 2:
        raise ValueError(f"{len(real)} real days make fewer than two chunks of {length}")
    return real[: count * length].reshape(count, length)


def volatility_by_block(paths: np.ndarray, real: np.ndarray) -> list[float]:
    """The paths' std in each 32-day block over the real std."""
    blocks = paths.shape[1] // BLOCK_DAYS
    by_block = paths[:, : blocks * BLOCK_DAYS].reshape(len(paths), blocks, BLOCK_DAYS)
    return (by_block.std(axis=(0, 2)) / real.std()).round(3).tolist()


def score(real: np.ndarray, paths: np.ndarray) -> dict:
    """Like-with-like facts of ``paths`` against real chunks of their length."""
    summary = facts_summary(real_chunks(real, paths.shape[1]), paths)
    return {
        "passed": summary["passed"],
        "total": summary["total"],
        "failed": [c["name"] for c in summary["checks"] if not c["passed"]],
        "volatility_clustering_error": summary["volatility_clustering_error"],
        "leverage_error": summary["leverage_error"],
        "volatility_level_by_block": volatility_by_block(paths, real),
        "checks": {
            c["name"]: {k: c[k] for k in ("real", "synthetic", "passed", "rule")}
            for c in summary["checks"]
        },
    }


def real_halves(real: np.ndarray) -> dict:
    """The checks' own noise floor: the real series' first half scored against its second
    half (and back), chunked like the paths, at each length both halves hold two chunks of."""
    middle = len(real) // 2
    halves = {"first_vs_second": (real[middle:], real[:middle])}
    halves["second_vs_first"] = (real[:middle], real[middle:])
    result = {}
    for length in PATH_LENGTHS:
        if min(middle, len(real) - middle) // length < 2:
            continue
        result[str(length)] = {
            name: {
                k: v
                for k, v in score(reference, real_chunks(compared, length)).items()
                if k in ("passed", "total", "failed", "volatility_level_by_block")
            }
            for name, (reference, compared) in halves.items()
        }
    return result


def beats(run: dict, reference: dict) -> bool:
    return (
        run["volatility_clustering_error"] < reference["volatility_clustering_error"]
        and run["leverage_error"] < reference["leverage_error"]
    )


def bench_market(market: str, config: TimeGANConfig, args: argparse.Namespace) -> dict:
    """Baselines and every training seed of TimeGAN on one market, at both lengths."""
    real = market_returns(market)
    started = time.perf_counter()
    garch = GarchT.fit(real)
    garch_seconds = time.perf_counter() - started
    baselines = {
        "garch_t": {
            str(n): score(real, garch.simulate(args.paths, n, seed=0)) for n in PATH_LENGTHS
        },
        "bootstrap": {
            str(n): score(real, bootstrap_returns(real, args.paths, n, seed=0))
            for n in PATH_LENGTHS
        },
    }
    windows = sliding_windows(real, args.train_len, args.stride)
    seeds, model = [], None
    for seed in range(args.seeds):
        trained = TimeGAN(config, batch_size=args.batch, seed=seed, device="cpu")
        trained.fit(windows, progress=False, log_every=50)
        paths = {n: trained.sample_days(n, args.paths, seed=seed + 1)[..., 0] for n in PATH_LENGTHS}
        lengths = {str(n): score(real, p) for n, p in paths.items()}
        whole = facts_summary(real, paths[PATH_LENGTHS[0]])
        seeds.append(
            {
                "seed": seed,
                "seconds": trained.seconds,
                "lengths": lengths,
                "passes_every_check": all(r["passed"] == r["total"] for r in lengths.values()),
                "beats_garch_t_on_both": all(
                    beats(lengths[n], baselines["garch_t"][n]) for n in lengths
                ),
                "whole_series": {
                    "note": f"{PATH_LENGTHS[0]}-day paths against the whole real series",
                    **{k: v for k, v in whole.items() if k != "checks"},
                },
            }
        )
        print(market, seed, {n: (r["passed"], r["total"]) for n, r in lengths.items()}, flush=True)
        model = model or trained
    seconds = float(np.mean([s["seconds"] for s in seeds]))
    return {
        "days": len(real),
        "real_chunks": {str(n): len(real) // n for n in PATH_LENGTHS},
        "seeds_passing_every_check": sum(s["passes_every_check"] for s in seeds),
        "seeds_beating_garch_t_on_both": sum(s["beats_garch_t_on_both"] for s in seeds),
        "seeds": seeds,
        "baselines": baselines,
        "real_halves": real_halves(real),
        "headline": {"real": _headline(real)},
        "timegan_stages": _stage_diagnostics(model, real, PATH_LENGTHS[0]),
        "garch_t_params": garch.__dict__,
        "timegan_seconds": seconds,
        "iters_per_s": config.total_iterations / seconds,
        "timegan_training_vs_garch_fit": seconds / garch_seconds,
    }


def combine(files: list[Path], out: Path) -> None:
    """One result from per-market runs (each file's ``markets`` entries)."""
    parts = [json.loads(Path(f).read_text()) for f in files]
    result = {**parts[0], "markets": {}}
    for part in parts:
        result["markets"].update(part["markets"])
    print(write_json(out, result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", nargs="+", default=list(MARKETS), choices=MARKETS)
    parser.add_argument("--train-len", type=int, default=64, help="training window length")
    parser.add_argument(
        "--scaling", choices=["standardize", "gaussianize", "minmax"], default="standardize"
    )
    parser.add_argument("--stride", type=int, default=4, help="step between training windows")
    parser.add_argument("--hidden", type=int, default=24, help="TimeGAN hidden size")
    parser.add_argument("--layers", type=int, default=3, help="recurrent layers per network")
    parser.add_argument("--batch", type=int, default=64, help="windows per batch")
    parser.add_argument("--embed", type=int, default=600, help="autoencoder iterations")
    parser.add_argument("--supervise", type=int, default=600, help="supervisor iterations")
    parser.add_argument("--joint", type=int, default=200, help="joint iterations")
    parser.add_argument(
        "--generation", choices=["stepwise", "paper"], default="stepwise", help="sampling path"
    )
    parser.add_argument("--paths", type=int, default=200, help="paths per generator and length")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per market")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON")
    parser.add_argument("--combine", nargs="+", type=Path, help="join these per-market runs")
    args = parser.parse_args()
    if args.combine:
        combine(args.combine, args.out)
        return
    torch.set_num_threads(1)
    config = TimeGANConfig(
        seq_len=args.train_len,
        feature_dim=1,
        hidden_dim=args.hidden,
        num_layers=args.layers,
        embed_iterations=args.embed,
        supervise_iterations=args.supervise,
        joint_iterations=args.joint,
        scaling=args.scaling,
        generation=args.generation,
    )
    result = {
        "protocol": __doc__.split("\n\n", 1)[1].split("Usage:")[0].strip(),
        "markets": {m: bench_market(m, config, args) for m in args.markets},
        "config": {
            "path_lengths": list(PATH_LENGTHS),
            "block_days": BLOCK_DAYS,
            "train_len": args.train_len,
            "scaling": args.scaling,
            "generation": args.generation,
            "stride": args.stride,
            "hidden_dim": args.hidden,
            "num_layers": args.layers,
            "batch_size": args.batch,
            "embed_iterations": args.embed,
            "supervise_iterations": args.supervise,
            "joint_iterations": args.joint,
            "paths": args.paths,
            "seeds": args.seeds,
            "device": "cpu, 1 thread (shared 2-core machine)",
        },
    }
    print(write_json(args.out, result))
    for market, entry in result["markets"].items():
        print(market, entry["seeds_passing_every_check"], entry["seeds_beating_garch_t_on_both"])


if __name__ == "__main__":
    main()
