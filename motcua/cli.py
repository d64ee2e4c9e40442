"""The ``motcua`` command line.

Each subcommand lives in its own module ``motcua.cmd_<name>`` that defines
``register(subparsers)``; the parser it adds sets ``func`` to a callable taking
the parsed arguments and returning the exit code.  Errors a user can fix
(bad scenario, bad option, missing file, a refused ``--out``, a full disk) are
printed plainly with exit code 1, never as a traceback; ``--debug`` shows the
traceback for bug reports.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from geodata._errors import CRSMismatchError, NetworkError, OutputError, ScenarioError

#: Subcommand modules, in the order ``motcua --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "validate", "demo", "coverage", "place", "staff", "import",
)


class UsageError(ValueError):
    """A command-line option has a value the command cannot use."""


#: ``--out`` help shared by the commands that write a folder (place, staff, import).
OUT_FOLDER_RULES = (
    "It must be new, empty, or a previous output of this command (recognised by its "
    ".motcua-manifest.json and replaced atomically); a folder holding any file motcua did "
    "not write is refused and left untouched, as are the current folder, its parents, the "
    "scenario folder and every input")
#: ``--overwrite`` help of those commands.
OVERWRITE_HELP = (
    "also replace a previous motcua output of another command, or one whose files were "
    "edited since; never a folder holding files motcua did not write")


def add_output_options(parser: argparse._ActionsContainer, out_help: str, *,
                       default: str | None = None, required: bool = False) -> None:
    """Add ``--out`` (a folder) and ``--overwrite`` with the shared rules in their help."""
    from pathlib import Path

    parser.add_argument("--out", type=Path, required=required, help=f"{out_help}. {OUT_FOLDER_RULES}"
                        + (f" (default {default})" if default else ""))
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="motcua",
        description=(
            "Planner for Vietnam's one-stop Public Administration Service Centers "
            "(Trung tâm Phục vụ hành chính công): coverage, reception-point placement "
            "and weekly staff rebalancing."
        ),
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--version", action="version", version="motcua 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"motcua.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"motcua.cmd_{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except (UsageError, NetworkError, CRSMismatchError, FileNotFoundError, OutputError) as exc:
        print(f"motcua {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: no bare traceback
        if args.debug:
            raise
        print(
            f"motcua {args.command}: unexpected error: {type(exc).__name__}: {exc}\n"
            "Run again with --debug for the full traceback and report it.",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
