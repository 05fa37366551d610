"""How good a vocoder is: PESQ-WB, STOI, mel L1 and MR-STFT, beside Griffin-Lim on the same mels.

Every clip's log-mel (this vocoder's front end) is turned back into a waveform by
the model and by Griffin-Lim (torchaudio, :data:`GRIFFIN_LIM_ITERATIONS`
iterations); both are compared with the real clip cut to ``frames * hop`` samples:

* ``pesq_wb``: wide-band PESQ (ITU-T P.862.2, the ``pesq`` package) on both
  signals resampled to 16 kHz; 1.04 (bad) to 4.64 (the clean signal itself);
* ``stoi``: short-time objective intelligibility (``pystoi``), 0 to 1;
* ``mel_l1``: mean absolute log-mel difference (this front end);
* ``mrstft``: the multi-resolution STFT distance of :class:`MultiResolutionSTFTLoss`.

Example::

    scores = evaluate(Vocoder.from_file("model.vocoder"), corpus.waveforms("test"))
    scores["pesq_wb"], scores["griffin_lim_pesq_wb"]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganforge.vocoder.losses import MultiResolutionSTFTLoss
from ganforge.vocoder.mel import MelConfig, MelSpectrogram

GRIFFIN_LIM_ITERATIONS = 32
PESQ_RATE = 16_000
METRICS = ("pesq_wb", "stoi", "mel_l1", "mrstft")
"""The scores of one system, in report order (Griffin-Lim's carry the prefix ``griffin_lim_``)."""


def griffin_lim(mel: Tensor, config: MelConfig, iterations: int = GRIFFIN_LIM_ITERATIONS) -> Tensor:
    """Griffin-Lim audio ``(frames * hop,)`` from a log-mel ``(n_mels, frames)``.

    The mel is mapped back to a linear magnitude with the filter bank's
    pseudo-inverse and phase is estimated by torchaudio's Griffin-Lim; the
    output is shifted by half a hop so its frames line up with the front end's
    (which pads by ``(n_fft - hop) / 2`` and does not centre).
    """
    import torchaudio

    basis = MelSpectrogram(config).mel_basis
    magnitude = (torch.linalg.pinv(basis) @ torch.exp(mel.float())).clamp_min(0.0)
    frames, hop = mel.size(-1), config.hop_length
    transform = torchaudio.transforms.GriffinLim(
        n_fft=config.n_fft,
        n_iter=iterations,
        win_length=config.win_length,
        hop_length=hop,
        power=1.0,
    )
    with torch.no_grad():
        audio = transform(magnitude)
    shifted = torch.cat([audio.new_zeros(hop // 2), audio])[: frames * hop]
    return torch.nn.functional.pad(shifted, (0, frames * hop - shifted.numel()))


def pesq_wb(real: np.ndarray, fake: np.ndarray, sample_rate: int) -> float | None:
    """Wide-band PESQ of ``fake`` against ``real`` at 16 kHz; ``None`` when PESQ
    finds no speech in the reference (a silent or too short clip)."""
    from pesq import NoUtterancesError, pesq

    reference, degraded = (_resample(x, sample_rate, PESQ_RATE) for x in (real, fake))
    if not np.any(reference):
        return None
    try:
        return float(pesq(PESQ_RATE, reference, degraded, "wb"))
    except NoUtterancesError:
        return None


def stoi(real: np.ndarray, fake: np.ndarray, sample_rate: int) -> float:
    """STOI of ``fake`` against ``real`` (``pystoi`` resamples to 10 kHz itself)."""
    from pystoi import stoi as short_time_objective_intelligibility

    return float(short_time_objective_intelligibility(real, fake, sample_rate, extended=False))


def _resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    import torchaudio

    if rate == target:
        return np.asarray(audio, dtype=np.float32)
    resampled = torchaudio.functional.resample(
        torch.as_tensor(audio, dtype=torch.float32), rate, target
    )
    return resampled.numpy()


def clip_scores(
    real: Tensor,
    fake: Tensor,
    real_mel: Tensor,
    front_end: MelSpectrogram,
    stft: MultiResolutionSTFTLoss,
) -> dict[str, float | None]:
    """The four scores of one generated clip (``real`` and ``fake`` of the same length)."""
    rate = front_end.config.sample_rate
    real_np, fake_np = real.numpy().astype(np.float64), fake.numpy().astype(np.float64)
    with torch.no_grad():
        mel_l1 = float((front_end(fake) - real_mel).abs().mean())
        mrstft = float(stft(fake[None], real[None]))
    return {
        "pesq_wb": pesq_wb(real_np, fake_np, rate),
        "stoi": stoi(real_np, fake_np, rate),
        "mel_l1": mel_l1,
        "mrstft": mrstft,
    }


def evaluate(
    vocoder: Callable[[np.ndarray], Any],
    waveforms: Sequence[np.ndarray],
    *,
    config: MelConfig | None = None,
    griffin_lim_iterations: int = GRIFFIN_LIM_ITERATIONS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Mean scores of ``vocoder`` and of Griffin-Lim on the mels of ``waveforms``.

    Args:
        vocoder: a :class:`~ganforge.vocoder.Vocoder` (or any callable from a
            log-mel ``(n_mels, frames)`` to a waveform ``(frames * hop,)``).
        waveforms: the real clips, at the front end's sample rate.
        config: the mel front end (default: ``vocoder.spec.mel_config()``).
        griffin_lim_iterations: Griffin-Lim's iterations (32, the issue's baseline).
        progress: called with ``(done, total)`` after every clip.

    Returns:
        ``{"clips", "seconds", "pesq_wb", "stoi", "mel_l1", "mrstft",
        "griffin_lim_pesq_wb", ..., "pesq_skipped"}``: means over the clips, rounded
        to 4 decimals (PESQ over the clips where it finds speech; ``pesq_skipped``
        counts the others).
    """
    if config is None:
        config = vocoder.spec.mel_config()  # type: ignore[attr-defined]
    if not waveforms:
        raise ValueError("no clips to evaluate")
    front_end, stft = MelSpectrogram(config), MultiResolutionSTFTLoss()
    systems = ("", "griffin_lim_")
    scores: dict[str, list[float]] = {p + m: [] for p in systems for m in METRICS}
    skipped = 0
    generator = torch.Generator().manual_seed(0)
    for done, waveform in enumerate(waveforms, start=1):
        real = torch.as_tensor(np.asarray(waveform, dtype=np.float32))
        with torch.no_grad():
            mel = front_end(real)
        real = real[: mel.size(-1) * config.hop_length]
        with torch.random.fork_rng():
            torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
            baseline = griffin_lim(mel, config, griffin_lim_iterations)
        outputs = {
            "": torch.as_tensor(vocoder(mel.numpy())).float().cpu(),
            "griffin_lim_": baseline,
        }
        clip = {
            prefix: clip_scores(real, fake, mel, front_end, stft)
            for prefix, fake in outputs.items()
        }
        no_speech = any(result["pesq_wb"] is None for result in clip.values())
        skipped += no_speech
        for prefix, result in clip.items():
            for metric, value in result.items():
                if not (metric == "pesq_wb" and no_speech):
                    scores[prefix + metric].append(value)
        if progress is not None:
            progress(done, len(waveforms))
    summary: dict[str, Any] = {
        "clips": len(waveforms),
        "seconds": round(sum(len(w) for w in waveforms) / config.sample_rate, 2),
    }
    for name, values in scores.items():
        summary[name] = round(float(np.mean(values)), 4) if values else None
    summary["pesq_skipped"] = skipped
    summary["griffin_lim_iterations"] = griffin_lim_iterations
    return summary
