r"""p-median: the least weighted travel time with at most ``p`` sites.

Radius formulation (García, Labbé & Marín 2011, after Elloumi 2010): for
demand :math:`i` let :math:`D_i^1 < \dots < D_i^{G_i}` be its distinct
distances; :math:`u_{ik} \ge 0` is 1 when :math:`i` is farther than
:math:`D_i^k` from every open site.

.. math::

    \min \sum_i w_i \Big(D_i^1 + \sum_{k} (D_i^{k+1} - D_i^k)\, u_{ik}\Big)
    \quad\text{s.t.}\quad
    u_{i1} + \sum_{j: d_{ij} = D_i^1} x_j \ge 1,\;
    u_{ik} - u_{i,k-1} + \sum_{j: d_{ij} = D_i^k} x_j \ge 0,\;
    \sum_j x_j \le p

written as a chain, so each demand point has as many non-zeros as reachable
sites (not their square) and the LP bound equals that of the classical
assignment model.  An optional covered-share floor adds one row (weight beyond
``cover_minutes``) or, by a coverage standard, ``covered_i <= sum_{j covers i}
x_j`` and ``sum_i w_i covered_i >= share * total``.

The builder (:func:`radius_mip`) stands apart from the strategies: the
Lagrangian path of :mod:`optimizer._pmedian` (heuristic, Lagrangian bound,
reduced-cost fixing, then the radius model or branch-and-bound), and the
iteration over truncated radius models (each a relaxation; more levels where
the relaxation's sites serve a point beyond its kept levels) used with a floor
or without the Lagrangian path.  See :func:`p_median` for the details.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer import _pmedian as pm
from optimizer._mip import DEFAULT_ENGINE, SparseMip, solve_mip
from optimizer._preprocess import as_bool_csr
from optimizer._status import SolverReport, SolveStatus, relative_gap
from optimizer.errors import InvalidInputError
from optimizer.placement.inputs import (
    DEFAULT_TUNING,
    BoolArray,
    FloatArray,
    IntArray,
    Matrix,
    MinutesInputs,
    Sites,
    SolveOptions,
    Tuning,
    check_p,
    cover_inputs,
    minutes_inputs,
    remaining,
    restrict_columns,
)
from optimizer.placement.max_cover import solve_mclp
from optimizer.placement.result import PlacementResult, finish, restore

logger = logging.getLogger(__name__)

#: Relative tolerance for "the truncated model's optimum equals the full cost".
PMEDIAN_TOL = 1e-9


@dataclass(frozen=True)
class Median:
    """The p-median left to solve: the rows some allowed site reaches (within the
    penalty), without levels beyond a must-open site; ``const`` is the penalty paid
    by the rows no site reaches within it (``far_weight``)."""

    prob: MinutesInputs
    m: sp.csr_matrix
    w: FloatArray
    penalty: float | None
    const: float
    far_weight: float
    has_fixed: BoolArray
    cand: IntArray
    col_pos: IntArray


def _drop_entries(m: sp.csr_matrix, keep: BoolArray) -> sp.csr_matrix:
    """``m`` without the entries not in ``keep`` (``m`` itself when it keeps them all),
    built as CSR directly: through COO it held several copies of the matrix at once."""
    if keep.all():
        return m
    kept_before = np.zeros(keep.size + 1, dtype=np.int64)  # entries kept before each one
    np.cumsum(keep, out=kept_before[1:])
    out = sp.csr_matrix((m.data[keep], m.indices[keep], kept_before[m.indptr].astype(m.indptr.dtype)),
                       shape=m.shape)
    out.sort_indices()
    return out


def prepare_median(prob: MinutesInputs, penalty: float | None) -> Median:
    """The rows and entries of ``prob`` the radius and Lagrangian models need."""
    inp, mins = prob.inp, prob.mins
    rows_in = np.flatnonzero(np.diff(mins.indptr) > 0)
    m = mins if rows_in.size == mins.shape[0] else mins[rows_in]  # no copy when all are in
    w = inp.weights[rows_in]
    const = far_weight = 0.0
    if penalty is not None:
        # serving farther than the penalty never beats leaving the point unassigned
        m = _drop_entries(m, m.data <= penalty)
        far = np.diff(m.indptr) == 0
        far_weight = float(w[far].sum())
        const = far_weight * float(penalty)
        m, w = m[~far], w[~far]
    # levels beyond a must-open site are never needed: that site bounds the distance
    has_fixed = np.zeros(m.shape[0], dtype=bool)
    if inp.fixed.size:
        r_all = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        dfix = np.full(m.shape[0], np.inf)
        sel = inp.fixed_mask[m.indices]
        np.minimum.at(dfix, r_all[sel], m.data[sel])
        m = _drop_entries(m, m.data <= dfix[r_all])
        has_fixed = np.isfinite(dfix)
    cand = np.flatnonzero(inp.allowed)
    col_pos = np.full(inp.n_sites, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    return Median(prob, m, w, penalty, const, far_weight, has_fixed, cand, col_pos)


@dataclass(frozen=True)
class Floor:
    """A covered-share floor: ``by_minutes`` is (cover_minutes, weight allowed beyond
    it); ``by_standard`` is (coverage matrix, all weights, weight needed within it)."""

    share: float
    cover_minutes: float | None
    by_minutes: tuple[float, float] | None = None
    by_standard: tuple[sp.csr_matrix, FloatArray, float] | None = None

    def why(self, p: int) -> str:
        """Why ``p`` sites cannot meet the floor, in words."""
        pct = f"{100 * float(self.share):g} % of the weight"
        if self.by_standard is not None:
            return f"{p} sites cannot cover {pct} within the standard"
        return (f"{p} sites cannot assign {pct} within {float(self.cover_minutes or 0):g} min "
                "(demand no site reaches counts against the share)")


def _floor(med: Median, share: float | None, cover_minutes: float | None,
           covered: Matrix | None) -> Floor | None:
    inp = med.prob.inp
    if share is None:
        return None
    total = float(inp.weights.sum())
    if covered is not None:
        cov = restrict_columns(med.prob.rows(as_bool_csr(covered, med.prob.full_shape)),
                               inp.allowed)
        return Floor(share, cover_minutes, by_standard=(cov, inp.weights,
                                                        share * total * (1.0 - 1e-9)))
    # weight allowed beyond cover_minutes: demand no site reaches, and demand no site
    # reaches within the penalty (left out of the model, never assigned), counts against it
    return Floor(share, cover_minutes, by_minutes=(
        float(cover_minutes or 0.0), total - share * total
        - float(inp.weights[med.prob.uncoverable].sum()) - med.far_weight))


def _check_floor_args(unassigned_penalty_min: float | None, cover_minutes: float | None,
                      min_covered_share: float | None, covered: Matrix | None) -> None:
    if unassigned_penalty_min is not None and not unassigned_penalty_min >= 0:
        msg = f"unassigned_penalty_min must be >= 0, got {unassigned_penalty_min!r}"
        raise InvalidInputError(msg)
    if (min_covered_share is None) != (cover_minutes is None and covered is None) or (
            cover_minutes is not None and covered is not None):
        msg = ("give min_covered_share with one of cover_minutes or covered, "
               "or none of them")
        raise ValueError(msg)
    if min_covered_share is not None and not 0.0 <= min_covered_share <= 1.0:
        msg = f"min_covered_share must be in [0, 1], got {min_covered_share!r}"
        raise InvalidInputError(msg)


# ---------------------------------------------------------------------------
# the radius model
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Levels:
    """Per row, the distinct distance levels, numbered globally row by row in increasing
    distance: ``of_entry`` per matrix entry, ``value`` and ``row`` per level, ``count``
    and ``first`` (its first level) per row."""

    of_entry: IntArray
    count: IntArray
    value: FloatArray
    row: IntArray
    first: IntArray = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "first",
                           (np.cumsum(self.count) - self.count).astype(np.int64))

    @staticmethod
    def of(m: sp.csr_matrix) -> Levels:
        n_rows = m.shape[0]
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(m.indptr))
        order = np.lexsort((m.data, rows))
        d_sorted = m.data[order]
        r_sorted = rows[order]
        new = np.ones(order.size, dtype=bool)
        new[1:] = (r_sorted[1:] != r_sorted[:-1]) | (d_sorted[1:] != d_sorted[:-1])
        of_entry = np.empty(order.size, dtype=np.int64)
        of_entry[order] = np.cumsum(new) - 1
        level_row = r_sorted[new]
        return Levels(of_entry, np.bincount(level_row, minlength=n_rows).astype(np.int64),
                      d_sorted[new], level_row)

    def within(self, dist: FloatArray) -> IntArray:
        """Per row, how many of its levels are at most ``dist`` (all if ``dist`` is inf), >= 1."""
        cnt = np.bincount(self.row[self.value <= dist[self.row]],
                          minlength=self.count.size).astype(np.int64)
        cnt[~np.isfinite(dist)] = self.count[~np.isfinite(dist)]
        return np.clip(cnt, 1, None)


def nearest_distance(m: sp.csr_matrix, open_mask: BoolArray) -> FloatArray:
    """Per row of ``m``, the smallest entry among open columns (``inf`` if none)."""
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    sel = open_mask[m.indices]
    out = np.full(m.shape[0], np.inf)
    np.minimum.at(out, rows[sel], m.data[sel])
    return out


def median_cost(med: Median, open_mask: BoolArray) -> float:
    """Weighted distance of ``open_mask`` (``penalty`` beyond the cutoff, ``inf`` if none)."""
    d = nearest_distance(med.m, open_mask)
    far = ~np.isfinite(d)
    if far.any():
        if med.penalty is None:
            return math.inf
        d[far] = med.penalty
    return float(med.w @ d)


def _tail(med: Median) -> FloatArray:
    return np.full(med.m.shape[0], math.inf if med.penalty is None else float(med.penalty))


def _greedy(med: Median, p: int) -> BoolArray:
    """Greedy p-median start: the must-open sites, then the largest saving each step
    (the greedy of :mod:`optimizer._pmedian`, on this matrix)."""
    inp = med.prob.inp
    return pm.greedy(pm.Pairs.of(med.m), med.w, _tail(med), p, inp.fixed_mask, inp.allowed)


@dataclass(frozen=True)
class RadiusMip:
    """A radius model: ``x0`` starts the site block; ``u_value``/``u_row`` give each
    ``u`` variable's level distance and row (``nan``/-1 for other variables)."""

    mip: SparseMip
    x0: int
    u_value: FloatArray
    u_row: IntArray


def radius_mip(med: Median, lv: Levels, kept: IntArray, p: int, floor: Floor | None,
               ) -> RadiusMip:
    """The radius model keeping the first ``kept[i]`` levels of each row.

    A row cut short pays the next true distance :math:`D_i^{k+1}` when it is not
    served within its kept levels, which never exceeds its true cost, so the
    model is a relaxation of the full one (equal to it when nothing is cut).
    """
    m, w, cand = med.m, med.w, med.cand
    n_rows = m.shape[0]
    rank = np.arange(lv.value.size, dtype=np.int64) - lv.first[lv.row]
    lvl_keep = rank < kept[lv.row]
    new_id = np.cumsum(lvl_keep) - 1
    ent_keep = lvl_keep[lv.of_entry]
    ent_rows = new_id[lv.of_entry[ent_keep]]
    ent_cols = med.col_pos[m.indices[ent_keep]]
    value = lv.value[lvl_keep]
    row = lv.row[lvl_keep]
    total = value.size
    first = (np.cumsum(kept) - kept).astype(np.int64)
    last = first + kept - 1
    cut = kept < lv.count
    # next distance for each level: D^{k+1}; after the last kept level the next true
    # distance (cut rows) or the penalty (inf: the row must be served)
    next_value = np.empty(total)
    next_value[:-1] = value[1:]
    tail = _tail(med)
    tail[cut] = lv.value[(lv.first + kept)[cut]]
    next_value[last] = tail
    has_u = np.ones(total, dtype=bool)
    has_u[last[~(cut | ((med.penalty is not None) & ~med.has_fixed))]] = False
    u_index = np.full(total, -1, dtype=np.int64)
    mip = SparseMip()
    # must-open sites are open in the model too, so they count against p
    x0 = mip.add_variables(cand.size, lb=med.prob.inp.fixed_mask[cand].astype(np.float64),
                           ub=1.0, integer=True)
    n_u = int(has_u.sum())
    u0 = mip.add_variables(n_u, lb=0.0, ub=math.inf,
                           objective=w[row[has_u]] * (next_value[has_u] - value[has_u]))
    u_index[has_u] = u0 + np.arange(n_u)
    mip.offset = float((w * lv.value[lv.first]).sum()) if n_rows else 0.0
    # chain: u_k - u_{k-1} + (sites at distance D^k) >= [k is the first level]
    at = np.arange(total, dtype=np.int64)
    is_first = np.zeros(total, dtype=bool)
    is_first[first] = True
    prev_lv = at[~is_first]
    prev_u = u_index[prev_lv - 1]
    mip.add_rows(
        total,
        np.concatenate([ent_rows, at[has_u], prev_lv[prev_u >= 0]]),
        np.concatenate([x0 + ent_cols, u_index[has_u], prev_u[prev_u >= 0]]),
        np.concatenate([np.ones(ent_rows.size), np.ones(n_u), -np.ones(int((prev_u >= 0).sum()))]),
        lb=is_first.astype(np.float64),
    )
    # at most p open sites
    mip.add_rows(1, np.zeros(cand.size, dtype=np.int64), x0 + np.arange(cand.size), 1.0,
                 ub=float(p))
    if floor is not None and floor.by_minutes is not None:
        _add_minutes_floor(mip, w, value, row, u_index, floor.by_minutes)
    if floor is not None and floor.by_standard is not None:
        _add_standard_floor(mip, x0, med.col_pos, floor.by_standard)
    u_value = np.full(mip.n_vars, np.nan)
    u_value[u_index[has_u]] = value[has_u]
    u_row = np.full(mip.n_vars, -1, dtype=np.int64)
    u_row[u_index[has_u]] = row[has_u]
    return RadiusMip(mip, x0, u_value, u_row)


def _add_minutes_floor(mip: SparseMip, w: FloatArray, value: FloatArray, row: IntArray,
                       u_index: IntArray, by_minutes: tuple[float, float]) -> None:
    """Weight beyond ``cover_minutes`` (``w_i`` times ``u`` at the row's last level
    within it) at most the weight allowed beyond it."""
    cover_minutes, allowed_far = by_minutes
    k_cov = np.full(w.size, -1, dtype=np.int64)
    okl = np.flatnonzero(value <= cover_minutes)
    np.maximum.at(k_cov, row[okl], okl)
    base_far = float(w[k_cov < 0].sum())
    rows_k = np.flatnonzero(k_cov >= 0)
    ui = u_index[k_cov[rows_k]]
    sel = ui >= 0  # -1: that level forces service, the row is always within
    mip.add_rows(1, np.zeros(int(sel.sum()), dtype=np.int64), ui[sel], w[rows_k[sel]],
                 ub=allowed_far - base_far)


def _add_standard_floor(mip: SparseMip, x0: int, col_pos: IntArray,
                        by_standard: tuple[sp.csr_matrix, FloatArray, float]) -> None:
    """covered_i <= open sites whose standard covers i; sum w covered >= need."""
    cov, w_all, need = by_standard
    n_all = cov.shape[0]
    c0 = mip.add_variables(n_all)
    r_cov = np.repeat(np.arange(n_all, dtype=np.int64), np.diff(cov.indptr))
    j = col_pos[cov.indices]
    ok = j >= 0
    i_all = np.arange(n_all, dtype=np.int64)
    mip.add_rows(n_all, np.concatenate([i_all, r_cov[ok]]),
                 np.concatenate([c0 + i_all, x0 + j[ok]]),
                 np.concatenate([np.ones(n_all), -np.ones(int(ok.sum()))]), ub=0.0)
    mip.add_rows(1, np.zeros(n_all, dtype=np.int64), c0 + i_all, w_all, lb=need)


def _radius_hint(med: Median, rm: RadiusMip, best_open: BoolArray) -> FloatArray:
    """u at a level is 1 when the row's nearest open site is farther than it."""
    hint = np.zeros(rm.mip.n_vars)
    hint[rm.x0:rm.x0 + med.cand.size] = best_open[med.cand]
    is_u = np.flatnonzero(rm.u_row >= 0)
    near = nearest_distance(med.m, best_open)
    hint[is_u] = near[rm.u_row[is_u]] > rm.u_value[is_u]
    return hint


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------


def _lagrangian(med: Median, p: int, options: SolveOptions, *, deadline: float | None,
                t0: float) -> PlacementResult:
    """:func:`p_median` by heuristic, Lagrangian bound and reduced-cost fixing."""
    inp = med.prob.inp
    out = pm.solve(pm.Pairs.of(med.m), med.w, _tail(med), p, inp.fixed_mask, inp.allowed,
                   deadline=deadline, engine=options.engine, seed=options.seed,
                   threads=options.threads, stop=options.stop)
    wall = time.perf_counter() - t0
    solver, const = options.solver_name, med.const
    common = (wall, solver, options.seed, options.threads, options.time_limit_s)
    msg = f"Lagrangian + reduced-cost fixing: {out.message}"
    has = math.isfinite(out.cost)
    if has:
        st = SolveStatus.OPTIMAL if out.proven else SolveStatus.FEASIBLE
        obj, bnd = out.cost + const, (out.cost if out.proven else out.bound) + const
        report = SolverReport(st, obj, bnd, relative_gap(obj, bnd), *common, msg)
    elif out.proven:
        report = SolverReport(SolveStatus.INFEASIBLE, math.nan, math.nan, math.inf, *common,
                              f"{p} sites cannot serve every demand point within the cutoff")
    else:
        last = out.stages[-1] if out.stages else None
        st = last.status if last is not None else SolveStatus.NOT_SOLVED
        report = SolverReport(st, math.nan, out.bound + const, math.inf, *common, msg)
    open_mask = out.open_mask if has else np.zeros(inp.n_sites, dtype=bool)
    res = finish("pmedian", inp, open_mask, med.prob.reach, med.prob.mins, report.objective,
                 report, med.prob.uncoverable, stages=out.stages)
    logger.info("p_median: %d sites open, %s", res.open_sites.size, res.report.summary())
    return res


@dataclass
class _Start:
    """What the floored radius search starts from: plans meeting the floor, a lower
    bound (without the penalty constant), the solves that found them and a note."""

    masks: list[BoolArray] = field(default_factory=list)
    lower: float = -math.inf
    before: list[SolverReport] = field(default_factory=list)
    note: str = ""


def _within(mins: sp.csr_matrix, minutes: float, penalty: float | None) -> sp.csr_matrix:
    """Demand x site: reachable within ``minutes`` (and within the penalty, beyond which
    nobody is assigned)."""
    limit = minutes if penalty is None else min(minutes, float(penalty))
    out = mins.copy()
    out.data = out.data <= limit
    out.eliminate_zeros()
    return out.astype(bool)


def _floor_start(med: Median, p: int, fl: Floor, options: SolveOptions, *,
                 deadline: float | None, t0: float) -> PlacementResult | _Start:
    """The floor only removes plans, so the least travel without it bounds the floored
    optimum, and a plan meeting the floor is an answer (without this a floor the
    unfloored optimum already met could end with no answer at all).  Otherwise
    :func:`solve_mclp` finds the most coverage ``p`` sites reach: a start meeting the
    floor, or the proof that none does.  Returns the answer when this settles it."""
    inp = med.prob.inp
    cover_bool = (fl.by_standard[0] if fl.by_standard is not None
                  else _within(med.prob.mins, float(fl.cover_minutes or 0.0), med.penalty))
    floor_weight = fl.share * float(inp.weights.sum()) * (1.0 - 1e-9)

    def meets(sites: IntArray) -> bool:
        hit = np.asarray(cover_bool[:, sites].sum(axis=1)).ravel() > 0
        return bool(inp.weights[hit].sum() >= floor_weight)

    st = _Start()
    half = None if deadline is None else t0 + 0.6 * (deadline - t0)
    free = _lagrangian(med, p, options, deadline=half, t0=t0)
    st.before.append(free.report)
    if free.report.status is SolveStatus.INFEASIBLE:
        return free  # no plan serves everyone even without the floor
    if math.isfinite(free.report.best_bound):
        st.lower = free.report.best_bound - med.const
        st.note = "bound from the plan without the floor"
    if free.report.status.has_solution and meets(free.open_sites):
        if free.report.status is SolveStatus.OPTIMAL:
            why = (f"the least-travel plan without the floor already has "
                   f"{100 * fl.share:g} % or more covered")
            report = replace(free.report, wall_time_s=time.perf_counter() - t0,
                             message="; ".join(x for x in (free.report.message, why) if x))
            return replace(free, report=report, stages=(free.report,))
        st.masks.append(np.isin(np.arange(inp.n_sites), free.open_sites))
        st.note += "; start: the plan without the floor"
    if st.masks:
        return st
    # the most coverage p sites can reach: a plan meeting the floor, or its proof that none does
    left = None if deadline is None else max(0.001, 0.25 * (deadline - time.perf_counter()))
    mc = solve_mclp(cover_inputs(cover_bool, inp.weights, inp.fixed, inp.closed), p,
                    options.within(left))
    st.before.append(mc.report)
    if mc.report.status.has_solution and meets(mc.open_sites):
        st.masks.append(np.isin(np.arange(inp.n_sites), mc.open_sites))
        st.note += "; start: the most coverage (mclp)"
    # mclp maximises: its bound caps the coverage of every plan of p sites
    if math.isfinite(mc.report.best_bound) and mc.report.best_bound < floor_weight:
        report = SolverReport(SolveStatus.INFEASIBLE, math.nan, math.nan, math.inf,
                              time.perf_counter() - t0, options.solver_name, options.seed,
                              options.threads, options.time_limit_s,
                              fl.why(p) + " (the most they can cover, proven by mclp)")
        return finish("pmedian", inp, np.zeros(inp.n_sites, dtype=bool), med.prob.reach,
                      med.prob.mins, math.nan, report, med.prob.uncoverable,
                      stages=tuple(st.before))
    return st


@dataclass
class _Search:
    """State of the iteration over truncated radius models."""

    best_open: BoolArray
    best_cost: float
    lower: float
    kept: IntArray
    stages: list[SolverReport] = field(default_factory=list)
    proven: bool = False
    infeasible: bool = False


def _first_search(med: Median, lv: Levels, p: int, fl: Floor | None, start: _Start,
                  truncate: bool) -> _Search:
    """A greedy start, whose distances choose the levels of the first (truncated) model."""
    greedy = _greedy(med, p)
    # the greedy start ignores a coverage floor, so it is no answer when there is one
    s = _Search(greedy, median_cost(med, greedy) if fl is None else math.inf, start.lower,
                lv.count.copy())
    for mask in start.masks:  # plans known to meet the floor
        cost = median_cost(med, mask)
        if cost < s.best_cost:
            s.best_open, s.best_cost = mask, cost
    if fl is None and truncate:
        s.kept = lv.within(nearest_distance(med.m, greedy))
    return s


def _radius_search(med: Median, lv: Levels, p: int, fl: Floor | None, s: _Search,
                   options: SolveOptions, deadline: float | None) -> _Search:
    """Solve truncated models, each a relaxation, giving rows served beyond their kept
    levels more levels, until the relaxation's sites serve every row within them."""
    inp = med.prob.inp
    while True:
        rm = radius_mip(med, lv, s.kept, p, fl)
        hint = _radius_hint(med, rm, s.best_open) if math.isfinite(s.best_cost) else None
        sol = solve_mip(rm.mip, engine=options.engine, time_limit_s=remaining(deadline),
                        seed=options.seed, threads=options.threads, stop=options.stop,
                        hint=hint)
        s.stages.append(sol.report)
        status = sol.report.status
        if status is SolveStatus.INFEASIBLE:
            s.infeasible = True  # a relaxation of the full model is infeasible
            return s
        if sol.values is not None:
            trial = inp.fixed_mask
            trial[med.cand[sol.values[rm.x0:rm.x0 + med.cand.size] > 0.5]] = True
            cost = median_cost(med, trial)
            if cost < s.best_cost:
                s.best_open, s.best_cost = trial, cost
        # every truncated model is a relaxation: its optimum (or bound) bounds the full one
        if status is SolveStatus.OPTIMAL:
            s.lower = max(s.lower, sol.report.objective)
        elif math.isfinite(sol.report.best_bound):
            s.lower = max(s.lower, sol.report.best_bound)
        if status is not SolveStatus.OPTIMAL:
            return s
        need = lv.within(nearest_distance(med.m, trial))
        grow = need > s.kept
        if not grow.any():
            # every row is served within its kept levels, where the relaxation's cost
            # is the true cost: the relaxation's optimum is feasible, hence optimal
            s.best_open, s.best_cost, s.proven = trial, cost, True
            return s
        if s.best_cost <= s.lower + PMEDIAN_TOL * max(1.0, abs(s.lower)):
            s.proven = True
            return s
        # rows served beyond their kept levels get the levels up to that distance
        if (deadline is not None and time.perf_counter() >= deadline) or options.stopped:
            return s
        s.kept = np.where(grow, np.maximum(need, np.minimum(lv.count, 2 * s.kept)), s.kept)
        logger.debug("p_median: %d rows get more levels (%d of %d kept)", int(grow.sum()),
                     int(s.kept.sum()), int(lv.count.sum()))


def _search_report(med: Median, lv: Levels, p: int, fl: Floor | None, s: _Search, note: str,
                   options: SolveOptions, wall: float) -> SolverReport:
    """The report of the radius search, in the objective's terms (penalties included)."""
    common = (wall, options.solver_name, options.seed, options.threads, options.time_limit_s)
    n_solves = len(s.stages)
    msg = (f"radius formulation, {n_solves} solve(s), {int(s.kept.sum())} of "
           f"{int(lv.count.sum())} levels" + (f"; {note.lstrip('; ')}" if note else ""))
    if s.infeasible:
        why = (fl.why(p) if fl is not None
               else f"{p} sites cannot serve every demand point within the cutoff")
        report = SolverReport(SolveStatus.INFEASIBLE, math.nan, math.nan, math.inf, *common, why)
    elif math.isfinite(s.best_cost):
        lower = s.best_cost if s.proven else s.lower
        st = SolveStatus.OPTIMAL if s.proven else SolveStatus.FEASIBLE
        text = msg if s.proven else "; ".join(x for x in (
            msg, s.stages[-1].message, "greedy start" if n_solves == 0 else "") if x)
        report = SolverReport(st, s.best_cost, lower, relative_gap(s.best_cost, lower),
                              *common, text)
    else:
        report = replace(s.stages[-1], wall_time_s=wall, best_bound=s.lower)
    const = med.const
    if report.status.has_solution and const:
        return replace(report, objective=report.objective + const,
                       best_bound=report.best_bound + const,
                       gap=relative_gap(report.objective + const, report.best_bound + const))
    if const and math.isfinite(report.best_bound):  # no answer, but a bound in the same terms
        return replace(report, best_bound=report.best_bound + const)
    return report


def solve_p_median(prob: MinutesInputs, p: int, options: SolveOptions, *,
                   unassigned_penalty_min: float | None = None,
                   cover_minutes: float | None = None, min_covered_share: float | None = None,
                   covered: Matrix | None = None,
                   tuning: Tuning = DEFAULT_TUNING) -> PlacementResult:
    """:func:`p_median` on checked inputs."""
    t0 = time.perf_counter()
    check_p(p, prob.inp.fixed.size)
    _check_floor_args(unassigned_penalty_min, cover_minutes, min_covered_share, covered)
    med = prepare_median(prob, unassigned_penalty_min)
    fl = _floor(med, min_covered_share, cover_minutes, covered)
    deadline = options.deadline(t0)
    lagrangian = tuning.truncate and tuning.lagrangian
    if fl is None and lagrangian:
        return _lagrangian(med, p, options, deadline=deadline, t0=t0)
    start = _Start()
    if fl is not None and lagrangian:
        found = _floor_start(med, p, fl, options, deadline=deadline, t0=t0)
        if isinstance(found, PlacementResult):
            return found
        start = found
    lv = Levels.of(med.m)
    s = _first_search(med, lv, p, fl, start, tuning.truncate)
    s = _radius_search(med, lv, p, fl, s, options, deadline)
    report = _search_report(med, lv, p, fl, s, start.note, options, time.perf_counter() - t0)
    has = math.isfinite(s.best_cost) and not s.infeasible
    open_mask = s.best_open if has else np.zeros(prob.inp.n_sites, dtype=bool)
    res = finish("pmedian", prob.inp, open_mask, prob.reach, prob.mins, report.objective,
                 report, prob.uncoverable, stages=(*start.before, *s.stages))
    logger.info("p_median: %d sites open, %s", res.open_sites.size, res.report.summary())
    return res


def p_median(
    minutes: Matrix,
    weights: npt.ArrayLike,
    p: int,
    *,
    fixed: Sites = None,
    closed: Sites = None,
    unassigned_penalty_min: float | None = None,
    cover_minutes: float | None = None,
    min_covered_share: float | None = None,
    covered: Matrix | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> PlacementResult:
    r"""p-median: the least weighted travel time with at most ``p`` sites.

    The radius formulation is in the module docstring.  Missing entries are
    beyond the cutoff: a demand point must be served by a reachable site, unless
    ``unassigned_penalty_min`` is given, in which case leaving it unassigned
    costs that many minutes per unit of weight (:math:`D_i^{G_i+1}`); a point
    then never pays more than the penalty (farther sites are left out).  A
    demand point that no allowed site reaches at all is left out of the model
    and of the objective, with or without a penalty (no plan changes its cost),
    and reported in ``uncoverable`` with its weight.

    With ``tuning.truncate`` (default) the model is first built with, per demand
    point, only the levels up to its distance in a greedy solution; a point cut
    short pays the next true distance :math:`D_i^{k+1}` if not served within its
    kept levels, so each such model is a relaxation and its optimum a valid
    lower bound.  If the relaxation's optimal sites serve every point within its
    kept levels they are optimal for the full model; otherwise the points served
    farther get more levels and the model is solved again (warm-started), as in
    García, Labbé & Marín (2011).  ``OPTIMAL`` is reported only after that proof.

    With ``tuning.lagrangian`` (default, used when ``truncate`` is on and there is
    no coverage floor) the classical exact recipe runs first (see
    :mod:`optimizer._pmedian`): greedy plus fast vertex substitution for an
    upper bound, a Lagrangian lower bound (relaxed assignment constraints,
    subgradient steps, Lagrangian heuristic), reduced-cost fixing of sites,
    pairs and unassigned options against the upper bound, then the radius
    model of what is left, or, when 40k pairs or more are left, a
    branch-and-bound over Lagrangian bounds.  Fixing only removes what every
    solution at least as good as the incumbent lacks, so an optimal reduced
    model (or a finished tree) proves the optimum.  With a coverage floor (and
    ``truncate`` and ``lagrangian``), that path first solves the problem without
    the floor in up to 60 % of the time: the floor only removes plans, so its
    bound holds, and an optimum that meets the floor is the answer. Otherwise
    :func:`optimizer.placement.mclp` finds the most coverage ``p`` sites reach: a
    start that meets the floor, or ``INFEASIBLE`` when even its bound is below it;
    then the radius model with the floor, from that start.

    Parameters
    ----------
    minutes : demand x site travel minutes (float, missing = unreachable).
    weights : demand weights.
    p : maximum number of open sites, must-open ones included.
    unassigned_penalty_min : minutes charged for an unassigned demand point;
        ``None`` makes assignment mandatory (INFEASIBLE if ``p`` cannot reach all).
    cover_minutes, min_covered_share : optional floor: at least this share of
        the total weight must be assigned within ``cover_minutes`` (the full,
        untruncated model is used then).
    covered, min_covered_share : instead of ``cover_minutes``, a floor by a
        coverage standard (boolean demand x site matrix, e.g. minutes AND km):
        at least this share of the total weight within the standard of an open
        site (the share :func:`optimizer.placement.mclp` maximises), whatever its
        assigned site.
    tuning : benchmark switches (:class:`optimizer.placement.inputs.Tuning`):
        ``truncate`` (``False`` builds every level at once: neither heuristic nor
        Lagrangian, the plain model) and ``lagrangian``.
    Other parameters as in :func:`optimizer.placement.lscp`.

    Returns
    -------
    PlacementResult
        ``objective`` is weighted minutes (penalties included);
        ``covered_weight`` the weight assigned to a reachable site.
    """
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    prob = minutes_inputs(minutes, weights, fixed, closed)
    res = solve_p_median(prob, p, options, unassigned_penalty_min=unassigned_penalty_min,
                         cover_minutes=cover_minutes, min_covered_share=min_covered_share,
                         covered=covered, tuning=tuning)
    return restore(res, prob.dropped)
