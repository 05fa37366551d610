"""ganforge.medsr: medical image super-resolution on MONAI that does not hallucinate.

Degradation models (k-space truncation, Gaussian PSF, bicubic), MONAI data loading
and embedded defaults (MNI152 slabs, Shepp-Logan, MONAI synthetic images),
SRGAN/ESRGAN-style 2-D and 3-D generators with MONAI's PatchDiscriminator, a
two-stage training recipe on the ganforge core, and ``enhance()`` with data
consistency, hallucination and uncertainty maps.
"""

from ganforge.medsr.data import (
    MNI152_SLABS,
    LoadedImage,
    PairedPatchSource,
    load_image,
    mni152_slab,
    mni152_slab_range,
    mni152_slices,
    mni152_volume,
    paired_dataset,
    scale_intensity,
    shepp_logan,
    synthetic_images,
    validate_array,
)
from ganforge.medsr.degradation import (
    SUPPORTED_SCALES,
    Degradation,
    consistency_residual,
    crop_to_multiple,
)

__all__ = [
    "MNI152_SLABS",
    "SUPPORTED_SCALES",
    "Degradation",
    "LoadedImage",
    "PairedPatchSource",
    "consistency_residual",
    "crop_to_multiple",
    "load_image",
    "mni152_slab",
    "mni152_slab_range",
    "mni152_slices",
    "mni152_volume",
    "paired_dataset",
    "scale_intensity",
    "shepp_logan",
    "synthetic_images",
    "validate_array",
]
