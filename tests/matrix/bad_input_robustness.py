"""Bad input for `ganforge robustness ...` (see test_cli_bad_input.py)."""

from pathlib import Path

import numpy as np
import torch

ATTACK = "robustness attack --out {out} --no-progress --dataset digits --iterations 1 "
DEFENCE = "robustness train-defence --out {out} --no-progress --dataset digits --iterations 1 "
EVAL = "robustness evaluate --out {out} --no-progress --dataset digits "


def files(tmp: Path) -> dict[str, Path]:
    """Images and models that are wrong in one way each, and a small valid attack file."""
    from ganforge.robustness import AdvGAN, DenseNet, PatchDiscriminator, PerturbationGenerator

    made: dict[str, Path] = {}
    made["pixels_255"] = tmp / "pixels_255.npz"
    np.savez(made["pixels_255"], x=np.full((40, 8, 8), 200.0), y=np.arange(40) % 10)
    made["flat_npy"] = tmp / "flat.npy"
    np.save(made["flat_npy"], np.zeros((40, 64), np.float32))
    made["no_labels_npy"] = tmp / "no_labels.npy"
    np.save(made["no_labels_npy"], np.zeros((40, 8, 8), np.float32))
    made["three_class_model"] = tmp / "three.ts"
    torch.jit.script(DenseNet(1, 8, 3, hidden=4)).save(str(made["three_class_model"]))
    made["state_dict"] = tmp / "weights.pt"
    torch.save(DenseNet(1, 8, 10, hidden=4).state_dict(), made["state_dict"])
    made["pickled_model"] = tmp / "pickled.pt"
    torch.save(DenseNet(1, 8, 10, hidden=4), made["pickled_model"])
    attack = AdvGAN(width=4, blocks=1, disc_width=4, device="cpu")
    attack.generator, attack.discriminator = (
        PerturbationGenerator(1, 0.3, 4, 1),
        PatchDiscriminator(1, 4),
    )
    attack.image_shape, attack.num_classes = (1, 8, 8), 10
    made["attack"] = attack.save(tmp / "attack.pt")
    return made


CASES = {
    "attack with eps 0": (ATTACK + "--eps 0", "epsilon must be a number > 0"),
    "attack with a negative eps": (ATTACK + "--eps -0.1", "epsilon must be a number > 0"),
    "attack with an unknown mode": (ATTACK + "--mode grey_box", "mode must be one of"),
    "attack with an unknown gan loss": (ATTACK + "--gan-loss bce", "gan_loss must be one of"),
    "attack with --iterations 0": (ATTACK + "--iterations 0", "iterations must be"),
    "attack with --batch-size larger than the data": (ATTACK + "--batch-size 5000", "fewer than"),
    "attack with a target class the model lacks": (
        ATTACK + "--target-class 12",
        "target_class 12 is not one of",
    ),
    "attack a model whose output does not match the labels": (
        ATTACK + "--model {three_class_model}",
        "the model's output has 3 classes",
    ),
    "attack with a pickled model": (ATTACK + "--model {pickled_model}", "TorchScript"),
    "attack with a state dict without architecture": (
        ATTACK + "--model {state_dict}",
        "name its architecture",
    ),
    "attack with a state dict of another architecture": (
        ATTACK + "--model {state_dict} --architecture small_cnn --num-classes 10",
        "does not fit architecture",
    ),
    "attack with a garbage model": (ATTACK + "--model {garbage}", "garbage"),
    "attack with a missing model": (ATTACK + "--model {missing}", "no such model file"),
    "attack with a foreign model file": (ATTACK + "--model {foreign_model}", "not a robustness"),
    "attack images outside the declared range": (
        ATTACK.replace("--dataset digits ", "") + "--data {pixels_255} --model {state_dict} "
        "--architecture mlp --num-classes 10",
        "must lie in [0, 1], the declared range",
    ),
    "attack flat arrays": (
        ATTACK.replace("--dataset digits ", "") + "--data {flat_npy} --model {three_class_model}",
        "must be images",
    ),
    "attack data without --model": (
        ATTACK.replace("--dataset digits ", "") + "--data {no_labels_npy}",
        "--data needs --model",
    ),
    "attack a missing data path": (
        ATTACK.replace("--dataset digits ", "") + "--data {missing} --model {three_class_model}",
        "no such file",
    ),
    "attack with --dataset and --data": (ATTACK + "--data {folder}", "not allowed with"),
    "attack with an unknown dataset": ("robustness attack --out {out} --dataset cifar", "invalid"),
    "attack on an unknown device": (ATTACK + "--device tpu", "device"),
    "attack with an unknown config key": (ATTACK + "--config {garbage}", "config"),
    "attack with --out a folder": ("robustness attack --dataset digits --out {folder}", "folder"),
    "attack --resume without --run-dir": (ATTACK + "--resume", "needs --run-dir"),
    "attack --resume with nothing to resume": (
        ATTACK + "--run-dir {run} --resume",
        "nothing to resume",
    ),
    "train-defence with an unknown method": (DEFENCE + "--method fgsm", "method must be one of"),
    "train-defence with eps 0": (DEFENCE + "--eps 0", "epsilon must be a number > 0"),
    "train-defence with --clean-weight 2": (DEFENCE + "--clean-weight 2", "clean_weight"),
    "train-defence with an unknown architecture": (
        DEFENCE + "--architecture resnet",
        "architecture must be one of",
    ),
    "train-defence with another width than the target": (
        DEFENCE + "--width 8",
        "add --from-scratch",
    ),
    "train-defence on images outside the range": (
        DEFENCE.replace("--dataset digits ", "") + "--data {pixels_255}",
        "declared range",
    ),
    "train-defence on unlabelled images": (
        DEFENCE.replace("--dataset digits ", "") + "--data {no_labels_npy}",
        "has no labels",
    ),
    "train-defence on an unknown device": (DEFENCE + "--device tpu", "device"),
    "train-defence --resume without --run-dir": (DEFENCE + "--resume", "needs --run-dir"),
    "evaluate with nothing to evaluate": (EVAL, "nothing to evaluate"),
    "evaluate a garbage attack": (EVAL + "--attack {garbage}", "garbage"),
    "evaluate a missing attack": (EVAL + "--attack {missing}", "no such attack file"),
    "evaluate an attack of another kind": (EVAL + "--attack {foreign_model}", "not a robustness"),
    "evaluate an attack of a newer format": (EVAL + "--attack {newer_model}", "upgrade ganforge"),
    "evaluate a truncated attack": (EVAL + "--attack {truncated_model}", "not a loadable"),
    "evaluate an attack on images of another size": (
        "robustness evaluate --out {out} --dataset mnist --attack {attack}",
        "trained on (1, 8, 8)",
    ),
    "evaluate with eps 0": (EVAL + "--baselines --eps 0", "must be > 0"),
    "evaluate a model whose output does not match": (
        EVAL + "--baselines --model {three_class_model}",
        "the model's output has 3 classes",
    ),
    "evaluate with a truncated model": (EVAL + "--baselines --model {truncated_model}", "loadable"),
    "evaluate on an unknown device": (EVAL + "--baselines --device tpu", "device"),
    "evaluate into a folder": (
        "robustness evaluate --dataset digits --baselines --out {folder}",
        "is a folder",
    ),
    "evaluate with the report into a folder": (
        EVAL + "--baselines --report {folder}",
        "is a folder",
    ),
}
