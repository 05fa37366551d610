"""Bad input for `ganforge medsr ...` (see test_cli_bad_input.py)."""

CASES = {
    "train on garbage": ("medsr train --images {garbage} --out {out} --no-progress", "garbage"),
    "enhance garbage model": (
        "medsr enhance --model {garbage} --input {garbage} --out {out}",
        "garbage",
    ),
    "enhance missing model": (
        "medsr enhance --model {missing} --input {garbage} --out {out}",
        "missing",
    ),
    "evaluate garbage model": ("medsr evaluate --model {garbage} --out {out}", "garbage"),
}
