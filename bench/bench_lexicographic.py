"""Lexicographic placement (coverage, then fewest points, then travel): ours vs a naive model.

Both run in one process on the same coverage of the demo scenario (or another
scenario folder) with the same number of points and time limit; the script
prints each goal's value, status and time, checks that the two agree where
both prove their goals, and prints the time ratio.

* ours: :func:`optimizer.placement.lexicographic` (continuous assignment, the
  fewest points on the compact covering model, whole-number goals held exactly);
* naive: the textbook model, one binary assignment variable per (demand, site)
  pair within the standard, each goal solved on it in turn and held with a
  relative tolerance of 1e-6.

    python bench/bench_lexicographic.py --points 160 --limit 120
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geodata._errors import ScenarioWarning  # noqa: E402
from geodata.coverage import coverage_for_scenario  # noqa: E402
from geodata.scenario import load_scenario  # noqa: E402
from optimizer._mip import SparseMip, solve_mip  # noqa: E402
from optimizer.placement import lexicographic  # noqa: E402


def naive(covered: sp.csr_matrix, minutes: sp.csr_matrix, w: np.ndarray, p: int,
          fixed: np.ndarray, limit: float) -> list[tuple[str, float, str, float]]:
    """(goal, value, status, seconds) of the textbook model, goal by goal."""
    c = sp.csr_matrix(covered, dtype=bool)
    n, m = c.shape
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(c.indptr))
    cols = c.indices.astype(np.int64)
    tm = np.asarray(sp.csr_matrix(minutes)[rows, cols]).ravel()
    mip = SparseMip()
    lb = np.zeros(m)
    lb[fixed] = 1.0
    x0 = mip.add_variables(m, lb=lb, integer=True)
    z0 = mip.add_variables(rows.size, integer=True)
    k = np.arange(rows.size, dtype=np.int64)
    mip.add_rows(n, rows, z0 + k, 1.0, ub=1.0)
    mip.add_rows(rows.size, np.concatenate([k, k]), np.concatenate([z0 + k, x0 + cols]),
                 np.concatenate([np.ones(rows.size), -np.ones(rows.size)]), ub=0.0)
    mip.add_rows(1, np.zeros(m, dtype=np.int64), x0 + np.arange(m), 1.0, ub=float(p))
    goals = []
    for name, idx, coef, maximize in (("coverage", z0 + k, w[rows], True),
                                      ("points", x0 + np.arange(m), np.ones(m), False),
                                      ("travel", z0 + k, w[rows] * tm, False)):
        vec = np.zeros(mip.n_vars)
        vec[idx] = coef
        goals.append((name, vec, maximize))
    out = []
    deadline = time.perf_counter() + limit
    hint = None
    for name, vec, maximize in goals:
        mip.set_objective(vec, maximize=maximize)
        t0 = time.perf_counter()
        sol = solve_mip(mip, time_limit_s=max(0.01, deadline - time.perf_counter()), hint=hint)
        out.append((name, sol.report.objective, sol.report.status.value, time.perf_counter() - t0))
        if sol.values is None:
            break
        hint = sol.values
        z = float(vec @ sol.values)
        tol = 1e-6 * max(1.0, abs(z))
        nz = np.flatnonzero(vec)
        if maximize:
            mip.add_rows(1, np.zeros(nz.size, dtype=np.int64), nz, vec[nz], lb=z - tol)
        else:
            mip.add_rows(1, np.zeros(nz.size, dtype=np.int64), nz, vec[nz], ub=z + tol)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "demo")
    ap.add_argument("--points", type=int, default=160)
    ap.add_argument("--limit", type=float, default=120.0)
    a = ap.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        scen = load_scenario(a.scenario)
    sc = coverage_for_scenario(scen)
    w = sc.demand["population"].to_numpy(dtype=float)
    fixed = np.flatnonzero(sc.sites["status"].astype(str).to_numpy() == "must_open")
    closed = np.flatnonzero(sc.sites["status"].astype(str).to_numpy() == "closed")
    cov = sc.matrix.covered.tocsr()
    if closed.size:
        keep = np.ones(cov.shape[1], dtype=bool)
        keep[closed] = False
        cov = (cov @ sp.diags(keep.astype(float))).tocsr()
        cov.eliminate_zeros()
    print(f"{scen.name}: {cov.shape[0]} demand x {cov.shape[1]} sites, "
          f"{cov.nnz} pairs within the standard, p = {a.points}, limit {a.limit:g} s")

    t0 = time.perf_counter()
    ours = lexicographic(cov, w, a.points, minutes=sc.matrix.minutes, fixed=fixed,
                         time_limit_s=a.limit)
    t_ours = time.perf_counter() - t0
    got = [(g, s.objective, s.status.value, s.wall_time_s)
           for g, s in zip(("coverage", "points", "travel"), ours.stages, strict=False)]
    t0 = time.perf_counter()
    base = naive(cov, sc.matrix.minutes, w, a.points, fixed, a.limit)
    t_naive = time.perf_counter() - t0

    print("| goal | ours | status | s | naive | status | s |")
    print("|---|---|---|---|---|---|---|")
    agree = True
    for (g, v, st, s), (_g2, v2, st2, s2) in zip(got, base, strict=False):
        print(f"| {g} | {v:,.6g} | {st} | {s:.2f} | {v2:,.6g} | {st2} | {s2:.2f} |")
        if st == st2 == "OPTIMAL" and not np.isclose(v, v2, rtol=1e-5):
            agree = False
    print(f"ours {ours.report.status.value} in {t_ours:.2f} s; naive in {t_naive:.2f} s; "
          f"ratio naive/ours {t_naive / t_ours:.1f}x; "
          + ("goals proven by both agree" if agree else "DISAGREE on a goal both proved"))


if __name__ == "__main__":
    main()
