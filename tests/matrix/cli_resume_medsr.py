"""`ganforge medsr train` killed and resumed (see test_cli_resume.py).

A tiny generator on MONAI's synthetic images: 3 pretraining iterations, then 16
adversarial ones, both phases of one run. The kill comes once the checkpoint of
iteration 4 is on disk, and ``latest.pt`` then holds iteration 2 (pretraining:
the resumed run crosses into the adversarial phase) or 4 (adversarial: the
pretrained generator and both optimizers come back from the checkpoint).
``--out`` names a ``.pt`` file, so the command writes the final (GAN) model there.
"""

TRAIN = (
    "medsr train --dataset synthetic --degradation psf --scale 2 "
    "--pretrain-iterations 3 --adversarial-iterations 16 --batch-size 2 --patch-size 24 "
    "--channels 4 --blocks 1 --block residual --device cpu --seed 3 "
    "--run-dir {run} --out {out} --checkpoint-every 2 --no-progress"
)
