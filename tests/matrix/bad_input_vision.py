"""Bad input for `ganforge vision ...` (see test_cli_bad_input.py)."""

import json
from pathlib import Path

import numpy as np

TRAIN = "vision train --out {out} --no-progress --family dcgan --dataset digits --iterations 1 "
SAMPLE = "vision sample --out {tmp}/out/x.png "
EVAL = "vision evaluate --out {out} "


def files(tmp: Path) -> dict[str, Path]:
    """Image folders that are wrong in one way each, and two small model files."""
    from PIL import Image

    made: dict[str, Path] = {}
    mixed = tmp / "mixed"
    mixed.mkdir()
    for name, side in (("a.png", 8), ("b.png", 12)):
        Image.fromarray(np.zeros((side, side), np.uint8)).save(mixed / name)
    made["mixed_sizes"] = mixed
    broken = tmp / "broken"
    broken.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(broken / "good.png")
    (broken / "bad.png").write_bytes(b"not a png at all")
    made["broken_image"] = broken
    one = tmp / "one_class"
    (one / "digits").mkdir(parents=True)
    for i in range(20):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(one / "digits" / f"{i}.png")
    made["one_class"] = one
    made["unknown_key"] = tmp / "unknown_key.json"
    made["unknown_key"].write_text(json.dumps({"depth": 3}))
    made["pickle_npy"] = tmp / "pickle.npy"
    np.save(made["pickle_npy"], np.array([{"a": 1}], dtype=object), allow_pickle=True)
    made["big_npy"] = tmp / "big.npy"
    np.save(made["big_npy"], np.zeros((2, 12, 12), np.float32))
    made["model"] = _model(tmp / "model.pt", "dcgan")
    made["p2p_model"] = _model(tmp / "p2p.pt", "pix2pix")
    return made


def _model(path: Path, family: str) -> Path:
    """A valid model file (untrained networks, 8x8 digits) for the bad-input cases."""
    import torch

    from ganforge.vision import VisionGAN

    model = VisionGAN(family=family, width=4, latent_dim=8, iterations=1, device="cpu")
    model.image_shape, model.num_classes = (1, 8, 8), 1
    model.module = model._build((1, 8, 8), 1, 1)
    torch.manual_seed(0)
    return model.save(path)


CASES = {
    "train without a family": (
        "vision train --out {out} --dataset digits --no-progress",
        "--family is required",
    ),
    "train an unknown family": (TRAIN.replace("dcgan", "biggan"), "invalid choice"),
    "train on a missing folder": (
        TRAIN.replace("--dataset digits ", "") + "--data {missing}",
        "no such folder",
    ),
    "train on an empty folder": (
        TRAIN.replace("--dataset digits ", "") + "--data {folder}",
        "has no images",
    ),
    "train on images of mixed sizes": (
        TRAIN.replace("--dataset digits ", "") + "--data {mixed_sizes}",
        "b.png is 12x12, the first image 8x8",
    ),
    "train on an unreadable image": (
        TRAIN.replace("--dataset digits ", "") + "--data {broken_image}",
        "bad.png is not a readable image",
    ),
    "train pix2pix on one folder": (
        TRAIN.replace("--dataset digits ", "").replace("dcgan", "pix2pix") + "--data {one_class}",
        "needs two sub-folders",
    ),
    "train at a size not a multiple of 4": (
        TRAIN.replace("--dataset digits ", "") + "--data {one_class} --size 10",
        "multiple of 4",
    ),
    "train cgan on one class": (
        TRAIN.replace("--dataset digits ", "").replace("dcgan", "cgan")
        + "--data {one_class} --batch-size 8",
        "needs at least two classes",
    ),
    "train with --dataset and --data": (TRAIN + "--data {folder}", "not allowed with"),
    "train with --batch-size 0": (TRAIN + "--batch-size 0", "batch_size must be"),
    "train with --batch-size larger than the data": (
        TRAIN + "--batch-size 5000",
        "fewer than batch_size",
    ),
    "train with --time-budget 0": (TRAIN + "--time-budget 0", "time_budget must be"),
    "train with an unknown augmentation": (
        TRAIN + "--diffaugment rotate",
        "unknown DiffAugment policy",
    ),
    "train with --device tpu": (TRAIN + "--device tpu", "device"),
    "train with an unknown config key": (TRAIN + "--config {unknown_key}", "unknown config keys"),
    "train with a garbage config": (TRAIN + "--config {garbage}", "config"),
    "train with --out a folder": (
        "vision train --family dcgan --dataset digits --out {folder}",
        "is a folder",
    ),
    "train --resume without --run-dir": (TRAIN + "--resume", "needs --run-dir"),
    "train --resume with nothing to resume": (
        TRAIN + "--run-dir {run} --resume",
        "nothing to resume",
    ),
    "sample with a garbage model": (SAMPLE + "--model {garbage}", "garbage"),
    "sample with a model of another kind": (
        SAMPLE + "--model {foreign_model}",
        "not a vision.VisionGAN",
    ),
    "sample with a newer model format": (SAMPLE + "--model {newer_model}", "upgrade ganforge"),
    "sample with a truncated model": (SAMPLE + "--model {truncated_model}", "not a loadable"),
    "sample into a .txt": (
        "vision sample --model {model} --out {tmp}/out/x.txt",
        "give a .png (grid) or .npy",
    ),
    "sample with --psi from a dcgan": (
        "vision sample --model {model} --out {tmp}/out/x.png --psi 0.5",
        "--psi (truncation) is for stylegan",
    ),
    "sample with --label from a dcgan": (
        "vision sample --model {model} --out {tmp}/out/x.png --label 3",
        "--label is for cgan",
    ),
    "sample --n 0": ("vision sample --model {model} --out {tmp}/out/x.png --n 0", "at least 1"),
    "sample pix2pix without --input": (
        "vision sample --model {p2p_model} --out {tmp}/out/x.png",
        "give --input",
    ),
    "sample pix2pix from a pickled array": (
        "vision sample --model {p2p_model} --out {tmp}/out/x.npy --input {pickle_npy}",
        "not a readable .npy",
    ),
    "sample pix2pix from images of another size": (
        "vision sample --model {p2p_model} --out {tmp}/out/x.npy --input {big_npy}",
        "trained on (1, 8, 8)",
    ),
    "sample pix2pix from a missing input": (
        "vision sample --model {p2p_model} --out {tmp}/out/x.npy --input {missing}",
        "no such input",
    ),
    "sample on an unknown device": (
        "vision sample --model {model} --out {tmp}/out/x.png --device tpu",
        "device",
    ),
    "evaluate a garbage model": (EVAL + "--model {garbage}", "garbage"),
    "evaluate a model of another kind": (EVAL + "--model {foreign_model}", "not a vision"),
    "evaluate a newer model format": (EVAL + "--model {newer_model}", "upgrade ganforge"),
    "evaluate a truncated model": (EVAL + "--model {truncated_model}", "not a loadable"),
    "evaluate on data of another image size": (
        EVAL + "--model {model} --dataset mnist",
        "the model was trained on (1, 8, 8)",
    ),
    "evaluate on a missing folder": (EVAL + "--model {model} --data {missing}", "no such"),
    "evaluate with a missing zoo file": (EVAL + "--model {model} --zoo {missing}", "no such zoo"),
    "evaluate on an unknown device": (EVAL + "--model {model} --device tpu", "device"),
    "evaluate into a folder": ("vision evaluate --model {model} --out {folder}", "is a folder"),
    "evaluate with the HTML report into a folder": (
        EVAL + "--model {model} --report {folder}",
        "is a folder",
    ),
}
