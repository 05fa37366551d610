"""Options derived from a spec dataclass, merged once with a --config file."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Literal

import pytest

from ganforge.apps.common import merge_options
from ganforge.apps.errors import UsageError
from ganforge.apps.specs import add_spec_options, field_docs, spec_fields


@dataclass
class Spec:
    """A toy spec.

    Args:
        width: hidden units of the
            network (wrapped line).
        rate, decay: two numbers sharing
            one entry.
        loss: which ``loss``; ``None`` is not allowed here.
        limit: a cap, or ``None`` for none.
        sizes: layer sizes.
        tied: share weights.
    """

    width: int = 8
    rate: float = 0.1
    decay: float = 0.9
    loss: Literal["hinge", "wgan"] = "hinge"
    limit: float | None = 2.0
    sizes: tuple[int, ...] = (4, 4)
    tied: bool = False


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_spec_options(parser, Spec)
    return parser.parse_args(argv)


def test_field_docs_are_read_from_the_args_section():
    docs = field_docs(Spec)
    assert docs["width"] == "hidden units of the network (wrapped line)."
    assert docs["rate"] == docs["decay"] == "two numbers sharing one entry."
    assert docs["loss"] == "which loss; none is not allowed here."
    assert set(docs) == set(spec_fields(Spec))


def test_flags_given_override_the_config_file_which_overrides_defaults(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"width": 16, "rate": 0.5, "tied": True}))
    arguments = parse(["--config", str(config), "--width", "32", "--sizes", "2", "3"])
    options = merge_options(arguments, spec_fields(Spec), {})
    assert options == {"width": 32, "rate": 0.5, "tied": True, "sizes": [2, 3]}
    assert Spec(**options).width == 32


def test_none_on_the_line_sets_none_and_booleans_have_both_forms():
    options = merge_options(parse(["--limit", "none", "--no-tied"]), spec_fields(Spec), {})
    assert options == {"limit": None, "tied": False}
    assert merge_options(parse(["--tied"]), spec_fields(Spec), {}) == {"tied": True}


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--width", "x"], "must be an integer"), (["--loss", "ls"], "invalid choice")],
)
def test_bad_values_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse(argv)
    assert message in capsys.readouterr().err


def test_unknown_config_keys_are_refused(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"widht": 3}))
    with pytest.raises(UsageError, match="unknown config keys"):
        merge_options(parse(["--config", str(config)]), spec_fields(Spec), {})


@dataclass
class Weights:
    """Nested weights.

    Args:
        pixel: weight of the pixel loss.
        edge: weight of the edge loss.
    """

    pixel: float = 1.0
    edge: float = 0.5


@dataclass
class Sizes:
    """Sizes with fixed choices.

    Args:
        scale: 2 or 4.
        num_blocks: blocks.
    """

    scale: Literal[2, 4] = 2
    num_blocks: int = 4


def nested_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_spec_options(parser, Spec, skip=("sizes", "tied"))
    add_spec_options(parser, Weights, prefix="weight_", skip=("edge",))
    add_spec_options(parser, Sizes, aliases={"num_blocks": "--blocks"})
    return parser


def test_a_prefix_gives_a_nested_spec_its_own_flags_and_keys(tmp_path):
    keys = spec_fields(Weights, prefix="weight_")
    assert keys == ("weight_pixel", "weight_edge")
    assert spec_fields(Weights, skip=("edge",), prefix="weight_") == ("weight_pixel",)
    parser = nested_parser()
    assert "weight of the pixel loss. (default: 1.0)" in " ".join(parser.format_help().split())
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"weight_edge": 0.25}))
    arguments = parser.parse_args(["--config", str(config), "--weight-pixel", "2"])
    assert arguments.weight_pixel == 2.0 and not hasattr(arguments, "pixel")
    options = merge_options(arguments, keys, {})
    assert options == {"weight_pixel": 2.0, "weight_edge": 0.25}
    with pytest.raises(SystemExit):
        parser.parse_args(["--weight-edge", "1"])  # skipped: no flag


def test_an_alias_is_one_more_spelling_of_the_same_option():
    parser = nested_parser()
    assert parser.parse_args(["--blocks", "2"]).num_blocks == 2
    assert parser.parse_args(["--num-blocks", "3"]).num_blocks == 3
    assert "--num-blocks INT, --blocks INT" in parser.format_help()


def test_number_literals_are_read_as_numbers_and_checked_as_choices(capsys):
    parser = nested_parser()
    assert parser.parse_args(["--scale", "4"]).scale == 4
    for bad, message in (("3", "invalid choice: 3"), ("x", "must be an integer")):
        with pytest.raises(SystemExit):
            parser.parse_args(["--scale", bad])
        assert message in capsys.readouterr().err


def test_a_percent_sign_in_a_field_doc_reaches_the_help_as_written():
    @dataclass
    class Shares:
        """Shares.

        Args:
            cut: keep rows above 99 % of the maximum.
        """

        cut: float = 0.99

    parser = argparse.ArgumentParser()
    add_spec_options(parser, Shares)
    assert "keep rows above 99 % of the maximum. (default: 0.99)" in " ".join(
        parser.format_help().split()
    )
