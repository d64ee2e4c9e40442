r"""Coverage with capacities: demand goes only to open sites within the standard.

With ``p=None`` (set-covering form): open the least cost of sites so that all
coverable demand is assigned and no site exceeds its capacity.  With ``p``:
assign the most weight with at most ``p`` sites.

.. math::

    \sum_j z_{ij} = 1\ (\text{or} \le 1 \text{ with } p),\quad z_{ij} \le x_j,\quad
    \sum_i w_i z_{ij} \le K_j x_j + o_j

:math:`z_{ij}` is the share of demand :math:`i` sent to site :math:`j` (binary
with ``single_assignment``).  The overload :math:`o_j` is 0 unless
``overload_penalty`` is given, in which case it is allowed and costs that much
per unit of weight (in the objective's units: cost, or covered weight).

:func:`capacitated_mip` builds the model; :func:`solve_capacitated` solves it
once and reads each demand point's main site, the loads and the overloads.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from optimizer._mip import DEFAULT_ENGINE, MipSolution, SparseMip, solve_mip
from optimizer._status import SolveStatus
from optimizer.errors import InvalidInputError
from optimizer.placement.inputs import (
    BoolArray,
    CoverInputs,
    FloatArray,
    IntArray,
    Matrix,
    Sites,
    SolveOptions,
    check_p,
    cover_inputs,
)
from optimizer.placement.result import PlacementResult, finish, restore


@dataclass(frozen=True)
class CapacitatedMip:
    """The model and where its blocks start: sites ``x0``, pair shares ``z0``
    (pairs ``rows``/``cols`` in row order), overloads ``o0``; ``cand`` are the
    allowed sites in column order."""

    mip: SparseMip
    x0: int
    z0: int
    o0: int
    cand: IntArray
    rows: IntArray
    cols: IntArray


def capacitated_mip(prob: CoverInputs, cap: FloatArray, p: int | None, *,
                    single_assignment: bool, overload_penalty: float | None) -> CapacitatedMip:
    """The capacitated covering model (see the module docstring)."""
    inp, c = prob.inp, prob.c
    cand = np.flatnonzero(inp.allowed)
    col_pos = np.full(inp.n_sites, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    rows = np.repeat(np.arange(inp.n_demand, dtype=np.int64), np.diff(c.indptr))
    cols = c.indices.astype(np.int64)
    n_pairs = rows.size
    coverable = np.flatnonzero(np.diff(c.indptr) > 0)
    maximize = p is not None
    mip = SparseMip(maximize=maximize)
    x0 = mip.add_variables(cand.size, lb=inp.fixed_mask[cand].astype(np.float64), integer=True,
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
    return CapacitatedMip(mip, x0, z0, o0, cand, rows, cols)


def _check_capacity(capacity: npt.ArrayLike, n_sites: int) -> FloatArray:
    cap = np.asarray(capacity, dtype=np.float64).reshape(-1)
    if cap.shape != (n_sites,) or (~np.isfinite(cap) | (cap < 0)).any():
        msg = f"capacity needs {n_sites} finite values >= 0, one per site"
        raise InvalidInputError(msg)
    return cap


def _read(prob: CoverInputs, cm: CapacitatedMip, sol: MipSolution,
          ) -> tuple[BoolArray, IntArray, FloatArray]:
    """Open sites, each demand point's main site (largest share) and the overloads."""
    inp = prob.inp
    open_mask = inp.fixed_mask
    assignment = np.full(inp.n_demand, -1, dtype=np.int64)
    overload = np.zeros(inp.n_sites)
    if sol.values is None:
        return open_mask, assignment, overload
    n_pairs = cm.rows.size
    open_mask[cm.cand[sol.values[cm.x0:cm.x0 + cm.cand.size] > 0.5]] = True
    z = sol.values[cm.z0:cm.z0 + n_pairs]
    order = np.lexsort((-z, cm.rows))
    r_s, c_s, z_s = cm.rows[order], cm.cols[order], z[order]
    first = np.ones(r_s.size, dtype=bool)
    first[1:] = r_s[1:] != r_s[:-1]
    pick = first & (z_s > 1e-6)
    assignment[r_s[pick]] = c_s[pick]
    overload[cm.cand] = np.maximum(0.0, sol.values[cm.o0:cm.o0 + cm.cand.size])
    return open_mask, assignment, overload


def solve_capacitated(prob: CoverInputs, capacity: npt.ArrayLike, p: int | None,
                      options: SolveOptions, *, single_assignment: bool = False,
                      overload_penalty: float | None = None) -> PlacementResult:
    """:func:`capacitated` on checked inputs."""
    t0 = time.perf_counter()
    inp = prob.inp
    check_p(p, inp.fixed.size)
    cap = _check_capacity(capacity, inp.n_sites)
    cm = capacitated_mip(prob, cap, p, single_assignment=single_assignment,
                         overload_penalty=overload_penalty)
    sol = solve_mip(cm.mip, engine=options.engine, time_limit_s=options.time_limit_s,
                    seed=options.seed, threads=options.threads, stop=options.stop)
    open_mask, assignment, overload = _read(prob, cm, sol)
    report = replace(sol.report, wall_time_s=time.perf_counter() - t0)
    if report.status is SolveStatus.INFEASIBLE:
        why = ("the capacities of the sites allowed to open cannot take every coverable "
               "demand point within the standard" + (
                   " (allow overload at a cost: overload_penalty, --overload-penalty on the"
                   " command line)" if overload_penalty is None
                   else ""))
        report = replace(report, message="; ".join(x for x in (why, report.message) if x))
    res = finish("capacitated", inp, open_mask, prob.c, prob.minutes, sol.report.objective, report,
                 prob.uncoverable, assignment=assignment, stages=(sol.report,), capacity=cap,
                 overload=overload)
    if sol.values is None:
        return res
    # the load and the covered weight of the shares (a point may be split)
    z = sol.values[cm.z0:cm.z0 + cm.rows.size]
    covered_w = float(np.bincount(cm.rows, weights=z, minlength=inp.n_demand).clip(0, 1)
                      @ inp.weights)
    load_split = np.bincount(cm.cols, weights=inp.weights[cm.rows] * z,
                             minlength=inp.n_sites).astype(np.float64)
    return replace(res, load=load_split, covered_weight=covered_w)


def capacitated(
    covered: Matrix,
    weights: npt.ArrayLike,
    capacity: npt.ArrayLike,
    p: int | None = None,
    *,
    fixed: Sites = None,
    closed: Sites = None,
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
    """Coverage with capacities: demand goes only to open sites within the standard.

    See the module docstring for the model.  When a must-open site is in a
    component, minutes (if given) do not enter the objective; assignment is
    decided by the model and reported as solved.

    Returns
    -------
    PlacementResult
        ``load``, ``capacity`` and ``overload`` per site are filled in.
    """
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    prob = cover_inputs(covered, weights, fixed, closed, costs, minutes)
    res = solve_capacitated(prob, capacity, p, options, single_assignment=single_assignment,
                            overload_penalty=overload_penalty)
    return restore(res, prob.dropped)
