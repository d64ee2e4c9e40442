"""Starting plans: balancing repairs and re-routing, each result checked by the model.

Before the peak probes, balancing repairs (:func:`rebalance`: person-days
moved to the day of highest peak with each day's pooled work treated as one
fluid, :func:`balance_days`, then single moves into the busiest site-day with
the routing fixed, :func:`balance`) give a roster that the model re-routes
with every fixed sum kept (:func:`reroute`), used only if its peak is lower;
each feasible probe's roster is re-routed to its least peak too. Before the
moves solve, people are sent home where the final peak level and the fixed
sums allow (:func:`unmove` and the fluid variant), used only if the re-routed
plan has fewer moves.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from ortools.sat.python import cp_model

from optimizer.staff_allocation.engine import Runner, configure, values
from optimizer.staff_allocation.model import StaffModel, roster_array, var
from optimizer.staff_allocation.peak import peak_of, util
from optimizer.staff_allocation.problem import (
    MAX_UTIL,
    UTIL_SCALE,
    BoolArr,
    IntArr,
    Solution,
    StaffProblem,
)

__all__ = [
    "BALANCE_ROUNDS",
    "balance",
    "balance_days",
    "day_level",
    "rebalance",
    "reroute",
    "unmove",
]

#: Rounds of balancing repair (moves, then re-routing) before the peak probes.
BALANCE_ROUNDS = 4


def reroute(
    b: StaffModel, base: cp_model.CpModel, runner: Runner, sol: Solution,
    plan: IntArr | None = None, strict: bool = True,
) -> Solution:
    """Keep the roster of ``sol`` (or ``plan``), route pooled work to the lowest peak.

    The overload steps leave pooled minutes wherever the last solution put them
    (overload is the same wherever they land); with the roster fixed, the routing
    of least peak is found in a fraction of a second (a small linear model) and
    gives the peak step a fair start. With ``plan`` (a roster of the same peak or
    lower that keeps the routing of ``sol`` valid, from :func:`balance`) the
    roster is ``plan``'s. Returns ``sol`` unchanged if the solve does not finish
    or does not lower the peak (with ``strict=False``: raises it).
    """
    m = base.clone()
    count: dict[tuple[int, int], int] = {}
    for (p, s, d), v in b.x.items():
        val = sol[v.name] if plan is None else int(plan[p, d] == s)
        m.add(var(m, v) == val)
        count[s, d] = count.get((s, d), 0) + val
    peak = peak_of(b, sol)
    u_var = m.new_int_var(0, max(peak, 1), "reroute_peak")
    for s, d in b.dem_ub:
        dem = b.local[s, d] + sum(var(m, v) for v in b.routed.get((s, d), []))
        people = max(1, count.get((s, d), 0))
        m.add(dem * UTIL_SCALE <= b.day_min * people * u_var)
    m.minimize(u_var)
    if plan is not None:  # the old routing as a hint (the solver repairs what no longer fits)
        m.proto.solution_hint.vars.extend(range(len(b.names)))
        m.proto.solution_hint.values.extend([sol.get(name, 0) for name in b.names])
    solver = cp_model.CpSolver()
    configure(solver, 1, runner.seed, runner.light)
    solver.parameters.max_time_in_seconds = max(0.01, min(5.0, 0.2 * runner.remaining()))
    if runner.det_left is not None:
        solver.parameters.max_deterministic_time = max(0.01, min(2.0, 0.05 * runner.det_left))
    status = solver.solve(m)
    if runner.det_left is not None:
        runner.det_left = max(0.0, runner.det_left - solver.response_proto.deterministic_time)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return sol
    new = values(b, solver)
    if plan is not None and strict:
        return new if peak_of(b, new) < peak else sol
    return new if peak_of(b, new) <= peak else sol


class _Counts:
    """People and qualified people per site-day of a roster, and the sums a change must keep.

    A change takes person ``p`` off site ``s`` on day ``e`` and puts them on site
    ``t`` on day ``d`` (a move when ``e == d``, a day swap otherwise).
    """

    def __init__(self, b: StaffModel, pb: StaffProblem, plan: IntArr) -> None:
        self.b = b
        self.plan = plan
        n_p, n_s, n_d, n_f = pb.shape
        self.day = b.day_min
        self.staff = np.zeros((n_s, n_d), dtype=np.int64)
        self.qual = np.zeros((n_s, n_d, n_f), dtype=np.int64)
        self.skills = np.asarray(pb.skills, dtype=bool)
        for p, d in zip(*np.nonzero(plan >= 0), strict=True):
            self.staff[plan[p, d], d] += 1
            self.qual[plan[p, d], d] += self.skills[p]
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

    def sources(self, p: int, t: int, d: int) -> list[tuple[int, int]]:
        """Where ``p`` can come from to work at ``(t, d)``: that day elsewhere, or a day worked."""
        plan = self.plan
        if plan[p, d] >= 0:  # works elsewhere that day: a move
            return [(int(plan[p, d]), d)] if plan[p, d] != t else []
        # off that day: works it instead of one of the days worked
        return [(int(plan[p, e]), e) for e in range(plan.shape[1]) if plan[p, e] >= 0]

    def moves_delta(self, p: int, s: int, t: int) -> int:
        home = int(self.home[p])
        return int(t != home) - int(s != home)

    def _counters(self, s: int, d: int, st: int) -> int:
        need = int(self.need[s, d])
        return max(int(self.lo_gap[s, d]), need - st) if need > 0 else 0

    def counters_delta(self, s: int, e: int, t: int, d: int) -> int:
        """Change of counter gaps when one person leaves ``(s, e)`` for ``(t, d)``."""
        st_t, st_s = int(self.staff[t, d]), int(self.staff[s, e])
        return (self._counters(t, d, st_t + 1) - self._counters(t, d, st_t)
                + self._counters(s, e, st_s - 1) - self._counters(s, e, st_s))

    def _gaps(self, s: int, d: int, q: IntArr) -> int:
        return int((self.gap_f[s, d] & (q == 0)).sum())

    def gaps_delta(self, p: int, s: int, e: int, t: int, d: int) -> int:
        """Change of skill gaps when ``p`` leaves ``(s, e)`` for ``(t, d)``."""
        sk = self.skills[p]
        return (self._gaps(t, d, self.qual[t, d] + sk) - self._gaps(t, d, self.qual[t, d])
                + self._gaps(s, e, self.qual[s, e] - sk) - self._gaps(s, e, self.qual[s, e]))

    def apply(self, p: int, s: int, e: int, t: int, d: int) -> None:
        sk = self.skills[p]
        self.plan[p, e] = -1
        self.plan[p, d] = t
        self.moves += self.moves_delta(p, s, t)
        self.staff[s, e] -= 1
        self.staff[t, d] += 1
        self.qual[s, e] -= sk
        self.qual[t, d] += sk


class _Roster(_Counts):
    """A roster with the pooled routing of a solution fixed, and the checks of one change.

    A change is allowed (:meth:`allowed`) only if it keeps every rule of the
    model with the routing unchanged (no site left without a qualified person
    for pooled work routed to it, no qualified person added where the field's
    pooled work is unplaced, the moves cap) and raises none of the sums fixed
    before the peak step: skill gaps, overload (the floor of each ``overload``
    variable: demand beyond capacity and the rounding cut) and counter gaps.
    """

    def __init__(self, b: StaffModel, pb: StaffProblem, sol: Solution) -> None:
        super().__init__(b, pb, roster_array(b, pb, sol))
        _, n_s, n_d, n_f = pb.shape
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

    def util(self, s: int, d: int, delta: int = 0) -> int:
        """Utilisation of site-day ``(s, d)`` with ``delta`` more people (0 if it has no work)."""
        if (s, d) not in self.b.dem_ub:
            return 0
        return util(int(self.dem[s, d]), int(self.staff[s, d]) + delta, self.day)

    def _over(self, s: int, d: int, st: int) -> int:
        if (s, d) not in self.b.dem_ub:
            return 0
        k, r = divmod(int(self.loc[s, d]), self.day)
        cut = r * (k + 1 - st) if r > 0 and (s, d) in self.b.staff else 0
        return max(0, int(self.dem[s, d]) - self.day * st, cut)

    def allowed(self, p: int, s: int, e: int, t: int, d: int) -> bool:
        """Whether the change of ``p`` from ``(s, e)`` to ``(t, d)`` keeps the rules and sums."""
        sk = self.skills[p]
        if (self.unplaced_f[d] & sk & self.has_var[t, d] & (self.qual[t, d] == 0)).any():
            return False
        if (self.routed_f[s, e] & sk & (self.qual[s, e] == 1)).any():
            return False
        if self.moves + self.moves_delta(p, s, t) > self.moves_cap:
            return False
        st_t, st_s = int(self.staff[t, d]), int(self.staff[s, e])
        if (self._over(t, d, st_t + 1) - self._over(t, d, st_t)
                + self._over(s, e, st_s - 1) - self._over(s, e, st_s) > 0):
            return False
        if self.counters_delta(s, e, t, d) > 0:
            return False
        return self.gaps_delta(p, s, e, t, d) <= 0


def balance(b: StaffModel, pb: StaffProblem, sol: Solution, max_iter: int = 5000) -> IntArr:
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
    n_s, n_d = r.staff.shape
    cand: dict[tuple[int, int], list[int]] = {}
    for p, s, d in b.x:
        cand.setdefault((s, d), []).append(p)
    levels = np.zeros((n_s, n_d), dtype=np.int64)
    for s, d in b.dem_ub:
        levels[s, d] = r.util(s, d)
    for _ in range(max_iter):
        t, d = (int(i) for i in np.unravel_index(int(np.argmax(levels)), levels.shape))
        top = int(levels[t, d])
        best: tuple[int, int, int, int] | None = None  # (pair level, person, from site, day)
        for p in cand.get((t, d), []):
            sources = r.sources(p, t, d)
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
            levels[site, day_i] = r.util(site, day_i)
    return r.plan


def unmove(b: StaffModel, pb: StaffProblem, sol: Solution, level: int) -> IntArr:
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


def day_level(loc: IntArr, staff: IntArr, pooled: BoolArr, pool: int, day: int) -> tuple[int, int]:
    """Peak (per mille, rounded up) and overload of one day if pooled work were one fluid.

    ``pool`` minutes may go to any site in ``pooled`` with someone there; they
    fill the sites of least utilisation first (water filling), so the day's
    peak is the larger of the water level and each site's own local work over
    its people (an empty site counting as one person). Qualification for the
    pooled fields is ignored: an estimate, which :func:`rebalance` checks
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


class _Fluid(_Counts):
    """A roster with each day's pooled work as one fluid (:func:`day_level`) and its changes."""

    def __init__(self, b: StaffModel, pb: StaffProblem, plan: IntArr) -> None:
        super().__init__(b, pb, plan)
        _, n_s, n_d, _ = pb.shape
        self.loc = np.zeros((n_s, n_d), dtype=np.int64)
        for (s, d), v in b.local.items():
            self.loc[s, d] = v
        self.pooled = np.zeros((n_s, n_d), dtype=bool)
        for s, d in b.routed:
            self.pooled[s, d] = True
        self.pool = np.zeros(n_d, dtype=np.int64)
        for (d, _f), u in b.unplaced.items():
            self.pool[d] += int(u.proto.domain[len(u.proto.domain) - 1])
        self.sites_of: dict[tuple[int, int], list[int]] = {}
        for p, s, d in b.x:
            self.sites_of.setdefault((p, d), []).append(s)
        self.state = [self.level(d) for d in range(n_d)]

    def level(self, d: int) -> tuple[int, int]:
        return day_level(self.loc[:, d], self.staff[:, d], self.pooled[:, d], int(self.pool[d]),
                         self.day)

    def trial(self, s: int, e: int, t: int, d: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """The estimates of days ``d`` and ``e`` with one person moved from ``(s, e)`` to ``(t, d)``."""
        self.staff[t, d] += 1
        self.staff[s, e] -= 1
        lv_d, lv_e = self.level(d), self.level(e)
        self.staff[t, d] -= 1
        self.staff[s, e] += 1
        return lv_d, lv_e

    def apply(self, p: int, s: int, e: int, t: int, d: int) -> None:
        super().apply(p, s, e, t, d)
        self.state[d] = self.level(d)
        self.state[e] = self.level(e)

    def send_home(self, cap: int) -> None:
        """People away sent home (that day, or a day off) where the levels stay at ``cap`` or below."""
        plan, home = self.plan, self.home
        for p, e in zip(*np.nonzero((plan >= 0) & (plan != home[:, None])), strict=True):
            p, e, h = int(p), int(e), int(home[p])
            s = int(plan[p, e])
            for d in [e] + [int(i) for i in np.flatnonzero(plan[p] < 0)]:
                if (p, h, d) not in self.b.x:
                    continue
                lv_d, lv_e = self.trial(s, e, h, d)
                old_over = self.state[d][1] + (self.state[e][1] if e != d else 0)
                new_over = lv_d[1] + (lv_e[1] if e != d else 0)
                if (max(lv_d[0], lv_e[0]) > cap or new_over > old_over
                        or self.counters_delta(s, e, h, d) > 0
                        or self.gaps_delta(p, s, e, h, d) > 0):
                    continue
                self.apply(p, s, e, h, d)
                break

    def _estimate(self, t: int, d: int, s: int, e: int, top: int) -> int | None:
        """The level after the change, if below ``top`` and no overload or counter gap rises."""
        self.staff[t, d] += 1
        self.staff[s, e] -= 1
        new_d, new_e = self.level(d), (self.level(e) if e != d else None)
        self.staff[t, d] -= 1
        self.staff[s, e] += 1
        lv = max(new_d[0], new_e[0] if new_e else 0)
        d_over = new_d[1] - self.state[d][1] + (new_e[1] - self.state[e][1] if new_e else 0)
        ok = lv < top and d_over <= 0 and self.counters_delta(s, e, t, d) <= 0
        return lv if ok else None

    def improve(self) -> bool:
        """One change on the day of highest estimate; ``False`` when none helps.

        Changes that add no move come first (the moves step must undo the
        others), then the lowest level.
        """
        d = max(range(len(self.state)), key=lambda i: self.state[i][0])
        top = self.state[d][0]
        evals: dict[tuple[int, int, int], int | None] = {}
        options: list[tuple[int, int, int, int, int, int]] = []  # moves added, level, p, t, s, e
        for p in range(self.plan.shape[0]):
            for t in self.sites_of.get((p, d), []):
                for s, e in self.sources(p, t, d):
                    if (t, s, e) not in evals:
                        evals[t, s, e] = self._estimate(t, d, s, e, top)
                    lv = evals[t, s, e]
                    if lv is not None:
                        options.append((self.moves_delta(p, s, t), lv, p, t, s, e))
        for _mv, _lv, p, t, s, e in sorted(options):
            if self.moves + self.moves_delta(p, s, t) > self.moves_cap:
                continue
            if self.gaps_delta(p, s, e, t, d) > 0:
                continue
            self.apply(p, s, e, t, d)
            return True
        return False


def balance_days(
    b: StaffModel, pb: StaffProblem, sol: Solution, max_iter: int = 400,
    start: IntArr | None = None, unmove_level: int | None = None,
) -> IntArr:
    """A roster of lower peak from ``sol``, with pooled work treated as one fluid per day.

    Local search: while the day of highest estimated peak (:func:`day_level`)
    can gain a person-day, the change that leaves the lower estimate on the
    days touched is made, if below the highest: a person off that day works it
    instead of one of the days worked (or one working elsewhere that day moves
    there), at a site the model offers. Changes that raise the estimated
    overload, counter gaps or skill gaps, or break the moves cap, are not made.
    The number of days each person works is unchanged. Returns ``sol``'s roster
    when pooled minutes are unplaced (the fluid estimate does not hold) or no
    change helps; :func:`rebalance` re-routes the result exactly. ``start``:
    the roster to start from instead of ``sol``'s (the same days worked).
    Changes that add no move are preferred to lower levels. With
    ``unmove_level``, people away from home are first sent home where the
    estimates stay at that level or below (fewer moves for the moves step).
    """
    plan = roster_array(b, pb, sol) if start is None else start.copy()
    if any(sol.get(u.name, 0) > 0 for u in b.unplaced.values()):
        return plan
    fluid = _Fluid(b, pb, plan)
    if unmove_level is not None:
        fluid.send_home(unmove_level)
    for _ in range(max_iter):
        if not fluid.improve():
            break
    return plan


def rebalance(
    b: StaffModel, pb: StaffProblem, base: cp_model.CpModel, runner: Runner, sol: Solution,
) -> Solution:
    """Lower the peak of ``sol`` before the probes: balancing repairs, each checked exactly.

    Each round tries :func:`balance_days` (pooled work as a fluid), then
    :func:`balance` (routing fixed); the first roster
    that, re-routed by the model with every fixed sum of ``base`` (skill gaps,
    overload, unplaced, counter gaps, the guard) kept, has a lower peak
    replaces ``sol`` (:func:`reroute`). Rounds stop when none helps. The
    result is a complete solution of ``base``, so it never breaks a rule nor
    raises overload or the peak.
    """
    for _ in range(BALANCE_ROUNDS):
        repairs: list[Callable[[Solution], IntArr]] = [
            lambda x: balance_days(b, pb, x),
            lambda x: balance(b, pb, x),
        ]
        for repair in repairs:
            plan = repair(sol)
            if np.array_equal(plan, roster_array(b, pb, sol)):
                continue
            new = reroute(b, base, runner, sol, plan)
            if new is not sol:
                sol = new
                break
        else:
            break
    return sol
