"""p-median with a covered-share floor: ours vs the radius model alone, side by side.

Both run in one process, one after the other, on the same seeded clustered
5,000 x 500 instance (5 km standard, 2 minutes a km, unassigned demand charged
20 minutes, as ``motcua place --min-covered`` charges twice the cutoff) with the
same number of points, floors and time limit. The script prints each status,
objective, bound and time, checks that the two agree where both prove their
answer (or both prove the floor infeasible), and prints the time ratio.

* ours: :func:`optimizer.placement.p_median` with the floor (the plan without the
  floor by the Lagrangian path first: its bound, and its answer if it meets the
  floor; else the most coverage by :func:`optimizer.placement.mclp`, a start or
  a proof that no plan meets the floor; then the radius model);
* radius: the same call with ``tuning=Tuning(lagrangian=False)``, the method used for floors
  before (the radius model with the floor, from no start).

    python bench/bench_pmedian_floor.py --limit 60
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optimizer._instances import clustered_instance  # noqa: E402
from optimizer.placement import Tuning, p_median  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=40)
    ap.add_argument("--floors", type=float, nargs="+", default=[0.69, 0.697, 0.70],
                    help="covered shares (the instance's best with 40 points is 0.6983)")
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per solve")
    ap.add_argument("--seed", type=int, default=2025, help="instance seed")
    a = ap.parse_args()

    inst = clustered_instance(5000, 500, radius_km=5.0, seed=a.seed)
    minutes = inst.km.copy()
    minutes.data = minutes.data * 2.0
    total = float(inst.weights.sum())
    print("| floor | peer | status | objective | bound | covered | wall s |")
    print("|---|---|---|---|---|---|---|")
    for share in a.floors:
        runs = {}
        for peer, lagrangian in (("ours", True), ("radius", False)):
            t0 = time.perf_counter()
            res = p_median(minutes, inst.weights, a.points, unassigned_penalty_min=20.0,
                           covered=inst.covered, min_covered_share=share,
                           time_limit_s=a.limit, seed=0, threads=1,
                           tuning=Tuning(lagrangian=lagrangian))
            wall = time.perf_counter() - t0
            hit = np.asarray(inst.covered[:, res.open_sites].sum(axis=1)).ravel() > 0
            cov = float(inst.weights[hit].sum()) / total if res.open_sites.size else math.nan
            rep = res.report
            runs[peer] = (rep, wall)
            print(f"| {share:g} | {peer} | {rep.status.value} | {rep.objective:.6g} | "
                  f"{rep.best_bound:.6g} | {100 * cov:.2f} % | {wall:.1f} |", flush=True)
        (ro, wo), (rr, wr) = runs["ours"], runs["radius"]
        same = {ro.status.value, rr.status.value}
        if same == {"OPTIMAL"}:
            ok = math.isclose(ro.objective, rr.objective, rel_tol=1e-9)
            print(f"  both OPTIMAL: objectives {'agree' if ok else 'DISAGREE'}")
        elif same == {"INFEASIBLE"}:
            print("  both INFEASIBLE: agree")
        print(f"  radius / ours wall time: {wr / wo:.1f}x" + (
            "" if rr.status.value in ("OPTIMAL", "INFEASIBLE") else
            f" (radius ended {rr.status.value} at the limit: a lower bound on the ratio)"))


if __name__ == "__main__":
    main()
