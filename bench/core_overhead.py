"""The trainer's overhead: a DCGAN through ``Trainer`` vs a hand-written PyTorch loop.

Both arms train the same DCGAN (ganforge.core.recipes.dcgan_recipe) on the same
images with the same loss, n_critic, seed, batch order and noise, so they do the
same arithmetic and end with the same parameters (checked and recorded). Blocks
of each arm alternate (T P, P T, ...) and each reports seconds per iteration
from its steady state (the first iteration of a block is not counted); the
result is the median over blocks. Writes bench/results/core_overhead.json with
``trainer_s_per_step``, ``plain_s_per_step`` and ``ratio`` (trainer / plain).

A second, vocoder-shaped case times one iteration of an expensive 1-D
generator (mel frames to a waveform, 256x upsampling) against two waveform
discriminators, with the generator's forward computed once per iteration and
handed from the discriminator step to the generator step (``ctx.handoff``,
with one shared real batch) and without (the discriminator step runs its own
no-grad forward, as before). Both arms do the same arithmetic (checked);
``shared_forward_speedup`` is time without / time with, the median over blocks
of the two arms run back to back (target >= 1.15).

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
from ganforge.core.training import Callback, GANModule, Phase, Step, Trainer, TrainerConfig

RESULT = Path(__file__).parent / "results" / "core_overhead.json"
TARGET_RATIO = 1.05
TARGET_SHARED_SPEEDUP = 1.15


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
    parser.add_argument("--frames", type=int, default=32, help="mel frames per vocoder sample")
    parser.add_argument("--vocoder-batch", type=int, default=4, help="vocoder-shaped batch size")
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


def timed_fit(
    module: GANModule, data: Any, iterations: int, batch: int, seed: int, device: torch.device
) -> dict[str, Any]:
    """Train ``module`` through the Trainer; seconds per iteration and the final networks."""
    stamps: list[float] = []
    config = TrainerConfig(
        iterations=iterations,
        batch_size=batch,
        seed=seed,
        device=str(device),
        progress=False,
        tensorboard=False,
    )
    callback = Callback(1, lambda _: stamps.append(clock(device)))
    trainer = Trainer(module, config, callbacks=[callback]).fit(data)
    return {"seconds": steady_seconds_per_step(stamps), "networks": trainer.module.networks}


def run_trainer(args: argparse.Namespace, images: Tensor, device: torch.device) -> dict[str, Any]:
    """One block of the DCGAN through the Trainer."""
    return timed_fit(build_recipe(args), images, args.iterations, args.batch, args.seed, device)


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


class VocoderShaped(GANModule):
    """A MelGAN-shaped generator (80 mel channels to 256 samples per frame) and two
    MelGAN-style waveform discriminators (full rate and 2x average-pooled),
    least-squares losses and an L1 waveform term."""

    def __init__(self, shared_forward: bool, frames: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.shared_forward, self.frames = shared_forward, frames
        self.networks = {"G": _upsampler(), "D1": _wave_critic(), "D2": _wave_critic()}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        d_params = [*self.networks["D1"].parameters(), *self.networks["D2"].parameters()]
        return {
            "G": torch.optim.Adam(self.networks["G"].parameters(), 2e-4, betas=(0.8, 0.99)),
            "D": torch.optim.Adam(d_params, 2e-4, betas=(0.8, 0.99)),
        }

    def phases(self) -> list[Phase]:
        steps = [
            Step("D", self.d_step, "D", networks=("D1", "D2")),
            Step("G", self.g_step, "G"),
        ]
        if self.shared_forward:  # the generator forward as a step of its own: no freezing
            steps.insert(0, Step("forward", self.forward_step, None))
        return [Phase("gan", steps, share_batch=True)]

    def forward_step(self, batch: tuple[Tensor, Tensor], ctx: Any) -> dict[str, Any]:
        ctx.handoff["fake"] = self.networks["G"](batch[0])
        return {}

    def d_step(self, batch: tuple[Tensor, Tensor], ctx: Any) -> dict[str, Any]:
        if self.shared_forward:
            fake = ctx.handoff["fake"].detach()
        else:
            with torch.no_grad():
                fake = self.networks["G"](batch[0])
        loss = 0.0
        for name, real, made in self._scales(batch[1], fake):
            critic = self.networks[name]
            loss = loss + ((critic(real) - 1) ** 2).mean() + (critic(made) ** 2).mean()
        return {"loss": loss}

    def g_step(self, batch: tuple[Tensor, Tensor], ctx: Any) -> dict[str, Any]:
        fake = ctx.handoff["fake"] if self.shared_forward else self.networks["G"](batch[0])
        loss = sum(
            ((self.networks[name](made) - 1) ** 2).mean()
            for name, _, made in self._scales(batch[1], fake)
        )
        return {"loss": loss + (fake - batch[1]).abs().mean()}

    @staticmethod
    def _scales(real: Tensor, fake: Tensor) -> list[tuple[str, Tensor, Tensor]]:
        pool = torch.nn.functional.avg_pool1d
        return [("D1", real, fake), ("D2", pool(real, 4, 2, 1), pool(fake, 4, 2, 1))]


def _upsampler() -> torch.nn.Module:
    """MelGAN's generator shape: 80 -> 512 channels, upsampling 8, 8, 2, 2 (256 samples per
    frame), each followed by a stack of three dilated convolutions (dilation 1, 3, 9)."""
    nn = torch.nn
    layers: list[nn.Module] = [nn.Conv1d(80, 512, 7, padding=3)]
    channels = 512
    for factor in (8, 8, 2, 2):
        out = channels // 2
        layers += [
            nn.LeakyReLU(0.2),
            nn.ConvTranspose1d(channels, out, 2 * factor, factor, padding=factor // 2),
        ]
        for dilation in (1, 3, 9):
            layers += [
                nn.LeakyReLU(0.2),
                nn.Conv1d(out, out, 3, padding=dilation, dilation=dilation),
            ]
        channels = out
    layers += [nn.LeakyReLU(0.2), nn.Conv1d(channels, 1, 7, padding=3), nn.Tanh()]
    return nn.Sequential(*layers)


def _wave_critic() -> torch.nn.Module:
    nn = torch.nn
    return nn.Sequential(
        nn.Conv1d(1, 16, 15, padding=7),
        nn.LeakyReLU(0.2),
        nn.Conv1d(16, 32, 41, 4, padding=20, groups=4),
        nn.LeakyReLU(0.2),
        nn.Conv1d(32, 64, 41, 4, padding=20, groups=16),
        nn.LeakyReLU(0.2),
        nn.Conv1d(64, 1, 3, padding=1),
    )


def run_vocoder(shared: bool, args: argparse.Namespace, data: Any, device: torch.device) -> dict:
    """One block of the vocoder-shaped case; seconds per iteration and the networks."""
    module = VocoderShaped(shared, args.frames)
    return timed_fit(module, data, args.iterations, args.vocoder_batch, args.seed, device)


def vocoder_case(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Alternating blocks with and without the shared generator forward."""
    generator = torch.Generator().manual_seed(2)
    mels = torch.randn(64, 80, args.frames, generator=generator)
    waves = torch.rand(64, 1, args.frames * 256, generator=generator) * 2 - 1
    seconds: dict[str, list[float]] = {"with": [], "without": []}
    difference = None
    for block in range(args.blocks):
        finals = {}
        for arm in ("with", "without") if block % 2 == 0 else ("without", "with"):
            outcome = run_vocoder(arm == "with", args, (mels, waves), device)
            seconds[arm].append(outcome["seconds"])
            finals[arm] = outcome["networks"]
        if difference is None:
            difference = max_parameter_difference(finals["with"], finals["without"])
        print(
            f"vocoder block {block}: " + ", ".join(f"{a} {v[-1]:.4f}" for a, v in seconds.items())
        )
    with_s, without_s = statistics.median(seconds["with"]), statistics.median(seconds["without"])
    # each block runs both arms back to back: the median of the paired ratios is robust to
    # the machine's load drifting between blocks
    paired = [w / s for w, s in zip(seconds["without"], seconds["with"], strict=True)]
    return {
        "with_shared_forward_s_per_iteration": with_s,
        "without_shared_forward_s_per_iteration": without_s,
        "shared_forward_speedup": statistics.median(paired),
        "block_speedups": paired,
        "target_shared_forward_speedup": TARGET_SHARED_SPEEDUP,
        "block_s_per_iteration": seconds,
        "max_parameter_difference_with_vs_without": difference,
        "config": {
            "generator": "MelGAN-shaped: Conv1d 80->512, ConvTranspose1d upsamplings "
            "(8, 8, 2, 2) each with three dilated convs (1, 3, 9); 256 samples per mel frame",
            "discriminators": "two waveform critics (full rate, 2x average-pooled)",
            "losses": "least squares + L1 waveform",
            "batch_size": args.vocoder_batch,
            "frames": args.frames,
            "with": "forward step (no optimizer) -> D on the detached output -> G on it",
            "without": "D runs its own no-grad generator forward; G runs another",
            "share_batch": True,
        },
    }


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
    vocoder = vocoder_case(args, device)
    result["shared_forward_speedup"] = vocoder["shared_forward_speedup"]
    result["meets_shared_forward_target"] = (
        vocoder["shared_forward_speedup"] >= TARGET_SHARED_SPEEDUP
    )
    result["vocoder_shaped"] = vocoder
    result["total_seconds"] = time.perf_counter() - started
    write_json(args.out, result)
    keys = ("trainer_s_per_step", "plain_s_per_step", "ratio", "shared_forward_speedup")
    print(json.dumps({k: result[k] for k in keys}))


if __name__ == "__main__":
    main()
