"""MuseGAN-style networks (Dong et al. 2018, the hybrid model) for multi-track piano rolls.

:class:`MuseGenerator`: the latent is four parts, as in MuseGAN's hybrid
model: a shared part (the same for every track and bar), a shared temporal
part (a temporal network turns it into one vector per bar), a private part per
track and a private temporal part per track (a temporal network per track).
The bar generator has a shared trunk (transposed convolutions over time and
pitch) for every (track, bar) and a private head per track (grouped
transposed convolutions: the last pitch upsampling is each track's own), so
tracks share harmony and keep their own register. A
condition joins every bar's input: the key (an embedding of 24 keys) or a
given track (a per-bar encoding of it; that track of the output is the given
one, so the network harmonises it).

:class:`MuseCritic`: strided convolutions over (tracks, steps, pitches),
tracks as channels, then a linear score; a key condition enters as a
projection term (Miyato & Koyama 2018). Trained as a WGAN-GP critic, it has no
normalisation layers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

KEYS = 24
CONDITIONS = ("none", "key", "track")
STEPS_PER_BEAT, BEATS_PER_BAR = 4, 4  # 16th-note steps, four beats a bar
REGISTER_SPREAD = 1e-3  # share of a voice's register prior spread evenly over the pitches


class Upsample(nn.Module):
    """A transposed convolution whose kernel equals its stride, written as a matrix product
    per position and a reshape (the same map; on CPUs several times faster than a strided
    transposed convolution).

    ``(B, groups * c_in, H, W)`` -> ``(B, groups * c_out, H * kh, W * kw)``.
    """

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, int], groups: int = 1) -> None:
        super().__init__()
        self.groups, self.kernel = groups, kernel
        self.c_in, self.c_out = c_in // groups, c_out // groups
        fan_in = self.c_in
        self.weight = nn.Parameter(
            torch.empty(groups, self.c_in, self.c_out * kernel[0] * kernel[1]).uniform_(
                -(fan_in**-0.5), fan_in**-0.5
            )
        )
        self.bias = nn.Parameter(torch.zeros(groups, self.c_out))

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        kh, kw = self.kernel
        x = x.reshape(b, self.groups, self.c_in, h * w).transpose(2, 3)  # (b, g, hw, c_in)
        y = torch.matmul(x, self.weight)  # (b, g, hw, c_out * kh * kw)
        y = (
            y.reshape(b, self.groups, h, w, self.c_out, kh, kw)
            + self.bias[:, None, None, :, None, None]
        )
        y = y.permute(0, 1, 4, 2, 5, 3, 6)  # (b, g, c_out, h, kh, w, kw)
        return y.reshape(b, self.groups * self.c_out, h * kh, w * kw)


class TemporalNet(nn.Module):
    """``z (B, d)`` -> one vector per bar ``(B, bars, d)``."""

    def __init__(self, z_dim: int, bars: int) -> None:
        super().__init__()
        self.bars, self.z_dim = bars, z_dim
        self.net = nn.Sequential(
            nn.Linear(z_dim, 2 * z_dim), nn.LeakyReLU(0.2), nn.Linear(2 * z_dim, bars * z_dim)
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).reshape(len(z), self.bars, self.z_dim)


class BarEncoder(nn.Module):
    """A given track ``(B, steps, P)`` -> one vector per bar ``(B, bars, d)``."""

    def __init__(self, steps_per_bar: int, pitches: int, z_dim: int, bars: int) -> None:
        super().__init__()
        self.bars = bars
        self.net = nn.Sequential(
            nn.Linear(steps_per_bar * pitches, 4 * z_dim), nn.LeakyReLU(0.2),
            nn.Linear(4 * z_dim, z_dim),
        )  # fmt: skip

    def forward(self, track: Tensor) -> Tensor:
        return self.net(track.reshape(len(track), self.bars, -1))


class MuseGenerator(nn.Module):
    """Latent ``(B, latent_dim)`` (and a condition) -> roll probabilities ``(B, tracks, steps, P)``.

    Args:
        tracks, bars, steps_per_bar, pitches: the roll's shape (``pitches`` a multiple of 8).
        z_dim: size of each latent part; ``latent_dim = (2 + 2 * tracks) * z_dim``.
        width: channels of the bar generator's trunk.
        condition: ``"none"``, ``"key"`` (keys 0-23) or ``"track"`` (a given track's roll).
        condition_track: the given track for ``condition="track"``.
        monophonic: each track is one voice: at each step a softmax over its pitches, a
            rest and a hold (the step sounds what the step before did), so a long note
            is one choice held rather than the same pitch chosen again at every step
            (DeepBach's hold symbol), a learned register per track (a prior over its
            pitches, :meth:`set_registers`), and the trunk upsamples by resizing and a
            3x3 convolution (:func:`resize_trunk`); otherwise every cell is its own sigmoid
            (chords in a track).
        lowest_pitch: MIDI pitch of the roll's lowest row (where the key's scale lies).
        step: roll steps per generated step: 1 generates every step, 2 every other one
            and repeats it (an eighth-note grid on a roll of 16th notes), so no note is
            shorter than ``step`` or starts off the grid. A given track
            (``condition="track"``) is kept as it is, off-grid notes too.
    """

    def __init__(
        self,
        tracks: int = 4,
        bars: int = 4,
        steps_per_bar: int = 16,
        pitches: int = 48,
        z_dim: int = 16,
        width: int = 32,
        condition: str = "key",
        condition_track: int = 0,
        monophonic: bool = False,
        step: int = 1,
        lowest_pitch: int = 0,
    ) -> None:
        super().__init__()
        if step < 1 or steps_per_bar % step:
            raise ValueError(f"step must divide steps_per_bar ({steps_per_bar}), got {step}")
        if pitches % 8 or (steps_per_bar // step) % 4:
            raise ValueError("pitches must be a multiple of 8 and steps_per_bar / step of 4")
        if condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
        self.tracks, self.bars, self.steps_per_bar, self.pitches = (
            tracks,
            bars,
            steps_per_bar,
            pitches,
        )
        self.z_dim, self.condition, self.condition_track = z_dim, condition, condition_track
        self.step, self.generated_steps = step, steps_per_bar // step  # per bar
        self.monophonic = bool(monophonic)
        self.heads = 3 if self.monophonic else 1  # pitches, the rest's and the hold's logits
        if self.monophonic:  # each voice's register: a learned prior over its pitches
            self.register = nn.Parameter(torch.zeros(tracks, pitches))
            self.register_buffer("prior_normalised", torch.tensor(True))  # see pitch_prior
        self.scale: nn.Parameter | None = None
        if self.monophonic and condition == "key":  # per mode, a prior over scale degrees
            self.scale = nn.Parameter(torch.zeros(2, 12))
            self.register_buffer(
                "pitch_class", (torch.arange(pitches) + lowest_pitch) % 12, persistent=False
            )
        self.latent_dim = (2 + 2 * tracks) * z_dim
        self.shared_temporal = TemporalNet(z_dim, bars)
        self.private_temporal = nn.ModuleList(TemporalNet(z_dim, bars) for _ in range(tracks))
        if condition == "key":
            self.key_embedding = nn.Embedding(KEYS, z_dim)
        elif condition == "track":
            self.track_encoder = BarEncoder(steps_per_bar, pitches, z_dim, bars)
        inputs = 5 * z_dim + tracks
        self.start = (width, self.generated_steps // 4, pitches // 8)
        self.project = nn.Sequential(
            nn.Linear(inputs, width * self.start[1] * self.start[2]),
            nn.BatchNorm1d(width * self.start[1] * self.start[2]),
            nn.ReLU(),
        )
        self.trunk = resize_trunk(width) if self.monophonic else nn.Sequential(
            Upsample(width, width // 2, (2, 2)),
            nn.BatchNorm2d(width // 2), nn.ReLU(),
            Upsample(width // 2, width // 4, (2, 2)),
            nn.BatchNorm2d(width // 4), nn.ReLU(),
        )  # fmt: skip
        channels = width // 4
        self.private = nn.Sequential(
            Upsample(tracks * channels, tracks * channels // 2, (1, 2), groups=tracks),
            nn.BatchNorm2d(tracks * channels // 2), nn.ReLU(),
            Upsample(tracks * channels // 2, tracks * self.heads, (1, 1), groups=tracks),
        )  # fmt: skip

    def set_base_rate(self, rate: float, note_steps: float = 2.0) -> None:
        """Start every cell at the training rolls' share of sounding cells ``rate``: rolls
        are sparse (about 2 % of the cells of a chorale sound), and a generator starting
        at one half spends its first thousands of steps only learning silence. Sigmoid
        cells start at ``logit(rate)``. A monophonic track starts holding with
        probability ``1 - 1 / note_steps`` (notes of the training rolls' mean length)
        and, at a new choice, sounding a pitch as often as ``rate * pitches`` of the
        steps sound (the rest's logit is 0)."""
        rate = min(max(float(rate), 1e-4), 0.5)
        hold = 1.0 - 1.0 / min(max(float(note_steps), 1.01), 64.0)
        bias = self.private[-1].bias
        with torch.no_grad():
            if not self.monophonic:
                bias.fill_(float(torch.logit(torch.tensor(rate))))
                return
            sounding = min(rate * self.pitches, 0.99)
            pitch = float(np.log(sounding / (self.pitches * (1.0 - sounding))))
            bias[:, 0], bias[:, 1] = pitch, 0.0
            bias[:, 2] = float(np.log(hold / ((1.0 - hold) * (1.0 - sounding))))

    def set_registers(self, shares: np.ndarray, uniform: float = REGISTER_SPREAD) -> None:
        """Start each monophonic track's pitch prior at its training share of each pitch
        ``shares`` ``(tracks, pitches)`` (rows summing to 1), mixed with ``uniform`` of a
        uniform share so that no pitch is ruled out: ``log(pitches * share)``, which
        leaves the track's total pitch weight, and so :meth:`set_base_rate`, unchanged.
        Sigmoid tracks have no prior: a no-op."""
        if not self.monophonic:
            return
        shares = np.asarray(shares, dtype=np.float64)
        if shares.shape != tuple(self.register.shape):
            raise ValueError(f"shares must be {tuple(self.register.shape)}, got {shares.shape}")
        mixed = (1.0 - uniform) * shares + uniform / self.pitches
        with torch.no_grad():
            self.register.copy_(torch.from_numpy(np.log(self.pitches * mixed)))

    def set_scales(self, shares: np.ndarray, uniform: float = 0.01) -> None:
        """Start the key's prior at the training notes' share of each scale degree
        ``shares`` ``(2, 12)`` (major, minor; semitones above the tonic; rows summing to
        1), mixed with ``uniform`` of a uniform share: ``log(12 * share)``, so a key
        favours its scale's pitches in every voice from the first step. A no-op unless
        the tracks are monophonic and the condition is the key."""
        if self.scale is None:
            return
        shares = np.asarray(shares, dtype=np.float64)
        if shares.shape != (2, 12):
            raise ValueError(f"shares must be (2, 12), got {shares.shape}")
        mixed = (1.0 - uniform) * shares + uniform / 12
        with torch.no_grad():
            self.scale.copy_(torch.from_numpy(np.log(12 * mixed)))

    def key_prior(self, keys: Tensor) -> Tensor:
        """Each key's prior over the pitches ``(B, pitches)``: the scale prior of its mode
        at each pitch's degree above its tonic."""
        keys = keys.long()[:, None]
        return self.scale[keys // 12, (self.pitch_class - keys % 12) % 12]

    def pitch_prior(self, keys: Tensor | None) -> Tensor:
        """What a monophonic track adds to its pitch logits ``(B or 1, tracks, 1, pitches)``:
        its register plus, when conditioned on the key, the key's prior, normalised so
        that the pitches' total weight stays ``pitches`` (as with no prior). The priors
        move weight between pitches, never between sounding and the rest or the hold:
        an unnormalised key prior weighs a voice's in-scale pitches up (about 1.7 times
        for a seven-note scale) and so every rest down. A generator loaded from a file
        written before the normalisation (``prior_normalised`` false) adds its priors as
        they are, as it was trained."""
        prior = self.register[None, :, None]
        if self.scale is not None:
            prior = prior + self.key_prior(keys)[:, None, None]
        if not self.prior_normalised:
            return prior
        return prior - prior.logsumexp(-1, keepdim=True) + float(np.log(self.pitches))

    def _condition(self, condition: Tensor | None, batch: int) -> Tensor:
        if self.condition == "none":
            return torch.zeros(batch, self.bars, self.z_dim, device=self.start_device)
        if condition is None:
            raise ValueError(f"this generator is conditioned on a {self.condition}: pass it")
        if self.condition == "key":
            return self.key_embedding(condition.long())[:, None].expand(-1, self.bars, -1)
        return self.track_encoder(condition.float())

    @property
    def start_device(self) -> torch.device:
        return self.project[0].weight.device

    def forward(self, z: Tensor, condition: Tensor | None = None) -> Tensor:
        """Each cell's probability of sounding; a monophonic track's add up to at most 1
        per step (the rest takes the remainder)."""
        logits = self.logits(z, condition)
        if self.monophonic:
            probabilities = held(logits.softmax(dim=-1), self.pitches)
        else:
            probabilities = torch.sigmoid(logits)
        if self.step == 1:
            return probabilities
        probabilities = probabilities.repeat_interleave(self.step, dim=2)
        if self.condition == "track":  # the given track as given, between grid steps too
            given = condition.float().clamp(0, 1)
            probabilities = torch.cat(
                [probabilities[:, : self.condition_track], given[:, None],
                 probabilities[:, self.condition_track + 1 :]], dim=1,
            )  # fmt: skip
        return probabilities

    def decode(self, probabilities: Tensor) -> Tensor:
        """The rolls ``probabilities`` stand for (bool): cells above one half, or for
        monophonic tracks the most probable pitch of each step where the pitches together
        outweigh the rest (a pitch spread over several rows still sounds)."""
        if not self.monophonic:
            return probabilities > 0.5
        sounding = probabilities.sum(dim=-1, keepdim=True) > 0.5
        choice = nn.functional.one_hot(probabilities.argmax(dim=-1), self.pitches).bool()
        return choice & sounding

    def logits(self, z: Tensor, condition: Tensor | None = None) -> Tensor:
        """Per generated step and track, the pitch logits ``(B, tracks, steps / step, P)``;
        monophonic, followed by the rest's and the hold's (``P + 2``: each the mean over
        the pitch axis of its own output channel)."""
        b, t, n, d = len(z), self.tracks, self.bars, self.z_dim
        parts = z.reshape(b, 2 + 2 * t, d)
        shared = parts[:, 0][:, None, None].expand(b, t, n, d)
        shared_t = self.shared_temporal(parts[:, 1])[:, None].expand(b, t, n, d)
        private = parts[:, 2 : 2 + t][:, :, None].expand(b, t, n, d)
        private_t = torch.stack(
            [net(parts[:, 2 + t + k]) for k, net in enumerate(self.private_temporal)], dim=1
        )
        cond = self._condition(condition, b)[:, None].expand(b, t, n, d)
        which = torch.eye(t, device=z.device)[None, :, None].expand(b, t, n, t)
        x = torch.cat([shared, shared_t, private, private_t, cond, which], dim=-1)
        x = self.project(x.reshape(b * t * n, -1)).reshape(b * t * n, *self.start)
        x = self.trunk(x)  # (b*t*n, c, generated steps per bar, P / 2)
        c, half = x.shape[1], self.pitches // 2
        steps = self.generated_steps
        x = x.reshape(b, t, n, c, steps, half).permute(0, 2, 1, 3, 4, 5)
        x = self.private(x.reshape(b * n, t * c, steps, half))
        x = x.reshape(b, n, t, self.heads, steps, self.pitches)
        x = x.permute(0, 2, 3, 1, 4, 5).reshape(b, t, self.heads, n * steps, -1)
        logits = x[:, :, 0]
        if self.monophonic:  # the pitch prior, and the rest's and the hold's logits
            logits = logits + self.pitch_prior(condition)
            logits = torch.cat([logits, x[:, :, 1:].mean(-1).permute(0, 1, 3, 2)], dim=-1)
        if self.condition == "track":
            given = condition.float()[:, :: self.step].clamp(0, 1) * 40.0 - 20.0  # as logits
            if self.monophonic:  # its rests as rests, never a hold
                rest_hold = torch.tensor([0.0, -20.0], device=given.device)
                given = torch.cat([given, rest_hold.expand(*given.shape[:-1], 2)], dim=-1)
            logits = torch.cat(
                [logits[:, : self.condition_track], given[:, None],
                 logits[:, self.condition_track + 1 :]], dim=1,
            )  # fmt: skip
        return logits


def resize_trunk(width: int) -> nn.Sequential:
    """The bar trunk of monophonic voices: twice (nearest-neighbour upsampling by 2 in time
    and pitch, a 3x3 convolution): neighbouring steps come from shared weights over
    overlapping inputs, where a kernel-equals-stride transposed convolution gives each
    step of a pair its own weights (and notes that flicker between them)."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2), nn.Conv2d(width, width // 2, 3, padding=1),
        nn.BatchNorm2d(width // 2), nn.ReLU(),
        nn.Upsample(scale_factor=2), nn.Conv2d(width // 2, width // 4, 3, padding=1),
        nn.BatchNorm2d(width // 4), nn.ReLU(),
    )  # fmt: skip


def held(choices: Tensor, pitches: int) -> Tensor:
    """A monophonic track's sounding probabilities from its per-step softmax ``choices``
    (``pitches`` pitches, then the rest, then the hold): ``s_t = p_t + hold_t * s_(t-1)``
    along the steps (a hold on the first step holds nothing)."""
    new, hold = choices[..., :pitches], choices[..., -1:]
    steps = [new[:, :, 0]]
    for t in range(1, choices.shape[2]):
        steps.append(new[:, :, t] + hold[:, :, t] * steps[-1])
    return torch.stack(steps, dim=2)


class MuseCritic(nn.Module):
    """Roll ``(B, tracks, steps, P)`` (and a key) -> a WGAN critic score ``(B,)``.

    As in MuseGAN's critic, the first convolution reads one octave of pitch at a
    time (kernel and stride of 12 along pitch, 2 along time); the next ones move
    along time (bars, beats) and across the octave blocks.

    Beside it, with ``chroma``, a chroma stream (MuseGAN's, Dong et al. 2018): each
    track's pitches folded onto 12 pitch classes per beat, all tracks read together
    by a convolution over the 12 classes, then along the beats. The octave blocks
    above see two voices an octave or more apart only after several layers; the
    chroma stream sees the pitch classes the voices sound together (their harmony)
    in its first layer.

    Args:
        tracks, steps, pitches: the roll's shape (steps a multiple of 16, pitches of 12).
        width: channels of the first convolution (doubled twice).
        condition: ``"key"`` adds a projection term for the key; otherwise none.
        chroma: add the chroma stream.
    """

    def __init__(
        self,
        tracks: int = 4,
        steps: int = 64,
        pitches: int = 48,
        width: int = 32,
        condition: str = "key",
        chroma: bool = False,
    ) -> None:
        super().__init__()
        if steps % 16 or pitches % 12:
            raise ValueError("steps must be a multiple of 16 and pitches of 12")
        self.condition = condition
        octaves = pitches // 12
        self.convs = nn.Sequential(
            nn.Conv2d(tracks, width, (2, 12), stride=(2, 12)), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, (4, 3), stride=(2, 1), padding=(1, 1)), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, (4, 3), stride=(2, 1), padding=(1, 1)),
            nn.LeakyReLU(0.2),
            nn.Conv2d(4 * width, 4 * width, (4, octaves), stride=(2, 1)), nn.LeakyReLU(0.2),
        )  # fmt: skip
        flat = 4 * width * ((steps // 8 - 4) // 2 + 1)
        self.chroma = None
        if chroma:  # (B, tracks, beats, 12) -> (B, 2 * width, bars, 1)
            self.chroma = nn.Sequential(
                nn.Conv2d(tracks, width, (1, 12)), nn.LeakyReLU(0.2),
                nn.Conv2d(width, 2 * width, (BEATS_PER_BAR, 1), stride=(BEATS_PER_BAR, 1)),
                nn.LeakyReLU(0.2),
            )  # fmt: skip
            flat += 2 * width * steps // (STEPS_PER_BEAT * BEATS_PER_BAR)
        self.hidden = nn.Sequential(nn.Linear(flat, 8 * width), nn.LeakyReLU(0.2))
        self.out = nn.Linear(8 * width, 1)
        if condition == "key":
            self.key_embedding = nn.Embedding(KEYS, 8 * width)

    @staticmethod
    def beat_chroma(x: Tensor) -> Tensor:
        """``(B, tracks, steps, pitches)`` -> ``(B, tracks, beats, 12)``: each track's
        sounding steps per beat on each pitch class (the chroma stream's input)."""
        b, tracks, steps, _ = x.shape
        return x.reshape(b, tracks, steps // STEPS_PER_BEAT, STEPS_PER_BEAT, -1, 12).sum((3, 4))

    def forward(self, x: Tensor, key: Tensor | None = None) -> Tensor:
        features = self.convs(x).flatten(1)
        if self.chroma is not None:
            chroma = self.chroma(self.beat_chroma(x))
            features = torch.cat([features, chroma.flatten(1)], dim=1)
        h = self.hidden(features)
        score = self.out(h)[:, 0]
        if self.condition == "key" and key is not None:
            score = score + (self.key_embedding(key.long()) * h).sum(1)
        return score
