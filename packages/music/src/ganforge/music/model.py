"""MusicGAN: a MuseGAN-style four-track piano-roll GAN with a WGAN-GP critic.

Example::

    pieces, _ = load_corpus("bach")                      # music21's chorales, cached
    train, heldout = melody_split(pieces, 0.2, seed=0)   # by melody, never by file
    gan = MusicGAN(iterations=2000).fit([pieces[i] for i in train])
    rolls = gan.sample(8, key=7)                         # (8, 4, 64, 64) bool, G major
    write_midi(gan.full_roll(rolls[0]), "sample.mid")
    gan.save("chorales.pt"); MusicGAN.load("chorales.pt")

The model file holds the spec and both networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ganforge.core.latents import truncated_normal
from ganforge.core.modelfile import ModelFile
from ganforge.core.settings import check_at_least, check_integer, check_positive
from ganforge.core.training import ShuffledBatches
from ganforge.core.training.gan_model import GANModel, TrainingPlan
from ganforge.music.data import (
    BARS,
    SEGMENT_STEPS,
    STEPS_PER_BAR,
    TRACKS,
    Piece,
    Segments,
    cut_segments,
    degree_shares,
    monophonic_share,
    pitch_shares,
    to_grid,
)
from ganforge.music.metrics import mean_note_steps, on_grid_share, voice_ranges
from ganforge.music.networks import MuseCritic, MuseGenerator

SAMPLE_BATCH = 256
VOICE_MODES = ("auto", "monophonic", "polyphonic")
MONOPHONIC_SHARE = 0.99  # voices="auto": sounding track-steps with one pitch, at least
GRIDS = {"auto": None, "sixteenth": 1, "eighth": 2}  # roll steps (16ths) per generated step
ON_GRID_SHARE = 0.95  # grid="auto": training notes that start and end on eighths, at least
TRUNCATION = 1.5  # latent values beyond 1.5 standard deviations are drawn again to sample


@dataclass
class MusicSpec:
    """Every setting of a :class:`MusicGAN` (checked on construction, one-line errors).

    Args:
        lowest_pitch: MIDI pitch of the roll's lowest row.
        n_pitches: rows of the roll (a multiple of 24).
        condition: what the generator is given: none, key (one of 24) or track (a given
            track's roll, to harmonise it).
        condition_track: the given track (0 soprano ... 3 bass) when condition is track.
        z_dim: size of each of the latent's parts (shared, shared temporal, and per track
            private and private temporal).
        generator_width: channels of the generator's bar trunk.
        critic_width: channels of the critic's first convolution.
        batch_size: segments per batch.
        iterations: generator updates.
        n_critic: critic updates per generator update.
        lr: Adam's learning rate for both networks (MuseGAN's 1e-3; betas 0.5, 0.9).
        gp_weight: weight of the gradient penalty.
        max_shift: training batches are transposed by up to this many semitones either way,
            each segment by a shift that keeps every voice within its usual range (the
            5th percentile of the training segments' lowest note to the 95th of their
            highest; 0: no augmentation).
        binary_neurons: the critic sees the generator's rolls binarised as they are
            sampled, with a straight-through gradient (BinaryMuseGAN); false: the soft
            probabilities (MuseGAN).
        voices: ``monophonic``: each track is one voice, at each step one pitch, a rest
            or a hold of the step before (a softmax; chorales, masses, string quartets);
            ``polyphonic``: each cell on its own (chords within a track: piano, guitar);
            ``auto``: monophonic when the training rolls hold at most one pitch per track
            in 99 % of their sounding steps, decided at fit and kept in the model file
            (a file without the choice is polyphonic, as models were before it).
        grid: the shortest step the generator writes: ``sixteenth`` (every step of the
            roll), ``eighth`` (notes start and end on eighths; the training rolls are
            put on that grid, each eighth taking its first 16th), or ``auto``: eighth
            when at least 95 % of the training notes start and end on eighths, decided
            at fit and kept in the model file (a file without the choice is sixteenth,
            as models were before it).
        chroma_stream: the critic also reads each beat's pitch classes, all tracks
            together (MuseGAN's chroma stream), where it hears the voices' harmony (a
            file without the choice has no such stream, as models before it).
        truncation: when sampling, latent values beyond this many standard deviations
            are drawn again (BigGAN's truncation trick: fewer stray notes, a little less
            variety); ``None``: the plain normal (as files without the choice). Training
            always draws the plain normal.
        seed: seeds initialisation, batches, noise and transpositions.
        device: auto (CUDA when present), cpu, cuda or cuda:N.
    """

    lowest_pitch: int = 35
    n_pitches: int = 48
    condition: Literal["none", "key", "track"] = "key"
    condition_track: int = 0
    z_dim: int = 16
    generator_width: int = 32
    critic_width: int = 16
    batch_size: int = 32
    iterations: int = 1500
    n_critic: int = 5
    lr: float = 1e-3
    gp_weight: float = 10.0
    max_shift: int = 5
    binary_neurons: bool = True
    voices: Literal["auto", "monophonic", "polyphonic"] = "auto"
    grid: Literal["auto", "sixteenth", "eighth"] = "auto"
    chroma_stream: bool = True
    truncation: float | None = TRUNCATION
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        check_integer("lowest_pitch", self.lowest_pitch, 0)
        check_integer("n_pitches", self.n_pitches, 24)
        if self.n_pitches % 24:
            raise ValueError(f"n_pitches must be a multiple of 24, got {self.n_pitches}")
        if self.lowest_pitch + self.n_pitches > 128:
            raise ValueError(
                f"lowest_pitch + n_pitches must be at most 128 (MIDI), got "
                f"{self.lowest_pitch + self.n_pitches}"
            )
        if self.condition not in ("none", "key", "track"):
            raise ValueError(f"condition must be none, key or track, got {self.condition!r}")
        check_integer("condition_track", self.condition_track, 0)
        if self.condition_track >= TRACKS:
            raise ValueError(f"condition_track must be below {TRACKS}, got {self.condition_track}")
        for name in ("z_dim", "batch_size", "iterations", "n_critic"):
            check_integer(name, getattr(self, name), 1)
        for name in ("generator_width", "critic_width"):
            check_integer(name, getattr(self, name), 4)
        if self.generator_width % 4:
            raise ValueError(f"generator_width must be a multiple of 4, got {self.generator_width}")
        check_positive("lr", self.lr)
        check_at_least("gp_weight", self.gp_weight, 0.0)
        check_integer("max_shift", self.max_shift, 0)
        if self.max_shift > 11:
            raise ValueError(f"max_shift must be at most 11 semitones, got {self.max_shift}")
        if not isinstance(self.binary_neurons, bool):
            raise ValueError(f"binary_neurons must be true or false, got {self.binary_neurons!r}")
        if self.voices not in VOICE_MODES:
            modes = ", ".join(VOICE_MODES)
            raise ValueError(f"voices must be one of {modes}, got {self.voices!r}")
        if not isinstance(self.chroma_stream, bool):
            raise ValueError(f"chroma_stream must be true or false, got {self.chroma_stream!r}")
        if self.grid not in GRIDS:
            raise ValueError(f"grid must be one of {', '.join(GRIDS)}, got {self.grid!r}")
        if self.truncation is not None:
            check_positive("truncation", self.truncation, " (or none)")
        check_integer("seed", self.seed, 0)


def usual_ranges(rolls: np.ndarray) -> torch.Tensor:
    """Each track's usual range of rows ``(tracks, 2)`` in ``rolls``: the 5th percentile
    of its segments' lowest sounding row to the 95th of their highest (the whole roll
    for a track that never sounds)."""
    ranges = voice_ranges(rolls, 0)
    silent = np.isnan(ranges).any(axis=1)
    ranges[silent] = (0, rolls.shape[-1] - 1)
    return torch.from_numpy(np.round(ranges)).long()


class MusicGAN(GANModel[MusicSpec]):
    """Four-track piano-roll GAN: ``fit(pieces or segments)``, then ``sample``.

    Args:
        spec: the settings; keyword ``options`` are :class:`MusicSpec` fields.
    """

    kind = "music.MusicGAN"
    spec_type = MusicSpec

    def __init__(self, spec: MusicSpec | None = None, **options: Any) -> None:
        if spec is not None and options:
            raise ValueError("pass either a MusicSpec or its fields as keywords, not both")
        super().__init__(spec if spec is not None else MusicSpec(**options))
        self.generator: MuseGenerator | None = None
        self.critic: MuseCritic | None = None

    # ------------------------------------------------------------------ data
    def segments(self, data: Sequence[Piece] | Segments) -> Segments:
        """Four-bar segments in this model's pitch range (``data`` pieces or segments)."""
        if isinstance(data, Segments):
            if (
                data.lowest_pitch != self.spec.lowest_pitch
                or data.rolls.shape[-1] != self.spec.n_pitches
            ):
                raise ValueError(
                    f"segments cover pitches {data.lowest_pitch}+{data.rolls.shape[-1]}, the "
                    f"model {self.spec.lowest_pitch}+{self.spec.n_pitches}"
                )
            return data
        pieces = list(data)
        if not pieces or not all(isinstance(p, Piece) for p in pieces):
            raise ValueError(
                "fit needs a list of Piece (load_corpus, load_midi_folder) or Segments"
            )
        return cut_segments(pieces, self.spec.lowest_pitch, self.spec.n_pitches)

    # ------------------------------------------------------------------ fit
    def plan(self, data: Sequence[Piece] | Segments, resume_from: Path | None) -> TrainingPlan:
        from ganforge.music.training import MusicGANModule

        spec = self.spec
        segments = self.segments(data)
        if len(segments) < spec.batch_size:
            raise ValueError(
                f"{len(segments)} four-bar segments are fewer than batch_size {spec.batch_size}: "
                "lower batch_size or add pieces"
            )
        if spec.voices == "auto":
            mono = monophonic_share(segments.rolls) >= MONOPHONIC_SHARE
            voices = "monophonic" if mono else "polyphonic"
            self.spec = spec = replace(spec, voices=voices)
        if spec.grid == "auto":
            eighths = on_grid_share(segments.rolls, GRIDS["eighth"]) >= ON_GRID_SHARE
            self.spec = spec = replace(spec, grid="eighth" if eighths else "sixteenth")
        step = GRIDS[spec.grid]
        on_grid = to_grid(segments.rolls, step)
        generator, critic = self._build()
        generator.set_base_rate(float(on_grid.mean()), mean_note_steps(on_grid) / step)
        generator.set_registers(pitch_shares(on_grid))
        generator.set_scales(degree_shares(on_grid, segments.keys, spec.lowest_pitch))
        module = MusicGANModule(
            generator, critic, n_critic=spec.n_critic, lr=spec.lr, gp_weight=spec.gp_weight,
            max_shift=spec.max_shift,
            binary_neurons=spec.binary_neurons, voice_ranges=usual_ranges(on_grid),
        )  # fmt: skip
        rolls = torch.from_numpy(on_grid)
        keys = torch.from_numpy(segments.keys).long()
        batches = ShuffledBatches((rolls, keys), spec.batch_size, seed=spec.seed)
        options = {"log_every": max(1, min(50, spec.iterations // 50))}
        return TrainingPlan(module, batches, spec.iterations, spec.batch_size, options)

    def fitted(self, module) -> None:
        self.generator = module.networks["G"].eval()
        self.critic = module.networks["D"].eval()

    def _build(self) -> tuple[MuseGenerator, MuseCritic]:
        spec = self.spec
        generator = MuseGenerator(
            TRACKS, BARS, STEPS_PER_BAR, spec.n_pitches, spec.z_dim, spec.generator_width,
            spec.condition, spec.condition_track, monophonic=spec.voices == "monophonic",
            step=GRIDS[spec.grid] or 1, lowest_pitch=spec.lowest_pitch,
        )  # fmt: skip
        critic = MuseCritic(
            TRACKS,
            SEGMENT_STEPS,
            spec.n_pitches,
            spec.critic_width,
            spec.condition,
            chroma=spec.chroma_stream,
        )
        return generator, critic

    # ---------------------------------------------------------------- file
    def file_state(self) -> dict[str, nn.Module]:
        self._check_fitted()
        return {"G": self.generator, "D": self.critic}

    def restore(self, file: ModelFile, device: torch.device) -> None:
        if "chroma_stream" not in file.spec:  # written before the critic had the stream
            self.spec = replace(self.spec, chroma_stream=False)
        if "truncation" not in file.spec:  # written before sampling was truncated
            self.spec = replace(self.spec, truncation=None)
        generator, critic = self._build()
        state = dict(file.state["G"])
        if generator.scale is not None:  # a file from before the key's prior: none
            state.setdefault("scale", torch.zeros_like(generator.scale))
        if generator.monophonic:  # a file from before the normalised prior: as trained
            state.setdefault("prior_normalised", torch.tensor(False))
        generator.load_state_dict(state)
        critic.load_state_dict(file.state["D"])
        self.generator = generator.to(device).eval()
        self.critic = critic.to(device).eval()

    # ----------------------------------------------------------- inference
    def _check_fitted(self) -> None:
        if self.generator is None:
            raise ValueError("the model is not trained: call fit(...) or load(path) first")

    def latents(self, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` latent vectors drawn with ``seed`` (truncated at ``spec.truncation``)."""
        self._check_fitted()
        shape = (n, self.generator.latent_dim)
        return truncated_normal(shape, self.spec.truncation, torch.Generator().manual_seed(seed))

    def _conditions(self, n: int, key: Any, given: Any, seed: int) -> torch.Tensor | None:
        spec = self.spec
        if spec.condition == "key":
            if key is None:
                keys = torch.randint(0, 24, (n,), generator=torch.Generator().manual_seed(seed + 1))
            else:
                keys = torch.as_tensor(np.broadcast_to(np.asarray(key), (n,)).copy()).long()
            if ((keys < 0) | (keys > 23)).any():
                raise ValueError("key must be 0-23 (tonic pitch class, +12 for minor)")
            return keys
        if spec.condition == "track":
            if given is None:
                raise ValueError(
                    f"this model harmonises a given track ({spec.condition_track}): pass given="
                )
            track = torch.as_tensor(np.asarray(given) > 0).float()
            if track.dim() == 2:
                track = track[None].expand(n, -1, -1)
            if tuple(track.shape[1:]) != (SEGMENT_STEPS, spec.n_pitches):
                raise ValueError(
                    f"given tracks must be ({SEGMENT_STEPS}, {spec.n_pitches}) rolls, got "
                    f"{tuple(track.shape[1:])}"
                )
            return track
        return None

    def probabilities(
        self, z: torch.Tensor, key: Any = None, given: Any = None, seed: int = 0
    ) -> np.ndarray:
        """The generator's note probabilities ``(n, tracks, steps, pitches)`` for latents ``z``."""
        self._check_fitted()
        condition = self._conditions(len(z), key, given, seed)
        device = next(self.generator.parameters()).device
        out = []
        with torch.no_grad():
            for start in range(0, len(z), SAMPLE_BATCH):
                c = (
                    None
                    if condition is None
                    else condition[start : start + SAMPLE_BATCH].to(device)
                )
                out.append(self.generator(z[start : start + SAMPLE_BATCH].to(device), c).cpu())
        return torch.cat(out).numpy()

    def sample(self, n: int, *, key: Any = None, given: Any = None, seed: int = 0) -> np.ndarray:
        """``n`` generated segments ``(n, 4, 64, n_pitches)`` (bool; :meth:`decode`).

        ``key``: a key 0-23 or one per sample for a key-conditioned model (random
        keys when ``None``); ``given``: the given track ``(64, n_pitches)`` or one per
        sample for a track-conditioned model.
        """
        check_integer("n", n, 1)
        return self.decode(self.probabilities(self.latents(n, seed), key, given, seed))

    def interpolate(
        self, steps: int = 10, *, key: Any = 0, given: Any = None, seed: int = 0
    ) -> np.ndarray:
        """Segments along the straight line between two latents (``steps`` of them)."""
        check_integer("steps", steps, 2)
        ends = self.latents(2, seed)
        weights = torch.linspace(0, 1, steps)[:, None]
        z = (1 - weights) * ends[0] + weights * ends[1]
        if given is not None:
            given = np.broadcast_to(np.asarray(given) > 0, (steps, *np.shape(given)[-2:]))
        return self.decode(
            self.probabilities(z, key if self.spec.condition == "key" else None, given, seed)
        )

    def decode(self, probabilities: np.ndarray) -> np.ndarray:
        """The bool rolls of :meth:`probabilities` (see ``MuseGenerator.decode``)."""
        self._check_fitted()
        return self.generator.decode(torch.from_numpy(probabilities)).numpy()

    def full_roll(self, roll: np.ndarray) -> np.ndarray:
        """A segment ``(tracks, steps, n_pitches)`` on the full MIDI pitch axis (128)."""
        roll = np.asarray(roll)
        lo = self.spec.lowest_pitch
        return np.pad(roll, ((0, 0), (0, 0), (lo, 128 - lo - roll.shape[-1]))).astype(np.uint8)
