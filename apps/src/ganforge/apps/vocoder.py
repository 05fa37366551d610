"""`ganforge vocoder train | synthesize | evaluate`: MelGAN / HiFi-GAN vocoders, WAV in and out."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ganforge.apps.common import (
    add_command_group,
    add_data_source,
    add_device_option,
    add_progress_option,
    add_run_options,
    merge_options,
    output_file,
    positive_int,
    run_options,
)
from ganforge.apps.errors import UsageError
from ganforge.apps.specs import add_spec_options, spec_fields
from ganforge.core.files import atomic_files, atomic_write, write_json
from ganforge.core.report import ReportSection, loss_curves_figure, wav_bytes, write_report
from ganforge.core.training.distributed import resolve_device
from ganforge.vocoder import (
    Vocoder,
    VocoderSpec,
    synthesize_streaming,
)
from ganforge.vocoder.audio import load_audio, load_audio_folder
from ganforge.vocoder.corpus import SAMPLE_RATE, SIZES, load_corpus
from ganforge.vocoder.evaluate import GRIFFIN_LIM_ITERATIONS, evaluate, griffin_lim

DICT_KEYS = ("generator_options", "discriminator_options")  # --config only: no flag
SPEC_KEYS = spec_fields(VocoderSpec)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ganforge vocoder` group with train, synthesize and evaluate."""
    add_command_group(
        subparsers,
        "vocoder",
        help="MelGAN / HiFi-GAN neural vocoders (mel spectrogram to waveform)",
        description="Train a vocoder on an embedded eSpeak corpus or a folder of WAV/FLAC "
        "files, resynthesise WAVs or vocode mel .npy files, and compare it with Griffin-Lim.",
        commands=(_add_train, _add_synthesize, _add_evaluate),
    )


def _add_data_options(parser: argparse.ArgumentParser, corpus_help: str) -> None:
    add_data_source(
        parser,
        SIZES,
        corpus_help,
        "a folder of WAV/FLAC files (searched recursively) or an LJSpeech folder",
        flag="--corpus",
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="with --data: skip unreadable, silent or too short files (one warning each)",
    )


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train a vocoder on speech",
        description="Train a vocoder on the embedded eSpeak corpus (train split) or on a "
        "folder of audio; writes one model file. generator_options and discriminator_options "
        "(JSON objects) can be given in --config.",
    )
    _add_data_options(train, "embedded eSpeak NG corpus size (default: small)")
    train.add_argument("--out", type=output_file, required=True, help="model file to write (.pt)")
    train.add_argument(
        "--config",
        type=Path,
        help="JSON of model options (any of the flags below with underscores, and "
        "generator_options / discriminator_options); flags given on the line override it",
    )
    add_progress_option(train)
    add_spec_options(train, VocoderSpec, skip=DICT_KEYS)
    add_run_options(train, default_every=500)
    train.set_defaults(handler=run_train)


def _add_synthesize(commands: argparse._SubParsersAction) -> None:
    synth = commands.add_parser(
        "synthesize",
        help="write WAVs from WAV files (resynthesis) or mel .npy files",
        description="Each --input is a WAV/FLAC file (its mel is computed and vocoded back) "
        "or a .npy log-mel of shape (n_mels, frames) in the model's convention; one WAV per "
        "input is written to --out, all or none.",
    )
    synth.add_argument("--model", type=Path, required=True, help="model file written by train")
    synth.add_argument(
        "--input", type=Path, nargs="+", required=True, help="WAV/FLAC or mel .npy files"
    )
    synth.add_argument("--out", type=Path, required=True, help="folder for the WAV files")
    add_device_option(synth)
    add_progress_option(synth)
    synth.add_argument(
        "--streaming",
        action="store_true",
        help="synthesise in chunks of --chunk-frames with context (same audio as batch)",
    )
    synth.add_argument(
        "--chunk-frames", type=positive_int, default=32, help="mel frames per chunk (default 32)"
    )
    synth.set_defaults(handler=run_synthesize)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="PESQ-WB, STOI, mel L1 and multi-resolution STFT distance, against Griffin-Lim",
        description="Resynthesise held-out speech (the corpus test split and its unseen "
        f"voice, or every file of --data) with the model and with Griffin-Lim "
        f"({GRIFFIN_LIM_ITERATIONS} iterations) from the same mels; writes a JSON report.",
    )
    ev.add_argument("--model", type=Path, required=True, help="model file written by train")
    _add_data_options(
        ev, "embedded corpus whose test and unseen-voice splits to use (default: small)"
    )
    ev.add_argument("--out", type=output_file, required=True, help="JSON report to write")
    ev.add_argument(
        "--report",
        type=output_file,
        help="also write an HTML page: spectrograms and audio of the first clip, model "
        "against Griffin-Lim",
    )
    add_device_option(ev)
    add_progress_option(ev)
    ev.set_defaults(handler=run_evaluate)


# ----------------------------------------------------------------- handlers
def _check_data_options(arguments: argparse.Namespace) -> None:
    if arguments.skip_bad and arguments.data is None:
        raise UsageError("--skip-bad needs --data")
    if arguments.data is not None and not arguments.data.exists():
        raise UsageError(f"no such file or folder: {arguments.data}")


def run_train(arguments: argparse.Namespace) -> int:
    run = run_options(arguments)
    _check_data_options(arguments)
    options = merge_options(arguments, SPEC_KEYS, {})
    spec = VocoderSpec(**options)  # every setting checked before any data is read
    vocoder = Vocoder(spec)
    device = vocoder.device  # an unknown device is an error now, not after the data
    if arguments.data is not None:
        audio = load_audio_folder(
            arguments.data,
            spec.sample_rate,
            segment_length=spec.segment_length,
            skip_bad=arguments.skip_bad,
        )
        waveforms, source = audio.waveforms(), f"{len(audio)} files under {arguments.data}"
    else:
        if spec.sample_rate != SAMPLE_RATE:
            raise UsageError(
                f"the embedded corpus is at {SAMPLE_RATE} Hz; --sample-rate {spec.sample_rate} "
                "needs --data"
            )
        size = arguments.corpus or "small"
        waveforms = load_corpus(size=size).waveforms("train")
        source = f"the {size} corpus ({len(waveforms)} training clips)"
    started = time.perf_counter()
    vocoder.fit(
        waveforms,
        progress=not arguments.no_progress,
        run_dir=run.run_dir,
        checkpoint_every=run.checkpoint_every,
        resume_from=run.resume_from,
    )
    vocoder.save(arguments.out)
    mel = vocoder.history[-1].get("G/mel") if vocoder.history else None
    detail = f", last mel L1 {mel:.3f}" if isinstance(mel, float) else ""
    print(
        f"wrote {arguments.out}: {spec.generator}, {spec.iterations} iterations on {source} "
        f"({device}, {time.perf_counter() - started:.1f} s{detail})"
    )
    return 0


def read_mel(path: Path, n_mels: int) -> np.ndarray:
    """A log-mel ``(n_mels, frames)`` from a .npy file, or a one-line error."""
    try:
        mel = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UsageError(f"no such mel file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a .npy file") from None
    except (ValueError, OSError, EOFError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise UsageError(f"{path}: not a readable .npy array ({reason})") from None
    if not isinstance(mel, np.ndarray) or mel.dtype.kind not in "fiu":
        raise UsageError(f"{path}: a mel must hold real numbers, got dtype {mel.dtype}")
    if mel.ndim != 2 or mel.shape[0] != n_mels or mel.shape[1] < 1:
        raise UsageError(f"{path}: a mel must be ({n_mels}, frames), got shape {mel.shape}")
    if not np.isfinite(mel).all():
        raise UsageError(f"{path}: the mel holds NaN or infinite values")
    return mel.astype(np.float32)


def _mels(vocoder: Vocoder, inputs: list[Path]) -> list[np.ndarray]:
    spec = vocoder.spec
    mels = []
    for path in inputs:
        if path.is_dir():
            raise UsageError(f"--input {path} is a folder: give WAV or .npy files")
        if path.suffix.lower() == ".npy":
            mels.append(read_mel(path, spec.n_mels))
        else:
            audio = load_audio(path, spec.sample_rate, min_samples=vocoder.front_end.config.n_fft)
            mels.append(vocoder.mel(audio).numpy())
    return mels


def _vocode(vocoder: Vocoder, mel: np.ndarray, streaming: bool, chunk: int) -> np.ndarray:
    if not streaming:
        return vocoder(mel)
    generator = vocoder.inference_generator()
    device = next(generator.parameters()).device
    with torch.no_grad():
        audio = synthesize_streaming(generator, torch.as_tensor(mel)[None].to(device), chunk)
    return audio[0].cpu().numpy()


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """A float waveform as 16-bit PCM WAV (``path`` is written as it is: use a temporary)."""
    import soundfile

    soundfile.write(
        str(path), np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV"
    )


def run_synthesize(arguments: argparse.Namespace) -> int:
    resolve_device(arguments.device)
    out: Path = arguments.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file: give a folder for the WAVs")
    names = [path.stem + ".wav" for path in arguments.input]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UsageError(f"two inputs would both write {repeated[0]}: rename one")
    vocoder = Vocoder.from_file(arguments.model, arguments.device)
    mels = _mels(vocoder, list(arguments.input))
    with _bar(len(mels), "synthesising", arguments.no_progress) as bar:
        audio = []
        for mel in mels:
            audio.append(_vocode(vocoder, mel, arguments.streaming, arguments.chunk_frames))
            bar.update(1)
    out.mkdir(parents=True, exist_ok=True)
    targets = {name: out / name for name in names}
    with atomic_files(targets) as temporary:
        for name, waveform in zip(names, audio, strict=True):
            write_wav(temporary[name], waveform, vocoder.spec.sample_rate)
    seconds = sum(len(a) for a in audio) / vocoder.spec.sample_rate
    mode = "streaming" if arguments.streaming else "batch"
    print(f"wrote {len(names)} WAV file(s), {seconds:.1f} s of audio ({mode}), to {out}")
    return 0


# ------------------------------------------------------------------ evaluation
def _bar(total: int, description: str, hidden: bool) -> tqdm:
    return tqdm(total=total, desc=description, unit="clip", disable=hidden, dynamic_ncols=True)


def _scores(
    vocoder: Vocoder, waveforms: list[np.ndarray], description: str, hidden: bool
) -> dict[str, Any]:
    with _bar(len(waveforms), description, hidden) as bar:
        return evaluate(vocoder, waveforms, progress=lambda done, total: bar.update(1))


def _evaluation_clips(
    arguments: argparse.Namespace, vocoder: Vocoder
) -> tuple[str, dict[str, list[np.ndarray]], str | None]:
    """What to score: ``(description, {split: waveforms}, unseen voice)``."""
    spec = vocoder.spec
    if arguments.data is not None:
        audio = load_audio_folder(
            arguments.data, spec.sample_rate, skip_bad=arguments.skip_bad, segment_length=spec.n_fft
        )
        return str(arguments.data), {"held_out": audio.waveforms()}, None
    if spec.sample_rate != SAMPLE_RATE:
        raise UsageError(
            f"the model runs at {spec.sample_rate} Hz, the corpus at {SAMPLE_RATE} Hz: give --data"
        )
    size = arguments.corpus or "small"
    corpus = load_corpus(size=size)
    splits = {"held_out": corpus.waveforms("test")}
    if corpus.held_out_voice is not None:
        splits["unseen_voice"] = corpus.waveforms("unseen")
    description = f"{size} corpus: test split and the unseen voice {corpus.held_out_voice}"
    return description, splits, corpus.held_out_voice


def run_evaluate(arguments: argparse.Namespace) -> int:
    _check_data_options(arguments)
    resolve_device(arguments.device)
    vocoder = Vocoder.from_file(arguments.model, arguments.device)
    description, splits, voice = _evaluation_clips(arguments, vocoder)
    report: dict[str, Any] = {
        "model": str(arguments.model),
        "generator": vocoder.spec.generator,
        "data": description,
    }
    for split, waveforms in splits.items():
        report[split] = _scores(vocoder, waveforms, split, arguments.no_progress)
    if voice is not None:
        report["unseen_voice"] = {"voice": voice, **report["unseen_voice"]}
    report["griffin_lim_iterations"] = GRIFFIN_LIM_ITERATIONS
    write_json(arguments.out, report)
    if arguments.report is not None:
        section = comparison_section(vocoder, splits["held_out"][0], "Vocoder evaluation")
        section.metrics = {f"held-out {k}": v for k, v in report["held_out"].items()}
        write_report(arguments.report, "ganforge vocoder evaluation", [section])
    held = report["held_out"]
    print(
        f"wrote {arguments.out}: held-out PESQ-WB {held['pesq_wb']} "
        f"(Griffin-Lim {held['griffin_lim_pesq_wb']}), STOI {held['stoi']} "
        f"(Griffin-Lim {held['griffin_lim_stoi']}), mel L1 {held['mel_l1']} "
        f"(Griffin-Lim {held['griffin_lim_mel_l1']})"
    )
    return 0


def comparison_section(vocoder: Vocoder, clip: np.ndarray, title: str) -> ReportSection:
    """Real, generated and Griffin-Lim log-mels of one clip side by side, with players."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = vocoder.spec.mel_config()
    mel = vocoder.mel(clip)
    real = np.asarray(clip, dtype=np.float32)[: mel.size(-1) * config.hop_length]
    with torch.random.fork_rng():
        torch.manual_seed(0)
        baseline = griffin_lim(mel, config).numpy()
    signals = {
        "real": real,
        "generated": np.asarray(vocoder(mel.numpy())),
        f"Griffin-Lim {GRIFFIN_LIM_ITERATIONS}": baseline,
    }
    figure, axes = plt.subplots(1, len(signals), figsize=(13, 3.2), sharey=True)
    low, high = float(mel.min()), float(mel.max())
    for axis, (name, signal) in zip(axes, signals.items(), strict=True):
        image = vocoder.mel(signal).numpy()
        axis.imshow(image, origin="lower", aspect="auto", vmin=low, vmax=high)
        axis.set_title(f"{name} log-mel")
        axis.set_xlabel("frame")
    axes[0].set_ylabel("mel band")
    figure.tight_layout()
    audio = {name: wav_bytes(signal, config.sample_rate) for name, signal in signals.items()}
    return ReportSection(title, figures={"log-mel spectrograms": figure}, audio=audio)


# --------------------------------------------------------------------- demo
DEMO_SPEC = {
    "generator": "melgan",
    "generator_options": {"channels": 64},
    "discriminators": ("msd",),
    "discriminator_options": {"msd": {"channels": 4, "max_channels": 32}},
    "segment_length": 4096,
    "batch_size": 2,
    "iterations": 250,
    "warmup_iterations": 150,
    "stft_weight": 10.0,
    "lr": 1e-3,
}


def _pair(scores: dict[str, Any], metric: str) -> str:
    return f"{scores[metric]} / {scores['griffin_lim_' + metric]}"


def demo(out_dir: Path) -> ReportSection:
    """A short MelGAN run on the tiny eSpeak corpus, compared with Griffin-Lim on a test clip."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = load_corpus(size="tiny")
    vocoder = Vocoder(VocoderSpec(**DEMO_SPEC, device="cpu"))
    started = time.perf_counter()
    vocoder.fit(corpus.waveforms("train"))
    seconds = time.perf_counter() - started
    vocoder.save(out_dir / "vocoder.pt")
    held = evaluate(vocoder, corpus.waveforms("test"))
    unseen = evaluate(vocoder, corpus.waveforms("unseen"))
    clip = corpus.waveforms("test")[0]
    wav = out_dir / "generated.wav"
    with atomic_write(wav, "wb") as stream:
        stream.write(wav_bytes(vocoder(vocoder.mel(clip).numpy()), vocoder.spec.sample_rate))
    section = comparison_section(vocoder, clip, "Vocoder: MelGAN on eSpeak speech")
    gl = f"Griffin-Lim {GRIFFIN_LIM_ITERATIONS}"
    section.metrics = {
        "generator": f"MelGAN (channels {DEMO_SPEC['generator_options']['channels']})",
        "iterations (warm-up)": f"{vocoder.spec.iterations} ({vocoder.spec.warmup_iterations})",
        "training seconds": round(seconds, 1),
        **{
            f"{name} {metric} (model / {gl})": _pair(scores, metric)
            for name, scores in (("held-out", held), ("unseen-voice", unseen))
            for metric in ("pesq_wb", "stoi", "mel_l1")
        },
    }
    if vocoder.history:
        section.figures["training curves"] = loss_curves_figure(vocoder.history)
    section.text = (
        f"A {vocoder.spec.iterations}-iteration MelGAN on the tiny eSpeak NG corpus "
        f"({len(corpus.split('train'))} training clip(s)), far from a trained vocoder: "
        "Griffin-Lim on the same mels is the baseline (bench/vocoder_quality.py trains the "
        f"default model for longer). The held-out sentence resynthesised by the model is {wav}."
    )
    return section
