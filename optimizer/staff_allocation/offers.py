"""Which site-days each person may work: leave, availability, reach, the moves offered.

A person may work on a day only when available (days available, no leave, no
holiday): at home when home is open and, when movable and within
``max_travel_min`` one way of home, at a site that needs help that day
(:func:`needs_help`) among its nearest candidates, or at one of the nearest
pool sites when based where pooled work cannot go (:func:`allowed_sites`).
Each person works exactly ``min(max_days, days with an allowed site)`` days
(:func:`work_days`). :func:`home_plan` is the everyone-at-home rotation the
solve starts from.
"""

from __future__ import annotations

import numpy as np

from optimizer.staff_allocation.problem import BoolArr, IntArr, StaffProblem

__all__ = [
    "MOVE_CANDIDATES",
    "MOVE_POOL_SITES",
    "MOVE_QUALIFIED",
    "allowed_sites",
    "home_plan",
    "needs_help",
    "work_days",
]

#: Movers considered for a site-day that needs help: the nearest this many movable
#: people, plus the nearest :data:`MOVE_QUALIFIED` qualified for each field it needs.
MOVE_CANDIDATES = 12
MOVE_QUALIFIED = 3
#: Pool sites (branches) a person based at a site without pooled work may be sent to.
MOVE_POOL_SITES = 2


def needs_help(pb: StaffProblem) -> BoolArr:
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


def allowed_sites(pb: StaffProblem, home_only: bool) -> list[list[list[int]]]:
    """allowed[p][d] = sites person p may work at on day d (home first).

    Home when open; for a movable person (and unless ``home_only``) also every
    open site within ``max_travel_min`` one way of home that needs help that day
    (:func:`needs_help`) and for which the person is among its candidates (the
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
        help_sd = needs_help(pb)
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


def work_days(pb: StaffProblem, allowed: list[list[list[int]]]) -> IntArr:
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
    work = work_days(pb, allowed_sites(pb, home_only=False))
    for p in range(n_p):
        h = int(pb.home[p])
        days = [d for d in range(n_d) if pb.available[p, d] and pb.site_open[h, d]]
        days.sort(key=lambda d: (-load[h, d] / (rostered[h, d] + 1.0), d))
        for d in sorted(days[: int(work[p])]):
            plan[p, d] = h
            rostered[h, d] += 1
    return plan
