"""The `ganforge` command: doctor, demo and one command group per installed domain."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from ganforge.apps import demo, doctor
from ganforge.apps.domains import domain_summaries, installed_domains
from ganforge.apps.errors import UsageError


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: `ganforge: error: ...`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser(
    domains: dict[str, ModuleType], summaries: dict[str, str] | None = None
) -> OneLineParser:
    """The parser: core commands, the groups of ``domains`` and, for each other domain
    in ``summaries``, a placeholder that lists it in ``--help`` (its group is built
    when it is the command: :func:`main` loads only the domain it runs)."""

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
    for name in sorted({*domains, *(summaries or {})}):
        if name in domains:
            domains[name].add_commands(commands)
        else:
            placeholder = commands.add_parser(name, help=(summaries or {})[name], add_help=False)
            placeholder.set_defaults(handler=_unavailable(name))
    return parser


def _unavailable(name: str):
    def handler(arguments: argparse.Namespace) -> int:
        raise UsageError(f"domain {name!r} is installed but could not be loaded (see above)")

    return handler


def _version() -> str:
    from ganforge.core import __version__

    return f"ganforge {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for usage errors)."""
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        command = next((a for a in args if not a.startswith("-")), None)
        summaries = domain_summaries()
        domains = installed_domains(only=[command] if command in summaries else [])
        arguments = build_parser(domains, summaries).parse_args(args)
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
