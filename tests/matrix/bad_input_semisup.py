"""Bad input for `ganforge semisup ...` (see test_cli_bad_input.py)."""

import gzip
import json
import struct
from pathlib import Path

import numpy as np

TRAIN = "semisup train --out {out} --no-progress --dataset digits --iterations 1 "
PREDICT = "semisup predict --out {out} --no-progress "
EVAL = "semisup evaluate --out {out} --no-progress --dataset digits "


def files(tmp: Path) -> dict[str, Path]:
    """Arrays, IDX files and image folders that are wrong in one way each, and a small model."""
    made: dict[str, Path] = {}
    arrays = {
        "too_few_images": (np.random.default_rng(0).random((40, 4, 4)), np.arange(40) % 10),
        "rare_class": (np.random.default_rng(0).random((100, 4, 4)), _rare_class_labels()),
        "float_pixels_255": (np.full((40, 4, 4), 200.0), np.arange(40) % 2),
        "labels_short": (np.zeros((40, 4, 4)), np.arange(30) % 2),
    }
    for name, (x, y) in arrays.items():
        made[name] = tmp / f"{name}.npz"
        np.savez(made[name], x=x, y=y)
    made["no_y_npz"] = tmp / "no_y.npz"
    np.savez(made["no_y_npz"], x=np.zeros((4, 4, 4)))
    made["pickle_npz"] = tmp / "pickle.npz"
    np.savez(made["pickle_npz"], x=np.array([{"a": 1}], dtype=object), y=np.array([0]))
    idx = tmp / "idx"
    idx.mkdir()
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 50, 28, 28)
    (idx / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + bytes(100)))
    (idx / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 50]) + bytes(50))
    made["corrupt_idx_folder"] = idx
    made["corrupt_idx_file"] = idx / "train-images-idx3-ubyte.gz"
    empty_class = tmp / "classes"
    (empty_class / "a").mkdir(parents=True)
    (empty_class / "b").mkdir()
    made["empty_class_folder"] = empty_class
    made["wrong_size_npy"] = tmp / "wrong_size.npy"
    np.save(made["wrong_size_npy"], np.zeros((3, 5, 5), np.float32))
    made["unknown_key"] = tmp / "unknown_key.json"
    made["unknown_key"].write_text(json.dumps({"width": 3}))
    made["model"] = _small_model(tmp / "model.pt")
    return made


def _rare_class_labels() -> np.ndarray:
    """100 labels: class 9 three times, the other nine classes about eleven times each."""
    labels = np.arange(97) % 9
    return np.concatenate([labels, [9, 9, 9]])


def _small_model(path: Path) -> Path:
    """A valid model file (untrained networks, 8x8 digits) for the bad-input cases."""
    from ganforge.semisup import SemiSupervisedGAN

    model = SemiSupervisedGAN(hidden=(8,), generator_hidden=(8,), device="cpu")
    model.discriminator, model.generator = model._build(64)
    model.classes_, model.image_shape = np.arange(10), (8, 8)
    return model.save(path)


CASES = {
    "train on a missing path": (
        TRAIN.replace("--dataset digits ", "") + "--data {missing}",
        "no such",
    ),
    "train on garbage": (TRAIN.replace("--dataset digits ", "") + "--data {garbage}", ".npz"),
    "train on an empty folder": (
        TRAIN.replace("--dataset digits ", "") + "--data {folder}",
        "no class folders",
    ),
    "train on too few images to hold out a test set": (
        TRAIN.replace("--dataset digits ", "") + "--data {too_few_images}",
        "too few for a stratified 20% test split",
    ),
    "train with a class too rare to label": (
        TRAIN.replace("--dataset digits ", "") + "--data {rare_class} --labels-per-class 5",
        "class 9 has 2 examples, fewer than 5 per class",
    ),
    "train with float pixels above 1": (
        TRAIN.replace("--dataset digits ", "") + "--data {float_pixels_255}",
        "float pixels must lie in [0, 1]",
    ),
    "train with fewer labels than images": (
        TRAIN.replace("--dataset digits ", "") + "--data {labels_short}",
        "y has 30 labels for 40 images",
    ),
    "train on a .npz without y": (
        TRAIN.replace("--dataset digits ", "") + "--data {no_y_npz}",
        "arrays named x and y",
    ),
    "train on a pickled .npz": (
        TRAIN.replace("--dataset digits ", "") + "--data {pickle_npz}",
        "not a readable .npz",
    ),
    "train on a corrupt IDX file": (
        TRAIN.replace("--dataset digits ", "") + "--data {corrupt_idx_folder}",
        "is corrupt",
    ),
    "train on a class folder without images": (
        TRAIN.replace("--dataset digits ", "") + "--data {empty_class_folder}",
        "has no images",
    ),
    "train with --dataset and --data": (TRAIN + "--data {folder}", "not allowed with"),
    "train with an unknown dataset": (
        "semisup train --out {out} --dataset cifar10",
        "invalid choice",
    ),
    "train with --labels-per-class 0": (TRAIN + "--labels-per-class 0", "at least 1"),
    "train with --labels-per-class 500": (TRAIN + "--labels-per-class 500", "fewer than 500"),
    "train with --batch-size 0": (TRAIN + "--batch-size 0", "batch_size must be"),
    "train with --batch-size larger than the data": (
        TRAIN + "--batch-size 5000",
        "fewer than batch_size",
    ),
    "train with --lr 0": (TRAIN + "--lr 0", "lr must be a finite number > 0"),
    "train with --beta1 1": (TRAIN + "--beta1 1", "beta1 must be in"),
    "train with --hidden 0": (TRAIN + "--hidden 0", "every width in hidden"),
    "train with --device tpu": (TRAIN + "--device tpu", "device"),
    "train with an unknown config key": (TRAIN + "--config {unknown_key}", "unknown config keys"),
    "train with a garbage config": (TRAIN + "--config {garbage}", "config"),
    "train with --out a folder": ("semisup train --dataset digits --out {folder}", "is a folder"),
    "train --resume without --run-dir": (TRAIN + "--resume", "needs --run-dir"),
    "train --resume with nothing to resume": (
        TRAIN + "--run-dir {run} --resume",
        "nothing to resume",
    ),
    "predict with a garbage model": (
        PREDICT + "--model {garbage} --input {wrong_size_npy}",
        "garbage",
    ),
    "predict with a model of another kind": (
        PREDICT + "--model {foreign_model} --input {wrong_size_npy}",
        "not a semisup.SemiSupervisedGAN",
    ),
    "predict with a newer model format": (
        PREDICT + "--model {newer_model} --input {wrong_size_npy}",
        "upgrade ganforge",
    ),
    "predict with a truncated model": (
        PREDICT + "--model {truncated_model} --input {wrong_size_npy}",
        "not a loadable",
    ),
    "predict on an unknown device": (
        PREDICT + "--model {model} --input {garbage} --device tpu",
        "device",
    ),
    "predict images of another size": (
        PREDICT + "--model {model} --input {wrong_size_npy}",
        "trained on 8x8",
    ),
    "predict garbage": (PREDICT + "--model {model} --input {garbage}", "not an IDX file"),
    "predict a corrupt IDX file": (
        PREDICT + "--model {model} --input {corrupt_idx_file}",
        "is corrupt",
    ),
    "predict a missing input": (PREDICT + "--model {model} --input {missing}", "no such input"),
    "predict an empty folder": (PREDICT + "--model {model} --input {folder}", "has no images"),
    "predict without --input": (PREDICT + "--model {model}", "required"),
    "predict into a folder": (
        "semisup predict --model {model} --input {wrong_size_npy} --out {folder}",
        "is a folder",
    ),
    "evaluate a garbage model": (EVAL + "--model {garbage}", "garbage"),
    "evaluate a model of another kind": (EVAL + "--model {foreign_model}", "not a semisup"),
    "evaluate a newer model format": (EVAL + "--model {newer_model}", "upgrade ganforge"),
    "evaluate a truncated model": (EVAL + "--model {truncated_model}", "not a loadable"),
    "evaluate on data of another image size": (
        "semisup evaluate --out {out} --model {model} --dataset mnist",
        "trained on (8, 8)",
    ),
    "evaluate on a missing folder": (
        "semisup evaluate --out {out} --model {model} --data {missing}",
        "no such",
    ),
    "evaluate on an unknown device": (EVAL + "--model {model} --device tpu", "device"),
    "evaluate into a folder": (
        "semisup evaluate --model {model} --dataset digits --out {folder}",
        "is a folder",
    ),
    "evaluate with the HTML report into a folder": (
        EVAL + "--model {model} --report {folder}",
        "is a folder",
    ),
}
