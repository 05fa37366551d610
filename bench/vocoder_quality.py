"""Vocoder quality after a CPU training budget: the default model against Griffin-Lim-32.

The default model (``VocoderSpec()``: MelGAN generator, MelGAN's multi-scale and
HiFi-GAN's multi-period discriminators, HiFi-GAN's objective) trains on the train
split of the default eSpeak NG corpus (about 43 minutes of speech, 702 clips) on one
CPU thread, for the iterations given here: the first ``--warmup`` of them train
the generator alone on its spectral terms (mel L1 weight 45 and the
multi-resolution STFT loss with ``--stft-weight``), the rest are adversarial. Only
these run settings differ from the spec's defaults; the corpus and the model are
the same for every split, and nothing is tuned on the test sentences or the
unseen voice.

It is then scored with :func:`ganforge.vocoder.evaluate.evaluate` on

* ``held_out``: the test split (sentences no training clip reads, training voices);
* ``unseen_voice``: the held-out voice reading the test sentences;
* ``unseen_languages``: a second corpus, rendered the same way, of the test
  sentences read by eSpeak NG voices of other languages (German, French, Spanish,
  Italian; variants the training voices do not use): speakers, phonemes and
  prosody the model never heard;

with PESQ-WB (16 kHz), STOI, mel L1 and the MR-STFT distance, and Griffin-Lim
(torchaudio, 32 iterations) on the same mels in the same run.

The trained model is kept in the cache folder (keyed by the run settings), so a
second run only evaluates; ``training_seconds`` is the time the training took.

Writes bench/results/vocoder_quality.json: the held-out scores at the top level
(``pesq_wb``, ``stoi``, ``mel_l1``, ``mrstft``, ``griffin_lim_*``), the same under
``unseen_voice``, ``training_seconds``, the settings and the targets.

Usage: OMP_NUM_THREADS=1 python bench/vocoder_quality.py [--iterations N] [--warmup N]
       [--batch-size B] [--stage train|all]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

from ganforge.core.files import cache_dir, write_json
from ganforge.vocoder import Vocoder, VocoderSpec
from ganforge.vocoder.corpus import load_corpus
from ganforge.vocoder.evaluate import GRIFFIN_LIM_ITERATIONS, evaluate

RESULT = Path(__file__).parent / "results" / "vocoder_quality.json"
BUDGET_SECONDS = 90 * 60
OTHER_LANGUAGE_VOICES = ("de+m2", "fr+f1", "es+m5", "it+f5")
TARGETS = {
    "pesq_wb": "above Griffin-Lim-32 on held-out sentences and on the unseen voice",
    "stoi": "above Griffin-Lim-32 on held-out sentences and on the unseen voice",
    "stretch_pesq_wb": 3.9,
    "training_budget_seconds": BUDGET_SECONDS,
}


def run_spec(args: argparse.Namespace) -> VocoderSpec:
    """The default spec with this run's length, batch and warm-up."""
    return VocoderSpec(
        iterations=args.iterations,
        warmup_iterations=args.warmup,
        batch_size=args.batch_size,
        stft_weight=args.stft_weight,
        lr=args.lr,
        device="cpu",
    )


def model_path(spec: VocoderSpec, corpus_key: str) -> Path:
    settings = json.dumps({"spec": repr(spec), "corpus": corpus_key}, sort_keys=True)
    digest = hashlib.sha256(settings.encode()).hexdigest()[:16]
    return cache_dir() / "bench" / f"vocoder-quality-{digest}.vocoder"


def train(spec: VocoderSpec, corpus: Any, path: Path) -> float:
    """Train on the corpus's train split, save to ``path``; the seconds it took."""
    vocoder = Vocoder(spec)
    run_dir = path.with_suffix(".run")
    started = time.perf_counter()
    vocoder.fit(corpus.waveforms("train"), run_dir=run_dir, checkpoint_every=1000, progress=True)
    seconds = time.perf_counter() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    vocoder.save(path)
    write_json(path.with_suffix(".json"), {"training_seconds": round(seconds, 1)})
    return seconds


def other_languages(corpus: Any) -> Any:
    """The test sentences read by voices of other languages (every clip, one split)."""
    texts = tuple(dict.fromkeys(clip.text for clip in corpus.split("test")))
    return load_corpus(
        sentences=texts,
        voices=OTHER_LANGUAGE_VOICES,
        hold_out_voice=False,
        validation_fraction=0.0,
        test_fraction=0.0,
        seed=corpus.spec.seed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=12_000)
    parser.add_argument("--warmup", type=int, default=12_000)
    parser.add_argument("--batch-size", type=int, default=2)  # more updates per CPU second
    parser.add_argument("--stft-weight", type=float, default=10.0)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--stage", choices=("train", "all"), default="all")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    torch.set_num_threads(1)

    corpus = load_corpus(size="default")
    spec = run_spec(args)
    path = model_path(spec, str(corpus.path))
    if path.exists():
        training_seconds = json.loads(path.with_suffix(".json").read_text())["training_seconds"]
    else:
        training_seconds = train(spec, corpus, path)
    print(f"model {path}: trained in {training_seconds / 60:.1f} min", flush=True)
    if args.stage == "train":
        return

    vocoder = Vocoder.from_file(path, "cpu")
    held_out = evaluate(vocoder, corpus.waveforms("test"))
    unseen = evaluate(vocoder, corpus.waveforms("unseen"))
    languages = other_languages(corpus)
    foreign = evaluate(vocoder, [clip.audio for clip in languages.clips])
    result: dict[str, Any] = {**held_out}
    result["unseen_voice"] = {"voice": corpus.held_out_voice, **unseen}
    result["unseen_languages"] = {"voices": list(OTHER_LANGUAGE_VOICES), **foreign}
    result["training_seconds"] = round(training_seconds, 1)
    result["within_budget"] = training_seconds <= BUDGET_SECONDS
    result["targets"] = TARGETS
    result["met"] = {
        split: {
            metric: scores[metric] > scores[f"griffin_lim_{metric}"]
            for metric in ("pesq_wb", "stoi")
        }
        for split, scores in (
            ("held_out", held_out),
            ("unseen_voice", unseen),
            ("unseen_languages", foreign),
        )
    }
    result["settings"] = {
        "spec": {k: v for k, v in vars(spec).items()},
        "corpus": corpus.summary(),
        "griffin_lim_iterations": GRIFFIN_LIM_ITERATIONS,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
    }
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "settings"}, indent=1))


if __name__ == "__main__":
    main()
