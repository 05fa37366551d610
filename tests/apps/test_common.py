"""Shared command helpers: JSON config files and atomic CSV output."""

import argparse

import pandas as pd
import pytest

from ganforge.apps.common import merge_options, read_json_object, write_csv
from ganforge.apps.errors import UsageError


def test_config_errors_are_one_line_usage_errors(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "extra.json").write_text('{"epochs": 3, "colour": "red"}')
    with pytest.raises(UsageError, match="no such config file"):
        read_json_object(tmp_path / "missing.json")
    with pytest.raises(UsageError, match=r"not valid JSON: .* \(line 1\)"):
        read_json_object(tmp_path / "bad.json")
    with pytest.raises(UsageError, match="must hold a JSON object"):
        read_json_object(tmp_path / "list.json")
    with pytest.raises(UsageError, match=r"unknown config keys \['colour'\]: use epochs"):
        read_json_object(tmp_path / "extra.json", allowed=["epochs"])
    assert read_json_object(None) == {}


def test_flags_override_config_which_overrides_defaults(tmp_path):
    (tmp_path / "c.json").write_text('{"epochs": 3, "lr": 0.1}')
    arguments = argparse.Namespace(config=tmp_path / "c.json", epochs=None, lr=0.5)
    merged = merge_options(arguments, ("epochs", "lr", "seed"), {"epochs": 1, "seed": 7})
    assert merged == {"epochs": 3, "lr": 0.5, "seed": 7}


def test_csv_is_written_whole_or_not_at_all(tmp_path):
    target = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"a": [1, 2]}), target)
    assert target.read_text() == "a\n1\n2\n"

    class Exploding:
        def to_csv(self, stream, index):
            stream.write("a\n1\n")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_csv(Exploding(), target)
    assert target.read_text() == "a\n1\n2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
