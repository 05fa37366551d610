"""SemiSupervisedGAN: fit / predict / save / load, gradient isolation, bad inputs, a short run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.core.checkpoint import CheckpointError
from ganforge.core.training import Phase, Step, Trainer, TrainerConfig
from ganforge.semisup import (
    Discriminator,
    Generator,
    LabelledUnlabelledBatches,
    SemiSupervisedGAN,
    SemiSupervisedModule,
    SemisupSpec,
    fit_supervised_same_net,
    load_embedded,
)

TINY = {"hidden": (16, 8), "generator_hidden": (8,), "latent_dim": 4, "batch_size": 8}


def blobs(n_per_class=12, k=3, side=4, seed=0):
    """Three easy classes of 4x4 images: a bright quadrant each."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_per_class * k, side, side)).astype(np.float32) * 0.2
    y = np.repeat(np.arange(k), n_per_class)
    for i, label in enumerate(y):
        x[i, (label % 2) * 2 : (label % 2) * 2 + 2, (label // 2) * 2 : (label // 2) * 2 + 2] = 1
    return x, y


def tiny_model(**options):
    return SemiSupervisedGAN(num_classes=3, iterations=6, device="cpu", **{**TINY, **options})


def test_fit_predict_and_probabilities():
    x, y = blobs()
    model = tiny_model().fit(x[::4], y[::4], x)
    assert model.classes_.tolist() == [0, 1, 2] and model.image_shape == (4, 4)
    proba = model.predict_proba(x)
    assert proba.shape == (36, 3)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    with_fake = model.predict_proba_with_fake(x)
    assert with_fake.shape == (36, 4)
    np.testing.assert_allclose(with_fake.sum(1), 1, rtol=1e-5)
    # the K real classes, renormalised, are predict_proba
    np.testing.assert_allclose(with_fake[:, :3] / with_fake[:, :3].sum(1, keepdims=True), proba,
                               rtol=1e-5)  # fmt: skip
    assert set(model.predict(x).tolist()) <= {0, 1, 2}
    assert 0 <= model.score(x, y) <= 1
    assert model.sample(5).shape == (5, 4, 4)
    assert {"D/supervised", "D/unlabelled", "D/generated", "G/feature_matching"} <= set(
        model.history[-1]
    )


def test_two_fits_with_one_seed_are_identical():
    x, y = blobs()
    a = tiny_model(seed=3).fit(x[::4], y[::4], x)
    b = tiny_model(seed=3).fit(x[::4], y[::4], x)
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))


def test_save_load_round_trip(tmp_path):
    x, y = blobs()
    names = np.array(["ant", "bee", "cow"])[y]
    model = tiny_model().fit(x[::4], names[::4], x)
    path = model.save(tmp_path / "m.pt")
    loaded = SemiSupervisedGAN.load(path, "cpu")
    assert loaded.spec == model.spec and loaded.image_shape == (4, 4)
    assert loaded.predict(x).tolist() == model.predict(x).tolist()
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(loaded.sample(3), model.sample(3))
    raw = torch.load(path, weights_only=True)  # plain tensors and strings
    assert raw["ganforge_model"] == "semisup.SemiSupervisedGAN"


def test_load_rejects_other_files(tmp_path):
    from ganforge.core.modelfile import save_model

    other = save_model(tmp_path / "other.pt", "vocoder.Vocoder", {}, {})
    with pytest.raises(CheckpointError, match="holds a vocoder.Vocoder model"):
        SemiSupervisedGAN.load(other)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        SemiSupervisedGAN.load(tmp_path / "junk.pt")


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`")
def test_feature_matching_updates_only_the_generator():
    """Through the core trainer: a G step leaves D's parameters untouched and gradient-free."""
    x, y = blobs()
    module = SemiSupervisedModule(Discriminator(16, 3, (16, 8)), Generator(16, 4, (8,)),
                                  iterations=1)  # fmt: skip
    module.phases = lambda: [Phase("g-only", [Step("G", module.g_step, "G")])]
    d_before = {k: v.clone() for k, v in module.networks["D"].state_dict().items()}
    g_before = {k: v.clone() for k, v in module.networks["G"].state_dict().items()}
    flat = torch.from_numpy(x.reshape(len(x), -1))
    batches = LabelledUnlabelledBatches(flat[::4], torch.from_numpy(y[::4]), flat, 8)
    config = TrainerConfig(iterations=1, batch_size=8, device="cpu", progress=False,
                           tensorboard=False)  # fmt: skip
    Trainer(module, config).fit(batches)
    for name, value in module.networks["D"].state_dict().items():
        assert torch.equal(value, d_before[name]), name
    assert all(p.grad is None for p in module.networks["D"].parameters())
    changed = [
        not torch.equal(v, g_before[k]) for k, v in module.networks["G"].state_dict().items()
    ]
    assert any(changed)
    assert all(p.grad is not None for p in module.networks["G"].parameters())


class _Context:
    """The one StepContext method the shift uses."""

    def __init__(self, seed):
        self.seed = seed

    def generator(self):
        return torch.Generator().manual_seed(self.seed)


def test_real_images_are_shifted_by_whole_pixels_within_the_bound():
    """28x28 images, translation 0.075: each image moves by at most 2 pixels per axis,
    zero-filled; the pixels it keeps are the original's, in the same layout."""
    module = SemiSupervisedModule(
        Discriminator(784, 3, (8,)),
        Generator(784, 4, (8,)),
        iterations=1,
        image_shape=(28, 28),
        translation=0.075,
    )
    images = torch.rand(64, 784) + 0.5  # no zero pixel: zeros come from the fill alone
    moved = module.shifted(images, _Context(3)).view(64, 28, 28)
    original = images.view(64, 28, 28)
    shifts = set()
    for index in range(64):
        kept = moved[index] != 0
        rows = torch.nonzero(kept.any(1)).flatten()
        cols = torch.nonzero(kept.any(0)).flatten()
        dy = int(rows[0]) if rows[0] > 0 else -(27 - int(rows[-1]))
        dx = int(cols[0]) if cols[0] > 0 else -(27 - int(cols[-1]))
        assert abs(dy) <= 2 and abs(dx) <= 2
        expected = torch.roll(original[index], (dy, dx), (0, 1))[kept]
        assert torch.equal(moved[index][kept], expected)
        assert int(kept.sum()) == (28 - abs(dy)) * (28 - abs(dx))
        shifts.add((dy, dx))
    assert len(shifts) > 10  # per image, not one shift for the batch


def test_flat_images_and_zero_translation_are_not_shifted():
    images = torch.rand(5, 16)
    flat = SemiSupervisedModule(Discriminator(16, 3, (8,)), Generator(16, 4, (8,)),
                                iterations=1, image_shape=(16,), translation=0.1)  # fmt: skip
    off = SemiSupervisedModule(Discriminator(16, 3, (8,)), Generator(16, 4, (8,)),
                               iterations=1, image_shape=(4, 4), translation=0.0)  # fmt: skip
    assert torch.equal(flat.shifted(images, _Context(0)), images)
    assert torch.equal(off.shifted(images, _Context(0)), images)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x, y: tiny_model().fit(x[:2], y[:2], x), "2 labelled examples are fewer than"),
        (lambda x, y: tiny_model().fit(x[:12], y[:12], x), "every class needs at least one"),
        (lambda x, y: tiny_model().fit(x[::4], y[::4], x[:, :3]), "x_unlabelled images are"),
        (lambda x, y: tiny_model().fit(x[::4], y[:5], x), "y_labelled has 5 labels for 9"),
        (lambda x, y: tiny_model().fit(x[::4] * 255, y[::4], x), r"float pixels must lie in"),
        (lambda x, y: tiny_model(batch_size=64).fit(x[::4], y[::4], x), "fewer than batch_size"),
        (lambda x, y: tiny_model().predict(x), "not trained"),
    ],
)
def test_bad_inputs_are_one_line_errors(call, message):
    x, y = blobs()
    with pytest.raises(ValueError, match=message) as error:
        call(x, y)
    assert "\n" not in str(error.value)


def test_predict_checks_the_image_size():
    x, y = blobs()
    model = tiny_model().fit(x[::4], y[::4], x)
    with pytest.raises(ValueError, match="trained on"):
        model.predict(np.zeros((2, 5, 5), np.float32))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_classes": 1}, "num_classes must be an integer >= 2"),
        ({"hidden": ()}, "hidden must name at least one"),
        ({"lr": 0}, "lr must be a finite number > 0"),
        ({"beta1": 1.0}, "beta1 must be in"),
        ({"decay_fraction": 2}, "decay_fraction must be in"),
        ({"iterations": 0}, "iterations must be an integer >= 1"),
        ({"supervised_only": "yes"}, "supervised_only must be"),
        ({"translation": 0.5}, "translation must be in"),
        ({"translation": -0.1}, "translation must be in"),
    ],
)
def test_spec_checks(options, message):
    with pytest.raises(ValueError, match=message):
        SemisupSpec(**options)


def test_short_run_beats_the_same_net_on_labels_alone():
    """8x8 digits, 5 labels per class: the GAN's unlabelled terms pay within 300 iterations
    (both without the shifts, which the test above covers)."""
    split = load_embedded("digits", seed=0)
    spec = SemisupSpec(hidden=(200, 100, 100), generator_hidden=(100, 100), iterations=300,
                       translation=0.0, device="cpu")  # fmt: skip
    gan = SemiSupervisedGAN(spec).fit(split.x_labelled, split.y_labelled, split.x_unlabelled)
    supervised = fit_supervised_same_net(spec, split.x_labelled, split.y_labelled)
    gan_error = 1 - gan.score(split.x_test, split.y_test)
    supervised_error = 1 - supervised.score(split.x_test, split.y_test)
    assert gan_error < supervised_error - 0.02, (gan_error, supervised_error)
    assert gan_error < 0.15
