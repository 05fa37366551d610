"""A short `ganforge vision train` for the kill-and-resume matrix (see test_cli_resume.py):
the progressive GAN on the embedded 8x8 digits, resumed inside its fade-in phases."""

TRAIN = (
    "vision train --family pggan --dataset digits --width 4 --latent-dim 8 --batch-size 16 "
    "--iterations 12 --stage-iterations 2 --device cpu "
    "--run-dir {run} --out {out} --checkpoint-every 2 --no-progress"
)
