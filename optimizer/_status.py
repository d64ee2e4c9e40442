"""Solver status and report shared by every model in :mod:`optimizer`."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

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
