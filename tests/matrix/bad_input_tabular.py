"""Bad input for `ganforge tabular ...` (see test_cli_bad_input.py)."""

CASES = {
    "fit on garbage": ("tabular fit --data {garbage} --out {out} --no-progress", "garbage"),
    "fit with a garbage config": (
        "tabular fit --dataset fair --config {garbage} --out {out} --no-progress",
        "config",
    ),
    "sample garbage model": ("tabular sample --model {garbage} --rows 10 --out {out}", "garbage"),
    "evaluate garbage": (
        "tabular evaluate --train {garbage} --holdout {garbage} --synthetic {garbage} --out {out}",
        "garbage",
    ),
}
