"""Which domain command groups are installed: found by listing ``ganforge.apps``.

A module ``ganforge.apps.<name>`` with an ``add_commands`` function is the
command group of the domain package ``ganforge.<name>``; it is offered when
that package is installed. Nothing is listed by hand, so a new domain joins
the command line (and the CLI test matrix) by adding its app module.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import ganforge.apps

# modules of ganforge.apps that are the command line's own, not a domain's
INFRASTRUCTURE = frozenset({"cli", "common", "demo", "doctor", "domains", "errors", "specs"})


def installed_domains(only: Iterable[str] | None = None) -> dict[str, ModuleType]:
    """The app modules of the domain packages installed here, by domain name (of
    ``only`` those named, when given: a command imports just its own domain).

    A domain whose package fails to import is left out with a one-line warning,
    so one broken installation does not take the whole command down.
    """
    found = {}
    wanted = None if only is None else set(only)
    for name in domain_names():
        if wanted is not None and name not in wanted:
            continue
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


def domain_summaries() -> dict[str, str]:
    """Each installed domain's one-line help, read from its app module's source (the
    ``help=`` of its command group) without importing it or its package: what
    ``ganforge --help`` lists for the domains a command does not load."""
    summaries = {}
    for name in domain_names():
        if importlib.util.find_spec(f"ganforge.{name}") is None:
            continue
        spec = importlib.util.find_spec(f"ganforge.apps.{name}")
        source = Path(spec.origin).read_text(encoding="utf-8") if spec and spec.origin else ""
        summaries[name] = _group_help(source) or f"the {name} domain"
    return summaries


def _group_help(source: str) -> str | None:
    """The constant ``help=`` string of the ``add_command_group`` call in ``source``
    (every domain's command group is made by it), or ``None``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = getattr(node.func, "attr", getattr(node.func, "id", None))
        if called != "add_command_group":
            continue
        for keyword in node.keywords:
            if keyword.arg == "help" and isinstance(keyword.value, ast.Constant):
                return str(keyword.value.value)
    return None
