"""The answer of a placement model, and how the answers of several solves combine.

:class:`PlacementResult` is what every model returns: open sites, each demand
point's site, the objective and a :class:`optimizer._status.SolverReport`.
:func:`finish` builds one from an open-site mask (assigning each demand point
to its nearest open site unless the model decided the assignment);
:func:`combine_reports` makes one report of several solves (components,
lexicographic stages, binary-search steps) that is ``OPTIMAL`` only if every
part is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from optimizer._status import SolverReport, SolveStatus, relative_gap
from optimizer.placement.inputs import (
    BoolArray,
    Dropped,
    FloatArray,
    Inputs,
    IntArray,
    SolveOptions,
)


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
    assigned_share : capacitated models: per demand point, the share of its weight
        assigned to open sites within the standard (and capacity): 1 fully, 0 not at
        all, between when the model split it; ``covered_weight`` is ``weights @ share``.
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
    assigned_share: FloatArray | None = None
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
        """Covered weight over total weight, in ``[0, 1]`` (every model refuses demand
        that is all 0, see :class:`optimizer.placement.inputs.NoDemandError`)."""
        return self.covered_weight / self.total_weight if self.total_weight > 0 else math.nan


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


def lookup(m: sp.csr_matrix, rows: IntArray, cols: IntArray) -> FloatArray:
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


def nearest_open(
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
    vals = lookup(minutes, rows, cols) if minutes is not None else np.zeros(rows.size)
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


def main_sites(rows: IntArray, cols: IntArray, shares: FloatArray, assignment: IntArray) -> None:
    """Write each demand point's main site (the pair with its largest positive share) into
    ``assignment`` (indexed by ``rows``); points with no positive share are left as they are."""
    order = np.lexsort((-shares, rows))
    r_s, c_s, z_s = rows[order], cols[order], shares[order]
    first = np.ones(r_s.size, dtype=bool)
    first[1:] = r_s[1:] != r_s[:-1]
    pick = first & (z_s > 0)
    assignment[r_s[pick]] = c_s[pick]


def finish(
    model: str,
    inp: Inputs,
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
    """The result of ``open_mask``: each demand point goes to its nearest open site in
    ``reach`` (by ``minutes`` if given) unless ``assignment`` is given; no open site
    when the report has no solution."""
    has = report.status.has_solution
    if not has:
        open_mask = np.zeros(inp.n_sites, dtype=bool)
    if assignment is None:
        assignment, travel = nearest_open(reach, open_mask, minutes)
    else:
        travel = np.full(inp.n_demand, np.nan)
        if minutes is not None:
            a = np.flatnonzero(assignment >= 0)
            travel[a] = lookup(minutes, a, assignment[a])
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


def combine_reports(reports: Sequence[SolverReport], objective: float, bound: float, *,
                    solver: str, options: SolveOptions, wall: float,
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
        wall_time_s=wall, solver=solver, seed=options.seed, threads=options.threads,
        time_limit_s=options.time_limit_s, message="; ".join(msgs),
    )


def restore(res: PlacementResult, dropped: Dropped | None) -> PlacementResult:
    """``res`` over every demand point again, after the models saw only those of positive
    weight.  A point of weight 0 goes to its nearest open site within reach (as any
    point the model did not assign), changing no load, objective or covered weight;
    one no allowed site reaches is in ``uncoverable`` (with weight 0)."""
    if dropped is None:
        return res
    n, kept = dropped.n_demand, dropped.kept
    zero = np.setdiff1d(np.arange(n, dtype=np.int64), kept)
    is_open = np.zeros(dropped.reach.shape[1], dtype=bool)
    is_open[res.open_sites] = True
    reach0 = dropped.reach[zero]
    a0, t0 = nearest_open(reach0, is_open,
                          None if dropped.minutes is None else dropped.minutes[zero])
    assignment = np.full(n, -1, dtype=np.int64)
    travel = np.full(n, np.nan)
    assignment[kept], travel[kept] = res.assignment, res.travel_min
    assignment[zero], travel[zero] = a0, t0
    uncoverable = np.union1d(kept[res.uncoverable], zero[np.diff(reach0.indptr) == 0])
    share = None
    if res.assigned_share is not None:
        # a point of weight 0 sent to an open site counts as wholly assigned (it adds no load)
        share = (assignment >= 0).astype(np.float64)
        share[kept] = res.assigned_share
    return replace(res, assignment=assignment, travel_min=travel,
                   uncoverable=uncoverable.astype(np.int64), assigned_share=share)
