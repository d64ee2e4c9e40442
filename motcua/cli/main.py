"""The ``motcua`` command line.

Each subcommand lives in its own module ``motcua.cli.<name>`` (``import_`` for
``import``) that defines ``register(subparsers)``; the parser it adds sets
``func`` to a callable taking the parsed arguments and returning the exit code.
The commands share :mod:`motcua.cli._common` and never import this module.
Errors a user can fix (:data:`motcua.errors.INPUT_ERRORS`: bad scenario, bad
option, missing file, a refused ``--out``, a full disk) are printed plainly, never as a traceback; anything else
is an unexpected error (a bug), and ``--debug`` shows its traceback for the report.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import NoReturn

from motcua.cli import coverage, demo, import_, place, staff, sweep, validate
from motcua.cli._common import (
    EXIT_CODES_HELP,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_UNEXPECTED,
)
from motcua.errors import INPUT_ERRORS, ScenarioError, UsageError
from optimizer.placement import engines_running

#: Subcommands, in the order ``motcua --help`` lists them.
_MODULES: dict[str, ModuleType] = {
    "validate": validate, "demo": demo, "coverage": coverage, "place": place,
    "staff": staff, "import": import_, "sweep": sweep,
}
COMMANDS: tuple[str, ...] = tuple(_MODULES)

__all__ = ["COMMANDS", "UsageError", "build_parser", "entry", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="motcua",
        description=(
            "Planner for Vietnam's one-stop Public Administration Service Centers "
            "(Trung tâm Phục vụ hành chính công): coverage, reception-point placement "
            "and weekly staff rebalancing."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--version", action="version", version="motcua 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _MODULES.values():
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
        return EXIT_UNEXPECTED
    # a solver's stray line must not reach --json's output (the app server of `demo` keeps
    # its own standard output)
    guard = contextlib.nullcontext() if args.command == "demo" else native_output_to_stderr()
    try:
        with guard:
            return int(args.func(args) or 0)
    except ScenarioError as exc:  # its message names the scenario's every problem
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    except INPUT_ERRORS as exc:
        print(f"motcua {args.command}: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - last line of defence: no bare traceback
        if args.debug:
            raise
        print(
            f"motcua {args.command}: unexpected error: {type(exc).__name__}: {exc}\n"
            "Run again with --debug for the full traceback and report it.",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED


@contextlib.contextmanager
def native_output_to_stderr() -> Iterator[None]:
    """Within it, what native libraries write to the standard output (file descriptor 1:
    a solver's stray progress line) goes to the standard error, and Python's own
    ``print`` still goes to the standard output: ``--json`` stays valid JSON and the
    answer stays readable. When ``sys.stdout`` is not the process's own (a test's
    capture), it is left as it is."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no file descriptor 1 to guard
        yield
        return
    own = sys.stdout is sys.__stdout__ and sys.stdout is not None
    old = sys.stdout
    if own:
        line = bool(getattr(old, "line_buffering", False))
        sys.stdout = open(saved, "w", buffering=1 if line else -1,  # noqa: SIM115
                          encoding=old.encoding, errors=old.errors, closefd=False)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        if own:
            sys.stdout = old
        os.dup2(saved, 1)
        os.close(saved)


def entry(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``motcua`` console script: :func:`main`, then the process ends.

    A solver run abandoned at its share of the time limit (its answer is no longer
    needed) goes on in a background thread until its own limit; a plain
    ``sys.exit`` would wait for it, up to two minutes after the answer is printed and
    saved. So when one is still running, the output is flushed and the process ends
    at once (``os._exit``: every file motcua writes is already closed and renamed
    into place by then).
    """
    code = main(argv)
    if engines_running():
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
