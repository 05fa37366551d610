"""Transposition- and offset-invariant similarity, and the originality report's checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.music import RollFeatures, cut_segments, originality_report, training_reference
from ganforge.music.originality import (
    SHARE_FACTOR,
    SHARE_MARGIN,
    interpolation_max_jump,
    longest_copied_run,
    mean_pairwise_similarity,
    near_copy_verdict,
    unique_bar_share,
)
from ganforge.music.similarity import cosine, transpose

LOW, P = 35, 48


def _crop(pieces):
    return [p.roll[:, :, LOW : LOW + P] > 0 for p in pieces]


@pytest.fixture(scope="module")
def split(chorales):
    train, held = chorales[:8], chorales[8:]
    reference = training_reference(
        _crop(train), first_bars=[p.first_bar for p in train], names=[p.name for p in train]
    )
    return train, held, reference


def test_features_give_the_exact_cosine_of_the_full_rolls():
    rng = np.random.default_rng(0)
    pieces = [rng.random((4, 80, P)) < 0.05 for _ in range(3)]
    pieces[0][0, :, :10] = False  # a track that never uses its lowest pitches
    features = RollFeatures.fit(pieces, 64)
    windows, index = features.reference(pieces, hop=1)
    assert len(windows) == 3 * 17 and index.start[:3].tolist() == [0, 1, 2]
    query = rng.random((2, 4, 64, P)) < 0.05
    views = features.views(query).reshape(2, 12, -1)
    for q in range(2):
        for v, shift in enumerate((0, 1, -1, 2)):
            moved = transpose(torch.as_tensor(query[q]), shift).numpy()
            for w in (0, 20, 40):
                expected = cosine(
                    moved, pieces[index.piece[w]][:, index.start[w] : index.start[w] + 64]
                )
                a, b = views[q, v].double(), windows[w].double()
                # the query's norm counts the notes its transposition pushed off the axis
                assert float(a @ b / a.norm() / b.norm()) == pytest.approx(
                    expected * np.sqrt(moved.sum() / query[q].sum()), abs=1e-6
                )


def test_a_transposed_copy_at_an_odd_offset_is_found(split):
    train, held, reference = split
    source = _crop(train)[3]
    start = train[3].first_bar + 7  # not on a bar line
    copy = transpose(torch.as_tensor(source[:, start : start + 64]), 3).numpy()
    heldout = cut_segments(held, LOW, P, hop=8).rolls
    noise = np.random.default_rng(1).random((5, 4, 64, P)) < 0.04
    report = originality_report(
        np.concatenate([copy[None], noise]), reference, heldout, lowest_pitch=LOW,
        music_metrics=False,
    )  # fmt: skip
    best = report.closest[0]
    assert best["generated"] == 0 and best["similarity"] == pytest.approx(1.0)
    assert best["piece"] == train[3].name and best["start_step"] == start
    assert best["transposition"] == -3  # the copy moved back down three semitones
    # the bar-aligned, untransposed comparison misses it
    assert report.details["bar_aligned_share"] == 0.0
    assert report.checks["near_copy_share"].value == pytest.approx(1 / 6)


def test_the_report_flags_copies_and_passes_new_music(split):
    train, held, reference = split
    heldout = cut_segments(held, LOW, P, hop=8)
    copies = cut_segments(train, LOW, P).rolls[:20]
    fresh = np.random.default_rng(2).random((20, 4, 64, P)) < 0.03
    path = np.stack([fresh[0]] * 5 + [fresh[1]] * 5)  # one jump in the middle
    reports = __import__("ganforge.music.originality", fromlist=["x"]).originality_reports(
        {"copies": copies, "fresh": fresh}, reference, heldout.rolls, lowest_pitch=LOW,
        heldout_groups=[held[i].melody for i in heldout.piece], interpolation={"fresh": path},
    )  # fmt: skip
    copied, new = reports["copies"], reports["fresh"]
    assert copied.flagged and copied.checks["near_copy_share"].value == 1.0
    assert copied.checks["copied_bars"].flagged and copied.details["longest_copied_bars"] == 4
    assert not new.flagged and new.checks["near_copy_share"].value == 0.0
    assert (
        new.checks["interpolation_max_jump"].value == 1.0
        and new.checks["interpolation_max_jump"].flagged
    )
    assert "interpolation_max_jump" not in copied.checks
    for report in (copied, new):
        assert (
            report.checks["near_copy_share"].reference == copied.checks["near_copy_share"].reference
        )
        for check in report.checks.values():
            assert check.threshold and check.text
        summary = report.summary()
        assert summary["checks"]["near_copy_share"]["verdict"] in ("pass", "flagged")
        assert set(summary["details"]["music_metrics"]) >= {"pitch_range", "tonal_distance"}


def test_verdict_rule():
    assert near_copy_verdict(0.2, 0.02, 100, 100)[0]
    limit = SHARE_FACTOR * 0.02 + SHARE_MARGIN
    assert not near_copy_verdict(limit, 0.02, 100, 100)[0]
    assert near_copy_verdict(limit + 0.01, 0.02, 100, 100)[0]


def test_diversity_checks_on_hand_made_sets():
    rng = np.random.default_rng(3)
    one = rng.random((4, 64, P)) < 0.05
    collapsed = np.stack([one] * 10)
    assert mean_pairwise_similarity(collapsed) == pytest.approx(1.0)
    assert unique_bar_share(collapsed) == pytest.approx(4 / 40)  # 4 distinct bars in 40
    assert interpolation_max_jump(collapsed) == 0.0
    varied = rng.random((10, 4, 64, P)) < 0.05
    assert mean_pairwise_similarity(varied) < 0.2 and unique_bar_share(varied) == 1.0
    # a steady path: equal changes in each of its nine steps
    path = np.zeros((10, 4, 64, P), bool)
    for i in range(10):
        path[i, 0, : 6 * i, 0] = True
    assert interpolation_max_jump(path) == pytest.approx(1 / 9)


def test_longest_copied_run_counts_consecutive_bars(split):
    train, _, reference = split
    source = _crop(train)[0]
    start = train[0].first_bar
    segment = source[:, start : start + 64].copy()
    assert longest_copied_run(segment, reference) == 4
    segment[:, 40:, :] = np.roll(segment[:, 40:, :], 1, axis=0)  # scramble bars 3 and 4
    assert longest_copied_run(segment, reference) == 2
