r"""Capacitated coverage (split assignment, hard capacities) over the sites alone.

A set of open sites :math:`x` can assign the weights :math:`f_i \le d_i` of the
demand points within the standard and the capacities :math:`c_j` exactly when the
maximum flow source -> point :math:`i` (:math:`f_i`) -> open site within reach
(:math:`d_i x_j`) -> sink (:math:`c_j x_j`) saturates, that is (Gale, Hall) when
for every set :math:`S` of points

.. math::

    \sum_{i \in S} f_i \le \sum_j \min\bigl(c_j,\ d(S \cap N(j))\bigr)\, x_j

(:math:`N(j)` the points within the standard of site :math:`j`; a site cannot take
more of :math:`S` than the weight of :math:`S` it reaches).  The master keeps only
the site variables, per point :math:`f_i` and those cut-set inequalities, added
as the flow finds them violated (combinatorial Benders):

* the set-covering form fixes :math:`f_i = d_i` and minimises the opening cost
  (a plain cover row for each point, since a point must be assigned);
* with ``p`` it maximises :math:`\sum_i f_i` with at most ``p`` sites.

With every such cut the master's LP is the LP relaxation of the full capacitated
model (pairs :math:`z_{ij} \le x_j`), so the master's bound is a valid bound of the
capacitated model at any time (a relaxation), and a master optimum whose sites the
flow can assign in full is optimal.  Points with the same sites within reach are
merged first (their weights added).  The separation is one maximum flow (scipy's
Dinic): the points reachable from the source in its residual graph are a violated
set :math:`S`, split into its parts joined by sites in use.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components, maximum_flow

from optimizer._mip import SparseMip, solve_lp, solve_lp_first_order, solve_mip
from optimizer._preprocess import dominated_rows
from optimizer._status import SolveStatus
from optimizer.placement.inputs import (
    BoolArray,
    CoverInputs,
    FloatArray,
    IntArray,
    SolveOptions,
    remaining,
)

logger = logging.getLogger(__name__)

#: Integer units the total weight is split into for the separating maximum flow.
SEPARATION_UNITS = 1e8
#: A cut is added when violated by more than this share of its right-hand side's weight.
VIOLATION = 1e-6
#: Largest number of LP rounds of cut separation before the MIP.
LP_ROUNDS = 60
#: Share of the master's time its LP cut loop may use.
LP_TIME_SHARE = 0.5


@dataclass
class Master:
    """The merged points (``cm`` points x sites, weights ``d``), the capacities and the
    cut rows found so far (``cuts``: point sets, each an index array of merged points)."""

    cm: sp.csr_matrix
    cmc: sp.csc_matrix
    d: FloatArray
    cap: FloatArray
    costs: FloatArray
    allowed: BoolArray
    fixed: BoolArray
    p: int | None
    cover_rows: IntArray
    cuts: list[IntArray] = field(default_factory=list)
    keys: set[bytes] = field(default_factory=set)
    reach_overlap: sp.csr_matrix | None = None
    #: rounds of :func:`first_order_bound` (or :func:`simplex_bound`) on this master so far
    first_order_rounds: int = 0
    #: :func:`simplex_bound`'s LP (kept to be warm-started by its next call)
    lp_state: SimplexLp | None = None

    @property
    def n(self) -> int:
        return int(self.d.size)

    @property
    def m(self) -> int:
        return int(self.cap.size)


def merge(c: sp.csr_matrix, w: FloatArray) -> tuple[sp.csr_matrix, FloatArray, IntArray]:
    """The coverable points with the same sites within reach merged (weights added), and
    each point's merged point (-1 for a point with no site within reach)."""
    c = sp.csr_matrix(c, dtype=np.float64)
    c.eliminate_zeros()
    c.sort_indices()
    groups: dict[bytes, int] = {}
    label = np.full(c.shape[0], -1, dtype=np.int64)
    for i in range(c.shape[0]):
        a, b = c.indptr[i], c.indptr[i + 1]
        if a == b:
            continue
        label[i] = groups.setdefault(c.indices[a:b].tobytes(), len(groups))
    keep = label >= 0
    merge = sp.csr_matrix((np.ones(int(keep.sum())), (label[keep], np.flatnonzero(keep))),
                          shape=(len(groups), c.shape[0]))
    d = np.asarray(merge @ w).ravel()
    cm = sp.csr_matrix((merge @ c) > 0, dtype=np.float64)
    cm.sort_indices()
    return cm, d, label


def merged_points(c: sp.csr_matrix, w: FloatArray) -> tuple[sp.csr_matrix, FloatArray]:
    """The coverable points with the same sites within reach merged (weights added)."""
    cm, d, _ = merge(c, w)
    return cm, d


def new_master(prob: CoverInputs, cap: FloatArray, p: int | None) -> Master:
    cm, d = merged_points(prob.c, prob.inp.weights)
    if p is None:
        # cover rows: those holding another point's set are implied (too costly: all)
        dom = dominated_rows(cm)
        rows = np.arange(cm.shape[0]) if dom is None else np.flatnonzero(~dom)
    else:
        rows = np.zeros(0, dtype=np.int64)
    return Master(cm, cm.tocsc(), d, cap.astype(np.float64), prob.inp.costs.astype(np.float64),
                  prob.inp.allowed.copy(), prob.inp.fixed_mask.copy(), p, rows)


def cut_coefficients(ms: Master, s: IntArray) -> FloatArray:
    """Per site, ``min(c_j, d(S within reach of j))``."""
    reach = np.asarray(ms.cm[s].T @ ms.d[s], dtype=np.float64).ravel()
    out: FloatArray = np.minimum(ms.cap, reach)
    return out


def neighbourhood_cuts(ms: Master, x: FloatArray, f: FloatArray, *,
                       max_cuts: int = 200) -> list[IntArray]:
    """The sets ``S_k`` = points within reach of site ``k`` whose cut ``(x, f)`` violates,
    checked for every ``k`` at once: ``d(S_k ∩ N(j))`` is ``(Cᵀ D C)_kj``."""
    if ms.reach_overlap is None:
        ms.reach_overlap = (ms.cmc.T @ sp.diags(ms.d) @ ms.cmc).tocsr()
    ov = ms.reach_overlap
    xs = np.clip(x, 0.0, 1.0)
    coo = ov.tocoo()
    rhs = np.bincount(coo.row, weights=np.minimum(ms.cap[coo.col], coo.data) * xs[coo.col],
                      minlength=ms.m)
    lhs = np.asarray(ms.cmc.T @ f).ravel()
    dk = np.asarray(ms.cmc.T @ ms.d).ravel()
    viol = (lhs - rhs) / np.maximum(dk, 1e-300)
    ks = np.flatnonzero((lhs - rhs > VIOLATION * np.maximum(1.0, dk)) & ms.allowed)
    ks = ks[np.argsort(-viol[ks], kind="stable")][:max_cuts]
    return [ms.cmc.indices[ms.cmc.indptr[k]:ms.cmc.indptr[k + 1]].astype(np.int64)
            for k in ks]


def add_cut(ms: Master, s: IntArray) -> bool:
    key = np.sort(s).tobytes()
    if key in ms.keys:
        return False
    ms.keys.add(key)
    ms.cuts.append(np.sort(s))
    return True


def add_violated_cuts(ms: Master, x: FloatArray, f: FloatArray) -> list[IntArray]:
    """The cuts violated at ``(x, f)`` (the flow's and the sites' neighbourhoods') that
    the master did not have, now added to it."""
    return [s for s in separate(ms, x, f) + neighbourhood_cuts(ms, x, f) if add_cut(ms, s)]


def separate(ms: Master, x: FloatArray, f: FloatArray, *, max_cuts: int = 200) -> list[IntArray]:
    """Violated point sets at the master's point ``(x, f)``: the source side of a minimum
    cut of the flow source -> i (``f_i``) -> j (``d_i x_j``) -> sink (``c_j x_j``),
    split into its parts joined by sites with ``x_j > 0``; only those violated."""
    n, m = ms.n, ms.m
    total = float(f.sum())
    if total <= 0:
        return []
    scale = SEPARATION_UNITS / max(total, 1e-300)
    xs = np.clip(x, 0.0, 1.0)
    use = xs > 1e-9
    pairs = ms.cm[:, use].tocoo()
    cols = np.flatnonzero(use)[pairs.col]
    src_cap = np.floor(f * scale)
    pair_cap = np.floor(ms.d[pairs.row] * xs[cols] * scale)
    site_cap = np.floor(np.minimum(ms.cap * xs, total) * scale)
    big = 2**31 - 1
    src, snk = n + m, n + m + 1
    graph = sp.csr_matrix(
        (np.minimum(np.concatenate([src_cap, pair_cap, site_cap]), big).astype(np.int32),
         (np.concatenate([np.full(n, src), pairs.row, n + np.arange(m)]),
          np.concatenate([np.arange(n), n + cols, np.full(m, snk)]))),
        shape=(n + m + 2, n + m + 2))
    res = maximum_flow(graph, src, snk, method="dinic")
    if res.flow_value >= src_cap.sum() - 1:
        return []
    residual = (graph - res.flow).tocsr()
    residual.data = (residual.data > 0).astype(np.int8)
    residual.eliminate_zeros()
    reach = breadth_first_order(residual, src, directed=True, return_predecessors=False)
    s_all = np.sort(reach[reach < n])
    if s_all.size == 0:
        return []
    # parts of S joined through sites in use
    sub = ms.cm[s_all][:, use]
    k = s_all.size
    bip = sp.bmat([[None, sub], [sub.T, None]]).tocsr()
    n_comp, lab = connected_components(bip, directed=False)
    out: list[tuple[float, IntArray]] = []
    for comp in range(n_comp):
        part = s_all[lab[:k] == comp]
        if part.size == 0:
            continue
        lhs = float(f[part].sum())
        rhs = float(cut_coefficients(ms, part) @ xs)
        if lhs - rhs > VIOLATION * max(1.0, float(ms.d[part].sum())):
            out.append(((lhs - rhs) / max(lhs, 1e-300), part))
    out.sort(key=lambda t: -t[0])
    return [s for _, s in out[:max_cuts]]


@dataclass(frozen=True)
class MasterModel:
    mip: SparseMip
    x0: int
    f0: int


def build(ms: Master) -> MasterModel:
    """The master over the sites (see the module docstring) with the cuts of ``ms``."""
    n, m = ms.n, ms.m
    maximize = ms.p is not None
    mip = SparseMip(maximize=maximize)
    x0 = mip.add_variables(m, lb=(ms.fixed & ms.allowed).astype(np.float64),
                           ub=ms.allowed.astype(np.float64), integer=True,
                           objective=0.0 if maximize else ms.costs)
    if ms.p is not None:
        f0 = mip.add_variables(n, lb=0.0, ub=ms.d, objective=1.0)
        mip.add_rows(1, np.zeros(m, dtype=np.int64), x0 + np.arange(m), 1.0, ub=float(ms.p))
    else:
        f0 = mip.add_variables(n, lb=ms.d, ub=ms.d, objective=0.0)
        # each point needs an open site within reach (the rows of no other's superset)
        coo = ms.cm[ms.cover_rows].tocoo()
        mip.add_rows(int(ms.cover_rows.size), coo.row, x0 + coo.col, 1.0, lb=1.0)
    if ms.cuts:
        rows, cols, vals = cut_rows(ms, ms.cuts, x0, f0)
        mip.add_rows(len(ms.cuts), rows, cols, vals, ub=0.0)
    return MasterModel(mip, x0, f0)


def cut_rows(ms: Master, cuts: list[IntArray], x0: int, f0: int,
             ) -> tuple[IntArray, IntArray, FloatArray]:
    """The rows of ``cuts`` (row, column, value; rows numbered from 0, each ``<= 0``):
    ``sum_{i in S} f_i / d(S) - sum_j min(c_j, d(S ∩ N(j))) / d(S) x_j``, the point
    variables from column ``f0``, the sites' from ``x0``."""
    # every cut's coefficients at once: d(S ∩ N(j)) is (M D C)_Sj, M the cuts' points
    k = len(cuts)
    sizes = np.array([s.size for s in cuts], dtype=np.int64)
    members = np.concatenate(cuts)
    mm = sp.csr_matrix((np.ones(members.size), (np.repeat(np.arange(k), sizes), members)),
                       shape=(k, ms.n))
    reach = (mm @ sp.diags(ms.d) @ ms.cm).tocsr()
    reach.sort_indices()
    reach.data = np.minimum(reach.data, ms.cap[reach.indices])
    reach.eliminate_zeros()
    ds = np.maximum(np.asarray(mm @ ms.d).ravel(), 1e-300)
    n_x = np.diff(reach.indptr)
    return (np.concatenate([np.repeat(np.arange(k), sizes), np.repeat(np.arange(k), n_x)]),
            np.concatenate([f0 + members, x0 + reach.indices]),
            np.concatenate([np.repeat(1.0 / ds, sizes), -reach.data / np.repeat(ds, n_x)]))


@dataclass(frozen=True)
class MasterOutcome:
    """What the master reached: its best bound (``nan`` if none), the open sites of its
    MIP answers (best last; with ``p`` every answer, without only those the flow assigns
    in full), whether the last is the master's proven optimum and the flow assigns it
    in full (an optimum of the capacitated model), and a line for the notes."""

    bound: float
    candidates: list[BoolArray]
    proven: bool
    note: str
    lp_bound: float


def initial_cuts(ms: Master) -> None:
    """Singleton sets (a point's weight needs room within reach; in the set-covering form
    only where it exceeds a capacity within reach, the cover row says the rest) and the
    whole demand."""
    low = np.full(ms.n, np.inf)
    coo = ms.cm.tocoo()
    np.minimum.at(low, coo.row, ms.cap[coo.col])
    single = np.arange(ms.n) if ms.p is not None else np.flatnonzero(ms.d > low)
    for i in single:
        add_cut(ms, np.array([i], dtype=np.int64))
    add_cut(ms, np.arange(ms.n, dtype=np.int64))


def assigned(ms: Master, x: BoolArray) -> FloatArray:
    """Per merged point, the weight the open sites ``x`` take of it in a maximum flow
    (rounded down: the flow stays within every cut)."""
    n, m = ms.n, ms.m
    total = float(ms.d.sum())
    if total <= 0 or not x.any():
        return np.zeros(n)
    scale = SEPARATION_UNITS / total
    pairs = ms.cm[:, x].tocoo()
    cols = np.flatnonzero(x)[pairs.col]
    src, snk = n + m, n + m + 1
    units = np.floor(ms.d * scale)
    graph = sp.csr_matrix(
        (np.concatenate([units, units[pairs.row], np.floor(np.minimum(ms.cap[x], total)
                                                           * scale)]).astype(np.int32),
         (np.concatenate([np.full(n, src), pairs.row, n + np.flatnonzero(x)]),
          np.concatenate([np.arange(n), n + cols, np.full(int(x.sum()), snk)]))),
        shape=(n + m + 2, n + m + 2))
    flow = maximum_flow(graph, src, snk, method="dinic").flow.tocsr()
    row = flow[src]
    out = np.zeros(n)
    ok = row.indices < n
    out[row.indices[ok]] = row.data[ok]
    return np.clip(out / scale * (1.0 - 1e-9), 0.0, ms.d)


#: Time of a master MIP round: this share of the time left, at least MIP_ROUND_MIN_S
#: (then its answer's violated cuts are added and the MIP solved again).
MIP_ROUND_SHARE = 0.4
MIP_ROUND_MIN_S = 5.0
#: Seconds past its limit after which an engine run of the master is abandoned (the
#: engines check their limit only now and then: a master MIP ran 50 s past it on a
#: loaded machine).
WALL_SLACK_S = 1.0
#: Seconds the repair by minimum cuts (:func:`repair_sites`) may spend closing sites.
REPAIR_CLOSE_S = 3.0
#: LP rounds without a rise of the LP bound (relative 1e-6) after which the LP loop stops.
LP_STALL = 2


def solve_master(prob: CoverInputs, cap: FloatArray, p: int | None, *,
                 hint_sites: BoolArray | None, deadline: float | None,
                 options: SolveOptions,
                 repair: Callable[[BoolArray], BoolArray | None] | None = None,
                 ) -> MasterOutcome:
    """Cut loop on the master LP, then the master MIP re-solved with the cuts its answers
    violate, until an answer the flow assigns in full (optimal) or the deadline.
    ``hint_sites``: the best known answer's open sites (every site index).  Without
    ``p``, ``repair`` turns a master answer the flow cannot assign in full into open
    sites that it can (or ``None``): kept as an answer, and as the next round's hint
    when cheaper than the hint."""
    t0 = time.perf_counter()
    ms = new_master(prob, cap, p)
    initial_cuts(ms)
    maximize = p is not None
    lp_end = None if deadline is None else t0 + LP_TIME_SHARE * max(0.0, deadline - t0)
    lp_bound = math.nan
    rounds = stall = 0
    # the set-covering master's LP is small (cover rows of no other's superset); the
    # maximal-covering one has a row per point and its LP took 6.4 CPU s on Quảng Ninh at
    # 1 km: there the MIP's root is the LP, and the time is the MIP's
    while maximize is False and rounds < LP_ROUNDS and not options.stopped and (
            lp_end is None or time.perf_counter() < lp_end):
        model = build(ms)
        tl = time.perf_counter()
        lp_left = remaining(lp_end)
        sol = solve_lp(model.mip, engine=options.engine, time_limit_s=lp_left,
                       wall_limit_s=None if lp_left is None else lp_left + WALL_SLACK_S)
        tl = time.perf_counter() - tl
        if sol.values is None or sol.report.status is not SolveStatus.OPTIMAL:
            break
        rounds += 1
        x = sol.values[model.x0:model.x0 + ms.m]
        f = sol.values[model.f0:model.f0 + ms.n]
        value = float(sol.report.objective)
        moved = math.isnan(lp_bound) or abs(value - lp_bound) > 1e-6 * max(1.0, abs(value))
        stall = 0 if moved else stall + 1
        lp_bound = value
        ts = time.perf_counter()
        new = add_violated_cuts(ms, x, f)
        logger.info("master LP round %d: %.6g, %d cuts added (%d in all; %d x > 0) "
                    "lp %.2fs sep %.2fs", rounds, lp_bound, len(new), len(ms.cuts),
                    int((x > 1e-9).sum()), tl, time.perf_counter() - ts)
        if not new or stall >= LP_STALL:
            break
    bound = math.nan
    found: list[BoolArray] = []
    proven = False
    best_x = None if hint_sites is None else hint_sites.copy()
    mip_rounds = 0
    last_round = maximize
    while not options.stopped and (deadline is None or time.perf_counter() < deadline - 0.5):
        model = build(ms)
        hint = None
        if best_x is not None:
            hint = np.zeros(model.mip.n_vars)
            hint[model.x0:model.x0 + ms.m] = best_x
            hint[model.f0:model.f0 + ms.n] = assigned(ms, best_x) if maximize else ms.d
        left = remaining(deadline)
        limit = None if left is None else min(left, left if last_round else max(
            MIP_ROUND_MIN_S, MIP_ROUND_SHARE * left))
        sol = solve_mip(model.mip, engine=options.engine, time_limit_s=limit,
                        seed=options.seed, threads=options.threads, hint=hint,
                        wall_limit_s=None if limit is None else limit + WALL_SLACK_S)
        mip_rounds += 1
        if sol.values is None:
            logger.info("master MIP round %d: no answer (%s)", mip_rounds, sol.report.message)
        b = sol.report.best_bound
        if math.isfinite(b):
            bound = b if math.isnan(bound) else (min(bound, b) if maximize else max(bound, b))
        if sol.values is None:
            break
        xb: BoolArray = sol.values[model.x0:model.x0 + ms.m] > 0.5
        f = sol.values[model.f0:model.f0 + ms.n]
        xf = xb.astype(np.float64)
        new = add_violated_cuts(ms, xf, f)
        logger.info("master MIP round %d: %s %.6g / %.6g, %d cuts added", mip_rounds,
                    sol.report.status.value, sol.report.objective, b, len(new))
        if maximize:
            found.append(xb)
            if best_x is None or assigned(ms, xb).sum() > assigned(ms, best_x).sum():
                best_x = xb
        else:
            found.append(xb)
            tr = time.perf_counter()
            by_cut = repair_sites(ms, xb, deadline=None if deadline is None else min(
                deadline, tr + REPAIR_CLOSE_S)) if new else None
            tr = time.perf_counter() - tr
            fixed = repair(xb) if repair is not None and new else None
            logger.info("master MIP round %d: repairs of %d sites: by the minimum cuts %s "
                        "(%.2f s), by the start's additions %s", mip_rounds, int(xb.sum()),
                        "none" if by_cut is None else int(ms.costs[by_cut].sum()), tr,
                        "none" if fixed is None else int(ms.costs[fixed].sum()))
            for got in (by_cut, fixed):
                if got is None:
                    continue
                found.append(got)
                if best_x is None or ms.costs[got].sum() < ms.costs[best_x].sum() - 1e-9:
                    best_x = got
        if not new:
            proven = sol.report.status is SolveStatus.OPTIMAL
            if proven or last_round:
                break
            # an answer the flow assigns, the MIP stopped by the round's limit: the rest
            last_round = True
    if math.isfinite(lp_bound):
        # the master's LP is a relaxation too (of a relaxation)
        bound = lp_bound if math.isnan(bound) else (min(bound, lp_bound) if maximize
                                                    else max(bound, lp_bound))
    note = (f"cut-set master: {ms.n:,} merged points, {len(ms.cuts):,} cuts, "
            f"{rounds} LP and {mip_rounds} MIP rounds, LP bound {lp_bound:.6g}")
    return MasterOutcome(bound, found, proven, note, lp_bound)


def dual_bound(mip: SparseMip, duals: FloatArray) -> float:
    """A bound of the LP relaxation of ``mip`` (so of ``mip`` itself) from any row
    multipliers: for every ``y``, ``c x = (c - Aᵀy) x + yᵀ(A x)``, and each term is
    bounded over the variables' box and the rows' ranges (weak duality).  Valid
    whatever ``duals`` are (a first-order solver's approximate ones); both signs are
    tried (the engines differ in their convention) and the tighter kept.  A multiplier
    on a side a row does not have is dropped.  ``±inf`` when no finite bound follows."""
    a, lb, ub, row_lb, row_ub = mip.arrays()
    sense = 1.0 if mip.maximize else -1.0
    # in the maximisation sense: max sense * c x (a minimum is minus a maximum)
    obj = sense * mip.objective_vector()
    best = math.inf
    for y in (np.asarray(duals, dtype=np.float64), -np.asarray(duals, dtype=np.float64)):
        y = np.where(((y > 0) & ~np.isfinite(row_ub)) | ((y < 0) & ~np.isfinite(row_lb)), 0.0, y)
        red = obj - np.asarray(a.T @ y).ravel()
        at = np.where(red > 0, ub, lb)  # where each variable's term is largest
        nz = red != 0
        if not np.isfinite(at[nz]).all():
            continue
        rows = np.where(y > 0, y * np.where(y > 0, row_ub, 0.0),
                        y * np.where(y < 0, row_lb, 0.0))
        best = min(best, float(red[nz] @ at[nz]) + float(rows.sum()) + sense * mip.offset)
    return sense * best


#: Relative accuracy asked of the first-order LP solver (PDLP) in :func:`first_order_bound`:
#: on Quảng Ninh at 1 km, 1e-4 gave the bounds of 1e-5 (within 0.5 dossiers a day) in
#: half the CPU time.
FIRST_ORDER_TOLERANCE = 1e-4


def first_order_bound(prob: CoverInputs, cap: FloatArray, p: int | None, *,
                      deadline: float | None, options: SolveOptions,
                      master: Master | None = None,
                      ) -> tuple[float, FloatArray | None, str, Master]:
    """The master's LP (see the module docstring) by PDLP, its violated cuts added round
    after round until none is found or the deadline: the tightest :func:`dual_bound` of
    its rounds (a bound of the capacitated model), the sites' values in the last round's
    LP answer (``None`` if none), a line for the notes and the master with its cuts
    (given back as ``master``, the rounds go on from its cuts).  For masters
    whose simplex LP is slow (with ``p``, a variable and a row per merged point:
    7,541 on Quảng Ninh at 1 km, 6.3 CPU s a simplex LP against 3.6 for PDLP)."""
    t0 = time.perf_counter()
    ms = master
    if ms is None:
        ms = new_master(prob, cap, p)
        initial_cuts(ms)
    maximize = p is not None
    bound = math.inf if maximize else -math.inf
    rounds = 0
    last = math.nan
    x_last: FloatArray | None = None
    while not options.stopped:
        left = remaining(deadline)
        if left is not None and left < 0.5:
            break
        model = build(ms)
        left = remaining(deadline)
        if left is not None and left < 0.5:
            break
        lp = solve_lp_first_order(model.mip, time_limit_s=left, threads=options.threads,
                                  tolerance=FIRST_ORDER_TOLERANCE)
        if lp.duals is None:
            logger.info("first-order master LP round %d: no duals (%s)", rounds + 1, lp.detail)
            break
        rounds += 1
        ms.first_order_rounds += 1
        b = dual_bound(model.mip, lp.duals)
        bound = min(bound, b) if maximize else max(bound, b)
        if lp.primal is None:
            break
        x = np.clip(lp.primal[model.x0:model.x0 + ms.m], 0.0, 1.0)
        f = np.clip(lp.primal[model.f0:model.f0 + ms.n], 0.0, ms.d)
        x_last = x
        new = add_violated_cuts(ms, x, f)
        logger.info("first-order master LP round %d: bound %.6g, %d cuts added (%d in all) "
                    "%.2fs (%s)", rounds, b, len(new), len(ms.cuts), lp.wall_time_s, lp.detail)
        stalled = math.isfinite(last) and abs(b - last) <= 1e-6 * max(1.0, abs(b))
        last = b
        if not new or stalled:
            break
    note = (f"cut-set master LP by PDLP: {ms.n:,} merged points, {len(ms.cuts):,} cuts, "
            f"{rounds} rounds in {time.perf_counter() - t0:.1f} s, bound {bound:.6g}")
    return (bound if math.isfinite(bound) else math.nan), x_last, note, ms


def _highs() -> Any | None:
    """HiGHS's own Python interface (the ``highspy`` package, a dependency: an object
    that keeps its LP and basis between solves), or ``None`` where it cannot be
    imported.  Its base class ``_Highs`` is used: ``highspy.Highs`` adds callbacks
    this loop does not need and prints HiGHS's banner to standard output on its first
    construction in a process (into ``motcua place``'s output and the app's log)."""
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy is a dependency
        return None
    return highspy if hasattr(highspy, "_Highs") and hasattr(highspy, "HighsLp") else None


@dataclass
class SimplexLp:
    """The master's LP held by HiGHS between rounds (its rows: those of :func:`build`
    for the cuts the master had, in order, then every cut added since), the last
    optimal round's row multipliers and sites' values."""

    highs: Any
    n_cuts: int
    duals: FloatArray | None = None
    x: FloatArray | None = None


def _new_simplex_lp(core: Any, ms: Master) -> SimplexLp:
    model = build(ms)
    a, lb, ub, row_lb, row_ub = model.mip.arrays()
    inf = core.kHighsInf
    h = core._Highs()
    h.setOptionValue("output_flag", False)
    lp = core.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = model.mip.objective_vector()
    lp.col_lower_, lp.col_upper_ = lb, ub
    lp.row_lower_ = np.where(np.isfinite(row_lb), row_lb, -inf)
    lp.row_upper_ = np.where(np.isfinite(row_ub), row_ub, inf)
    csc = a.tocsc()
    lp.a_matrix_.format_ = core.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr
    lp.a_matrix_.index_ = csc.indices
    lp.a_matrix_.value_ = csc.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = a.shape[1], a.shape[0]
    lp.sense_ = core.ObjSense.kMaximize if model.mip.maximize else core.ObjSense.kMinimize
    lp.offset_ = model.mip.offset
    h.passModel(lp)
    return SimplexLp(h, len(ms.cuts))


def simplex_bound(prob: CoverInputs, cap: FloatArray, p: int | None, *,
                  deadline: float | None, options: SolveOptions,
                  master: Master | None = None,
                  ) -> tuple[float, FloatArray | None, str, Master]:
    """:func:`first_order_bound` by the simplex method instead: the master's LP held by
    HiGHS, its violated cuts added as rows and the LP re-solved from the last basis,
    until no cut is violated at an optimal round or the deadline; the same answer (the
    bound from :func:`dual_bound` of the last optimal round's multipliers, valid
    whatever they are).  After the first LP (on Quảng Ninh at 1 km ~7 CPU s, as one
    PDLP round) a round takes a few hundred simplex iterations, so the cut loop runs to
    the LP relaxation of the capacitated model where PDLP's approximate answers stop
    finding cuts: 1,210.2 there after 77 rounds (PDLP: 1,211.4 at the end of its cuts).
    Falls back to :func:`first_order_bound` where ``highspy`` cannot be imported.  The LP
    cannot be interrupted by ``options.stop`` (only between rounds)."""
    core = _highs()
    if core is None:  # pragma: no cover - highspy is a dependency
        return first_order_bound(prob, cap, p, deadline=deadline, options=options,
                                 master=master)
    t0 = time.perf_counter()
    ms = master
    if ms is None:
        ms = new_master(prob, cap, p)
        initial_cuts(ms)
    if ms.lp_state is None:
        ms.lp_state = _new_simplex_lp(core, ms)
    lp = ms.lp_state
    h = lp.highs
    rounds = 0
    detail = ""
    while not options.stopped:
        left = remaining(deadline)
        if left is not None and left < 0.5:
            break
        if len(ms.cuts) > lp.n_cuts:
            # the cuts added since (by this loop or another's rounds on the master)
            rows, cols, vals = cut_rows(ms, ms.cuts[lp.n_cuts:], 0, ms.m)
            k = len(ms.cuts) - lp.n_cuts
            a = sp.csr_matrix((vals, (rows, cols)), shape=(k, ms.m + ms.n))
            h.addRows(k, np.full(k, -core.kHighsInf), np.zeros(k), int(a.nnz),
                      a.indptr[:-1].astype(np.int32), a.indices.astype(np.int32), a.data)
            lp.n_cuts = len(ms.cuts)
        h.setOptionValue("time_limit", float(h.getRunTime()) + (
            1e7 if left is None else left))
        # the first LP by the interior point method and crossover (on Quảng Ninh at 1 km
        # 4.8 CPU s against the simplex's 6.8, and a basis the next rounds start from)
        h.setOptionValue("solver", "simplex" if lp.duals is not None else "ipm")
        tr = time.perf_counter()
        h.run()
        status = h.getModelStatus()
        detail = h.modelStatusToString(status)
        if status != core.HighsModelStatus.kOptimal:
            logger.info("simplex master LP round %d: %s", rounds + 1, detail)
            break
        sol = h.getSolution()
        values = np.asarray(sol.col_value, dtype=np.float64)
        lp.duals = np.asarray(sol.row_dual, dtype=np.float64)
        rounds += 1
        ms.first_order_rounds += 1
        x = np.clip(values[:ms.m], 0.0, 1.0)
        f = np.clip(values[ms.m:ms.m + ms.n], 0.0, ms.d)
        lp.x = x
        new = add_violated_cuts(ms, x, f)
        logger.info("simplex master LP round %d: %.6g, %d cuts added (%d in all) %.2fs",
                    rounds, float(h.getInfo().objective_function_value), len(new),
                    len(ms.cuts), time.perf_counter() - tr)
        if not new:
            break
    bound = math.nan
    if lp.duals is not None:
        # the multipliers of the last optimal round, the rows added since at 0
        model = build(ms)
        y = np.zeros(model.mip.n_rows)
        y[:lp.duals.size] = lp.duals
        bound = dual_bound(model.mip, y)
        if not math.isfinite(bound):
            bound = math.nan
    note = (f"cut-set master LP by the simplex method: {ms.n:,} merged points, "
            f"{len(ms.cuts):,} cuts, {rounds} rounds in {time.perf_counter() - t0:.1f} s, "
            f"bound {bound:.6g}" + (f" ({detail})" if detail and detail != "Optimal" else ""))
    return bound, lp.x, note, ms


class LpWorker:
    """:func:`simplex_bound` in a thread of its own, from a new master, to ``deadline``:
    the caller searches for answers meanwhile (HiGHS releases the interpreter while it
    solves) and reads the LP's sites' values as its rounds go (:attr:`x`).  ``join``
    gives :func:`simplex_bound`'s answer (and raises what the thread raised)."""

    def __init__(self, prob: CoverInputs, cap: FloatArray, p: int | None, *,
                 deadline: float | None, options: SolveOptions) -> None:
        import threading

        self._args = (prob, cap, p, deadline, options)
        self.ms: Master | None = None
        self._out: tuple[float, FloatArray | None, str, Master] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="capacity-lp", daemon=True)

    def start(self) -> LpWorker:
        self._thread.start()
        return self

    def _run(self) -> None:
        prob, cap, p, deadline, options = self._args
        try:
            ms = new_master(prob, cap, p)
            initial_cuts(ms)
            self.ms = ms
            self._out = simplex_bound(prob, cap, p, deadline=deadline, options=options,
                                      master=ms)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by join
            self._error = exc

    @property
    def rounds(self) -> int:
        """Optimal LP rounds so far."""
        return 0 if self.ms is None else self.ms.first_order_rounds

    @property
    def x(self) -> FloatArray | None:
        """The sites' values in the last optimal round's LP answer (``None`` before)."""
        ms = self.ms
        return None if ms is None or ms.lp_state is None else ms.lp_state.x

    def wait(self, rounds: int, until: float) -> None:
        """Until ``rounds`` optimal rounds, the thread's end or ``until``."""
        while self._thread.is_alive() and self.rounds < rounds and time.perf_counter() < until:
            self._thread.join(timeout=min(0.1, max(0.0, until - time.perf_counter())))

    def join(self) -> tuple[float, FloatArray | None, str, Master | None]:
        """:func:`simplex_bound`'s answer once the thread ends; on a stop request, no
        bound at once (the thread, a daemon, ends at its LP's time limit)."""
        options = self._args[4]
        while self._thread.is_alive():
            if options.stopped:
                return math.nan, None, "cut-set master LP by the simplex method: stopped", None
            self._thread.join(timeout=0.1)
        if self._error is not None:
            raise self._error
        if self._out is None:
            return math.nan, None, "cut-set master LP by the simplex method: none", self.ms
        return self._out


def _uncovered_rows(ms: Master, x: BoolArray) -> IntArray:
    """The master's cover rows (set-covering form) with no site of ``x`` within reach."""
    if ms.cover_rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    hit = np.asarray(ms.cm[ms.cover_rows] @ x.astype(np.float64)).ravel()
    out: IntArray = ms.cover_rows[hit <= 0]
    return out


def repair_sites(ms: Master, x: BoolArray, *, deadline: float | None = None,
                 close: bool = True) -> BoolArray | None:
    """Open sites ``x`` made assignable (set-covering form): while a point has no open
    site within reach, the site reaching the most such points per cost opens; while the
    flow cannot assign the demand, the site its minimum cut says is missing opens (the
    one adding the most room ``min(c_j, d(S within reach of j))`` per cost to the most
    violated set ``S``).  Then, with ``close``, open sites are closed one at a time
    while the rest
    stay assignable (those with the least weight within reach first), until the
    deadline.  ``None`` when no allowed site helps."""
    x = (x & ms.allowed) | (ms.fixed & ms.allowed)
    cost = np.maximum(ms.costs, 1e-9)
    while True:
        rows = _uncovered_rows(ms, x)
        if rows.size == 0:
            break
        gain = np.asarray(ms.cm[rows].sum(axis=0)).ravel()
        gain[x | ~ms.allowed] = 0.0
        if gain.max(initial=0.0) <= 0:
            return None
        x = x.copy()
        x[int(np.argmax(gain / cost))] = True
    while True:
        parts = separate(ms, x.astype(np.float64), ms.d, max_cuts=1)
        if not parts:
            break
        room = cut_coefficients(ms, parts[0])
        room[x | ~ms.allowed] = 0.0
        if room.max(initial=0.0) <= 0:
            return None
        x = x.copy()
        x[int(np.argmax(room / cost))] = True
    if not close:
        return x
    reach = np.asarray(ms.cmc.T @ ms.d).ravel()
    for j in np.flatnonzero(x & ~ms.fixed)[np.argsort(reach[x & ~ms.fixed], kind="stable")]:
        if deadline is not None and time.perf_counter() >= deadline:
            break
        trial = x.copy()
        trial[j] = False
        if _uncovered_rows(ms, trial).size == 0 and not separate(
                ms, trial.astype(np.float64), ms.d, max_cuts=1):
            x = trial
    return x


def _write_lp(ms: Master, path: str) -> None:
    """The set-covering master (sites only: cover rows and the cut rows of ``ms``,
    ``d(S)`` moved to the right-hand side) in CPLEX LP format, variables ``x<j>``."""
    model = build(ms)
    a, lb, ub, row_lb, row_ub = model.mip.arrays()
    # the point variables are fixed at d (set-covering form): move them to the sides
    xs = slice(model.x0, model.x0 + ms.m)
    fixed = np.zeros(model.mip.n_vars)
    fixed[model.f0:model.f0 + ms.n] = ms.d
    moved = np.asarray(a @ fixed).ravel()
    ax = a[:, xs].tocsr()
    obj = model.mip.objective_vector()[xs]
    names = np.array([f"x{j}" for j in range(ms.m)], dtype=object)

    def terms(idx: IntArray, val: FloatArray) -> str:
        return " ".join(f"{v:+.17g} {n}" for v, n in zip(val, names[idx], strict=True))

    out = ["Minimize", " obj: " + (terms(np.flatnonzero(obj), obj[obj != 0]) or "0 x0"),
           "Subject To"]
    for r in range(ax.shape[0]):
        s, e = ax.indptr[r], ax.indptr[r + 1]
        if s == e:
            continue
        body = terms(ax.indices[s:e], ax.data[s:e])
        lo, hi = row_lb[r] - moved[r], row_ub[r] - moved[r]
        if math.isfinite(lo):
            out.append(f" l{r}: {body} >= {lo:.17g}")
        if math.isfinite(hi):
            out.append(f" u{r}: {body} <= {hi:.17g}")
    out.append("Bounds")
    out.extend(f" {lb[model.x0 + j]:.17g} <= x{j} <= {ub[model.x0 + j]:.17g}"
               for j in range(ms.m))
    out.append("Binaries")
    out.extend(f" x{j}" for j in range(ms.m) if ub[model.x0 + j] > 0)
    out.append("End")
    with open(path, "w", encoding="ascii") as fh:
        fh.write("\n".join(out) + "\n")


@dataclass(frozen=True)
class BranchAndCut:
    """What :func:`branch_and_cut` reached: its bound (``nan`` if none, ``inf`` when no
    set of sites takes the demand), its best open
    sites (``None`` if none; the flow assigns them in full), whether they are proven
    optimal, and a line for the notes."""

    bound: float
    best: BoolArray | None
    proven: bool
    note: str


#: Feasibility tolerance of SCIP's rows in :func:`branch_and_cut`, below the relative
#: violation (:data:`VIOLATION`) at which the flow adds a cut: a set the flow finds
#: violated at an integer point is then never one of the rows SCIP already holds.
BNC_FEASTOL = 1e-7


def branch_and_cut(ms: Master, hint: BoolArray | None, *, deadline: float | None,
                   options: SolveOptions) -> BranchAndCut:
    """The set-covering master (``ms``, with its cuts) solved by SCIP with the cut-set
    inequalities as lazy constraints: every integer point SCIP would accept is checked
    by the maximum flow, and the violated sets of its minimum cut are added as rows
    (so are those violated at the LP points of the tree, at every node); an integer
    point the flow cannot assign is repaired (:func:`repair_sites`, the sites the
    minimum cut says are missing) and offered to SCIP as a solution.  SCIP's bound is
    a bound of the capacitated model (every row is one of its cut-set inequalities),
    its solutions are assignable, and a finished search is an optimum.  One thread
    (SCIP's own); ``hint``: a known assignable answer (every site index).

    Not on the engine's path: within a minute SCIP's root alone
    took 45 s on Phú Thọ at 1 km (bound 103.6 against the HiGHS rounds' 104).  It is
    the offline tool that brackets an instance's optimum (``bench/cap_lscp_offline.py``)
    and needs ``pyscipopt`` (in the ``test`` extra)."""
    import tempfile

    from pyscipopt import Conshdlr, Model, quicksum
    from pyscipopt.scip import PY_SCIP_RESULT as SCIP_RESULT
    from pyscipopt.scip import Solution, Variable

    if ms.p is not None:
        msg = "branch_and_cut is for the set-covering form (p is None)"
        raise ValueError(msg)
    t0 = time.perf_counter()
    m = Model()
    m.hideOutput()
    with tempfile.TemporaryDirectory(prefix="motcua-bnc-") as tmp:
        path = f"{tmp}/master.lp"
        _write_lp(ms, path)
        m.readProblem(path)
    by_name = {v.name: v for v in m.getVars()}
    xv: dict[int, Variable] = {j: by_name[f"x{j}"] for j in range(ms.m) if f"x{j}" in by_name}
    allowed = np.array([j for j in np.flatnonzero(ms.allowed) if int(j) in xv], dtype=np.int64)
    stats = {"lazy": 0, "sepa": 0, "repaired": 0, "tried": 0}
    best_cost = [math.inf if hint is None else float(ms.costs[hint].sum())]

    def values(sol: Solution | None) -> FloatArray:
        v = np.zeros(ms.m)
        for j in allowed:
            v[j] = m.getSolVal(sol, xv[j])
        return v

    def add_rows(sets: list[IntArray]) -> None:
        for s in sets:
            a = cut_coefficients(ms, s)
            js = np.flatnonzero((a > 0) & ms.allowed)
            m.addCons(quicksum(float(a[j]) * xv[int(j)] for j in js if int(j) in xv)
                      >= float(ms.d[s].sum()), removable=False)

    def offer(x: BoolArray) -> None:
        if float(ms.costs[x].sum()) >= best_cost[0] - 1e-9:
            return
        sol = m.createSol()
        for j in allowed:
            m.setSolVal(sol, xv[j], 1.0 if x[j] else 0.0)
        stats["tried"] += 1
        if m.trySol(sol, printreason=False, completely=False, checkbounds=True,
                    checkintegrality=True, checklprows=True, free=True):
            best_cost[0] = float(ms.costs[x].sum())

    class _Flow(Conshdlr):
        def _stop(self) -> None:
            if options.stopped or (deadline is not None and time.perf_counter() > deadline):
                self.model.interruptSolve()

        def conscheck(self, constraints: object, solution: Solution, checkintegrality: bool,
                      checklprows: bool, printreason: bool, completely: bool,
                      ) -> dict[str, object]:
            x = values(solution) > 0.5
            bad = bool(separate(ms, x.astype(np.float64), ms.d, max_cuts=1))
            return {"result": SCIP_RESULT.INFEASIBLE if bad else SCIP_RESULT.FEASIBLE}

        def consenfolp(self, constraints: object, nusefulconss: int, solinfeasible: bool,
                       ) -> dict[str, object]:
            self._stop()
            v = values(None)
            x = v > 0.5
            found = separate(ms, x.astype(np.float64), ms.d)
            if not found:
                return {"result": SCIP_RESULT.FEASIBLE}
            new = [s for s in found if add_cut(ms, s)]
            stats["lazy"] += len(new)
            fixed = repair_sites(ms, x, close=True, deadline=time.perf_counter() + 0.5)
            if fixed is not None:
                stats["repaired"] += 1
                offer(fixed)
            if not new:
                logger.warning("branch-and-cut: a violated set already among the rows")
                return {"result": SCIP_RESULT.INFEASIBLE}
            add_rows(new)
            return {"result": SCIP_RESULT.CONSADDED}

        def consenfops(self, constraints: object, nusefulconss: int, solinfeasible: bool,
                       objinfeasible: bool) -> dict[str, object]:
            x = values(None) > 0.5
            bad = bool(separate(ms, x.astype(np.float64), ms.d, max_cuts=1))
            return {"result": SCIP_RESULT.INFEASIBLE if bad else SCIP_RESULT.FEASIBLE}

        def conssepalp(self, constraints: object, nusefulconss: int) -> dict[str, object]:
            self._stop()
            v = np.clip(values(None), 0.0, 1.0)
            new = [s for s in separate(ms, v, ms.d) + neighbourhood_cuts(ms, v, ms.d,
                                                                            max_cuts=50)
                   if add_cut(ms, s)]
            if not new:
                return {"result": SCIP_RESULT.DIDNOTFIND}
            stats["sepa"] += len(new)
            add_rows(new)
            return {"result": SCIP_RESULT.CONSADDED}

        def conslock(self, constraint: object, locktype: int, nlockspos: int,
                     nlocksneg: int) -> None:
            # closing a site can make the demand unassignable (rounding down locked)
            for j in allowed:
                self.model.addVarLocks(xv[j], nlockspos, nlocksneg)

    handler = _Flow()
    m.includeConshdlr(handler, "capflow", "capacity cut-set rows by maximum flow",
                      sepapriority=1, enfopriority=-10, chckpriority=-10, sepafreq=1,
                      propfreq=-1, eagerfreq=-1, maxprerounds=0, needscons=True)
    m.addPyCons(m.createCons(handler, "capflow", initial=False, separate=True,
                             enforce=True, check=True, propagate=False))
    if bool(np.all(ms.costs == np.round(ms.costs))):
        m.setObjIntegral()
    m.setParam("presolving/maxrounds", 0)
    m.setParam("numerics/feastol", BNC_FEASTOL)
    m.setParam("randomization/randomseedshift", int(options.seed) % 2**31)
    if deadline is not None:
        m.setParam("limits/time", max(0.01, deadline - time.perf_counter()))
    if hint is not None and _uncovered_rows(ms, hint).size == 0 and not separate(
            ms, hint.astype(np.float64), ms.d, max_cuts=1):
        # (added unchecked by SCIP: checked here)
        sol = m.createSol()
        for j in allowed:
            m.setSolVal(sol, xv[j], 1.0 if hint[j] else 0.0)
        m.addSol(sol, free=True)
    m.optimize()
    status = m.getStatus()
    best: BoolArray | None = None
    if m.getNSols() > 0:
        x = values(m.getBestSol()) > 0.5
        if not separate(ms, x.astype(np.float64), ms.d, max_cuts=1) and \
                _uncovered_rows(ms, x).size == 0:
            best = x
    bound = float(m.getDualbound())
    if status == "infeasible" or m.isInfinity(bound):
        bound = math.inf  # no set of sites takes the demand
    proven = status == "optimal" and best is not None
    note = (f"branch-and-cut (SCIP, flow cuts as lazy rows): {status}, "
            f"{m.getNNodes():,} nodes, {stats['lazy']} lazy and {stats['sepa']} separated "
            f"cuts, {stats['repaired']} answers repaired, bound {bound:.6g}, "
            f"{time.perf_counter() - t0:.1f} s")
    m.freeProb()
    return BranchAndCut(bound if not math.isnan(bound) and bound > -math.inf else math.nan,
                        best, proven, note)
