"""The zoo's scores: FID / KID and precision / recall / density / coverage in the
feature space of the core's offline MNIST extractor, the real-vs-real floor, the
pixel kernel-density baseline (seed 004 section 12), and translation scores (L1 and
SSIM against ground truth, cycle error).

Every function returns plain dicts (written as JSON with the core's ``write_json``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganforge.core.files import write_json
from ganforge.core.metrics import frechet_distance, get_extractor, kid
from ganforge.core.metrics import precision_recall_density_coverage as manifold
from ganforge.vision.data import as_images

EXTRACTOR = "mnist_cnn"
KDE_BANDWIDTHS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0)


@torch.no_grad()
def image_features(images: Tensor, batch_size: int = 500) -> Tensor:
    """``(N, 64)`` features of images in [0, 1] from the core's MNIST extractor."""
    extractor = get_extractor(EXTRACTOR)
    return torch.cat([extractor(b.float()) for b in images.split(batch_size)]).double()


def image_metrics(real: Tensor, fake: Tensor, seed: int = 0) -> dict[str, float]:
    """FID, KID (mean and std) and precision / recall / density / coverage (k = 5) of
    ``fake`` against ``real``, both images in [0, 1]."""
    a, b = image_features(real), image_features(fake)
    kid_value = kid(a, b, subsets=50, subset_size=min(500, len(a), len(b)), seed=seed)
    return {
        "fid": frechet_distance(a, b),
        "kid": kid_value.mean,
        "kid_std": kid_value.std,
        **manifold(a, b, k=5),
    }


def evaluate(
    model: Any,
    real: Any,
    n: int = 1000,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
    **sample_options: Any,
) -> dict[str, Any]:
    """Scores of a generating :class:`~ganforge.vision.VisionGAN` against ``real`` images
    (the held-out digits): FID, KID, precision, recall, density, coverage, parameters,
    training seconds. ``sample_options`` go to ``model.sample`` (``psi=...``)."""
    reference = as_images(real, "real")
    fake = model.sample(n, seed=seed, **sample_options)
    result = {
        "family": model.spec.family,
        "n_generated": n,
        "n_real": len(reference),
        **image_metrics(reference, fake, seed),
        "parameters": model.parameters(),
    }
    if model.seconds:  # a model fitted in this process (model files hold no timings)
        result["seconds"] = round(float(model.seconds), 1)
        result["cpu_seconds"] = round(float(model.cpu_seconds), 1)
    if out is not None:
        write_json(out, result)
    return result


def ssim(a: Tensor, b: Tensor) -> float:
    """Mean structural similarity of two batches in [0, 1] (torchmetrics, 7x7 Gaussian
    window: the 28x28 digits are too small for the usual 11x11)."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    return float(structural_similarity_index_measure(a, b, data_range=1.0, kernel_size=7))


def evaluate_translation(model: Any, source: Any, target: Any) -> dict[str, Any]:
    """Pix2Pix: L1 and SSIM of ``translate(source)`` against the paired ``target`` (both
    in [0, 1]), and the translations' :func:`image_metrics` (FID, KID, precision...)
    against the targets."""
    x, y = as_images(source, "source"), as_images(target, "target")
    fake = model.translate(x)
    return {
        "l1": float((fake - y).abs().mean()),
        "ssim": ssim(fake, y),
        **image_metrics(y, fake),
        "identity_l1": float((x - y).abs().mean()),  # the input itself as the answer
    }


def evaluate_cycle(model: Any, a: Any, b: Any) -> dict[str, Any]:
    """CycleGAN: the cycle error ``|G_BA(G_AB(a)) - a|`` (and from B), and the FID of each
    direction's translations against the other domain's held-out images."""
    x, y = as_images(a, "a"), as_images(b, "b")
    fake_b, fake_a = model.translate(x, "forward"), model.translate(y, "backward")
    return {
        "cycle_l1_a": float((model.translate(fake_b, "backward") - x).abs().mean()),
        "cycle_l1_b": float((model.translate(fake_a, "forward") - y).abs().mean()),
        "fid_a_to_b": image_metrics(y, fake_b)["fid"],
        "fid_b_to_a": image_metrics(x, fake_a)["fid"],
        "fid_a_vs_b_untranslated": image_metrics(y, x)["fid"],
    }


# --------------------------------------------------------------- baselines
def real_floor(train: Any, heldout: Any, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """The scores of ``n`` real training images against the held-out ones: the best a
    generator can hope for with these sample sizes."""
    x = as_images(train, "train")
    pick = torch.from_numpy(np.random.default_rng(seed).choice(len(x), min(n, len(x)), False))
    return image_metrics(as_images(heldout, "heldout"), x[pick], seed)


def kde_baseline(
    train: Any,
    bandwidths: tuple[float, ...] = KDE_BANDWIDTHS,
    folds: int = 3,
    fit_size: int = 2000,
    seed: int = 0,
) -> tuple[Any, dict[str, Any]]:
    """A Gaussian kernel density on raw pixels (seed 004 section 12's generative model),
    its bandwidth chosen by ``folds``-fold cross-validated log-likelihood on ``fit_size``
    training images; the returned estimator is refit on all of ``train``.

    Returns ``(estimator, {"bandwidth", "cv_log_likelihood": {bandwidth: mean}})``;
    ``estimator.sample(n, random_state)`` gives flat pixel vectors (clip to [0, 1]).
    """
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KernelDensity

    x = as_images(train, "train").flatten(1).numpy().astype(np.float64)
    rng = np.random.default_rng(seed)
    subset = x[rng.choice(len(x), min(fit_size, len(x)), replace=False)]
    search = GridSearchCV(
        KernelDensity(kernel="gaussian"), {"bandwidth": list(bandwidths)}, cv=folds
    )
    search.fit(subset)
    best = float(search.best_params_["bandwidth"])
    scores = {
        str(b): float(s)
        for b, s in zip(bandwidths, search.cv_results_["mean_test_score"], strict=True)
    }
    return KernelDensity(kernel="gaussian", bandwidth=best).fit(x), {
        "bandwidth": best,
        "cv_log_likelihood": scores,
    }


def kde_samples(estimator: Any, n: int, shape: tuple[int, ...], seed: int = 0) -> Tensor:
    """``n`` images drawn from a fitted pixel KDE, clipped to [0, 1]."""
    flat = estimator.sample(n, random_state=seed).clip(0, 1).astype(np.float32)
    return torch.from_numpy(flat).reshape(n, *shape)
