"""The entry point: today, pooled and planned, side by side.

* **today**: everyone at home on today's rotation (:func:`.offers.home_plan`),
  each site processing its own dossiers, online ones included (as far as its
  qualified people have time, the rule of the pooled routing; the rest is
  short there). No decision: the figures follow from the data.
* **pooled**: the same roster; the online work of the pooled levels is
  processed by qualified staff wherever they work that day, routed by the exact
  LP of :mod:`.pooled`. No one travels.
* **planned**: pooled plus moves for what needs a person at the counter, day
  by day (:mod:`.stages`), each day's roster routed by the same LP. A day whose
  planned figures would be worse than the pooled plan's (overload of the day,
  or a peak above the pooled plan's) keeps the pooled roster; by construction
  of the steps that does not happen, it is a guard.

Every figure is reproducible: the LP is deterministic and each CP-SAT solve
runs one worker with a deterministic-time budget; with several threads the
days are solved side by side, one worker each.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from optimizer._status import SolverReport, SolveStatus, check_seed_threads, relative_gap
from optimizer.errors import InvalidInputError
from optimizer.staff_allocation.engine import DET_PER_SECOND, STEP_WEIGHTS, Runner
from optimizer.staff_allocation.offers import home_plan
from optimizer.staff_allocation.pooled import route, site_counts
from optimizer.staff_allocation.problem import (
    MINUTE_SCALE,
    UTIL_SCALE,
    IntArr,
    Minutes,
    StaffAllocation,
    StaffProblem,
    StageResult,
    travel_minutes,
    whole_minutes,
)
from optimizer.staff_allocation.stages import DayResult, Step, solve_day
from optimizer.staff_allocation.tables import (
    figures,
    moves_table,
    roster_table,
    site_roster_table,
)

__all__ = ["plan_from_sites", "solve_staff_allocation"]

logger = logging.getLogger(__name__)


def _check_limits(time_limit_s: float, deterministic_time_s: float | None) -> None:
    if not (math.isfinite(time_limit_s) and time_limit_s > 0):
        msg = f"time_limit_s must be a number of seconds > 0, got {time_limit_s!r}"
        raise InvalidInputError(msg)
    if deterministic_time_s is not None and not (
            math.isfinite(deterministic_time_s) and deterministic_time_s > 0):
        msg = f"deterministic_time_s must be > 0 or None, got {deterministic_time_s!r}"
        raise InvalidInputError(msg)


def _day_levels(minutes: Minutes, plan: IntArr, routed: np.ndarray, d: int) -> tuple[float, int]:
    """Overload minutes and peak (per mille, rounded up) of day ``d``."""
    n_s = minutes.local.shape[0]
    here = plan[:, d]
    staff = np.bincount(here[here >= 0], minlength=n_s)
    dem = minutes.local[:, d] + routed[:, d]
    over = float(np.maximum(dem - minutes.day * staff, 0.0).sum())
    peak = int(np.ceil((dem * UTIL_SCALE / (minutes.day * np.maximum(staff, 1))).max() - 1e-6)) \
        if n_s else 0
    return over, peak


def _stages(days: list[DayResult], pb: StaffProblem) -> tuple[StageResult, ...]:
    """One stage per step, summed over days (the detail lists each day)."""
    out = []
    for i, name in enumerate(("skill_gaps", "overload_min", "counter_gaps", "moves", "travel_min")):
        steps: list[Step] = [r.steps[i] for r in days]
        value = sum(s.value for s in steps)
        bound = sum(s.bound for s in steps)
        detail = ", ".join(f"{pb.day_names[r.d]} {s.value}"
                           + ("" if s.proven else f" (bound {s.bound})")
                           for r, s in zip(days, steps, strict=True))
        out.append(StageResult(
            name, SolveStatus.OPTIMAL if all(s.proven for s in steps) else SolveStatus.FEASIBLE,
            float(value), float(bound), sum(r.wall_s for r in days) if i == 0 else 0.0,
            len(days), detail))
    return tuple(out)


def solve_staff_allocation(
    pb: StaffProblem,
    time_limit_s: float = 30.0,
    seed: int = 0,
    threads: int = 1,
    stop: threading.Event | None = None,
    deterministic_time_s: float | None = None,
) -> StaffAllocation:
    """Today, pooled and planned plans for one week (see :mod:`optimizer.staff_allocation`).

    Parameters
    ----------
    pb
        The problem, as plain arrays.
    time_limit_s
        Wall-clock limit for the whole solve, seconds (a safety net: the solves
        stop on their deterministic budget first as a rule).
    seed
        CP-SAT ``random_seed``.
    threads
        Days solved side by side (one CP-SAT worker each); with a weekly
        ``max_moves`` the days run one after the other (the cap left passes on).
    stop
        When set from another thread, the search stops and the best plan so far
        is returned with status FEASIBLE.
    deterministic_time_s
        Budget of CP-SAT deterministic time for the planned plan, split equally
        over the days; default ``DET_PER_SECOND x time_limit_s x threads``.

    Returns
    -------
    StaffAllocation
        The three plans, the planned roster, moves with what they buy, site rosters.

    Raises
    ------
    ValueError
        If the arrays are inconsistent or a limit is not a positive number.
    """
    pb.validate()
    check_seed_threads(seed, threads)
    _check_limits(time_limit_s, deterministic_time_s)
    t_start = time.monotonic()
    runner = Runner(seed, t_start + time_limit_s, stop)
    minutes = whole_minutes(pb)
    travel_int = travel_minutes(pb)
    n_p, n_s, n_d, n_f = pb.shape
    plan_today = home_plan(pb, minutes)
    # today: each site its own online dossiers, as far as the qualified people there
    # have time (the rule of the pooled routing), the rest short at that site
    own = np.zeros((n_s, n_d, n_f))
    for d in range(n_d):
        _staff, qual = site_counts(pb, plan_today, d)
        own[:, d, :] = np.minimum(minutes.src[:, d, :], minutes.day * qual)
    today = figures("today", pb, plan_today, own.sum(axis=2),
                    (minutes.src - own).sum(axis=0), minutes)
    r_pool = route(pb, minutes, plan_today)
    pooled = figures("pooled", pb, plan_today, r_pool.routed, r_pool.unplaced, minutes)
    guard = max((_day_levels(minutes, plan_today, r_pool.routed, d)[1] for d in range(n_d)),
                default=0)
    det_total = (deterministic_time_s if deterministic_time_s is not None
                 else DET_PER_SECOND * time_limit_s * threads)
    det_day = det_total / max(1, n_d)

    def one(d: int, cap: int | None) -> DayResult:
        return solve_day(pb, minutes, plan_today, d, travel_int, runner, det_day, cap,
                         guard or None)

    results: list[DayResult] = []
    if pb.max_moves is None and threads > 1 and n_d > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(lambda d: one(d, None), range(n_d)))
    else:
        left = pb.max_moves
        for d in range(n_d):
            res = one(d, left)
            results.append(res)
            if left is not None:
                left -= sum(1 for p, s in res.placement.items() if s != int(pb.home[p]))
    plan = plan_today.copy()
    for res in results:
        for p, s in res.placement.items():
            plan[p, res.d] = s
    r_plan = route(pb, minutes, plan)
    kept: list[str] = []
    for d in range(n_d):
        o_a, u_a = _day_levels(minutes, plan, r_plan.routed, d)
        o_b, _ = _day_levels(minutes, plan_today, r_pool.routed, d)
        worse = o_a + r_plan.unplaced[d].sum() - o_b - r_pool.unplaced[d].sum()
        if worse > 1e-5 * (1.0 + o_b) or u_a > guard:
            plan[:, d] = plan_today[:, d]
            kept.append(pb.day_names[d])
    if kept:
        logger.warning("planned roster not better than pooled on %s: kept pooled", ", ".join(kept))
        r_plan = route(pb, minutes, plan)
    planned = figures("planned", pb, plan, r_plan.routed, r_plan.unplaced, minutes)
    stages = _stages(results, pb)
    report = _report(stages, runner, t_start, time_limit_s, threads)
    alloc = StaffAllocation(
        report=report, stages=stages, today=today, pooled=pooled, planned=planned,
        roster=roster_table(pb, plan, travel_int),
        moves=moves_table(pb, travel_int, pooled, planned),
        site_roster=site_roster_table(pb, today, planned),
        settings={
            "max_moves": pb.max_moves, "max_travel_min": pb.max_travel_min,
            "day_minutes": pb.day_minutes, "util_scale": UTIL_SCALE,
            "minute_scale": MINUTE_SCALE, "deterministic_time_s": det_total,
            "reproducible": not runner.wall_bound,
            "assignment_vars": sum(r.assignment_vars for r in results),
            "step_weights": dict(STEP_WEIGHTS), "peak_guard_per_mille": guard,
            "days_kept_pooled": kept,
            "plans": "today: everyone at home, each site its own dossiers; pooled: today's "
                     "roster, online work routed to qualified staff wherever they work; "
                     "planned: pooled plus moves for the counter",
        })
    logger.info(
        "staff allocation: %s; overload %.0f / %.0f / %.0f min, peak %.0f%% / %.0f%% / %.0f%% "
        "(today / pooled / planned), %d moves", report.summary(), today.overload_min,
        pooled.overload_min, planned.overload_min, 100 * today.peak_utilisation,
        100 * pooled.peak_utilisation, 100 * planned.peak_utilisation, planned.moves)
    return alloc


def _report(stages: tuple[StageResult, ...], runner: Runner, t_start: float,
            time_limit_s: float, threads: int) -> SolverReport:
    all_optimal = all(s.status is SolveStatus.OPTIMAL for s in stages) and not runner.stopped()
    message = "; ".join(f"{s.name}: {s.status.value}: {s.detail}" for s in stages)
    if runner.stopped() and not all_optimal:
        message = "stopped on request; best plan so far; " + message
    if runner.wall_bound:
        message = ("the wall-clock limit stopped a solve before its deterministic budget: "
                   "this run may not be reproducible; ") + message
    moves = next(s for s in stages if s.name == "moves")
    gaps = [relative_gap(s.objective, s.best_bound) for s in stages if s.name != "travel_min"]
    return SolverReport(
        status=SolveStatus.OPTIMAL if all_optimal else SolveStatus.FEASIBLE,
        objective=moves.objective, best_bound=moves.best_bound,
        gap=max(gaps) if gaps else 0.0,
        wall_time_s=time.monotonic() - t_start,
        solver="pooled routing: exact LP (HiGHS); moves: CP-SAT, one worker per day, "
               "deterministic time (lexicographic: skill gaps, overload, counter gaps, moves, "
               "travel)",
        seed=runner.seed, threads=threads, time_limit_s=time_limit_s, message=message,
    )


def plan_from_sites(pb: StaffProblem, sites: Sequence[Sequence[int]]) -> IntArr:
    """Turn a nested list of site indices (-1 = off) into a (P, D) plan array."""
    return np.asarray(sites, dtype=np.int64).reshape(len(pb.person_ids), len(pb.days))
