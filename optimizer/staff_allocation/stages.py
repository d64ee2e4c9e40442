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

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model
from pybind11_abseil.status import StatusNotOk

from optimizer._cp_mip import linear_form
from optimizer._mip import SparseMip, _solve_once
from optimizer._status import SolveStatus
from optimizer.staff_allocation.engine import DET_PER_SECOND, Budget, Outcome, Runner
from optimizer.staff_allocation.model import DayModel, build_day
from optimizer.staff_allocation.offers import day_offers
from optimizer.staff_allocation.problem import IntArr, Minutes, StaffProblem

logger = logging.getLogger(__name__)

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
    solved: bool = True  # False: stopped before a first plan, today's roster kept, nothing proven


def _lo(v: cp_model.IntVar) -> int:
    return int(v.proto.domain[0])


def _fixed_start(dm: DayModel, pb: StaffProblem, plan: IntArr, runner: Runner,
                 budget: Budget) -> list[float] | None:
    """A complete plan of the model: today's roster, pooled work routed (least overload)."""
    if budget.engine == "highs":  # an LP once the roster is fixed
        fixed = {v.index: int(plan[p, dm.d] == s) for (p, s), v in dm.x.items()}
        t0 = time.monotonic()
        try:
            vals, _v, _b = _highs(dm, runner, None, max(1.0, runner.remaining()),
                                  [(dm.over, 1)], fixed)
            budget.spend(time.monotonic() - t0)
            return vals
        except StatusNotOk as exc:  # see _minimise: CP-SAT instead
            logger.info("day %d start: HiGHS failed (%s); CP-SAT instead", dm.d, exc)
    m = dm.model.clone()
    for (p, s), v in dm.x.items():
        m.add(m.get_bool_var_from_proto_index(v.index) == int(plan[p, dm.d] == s))
    m.minimize(m.get_int_var_from_proto_index(dm.over.index))
    out = runner.solve(m, None, max(1.0, budget.left))
    budget.spend(out.det_s)
    if out.status is SolveStatus.INFEASIBLE:  # pragma: no cover - always a plan
        msg = f"day {pb.days[dm.d]}: today's roster is not a plan of the day's model"
        raise RuntimeError(msg)
    return None if out.values is None else [float(x) for x in out.values]


def _mip(dm: DayModel, objective: list[tuple[cp_model.IntVar, int]],
         fixed: dict[int, int] | None = None, roster_only: bool = False,
         ) -> tuple[SparseMip, np.ndarray]:
    """The day's model as a HiGHS MIP: assignment and skill-gap booleans integer, the
    rest (routing, overload, counters, moves, travel) continuous. For a fixed roster
    the routing is a flow with whole-minute data, so its optimum is whole minutes:
    the continuous model has the integer model's optimum, and its bound is valid."""
    lf = linear_form(dm.model.proto)
    if roster_only:
        # the rules on the roster alone (assignments, skills, peak guard, move cap):
        # rows whose every variable is a boolean, the skill-gap total or the moves;
        # the other variables stay free (the routing fits any roster), fixed at 0
        keep = np.zeros(len(lf.lb), dtype=bool)
        keep[np.asarray(dm.int_vars, dtype=np.int64)] = True
        keep[[dm.gaps.index, dm.moves.index]] = True
        coo = lf.a.tocoo()
        bad_rows = np.unique(coo.row[~keep[coo.col]])
        rows = np.setdiff1d(np.arange(lf.a.shape[0]), bad_rows)
        drop = np.flatnonzero(~keep)
        lf = type(lf)(lf.a[rows], lf.row_lb[rows], lf.row_ub[rows],
                      np.where(keep, lf.lb, 0), np.where(keep, lf.ub, 0), lf.names)
        fixed = {**(fixed or {}), **{int(i): 0 for i in drop}}
    c = np.zeros(len(lf.lb))
    for v, k in objective:
        c[v.index] += k
    mip = lf.mip(c)
    integer = np.zeros(len(lf.lb), dtype=bool)
    integer[np.asarray(dm.int_vars, dtype=np.int64)] = True
    mip._int = [integer]  # noqa: SLF001 - one block, written by lf.mip
    if fixed:
        idx = np.fromiter(fixed.keys(), dtype=np.int64)
        val = np.fromiter(fixed.values(), dtype=np.float64)
        mip._lb[0][idx] = val  # noqa: SLF001
        mip._ub[0][idx] = val  # noqa: SLF001
    return mip, c


def _whole(v: float) -> int:
    """A MIP objective as whole units: nearest when within 1e-6, else rounded up."""
    r = round(v)
    return int(r) if abs(v - r) <= 1e-6 * (1.0 + abs(v)) else math.ceil(v)


def _highs(dm: DayModel, runner: Runner, sol: list[float] | None, wall_s: float,
           objective: list[tuple[cp_model.IntVar, int]], fixed: dict[int, int] | None = None,
           roster_only: bool = False) -> tuple[list[float] | None, int, int]:
    """One HiGHS solve: (values or None, value, bound), bound rounded up to whole units."""
    if runner.stopped() or runner.remaining() <= 0:  # before building the MIP (seconds
        runner.note_wall_bound()                     # at 2,000 staff on a loaded machine)
        return None, 0, -(2**62)
    mip, _c = _mip(dm, objective, fixed, roster_only)
    left = runner.remaining()
    limit = max(0.05, min(wall_s, left))
    if runner.stopped() or left <= 0:
        runner.note_wall_bound()
        return None, 0, -(2**62)
    hint = None
    if sol is not None:  # within the bounds (the fixings since) and whole where integer
        hint = np.clip(np.asarray(sol, dtype=float), np.concatenate(mip._lb),  # noqa: SLF001
                       np.concatenate(mip._ub))  # noqa: SLF001
        ints = np.asarray(dm.int_vars, dtype=np.int64)
        hint[ints] = np.round(hint[ints])
    # HiGHS checks its limit between stages only; one abandoned at limit + 1 s went on
    # using the CPU in the background and its plan was dropped (7 of a Quảng Ninh run's
    # steps at load 12, the overload step of four days left at its start; at 2,000 x
    # 300 steps of 23 s had not returned at 46 s): waiting costs no more CPU than
    # abandoning and keeps what it found, so it is waited for as long as the whole
    # solve allows (the days' deadline plus the grace kept past it)
    out = _solve_once(mip, time_limit_s=limit, seed=runner.seed, hint=hint,
                      wall_limit_s=max(limit + 1.0, left + runner.grace), stop=runner.stop)
    rep = out.report
    if rep.status is not SolveStatus.OPTIMAL:
        runner.note_wall_bound()
    if out.values is None:
        b = rep.best_bound
        return None, 0, _whole(b) if math.isfinite(b) else -(2**62)
    vals = [float(x) for x in out.values]
    for v in dm.int_vars:
        vals[v] = float(round(vals[v]))
    value = _whole(sum(k * vals[v.index] for v, k in objective))
    bound = value if rep.status is SolveStatus.OPTIMAL else (
        math.ceil(rep.best_bound - 1e-6) if math.isfinite(rep.best_bound) else -(2**62))
    return vals, value, min(bound, value)


def _minimise(dm: DayModel, runner: Runner, budget: Budget, sol: list[float], key: str,
              objective: list[tuple[cp_model.IntVar, int]], lo: int,
              ) -> tuple[list[float], int, int]:
    """Minimise ``sum(coef * var)`` from ``sol``; returns (plan, value, bound) and fixes it."""
    base = dm.model
    value = _whole(sum(c * sol[v.index] for v, c in objective))
    if value <= lo:
        budget.take(key)
        bound = value
    elif budget.engine == "highs":
        t0 = time.monotonic()
        wall = budget.take(key)
        try:
            vals, v2, b2 = _highs_step(dm, runner, sol, wall, key, objective)
        except StatusNotOk as exc:
            # HiGHS fails on a few small MIPs (kError [INTERNAL] from its MIP solver,
            # the LP relaxation solves): that step runs on CP-SAT instead
            logger.info("day %d step %s: HiGHS failed (%s); CP-SAT instead", dm.d, key, exc)
            out = _cpsat_step(dm, runner, sol, DET_PER_SECOND * wall, objective)
            vals = None if out.values is None else [float(x) for x in out.values]
            v2, b2 = out.value, out.bound
        budget.spend(time.monotonic() - t0)
        logger.debug("day %d step %s: %s -> %s (bound %s) in %.2f s of %.2f s", dm.d, key,
                     value, v2, b2, time.monotonic() - t0, wall)
        if vals is not None and v2 <= value:
            sol, value, bound = vals, v2, max(b2, lo)
        else:
            bound = max(lo, b2)
    else:
        out = _cpsat_step(dm, runner, sol, budget.take(key), objective)
        budget.spend(out.det_s)
        if out.values is not None and out.value <= value:
            sol, value, bound = [float(x) for x in out.values], out.value, max(out.bound, lo)
        else:
            bound = max(lo, out.bound)
    base.add(sum(c * v for v, c in objective) <= value)
    return sol, value, min(bound, value)


def _cpsat_step(dm: DayModel, runner: Runner, sol: list[float], det_s: float,
                objective: list[tuple[cp_model.IntVar, int]]) -> Outcome:
    """One CP-SAT solve of the step from ``sol`` (one worker, ``det_s`` deterministic s)."""
    m = dm.model.clone()
    m.minimize(sum(c * m.get_int_var_from_proto_index(v.index) for v, c in objective))
    return runner.solve(m, [int(round(x)) for x in sol], det_s)


def _highs_step(dm: DayModel, runner: Runner, sol: list[float], wall: float, key: str,
                objective: list[tuple[cp_model.IntVar, int]],
                ) -> tuple[list[float] | None, int, int]:
    """One step on HiGHS: (plan or None, value, bound)."""
    if key == "gaps":
        # skill gaps depend on the roster alone: solve that small model (fewest
        # gaps, then fewest moves, so the roster stays as close to home as it
        # can: M > any number of moves), then route the roster found (an LP)
        big = int(dm.moves.proto.domain[len(dm.moves.proto.domain) - 1]) + 1
        vals, v2, b2 = _highs(dm, runner, None, wall, [(dm.gaps, big), (dm.moves, 1)],
                              roster_only=True)
        if vals is not None:
            v2 = _whole(vals[dm.gaps.index])
        # weighted bound B <= big * gaps + moves, moves <= big - 1
        b2 = v2 if vals is not None and b2 >= big * v2 else (
            -(-(b2 - (big - 1)) // big) if b2 > -(2**61) else b2)
        if vals is not None:
            fixed = {v.index: int(vals[v.index] > 0.5) for v in dm.x.values()}
            full, _o, _b = _highs(dm, runner, None, runner.remaining(), [(dm.over, 1)],
                                  fixed)
            vals = full
            if full is not None:
                v2 = _whole(full[dm.gaps.index])
        return vals, v2, b2
    return _highs(dm, runner, sol, wall, objective)


def solve_day(
    pb: StaffProblem, minutes: Minutes, plan: IntArr, d: int, travel_int: IntArr,
    runner: Runner, det_s: float, moves_cap: int | None, peak_guard: int | None,
    engine: str = "cpsat",
) -> DayResult:
    """The planned placement of day ``d`` (see the module's steps).

    ``engine``: ``"highs"`` (each step a HiGHS MIP, ``det_s`` then wall seconds for
    the day) or ``"cpsat"`` (one CP-SAT worker, ``det_s`` deterministic seconds).
    """
    t0 = time.monotonic()
    budget = Budget(det_s, engine)
    # no time left (not even to build the day's model, as long as the longest build
    # so far, and start it): today's roster kept
    if runner.remaining() <= 1.5 * runner.build_s or runner.stopped():
        runner.note_wall_bound()
        placement = {int(p): int(plan[p, d]) for p in np.flatnonzero(plan[:, d] >= 0)}
        return DayResult(d, placement, tuple(Step(n, 0, 0) for n in STEPS), 0.0,
                         time.monotonic() - t0, 0, solved=False)
    offers = day_offers(pb, minutes, plan, d)
    dm = build_day(pb, minutes, d, offers, travel_int, moves_cap, peak_guard)
    runner.note_build(time.monotonic() - t0)
    det0 = budget.left
    start = _fixed_start(dm, pb, plan, runner, budget)
    if start is None:  # stopped on request or out of time: today's roster, nothing proven
        placement = {p: int(plan[p, d]) for p in offers}
        steps0 = tuple(Step(n, 0, 0) for n in STEPS)
        return DayResult(d, placement, steps0, det0 - budget.left, time.monotonic() - t0,
                         len(dm.x), solved=False)
    sol = start
    steps: list[Step] = []
    for key, name, var in (("gaps", "skill_gaps", dm.gaps), ("overload", "overload_min", dm.over),
                           ("counters", "counter_gaps", dm.counters)):
        sol, value, bound = _minimise(dm, runner, budget, sol, key, [(var, 1)], _lo(var))
        steps.append(Step(name, value, bound))
    w = dm.travel_weight
    sol, value, bound = _minimise(dm, runner, budget, sol, "moves", [(dm.moves, w), (dm.travel, 1)],
                                  0)
    mv, tr = _whole(sol[dm.moves.index]), _whole(sol[dm.travel.index])
    mv_lb = min(mv, bound // w)
    tr_lb = min(tr, max(0, bound - w * mv)) if mv_lb >= mv else 0
    steps += [Step("moves", mv, mv_lb), Step("travel_min", tr, tr_lb)]
    placement = {p: s for (p, s), v in dm.x.items() if sol[v.index] > 0.5}
    return DayResult(d, placement, tuple(steps), det0 - budget.left, time.monotonic() - t0,
                     len(dm.x))


def status_of(steps: list[Step]) -> SolveStatus:
    """OPTIMAL when every step is proven."""
    return SolveStatus.OPTIMAL if all(s.proven for s in steps) else SolveStatus.FEASIBLE
