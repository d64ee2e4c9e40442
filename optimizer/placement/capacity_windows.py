"""Windows of sites re-solved exactly around a capacitated LSCP answer (issue #16).

A large-neighbourhood search for the set-covering form with split assignment and hard
capacities: a window is an open site and the sites nearest to it in the graph of sites
sharing a demand point within reach (breadth-first, ``window`` sites); the sites open
outside the window stay open, those closed outside stay closed, and the capacitated
model restricted to the open sites and the window (its points merged, exact with split
assignment) is solved from the current answer.  A cheaper answer, or another of the same
cost (to move on), replaces the current one.  Every answer is the restricted model's
exact assignment, so none is over capacity and everyone is assigned.

Not on the engine's path: offline, from the engine's 97 sites on Lạng Sơn at 1 km, 234
windows of 80 sites (223 solved to optimality on their sites) in 800 s found no cheaper
answer (a scratch driver of the same search, before this module; the module's is
``bench/cap_lscp_windows.py``; RESULTS_placement.md, h27-clscp).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from optimizer.placement.capacity import (
    OPTIMAL_ON_SITES,
    _Answer,
    _assign_flow,
    _flow_answer,
    _open_of,
    _restricted_mip,
    _shares,
    _solve_fixed,
)
from optimizer.placement.inputs import BoolArray, CoverInputs, FloatArray, SolveOptions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowSearch:
    """The best answer found (``None`` when ``open_mask`` cannot take the demand), the
    windows solved, how many of them to optimality on their sites, and the improvements."""

    best: _Answer | None
    windows: int
    optimal: int
    improved: int


def start_answer(prob: CoverInputs, cap: FloatArray, open_mask: BoolArray,
                 options: SolveOptions) -> _Answer | None:
    """The exact assignment to the open sites ``open_mask`` (the flow's, else the
    assignment LP's); ``None`` when they cannot take all the coverable demand."""
    coverable = np.diff(prob.c.indptr) > 0
    if (np.asarray(prob.c @ open_mask.astype(np.float64)).ravel()[coverable] <= 0).any():
        return None  # a coverable point with no open site within reach
    got = _flow_answer(prob, cap, open_mask, None, _assign_flow(prob, cap, open_mask), None)
    if got is None:
        got = _solve_fixed(prob, cap, open_mask, None, single=False, pen=None, limit=None,
                           options=options, source="the given sites")
    if got is not None:
        share = _shares(prob.inp.n_demand, got.cm, got.values, prob.inp.n_sites)
        if (share[coverable] < 1.0 - 1e-7).any():
            return None
    return got


def window_search(prob: CoverInputs, cap: FloatArray, open_mask: BoolArray, *,
                  window: int, deadline: float | None, options: SolveOptions,
                  step_limit_s: float = 15.0, max_windows: int | None = None,
                  seed: int = 0) -> WindowSearch:
    """Windows re-solved around the answer ``open_mask`` (see the module docstring) until
    the deadline or ``max_windows``; the window's first site is an open site drawn with
    probability proportional to the weight within its reach."""
    inp = prob.inp
    cur = start_answer(prob, cap, open_mask, options)
    if cur is None:
        return WindowSearch(None, 0, 0, 0)
    best = cur
    rng = np.random.default_rng(seed)
    cc = sp.csc_matrix(prob.c, dtype=np.float64)
    overlap = (cc.T @ cc).tocsr()
    reach = np.asarray(cc.T @ inp.weights).ravel()
    done = optimal = improved = 0
    while not options.stopped and (max_windows is None or done < max_windows):
        now = time.perf_counter()
        if deadline is not None and now >= deadline - 0.5:
            break
        x = _open_of(cur, inp.n_sites)
        free = np.flatnonzero(x & ~inp.fixed_mask)
        if free.size == 0:
            break
        w = np.maximum(reach[free], 1e-9)
        k = int(rng.choice(free, p=w / w.sum()))
        order = breadth_first_order(overlap, k, directed=False, return_predecessors=False)
        win = np.zeros(inp.n_sites, dtype=bool)
        win[order[:window]] = True
        keep = inp.fixed_mask | (x & ~win)
        sub = replace(prob, inp=replace(inp, fixed=np.flatnonzero(keep).astype(np.int64)))
        end = now + step_limit_s if deadline is None else min(deadline, now + step_limit_s)
        got, report, _ = _restricted_mip(sub, cap, None, x | win, cur, single=False,
                                         pen=None, deadline=end, options=options,
                                         what=f"a window of {window} sites")
        done += 1
        if report is not None and OPTIMAL_ON_SITES in report.message:
            optimal += 1
        if got is None or got.objective > cur.objective + 1e-9:
            continue
        if got.objective < best.objective - 1e-9:
            improved += 1
            best = got
            logger.info("window %d: %.6g sites' cost", done, got.objective)
        cur = got
    return WindowSearch(best, done, optimal, improved)
