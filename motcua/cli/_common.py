"""What every ``motcua`` command shares: exit codes, solver and output options, loading.

The commands import this module, never :mod:`motcua.cli.main` (which imports them).
"""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from motcua.errors import UsageError
from optimizer._status import MAX_SEED, SolveStatus

if TYPE_CHECKING:
    from geodata.scenario import Scenario

#: Exit codes of every command.
EXIT_OK = 0
#: Bad input the user can fix: an option, a file, a scenario (every problem named).
EXIT_INPUT = 1
#: The command line itself could not be parsed (argparse), or an unexpected error (a bug).
EXIT_UNEXPECTED = 2
#: The solver found no solution (placement or staffing) in the time given.
EXIT_NO_SOLUTION = 3
#: Stopped by Ctrl+C (or SIGTERM / SIGHUP for ``motcua demo``).
EXIT_INTERRUPTED = 130

#: The table of exit codes, shown at the end of ``motcua --help``.
EXIT_CODES_HELP = f"""\
exit codes:
  {EXIT_OK:<4}success
  {EXIT_INPUT:<4}bad input: an option, a file or the scenario (every problem is named)
  {EXIT_UNEXPECTED:<4}the command line could not be parsed, or an unexpected error (a bug:
      run again with --debug and report the traceback)
  {EXIT_NO_SOLUTION:<4}place, staff: the solver found no solution within the time limit
  {EXIT_INTERRUPTED:<4}interrupted (Ctrl+C)
"""


def solution_exit_code(status: SolveStatus) -> int:
    """:data:`EXIT_OK` when the solver has a solution (optimal or feasible), else
    :data:`EXIT_NO_SOLUTION`."""
    return EXIT_OK if status.has_solution else EXIT_NO_SOLUTION


def add_solver_options(parser: Any, *, time_limit: float | None, time_limit_help: str,
                       threads_help: str, threads: int = 1, engine: bool = False) -> None:
    """``--time-limit``, ``--seed`` and ``--threads`` (and ``--engine`` for the MIP models).

    :func:`solver_options` checks their values once, before any work starts.
    """
    parser.add_argument("--time-limit", type=float, default=time_limit, help=time_limit_help)
    parser.add_argument("--seed", type=int, default=0,
                        help=f"solver random seed, 0..{MAX_SEED} (default 0)")
    parser.add_argument("--threads", type=int, default=threads, help=threads_help)
    if engine:
        parser.add_argument("--engine", choices=("auto", "highs", "scip"), default="auto",
                            help="MIP engine through OR-Tools MathOpt (default auto: SCIP for "
                                 "LSCP components up to 2,000 sites whose greedy cover is within 27 %% of "
                                 "their LP, HiGHS otherwise)")


def solver_options(args: argparse.Namespace) -> tuple[float, int, int]:
    """``(time_limit_s, seed, threads)`` of the options of :func:`add_solver_options`.

    Raises :class:`UsageError` naming the option whose value no engine takes (NaN and
    infinite time limits included: ``nan <= 0`` is false).
    """
    if not (math.isfinite(args.time_limit) and args.time_limit > 0):
        raise UsageError(f"--time-limit {args.time_limit}: expected seconds > 0")
    if args.threads < 1:
        raise UsageError(f"--threads {args.threads}: expected >= 1")
    if not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed {args.seed}: expected a whole number in 0..{MAX_SEED}")
    return float(args.time_limit), int(args.seed), int(args.threads)


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


def add_output_options(parser: Any, *, out: str | None = None, out_default: str | None = None,
                       out_required: bool = False, out_folder: bool = False,
                       cache_dir: str | None = None, json: str | None = None) -> None:
    """The output options a command has, each with its own help text (``None``: none).

    ``--out`` (a file or folder to write), ``--cache-dir`` (the coverage and download
    cache) and ``--json`` (print the result as JSON instead of text).  With
    ``out_folder``, ``--out`` is a folder written by :func:`geodata._atomic.output_folder`:
    its help gives the shared rules (:data:`OUT_FOLDER_RULES`, ``out_default`` shown as
    the default) and ``--overwrite`` is added.
    """
    if out is not None:
        text = out
        if out_folder:
            text = f"{out}. {OUT_FOLDER_RULES}" + (f" (default {out_default})" if out_default else "")
        parser.add_argument("--out", type=Path, required=out_required, help=text)
        if out_folder:
            parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    if cache_dir is not None:
        parser.add_argument("--cache-dir", type=Path, help=cache_dir)
    if json is not None:
        parser.add_argument("--json", action="store_true", help=json)


def load_scenario(folder: str | Path) -> Scenario:
    """Load and validate the scenario in ``folder``.

    Recoverable problems (:class:`~geodata._errors.ScenarioWarning`) are not printed
    as Python warnings: they are kept in ``scenario.warnings`` for the command to
    show in its own words.  Raises :class:`~geodata._errors.ScenarioError` listing
    every problem.
    """
    from geodata._errors import ScenarioWarning
    from geodata.scenario import load_scenario as load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        return load(folder)
