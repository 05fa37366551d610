"""Reference recipes on the core: a generic adversarial module, the 2-D ring of
Gaussians (the classic mode-coverage check) and a small DCGAN.

They serve the tests, the demo and the benchmarks, and show a domain how to
write its own module.
"""

from ganforge.core.recipes.adversarial import AdversarialRecipe
from ganforge.core.recipes.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_recipe
from ganforge.core.recipes.ring import (
    RingCoverage,
    mode_coverage,
    ring_centres,
    ring_mlps,
    ring_of_gaussians,
    ring_recipe,
)

__all__ = [
    "AdversarialRecipe",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "RingCoverage",
    "dcgan_recipe",
    "mode_coverage",
    "ring_centres",
    "ring_mlps",
    "ring_of_gaussians",
    "ring_recipe",
]
