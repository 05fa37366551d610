"""The shared setting checks: what passes, and the one-line messages."""

import re

import numpy as np
import pytest

from ganforge.core.settings import check_at_least, check_fraction, check_integer, check_positive


def test_integers_of_at_least_the_minimum_pass_and_others_are_named():
    check_integer("batch_size", 2, 2)
    check_integer("batch_size", np.int64(3), 1)
    for bad in (1, 2.0, True, "2"):
        with pytest.raises(ValueError, match="batch_size must be an integer >= 2, got"):
            check_integer("batch_size", bad, 2)


def test_positive_and_at_least_refuse_nan_inf_and_bools():
    check_positive("lr", 1e-4)
    check_at_least("gamma", 0.0, 0.0)
    for bad in (0, -1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match=r"lr must be a finite number > 0 \(or none\), got"):
            check_positive("lr", bad, " (or none)")
    with pytest.raises(ValueError, match="gamma must be a finite number >= 0.0, got -0.5"):
        check_at_least("gamma", -0.5, 0.0)


def test_check_known_names_the_unknown_keys_and_the_fields():
    import dataclasses

    from ganforge.core.settings import check_known

    @dataclasses.dataclass
    class Spec:
        width: int = 1
        depth: int = 2

    check_known({"width": 3}, Spec)
    with pytest.raises(ValueError, match=r"^unknown options \['b', 'z'\]: use width, depth$"):
        check_known(["z", "width", "b"], Spec, "options")


@pytest.mark.parametrize(
    ("interval", "inside", "outside"),
    [
        ("(0, 1)", [1e-9, 0.5, np.float32(0.99)], [0, 1, -0.1, 1.5]),
        ("[0, 1)", [0, 0.0, 0.5], [1, 1.0, -1e-9]),
        ("(0, 1]", [1, 1.0, 0.5], [0, 0.0, 1.01]),
        ("[0, 1]", [0, 1, 0.25], [-0.5, 1.5]),
    ],
)
def test_fractions_inside_the_interval_pass_and_its_ends_follow_the_brackets(
    interval, inside, outside
):
    for value in inside:
        check_fraction("share", value, interval)
    message = "^share must be in " + re.escape(interval)
    for value in outside:
        with pytest.raises(ValueError, match=message):
            check_fraction("share", value, interval)


def test_a_fraction_refuses_nan_bools_and_text_with_one_line():
    for value in (float("nan"), True, "0.5", None):
        with pytest.raises(ValueError, match=r"delta must be in \(0, 1\), got "):
            check_fraction("delta", value)
    with pytest.raises(ValueError, match=r"ema_decay must be in \(0, 1\) or None, got 2"):
        check_fraction("ema_decay", 2, hint=" or None")
    with pytest.raises(ValueError, match="interval must be one of"):
        check_fraction("delta", 0.5, "(0, 2)")
