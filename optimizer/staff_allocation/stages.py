"""The planned plan, day by day: lexicographic steps on each day's CP-SAT model.

The days worked are today's rotation in every plan, so the days are
independent: each open day is one model (:mod:`.model`), solved by steps,
each minimising one quantity and then fixing it (``<=`` its value) for the
steps after it, from the previous step's plan (a complete hint):

1. fewest skill gaps (fields with in-person demand and no one qualified);
2. least overload (site overload plus unplaced pooled minutes);
3. fewest counter gaps (staffed counters short of Erlang C);
4. fewest moves, then least travel, in one solve of ``M * moves + travel``
   (``M`` one more than the largest travel total, so a move outweighs any travel).

The first plan is today's roster with the pooled work routed (a solve with the
roster fixed), so every step starts feasible and a step that finds nothing
better keeps it. A step whose plan already sits at its quantity's lower end is
proven without a solve. The peak is not a step: moves are for the counter
(fields, Erlang C, local work that needs people there); the guard in the model
keeps the local work of every site within the pooled plan's peak, and the
routing of the final roster is the exact LP of :mod:`.pooled`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from optimizer._status import SolveStatus
from optimizer.staff_allocation.engine import Budget, Runner
from optimizer.staff_allocation.model import DayModel, build_day
from optimizer.staff_allocation.offers import day_offers
from optimizer.staff_allocation.problem import IntArr, Minutes, StaffProblem

__all__ = ["STEPS", "DayResult", "Step", "solve_day"]

#: The steps, in order: (name, the quantity minimised).
STEPS: tuple[str, ...] = ("skill_gaps", "overload_min", "counter_gaps", "moves", "travel_min")


@dataclass(frozen=True)
class Step:
    """One step of one day: value reached and its proven lower bound."""

    name: str
    value: int
    bound: int

    @property
    def proven(self) -> bool:
        return self.bound >= self.value


@dataclass(frozen=True)
class DayResult:
    """A day's planned placement (person -> site), its steps, work and time."""

    d: int
    placement: dict[int, int]
    steps: tuple[Step, ...]
    det_s: float
    wall_s: float
    assignment_vars: int


def _lo(v: cp_model.IntVar) -> int:
    return int(v.proto.domain[0])


def _fixed_start(dm: DayModel, pb: StaffProblem, plan: IntArr, runner: Runner,
                 budget: Budget) -> list[int] | None:
    """A complete plan of the model: today's roster, pooled work routed (least overload)."""
    m = dm.model.clone()
    for (p, s), v in dm.x.items():
        m.add(m.get_bool_var_from_proto_index(v.index) == int(plan[p, dm.d] == s))
    m.minimize(m.get_int_var_from_proto_index(dm.over.index))
    out = runner.solve(m, None, max(1.0, budget.left))
    budget.spend(out.det_s)
    if out.status is SolveStatus.INFEASIBLE:  # pragma: no cover - always a plan
        msg = f"day {pb.days[dm.d]}: today's roster is not a plan of the day's model"
        raise RuntimeError(msg)
    return out.values


def _minimise(dm: DayModel, runner: Runner, budget: Budget, sol: list[int], key: str,
              objective: list[tuple[cp_model.IntVar, int]], lo: int) -> tuple[list[int], int, int]:
    """Minimise ``sum(coef * var)`` from ``sol``; returns (plan, value, bound) and fixes it."""
    base = dm.model
    value = sum(c * sol[v.index] for v, c in objective)
    if value <= lo:
        budget.take(key)
        bound = value
    else:
        m = base.clone()
        m.minimize(sum(c * m.get_int_var_from_proto_index(v.index) for v, c in objective))
        out = runner.solve(m, sol, budget.take(key))
        budget.spend(out.det_s)
        if out.values is not None and out.value <= value:
            sol, value, bound = out.values, out.value, max(out.bound, lo)
        else:
            bound = max(lo, out.bound)
    base.add(sum(c * v for v, c in objective) <= value)
    return sol, value, min(bound, value)


def solve_day(
    pb: StaffProblem, minutes: Minutes, plan: IntArr, d: int, travel_int: IntArr,
    runner: Runner, det_s: float, moves_cap: int | None, peak_guard: int | None,
) -> DayResult:
    """The planned placement of day ``d`` (see the module's steps)."""
    t0 = time.monotonic()
    budget = Budget(det_s)
    offers = day_offers(pb, minutes, plan, d)
    dm = build_day(pb, minutes, d, offers, travel_int, moves_cap, peak_guard)
    det0 = budget.left
    start = _fixed_start(dm, pb, plan, runner, budget)
    if start is None:  # stopped on request or out of time: today's roster, nothing proven
        placement = {p: int(plan[p, d]) for p in offers}
        steps0 = tuple(Step(n, 0, 0) for n in STEPS)
        return DayResult(d, placement, steps0, det0 - budget.left, time.monotonic() - t0,
                         len(dm.x))
    sol = start
    steps: list[Step] = []
    for key, name, var in (("gaps", "skill_gaps", dm.gaps), ("overload", "overload_min", dm.over),
                           ("counters", "counter_gaps", dm.counters)):
        sol, value, bound = _minimise(dm, runner, budget, sol, key, [(var, 1)], _lo(var))
        steps.append(Step(name, value, bound))
    w = dm.travel_weight
    sol, value, bound = _minimise(dm, runner, budget, sol, "moves", [(dm.moves, w), (dm.travel, 1)],
                                  0)
    mv, tr = sol[dm.moves.index], sol[dm.travel.index]
    mv_lb = min(mv, bound // w)
    tr_lb = min(tr, max(0, bound - w * mv)) if mv_lb >= mv else 0
    steps += [Step("moves", mv, mv_lb), Step("travel_min", tr, tr_lb)]
    placement = {p: s for (p, s), v in dm.x.items() if sol[v.index]}
    return DayResult(d, placement, tuple(steps), det0 - budget.left, time.monotonic() - t0,
                     len(dm.x))


def status_of(steps: list[Step]) -> SolveStatus:
    """OPTIMAL when every step is proven."""
    return SolveStatus.OPTIMAL if all(s.proven for s in steps) else SolveStatus.FEASIBLE
