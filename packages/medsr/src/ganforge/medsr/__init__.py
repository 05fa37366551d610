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
    PatchPairs,
    load_image,
    load_mask,
    mni152_slab,
    mni152_slab_range,
    mni152_slices,
    mni152_volume,
    paired_dataset,
    paired_loader,
    pydicom_images,
    scale_intensity,
    shepp_logan,
    synthetic_images,
    validate_array,
    validate_mask,
)
from ganforge.medsr.degradation import (
    SUPPORTED_SCALES,
    Degradation,
    consistency_residual,
    crop_to_multiple,
)
from ganforge.medsr.enhance import EnhancementResult, Enhancer, output_paths, scaled_affine
from ganforge.medsr.losses import (
    LossWeights,
    PerceptualLoss,
    gradient_difference_loss,
    gradient_magnitude,
    roi_loss,
)
from ganforge.medsr.model import MedicalSR
from ganforge.medsr.networks import (
    GeneratorConfig,
    PatchLogits,
    SRGenerator,
    flops_per_output_voxel,
)
from ganforge.medsr.quality import evaluate, image_metrics
from ganforge.medsr.safety import (
    DEFAULT_THRESHOLD,
    HallucinationReport,
    conservative_upsample,
    hallucination_map,
    uncertainty_map,
)
from ganforge.medsr.spec import MedicalSRSpec
from ganforge.medsr.tiled import tiled_forward
from ganforge.medsr.training import ADVERSARIAL_ITERATIONS, PRETRAIN_ITERATIONS, MedSRModule

__all__ = [
    "ADVERSARIAL_ITERATIONS",
    "DEFAULT_THRESHOLD",
    "PRETRAIN_ITERATIONS",
    "EnhancementResult",
    "Enhancer",
    "GeneratorConfig",
    "HallucinationReport",
    "LossWeights",
    "MedSRModule",
    "MedicalSR",
    "MedicalSRSpec",
    "PatchLogits",
    "PerceptualLoss",
    "SRGenerator",
    "conservative_upsample",
    "evaluate",
    "flops_per_output_voxel",
    "image_metrics",
    "paired_loader",
    "gradient_difference_loss",
    "gradient_magnitude",
    "hallucination_map",
    "output_paths",
    "roi_loss",
    "scaled_affine",
    "tiled_forward",
    "uncertainty_map",
    "MNI152_SLABS",
    "SUPPORTED_SCALES",
    "Degradation",
    "LoadedImage",
    "PairedPatchSource",
    "PatchPairs",
    "consistency_residual",
    "crop_to_multiple",
    "load_image",
    "load_mask",
    "mni152_slab",
    "mni152_slab_range",
    "mni152_slices",
    "pydicom_images",
    "mni152_volume",
    "paired_dataset",
    "scale_intensity",
    "shepp_logan",
    "synthetic_images",
    "validate_array",
    "validate_mask",
]
