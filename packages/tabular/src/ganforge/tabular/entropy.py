"""The randomness a privacy guarantee rests on, drawn from the operating system's entropy.

Every random draw that protects a row (the Laplace noise of the released
statistics and frequencies, the Gaussian noise of the released marginals, the
Poisson sampling of DP-SGD batches and the DP-SGD noise itself) comes from a
generator seeded here with fresh bits from ``secrets`` (``os.urandom``):
never from ``seed=``, never written to a model file. ``seed=`` fixes only what
privacy does not depend on (network initialisation, the generator's noise,
sampling synthetic rows), so a DP fit is not bit-reproducible by design.

The training checkpoints of a DP run (``run_dir``) do hold these generators'
states, so a killed run resumes exactly: they are private training state, to
be kept like the data itself and never released. A private stream never
rewinds: restoring an older state into a stream that has moved on (a rollback
after non-finite steps, not a resume) keeps it going forward with fresh
entropy, so no batch or noise draw is ever reused for a second step.

Floating-point caveat: noise drawn as IEEE doubles or floats does not have
the exact distribution the proofs assume (Mironov 2012; Jin et al. 2021).
DP-SGD uses Opacus' secure path (the sum of several Gaussian draws, which
defeats the known floating-point attacks); the Laplace noise of the statistics
is drawn in float64 by numpy, as in most DP libraries, and carries the usual
small theoretical gap.
"""

from __future__ import annotations

import secrets

import numpy as np
import torch


def fresh_seed(bits: int = 64) -> int:
    """``bits`` random bits from the operating system (``secrets``)."""
    return secrets.randbits(bits)


def private_numpy_rng() -> np.random.Generator:
    """A numpy generator (PCG64) seeded with 128 bits of OS entropy."""
    return np.random.Generator(np.random.PCG64(fresh_seed(128)))


def private_torch_generator(device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded with 64 bits of OS entropy."""
    generator = torch.Generator(device=device)
    generator.manual_seed(fresh_seed(64))
    return generator
