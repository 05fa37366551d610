"""The `ganforge` command: doctor, demo and one command group per installed domain."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from ganforge.apps import demo, doctor
from ganforge.apps.domains import installed_domains
from ganforge.apps.errors import UsageError


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: `ganforge: error: ...`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser(domains: dict[str, ModuleType]) -> OneLineParser:
    """The full parser: core commands and every installed domain's group."""

    parser = OneLineParser(
        prog="ganforge",
        description="Domain-specialised GANs on one adversarial core. "
        "Run `ganforge <command> --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(
        dest="command", metavar="<command>", parser_class=OneLineParser
    )
    commands.required = True
    doctor.add_command(commands)
    demo.add_command(commands)
    for module in domains.values():
        module.add_commands(commands)
    return parser


def _version() -> str:
    from ganforge.core import __version__

    return f"ganforge {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for usage errors)."""
    try:
        domains = installed_domains()
        arguments = build_parser(domains).parse_args(argv)
        result = arguments.handler(arguments)
        return int(result or 0)
    except (UsageError, ValueError, FileNotFoundError, PermissionError) as error:
        print(f"ganforge: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganforge: interrupted", file=sys.stderr)
        return 130


def _one_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
