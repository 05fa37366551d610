"""`ganforge finance train` killed and resumed (see test_cli_resume.py).

A tiny stepwise return-path TimeGAN (the default for ``--mode returns``) on
S&P 500 returns: hidden size 4, one recurrent layer, batch 16, 20 iterations
in each of the three phases, a checkpoint every 2 iterations.
"""

TRAIN = (
    "finance train --mode returns --seq-len 8 --stride 8 --iterations 20 --hidden-dim 4 "
    "--num-layers 1 --batch-size 16 --seed 3 "
    "--run-dir {run} --out {out} --checkpoint-every 2 --no-progress"
)
