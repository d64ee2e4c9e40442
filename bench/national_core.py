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
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_placement import build  # noqa: E402

from optimizer._cover import greedy_cover, improve_cover  # noqa: E402
from optimizer._mip import SparseMip, solve_mip  # noqa: E402
from optimizer._preprocess import components, reduce_lscp  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=("highs", "scip"), default="highs")
    ap.add_argument("--limit", type=float, default=600.0, help="engine seconds")
    ap.add_argument("--search", type=float, default=60.0, help="local search seconds first")
    ap.add_argument("--seed", type=int, default=1)
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
    start = greedy_cover(core, costs)
    print(f"greedy cover {int(start.sum())}", flush=True)
    if a.search > 0:
        start, rounds = improve_cover(core, costs, start, seed=a.seed, stop=None,
                                      deadline=time.perf_counter() + a.search)
        print(f"local search {a.search:g} s: {int(start.sum())} ({rounds} rounds)", flush=True)
    mip = SparseMip()
    x0 = mip.add_variables(core.shape[1], integer=True, objective=costs)
    rows = np.repeat(np.arange(core.shape[0], dtype=np.int64), np.diff(core.indptr))
    mip.add_rows(core.shape[0], rows, core.indices.astype(np.int64) + x0, 1.0, lb=1.0)
    t0 = time.perf_counter()
    sol = solve_mip(mip, engine=a.engine, time_limit_s=a.limit, seed=0, threads=1,
                    hint=start.astype(np.float64))
    r = sol.report
    print(f"{a.engine} {time.perf_counter() - t0:.0f} s: {r.status.value} {r.objective:g} "
          f"bound {r.best_bound:g} gap {100 * r.gap:.2f} %")


if __name__ == "__main__":
    main()
