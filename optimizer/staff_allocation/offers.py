"""Who works which days (today's rotation) and which site-days a move may go to.

Days worked: each person works ``w_p = min(max_days, days available with home
open)`` days at home, the days off chosen by a greedy rotation
(:func:`home_plan`: the days of highest home load per person already
rostered first). The rotation is today's practice and is kept by all three
plans: the pooled and planned plans change where a person works on a working
day, never which days.

Moves (:func:`day_offers`): on a working day a movable person may work at a
site within ``max_travel_min`` one way of home only when that site-day needs a
person at the counter that its own people cannot give (:func:`needs_help`):
its in-person work alone needs every one of them, Erlang C asks for more
staffed counters than are there, or a field with in-person demand has no one
qualified there. Online work never calls for a move: it is processed
wherever qualified people work. Candidates for a site-day are the
:data:`MOVE_CANDIDATES` nearest movable people working that day plus the
:data:`MOVE_QUALIFIED` nearest qualified for each field it needs.
"""

from __future__ import annotations

import numpy as np

from optimizer.staff_allocation.problem import BoolArr, IntArr, Minutes, StaffProblem

__all__ = ["MOVE_CANDIDATES", "MOVE_QUALIFIED", "day_need", "day_offers", "home_plan",
           "needs_help", "share_cap", "work_days"]

#: Movers considered for a site-day that needs help: the nearest this many movable
#: people, plus the nearest :data:`MOVE_QUALIFIED` qualified for each field it needs.
MOVE_CANDIDATES = 12
MOVE_QUALIFIED = 3


def work_days(pb: StaffProblem) -> IntArr:
    """Days each person works: ``min(max_days, days available with home open)``."""
    open_home = pb.available & pb.site_open[np.asarray(pb.home, dtype=np.int64)]
    out: IntArr = np.minimum(np.asarray(pb.max_days, dtype=np.int64),
                             open_home.sum(axis=1).astype(np.int64))
    return out


def home_plan(pb: StaffProblem, minutes: Minutes) -> IntArr:
    """Today's rotation: everyone at home, days off where the home load per person is lowest.

    Each person, in order, works :func:`work_days` days at home, choosing the
    available days whose home load (local work plus the site's own online work)
    per person already rostered is highest (ties: the day with fewest rostered,
    then the earlier day).

    Returns
    -------
    ndarray of int
        (P, D) site index per person and day, ``-1`` when off.
    """
    n_p, n_s, n_d, _ = pb.shape
    plan = np.full((n_p, n_d), -1, dtype=np.int64)
    load = (minutes.local + minutes.src.sum(axis=2)).astype(float)
    rostered = np.zeros((n_s, n_d))
    work = work_days(pb)
    for p in range(n_p):
        h = int(pb.home[p])
        days = [d for d in range(n_d) if pb.available[p, d] and pb.site_open[h, d]]
        days.sort(key=lambda d: (-load[h, d] / (rostered[h, d] + 1.0), rostered[h, d], d))
        for d in sorted(days[: int(work[p])]):
            plan[p, d] = h
            rostered[h, d] += 1
    return plan


def needs_help(pb: StaffProblem, minutes: Minutes, plan: IntArr, d: int) -> BoolArr:
    """(S,) site-days of day ``d`` a move may go to: their own people cannot be enough.

    With ``plan`` (today's roster) giving the people there: the in-person (local)
    work alone needs all of them (``ceil(local / day) >= staff``, so leave or
    days off leave it short), Erlang C asks for more staffed counters than
    there are people, or a field with in-person demand has no one qualified.
    """
    n_s = len(pb.site_ids)
    here = plan[:, d]
    working = here >= 0
    staff = np.bincount(here[working], minlength=n_s)
    qual = np.zeros((n_s, len(pb.fields)), dtype=np.int64)
    np.add.at(qual, here[working], np.asarray(pb.skills, dtype=np.int64)[working])
    local = minutes.local[:, d]
    need_people = -(-local // minutes.day)
    need_counters = np.minimum(pb.counters_needed[:, d], pb.counters)
    out: BoolArr = (((local > 0) & (need_people >= staff)) | (need_counters > staff)
                    | (pb.skill_need[:, d] & (qual == 0)).any(axis=1)) & pb.site_open[:, d]
    return out


def day_need(pb: StaffProblem, minutes: Minutes, plan: IntArr, d: int) -> int:
    """People short on day ``d`` of ``plan`` (how a weekly move cap is shared by need).

    Per open site: the larger of the people its in-person work needs
    (``ceil(local / day)``) and the counters Erlang C asks for, minus the people
    there (when positive), plus the fields with in-person demand and no one qualified.
    """
    n_s = len(pb.site_ids)
    here = plan[:, d]
    working = here >= 0
    staff = np.bincount(here[working], minlength=n_s)
    qual = np.zeros((n_s, len(pb.fields)), dtype=np.int64)
    np.add.at(qual, here[working], np.asarray(pb.skills, dtype=np.int64)[working])
    need = np.maximum(-(-minutes.local[:, d] // minutes.day),
                      np.minimum(pb.counters_needed[:, d], pb.counters))
    short = np.maximum(need - staff, 0) + (pb.skill_need[:, d] & (qual == 0)).sum(axis=1)
    return int((short * pb.site_open[:, d]).sum())


def share_cap(cap: int, needs: list[int]) -> list[int]:
    """A weekly cap shared over days in proportion to their need (largest remainders,
    ties to the earlier day); equal shares when no day has a need."""
    n = len(needs)
    if n == 0:
        return []
    w = [float(x) for x in needs] if sum(needs) > 0 else [1.0] * n
    exact = [cap * x / sum(w) for x in w]
    out = [int(e) for e in exact]
    order = sorted(range(n), key=lambda i: (-(exact[i] - out[i]), i))
    for i in order[: cap - sum(out)]:
        out[i] += 1
    return out


def day_offers(pb: StaffProblem, minutes: Minutes, plan: IntArr, d: int) -> dict[int, list[int]]:
    """Sites each person working on day ``d`` may work at: home first, then offered moves.

    Only the people ``plan`` has working that day; a move only for a movable
    person, within ``max_travel_min`` one way, to a site-day that
    :func:`needs_help`, when the person is among its candidates.
    """
    working = [int(p) for p in np.flatnonzero(plan[:, d] >= 0)]
    offers = {p: [int(plan[p, d])] for p in working}
    reach = (pb.travel_min <= pb.max_travel_min) & np.isfinite(pb.travel_min)
    movers = [p for p in working if pb.movable[p]]
    for s in map(int, np.flatnonzero(needs_help(pb, minutes, plan, d))):
        near = [p for p in movers if int(pb.home[p]) != s and reach[int(pb.home[p]), s]]
        near.sort(key=lambda p: (float(pb.travel_min[int(pb.home[p]), s]), p))
        chosen = set(near[:MOVE_CANDIDATES])
        for f in np.flatnonzero(pb.skill_need[s, d]):
            chosen.update([p for p in near if pb.skills[p, f]][:MOVE_QUALIFIED])
        for p in sorted(chosen):
            offers[p].append(s)
    return offers
