"""The benchmark's split and label draw; checked arrays; MNIST IDX files and image folders."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from ganforge.semisup import (
    as_images,
    draw_labels,
    load_embedded,
    load_image_folder,
    load_mnist_folder,
    read_idx,
    semisupervised_split,
)


def test_label_draw_is_balanced_and_reproducible():
    y = np.repeat(np.arange(10), 40)
    np.random.default_rng(1).shuffle(y)
    first, again, other = (
        draw_labels(y, 10, seed=3),
        draw_labels(y, 10, seed=3),
        draw_labels(y, 10, 4),
    )
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert len(set(first.tolist())) == 100
    np.testing.assert_array_equal(np.bincount(y[first]), np.full(10, 10))


def test_label_draw_needs_enough_examples_per_class():
    with pytest.raises(ValueError, match="class 1 has 2 examples, fewer than 3"):
        draw_labels(np.array([0, 0, 0, 1, 1]), 3)


def test_mnist_protocol_4000_1000_and_100_labels():
    split = load_embedded("mnist", seed=0)
    assert split.image_shape == (28, 28)
    assert (len(split.y_labelled), len(split.x_unlabelled), len(split.y_test)) == (100, 3900, 1000)
    np.testing.assert_array_equal(np.bincount(split.y_labelled), np.full(10, 10))
    np.testing.assert_array_equal(np.bincount(split.y_test), np.full(10, 100))  # stratified
    # no image counted twice: labelled, unlabelled and test are disjoint
    keys = [{row.tobytes() for row in part.numpy()} for part in
            (split.x_labelled, split.x_unlabelled, split.x_test)]  # fmt: skip
    assert sum(len(k) for k in keys) == len(set().union(*keys))
    again = load_embedded("mnist", seed=0)
    assert np.array_equal(again.x_labelled.numpy(), split.x_labelled.numpy())
    other = load_embedded("mnist", seed=1)
    assert np.array_equal(other.x_test.numpy(), split.x_test.numpy())  # same held-out 1000
    assert not np.array_equal(other.x_labelled.numpy(), split.x_labelled.numpy())


def test_digits_protocol_50_labels():
    split = load_embedded("digits", seed=0)
    assert split.image_shape == (8, 8)
    assert len(split.y_labelled) == 50 and len(split.y_test) == 360
    assert len(split.x_unlabelled) == 1797 - 360 - 50
    assert float(split.x_unlabelled.max()) == 1.0


def test_unknown_embedded_set():
    with pytest.raises(ValueError, match="unknown embedded data set 'cifar'"):
        load_embedded("cifar")


def test_images_are_scaled_and_checked():
    x, shape = as_images(np.full((2, 3, 3), 255, dtype=np.uint8))
    assert shape == (3, 3) and x.shape == (2, 9) and float(x.max()) == 1.0
    with pytest.raises(ValueError, match=r"float pixels must lie in \[0, 1\]"):
        as_images(np.full((2, 4), 3.0))
    with pytest.raises(ValueError, match="NaN"):
        as_images(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="must be images"):
        as_images(np.zeros(5))
    with pytest.raises(ValueError, match="must hold numbers"):
        as_images(np.array([["a", "b"]]))


def test_split_with_given_test_set():
    x, y = np.random.default_rng(0).random((40, 4, 4)), np.repeat(np.arange(4), 10)
    split = semisupervised_split(x, y, 2, x_test=x[:8], y_test=y[:8])
    assert len(split.y_test) == 8 and len(split.y_labelled) == 8 and len(split.x_unlabelled) == 32
    with pytest.raises(ValueError, match="x_test images are"):
        semisupervised_split(x, y, 2, x_test=np.zeros((3, 5, 5)), y_test=[0, 1, 2])


def idx_bytes(array: np.ndarray) -> bytes:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + array.tobytes()


def write_mnist(folder, n=12, compress=True, test=True):
    rng = np.random.default_rng(0)
    parts = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n, 5, 4), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n) % 3).astype(np.uint8),
    }
    if test:
        parts["t10k-images-idx3-ubyte"] = rng.integers(0, 256, (4, 5, 4), dtype=np.uint8)
        parts["t10k-labels-idx1-ubyte"] = np.arange(4).astype(np.uint8) % 3
    for name, array in parts.items():
        data = idx_bytes(array)
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return parts


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_idx_folder(tmp_path, compress):
    parts = write_mnist(tmp_path, compress=compress)
    x, y, x_test, y_test = load_mnist_folder(tmp_path)
    np.testing.assert_array_equal(x, parts["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y, parts["train-labels-idx1-ubyte"])
    assert x_test.shape == (4, 5, 4) and y_test.dtype == np.int64


def test_mnist_folder_without_test_files(tmp_path):
    write_mnist(tmp_path, test=False)
    x, y, x_test, y_test = load_mnist_folder(tmp_path)
    assert len(x) == 12 and x_test is None and y_test is None


def test_idx_big_endian_integers(tmp_path):
    values = np.array([[1, -2], [70000, 3]], dtype=">i4")
    (tmp_path / "a.idx").write_bytes(idx_bytes(values))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), values.astype(np.int32))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x01\x02\x08\x01", "bad magic number"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "element type 0x07"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "promises 13 bytes"),
        (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
    ],
)
def test_corrupt_idx_is_one_line_error(tmp_path, content, message):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        read_idx(path)
    assert "\n" not in str(error.value)


def test_idx_images_and_labels_must_agree(tmp_path):
    write_mnist(tmp_path, compress=False, test=False)
    labels = np.arange(5, dtype=np.uint8)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    with pytest.raises(ValueError, match="has 12 images but .* has 5 labels"):
        load_mnist_folder(tmp_path)


def test_missing_mnist_files(tmp_path):
    with pytest.raises(ValueError, match="has no train-images-idx3-ubyte"):
        load_mnist_folder(tmp_path)


def test_image_folder(tmp_path):
    from PIL import Image

    for name, value in (("cat", 10), ("dog", 200)):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.full((6, 5), value + i, dtype=np.uint8)).save(
                tmp_path / name / f"{i}.png"
            )
    x, y = load_image_folder(tmp_path)
    assert x.shape == (6, 6, 5) and x.dtype == np.uint8
    assert y.tolist() == ["cat"] * 3 + ["dog"] * 3
    assert x[4, 0, 0] == 201


def test_image_folder_errors(tmp_path):
    from PIL import Image

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a" / "0.png")
    with pytest.raises(ValueError, match="class folder .*b has no images"):
        load_image_folder(tmp_path)
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(tmp_path / "b" / "0.png")
    with pytest.raises(ValueError, match="resize the images to one size"):
        load_image_folder(tmp_path)
    (tmp_path / "b" / "0.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="is not a readable image"):
        load_image_folder(tmp_path)
    with pytest.raises(ValueError, match="has no class folders"):
        load_image_folder(tmp_path / "a")
