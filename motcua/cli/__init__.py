"""The ``motcua`` command line: ``main`` and ``build_parser`` (see :mod:`motcua.cli.main`)."""

from motcua.cli.main import COMMANDS, UsageError, build_parser, entry, main

__all__ = ["COMMANDS", "UsageError", "build_parser", "entry", "main"]
