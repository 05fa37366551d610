"""Bad input for `ganforge vocoder ...` (see test_cli_bad_input.py)."""

import json
from pathlib import Path

import numpy as np
import soundfile

TRAIN = "vocoder train --out {out} --no-progress --corpus tiny "
SYNTH = "vocoder synthesize --out {out} "
EVAL = "vocoder evaluate --out {out} --corpus tiny "


def files(tmp: Path) -> dict[str, Path]:
    """A silent WAV, a text file named .wav, bad mel arrays and bad configs."""
    made = {"silent_wav": tmp / "silent.wav", "text_wav": tmp / "notes.wav"}
    soundfile.write(made["silent_wav"], np.zeros(22050, dtype=np.float32), 22050)
    made["text_wav"].write_text("not audio at all\n")
    silent_folder = tmp / "silent_folder"
    silent_folder.mkdir()
    soundfile.write(silent_folder / "a.wav", np.zeros(22050, dtype=np.float32), 22050)
    made["silent_folder"] = silent_folder
    arrays = {
        "wrong_shape_npy": np.zeros((40, 10), dtype=np.float32),
        "three_d_npy": np.zeros((1, 80, 10), dtype=np.float32),
        "nan_npy": np.full((80, 10), np.nan, dtype=np.float32),
        "text_npy": np.array([["a"] * 10] * 80),
    }
    for name, array in arrays.items():
        made[name] = tmp / f"{name}.npy"
        np.save(made[name], array)
    made["pickle_npy"] = tmp / "pickle_npy.npy"
    np.save(made["pickle_npy"], np.array([{"x": 1}], dtype=object), allow_pickle=True)
    made["garbage_npy"] = tmp / "garbage_npy.npy"
    made["garbage_npy"].write_bytes(bytes(range(256)))
    configs = {
        "bad_generator_options": {"generator_options": {"channels": 3}},
        "unknown_key": {"generator_channels": 3},
        "stray_discriminator": {"discriminators": ["msd"], "discriminator_options": {"mpd": {}}},
    }
    for name, config in configs.items():
        made[name] = tmp / f"{name}.json"
        made[name].write_text(json.dumps(config))
    made["model"] = _untrained_model(tmp / "model.pt")
    return made


def _untrained_model(path: Path) -> Path:
    """A valid model file (a small untrained generator) for the bad-input cases."""
    from ganforge.vocoder import Vocoder

    vocoder = Vocoder(generator="melgan", generator_options={"channels": 16}, device="cpu")
    vocoder.generator = vocoder._build_generator()
    return vocoder.save(path)


CASES = {
    "train on garbage": (TRAIN.replace("--corpus tiny ", "") + "--data {garbage}", "garbage"),
    "train on a missing folder": (
        TRAIN.replace("--corpus tiny ", "") + "--data {missing}",
        "no such",
    ),
    "train on a folder without audio": (
        TRAIN.replace("--corpus tiny ", "") + "--data {folder}",
        "no .wav or .flac files",
    ),
    "train on a silent WAV": (
        TRAIN.replace("--corpus tiny ", "") + "--data {silent_folder}",
        "silent",
    ),
    "train on a text file named .wav": (
        TRAIN.replace("--corpus tiny ", "") + "--data {text_wav}",
        "notes.wav",
    ),
    "train with --corpus and --data": (TRAIN + "--data {folder}", "not allowed with"),
    "train with an unknown corpus": (
        "vocoder train --out {out} --corpus huge",
        "invalid choice",
    ),
    "train with --skip-bad and no --data": (TRAIN + "--skip-bad", "--skip-bad needs --data"),
    "train with an unknown generator": (TRAIN + "--generator wavenet", "wavenet"),
    "train with --batch-size 0": (TRAIN + "--batch-size 0", "batch_size must be"),
    "train with --iterations -1": (TRAIN + "--iterations -1", "iterations must be"),
    "train with --segment-length 1000": (TRAIN + "--segment-length 1000", "segment_length"),
    "train with --hop-length 0": (TRAIN + "--hop-length 0", "hop_length must be positive"),
    "train with a warm-up longer than the run": (
        TRAIN + "--iterations 2 --warmup-iterations 5",
        "warmup_iterations 5 is more than iterations 2",
    ),
    "train with --lr 0": (TRAIN + "--lr 0", "lr must be a finite number > 0"),
    "train with --lr x": (TRAIN + "--lr x", "must be a number"),
    "train with --discriminators cnn": (TRAIN + "--discriminators cnn", "discriminators must"),
    "train with --loss-weights other": (TRAIN + "--loss-weights other", "unknown loss_weights"),
    "train with --device tpu": (TRAIN + "--device tpu", "device"),
    "train with a garbage config": (TRAIN + "--config {garbage}", "config"),
    "train with an unknown config key": (TRAIN + "--config {unknown_key}", "unknown config keys"),
    "train with bad generator_options": (
        TRAIN + "--config {bad_generator_options}",
        "channels 3 must be divisible",
    ),
    "train with a stray discriminator option": (
        TRAIN + "--config {stray_discriminator}",
        "not in use",
    ),
    "train with --out a folder": (
        "vocoder train --corpus tiny --no-progress --out {folder}",
        "is a folder",
    ),
    "train --resume without --run-dir": (TRAIN + "--resume", "needs --run-dir"),
    "train --resume with nothing to resume": (
        TRAIN + "--run-dir {run} --resume",
        "nothing to resume",
    ),
    "train --checkpoint-every 0": (TRAIN + "--run-dir {run} --checkpoint-every 0", "at least 1"),
    "synthesize with a garbage model": (
        SYNTH + "--model {garbage} --input {silent_wav}",
        "garbage",
    ),
    "synthesize with a missing model": (
        SYNTH + "--model {missing} --input {silent_wav}",
        "missing",
    ),
    "synthesize with a model of another kind": (
        SYNTH + "--model {foreign_model} --input {silent_wav}",
        "holds a elsewhere.Model model, not a vocoder.Vocoder",
    ),
    "synthesize with a newer model format": (
        SYNTH + "--model {newer_model} --input {silent_wav}",
        "upgrade ganforge",
    ),
    "synthesize with a truncated model": (
        SYNTH + "--model {truncated_model} --input {silent_wav}",
        "not a loadable checkpoint",
    ),
    "synthesize on an unknown device": (
        SYNTH + "--model {garbage} --input {silent_wav} --device tpu",
        "device",
    ),
    "synthesize into a file": (
        "vocoder synthesize --model {garbage} --input {silent_wav} --out {garbage}",
        "is a file",
    ),
    "synthesize two inputs of one name": (
        SYNTH + "--model {garbage} --input {silent_wav} {silent_wav}",
        "both write",
    ),
    "synthesize with --chunk-frames 0": (
        SYNTH + "--model {garbage} --input {silent_wav} --streaming --chunk-frames 0",
        "at least 1",
    ),
    "synthesize a silent WAV": (SYNTH + "--model {model} --input {silent_wav}", "silent"),
    "synthesize a text file named .wav": (
        SYNTH + "--model {model} --input {text_wav}",
        "notes.wav",
    ),
    "synthesize garbage": (SYNTH + "--model {model} --input {garbage}", "garbage"),
    "synthesize a missing input": (SYNTH + "--model {model} --input {missing}", "missing"),
    "synthesize a folder": (SYNTH + "--model {model} --input {folder}", "is a folder"),
    "synthesize a mel of 40 bands": (
        SYNTH + "--model {model} --input {wrong_shape_npy}",
        "must be (80, frames)",
    ),
    "synthesize a 3-d mel": (SYNTH + "--model {model} --input {three_d_npy}", "(80, frames)"),
    "synthesize a NaN mel": (SYNTH + "--model {model} --input {nan_npy}", "NaN"),
    "synthesize a text mel": (SYNTH + "--model {model} --input {text_npy}", "real numbers"),
    "synthesize a pickled .npy": (SYNTH + "--model {model} --input {pickle_npy}", "not a readable"),
    "synthesize a garbage .npy": (
        SYNTH + "--model {model} --input {garbage_npy}",
        "not a readable",
    ),
    "evaluate on a silent folder": (
        "vocoder evaluate --model {model} --out {out} --data {silent_folder}",
        "silent",
    ),
    "evaluate with --skip-bad and no --data": (EVAL + "--model {model} --skip-bad", "needs --data"),
    "synthesize without --input": (SYNTH + "--model {garbage}", "required"),
    "evaluate a garbage model": ("vocoder evaluate --model {garbage} --out {out}", "garbage"),
    "evaluate a model of another kind": (
        EVAL + "--model {foreign_model}",
        "not a vocoder.Vocoder",
    ),
    "evaluate a newer model format": (EVAL + "--model {newer_model}", "upgrade ganforge"),
    "evaluate a truncated model": (EVAL + "--model {truncated_model}", "not a loadable"),
    "evaluate on an unknown device": (EVAL + "--model {garbage} --device tpu", "device"),
    "evaluate on a missing folder": (
        "vocoder evaluate --model {garbage} --out {out} --data {missing}",
        "no such",
    ),
    "evaluate into a folder": (
        "vocoder evaluate --model {garbage} --corpus tiny --out {folder}",
        "is a folder",
    ),
    "evaluate with the HTML report into a folder": (
        EVAL + "--model {garbage} --report {folder}",
        "is a folder",
    ),
}
