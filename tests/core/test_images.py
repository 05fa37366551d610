"""The core's image file readers: IDX files and class folders, with one-line errors."""

import gzip
import struct

import numpy as np
import pytest

from ganforge.core.images import load_idx_pair, load_image_folder, read_idx


def _idx(values: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, values.ndim]) + struct.pack(f">{values.ndim}I", *values.shape)
    return header + values.astype(np.uint8).tobytes()


def test_idx_round_trip_plain_and_gzip(tmp_path):
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4) % 256
    (tmp_path / "x").write_bytes(_idx(images))
    (tmp_path / "y.gz").write_bytes(gzip.compress(_idx(np.array([7, 1]))))
    x, y = load_idx_pair(tmp_path / "x", tmp_path / "y.gz")
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, [7, 1])


def test_truncated_idx_is_a_one_line_error(tmp_path):
    (tmp_path / "x").write_bytes(_idx(np.zeros((2, 3, 4)))[:-5])
    with pytest.raises(ValueError, match="is corrupt") as error:
        read_idx(tmp_path / "x")
    assert "\n" not in str(error.value)


def test_image_folder_reads_classes(tmp_path):
    from PIL import Image

    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        Image.fromarray(np.full((5, 6), 9, np.uint8)).save(tmp_path / label / "0.png")
    x, y = load_image_folder(tmp_path)
    assert x.shape == (2, 5, 6) and list(y) == ["a", "b"]
