r"""Covering variants: backup coverage and lexicographic goals.

**Backup coverage** (after Hogan & ReVelle 1986): two lexicographic stages on
``x`` (sites), ``y`` (covered once) and ``b`` (covered at least twice):

1. :math:`z^* = \max \sum_i w_i y_i` (the MCLP optimum);
2. :math:`\max \sum_i w_i b_i` s.t. :math:`y_i + b_i \le \sum_{j\in N_i} x_j`,
   :math:`b_i \le y_i`, :math:`\sum_i w_i y_i \ge z^*`, :math:`\sum_j x_j \le p`.

**Lexicographic goals**: most coverage, then fewest points, then least travel
time, on a pair model (``z_ij`` assigns demand ``i`` to open site ``j``
covering it: :math:`\sum_j z_{ij} \le 1`, :math:`z_{ij} \le x_j`,
:math:`\sum_j x_j \le p`); each stage optimises its goal while holding every
earlier goal at its optimum.  The fewest-points stage right after coverage runs
on the compact covering model instead (one row per demand point).

The builders (:func:`backup_mip`, :func:`pair_model`) stand apart from the
strategies (:func:`solve_backup`, :func:`solve_lexicographic`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer._mip import DEFAULT_ENGINE, MipSolution, SparseMip, solve_mip
from optimizer._status import SolverReport, SolveStatus, relative_gap
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
    remaining,
    whole,
)
from optimizer.placement.max_cover import solve_mclp
from optimizer.placement.result import (
    PlacementResult,
    combine_reports,
    finish,
    lookup,
    restore,
)

Goal = Literal["coverage", "points", "travel"]


def _columns(prob: CoverInputs) -> tuple[IntArray, IntArray]:
    """Allowed sites in column order, and each site's column (-1 if closed)."""
    cand = np.flatnonzero(prob.inp.allowed)
    col_pos = np.full(prob.inp.n_sites, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    return cand, col_pos


# ---------------------------------------------------------------------------
# backup coverage
# ---------------------------------------------------------------------------


def backup_mip(prob: CoverInputs, p: int, z1: float) -> tuple[SparseMip, int, int]:
    """Stage 2 of the backup model, keeping single coverage ``z1``; returns the model
    and where its site and single-coverage blocks start."""
    inp, c = prob.inp, prob.c
    cand, col_pos = _columns(prob)
    n = inp.n_demand
    mip = SparseMip(maximize=True)
    x0 = mip.add_variables(cand.size, lb=inp.fixed_mask[cand].astype(np.float64), integer=True)
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
    mip.add_rows(1, np.zeros(n, dtype=np.int64), y0 + i, inp.weights,
                 lb=z1 - 1e-6 * max(1.0, abs(z1)))
    mip.add_rows(1, np.zeros(cand.size, dtype=np.int64), x0 + np.arange(cand.size), 1.0,
                 ub=float(p))
    return mip, x0, y0


def solve_backup(prob: CoverInputs, p: int, options: SolveOptions) -> PlacementResult:
    """:func:`backup` on checked inputs."""
    t0 = time.perf_counter()
    deadline = options.deadline(t0)
    first = solve_mclp(prob, p, options)
    if not first.status.has_solution:
        return replace(first, model="backup")
    inp, c = prob.inp, prob.c
    cand, col_pos = _columns(prob)
    mip, x0, y0 = backup_mip(prob, p, first.objective)
    hint = np.zeros(mip.n_vars)
    hint[x0 + col_pos[first.open_sites]] = 1.0
    hint[y0:y0 + inp.n_demand] = first.assignment >= 0
    sol = solve_mip(mip, engine=options.engine, time_limit_s=remaining(deadline),
                    seed=options.seed, threads=options.threads, stop=options.stop, hint=hint)
    stages = (first.report, sol.report)
    if sol.values is None:
        report = replace(first.report, status=SolveStatus.FEASIBLE if first.status.has_solution
                         else first.status, message="backup stage found no solution")
        return replace(first, model="backup", report=report, stages=stages)
    open_mask = inp.fixed_mask
    open_mask[cand[sol.values[x0:x0 + cand.size] > 0.5]] = True
    n_cov = np.asarray(c[:, np.flatnonzero(open_mask)].sum(axis=1)).ravel()
    backup_w = float(inp.weights[n_cov >= 2].sum())
    report = combine_reports(list(stages), sol.report.objective, sol.report.best_bound,
                             solver=options.solver_name, options=options,
                             wall=time.perf_counter() - t0)
    bound = report.best_bound
    if math.isfinite(bound) and whole(inp.weights):
        # whole-number weights (people): the weight covered twice is a whole number,
        # so the bound rounds down; the stage-1 tolerance otherwise leaves a fraction
        # of a person in it (objective 0, bound 0.005: "OPTIMAL" with a 0.5 % gap)
        bound = math.floor(bound + 1e-6)
    report = replace(report, objective=backup_w, best_bound=bound,
                     gap=relative_gap(backup_w, bound) if report.status.has_solution
                     else math.inf)
    return finish("backup", inp, open_mask, c, prob.minutes, backup_w, report, first.uncoverable,
                  stages=stages, backup_weight=backup_w)


def backup(
    covered: Matrix,
    weights: npt.ArrayLike,
    p: int,
    *,
    fixed: Sites = None,
    closed: Sites = None,
    minutes: Matrix | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
) -> PlacementResult:
    """Backup coverage: keep the best single coverage, then cover the most weight twice.

    See the module docstring for the model.  So a point closing or overloaded
    leaves the ``backup_weight`` still served, without giving up any single
    coverage.  If stage 1 is not proven optimal its best value is kept and the
    result cannot be ``OPTIMAL``.

    Returns
    -------
    PlacementResult
        ``objective`` is the weight covered twice (``backup_weight``);
        ``covered_weight`` the weight covered at least once.
    """
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    prob = cover_inputs(covered, weights, fixed, closed, None, minutes)
    return restore(solve_backup(prob, p, options), prob.dropped)


# ---------------------------------------------------------------------------
# lexicographic goals
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PairModel:
    """The lexicographic pair model: sites from ``x0`` (``cand`` in column order),
    one share per covering pair (``rows``/``cols``, row order) from ``z0``, and the
    objective vector of each goal."""

    mip: SparseMip
    x0: int
    z0: int
    cand: IntArray
    col_pos: IntArray
    rows: IntArray
    cols: IntArray
    objectives: dict[str, tuple[FloatArray, bool]]


def pair_model(prob: CoverInputs, p: int, mins: sp.csr_matrix | None) -> PairModel:
    """Pair model of the lexicographic goals, with the coverage, points and travel
    objectives (travel needs ``mins`` on every covering pair)."""
    inp, c = prob.inp, prob.c
    n = inp.n_demand
    cand, col_pos = _columns(prob)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(c.indptr))
    cols = c.indices.astype(np.int64)
    n_pairs = rows.size
    mip = SparseMip()
    x0 = mip.add_variables(cand.size, lb=inp.fixed_mask[cand].astype(np.float64), integer=True)
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
        tm = lookup(mins, rows, cols)
        if np.isnan(tm).any():
            bad = int(np.flatnonzero(np.isnan(tm))[0])
            msg = (f"minutes has no entry for covered pair (demand {int(rows[bad])}, "
                   f"site {int(cols[bad])})")
            raise ValueError(msg)
        travel_obj[z0:z0 + n_pairs] = inp.weights[rows] * tm
    return PairModel(mip, x0, z0, cand, col_pos, rows, cols, {
        "coverage": (cover_obj, True), "points": (points_obj, False),
        "travel": (travel_obj, False)})


def _fewest_points(prob: CoverInputs, pm: PairModel, p: int, cover: float | None,
                   hint: FloatArray | None, options: SolveOptions,
                   deadline: float | None) -> MipSolution:
    """Fewest open points (at most ``p``) covering at least ``cover`` weight (exactly
    with whole-number weights).

    Solved on the compact covering model (``y_i <= sum_{j in N_i} x_j``); the
    solution is returned in the variables of the pair model (each covered point
    assigned to its first open covering site), so it is that model's hint and its
    stage holds the same value.
    """
    inp, cand, rows = prob.inp, pm.cand, pm.rows
    n = inp.n_demand
    mip = SparseMip()
    xs = mip.add_variables(cand.size, lb=inp.fixed_mask[cand].astype(np.float64), integer=True,
                           objective=1.0)
    ys = mip.add_variables(n)
    i = np.arange(n, dtype=np.int64)
    mip.add_rows(n, np.concatenate([i, rows]), np.concatenate([ys + i, xs + pm.col_pos[pm.cols]]),
                 np.concatenate([np.ones(n), -np.ones(rows.size)]), ub=0.0)
    mip.add_rows(1, np.zeros(cand.size, dtype=np.int64), xs + np.arange(cand.size), 1.0,
                 ub=float(p))
    if cover is not None:
        # the same hold as the pair model's: exact with whole-number weights (a relative
        # tolerance would let 1.25 million people become one fewer), else 1e-6 relative
        mip.add_rows(1, np.zeros(n, dtype=np.int64), ys + i, inp.weights,
                     lb=cover if whole(inp.weights) else cover - 1e-6 * max(1.0, abs(cover)))
    start = None
    if hint is not None:
        start = np.zeros(mip.n_vars)
        start[xs:xs + cand.size] = hint[pm.x0:pm.x0 + cand.size]
        start[ys:ys + n] = np.minimum(1.0, np.bincount(rows, weights=hint[pm.z0:pm.z0 + rows.size],
                                                       minlength=n))
    sol = solve_mip(mip, engine=options.engine, time_limit_s=remaining(deadline),
                    seed=options.seed, threads=options.threads, stop=options.stop, hint=start)
    if sol.values is None:
        return sol
    x = sol.values[xs:xs + cand.size] > 0.5
    values = np.zeros(pm.mip.n_vars)
    values[pm.x0:pm.x0 + cand.size] = x
    # each point covered by an open site goes to its first one (pairs are in row order)
    idx = np.flatnonzero(x[pm.col_pos[pm.cols]])
    first = np.ones(idx.size, dtype=bool)
    first[1:] = rows[idx][1:] != rows[idx][:-1]
    values[pm.z0 + idx[first]] = 1.0
    return MipSolution(report=sol.report, values=values)


def _run_goals(prob: CoverInputs, pm: PairModel, p: int, goals: Sequence[Goal],
               options: SolveOptions, deadline: float | None,
               ) -> tuple[MipSolution | None, list[SolverReport]]:
    """Each goal in turn, holding the earlier ones at their values; stops at a stage
    without a solution."""
    stages: list[SolverReport] = []
    sol: MipSolution | None = None
    hint: FloatArray | None = None
    held_cover: float | None = None
    integral = whole(prob.inp.weights)
    for gi, goal in enumerate(goals):
        vec, maximize = pm.objectives[goal]
        pm.mip.set_objective(vec, maximize=maximize)
        if goal == "points" and set(goals[:gi]) <= {"coverage"}:
            # only coverage held so far: the fewest points need no assignment, so a
            # compact model (one row per demand point, not one column per pair) solves
            # it: 0.5 s instead of 17 s on the demo
            sol = _fewest_points(prob, pm, p, held_cover, hint, options, deadline)
        else:
            sol = solve_mip(pm.mip, engine=options.engine, time_limit_s=remaining(deadline),
                            seed=options.seed, threads=options.threads, stop=options.stop,
                            hint=hint)
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
        exact = goal == "points" or (goal == "coverage" and integral)
        tol = 0.0 if exact else 1e-6 * max(1.0, abs(z))
        if exact:
            z = float(round(z))
        if goal == "coverage":
            held_cover = z
        if maximize:
            pm.mip.add_rows(1, np.zeros(nz.size, dtype=np.int64), nz, vec[nz], lb=z - tol)
        else:
            pm.mip.add_rows(1, np.zeros(nz.size, dtype=np.int64), nz, vec[nz], ub=z + tol)
    return sol, stages


def _read_plan(prob: CoverInputs, pm: PairModel, values: FloatArray,
               ) -> tuple[BoolArray, IntArray]:
    """Open sites and each point's site: the assignment variables are continuous (for
    open sites fixed, the assignment LP has a whole-number optimum; a tie may split a
    point), so each point goes to its pair of largest share, if it is assigned at all."""
    inp, rows, cols = prob.inp, pm.rows, pm.cols
    open_mask = inp.fixed_mask
    open_mask[pm.cand[values[pm.x0:pm.x0 + pm.cand.size] > 0.5]] = True
    zv = values[pm.z0:pm.z0 + rows.size]
    order = np.lexsort((-zv, rows))
    first = np.ones(rows.size, dtype=bool)
    first[1:] = rows[order][1:] != rows[order][:-1]
    pick = order[first]
    served = np.bincount(rows, weights=zv, minlength=inp.n_demand)[rows[pick]] > 0.5
    assignment = np.full(inp.n_demand, -1, dtype=np.int64)
    assignment[rows[pick[served]]] = cols[pick[served]]
    return open_mask, assignment


def solve_lexicographic(prob: CoverInputs, p: int, options: SolveOptions, *,
                        goals: Sequence[Goal] = ("coverage", "points", "travel"),
                        ) -> PlacementResult:
    """:func:`lexicographic` on checked inputs."""
    t0 = time.perf_counter()
    inp = prob.inp
    check_p(p, inp.fixed.size)
    if "travel" in goals and prob.minutes is None:
        msg = "the travel goal needs the minutes matrix"
        raise ValueError(msg)
    pm = pair_model(prob, p, prob.minutes)
    sol, stages = _run_goals(prob, pm, p, goals, options, options.deadline(t0))
    assert sol is not None
    last = stages[-1]
    value = last.objective
    open_mask = inp.fixed_mask
    assignment: IntArray | None = None
    if sol.values is not None:
        open_mask, assignment = _read_plan(prob, pm, sol.values)
        # the last goal's value of the plan as read (open sites, one site per point)
        picked = np.zeros(pm.mip.n_vars)
        picked[pm.x0:pm.x0 + pm.cand.size] = open_mask[pm.cand]
        picked[pm.z0 + np.flatnonzero(assignment[pm.rows] == pm.cols)] = 1.0
        value = float(pm.objectives[goals[-1]][0] @ picked)
    report = combine_reports(stages, value, last.best_bound, solver=options.solver_name,
                             options=options, wall=time.perf_counter() - t0,
                             message="goals: " + " > ".join(goals))
    if sol.values is None:
        report = replace(report, status=last.status)
    return finish("lexicographic", inp, open_mask, prob.c, prob.minutes, value, report,
                  prob.uncoverable, assignment=assignment, stages=tuple(stages))


def lexicographic(
    covered: Matrix,
    weights: npt.ArrayLike,
    p: int,
    *,
    minutes: Matrix | None = None,
    fixed: Sites = None,
    closed: Sites = None,
    goals: Sequence[Goal] = ("coverage", "points", "travel"),
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
) -> PlacementResult:
    """Goals in order: most coverage, then fewest points, then least travel time.

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
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    prob = cover_inputs(covered, weights, fixed, closed, None, minutes)
    return restore(solve_lexicographic(prob, p, options, goals=goals), prob.dropped)
