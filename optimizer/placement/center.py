r"""p-center: the smallest worst-case travel time with at most ``p`` sites.

.. math::

    \min R \quad\text{s.t.}\quad \exists\, x \in \{0,1\}^n,\ \sum_j x_j \le p:\
    \forall i\ \exists j,\ x_j = 1,\ d_{ij} \le R

Solved exactly as a binary search over the distinct travel times :math:`R`
(Minieka 1970): :math:`R` is achievable iff the LSCP on
:math:`\{(i,j): d_{ij} \le R\}` needs at most ``p`` sites.  Each LSCP is
:func:`optimizer.placement.set_cover.solve_cover`, with its reductions and
component split; the search (:func:`solve_p_center`) is the strategy.
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

from optimizer._mip import DEFAULT_ENGINE
from optimizer._status import SolverReport, SolveStatus, relative_gap
from optimizer.placement.inputs import (
    BoolArray,
    FloatArray,
    Matrix,
    MinutesInputs,
    Sites,
    SolveOptions,
    check_p,
    minutes_inputs,
)
from optimizer.placement.result import PlacementResult, combine_reports, finish, restore
from optimizer.placement.set_cover import solve_cover

logger = logging.getLogger(__name__)


def radius_cover(m: sp.csr_matrix, radius: float) -> sp.csr_matrix:
    """The covering model of one radius: demand x site pairs within ``radius``."""
    cov = sp.csr_matrix((m.data <= radius, m.indices.copy(), m.indptr.copy()), shape=m.shape)
    cov.eliminate_zeros()
    return cov


@dataclass
class _Search:
    """The binary search's state: the best radius found, the last proven lower bound,
    and whether every step was decided (else the result is only ``FEASIBLE``)."""

    radii: FloatArray
    proven_lb: float
    best: BoolArray | None = None
    best_r: float = math.nan
    honest: bool = True
    stages: list[SolverReport] = field(default_factory=list)
    note: str = ""


def _attempt(m: sp.csr_matrix, prob: MinutesInputs, p: int, s: _Search, k: int,
             options: SolveOptions, deadline: float | None) -> tuple[bool | None, BoolArray | None]:
    """Whether radius ``radii[k]`` is achievable with ``p`` sites (``None``: undecided)."""
    open_mask, obj, bnd, reps = solve_cover(
        radius_cover(m, float(s.radii[k])), np.ones(prob.inp.n_sites), prob.inp.fixed,
        options=options, deadline=deadline, preprocess=True)
    s.stages.extend(reps)
    all_opt = all(r.status is SolveStatus.OPTIMAL for r in reps)
    if math.isfinite(obj) and obj <= p + 1e-9:
        return True, open_mask
    if all_opt or (math.isfinite(bnd) and bnd > p + 1e-9):
        return False, None
    s.honest = False
    return None, None


def _greedy_cover(m: sp.csr_matrix, radius: float, fixed: BoolArray, p: int) -> BoolArray | None:
    """At most ``p`` sites (the must-open ones first, then the one reaching the most
    rows not yet reached, each step) within ``radius`` of every row, or ``None`` when the
    greedy needs more: a cheap proof that the radius is achievable."""
    cov = radius_cover(m, radius)
    n_rows, n = cov.shape
    counts = np.diff(cov.indptr)
    if (counts == 0).any():
        return None
    csc = cov.tocsc()
    covered = np.zeros(n_rows, dtype=bool)
    open_mask = fixed.copy()
    for f in np.flatnonzero(fixed):
        covered[csc.indices[csc.indptr[f]:csc.indptr[f + 1]]] = True
    rows = np.repeat(np.arange(n_rows), counts)
    gain = np.bincount(cov.indices[~covered[rows]], minlength=n).astype(np.int64)
    left = p - int(fixed.sum())
    while not covered.all():
        j = int(np.argmax(gain))
        if left <= 0 or gain[j] <= 0:
            return None
        open_mask[j] = True
        left -= 1
        hit = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
        new = hit[~covered[hit]]
        covered[new] = True
        ent = _row_entries(cov.indptr[new], counts[new])
        gain -= np.bincount(cov.indices[ent], minlength=n)
    return open_mask


def _row_entries(starts: npt.NDArray[np.int64], counts: npt.NDArray[np.int64],
                 ) -> npt.NDArray[np.int64]:
    total = int(counts.sum())
    offs = np.cumsum(counts) - counts
    return np.repeat(starts - offs, counts) + np.arange(total, dtype=np.int64)


#: Share of the time limit kept in hand for an LSCP step's overrun: its engine is
#: abandoned 1 s after its share (``set_cover.ENGINE_GRACE_S``), and the rest of the
#: step (bounds, the assignment) is not interruptible (15 % before engines were cut
#: off: pt-1km's step had ended 9.5 s past its deadline).
LSCP_OVERRUN = 0.05
#: Rows the packing bound looks at, fewest sites within the radius first.
PACKING_ROWS = 4000


def _packing_exceeds(m: sp.csr_matrix, radius: float, fixed: BoolArray, p: int) -> bool:
    """Whether more than the ``p - |must-open|`` free sites are needed within ``radius``:
    a row no site reaches within it, or more rows (not reached by a must-open site) than
    that whose sites within it are pairwise disjoint (each needs its own site).  A
    proof that the radius is not achievable (never a wrong one: any disjoint rows do)."""
    cov = radius_cover(m, radius)
    counts = np.diff(cov.indptr)
    if (counts == 0).any():
        return True
    q = p - int(fixed.sum())
    rows = np.repeat(np.arange(cov.shape[0]), counts)
    by_fixed = np.zeros(cov.shape[0], dtype=bool)
    by_fixed[rows[fixed[cov.indices]]] = True
    cand = np.flatnonzero(~by_fixed)
    order = cand[np.argsort(counts[cand], kind="stable")][:PACKING_ROWS]
    used = np.zeros(cov.shape[1], dtype=bool)
    found = 0
    for i in order.tolist():
        idx = cov.indices[cov.indptr[i]:cov.indptr[i + 1]]
        if not used[idx].any():
            used[idx] = True
            found += 1
            if found > q:
                return True
    return False


def _search(m: sp.csr_matrix, prob: MinutesInputs, p: int, options: SolveOptions,
            deadline: float | None) -> tuple[_Search, bool | None]:
    """Binary search over the radii; returns the state and the first step's answer.

    Cheap steps first: the greedy cover's smallest achievable radius (an upper bound)
    and the disjoint-rows packing's largest refuted one (a lower bound) narrow the range;
    the exact LSCP steps then run between them only."""
    # the radius is at least every row's nearest reachable site
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    nearest = np.full(m.shape[0], np.inf)
    np.minimum.at(nearest, rows, m.data)
    radii = np.unique(m.data)
    radii = radii[radii >= nearest.max()]
    s = _Search(radii, float(radii[0]))
    fixed = prob.inp.fixed_mask
    lo, hi = 0, radii.size - 1

    def late() -> bool:
        return options.stopped or (deadline is not None and time.perf_counter() > deadline)

    mask = _greedy_cover(m, float(radii[hi]), fixed, p)
    if mask is None:
        if _packing_exceeds(m, float(radii[hi]), fixed, p):
            return s, False  # even the largest radius needs more than p sites
        # the largest radius first: if even that fails, p is too small
        first, mask = _attempt(m, prob, p, s, hi, options, deadline)
        if first is not True:
            return s, first
    s.best, s.best_r = mask, float(radii[hi])
    # greedy covers: the smallest radius they reach with p sites (upper bound)
    a, b = lo, hi
    while a < b and not late():
        mid = (a + b) // 2
        g = _greedy_cover(m, float(radii[mid]), fixed, p)
        if g is not None:
            s.best, s.best_r, b = g, float(radii[mid]), mid
        else:
            a = mid + 1
    hi = b
    # packings: the largest radius they refute (lower bound)
    a, b = lo, hi
    while a < b and not late():
        mid = (a + b) // 2
        if _packing_exceeds(m, float(radii[mid]), fixed, p):
            a = mid + 1
            s.proven_lb = float(radii[a])
        else:
            b = mid
    lo = a
    s.note = (f"greedy covers and disjoint-row packings: between {radii[lo]:g} and "
              f"{radii[hi]:g} min; ")
    while lo < hi:
        if late():
            s.honest = False
            break
        mid = (lo + hi) // 2
        ok, mask = _attempt(m, prob, p, s, mid, options, deadline)
        if ok is True:
            s.best, s.best_r, hi = mask, float(radii[mid]), mid
        else:
            if ok is False:
                s.proven_lb = float(radii[mid + 1])
            lo = mid + 1
    if s.honest:
        s.proven_lb = s.best_r
    return s, True


def solve_p_center(prob: MinutesInputs, p: int, options: SolveOptions) -> PlacementResult:
    """:func:`p_center` on checked inputs."""
    t0 = time.perf_counter()
    inp = prob.inp
    check_p(p, inp.fixed.size)
    deadline = options.deadline(t0)
    if deadline is not None:
        # the LSCP steps end a little after the deadline they are given (their
        # engine's grace and the work after it): keep that in hand
        deadline -= LSCP_OVERRUN * (deadline - t0)
    m = prob.mins[np.diff(prob.mins.indptr) > 0]
    if m.shape[0] == 0:
        rep = combine_reports([], 0.0, 0.0, solver=options.solver_name, options=options,
                              wall=time.perf_counter() - t0)
        return finish("pcenter", inp, inp.fixed_mask, prob.reach, prob.mins, 0.0, rep,
                      prob.uncoverable)
    s, first = _search(m, prob, p, options, deadline)
    wall = time.perf_counter() - t0
    common = (wall, options.solver_name, options.seed, options.threads, options.time_limit_s)
    if s.best is None:
        status = SolveStatus.INFEASIBLE if first is False else SolveStatus.UNKNOWN
        msg = (f"{p} sites cannot reach every demand point within the matrix cutoff"
               if first is False else "time limit before any radius was proven achievable")
        report = SolverReport(status, math.nan, math.nan, math.inf, *common, msg)
        return finish("pcenter", inp, np.zeros(inp.n_sites, bool), prob.reach, prob.mins,
                      math.nan, report, prob.uncoverable, stages=tuple(s.stages))
    status = SolveStatus.OPTIMAL if s.honest else SolveStatus.FEASIBLE
    report = SolverReport(status, s.best_r, s.proven_lb, relative_gap(s.best_r, s.proven_lb),
                          *common, f"{s.note}binary search over {s.radii.size} radii, "
                          f"{len(s.stages)} LSCP solves")
    # assign each demand point to its nearest open site (within the radius by construction)
    res = finish("pcenter", inp, s.best, prob.reach, prob.mins, s.best_r, report,
                 prob.uncoverable, stages=tuple(s.stages))
    worst = float(np.nanmax(res.travel_min)) if res.assignment.max(initial=-1) >= 0 else 0.0
    return replace(res, objective=worst, report=replace(res.report, objective=worst,
                                                        gap=relative_gap(worst, s.proven_lb)))


def p_center(
    minutes: Matrix,
    weights: npt.ArrayLike,
    p: int,
    *,
    fixed: Sites = None,
    closed: Sites = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
) -> PlacementResult:
    """p-center: the smallest worst-case travel time with at most ``p`` sites.

    See the module docstring for the method.  Demand with no reachable site is
    reported as uncoverable and ignored; demand of weight 0 is left out (it does not
    bound the radius); otherwise weights only enter the figures.  If a
    step ends at the time limit unproven, the search treats the radius as not
    achievable and the result is ``FEASIBLE`` with the last proven lower bound.

    Returns
    -------
    PlacementResult
        ``objective`` is the worst travel time (minutes) of the assigned demand.
    """
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    prob = minutes_inputs(minutes, weights, fixed, closed)
    return restore(solve_p_center(prob, p, options), prob.dropped)
