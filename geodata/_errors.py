"""Every custom exception and warning of motcua's data layer, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario input, located as precisely as we can.

    ``row`` is the 1-based data row as a person sees it in a spreadsheet
    (the header is row 1, so the first data row is row 2); ``None`` when the
    problem concerns the whole file or a column.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: Any = None
    expected: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.column is not None:
            where += f", column {self.column!r}"
        if self.row is not None:
            where += f", row {self.row}"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (value {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


class ScenarioError(ValueError):
    """A scenario could not be loaded; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str, file: str = "scenario") -> None:
        if isinstance(problems, str):
            problems = [Problem(file=file, message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in scenario:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class ScenarioWarning(UserWarning):
    """A recoverable scenario problem; the message says which default was applied."""


class NetworkError(ValueError):
    """A road network could not be loaded, downloaded or used.

    Raised with a message, or with the :class:`Problem` (s) found in a road file,
    kept in ``problems`` so that ``motcua validate`` lists them like any other
    scenario problem; the message is then one line per problem.
    """

    def __init__(self, message: str | Problem | list[Problem]) -> None:
        if isinstance(message, Problem):
            message = [message]
        self.problems: list[Problem] = [] if isinstance(message, str) else list(message)
        super().__init__(message if isinstance(message, str)
                         else "\n".join(str(p) for p in self.problems))


class CRSMismatchError(ValueError):
    """Two spatial inputs disagree on their coordinate reference system."""


class OutputError(ValueError):
    """An output could not be written, or was refused to protect the user's files.

    Raised before anything is deleted when ``--out`` names a folder or file that
    motcua did not write (or the working folder, the scenario, an input, ...),
    and when writing fails (``no space left on device while writing FILE``).
    The message names the path and says what to do.
    """
