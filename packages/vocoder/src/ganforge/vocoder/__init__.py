"""ganforge.vocoder: MelGAN / HiFi-GAN neural vocoders on the ganforge core.

The HiFi-GAN / Tacotron 2 log-mel front end (:class:`MelSpectrogram`), MelGAN and
HiFi-GAN V1 / V2 / V3 generators built by name (:func:`build_generator`), MelGAN's
multi-scale and HiFi-GAN's multi-period discriminators (:class:`Discriminators`),
and the mel L1 and multi-resolution STFT losses with the published loss weights
expressed in the core's conventions (:data:`PUBLISHED_WEIGHTS`).
"""

from ganforge.vocoder.audio import SegmentDataset
from ganforge.vocoder.discriminators import (
    DISCRIMINATOR_KINDS,
    HIFIGAN_PERIODS,
    DiscriminatorOutput,
    Discriminators,
    MultiPeriodDiscriminator,
    MultiScaleDiscriminator,
    PeriodDiscriminator,
    ScaleDiscriminator,
    concatenate,
)
from ganforge.vocoder.generators import (
    DEFAULT_GENERATOR,
    GENERATOR_CONFIGS,
    Generator,
    GeneratorConfig,
    HiFiGANConfig,
    HiFiGANGenerator,
    MelGANConfig,
    MelGANGenerator,
    build_generator,
    check_hop,
    count_parameters,
    generator_config,
)
from ganforge.vocoder.losses import (
    PARALLEL_WAVEGAN_RESOLUTIONS,
    PUBLISHED_WEIGHTS,
    LossWeights,
    MelL1Loss,
    MultiResolutionSTFTLoss,
    STFTResolution,
    discriminator_loss,
    generator_loss,
    log_magnitude_l1,
    spectral_convergence,
    stft_magnitude,
)
from ganforge.vocoder.mel import MelConfig, MelSpectrogram
from ganforge.vocoder.model import Vocoder, VocoderSpec
from ganforge.vocoder.streaming import StreamingVocoder, receptive_field, synthesize_streaming
from ganforge.vocoder.training import VocoderModule

__all__ = [
    "DEFAULT_GENERATOR",
    "DISCRIMINATOR_KINDS",
    "GENERATOR_CONFIGS",
    "HIFIGAN_PERIODS",
    "PARALLEL_WAVEGAN_RESOLUTIONS",
    "PUBLISHED_WEIGHTS",
    "DiscriminatorOutput",
    "Discriminators",
    "Generator",
    "GeneratorConfig",
    "HiFiGANConfig",
    "HiFiGANGenerator",
    "LossWeights",
    "MelConfig",
    "MelGANConfig",
    "MelGANGenerator",
    "MelL1Loss",
    "MelSpectrogram",
    "MultiPeriodDiscriminator",
    "MultiResolutionSTFTLoss",
    "MultiScaleDiscriminator",
    "PeriodDiscriminator",
    "STFTResolution",
    "StreamingVocoder",
    "SegmentDataset",
    "ScaleDiscriminator",
    "Vocoder",
    "VocoderModule",
    "VocoderSpec",
    "build_generator",
    "check_hop",
    "concatenate",
    "count_parameters",
    "discriminator_loss",
    "generator_config",
    "generator_loss",
    "log_magnitude_l1",
    "receptive_field",
    "spectral_convergence",
    "stft_magnitude",
    "synthesize_streaming",
]
