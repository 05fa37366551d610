"""The user's own images: MNIST IDX files and image folders by class.

The readers live in the core (:mod:`ganforge.core.images`), shared with the
other packages that read images; they are re-exported here under their old names.
"""

from ganforge.core.images import (
    IDX_TYPES,
    IMAGE_SUFFIXES,
    MNIST_NAMES,
    load_idx_pair,
    load_image_folder,
    load_mnist_folder,
    read_idx,
)

__all__ = [
    "IDX_TYPES",
    "IMAGE_SUFFIXES",
    "MNIST_NAMES",
    "load_idx_pair",
    "load_image_folder",
    "load_mnist_folder",
    "read_idx",
]
