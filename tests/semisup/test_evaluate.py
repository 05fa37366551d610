"""Evaluation numbers against hand counts; the baselines; the report's figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.semisup import (
    AugmentedCNN,
    SemiSupervisedGAN,
    confusion_matrix,
    evaluate,
    load_embedded,
    sample_grid_figure,
)
from ganforge.semisup.baselines import augment
from ganforge.semisup.evaluate import tile_images


def test_confusion_matrix_by_hand():
    truth = np.array(["a", "a", "b", "c", "c", "c"])
    predicted = np.array(["a", "b", "b", "c", "a", "c"])
    matrix = confusion_matrix(truth, predicted, np.array(["a", "b", "c"]))
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    with pytest.raises(ValueError, match="a class the model does not know"):
        confusion_matrix(np.array(["d"]), np.array(["a"]), np.array(["a", "b", "c"]))


def test_evaluate_matches_score(tmp_path):
    split = load_embedded("digits", seed=0)
    model = SemiSupervisedGAN(hidden=(16,), generator_hidden=(8,), iterations=3, device="cpu")
    model.fit(split.x_labelled, split.y_labelled, split.x_unlabelled)
    result = evaluate(model, split.x_test, split.y_test, out=tmp_path / "e.json")
    assert result["error"] == pytest.approx(1 - model.score(split.x_test, split.y_test), abs=1e-6)
    matrix = np.array(result["confusion_matrix"])
    assert matrix.sum() == 360 and (matrix.sum(1) == np.bincount(split.y_test)).all()
    assert "baselines" not in result and (tmp_path / "e.json").is_file()
    with pytest.raises(ValueError, match="give both x_labelled and y_labelled"):
        evaluate(model, split.x_test, split.y_test, x_labelled=split.x_labelled)


@pytest.mark.slow
def test_evaluate_trains_the_baselines():
    split = load_embedded("digits", seed=0)
    model = SemiSupervisedGAN(hidden=(16,), generator_hidden=(8,), iterations=3, device="cpu")
    model.fit(split.x_labelled, split.y_labelled, split.x_unlabelled)
    done = []
    result = evaluate(model, split.x_test, split.y_test, x_labelled=split.x_labelled,
                      y_labelled=split.y_labelled, progress=done.append)  # fmt: skip
    assert set(result["baselines"]) == {"supervised_same_net_error", "supervised_cnn_error"}
    assert result["baselines"]["supervised_cnn_error"] < 0.3
    assert done == ["supervised_same_net", "supervised_cnn"]


def test_augmented_cnn_learns_digits_quickly():
    split = load_embedded("digits", seed=0)
    cnn = AugmentedCNN(steps=60, seed=0).fit(split.x_labelled, split.y_labelled)
    assert 1 - cnn.score(split.x_test, split.y_test) < 0.6  # chance is 0.9
    assert cnn.predict(split.x_test[:3]).shape == (3,)


def test_augment_keeps_shape_and_moves_pixels():
    images = torch.zeros(4, 1, 28, 28)
    images[:, :, 10:18, 10:18] = 1
    moved = augment(images, torch.Generator().manual_seed(0))
    assert moved.shape == images.shape
    assert not torch.allclose(moved, images)
    assert float(moved.sum()) == pytest.approx(float(images.sum()), rel=0.35)


def test_tile_images():
    images = np.stack([np.full((2, 3), i / 4) for i in range(5)])
    mosaic = tile_images(images, columns=2)
    assert mosaic.shape == (3 * 2 + 2, 2 * 3 + 1)
    assert mosaic[0, 4] == 0.25 and mosaic[6, 0] == 1.0 and mosaic[2, 0] == 1.0
    figure = sample_grid_figure(images.reshape(5, -1)[:, :4].reshape(5, 4))
    assert figure.axes
