"""CP-SAT settings and budgets: every solve deterministic, every figure reproducible.

Each solve runs one CP-SAT worker (``num_workers = 1``, the project's ``lp2``
search: ``linearization_level = 2``, every constraint in the LP relaxation) with
a seed and a budget of CP-SAT *deterministic* time, so the same input, seed and
limits give the same plan whatever the machine's load. With several threads the
days are solved side by side, one worker each (the days are independent,
:mod:`.stages`), which keeps that guarantee. The wall-clock limit is a safety
net: a solve that reaches it before its deterministic budget is recorded
(:attr:`Runner.wall_bound`), and the run then says it may not be reproducible.

:class:`Budget` splits a day's budget over its steps by :data:`STEP_WEIGHTS`
(what a step leaves passes on to the next).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from optimizer._status import SolveStatus
from optimizer._stopping import stop_on

__all__ = ["DET_PER_SECOND", "HIGHS_SHARE", "HIGHS_STEP_WEIGHTS", "STEP_WEIGHTS", "Budget", "Outcome", "Runner"]

#: Default budget of CP-SAT deterministic time per second of the wall-clock limit
#: and thread (deterministic seconds run at roughly 1-2 wall seconds on a loaded
#: core, so the wall clock rarely binds first).
DET_PER_SECOND = 0.5
#: Share of the wall-clock limit the HiGHS engine plans to use for the days (the
#: rest: today's and the pooled plan's LPs, building the models, the final routing).
HIGHS_SHARE = 0.85
#: Share of a day's budget each step may use (unused time passes on).
STEP_WEIGHTS: dict[str, float] = {"gaps": 0.15, "overload": 0.4, "counters": 0.15, "moves": 0.3}
#: The same for the HiGHS engine (wall seconds): its skill-gap step is small (the
#: roster-only rows) and its counter-gap step the slowest on province-size days.
HIGHS_STEP_WEIGHTS: dict[str, float] = {"gaps": 0.1, "overload": 0.35, "counters": 0.35,
                                        "moves": 0.2}

_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.MODEL_INVALID: SolveStatus.MODEL_INVALID,
    cp_model.UNKNOWN: SolveStatus.UNKNOWN,
}


@dataclass(frozen=True)
class Outcome:
    """One solve: status, values by variable index, objective value and bound."""

    status: SolveStatus
    values: list[int] | None
    value: int
    bound: int
    det_s: float


class Runner:
    """Solves models with one seed, a deadline, a stop flag; records whether the clock bound."""

    def __init__(self, seed: int, deadline: float, stop: threading.Event | None) -> None:
        self.seed = seed
        self.deadline = deadline
        self.stop = stop
        self.wall_bound = False
        self.build_s = 0.0  # the longest a day's model took to build (a day needs that first)
        self.grace = 0.0  # seconds a solve may wait for HiGHS past the deadline
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def note_build(self, seconds: float) -> None:
        """A day's model took ``seconds`` to build."""
        with self._lock:
            self.build_s = max(self.build_s, seconds)

    def note_wall_bound(self) -> None:
        """A solve ended on the clock (or a stop), not proven: the run may not reproduce."""
        with self._lock:
            self.wall_bound = True

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def solve(self, m: cp_model.CpModel, hint: list[int] | None, det_s: float) -> Outcome:
        """Minimise ``m``'s objective from ``hint`` (values of every variable, by index)."""
        if hint is not None:
            m.clear_hints()  # type: ignore[no-untyped-call]
            m.proto.solution_hint.vars.extend(range(len(hint)))
            m.proto.solution_hint.values.extend(hint)
        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = 1
        prm.random_seed = self.seed
        prm.linearization_level = 2
        prm.max_deterministic_time = max(0.01, det_s)
        wall = self.remaining()
        prm.max_time_in_seconds = max(0.01, wall)
        if self.stopped():
            return Outcome(SolveStatus.UNKNOWN, None, 0, -(2**62), 0.0)
        with stop_on(self.stop, solver.stop_search, name="motcua-staff-watch"):
            st = _STATUS.get(solver.solve(m), SolveStatus.UNKNOWN)
        resp = solver.response_proto
        if st not in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE) and (
                resp.deterministic_time < 0.99 * prm.max_deterministic_time):
            with self._lock:  # stopped by the clock (or a stop request), not by its budget
                self.wall_bound = True
        if not st.has_solution:
            return Outcome(st, None, 0, -(2**62), resp.deterministic_time)
        vals = list(resp.solution)
        value = int(round(solver.objective_value))
        bound = value if st is SolveStatus.OPTIMAL else int(
            math.ceil(solver.best_objective_bound - 1e-6))
        return Outcome(st, vals, value, min(bound, value), resp.deterministic_time)


class Budget:
    """A day's deterministic seconds, shared by its steps by :data:`STEP_WEIGHTS`."""

    def __init__(self, det_s: float, engine: str = "cpsat") -> None:
        self.left = det_s
        self.engine = engine
        self.weights = dict(HIGHS_STEP_WEIGHTS if engine == "highs" else STEP_WEIGHTS)

    def take(self, step: str) -> float:
        total = sum(self.weights.values())
        w = self.weights.pop(step, 0.0)
        return self.left * (w / total if total > 0 else 1.0)

    def spend(self, det_s: float) -> None:
        self.left = max(0.0, self.left - det_s)
