"""Weekly staff rebalancing across sites: a lexicographic CP-SAT model.

Data
----
Persons ``p``, sites ``s``, open days ``d``, fields ``f``.  A person may work
at site ``s`` on day ``d`` (``x[p,s,d]``) only if available that day (days
available, not on leave, not a holiday), the site is open, and ``s`` is home,
or the person is movable and ``travel_min[home(p), s] <= max_travel_min``.
Each person works exactly ``w_p = min(max_days_p, days with an allowed site)``
days, on at most one site a day.

Work, in integer minutes (:data:`MINUTE_SCALE`):

* ``local[s,d]``: reception of in-person visitors plus their back-office
  processing (and online processing when online work stays home);
* ``pool[d,f]``: online processing pooled across the province; routed by
  ``y[s,d,f] >= 0`` to pool sites (branches), ``sum_s y[s,d,f] + u[d,f] = pool[d,f]``,
  with ``y[s,d,f] <= day_min * (qualified people for f at s,d)``.

``staff[s,d] = sum_p x[p,s,d]``, capacity ``day_min * staff[s,d]``,
``demand[s,d] = local[s,d] + sum_f y[s,d,f]``, overload
``o[s,d] >= demand[s,d] - day_min * staff[s,d]``, ``o >= 0``.

Shortfalls (soft, reported by name): skill gap ``g[s,d,f] = 1`` when a field
with in-person demand has no qualified person at the site that day; counter gap
``c[s,d] >= min(counters_needed[s,d], counters[s]) - staff[s,d]`` where
``counters_needed`` comes from Erlang C in the peak hour.

Objective, lexicographic, solved in stages (each optimum fixed as a
constraint for the next, the previous solution given as a hint):

1. ``W_GAP * (sum g + sum c) + sum o + sum u``, with
   ``W_GAP = total demand minutes + 1``.  Because the overload never exceeds
   the total demand minutes, one shortfall always outweighs any overload:
   the weighting is lexicographic.
2. the peak utilisation ``U`` (per mille, :data:`UTIL_SCALE`):
   ``demand[s,d] * UTIL_SCALE <= U * day_min * max(staff[s,d], 1)``.  For a
   fixed ``U`` this is linear, so ``U`` is found by bisection; each probe is a
   CP-SAT feasibility solve, and the optimum is proven when ``U* - 1`` is
   proven infeasible.  (An unstaffed site-day with demand counts as if one
   person were there; all its demand is overload.)
3. ``W_MOVE * moves + travel minutes`` with ``W_MOVE = max possible travel + 1``
   (fewest moves first, then least travel).  A move is one person-day away
   from home; travel is the one-way minutes from home.

Guard: every stage also keeps ``U <= U_before``, the peak of the
everyone-at-home plan, so the plan is never worse on the peak than doing
nothing (the home plan satisfies every constraint, so this is always feasible).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from ortools.sat.python import cp_model

from optimizer._status import SolverReport, SolveStatus, relative_gap
from optimizer.queueing import expected_wait_min

__all__ = [
    "MINUTE_SCALE",
    "UTIL_SCALE",
    "StageResult",
    "StaffAllocation",
    "StaffProblem",
    "solve_staff_allocation",
]

logger = logging.getLogger(__name__)

#: Work is counted in whole minutes in the model (minutes x MINUTE_SCALE, rounded).
MINUTE_SCALE = 1
#: Utilisation is counted in per mille in the model (1.0 -> 1000).
UTIL_SCALE = 1000
#: Largest utilisation the model represents, per mille (100 x capacity).
MAX_UTIL = 100 * UTIL_SCALE

_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.MODEL_INVALID: SolveStatus.MODEL_INVALID,
    cp_model.UNKNOWN: SolveStatus.UNKNOWN,
}

FloatArr = npt.NDArray[np.float64]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class StaffProblem:
    """Plain-array input of :func:`solve_staff_allocation` (P persons, S sites, D days, F fields).

    Attributes
    ----------
    person_ids, site_ids : ids, in array order.
    days : ISO dates of the open days; ``day_names`` their weekday codes.
    fields : field codes.
    home : (P,) index of each person's home site.
    skills : (P, F) person qualified for field.
    available : (P, D) person can work that day (days available, no leave).
    max_days : (P,) maximum days worked in the week.
    movable : (P,) person may be sent to another site.
    site_open : (S, D) site open that day.
    pool_site : (S,) site may process pooled online work (branches).
    counters : (S,) physical reception counters.
    local_min : (S, D) minutes of work that must be done at the site.
    reception_min : (S, D) part of ``local_min`` spent at the counter (reporting).
    pool_min : (D, F) pooled online processing minutes.
    skill_need : (S, D, F) field with in-person demand needing a qualified person.
    in_person_dossiers : (S, D) expected in-person visitors.
    arrivals_peak_per_hour : (S, D) visitors in the peak hour.
    service_min_mean : (S, D) mean reception minutes per visitor.
    counters_needed : (S, D) counters Erlang C asks for in the peak hour.
    travel_min : (S, S) one-way travel minutes between sites (``inf`` unreachable).
    max_travel_min : longest one-way trip from home for a temporary move.
    day_minutes : working minutes of one person in one day.
    max_moves : weekly cap on moves (person-days away from home); ``None`` = no cap.
    """

    person_ids: tuple[str, ...]
    site_ids: tuple[str, ...]
    days: tuple[str, ...]
    day_names: tuple[str, ...]
    fields: tuple[str, ...]
    home: IntArr
    skills: BoolArr
    available: BoolArr
    max_days: IntArr
    movable: BoolArr
    site_open: BoolArr
    pool_site: BoolArr
    counters: IntArr
    local_min: FloatArr
    reception_min: FloatArr
    pool_min: FloatArr
    skill_need: BoolArr
    in_person_dossiers: FloatArr
    arrivals_peak_per_hour: FloatArr
    service_min_mean: FloatArr
    counters_needed: IntArr
    travel_min: FloatArr
    max_travel_min: float
    day_minutes: float
    max_moves: int | None = None

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(persons, sites, days, fields)."""
        return len(self.person_ids), len(self.site_ids), len(self.days), len(self.fields)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first array whose shape or values are wrong."""
        p, s, d, f = self.shape
        expected: dict[str, tuple[int, ...]] = {
            "home": (p,), "skills": (p, f), "available": (p, d), "max_days": (p,),
            "movable": (p,), "site_open": (s, d), "pool_site": (s,), "counters": (s,),
            "local_min": (s, d), "reception_min": (s, d), "pool_min": (d, f),
            "skill_need": (s, d, f), "in_person_dossiers": (s, d),
            "arrivals_peak_per_hour": (s, d), "service_min_mean": (s, d),
            "counters_needed": (s, d), "travel_min": (s, s),
        }
        for name, shp in expected.items():
            got = np.shape(getattr(self, name))
            if got != shp:
                msg = f"StaffProblem.{name} has shape {got}, expected {shp}"
                raise ValueError(msg)
        if len(self.day_names) != d:
            msg = f"StaffProblem.day_names has {len(self.day_names)} entries, expected {d}"
            raise ValueError(msg)
        if p and (self.home.min() < 0 or self.home.max() >= s):
            msg = "StaffProblem.home holds a site index out of range"
            raise ValueError(msg)
        for name in ("local_min", "pool_min", "travel_min"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if np.isnan(arr).any() or (arr < 0).any():
                msg = f"StaffProblem.{name} must be >= 0 and not NaN"
                raise ValueError(msg)
        if self.day_minutes <= 0:
            msg = f"day_minutes must be > 0, got {self.day_minutes!r}"
            raise ValueError(msg)
        if self.max_moves is not None and self.max_moves < 0:
            msg = f"max_moves must be >= 0 or None, got {self.max_moves!r}"
            raise ValueError(msg)


@dataclass(frozen=True)
class StageResult:
    """One stage of the lexicographic solve."""

    name: str
    status: SolveStatus
    objective: float
    best_bound: float
    wall_time_s: float
    probes: int = 1

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.best_bound)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name, "status": self.status.value, "objective": self.objective,
            "best_bound": self.best_bound, "gap": self.gap, "wall_time_s": self.wall_time_s,
            "probes": self.probes,
        }


@dataclass(frozen=True)
class StaffAllocation:
    """Result of :func:`solve_staff_allocation`.

    Attributes
    ----------
    report : overall status (OPTIMAL only if every stage was proven), stage-3
        objective and bound, largest stage gap, time, seed, threads.
    stages : the three stages of the after-plan (overload, peak, moves).
    before_stages : the stages of the everyone-at-home plan (routing of pooled work).
    roster : one row per person and open day: ``person_id, date, weekday, site_id``
        (empty string when off), ``home_site, moved, travel_min``.
    site_days_before, site_days_after : one row per site and open day, see
        :func:`site_day_table`.
    moves : ``person_id, date, weekday, from_site, to_site, travel_min, reason``.
    shortfalls : ``site_id, date, weekday, field, kind, amount, detail``.
    shortfalls_before : the same for the everyone-at-home plan.
    peak_utilisation_before, peak_utilisation_after : max utilisation over site-days.
    overload_min_before, overload_min_after : total overload minutes.
    """

    report: SolverReport
    stages: tuple[StageResult, ...]
    before_stages: tuple[StageResult, ...]
    roster: pd.DataFrame
    site_days_before: pd.DataFrame
    site_days_after: pd.DataFrame
    moves: pd.DataFrame
    shortfalls: pd.DataFrame
    shortfalls_before: pd.DataFrame
    peak_utilisation_before: float
    peak_utilisation_after: float
    overload_min_before: float
    overload_min_after: float
    settings: dict[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------- model


@dataclass
class _Built:
    """The base model and handles to its variables."""

    model: cp_model.CpModel
    x: dict[tuple[int, int, int], cp_model.IntVar]
    staff: dict[tuple[int, int], cp_model.IntVar]
    nonempty: dict[tuple[int, int], cp_model.IntVar]
    demand: dict[tuple[int, int], cp_model.IntVar]
    y: dict[tuple[int, int, int], cp_model.IntVar]
    unplaced: dict[tuple[int, int], cp_model.IntVar]
    skill_gap: dict[tuple[int, int, int], cp_model.IntVar]
    counter_gap: dict[tuple[int, int], cp_model.IntVar]
    overload: dict[tuple[int, int], cp_model.IntVar]
    stage1: cp_model.IntVar
    stage3: cp_model.IntVar
    moves: cp_model.IntVar
    travel: cp_model.IntVar
    peak_keys: list[tuple[int, int]]
    day_min: int
    w_gap: int
    w_move: int


def _allowed_sites(pb: StaffProblem, travel_int: IntArr) -> list[list[list[int]]]:
    """allowed[p][d] = site indices person p may work at on day d (home first)."""
    n_p, n_s, n_d, _ = pb.shape
    reach = (pb.travel_min <= pb.max_travel_min) & np.isfinite(pb.travel_min)
    out: list[list[list[int]]] = []
    for p in range(n_p):
        h = int(pb.home[p])
        row: list[list[int]] = []
        for d in range(n_d):
            if not pb.available[p, d]:
                row.append([])
                continue
            sites = [h] if pb.site_open[h, d] else []
            if pb.movable[p]:
                sites += [int(s) for s in np.flatnonzero(reach[h] & pb.site_open[:, d]) if s != h]
            row.append([int(s) for s in sites])
        out.append(row)
    return out


def _work_days(pb: StaffProblem, allowed: list[list[list[int]]]) -> IntArr:
    n_p = len(pb.person_ids)
    w = np.zeros(n_p, dtype=np.int64)
    for p in range(n_p):
        w[p] = min(int(pb.max_days[p]), sum(1 for sites in allowed[p] if sites))
    return w


def home_plan(pb: StaffProblem) -> IntArr:
    """Everyone at home: (P, D) site index or -1, working the first allowed days.

    Parameters
    ----------
    pb
        The problem.

    Returns
    -------
    ndarray of int
        Site index per person and day, ``-1`` when off.
    """
    n_p, _, n_d, _ = pb.shape
    plan = np.full((n_p, n_d), -1, dtype=np.int64)
    for p in range(n_p):
        h = int(pb.home[p])
        left = int(pb.max_days[p])
        for d in range(n_d):
            if left > 0 and pb.available[p, d] and pb.site_open[h, d]:
                plan[p, d] = h
                left -= 1
    return plan


def _build(pb: StaffProblem, travel_int: IntArr) -> tuple[_Built, list[list[list[int]]]]:
    n_p, n_s, n_d, n_f = pb.shape
    m = cp_model.CpModel()
    day_min = int(round(pb.day_minutes * MINUTE_SCALE))
    local = np.ceil(np.asarray(pb.local_min) * MINUTE_SCALE - 1e-9).astype(np.int64)
    pool = np.ceil(np.asarray(pb.pool_min) * MINUTE_SCALE - 1e-9).astype(np.int64)
    allowed = _allowed_sites(pb, travel_int)
    work = _work_days(pb, allowed)

    # variables: x[p,s,d] = person p works at site s on day d
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    for p in range(n_p):
        for d in range(n_d):
            for s in allowed[p][d]:
                x[p, s, d] = m.new_bool_var(f"x_{p}_{s}_{d}")

    # each person works at most one site a day, and exactly w_p days in the week
    by_sd: dict[tuple[int, int], list[int]] = {}
    for p in range(n_p):
        for d in range(n_d):
            lits = [x[p, s, d] for s in allowed[p][d]]
            if len(lits) > 1:
                m.add_at_most_one(lits)
            for s in allowed[p][d]:
                by_sd.setdefault((s, d), []).append(p)
        m.add(sum(x[p, s, d] for d in range(n_d) for s in allowed[p][d]) == int(work[p]))

    # staff per site-day, and whether anyone is there
    staff: dict[tuple[int, int], cp_model.IntVar] = {}
    nonempty: dict[tuple[int, int], cp_model.IntVar] = {}
    for s in range(n_s):
        for d in range(n_d):
            people = by_sd.get((s, d), [])
            v = m.new_int_var(0, len(people), f"staff_{s}_{d}")
            m.add(v == sum(x[p, s, d] for p in people))
            staff[s, d] = v
            z = m.new_bool_var(f"nonempty_{s}_{d}")
            m.add(v >= 1).only_enforce_if(z)
            m.add(v == 0).only_enforce_if(~z)
            nonempty[s, d] = z

    # pooled online work goes to pool sites with qualified people there
    y: dict[tuple[int, int, int], cp_model.IntVar] = {}
    unplaced: dict[tuple[int, int], cp_model.IntVar] = {}
    for d in range(n_d):
        for f in range(n_f):
            if pool[d, f] <= 0:
                continue
            parts = []
            for s_raw in np.flatnonzero(pb.pool_site & pb.site_open[:, d]):
                s = int(s_raw)
                qual = [p for p in by_sd.get((s, d), []) if pb.skills[p, f]]
                if not qual:
                    continue
                v = m.new_int_var(0, int(pool[d, f]), f"pool_{s}_{d}_{f}")
                m.add(v <= day_min * sum(x[p, s, d] for p in qual))
                y[s, d, f] = v
                parts.append(v)
            u = m.new_int_var(0, int(pool[d, f]), f"unplaced_{d}_{f}")
            unplaced[d, f] = u
            m.add(sum(parts) + u == int(pool[d, f]))

    # demand and overload per site-day
    demand: dict[tuple[int, int], cp_model.IntVar] = {}
    overload: dict[tuple[int, int], cp_model.IntVar] = {}
    peak_keys: list[tuple[int, int]] = []
    total_pool = int(pool.sum())
    for s in range(n_s):
        for d in range(n_d):
            routed = [y[s, d, f] for f in range(n_f) if (s, d, f) in y]
            hi = int(local[s, d]) + sum(int(pool[d, f]) for f in range(n_f) if (s, d, f) in y)
            dv = m.new_int_var(int(local[s, d]), hi, f"demand_{s}_{d}")
            m.add(dv == int(local[s, d]) + sum(routed))
            demand[s, d] = dv
            if hi > 0:
                peak_keys.append((s, d))
                o = m.new_int_var(0, hi, f"overload_{s}_{d}")
                m.add(o >= dv - day_min * staff[s, d])
                overload[s, d] = o

    # shortfalls: a qualified person for each in-person field, counters from Erlang C
    skill_gap: dict[tuple[int, int, int], cp_model.IntVar] = {}
    counter_gap: dict[tuple[int, int], cp_model.IntVar] = {}
    counter_gap_max = 0
    for s in range(n_s):
        for d in range(n_d):
            for f_raw in np.flatnonzero(pb.skill_need[s, d]):
                f = int(f_raw)
                g = m.new_bool_var(f"skillgap_{s}_{d}_{f}")
                qual = [p for p in by_sd.get((s, d), []) if pb.skills[p, f]]
                m.add(sum(x[p, s, d] for p in qual) + g >= 1)
                skill_gap[s, d, f] = g
            need = int(min(pb.counters_needed[s, d], pb.counters[s]))
            if need > 0:
                c = m.new_int_var(0, need, f"countergap_{s}_{d}")
                m.add(c >= need - staff[s, d])
                counter_gap[s, d] = c
                counter_gap_max += need

    total_demand = int(local.sum()) + total_pool
    w_gap = total_demand + 1
    n_gap_max = len(skill_gap) + counter_gap_max
    stage1 = m.new_int_var(0, w_gap * n_gap_max + total_demand, "stage1")
    m.add(
        stage1
        == w_gap * (sum(skill_gap.values()) + sum(counter_gap.values()))
        + sum(overload.values())
        + sum(unplaced.values())
    )

    # moves and travel; weekly cap on moves
    away = [(k, v) for k, v in x.items() if k[1] != int(pb.home[k[0]])]
    max_travel_total = int(sum(int(travel_int[int(pb.home[p]), s]) for (p, s, _), _v in away))
    moves = m.new_int_var(0, len(away), "moves")
    m.add(moves == sum(v for _, v in away))
    travel = m.new_int_var(0, max_travel_total, "travel_min")
    m.add(travel == sum(int(travel_int[int(pb.home[p]), s]) * v for (p, s, _), v in away))
    if pb.max_moves is not None:
        m.add(moves <= int(pb.max_moves))
    w_move = max_travel_total + 1
    stage3 = m.new_int_var(0, w_move * len(away) + max_travel_total, "stage3")
    m.add(stage3 == w_move * moves + travel)

    built = _Built(
        model=m, x=x, staff=staff, nonempty=nonempty, demand=demand, y=y, unplaced=unplaced,
        skill_gap=skill_gap, counter_gap=counter_gap, overload=overload, stage1=stage1,
        stage3=stage3, moves=moves, travel=travel, peak_keys=peak_keys, day_min=day_min,
        w_gap=w_gap, w_move=w_move,
    )
    logger.debug(
        "staff model: %d assignment vars, %d pooled routes, %d skill checks, %d counter checks",
        len(x), len(y), len(skill_gap), len(counter_gap),
    )
    return built, allowed


def _add_peak(m: cp_model.CpModel, b: _Built, level: int) -> None:
    """Every site-day at most ``level`` per mille utilised (empty site-day counts as one person)."""
    for s, d in b.peak_keys:
        dv = m.get_int_var_from_proto_index(b.demand[s, d].index)
        st = m.get_int_var_from_proto_index(b.staff[s, d].index)
        z = m.get_bool_var_from_proto_index(b.nonempty[s, d].index)
        m.add(dv * UTIL_SCALE <= level * b.day_min * (st + 1 - z))


def _var(m: cp_model.CpModel, v: cp_model.IntVar) -> cp_model.IntVar:
    return m.get_int_var_from_proto_index(v.index)


class _Runner:
    """Solves clones of the base model with one seed, thread count, deadline and stop flag."""

    def __init__(
        self, seed: int, threads: int, deadline: float, stop: threading.Event | None
    ) -> None:
        self.seed = seed
        self.threads = threads
        self.deadline = deadline
        self.stop = stop

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def solve(
        self, m: cp_model.CpModel, hint: list[int] | None, time_limit_s: float
    ) -> tuple[SolveStatus, cp_model.CpSolver]:
        if hint is not None:
            m.clear_hints()  # type: ignore[no-untyped-call]
            for i, val in enumerate(hint):
                m.add_hint(m.get_int_var_from_proto_index(i), val)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = self.threads
        solver.parameters.random_seed = self.seed
        solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
        done = threading.Event()
        watcher: threading.Thread | None = None
        if self.stop is not None:
            stop = self.stop

            def watch() -> None:
                while not done.is_set():
                    if stop.wait(0.05):
                        solver.stop_search()
                        return

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
        try:
            status = _STATUS.get(solver.solve(m), SolveStatus.UNKNOWN)
        finally:
            done.set()
            if watcher is not None:
                watcher.join()
        return status, solver


def _values(solver: cp_model.CpSolver) -> list[int]:
    return [int(v) for v in solver.response_proto.solution]


def _peak_of(b: _Built, sol: list[int]) -> int:
    """Achieved peak utilisation (per mille, rounded up) of a full solution."""
    peak = 0
    for s, d in b.peak_keys:
        dem = sol[b.demand[s, d].index]
        cnt = max(1, sol[b.staff[s, d].index])
        peak = max(peak, -(-dem * UTIL_SCALE // (b.day_min * cnt)))
    return min(peak, MAX_UTIL)


def _lexicographic(
    b: _Built,
    runner: _Runner,
    start: list[int],
    guard_peak: int | None,
    fix_roster: bool,
    budget_s: float,
) -> tuple[list[int], tuple[StageResult, ...]]:
    """Run the three stages from the feasible solution ``start``; return the final solution."""
    t_end = time.monotonic() + budget_s
    base = b.model.clone()
    if fix_roster:
        for v in b.x.values():
            base.add(_var(base, v) == start[v.index])
    if guard_peak is not None:
        _add_peak(base, b, guard_peak)
    stages: list[StageResult] = []

    # stage 1: least weighted shortfall + overload
    t0 = time.monotonic()
    m1 = base.clone()
    m1.minimize(_var(m1, b.stage1))
    st, solver = runner.solve(m1, start, min(runner.remaining(), 0.4 * (t_end - t0)))
    if st.has_solution:
        sol = _values(solver)
        obj, bound = solver.objective_value, solver.best_objective_bound
    else:  # no better solution in time: the start is still a valid plan
        sol, obj, bound = start, float(start[b.stage1.index]), -math.inf
        st = SolveStatus.FEASIBLE if not runner.stopped() else SolveStatus.UNKNOWN
    stages.append(StageResult("shortfall_overload", st, obj, bound, time.monotonic() - t0))
    base.add(_var(base, b.stage1) <= sol[b.stage1.index])

    # stage 2: lowest peak utilisation, by bisection on a fixed level
    t0 = time.monotonic()
    hi = _peak_of(b, sol)
    lo = 0
    probes = 0
    proven = True
    while lo < hi and not runner.stopped():
        left = min(runner.remaining(), 0.8 * (t_end - time.monotonic()))
        if left <= 0.01:
            proven = False
            break
        mid = (lo + hi) // 2
        m2 = base.clone()
        _add_peak(m2, b, mid)
        st2, solver = runner.solve(m2, sol, left)
        probes += 1
        if st2.has_solution:
            sol = _values(solver)
            hi = _peak_of(b, sol)
        elif st2 is SolveStatus.INFEASIBLE:
            lo = mid + 1
        else:
            proven = False
            break
    st = SolveStatus.OPTIMAL if proven and lo >= hi else SolveStatus.FEASIBLE
    stages.append(StageResult("peak_utilisation", st, float(hi), float(lo), time.monotonic() - t0, probes))
    _add_peak(base, b, hi)

    # stage 3: fewest moves, then least travel
    t0 = time.monotonic()
    m3 = base.clone()
    m3.minimize(_var(m3, b.stage3))
    st, solver = runner.solve(m3, sol, runner.remaining() if not fix_roster else 5.0)
    if st.has_solution:
        sol = _values(solver)
        obj, bound = solver.objective_value, solver.best_objective_bound
    else:
        obj, bound = float(sol[b.stage3.index]), -math.inf
        st = SolveStatus.FEASIBLE if not runner.stopped() else SolveStatus.UNKNOWN
    stages.append(StageResult("moves_travel", st, obj, bound, time.monotonic() - t0))
    return sol, tuple(stages)


def _start_from_plan(b: _Built, pb: StaffProblem, plan: IntArr) -> list[int]:
    """A complete feasible solution vector for the roster ``plan`` (pool work unplaced)."""
    m = b.model.clone()
    for (p, s, d), v in b.x.items():
        m.add(_var(m, v) == int(plan[p, d] == s))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 30.0
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        msg = f"the everyone-at-home plan is not a valid roster ({solver.status_name(status)})"
        raise ValueError(msg)
    return _values(solver)


# --------------------------------------------------------------------------- read back


def _roster_array(b: _Built, pb: StaffProblem, sol: list[int]) -> IntArr:
    n_p, _, n_d, _ = pb.shape
    plan = np.full((n_p, n_d), -1, dtype=np.int64)
    for (p, s, d), v in b.x.items():
        if sol[v.index]:
            plan[p, d] = s
    return plan


def _routed(b: _Built, pb: StaffProblem, sol: list[int]) -> FloatArr:
    _, n_s, n_d, _ = pb.shape
    out = np.zeros((n_s, n_d))
    for (s, d, _f), v in b.y.items():
        out[s, d] += sol[v.index] / MINUTE_SCALE
    return out


def site_day_table(pb: StaffProblem, plan: IntArr, routed_min: FloatArr) -> pd.DataFrame:
    """Site-day figures for a roster.

    Parameters
    ----------
    pb
        The problem.
    plan
        (P, D) site index per person and day, ``-1`` when off.
    routed_min
        (S, D) pooled online minutes routed to each site-day.

    Returns
    -------
    DataFrame
        ``site_id, date, weekday, staff, demand_min, reception_min, pooled_min,
        capacity_min, utilisation, overload_min, unstaffed, in_person_dossiers,
        counters, counters_needed, counters_staffed, expected_wait_min``.
        ``utilisation = demand_min / max(capacity_min, day_minutes)`` (an
        unstaffed site-day counts as one person; ``unstaffed`` flags it).
    """
    _, n_s, n_d, _ = pb.shape
    staff = np.zeros((n_s, n_d), dtype=np.int64)
    for p, d in zip(*np.nonzero(plan >= 0), strict=True):
        staff[plan[p, d], d] += 1
    rows = []
    for s in range(n_s):
        for d in range(n_d):
            if not pb.site_open[s, d] and staff[s, d] == 0:
                continue
            dem = float(pb.local_min[s, d] + routed_min[s, d])
            cap = float(staff[s, d] * pb.day_minutes)
            if dem == 0 and cap == 0:
                continue
            phys = int(pb.counters[s])
            at_counter = int(min(staff[s, d], phys)) if phys > 0 else int(staff[s, d])
            wait = expected_wait_min(
                at_counter, float(pb.arrivals_peak_per_hour[s, d]), float(pb.service_min_mean[s, d])
            )
            rows.append({
                "site_id": pb.site_ids[s], "date": pb.days[d], "weekday": pb.day_names[d],
                "staff": int(staff[s, d]), "demand_min": round(dem, 1),
                "reception_min": round(float(pb.reception_min[s, d]), 1),
                "pooled_min": round(float(routed_min[s, d]), 1), "capacity_min": cap,
                "utilisation": round(dem / max(cap, pb.day_minutes), 4),
                "overload_min": round(max(0.0, dem - cap), 1),
                "unstaffed": bool(staff[s, d] == 0 and dem > 0),
                "in_person_dossiers": round(float(pb.in_person_dossiers[s, d]), 2),
                "counters": phys, "counters_needed": int(pb.counters_needed[s, d]),
                "counters_staffed": at_counter,
                "expected_wait_min": round(wait, 2) if math.isfinite(wait) else math.inf,
            })
    cols = [
        "site_id", "date", "weekday", "staff", "demand_min", "reception_min", "pooled_min",
        "capacity_min", "utilisation", "overload_min", "unstaffed", "in_person_dossiers",
        "counters", "counters_needed", "counters_staffed", "expected_wait_min",
    ]
    return pd.DataFrame(rows, columns=cols)


def _roster_table(pb: StaffProblem, plan: IntArr, travel_int: IntArr) -> pd.DataFrame:
    rows = []
    n_p, _, n_d, _ = pb.shape
    for p in range(n_p):
        h = int(pb.home[p])
        for d in range(n_d):
            s = int(plan[p, d])
            rows.append({
                "person_id": pb.person_ids[p], "date": pb.days[d], "weekday": pb.day_names[d],
                "site_id": pb.site_ids[s] if s >= 0 else "", "home_site": pb.site_ids[h],
                "moved": bool(s >= 0 and s != h),
                "travel_min": int(travel_int[h, s]) if s >= 0 and s != h else 0,
            })
    return pd.DataFrame(
        rows, columns=["person_id", "date", "weekday", "site_id", "home_site", "moved", "travel_min"]
    )


def _gaps(pb: StaffProblem, plan: IntArr, routed: FloatArr, unplaced: FloatArr) -> pd.DataFrame:
    """Shortfalls of a roster, named per site, day and field."""
    _, n_s, n_d, n_f = pb.shape
    rows: list[dict[str, object]] = []
    staff = np.zeros((n_s, n_d), dtype=np.int64)
    qual = np.zeros((n_s, n_d, n_f), dtype=np.int64)
    for p, d in zip(*np.nonzero(plan >= 0), strict=True):
        staff[plan[p, d], d] += 1
        qual[plan[p, d], d] += pb.skills[p].astype(np.int64)
    for s in range(n_s):
        for d in range(n_d):
            where = {"site_id": pb.site_ids[s], "date": pb.days[d], "weekday": pb.day_names[d]}
            for f in map(int, np.flatnonzero(pb.skill_need[s, d] & (qual[s, d] == 0))):
                rows.append({**where, "field": pb.fields[f], "kind": "no_qualified_person",
                             "amount": 1.0,
                             "detail": f"no one qualified for {pb.fields[f]} at {pb.site_ids[s]} "
                                       f"on {pb.day_names[d]} {pb.days[d]}"})
            need = int(min(pb.counters_needed[s, d], pb.counters[s]))
            if staff[s, d] < need:
                rows.append({**where, "field": "", "kind": "counters",
                             "amount": float(need - staff[s, d]),
                             "detail": f"Erlang C asks for {need} staffed counters, "
                                       f"{staff[s, d]} people there"})
            over = pb.local_min[s, d] + routed[s, d] - staff[s, d] * pb.day_minutes
            if over > 0.5:
                rows.append({**where, "field": "", "kind": "overload",
                             "amount": round(float(over), 1),
                             "detail": f"{over:.0f} demand minutes beyond capacity"})
    for d in range(n_d):
        for f in range(n_f):
            if unplaced[d, f] > 0.5:
                rows.append({"site_id": "", "date": pb.days[d], "weekday": pb.day_names[d],
                             "field": pb.fields[f], "kind": "online_unplaced",
                             "amount": round(float(unplaced[d, f]), 1),
                             "detail": "pooled online minutes no qualified branch could take"})
    return pd.DataFrame(
        rows, columns=["site_id", "date", "weekday", "field", "kind", "amount", "detail"]
    )


def _moves_table(
    pb: StaffProblem, plan: IntArr, travel_int: IntArr,
    before: pd.DataFrame, after: pd.DataFrame, gaps_before: pd.DataFrame,
) -> pd.DataFrame:
    util_b: dict[tuple[str, str], float] = {
        (str(r.site_id), str(r.date)): float(str(r.utilisation)) for r in before.itertuples()}
    util_a: dict[tuple[str, str], float] = {
        (str(r.site_id), str(r.date)): float(str(r.utilisation)) for r in after.itertuples()}
    skill_b = gaps_before[gaps_before["kind"] == "no_qualified_person"]
    gap_fields: dict[tuple[str, str], set[str]] = {}
    for r in skill_b.itertuples():
        gap_fields.setdefault((str(r.site_id), str(r.date)), set()).add(str(r.field))
    rows = []
    n_p, _, n_d, _ = pb.shape
    for p in range(n_p):
        h = int(pb.home[p])
        for d in range(n_d):
            s = int(plan[p, d])
            if s < 0 or s == h:
                continue
            to, home, day = str(pb.site_ids[s]), str(pb.site_ids[h]), str(pb.days[d])
            covers = sorted(
                f for f in gap_fields.get((to, day), set())
                if pb.skills[p, pb.fields.index(f)]
            )
            load = (f"{to} {pb.day_names[d]} at {util_b.get((to, day), 0.0):.0%} -> "
                    f"{util_a.get((to, day), 0.0):.0%}")
            reason = (f"covers {', '.join(covers)} at {to} {pb.day_names[d]} "
                      f"(no one qualified otherwise); {load}" if covers else load)
            reason += (f"; home {home} {util_b.get((home, day), 0.0):.0%} -> "
                       f"{util_a.get((home, day), 0.0):.0%}")
            rows.append({
                "person_id": pb.person_ids[p], "date": day, "weekday": pb.day_names[d],
                "from_site": home, "to_site": to, "travel_min": int(travel_int[h, s]),
                "reason": reason,
            })
    return pd.DataFrame(
        rows, columns=["person_id", "date", "weekday", "from_site", "to_site", "travel_min", "reason"]
    )


def _unplaced(b: _Built, pb: StaffProblem, sol: list[int]) -> FloatArr:
    out = np.zeros((len(pb.days), len(pb.fields)))
    for (d, f), v in b.unplaced.items():
        out[d, f] = sol[v.index] / MINUTE_SCALE
    return out


def _peak_util(table: pd.DataFrame) -> float:
    return float(table["utilisation"].max()) if len(table) else 0.0


# --------------------------------------------------------------------------- entry point


def solve_staff_allocation(
    pb: StaffProblem,
    time_limit_s: float = 30.0,
    seed: int = 0,
    threads: int = 1,
    stop: threading.Event | None = None,
) -> StaffAllocation:
    """Rebalance staff for one week, lexicographically (see the module docstring).

    Parameters
    ----------
    pb
        The problem, as plain arrays.
    time_limit_s
        Wall-clock limit for the whole solve (before plan and three stages), seconds.
    seed
        CP-SAT ``random_seed``.
    threads
        CP-SAT ``num_workers``.
    stop
        When set from another thread, the search stops and the best plan so far
        is returned with status FEASIBLE (or UNKNOWN when nothing beyond the home
        plan was found).

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
    t_start = time.monotonic()
    runner = _Runner(seed, threads, t_start + time_limit_s, stop)
    travel_int = np.where(
        np.isfinite(pb.travel_min), np.ceil(np.nan_to_num(pb.travel_min, posinf=0.0) - 1e-9), 0
    ).astype(np.int64)
    b, _allowed = _build(pb, travel_int)
    plan0 = home_plan(pb)
    start = _start_from_plan(b, pb, plan0)

    # before: everyone at home, pooled work routed as well as possible
    sol_b, stages_b = _lexicographic(b, runner, start, None, True, 0.2 * time_limit_s)
    guard = _peak_of(b, sol_b)
    # after: the same stages with people free to move, never worse on the peak
    sol_a, stages_a = _lexicographic(b, runner, sol_b, guard, False, runner.remaining())

    plan_b, plan_a = _roster_array(b, pb, sol_b), _roster_array(b, pb, sol_a)
    routed_b, routed_a = _routed(b, pb, sol_b), _routed(b, pb, sol_a)
    before = site_day_table(pb, plan_b, routed_b)
    after = site_day_table(pb, plan_a, routed_a)
    gaps_b = _gaps(pb, plan_b, routed_b, _unplaced(b, pb, sol_b))
    gaps_a = _gaps(pb, plan_a, routed_a, _unplaced(b, pb, sol_a))
    moves = _moves_table(pb, plan_a, travel_int, before, after, gaps_b)

    all_optimal = all(s.status is SolveStatus.OPTIMAL for s in stages_a)
    if runner.stopped() and not all_optimal:
        status = SolveStatus.FEASIBLE
        message = "stopped on request; best plan so far"
    else:
        status = SolveStatus.OPTIMAL if all_optimal else SolveStatus.FEASIBLE
        message = "; ".join(
            f"{s.name}: {s.status.value} {s.objective:g} (bound {s.best_bound:g})" for s in stages_a
        )
    last = stages_a[-1]
    report = SolverReport(
        status=status,
        objective=last.objective,
        best_bound=last.best_bound,
        gap=max(s.gap for s in stages_a),
        wall_time_s=time.monotonic() - t_start,
        solver="CP-SAT (lexicographic: shortfall+overload, peak utilisation, moves+travel)",
        seed=seed,
        threads=threads,
        time_limit_s=time_limit_s,
        message=message,
    )
    result = StaffAllocation(
        report=report,
        stages=stages_a,
        before_stages=stages_b,
        roster=_roster_table(pb, plan_a, travel_int),
        site_days_before=before,
        site_days_after=after,
        moves=moves,
        shortfalls=gaps_a,
        shortfalls_before=gaps_b,
        peak_utilisation_before=_peak_util(before),
        peak_utilisation_after=_peak_util(after),
        overload_min_before=float(before["overload_min"].sum()),
        overload_min_after=float(after["overload_min"].sum()),
        settings={
            "max_moves": pb.max_moves, "max_travel_min": pb.max_travel_min,
            "day_minutes": pb.day_minutes, "w_gap": b.w_gap, "w_move": b.w_move,
            "util_scale": UTIL_SCALE, "minute_scale": MINUTE_SCALE,
        },
    )
    logger.info(
        "staff allocation: %s; peak %.0f%% -> %.0f%%, overload %.0f -> %.0f min, %d moves",
        report.summary(), 100 * result.peak_utilisation_before,
        100 * result.peak_utilisation_after, result.overload_min_before,
        result.overload_min_after, len(moves),
    )
    return result


def plan_from_sites(pb: StaffProblem, sites: Sequence[Sequence[int]]) -> IntArr:
    """Turn a nested list of site indices (-1 = off) into a (P, D) plan array."""
    return np.asarray(sites, dtype=np.int64).reshape(len(pb.person_ids), len(pb.days))
