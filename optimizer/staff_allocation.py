"""Weekly staff rebalancing across sites: a lexicographic CP-SAT model.

Data
----
Persons ``p``, sites ``s``, open days ``d``, fields ``f``.  A person may work
at site ``s`` on day ``d`` (``x[p,s,d]``) only if available that day (days
available, not on leave, not a holiday), the site is open, and ``s`` is home,
or the person is movable, ``travel_min[home(p), s] <= max_travel_min`` and the
move is offered (:func:`_allowed_sites`: site-days that need help, and the
nearest branches for people based where pooled work cannot go).  Each person
works exactly ``w_p = min(max_days_p, days with an allowed site)`` days, on at
most one site a day.

Work, in whole minutes (:data:`MINUTE_SCALE`):

* ``local[s,d]``: reception of in-person visitors plus their back-office
  processing (and online processing when online work stays home);
* ``pool[d,f]``: online processing pooled across the province, routed by
  ``y[s,d,f] >= 0`` to pool sites (branches) where someone qualified for ``f``
  works that day (``has[s,d,f] <= sum x_qualified``, ``x_qualified <= has``,
  ``y <= pool * has``), ``sum_s y[s,d,f] + u[d,f] = pool[d,f]``, and
  ``u[d,f] <= pool * (1 - has[s,d,f])`` for every ``s``: minutes are unplaced
  only when no branch has anyone qualified for ``f`` that day.

``staff[s,d] = sum_p x[p,s,d]``, capacity ``day_min * staff[s,d]``,
``demand[s,d] = local[s,d] + sum_f y[s,d,f]``, overload
``o[s,d] >= demand[s,d] - day_min * staff[s,d]``, ``o >= 0``, and the rounding
cut ``o[s,d] >= r * (k + 1 - staff[s,d])`` where ``local = k * day_min + r``.

Shortfalls (soft, reported by name): skill gap ``g[s,d,f] = 1`` when a field
with in-person demand has no qualified person at the site that day
(``sum x_qualified + g >= 1``); counter gap
``c[s,d] >= min(counters_needed[s,d], counters[s]) - staff[s,d]`` where
``counters_needed`` comes from Erlang C in the peak hour.

Objective, lexicographic, as true steps (minimise one quantity, then fix it
with ``<=`` for every later step; the previous solution as a complete hint):

1. ``sum g`` (skill gaps), then ``sum o + sum u`` (overload), then ``sum u``
   (unplaced pooled minutes), then ``sum c`` (counter gaps);
2. the peak utilisation ``U`` (per mille, :data:`UTIL_SCALE`):
   ``demand[s,d] * UTIL_SCALE <= U * day_min * max(staff[s,d], 1)``, linear for
   a fixed ``U``, so ``U`` is found by probes (galloping down from the best
   level, then bisection); optimal when ``U* - 1`` is proven infeasible (an
   unstaffed site-day with demand counts as if one person were there; all its
   demand is overload);
3. moves (person-days away from home), then travel (one-way minutes from home).

Starting plans (heuristics, each result checked by the model): before the
peak probes, balancing repairs (:func:`_rebalance`: person-days moved to the
day of highest peak with each day's pooled work treated as one fluid, then
single moves into the busiest site-day with the routing fixed) give a roster
that the model re-routes with every fixed sum kept, used only if its peak is
lower; each feasible probe's roster is re-routed to its least peak too, and
after a feasible first probe the gallop starts at 1/8 of the gap to the bound.
Before the moves solve, people are sent home where the final peak level and
the fixed sums allow (:func:`_unmove` and the fluid variant), used only if
the re-routed plan has fewer moves.

Solves are fewer than steps where that is exact: a step whose start already
sits at its variable's lower bound is proven without a solve; skill gaps and
overload are one solve (least overload with gaps at their floor) when that
floor is reachable, else two; moves then travel are one solve of
``M * moves + travel`` with ``M`` above any travel total. The peak's lower
bound also comes from the work of sets of sites and days over the
person-days that can serve it (:func:`_peak_week_bound`).

Engines: each step runs CP-SAT, then HiGHS on the same model read as a MIP,
then CP-SAT, each from the best plan so far, until one proves it
(:func:`_solve`); HiGHS's plans are checked against the CP model exactly.

Guard: every step of the free model also keeps ``U <= U_before``, the peak of
the best everyone-at-home plan (solved first with the same steps), so the plan
is never worse on the peak than doing nothing; that plan, completed, is the
free model's first hint.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
from ortools.sat.python import cp_model

from optimizer._cp_mip import UnsupportedConstraint, linear_form
from optimizer._mip import solve_mip
from optimizer._status import SolverReport, SolveStatus, check_seed_threads, relative_gap
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
    overload_min_before, overload_min_after : total overload minutes at sites
        (demand beyond capacity; every pooled online minute is routed to a site).
    online_unplaced_min_before, online_unplaced_min_after : pooled online minutes
        of a field on a day when no branch has anyone qualified for it (then
        they are at no site; reported apart, and as ``online_unplaced`` shortfalls).
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
    online_unplaced_min_before: float = 0.0
    online_unplaced_min_after: float = 0.0
    settings: dict[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------- model


@dataclass
class _Built:
    """One CP-SAT model (home-only or free) and handles to its variables.

    Variables are named with their indices (``x_p_s_d``, ``pool_s_d_f``...), so a
    solution of one model can be read by name.
    """

    model: cp_model.CpModel
    x: dict[tuple[int, int, int], cp_model.IntVar]
    staff: dict[tuple[int, int], cp_model.IntVar]
    nonempty: dict[tuple[int, int], cp_model.IntVar]
    local: dict[tuple[int, int], int]
    routed: dict[tuple[int, int], list[cp_model.IntVar]]
    dem_ub: dict[tuple[int, int], int]
    staff_ub: dict[tuple[int, int], int]
    y: dict[tuple[int, int, int], cp_model.IntVar]
    unplaced: dict[tuple[int, int], cp_model.IntVar]
    skill_gap: dict[tuple[int, int, int], cp_model.IntVar]
    forced_skill_gaps: int
    counter_gap: dict[tuple[int, int], cp_model.IntVar]
    gaps: cp_model.IntVar
    counter_gaps: cp_model.IntVar
    over: cp_model.IntVar
    unplaced_total: cp_model.IntVar
    moves: cp_model.IntVar
    travel: cp_model.IntVar
    day_min: int
    names: list[str]
    work: IntArr  # days each person works (exactly)
    pool_site: BoolArr  # sites that may take pooled work


Solution = dict[str, int]


#: Rounds of balancing repair (moves, then re-routing) before the peak probes.
BALANCE_ROUNDS = 4
#: After a feasible first probe, the peak search gallops down in steps starting at
#: this fraction of the gap between the best level and the bound (1 / GALLOP_FRACTION).
GALLOP_FRACTION = 8

#: Share of a step's time CP-SAT gets first (it proves small instances fast), see :func:`_solve`.
CP_FIRST_SHARE = 0.2
#: ... and at most this many seconds (on Hanoi-scale HiGHS proves what CP-SAT has not
#: in its first seconds faster than CP-SAT would).
CP_FIRST_MAX_S = 3.0
#: Share of a step's time left that HiGHS gets next, before CP-SAT resumes.
MIP_SHARE = 0.7
#: HiGHS's turn is skipped when it would get less than this (seconds): it rarely
#: proves anything sooner on these models, and CP-SAT keeps the time.
MIP_MIN_S = 1.5

#: The peak stage probes its bound first when the start is within 1/NEAR_BOUND of it
#: (10 %), with BOUND_PROBE_SHARE of the stage's time.
NEAR_BOUND = 10
BOUND_PROBE_SHARE = 0.5

#: Movers considered for a site-day that needs help: the nearest this many movable
#: people, plus the nearest :data:`MOVE_QUALIFIED` qualified for each field it needs.
MOVE_CANDIDATES = 12
MOVE_QUALIFIED = 3
#: Pool sites (branches) a person based at a site without pooled work may be sent to.
MOVE_POOL_SITES = 2


def _needs_help(pb: StaffProblem) -> BoolArr:
    """(S, D) site-days a move may go to: those whose own people cannot be enough.

    A site-day needs help when its in-person (local) work alone needs every person
    based there who is available that day (``ceil(local / day) >= available``), when
    Erlang C asks for more staffed counters than it has people available, or when a
    field with in-person demand has no one qualified among them. Elsewhere a move
    cannot lower overload or the peak more than routing pooled online work does,
    so the model offers none (a stated restriction that keeps the model small).
    """
    n_p, n_s, n_d, _ = pb.shape
    avail = np.zeros((n_s, n_d), dtype=np.int64)
    qual = np.zeros((n_s, n_d, len(pb.fields)), dtype=np.int64)
    for p in range(n_p):
        h = int(pb.home[p])
        avail[h] += pb.available[p]
        qual[h] += pb.available[p][:, None] * pb.skills[p][None, :]
    local_people = np.ceil(np.asarray(pb.local_min) / pb.day_minutes - 1e-9)
    need_counters = np.minimum(pb.counters_needed, pb.counters[:, None])
    out: BoolArr = (
        (local_people >= avail) | (need_counters > avail)
        | (pb.skill_need & (qual == 0)).any(axis=2)
    ) & pb.site_open
    return out


def _allowed_sites(pb: StaffProblem, home_only: bool) -> list[list[list[int]]]:
    """allowed[p][d] = sites person p may work at on day d (home first).

    Home when open; for a movable person (and unless ``home_only``) also every
    open site within ``max_travel_min`` one way of home that needs help that day
    (:func:`_needs_help`) and for which the person is among its candidates (the
    :data:`MOVE_CANDIDATES` nearest movable people available that day, plus the
    :data:`MOVE_QUALIFIED` nearest qualified for each field it needs); a movable
    person based at a site that takes no pooled work may also go to the
    :data:`MOVE_POOL_SITES` nearest pool sites within reach; nothing on a day the
    person is unavailable.
    """
    n_p, n_s, n_d, _ = pb.shape
    reach = (pb.travel_min <= pb.max_travel_min) & np.isfinite(pb.travel_min)
    extra: list[list[list[int]]] = [[[] for _ in range(n_d)] for _ in range(n_p)]
    if not home_only:
        help_sd = _needs_help(pb)
        for s, d in zip(*np.nonzero(help_sd), strict=True):
            movers = [p for p in range(n_p) if pb.movable[p] and pb.available[p, d]
                      and int(pb.home[p]) != s and reach[int(pb.home[p]), s]]
            movers.sort(key=lambda p: (float(pb.travel_min[int(pb.home[p]), s]), p))
            chosen = set(movers[:MOVE_CANDIDATES])
            for f in np.flatnonzero(pb.skill_need[s, d]):
                chosen.update([p for p in movers if pb.skills[p, f]][:MOVE_QUALIFIED])
            for p in sorted(chosen):
                extra[p][int(d)].append(int(s))
        # people based where pooled work cannot go may help with it at the nearest
        # pool sites (the only way their spare time can take pooled online work)
        pool_idx = np.flatnonzero(pb.pool_site)
        for p in range(n_p):
            h = int(pb.home[p])
            if not pb.movable[p] or pb.pool_site[h]:
                continue
            near = sorted((float(pb.travel_min[h, t]), int(t)) for t in pool_idx
                          if reach[h, t])[:MOVE_POOL_SITES]
            for d in range(n_d):
                if pb.available[p, d]:
                    extra[p][d] += [t for _, t in near
                                    if pb.site_open[t, d] and t not in extra[p][d]]
    out: list[list[list[int]]] = []
    for p in range(n_p):
        h = int(pb.home[p])
        row: list[list[int]] = []
        for d in range(n_d):
            if not pb.available[p, d]:
                row.append([])
                continue
            sites = [h] if pb.site_open[h, d] else []
            row.append(sites + extra[p][d])
        out.append(row)
    return out


def _work_days(pb: StaffProblem, allowed: list[list[list[int]]]) -> IntArr:
    """Days each person works: ``min(max_days, days with an allowed site)`` (from the free model)."""
    n_p = len(pb.person_ids)
    w = np.zeros(n_p, dtype=np.int64)
    for p in range(n_p):
        w[p] = min(int(pb.max_days[p]), sum(1 for sites in allowed[p] if sites))
    return w


def home_plan(pb: StaffProblem) -> IntArr:
    """Everyone at home, days off spread by a greedy rotation (a director's first guess).

    Each person, in order, works ``min(max_days, open available days)`` days at
    home (the same count the model uses), choosing the days whose home load per
    person already rostered is highest; the load of a branch includes an equal
    share of the pooled online work.

    Parameters
    ----------
    pb
        The problem.

    Returns
    -------
    ndarray of int
        (P, D) site index per person and day, ``-1`` when off.
    """
    n_p, n_s, n_d, _ = pb.shape
    plan = np.full((n_p, n_d), -1, dtype=np.int64)
    n_pool = max(1, int(pb.pool_site.sum()))
    load = np.asarray(pb.local_min, dtype=float) + (
        pb.pool_site[:, None] * np.asarray(pb.pool_min).sum(axis=1)[None, :] / n_pool)
    rostered = np.zeros((n_s, n_d))
    work = _work_days(pb, _allowed_sites(pb, home_only=False))
    for p in range(n_p):
        h = int(pb.home[p])
        days = [d for d in range(n_d) if pb.available[p, d] and pb.site_open[h, d]]
        days.sort(key=lambda d: (-load[h, d] / (rostered[h, d] + 1.0), d))
        for d in sorted(days[: int(work[p])]):
            plan[p, d] = h
            rostered[h, d] += 1
    return plan


def _build(pb: StaffProblem, travel_int: IntArr, home_only: bool) -> _Built:
    n_p, n_s, n_d, n_f = pb.shape
    m = cp_model.CpModel()
    day_min = int(round(pb.day_minutes * MINUTE_SCALE))
    local = np.ceil(np.asarray(pb.local_min) * MINUTE_SCALE - 1e-9).astype(np.int64)
    pool = np.ceil(np.asarray(pb.pool_min) * MINUTE_SCALE - 1e-9).astype(np.int64)
    allowed = _allowed_sites(pb, home_only)
    # the free model's day count, in both models, so that the home-only plan is a
    # valid plan of the free model (it may then work fewer days than it could)
    work = np.minimum(_work_days(pb, _allowed_sites(pb, False)),
                      [sum(1 for s in row if s) for row in allowed])

    # variables: x[p,s,d] = person p works at site s on day d (only allowed triples)
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

    # staff per site-day (only where someone may be), and whether anyone is there
    staff: dict[tuple[int, int], cp_model.IntVar] = {}
    nonempty: dict[tuple[int, int], cp_model.IntVar] = {}
    staff_ub: dict[tuple[int, int], int] = {}
    for (s, d), people in by_sd.items():
        v = m.new_int_var(0, len(people), f"staff_{s}_{d}")
        m.add(v == sum(x[p, s, d] for p in people))
        staff[s, d] = v
        staff_ub[s, d] = len(people)
        z = m.new_bool_var(f"nonempty_{s}_{d}")
        # written as linear inequalities (not clauses) so that CP-SAT's LP relaxation sees them
        m.add(z <= v)
        for p in people:
            m.add(x[p, s, d] <= z)
        nonempty[s, d] = z

    # every pooled online minute goes to a pool site (branch) where someone qualified
    # for its field works that day; the minutes count against the whole site's
    # capacity, so a shortage shows as overload (utilisation > 100 %) at a site, and
    # peak utilisation and overload tell one story. Only when no branch has anyone
    # qualified for the field that day do its minutes stay unplaced (counted as
    # overload, reported apart). Linear inequalities only, so the LP sees them.
    y: dict[tuple[int, int, int], cp_model.IntVar] = {}
    unplaced: dict[tuple[int, int], cp_model.IntVar] = {}
    routed: dict[tuple[int, int], list[cp_model.IntVar]] = {}
    pool_ub: dict[tuple[int, int], int] = {}
    for d in range(n_d):
        for f in range(n_f):
            if pool[d, f] <= 0:
                continue
            u = m.new_int_var(0, int(pool[d, f]), f"unplaced_{d}_{f}")
            unplaced[d, f] = u
            parts = []
            for s_raw in np.flatnonzero(pb.pool_site & pb.site_open[:, d]):
                s = int(s_raw)
                qual = [p for p in by_sd.get((s, d), []) if pb.skills[p, f]]
                if not qual:
                    continue
                has = m.new_bool_var(f"qualified_{s}_{d}_{f}")
                m.add(has <= sum(x[p, s, d] for p in qual))
                for p in qual:
                    m.add(x[p, s, d] <= has)
                m.add(u <= int(pool[d, f]) * (1 - has))
                v = m.new_int_var(0, int(pool[d, f]), f"pool_{s}_{d}_{f}")
                m.add(v <= int(pool[d, f]) * has)
                y[s, d, f] = v
                routed.setdefault((s, d), []).append(v)
                pool_ub[s, d] = pool_ub.get((s, d), 0) + int(pool[d, f])
                parts.append(v)
            m.add(sum(parts) + u == int(pool[d, f]))

    # overload per site-day: demand minutes beyond the people there
    overload: list[cp_model.IntVar] = []
    dem_ub: dict[tuple[int, int], int] = {}
    local_d: dict[tuple[int, int], int] = {}
    for s in range(n_s):
        for d in range(n_d):
            ys = routed.get((s, d), [])
            hi = int(local[s, d]) + pool_ub.get((s, d), 0)
            if hi <= 0:
                continue
            dem_ub[s, d] = hi
            local_d[s, d] = int(local[s, d])
            cap = day_min * staff[s, d] if (s, d) in staff else 0
            o = m.new_int_var(0, hi, f"overload_{s}_{d}")
            m.add(o >= int(local[s, d]) + sum(ys) - cap)
            # the same, rounded for whole people (a mixed-integer rounding cut, valid
            # because routed minutes only add demand): with local = k * day + r,
            # o >= r * (k + 1 - staff). It tells the LP relaxation that a part-day of
            # local work costs either a whole person or r overload minutes, which is
            # what makes the least-overload bound provable on real data.
            k_full, rest = divmod(int(local[s, d]), day_min)
            if rest > 0 and (s, d) in staff:
                m.add(o >= rest * (k_full + 1) - rest * staff[s, d])
            overload.append(o)

    # shortfalls: a qualified person for each in-person field, counters from Erlang C.
    # A field no qualified person can reach that day is a fixed gap: counted, not modelled.
    skill_gap: dict[tuple[int, int, int], cp_model.IntVar] = {}
    forced = 0
    counter_gap: dict[tuple[int, int], cp_model.IntVar] = {}
    counter_gap_max = 0
    counter_gap_min = 0  # gaps no plan can avoid (more counters needed than people in reach)
    for s in range(n_s):
        for d in range(n_d):
            for f_raw in np.flatnonzero(pb.skill_need[s, d]):
                f = int(f_raw)
                qual = [p for p in by_sd.get((s, d), []) if pb.skills[p, f]]
                if not qual:
                    forced += 1
                    continue
                g = m.new_bool_var(f"skillgap_{s}_{d}_{f}")
                m.add(sum(x[p, s, d] for p in qual) + g >= 1)
                skill_gap[s, d, f] = g
            need = int(min(pb.counters_needed[s, d], pb.counters[s]))
            if need > 0:
                lo_gap = max(0, need - staff_ub.get((s, d), 0))
                c = m.new_int_var(lo_gap, need, f"countergap_{s}_{d}")
                counter_gap_min += lo_gap
                if (s, d) in staff:
                    m.add(c >= need - staff[s, d])
                counter_gap[s, d] = c
                counter_gap_max += need

    total_demand = int(local.sum()) + int(pool.sum())
    gaps = m.new_int_var(forced, forced + len(skill_gap), "gaps")
    m.add(gaps == forced + sum(skill_gap.values()))
    counter_gaps = m.new_int_var(counter_gap_min, counter_gap_max, "counter_gaps")
    m.add(counter_gaps == sum(counter_gap.values()))
    # overload: minutes beyond capacity at sites plus online minutes no one qualified took
    over = m.new_int_var(0, total_demand, "over")
    m.add(over == sum(overload) + sum(unplaced.values()))
    unplaced_total = m.new_int_var(0, int(pool.sum()), "unplaced")
    m.add(unplaced_total == sum(unplaced.values()))

    # moves (person-days away from home) and their one-way travel; weekly cap on moves
    away = [(k, v) for k, v in x.items() if k[1] != int(pb.home[k[0]])]
    moves_ub = len(away) if pb.max_moves is None else min(len(away), int(pb.max_moves))
    t_one = max((int(travel_int[int(pb.home[p]), s]) for (p, s, _), _v in away), default=0)
    moves = m.new_int_var(0, moves_ub, "moves")
    m.add(moves == sum(v for _, v in away))
    travel = m.new_int_var(0, moves_ub * t_one, "travel_min")
    m.add(travel == sum(int(travel_int[int(pb.home[p]), s]) * v for (p, s, _), v in away))

    names = [v.name for v in m.proto.variables]
    logger.debug(
        "staff model (%s): %d assignment vars, %d pooled routes, %d skill checks "
        "(%d fixed gaps), %d counter checks",
        "home only" if home_only else "free", len(x), len(y), len(skill_gap), forced,
        len(counter_gap),
    )
    return _Built(
        model=m, x=x, staff=staff, nonempty=nonempty, local=local_d, routed=routed,
        dem_ub=dem_ub, staff_ub=staff_ub, y=y, unplaced=unplaced, skill_gap=skill_gap,
        forced_skill_gaps=forced, counter_gap=counter_gap, gaps=gaps,
        counter_gaps=counter_gaps, over=over, unplaced_total=unplaced_total, moves=moves, travel=travel, day_min=day_min,
        names=names, work=np.asarray(work, dtype=np.int64),
        pool_site=np.asarray(pb.pool_site, dtype=bool),
    )


def _var(m: cp_model.CpModel, v: cp_model.IntVar) -> cp_model.IntVar:
    return m.get_int_var_from_proto_index(v.index)


def _add_peak(m: cp_model.CpModel, b: _Built, level: int) -> None:
    """Every site-day at most ``level`` per mille utilised (an empty site-day counts as one person).

    ``demand * UTIL_SCALE <= level * day_min * (staff + 1 - nonempty)``; site-days
    whose largest possible demand fits in one person's day at that level cannot
    break it and get no constraint.
    """
    for (s, d), hi in b.dem_ub.items():
        if hi * UTIL_SCALE <= level * b.day_min:
            continue
        dem = b.local[s, d] + sum(_var(m, v) for v in b.routed.get((s, d), []))
        if (s, d) not in b.staff:
            m.add(dem * UTIL_SCALE <= level * b.day_min)
            continue
        st = _var(m, b.staff[s, d])
        z = _var(m, b.nonempty[s, d])
        m.add(dem * UTIL_SCALE <= level * b.day_min * (st + 1 - z))


def _peak_week_bound(b: _Built, hi: int, unplaced_max: int, pool_sites: BoolArr) -> int:
    """A peak no plan below ``hi`` can beat, from the work of sets of sites and days.

    Every plan has a peak of at least ``min(hi, bound)``: plans below ``hi``
    cannot beat the bound, the others are at ``hi`` or above.

    For a set ``G`` of sites and a set ``T`` of days, the work that must be done
    at ``G`` on ``T`` is within ``U * day_min * e`` of its site-days, where ``e``
    is the people there or 1 when no one is. Summed: ``work(G, T) <= U * day_min
    * (person-days at G on T + empty site-days)``. A person works at most
    ``min(w_p, days of T with a site of G the person may work at)`` of them; a
    site-day can be empty in a plan below ``hi`` only if no one may work there
    or its local work fits in one person's day at level ``hi - 1``. Sets
    ``G``: every site (all work, less at most ``unplaced_max`` unplaced pooled
    minutes), the pool sites (their local work and the pooled work, which goes
    nowhere else), each single site (its local work); ``T``: every set of days.
    The largest ratio is a lower bound on the peak (on the Hanoi-scale instance:
    1,011 per mille over the week where the best single site-day gives 976).
    """
    days = sorted({d for _, d in b.dem_ub})
    if not days or len(days) > 12:
        return 0
    col = {d: i for i, d in enumerate(days)}
    n_d = len(days)
    people = sorted({p for p, _s, _d in b.x})
    row = {p: i for i, p in enumerate(people)}
    sites = sorted({s for s, _ in b.dem_ub})
    n_s = max(sites) + 1
    # may[p, s, d]: person p may work at site s on day d
    may = np.zeros((len(people), n_s, n_d), dtype=bool)
    for p, s, d in b.x:
        if d in col and s < n_s:
            may[row[p], s, col[d]] = True
    work = np.array([int(b.work[p]) for p in people], dtype=np.int64)
    local = np.zeros((n_s, n_d), dtype=np.int64)
    empty = np.zeros((n_s, n_d), dtype=np.int64)
    for (s, d), loc in b.local.items():
        local[s, col[d]] = loc
        if (s, d) not in b.staff or loc * UTIL_SCALE <= (hi - 1) * b.day_min:
            empty[s, col[d]] = 1
    pool = np.zeros(n_d, dtype=np.int64)
    for (d, _f), v in b.unplaced.items():
        pool[col[d]] += int(v.proto.domain[len(v.proto.domain) - 1])
    masks = ((np.arange(1, 1 << n_d)[:, None] >> np.arange(n_d)[None, :]) & 1).astype(np.int64)
    is_pool = np.zeros(n_s, dtype=bool)
    is_pool[: min(n_s, len(pool_sites))] = np.asarray(pool_sites)[:n_s]
    groups: list[tuple[BoolArr, bool]] = [(np.ones(n_s, dtype=bool), True)]
    if is_pool.any():
        groups.append((is_pool, True))
    groups += [(np.arange(n_s) == s, False) for s in sites]
    best = 0
    for members, with_pool in groups:
        reach = may[:, members, :].any(axis=1).astype(np.int64)  # (people, days)
        cap = np.minimum(reach @ masks.T, work[:, None]).sum(axis=0)  # per day set
        cap += masks @ empty[members].sum(axis=0)
        need = masks @ local[members].sum(axis=0)
        if with_pool:
            need += masks @ pool - unplaced_max
        ok = (need > 0) & (cap > 0)
        if ok.any():
            ratio = -(-need[ok] * UTIL_SCALE // (b.day_min * cap[ok]))
            best = max(best, int(ratio.max()))
    return min(best, MAX_UTIL)


def _peak_of(b: _Built, sol: Solution) -> int:
    """Achieved peak utilisation (per mille, rounded up) of a solution."""
    peak = 0
    for (s, d), _hi in b.dem_ub.items():
        dem = b.local[s, d] + sum(sol.get(v.name, 0) for v in b.routed.get((s, d), []))
        cnt = max(1, sol.get(f"staff_{s}_{d}", 0))
        peak = max(peak, -(-dem * UTIL_SCALE // (b.day_min * cnt)))
    return min(peak, MAX_UTIL)


def _peak_lower_bound(b: _Built) -> int:
    """A peak no plan can beat: local work over every person who could be there."""
    lb = 0
    for (s, d), loc in b.local.items():
        lb = max(lb, -(-loc * UTIL_SCALE // (b.day_min * max(1, b.staff_ub.get((s, d), 0)))))
    return min(lb, MAX_UTIL)


#: CP-SAT full-problem workers by thread count. ``lp2`` is the single-thread worker
#: (our parameters: linearization level 2, every constraint in the LP relaxation,
#: with cuts), what proves these models: with the default portfolio the demo's
#: least-overload step had no bound (0) in 20 s. With 2 threads the second worker
#: is ``pseudo_costs``, not LNS: measured on the loaded 2-core machine, ``max_lp`` +
#: LNS (the previous setting) left the Hanoi-scale overload step at bound 0 after
#: 15 s where ``lp2`` + ``pseudo_costs`` proves it in ~6 s, and the demo was
#: ~9-13 s instead of ~11-16 s. From 3 threads on, one worker per extra thread
#: down this list, the last thread for LNS.
FULL_SUBSOLVERS = ("lp2", "pseudo_costs", "max_lp", "quick_restart", "reduced_costs",
                   "default_lp", "lb_tree_search", "core")


def _configure(
    solver: cp_model.CpSolver, threads: int, seed: int, light: bool = False, lns: bool = False,
) -> None:
    """Workers, seed and the LP-heavy search these models need.

    ``light``: no probing and no symmetry detection in presolve, for the
    everyone-at-home model, whose solves are small and mostly presolve (on the
    demo its three solves took 0.43 s of CPU with them, 0.26 s without).
    """
    solver.parameters.num_workers = threads
    solver.parameters.random_seed = seed
    solver.parameters.linearization_level = 2
    if light:
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.symmetry_level = 0
    if threads >= 2:
        solver.parameters.merge_text_format(
            'subsolver_params { name: "lp2" linearization_level: 2 }')
        full = 2 if threads == 2 and not lns else min(threads - 1, len(FULL_SUBSOLVERS))
        solver.parameters.subsolvers.extend(FULL_SUBSOLVERS[:full])
        solver.parameters.num_full_subsolvers = full


class _Runner:
    """Solves models with one seed, thread count, deadline, stop flag and work budget.

    ``deterministic_s`` (when set) is a budget of CP-SAT deterministic time for
    the whole run: each solve gets a share of it as ``max_deterministic_time``
    and what a solve leaves passes on, so a run with one thread is reproducible
    whatever the machine load (the wall-clock deadline stays as a safety net).
    """

    def __init__(
        self, seed: int, threads: int, deadline: float, stop: threading.Event | None,
        deterministic_s: float | None = None,
    ) -> None:
        self.seed = seed
        self.threads = threads
        self.deadline = deadline
        self.stop = stop
        self.det_left = deterministic_s
        self.light = False  # lighter presolve (see _configure)
        self.lns = False  # with 2 threads: lp2 + LNS instead of two full workers

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def portion(self, share: float) -> tuple[float, float | None]:
        """``share`` of the wall seconds and deterministic seconds still left."""
        det = None if self.det_left is None else share * self.det_left
        return share * self.remaining(), det

    def solve(
        self, m: cp_model.CpModel, names: list[str], hint: Solution | None,
        wall_s: float, det_s: float | None, hint_search: bool = True,
    ) -> tuple[SolveStatus, cp_model.CpSolver]:
        """Solve ``m`` from ``hint``; ``hint_search=False`` skips CP-SAT's hint search.

        CP-SAT loads a complete feasible hint as its first solution during presolve;
        its "hint search" (following the hint for ``hint_conflict_limit`` conflicts,
        with the LP at every node) then only repeats it, so the steps skip it
        (``hint_conflict_limit = 0``): on the demo that halves the deterministic time
        of the free model's steps (3.1 -> 1.7 s, the same optima).
        """
        if hint is not None:
            m.clear_hints()  # type: ignore[no-untyped-call]
            # straight into the proto: add_hint per variable costs ~0.3 s a run on the demo
            m.proto.solution_hint.vars.extend(range(len(names)))
            m.proto.solution_hint.values.extend([hint.get(name, 0) for name in names])
        solver = cp_model.CpSolver()
        if self.stopped():  # stop requested: start no new search
            return SolveStatus.UNKNOWN, solver
        _configure(solver, self.threads, self.seed, self.light, self.lns)
        if not hint_search:
            solver.parameters.hint_conflict_limit = 0
        solver.parameters.max_time_in_seconds = max(0.01, min(wall_s, self.remaining()))
        if det_s is not None:
            solver.parameters.max_deterministic_time = max(0.01, det_s)
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
        if self.det_left is not None:
            self.det_left = max(0.0, self.det_left - solver.response_proto.deterministic_time)
        return status, solver


def _values(b: _Built, solver: cp_model.CpSolver) -> Solution:
    """The solution by variable name (variables a stage added after ``b.names`` are dropped)."""
    sol = solver.response_proto.solution
    return {name: int(sol[i]) for i, name in enumerate(b.names)}


class _Budget:
    """Gives each solve its share of the time left, by the weights of the solves still to run."""

    def __init__(self, runner: _Runner, weights: dict[str, float]) -> None:
        self.runner = runner
        self.left = dict(weights)

    def take(self, *stages: str) -> tuple[float, float | None]:
        """The share of the solves ``stages`` (one solve doing the work of several)."""
        total = sum(self.left.values())
        w = sum(self.left.pop(stage, 0.0) for stage in stages)
        return self.runner.portion(w / total if total > 0 else 1.0)

    def give_back(self, weights: dict[str, float]) -> None:
        """Put back the weights of solves that must run after all."""
        self.left.update(weights)


@dataclass(frozen=True)
class _Step:
    """One solve of a stage: the value reached, its proven bound and status."""

    name: str
    status: SolveStatus
    value: int
    bound: int
    wall_s: float = 0.0
    by: str = ""  # the engine whose plan it is (and whose proof, when proven)

    def text(self) -> str:
        proven = "proven" if self.status is SolveStatus.OPTIMAL else f"bound {self.bound}"
        by = f", {self.by}" if self.by else ""
        return f"{self.name} {self.value} ({proven}, {self.wall_s:.1f} s{by})"


def _minimize(
    b: _Built, base: cp_model.CpModel, runner: _Runner, target: cp_model.IntVar,
    sol: Solution, limits: tuple[float, float | None], name: str, known_lb: int = 0,
) -> tuple[Solution, _Step]:
    """Minimise ``target`` from the feasible ``sol``, then fix it (``base`` gains ``target <= value``).

    When ``sol`` already reaches the lower end of ``target``'s domain (e.g. no
    unplaced minutes, or only the skill gaps no one can reach), or ``known_lb``
    (a bound proven before), that is proven optimal without a solve.
    """
    t0 = time.monotonic()
    lo = max(int(_var(base, target).proto.domain[0]), known_lb)
    if sol[target.name] <= lo:
        step = _Step(name, SolveStatus.OPTIMAL, sol[target.name], sol[target.name],
                     time.monotonic() - t0)
        base.add(_var(base, target) <= step.value)
        return sol, step
    m = base.clone()
    m.minimize(_var(m, target))
    out = _solve(b, m, runner, sol, *limits)
    st = out.status
    if out.sol is not None:
        new = out.sol
        value = new[target.name]
        step = _Step(name, st, value, max(min(out.bound, value), lo), time.monotonic() - t0,
                     out.by)
    elif st is SolveStatus.INFEASIBLE:  # cannot happen: sol is feasible
        msg = f"staff model stage on {target.name} infeasible from a feasible start"
        raise RuntimeError(msg)
    else:
        new = sol
        step = _Step(name, SolveStatus.FEASIBLE, sol[target.name], lo, time.monotonic() - t0)
    base.add(_var(base, target) <= step.value)
    return new, step


def _minimize_at_floor(
    b: _Built, base: cp_model.CpModel, runner: _Runner, budget: _Budget,
    first: cp_model.IntVar, second: cp_model.IntVar, sol: Solution,
    stages: tuple[str, str], names: tuple[str, str],
) -> tuple[Solution, _Step, _Step]:
    """Two lexicographic steps in one solve when the first one's floor is reachable.

    The floor of ``first`` is the lower end of its domain (for skill gaps: the
    gaps no one qualified can reach). When ``sol`` is above it, one solve
    minimises ``second`` with ``first <= floor``: if it finds a plan, the first
    step is proven (its value is its floor) and the second is solved as its own
    step would be; the plan found is the one the two steps would give. If that
    is infeasible, ``first > floor`` is proven and the two steps run one by one
    (as they do when the solve runs out of time). On the demo this saves a
    solve and its presolve (skill gaps 1 -> 0, then overload).
    """
    t0 = time.monotonic()
    floor = int(_var(base, first).proto.domain[0])
    if sol[first.name] <= floor:
        sol, s1 = _minimize(b, base, runner, first, sol, budget.take(stages[0]), names[0])
        sol, s2 = _minimize(b, base, runner, second, sol, budget.take(stages[1]), names[1])
        return sol, s1, s2
    weights = {k: budget.left[k] for k in stages if k in budget.left}
    m = base.clone()
    m.add(_var(m, first) <= floor)
    m.minimize(_var(m, second))
    # the start breaks ``first <= floor``: it is a hint, no first solution, no hint search
    out = _solve(b, m, runner, sol, *budget.take(*stages))
    st = out.status
    if out.sol is not None:
        new = out.sol
        value = new[second.name]
        wall = time.monotonic() - t0
        s1 = _Step(names[0], SolveStatus.OPTIMAL, floor, floor, 0.0)
        s2 = _Step(names[1], st, value, min(out.bound, value), wall, out.by)
        base.add(_var(base, first) <= floor)
        base.add(_var(base, second) <= value)
        return new, s1, s2
    known = floor + 1 if st is SolveStatus.INFEASIBLE else 0
    budget.give_back(weights)
    sol, s1 = _minimize(b, base, runner, first, sol, budget.take(stages[0]), names[0], known)
    sol, s2 = _minimize(b, base, runner, second, sol, budget.take(stages[1]), names[1])
    return sol, replace(s1, wall_s=time.monotonic() - t0 - s2.wall_s), s2


@dataclass(frozen=True)
class _Outcome:
    """One step's solve by one or more engines: status, best plan, objective bound."""

    status: SolveStatus
    sol: Solution | None
    bound: int  # a valid lower bound of the objective (0 for a feasibility model)
    by: str = ""  # the engine of the plan (or of the proof of infeasibility)


def _objective(m: cp_model.CpModel, n: int) -> tuple[FloatArr, float, float]:
    """The objective of ``m`` as (coefficients over ``n`` variables, offset, scale)."""
    obj = np.zeros(n)
    o = m.proto.objective
    if not m.proto.has_objective():
        return obj, 0.0, 1.0
    np.add.at(obj, np.asarray(list(o.vars), dtype=np.int64),
              np.asarray(list(o.coeffs), dtype=np.float64))
    return obj, float(o.offset), float(o.scaling_factor) or 1.0


def _by_mip(b: _Built, m: cp_model.CpModel, runner: _Runner, start: Solution,
            wall_s: float) -> _Outcome | None:
    """``m`` (a minimisation or a feasibility model) by HiGHS, from ``start``.

    ``None`` when HiGHS cannot take the model or was not run. Its answer is
    rounded and checked against the CP model in exact integers
    (:meth:`LinearForm.violations`); one that breaks a rule is dropped (its
    bound and an infeasibility proof are still the engine's, on the same model).
    """
    if runner.stopped() or wall_s <= 0.05:
        return None
    try:
        form = linear_form(m.proto)
    except UnsupportedConstraint as exc:  # not expected: the staff model is linear
        logger.debug("no MIP engine for this step: %s", exc)
        return None
    if form.names[:len(b.names)] != tuple(b.names):
        return None
    obj, offset, scale = _objective(m, len(form.names))
    hint = np.asarray([start.get(n, 0) for n in form.names], dtype=np.float64)
    # HiGHS checks its clock rarely in its root LP (it ran 15 s past a 4 s limit on the
    # synthetic demo-size instance): it is told 90 % of the time and abandoned at the end
    wall = min(wall_s, runner.remaining())
    res = solve_mip(form.mip(obj), engine="highs", time_limit_s=0.9 * wall, wall_limit_s=wall,
                    seed=runner.seed, threads=1, stop=runner.stop, hint=hint)
    rep = res.report
    if rep.status is SolveStatus.INFEASIBLE:
        return _Outcome(SolveStatus.INFEASIBLE, None, 0, "HiGHS")
    bound = (int(math.ceil(scale * (rep.best_bound + offset) - 1e-6))
             if math.isfinite(rep.best_bound) else -(2**62))
    if res.values is None:
        return _Outcome(SolveStatus.UNKNOWN, None, bound)
    vals = np.rint(res.values).astype(np.int64)
    bad = form.violations(vals)
    if bad:
        logger.warning("HiGHS's plan breaks the CP model (%s); not used", "; ".join(bad))
        return _Outcome(SolveStatus.UNKNOWN, None, bound)
    sol = {n: int(v) for n, v in zip(form.names[:len(b.names)], vals, strict=False)}
    value = scale * (float(obj @ vals) + offset)
    proven = rep.status is SolveStatus.OPTIMAL and bound >= value - 1e-6
    return _Outcome(SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE, sol,
                    int(round(value)) if proven else bound, "HiGHS")


def _solve(b: _Built, m: cp_model.CpModel, runner: _Runner, hint: Solution,
           wall_s: float, det_s: float | None) -> _Outcome:
    """Solve ``m`` (minimise its objective, or find any plan) by CP-SAT, HiGHS, CP-SAT.

    Each engine starts from the best plan so far (``hint`` at first, which
    need not be feasible for ``m``) and stops as soon as one proves the answer
    (or that there is none): CP-SAT for :data:`CP_FIRST_SHARE` of the time, at
    most :data:`CP_FIRST_MAX_S` (it proves the demo's steps in well under a
    second), HiGHS on the same model
    read as a MIP for :data:`MIP_SHARE` of the time left (its branch-and-cut
    proves steps where CP-SAT's search can stall for a minute far above its
    tight bound: the Hanoi-scale moves step, 42 proven in 3-4 s where CP-SAT
    stalled at 67-84 in some runs), CP-SAT for the rest. The bound is the best
    of theirs (each is valid for the same model). With a deterministic budget
    (``det_s``) HiGHS, which has none, is not used, so that the answer does not
    depend on the machine's load. Nor on the everyone-at-home model
    (``runner.light``): there HiGHS's least-overload rosters (26,676-27,260 min
    on Hanoi-scale) had peaks of 149-161 % that its short peak step could not
    repair, so the "before" figures looked worse than everyone at home is
    (133 % with CP-SAT's rosters).
    """
    end = time.monotonic() + wall_s
    first = 1.0 if det_s is not None or runner.light else CP_FIRST_SHARE
    best: Solution | None = None
    by = ""
    bound = -(2**62)
    has_obj = m.proto.has_objective()

    def by_cp(start: Solution, share: float) -> _Outcome:
        wall = share * max(0.0, end - time.monotonic())
        if share < 1.0:
            wall = min(wall, CP_FIRST_MAX_S)
        st, solver = runner.solve(m, b.names, start, wall,
                                  None if det_s is None else share * det_s, hint_search=False)
        sol = _values(b, solver) if st.has_solution else None
        cp_bound = int(math.ceil(solver.best_objective_bound - 1e-6)) if (
            has_obj and st.has_solution) else -(2**62)
        if st is SolveStatus.OPTIMAL and sol is not None:
            cp_bound = int(round(solver.objective_value)) if has_obj else 0
        return _Outcome(st, sol, cp_bound, "CP-SAT")

    def by_mip(start: Solution) -> _Outcome | None:
        wall = MIP_SHARE * (end - time.monotonic())
        return _by_mip(b, m, runner, start, wall) if wall >= MIP_MIN_S else None

    obj = m.proto.objective
    terms = [(b.names[v], c) for v, c in zip(obj.vars, obj.coeffs, strict=True)]

    def value(sol: Solution) -> int:
        return sum(c * sol[name] for name, c in terms)

    turns: list[Callable[[Solution], _Outcome | None]] = [lambda start: by_cp(start, first)]
    if det_s is None and not runner.light:
        turns += [by_mip, lambda start: by_cp(start, 1.0)]
    for turn in turns:
        if best is not None and end - time.monotonic() <= 0.05:
            break
        out = turn(best if best is not None else hint)
        if out is None:
            continue
        if out.status is SolveStatus.OPTIMAL and best is not None and has_obj and (
                value(best) <= out.bound):
            # the proof shows the plan found before is optimal too: keep it (it is
            # nearer the start; on Hanoi-scale CP-SAT's least-overload plans start
            # the peak stage at 1,044-1,098 per mille, HiGHS's at 1,306-1,331)
            return _Outcome(SolveStatus.OPTIMAL, best, value(best), f"{by}, proven by {out.by}")
        if out.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE):
            return out
        bound = max(bound, out.bound)
        # an engine's plan replaces the best only if it is better (HiGHS may return
        # a worse plan than the start it was given when it drops that start)
        if out.sol is not None and (best is None or value(out.sol) < value(best)):
            best, by = out.sol, out.by
        if runner.stopped():
            break
    return _Outcome(SolveStatus.FEASIBLE if best is not None else SolveStatus.UNKNOWN,
                    best, bound, by)


def _minimize_moves_travel(
    b: _Built, base: cp_model.CpModel, runner: _Runner, sol: Solution,
    limits: tuple[float, float | None],
) -> tuple[Solution, _Step, _Step]:
    """Fewest moves, then least travel, in one exact solve: ``min M * moves + travel``.

    ``M`` is one more than the largest travel total the model allows, so one move
    outweighs any travel: the optimum is the lexicographic one (the moves step,
    then the travel step with moves fixed), with small coefficients (``M`` is
    tens of thousands, not the ``1e10`` of weighted keys). From a bound ``B`` of
    the weighted objective, ``moves >= floor(B / M)`` (as ``travel < M``); travel
    has a bound only when the moves are proven, ``B - M * moves``. On the demo
    one solve instead of two (same 28 moves, 230 min).

    Solved by CP-SAT, then HiGHS, then CP-SAT (:func:`_solve`): on Hanoi-scale
    HiGHS proves 42 moves in 3-4 s, where CP-SAT alone stalled at 67-84 against
    a bound of 42 in some runs.
    """
    t0 = time.monotonic()
    dom = _var(base, b.travel).proto.domain  # (a proto list: no negative indexing)
    weight = int(dom[len(dom) - 1]) + 1
    lo_mv = int(_var(base, b.moves).proto.domain[0])
    m = base.clone()
    m.minimize(weight * _var(m, b.moves) + _var(m, b.travel))
    runner.lns = True
    try:
        out = _solve(b, m, runner, sol, *limits)
    finally:
        runner.lns = False
    if out.status is SolveStatus.INFEASIBLE:  # cannot happen: sol is feasible
        msg = "staff model moves step infeasible from a feasible start"
        raise RuntimeError(msg)
    new = out.sol if out.sol is not None else sol
    proven = out.status is SolveStatus.OPTIMAL
    bound = max(out.bound, weight * lo_mv)
    mv, tr = new[b.moves.name], new[b.travel.name]
    if proven:
        bound = weight * mv + tr
    st = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    mv_lb = min(mv, max(lo_mv, bound // weight))
    tr_lb = min(tr, max(0, bound - weight * mv)) if mv_lb >= mv else 0
    wall = time.monotonic() - t0
    s_mv = _Step("moves", st if mv_lb < mv else SolveStatus.OPTIMAL, mv, mv_lb, wall, out.by)
    s_tr = _Step("travel_min", st if tr_lb < tr else SolveStatus.OPTIMAL, tr, tr_lb, 0.0)
    base.add(_var(base, b.moves) <= mv)
    base.add(_var(base, b.travel) <= tr)
    return new, s_mv, s_tr


def _stage(name: str, steps: list[_Step], main: _Step, t0: float, probes: int) -> StageResult:
    """A reported stage made of one or more solves.

    Its objective and bound are those of ``main`` when every step is proven,
    otherwise those of the first unproven step, so that a stage is OPTIMAL
    exactly when its bound equals its objective.
    """
    steps = [replace(s, status=SolveStatus.OPTIMAL) if s.bound >= s.value else s for s in steps]
    open_steps = [s for s in steps if s.status is not SolveStatus.OPTIMAL]
    if open_steps:
        main = open_steps[0]
    proven = not open_steps
    return StageResult(
        name, SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE, float(main.value),
        float(main.bound), time.monotonic() - t0, probes,
        detail="; ".join(s.text() for s in steps))


def _reroute(
    b: _Built, base: cp_model.CpModel, runner: _Runner, sol: Solution,
    plan: IntArr | None = None, strict: bool = True,
) -> Solution:
    """Keep the roster of ``sol`` (or ``plan``), route pooled work to the lowest peak.

    The overload steps leave pooled minutes wherever the last solution put them
    (overload is the same wherever they land); with the roster fixed, the routing
    of least peak is found in a fraction of a second (a small linear model) and
    gives the peak step a fair start. With ``plan`` (a roster of the same peak or
    lower that keeps the routing of ``sol`` valid, from :func:`_balance`) the
    roster is ``plan``'s. Returns ``sol`` unchanged if the solve does not finish
    or does not lower the peak (with ``strict=False``: raises it).
    """
    m = base.clone()
    count: dict[tuple[int, int], int] = {}
    for (p, s, d), v in b.x.items():
        val = sol[v.name] if plan is None else int(plan[p, d] == s)
        m.add(_var(m, v) == val)
        count[s, d] = count.get((s, d), 0) + val
    peak = _peak_of(b, sol)
    u_var = m.new_int_var(0, max(peak, 1), "reroute_peak")
    for s, d in b.dem_ub:
        dem = b.local[s, d] + sum(_var(m, v) for v in b.routed.get((s, d), []))
        people = max(1, count.get((s, d), 0))
        m.add(dem * UTIL_SCALE <= b.day_min * people * u_var)
    m.minimize(u_var)
    if plan is not None:  # the old routing as a hint (the solver repairs what no longer fits)
        m.proto.solution_hint.vars.extend(range(len(b.names)))
        m.proto.solution_hint.values.extend([sol.get(name, 0) for name in b.names])
    solver = cp_model.CpSolver()
    _configure(solver, 1, runner.seed, runner.light)
    solver.parameters.max_time_in_seconds = max(0.01, min(5.0, 0.2 * runner.remaining()))
    if runner.det_left is not None:
        solver.parameters.max_deterministic_time = max(0.01, min(2.0, 0.05 * runner.det_left))
    status = solver.solve(m)
    if runner.det_left is not None:
        runner.det_left = max(0.0, runner.det_left - solver.response_proto.deterministic_time)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return sol
    new = _values(b, solver)
    if plan is not None and strict:
        return new if _peak_of(b, new) < peak else sol
    return new if _peak_of(b, new) <= peak else sol


def _util(dem: int, staff: int, day_min: int) -> int:
    """Utilisation in per mille, rounded up (an empty site-day counts as one person)."""
    return -(-dem * UTIL_SCALE // (day_min * max(1, staff)))


class _Roster:
    """A roster with the pooled routing of a solution fixed, and the checks of one change.

    A change takes person ``p`` off site ``s`` on day ``e`` and puts them on site
    ``t`` on day ``d`` (a move when ``e == d``, a day swap otherwise). It is
    allowed (:meth:`allowed`) only if it keeps every rule of the model with the
    routing unchanged (no site left without a qualified person for pooled work
    routed to it, no qualified person added where the field's pooled work is
    unplaced, the moves cap) and raises none of the sums fixed before the peak
    step: skill gaps, overload (the floor of each ``overload`` variable: demand
    beyond capacity and the rounding cut) and counter gaps.
    """

    def __init__(self, b: _Built, pb: StaffProblem, sol: Solution) -> None:
        self.b = b
        self.plan = plan = _roster_array(b, pb, sol)
        n_p, n_s, n_d, n_f = pb.shape
        self.day = b.day_min
        self.staff = np.zeros((n_s, n_d), dtype=np.int64)
        self.qual = np.zeros((n_s, n_d, n_f), dtype=np.int64)
        self.skills = np.asarray(pb.skills, dtype=bool)
        for p, d in zip(*np.nonzero(plan >= 0), strict=True):
            self.staff[plan[p, d], d] += 1
            self.qual[plan[p, d], d] += self.skills[p]
        self.dem = np.zeros((n_s, n_d), dtype=np.int64)
        self.loc = np.zeros((n_s, n_d), dtype=np.int64)
        for (s, d), v in b.local.items():
            self.loc[s, d] = v
            self.dem[s, d] = v + sum(sol.get(y.name, 0) for y in b.routed.get((s, d), []))
        self.routed_f = np.zeros((n_s, n_d, n_f), dtype=bool)
        self.has_var = np.zeros((n_s, n_d, n_f), dtype=bool)
        for (s, d, f), y in b.y.items():
            self.routed_f[s, d, f] = sol.get(y.name, 0) > 0
            self.has_var[s, d, f] = True
        self.unplaced_f = np.zeros((n_d, n_f), dtype=bool)
        for (d, f), u in b.unplaced.items():
            self.unplaced_f[d, f] = sol.get(u.name, 0) > 0
        self.gap_f = np.zeros((n_s, n_d, n_f), dtype=bool)  # a skill check the model counts
        for s, d, f in b.skill_gap:
            self.gap_f[s, d, f] = True
        self.need = np.zeros((n_s, n_d), dtype=np.int64)
        self.lo_gap = np.zeros((n_s, n_d), dtype=np.int64)
        for (s, d), c in b.counter_gap.items():
            dom = c.proto.domain
            self.lo_gap[s, d], self.need[s, d] = int(dom[0]), int(dom[len(dom) - 1])
        self.home = np.asarray(pb.home, dtype=np.int64)
        dom = b.moves.proto.domain
        self.moves_cap = int(dom[len(dom) - 1])
        self.moves = int(((plan >= 0) & (plan != self.home[:, None])).sum())

    def util(self, s: int, d: int, delta: int = 0) -> int:
        """Utilisation of site-day ``(s, d)`` with ``delta`` more people (0 if it has no work)."""
        if (s, d) not in self.b.dem_ub:
            return 0
        return _util(int(self.dem[s, d]), int(self.staff[s, d]) + delta, self.day)

    def _over(self, s: int, d: int, st: int) -> int:
        if (s, d) not in self.b.dem_ub:
            return 0
        k, r = divmod(int(self.loc[s, d]), self.day)
        cut = r * (k + 1 - st) if r > 0 and (s, d) in self.b.staff else 0
        return max(0, int(self.dem[s, d]) - self.day * st, cut)

    def _counters(self, s: int, d: int, st: int) -> int:
        need = int(self.need[s, d])
        return max(int(self.lo_gap[s, d]), need - st) if need > 0 else 0

    def _gaps(self, s: int, d: int, q: IntArr) -> int:
        return int((self.gap_f[s, d] & (q == 0)).sum())

    def allowed(self, p: int, s: int, e: int, t: int, d: int) -> bool:
        """Whether the change of ``p`` from ``(s, e)`` to ``(t, d)`` keeps the rules and sums."""
        sk = self.skills[p]
        if (self.unplaced_f[d] & sk & self.has_var[t, d] & (self.qual[t, d] == 0)).any():
            return False
        if (self.routed_f[s, e] & sk & (self.qual[s, e] == 1)).any():
            return False
        home = int(self.home[p])
        if self.moves + int(t != home) - int(s != home) > self.moves_cap:
            return False
        st_t, st_s = int(self.staff[t, d]), int(self.staff[s, e])
        if (self._over(t, d, st_t + 1) - self._over(t, d, st_t)
                + self._over(s, e, st_s - 1) - self._over(s, e, st_s) > 0):
            return False
        if (self._counters(t, d, st_t + 1) - self._counters(t, d, st_t)
                + self._counters(s, e, st_s - 1) - self._counters(s, e, st_s) > 0):
            return False
        return (self._gaps(t, d, self.qual[t, d] + sk) - self._gaps(t, d, self.qual[t, d])
                + self._gaps(s, e, self.qual[s, e] - sk) - self._gaps(s, e, self.qual[s, e])
                <= 0)

    def apply(self, p: int, s: int, e: int, t: int, d: int) -> None:
        sk = self.skills[p]
        self.plan[p, e] = -1
        self.plan[p, d] = t
        home = int(self.home[p])
        self.moves += int(t != home) - int(s != home)
        self.staff[s, e] -= 1
        self.staff[t, d] += 1
        self.qual[s, e] -= sk
        self.qual[t, d] += sk


def _balance(b: _Built, pb: StaffProblem, sol: Solution, max_iter: int = 5000) -> IntArr:
    """A roster of lower peak from ``sol`` by moving single people into the busiest site-day.

    Local search with the pooled routing of ``sol`` fixed: while the most utilised
    site-day can take a person who may work there (a variable of the model) and
    either works elsewhere that day (a move) or is off that day (the person then
    works it instead of one of the days worked), the change that leaves the
    lower utilisation of the two site-days touched is made, if that is below
    the busiest site-day's and :meth:`_Roster.allowed` (rules and fixed sums
    kept). The number of days each person works is unchanged. The peak never
    rises: the two site-days touched end below the busiest one's level. Returns
    the (P, D) roster (-1 = off); ``sol``'s when no change helps.
    """
    r = _Roster(b, pb, sol)
    plan = r.plan
    n_s, n_d = r.staff.shape
    cand: dict[tuple[int, int], list[int]] = {}
    for p, s, d in b.x:
        cand.setdefault((s, d), []).append(p)
    util = np.zeros((n_s, n_d), dtype=np.int64)
    for s, d in b.dem_ub:
        util[s, d] = r.util(s, d)
    for _ in range(max_iter):
        t, d = (int(i) for i in np.unravel_index(int(np.argmax(util)), util.shape))
        top = int(util[t, d])
        best: tuple[int, int, int, int] | None = None  # (pair level, person, from site, day)
        for p in cand.get((t, d), []):
            if plan[p, d] >= 0:  # works elsewhere that day: a move
                sources = [(int(plan[p, d]), d)] if plan[p, d] != t else []
            else:  # off that day: works it instead of one of the days worked
                sources = [(int(plan[p, e]), e) for e in range(n_d) if plan[p, e] >= 0]
            u_t = r.util(t, d, 1)
            if u_t >= top or (best is not None and u_t >= best[0]):
                continue
            for s, e in sources:
                level = max(r.util(s, e, -1), u_t)
                if level >= top or (best is not None and level >= best[0]):
                    continue
                if r.allowed(p, s, e, t, d):
                    best = (level, p, s, e)
        if best is None:
            break
        _, p, s, e = best
        r.apply(p, s, e, t, d)
        for site, day_i in ((s, e), (t, d)):
            util[site, day_i] = r.util(site, day_i)
    return plan


def _unmove(b: _Built, pb: StaffProblem, sol: Solution, level: int) -> IntArr:
    """A roster with fewer moves than ``sol``'s at peak ``level`` at most (routing fixed).

    Each person-day away from home is tried, in order, back at home that day
    or, when the person is off another day, at home that day instead; the first
    change that keeps both site-days touched at ``level`` or below (an empty
    site-day counting as one person) and :meth:`_Roster.allowed` is made. A
    cheap start for the moves step: every change removes one move.
    """
    r = _Roster(b, pb, sol)
    plan = r.plan
    n_p, n_d = plan.shape
    for p in range(n_p):
        h = int(r.home[p])
        for e in range(n_d):
            s = int(plan[p, e])
            if s < 0 or s == h:
                continue
            for d in [e] + [d for d in range(n_d) if plan[p, d] < 0]:
                if (p, h, d) not in b.x:
                    continue
                if r.util(h, d, 1) > level or r.util(s, e, -1) > level:
                    continue
                if r.allowed(p, s, e, h, d):
                    r.apply(p, s, e, h, d)
                    break
    return plan


def _day_level(loc: IntArr, staff: IntArr, pooled: BoolArr, pool: int, day: int) -> tuple[int, int]:
    """Peak (per mille, rounded up) and overload of one day if pooled work were one fluid.

    ``pool`` minutes may go to any site in ``pooled`` with someone there; they
    fill the sites of least utilisation first (water filling), so the day's
    peak is the larger of the water level and each site's own local work over
    its people (an empty site counting as one person). Qualification for the
    pooled fields is ignored: an estimate, which :func:`_rebalance` checks
    with the exact routing.
    """
    cap = day * staff
    site_term = float((loc / (day * np.maximum(staff, 1))).max()) if len(loc) else 0.0
    over = int(np.maximum(loc - cap, 0).sum())
    fill = pooled & (staff > 0)
    level = 0.0
    if pool > 0:
        if not fill.any():
            return MAX_UTIL, over + pool
        c, lo = cap[fill].astype(float), loc[fill].astype(float)
        order = np.argsort(lo / c)
        thr = (lo / c)[order]
        levels = (pool + np.cumsum(lo[order])) / np.cumsum(c[order])
        nxt = np.append(thr[1:], np.inf)
        level = float(levels[int(np.argmax(levels <= nxt))])
        over += max(0, pool - int(np.maximum(cap[fill] - loc[fill], 0).sum()))
    peak = max(level, site_term)
    return min(MAX_UTIL, math.ceil(peak * UTIL_SCALE - 1e-6)), over


def _balance_days(
    b: _Built, pb: StaffProblem, sol: Solution, max_iter: int = 400,
    start: IntArr | None = None, unmove_level: int | None = None,
) -> IntArr:
    """A roster of lower peak from ``sol``, with pooled work treated as one fluid per day.

    Local search: while the day of highest estimated peak (:func:`_day_level`)
    can gain a person-day, the change that leaves the lower estimate on the
    days touched is made, if below the highest: a person off that day works it
    instead of one of the days worked (or one working elsewhere that day moves
    there), at a site the model offers. Changes that raise the estimated
    overload, counter gaps or skill gaps, or break the moves cap, are not made.
    The number of days each person works is unchanged. Returns ``sol``'s roster
    when pooled minutes are unplaced (the fluid estimate does not hold) or no
    change helps; :func:`_rebalance` re-routes the result exactly. ``start``:
    the roster to start from instead of ``sol``'s (the same days worked).
    Changes that add no move are preferred to lower levels. With
    ``unmove_level``, people away from home are first sent home where the
    estimates stay at that level or below (fewer moves for the moves step).
    """
    plan = _roster_array(b, pb, sol) if start is None else start.copy()
    n_p, n_s, n_d, n_f = pb.shape
    if any(sol.get(u.name, 0) > 0 for u in b.unplaced.values()):
        return plan
    day = b.day_min
    staff = np.zeros((n_s, n_d), dtype=np.int64)
    qual = np.zeros((n_s, n_d, n_f), dtype=np.int64)
    skills = np.asarray(pb.skills, dtype=bool)
    for p, d in zip(*np.nonzero(plan >= 0), strict=True):
        staff[plan[p, d], d] += 1
        qual[plan[p, d], d] += skills[p]
    loc = np.zeros((n_s, n_d), dtype=np.int64)
    for (s, d), v in b.local.items():
        loc[s, d] = v
    pooled = np.zeros((n_s, n_d), dtype=bool)
    for s, d in b.routed:
        pooled[s, d] = True
    pool = np.zeros(n_d, dtype=np.int64)
    for (d, _f), u in b.unplaced.items():
        pool[d] += int(u.proto.domain[len(u.proto.domain) - 1])
    gap_f = np.zeros((n_s, n_d, n_f), dtype=bool)
    for s, d, f in b.skill_gap:
        gap_f[s, d, f] = True
    need = np.zeros((n_s, n_d), dtype=np.int64)
    lo_gap = np.zeros((n_s, n_d), dtype=np.int64)
    for (s, d), c in b.counter_gap.items():
        dom = c.proto.domain
        lo_gap[s, d], need[s, d] = int(dom[0]), int(dom[len(dom) - 1])
    home = np.asarray(pb.home, dtype=np.int64)
    dom = b.moves.proto.domain
    moves_cap = int(dom[len(dom) - 1])
    moves = int(((plan >= 0) & (plan != home[:, None])).sum())
    sites_of: dict[tuple[int, int], list[int]] = {}
    for p, s, d in b.x:
        sites_of.setdefault((p, d), []).append(s)

    def level(d: int) -> tuple[int, int]:
        return _day_level(loc[:, d], staff[:, d], pooled[:, d], int(pool[d]), day)

    def counters(s: int, d: int, st: int) -> int:
        return max(int(lo_gap[s, d]), int(need[s, d]) - st) if need[s, d] > 0 else 0

    def gaps_delta(p: int, s: int, e: int, t: int, d: int) -> int:
        sk = skills[p]
        return (int((gap_f[t, d] & (qual[t, d] + sk == 0)).sum())
                - int((gap_f[t, d] & (qual[t, d] == 0)).sum())
                + int((gap_f[s, e] & (qual[s, e] - sk == 0)).sum())
                - int((gap_f[s, e] & (qual[s, e] == 0)).sum()))

    def apply(p: int, s: int, e: int, t: int, d: int) -> None:
        plan[p, e] = -1
        plan[p, d] = t
        staff[s, e] -= 1
        staff[t, d] += 1
        qual[s, e] -= skills[p]
        qual[t, d] += skills[p]
        state[d] = level(d)
        state[e] = level(e)

    state = [level(d) for d in range(n_d)]
    if unmove_level is not None:
        # first send people home (that day, or a day they are off) where the
        # estimated levels stay at ``unmove_level`` or below and no sum rises
        for p, e in zip(*np.nonzero((plan >= 0) & (plan != home[:, None])), strict=True):
            p, e, h = int(p), int(e), int(home[p])
            s = int(plan[p, e])
            for d in [e] + [int(i) for i in np.flatnonzero(plan[p] < 0)]:
                if (p, h, d) not in b.x:
                    continue
                staff[h, d] += 1
                staff[s, e] -= 1
                lv_d, lv_e = level(d), level(e)
                staff[h, d] -= 1
                staff[s, e] += 1
                old_over = state[d][1] + (state[e][1] if e != d else 0)
                new_over = lv_d[1] + (lv_e[1] if e != d else 0)
                if (max(lv_d[0], lv_e[0]) > unmove_level or new_over > old_over
                        or counters(h, d, int(staff[h, d]) + 1) - counters(h, d, int(staff[h, d]))
                        + counters(s, e, int(staff[s, e]) - 1) - counters(s, e, int(staff[s, e])) > 0
                        or gaps_delta(p, s, e, h, d) > 0):
                    continue
                apply(p, s, e, h, d)
                moves -= 1
                break
    for _ in range(max_iter):
        d = max(range(n_d), key=lambda i: state[i][0])
        top = state[d][0]
        evals: dict[tuple[int, int, int], tuple[int, int] | None] = {}
        # moves added, level, person, t, s, e: changes that add no move first (the
        # moves step must undo the others), then the lowest level
        options: list[tuple[int, int, int, int, int, int]] = []
        for p in range(n_p):
            for t in sites_of.get((p, d), []):
                if plan[p, d] >= 0:
                    sources = [(int(plan[p, d]), d)] if plan[p, d] != t else []
                else:
                    sources = [(int(plan[p, e]), e) for e in range(n_d) if plan[p, e] >= 0]
                for s, e in sources:
                    key = (t, s, e)
                    if key not in evals:
                        staff[t, d] += 1
                        staff[s, e] -= 1
                        new_d, new_e = level(d), (level(e) if e != d else None)
                        staff[t, d] -= 1
                        staff[s, e] += 1
                        lv = max(new_d[0], new_e[0] if new_e else 0)
                        d_over = new_d[1] - state[d][1] + (
                            new_e[1] - state[e][1] if new_e else 0)
                        d_cnt = (counters(t, d, int(staff[t, d]) + 1) - counters(t, d, int(staff[t, d]))
                                 + counters(s, e, int(staff[s, e]) - 1) - counters(s, e, int(staff[s, e])))
                        evals[key] = (lv, 0) if lv < top and d_over <= 0 and d_cnt <= 0 else None
                    ev = evals[key]
                    if ev is not None:
                        options.append((int(t != home[p]) - int(s != home[p]), ev[0],
                                        p, t, s, e))
        done = False
        for _mv, _lv, p, t, s, e in sorted(options):
            if moves + int(t != home[p]) - int(s != home[p]) > moves_cap:
                continue
            if gaps_delta(p, s, e, t, d) > 0:
                continue
            apply(p, s, e, t, d)
            moves += int(t != home[p]) - int(s != home[p])
            done = True
            break
        if not done:
            break
    return plan


def _rebalance(
    b: _Built, pb: StaffProblem, base: cp_model.CpModel, runner: _Runner, sol: Solution,
) -> Solution:
    """Lower the peak of ``sol`` before the probes: balancing repairs, each checked exactly.

    Each round tries :func:`_balance_days` (pooled work as a fluid), then
    :func:`_balance` (routing fixed); the first roster
    that, re-routed by the model with every fixed sum of ``base`` (skill gaps,
    overload, unplaced, counter gaps, the guard) kept, has a lower peak
    replaces ``sol`` (:func:`_reroute`). Rounds stop when none helps. The
    result is a complete solution of ``base``, so it never breaks a rule nor
    raises overload or the peak.
    """
    for _ in range(BALANCE_ROUNDS):
        repairs: list[Callable[[Solution], IntArr]] = [
            lambda x: _balance_days(b, pb, x),
            lambda x: _balance(b, pb, x),
        ]
        for repair in repairs:
            plan = repair(sol)
            if np.array_equal(plan, _roster_array(b, pb, sol)):
                continue
            new = _reroute(b, base, runner, sol, plan)
            if new is not sol:
                sol = new
                break
        else:
            break
    return sol


def _lexicographic(
    b: _Built, runner: _Runner, budget: _Budget, start: Solution, prefix: str,
    guard_peak: int | None, with_moves: bool, pb: StaffProblem | None = None,
) -> tuple[Solution, tuple[StageResult, ...]]:
    """Run the stages from the feasible, complete solution ``start``; return the last solution.

    Each step is a true lexicographic step: minimise one quantity, then fix it
    (``<=`` its value) for every step after it; each solve starts from the
    previous solution as a complete hint.
    """
    base = b.model.clone()
    if guard_peak is not None:
        _add_peak(base, b, guard_peak)
    stages: list[StageResult] = []

    # stage 1: fewest skill gaps, then least overload, then fewest counter gaps
    t0 = time.monotonic()
    sol, s_gap, s_over = _minimize_at_floor(
        b, base, runner, budget, b.gaps, b.over, start,
        (prefix + "gaps", prefix + "overload"), ("skill_gaps", "overload_min"))
    # pooled minutes left unplaced count as overload; keep them as few as possible too,
    # so that no later step can park site load there
    sol, s_unp = _minimize(b, base, runner, b.unplaced_total, sol,
                           budget.take(prefix + "unplaced"), "unplaced_min")
    sol, s_cnt = _minimize(b, base, runner, b.counter_gaps, sol,
                           budget.take(prefix + "counters"), "counter_gaps")
    stages.append(_stage("shortfall_overload", [s_gap, s_over, s_unp, s_cnt], s_over, t0, 4))

    # stage 2: lowest peak utilisation, by bisection on a fixed level: each probe is a
    # feasibility solve from the best plan so far (``_add_peak`` is linear for a fixed
    # level); the optimum is proven when level U* - 1 is proven infeasible
    t0 = time.monotonic()
    sol = _reroute(b, base, runner, sol)
    start_peak = _peak_of(b, sol)
    if pb is not None:
        # balancing repairs, each re-routed exactly: a far start costs many probes
        sol = _rebalance(b, pb, base, runner, sol)
    hi = balanced_peak = _peak_of(b, sol)
    lo = lb = lb0 = min(hi, max(_peak_lower_bound(b),
                                _peak_week_bound(b, hi, s_unp.value, b.pool_site)))
    probes = 0
    wall, det = budget.take(prefix + "peak")
    stage_end = time.monotonic() + wall
    unresolved = False
    trace: list[str] = []  # level probed: peak of the plan found, or why none

    def probe(level: int, wall_s: float, det_share: float) -> _Outcome:
        """Is there a plan at ``level``? A plan found becomes ``sol`` (and ``hi``)."""
        nonlocal det, probes, sol, hi
        m2 = base.clone()
        _add_peak(m2, b, level)
        det_before = runner.det_left
        out = _solve(b, m2, runner, sol, wall_s, None if det is None else det_share * det)
        if det is not None and det_before is not None and runner.det_left is not None:
            det -= det_before - runner.det_left
        probes += 1
        if out.sol is not None:
            # the probe's plan only meets the level: the routing of least peak for
            # its roster often lowers it further (a fraction of a second)
            sol = _reroute(b, base, runner, out.sol)
            hi = _peak_of(b, sol)
        return out

    if lb < hi and (hi - lb) * NEAR_BOUND <= hi:
        # the start is within 1/NEAR_BOUND of the bound: probe the bound itself
        # first, as it is often the optimum (on Hanoi-scale the bound over sets of
        # sites and days, 1,012, is the optimum), and a feasible plan there ends
        # the stage at once where galloping down would cost a probe per level
        out = probe(lb, BOUND_PROBE_SHARE * wall, BOUND_PROBE_SHARE)
        if out.sol is not None:
            trace.append(f"{lb}:{hi} ({out.by})")
        elif out.status is SolveStatus.INFEASIBLE:
            lo = lb = lb + 1
            trace.append(f"{lb - 1}:infeasible ({out.by})")
        else:
            trace.append(f"{lb}:unknown")
    lo_start, step = lb, 1
    retry = False
    while lb < hi:
        left = stage_end - time.monotonic()
        if left <= 0.01 or runner.stopped() or (det is not None and det <= 0.005):
            break
        if lo >= hi:
            # every level between the bound and the best ran out of time: the stage's
            # time left goes to the level just below the best (most likely feasible;
            # if infeasible, the best is proven)
            retry, lo = True, lb
        # galloping down from the best level (1, 2, 4... per mille below it) until a
        # level is infeasible, then bisection: the optimum is often just below the
        # start, and probes near a feasible plan are fast. The time left is spread
        # over the probes still needed; after a probe ran out of time, probe nearer
        # the best level found (more likely feasible)
        need = max(1, math.ceil(math.log2(hi - lo + 1)))
        if retry:
            mid, need = hi - 1, 1
        elif unresolved:
            mid = hi - max(1, (hi - lo) // 4)
        elif lb == lo_start:
            mid = max(lo, hi - step)
            step *= 2
            need = min(need, 3)
        else:
            mid = (lo + hi) // 2
        out = probe(mid, left / need, 1 / need)
        st2 = out.status
        if out.sol is not None:
            if probes == 1 or (probes == 2 and trace[0].endswith("unknown")):
                # the level just below the start was feasible: the optimum is not at
                # the start, gallop in steps scaled to the gap (the demo stops at
                # its first, infeasible probe and never gets here)
                step = max(step, (hi - lb) // GALLOP_FRACTION)
            trace.append(f"{mid}:{hi} ({out.by})")
        elif st2 is SolveStatus.INFEASIBLE:
            lo = lb = mid + 1
            trace.append(f"{mid}:infeasible ({out.by})")
        else:  # not decided in its time: the bound stays, try the levels above
            unresolved = True
            lo = mid + 1
            trace.append(f"{mid}:unknown")
    s_peak = _Step("peak_per_mille", SolveStatus.OPTIMAL if lb >= hi else SolveStatus.FEASIBLE,
                   hi, min(lb, hi), time.monotonic() - t0)
    peak_stage = _stage("peak_utilisation", [s_peak], s_peak, t0, probes)
    stages.append(replace(peak_stage, detail=peak_stage.detail + (
        f"; start {start_peak}, balanced {balanced_peak}, bound {lb0}; probes "
        + (" ".join(trace) or "none"))))
    _add_peak(base, b, hi)
    if not with_moves:
        return sol, tuple(stages)

    # stage 3: fewest moves, then least travel
    t0 = time.monotonic()
    if pb is not None:
        # a start with fewer moves: people sent back home where the peak level,
        # the routing and the fixed sums allow (cheap; the solve then has less to undo)
        # (pooled work as a fluid, then with the routing fixed), each re-routed exactly
        unmoves: list[Callable[[Solution], IntArr]] = [
            lambda x: _balance_days(b, pb, x, max_iter=0, unmove_level=hi),
            lambda x: _unmove(b, pb, x, hi),
        ]
        for unmove in unmoves:
            plan = unmove(sol)
            if (plan != _roster_array(b, pb, sol)).any():
                new = _reroute(b, base, runner, sol, plan, strict=False)
                if new[b.moves.name] < sol[b.moves.name]:
                    sol = new
    sol, s_mv, s_tr = _minimize_moves_travel(b, base, runner, sol,
                                             budget.take(prefix + "moves", prefix + "travel"))
    stages.append(_stage("moves_travel", [s_mv, s_tr], s_mv, t0, 1))
    return sol, tuple(stages)


def _start_from_plan(b: _Built, plan: IntArr, runner: _Runner) -> Solution:
    """A complete feasible solution of ``b`` for the roster ``plan`` (pooled work routed well).

    With the roster fixed only the routing of pooled work is free; it is chosen
    to minimise overload, so the start is a fair everyone-at-home plan and a
    complete hint (every variable has a value) for the first stage.
    """
    m = b.model.clone()
    for (p, s, d), v in b.x.items():
        m.add(_var(m, v) == int(plan[p, d] == s))
    m.minimize(_var(m, b.over))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = runner.seed
    solver.parameters.max_time_in_seconds = max(1.0, runner.remaining())
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        msg = f"the everyone-at-home plan is not a valid roster ({solver.status_name(status)})"
        raise ValueError(msg)
    return _values(b, solver)


def _complete(b: _Built, partial: Solution, runner: _Runner, plan: IntArr) -> Solution:
    """A complete solution of ``b`` with the roster ``plan`` and the routing of ``partial``."""
    m = b.model.clone()
    for (p, s, d), v in b.x.items():
        m.add(_var(m, v) == int(plan[p, d] == s))
    for v in b.y.values():
        m.add(_var(m, v) == partial.get(v.name, 0))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = runner.seed
    solver.parameters.max_time_in_seconds = max(1.0, runner.remaining())
    m.minimize(_var(m, b.gaps) + _var(m, b.counter_gaps))
    if solver.solve(m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        msg = "the home-only plan is not a valid plan of the free model"
        raise RuntimeError(msg)
    return _values(b, solver)

# --------------------------------------------------------------------------- read back


def _roster_array(b: _Built, pb: StaffProblem, sol: Solution) -> IntArr:
    n_p, _, n_d, _ = pb.shape
    plan = np.full((n_p, n_d), -1, dtype=np.int64)
    for (p, s, d), v in b.x.items():
        if sol.get(v.name, 0):
            plan[p, d] = s
    return plan


def _routed(b: _Built, pb: StaffProblem, sol: Solution) -> FloatArr:
    _, n_s, n_d, _ = pb.shape
    out = np.zeros((n_s, n_d))
    for (s, d, _f), v in b.y.items():
        out[s, d] += sol.get(v.name, 0) / MINUTE_SCALE
    return out


def _unplaced(b: _Built, pb: StaffProblem, sol: Solution) -> FloatArr:
    out = np.zeros((len(pb.days), len(pb.fields)))
    for (d, f), v in b.unplaced.items():
        out[d, f] = sol.get(v.name, 0) / MINUTE_SCALE
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
    staff_b: dict[tuple[str, str], int] = {
        (str(r.site_id), str(r.date)): int(str(r.staff)) for r in before.itertuples()}
    own_after: dict[tuple[int, int], int] = {}
    n_p, _, n_d, _ = pb.shape
    for p in range(n_p):
        for d in range(n_d):
            if plan[p, d] >= 0 and plan[p, d] == pb.home[p]:
                key = (int(pb.home[p]), d)
                own_after[key] = own_after.get(key, 0) + 1
    rows = []
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
            if util_a.get((to, day), 0.0) >= util_b.get((to, day), 0.0) - 5e-3:
                # the site is no lighter: the move lets its own people work another day
                own_b, own_a = staff_b.get((to, day), 0), own_after.get((s, d), 0)
                reason += (f"; {to}'s own people there {own_b} -> {own_a} "
                           f"(their days off moved; this move keeps {to} staffed)")
            rows.append({
                "person_id": pb.person_ids[p], "date": day, "weekday": pb.day_names[d],
                "from_site": home, "to_site": to, "travel_min": int(travel_int[h, s]),
                "reason": reason,
            })
    return pd.DataFrame(
        rows, columns=["person_id", "date", "weekday", "from_site", "to_site", "travel_min", "reason"]
    )


def _peak_util(table: pd.DataFrame) -> float:
    return float(table["utilisation"].max()) if len(table) else 0.0


# --------------------------------------------------------------------------- entry point

#: Share of the time limit each solve may use (time a solve leaves unused passes on).
STAGE_WEIGHTS: dict[str, float] = {
    "before_gaps": 0.02, "before_overload": 0.03, "before_unplaced": 0.01,
    "before_counters": 0.02, "before_peak": 0.05,
    "gaps": 0.03, "overload": 0.18, "unplaced": 0.01, "counters": 0.25, "peak": 0.3,
    "moves": 0.06, "travel": 0.04,
}


def solve_staff_allocation(
    pb: StaffProblem,
    time_limit_s: float = 30.0,
    seed: int = 0,
    threads: int = 1,
    stop: threading.Event | None = None,
    deterministic_time_s: float | None = None,
) -> StaffAllocation:
    """Rebalance staff for one week, lexicographically (see the module docstring).

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
    if not (math.isfinite(time_limit_s) and time_limit_s > 0):
        msg = f"time_limit_s must be a number of seconds > 0, got {time_limit_s!r}"
        raise ValueError(msg)
    if deterministic_time_s is not None and not (
            math.isfinite(deterministic_time_s) and deterministic_time_s > 0):
        msg = f"deterministic_time_s must be > 0 or None, got {deterministic_time_s!r}"
        raise ValueError(msg)
    t_start = time.monotonic()
    runner = _Runner(seed, threads, t_start + time_limit_s, stop, deterministic_time_s)
    budget = _Budget(runner, STAGE_WEIGHTS)
    travel_int = np.where(
        np.isfinite(pb.travel_min), np.ceil(np.nan_to_num(pb.travel_min, posinf=0.0) - 1e-9), 0
    ).astype(np.int64)
    b_home = _build(pb, travel_int, home_only=True)
    b = _build(pb, travel_int, home_only=False)
    t_built = time.monotonic() - t_start
    start = _start_from_plan(b_home, home_plan(pb), runner)

    # before: everyone at home, days off and pooled work chosen as well as possible
    runner.light = True
    sol_b, stages_b = _lexicographic(b_home, runner, budget, start, "before_", None, False)
    runner.light = False
    guard = _peak_of(b_home, sol_b)
    plan_b = _roster_array(b_home, pb, sol_b)
    # after: the same stages with people free to move, never worse on the peak,
    # starting from the before plan (a complete hint of the free model)
    start_a = _complete(b, sol_b, runner, plan_b)
    sol_a, stages_a = _lexicographic(b, runner, budget, start_a, "", guard, True, pb)

    plan_a = _roster_array(b, pb, sol_a)
    routed_b, routed_a = _routed(b_home, pb, sol_b), _routed(b, pb, sol_a)
    unplaced_b, unplaced_a = _unplaced(b_home, pb, sol_b), _unplaced(b, pb, sol_a)
    before = site_day_table(pb, plan_b, routed_b)
    after = site_day_table(pb, plan_a, routed_a)
    gaps_b = _gaps(pb, plan_b, routed_b, unplaced_b)
    gaps_a = _gaps(pb, plan_a, routed_a, unplaced_a)
    moves = _moves_table(pb, plan_a, travel_int, before, after, gaps_b)

    all_optimal = all(s.status is SolveStatus.OPTIMAL for s in stages_a)
    status = SolveStatus.OPTIMAL if all_optimal else SolveStatus.FEASIBLE
    message = "; ".join(f"{s.name}: {s.status.value}: {s.detail}" for s in stages_a)
    if runner.stopped() and not all_optimal:
        message = "stopped on request; best plan so far; " + message
    last = stages_a[-1]
    report = SolverReport(
        status=status,
        objective=last.objective,
        best_bound=last.best_bound,
        gap=max(s.gap for s in stages_a),
        wall_time_s=time.monotonic() - t_start,
        solver="CP-SAT, HiGHS when CP-SAT stalls (lexicographic: skill gaps, overload, "
               "counter gaps, peak utilisation, moves, travel)",
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
        online_unplaced_min_before=float(unplaced_b.sum()),
        online_unplaced_min_after=float(unplaced_a.sum()),
        settings={
            "max_moves": pb.max_moves, "max_travel_min": pb.max_travel_min,
            "day_minutes": pb.day_minutes, "util_scale": UTIL_SCALE,
            "minute_scale": MINUTE_SCALE, "deterministic_time_s": deterministic_time_s,
            "assignment_vars": len(b.x), "fixed_skill_gaps": b.forced_skill_gaps,
            "build_s": round(t_built, 3), "stage_weights": dict(STAGE_WEIGHTS),
            "before": "everyone at home; days off and pooled work chosen by the same model",
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
