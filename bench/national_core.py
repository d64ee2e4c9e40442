"""How far the national LSCP is from a proof: its core alone, given far more time.

The national LSCP (11,163 ward points, 5 km) reduces to forced sites plus small
components that are proven in seconds, and one core of 2,791 sites x 2,763 rows
that no engine proves within the 60 s target. This script builds that core the
way :func:`optimizer.placement.lscp` does (``reduce_lscp``, then the largest
connected component), improves a greedy cover with the iterated local search
for ``--search`` seconds, and gives the cover to HiGHS or SCIP as a hint for
``--limit`` seconds, printing the engine's status, answer and bound.

    python bench/national_core.py --engine highs --limit 1800
    python bench/national_core.py --engine scip --limit 300 --search 0

``--lagrange K`` measures instead a bound the engines do not compute: Lagrangian
decomposition into K regions (k-means of the rows' positions). Each site's cost is
split between the regions whose rows it covers (at first in proportion to the LP
duals of those rows, the slack shared equally); the sum of the regions' own
set-covering optima is then a lower bound on the core's, at least the LP's, and a
subgradient step moves each site's cost towards the regions that open it. A region
not proven within ``--sub-limit`` adds its proven bound, so the sum stays valid.

    python bench/national_core.py --lagrange 12 --rounds 8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_placement import build, national_points  # noqa: E402

from optimizer._cover import greedy_cover, improve_cover  # noqa: E402
from optimizer._mip import SparseMip, solve_mip  # noqa: E402
from optimizer._preprocess import components, reduce_lscp  # noqa: E402


def _cover_mip(m: sp.csr_matrix, costs: np.ndarray) -> SparseMip:
    """min costs . x such that every row of ``m`` has an open site."""
    mip = SparseMip()
    x0 = mip.add_variables(m.shape[1], integer=True, objective=costs)
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    mip.add_rows(m.shape[0], rows, m.indices.astype(np.int64) + x0, 1.0, lb=1.0)
    return mip


def lagrange(core: sp.csr_matrix, row_xy: np.ndarray, k: int, rounds: int, sub_limit: float,
             target: float) -> None:
    """Print the Lagrangian decomposition bound of each subgradient round."""
    from scipy.cluster.vq import kmeans2
    from scipy.optimize import linprog

    n_rows, n_cols = core.shape
    a = core.astype(np.float64)
    lp = linprog(np.ones(n_cols), A_ub=-a, b_ub=-np.ones(n_rows), bounds=(0, 1), method="highs")
    duals = -lp.ineqlin.marginals
    _, region = kmeans2(row_xy, k, seed=1, minit="++")
    member = sp.csr_matrix((np.ones(n_rows), (region, np.arange(n_rows))), shape=(k, n_rows))
    touches = (member @ a).toarray() > 0  # region x site: the site covers a row of the region
    n_touch = np.maximum(touches.sum(axis=0), 1)
    share = (member @ a.multiply(duals[:, None])).toarray()
    cost = share + touches * ((1.0 - share.sum(axis=0)) / n_touch)[None, :]
    print(f"LP {lp.fun:.2f}; {k} regions of {np.bincount(region, minlength=k).min()}-"
          f"{np.bincount(region, minlength=k).max()} rows", flush=True)
    parts = [(np.flatnonzero(touches[r]), a[np.flatnonzero(region == r)]) for r in range(k)]
    best, t0 = -np.inf, time.perf_counter()
    for it in range(rounds):
        opened = np.zeros((k, n_cols))
        total, unproven = 0.0, 0
        for r, (cols, rows) in enumerate(parts):
            sol = solve_mip(_cover_mip(rows[:, cols].tocsr(), cost[r, cols]), engine="highs",
                            time_limit_s=sub_limit, seed=0, threads=1)
            rep = sol.report
            unproven += rep.status.value != "OPTIMAL"
            total += rep.best_bound  # the proven bound, so an unproven region keeps the sum valid
            if sol.values is not None:
                opened[r, cols] = np.round(sol.values)
        best = max(best, total)
        step_dir = (opened - opened.sum(axis=0) / n_touch) * touches
        norm = float((step_dir ** 2).sum())
        print(f"round {it}: bound {total:.2f} (best {best:.2f}), {unproven} regions unproven, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        if norm == 0.0:
            break
        cost = cost + 0.5 * (target - total) / norm * step_dir  # Polyak step towards the best cover


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=("highs", "scip"), default="highs")
    ap.add_argument("--limit", type=float, default=600.0, help="engine seconds")
    ap.add_argument("--search", type=float, default=60.0, help="local search seconds first")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lagrange", type=int, default=0, metavar="K",
                    help="instead: Lagrangian decomposition bound over K regions")
    ap.add_argument("--rounds", type=int, default=8, help="subgradient rounds (--lagrange)")
    ap.add_argument("--sub-limit", type=float, default=30.0, help="seconds per region (--lagrange)")
    ap.add_argument("--target", type=float, default=319.0,
                    help="best known cover, for the step length (--lagrange)")
    a = ap.parse_args()

    cov, _km, w, _ = build("national")
    c = cov.tocsr()[w > 0]
    red = reduce_lscp(c, np.ones(c.shape[1]), np.zeros(0, dtype=np.int64))
    m = red.matrix
    _n, row_lab, col_lab = components(m)
    k = int(np.argmax(np.bincount(col_lab)))
    core = m[np.flatnonzero(row_lab == k)][:, np.flatnonzero(col_lab == k)].tocsr()
    costs = np.ones(core.shape[1])
    print(f"forced {red.forced.size}; core {core.shape[0]} rows x {core.shape[1]} sites, "
          f"{core.nnz} non-zeros", flush=True)
    if a.lagrange:
        site_xy = national_points()[0][red.columns[np.flatnonzero(col_lab == k)]]
        # a row (merged demand) sits at the mean of the sites that cover it
        row_xy = (sp.diags(1.0 / np.diff(core.indptr)) @ core.astype(np.float64)) @ site_xy
        lagrange(core, row_xy, a.lagrange, a.rounds, a.sub_limit, a.target)
        return
    start = greedy_cover(core, costs)
    print(f"greedy cover {int(start.sum())}", flush=True)
    if a.search > 0:
        start, rounds = improve_cover(core, costs, start, seed=a.seed, stop=None,
                                      deadline=time.perf_counter() + a.search)
        print(f"local search {a.search:g} s: {int(start.sum())} ({rounds} rounds)", flush=True)
    t0 = time.perf_counter()
    sol = solve_mip(_cover_mip(core, costs), engine=a.engine, time_limit_s=a.limit, seed=0, threads=1,
                    hint=start.astype(np.float64))
    r = sol.report
    print(f"{a.engine} {time.perf_counter() - t0:.0f} s: {r.status.value} {r.objective:g} "
          f"bound {r.best_bound:g} gap {100 * r.gap:.2f} %")


if __name__ == "__main__":
    main()
