"""The entry point: the everyone-at-home plan, then the free plan guarded by it.

The everyone-at-home model is solved first with the same stages (days off and
pooled work chosen as well as possible). Guard: every step of the free model
also keeps ``U <= U_before``, the peak of that plan, so the plan is never
worse on the peak than doing nothing; that plan, completed, is the free
model's first hint. Arguments (problem, seed, threads, limits) are checked
here, once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from optimizer._status import SolverReport, SolveStatus, check_seed_threads
from optimizer.errors import InvalidInputError
from optimizer.staff_allocation.engine import STAGE_WEIGHTS, Budget, Runner
from optimizer.staff_allocation.model import (
    StaffModel,
    build,
    roster_array,
    routed_minutes,
    unplaced_minutes,
)
from optimizer.staff_allocation.offers import home_plan
from optimizer.staff_allocation.peak import peak_of
from optimizer.staff_allocation.problem import (
    MINUTE_SCALE,
    UTIL_SCALE,
    IntArr,
    Solution,
    StaffAllocation,
    StaffProblem,
    StageResult,
    travel_minutes,
)
from optimizer.staff_allocation.stages import complete, lexicographic, start_from_plan
from optimizer.staff_allocation.tables import (
    moves_table,
    peak_utilisation,
    roster_table,
    shortfall_table,
    site_day_table,
)

__all__ = ["plan_from_sites", "solve_staff_allocation"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Solved:
    """One model (home-only or free), its last solution and its stages."""

    model: StaffModel
    sol: Solution
    stages: tuple[StageResult, ...]


def _check_limits(time_limit_s: float, deterministic_time_s: float | None) -> None:
    if not (math.isfinite(time_limit_s) and time_limit_s > 0):
        msg = f"time_limit_s must be a number of seconds > 0, got {time_limit_s!r}"
        raise InvalidInputError(msg)
    if deterministic_time_s is not None and not (
            math.isfinite(deterministic_time_s) and deterministic_time_s > 0):
        msg = f"deterministic_time_s must be > 0 or None, got {deterministic_time_s!r}"
        raise InvalidInputError(msg)


def _before_and_after(
    pb: StaffProblem, b_home: StaffModel, b: StaffModel, runner: Runner, budget: Budget,
) -> tuple[_Solved, _Solved]:
    """Everyone at home first, then people free to move, never worse on the peak."""
    start = start_from_plan(b_home, home_plan(pb), runner)
    # before: everyone at home, days off and pooled work chosen as well as possible
    runner.light = True
    sol_b, stages_b = lexicographic(b_home, runner, budget, start, "before_", None, False)
    runner.light = False
    guard = peak_of(b_home, sol_b)
    # after: the same stages with people free to move, never worse on the peak,
    # starting from the before plan (a complete hint of the free model)
    start_a = complete(b, sol_b, runner, roster_array(b_home, pb, sol_b))
    sol_a, stages_a = lexicographic(b, runner, budget, start_a, "", guard, True, pb)
    return _Solved(b_home, sol_b, stages_b), _Solved(b, sol_a, stages_a)


def _report(
    stages: tuple[StageResult, ...], runner: Runner, t_start: float, time_limit_s: float,
) -> SolverReport:
    """The overall report: OPTIMAL only if every stage was proven."""
    all_optimal = all(s.status is SolveStatus.OPTIMAL for s in stages)
    message = "; ".join(f"{s.name}: {s.status.value}: {s.detail}" for s in stages)
    if runner.stopped() and not all_optimal:
        message = "stopped on request; best plan so far; " + message
    last = stages[-1]
    return SolverReport(
        status=SolveStatus.OPTIMAL if all_optimal else SolveStatus.FEASIBLE,
        objective=last.objective,
        best_bound=last.best_bound,
        gap=max(s.gap for s in stages),
        wall_time_s=time.monotonic() - t_start,
        solver="CP-SAT, HiGHS when CP-SAT stalls (lexicographic: skill gaps, overload, "
               "counter gaps, peak utilisation, moves, travel)",
        seed=runner.seed,
        threads=runner.threads,
        time_limit_s=time_limit_s,
        message=message,
    )


def _result(
    pb: StaffProblem, before: _Solved, after: _Solved, travel_int: IntArr,
    report: SolverReport, settings: dict[str, object],
) -> StaffAllocation:
    """The tables and figures of the two plans."""
    plan_b = roster_array(before.model, pb, before.sol)
    plan_a = roster_array(after.model, pb, after.sol)
    routed_b = routed_minutes(before.model, pb, before.sol)
    routed_a = routed_minutes(after.model, pb, after.sol)
    unplaced_b = unplaced_minutes(before.model, pb, before.sol)
    unplaced_a = unplaced_minutes(after.model, pb, after.sol)
    days_b = site_day_table(pb, plan_b, routed_b)
    days_a = site_day_table(pb, plan_a, routed_a)
    gaps_b = shortfall_table(pb, plan_b, routed_b, unplaced_b)
    return StaffAllocation(
        report=report,
        stages=after.stages,
        before_stages=before.stages,
        roster=roster_table(pb, plan_a, travel_int),
        site_days_before=days_b,
        site_days_after=days_a,
        moves=moves_table(pb, plan_a, travel_int, days_b, days_a, gaps_b),
        shortfalls=shortfall_table(pb, plan_a, routed_a, unplaced_a),
        shortfalls_before=gaps_b,
        peak_utilisation_before=peak_utilisation(days_b),
        peak_utilisation_after=peak_utilisation(days_a),
        overload_min_before=float(days_b["overload_min"].sum()),
        overload_min_after=float(days_a["overload_min"].sum()),
        online_unplaced_min_before=float(unplaced_b.sum()),
        online_unplaced_min_after=float(unplaced_a.sum()),
        settings=settings,
    )


def solve_staff_allocation(
    pb: StaffProblem,
    time_limit_s: float = 30.0,
    seed: int = 0,
    threads: int = 1,
    stop: threading.Event | None = None,
    deterministic_time_s: float | None = None,
) -> StaffAllocation:
    """Rebalance staff for one week, lexicographically (see :mod:`optimizer.staff_allocation`).

    Parameters
    ----------
    pb
        The problem, as plain arrays.
    time_limit_s
        Wall-clock limit for the whole solve (home-only plan and the three
        stages), seconds; split between solves by :data:`STAGE_WEIGHTS`.
    seed
        CP-SAT ``random_seed``.
    threads
        CP-SAT ``num_workers``.
    stop
        When set from another thread, the search stops and the best plan so far
        is returned with status FEASIBLE.
    deterministic_time_s
        Optional budget of CP-SAT deterministic time (about seconds of work on
        an idle core) for the whole solve, split like the wall-clock limit.
        With ``threads=1`` and a wall-clock limit that does not bind, the
        result is the same on every run whatever the machine load.

    Returns
    -------
    StaffAllocation
        Roster, site-day tables before/after, moves with reasons, shortfalls and report.

    Raises
    ------
    ValueError
        If the arrays are inconsistent.
    """
    pb.validate()
    check_seed_threads(seed, threads)
    _check_limits(time_limit_s, deterministic_time_s)
    t_start = time.monotonic()
    runner = Runner(seed, threads, t_start + time_limit_s, stop, deterministic_time_s)
    budget = Budget(runner, STAGE_WEIGHTS)
    travel_int = travel_minutes(pb)
    b_home = build(pb, travel_int, home_only=True)
    b = build(pb, travel_int, home_only=False)
    t_built = time.monotonic() - t_start
    before, after = _before_and_after(pb, b_home, b, runner, budget)
    report = _report(after.stages, runner, t_start, time_limit_s)
    result = _result(pb, before, after, travel_int, report, settings={
        "max_moves": pb.max_moves, "max_travel_min": pb.max_travel_min,
        "day_minutes": pb.day_minutes, "util_scale": UTIL_SCALE,
        "minute_scale": MINUTE_SCALE, "deterministic_time_s": deterministic_time_s,
        "assignment_vars": len(b.x), "fixed_skill_gaps": b.forced_skill_gaps,
        "build_s": round(t_built, 3), "stage_weights": dict(STAGE_WEIGHTS),
        "before": "everyone at home; days off and pooled work chosen by the same model",
    })
    logger.info(
        "staff allocation: %s; peak %.0f%% -> %.0f%%, overload %.0f -> %.0f min, %d moves",
        report.summary(), 100 * result.peak_utilisation_before,
        100 * result.peak_utilisation_after, result.overload_min_before,
        result.overload_min_after, len(result.moves),
    )
    return result


def plan_from_sites(pb: StaffProblem, sites: Sequence[Sequence[int]]) -> IntArr:
    """Turn a nested list of site indices (-1 = off) into a (P, D) plan array."""
    return np.asarray(sites, dtype=np.int64).reshape(len(pb.person_ids), len(pb.days))
