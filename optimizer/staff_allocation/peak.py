"""Peak utilisation: its rule for a fixed level, the peak of a plan, and lower bounds.

Utilisation is in per mille (:data:`UTIL_SCALE`). For a fixed level ``U``
the rule ``demand[s,d] * UTIL_SCALE <= U * day_min * max(staff[s,d], 1)`` is
linear (:func:`add_peak`); an unstaffed site-day with demand counts as if one
person were there (all its demand is overload). The peak stage finds ``U`` by
probes (:mod:`.stages`); its lower bounds are the site-day bound
(:func:`peak_lower_bound`) and the bound over sets of sites and days
(:func:`peak_week_bound`).
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from optimizer.staff_allocation.model import StaffModel, var
from optimizer.staff_allocation.problem import MAX_UTIL, UTIL_SCALE, BoolArr, Solution

__all__ = ["add_peak", "peak_lower_bound", "peak_of", "peak_week_bound", "util"]


def add_peak(m: cp_model.CpModel, b: StaffModel, level: int) -> None:
    """Every site-day at most ``level`` per mille utilised (an empty site-day counts as one person).

    ``demand * UTIL_SCALE <= level * day_min * (staff + 1 - nonempty)``; site-days
    whose largest possible demand fits in one person's day at that level cannot
    break it and get no constraint.
    """
    for (s, d), hi in b.dem_ub.items():
        if hi * UTIL_SCALE <= level * b.day_min:
            continue
        dem = b.local[s, d] + sum(var(m, v) for v in b.routed.get((s, d), []))
        if (s, d) not in b.staff:
            m.add(dem * UTIL_SCALE <= level * b.day_min)
            continue
        st = var(m, b.staff[s, d])
        z = var(m, b.nonempty[s, d])
        m.add(dem * UTIL_SCALE <= level * b.day_min * (st + 1 - z))


def peak_week_bound(b: StaffModel, hi: int, unplaced_max: int, pool_sites: BoolArr) -> int:
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


def peak_of(b: StaffModel, sol: Solution) -> int:
    """Achieved peak utilisation (per mille, rounded up) of a solution."""
    peak = 0
    for (s, d), _hi in b.dem_ub.items():
        dem = b.local[s, d] + sum(sol.get(v.name, 0) for v in b.routed.get((s, d), []))
        cnt = max(1, sol.get(f"staff_{s}_{d}", 0))
        peak = max(peak, -(-dem * UTIL_SCALE // (b.day_min * cnt)))
    return min(peak, MAX_UTIL)


def peak_lower_bound(b: StaffModel) -> int:
    """A peak no plan can beat: local work over every person who could be there."""
    lb = 0
    for (s, d), loc in b.local.items():
        lb = max(lb, -(-loc * UTIL_SCALE // (b.day_min * max(1, b.staff_ub.get((s, d), 0)))))
    return min(lb, MAX_UTIL)


def util(dem: int, staff: int, day_min: int) -> int:
    """Utilisation in per mille, rounded up (an empty site-day counts as one person)."""
    return -(-dem * UTIL_SCALE // (day_min * max(1, staff)))
