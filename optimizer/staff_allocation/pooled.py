"""Routing pooled online work for a fixed roster: an exact LP, day by day.

With the roster fixed, staff ``n[s]`` and qualified people ``q[s,f]`` of each
site on day ``d`` are known. Pooled minutes ``pool[f]`` are processed by the
people qualified for ``f``: ``0 <= y[s,f] <= day * q[s,f]`` where the site
takes pooled work, ``sum_s y[s,f] + w[f] = pool[f]``; ``w[f]`` are minutes
beyond every qualified person's day (or of a field no one qualified works on
that day): unplaced, counted as overload and reported apart. Each site's
demand is ``local[s] + sum_f y[s,f]`` against its capacity ``day * n[s]``.
LPs, each fixing the ones before (``<=`` its value, plus a tolerance of 1e-7
relative):

1. least overload ``sum_s max(0, demand - capacity) + sum_f w[f]``, then the
   fewest unplaced minutes ``sum_f w[f]`` (a minute goes to a site while a
   qualified person there has time);
2. lowest peak ``U``: ``demand[s] <= U * day * max(n[s], 1)``;
3. least demand above the fluid level ``L`` (each day's pooled work poured
   into the sites of least utilisation, qualification ignored), so that no
   pooled minute is parked at a site while another sits below ``L``.

With whole minutes (:class:`.problem.Minutes`) step 1 is a flow problem: its optimum is a whole number of minutes, the same the CP-SAT model
reaches for the same roster. HiGHS (through SciPy) is deterministic, so the
same roster gives the same routing on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from optimizer.staff_allocation.problem import FloatArr, IntArr, Minutes, StaffProblem

__all__ = ["Routing", "fluid_level", "route", "route_day", "site_counts"]

_TOL = 1e-7


@dataclass(frozen=True)
class Routing:
    """Pooled minutes of a roster: ``routed`` (S, D), ``by_field`` (S, D, F), ``unplaced`` (D, F)."""

    routed: FloatArr
    by_field: FloatArr
    unplaced: FloatArr


def fluid_level(local: FloatArr, cap: FloatArr, pool: float) -> float:
    """The level ``L`` at which ``pool`` minutes poured into sites fill them evenly.

    ``sum_s max(0, L * cap[s] - local[s]) = pool`` (water filling); 0 when there is
    nothing to pour or nowhere to pour it.
    """
    ok = cap > 0
    if pool <= 0 or not ok.any():
        return 0.0
    lo, c = local[ok].astype(float), cap[ok].astype(float)
    order = np.argsort(lo / c, kind="stable")
    thr = (lo / c)[order]
    levels = (pool + np.cumsum(lo[order])) / np.cumsum(c[order])
    nxt = np.append(thr[1:], np.inf)
    return float(levels[int(np.argmax(levels <= nxt))])


def _solve(c: FloatArr, a_ub: sp.csr_matrix, b_ub: FloatArr, a_eq: sp.csr_matrix, b_eq: FloatArr,
           bounds: list[tuple[float, float | None]]) -> FloatArr:
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0 or res.x is None:  # pragma: no cover - the LP is always feasible
        msg = f"pooled routing LP failed: {res.message}"
        raise RuntimeError(msg)
    return np.asarray(res.x, dtype=float)


def route_day(
    local: IntArr, staff: IntArr, qual: IntArr, pool: IntArr, day: int, takes_pool: np.ndarray,
) -> tuple[FloatArr, FloatArr]:
    """Route one day's pooled minutes: (S, F) minutes per site and field, (F,) unplaced.

    ``local`` (S,), ``staff`` (S,), ``qual`` (S, F) qualified people per site,
    ``pool`` (F,), ``takes_pool`` (S,) sites that may process pooled work.
    Unplaced: minutes of a field no one qualified works on, or beyond the day
    of every qualified person.
    """
    n_s, n_f = qual.shape
    out = np.zeros((n_s, n_f))
    eligible = (qual > 0) & takes_pool[:, None] & (pool > 0)[None, :]
    unplaced = np.where(eligible.any(axis=0), 0.0, pool.astype(float))
    pairs = np.argwhere(eligible)
    if len(pairs) == 0:
        return out, unplaced
    sites = np.unique(pairs[:, 0])
    row_of = {int(s): i for i, s in enumerate(sites)}
    fields = sorted({int(f) for f in pairs[:, 1]})
    f_row = {f: i for i, f in enumerate(fields)}
    n_y, n_o, n_w = len(pairs), len(sites), len(fields)
    ps = np.array([row_of[int(s)] for s in pairs[:, 0]])
    cap = (day * staff[sites]).astype(float)
    loc = local[sites].astype(float)
    # variables: y (n_y), w (n_w, beyond the qualified people's time), o (n_o), U, e (n_o)
    iw, io = n_y, n_y + n_w
    iu, ie = io + n_o, io + n_o + 1
    n = ie + n_o
    bounds: list[tuple[float, float | None]] = (
        [(0.0, float(day * qual[s, f])) for s, f in pairs] + [(0.0, None)] * (n - n_y))
    # sum_s y[s,f] + w[f] = pool[f]
    a_eq = sp.csr_matrix((np.ones(n_y + n_w),
                          ([f_row[int(f)] for f in pairs[:, 1]] + list(range(n_w)),
                           list(range(n_y)) + list(range(iw, iw + n_w)))), shape=(n_w, n))
    b_eq = pool[fields].astype(float)
    ysum = sp.csr_matrix((np.ones(n_y), (ps, np.arange(n_y))), shape=(n_o, n))

    def block(col: int) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(n_o), (np.arange(n_o), col + np.arange(n_o))),
                             shape=(n_o, n))

    def fix(c: FloatArr, x: FloatArr) -> tuple[sp.csr_matrix, float]:
        v = float(c @ x)
        return sp.csr_matrix(c), v + _TOL * (1 + abs(v))

    # 1. overload: sum y - o <= cap - local; minimise sum o + sum w, then sum w
    over_rows = ysum - block(io)
    c1 = np.zeros(n)
    c1[iw:iw + n_w] = 1.0
    c1[io:io + n_o] = 1.0
    x = _solve(c1, over_rows, cap - loc, a_eq, b_eq, bounds)
    r1, v1 = fix(c1, x)
    c1b = np.zeros(n)
    c1b[iw:iw + n_w] = 1.0
    a = sp.vstack([over_rows, r1], format="csr")
    b = np.concatenate([cap - loc, [v1]])
    x = _solve(c1b, a, b, a_eq, b_eq, bounds)
    r1b, v1b = fix(c1b, x)
    # 2. peak: sum y - U * capeff <= -local
    capeff = np.maximum(cap, float(day))
    peak_rows = ysum + sp.csr_matrix((-capeff, (np.arange(n_o), np.full(n_o, iu))),
                                     shape=(n_o, n))
    a = sp.vstack([a, r1b, peak_rows], format="csr")
    b = np.concatenate([b, [v1b], -loc])
    c2 = np.zeros(n)
    c2[iu] = 1.0
    x = _solve(c2, a, b, a_eq, b_eq, bounds)
    r2, v2 = fix(c2, x)
    # 3. fill evenly: e >= sum y + local - L * capeff
    level = fluid_level(loc, capeff, float(pool[fields].sum()))
    a = sp.vstack([a, r2, ysum - block(ie)], format="csr")
    b = np.concatenate([b, [v2], level * capeff - loc])
    c3 = np.zeros(n)
    c3[ie:ie + n_o] = 1.0
    x = _solve(c3, a, b, a_eq, b_eq, bounds)
    y = np.maximum(x[:n_y], 0.0)
    out[pairs[:, 0], pairs[:, 1]] = y
    for f in fields:
        unplaced[f] = max(0.0, float(pool[f]) - float(out[:, f].sum()))
    return out, unplaced


def site_counts(pb: StaffProblem, plan: IntArr, d: int) -> tuple[IntArr, IntArr]:
    """(S,) people and (S, F) qualified people at each site on day ``d`` of ``plan``."""
    n_s, n_f = len(pb.site_ids), len(pb.fields)
    here = plan[:, d]
    working = here >= 0
    staff = np.bincount(here[working], minlength=n_s).astype(np.int64)
    qual = np.zeros((n_s, n_f), dtype=np.int64)
    np.add.at(qual, here[working], np.asarray(pb.skills, dtype=np.int64)[working])
    return staff, qual


def route(pb: StaffProblem, minutes: Minutes, plan: IntArr,
          same_as: tuple[IntArr, Routing] | None = None) -> Routing:
    """The pooled routing of ``plan`` (every day), see :func:`route_day`.

    ``same_as``: another plan and its routing; a day on which ``plan`` has the same
    roster takes that routing (the LP is deterministic: it would give it again).
    """
    n_p, n_s, n_d, n_f = pb.shape
    by_field = np.zeros((n_s, n_d, n_f))
    unplaced = np.zeros((n_d, n_f))
    takes = np.asarray(pb.pool_site, dtype=bool)
    for d in range(n_d):
        if same_as is not None and np.array_equal(plan[:, d], same_as[0][:, d]):
            by_field[:, d, :], unplaced[d] = same_as[1].by_field[:, d, :], same_as[1].unplaced[d]
            continue
        staff, qual = site_counts(pb, plan, d)
        by_field[:, d, :], unplaced[d] = route_day(
            minutes.local[:, d], staff, qual, minutes.pool[d], minutes.day,
            takes & pb.site_open[:, d])
    return Routing(by_field.sum(axis=2), by_field, unplaced)
