"""Quality metrics on held-out HR images: PSNR, SSIM, edge sharpness, safety numbers.

``evaluate()`` degrades the HR images with the model's degradation, enhances them
(exact tiled inference, consistency projection; flip test-time augmentation with
``tta=True``) and compares
with HR. The baselines (:func:`baselines`: interpolation, interpolation with the same
consistency projection, zero-filled k-space for k-space truncation) are always
reported beside the models, and each model's gain over the best of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ganforge.core.files import write_json
from ganforge.medsr.degradation import Degradation, consistency_residual
from ganforge.medsr.enhance import Enhancer
from ganforge.medsr.losses import gradient_magnitude
from ganforge.medsr.networks import SRGenerator
from ganforge.medsr.safety import DEFAULT_THRESHOLD, conservative_upsample, hallucination_map


def image_metrics(sr: torch.Tensor, hr: torch.Tensor) -> dict[str, float]:
    """Mean PSNR / SSIM over the batch (data range 1; constant images skipped for PSNR)."""
    psnrs, ssims = [], []
    for s, h in zip(sr.numpy(), hr.numpy(), strict=True):
        s, h = np.clip(s[0], 0, 1).astype(np.float64), h[0].astype(np.float64)
        if np.array_equal(s, h):
            continue
        psnrs.append(peak_signal_noise_ratio(h, s, data_range=1.0))
        ssims.append(structural_similarity(h, s, data_range=1.0))
    return {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims))}


def _summary(
    sr: torch.Tensor, lr: torch.Tensor, hr: torch.Tensor, degradation: Degradation, threshold: float
) -> dict[str, float]:
    result = image_metrics(sr, hr)
    report = hallucination_map(sr, lr, degradation, hr=hr, threshold=threshold)
    result["flagged_area"] = report.flagged_area
    pointwise = hallucination_map(sr, lr, degradation, hr=hr, threshold=threshold, envelope=1)
    result["flagged_area_pointwise"] = pointwise.flagged_area
    result["consistency_residual"] = consistency_residual(sr, lr, degradation)
    result["gradient_magnitude_ratio"] = float(gradient_magnitude(sr) / gradient_magnitude(hr))
    return result


def evaluate(
    hr: torch.Tensor,
    models: dict[str, SRGenerator],
    degradation: Degradation,
    threshold: float = DEFAULT_THRESHOLD,
    project: bool = True,
    seed: int = 0,
    out_path: str | Path | None = None,
    device: str | torch.device = "auto",
    tta: bool = False,
) -> dict[str, dict[str, float]]:
    """PSNR, SSIM, flagged area, consistency residual and edge sharpness per method.

    Args:
        hr: held-out HR images ``(N, 1, *spatial)`` in [0, 1] (sizes divisible by the scale).
        models: name -> generator (e.g. ``{"psnr_model": g1, "gan_model": g2}``).
        degradation: makes the LR inputs; also the consistency operator.
        threshold: hallucination flag level.
        project: apply the data-consistency projection to the models' outputs.
        seed: seeds the degradation noise.
        out_path: also write the result as JSON there.
        device: where the generators run (``"auto"``: CUDA when present).
        tta: score the models' flip test-time-augmentation mean (what
            :class:`~ganforge.medsr.Enhancer` gives by default) instead of one pass.

    Returns:
        ``{<baseline>: {...}, <name>: {...}, "best_baseline": <baseline>}`` for each of
        :func:`baselines` and each model, with keys ``psnr``, ``ssim``,
        ``flagged_area``, ``flagged_area_pointwise`` (the same map with the earlier
        voxel-wise baseline comparison, ``envelope=1``; see :mod:`ganforge.medsr.safety`),
        ``consistency_residual``, ``gradient_magnitude_ratio`` (output edge strength /
        HR edge strength; 1 is ideal, < 1 is blurrier); each model also
        ``gain_over_best_baseline_db``: its PSNR less the best baseline's.
    """
    lr = torch.cat([degradation(hr[i : i + 1], seed=seed + i) for i in range(len(hr))])
    results = {
        name: _summary(upsampled, lr, hr, degradation, threshold)
        for name, upsampled in baselines(lr, degradation).items()
    }
    for name, generator in models.items():
        enhancer = Enhancer(
            generator, degradation, tta=tta, project=project, normalize=False, device=device
        )
        sr = torch.cat([enhancer.upsample(lr[i : i + 1])[0] for i in range(len(lr))])
        if project:
            sr = degradation.project(sr, lr)
        results[name] = _summary(sr, lr, hr, degradation, threshold)
    best = max(baselines(lr[:1], degradation), key=lambda name: results[name]["psnr"])
    for name in models:
        results[name]["gain_over_best_baseline_db"] = results[name]["psnr"] - results[best]["psnr"]
    results["best_baseline"] = best
    if out_path is not None:
        write_json(out_path, results)
    return results


def baselines(lr: torch.Tensor, degradation: Degradation) -> dict[str, torch.Tensor]:
    """The upsamplings a model must beat, no network involved: plain interpolation
    (``bicubic``: bicubic in 2-D, trilinear in 3-D), the same followed by the data-
    consistency projection the models get (``bicubic_dc``), and for k-space
    truncation the zero-filled k-space (``zero_fill``)."""
    mode = "bicubic" if degradation.spatial_dims == 2 else "trilinear"
    plain = F.interpolate(lr, scale_factor=degradation.scale, mode=mode, align_corners=False)
    found = {"bicubic": plain.float(), "bicubic_dc": degradation.project(plain, lr).float()}
    if degradation.kind == "kspace":
        found["zero_fill"] = conservative_upsample(lr, degradation).float()
    return found
