"""The trainer's overhead: a DCGAN through ``Trainer`` vs a hand-written PyTorch loop.

Both arms train the same DCGAN (ganforge.core.recipes.dcgan_recipe) on the same
images with the same loss, n_critic, seed, batch order and noise, so they do the
same arithmetic and end with the same parameters (checked and recorded). Blocks
of each arm alternate (T P, P T, ...) and each reports seconds per iteration
from its steady state (the first iteration of a block is not counted); the
result is the median over blocks. Writes bench/results/core_overhead.json with
``trainer_s_per_step``, ``plain_s_per_step`` and ``ratio`` (trainer / plain).

Usage: python bench/core_overhead.py [--blocks N] [--iterations N] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganforge.core.files import write_json
from ganforge.core.losses import get_loss
from ganforge.core.recipes import AdversarialRecipe, dcgan_recipe
from ganforge.core.training import Callback, Trainer, TrainerConfig

RESULT = Path(__file__).parent / "results" / "core_overhead.json"
TARGET_RATIO = 1.05


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=6, help="timed blocks per arm")
    parser.add_argument("--iterations", type=int, default=8, help="iterations per block")
    parser.add_argument("--batch", type=int, default=64, help="batch size")
    parser.add_argument("--width", type=int, default=64, help="DCGAN base width")
    parser.add_argument("--latent", type=int, default=100, help="latent dimension")
    parser.add_argument("--n-critic", type=int, default=2, help="D steps per G step")
    parser.add_argument("--loss", default="non_saturating", help="adversarial loss name")
    parser.add_argument("--samples", type=int, default=1024, help="training images")
    parser.add_argument("--seed", type=int, default=0, help="seed of batches and noise")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON")
    args = parser.parse_args()
    if args.iterations < 2 or args.blocks < 1:
        parser.error("--iterations must be >= 2 and --blocks >= 1")
    return args


def clock(device: torch.device) -> float:
    """Wall time, after the device has finished its queued work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def steady_seconds_per_step(stamps: list[float]) -> float:
    """Seconds per iteration between the first and the last iteration's end."""
    return (stamps[-1] - stamps[0]) / (len(stamps) - 1)


def build_recipe(args: argparse.Namespace) -> AdversarialRecipe:
    torch.manual_seed(args.seed)
    return dcgan_recipe(
        batch_size=args.batch,
        latent_dim=args.latent,
        width=args.width,
        loss=args.loss,
        n_critic=args.n_critic,
    )


def run_trainer(args: argparse.Namespace, images: Tensor, device: torch.device) -> dict[str, Any]:
    """One block through the Trainer; seconds per iteration and the final networks."""
    stamps: list[float] = []

    def stamp(_: Trainer) -> None:
        stamps.append(clock(device))

    config = TrainerConfig(
        iterations=args.iterations,
        batch_size=args.batch,
        seed=args.seed,
        device=str(device),
        progress=False,
        tensorboard=False,
    )
    trainer = Trainer(build_recipe(args), config, callbacks=[Callback(1, stamp)]).fit(images)
    return {"seconds": steady_seconds_per_step(stamps), "networks": trainer.module.networks}


def plain_batches(images: Tensor, batch: int, seed: int) -> Iterator[Tensor]:
    """Epoch-wise shuffled full batches (the trainer's order for one process)."""
    epoch = 0
    while True:
        generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images) - batch + 1, batch):
            yield images[order[start : start + batch]]
        epoch += 1


def plain_noise(seed: int, iteration: int) -> Callable[[int, tuple[int, ...]], Tensor]:
    """Noise draws seeded by (seed, iteration, draw index), as the trainer seeds them."""
    draws = 0

    def draw(batch: int, shape: tuple[int, ...]) -> Tensor:
        nonlocal draws
        draws += 1
        noise_seed = (seed * 1_000_003 + iteration * 9_176 + draws) % (2**63)
        return torch.randn(batch, *shape, generator=torch.Generator().manual_seed(noise_seed))

    return draw


def run_plain(args: argparse.Namespace, images: Tensor, device: torch.device) -> dict[str, Any]:
    """One block of a hand-written loop doing the trainer's work."""
    recipe = build_recipe(args)
    generator, discriminator = recipe.networks["G"].to(device), recipe.networks["D"].to(device)
    opt_g = torch.optim.Adam(generator.parameters(), recipe.lr_g, betas=recipe.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), recipe.lr_d, betas=recipe.betas)
    loss = get_loss(args.loss)
    latent = recipe.latent_shape
    batches = plain_batches(images, args.batch, args.seed)
    stamps = []
    for iteration in range(args.iterations):
        noise = plain_noise(args.seed, iteration)
        for _ in range(args.n_critic):
            real = next(batches).to(device)
            with torch.no_grad():
                fake = generator(noise(real.shape[0], latent).to(device))
            d_loss = loss.discriminator(discriminator(real), discriminator(fake))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        discriminator.requires_grad_(False)  # no weight gradients for D in G's step
        fake = generator(noise(args.batch, latent).to(device))
        g_loss = loss.generator(discriminator(fake))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        discriminator.requires_grad_(True)
        stamps.append(clock(device))
    return {"seconds": steady_seconds_per_step(stamps), "networks": recipe.networks}


def max_parameter_difference(a: dict[str, torch.nn.Module], b: dict[str, torch.nn.Module]) -> float:
    return max(
        float((x.detach() - y.detach()).abs().max())
        for name in a
        for x, y in zip(a[name].state_dict().values(), b[name].state_dict().values(), strict=True)
        if x.is_floating_point()
    )


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else "cpu")
    if args.device not in ("auto", "cpu"):
        device = torch.device(args.device)
    images = torch.rand(args.samples, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    arms = {"trainer": run_trainer, "plain": run_plain}
    seconds: dict[str, list[float]] = {"trainer": [], "plain": []}
    difference = None
    started = time.perf_counter()
    for block in range(args.blocks):
        order = ("trainer", "plain") if block % 2 == 0 else ("plain", "trainer")
        finals = {}
        for arm in order:
            outcome = arms[arm](args, images, device)
            seconds[arm].append(outcome["seconds"])
            finals[arm] = outcome["networks"]
        if difference is None:
            difference = max_parameter_difference(finals["trainer"], finals["plain"])
        print(f"block {block}: " + ", ".join(f"{a} {seconds[a][-1]:.4f} s/step" for a in order))
    trainer_s, plain_s = statistics.median(seconds["trainer"]), statistics.median(seconds["plain"])
    result = {
        "trainer_s_per_step": trainer_s,
        "plain_s_per_step": plain_s,
        "ratio": trainer_s / plain_s,
        "target_ratio": TARGET_RATIO,
        "meets_target": trainer_s / plain_s <= TARGET_RATIO,
        "block_ratios": [t / p for t, p in zip(seconds["trainer"], seconds["plain"], strict=True)],
        "trainer_block_s_per_step": seconds["trainer"],
        "plain_block_s_per_step": seconds["plain"],
        "max_parameter_difference_trainer_vs_plain": difference,
        "total_seconds": time.perf_counter() - started,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "config": {
            "model": "dcgan_recipe (ConvTranspose G with BatchNorm, conv D), DCGAN init",
            "image_shape": [3, 32, 32],
            "batch_size": args.batch,
            "width": args.width,
            "latent_dim": args.latent,
            "loss": args.loss,
            "n_critic": args.n_critic,
            "optimizer": "Adam lr 2e-4 betas (0.5, 0.999)",
            "data": f"{args.samples} uniform random images in [-1, 1], seed 1",
            "seed": args.seed,
            "blocks_per_arm": args.blocks,
            "iterations_per_block": args.iterations,
            "timed": "steady state: first iteration of each block excluded; median of blocks",
            "trainer": "fp32, no EMA, no clipping, log_every 10, no progress bar, no run_dir",
            "threads": torch.get_num_threads(),
        },
    }
    write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("trainer_s_per_step", "plain_s_per_step", "ratio")}))


if __name__ == "__main__":
    main()
