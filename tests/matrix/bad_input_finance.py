"""Bad input for `ganforge finance ...` (see test_cli_bad_input.py)."""

CASES = {
    "train on garbage": ("finance train --data {garbage} --out {out} --no-progress", "garbage"),
    "sample garbage model": ("finance sample --model {garbage} --out {out}", "garbage"),
    "sample missing model": ("finance sample --model {missing} --out {out}", "missing"),
    "evaluate garbage": ("finance evaluate --synthetic {garbage} --out {out}", "garbage"),
}
