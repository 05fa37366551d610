"""A short `ganforge music train` for the kill-and-resume matrix (see test_cli_resume.py):
tiny networks on the first twelve usable Bach chorales."""

TRAIN = (
    "music train --dataset bach --pieces 12 --generator-width 8 --critic-width 4 --z-dim 4 "
    "--batch-size 8 --n-critic 2 --iterations 6 --device cpu "
    "--run-dir {run} --out {out} --checkpoint-every 2 --no-progress"
)
