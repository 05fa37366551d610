"""`ganforge music train | generate | audit | evaluate` on a folder of MIDI files."""

from __future__ import annotations

import json

import numpy as np
import pretty_midi
import pytest

from ganforge.apps.cli import main
from ganforge.music import MusicGAN, load_midi_folder


def _random_walk_midi(path, seed: int, bars: int = 16) -> None:
    rng = np.random.default_rng(seed)
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    top = 72 + np.cumsum(rng.choice([-2, -1, 1, 2], size=4 * bars))
    for track, drop in enumerate((0, 4, 9, 19)):
        instrument = pretty_midi.Instrument(program=52, name=f"voice {track}")
        for beat, pitch in enumerate(top):
            instrument.notes.append(
                pretty_midi.Note(
                    80, int(np.clip(pitch - drop, 40, 80)), beat * 0.5, beat * 0.5 + 0.5
                )
            )
        midi.instruments.append(instrument)
    midi.write(str(path))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("midis")
    for i in range(30):
        _random_walk_midi(root / f"piece_{i:02d}.mid", i)
    (root / "broken.mid").write_bytes(b"MThd garbage")
    return root


TINY = [
    *("--generator-width", "8", "--critic-width", "4", "--z-dim", "4", "--batch-size", "8"),
    *("--n-critic", "1", "--iterations", "4", "--device", "cpu", "--no-progress"),
]


def test_train_generate_audit_evaluate(folder, tmp_path, capsys):
    model = tmp_path / "m.pt"
    assert main(["music", "train", "--data", str(folder), "--out", str(model), *TINY]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 file(s)" in out and "alarms:" in out and model.is_file()
    assert MusicGAN.load(model).spec.iterations == 4

    samples = tmp_path / "samples"
    assert main(["music", "generate", "--model", str(model), "--out", str(samples), "--n", "3",
                 "--key", "G", "--wav", "--no-progress"]) == 0  # fmt: skip
    written = sorted(p.name for p in samples.iterdir())
    assert written[:3] == ["piano_rolls.png", "sample_000.mid", "sample_000.wav"]
    assert len([w for w in written if w.endswith(".mid")]) == 3
    plain = tmp_path / "plain"
    assert main(["music", "generate", "--model", str(model), "--out", str(plain), "--n", "2",
                 "--truncation", "none", "--no-progress"]) == 0  # fmt: skip
    assert len(list(plain.glob("*.mid"))) == 2

    report = tmp_path / "audit.json"
    html = tmp_path / "audit.html"
    # the training folder audited against itself: its own pieces are copies
    assert main(["music", "audit", "--generated", str(folder), "--data", str(folder),
                 "--out", str(report), "--report", str(html), "--no-progress"]) == 0  # fmt: skip
    result = json.loads(report.read_text())
    assert result["flagged"] and result["checks"]["near_copy_share"]["value"] > 0.5
    assert "MEMORISED" in capsys.readouterr().out and html.stat().st_size > 10_000

    evaluation = tmp_path / "eval.json"
    page = tmp_path / "eval.html"
    assert main(["music", "evaluate", "--model", str(model), "--data", str(folder),
                 "--n", "24", "--out", str(evaluation), "--report", str(page),
                 "--no-progress"]) == 0  # fmt: skip
    result = json.loads(evaluation.read_text())
    assert set(result["quality"]["metrics"]) >= {"in_key_rate", "tonal_distance"}
    assert "baseline_mean_overlap" in result["quality"]
    moves = result["quality"]["melodic_moves"]
    assert set(moves) == {"gan", "heldout", "baseline"} and moves["heldout"]["moves"] > 0
    assert 0.0 <= moves["gan"]["step_share"] <= 1.0
    human = moves["heldout"]
    row = f"{human['step_share']:.0%} of moves by a step, {human['leap_share']:.0%} by a leap"
    assert "voice leading, held-out humans" in page.read_text() and row in page.read_text()
    assert "interpolation_max_jump" in result["originality"]["checks"]


def test_track_selection_from_the_command_line(folder, tmp_path):
    with pytest.warns(UserWarning, match="skipped 1 of 31"):
        pieces, _ = load_midi_folder(folder, tracks=["voice 3", "voice 2", "voice 1", "voice 0"])
    assert pieces[0].roll.shape[0] == 4
    model = tmp_path / "m.pt"
    argv = ["music", "train", "--data", str(folder), "--tracks", "3", "2", "1", "0",
            "--out", str(model), *TINY]  # fmt: skip
    assert main(argv) == 0 and model.is_file()
