"""A short `ganforge vocoder train` for the kill-and-resume matrix (see test_cli_resume.py):
the small HiFi-GAN V3 generator with the multi-scale discriminator on the tiny corpus."""

TRAIN = (
    "vocoder train --corpus tiny --generator hifigan_v3 --discriminators msd "
    "--segment-length 1024 --batch-size 2 --iterations 6 --device cpu "
    "--run-dir {run} --out {out} --checkpoint-every 2 --no-progress"
)
