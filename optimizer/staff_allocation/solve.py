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
from optimizer.staff_allocation.engine import (
    DET_PER_SECOND,
    HIGHS_SHARE,
    HIGHS_STEP_WEIGHTS,
    STEP_WEIGHTS,
    Runner,
)
from optimizer.staff_allocation.offers import day_need, home_plan, share_cap
from optimizer.staff_allocation.pooled import Routing, route, site_counts
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

__all__ = ["default_time_limit", "plan_from_sites", "solve_staff_allocation"]

#: Default wall-clock limit: this many seconds per person-day of the week (P x open
#: days), at least :data:`MIN_TIME_LIMIT_S`, at most :data:`MAX_TIME_LIMIT_S`,
#: rounded up to 5 s. Measured (bench/RESULTS_staff.md): the HiGHS engine proves a
#: 400 staff x 120 sites x 6 days week in ~30 CPU seconds, so 60 s on 2 cores
#: leaves room for a loaded machine.
SECONDS_PER_PERSON_DAY = 0.025
MIN_TIME_LIMIT_S = 30.0
MAX_TIME_LIMIT_S = 600.0


def default_time_limit(n_persons: int, n_days: int) -> float:
    """The default time limit for a week of ``n_persons`` x ``n_days`` (seconds)."""
    raw = SECONDS_PER_PERSON_DAY * n_persons * n_days
    return float(min(MAX_TIME_LIMIT_S, max(MIN_TIME_LIMIT_S, 5.0 * math.ceil(raw / 5.0))))

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


def _better(a: DayResult, b: DayResult) -> bool:
    """``a`` before ``b`` on the steps' values, in order (a day not solved is never better)."""
    if not a.solved:
        return False
    if not b.solved:
        return True
    return tuple(s.value for s in a.steps) < tuple(s.value for s in b.steps)


def _proven(r: DayResult) -> bool:
    return r.solved and all(s.proven for s in r.steps)


def _improves(new: DayResult, old: DayResult) -> bool:
    """``new`` has better step values than ``old``, or the same with bounds as good."""
    if not new.solved:
        return False
    if not old.solved:
        return True
    nv, ov = tuple(s.value for s in new.steps), tuple(s.value for s in old.steps)
    if nv != ov:
        return nv < ov
    return (all(a.bound >= b.bound for a, b in zip(new.steps, old.steps, strict=True))
            and any(a.bound > b.bound for a, b in zip(new.steps, old.steps, strict=True)))


def _day_shown(minutes: Minutes, plan: IntArr, routed: np.ndarray, d: int) -> float:
    """Overload of day ``d`` as the tables show it: per site-day, rounded to 0.1 min."""
    n_s = minutes.local.shape[0]
    here = plan[:, d]
    staff = np.bincount(here[here >= 0], minlength=n_s)
    dem = minutes.local[:, d] + routed[:, d]
    return float(np.round(np.maximum(dem - minutes.day * staff, 0.0), 1).sum())


def _stages(days: list[DayResult], pb: StaffProblem) -> tuple[StageResult, ...]:
    """One stage per step, summed over days (the detail lists each day)."""
    out = []
    for i, name in enumerate(("skill_gaps", "overload_min", "counter_gaps", "moves", "travel_min")):
        solved = [r for r in days if r.solved]
        steps: list[Step] = [r.steps[i] for r in solved]
        value = sum(s.value for s in steps)
        # a day not solved has no bound (its roster is the pooled plan's)
        bound = sum(s.bound for s in steps) if len(solved) == len(days) else -math.inf
        detail = ", ".join(
            (f"{pb.day_names[r.d]} {r.steps[i].value}"
             + ("" if r.steps[i].proven else f" (bound {r.steps[i].bound})"))
            if r.solved else f"{pb.day_names[r.d]} not solved (pooled roster kept)"
            for r in days)
        proven = all(s.proven for s in steps) and len(solved) == len(days)
        out.append(StageResult(
            name, SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE,
            float(value), float(bound), sum(r.wall_s for r in days) if i == 0 else 0.0,
            len(days), detail))
    return tuple(out)


def solve_staff_allocation(
    pb: StaffProblem,
    time_limit_s: float | None = None,
    seed: int = 0,
    threads: int = 1,
    stop: threading.Event | None = None,
    deterministic_time_s: float | None = None,
    engine: str | None = None,
) -> StaffAllocation:
    """Today, pooled and planned plans for one week (see :mod:`optimizer.staff_allocation`).

    Parameters
    ----------
    pb
        The problem, as plain arrays.
    time_limit_s
        Wall-clock limit for the whole solve, seconds; ``None``: the size's default
        (:func:`default_time_limit`, recorded in ``settings["time_limit_s"]``).
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
        Used by the ``"cpsat"`` engine only.
    engine
        ``"highs"`` (each step of each day a HiGHS MIP: the booleans integer, the
        routing continuous; the day's wall-clock share of ``time_limit_s`` split
        over the steps) or ``"cpsat"`` (one CP-SAT worker per day on a budget of
        deterministic time: reproducible under any load). Default: ``"cpsat"`` when
        ``deterministic_time_s`` is given, ``"highs"`` otherwise.

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
    time_limit_default = time_limit_s is None
    if time_limit_s is None:
        time_limit_s = default_time_limit(len(pb.person_ids), len(pb.days))
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
    t_route = time.monotonic()
    r_pool = route(pb, minutes, plan_today)
    t_fig = time.monotonic()
    pooled = figures("pooled", pb, plan_today, r_pool.routed, r_pool.unplaced, minutes)
    t_done = time.monotonic()
    # after the days come the final routing (the days changed), the planned figures and
    # the roster, moves and site tables: about one routing and three figures, timed
    # here on the pooled plan; the days stop twice that (at most a quarter of the
    # limit) before the limit, and a late HiGHS answer may use a quarter of it, so
    # the whole solve returns within the limit (2,000 x 300 at load 13-15 ended at
    # 310 s of 300 with x 1.5 and half of it, 302.5 s with x 2 and 0.4)
    # (at least 5 % of the limit: 2,000 x 300 still ended at 302.5-307.3 s of 300 at
    # load 11-15 with the timed reserve alone)
    reserve = min(0.25 * time_limit_s, max(0.05 * time_limit_s,
                                           2.0 * ((t_fig - t_route) + 3.0 * (t_done - t_fig))))
    runner.deadline -= reserve
    runner.grace = 0.25 * reserve
    guard = max((_day_levels(minutes, plan_today, r_pool.routed, d)[1] for d in range(n_d)),
                default=0)
    if engine is None:
        engine = "cpsat" if deterministic_time_s is not None else "highs"
    if engine not in ("highs", "cpsat"):
        msg = f"engine must be 'highs' or 'cpsat', got {engine!r}"
        raise InvalidInputError(msg)
    if engine == "highs":  # wall seconds per day: the days share the threads
        det_total = time_limit_s * min(threads, max(1, n_d)) * HIGHS_SHARE
    else:
        det_total = (deterministic_time_s if deterministic_time_s is not None
                     else DET_PER_SECOND * time_limit_s * threads)
    det_day = det_total / max(1, n_d)

    waiting = [n_d]  # days not started yet (the HiGHS engine shares the time left)
    lock = threading.Lock()

    def one(d: int, cap: int | None) -> DayResult:
        budget = det_day
        if engine == "highs":
            with lock:
                budget = max(det_day, HIGHS_SHARE * runner.remaining()
                             * min(threads, waiting[0]) / max(1, waiting[0]))
                waiting[0] = max(0, waiting[0] - 1)
        return solve_day(pb, minutes, plan_today, d, travel_int, runner, budget, cap,
                         guard or None, engine)

    def moves_of(res: DayResult) -> int:
        return sum(1 for p, s in res.placement.items() if s != int(pb.home[p]))

    caps: list[int | None] = [None] * n_d
    needs = [day_need(pb, minutes, plan_today, d) for d in range(n_d)]
    if pb.max_moves is not None:  # the weekly cap shared by need, not first come
        caps = list(share_cap(pb.max_moves, needs))
    if threads > 1 and n_d > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(lambda d: one(d, caps[d]), range(n_d)))
    else:
        results = [one(d, caps[d]) for d in range(n_d)]
    if pb.max_moves is not None:
        # one weekly pass: the moves a day left unused go to the days held by their
        # share, the neediest first, each re-solved with its share plus what is left
        left = pb.max_moves - sum(moves_of(r) for r in results)
        for d in sorted(range(n_d), key=lambda d: (-needs[d], d)):
            cap_d = caps[d]
            if left <= 0 or cap_d is None or moves_of(results[d]) < cap_d:
                continue
            waiting[0] = 1
            res = one(d, cap_d + left)
            if _better(res, results[d]):
                left -= moves_of(res) - moves_of(results[d])
                results[d] = res
    # one more pass: the days left unproven get the time the others did not use (a
    # day's share is set when it starts, so a hard day cannot take what an easy one
    # left); each is solved again from today's roster with all of it, side by side,
    # and kept when it reaches better values, or the same values with bounds as good
    retry = [d for d in range(n_d) if not _proven(results[d])]
    if retry and runner.remaining() > 2.0 + 3.0 * runner.build_s and not runner.stopped():
        waiting[0] = len(retry)
        if pb.max_moves is None and threads > 1 and len(retry) > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                again_res = list(pool.map(lambda d: one(d, None), retry))
            for d, res in zip(retry, again_res, strict=True):
                if _improves(res, results[d]):
                    results[d] = res
        else:  # with a weekly cap one after the other: each may use what is left of it
            for d in retry:
                cap = None if pb.max_moves is None else (
                    moves_of(results[d])
                    + max(0, pb.max_moves - sum(moves_of(r) for r in results)))
                res = one(d, cap)
                if _improves(res, results[d]):
                    results[d] = res
        retried = [pb.day_names[d] for d in retry]
    else:
        retried = []
    t_final = time.monotonic()  # the final routing, figures and tables from here
    plan = plan_today.copy()
    for res in results:
        for p, s in res.placement.items():
            plan[p, res.d] = s
    r_plan = route(pb, minutes, plan, (plan_today, r_pool))
    kept: list[str] = []
    back = np.zeros(n_d, dtype=bool)
    for d in range(n_d):
        o_a, u_a = _day_levels(minutes, plan, r_plan.routed, d)
        o_b, _ = _day_levels(minutes, plan_today, r_pool.routed, d)
        worse = o_a + r_plan.unplaced[d].sum() - o_b - r_pool.unplaced[d].sum()
        # and as reported (per site-day to 0.1 min, site_day_table): a tie in exact
        # minutes may round the other way
        shown = (_day_shown(minutes, plan, r_plan.routed, d)
                 - _day_shown(minutes, plan_today, r_pool.routed, d))
        if worse > 1e-5 * (1.0 + o_b) or shown > 1e-6 or u_a > guard:
            plan[:, d] = plan_today[:, d]
            kept.append(pb.day_names[d])
            back[d] = True
    if kept:
        logger.warning("planned roster not better than pooled on %s: kept pooled", ", ".join(kept))
        # the kept days take the pooled routing, the others theirs: no LP again
        by_field = np.where(back[None, :, None], r_pool.by_field, r_plan.by_field)
        r_plan = Routing(by_field.sum(axis=2), by_field,
                         np.where(back[:, None], r_pool.unplaced, r_plan.unplaced))
    planned = figures("planned", pb, plan, r_plan.routed, r_plan.unplaced, minutes)
    stages = _stages(results, pb)
    roster = roster_table(pb, plan, travel_int)
    moves = moves_table(pb, travel_int, pooled, planned)
    site_roster = site_roster_table(pb, today, planned)
    final_s = time.monotonic() - t_final
    report = _report(stages, runner, t_start, time_limit_s, threads, engine)
    alloc = StaffAllocation(
        report=report, stages=stages, today=today, pooled=pooled, planned=planned,
        roster=roster, moves=moves, site_roster=site_roster,
        settings={
            "max_moves": pb.max_moves, "max_travel_min": pb.max_travel_min,
            "day_minutes": pb.day_minutes, "util_scale": UTIL_SCALE,
            "minute_scale": MINUTE_SCALE, "deterministic_time_s": det_total,
            "reproducible": not runner.wall_bound,
            "assignment_vars": sum(r.assignment_vars for r in results),
            "step_weights": dict(HIGHS_STEP_WEIGHTS if engine == "highs" else STEP_WEIGHTS), "peak_guard_per_mille": guard,
            "engine": engine, "day_needs": needs, "time_limit_s": time_limit_s,
            "time_limit_default": time_limit_default, "persons": n_p, "open_days": n_d,
            "day_move_caps": [c for c in caps] if pb.max_moves is not None else None,
            "reserve_s": round(reserve, 2), "tables_s": round(final_s, 2),
            "days_solved_again": retried,
            "days_not_solved": [pb.day_names[r.d] for r in results if not r.solved],
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
            time_limit_s: float, threads: int, engine: str) -> SolverReport:
    all_optimal = all(s.status is SolveStatus.OPTIMAL for s in stages) and not runner.stopped()
    message = "; ".join(f"{s.name}: {s.status.value}: {s.detail}" for s in stages)
    if runner.stopped() and not all_optimal:
        message = "stopped on request; best plan so far; " + message
    if runner.wall_bound:
        message = ("the wall-clock limit stopped a solve before its deterministic budget: "
                   "this run may not be reproducible; ") + message
    moves = next(s for s in stages if s.name == "moves")
    solver = ("pooled routing: exact LP (HiGHS); moves: "
              + ("HiGHS MIP per day and step (booleans integer, routing continuous)"
                 if engine == "highs" else
                 "CP-SAT, one worker per day, deterministic time")
              + " (lexicographic: skill gaps, overload, counter gaps, moves, travel)")
    gaps = [relative_gap(s.objective, s.best_bound) for s in stages if s.name != "travel_min"]
    return SolverReport(
        status=SolveStatus.OPTIMAL if all_optimal else SolveStatus.FEASIBLE,
        objective=moves.objective, best_bound=moves.best_bound,
        gap=max(gaps) if gaps else 0.0,
        wall_time_s=time.monotonic() - t_start,
        solver=solver,
        seed=runner.seed, threads=threads, time_limit_s=time_limit_s, message=message,
    )


def plan_from_sites(pb: StaffProblem, sites: Sequence[Sequence[int]]) -> IntArr:
    """Turn a nested list of site indices (-1 = off) into a (P, D) plan array."""
    return np.asarray(sites, dtype=np.int64).reshape(len(pb.person_ids), len(pb.days))
