"""The randomness privacy rests on cannot be recovered from anything a DP fit releases."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from ganforge.tabular import DPTabularGAN
from ganforge.tabular.dp_stats import dp_categories
from ganforge.tabular.model import DPConfig, TabularGAN
from ganforge.tabular.transformer import DataTransformer, Span

TINY = {"epochs": 1, "batch_size": 50, "hidden": (16,), "noise_dim": 8}
# the category counts of the public report: two columns whose exact counts an attacker wants
CITY_COUNTS = {"oslo": 413, "rome": 1008, "lima": 579}
FLAG_COUNTS = {"n": 828, "y": 1172}


def counts_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    city = np.repeat(list(CITY_COUNTS), list(CITY_COUNTS.values()))
    flag = np.repeat(list(FLAG_COUNTS), list(FLAG_COUNTS.values()))
    return pd.DataFrame({"city": rng.permutation(city), "flag": rng.permutation(flag)})


def seeded_attack(
    private_counts: list[np.ndarray], epsilon_per_column: float, seed: int
) -> list[np.ndarray]:
    """Subtract the Laplace noise a generator seeded with ``seed`` would have drawn, column
    after column in the transformer's order: exact counts if the noise came from that seed."""
    rng = np.random.default_rng(seed)
    return [c - rng.laplace(0.0, 1.0 / epsilon_per_column, size=len(c)) for c in private_counts]


def exact(recovered: list[np.ndarray], truth: list[np.ndarray]) -> bool:
    return all(np.allclose(r, t, atol=1e-6) for r, t in zip(recovered, truth, strict=True))


TRUTH = [
    np.array([CITY_COUNTS[c] for c in sorted(CITY_COUNTS)], dtype=float),
    np.array([FLAG_COUNTS[c] for c in sorted(FLAG_COUNTS)], dtype=float),
]


def test_the_attack_recovers_counts_when_the_noise_comes_from_a_known_seed():
    table = counts_table()
    rng = np.random.default_rng(0)  # how the noise was drawn before: from seed=0
    released = [dp_categories(table[c].to_numpy(object), 0.2, 1e-6, rng)[1] for c in table]
    assert exact(seeded_attack(released, 0.2, 0), TRUTH)


def test_counts_cannot_be_recovered_from_a_released_model_file(tmp_path):
    path = DPTabularGAN(4.0, seed=0, **TINY).fit(counts_table()).save(tmp_path / "m.pt")
    synth = DPTabularGAN.load(path)  # what an attacker holding the file sees
    private = [synth.transformer.private_counts()[c] for c in ("city", "flag")]
    epsilon_per_column = synth.privacy.epsilon_statistics / 2
    assert epsilon_per_column == pytest.approx(0.2)
    for seed in range(20):  # the default seed, and any other small one
        assert not exact(seeded_attack(private, epsilon_per_column, seed), TRUTH)
    # the released counts are noisy, not exact
    assert not exact(private, TRUTH)


def test_statistics_noise_differs_between_two_fits_with_the_same_seed():
    table = counts_table()
    first = DPTabularGAN(4.0, seed=0, **TINY).fit(table)
    second = DPTabularGAN(4.0, seed=0, **TINY).fit(table)
    counts = [s.transformer.private_counts()["city"] for s in (first, second)]
    assert not np.array_equal(*counts)
    # but both are within the Laplace(scale 1 / 0.2) noise of the truth: beyond 12
    # scales with probability exp(-12) = 6e-6 per count
    for noisy in counts:
        assert np.all(np.abs(noisy - TRUTH[0]) < 12 * 5.0)
    again = [
        DataTransformer.fit(table, epsilon=0.4, delta=1e-6, seed=1).private_counts()["flag"]
        for _ in range(2)
    ]
    assert not np.array_equal(*again)


def test_the_model_file_holds_no_seed_and_no_random_state(tmp_path):
    path = DPTabularGAN(4.0, seed=123, **TINY).fit(counts_table()).save(tmp_path / "m.pt")
    raw = torch.load(path, weights_only=True)
    assert raw["ganforge_model"] == "tabular.DPTabularGAN"
    assert set(raw["state"]) == {"generator"}
    assert set(raw["extra"]) == {"transformer", "privacy", "conditional"}
    spec = json.loads(raw["spec"])
    assert "seed" not in spec and "device" not in spec
    assert not any(t.dtype == torch.uint8 for t in raw["state"]["generator"].values())
    for text in (raw["spec"], *raw["extra"].values()):
        # 123 as a number of its own, not as digits inside a released frequency
        assert "seed" not in text and "state" not in text
        assert not re.search(r"(?<![\d.])123(?![\d.])", text)


def test_a_dp_fit_shows_and_logs_no_statistic_of_real_rows(tmp_path, capsys):
    table = counts_table()
    synth = DPTabularGAN(4.0, **TINY).fit(table, progress=True, run_dir=tmp_path / "run")
    err = capsys.readouterr().err
    keys = {key for record in synth.history for key in record}
    assert keys and not any(key.startswith("D/") for key in keys), keys
    assert "D/" not in err and "real" not in err
    log = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert log and "D/" not in log
    # without DP the same values are there: the check above can fail
    plain = DPTabularGAN(None, **TINY).fit(table)
    assert any(key.startswith("D/real_score") for r in plain.history for key in r)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epsilon": float("inf")}, "epsilon must be a finite number > 0"),
        ({"epsilon": float("nan")}, "epsilon must be a finite number > 0"),
        ({"epsilon": 0.0}, "epsilon must be a finite number > 0"),
        ({"delta": 1.0}, "delta must be in"),
        ({"max_grad_norm": 0.0}, "max_grad_norm must be"),
        ({"max_grad_norm": -1.0}, "max_grad_norm must be"),
        ({"noise_multiplier": -1.0}, "noise_multiplier must be"),
        ({"noise_multiplier": 0.0}, "noise_multiplier must be"),
        ({"hidden": (0,)}, "hidden must be"),
        ({"hidden": (1.5,)}, "hidden must be"),
        ({"epochs": 0}, "epochs must be"),
        ({"device": "tpu"}, "unknown device"),
    ],
)
def test_settings_that_void_the_guarantee_are_refused(options, message):
    settings = {"epsilon": 1.0, **options}
    with pytest.raises(ValueError, match=message):
        DPTabularGAN(settings.pop("epsilon"), **settings)


def test_a_delta_of_one_over_n_or_more_is_refused_before_training():
    table = counts_table()  # 2000 rows
    synth = DPTabularGAN(1.0, delta=1 / 2000, **TINY)
    with pytest.raises(ValueError, match="not below 1/n"):
        synth.fit(table)
    assert synth.transformer is None


def test_dp_sgd_noise_uses_the_secure_path_and_a_private_generator():
    module = TabularGAN([Span(2, "softmax")], 8, 4, (8,), dp=DPConfig(1.0, 1.0, 0.1, 8, 1.0, 1e-5))
    optimizer = module.build_optimizers()["D"]
    assert optimizer.secure_mode is True
    assert optimizer.generator is module.noise_generator
    other = TabularGAN([Span(2, "softmax")], 8, 4, (8,), dp=DPConfig(1.0, 1.0, 0.1, 8, 1.0, 1e-5))
    other.build_optimizers()
    state = module.noise_generator.get_state()
    assert not torch.equal(state, other.noise_generator.get_state())
    torch.manual_seed(0)  # the global RNG, which the trainer seeds from seed=, plays no part
    first = torch.randn(4, generator=module.noise_generator)
    torch.manual_seed(0)
    assert not torch.equal(first, torch.randn(4, generator=other.noise_generator))


def test_a_resumed_dp_fit_reuses_its_releases_and_continues_exactly(tmp_path):
    table = counts_table()  # 2000 rows, batch 50, one epoch: 40 steps
    run = tmp_path / "run"
    whole = DPTabularGAN(4.0, **TINY).fit(table, run_dir=run, checkpoint_every=10)
    checkpoint = run / "checkpoint_00000030.pt"
    resumed = [DPTabularGAN(4.0, **TINY).fit(table, resume_from=checkpoint) for _ in range(2)]
    for synth in resumed:
        assert synth.transformer.to_dict() == whole.transformer.to_dict()
        assert synth.conditional.to_dict() == whole.conditional.to_dict()
        assert synth.privacy == whole.privacy
        for key, value in whole.generator.state_dict().items():
            assert torch.equal(value, synth.generator.state_dict()[key]), key


def test_a_dp_fit_refuses_several_processes(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="runs in one process"):
        DPTabularGAN(1.0, **TINY).fit(counts_table())
