"""The CP-SAT model: one function per family of rules, and reading a solution back.

``x[p,s,d] = 1`` when person ``p`` works at site ``s`` on day ``d`` (only the
site-days :mod:`.offers` allows). Work, in whole minutes (:data:`MINUTE_SCALE`):

* ``local[s,d]``: reception of in-person visitors plus their back-office
  processing (and online processing when online work stays home);
* ``pool[d,f]``: online processing pooled across the province.

Rule families, each built by its own function, in this order:

* one site a day, days worked (:func:`_assignments`): ``sum_s x[p,s,d] <= 1``,
  ``sum x[p,.,.] = w_p``;
* people per site-day (:func:`_staffing`): ``staff[s,d] = sum_p x[p,s,d]`` and
  ``nonempty[s,d]`` (someone there), as linear inequalities the LP sees;
* pooled online work (:func:`_pooled_routing`): routed by ``y[s,d,f] >= 0`` to
  pool sites (branches) where someone qualified for ``f`` works that day
  (``has[s,d,f] <= sum x_qualified``, ``x_qualified <= has``, ``y <= pool *
  has``), ``sum_s y[s,d,f] + u[d,f] = pool[d,f]``, and ``u[d,f] <= pool * (1 -
  has[s,d,f])`` for every ``s``: minutes are unplaced only when no branch has
  anyone qualified for ``f`` that day;
* overload (:func:`_overload`): ``demand[s,d] = local[s,d] + sum_f y[s,d,f]``,
  ``o[s,d] >= demand[s,d] - day_min * staff[s,d]``, ``o >= 0``, and the rounding
  cut ``o[s,d] >= r * (k + 1 - staff[s,d])`` where ``local = k * day_min + r``;
* skills (:func:`_skill_check`): skill gap ``g[s,d,f] = 1`` when a field with
  in-person demand has no qualified person at the site that day (``sum
  x_qualified + g >= 1``); a field no one qualified can reach is a fixed gap;
* counters, Erlang C (:func:`_counter_check`): ``c[s,d] >= min(counters_needed[s,d],
  counters[s]) - staff[s,d]``, ``counters_needed`` from Erlang C in the peak hour;
* totals (:func:`_totals`): skill gaps, counter gaps, overload ``sum o + sum u``,
  unplaced ``sum u``;
* moves and their limit (:func:`_moves`): person-days away from home (at most
  ``max_moves``) and their one-way travel.

The peak rule, added per stage, is in :mod:`.peak`. Variables are named with
their indices (``x_p_s_d``, ``pool_s_d_f``...), so a solution of one model can
be read by name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from optimizer.staff_allocation.offers import allowed_sites, work_days
from optimizer.staff_allocation.problem import (
    MINUTE_SCALE,
    BoolArr,
    FloatArr,
    IntArr,
    Solution,
    StaffProblem,
)

__all__ = [
    "StaffModel",
    "build",
    "roster_array",
    "routed_minutes",
    "unplaced_minutes",
    "var",
]

logger = logging.getLogger(__name__)

Cell = tuple[int, int]
Assign = dict[tuple[int, int, int], cp_model.IntVar]


@dataclass(frozen=True)
class StaffModel:
    """One CP-SAT model (home-only or free) and handles to its variables."""

    model: cp_model.CpModel
    x: Assign
    staff: dict[Cell, cp_model.IntVar]
    nonempty: dict[Cell, cp_model.IntVar]
    local: dict[Cell, int]
    routed: dict[Cell, list[cp_model.IntVar]]
    dem_ub: dict[Cell, int]
    staff_ub: dict[Cell, int]
    y: dict[tuple[int, int, int], cp_model.IntVar]
    unplaced: dict[Cell, cp_model.IntVar]
    skill_gap: dict[tuple[int, int, int], cp_model.IntVar]
    forced_skill_gaps: int
    counter_gap: dict[Cell, cp_model.IntVar]
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


def var(m: cp_model.CpModel, v: cp_model.IntVar) -> cp_model.IntVar:
    """The variable of ``m`` (a clone) at ``v``'s index."""
    return m.get_int_var_from_proto_index(v.index)


def _assignments(
    m: cp_model.CpModel, allowed: list[list[list[int]]], work: IntArr,
) -> tuple[Assign, dict[Cell, list[int]]]:
    """``x[p,s,d]`` for the allowed triples; one site a day, exactly ``work[p]`` days."""
    x: Assign = {}
    for p, row in enumerate(allowed):
        for d, sites in enumerate(row):
            for s in sites:
                x[p, s, d] = m.new_bool_var(f"x_{p}_{s}_{d}")
    by_sd: dict[Cell, list[int]] = {}
    for p, row in enumerate(allowed):
        for d, sites in enumerate(row):
            lits = [x[p, s, d] for s in sites]
            if len(lits) > 1:
                m.add_at_most_one(lits)
            for s in sites:
                by_sd.setdefault((s, d), []).append(p)
        m.add(sum(x[p, s, d] for d, sites in enumerate(row) for s in sites) == int(work[p]))
    return x, by_sd


def _staffing(
    m: cp_model.CpModel, x: Assign, by_sd: dict[Cell, list[int]],
) -> tuple[dict[Cell, cp_model.IntVar], dict[Cell, cp_model.IntVar], dict[Cell, int]]:
    """Staff per site-day (only where someone may be), and whether anyone is there."""
    staff: dict[Cell, cp_model.IntVar] = {}
    nonempty: dict[Cell, cp_model.IntVar] = {}
    staff_ub: dict[Cell, int] = {}
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
    return staff, nonempty, staff_ub


@dataclass(frozen=True)
class _Routing:
    y: dict[tuple[int, int, int], cp_model.IntVar]
    unplaced: dict[Cell, cp_model.IntVar]
    routed: dict[Cell, list[cp_model.IntVar]]
    pool_ub: dict[Cell, int]


def _pooled_routing(
    m: cp_model.CpModel, pb: StaffProblem, x: Assign, by_sd: dict[Cell, list[int]], pool: IntArr,
) -> _Routing:
    """Every pooled online minute to a pool site where someone qualified for its field works.

    The minutes count against the whole site's capacity, so a shortage shows as
    overload (utilisation > 100 %) at a site, and peak utilisation and overload
    tell one story. Only when no branch has anyone qualified for the field that
    day do its minutes stay unplaced (counted as overload, reported apart).
    Linear inequalities only, so the LP sees them.
    """
    r = _Routing({}, {}, {}, {})
    n_d, n_f = pool.shape
    for d in range(n_d):
        for f in range(n_f):
            if pool[d, f] <= 0:
                continue
            total = int(pool[d, f])
            u = m.new_int_var(0, total, f"unplaced_{d}_{f}")
            r.unplaced[d, f] = u
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
                m.add(u <= total * (1 - has))
                v = m.new_int_var(0, total, f"pool_{s}_{d}_{f}")
                m.add(v <= total * has)
                r.y[s, d, f] = v
                r.routed.setdefault((s, d), []).append(v)
                r.pool_ub[s, d] = r.pool_ub.get((s, d), 0) + total
                parts.append(v)
            m.add(sum(parts) + u == total)
    return r


def _overload(
    m: cp_model.CpModel, local: IntArr, day_min: int, staff: dict[Cell, cp_model.IntVar],
    routing: _Routing,
) -> tuple[list[cp_model.IntVar], dict[Cell, int], dict[Cell, int]]:
    """Overload per site-day: demand minutes beyond the people there, with the rounding cut.

    Returns the overload variables, each site-day's largest demand and its local work.
    """
    overload: list[cp_model.IntVar] = []
    dem_ub: dict[Cell, int] = {}
    local_d: dict[Cell, int] = {}
    n_s, n_d = local.shape
    for s in range(n_s):
        for d in range(n_d):
            ys = routing.routed.get((s, d), [])
            hi = int(local[s, d]) + routing.pool_ub.get((s, d), 0)
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
    return overload, dem_ub, local_d


def _skill_check(
    m: cp_model.CpModel, pb: StaffProblem, x: Assign, people: list[int], s: int, d: int,
    skill_gap: dict[tuple[int, int, int], cp_model.IntVar],
) -> int:
    """A qualified person for each in-person field of ``(s, d)``; returns the fixed gaps.

    A field no qualified person can reach that day is a fixed gap: counted, not modelled.
    """
    forced = 0
    for f_raw in np.flatnonzero(pb.skill_need[s, d]):
        f = int(f_raw)
        qual = [p for p in people if pb.skills[p, f]]
        if not qual:
            forced += 1
            continue
        g = m.new_bool_var(f"skillgap_{s}_{d}_{f}")
        m.add(sum(x[p, s, d] for p in qual) + g >= 1)
        skill_gap[s, d, f] = g
    return forced


def _counter_check(
    m: cp_model.CpModel, need: int, staff: cp_model.IntVar | None, staff_ub: int, s: int, d: int,
) -> tuple[cp_model.IntVar, int]:
    """Counter gap of ``(s, d)``: staffed counters short of Erlang C's ``need``.

    Returns the variable and the gap no plan can avoid (more counters needed
    than people in reach).
    """
    lo_gap = max(0, need - staff_ub)
    c = m.new_int_var(lo_gap, need, f"countergap_{s}_{d}")
    if staff is not None:
        m.add(c >= need - staff)
    return c, lo_gap


@dataclass(frozen=True)
class _Shortfalls:
    skill_gap: dict[tuple[int, int, int], cp_model.IntVar]
    forced: int
    counter_gap: dict[Cell, cp_model.IntVar]
    counter_gap_min: int
    counter_gap_max: int


def _shortfalls(
    m: cp_model.CpModel, pb: StaffProblem, x: Assign, by_sd: dict[Cell, list[int]],
    staff: dict[Cell, cp_model.IntVar], staff_ub: dict[Cell, int],
) -> _Shortfalls:
    """Skill checks and counter checks, site-day by site-day."""
    skill_gap: dict[tuple[int, int, int], cp_model.IntVar] = {}
    counter_gap: dict[Cell, cp_model.IntVar] = {}
    forced = gap_min = gap_max = 0
    _, n_s, n_d, _ = pb.shape
    for s in range(n_s):
        for d in range(n_d):
            forced += _skill_check(m, pb, x, by_sd.get((s, d), []), s, d, skill_gap)
            need = int(min(pb.counters_needed[s, d], pb.counters[s]))
            if need > 0:
                c, lo_gap = _counter_check(m, need, staff.get((s, d)),
                                           staff_ub.get((s, d), 0), s, d)
                counter_gap[s, d] = c
                gap_min += lo_gap
                gap_max += need
    return _Shortfalls(skill_gap, forced, counter_gap, gap_min, gap_max)


def _totals(
    m: cp_model.CpModel, short: _Shortfalls, overload: list[cp_model.IntVar],
    unplaced: dict[Cell, cp_model.IntVar], total_demand: int, total_pool: int,
) -> tuple[cp_model.IntVar, cp_model.IntVar, cp_model.IntVar, cp_model.IntVar]:
    """Skill gaps, counter gaps, overload and unplaced pooled minutes, each one variable.

    Overload is minutes beyond capacity at sites plus online minutes no one
    qualified took.
    """
    gaps = m.new_int_var(short.forced, short.forced + len(short.skill_gap), "gaps")
    m.add(gaps == short.forced + sum(short.skill_gap.values()))
    counter_gaps = m.new_int_var(short.counter_gap_min, short.counter_gap_max, "counter_gaps")
    m.add(counter_gaps == sum(short.counter_gap.values()))
    over = m.new_int_var(0, total_demand, "over")
    m.add(over == sum(overload) + sum(unplaced.values()))
    unplaced_total = m.new_int_var(0, total_pool, "unplaced")
    m.add(unplaced_total == sum(unplaced.values()))
    return gaps, counter_gaps, over, unplaced_total


def _moves(
    m: cp_model.CpModel, pb: StaffProblem, x: Assign, travel_int: IntArr,
) -> tuple[cp_model.IntVar, cp_model.IntVar]:
    """Moves (person-days away from home, at most ``max_moves``) and their one-way travel."""
    away = [(k, v) for k, v in x.items() if k[1] != int(pb.home[k[0]])]
    moves_ub = len(away) if pb.max_moves is None else min(len(away), int(pb.max_moves))
    t_one = max((int(travel_int[int(pb.home[p]), s]) for (p, s, _), _v in away), default=0)
    moves = m.new_int_var(0, moves_ub, "moves")
    m.add(moves == sum(v for _, v in away))
    travel = m.new_int_var(0, moves_ub * t_one, "travel_min")
    m.add(travel == sum(int(travel_int[int(pb.home[p]), s]) * v for (p, s, _), v in away))
    return moves, travel


def build(pb: StaffProblem, travel_int: IntArr, home_only: bool) -> StaffModel:
    """The model of ``pb``: everyone at home (``home_only``) or free to move.

    ``travel_int``: (S, S) whole one-way minutes (:func:`.problem.travel_minutes`).
    """
    m = cp_model.CpModel()
    day_min = int(round(pb.day_minutes * MINUTE_SCALE))
    local = np.ceil(np.asarray(pb.local_min) * MINUTE_SCALE - 1e-9).astype(np.int64)
    pool = np.ceil(np.asarray(pb.pool_min) * MINUTE_SCALE - 1e-9).astype(np.int64)
    allowed = allowed_sites(pb, home_only)
    # the free model's day count, in both models, so that the home-only plan is a
    # valid plan of the free model (it may then work fewer days than it could)
    work = np.minimum(work_days(pb, allowed_sites(pb, False)),
                      [sum(1 for s in row if s) for row in allowed])
    x, by_sd = _assignments(m, allowed, work)
    staff, nonempty, staff_ub = _staffing(m, x, by_sd)
    routing = _pooled_routing(m, pb, x, by_sd, pool)
    overload, dem_ub, local_d = _overload(m, local, day_min, staff, routing)
    short = _shortfalls(m, pb, x, by_sd, staff, staff_ub)
    gaps, counter_gaps, over, unplaced_total = _totals(
        m, short, overload, routing.unplaced, int(local.sum()) + int(pool.sum()), int(pool.sum()))
    moves, travel = _moves(m, pb, x, travel_int)
    logger.debug(
        "staff model (%s): %d assignment vars, %d pooled routes, %d skill checks "
        "(%d fixed gaps), %d counter checks",
        "home only" if home_only else "free", len(x), len(routing.y), len(short.skill_gap),
        short.forced, len(short.counter_gap),
    )
    return StaffModel(
        model=m, x=x, staff=staff, nonempty=nonempty, local=local_d, routed=routing.routed,
        dem_ub=dem_ub, staff_ub=staff_ub, y=routing.y, unplaced=routing.unplaced,
        skill_gap=short.skill_gap, forced_skill_gaps=short.forced,
        counter_gap=short.counter_gap, gaps=gaps, counter_gaps=counter_gaps, over=over,
        unplaced_total=unplaced_total, moves=moves, travel=travel, day_min=day_min,
        names=[v.name for v in m.proto.variables], work=np.asarray(work, dtype=np.int64),
        pool_site=np.asarray(pb.pool_site, dtype=bool),
    )


# --------------------------------------------------------------------------- read back


def roster_array(b: StaffModel, pb: StaffProblem, sol: Solution) -> IntArr:
    """(P, D) site index per person and day in ``sol``, ``-1`` when off."""
    n_p, _, n_d, _ = pb.shape
    plan = np.full((n_p, n_d), -1, dtype=np.int64)
    for (p, s, d), v in b.x.items():
        if sol.get(v.name, 0):
            plan[p, d] = s
    return plan


def routed_minutes(b: StaffModel, pb: StaffProblem, sol: Solution) -> FloatArr:
    """(S, D) pooled online minutes ``sol`` routes to each site-day."""
    _, n_s, n_d, _ = pb.shape
    out = np.zeros((n_s, n_d))
    for (s, d, _f), v in b.y.items():
        out[s, d] += sol.get(v.name, 0) / MINUTE_SCALE
    return out


def unplaced_minutes(b: StaffModel, pb: StaffProblem, sol: Solution) -> FloatArr:
    """(D, F) pooled online minutes ``sol`` leaves unplaced."""
    out = np.zeros((len(pb.days), len(pb.fields)))
    for (d, f), v in b.unplaced.items():
        out[d, f] = sol.get(v.name, 0) / MINUTE_SCALE
    return out
