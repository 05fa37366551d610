"""The trainer and the core's math on a CUDA GPU, checked against the CPU (skipped without one).

Run with ``pytest -m cuda``. Every test here runs with deterministic cuDNN algorithms,
no cuDNN benchmarking and no TF32, so CUDA computes in true float32.

Tolerances, and why:

- fp32 training on CUDA vs on the CPU (parameters, buffers, EMA and logged losses after
  a few iterations): ``atol=2e-5, rtol=1e-4``. On the CPU, float32 training of the same
  modules differs from float64 training by at most 3.3e-7 (5 DCGAN / 10 ring iterations,
  three seeds); one Adam step moves a parameter by up to the learning rate (2e-4 to 5e-4).
- bf16 / fp16 autocast vs fp32 on CUDA: logged losses within 2e-2, generator samples on
  fixed noise within 20 % (relative L2 distance), and the parameter update in the same
  direction (cosine >= 0.5). CPU autocast gives at most 2.1e-3, 5.8 % and a cosine of
  0.80; fp16's loss scaler may skip a first step that overflows, hence the loose bounds.
- losses and penalties on CUDA vs the CPU: ``rtol=1e-5`` (values and gradients; the
  penalties' random points come from a CPU generator, so both devices use the same ones),
  and ``rtol=5e-2`` for a gradient penalty under bf16 / fp16 autocast vs fp32.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import nn

from ganforge.core.losses import LOSSES, get_loss
from ganforge.core.recipes import dcgan_recipe, ring_of_gaussians, ring_recipe
from ganforge.core.recipes.adversarial import AdversarialRecipe
from ganforge.core.regularizers import gradient_penalty, r1_penalty
from ganforge.core.training import Trainer, TrainerConfig

pytestmark = pytest.mark.cuda

CUDA = "cuda"
KINDS = ("dcgan", "ring")
FP32_TOLERANCE = {"atol": 2e-5, "rtol": 1e-4}
MIXED_LOSS_ATOL = 2e-2
MIXED_SAMPLE_DISTANCE = 0.2
MIXED_MIN_COSINE = 0.5
AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


@pytest.fixture(autouse=True)
def exact_float32() -> Iterator[None]:
    """Deterministic cuDNN, no benchmarking, no TF32; the previous flags come back after."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = (cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32)
    cudnn.deterministic, cudnn.benchmark = True, False
    cudnn.allow_tf32 = matmul.allow_tf32 = False
    try:
        yield
    finally:
        cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32 = saved


# --- training on CUDA vs the CPU ------------------------------------------------------------


@dataclass
class Run:
    """A finished training run and what it started from."""

    module: AdversarialRecipe
    trainer: Trainer
    start: torch.Tensor  # every parameter, flattened, before training
    noise: torch.Tensor  # fixed generator input for comparing samples


def _module_and_data(kind: str) -> tuple[AdversarialRecipe, torch.Tensor, torch.Tensor, int, int]:
    """A tiny module, its data, fixed noise, the batch size and the iterations."""
    torch.manual_seed(0)
    noise_source = torch.Generator().manual_seed(9)
    if kind == "dcgan":
        module = dcgan_recipe(batch_size=8, latent_dim=16, width=8, loss="hinge")
        images = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
        return module, images, torch.randn(16, 16, 1, 1, generator=noise_source), 8, 5
    module = ring_recipe("ns_r1", batch_size=64, width=32)  # R1: a double backward
    return module, ring_of_gaussians(512), torch.randn(256, 2, generator=noise_source), 64, 10


def _train(kind: str, device: str, precision: str = "fp32") -> Run:
    """Train ``kind`` on ``device``; its noise (batches, latents) is drawn on the CPU, so
    runs on different devices see the same numbers."""
    module, data, noise, batch_size, iterations = _module_and_data(kind)
    start = _flat_parameters(module)
    config = TrainerConfig(
        iterations=iterations,
        batch_size=batch_size,
        device=device,
        precision=precision,
        ema_decay=0.9,
        progress=False,
        tensorboard=False,
        log_every=1,
    )
    trainer = Trainer(module, config).fit(data)
    return Run(module, trainer, start, noise)


def _flat_parameters(module: AdversarialRecipe) -> torch.Tensor:
    return torch.cat(
        [
            p.detach().double().cpu().flatten()
            for net in module.networks.values()
            for p in net.parameters()
        ]
    )


def _on_cpu(state: Any) -> Any:
    """A nested state with every tensor moved to the CPU."""
    if isinstance(state, torch.Tensor):
        return state.detach().cpu()
    if isinstance(state, dict):
        return {key: _on_cpu(value) for key, value in state.items()}
    return state


def _trained_state(run: Run) -> dict[str, Any]:
    networks = {name: net.state_dict() for name, net in run.module.networks.items()}
    return _on_cpu({"networks": networks, "ema": run.trainer.ema.state_dict()})


def _losses(run: Run) -> torch.Tensor:
    return torch.tensor([[r["D/loss"], r["G/loss"]] for r in run.trainer.history])


def _samples(run: Run) -> torch.Tensor:
    """The trained generator (eval mode, fp32, no autocast) on the run's fixed noise."""
    generator = run.module.networks["G"].eval()
    device = next(generator.parameters()).device
    with torch.no_grad():
        return generator(run.noise.to(device)).float().cpu()


@pytest.mark.parametrize("kind", KINDS)
def test_fp32_training_on_cuda_matches_the_cpu(kind):
    on_cpu, on_cuda = _train(kind, "cpu"), _train(kind, CUDA)
    assert next(on_cuda.module.networks["G"].parameters()).device.type == torch.device(CUDA).type
    assert len(on_cuda.trainer.history) == len(on_cpu.trainer.history) > 0
    torch.testing.assert_close(_losses(on_cuda), _losses(on_cpu), **FP32_TOLERANCE)
    torch.testing.assert_close(_trained_state(on_cuda), _trained_state(on_cpu), **FP32_TOLERANCE)
    moved = (_flat_parameters(on_cpu.module) - on_cpu.start).abs().max().item()
    assert moved > 10 * FP32_TOLERANCE["atol"]  # training moved the parameters beyond it


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("kind", KINDS)
def test_mixed_precision_on_cuda_stays_close_to_fp32(kind, precision):
    reference, mixed = _train(kind, CUDA), _train(kind, CUDA, precision)
    assert mixed.trainer.scalers["G"].is_enabled() == (precision == "fp16")
    assert all(torch.isfinite(p).all() for p in mixed.module.networks["D"].parameters())
    torch.testing.assert_close(_losses(mixed), _losses(reference), atol=MIXED_LOSS_ATOL, rtol=0)
    samples, reference_samples = _samples(mixed), _samples(reference)
    distance = (samples - reference_samples).norm() / reference_samples.norm()
    assert distance.item() <= MIXED_SAMPLE_DISTANCE
    update = _flat_parameters(mixed.module) - mixed.start
    reference_update = _flat_parameters(reference.module) - reference.start
    cosine = torch.nn.functional.cosine_similarity(update, reference_update, dim=0).item()
    assert cosine >= MIXED_MIN_COSINE


def test_resume_on_cuda_restores_the_cuda_rng_and_continues_exactly(tmp_path):
    """WGAN-GP draws its interpolation points from the CUDA RNG: a resumed run matches an
    uninterrupted one only if the checkpoint restored that RNG."""

    def trainer(run_dir, iterations: int) -> Trainer:
        torch.manual_seed(0)
        module = dcgan_recipe(
            batch_size=8, latent_dim=16, width=8, loss="wasserstein", gp_weight=10.0
        )
        config = TrainerConfig(
            iterations=iterations,
            batch_size=8,
            device=CUDA,
            run_dir=run_dir,
            checkpoint_every=2,
            progress=False,
            tensorboard=False,
        )
        return Trainer(module, config)

    images = torch.rand(32, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    straight = trainer(tmp_path / "straight", 4).fit(images)
    trainer(tmp_path / "resumed", 2).fit(images)
    checkpoint = tmp_path / "resumed" / "checkpoint_00000002.pt"
    resumed = trainer(tmp_path / "resumed", 4).fit(images, resume_from=checkpoint)
    a, b = straight.state_dict(), resumed.state_dict()
    assert torch.equal(a["rng"][0]["cuda"][0], b["rng"][0]["cuda"][0])
    exact = {"atol": 1e-6, "rtol": 1e-5}  # deterministic cuDNN: equal in practice
    torch.testing.assert_close(_on_cpu(a["networks"]), _on_cpu(b["networks"]), **exact)
    moments = {name: _on_cpu(a["optimizers"][name]["state"]) for name in a["optimizers"]}
    resumed_moments = {name: _on_cpu(b["optimizers"][name]["state"]) for name in b["optimizers"]}
    torch.testing.assert_close(moments, resumed_moments, **exact)


# --- losses and penalties on CUDA vs the CPU ------------------------------------------------


def _scores() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Real and fake discriminator outputs of two scales: a patch map and per-sample scores."""
    source = torch.Generator().manual_seed(0)
    real = [torch.randn(8, 1, 5, 5, generator=source), torch.randn(8, 1, generator=source) + 1]
    fake = [torch.randn(8, 1, 5, 5, generator=source) - 1, torch.randn(8, 1, generator=source)]
    return real, fake


def _loss_values(name: str, device: str) -> list[torch.Tensor]:
    """Both losses of ``name`` on ``device`` and their gradients with respect to the scores."""
    real, fake = _scores()
    real = [t.to(device).requires_grad_(True) for t in real]
    fake = [t.to(device).requires_grad_(True) for t in fake]
    loss = get_loss(name)
    d_loss, g_loss = loss.discriminator(real, fake), loss.generator(fake, real)
    grads = torch.autograd.grad(d_loss + 2 * g_loss, [*real, *fake])
    return [t.detach().cpu() for t in (d_loss, g_loss, *grads)]


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_give_the_same_values_and_gradients_on_cuda(name):
    torch.testing.assert_close(
        _loss_values(name, CUDA), _loss_values(name, "cpu"), rtol=1e-5, atol=1e-6
    )


def _critic() -> nn.Module:
    """A small convolutional critic with a patch output; its input gradients have norms
    far from 1, so the two-sided penalty is not near its minimum."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3),
        nn.LeakyReLU(0.2),
        nn.Conv2d(8, 8, 3, stride=2),
        nn.LeakyReLU(0.2),
        nn.Conv2d(8, 1, 2),
    )


def _batches() -> tuple[torch.Tensor, torch.Tensor]:
    source = torch.Generator().manual_seed(1)
    return torch.randn(6, 3, 8, 8, generator=source), torch.randn(6, 3, 8, 8, generator=source)


def _penalty(kind: str, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    points = torch.Generator().manual_seed(3)  # a CPU generator: the same points everywhere
    if kind == "wgan_gp":
        return gradient_penalty(critic, real, fake, 10.0, generator=points)
    if kind == "zero_centred":
        return gradient_penalty(critic, real, fake, 1.0, center=0.0, generator=points)
    if kind == "dragan":
        return gradient_penalty(critic, real, None, 10.0, points="dragan", generator=points)
    real = real.detach().requires_grad_(True)
    return r1_penalty(critic(real), real, 10.0)


def _penalty_values(kind: str, device: str) -> list[torch.Tensor]:
    """The penalty on ``device`` and its gradients with respect to the critic's parameters."""
    critic = _critic().to(device)
    real, fake = (t.to(device) for t in _batches())
    value = _penalty(kind, critic, real, fake)
    # Input gradients of a piecewise-linear critic do not depend on its biases.
    weights = [p for name, p in critic.named_parameters() if name.endswith("weight")]
    grads = torch.autograd.grad(value, weights)
    return [t.detach().cpu() for t in (value, *grads)]


@pytest.mark.parametrize("kind", ["wgan_gp", "zero_centred", "dragan", "r1"])
def test_gradient_penalties_give_the_same_values_and_gradients_on_cuda(kind):
    on_cuda, on_cpu = _penalty_values(kind, CUDA), _penalty_values(kind, "cpu")
    assert on_cpu[0].item() > 1e-3  # a penalty worth comparing
    torch.testing.assert_close(on_cuda, on_cpu, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_gradient_penalty_under_autocast_stays_close_to_fp32(precision):
    critic = _critic().to(CUDA)
    real, fake = (t.to(CUDA) for t in _batches())
    reference = _penalty("wgan_gp", copy.deepcopy(critic), real, fake)
    with torch.autocast(torch.device(CUDA).type, dtype=AUTOCAST[precision]):
        mixed = _penalty("wgan_gp", critic, real, fake)
    assert mixed.dtype == torch.float32  # the norm is summed in float32
    torch.testing.assert_close(mixed, reference, rtol=5e-2, atol=0)
