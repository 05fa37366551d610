"""ganforge.music: symbolic-music GANs whose originality report tells memorised music from new.

A MuseGAN-style four-track piano-roll generator (shared and private latent
parts, a temporal network per track, a bar generator with a shared trunk and
private heads) trained against a WGAN-GP critic from the core, conditional on
the key or on a given track (:class:`MusicGAN`); music21's Bach chorales as
embedded data (:func:`load_corpus`, parsed once and cached), MIDI folders with
track selection (:func:`load_midi_folder`), a split by melody identity
(:func:`melody_split`); MIDI (pretty_midi), WAV previews and piano-roll
figures out; the originality report (:mod:`ganforge.music.originality`) and
mgeval-style quality against a Markov-chain baseline (:func:`evaluate`).
"""

from ganforge.music.baseline import MarkovChain
from ganforge.music.data import (
    CORPORA,
    SEGMENT_STEPS,
    TRACKS,
    VOICES,
    Piece,
    Segments,
    Skipped,
    cut_segments,
    estimate_key,
    key_name,
    load_corpus,
    load_midi_file,
    load_midi_folder,
    melody_identity,
    melody_split,
    midi_to_roll,
    roll_notes,
    roll_to_midi,
    synthesize,
    write_midi,
    write_wav,
)
from ganforge.music.evaluate import evaluate, spread_check
from ganforge.music.figures import overlap_figure, piano_roll_figure, similarity_figure
from ganforge.music.metrics import METRICS, compare_sets, overlap_and_kl
from ganforge.music.model import MusicGAN, MusicSpec
from ganforge.music.networks import MuseCritic, MuseGenerator
from ganforge.music.originality import (
    OriginalityReport,
    TrainingReference,
    closest_pair_rolls,
    originality_report,
    training_reference,
)
from ganforge.music.similarity import SHIFTS, RollFeatures
from ganforge.music.training import MusicGANModule, transpose_batch

__all__ = [
    "CORPORA",
    "METRICS",
    "SEGMENT_STEPS",
    "SHIFTS",
    "TRACKS",
    "VOICES",
    "MarkovChain",
    "MuseCritic",
    "MuseGenerator",
    "MusicGAN",
    "MusicGANModule",
    "MusicSpec",
    "OriginalityReport",
    "Piece",
    "RollFeatures",
    "Segments",
    "Skipped",
    "TrainingReference",
    "closest_pair_rolls",
    "compare_sets",
    "cut_segments",
    "estimate_key",
    "evaluate",
    "key_name",
    "load_corpus",
    "load_midi_file",
    "load_midi_folder",
    "melody_identity",
    "melody_split",
    "midi_to_roll",
    "originality_report",
    "overlap_and_kl",
    "overlap_figure",
    "piano_roll_figure",
    "roll_notes",
    "roll_to_midi",
    "similarity_figure",
    "spread_check",
    "synthesize",
    "training_reference",
    "transpose_batch",
    "write_midi",
    "write_wav",
]
