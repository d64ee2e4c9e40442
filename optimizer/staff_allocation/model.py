"""The CP-SAT model of one day of the planned plan: who works where, pooled work routed.

The days are independent once the days worked are today's rotation
(:mod:`.offers`): one model per open day ``d``. ``x[p,s] = 1`` when person
``p`` (working that day) works at site ``s`` (home or an offered move). Work in
whole minutes (:class:`.problem.Minutes`): ``local[s]`` must be done at the
site; ``pool[f]`` online minutes of field ``f`` go to any site where someone
qualified for ``f`` works.

Rules, each by its own function:

* one site each (:func:`_assignments`): ``sum_s x[p,s] = 1``;
* pooled routing (:func:`_routing`): ``y[s,f] >= 0``, ``sum_s y[s,f] + u[f] =
  pool[f]``, ``y[s,f] <= day * sum_{p qualified} x[p,s]`` (the qualified
  people's time; a tight LP, no extra booleans); unplaced minutes ``u[f]``
  count as overload; a field no one who may work that day is qualified for
  is unplaced (a constant);
* overload (:func:`_overload`): ``o[s] >= local[s] + sum_f y[s,f] - day *
  staff[s]``, ``o >= 0`` and the rounding cut ``o[s] >= r * (k + 1 -
  staff[s])`` where ``local = k * day + r`` (a part-day of local work costs a
  whole person or ``r`` minutes);
* the peak guard (:func:`_overload`): ``staff[s] >= ceil(local[s] / (G *
  day))`` where the local work alone would put a site above ``G``, the
  pooled plan's peak, so moves never raise the peak above the pooled plan's;
* skills (:func:`_skills`): ``sum_{p qualified} x[p,s] + g[s,f] >= 1`` for each
  field with in-person demand (a field no qualified person can reach is a
  fixed gap);
* counters (:func:`_counters`): ``c[s] >= min(Erlang C, physical counters) -
  staff[s]``;
* moves and travel (:func:`_moves`): person-days away from home, at most the
  cap left for the day, and their one-way minutes.

Variables are named with their indices (``x_p_s``, ``y_s_f``...), so one
model's solution can be read by name and hinted to its clones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from optimizer.staff_allocation.problem import UTIL_SCALE, IntArr, Minutes, StaffProblem

__all__ = ["DayModel", "build_day"]

LinearExpr = cp_model.LinearExpr


@dataclass(frozen=True)
class DayModel:
    """One day's model and handles to its variables and constants."""

    model: cp_model.CpModel
    d: int
    x: dict[tuple[int, int], cp_model.IntVar]
    gaps: cp_model.IntVar
    over: cp_model.IntVar
    counters: cp_model.IntVar
    moves: cp_model.IntVar
    travel: cp_model.IntVar
    fixed_gaps: int  # skill gaps no qualified person can reach
    fixed_over: int  # overload no roster changes (sites no one can be at, unplaced minutes)
    travel_weight: int  # one more than the largest travel total (moves outweigh travel)
    int_vars: tuple[int, ...] = ()  # indices of the booleans (assignments, skill gaps)


def _assignments(m: cp_model.CpModel, offers: dict[int, list[int]], prefix: str,
                 ) -> tuple[dict[tuple[int, int], cp_model.IntVar], dict[int, list[int]]]:
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    at: dict[int, list[int]] = {}
    for p, sites in offers.items():
        for s in sites:
            x[p, s] = m.new_bool_var(f"{prefix}x_{p}_{s}")
            at.setdefault(s, []).append(p)
        m.add_exactly_one(x[p, s] for s in sites)
    return x, at


def _routing(m: cp_model.CpModel, pb: StaffProblem, minutes: Minutes, d: int,
             x: dict[tuple[int, int], cp_model.IntVar], at: dict[int, list[int]], prefix: str,
             free: list[cp_model.IntVar]) -> tuple[dict[int, list[cp_model.IntVar]], int]:
    """Pooled routing; returns the routed variables per site and the unplaced minutes."""
    routed: dict[int, list[cp_model.IntVar]] = {}
    unplaced = 0
    pool = minutes.pool[d]
    for f in map(int, np.flatnonzero(pool > 0)):
        total = int(pool[f])
        parts = []
        for s in sorted(at):
            if not (pb.pool_site[s] and pb.site_open[s, d]):
                continue
            qual = [p for p in at[s] if pb.skills[p, f]]
            if not qual:
                continue
            y = m.new_int_var(0, min(total, minutes.day * len(qual)), f"{prefix}y_{s}_{f}")
            m.add(y <= minutes.day * sum(x[p, s] for p in qual))
            routed.setdefault(s, []).append(y)
            parts.append(y)
        if parts:
            # minutes may stay unplaced (as overload, at the same cost as overload at a
            # site): when the roster has no one qualified for f at work, today's included
            u = m.new_int_var(0, total, f"{prefix}u_{f}")
            m.add(sum(parts) + u == total)
            free.append(u)
        else:
            unplaced += total
    return routed, unplaced


def _overload(m: cp_model.CpModel, minutes: Minutes, d: int, staff: dict[int, LinearExpr],
              routed: dict[int, list[cp_model.IntVar]], peak_guard: int | None, prefix: str,
              ) -> tuple[list[cp_model.IntVar], int]:
    """Overload variables per site, and the overload of sites no one can be at."""
    day = minutes.day
    over: list[cp_model.IntVar] = []
    fixed = 0
    for s in range(minutes.local.shape[0]):
        loc = int(minutes.local[s, d])
        ys = routed.get(s, [])
        if s not in staff:
            fixed += loc
            continue
        if peak_guard is not None and loc * UTIL_SCALE > peak_guard * day:
            m.add(staff[s] >= -(-loc * UTIL_SCALE // (peak_guard * day)))
        if loc == 0 and not ys:
            continue
        hi = loc + (int(minutes.pool[d].sum()) if ys else 0)
        o = m.new_int_var(0, max(hi, 0), f"{prefix}o_{s}")
        m.add(o + day * staff[s] >= loc + sum(ys))
        k, r = divmod(loc, day)
        if r > 0:
            m.add(o >= r * (k + 1) - r * staff[s])
        over.append(o)
    return over, fixed


def _skills(m: cp_model.CpModel, pb: StaffProblem, d: int,
            x: dict[tuple[int, int], cp_model.IntVar], at: dict[int, list[int]], prefix: str,
            ) -> tuple[list[cp_model.IntVar], int]:
    gaps: list[cp_model.IntVar] = []
    fixed = 0
    for s, f in zip(*np.nonzero(pb.skill_need[:, d, :]), strict=True):
        qual = [p for p in at.get(int(s), []) if pb.skills[p, f]]
        if not qual:
            fixed += 1
            continue
        g = m.new_bool_var(f"{prefix}g_{s}_{f}")
        m.add(sum(x[p, int(s)] for p in qual) + g >= 1)
        gaps.append(g)
    return gaps, fixed


def _counters(m: cp_model.CpModel, pb: StaffProblem, d: int, staff: dict[int, LinearExpr],
              at: dict[int, list[int]], prefix: str) -> tuple[list[cp_model.IntVar], int]:
    out: list[cp_model.IntVar] = []
    fixed = 0
    for s in range(len(pb.site_ids)):
        need = int(min(pb.counters_needed[s, d], pb.counters[s]))
        if need <= 0:
            continue
        if s not in staff:
            fixed += need
            continue
        c = m.new_int_var(max(0, need - len(at[s])), need, f"{prefix}c_{s}")
        m.add(c >= need - staff[s])
        out.append(c)
    return out, fixed


def _moves(m: cp_model.CpModel, pb: StaffProblem, x: dict[tuple[int, int], cp_model.IntVar],
           travel_int: IntArr, cap: int | None, prefix: str,
           ) -> tuple[cp_model.IntVar, cp_model.IntVar, int]:
    away = [(p, s, v) for (p, s), v in x.items() if s != int(pb.home[p])]
    ub = len({p for p, _, _ in away})
    if cap is not None:
        ub = min(ub, cap)
    worst: dict[int, int] = {}
    for p, s, _ in away:
        worst[p] = max(worst.get(p, 0), int(travel_int[int(pb.home[p]), s]))
    t_ub = sum(worst.values())
    moves = m.new_int_var(0, ub, f"{prefix}moves")
    m.add(moves == sum(v for _, _, v in away))
    travel = m.new_int_var(0, t_ub, f"{prefix}travel")
    m.add(travel == sum(int(travel_int[int(pb.home[p]), s]) * v for p, s, v in away))
    return moves, travel, t_ub + 1


def build_day(
    pb: StaffProblem, minutes: Minutes, d: int, offers: dict[int, list[int]], travel_int: IntArr,
    moves_cap: int | None = None, peak_guard: int | None = None,
    m: cp_model.CpModel | None = None, prefix: str = "",
) -> DayModel:
    """The model of day ``d`` (into ``m`` when given, names prefixed by ``prefix``).

    ``offers``: sites each working person may work at (:func:`.offers.day_offers`);
    ``moves_cap``: moves allowed this day; ``peak_guard``: per mille level the local
    work of no site may exceed for want of people (the pooled plan's peak).
    """
    m = cp_model.CpModel() if m is None else m
    x, at = _assignments(m, offers, prefix)
    staff: dict[int, LinearExpr] = {s: cp_model.LinearExpr.sum([x[p, s] for p in people])
                                   for s, people in at.items()}
    free: list[cp_model.IntVar] = []
    routed, unplaced = _routing(m, pb, minutes, d, x, at, prefix, free)
    over_vars, fixed_over = _overload(m, minutes, d, staff, routed, peak_guard, prefix)
    gap_vars, fixed_gaps = _skills(m, pb, d, x, at, prefix)
    counter_vars, fixed_counters = _counters(m, pb, d, staff, at, prefix)
    moves, travel, weight = _moves(m, pb, x, travel_int, moves_cap, prefix)
    gaps = m.new_int_var(fixed_gaps, fixed_gaps + len(gap_vars), f"{prefix}gaps")
    m.add(gaps == fixed_gaps + sum(gap_vars))
    total_hi = int(minutes.local[:, d].sum() + minutes.pool[d].sum())
    over = m.new_int_var(0, total_hi, f"{prefix}over")
    m.add(over == fixed_over + unplaced + sum(over_vars) + sum(free))
    c_lo = fixed_counters + sum(int(v.proto.domain[0]) for v in counter_vars)
    c_hi = fixed_counters + sum(int(v.proto.domain[len(v.proto.domain) - 1])
                                for v in counter_vars)
    counters = m.new_int_var(c_lo, c_hi, f"{prefix}counters")
    m.add(counters == fixed_counters + sum(counter_vars))
    int_vars = tuple(v.index for v in x.values()) + tuple(g.index for g in gap_vars)
    return DayModel(m, d, x, gaps, over, counters, moves, travel, fixed_gaps,
                    fixed_over + unplaced, weight, int_vars)
