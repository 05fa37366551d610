"""The WGAN-GP recipe for multi-track piano rolls on the core trainer.

Each iteration runs ``n_critic`` critic steps and one generator step (Gulrajani
et al. 2017's schedule, MuseGAN's objective):

1. ``D``: ``E[D(G(z))] - E[D(x)] + gp_weight * GP``, the gradient penalty from
   :func:`ganforge.core.regularizers.gradient_penalty` on interpolates; each real
   batch is transposed by a random number of semitones (the key moves with it;
   only shifts that keep every voice within its usual range),
   the noise and the shifts drawn from the step context, so a resumed run draws
   exactly what an uninterrupted one does;
2. ``G``: ``-E[D(G(z))]`` with the critic frozen by the trainer.

With ``binary_neurons`` (the default) the critic sees the generator's rolls
binarised as they will be sampled (``MuseGenerator.decode``: cells above 0.5, or
a monophonic track's most probable pitch where the pitches outweigh the rest)
with a straight-through gradient (BinaryMuseGAN's deterministic binary neurons,
Dong & Yang 2018): the critic cannot tell fakes by their soft values, and the
generator learns the rolls it will be sampled as.

Batches are ``(rolls (B, tracks, steps, P) bool, keys (B,))``; the condition is
the key or the given track of the (transposed) real batch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganforge.core.regularizers import gradient_penalty
from ganforge.core.training import GANModule, Phase, Step, StepContext
from ganforge.music.similarity import transpose


def transpose_batch(rolls: Tensor, keys: Tensor, shifts: Tensor) -> tuple[Tensor, Tensor]:
    """Each roll moved by its shift in semitones, each key with it (mode kept)."""
    out = torch.empty_like(rolls)
    for shift in shifts.unique().tolist():
        rows = shifts == shift
        out[rows] = transpose(rolls[rows], int(shift))
    moved = (keys % 12 + shifts) % 12 + 12 * (keys >= 12)
    return out, moved


def allowed_shifts(rolls: Tensor, ranges: Tensor | None, max_shift: int) -> Tensor:
    """``(B, 2 * max_shift + 1)`` bool: which shifts of -max_shift..+max_shift keep every
    sounding track of each roll inside its range of rows ``ranges`` ``(tracks, 2)``
    (lowest and highest; ``None``: every shift). No shift is always allowed."""
    shifts = torch.arange(-max_shift, max_shift + 1, device=rolls.device)
    if ranges is None:
        return torch.ones(len(rolls), len(shifts), dtype=torch.bool, device=rolls.device)
    sounding = rolls.amax(dim=2) > 0  # (B, tracks, P)
    rows = torch.arange(rolls.shape[-1], device=rolls.device)
    low = torch.where(sounding, rows, rolls.shape[-1]).amin(-1)[..., None] + shifts
    high = torch.where(sounding, rows, -1).amax(-1)[..., None] + shifts
    ranges = ranges.to(rolls.device)
    inside = (low >= ranges[:, :1]) & (high <= ranges[:, 1:])
    allowed = (inside | ~sounding.any(-1)[..., None]).all(dim=1)
    allowed[:, max_shift] = True
    return allowed


class MusicGANModule(GANModule):
    """Generator ``G`` and critic ``D`` with the WGAN-GP schedule (see the module docstring).

    Args:
        generator: a :class:`~ganforge.music.networks.MuseGenerator`.
        critic: a :class:`~ganforge.music.networks.MuseCritic`.
        n_critic: critic steps per generator step.
        lr, betas: Adam's settings for both networks (WGAN-GP: 1e-4, (0.5, 0.9)).
        gp_weight: the gradient penalty's weight.
        max_shift: real batches are transposed by -max_shift..+max_shift semitones (0: never).
        voice_ranges: ``(tracks, 2)`` lowest and highest row each track's transpositions
            may reach (DeepBach's rule: a transposed chorale stays within the voices'
            ranges); a segment draws its shift evenly among those that keep every
            voice inside (``None``: among all).
        binary_neurons: binarise the generator's output for the critic (straight-through).
    """

    generator_name = "G"

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        *,
        n_critic: int = 5,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.9),
        gp_weight: float = 10.0,
        max_shift: int = 5,
        binary_neurons: bool = True,
        voice_ranges: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.binary_neurons = binary_neurons
        self.networks = {"G": generator, "D": critic}
        self.n_critic, self.lr, self.betas = n_critic, lr, tuple(betas)
        self.gp_weight, self.max_shift = gp_weight, max_shift
        self.voice_ranges = voice_ranges
        self.condition = generator.condition
        self.condition_track = generator.condition_track

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            name: torch.optim.Adam(net.parameters(), self.lr, betas=self.betas)
            for name, net in self.networks.items()
        }

    def phases(self) -> list[Phase]:
        steps = [Step("D", self.d_step, "D", repeat=self.n_critic), Step("G", self.g_step, "G")]
        return [Phase("wgan-gp", steps)]

    def _real(self, batch: Any, ctx: StepContext) -> tuple[Tensor, Tensor]:
        rolls, keys = batch[0].float(), batch[1].long()
        if self.max_shift:
            allowed = allowed_shifts(rolls, self.voice_ranges, self.max_shift)
            draw = torch.rand(allowed.shape, generator=ctx.generator()).to(rolls.device)
            shifts = (draw * allowed).argmax(dim=1) - self.max_shift  # evenly among allowed
            rolls, keys = transpose_batch(rolls, keys, shifts)
        return rolls, keys

    def generator_condition(self, rolls: Tensor, keys: Tensor) -> Tensor | None:
        """What the generator is given for a real batch: its keys, its given track or nothing."""
        if self.condition == "key":
            return keys
        if self.condition == "track":
            return rolls[:, self.condition_track]
        return None

    def fake(self, z: Tensor, condition: Tensor | None) -> Tensor:
        """The generator's rolls as the critic sees them."""
        probabilities = self.networks["G"](z, condition)
        if not self.binary_neurons:
            return probabilities
        hard = self.networks["G"].decode(probabilities).to(probabilities.dtype)
        return probabilities + (hard - probabilities).detach()

    def _critic(self, x: Tensor, keys: Tensor) -> Tensor:
        return self.networks["D"](x, keys if self.condition == "key" else None)

    def d_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        real, keys = self._real(batch, ctx)
        z = ctx.randn(len(real), self.networks["G"].latent_dim)
        with torch.no_grad():
            fake = self.fake(z, self.generator_condition(real, keys))
        real_score = self._critic(real, keys).mean()
        fake_score = self._critic(fake, keys).mean()
        condition = keys if self.condition == "key" else None
        penalty = gradient_penalty(
            self.networks["D"], real, fake, self.gp_weight, condition=condition,
            generator=ctx.generator(),
        )  # fmt: skip
        distance = real_score - fake_score
        return {
            "loss": -distance + penalty,
            "wasserstein": distance.detach(),
            "gp": penalty.detach(),
        }

    def g_step(self, batch: Any, ctx: StepContext) -> dict[str, Tensor]:
        real, keys = self._real(batch, ctx)
        z = ctx.randn(len(real), self.networks["G"].latent_dim)
        fake = self.fake(z, self.generator_condition(real, keys))
        return {"loss": -self._critic(fake, keys).mean()}


def training_monitors(
    model: Any,
    segments: Any,
    *,
    every: int,
    samples: int = 64,
    threshold: float = 0.95,
    max_share: float = 0.05,
) -> list:
    """The core's alarms for a music fit: ``mode_collapse`` when the diversity of samples
    from fixed noise drops by 10 %, ``memorisation`` when more than ``max_share`` of them
    come within ``threshold`` similarity of a training segment in one of 12
    transpositions (the bar-aligned segments, a cheap stand-in for the originality
    report's search over every step offset).

    ``segments``: the training :class:`~ganforge.music.data.Segments`; ``model`` the
    :class:`~ganforge.music.model.MusicGAN`.
    """
    import numpy as np

    from ganforge.core.diagnostics import DiversityMonitor, MemorisationMonitor
    from ganforge.core.training import Callback
    from ganforge.music.similarity import SHIFTS, RollFeatures

    rng = torch.Generator().manual_seed(model.spec.seed + 17)
    noise = torch.randn(samples, (2 + 2 * 4) * model.spec.z_dim, generator=rng)
    pick = torch.randint(0, len(segments), (samples,), generator=rng).numpy()
    condition = model.spec.condition
    keys = torch.from_numpy(np.asarray(segments.keys)[pick]).long()
    given = torch.from_numpy(segments.rolls[pick][:, model.spec.condition_track]).float()

    def generate(generator: nn.Module, z: Tensor) -> Tensor:
        extra = {"key": keys, "track": given}.get(condition)
        probabilities = generator(z, None if extra is None else extra.to(z.device))
        return generator.decode(probabilities).float()

    features = RollFeatures.fit(list(segments.rolls), segments.rolls.shape[2])
    reference, _ = features.reference(list(segments.rolls))
    return [
        Callback(every, DiversityMonitor(noise, generate=generate, drop_threshold=0.10)),
        Callback(
            every,
            MemorisationMonitor(
                noise,
                reference,
                extractor=lambda x: features.views(x.cpu().numpy()),
                threshold=threshold,
                max_share=max_share,
                views=len(SHIFTS),
                generate=generate,
            ),
        ),  # fmt: skip
    ]
