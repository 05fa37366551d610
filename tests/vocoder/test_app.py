"""`ganforge vocoder train -> synthesize -> evaluate` through the command line, on tiny settings."""

from __future__ import annotations

import json

import numpy as np
import soundfile

from ganforge.apps.cli import main
from ganforge.vocoder import Vocoder

TINY = (
    "--corpus tiny --generator hifigan_v3 --discriminators msd --segment-length 1024 "
    "--batch-size 2 --iterations 2 --device cpu --no-progress"
)


def test_train_synthesize_evaluate_round_trip(tmp_path, capsys):
    model = tmp_path / "vocoder.pt"
    assert main(["vocoder", "train", *TINY.split(), "--out", str(model)]) == 0
    vocoder = Vocoder.from_file(model, "cpu")
    assert vocoder.spec.generator == "hifigan_v3" and vocoder.spec.iterations == 2

    wav = tmp_path / "speech.wav"
    rate = vocoder.spec.sample_rate
    t = np.arange(rate // 2) / rate
    soundfile.write(wav, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    mel = tmp_path / "mel.npy"
    np.save(mel, vocoder.mel(soundfile.read(wav, dtype="float32")[0]).numpy())
    out = tmp_path / "wavs"
    for extra in ([], ["--streaming", "--chunk-frames", "8"]):
        argv = ["vocoder", "synthesize", "--model", str(model), "--input", str(wav), str(mel)]
        assert main([*argv, "--out", str(out), *extra]) == 0
        frames = np.load(mel).shape[1]
        for name in ("speech.wav", "mel.wav"):
            audio, written_rate = soundfile.read(out / name)
            assert written_rate == rate and len(audio) == frames * vocoder.spec.hop_length

    report, page = tmp_path / "eval.json", tmp_path / "eval.html"
    argv = ["vocoder", "evaluate", "--model", str(model), "--corpus", "tiny", "--out", str(report)]
    assert main([*argv, "--device", "cpu", "--report", str(page), "--no-progress"]) == 0
    result = json.loads(report.read_text())
    for part in ("held_out", "unseen_voice"):
        for metric in ("pesq_wb", "stoi", "mel_l1", "mrstft"):
            for key in (metric, f"griffin_lim_{metric}"):
                assert np.isfinite(result[part][key]), (part, key)
        # Griffin-Lim on the same mels is a real baseline: far ahead of a 2-iteration model
        assert result[part]["griffin_lim_mel_l1"] < result[part]["mel_l1"]
        assert result[part]["griffin_lim_stoi"] > result[part]["stoi"]
        assert 1.0 <= result[part]["pesq_wb"] < result[part]["griffin_lim_pesq_wb"] <= 4.65
    assert result["unseen_voice"]["voice"] == "en-us+f3"
    html = page.read_text()
    assert html.count("<audio controls") == 3 and "Griffin-Lim 32" in html
    assert "wrote" in capsys.readouterr().out
