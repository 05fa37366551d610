"""The embedded splits and the user's images: folders, .npy / .npz, MNIST IDX."""

import gzip
import struct

import numpy as np
import pytest
import torch

from ganforge.robustness import as_image_batch, load_embedded, load_images


def test_embedded_digits_split_is_stratified(digits):
    assert digits.x_train.shape[1:] == (1, 8, 8)
    assert len(digits.y_train) + len(digits.y_test) == 1797
    assert float(digits.x_train.max()) == 1.0 and float(digits.x_train.min()) == 0.0
    counts = torch.bincount(digits.y_test, minlength=10)
    assert int(counts.min()) >= 35 and int(counts.max()) <= 37


def test_embedded_mnist_is_4000_and_1000():
    split = load_embedded("mnist")
    assert len(split.y_train) == 4000 and len(split.y_test) == 1000
    assert torch.bincount(split.y_test).tolist() == [100] * 10


def test_images_from_npy_npz_folder_and_idx(tmp_path):
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (6, 5, 5)).astype(np.uint8)
    np.save(tmp_path / "x.npy", pixels)
    x, y = load_images(tmp_path / "x.npy")
    assert x.shape == (6, 1, 5, 5) and y is None
    torch.testing.assert_close(x[:, 0], torch.from_numpy(pixels / 255.0).float())
    np.savez(tmp_path / "xy.npz", x=pixels / 255.0, y=np.arange(6) % 3)
    x, y = load_images(tmp_path / "xy.npz")
    assert y.tolist() == [0, 1, 2, 0, 1, 2]
    for label in ("0", "7"):
        (tmp_path / "folder" / label).mkdir(parents=True)
        Image.fromarray(pixels[0]).save(tmp_path / "folder" / label / "a.png")
    x, y = load_images(tmp_path / "folder")
    assert x.shape == (2, 1, 5, 5) and y.tolist() == [0, 7]
    idx = tmp_path / "idx"
    idx.mkdir()
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 6, 5, 5)
    (idx / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + pixels.tobytes()))
    labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 6) + bytes([1, 2, 3, 4, 5, 6])
    (idx / "train-labels-idx1-ubyte").write_bytes(labels)
    x, y = load_images(idx)
    assert x.shape == (6, 1, 5, 5) and y.tolist() == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.full((2, 4, 4), 2.0), "must lie in [0, 1], the declared range"),
        (np.full((2, 4, 4), -1), "0-255"),
        (np.zeros((2, 16)), "must be images"),
        (np.array([[[np.nan]]]), "NaN"),
        (np.array(["a"]), "must hold numbers"),
    ],
)
def test_bad_arrays_are_one_line_errors(array, fragment):
    with pytest.raises(ValueError) as error:
        as_image_batch(array)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_bad_files_are_one_line_errors(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable .npy"):
        load_images(tmp_path / "bad.npy")
    np.savez(tmp_path / "no_x.npz", y=np.arange(3))
    with pytest.raises(ValueError, match="array named x"):
        load_images(tmp_path / "no_x.npz")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a readable"):
        load_images(tmp_path / "obj.npy")
    with pytest.raises(ValueError, match="no such"):
        load_images(tmp_path / "missing")
