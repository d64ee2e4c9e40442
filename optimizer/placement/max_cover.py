r"""Maximal covering (MCLP) and its Pareto curve: the most weight covered with ``p`` sites.

.. math::

    \max \sum_i w_i y_i \quad\text{s.t.}\quad y_i \le \sum_{j \in N_i} x_j,\;
    \sum_j x_j \le p,\; \sum_j c_j x_j \le B,\; x \in \{0,1\},\; 0 \le y \le 1

``p`` counts the must-open sites too.  ``y`` may be continuous: at an optimum
it equals ``min(1, sum x)``, which is integral.

The model builders (:func:`mclp_mip`, and for a count the large components
plus the exact curve of the small ones) stand apart from the strategy
(:func:`solve_mclp`): reductions and demand already covered by must-open
sites removed (:func:`prepare_mclp`), small components by enumeration, a greedy
and 1-swap start, then either the MIP, or for large models local search with a
Lagrangian bound from PDLP's duals first (and the MIP from its answer), or no
MIP at all above :data:`optimizer.placement.inputs.MCLP_MIP_MAX_NONZEROS`.

:func:`pareto` runs :func:`solve_mclp` for ``p = 1 .. P``, each step started
from the previous step's sites.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer._cover import (
    McSplit,
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
    solve_lp_first_order,
    solve_mip,
)
from optimizer._preprocess import reduce_mclp
from optimizer._status import SolverReport, SolveStatus, relative_gap
from optimizer.errors import InvalidInputError
from optimizer.placement.inputs import (
    DEFAULT_TUNING,
    BoolArray,
    CoverInputs,
    FloatArray,
    Inputs,
    IntArray,
    Matrix,
    Sites,
    SolveOptions,
    Tuning,
    check_p,
    cover_inputs,
    remaining,
    whole,
)
from optimizer.placement.result import ParetoResult, PlacementResult, finish, restore

logger = logging.getLogger(__name__)

#: Longest 1-swap local search on the MCLP start (seconds; at most 10 % of the limit).
SWAP_SECONDS = 5.0
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


def mclp_mip(
    m: sp.csr_matrix, w: FloatArray, col_costs: FloatArray, p_left: int | None,
    budget_left: float | None,
) -> tuple[SparseMip, int, int]:
    """The MCLP of ``m``: binaries ``x`` (sites, first block), ``y`` (rows, second block)."""
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
class McPrep:
    """The MCLP left to solve: ``m`` and ``w`` are the rows not covered by must-open
    sites over the free columns (``columns`` of the full matrix)."""

    c: sp.csr_matrix
    inp: Inputs
    uncoverable: IntArray
    fixed_weight: float
    m: sp.csr_matrix
    w: FloatArray
    columns: IntArray
    p_left: int | None
    budget_left: float | None



def prepare_mclp(prob: CoverInputs, p: int | None, budget: float | None,
                 preprocess: bool) -> McPrep:
    """Check ``p`` and ``budget`` and set the MCLP of what must-open sites leave uncovered."""
    inp, c = prob.inp, prob.c
    if p is None and budget is None:
        msg = "give p (number of points) or budget (total opening cost)"
        raise InvalidInputError(msg)
    check_p(p, inp.fixed.size)
    fixed_cost = float(inp.costs[inp.fixed].sum())
    if budget is not None and budget < fixed_cost - 1e-9:
        msg = f"budget {budget:g} is below the cost {fixed_cost:g} of the must-open sites"
        raise InvalidInputError(msg)
    by_fixed = np.asarray(c[:, inp.fixed].sum(axis=1)).ravel() > 0 if inp.fixed.size else (
        np.zeros(inp.n_demand, dtype=bool))
    rest = np.flatnonzero(~by_fixed & (np.diff(c.indptr) > 0))
    free_cols = np.flatnonzero(inp.allowed & ~inp.fixed_mask)
    m0 = c[rest][:, free_cols]
    w0 = inp.weights[rest]
    if preprocess:
        red = reduce_mclp(m0, w0, inp.costs[free_cols])
        m, w, columns = red.matrix, red.weights, free_cols[red.columns]
    else:
        m, w, columns = m0, w0, free_cols
    return McPrep(
        c=c, inp=inp, uncoverable=prob.uncoverable,
        fixed_weight=float(inp.weights[by_fixed].sum()), m=m, w=w, columns=columns,
        p_left=None if p is None else p - inp.fixed.size,
        budget_left=None if budget is None else budget - fixed_cost,
    )


def greedy_mclp(m: sp.csr_matrix, w: FloatArray, costs: FloatArray, p_left: int | None,
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
    mip, x0, y0 = mclp_mip(mb, wb, np.ones(cols.size), None, None)
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



def _mclp_model(prep: McPrep, split: McSplit | None, start: BoolArray,
                ) -> tuple[SparseMip, FloatArray, Callable[[FloatArray], IntArray]]:
    """The MCLP MIP (one model, or the large components plus the small ones' curve),
    a hint from ``start`` and a decoder from solution values to reduced columns."""
    if split is not None:
        assert prep.p_left is not None
        mip, hint, decode = _mclp_parts_mip(prep.m, prep.w, prep.p_left, split, start)
    else:
        mip, x0, y0 = mclp_mip(prep.m, prep.w, prep.inp.costs[prep.columns], prep.p_left,
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



def _covered(m: sp.csr_matrix, w: FloatArray, x: BoolArray) -> float:
    """The weight of the rows of ``m`` that the columns ``x`` cover."""
    return float(w[np.asarray(m[:, np.flatnonzero(x)].sum(axis=1)).ravel() > 0].sum())


def _lp_with_search(mip: SparseMip, m: sp.csr_matrix, w: FloatArray, start: BoolArray, *,
                    lp_limit: float | None, options: SolveOptions, near: bool,
                    ) -> tuple[LpIterate, BoolArray, int]:
    """PDLP on ``threads - 1`` threads and, meanwhile, the local search (without the LP's
    guidance) from ``start`` in this one, until PDLP returns (or a stop): the search
    gets the whole minute instead of what PDLP leaves.  Returns the LP, the search's
    answer and its rounds.  PDLP releases the GIL while it runs."""
    box: list[LpIterate] = []
    errors: list[BaseException] = []
    halt = threading.Event()

    def run() -> None:
        try:
            box.append(solve_lp_first_order(mip, time_limit_s=lp_limit,
                                            threads=max(1, options.threads - 1)))
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)
        finally:
            halt.set()

    def watch() -> None:  # a stop request ends the search too
        while options.stop is not None and not halt.wait(0.1):
            if options.stop.is_set():
                halt.set()

    worker = threading.Thread(target=run, name="motcua-pdlp", daemon=True)
    worker.start()
    if options.stop is not None:
        threading.Thread(target=watch, name="motcua-pdlp-watch", daemon=True).start()
    best, rounds = perturb_mclp(m, w, start, prefer=None, deadline=math.inf,
                                seed=options.seed + 1, stop=halt, near=near,
                                max_stall=3000 if near else 300)
    worker.join()
    halt.set()
    if errors:
        raise errors[0]
    return box[0], best, rounds


def _mclp_first_order(
    prep: McPrep, starts: Sequence[BoolArray], *, deadline: float | None,
    options: SolveOptions, why: str = "", near: bool = False,
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
    mip, x0, _ = mclp_mip(m, w, np.ones(m.shape[1]), p, None)
    left = None if deadline is None else max(0.0, deadline - t0)
    lp_limit = None if left is None else PDLP_TIME_SHARE * left
    cands = list(starts)
    early_rounds = 0
    if options.stopped:
        lp = LpIterate(None, None, "not run: stopped", 0.0)
    elif options.threads >= 2 and p > 0:
        lp, early, early_rounds = _lp_with_search(
            mip, m, w, max(cands, key=lambda x: _covered(m, w, x)), lp_limit=lp_limit,
            options=options, near=near)
        cands.append(early)
    else:
        lp = solve_lp_first_order(mip, time_limit_s=lp_limit, threads=options.threads)
    del mip
    integral = whole(prep.inp.weights)
    coverable = float(w.sum())
    if lp.duals is not None:
        bound = min(coverable, mclp_lagrangian_bound(m, w, p, lp.duals[:m.shape[0]],
                                                     integral=integral))
    else:
        bound = coverable
    x_lp = None if lp.primal is None else np.clip(lp.primal[x0:x0 + m.shape[1]], 0.0, 1.0)
    if x_lp is not None and p > 0:
        top = np.zeros(m.shape[1], dtype=bool)
        top[np.argsort(-x_lp, kind="stable")[:min(p, m.shape[1])]] = True
        cands.append(swap_mclp(m, w, top, time_budget_s=SWAP_SECONDS))

    def covered(x: BoolArray) -> float:
        return _covered(m, w, x)

    best = max(cands, key=covered)
    rounds = early_rounds
    if covered(best) < bound - ABSOLUTE_GAP:
        end = math.inf if deadline is None else deadline
        # near-only rounds are ~10x faster, so they get ~10x the stall allowance
        best, more = perturb_mclp(m, w, best, prefer=x_lp, deadline=end, seed=options.seed,
                                  stop=options.stop,
                                  near=near, max_stall=3000 if near else 300)
        rounds += more
    value = covered(best)
    status = SolveStatus.OPTIMAL if value >= bound - ABSOLUTE_GAP else SolveStatus.FEASIBLE
    total, ub = prep.fixed_weight + value, prep.fixed_weight + bound
    report = SolverReport(
        status, total, ub, relative_gap(total, ub), time.perf_counter() - t0,
        "ortools-pdlp+local-search", options.seed, options.threads, None,
        f"{why or f'no MIP for {m.nnz} non-zeros'}; bound from PDLP's duals "
        f"(Lagrangian, exact; LP {lp.detail}, {lp.wall_time_s:.1f} s), "
        f"answer by local search ({rounds} rounds)")
    return best, report



def _best_of(prep: McPrep, chosen: IntArray, sol: MipSolution, ls_mask: BoolArray,
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



def _starts(prep: McPrep, hint_open: IntArray | None,
            time_limit_s: float | None) -> tuple[BoolArray, BoolArray]:
    """The greedy answer and the MIP's start (``hint_open`` if given), each improved by
    1-swaps when there is no budget; masks of reduced columns."""
    greedy = greedy_mclp(prep.m, prep.w, prep.inp.costs[prep.columns], prep.p_left,
                         prep.budget_left)
    start = greedy if hint_open is None else np.isin(prep.columns, hint_open)
    if prep.budget_left is None and prep.m.shape[0]:
        # 1-swap local search (keeps the count): +0.6 % on 20,000 x 2,000 in ~0.05 s
        budget_s = SWAP_SECONDS if time_limit_s is None else min(SWAP_SECONDS,
                                                                 0.1 * time_limit_s)
        greedy = swap_mclp(prep.m, prep.w, greedy, time_budget_s=budget_s)
        start = greedy if hint_open is None else swap_mclp(prep.m, prep.w, start,
                                                           time_budget_s=budget_s)
    return greedy, start


def _enumerated(prep: McPrep, split: McSplit, options: SolveOptions,
                t0: float) -> tuple[IntArray, MipSolution]:
    """Every component was small: the combined curve is the exact optimum, and it never
    falls with more sites, so its last point is the best."""
    k = split.curve.size - 1
    value = prep.fixed_weight + float(split.curve[k])
    return split.sites(k), MipSolution(SolverReport(
        SolveStatus.OPTIMAL, value, value, 0.0, time.perf_counter() - t0,
        "enumeration+dp", options.seed, options.threads, options.time_limit_s,
        f"{split.n_small} components solved exactly"), np.zeros(0))


def _mip_path(prep: McPrep, split: McSplit | None, greedy: BoolArray, start: BoolArray, *,
              search: bool, options: SolveOptions, t0: float) -> tuple[IntArray, MipSolution]:
    """The MIP from ``start``; with ``search``, local search (and its exact Lagrangian
    bound) first, the MIP from its answer, and the better of the two."""
    ls_mask: BoolArray | None = None
    ls_report: SolverReport | None = None
    if search:
        # HiGHS keeps a feasible hint as its incumbent
        ls_end = None if options.time_limit_s is None else (
            t0 + (1.0 - MCLP_MIP_TIME_SHARE) * options.time_limit_s)
        ls_mask, ls_report = _mclp_first_order(
            prep, [greedy, start], deadline=ls_end, options=options,
            why=f"local search before the MIP ({prep.m.nnz} non-zeros)", near=True)
        start = ls_mask
        if ls_report.status is SolveStatus.OPTIMAL:
            return np.flatnonzero(ls_mask).astype(np.int64), MipSolution(ls_report, np.zeros(0))
    mip, hint, decode = _mclp_model(prep, split, start)
    sol = solve_mip(mip, engine=options.engine, time_limit_s=remaining(options.deadline(t0)),
                    seed=options.seed, threads=options.threads, stop=options.stop, hint=hint)
    del mip
    chosen = decode(sol.values) if sol.values is not None else np.zeros(0, dtype=np.int64)
    if ls_mask is not None and ls_report is not None:
        chosen, sol = _best_of(prep, chosen, sol, ls_mask, ls_report, stopped=options.stopped)
    return chosen, sol


def _solve_reduced(prep: McPrep, greedy: BoolArray, start: BoolArray, *, options: SolveOptions,
                   tuning: Tuning, t0: float) -> tuple[IntArray, MipSolution, McSplit | None]:
    """Choose the strategy for the reduced model and run it: chosen reduced columns, the
    solution's report (values empty but not ``None`` when there is an answer) and the
    split into small components, if any."""
    counted = tuning.preprocess and prep.p_left is not None and prep.budget_left is None
    first_order = (counted and tuning.max_mip_nonzeros is not None
                   and prep.m.nnz > tuning.max_mip_nonzeros)
    split = None
    if counted and not first_order:
        # only a count couples the components (a budget would need cost curves)
        assert prep.p_left is not None
        split = split_mclp(prep.m, prep.w, prep.p_left)
        if split.n_small == 0:
            split = None
    if first_order:
        mask, fo_report = _mclp_first_order(prep, [greedy, start],
                                            deadline=options.deadline(t0), options=options)
        return np.flatnonzero(mask).astype(np.int64), MipSolution(fo_report, np.zeros(0)), None
    if split is not None and split.cols.size == 0:
        return (*_enumerated(prep, split, options, t0), split)
    search = counted and prep.m.nnz > MCLP_LOCAL_SEARCH_MIN_NONZEROS and not options.stopped
    return (*_mip_path(prep, split, greedy, start, search=search, options=options, t0=t0),
            split)


def _mclp_result(prep: McPrep, chosen: IntArray, sol: MipSolution, split: McSplit | None,
                 greedy: BoolArray, *, options: SolveOptions, t0: float,
                 minutes: sp.csr_matrix | None) -> PlacementResult:
    """The result of the chosen sites, or of the greedy answer when the engine found none."""
    inp = prep.inp
    open_mask = inp.fixed_mask
    message = sol.report.message
    if split is not None:
        message = "; ".join(x for x in (
            f"{split.n_small} small components by enumeration, {split.cols.size} sites in the MIP",
            message) if x)
    report = replace(sol.report, wall_time_s=time.perf_counter() - t0, message=message,
                     time_limit_s=options.time_limit_s)
    every = prep.fixed_weight + float(prep.w.sum())  # all coverable weight: a valid bound
    if sol.values is not None:
        open_mask[prep.columns[chosen]] = True
        if not math.isfinite(report.best_bound):
            report = replace(report, best_bound=every)  # stopped before any bound
    elif sol.report.status is SolveStatus.NOT_SOLVED and not options.stopped:
        # no incumbent within the time limit: the greedy answer, honestly FEASIBLE
        open_mask[prep.columns[greedy]] = True
        ub = report.best_bound if math.isfinite(report.best_bound) else every
        report = replace(report, status=SolveStatus.FEASIBLE, best_bound=ub, message="; ".join(
            x for x in ("greedy answer kept", report.message) if x))
    res = finish("mclp", inp, open_mask, prep.c, minutes, sol.report.objective, report,
                 prep.uncoverable, stages=(sol.report,))
    return _true_coverage(res)


def _true_coverage(res: PlacementResult) -> PlacementResult:
    """The engine's incumbent may leave some y below min(1, sum x); the true coverage of
    the chosen sites is never lower, so report that."""
    if not res.report.status.has_solution:
        return res
    cov = res.covered_weight
    rep = replace(res.report, objective=cov, gap=relative_gap(cov, res.report.best_bound))
    if res.status is SolveStatus.OPTIMAL and abs(cov - res.objective) > 1e-6 * max(1.0, cov):
        logger.warning("mclp optimum %g differs from recomputed coverage %g",
                       res.objective, cov)
        if cov < res.report.best_bound - 1e-6 * max(1.0, cov):
            rep = replace(rep, status=SolveStatus.FEASIBLE)
    return replace(res, objective=cov, report=rep)


def solve_mclp(prob: CoverInputs, p: int | None, options: SolveOptions, *,
               budget: float | None = None, hint_open: IntArray | None = None,
               tuning: Tuning = DEFAULT_TUNING) -> PlacementResult:
    """:func:`mclp` on checked inputs."""
    t0 = time.perf_counter()
    prep = prepare_mclp(prob, p, budget, tuning.preprocess)
    greedy, start = _starts(prep, hint_open, options.time_limit_s)
    chosen, sol, split = _solve_reduced(prep, greedy, start, options=options, tuning=tuning,
                                        t0=t0)
    res = _mclp_result(prep, chosen, sol, split, greedy, options=options, t0=t0,
                       minutes=prob.minutes)
    logger.info("mclp: %d sites open, %s", res.open_sites.size, res.report.summary())
    return res


def mclp(
    covered: Matrix,
    weights: npt.ArrayLike,
    p: int | None = None,
    *,
    budget: float | None = None,
    fixed: Sites = None,
    closed: Sites = None,
    costs: npt.ArrayLike | None = None,
    minutes: Matrix | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
    hint_open: IntArray | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> PlacementResult:
    """Maximal covering: the most weight covered with at most ``p`` sites or within a budget.

    See the module docstring for the model.

    Parameters
    ----------
    covered : boolean demand x site matrix.
    weights : demand weights (residents or in-person dossiers per day).
    p : maximum number of open sites, must-open ones included.
    budget : maximum total opening cost (``costs``), must-open ones included.
    fixed, closed, costs, minutes, time_limit_s, seed, threads, engine, stop : as in
        :func:`optimizer.placement.lscp`.
    hint_open : sites of a known good answer, handed to the engine as a start.
    tuning : benchmark switches (:class:`optimizer.placement.inputs.Tuning`):
        ``preprocess``, and ``max_mip_nonzeros``: with a count ``p`` (no budget) and
        the reductions, a reduced model with more coverage non-zeros than this is not
        given to a MIP engine (whose search memory grows to ~1 KB per non-zero): the
        bound then comes from the LP (PDLP duals, checked exactly) and the answer from
        local search, and is ``OPTIMAL`` only if the two meet.  Between
        :data:`MCLP_LOCAL_SEARCH_MIN_NONZEROS` and it, the local search (with its
        bound) runs first and the MIP, hinted with its answer, gets the last
        :data:`MCLP_MIP_TIME_SHARE` of the time: the better answer and the tighter
        bound of the two are reported.

    Returns
    -------
    PlacementResult
        ``objective`` is the covered weight.
    """
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    prob = cover_inputs(covered, weights, fixed, closed, costs, minutes)
    res = solve_mclp(prob, p, options, budget=budget, hint_open=hint_open, tuning=tuning)
    return restore(res, prob.dropped)


def _with_best_addition(prob: CoverInputs, open_sites: IntArray) -> IntArray:
    """``open_sites`` plus the allowed site covering the most weight they leave uncovered
    (none when nothing more can be covered)."""
    c, inp = prob.c, prob.inp
    hit = np.asarray(c[:, open_sites].sum(axis=1)).ravel() > 0
    gain = np.asarray(c.T @ (inp.weights * ~hit)).ravel()
    gain[open_sites] = -1.0
    gain[~inp.allowed] = -1.0
    if gain.size == 0 or gain.max() <= 0:
        return open_sites
    return np.sort(np.append(open_sites, int(np.argmax(gain)))).astype(np.int64)


def _keep_start(prob: CoverInputs, res: PlacementResult, start: IntArray | None,
                ) -> PlacementResult:
    """``res``, or the start it was given when that covers more (a step of the curve is
    never below the answer it started from)."""
    if start is None or not res.status.has_solution:
        return res
    is_open = np.zeros(prob.inp.n_sites, dtype=bool)
    is_open[start] = True
    hit = np.asarray(prob.c[:, start].sum(axis=1)).ravel() > 0
    value = float(prob.inp.weights[hit].sum())
    if value <= res.covered_weight + 1e-9 * max(1.0, value):
        return res
    bound = max(res.best_bound, value)
    status = SolveStatus.OPTIMAL if value >= bound - ABSOLUTE_GAP else SolveStatus.FEASIBLE
    report = replace(res.report, status=status, objective=value, best_bound=bound,
                     gap=relative_gap(value, bound), message="; ".join(x for x in (
                         "the start (previous step plus its best addition) kept",
                         res.report.message) if x))
    return finish("mclp", prob.inp, is_open, prob.c, prob.minutes, value, report,
                  prob.uncoverable, stages=res.stages)


def _tighten(results: list[PlacementResult]) -> list[PlacementResult]:
    """Bounds along the curve: the optimum never falls with one more point, so a bound at
    ``p + 1`` bounds ``p`` too; an answer meeting its bound is proven."""
    out = list(results)
    for k in range(len(out) - 2, -1, -1):
        r, nxt = out[k], out[k + 1]
        if not (r.status.has_solution and math.isfinite(nxt.best_bound)):
            continue
        bound = min(r.best_bound, nxt.best_bound)
        if bound >= r.best_bound:
            continue
        bound = max(bound, r.objective)
        proven = r.objective >= bound - ABSOLUTE_GAP
        out[k] = replace(r, report=replace(
            r.report, best_bound=bound, gap=relative_gap(r.objective, bound),
            status=SolveStatus.OPTIMAL if proven else r.status))
    return out


def pareto(
    covered: Matrix,
    weights: npt.ArrayLike,
    max_p: int,
    *,
    fixed: Sites = None,
    closed: Sites = None,
    minutes: Matrix | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
    known: dict[int, PlacementResult] | None = None,
) -> ParetoResult:
    """Covered weight for ``p = max(1, |fixed|) .. max_p``: what each extra point buys.

    Each step is an :func:`mclp` started from the previous step's sites plus the
    site adding the most coverage (still feasible with one more point), and never
    reports less than that start: the curve never falls.  ``known`` maps a number
    of points to an answer already found (e.g. the single solve the curve is shown
    beside): the curve at that ``p`` is never below it, and the next step starts
    from the better of the two.  Each step gets an equal share of the time left;
    a step's bound is tightened by the next one's (the optimum never falls with one
    more point).  Once everything coverable is covered the remaining steps repeat
    that answer without solving (they are optimal: no more can be covered).
    ``time_limit_s`` is shared by the whole sweep.
    """
    t0 = time.perf_counter()
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    n_fixed = np.unique(np.asarray([] if fixed is None else fixed, dtype=np.int64)).size
    start = max(1, n_fixed)
    if max_p < start:
        msg = f"max_p={max_p} must be >= {start}"
        raise InvalidInputError(msg)
    prob = cover_inputs(covered, weights, fixed, closed, None, minutes)
    deadline = options.deadline(t0)
    known = known or {}
    results: list[PlacementResult] = []
    prev: IntArray | None = None
    for p in range(start, max_p + 1):
        if results and results[-1].status is SolveStatus.OPTIMAL and (
            results[-1].covered_weight + results[-1].uncoverable_weight
            >= results[-1].total_weight - 1e-9
        ):
            results.append(replace(results[-1]))
            continue
        if options.stopped:
            break
        hint = None if prev is None else _with_best_addition(prob, prev)
        left = remaining(deadline)
        share = None if left is None else left / (max_p - p + 1)
        res = _keep_start(prob, solve_mclp(prob, p, options.within(share), hint_open=hint),
                          hint)
        if p in known and known[p].status.has_solution:
            other = known[p]
            k_open = np.asarray(other.open_sites, dtype=np.int64)
            if other.covered_weight > res.covered_weight + 1e-9 * max(1.0, res.covered_weight):
                res = _keep_start(prob, res, k_open)
            if math.isfinite(other.best_bound) and other.best_bound < res.best_bound:
                b = max(other.best_bound, res.objective)
                res = replace(res, report=replace(
                    res.report, best_bound=b, gap=relative_gap(res.objective, b),
                    status=SolveStatus.OPTIMAL if res.objective >= b - ABSOLUTE_GAP
                    else res.status))
        results.append(res)
        prev = res.open_sites if res.status.has_solution else prev
    results = [restore(r, prob.dropped) for r in _tighten(results)]
    return ParetoResult(
        p_values=np.arange(start, start + len(results), dtype=np.int64),
        covered_weight=np.array([r.covered_weight for r in results]),
        covered_share=np.array([r.covered_share for r in results]),
        best_bound=np.array([r.best_bound for r in results]),
        statuses=tuple(r.status for r in results),
        open_sites=tuple(r.open_sites for r in results),
        results=tuple(results),
    )
