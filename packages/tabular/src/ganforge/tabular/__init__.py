"""ganforge.tabular: differentially private tabular synthesis (a DP-GAN trained with Opacus).

Example::

    from ganforge.tabular import DPTabularGAN, load_fair, fair_schema, evaluate
    df = load_fair()
    synth = DPTabularGAN(epsilon=1.0, schema=fair_schema()).fit(df)
    synthetic = synth.sample(len(df))
    print(synth.privacy.describe())

With a target column, ``MarginalSynthesizer(target="affair", epsilon=1.0)`` keeps
its relationship to the other columns on small tables (see its module).
"""

from ganforge.tabular.conditional import ConditionalSampler
from ganforge.tabular.config import SynthConfig
from ganforge.tabular.data import (
    FAIR_CODEBOOK,
    PoissonBatches,
    fair_schema,
    load_fair,
    load_sklearn_table,
    read_table,
    sklearn_schema,
)
from ganforge.tabular.evaluate import evaluate
from ganforge.tabular.marginals import PairwiseMarginals
from ganforge.tabular.model import DPConfig, TabularGAN
from ganforge.tabular.networks import Discriminator, Generator
from ganforge.tabular.privacy import PrivacyReport, calibrate_noise, default_delta, rdp_epsilon
from ganforge.tabular.schema import ColumnSpec, as_column_spec, validate_frame
from ganforge.tabular.star import MarginalSynthesizer
from ganforge.tabular.synthesizer import DPTabularGAN
from ganforge.tabular.transformer import DataTransformer

__all__ = [
    "FAIR_CODEBOOK",
    "ColumnSpec",
    "ConditionalSampler",
    "DPConfig",
    "DPTabularGAN",
    "DataTransformer",
    "MarginalSynthesizer",
    "Discriminator",
    "Generator",
    "PairwiseMarginals",
    "PoissonBatches",
    "PrivacyReport",
    "SynthConfig",
    "TabularGAN",
    "as_column_spec",
    "calibrate_noise",
    "default_delta",
    "evaluate",
    "fair_schema",
    "load_fair",
    "load_sklearn_table",
    "rdp_epsilon",
    "read_table",
    "sklearn_schema",
    "validate_frame",
]
