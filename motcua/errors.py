"""The errors a user can fix, in one place for every front end.

Each layer raises its own type: :mod:`geodata` raises :class:`ScenarioError`
(every problem of a scenario, by file, row and column), :class:`NetworkError`
and :class:`CRSMismatchError`, and :class:`OutputError` for an output it refuses to
write (a folder holding the user's files, a full disk); :mod:`optimizer` and the services of
:mod:`motcua` raise :class:`InvalidInputError` for input a model cannot use; the
command line raises :class:`UsageError` for an option it cannot use.
:data:`INPUT_ERRORS` is the tuple a front end catches to say "fix your input";
anything else (a bare ``ValueError`` from inside a model included) is a bug.
"""

from __future__ import annotations

from geodata._errors import CRSMismatchError, NetworkError, OutputError, ScenarioError
from optimizer.errors import InvalidInputError


class UsageError(InvalidInputError):
    """A command-line option has a value the command cannot use."""


#: Errors caused by the user's input (options, files, scenario data), not by a bug.
INPUT_ERRORS: tuple[type[Exception], ...] = (
    ScenarioError, InvalidInputError, NetworkError, CRSMismatchError, FileNotFoundError,
    OutputError,
)

__all__ = ["INPUT_ERRORS", "CRSMismatchError", "InvalidInputError", "NetworkError",
           "OutputError", "ScenarioError", "UsageError"]
