"""Which domain command groups are installed: found by listing ``ganforge.apps``.

A module ``ganforge.apps.<name>`` with an ``add_commands`` function is the
command group of the domain package ``ganforge.<name>``; it is offered when
that package is installed. Nothing is listed by hand, so a new domain joins
the command line (and the CLI test matrix) by adding its app module.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from types import ModuleType

import ganforge.apps

# modules of ganforge.apps that are the command line's own, not a domain's
INFRASTRUCTURE = frozenset({"cli", "common", "demo", "doctor", "domains", "errors", "specs"})


def installed_domains() -> dict[str, ModuleType]:
    """The app modules of the domain packages installed here, by domain name.

    A domain whose package fails to import is left out with a one-line warning,
    so one broken installation does not take the whole command down.
    """
    found = {}
    for name in domain_names():
        if importlib.util.find_spec(f"ganforge.{name}") is None:
            continue
        try:
            module = importlib.import_module(f"ganforge.apps.{name}")
        except Exception as error:  # a broken installation must not take every domain down
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            print(
                f"ganforge: warning: domain {name!r} is unavailable: {first_line}", file=sys.stderr
            )
            continue
        if hasattr(module, "add_commands"):
            found[name] = module
    return found


def domain_names() -> list[str]:
    """Every candidate domain app module in ``ganforge.apps``, sorted."""
    names = {info.name for info in pkgutil.iter_modules(ganforge.apps.__path__)}
    return sorted(names - INFRASTRUCTURE)
