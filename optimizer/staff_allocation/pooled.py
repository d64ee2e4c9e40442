"""Routing pooled online work for a fixed roster: an exact LP, day by day.

With the roster fixed, staff ``n[s]`` and qualified people ``q[s,f]`` of each
site on day ``d`` are known. Pooled minutes ``pool[f]`` go to sites where
someone qualified for ``f`` works (``y[s,f] >= 0`` only where ``q[s,f] > 0``
and the site takes pooled work, ``sum_s y[s,f] = pool[f]``); a field no one
qualified works on that day stays unplaced (overload, reported apart). Each
site's demand is ``local[s] + sum_f y[s,f]`` against its capacity ``day *
n[s]``. Three LPs, each fixing the one before (``<=`` its value, plus a
tolerance of 1e-7 relative):

1. least overload ``sum_s max(0, demand - capacity)``;
2. lowest peak ``U``: ``demand[s] <= U * day * max(n[s], 1)``;
3. least demand above the fluid level ``L`` (each day's pooled work poured
   into the sites of least utilisation, qualification ignored), so that no
   pooled minute is parked at a site while another sits below ``L``.

With whole minutes (:class:`.problem.Minutes`) step 1 is a transportation
problem: its optimum is a whole number of minutes, the same the CP-SAT model
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
           n: int) -> FloatArr:
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * n,
                  method="highs")
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
    n_y, n_o = len(pairs), len(sites)
    ps = np.array([row_of[int(s)] for s in pairs[:, 0]])
    cap = (day * staff[sites]).astype(float)
    loc = local[sites].astype(float)
    # variables: y (n_y), o (n_o), U, e (n_o)
    n = n_y + 2 * n_o + 1
    iu, ie = n_y + n_o, n_y + n_o + 1
    # sum_s y[s,f] = pool[f]
    fields = sorted({int(f) for f in pairs[:, 1]})
    f_row = {f: i for i, f in enumerate(fields)}
    a_eq = sp.csr_matrix((np.ones(n_y), ([f_row[int(f)] for f in pairs[:, 1]], np.arange(n_y))),
                         shape=(len(fields), n))
    b_eq = pool[fields].astype(float)
    ysum = sp.csr_matrix((np.ones(n_y), (ps, np.arange(n_y))), shape=(n_o, n))
    eye_o = sp.identity(n_o, format="csr")

    def block(cols: int) -> sp.csr_matrix:
        return sp.hstack([sp.csr_matrix((n_o, cols)), eye_o,
                          sp.csr_matrix((n_o, n - cols - n_o))], format="csr")

    # overload: sum y - o <= cap - local
    over_rows = ysum - block(n_y)
    over_rhs = cap - loc
    c1 = np.zeros(n)
    c1[n_y:n_y + n_o] = 1.0
    x = _solve(c1, over_rows, over_rhs, a_eq, b_eq, n)
    v1 = float(x[n_y:n_y + n_o].sum())
    fix1 = sp.csr_matrix(c1)
    # peak: sum y - U * capeff <= -local
    capeff = np.maximum(cap, float(day))
    u_col = sp.csr_matrix((-capeff, (np.arange(n_o), np.full(n_o, iu))), shape=(n_o, n))
    peak_rows = ysum + u_col
    a2 = sp.vstack([over_rows, fix1, peak_rows], format="csr")
    b2 = np.concatenate([over_rhs, [v1 + _TOL * (1 + v1)], -loc])
    c2 = np.zeros(n)
    c2[iu] = 1.0
    x = _solve(c2, a2, b2, a_eq, b_eq, n)
    u_val = float(x[iu])
    # fill evenly: e >= sum y + local - L * capeff
    level = fluid_level(loc, capeff, float(pool[fields].sum()))
    e_rows = ysum - block(ie)
    a3 = sp.vstack([a2, sp.csr_matrix(c2), e_rows], format="csr")
    b3 = np.concatenate([b2, [u_val + _TOL * (1 + u_val)], level * capeff - loc])
    c3 = np.zeros(n)
    c3[ie:ie + n_o] = 1.0
    x = _solve(c3, a3, b3, a_eq, b_eq, n)
    y = np.maximum(x[:n_y], 0.0)
    out[pairs[:, 0], pairs[:, 1]] = y
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


def route(pb: StaffProblem, minutes: Minutes, plan: IntArr) -> Routing:
    """The pooled routing of ``plan`` (every day), see :func:`route_day`."""
    n_p, n_s, n_d, n_f = pb.shape
    by_field = np.zeros((n_s, n_d, n_f))
    unplaced = np.zeros((n_d, n_f))
    takes = np.asarray(pb.pool_site, dtype=bool)
    for d in range(n_d):
        staff, qual = site_counts(pb, plan, d)
        by_field[:, d, :], unplaced[d] = route_day(
            minutes.local[:, d], staff, qual, minutes.pool[d], minutes.day,
            takes & pb.site_open[:, d])
    return Routing(by_field.sum(axis=2), by_field, unplaced)
