r"""Closure: which existing offices can close while everyone keeps the coverage they have.

Let :math:`E` be the existing offices and :math:`T` the demand points (of positive
weight) within the standard of at least one of them today.  Keep the cheapest subset:

.. math::

    \min \sum_{j \in E} c_j x_j \quad\text{s.t.}\quad
    \sum_{j \in N_i \cap E} x_j + y_i \ge 1 \;\forall i \in T,\quad
    \sum_{i \in T} w_i y_i \le L,\quad x_j = 1\; (j \in \text{fixed}),\quad
    x, y \in \{0,1\}

where :math:`y_i = 1` means demand point :math:`i` loses its coverage and :math:`L`
is the weight (people) that may lose it (``max_loss``).  Candidate sites never open.

With :math:`L = 0` (the default) the :math:`y` vanish and this is the location set
cover (:mod:`optimizer.placement.set_cover`) restricted to the existing offices and
the rows they cover today, solved by the same strategy (reductions, components,
greedy hint, rounded-up bound).  A demand point that only one office covers forces
that office open: a closure that would strand a village is never chosen.  With
:math:`L > 0` a village may lose its coverage, within the allowance.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer._cover import greedy_cover
from optimizer._mip import SparseMip, solve_mip
from optimizer._status import SolveStatus
from optimizer.errors import InvalidInputError
from optimizer.placement.inputs import (
    DEFAULT_TUNING,
    CoverInputs,
    Matrix,
    Sites,
    SolveOptions,
    Tuning,
    cover_inputs,
    remaining,
    whole,
)
from optimizer.placement.result import PlacementResult, combine_reports, finish, restore
from optimizer.placement.set_cover import lscp_engine, solve_lscp

logger = logging.getLogger(__name__)


def sole_cover_sites(covered: Matrix, existing: Sites, weights: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Existing offices that are the only one within the standard of some demand point of
    positive weight (closing one would strand that point), sorted."""
    c = sp.csr_matrix(covered, dtype=bool)
    ex = np.zeros(c.shape[1], dtype=bool)
    ex[np.asarray([] if existing is None else existing, dtype=np.int64)] = True
    c = c[:, np.flatnonzero(ex)].tocsr()
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    once = (np.diff(c.indptr) == 1) & (w > 0)
    cols = np.flatnonzero(ex)[c[once].indices] if once.any() else np.zeros(0, dtype=np.int64)
    return np.unique(cols).astype(np.int64)


def _solve_with_loss(prob: CoverInputs, max_loss: float, options: SolveOptions
                     ) -> PlacementResult:
    t0 = time.perf_counter()
    inp, c = prob.inp, prob.c
    today = np.flatnonzero(np.diff(c.indptr) > 0)
    ct = c[today].tocsr()
    w = inp.weights[today]
    mip = SparseMip()
    cost = inp.costs.copy()
    lb = np.zeros(inp.n_sites)
    lb[inp.fixed] = 1.0
    ub = inp.allowed.astype(np.float64)
    x0 = mip.add_variables(inp.n_sites, lb=lb, ub=ub, integer=True, objective=cost)
    # a point heavier than the allowance can never lose its coverage
    y0 = mip.add_variables(today.size, ub=(w <= max_loss + 1e-9).astype(np.float64),
                           integer=True)
    rows = np.repeat(np.arange(today.size, dtype=np.int64), np.diff(ct.indptr))
    mip.add_rows(today.size, np.concatenate([rows, np.arange(today.size)]),
                 np.concatenate([ct.indices.astype(np.int64) + x0,
                                 np.arange(today.size, dtype=np.int64) + y0]), 1.0, lb=1.0)
    mip.add_rows(1, np.zeros(today.size, dtype=np.int64),
                 np.arange(today.size, dtype=np.int64) + y0, w, ub=max_loss)
    # hint: the full cover (nobody loses coverage), feasible whatever the allowance
    start = np.zeros(inp.n_sites, dtype=bool)
    start[inp.fixed] = True
    free = ~(np.asarray(ct[:, inp.fixed].sum(axis=1)).ravel() > 0)
    sub = ct[free]
    start |= greedy_cover(sub, inp.costs) if sub.shape[0] else False
    hint = np.concatenate([start.astype(np.float64), np.zeros(today.size)])
    n_existing = int(inp.allowed.sum())
    sol = solve_mip(mip, engine=lscp_engine(options.engine, n_existing),
                    time_limit_s=remaining(options.deadline(t0)), seed=options.seed,
                    threads=options.threads, stop=options.stop, hint=hint)
    report = sol.report
    if sol.values is not None:
        open_mask = sol.values[x0:x0 + inp.n_sites] > 0.5
        objective, bound = float(inp.costs[open_mask].sum()), report.best_bound
    elif report.status is SolveStatus.INFEASIBLE:
        open_mask, objective, bound = np.zeros(inp.n_sites, dtype=bool), math.nan, math.nan
    else:
        # no incumbent in time: the greedy full cover, honestly FEASIBLE
        open_mask, objective, bound = start, float(inp.costs[start].sum()), report.best_bound
        report = replace(report, status=SolveStatus.FEASIBLE, objective=objective,
                         message="; ".join(x for x in ("greedy cover kept", report.message) if x))
    if whole(inp.costs) and report.status is SolveStatus.FEASIBLE and math.isfinite(bound):
        # whole-number costs: the optimum is a whole number >= the bound (as in set_cover)
        bound = math.ceil(bound - 1e-6)
        if objective <= bound + 1e-9:
            report = replace(report, status=SolveStatus.OPTIMAL, objective=objective,
                             best_bound=objective, gap=0.0,
                             message="proven by the rounded-up bound")
    report = combine_reports([report], objective, bound if math.isfinite(bound) else 0.0,
                             options=options, solver=report.solver,
                             wall=time.perf_counter() - t0, message=report.message)
    return finish("closure", inp, open_mask, c, prob.minutes, objective, report,
                  prob.uncoverable, stages=(sol.report,))


def closure(
    covered: Matrix,
    weights: npt.ArrayLike,
    existing: Sites,
    *,
    fixed: Sites = None,
    costs: npt.ArrayLike | None = None,
    minutes: Matrix | None = None,
    max_loss: float = 0.0,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = "auto",
    stop: threading.Event | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> PlacementResult:
    """Which existing offices can close while everyone they cover today stays covered.

    See the module docstring for the model.

    Parameters
    ----------
    covered : boolean demand x site matrix (within the standard).
    weights : demand weights (residents); ``max_loss`` is in the same unit.
    existing : indices of the offices open today; every other site stays closed.
    fixed : existing offices that may not close.
    costs : per site, what closing it saves (its opening cost; default 1: count offices).
    minutes : optional travel minutes, to assign each demand point to its nearest kept office.
    max_loss : total weight allowed to lose its coverage (default 0: nobody).
    time_limit_s, seed, threads, engine, stop, tuning : as in :func:`optimizer.placement.lscp`.

    Returns
    -------
    PlacementResult
        ``model`` is ``"closure"``, ``open_sites`` the offices kept, ``objective``
        their total cost; demand no existing office covers today is ``uncoverable``.
    """
    ex = np.unique(np.asarray([] if existing is None else existing, dtype=np.int64).reshape(-1))
    shape = sp.csr_matrix(covered).shape
    if ex.size == 0:
        msg = "closure needs existing offices (sites of kind branch or reception not closed)"
        raise InvalidInputError(msg)
    if not (math.isfinite(max_loss) and max_loss >= 0):
        msg = f"max_loss must be a number >= 0, got {max_loss}"
        raise InvalidInputError(msg)
    fx = np.unique(np.asarray([] if fixed is None else fixed, dtype=np.int64).reshape(-1))
    outside = np.setdiff1d(fx, ex)
    if outside.size:
        msg = f"site {int(outside[0])} must stay open but is not an existing office"
        raise InvalidInputError(msg)
    closed = np.setdiff1d(np.arange(shape[1], dtype=np.int64), ex)
    prob = cover_inputs(covered, weights, fx, closed, costs, minutes)
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    if max_loss > 0:
        res = _solve_with_loss(prob, float(max_loss), options)
    else:
        res = replace(solve_lscp(prob, options, tuning=tuning), model="closure")
    logger.info("closure: %d of %d offices kept, %s", res.open_sites.size, ex.size,
                res.report.summary())
    return restore(res, prob.dropped)
