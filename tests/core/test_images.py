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


def test_pixel_array_scales_integers_and_checks_floats():
    from ganforge.core.images import pixel_array

    pixels = pixel_array(np.array([[[0, 255], [51, 102]]], dtype=np.uint8), low=-1.0, high=1.0)
    np.testing.assert_allclose(pixels, [[[-1.0, 1.0], [-0.6, -0.2]]], atol=1e-6)
    assert pixels.dtype == np.float32
    for bad, message in [
        (np.full((1, 2, 2), 1.5), r"float pixels must lie in \[0, 1\], the declared range"),
        (np.full((1, 2, 2), np.nan), "holds NaN or infinite values"),
        (np.full((1, 2, 2), 300), "integer pixels must lie in 0-255"),
        (np.zeros((2, 4)), r"must be images \(N, H, W\) or \(N, C, H, W\)"),
        (np.zeros((0, 4, 4)), "must be images"),
        (np.array([[["a"]]]), "must hold numbers"),
    ]:
        with pytest.raises(ValueError, match=message):
            pixel_array(bad)
