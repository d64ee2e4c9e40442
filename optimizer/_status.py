"""Solver status and report shared by every model in :mod:`optimizer`."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optimizer.errors import InvalidInputError


class SolveStatus(enum.StrEnum):
    """Outcome of a solve, in the words a planner reads.

    ``FEASIBLE`` means a solution was found but not proven optimal (time limit,
    gap limit or a heuristic); it must never be shown as optimal.
    """

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    UNBOUNDED = "UNBOUNDED"
    MODEL_INVALID = "MODEL_INVALID"
    NOT_SOLVED = "NOT_SOLVED"
    UNKNOWN = "UNKNOWN"

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


def relative_gap(objective: float, bound: float) -> float:
    """Relative gap ``|objective - bound| / max(1, |objective|)``; ``inf`` when unknown."""
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    return abs(objective - bound) / max(1.0, abs(objective))


@dataclass(frozen=True)
class SolverReport:
    """What the engine said: status, objective, proven bound, gap and run settings.

    Every result in :mod:`optimizer` carries one, and it is saved with the result
    so that a run can be reproduced (``seed``, ``threads``, ``time_limit_s``).
    """

    status: SolveStatus
    objective: float
    best_bound: float
    gap: float
    wall_time_s: float
    solver: str
    seed: int
    threads: int
    time_limit_s: float | None
    message: str = ""

    @property
    def is_optimal(self) -> bool:
        return self.status is SolveStatus.OPTIMAL

    def summary(self) -> str:
        """One line for logs and the command line, e.g. ``OPTIMAL obj=12 bound=12 gap=0.00%``."""
        gap = "n/a" if not math.isfinite(self.gap) else f"{100 * self.gap:.2f}%"
        return (
            f"{self.status.value} objective={self.objective:g} bound={self.best_bound:g} "
            f"gap={gap} time={self.wall_time_s:.2f}s solver={self.solver} "
            f"seed={self.seed} threads={self.threads}"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "gap": self.gap,
            "wall_time_s": self.wall_time_s,
            "solver": self.solver,
            "seed": self.seed,
            "threads": self.threads,
            "time_limit_s": self.time_limit_s,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SolverReport:
        """The report :meth:`to_dict` gave, read back from a saved result.

        Saved files are strict JSON, so a ``nan`` or infinite objective, bound or
        gap was written as ``null``: it is read back as :func:`_number`'s
        ``nan`` ("no finite value"), whichever it was.  ``message`` may be
        missing (results saved before it existed); unknown keys are ignored.
        """
        return cls(
            status=SolveStatus(data["status"]), objective=_number(data.get("objective")),
            best_bound=_number(data.get("best_bound")), gap=_number(data.get("gap")),
            wall_time_s=float(data["wall_time_s"]), solver=str(data["solver"]),
            seed=int(data["seed"]), threads=int(data["threads"]),
            time_limit_s=None if data.get("time_limit_s") is None else float(data["time_limit_s"]),
            message=str(data.get("message") or ""),
        )


def _number(value: Any) -> float:
    """A saved number: ``None`` (strict JSON's ``null`` for ``nan`` and infinities) is ``nan``."""
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class Stage:
    """One stage of a solve made of several (e.g. the lexicographic steps of the
    staffing plan): its name, status, value reached and proven bound.

    ``probes``: solves the stage took; ``detail``: what it minimised, in words.
    """

    name: str
    status: SolveStatus
    objective: float
    best_bound: float
    wall_time_s: float
    probes: int = 1
    detail: str = ""

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.best_bound)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name, "status": self.status.value, "objective": self.objective,
            "best_bound": self.best_bound, "gap": self.gap, "wall_time_s": self.wall_time_s,
            "probes": self.probes, "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stage:
        """The stage :meth:`to_dict` gave; a ``null`` objective or bound is ``nan``, as in
        :meth:`SolverReport.from_dict` (``gap`` is recomputed, ``probes`` and ``detail``
        may be missing)."""
        return cls(
            name=str(data["name"]), status=SolveStatus(data["status"]),
            objective=_number(data.get("objective")), best_bound=_number(data.get("best_bound")),
            wall_time_s=float(data["wall_time_s"]), probes=int(data.get("probes", 1)),
            detail=str(data.get("detail") or ""),
        )


#: The largest random seed every engine takes (HiGHS and CP-SAT hold it in 32 bits).
MAX_SEED = 2**31 - 1


def check_seed_threads(seed: int, threads: int) -> None:
    """Refuse a seed or a thread count the engines cannot take, naming it.

    HiGHS fails with a bare internal error on a negative seed.

    Raises
    ------
    InvalidInputError
        Naming the seed or thread count.
    """
    if not 0 <= int(seed) <= MAX_SEED:
        msg = f"seed must be a whole number in 0..{MAX_SEED}, got {seed}"
        raise InvalidInputError(msg)
    if int(threads) < 1:
        msg = f"threads must be >= 1, got {threads}"
        raise InvalidInputError(msg)
