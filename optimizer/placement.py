"""Where to put reception points: covering, median, center and capacitated models.

Every model works on a sparse demand x site matrix and a demand weight vector
(residents or in-person dossiers per day), never on a dense matrix:

* ``covered`` (boolean): demand ``i`` is within the standard (30 min / 5 km) of
  site ``j``; used by :func:`lscp`, :func:`mclp`, :func:`backup`,
  :func:`capacitated`, :func:`pareto` and :func:`lexicographic`;
* ``minutes`` (float): travel time of reachable pairs; a missing entry means
  "beyond the cutoff", an explicit ``0.0`` a site at the demand point; used by
  :func:`p_median` and :func:`p_center`.

Site indices in ``fixed`` are always open (offices that must stay); those in
``closed`` are never opened.  Demand that no allowed site can reach is reported
(indices and weight) and the model solves for the rest.

Every function returns a frozen :class:`PlacementResult` holding the open
sites, each demand point's assigned site (``-1`` if none), the objective and a
:class:`optimizer._status.SolverReport` (status, best bound, gap, wall time,
engine, seed, threads, time limit).  ``FEASIBLE`` is never reported as
``OPTIMAL``.  Solves go through OR-Tools MathOpt (HiGHS by default, SCIP on
request) after the reductions of :mod:`optimizer._preprocess`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer import _pmedian as _pm
from optimizer._cover import (
    McSplit,
    greedy_cover,
    improve_cover,
    is_concave,
    mclp_lagrangian_bound,
    perturb_mclp,
    split_mclp,
    swap_mclp,
)
from optimizer._mip import (
    ABSOLUTE_GAP,
    DEFAULT_ENGINE,
    LpIterate,
    MipSolution,
    SparseMip,
    resolve_engine,
    solve_lp_first_order,
    solve_mip,
)
from optimizer._preprocess import as_bool_csr, components, reduce_lscp, reduce_mclp
from optimizer._status import SolverReport, SolveStatus, check_seed_threads, relative_gap

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Matrix: TypeAlias = sp.spmatrix | sp.sparray

#: Components with at most this many candidate sites are solved together in one MIP.
SMALL_COMPONENT_SITES = 60

__all__ = [
    "PlacementResult", "ParetoResult", "lscp", "mclp", "p_median", "p_center",
    "capacitated", "backup", "lexicographic", "pareto",
]


@dataclass(frozen=True)
class PlacementResult:
    """The answer of one placement model.

    Attributes
    ----------
    model : which model produced it (``"lscp"``, ``"mclp"``, ...).
    open_sites : indices of the open sites, sorted.
    assignment : per demand point, the index of its assigned site, ``-1`` if none.
    objective : the model's objective (sites or cost, covered weight,
        weighted minutes, worst minutes), ``nan`` when no solution was found.
    report : engine status, best bound, gap, wall time, seed, threads, time limit.
    total_weight : sum of all demand weights.
    covered_weight : weight assigned to an open site within the matrix.
    uncoverable : demand indices no allowed site can reach at all.
    uncoverable_weight : their total weight.
    travel_min : per demand point, minutes to the assigned site (``nan`` if
        unassigned or the minutes are unknown).
    load : per site, the weight assigned to it (zeros for closed sites).
    capacity : per site capacity, for capacitated models.
    overload : per site weight above capacity (capacitated models with a penalty).
    backup_weight : weight covered by two or more open sites (backup model).
    stages : reports of the individual solves (components, lexicographic
        stages, binary-search steps).
    """

    model: str
    open_sites: IntArray
    assignment: IntArray
    objective: float
    report: SolverReport
    total_weight: float
    covered_weight: float
    uncoverable: IntArray
    uncoverable_weight: float
    travel_min: FloatArray
    load: FloatArray
    capacity: FloatArray | None = None
    overload: FloatArray | None = None
    backup_weight: float | None = None
    stages: tuple[SolverReport, ...] = field(default_factory=tuple)

    @property
    def status(self) -> SolveStatus:
        return self.report.status

    @property
    def best_bound(self) -> float:
        return self.report.best_bound

    @property
    def gap(self) -> float:
        return self.report.gap

    @property
    def covered_share(self) -> float:
        """Covered weight over total weight, in ``[0, 1]`` (1 when there is no demand)."""
        return self.covered_weight / self.total_weight if self.total_weight > 0 else 1.0


@dataclass(frozen=True)
class ParetoResult:
    """Covered weight for ``p = 1 .. P`` points (see :func:`pareto`)."""

    p_values: IntArray
    covered_weight: FloatArray
    covered_share: FloatArray
    best_bound: FloatArray
    statuses: tuple[SolveStatus, ...]
    open_sites: tuple[IntArray, ...]
    results: tuple[PlacementResult, ...]


# ---------------------------------------------------------------------------
# input checks and shared helpers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    n_demand: int
    n_sites: int
    weights: FloatArray
    allowed: BoolArray
    fixed: IntArray
    costs: FloatArray


def _check(
    shape: tuple[int, int],
    weights: npt.ArrayLike,
    fixed: Sequence[int] | npt.ArrayLike | None,
    closed: Sequence[int] | npt.ArrayLike | None,
    costs: npt.ArrayLike | None,
) -> _Inputs:
    n_demand, n_sites = shape
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (n_demand,):
        msg = f"weights has {w.size} entries, the matrix has {n_demand} demand rows"
        raise ValueError(msg)
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        msg = f"weights must be finite and >= 0; demand row {int(bad[0])} has {w[bad[0]]!r}"
        raise ValueError(msg)

    def _idx(name: str, v: Sequence[int] | npt.ArrayLike | None) -> IntArray:
        a = np.unique(np.asarray([] if v is None else v, dtype=np.int64).reshape(-1))
        out = a[(a < 0) | (a >= n_sites)]
        if out.size:
            msg = f"{name} site index {int(out[0])} is outside 0..{n_sites - 1}"
            raise ValueError(msg)
        return a

    f = _idx("fixed", fixed)
    c = _idx("closed", closed)
    both = np.intersect1d(f, c)
    if both.size:
        msg = f"site {int(both[0])} is both fixed (must open) and closed"
        raise ValueError(msg)
    cost = np.ones(n_sites) if costs is None else np.asarray(costs, dtype=np.float64).reshape(-1)
    if cost.shape != (n_sites,):
        msg = f"costs has {cost.size} entries, the matrix has {n_sites} sites"
        raise ValueError(msg)
    if (~np.isfinite(cost) | (cost < 0)).any():
        msg = "costs must be finite and >= 0"
        raise ValueError(msg)
    allowed = np.ones(n_sites, dtype=bool)
    allowed[c] = False
    return _Inputs(n_demand, n_sites, w, allowed, f, cost)


def _check_p(p: int | None, n_fixed: int, name: str = "p") -> None:
    if p is not None and p < n_fixed:
        msg = f"{name}={p} is smaller than the {n_fixed} must-open sites"
        raise ValueError(msg)
    if p is not None and p < 0:
        msg = f"{name} must be >= 0, got {p}"
        raise ValueError(msg)


def _minutes_csr(minutes: Matrix) -> sp.csr_matrix:
    m = sp.csr_matrix(minutes, dtype=np.float64, copy=True)
    m.sum_duplicates()
    m.sort_indices()
    if m.data.size and (~np.isfinite(m.data) | (m.data < 0)).any():
        msg = "minutes must be finite and >= 0 (leave beyond-cutoff pairs out of the matrix)"
        raise ValueError(msg)
    return m


def _restrict_columns(m: sp.csr_matrix, allowed: BoolArray) -> sp.csr_matrix:
    """Drop entries of disallowed columns, keeping explicit zeros and the shape."""
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    keep = allowed[m.indices]
    out = sp.csr_matrix(
        (m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape, dtype=m.dtype
    )
    if out.dtype != np.bool_:
        # coo->csr conversion keeps explicit zeros; make sure ordering is canonical
        out.sort_indices()
    return out


def _lookup(m: sp.csr_matrix, rows: IntArray, cols: IntArray) -> FloatArray:
    """Values of ``m`` at ``(rows, cols)``; ``nan`` where there is no entry."""
    out = np.full(rows.size, np.nan)
    if rows.size == 0 or m.nnz == 0:
        return out
    n_cols = m.shape[1]
    keys = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr)) * n_cols + m.indices
    q = rows.astype(np.int64) * n_cols + cols
    pos = np.searchsorted(keys, q)
    pos_c = np.minimum(pos, keys.size - 1)
    hit = keys[pos_c] == q
    out[hit] = m.data[pos_c[hit]]
    return out


def _nearest_open(
    reach: sp.csr_matrix, is_open: BoolArray, minutes: sp.csr_matrix | None
) -> tuple[IntArray, FloatArray]:
    """Assign each row to an open site among its entries in ``reach``.

    With ``minutes`` the nearest such site is chosen (ties: lowest index) and its
    minutes returned; without, the lowest-index open site and ``nan`` minutes.
    """
    n_rows = reach.shape[0]
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(reach.indptr))
    cols = reach.indices.astype(np.int64)
    keep = is_open[cols]
    rows, cols = rows[keep], cols[keep]
    vals = _lookup(minutes, rows, cols) if minutes is not None else np.zeros(rows.size)
    order = np.lexsort((cols, np.nan_to_num(vals, nan=np.inf), rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    assignment = np.full(n_rows, -1, dtype=np.int64)
    travel = np.full(n_rows, np.nan)
    assignment[rows[first]] = cols[first]
    if minutes is not None:
        travel[rows[first]] = vals[first]
    return assignment, travel


def _finish(
    model: str,
    inp: _Inputs,
    open_mask: BoolArray,
    reach: sp.csr_matrix,
    minutes: sp.csr_matrix | None,
    objective: float,
    report: SolverReport,
    uncoverable: IntArray,
    *,
    assignment: IntArray | None = None,
    stages: tuple[SolverReport, ...] = (),
    **extra: object,
) -> PlacementResult:
    has = report.status.has_solution
    if not has:
        open_mask = np.zeros(inp.n_sites, dtype=bool)
    if assignment is None:
        assignment, travel = _nearest_open(reach, open_mask, minutes)
    else:
        travel = np.full(inp.n_demand, np.nan)
        if minutes is not None:
            a = np.flatnonzero(assignment >= 0)
            travel[a] = _lookup(minutes, a, assignment[a])
    assigned = assignment >= 0
    load = np.bincount(assignment[assigned], weights=inp.weights[assigned], minlength=inp.n_sites
                        ).astype(np.float64)
    return PlacementResult(
        model=model,
        open_sites=np.flatnonzero(open_mask).astype(np.int64),
        assignment=assignment,
        objective=objective if has else math.nan,
        report=replace(report, objective=objective if has else math.nan),
        total_weight=float(inp.weights.sum()),
        covered_weight=float(inp.weights[assigned].sum()),
        uncoverable=uncoverable,
        uncoverable_weight=float(inp.weights[uncoverable].sum()),
        travel_min=travel,
        load=load,
        stages=stages,
        **extra,  # type: ignore[arg-type]
    )


def _combine(reports: Sequence[SolverReport], objective: float, bound: float, *, solver: str,
             seed: int, threads: int, time_limit_s: float | None, wall: float,
             message: str = "") -> SolverReport:
    """One report for several solves: OPTIMAL only if every part is."""
    statuses = {r.status for r in reports}
    if not reports:
        status = SolveStatus.OPTIMAL
    elif statuses == {SolveStatus.OPTIMAL}:
        status = SolveStatus.OPTIMAL
    elif SolveStatus.INFEASIBLE in statuses:
        status = SolveStatus.INFEASIBLE
    elif all(s.has_solution for s in statuses):
        status = SolveStatus.FEASIBLE
    elif SolveStatus.NOT_SOLVED in statuses:
        status = SolveStatus.NOT_SOLVED
    else:
        status = SolveStatus.UNKNOWN
    if status is SolveStatus.OPTIMAL:
        bound = objective
    # each part once (stages repeat notes such as HiGHS's thread setting)
    parts = [message] + [x for r in reports for x in r.message.split("; ")]
    msgs = list(dict.fromkeys(x for x in parts if x))
    return SolverReport(
        status=status, objective=objective, best_bound=bound,
        gap=relative_gap(objective, bound) if status.has_solution else math.inf,
        wall_time_s=wall, solver=solver, seed=seed, threads=threads,
        time_limit_s=time_limit_s, message="; ".join(msgs),
    )


def _whole(values: FloatArray) -> bool:
    """All whole numbers (costs, people): objectives and bounds over them are too."""
    return bool(np.all(values == np.round(values)))


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.001, deadline - time.perf_counter())


def _solver_name(engine: str) -> str:
    return f"ortools-mathopt-{resolve_engine(engine)}"


# ---------------------------------------------------------------------------
# LSCP
# ---------------------------------------------------------------------------


def _greedy_cover(c: sp.csr_matrix, costs: FloatArray) -> BoolArray:
    """Chvátal's greedy set cover with redundant columns removed (see :func:`greedy_cover`)."""
    return greedy_cover(c, costs)


#: With ``engine="auto"``, LSCP components with at most this many sites go to SCIP
#: (it proves them several times faster than HiGHS on the bench instances), larger
#: ones to HiGHS (whose primal heuristics find far better covers on the unprovable
#: national core: 334 vs 382 sites in 45-60 s).
AUTO_SCIP_SITES = 2000


#: LSCP components with more sites than this (the national core, 2,791 sites; none
#: of the bench's 20,000 x 2,000 ones) first get :data:`LSCP_SEARCH_SHARE` of their
#: time in :func:`optimizer._cover.improve_cover`, whose cover is the MIP's hint; the
#: MIP's part mainly supplies the bound (national core: search 321 in 25 s or 319 in
#: 40 s, which HiGHS did not improve; its bound was 298 after 10 s and after 25 s).
LSCP_SEARCH_SITES = 2000
LSCP_SEARCH_SHARE = 0.8
#: ... but the MIP keeps at least this many seconds (or half the share): HiGHS's root
#: bound on the national core took 4-6 s (2 s: bound 23; 4 s: 298, ended at 6.5 s).
LSCP_MIP_MIN_S = 10.0


def _lscp_engine(engine: str, n_sites: int) -> str:
    if engine != "auto":
        return engine
    return "scip" if n_sites <= AUTO_SCIP_SITES else "highs"


def _solve_lscp_core(
    c: sp.csr_matrix,
    costs: FloatArray,
    fixed: IntArray,
    *,
    engine: str,
    deadline: float | None,
    seed: int,
    threads: int,
    stop: threading.Event | None,
    time_limit_s: float | None,
    preprocess: bool,
) -> tuple[BoolArray, float, float, list[SolverReport]]:
    """Minimum-cost cover of every row of ``c``; returns (open mask, objective, bound, reports)."""
    n_sites = c.shape[1]
    integral = _whole(costs)
    if engine == "auto" and not preprocess:
        engine = DEFAULT_ENGINE  # the plain baseline model stays the plain HiGHS model
    if preprocess:
        red = reduce_lscp(c, costs, fixed)
        m, columns, forced = red.matrix, red.columns, red.forced
    else:
        m, columns, forced = c, np.arange(n_sites, dtype=np.int64), fixed
        hit = np.asarray(m[:, forced].sum(axis=1)).ravel() > 0 if forced.size else None
        if hit is not None:
            m = m[~hit]
    open_mask = np.zeros(n_sites, dtype=bool)
    open_mask[forced] = True
    objective = float(costs[forced].sum())
    bound = objective
    reports: list[SolverReport] = []
    if m.shape[0] == 0:
        return open_mask, objective, bound, reports
    if preprocess:
        n_comp, row_lab, col_lab = components(m)
        sizes = np.bincount(col_lab, minlength=n_comp)
        small = sizes <= SMALL_COMPONENT_SITES
        groups: list[BoolArray] = [small]
        groups += [np.arange(n_comp) == k for k in np.flatnonzero(~small)]
        logger.debug("LSCP: %d components, %d small", n_comp, int(small.sum()))
    else:
        row_lab = np.zeros(m.shape[0], dtype=np.int64)
        col_lab = np.zeros(m.shape[1], dtype=np.int64)
        groups = [np.ones(1, dtype=bool)]
    groups = [g for g in groups if g.any()]
    # each group's share of the time left: its share of the remaining non-zeros or
    # an equal split, whichever is larger
    nnz_row = np.diff(m.indptr)
    work = [float(nnz_row[g[row_lab]].sum()) + 1.0 for g in groups]
    # smallest first, so time a small one does not need flows to the larger ones
    order = np.argsort(work, kind="stable")
    groups = [groups[k] for k in order]
    work = [work[k] for k in order]
    for gi, g in enumerate(groups):
        rsel = np.flatnonzero(g[row_lab])
        csel = np.flatnonzero(g[col_lab])
        sub = m[rsel][:, csel]
        sub_cost = costs[columns[csel]]
        mip = SparseMip()
        x0 = mip.add_variables(sub.shape[1], integer=True, objective=sub_cost)
        # every remaining demand group is within the standard of an open site
        rows = np.repeat(np.arange(sub.shape[0], dtype=np.int64), np.diff(sub.indptr))
        mip.add_rows(sub.shape[0], rows, sub.indices.astype(np.int64) + x0, 1.0, lb=1.0)
        start = _greedy_cover(sub, sub_cost)
        left = _remaining(deadline)
        # at least an equal split of the time left: a huge unprovable component must
        # not starve a medium one that the engine could prove with a little more time
        share = None if left is None else left * max(work[gi] / sum(work[gi:]),
                                                     1.0 / (len(groups) - gi))
        searched = False
        if preprocess and sub.shape[1] > LSCP_SEARCH_SITES and share is not None:
            # a large component the MIP will not prove: a share of its time goes to
            # the iterated local search, whose cover is the MIP's hint
            t_end = time.perf_counter() + share
            # the MIP keeps at least LSCP_MIP_MIN_S (or half the share) for its bound
            mip_s = max((1.0 - LSCP_SEARCH_SHARE) * share, min(LSCP_MIP_MIN_S, share / 2))
            start, n_rounds = improve_cover(sub, sub_cost, start, seed=seed, stop=stop,
                                            deadline=t_end - mip_s)
            share = max(0.0, t_end - time.perf_counter())
            searched = True
            logger.debug("LSCP: local search on %d sites, %d rounds -> %g", sub.shape[1],
                         n_rounds, float(sub_cost[start].sum()))
        sol = solve_mip(mip, engine=_lscp_engine(engine, sub.shape[1]), time_limit_s=share,
                        seed=seed, threads=threads, stop=stop, hint=start.astype(np.float64))
        chosen = start
        report = sol.report
        if sol.values is not None:
            found = sol.values[x0:x0 + sub.shape[1]] > 0.5
            if float(sub_cost[found].sum()) <= float(sub_cost[start].sum()):
                chosen = found
            elif searched and report.status is SolveStatus.FEASIBLE:
                # the search's cover is better than the engine's incumbent
                report = replace(report, objective=float(sub_cost[start].sum()),
                                 message="; ".join(x for x in ("local search cover kept",
                                                               report.message) if x))
        elif report.status is not SolveStatus.INFEASIBLE:
            # no incumbent in time: keep the greedy cover, honestly FEASIBLE
            report = replace(report, status=SolveStatus.FEASIBLE,
                             objective=float(sub_cost[start].sum()),
                             message="; ".join(x for x in ("greedy cover kept", report.message)
                                               if x))
        if report.status is SolveStatus.INFEASIBLE:
            reports.append(report)
            return open_mask, math.nan, math.nan, reports
        value = float(sub_cost[chosen].sum())
        b = report.best_bound if math.isfinite(report.best_bound) else 0.0
        if integral:
            # whole-number costs: the group's optimum is a whole number >= its bound
            b = math.ceil(b - 1e-6)
            if report.status is SolveStatus.FEASIBLE and value <= b + 1e-9:
                report = replace(report, status=SolveStatus.OPTIMAL, objective=value,
                                 best_bound=value, gap=0.0,
                                 message="proven by the rounded-up bound")
        reports.append(report)
        open_mask[columns[csel[chosen]]] = True
        objective += value
        bound += b
    return open_mask, objective, bound, reports


def lscp(
    covered: Matrix,
    weights: npt.ArrayLike,
    *,
    fixed: Sequence[int] | npt.ArrayLike | None = None,
    closed: Sequence[int] | npt.ArrayLike | None = None,
    costs: npt.ArrayLike | None = None,
    minutes: Matrix | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = "auto",
    stop: threading.Event | None = None,
    preprocess: bool = True,
) -> PlacementResult:
    r"""Location set covering: the fewest sites (or least cost) covering all coverable demand.

    .. math::

        \min \sum_j c_j x_j \quad\text{s.t.}\quad \sum_{j \in N_i} x_j \ge 1 \;\forall i
        \text{ coverable},\quad x_j = 1\; (j \in \text{fixed}),\quad x_j = 0\;
        (j \in \text{closed}),\quad x \in \{0,1\}

    where :math:`N_i` are the allowed sites covering demand :math:`i`.

    Parameters
    ----------
    covered : boolean demand x site matrix, ``True`` where the site covers the demand.
    weights : demand weights (residents); used for the figures, not the objective.
    fixed : site indices that must stay open.
    closed : site indices that may not open.
    costs : opening cost per site (default 1 each, i.e. count the sites).
    minutes : optional travel minutes, used to assign each demand point to the
        nearest open covering site.
    time_limit_s : wall-clock limit for the whole call in seconds (``None``: none).
    seed, threads : engine seed and thread count, saved in the report.
    engine : ``"auto"`` (default: SCIP for components up to
        :data:`AUTO_SCIP_SITES` sites, HiGHS for larger ones), ``"highs"`` or ``"scip"``.
    stop : set it from another thread to stop and keep the best answer so far.
    preprocess : apply the reductions of :mod:`optimizer._preprocess` and split
        into components (``False`` only for benchmarking).

    Returns
    -------
    PlacementResult
        ``objective`` is the total opening cost (the site count with unit costs).
        Demand no allowed site covers is in ``uncoverable`` and left unassigned.
    """
    t0 = time.perf_counter()
    resolve_engine(engine)  # an unknown engine fails before any work
    c = as_bool_csr(covered)
    check_seed_threads(seed, threads)
    inp = _check(c.shape, weights, fixed, closed, costs)
    c = _restrict_columns(c, inp.allowed)
    deadline = None if time_limit_s is None else t0 + time_limit_s
    coverable = np.diff(c.indptr) > 0
    uncoverable = np.flatnonzero(~coverable).astype(np.int64)
    open_mask, objective, bound, reports = _solve_lscp_core(
        c[coverable], inp.costs, inp.fixed, engine=engine, deadline=deadline, seed=seed,
        threads=threads, stop=stop, time_limit_s=time_limit_s, preprocess=preprocess,
    )
    report = _combine(
        reports, objective, bound, seed=seed, threads=threads,
        # the engines the components really ran on (auto: SCIP and/or HiGHS)
        solver="+".join(sorted({r.solver for r in reports})) or _solver_name(engine),
        time_limit_s=time_limit_s, wall=time.perf_counter() - t0,
        message=f"{uncoverable.size} demand points no allowed site covers" if uncoverable.size else "",
    )
    mins = _minutes_csr(minutes) if minutes is not None else None
    res = _finish("lscp", inp, open_mask, c, mins, objective, report, uncoverable,
                  stages=tuple(reports))
    logger.info("lscp: %d sites open, %s", res.open_sites.size, report.summary())
    return res


# ---------------------------------------------------------------------------
# MCLP
# ---------------------------------------------------------------------------


def _mclp_mip(
    m: sp.csr_matrix, w: FloatArray, col_costs: FloatArray, p_left: int | None,
    budget_left: float | None,
) -> tuple[SparseMip, int, int]:
    mip = SparseMip(maximize=True)
    x0 = mip.add_variables(m.shape[1], integer=True)
    y0 = mip.add_variables(m.shape[0], objective=w)
    # a demand group counts as covered only if an open site covers it: y_i <= sum x_j
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    mip.add_rows(
        m.shape[0],
        np.concatenate([np.arange(m.shape[0]), rows]),
        np.concatenate([y0 + np.arange(m.shape[0]), x0 + m.indices.astype(np.int64)]),
        np.concatenate([np.ones(m.shape[0]), -np.ones(rows.size)]),
        ub=0.0,
    )
    # at most p points (beyond the must-open ones)
    if p_left is not None:
        mip.add_rows(1, np.zeros(m.shape[1], dtype=np.int64), x0 + np.arange(m.shape[1]), 1.0,
                     ub=float(p_left))
    # opening costs within the budget
    if budget_left is not None:
        mip.add_rows(1, np.zeros(m.shape[1], dtype=np.int64), x0 + np.arange(m.shape[1]),
                     col_costs, ub=float(budget_left))
    return mip, x0, y0


@dataclass(frozen=True)
class _McPrep:
    c: sp.csr_matrix
    inp: _Inputs
    uncoverable: IntArray
    fixed_weight: float
    m: sp.csr_matrix
    w: FloatArray
    columns: IntArray
    p_left: int | None
    budget_left: float | None


def _prepare_mclp(
    covered: Matrix, weights: npt.ArrayLike, p: int | None, budget: float | None,
    fixed: Sequence[int] | npt.ArrayLike | None, closed: Sequence[int] | npt.ArrayLike | None,
    costs: npt.ArrayLike | None, preprocess: bool,
) -> _McPrep:
    c = as_bool_csr(covered)
    inp = _check(c.shape, weights, fixed, closed, costs)
    if p is None and budget is None:
        msg = "give p (number of points) or budget (total opening cost)"
        raise ValueError(msg)
    _check_p(p, inp.fixed.size)
    fixed_cost = float(inp.costs[inp.fixed].sum())
    if budget is not None and budget < fixed_cost - 1e-9:
        msg = f"budget {budget:g} is below the cost {fixed_cost:g} of the must-open sites"
        raise ValueError(msg)
    c = _restrict_columns(c, inp.allowed)
    uncoverable = np.flatnonzero(np.diff(c.indptr) == 0).astype(np.int64)
    fixed_mask = np.zeros(inp.n_sites, dtype=bool)
    fixed_mask[inp.fixed] = True
    by_fixed = np.asarray(c[:, inp.fixed].sum(axis=1)).ravel() > 0 if inp.fixed.size else (
        np.zeros(inp.n_demand, dtype=bool))
    rest = np.flatnonzero(~by_fixed & (np.diff(c.indptr) > 0))
    free_cols = np.flatnonzero(inp.allowed & ~fixed_mask)
    m0 = c[rest][:, free_cols]
    w0 = inp.weights[rest]
    if preprocess:
        red = reduce_mclp(m0, w0, inp.costs[free_cols])
        m, w, columns = red.matrix, red.weights, free_cols[red.columns]
    else:
        m, w, columns = m0, w0, free_cols
    return _McPrep(
        c=c, inp=inp, uncoverable=uncoverable,
        fixed_weight=float(inp.weights[by_fixed].sum()), m=m, w=w, columns=columns,
        p_left=None if p is None else p - inp.fixed.size,
        budget_left=None if budget is None else budget - fixed_cost,
    )


def _greedy_mclp(m: sp.csr_matrix, w: FloatArray, costs: FloatArray, p_left: int | None,
                 budget_left: float | None) -> BoolArray:
    """Greedy maximal covering: add the site with the most newly covered weight (per cost
    with a budget) while the count and the budget allow."""
    mc = m.tocsc()
    rows_of = np.split(mc.indices, mc.indptr[1:-1])
    chosen = np.zeros(m.shape[1], dtype=bool)
    uncovered = np.ones(m.shape[0], dtype=bool)
    spent = 0.0
    while p_left is None or int(chosen.sum()) < p_left:
        gain = np.asarray(mc.T @ (w * uncovered)).ravel()
        ok = ~chosen & (gain > 0)
        if budget_left is not None:
            ok &= spent + costs <= budget_left + 1e-9
        if not ok.any():
            break
        score = gain / np.maximum(costs, 1e-12) if budget_left is not None else gain
        j = int(np.argmax(np.where(ok, score, -1.0)))
        chosen[j] = True
        spent += float(costs[j])
        uncovered[rows_of[j]] = False
    return chosen


#: Longest 1-swap local search on the MCLP start (seconds; at most 10 % of the limit).
SWAP_SECONDS = 5.0
#: Largest reduced MCLP (non-zeros of the coverage matrix) handed to a MIP engine.
#: Above it the engines' branch-and-cut needs about 1 KB per non-zero (HiGHS grew
#: by 450 MB on the 517k-non-zero 20,000 x 2,000 core and, in 60 s, never left the
#: root; SCIP 424 MB), so the bound comes from the LP by PDLP and the answer from
#: iterated local search (:func:`_mclp_first_order`).  The 5,000 x 500 (25k) and
#: national (84k) models get a MIP (the national one after the local search, see
#: :data:`MCLP_LOCAL_SEARCH_MIN_NONZEROS`).
MCLP_MIP_MAX_NONZEROS = 250_000
#: Share of the time left that the first-order LP may take.
PDLP_TIME_SHARE = 0.4
#: Reduced MCLP with a count and more coverage non-zeros than this (but at most
#: ``max_mip_nonzeros``) run :func:`_mclp_first_order` first (its local search with
#: near-only descents) and then the MIP, hinted with its answer: the national model
#: (84k) gets the local search's answer (+1.1 % over the MIP's alone) and the
#: tighter of the two bounds.  The 5,000 x 500 model (25k) is proven by the MIP
#: alone in ~11 s, which the local search would delay.
MCLP_LOCAL_SEARCH_MIN_NONZEROS = 50_000
#: In that combination, the share of the time limit left to the MIP (the local
#: search gets the rest).  Nationally HiGHS needs ~25-30 s for its root bound.
MCLP_MIP_TIME_SHARE = 0.5


def _mclp_parts_mip(
    m: sp.csr_matrix, w: FloatArray, p_left: int, split: McSplit, start: BoolArray,
) -> tuple[SparseMip, FloatArray, Callable[[FloatArray], IntArray]]:
    """The MCLP of the large components plus the exact curve of the small ones.

    Variables ``d_k`` (``k = 1 .. K``) buy the ``k``-th site of the small part at
    its increment ``F(k) - F(k-1)`` and count against ``p``.  If ``F`` is
    concave the increments fall, so for any whole number of sites left the best
    ``d`` takes the first ones and continuous ``d`` is exact; otherwise ``d``
    is binary with ``d_k >= d_{k+1}``, which makes ``sum_k d_k`` sites worth
    exactly ``F(sum_k d_k)``.  Returns the model, a hint from ``start`` (a mask
    of reduced columns) and a decoder from solution values to reduced columns.
    """
    rows, cols = split.rows, split.cols
    mb = m[rows][:, cols] if rows.size else sp.csr_matrix((0, cols.size), dtype=bool)
    wb = w[rows]
    inc = np.diff(split.curve)
    positive = np.flatnonzero(inc > 0)
    k_use = int(positive[-1]) + 1 if positive.size else 0
    inc = inc[:k_use]
    concave = is_concave(split.curve[:k_use + 1])
    mip, x0, y0 = _mclp_mip(mb, wb, np.ones(cols.size), None, None)
    d0 = mip.add_variables(k_use, integer=not concave, objective=inc)
    n_all = cols.size + k_use
    if n_all:
        mip.add_rows(1, np.zeros(n_all, dtype=np.int64),
                     np.concatenate([x0 + np.arange(cols.size), d0 + np.arange(k_use)]), 1.0,
                     ub=float(p_left))
    if not concave and k_use > 1:
        # d_k >= d_{k+1}
        r = np.arange(k_use - 1, dtype=np.int64)
        mip.add_rows(k_use - 1, np.concatenate([r, r]), np.concatenate([d0 + r, d0 + r + 1]),
                     np.concatenate([np.ones(k_use - 1), -np.ones(k_use - 1)]), lb=0.0)
    is_big = np.zeros(m.shape[1], dtype=bool)
    is_big[cols] = True
    hint = np.zeros(mip.n_vars)
    xb = start[cols]
    hint[x0:x0 + cols.size] = xb
    hint[y0:y0 + rows.size] = np.minimum(1.0, np.asarray(
        mb[:, np.flatnonzero(xb)].sum(axis=1)).ravel())
    hint[d0:d0 + min(k_use, int(start[~is_big].sum()))] = 1.0

    def decode(values: FloatArray) -> IntArray:
        big = cols[values[x0:x0 + cols.size] > 0.5]
        total = float(values[d0:d0 + k_use].sum())
        k = int(math.floor(total + 1e-6)) if concave else int(round(total))
        return np.sort(np.concatenate([big, split.sites(k)])).astype(np.int64)

    return mip, hint, decode


def _mclp_model(prep: _McPrep, split: McSplit | None, start: BoolArray,
                ) -> tuple[SparseMip, FloatArray, Callable[[FloatArray], IntArray]]:
    """The MCLP MIP (one model, or the large components plus the small ones' curve),
    a hint from ``start`` and a decoder from solution values to reduced columns."""
    if split is not None:
        assert prep.p_left is not None
        mip, hint, decode = _mclp_parts_mip(prep.m, prep.w, prep.p_left, split, start)
    else:
        mip, x0, y0 = _mclp_mip(prep.m, prep.w, prep.inp.costs[prep.columns], prep.p_left,
                                prep.budget_left)
        hint = np.zeros(mip.n_vars)
        hint[x0:x0 + start.size] = start
        hint[y0:] = np.minimum(1.0, np.asarray(
            prep.m[:, np.flatnonzero(start)].sum(axis=1)).ravel())
        n_cols = prep.columns.size

        def decode(values: FloatArray) -> IntArray:
            return np.flatnonzero(values[x0:x0 + n_cols] > 0.5).astype(np.int64)

    mip.offset = prep.fixed_weight
    return mip, hint, decode


def _mclp_first_order(
    prep: _McPrep, starts: Sequence[BoolArray], *, deadline: float | None, seed: int,
    threads: int, stop: threading.Event | None, why: str = "", near: bool = False,
) -> tuple[BoolArray, SolverReport]:
    """MCLP with a count and no MIP: an exact bound from the LP duals, an answer by
    iterated local search.

    PDLP solves the LP relaxation approximately; its duals ``u`` of the coverage
    rows give the Lagrangian bound of :func:`mclp_lagrangian_bound`, valid for any
    ``u`` whatever PDLP's accuracy (within 40 of the simplex LP value on the
    20,000 x 2,000 instance).  The LP values steer the perturbations of
    :func:`perturb_mclp`, which starts from the best of ``starts`` and of the LP's
    ``p`` largest sites.  ``OPTIMAL`` only if the answer reaches the bound.
    """
    assert prep.p_left is not None
    m, w, p = prep.m, prep.w, prep.p_left
    t0 = time.perf_counter()
    mip, x0, _ = _mclp_mip(m, w, np.ones(m.shape[1]), p, None)
    left = None if deadline is None else max(0.0, deadline - t0)
    if stop is not None and stop.is_set():
        lp = LpIterate(None, None, "not run: stopped", 0.0)
    else:
        lp = solve_lp_first_order(
            mip, time_limit_s=None if left is None else PDLP_TIME_SHARE * left, threads=threads)
    del mip
    integral = _whole(prep.inp.weights)
    coverable = float(w.sum())
    if lp.duals is not None:
        bound = min(coverable, mclp_lagrangian_bound(m, w, p, lp.duals[:m.shape[0]],
                                                     integral=integral))
    else:
        bound = coverable
    x_lp = None if lp.primal is None else np.clip(lp.primal[x0:x0 + m.shape[1]], 0.0, 1.0)
    cands = list(starts)
    if x_lp is not None and p > 0:
        top = np.zeros(m.shape[1], dtype=bool)
        top[np.argsort(-x_lp, kind="stable")[:min(p, m.shape[1])]] = True
        cands.append(swap_mclp(m, w, top, time_budget_s=SWAP_SECONDS))

    def covered(x: BoolArray) -> float:
        return float(w[np.asarray(m[:, np.flatnonzero(x)].sum(axis=1)).ravel() > 0].sum())

    best = max(cands, key=covered)
    rounds = 0
    if covered(best) < bound - ABSOLUTE_GAP:
        end = math.inf if deadline is None else deadline
        # near-only rounds are ~10x faster, so they get ~10x the stall allowance
        best, rounds = perturb_mclp(m, w, best, prefer=x_lp, deadline=end, seed=seed, stop=stop,
                                    near=near, max_stall=3000 if near else 300)
    value = covered(best)
    status = SolveStatus.OPTIMAL if value >= bound - ABSOLUTE_GAP else SolveStatus.FEASIBLE
    total, ub = prep.fixed_weight + value, prep.fixed_weight + bound
    report = SolverReport(
        status, total, ub, relative_gap(total, ub), time.perf_counter() - t0,
        "ortools-pdlp+local-search", seed, threads, None,
        f"{why or f'no MIP for {m.nnz} non-zeros'}; bound from PDLP's duals "
        f"(Lagrangian, exact; LP {lp.detail}, {lp.wall_time_s:.1f} s), "
        f"answer by local search ({rounds} rounds)")
    return best, report


def _best_of(prep: _McPrep, chosen: IntArray, sol: MipSolution, ls_mask: BoolArray,
             ls_report: SolverReport, *, stopped: bool = False,
             ) -> tuple[IntArray, MipSolution]:
    """The better answer of the MIP (``chosen``, reduced columns) and of the local
    search, with the tighter of their bounds (each is valid, so their minimum is).
    ``OPTIMAL`` if the MIP proved it or the answer reaches the bound."""
    m, w = prep.m, prep.w

    def cover(cols: IntArray) -> float:
        return prep.fixed_weight + float(
            w[np.asarray(m[:, cols].sum(axis=1)).ravel() > 0].sum())

    ls_cols = np.flatnonzero(ls_mask).astype(np.int64)
    mip_ok = sol.values is not None
    mip_value = cover(chosen) if mip_ok else -math.inf
    ls_value = cover(ls_cols)
    bound = ls_report.best_bound
    if math.isfinite(sol.report.best_bound):
        bound = min(bound, sol.report.best_bound)
    mip_better = mip_ok and mip_value >= ls_value
    best_cols, value = (chosen, mip_value) if mip_better else (ls_cols, ls_value)
    proven = (sol.report.status is SolveStatus.OPTIMAL and mip_better) or (
        value >= bound - ABSOLUTE_GAP)
    status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    which = "MIP" if mip_better else "local search"
    report = replace(
        sol.report, status=status, objective=value, best_bound=bound,
        gap=relative_gap(value, bound), solver=f"{ls_report.solver}+{sol.report.solver}",
        message="; ".join(x for x in (
            "stopped on request" if stopped and "stopped on request" not in sol.report.message
            else "",
            f"answer from the {which} (local search {ls_value:.9g}, MIP "
            f"{mip_value:.9g}); bound the tighter of the Lagrangian "
            f"{ls_report.best_bound:.9g} and the MIP's {sol.report.best_bound:.9g}",
            ls_report.message, sol.report.message) if x))
    return best_cols, MipSolution(report, sol.values if sol.values is not None else np.zeros(0))


def mclp(
    covered: Matrix,
    weights: npt.ArrayLike,
    p: int | None = None,
    *,
    budget: float | None = None,
    fixed: Sequence[int] | npt.ArrayLike | None = None,
    closed: Sequence[int] | npt.ArrayLike | None = None,
    costs: npt.ArrayLike | None = None,
    minutes: Matrix | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
    preprocess: bool = True,
    hint_open: IntArray | None = None,
    max_mip_nonzeros: int | None = MCLP_MIP_MAX_NONZEROS,
) -> PlacementResult:
    r"""Maximal covering: the most weight covered with at most ``p`` sites or within a budget.

    .. math::

        \max \sum_i w_i y_i \quad\text{s.t.}\quad y_i \le \sum_{j \in N_i} x_j,\;
        \sum_j x_j \le p,\; \sum_j c_j x_j \le B,\; x \in \{0,1\},\; 0 \le y \le 1

    ``p`` counts the must-open sites too.  ``y`` may be continuous: at an
    optimum it equals ``min(1, sum x)``, which is integral.

    Parameters
    ----------
    covered : boolean demand x site matrix.
    weights : demand weights (residents or in-person dossiers per day).
    p : maximum number of open sites, must-open ones included.
    budget : maximum total opening cost (``costs``), must-open ones included.
    fixed, closed, costs, minutes, time_limit_s, seed, threads, engine, stop,
    preprocess : as in :func:`lscp`.
    hint_open : sites of a known good answer, handed to the engine as a start.
    max_mip_nonzeros : with a count ``p`` (no budget) and ``preprocess``, a reduced
        model with more coverage non-zeros than this is not given to a MIP engine
        (whose search memory grows to ~1 KB per non-zero): the bound then comes from
        the LP (PDLP duals, checked exactly) and the answer from local search, and
        is ``OPTIMAL`` only if the two meet.  ``None``: always the MIP.  Between
        :data:`MCLP_LOCAL_SEARCH_MIN_NONZEROS` and this, the local search (with its
        bound) runs first and the MIP, hinted with its answer, gets the last
        :data:`MCLP_MIP_TIME_SHARE` of the time: the better answer and the tighter
        bound of the two are reported.

    Returns
    -------
    PlacementResult
        ``objective`` is the covered weight.
    """
    t0 = time.perf_counter()
    check_seed_threads(seed, threads)
    prep = _prepare_mclp(covered, weights, p, budget, fixed, closed, costs, preprocess)
    inp = prep.inp
    split = None
    first_order = (preprocess and prep.p_left is not None and prep.budget_left is None
                   and max_mip_nonzeros is not None and prep.m.nnz > max_mip_nonzeros)
    if (preprocess and prep.p_left is not None and prep.budget_left is None
            and not first_order):
        # only a count couples the components (a budget would need cost curves)
        split = split_mclp(prep.m, prep.w, prep.p_left)
        if split.n_small == 0:
            split = None
    greedy = _greedy_mclp(prep.m, prep.w, inp.costs[prep.columns], prep.p_left,
                          prep.budget_left)
    start = greedy if hint_open is None else np.isin(prep.columns, hint_open)
    if prep.budget_left is None and prep.m.shape[0]:
        # 1-swap local search (keeps the count): +0.6 % on 20,000 x 2,000 in ~0.05 s
        budget_s = SWAP_SECONDS if time_limit_s is None else min(SWAP_SECONDS,
                                                                 0.1 * time_limit_s)
        greedy = swap_mclp(prep.m, prep.w, greedy, time_budget_s=budget_s)
        start = greedy if hint_open is None else swap_mclp(prep.m, prep.w, start,
                                                           time_budget_s=budget_s)
    if first_order:
        mask, fo_report = _mclp_first_order(
            prep, [greedy, start], deadline=None if time_limit_s is None else t0 + time_limit_s,
            seed=seed, threads=threads, stop=stop)
        chosen = np.flatnonzero(mask).astype(np.int64)
        sol = MipSolution(fo_report, np.zeros(0))
    elif split is not None and split.cols.size == 0:
        # every component was small: the combined curve is the exact optimum, and
        # it never falls with more sites, so its last point is the best
        k = split.curve.size - 1
        chosen = split.sites(k)
        value = prep.fixed_weight + float(split.curve[k])
        sol = MipSolution(SolverReport(
            SolveStatus.OPTIMAL, value, value, 0.0, time.perf_counter() - t0,
            "enumeration+dp", seed, threads, time_limit_s,
            f"{split.n_small} components solved exactly"), np.zeros(0))
    else:
        search = (preprocess and prep.p_left is not None and prep.budget_left is None
                  and prep.m.nnz > MCLP_LOCAL_SEARCH_MIN_NONZEROS
                  and not (stop is not None and stop.is_set()))
        ls_mask: BoolArray | None = None
        ls_report: SolverReport | None = None
        if search:
            # local search (and its exact Lagrangian bound) first, then the MIP from
            # its answer: HiGHS keeps a feasible hint as its incumbent
            ls_end = None if time_limit_s is None else (
                t0 + (1.0 - MCLP_MIP_TIME_SHARE) * time_limit_s)
            ls_mask, ls_report = _mclp_first_order(
                prep, [greedy, start], deadline=ls_end, seed=seed, threads=threads, stop=stop,
                why=f"local search before the MIP ({prep.m.nnz} non-zeros)", near=True)
            start = ls_mask
        if ls_report is not None and ls_report.status is SolveStatus.OPTIMAL:
            assert ls_mask is not None
            chosen = np.flatnonzero(ls_mask).astype(np.int64)
            sol = MipSolution(ls_report, np.zeros(0))
        else:
            mip, hint, decode = _mclp_model(prep, split, start)
            sol = solve_mip(mip, engine=engine, time_limit_s=_remaining(
                None if time_limit_s is None else t0 + time_limit_s), seed=seed,
                threads=threads, stop=stop, hint=hint)
            del mip
            chosen = decode(sol.values) if sol.values is not None else np.zeros(0, dtype=np.int64)
            if ls_mask is not None and ls_report is not None:
                chosen, sol = _best_of(prep, chosen, sol, ls_mask, ls_report,
                                       stopped=stop is not None and stop.is_set())
    open_mask = np.zeros(inp.n_sites, dtype=bool)
    open_mask[inp.fixed] = True
    message = sol.report.message
    if split is not None:
        message = "; ".join(x for x in (
            f"{split.n_small} small components by enumeration, {split.cols.size} sites in the MIP",
            message) if x)
    report = replace(sol.report, wall_time_s=time.perf_counter() - t0, message=message,
                     time_limit_s=time_limit_s)
    if sol.values is not None:
        open_mask[prep.columns[chosen]] = True
        if not math.isfinite(report.best_bound):
            # stopped before any bound: all coverable weight is a valid one
            report = replace(report, best_bound=prep.fixed_weight + float(prep.w.sum()))
    elif sol.report.status is SolveStatus.NOT_SOLVED and not (stop is not None and stop.is_set()):
        # no incumbent within the time limit: the greedy answer, honestly FEASIBLE
        open_mask[prep.columns[greedy]] = True
        ub = report.best_bound if math.isfinite(report.best_bound) else (
            prep.fixed_weight + float(prep.w.sum()))  # everything coverable: a valid bound
        report = replace(report, status=SolveStatus.FEASIBLE, best_bound=ub, message="; ".join(
            x for x in ("greedy answer kept", report.message) if x))
    mins = _minutes_csr(minutes) if minutes is not None else None
    res = _finish("mclp", inp, open_mask, prep.c, mins, sol.report.objective, report,
                  prep.uncoverable, stages=(sol.report,))
    if res.report.status.has_solution:
        # the engine's incumbent may leave some y below min(1, sum x); the true
        # coverage of the chosen sites is never lower, so report that.
        cov = res.covered_weight
        rep = replace(res.report, objective=cov, gap=relative_gap(cov, res.report.best_bound))
        if res.status is SolveStatus.OPTIMAL and abs(cov - res.objective) > 1e-6 * max(1.0, cov):
            logger.warning("mclp optimum %g differs from recomputed coverage %g",
                           res.objective, cov)
            if cov < res.report.best_bound - 1e-6 * max(1.0, cov):
                rep = replace(rep, status=SolveStatus.FEASIBLE)
        res = replace(res, objective=cov, report=rep)
    logger.info("mclp: %d sites open, %s", res.open_sites.size, res.report.summary())
    return res


# ---------------------------------------------------------------------------
# Pareto curve
# ---------------------------------------------------------------------------


def pareto(
    covered: Matrix,
    weights: npt.ArrayLike,
    max_p: int,
    *,
    fixed: Sequence[int] | npt.ArrayLike | None = None,
    closed: Sequence[int] | npt.ArrayLike | None = None,
    minutes: Matrix | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
) -> ParetoResult:
    """Covered weight for ``p = max(1, |fixed|) .. max_p``: what each extra point buys.

    Each step is an :func:`mclp` started from the previous step's sites (still
    feasible with one more point).  Once everything coverable is covered the
    remaining steps repeat that answer without solving (they are optimal: no
    more can be covered).  ``time_limit_s`` is shared by the whole sweep.
    """
    t0 = time.perf_counter()
    n_fixed = np.unique(np.asarray([] if fixed is None else fixed, dtype=np.int64)).size
    start = max(1, n_fixed)
    if max_p < start:
        msg = f"max_p={max_p} must be >= {start}"
        raise ValueError(msg)
    deadline = None if time_limit_s is None else t0 + time_limit_s
    results: list[PlacementResult] = []
    prev: IntArray | None = None
    for p in range(start, max_p + 1):
        if results and results[-1].status is SolveStatus.OPTIMAL and (
            results[-1].covered_weight + results[-1].uncoverable_weight
            >= results[-1].total_weight - 1e-9
        ):
            results.append(replace(results[-1]))
            continue
        if stop is not None and stop.is_set():
            break
        res = mclp(covered, weights, p, fixed=fixed, closed=closed, minutes=minutes,
                   time_limit_s=_remaining(deadline), seed=seed, threads=threads,
                   engine=engine, stop=stop, hint_open=prev)
        results.append(res)
        prev = res.open_sites if res.status.has_solution else prev
    ps = np.arange(start, start + len(results), dtype=np.int64)
    cw = np.array([r.covered_weight for r in results])
    return ParetoResult(
        p_values=ps,
        covered_weight=cw,
        covered_share=np.array([r.covered_share for r in results]),
        best_bound=np.array([r.best_bound for r in results]),
        statuses=tuple(r.status for r in results),
        open_sites=tuple(r.open_sites for r in results),
        results=tuple(results),
    )


# ---------------------------------------------------------------------------
# p-median (radius formulation) and p-center (binary search over LSCPs)
# ---------------------------------------------------------------------------


def _levels(m: sp.csr_matrix) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """Per row, the distinct distance levels.

    Returns ``(level_of_entry, n_levels_per_row, level_value, level_row)`` where
    levels are numbered globally, row by row, in increasing distance.
    """
    n_rows = m.shape[0]
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(m.indptr))
    order = np.lexsort((m.data, rows))
    d_sorted = m.data[order]
    r_sorted = rows[order]
    new = np.ones(order.size, dtype=bool)
    new[1:] = (r_sorted[1:] != r_sorted[:-1]) | (d_sorted[1:] != d_sorted[:-1])
    level_sorted = np.cumsum(new) - 1
    level_of_entry = np.empty(order.size, dtype=np.int64)
    level_of_entry[order] = level_sorted
    level_value = d_sorted[new]
    level_row = r_sorted[new]
    n_levels = np.bincount(level_row, minlength=n_rows).astype(np.int64)
    return level_of_entry, n_levels, level_value, level_row


#: Relative tolerance for "the truncated model's optimum equals the full cost".
_PMEDIAN_TOL = 1e-9


def _nearest_distance(m: sp.csr_matrix, open_mask: BoolArray) -> FloatArray:
    """Per row of ``m``, the smallest entry among open columns (``inf`` if none)."""
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    sel = open_mask[m.indices]
    out = np.full(m.shape[0], np.inf)
    np.minimum.at(out, rows[sel], m.data[sel])
    return out


def _pmedian_cost(m: sp.csr_matrix, w: FloatArray, open_mask: BoolArray,
                  penalty: float | None) -> float:
    """Weighted distance of ``open_mask`` (``penalty`` beyond the cutoff, ``inf`` if none)."""
    d = _nearest_distance(m, open_mask)
    far = ~np.isfinite(d)
    if far.any():
        if penalty is None:
            return math.inf
        d[far] = penalty
    return float(w @ d)


def _pmedian_greedy(m: sp.csr_matrix, w: FloatArray, p: int, fixed: IntArray,
                    allowed: BoolArray, penalty: float | None) -> BoolArray:
    """Greedy p-median start: the must-open sites, then the largest saving each step
    (the greedy of :mod:`optimizer._pmedian`, on this matrix)."""
    start = np.zeros(m.shape[1], dtype=bool)
    start[fixed] = True
    tail = np.full(m.shape[0], math.inf if penalty is None else float(penalty))
    return _pm.greedy(_pm.Pairs.of(m), w, tail, p, start, allowed)


def _levels_within(level_value: FloatArray, level_row: IntArray, n_levels: IntArray,
                   dist: FloatArray) -> IntArray:
    """Per row, how many of its levels are at most ``dist`` (all if ``dist`` is inf), >= 1."""
    cnt = np.bincount(level_row[level_value <= dist[level_row]],
                      minlength=n_levels.size).astype(np.int64)
    cnt[~np.isfinite(dist)] = n_levels[~np.isfinite(dist)]
    return np.clip(cnt, 1, None)


def _radius_mip(
    m: sp.csr_matrix, w: FloatArray, level_of_entry: IntArray, level_value: FloatArray,
    level_row: IntArray, first_level: IntArray, n_levels: IntArray, kept: IntArray,
    penalty: float | None, has_fixed: BoolArray, cand: IntArray, col_pos: IntArray, p: int,
    floor: tuple[float, float] | None, must_open: BoolArray,
    cov_floor: tuple[sp.csr_matrix, FloatArray, float] | None = None,
) -> tuple[SparseMip, int, FloatArray]:
    """The radius model keeping the first ``kept[i]`` levels of each row.

    A row cut short pays the next true distance :math:`D_i^{k+1}` when it is not
    served within its kept levels, which never exceeds its true cost, so the
    model is a relaxation of the full one (equal to it when nothing is cut).
    """
    n_rows = m.shape[0]
    rank = np.arange(level_value.size, dtype=np.int64) - first_level[level_row]
    lvl_keep = rank < kept[level_row]
    new_id = np.cumsum(lvl_keep) - 1
    ent_keep = lvl_keep[level_of_entry]
    ent_rows = new_id[level_of_entry[ent_keep]]
    ent_cols = col_pos[m.indices[ent_keep]]
    value = level_value[lvl_keep]
    row = level_row[lvl_keep]
    total = value.size
    first = (np.cumsum(kept) - kept).astype(np.int64)
    last = first + kept - 1
    cut = kept < n_levels
    # next distance for each level: D^{k+1}; after the last kept level the next true
    # distance (cut rows) or the penalty (inf: the row must be served)
    next_value = np.empty(total)
    next_value[:-1] = value[1:]
    tail = np.full(n_rows, np.inf if penalty is None else float(penalty))
    tail[cut] = level_value[(first_level + kept)[cut]]
    next_value[last] = tail
    has_u = np.ones(total, dtype=bool)
    has_u[last[~(cut | ((penalty is not None) & ~has_fixed))]] = False
    u_index = np.full(total, -1, dtype=np.int64)
    mip = SparseMip()
    # must-open sites are open in the model too, so they count against p
    x0 = mip.add_variables(cand.size, lb=must_open[cand].astype(np.float64), ub=1.0,
                           integer=True)
    n_u = int(has_u.sum())
    u0 = mip.add_variables(n_u, lb=0.0, ub=math.inf,
                           objective=w[row[has_u]] * (next_value[has_u] - value[has_u]))
    u_index[has_u] = u0 + np.arange(n_u)
    mip.offset = float((w * level_value[first_level]).sum()) if n_rows else 0.0
    # chain: u_k - u_{k-1} + (sites at distance D^k) >= [k is the first level]
    lv = np.arange(total, dtype=np.int64)
    is_first = np.zeros(total, dtype=bool)
    is_first[first] = True
    prev_lv = lv[~is_first]
    prev_u = u_index[prev_lv - 1]
    mip.add_rows(
        total,
        np.concatenate([ent_rows, lv[has_u], prev_lv[prev_u >= 0]]),
        np.concatenate([x0 + ent_cols, u_index[has_u], prev_u[prev_u >= 0]]),
        np.concatenate([np.ones(ent_rows.size), np.ones(n_u), -np.ones(int((prev_u >= 0).sum()))]),
        lb=is_first.astype(np.float64),
    )
    # at most p open sites
    mip.add_rows(1, np.zeros(cand.size, dtype=np.int64), x0 + np.arange(cand.size), 1.0,
                 ub=float(p))
    if floor is not None:
        cover_minutes, allowed_far = floor
        # weight beyond cover_minutes = w_i * u at the row's last level within it
        k_cov = np.full(n_rows, -1, dtype=np.int64)
        okl = np.flatnonzero(value <= cover_minutes)
        np.maximum.at(k_cov, row[okl], okl)
        base_far = float(w[k_cov < 0].sum())
        rows_k = np.flatnonzero(k_cov >= 0)
        ui = u_index[k_cov[rows_k]]
        sel = ui >= 0  # -1: that level forces service, the row is always within
        mip.add_rows(1, np.zeros(int(sel.sum()), dtype=np.int64), ui[sel], w[rows_k[sel]],
                     ub=allowed_far - base_far)
    if cov_floor is not None:
        # covered_i <= open sites whose standard covers i; sum w covered >= need
        cov, w_all, need = cov_floor
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
    # for hints: the level distance of each u variable, and its row
    u_value = np.full(mip.n_vars, np.nan)
    u_value[u_index[has_u]] = value[has_u]
    u_row = np.full(mip.n_vars, -1, dtype=np.int64)
    u_row[u_index[has_u]] = row[has_u]
    return mip, x0, np.stack([u_value, u_row.astype(np.float64)])


def p_median(
    minutes: Matrix,
    weights: npt.ArrayLike,
    p: int,
    *,
    fixed: Sequence[int] | npt.ArrayLike | None = None,
    closed: Sequence[int] | npt.ArrayLike | None = None,
    unassigned_penalty_min: float | None = None,
    cover_minutes: float | None = None,
    min_covered_share: float | None = None,
    covered: Matrix | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
    truncate: bool = True,
    lagrangian: bool = True,
) -> PlacementResult:
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

    written as a chain, so each demand point has as many non-zeros as
    reachable sites (not their square) and the LP bound equals that of the
    classical assignment model.  Missing entries are beyond the cutoff: a
    demand point must be served by a reachable site, unless
    ``unassigned_penalty_min`` is given, in which case leaving it unassigned
    costs that many minutes per unit of weight (:math:`D_i^{G_i+1}`); a point
    then never pays more than the penalty (farther sites are left out).  A
    demand point that no allowed site reaches at all is left out of the model
    and of the objective, with or without a penalty (no plan changes its cost),
    and reported in ``uncoverable`` with its weight.

    With ``truncate`` (default) the model is first built with, per demand
    point, only the levels up to its distance in a greedy solution; a point cut
    short pays the next true distance :math:`D_i^{k+1}` if not served within its
    kept levels, so each such model is a relaxation and its optimum a valid
    lower bound.  If the relaxation's optimal sites serve every point within its
    kept levels they are optimal for the full model; otherwise the points served
    farther get more levels and the model is solved again (warm-started), as in
    García, Labbé & Marín (2011).  ``OPTIMAL`` is reported only after that proof.

    With ``lagrangian`` (default, used when ``truncate`` is on and there is no
    coverage floor) the classical exact recipe runs first (see
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
    :func:`mclp` finds the most coverage ``p`` sites reach: a start that meets the
    floor, or ``INFEASIBLE`` when even its bound is below it; then the radius
    model with the floor, from that start.

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
        site (the share :func:`mclp` maximises), whatever its assigned site.
    truncate : iterate over truncated relaxations (see above); ``False`` builds
        every level at once (neither heuristic nor Lagrangian: the plain model).
    lagrangian : heuristic + Lagrangian bound + reduced-cost fixing first (see above).
    Other parameters as in :func:`lscp`.

    Returns
    -------
    PlacementResult
        ``objective`` is weighted minutes (penalties included);
        ``covered_weight`` the weight assigned to a reachable site.
    """
    t0 = time.perf_counter()
    mins = _minutes_csr(minutes)
    check_seed_threads(seed, threads)
    inp = _check(mins.shape, weights, fixed, closed, None)
    _check_p(p, inp.fixed.size)
    if unassigned_penalty_min is not None and not unassigned_penalty_min >= 0:
        msg = f"unassigned_penalty_min must be >= 0, got {unassigned_penalty_min!r}"
        raise ValueError(msg)
    if (min_covered_share is None) != (cover_minutes is None and covered is None) or (
            cover_minutes is not None and covered is not None):
        msg = ("give min_covered_share with one of cover_minutes or covered, "
               "or none of them")
        raise ValueError(msg)
    if min_covered_share is not None and not 0.0 <= min_covered_share <= 1.0:
        msg = f"min_covered_share must be in [0, 1], got {min_covered_share!r}"
        raise ValueError(msg)
    mins = _restrict_columns(mins, inp.allowed)
    reach = sp.csr_matrix(
        (np.ones(mins.nnz, dtype=bool), mins.indices.copy(), mins.indptr.copy()), shape=mins.shape
    )
    n_entries = np.diff(mins.indptr)
    uncoverable = np.flatnonzero(n_entries == 0).astype(np.int64)
    rows_in = np.flatnonzero(n_entries > 0)
    m = mins[rows_in]
    w = inp.weights[rows_in]
    penalty = unassigned_penalty_min
    const = 0.0
    far_weight = 0.0  # demand no site reaches within the penalty: never assigned
    if penalty is not None:
        # serving farther than the penalty never beats leaving the point unassigned
        r_all = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        keep = m.data <= penalty
        m = sp.csr_matrix((m.data[keep], (r_all[keep], m.indices[keep])), shape=m.shape)
        m.sort_indices()
        far = np.diff(m.indptr) == 0
        far_weight = float(w[far].sum())
        const = far_weight * float(penalty)
        m, w = m[~far], w[~far]
    # levels beyond a must-open site are never needed: that site bounds the distance
    fixed_mask = np.zeros(inp.n_sites, dtype=bool)
    fixed_mask[inp.fixed] = True
    if inp.fixed.size:
        r_all = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        dfix = np.full(m.shape[0], np.inf)
        sel = fixed_mask[m.indices]
        np.minimum.at(dfix, r_all[sel], m.data[sel])
        keep = m.data <= dfix[r_all]
        m = sp.csr_matrix((m.data[keep], (r_all[keep], m.indices[keep])), shape=m.shape)
        m.sort_indices()
    n_rows = m.shape[0]
    has_fixed = np.isfinite(dfix) if inp.fixed.size else np.zeros(n_rows, dtype=bool)
    cand = np.flatnonzero(inp.allowed)
    col_pos = np.full(inp.n_sites, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    floor = None
    cov_floor = None
    if covered is not None and min_covered_share is not None:
        cov = _restrict_columns(as_bool_csr(covered, mins.shape), inp.allowed)
        cov_floor = (cov, inp.weights, min_covered_share * float(inp.weights.sum())
                     * (1.0 - 1e-9))
    if cover_minutes is not None and min_covered_share is not None:
        # weight allowed beyond cover_minutes: demand no site reaches, and demand no site
        # reaches within the penalty (left out of the model, never assigned), counts against it
        floor = (float(cover_minutes), float(inp.weights.sum())
                 - min_covered_share * float(inp.weights.sum())
                 - float(inp.weights[uncoverable].sum()) - far_weight)
    deadline = None if time_limit_s is None else t0 + time_limit_s
    if floor is None and cov_floor is None and truncate and lagrangian:
        return _p_median_lagrangian(m, w, p, inp, penalty, const, reach, mins, uncoverable,
                                    deadline=deadline, t0=t0, engine=engine, seed=seed,
                                    threads=threads, stop=stop, time_limit_s=time_limit_s)
    starts: list[BoolArray] = []
    lower = -math.inf
    before: list[SolverReport] = []  # the solves that prepare a floored model
    start_note = ""
    if min_covered_share is not None and truncate and lagrangian:
        # The floor only removes plans, so the least travel without it bounds the floored
        # optimum, and a plan meeting the floor is an answer. Without this a floor the
        # unfloored optimum already met could end with no answer at all.
        cover_bool = (cov_floor[0] if cov_floor is not None
                      else _within(mins, float(cover_minutes or 0.0), penalty))
        floor_weight = min_covered_share * float(inp.weights.sum()) * (1.0 - 1e-9)

        def meets(mask: BoolArray) -> bool:
            hit = np.asarray(cover_bool[:, np.flatnonzero(mask)].sum(axis=1)).ravel() > 0
            return bool(inp.weights[hit].sum() >= floor_weight)

        half = None if deadline is None else t0 + 0.6 * (deadline - t0)
        free = _p_median_lagrangian(m, w, p, inp, penalty, const, reach, mins, uncoverable,
                                    deadline=half, t0=t0, engine=engine, seed=seed,
                                    threads=threads, stop=stop, time_limit_s=time_limit_s)
        before.append(free.report)
        if free.report.status is SolveStatus.INFEASIBLE:
            return free  # no plan serves everyone even without the floor
        if math.isfinite(free.report.best_bound):
            lower = free.report.best_bound - const
            start_note = "bound from the plan without the floor"
        if free.report.status.has_solution:
            free_mask = np.zeros(inp.n_sites, dtype=bool)
            free_mask[free.open_sites] = True
            if meets(free_mask):
                if free.report.status is SolveStatus.OPTIMAL:
                    why = (f"the least-travel plan without the floor already has "
                           f"{100 * min_covered_share:g} % or more covered")
                    report = replace(free.report, wall_time_s=time.perf_counter() - t0,
                                     message="; ".join(x for x in (free.report.message, why) if x))
                    return replace(free, report=report, stages=(free.report,))
                starts.append(free_mask)
                start_note += "; start: the plan without the floor"
        if not starts:
            # the most coverage p sites can reach: a plan meeting the floor, or its proof
            # that none does
            left = None if deadline is None else max(0.001, 0.25 * (deadline - time.perf_counter()))
            mc = mclp(cover_bool, inp.weights, p, fixed=inp.fixed,
                      closed=np.flatnonzero(~inp.allowed), time_limit_s=left, seed=seed,
                      threads=threads, engine=engine, stop=stop)
            before.append(mc.report)
            if mc.report.status.has_solution:
                mc_mask = np.zeros(inp.n_sites, dtype=bool)
                mc_mask[mc.open_sites] = True
                if meets(mc_mask):
                    starts.append(mc_mask)
                    start_note += "; start: the most coverage (mclp)"
            # mclp maximises: its bound caps the coverage of every plan of p sites
            if math.isfinite(mc.report.best_bound) and mc.report.best_bound < floor_weight:
                return _pmedian_floor_infeasible(inp, reach, mins, uncoverable, p, min_covered_share,
                                                 cov_floor is not None, cover_minutes, engine, seed,
                                                 threads, time_limit_s, t0, tuple(before))
    level_of_entry, n_levels, level_value, level_row = _levels(m)
    first_level = (np.cumsum(n_levels) - n_levels).astype(np.int64)
    # a greedy start; its distances choose the levels of the first (truncated) model
    start = _pmedian_greedy(m, w, p, inp.fixed, inp.allowed, penalty)
    best_open = start
    # the greedy start ignores a coverage floor, so it is no answer when there is one
    best_cost = (_pmedian_cost(m, w, start, penalty) if floor is None and cov_floor is None
                 else math.inf)
    for mask in starts:  # plans known to meet the floor
        cost = _pmedian_cost(m, w, mask, penalty)
        if cost < best_cost:
            best_open, best_cost = mask, cost
    kept = n_levels.copy()
    if floor is None and cov_floor is None and truncate:
        kept = _levels_within(level_value, level_row, n_levels, _nearest_distance(m, start))
    stages: list[SolverReport] = []
    proven = False
    infeasible = False
    while True:
        mip, x0, u_info = _radius_mip(m, w, level_of_entry, level_value, level_row,
                                      first_level, n_levels, kept, penalty, has_fixed, cand,
                                      col_pos, p, floor, fixed_mask, cov_floor)
        hint: FloatArray | None = None
        if math.isfinite(best_cost):
            # u at a level is 1 when the row's nearest open site is farther than it
            hint = np.zeros(mip.n_vars)
            hint[x0:x0 + cand.size] = best_open[cand]
            is_u = np.flatnonzero(u_info[1] >= 0)
            near = _nearest_distance(m, best_open)
            hint[is_u] = near[u_info[1][is_u].astype(np.int64)] > u_info[0][is_u]
        sol = solve_mip(mip, engine=engine, time_limit_s=_remaining(deadline), seed=seed,
                        threads=threads, stop=stop, hint=hint)
        stages.append(sol.report)
        status = sol.report.status
        if status is SolveStatus.INFEASIBLE:
            infeasible = True  # a relaxation of the full model is infeasible
            break
        if sol.values is not None:
            trial = np.zeros(inp.n_sites, dtype=bool)
            trial[inp.fixed] = True
            trial[cand[sol.values[x0:x0 + cand.size] > 0.5]] = True
            cost = _pmedian_cost(m, w, trial, penalty)
            if cost < best_cost:
                best_open, best_cost = trial, cost
        # every truncated model is a relaxation: its optimum (or bound) bounds the full one
        if status is SolveStatus.OPTIMAL:
            lower = max(lower, sol.report.objective)
        elif math.isfinite(sol.report.best_bound):
            lower = max(lower, sol.report.best_bound)
        if status is not SolveStatus.OPTIMAL:
            break
        assert sol.values is not None
        dist = _nearest_distance(m, trial)
        need = _levels_within(level_value, level_row, n_levels, dist)
        grow = need > kept
        if not grow.any():
            # every row is served within its kept levels, where the relaxation's cost
            # is the true cost: the relaxation's optimum is feasible, hence optimal
            best_open, best_cost, proven = trial, cost, True
            break
        if best_cost <= lower + _PMEDIAN_TOL * max(1.0, abs(lower)):
            proven = True
            break
        # rows served beyond their kept levels get the levels up to that distance
        if (deadline is not None and time.perf_counter() >= deadline) or (
                stop is not None and stop.is_set()):
            break
        kept = np.where(grow, np.maximum(need, np.minimum(n_levels, 2 * kept)), kept)
        logger.debug("p_median: %d rows get more levels (%d of %d kept)", int(grow.sum()),
                     int(kept.sum()), int(n_levels.sum()))
    wall = time.perf_counter() - t0
    n_solves = len(stages)
    msg = (f"radius formulation, {n_solves} solve(s), {int(kept.sum())} of {int(n_levels.sum())} "
           f"levels" + (f"; {start_note.lstrip('; ')}" if start_note else ""))
    has = math.isfinite(best_cost)
    if infeasible:
        if cov_floor is not None or floor is not None:
            why = _floor_why(p, float(min_covered_share or 0), cov_floor is not None, cover_minutes)
        else:
            why = f"{p} sites cannot serve every demand point within the cutoff"
        report = SolverReport(SolveStatus.INFEASIBLE, math.nan, math.nan, math.inf, wall,
                              _solver_name(engine), seed, threads, time_limit_s, why)
    elif has:
        last = stages[-1]
        if proven:
            lower = best_cost
        st = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
        note = msg if proven else "; ".join(x for x in (msg, last.message,
                                                         "greedy start" if n_solves == 0 else "")
                                            if x)
        report = SolverReport(st, best_cost, lower, relative_gap(best_cost, lower), wall,
                              _solver_name(engine), seed, threads, time_limit_s, note)
    else:
        last = stages[-1]
        report = replace(last, wall_time_s=wall, best_bound=lower)
    if report.status.has_solution and const:
        report = replace(report, objective=report.objective + const,
                         best_bound=report.best_bound + const,
                         gap=relative_gap(report.objective + const, report.best_bound + const))
    elif const and math.isfinite(report.best_bound):  # no answer, but a bound in the same terms
        report = replace(report, best_bound=report.best_bound + const)
    open_mask = best_open if has and not infeasible else np.zeros(inp.n_sites, dtype=bool)
    res = _finish("pmedian", inp, open_mask, reach, mins, report.objective, report,
                  uncoverable, stages=(*before, *stages))
    logger.info("p_median: %d sites open, %s", res.open_sites.size, res.report.summary())
    return res


def _within(mins: sp.csr_matrix, minutes: float, penalty: float | None) -> sp.csr_matrix:
    """Demand x site: reachable within ``minutes`` (and within the penalty, beyond which
    nobody is assigned)."""
    limit = minutes if penalty is None else min(minutes, float(penalty))
    out = mins.copy()
    out.data = out.data <= limit
    out.eliminate_zeros()
    return out.astype(bool)


def _floor_why(p: int, share: float, by_standard: bool, cover_minutes: float | None) -> str:
    """Why a covered-share floor cannot be met, in words."""
    pct = f"{100 * float(share):g} % of the weight"
    if by_standard:
        return f"{p} sites cannot cover {pct} within the standard"
    return (f"{p} sites cannot assign {pct} within {float(cover_minutes or 0):g} min "
            "(demand no site reaches counts against the share)")


def _pmedian_floor_infeasible(
    inp: _Inputs, reach: sp.csr_matrix, mins: sp.csr_matrix, uncoverable: IntArray, p: int,
    share: float, by_standard: bool, cover_minutes: float | None, engine: str, seed: int,
    threads: int, time_limit_s: float | None, t0: float, stages: tuple[SolverReport, ...],
) -> PlacementResult:
    """The answer when no ``p`` sites reach the covered-share floor (proven by :func:`mclp`)."""
    why = _floor_why(p, share, by_standard, cover_minutes)
    report = SolverReport(SolveStatus.INFEASIBLE, math.nan, math.nan, math.inf,
                          time.perf_counter() - t0, _solver_name(engine), seed, threads,
                          time_limit_s, why + " (the most they can cover, proven by mclp)")
    return _finish("pmedian", inp, np.zeros(inp.n_sites, dtype=bool), reach, mins, math.nan,
                   report, uncoverable, stages=stages)


def _p_median_lagrangian(
    m: sp.csr_matrix, w: FloatArray, p: int, inp: _Inputs, penalty: float | None,
    const: float, reach: sp.csr_matrix, mins: sp.csr_matrix, uncoverable: IntArray, *,
    deadline: float | None, t0: float, engine: str, seed: int, threads: int,
    stop: threading.Event | None, time_limit_s: float | None,
) -> PlacementResult:
    """:func:`p_median` by heuristic, Lagrangian bound and reduced-cost fixing."""
    pairs = _pm.Pairs.of(m)
    tail = np.full(m.shape[0], math.inf if penalty is None else float(penalty))
    fixed_mask = np.zeros(inp.n_sites, dtype=bool)
    fixed_mask[inp.fixed] = True
    out = _pm.solve(pairs, w, tail, p, fixed_mask, inp.allowed, deadline=deadline,
                    engine=engine, seed=seed, threads=threads, stop=stop)
    wall = time.perf_counter() - t0
    solver = _solver_name(engine)
    msg = f"Lagrangian + reduced-cost fixing: {out.message}"
    has = math.isfinite(out.cost)
    if has:
        st = SolveStatus.OPTIMAL if out.proven else SolveStatus.FEASIBLE
        obj, bnd = out.cost + const, (out.cost if out.proven else out.bound) + const
        report = SolverReport(st, obj, bnd, relative_gap(obj, bnd), wall, solver, seed,
                              threads, time_limit_s, msg)
    elif out.proven:
        report = SolverReport(SolveStatus.INFEASIBLE, math.nan, math.nan, math.inf, wall,
                              solver, seed, threads, time_limit_s,
                              f"{p} sites cannot serve every demand point within the cutoff")
    else:
        last = out.stages[-1] if out.stages else None
        st = last.status if last is not None else SolveStatus.NOT_SOLVED
        report = SolverReport(st, math.nan, out.bound + const, math.inf, wall, solver, seed,
                              threads, time_limit_s, msg)
    open_mask = out.open_mask if has else np.zeros(inp.n_sites, dtype=bool)
    res = _finish("pmedian", inp, open_mask, reach, mins, report.objective, report,
                  uncoverable, stages=out.stages)
    logger.info("p_median: %d sites open, %s", res.open_sites.size, res.report.summary())
    return res


def p_center(
    minutes: Matrix,
    weights: npt.ArrayLike,
    p: int,
    *,
    fixed: Sequence[int] | npt.ArrayLike | None = None,
    closed: Sequence[int] | npt.ArrayLike | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
) -> PlacementResult:
    r"""p-center: the smallest worst-case travel time with at most ``p`` sites.

    Solved exactly as a binary search over the distinct travel times :math:`R`
    (Minieka 1970): :math:`R` is achievable iff the LSCP on
    :math:`\{(i,j): d_{ij} \le R\}` needs at most ``p`` sites.  Each LSCP gets
    the reductions and component split of :func:`lscp`.  Demand with no
    reachable site is reported as uncoverable and ignored; weights only enter
    the figures.  If a step ends at the time limit unproven, the search treats
    the radius as not achievable and the result is ``FEASIBLE`` with the last
    proven lower bound.

    Returns
    -------
    PlacementResult
        ``objective`` is the worst travel time (minutes) of the assigned demand.
    """
    t0 = time.perf_counter()
    mins = _minutes_csr(minutes)
    check_seed_threads(seed, threads)
    inp = _check(mins.shape, weights, fixed, closed, None)
    _check_p(p, inp.fixed.size)
    mins = _restrict_columns(mins, inp.allowed)
    deadline = None if time_limit_s is None else t0 + time_limit_s
    n_entries = np.diff(mins.indptr)
    uncoverable = np.flatnonzero(n_entries == 0).astype(np.int64)
    m = mins[n_entries > 0]
    reach = sp.csr_matrix((np.ones(mins.nnz, dtype=bool), mins.indices.copy(),
                           mins.indptr.copy()), shape=mins.shape)
    stages: list[SolverReport] = []
    if m.shape[0] == 0:
        rep = _combine([], 0.0, 0.0, solver=_solver_name(engine), seed=seed, threads=threads,
                       time_limit_s=time_limit_s, wall=time.perf_counter() - t0)
        return _finish("pcenter", inp, np.isin(np.arange(inp.n_sites), inp.fixed), reach, mins,
                       0.0, rep, uncoverable)
    # the radius is at least every row's nearest reachable site
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    nearest = np.full(m.shape[0], np.inf)
    np.minimum.at(nearest, rows, m.data)
    radii = np.unique(m.data)
    radii = radii[radii >= nearest.max()]
    lo, hi = 0, radii.size - 1
    best: BoolArray | None = None
    best_r = math.nan
    proven_lb = float(radii[0])
    honest = True

    def attempt(k: int) -> tuple[bool | None, BoolArray | None]:
        nonlocal honest
        cov = sp.csr_matrix((m.data <= radii[k], m.indices.copy(), m.indptr.copy()), shape=m.shape)
        cov.eliminate_zeros()
        open_mask, obj, bnd, reps = _solve_lscp_core(
            cov, np.ones(inp.n_sites), inp.fixed, engine=engine, deadline=deadline, seed=seed,
            threads=threads, stop=stop, time_limit_s=time_limit_s, preprocess=True,
        )
        stages.extend(reps)
        all_opt = all(r.status is SolveStatus.OPTIMAL for r in reps)
        if math.isfinite(obj) and obj <= p + 1e-9:
            return True, open_mask
        if all_opt or (math.isfinite(bnd) and bnd > p + 1e-9):
            return False, None
        honest = False
        return None, None

    # the largest radius first: if even that fails, p is too small
    ok, mask = attempt(hi)
    if ok is True:
        best, best_r = mask, float(radii[hi])
        while lo < hi:
            if stop is not None and stop.is_set() or (deadline is not None and
                                                      time.perf_counter() > deadline):
                honest = False
                break
            mid = (lo + hi) // 2
            ok, mask = attempt(mid)
            if ok is True:
                best, best_r, hi = mask, float(radii[mid]), mid
            else:
                if ok is False:
                    proven_lb = float(radii[mid + 1])
                lo = mid + 1
        if honest:
            proven_lb = best_r
    wall = time.perf_counter() - t0
    if best is None:
        status = SolveStatus.INFEASIBLE if ok is False else SolveStatus.UNKNOWN
        msg = (f"{p} sites cannot reach every demand point within the matrix cutoff"
               if ok is False else "time limit before any radius was proven achievable")
        report = SolverReport(status, math.nan, math.nan, math.inf, wall, _solver_name(engine),
                              seed, threads, time_limit_s, msg)
        return _finish("pcenter", inp, np.zeros(inp.n_sites, bool), reach, mins, math.nan,
                       report, uncoverable, stages=tuple(stages))
    status = SolveStatus.OPTIMAL if honest else SolveStatus.FEASIBLE
    report = SolverReport(status, best_r, proven_lb, relative_gap(best_r, proven_lb), wall,
                          _solver_name(engine), seed, threads, time_limit_s,
                          f"binary search over {radii.size} radii, {len(stages)} solves")
    # assign each demand point to its nearest open site (within the radius by construction)
    res = _finish("pcenter", inp, best, reach, mins, best_r, report, uncoverable,
                  stages=tuple(stages))
    worst = float(np.nanmax(res.travel_min)) if res.assignment.max(initial=-1) >= 0 else 0.0
    return replace(res, objective=worst, report=replace(res.report, objective=worst,
                                                        gap=relative_gap(worst, proven_lb)))


# ---------------------------------------------------------------------------
# capacitated coverage, backup coverage, lexicographic goals
# ---------------------------------------------------------------------------


def capacitated(
    covered: Matrix,
    weights: npt.ArrayLike,
    capacity: npt.ArrayLike,
    p: int | None = None,
    *,
    fixed: Sequence[int] | npt.ArrayLike | None = None,
    closed: Sequence[int] | npt.ArrayLike | None = None,
    costs: npt.ArrayLike | None = None,
    minutes: Matrix | None = None,
    single_assignment: bool = False,
    overload_penalty: float | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
) -> PlacementResult:
    r"""Coverage with capacities: demand goes only to open sites within the standard.

    With ``p=None`` (set-covering form): open the least cost of sites so that all
    coverable demand is assigned and no site exceeds its capacity.  With ``p``:
    assign the most weight with at most ``p`` sites.

    .. math::

        \sum_j z_{ij} = 1\ (\text{or} \le 1 \text{ with } p),\quad z_{ij} \le x_j,\quad
        \sum_i w_i z_{ij} \le K_j x_j + o_j

    :math:`z_{ij}` is the share of demand :math:`i` sent to site :math:`j`
    (binary with ``single_assignment``).  The overload :math:`o_j` is 0 unless
    ``overload_penalty`` is given, in which case it is allowed and costs that
    much per unit of weight (in the objective's units: cost, or covered weight).
    When a must-open site is in a component, minutes (if given) do not enter the
    objective; assignment is decided by the model and reported as solved.

    Returns
    -------
    PlacementResult
        ``load``, ``capacity`` and ``overload`` per site are filled in.
    """
    t0 = time.perf_counter()
    c = as_bool_csr(covered)
    check_seed_threads(seed, threads)
    inp = _check(c.shape, weights, fixed, closed, costs)
    _check_p(p, inp.fixed.size)
    cap = np.asarray(capacity, dtype=np.float64).reshape(-1)
    if cap.shape != (inp.n_sites,) or (~np.isfinite(cap) | (cap < 0)).any():
        msg = f"capacity needs {inp.n_sites} finite values >= 0, one per site"
        raise ValueError(msg)
    c = _restrict_columns(c, inp.allowed)
    uncoverable = np.flatnonzero(np.diff(c.indptr) == 0).astype(np.int64)
    cand = np.flatnonzero(inp.allowed)
    col_pos = np.full(inp.n_sites, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    rows = np.repeat(np.arange(inp.n_demand, dtype=np.int64), np.diff(c.indptr))
    cols = c.indices.astype(np.int64)
    n_pairs = rows.size
    coverable = np.flatnonzero(np.diff(c.indptr) > 0)
    maximize = p is not None
    mip = SparseMip(maximize=maximize)
    x_lb = np.zeros(cand.size)
    x_lb[col_pos[inp.fixed]] = 1.0
    x0 = mip.add_variables(cand.size, lb=x_lb, integer=True,
                           objective=0.0 if maximize else inp.costs[cand])
    z0 = mip.add_variables(n_pairs, integer=single_assignment,
                           objective=inp.weights[rows] if maximize else 0.0)
    pen = 0.0 if overload_penalty is None else float(overload_penalty)
    o_ub = 0.0 if overload_penalty is None else math.inf
    o0 = mip.add_variables(cand.size, lb=0.0, ub=o_ub, objective=-pen if maximize else pen)
    # each coverable demand point is assigned once (fully, or at most once with p)
    mip.add_rows(coverable.size, np.searchsorted(coverable, rows), z0 + np.arange(n_pairs), 1.0,
                 lb=-math.inf if maximize else 1.0, ub=1.0)
    # only to an open site: z_ij <= x_j
    k = np.arange(n_pairs, dtype=np.int64)
    mip.add_rows(n_pairs, np.concatenate([k, k]), np.concatenate([z0 + k, x0 + col_pos[cols]]),
                 np.concatenate([np.ones(n_pairs), -np.ones(n_pairs)]), ub=0.0)
    # load within capacity (plus any penalised overload)
    s = np.arange(cand.size, dtype=np.int64)
    mip.add_rows(
        cand.size,
        np.concatenate([col_pos[cols], s, s]),
        np.concatenate([z0 + k, x0 + s, o0 + s]),
        np.concatenate([inp.weights[rows], -cap[cand], -np.ones(cand.size)]),
        ub=0.0,
    )
    if p is not None:
        # at most p points
        mip.add_rows(1, np.zeros(cand.size, dtype=np.int64), x0 + s, 1.0, ub=float(p))
    sol = solve_mip(mip, engine=engine, time_limit_s=time_limit_s, seed=seed, threads=threads,
                    stop=stop)
    open_mask = np.zeros(inp.n_sites, dtype=bool)
    open_mask[inp.fixed] = True
    assignment = np.full(inp.n_demand, -1, dtype=np.int64)
    overload = np.zeros(inp.n_sites)
    if sol.values is not None:
        open_mask[cand[sol.values[x0:x0 + cand.size] > 0.5]] = True
        z = sol.values[z0:z0 + n_pairs]
        # report each demand point's main site (largest share)
        order = np.lexsort((-z, rows))
        r_s, c_s, z_s = rows[order], cols[order], z[order]
        first = np.ones(r_s.size, dtype=bool)
        first[1:] = r_s[1:] != r_s[:-1]
        pick = first & (z_s > 1e-6)
        assignment[r_s[pick]] = c_s[pick]
        overload[cand] = np.maximum(0.0, sol.values[o0:o0 + cand.size])
        load_split = np.bincount(cols, weights=inp.weights[rows] * z,
                                 minlength=inp.n_sites).astype(np.float64)
    else:
        load_split = np.zeros(inp.n_sites, dtype=np.float64)
    report = replace(sol.report, wall_time_s=time.perf_counter() - t0)
    if report.status is SolveStatus.INFEASIBLE:
        why = ("the capacities of the sites allowed to open cannot take every coverable "
               "demand point within the standard" + (
                   " (allow overload at a cost: overload_penalty, --overload-penalty on the"
                   " command line)" if overload_penalty is None
                   else ""))
        report = replace(report, message="; ".join(x for x in (why, report.message) if x))
    mins = _minutes_csr(minutes) if minutes is not None else None
    res = _finish("capacitated", inp, open_mask, c, mins, sol.report.objective, report,
                  uncoverable, assignment=assignment, stages=(sol.report,), capacity=cap,
                  overload=overload)
    if sol.values is not None:
        z = sol.values[z0:z0 + n_pairs]
        covered_w = float(np.bincount(rows, weights=z, minlength=inp.n_demand).clip(0, 1)
                          @ inp.weights)
        res = replace(res, load=load_split, covered_weight=covered_w)
    return res


def backup(
    covered: Matrix,
    weights: npt.ArrayLike,
    p: int,
    *,
    fixed: Sequence[int] | npt.ArrayLike | None = None,
    closed: Sequence[int] | npt.ArrayLike | None = None,
    minutes: Matrix | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
) -> PlacementResult:
    r"""Backup coverage: keep the best single coverage, then cover the most weight twice.

    Two lexicographic stages on ``x`` (sites), ``y`` (covered once) and ``b``
    (covered at least twice), after Hogan & ReVelle (1986):

    1. :math:`z^* = \max \sum_i w_i y_i` (the :func:`mclp` optimum);
    2. :math:`\max \sum_i w_i b_i` s.t. :math:`y_i + b_i \le \sum_{j\in N_i} x_j`,
       :math:`b_i \le y_i`, :math:`\sum_i w_i y_i \ge z^*`, :math:`\sum_j x_j \le p`.

    So a point closing or overloaded leaves the ``backup_weight`` still served,
    without giving up any single coverage.  If stage 1 is not proven optimal
    its best value is kept and the result cannot be ``OPTIMAL``.

    Returns
    -------
    PlacementResult
        ``objective`` is the weight covered twice (``backup_weight``);
        ``covered_weight`` the weight covered at least once.
    """
    t0 = time.perf_counter()
    deadline = None if time_limit_s is None else t0 + time_limit_s
    first = mclp(covered, weights, p, fixed=fixed, closed=closed, time_limit_s=time_limit_s,
                 seed=seed, threads=threads, engine=engine, stop=stop)  # checks seed, threads
    c = as_bool_csr(covered)
    inp = _check(c.shape, weights, fixed, closed, None)
    c = _restrict_columns(c, inp.allowed)
    uncoverable = first.uncoverable
    if not first.status.has_solution:
        return replace(first, model="backup")
    n = inp.n_demand
    cand = np.flatnonzero(inp.allowed)
    col_pos = np.full(inp.n_sites, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    mip = SparseMip(maximize=True)
    x_lb = np.zeros(cand.size)
    x_lb[col_pos[inp.fixed]] = 1.0
    x0 = mip.add_variables(cand.size, lb=x_lb, integer=True)
    y0 = mip.add_variables(n)
    b0 = mip.add_variables(n, objective=inp.weights)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(c.indptr))
    i = np.arange(n, dtype=np.int64)
    # y_i + b_i <= number of open sites covering i
    mip.add_rows(n, np.concatenate([i, i, rows]),
                 np.concatenate([y0 + i, b0 + i, x0 + col_pos[c.indices]]),
                 np.concatenate([np.ones(n), np.ones(n), -np.ones(rows.size)]), ub=0.0)
    # backup only where there is first coverage
    mip.add_rows(n, np.concatenate([i, i]), np.concatenate([b0 + i, y0 + i]),
                 np.concatenate([np.ones(n), -np.ones(n)]), ub=0.0)
    # keep the single coverage of stage 1
    z1 = first.objective
    mip.add_rows(1, np.zeros(n, dtype=np.int64), y0 + i, inp.weights,
                 lb=z1 - 1e-6 * max(1.0, abs(z1)))
    mip.add_rows(1, np.zeros(cand.size, dtype=np.int64), x0 + np.arange(cand.size), 1.0,
                 ub=float(p))
    hint = np.zeros(mip.n_vars)
    hint[x0 + col_pos[first.open_sites]] = 1.0
    hint[y0:y0 + n] = first.assignment >= 0
    sol = solve_mip(mip, engine=engine, time_limit_s=_remaining(deadline), seed=seed,
                    threads=threads, stop=stop, hint=hint)
    stages = (first.report, sol.report)
    if sol.values is None:
        report = replace(first.report, status=SolveStatus.FEASIBLE if first.status.has_solution
                         else first.status, message="backup stage found no solution")
        return replace(first, model="backup", report=report, stages=stages)
    open_mask = np.zeros(inp.n_sites, dtype=bool)
    open_mask[inp.fixed] = True
    open_mask[cand[sol.values[x0:x0 + cand.size] > 0.5]] = True
    n_cov = np.asarray(c[:, np.flatnonzero(open_mask)].sum(axis=1)).ravel()
    backup_w = float(inp.weights[n_cov >= 2].sum())
    report = _combine(list(stages), sol.report.objective, sol.report.best_bound,
                      solver=_solver_name(engine), seed=seed, threads=threads,
                      time_limit_s=time_limit_s, wall=time.perf_counter() - t0)
    mins = _minutes_csr(minutes) if minutes is not None else None
    bound = report.best_bound
    if math.isfinite(bound) and _whole(inp.weights):
        # whole-number weights (people): the weight covered twice is a whole number,
        # so the bound rounds down; the stage-1 tolerance otherwise leaves a fraction
        # of a person in it (objective 0, bound 0.005: "OPTIMAL" with a 0.5 % gap)
        bound = math.floor(bound + 1e-6)
    report = replace(report, objective=backup_w, best_bound=bound,
                     gap=relative_gap(backup_w, bound) if report.status.has_solution
                     else math.inf)
    return _finish("backup", inp, open_mask, c, mins, backup_w, report, uncoverable,
                   stages=stages, backup_weight=backup_w)


def _fewest_points(
    c: sp.csr_matrix, inp: _Inputs, cand: IntArray, col_pos: IntArray, p: int,
    cover: float | None, integral: bool, hint: FloatArray | None, x0: int, z0: int,
    n_vars: int, rows: IntArray, cols: IntArray, *, engine: str, deadline: float | None, seed: int, threads: int,
    stop: threading.Event | None,
) -> MipSolution:
    """Fewest open points (at most ``p``) covering at least ``cover`` weight (exactly when
    ``integral``: whole-number weights).

    Solved on the compact covering model (``y_i <= sum_{j in N_i} x_j``); the
    solution is returned in the variables of :func:`lexicographic`'s pair model
    (each covered point assigned to its first open covering site), so it is that
    model's hint and its stage holds the same value.
    """
    n = inp.n_demand
    mip = SparseMip()
    x_lb = np.zeros(cand.size)
    x_lb[col_pos[inp.fixed]] = 1.0
    xs = mip.add_variables(cand.size, lb=x_lb, integer=True, objective=1.0)
    ys = mip.add_variables(n)
    i = np.arange(n, dtype=np.int64)
    mip.add_rows(n, np.concatenate([i, rows]), np.concatenate([ys + i, xs + col_pos[cols]]),
                 np.concatenate([np.ones(n), -np.ones(rows.size)]), ub=0.0)
    mip.add_rows(1, np.zeros(cand.size, dtype=np.int64), xs + np.arange(cand.size), 1.0,
                 ub=float(p))
    if cover is not None:
        # the same hold as the pair model's: exact with whole-number weights (a relative
        # tolerance would let 1.25 million people become one fewer), else 1e-6 relative
        mip.add_rows(1, np.zeros(n, dtype=np.int64), ys + i, inp.weights,
                     lb=cover if integral else cover - 1e-6 * max(1.0, abs(cover)))
    start = None
    if hint is not None:
        start = np.zeros(mip.n_vars)
        start[xs:xs + cand.size] = hint[x0:x0 + cand.size]
        start[ys:ys + n] = np.minimum(1.0, np.bincount(rows, weights=hint[z0:z0 + rows.size],
                                                       minlength=n))
    sol = solve_mip(mip, engine=engine, time_limit_s=_remaining(deadline), seed=seed,
                    threads=threads, stop=stop, hint=start)
    if sol.values is None:
        return sol
    x = sol.values[xs:xs + cand.size] > 0.5
    values = np.zeros(n_vars)
    values[x0:x0 + cand.size] = x
    # each point covered by an open site goes to its first one (pairs are in row order)
    idx = np.flatnonzero(x[col_pos[cols]])
    first = np.ones(idx.size, dtype=bool)
    first[1:] = rows[idx][1:] != rows[idx][:-1]
    values[z0 + idx[first]] = 1.0
    return MipSolution(report=sol.report, values=values)


def lexicographic(
    covered: Matrix,
    weights: npt.ArrayLike,
    p: int,
    *,
    minutes: Matrix | None = None,
    fixed: Sequence[int] | npt.ArrayLike | None = None,
    closed: Sequence[int] | npt.ArrayLike | None = None,
    goals: Sequence[Literal["coverage", "points", "travel"]] = ("coverage", "points", "travel"),
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
) -> PlacementResult:
    r"""Goals in order: most coverage, then fewest points, then least travel time.

    Each stage optimises its goal while holding every earlier goal at its
    optimum (``coverage >= z1``, ``points <= z2``).  The travel stage assigns each
    covered demand point to an open covering site, minimising weighted minutes
    (``minutes`` must cover every ``covered`` pair).  The result is ``OPTIMAL``
    only if every stage is.

    Returns
    -------
    PlacementResult
        ``objective`` is the value of the last goal; ``stages`` holds each report.
    """
    t0 = time.perf_counter()
    deadline = None if time_limit_s is None else t0 + time_limit_s
    c = as_bool_csr(covered)
    check_seed_threads(seed, threads)
    inp = _check(c.shape, weights, fixed, closed, None)
    _check_p(p, inp.fixed.size)
    c = _restrict_columns(c, inp.allowed)
    mins = _minutes_csr(minutes) if minutes is not None else None
    if "travel" in goals and mins is None:
        msg = "the travel goal needs the minutes matrix"
        raise ValueError(msg)
    n = inp.n_demand
    uncoverable = np.flatnonzero(np.diff(c.indptr) == 0).astype(np.int64)
    cand = np.flatnonzero(inp.allowed)
    col_pos = np.full(inp.n_sites, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(c.indptr))
    cols = c.indices.astype(np.int64)
    n_pairs = rows.size
    mip = SparseMip()
    x_lb = np.zeros(cand.size)
    x_lb[col_pos[inp.fixed]] = 1.0
    x0 = mip.add_variables(cand.size, lb=x_lb, integer=True)
    z0 = mip.add_variables(n_pairs)
    k = np.arange(n_pairs, dtype=np.int64)
    # each demand point is assigned at most once, and only to an open covering site
    mip.add_rows(n, rows, z0 + k, 1.0, ub=1.0)
    mip.add_rows(n_pairs, np.concatenate([k, k]), np.concatenate([z0 + k, x0 + col_pos[cols]]),
                 np.concatenate([np.ones(n_pairs), -np.ones(n_pairs)]), ub=0.0)
    mip.add_rows(1, np.zeros(cand.size, dtype=np.int64), x0 + np.arange(cand.size), 1.0,
                 ub=float(p))
    cover_obj = np.zeros(mip.n_vars)
    cover_obj[z0:z0 + n_pairs] = inp.weights[rows]
    points_obj = np.zeros(mip.n_vars)
    points_obj[x0:x0 + cand.size] = 1.0
    travel_obj = np.zeros(mip.n_vars)
    if mins is not None:
        tm = _lookup(mins, rows, cols)
        if np.isnan(tm).any():
            bad = int(np.flatnonzero(np.isnan(tm))[0])
            msg = (f"minutes has no entry for covered pair (demand {int(rows[bad])}, "
                   f"site {int(cols[bad])})")
            raise ValueError(msg)
        travel_obj[z0:z0 + n_pairs] = inp.weights[rows] * tm
    stages: list[SolverReport] = []
    sol: MipSolution | None = None
    hint: FloatArray | None = None
    held_cover: float | None = None
    integral = _whole(inp.weights)
    for gi, goal in enumerate(goals):
        vec, maximize = {"coverage": (cover_obj, True), "points": (points_obj, False),
                         "travel": (travel_obj, False)}[goal]
        mip.set_objective(vec, maximize=maximize)
        if goal == "points" and set(goals[:gi]) <= {"coverage"}:
            # only coverage held so far: the fewest points need no assignment, so a
            # compact model (one row per demand point, not one column per pair) solves
            # it: 0.5 s instead of 17 s on the demo
            sol = _fewest_points(c, inp, cand, col_pos, p, held_cover, integral, hint, x0, z0,
                                 mip.n_vars, rows, cols,
                                 engine=engine, deadline=deadline, seed=seed, threads=threads,
                                 stop=stop)
        else:
            sol = solve_mip(mip, engine=engine, time_limit_s=_remaining(deadline), seed=seed,
                            threads=threads, stop=stop, hint=hint)
        stages.append(sol.report)
        if sol.values is None:
            break
        hint = sol.values
        z = float(vec @ sol.values)
        nz = np.flatnonzero(vec)
        # hold this goal at its value for the next stages; with whole-number weights
        # (and for the count of points) the value is a whole number and is held
        # exactly: a tolerance would let the continuous assignment give up a sliver
        # of coverage to shave travel (18 min became 17.99998 on a two-point test)
        whole = goal == "points" or (goal == "coverage" and integral)
        tol = 0.0 if whole else 1e-6 * max(1.0, abs(z))
        if whole:
            z = float(round(z))
        if goal == "coverage":
            held_cover = z
        if maximize:
            mip.add_rows(1, np.zeros(nz.size, dtype=np.int64), nz, vec[nz], lb=z - tol)
        else:
            mip.add_rows(1, np.zeros(nz.size, dtype=np.int64), nz, vec[nz], ub=z + tol)
    assert sol is not None
    open_mask = np.zeros(inp.n_sites, dtype=bool)
    open_mask[inp.fixed] = True
    assignment = np.full(n, -1, dtype=np.int64)
    if sol.values is not None:
        open_mask[cand[sol.values[x0:x0 + cand.size] > 0.5]] = True
        # the assignment variables are continuous (for open sites fixed, the assignment
        # LP has a whole-number optimum; a tie may split a point): each point goes to its
        # pair of largest share, if it is assigned at all
        zv = sol.values[z0:z0 + n_pairs]
        order = np.lexsort((-zv, rows))
        first = np.ones(n_pairs, dtype=bool)
        first[1:] = rows[order][1:] != rows[order][:-1]
        pick = order[first]
        served = np.bincount(rows, weights=zv, minlength=n)[rows[pick]] > 0.5
        assignment[rows[pick[served]]] = cols[pick[served]]
    last = stages[-1]
    value = last.objective
    if sol.values is not None:
        # the last goal's value of the plan as read (open sites, one site per point)
        picked = np.zeros(mip.n_vars)
        picked[x0:x0 + cand.size] = open_mask[cand]
        pair = np.flatnonzero(assignment[rows] == cols)
        picked[z0 + pair] = 1.0
        value = float(vec @ picked)
    report = _combine(stages, value, last.best_bound, solver=_solver_name(engine),
                      seed=seed, threads=threads, time_limit_s=time_limit_s,
                      wall=time.perf_counter() - t0,
                      message="goals: " + " > ".join(goals))
    if sol.values is None:
        report = replace(report, status=last.status)
    return _finish("lexicographic", inp, open_mask, c, mins, value, report, uncoverable,
                   assignment=assignment if sol.values is not None else None,
                   stages=tuple(stages))
