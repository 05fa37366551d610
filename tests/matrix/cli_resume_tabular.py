"""A short `ganforge tabular fit` for the kill-and-resume matrix (see test_cli_resume.py).

Without DP, so the uninterrupted and the resumed run can be compared bit for bit
(a DP fit draws its noise from OS entropy; its exact resume from a checkpoint is
tested in tests/tabular/test_private_randomness.py).
"""

TRAIN = (
    "tabular fit --dataset iris --epsilon none --epochs 4 --batch-size 16 "
    "--run-dir {run} --out {out} --checkpoint-every 5 --no-progress"
)
