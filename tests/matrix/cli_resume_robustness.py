"""A short `ganforge robustness attack` for the kill-and-resume matrix (see test_cli_resume.py):
dynamic black-box AdvGAN against the embedded 8x8 digits target, through both phases
(distillation, then attack with the surrogate's updates)."""

TRAIN = (
    "robustness attack --dataset digits --mode dynamic --distill-iterations 4 --iterations 20 "
    "--width 4 --blocks 1 --batch-size 16 --device cpu "
    "--run-dir {run} --out {out} --checkpoint-every 3 --no-progress"
)
