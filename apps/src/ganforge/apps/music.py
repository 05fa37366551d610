"""`ganforge music train | generate | audit | evaluate`: four-track piano-roll GANs and
their originality report."""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ganforge.apps.common import (
    add_command_group,
    add_data_source,
    add_device_option,
    add_progress_option,
    add_run_options,
    merge_options,
    nonnegative_int,
    output_file,
    positive_int,
    run_options,
)
from ganforge.apps.errors import UsageError
from ganforge.apps.specs import NONE_WORDS, add_spec_options, spec_fields
from ganforge.core.files import write_json
from ganforge.core.report import ReportSection, loss_curves_figure, wav_bytes, write_report
from ganforge.core.training.distributed import resolve_device
from ganforge.music import (
    CORPORA,
    MusicGAN,
    MusicSpec,
    Piece,
    closest_pair_rolls,
    cut_segments,
    evaluate,
    key_name,
    load_corpus,
    load_midi_file,
    load_midi_folder,
    melody_split,
    originality_report,
    overlap_figure,
    piano_roll_figure,
    synthesize,
    training_reference,
    write_midi,
    write_wav,
)
from ganforge.music.training import training_monitors

SPEC_KEYS = spec_fields(MusicSpec)
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
SAMPLE_RATE = 22050


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ganforge music` group with train, generate, audit and evaluate."""
    add_command_group(
        subparsers,
        "music",
        help="four-track piano-roll GANs (Bach chorales by default) and their originality report",
        description="Train a MuseGAN-style four-track generator with a WGAN-GP critic, write "
        "MIDI, WAV and piano-roll pictures, and audit any folder of generated MIDI files for "
        "copies of its training set against a held-out human baseline.",
        commands=(_add_train, _add_generate, _add_audit, _add_evaluate),
    )


def _add_data_options(parser: argparse.ArgumentParser, train_help: str = "") -> None:
    add_data_source(
        parser,
        CORPORA,
        "embedded four-voice music from music21's corpus: Bach's chorales or Palestrina's "
        "mass movements (default: bach)",
        train_help
        or "a folder of MIDI files (.mid, .midi; searched recursively); unusable files are "
        "skipped and counted",
    )
    parser.add_argument(
        "--pieces",
        type=positive_int,
        help="use only the first PIECES usable pieces of --dataset (a quick run)",
    )
    parser.add_argument(
        "--tracks",
        nargs=4,
        metavar="TRACK",
        help="the four tracks of each MIDI file, top voice first: instrument indices, "
        "program:N or names (default: the first four pitched tracks with notes)",
    )
    parser.add_argument(
        "--heldout-fraction",
        type=float,
        default=0.2,
        help="share of the pieces held out, split by melody identity (default 0.2)",
    )
    parser.add_argument(
        "--split-seed",
        type=nonnegative_int,
        default=0,
        help="seed of the train / held-out split (default 0)",
    )


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train a four-track piano-roll GAN; writes one model file",
        description="Split the pieces by melody identity, cut the training side into four-bar "
        "segments and train the GAN on them (transposition augmentation, WGAN-GP). The core's "
        "diagnostics raise alarms when diversity drops by 10%% or samples come within 0.95 "
        "similarity of training segments.",
    )
    _add_data_options(train)
    train.add_argument("--out", type=output_file, required=True, help="model file to write (.pt)")
    train.add_argument(
        "--config",
        type=Path,
        help="JSON of model options (any of the flags below with underscores); flags given "
        "on the line override it",
    )
    add_progress_option(train)
    add_spec_options(train, MusicSpec)
    add_run_options(train, default_every=200)
    train.set_defaults(handler=run_train)


def _add_generate(commands: argparse._SubParsersAction) -> None:
    generate = commands.add_parser(
        "generate",
        help="write generated four-bar pieces as MIDI (and WAV previews and piano rolls)",
        description="Sample the model and write sample_NNN.mid into --out, with a WAV preview "
        "(--wav) and a piano-roll picture of the first samples.",
    )
    generate.add_argument("--model", type=Path, required=True, help="model file written by train")
    generate.add_argument("--out", type=Path, required=True, help="folder to write into")
    generate.add_argument("--n", type=positive_int, default=8, help="pieces (default 8)")
    generate.add_argument(
        "--key",
        help="key of a key-conditioned model: C, F#, Bb minor ... or 0-23 (default: random)",
    )
    generate.add_argument(
        "--given",
        type=Path,
        help="MIDI file whose first track a track-conditioned model harmonises (its first "
        "four bars)",
    )
    generate.add_argument("--seed", type=nonnegative_int, default=0, help="noise seed (default 0)")
    generate.add_argument(
        "--truncation",
        help="latent values beyond this many standard deviations are drawn again; none: the "
        "plain normal (default: the model's, 1.5 unless trained otherwise)",
    )
    generate.add_argument("--tempo", type=float, default=90.0, help="tempo of the MIDI files")
    generate.add_argument("--wav", action="store_true", help="also write WAV previews")
    add_device_option(generate)
    add_progress_option(generate)
    generate.set_defaults(handler=run_generate)


def _add_audit(commands: argparse._SubParsersAction) -> None:
    audit = commands.add_parser(
        "audit",
        help="originality report of a folder of generated MIDI files against training music",
        description="Cut the generated MIDI files into four-bar segments and compare them with "
        "the training side of --dataset or --data (every step offset, 12 transpositions), "
        "next to the held-out side as the human baseline. Works for any generator's MIDI.",
    )
    audit.add_argument(
        "--generated", type=Path, required=True, help="folder of generated MIDI files"
    )
    _add_data_options(
        audit,
        "the training folder of MIDI files; its held-out side (by melody) is the baseline",
    )
    audit.add_argument("--out", type=output_file, required=True, help="JSON report to write")
    audit.add_argument("--report", type=output_file, help="also write an HTML page")
    audit.add_argument("--lowest-pitch", type=nonnegative_int, default=35, help="(default 35)")
    audit.add_argument("--n-pitches", type=positive_int, default=48, help="(default 48)")
    add_device_option(audit)
    add_progress_option(audit)
    audit.set_defaults(handler=run_audit)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="quality (mgeval overlap areas, Markov baseline) and originality of a model",
        description="Sample the model, compare with the held-out side of the data on nine "
        "music metrics beside a Markov chain over chord states trained on the same segments, "
        "and run the originality report. Writes a JSON report.",
    )
    ev.add_argument("--model", type=Path, required=True, help="model file written by train")
    _add_data_options(ev)
    ev.add_argument("--n", type=positive_int, default=200, help="samples (default 200)")
    ev.add_argument("--out", type=output_file, required=True, help="JSON report to write")
    ev.add_argument("--report", type=output_file, help="also write an HTML page")
    add_device_option(ev)
    add_progress_option(ev)
    ev.set_defaults(handler=run_evaluate)


# ------------------------------------------------------------------- data
def _check_data(arguments: argparse.Namespace) -> None:
    if not 0 < arguments.heldout_fraction < 1:
        raise UsageError(f"--heldout-fraction must be in (0, 1), got {arguments.heldout_fraction}")
    if arguments.data is not None and not arguments.data.is_dir():
        raise UsageError(f"--data {arguments.data}: no such folder")
    if arguments.data is None and arguments.tracks is not None:
        raise UsageError("--tracks selects tracks of MIDI files: it needs --data")
    if arguments.data is not None and arguments.pieces is not None:
        raise UsageError("--pieces takes the first pieces of --dataset: not with --data")


def load_pieces(arguments: argparse.Namespace, progress: bool = True) -> tuple[list[Piece], str]:
    """The pieces the data options name, and a description."""
    if arguments.data is None:
        name = arguments.dataset or "bach"
        pieces, skipped = load_corpus(name, limit=arguments.pieces, progress=progress)
        return (
            pieces,
            f"music21's {name} ({len(pieces)} four-voice pieces, {len(skipped)} left out)",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pieces, skipped = load_midi_folder(arguments.data, arguments.tracks)
    text = f"{arguments.data} ({len(pieces)} MIDI files"
    if skipped:
        text += f"; skipped {len(skipped)}: {skipped.summary()}"
        print(f"ganforge: warning: {arguments.data}: skipped {len(skipped)} file(s): "
              f"{skipped.summary()}", flush=True)  # fmt: skip
    return pieces, text + ")"


def split(arguments: argparse.Namespace, pieces: list[Piece]) -> tuple[list[Piece], list[Piece]]:
    train, held = melody_split(pieces, arguments.heldout_fraction, arguments.split_seed)
    return [pieces[i] for i in train], [pieces[i] for i in held]


def _parse_key(text: str | None) -> int | None:
    if text is None:
        return None
    words = text.strip().split()
    if len(words) == 1 and words[0].isdigit():
        key = int(words[0])
        if 0 <= key < 24:
            return key
    elif words and words[0].capitalize() in KEY_NAMES and len(words) <= 2:
        minor = len(words) == 2 and words[1].lower() == "minor"
        if len(words) == 1 or words[1].lower() in ("major", "minor"):
            return KEY_NAMES.index(words[0].capitalize()) + 12 * minor
    raise UsageError(f"--key {text!r}: give a key such as C, F# minor, Bb major or 0-23")


# --------------------------------------------------------------- commands
def run_train(arguments: argparse.Namespace) -> int:
    run = run_options(arguments)
    _check_data(arguments)
    spec = MusicSpec(**merge_options(arguments, SPEC_KEYS, {}))  # checked before data is read
    resolve_device(spec.device)
    pieces, source = load_pieces(arguments, not arguments.no_progress)
    train, held = split(arguments, pieces)
    model = MusicGAN(spec)
    segments = model.segments(train)
    print(f"{source}: {len(train)} training pieces ({len(segments)} four-bar segments), "
          f"{len(held)} held out by melody", flush=True)  # fmt: skip
    if len(segments) < spec.batch_size:
        raise UsageError(
            f"{len(segments)} four-bar segments are fewer than batch_size {spec.batch_size}: "
            "lower --batch-size or add pieces"
        )
    every = max(1, spec.iterations // 5)
    started = time.perf_counter()
    model.fit(
        segments,
        progress=not arguments.no_progress,
        run_dir=run.run_dir,
        checkpoint_every=run.checkpoint_every,
        resume_from=run.resume_from,
        callbacks=training_monitors(model, segments, every=every),
    )
    seconds = time.perf_counter() - started
    model.save(arguments.out)
    alarms = sorted({e["event"] for e in model.trainer.events if e["event"] in _ALARMS})
    print(
        f"wrote {arguments.out}: {spec.iterations} iterations ({model.device}, {seconds:.1f} s); "
        f"alarms: {', '.join(alarms) or 'none'}"
    )
    return 0


_ALARMS = ("mode_collapse", "memorisation")


def _given_track(path: Path, model: MusicGAN) -> np.ndarray:
    if not path.is_file():
        raise UsageError(f"--given {path}: no such MIDI file")
    piece = load_midi_file(path, n_tracks=1)
    segments = cut_segments([piece], model.spec.lowest_pitch, model.spec.n_pitches)
    return segments.rolls[0, 0]


def run_generate(arguments: argparse.Namespace) -> int:
    resolve_device(arguments.device)
    if arguments.out.exists() and not arguments.out.is_dir():
        raise UsageError(f"--out {arguments.out} is a file, not a folder")
    if not 20 <= arguments.tempo <= 400:
        raise UsageError(f"--tempo must be 20-400 quarter notes a minute, got {arguments.tempo}")
    key = _parse_key(arguments.key)
    model = MusicGAN.load(arguments.model, arguments.device)
    if key is not None and model.spec.condition != "key":
        raise UsageError(f"--key needs a key-conditioned model; this one's condition is "
                         f"{model.spec.condition}")  # fmt: skip
    given = None
    if model.spec.condition == "track":
        if arguments.given is None:
            raise UsageError("this model harmonises a given track: pass --given MIDI_FILE")
        try:
            given = _given_track(arguments.given, model)
        except ValueError as error:
            raise UsageError(str(error)) from None
    elif arguments.given is not None:
        raise UsageError("--given needs a track-conditioned model")
    if arguments.truncation is not None:
        model.spec = _with_truncation(model.spec, arguments.truncation)
    rolls = model.sample(arguments.n, key=key, given=given, seed=arguments.seed)
    arguments.out.mkdir(parents=True, exist_ok=True)
    options = {"tempo": arguments.tempo}
    for i in tqdm(range(arguments.n), desc="writing", disable=arguments.no_progress):
        full = model.full_roll(rolls[i])
        write_midi(full, arguments.out / f"sample_{i:03d}.mid", **options)
        if arguments.wav:
            write_wav(full, arguments.out / f"sample_{i:03d}.wav", **options)
    figure = piano_roll_figure(
        rolls[:4], model.spec.lowest_pitch, [f"sample {i}" for i in range(min(4, len(rolls)))]
    )
    figure.savefig(arguments.out / "piano_rolls.png", dpi=100)
    print(f"wrote {arguments.n} MIDI file(s) to {arguments.out}")
    return 0


def _with_truncation(spec: MusicSpec, text: str) -> MusicSpec:
    """``spec`` sampling with the truncation ``text`` (a number or ``none``)."""
    try:
        value = None if text.strip().lower() in NONE_WORDS else float(text)
        return replace(spec, truncation=value)
    except ValueError:
        raise UsageError(f"--truncation must be a number > 0 or none, got {text!r}") from None


def _segments_of_folder(folder: Path, lowest: int, pitches: int, tracks) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pieces, skipped = load_midi_folder(folder, tracks)
    if skipped:
        print(f"ganforge: warning: {folder}: skipped {len(skipped)} file(s): {skipped.summary()}")
    return cut_segments(pieces, lowest, pitches).rolls


def _crop(pieces: list[Piece], lowest: int, pitches: int) -> list[np.ndarray]:
    return [p.roll[:, :, lowest : lowest + pitches] for p in pieces]


def run_audit(arguments: argparse.Namespace) -> int:
    _check_data(arguments)
    resolve_device(arguments.device)
    if not arguments.generated.is_dir():
        raise UsageError(f"--generated {arguments.generated}: no such folder")
    lowest, pitches = arguments.lowest_pitch, arguments.n_pitches
    if lowest + pitches > 128:
        raise UsageError("--lowest-pitch + --n-pitches must be at most 128")
    generated = _segments_of_folder(arguments.generated, lowest, pitches, arguments.tracks)
    pieces, source = load_pieces(arguments, not arguments.no_progress)
    train, held = split(arguments, pieces)
    heldout = cut_segments(held, lowest, pitches)
    reference = training_reference(
        _crop(train, lowest, pitches),
        first_bars=[p.first_bar for p in train],
        names=[p.name for p in train],
    )
    report = originality_report(
        generated, reference, heldout.rolls, lowest_pitch=lowest,
        heldout_groups=[held[i].melody for i in heldout.piece], device=arguments.device,
    )  # fmt: skip
    result = {"generated": str(arguments.generated), "training": source, **report.summary()}
    write_json(arguments.out, result)
    if arguments.report is not None:
        section = originality_section(report, generated, reference, lowest, "Originality report")
        write_report(arguments.report, "ganforge music audit", [section])
    print(_verdict_line(arguments.out, report))
    return 0


def _verdict_line(out: Path, report) -> str:
    check = report.checks["near_copy_share"]
    flagged = [name for name, c in report.checks.items() if c.flagged]
    return (
        f"wrote {out}: near-copy share {check.value:.1%} (held-out humans {check.reference:.1%}); "
        f"{'MEMORISED' if report.flagged else 'original'}; flagged checks: "
        f"{', '.join(flagged) or 'none'}"
    )


def run_evaluate(arguments: argparse.Namespace) -> int:
    _check_data(arguments)
    resolve_device(arguments.device)
    model = MusicGAN.load(arguments.model, arguments.device)
    if model.spec.condition == "track":
        raise UsageError("evaluate samples freely: a track-conditioned model needs given tracks "
                         "(use generate --given, then audit)")  # fmt: skip
    pieces, source = load_pieces(arguments, not arguments.no_progress)
    train, held = split(arguments, pieces)
    lowest, pitches = model.spec.lowest_pitch, model.spec.n_pitches
    heldout = cut_segments(held, lowest, pitches)
    train_segments = cut_segments(train, lowest, pitches)
    generated = model.sample(arguments.n, key=heldout.keys[np.arange(arguments.n) % len(heldout)])
    quality = evaluate(generated, heldout, lowest, train=train_segments)
    reference = training_reference(
        _crop(train, lowest, pitches), first_bars=[p.first_bar for p in train],
        names=[p.name for p in train],
    )  # fmt: skip
    report = originality_report(
        generated, reference, heldout.rolls, lowest_pitch=lowest,
        heldout_groups=[held[i].melody for i in heldout.piece],
        interpolation={"generated": model.interpolate(10)}, device=arguments.device,
    )  # fmt: skip
    result = {"model": str(arguments.model), "data": source, "quality": quality,
              "originality": report.summary()}  # fmt: skip
    write_json(arguments.out, result)
    if arguments.report is not None:
        section = originality_section(report, generated, reference, lowest, "Originality report")
        section.figures["music metrics against the held-out set"] = overlap_figure(
            {n: m["gan"] for n, m in quality["metrics"].items()},
            {n: m["baseline"] for n, m in quality["metrics"].items()},
        )
        section.metrics.update(_voice_leading_rows(quality["melodic_moves"]))
        write_report(arguments.report, "ganforge music evaluation", [section])
    print(
        f"mean overlap area {quality['gan_mean_overlap']:.2f} (Markov baseline "
        f"{quality['baseline_mean_overlap']:.2f}); " + _verdict_line(arguments.out, report)
    )
    return 0


def _voice_leading_rows(moves: dict[str, dict[str, float]]) -> dict[str, str]:
    """The report's rows for each set's note-to-note moves (steps and leaps)."""
    names = {"gan": "generated", "baseline": "Markov baseline", "heldout": "held-out humans"}
    return {
        f"voice leading, {names[side]}": f"{m['step_share']:.0%} of moves by a step, "
        f"{m['leap_share']:.0%} by a leap"
        for side, m in moves.items()
    }


def originality_section(report, generated, reference, lowest: int, title: str) -> ReportSection:
    """The report's checks as a table, its figures and the closest pair as rolls and audio."""
    figures = dict(report.figures())
    pairs = closest_pair_rolls(report, generated, reference)
    audio = {}
    if pairs:
        gen, train, pair = pairs[0]
        figures["closest pair: generated (left) and its training window"] = piano_roll_figure(
            [gen, train], lowest,
            ["generated", f"{pair['piece']} step {pair['start_step']} "
             f"({pair['transposition']:+d} st): {pair['similarity']:.2f}"],
        )  # fmt: skip
        full = np.pad(gen, ((0, 0), (0, 0), (lowest, 128 - lowest - gen.shape[-1])))
        audio["closest generated segment"] = wav_bytes(synthesize(full, SAMPLE_RATE), SAMPLE_RATE)
    metrics = {
        name: f"{check.value:.3f} (humans {check.reference:.3f}): "
        f"{'FLAGGED' if check.flagged else 'pass'}" if check.reference is not None
        else f"{check.value:.3f}: {'FLAGGED' if check.flagged else 'pass'}"
        for name, check in report.checks.items()
    }  # fmt: skip
    metrics["bar-aligned near-copy share"] = f"{report.details['bar_aligned_share']:.3f}"
    text = " ".join(f"{c.name}: {c.text}; {c.threshold}." for c in report.checks.values())
    return ReportSection(title, metrics, figures, text, audio)


# ------------------------------------------------------------------- demo
DEMO_SPEC = {
    "iterations": 40,
    "batch_size": 16,
    "n_critic": 2,
    "generator_width": 16,
    "critic_width": 8,
    "device": "cpu",
}
DEMO_PIECES = 60


def demo(out_dir: Path) -> ReportSection:
    """A short run on 60 Bach chorales: piano rolls, audio and the originality report."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces, _ = load_corpus("bach", limit=DEMO_PIECES)
    train_idx, held_idx = melody_split(pieces, 0.25, seed=0)
    train, held = [pieces[i] for i in train_idx], [pieces[i] for i in held_idx]
    model = MusicGAN(MusicSpec(**DEMO_SPEC))
    segments = model.segments(train)
    started = time.perf_counter()
    model.fit(segments, callbacks=training_monitors(model, segments, every=20, samples=16))
    seconds = time.perf_counter() - started
    model.save(out_dir / "music.pt")
    lowest, pitches = model.spec.lowest_pitch, model.spec.n_pitches
    heldout = cut_segments(held, lowest, pitches)
    generated = model.sample(64, key=7)
    full = model.full_roll(generated[0])
    write_midi(full, out_dir / "sample.mid", tempo=90.0)
    reference = training_reference(
        _crop(train, lowest, pitches), first_bars=[p.first_bar for p in train],
        names=[p.name for p in train],
    )  # fmt: skip
    report = originality_report(
        generated, reference, heldout.rolls, lowest_pitch=lowest,
        heldout_groups=[held[i].melody for i in heldout.piece],
        interpolation={"generated": model.interpolate(10, key=7)},
    )  # fmt: skip
    report.write(out_dir / "originality.json")
    section = originality_section(report, generated, reference, lowest, "Music: Bach chorales")
    section.figures = {
        "generated piano rolls (G major)": piano_roll_figure(
            generated[:2], lowest, [f"sample {i}" for i in range(2)]
        ),
        "held-out human segments": piano_roll_figure(heldout.rolls[:2], lowest, ["human", "human"]),
        **section.figures,
        "training curves": loss_curves_figure(model.history),
    }
    section.audio = {
        f"generated sample ({key_name(7)})": wav_bytes(synthesize(full, SAMPLE_RATE), SAMPLE_RATE),
        **section.audio,
    }
    alarms = sorted({e["event"] for e in model.trainer.events if e["event"] in _ALARMS})
    section.metrics = {
        "training seconds": round(seconds, 1),
        "training segments": len(segments),
        "alarms during training": ", ".join(alarms) or "none",
        **section.metrics,
    }
    section.text = (
        f"A {DEMO_SPEC['iterations']}-iteration MuseGAN-style GAN (tiny widths) on "
        f"{len(train)} of music21's Bach chorales ({len(held)} held out by melody). The "
        "originality report compares 64 samples with every training window (all offsets, 12 "
        "transpositions) next to the held-out chorales. " + section.text
    )
    return section
