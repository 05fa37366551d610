"""The embedded splits, the translation tasks and image folders."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.vision import (
    digits_in_mnist_frame,
    edge_map,
    load_embedded,
    load_image_folder,
    paired_edges,
)


def test_embedded_splits():
    mnist = load_embedded("mnist")
    assert mnist.train.shape == (4000, 1, 28, 28) and mnist.heldout.shape == (1000, 1, 28, 28)
    assert torch.bincount(mnist.heldout_labels).tolist() == [100] * 10
    assert float(mnist.train.min()) >= 0 and float(mnist.train.max()) == 1.0
    digits = load_embedded("digits")
    assert digits.train.shape[1:] == (1, 8, 8) and len(digits.train) + len(digits.heldout) == 1797
    assert float(digits.train.max()) == 1.0
    with pytest.raises(ValueError, match="unknown embedded dataset"):
        load_embedded("cifar")


def test_edge_map_is_the_morphological_gradient():
    square = torch.zeros(1, 1, 8, 8)
    square[..., 2:6, 2:6] = 1.0
    edges = edge_map(square)
    # a 4x4 square's outline: one pixel inside and one outside its border light up
    assert edges[0, 0, 3:5, 3:5].sum() == 0  # the interior stays dark
    assert edges[0, 0, 1, 1:7].eq(1).all() and edges[0, 0, 2, 2:6].eq(1).all()
    assert edges[0, 0, 0].sum() == 0
    edges_train, digits_train, _, _ = paired_edges(load_embedded("digits"))
    assert edges_train.shape == digits_train.shape


def test_digits_fill_the_mnist_frame():
    framed = digits_in_mnist_frame(torch.ones(2, 1, 8, 8))
    assert framed.shape == (2, 1, 28, 28)
    assert framed[0, 0, 4:24, 4:24].gt(0.999).all() and framed[0, 0, :4].sum() == 0


def _png(path, size, value=128):
    Image.fromarray(np.full((size, size), value, np.uint8)).save(path)


def test_image_folder_by_class_resized(tmp_path):
    for name, value in (("cats", 0), ("dogs", 255)):
        (tmp_path / name).mkdir()
        for i in range(3):
            _png(tmp_path / name / f"{i}.png", 10 + i, value)
    images, labels, classes = load_image_folder(tmp_path, size=8)
    assert images.shape == (6, 1, 8, 8) and classes == ("cats", "dogs")
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert float(images[0].max()) == 0.0 and float(images[-1].min()) == pytest.approx(1.0)


def test_image_folder_errors_name_the_file(tmp_path):
    _png(tmp_path / "a.png", 8)
    _png(tmp_path / "b.png", 12)
    with pytest.raises(ValueError, match=r"b\.png is 12x12, the first image 8x8"):
        load_image_folder(tmp_path)
    (tmp_path / "c.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"c\.png is not a readable image"):
        load_image_folder(tmp_path, size=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images, _, _ = load_image_folder(tmp_path, skip_bad=True)
    assert len(images) == 1
    assert any("skipped 2 unreadable" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="no such folder"):
        load_image_folder(tmp_path / "missing")
