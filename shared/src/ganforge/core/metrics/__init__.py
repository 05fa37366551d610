"""ganforge.core.metrics: how every domain measures what it generates.

Fidelity (Fréchet distance / FID, KID, RBF MMD, inception-style score,
precision/recall, density/coverage), diversity (pairwise feature distance,
MS-SSIM) and memorisation (nearest-neighbour audit against training and
held-out data), all on features from a pluggable extractor registry.

Built-in extractors: ``"mnist_cnn"`` (offline; trained on the embedded MNIST
digits on first use and cached in ``$GANFORGE_CACHE`` or ``~/.cache/ganforge``)
and ``"inception"`` (needs a local weights file, see
:mod:`ganforge.core.metrics.inception`).
"""

from ganforge.core.metrics.diversity import ms_ssim, ms_ssim_diversity, pairwise_diversity
from ganforge.core.metrics.extractors import (
    get_extractor,
    list_extractors,
    register_extractor,
    unregister_extractor,
)
from ganforge.core.metrics.frechet import (
    fid,
    frechet_distance,
    frechet_distance_from_statistics,
    gaussian_statistics,
)
from ganforge.core.metrics.inception import load_inception
from ganforge.core.metrics.kernel import KIDResult, kid, mmd_rbf
from ganforge.core.metrics.manifold import (
    density_coverage,
    precision_recall,
    precision_recall_density_coverage,
)
from ganforge.core.metrics.memorisation import MemorisationReport, memorisation_audit
from ganforge.core.metrics.mnist_cnn import MNISTFeatureCNN, load_mnist_cnn
from ganforge.core.metrics.neighbours import Neighbours, kth_neighbour_radii, nearest_neighbours
from ganforge.core.metrics.scores import ScoreResult, inception_score

register_extractor("mnist_cnn", load_mnist_cnn, factory=True, overwrite=True)
register_extractor("inception", load_inception, factory=True, overwrite=True)

__all__ = [
    "KIDResult",
    "MNISTFeatureCNN",
    "MemorisationReport",
    "Neighbours",
    "ScoreResult",
    "density_coverage",
    "fid",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "gaussian_statistics",
    "get_extractor",
    "inception_score",
    "kid",
    "kth_neighbour_radii",
    "list_extractors",
    "load_inception",
    "load_mnist_cnn",
    "memorisation_audit",
    "mmd_rbf",
    "ms_ssim",
    "ms_ssim_diversity",
    "nearest_neighbours",
    "pairwise_diversity",
    "precision_recall",
    "precision_recall_density_coverage",
    "register_extractor",
    "unregister_extractor",
]
