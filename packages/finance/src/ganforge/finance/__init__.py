"""ganforge.finance: TimeGAN for financial time series, conditional scenarios,
and a stylized-facts evaluation suite."""

from ganforge.finance.bars import (
    BAR_FEATURES,
    OHLCV,
    bars_to_ohlcv,
    check_ohlcv,
    invalid_bar_share,
    ohlcv_to_bars,
)
from ganforge.finance.baselines import GarchT, bootstrap_returns
from ganforge.finance.config import TimeGANConfig
from ganforge.finance.data import (
    REGIME_NAMES,
    MinMaxScaler,
    label_windows,
    load_prices,
    load_sp500,
    load_vix,
    log_returns,
    prices_from_returns,
    sliding_windows,
    vix_regimes,
    volatility_regimes,
)
from ganforge.finance.evaluation import (
    baseline_paths,
    discriminative_score,
    embedding_figure,
    evaluate,
    facts_figure,
    facts_summary,
    predictive_score,
    timegan_scores,
)
from ganforge.finance.facts import (
    FactCheck,
    clustering_and_leverage_scores,
    facts_table,
    stylized_facts,
)
from ganforge.finance.module import TimeGANModule
from ganforge.finance.networks import RecurrentBlock, build_timegan_networks
from ganforge.finance.paper import PaperTimeGANModule
from ganforge.finance.stepwise import StepwiseTimeGANModule
from ganforge.finance.stocks import paper_minmax, paper_windows, reference_rows, stocks_ohlcv
from ganforge.finance.testing import (
    StylizedFactsError,
    assert_stylized_facts,
    moment_errors,
    sp500_log_returns,
)
from ganforge.finance.timegan import TimeGAN, build_module
from ganforge.finance.transforms import GaussianizingScaler

__all__ = [
    "BAR_FEATURES",
    "OHLCV",
    "bars_to_ohlcv",
    "check_ohlcv",
    "invalid_bar_share",
    "ohlcv_to_bars",
    "paper_minmax",
    "paper_windows",
    "reference_rows",
    "stocks_ohlcv",
    "StylizedFactsError",
    "assert_stylized_facts",
    "baseline_paths",
    "discriminative_score",
    "embedding_figure",
    "evaluate",
    "facts_figure",
    "facts_summary",
    "moment_errors",
    "predictive_score",
    "sp500_log_returns",
    "timegan_scores",
    "REGIME_NAMES",
    "FactCheck",
    "GarchT",
    "GaussianizingScaler",
    "MinMaxScaler",
    "PaperTimeGANModule",
    "RecurrentBlock",
    "StepwiseTimeGANModule",
    "TimeGAN",
    "TimeGANConfig",
    "TimeGANModule",
    "build_module",
    "build_timegan_networks",
    "bootstrap_returns",
    "clustering_and_leverage_scores",
    "facts_table",
    "label_windows",
    "load_prices",
    "load_sp500",
    "load_vix",
    "log_returns",
    "prices_from_returns",
    "sliding_windows",
    "stylized_facts",
    "vix_regimes",
    "volatility_regimes",
]
