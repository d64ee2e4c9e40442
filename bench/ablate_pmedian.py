"""What each step of the p-median method buys, on the bench instance.

    python bench/ablate_pmedian.py [--limit 60] [--seed 2025] [--p 40]

Runs ``optimizer._pmedian.solve`` on ``clustered_instance(5000, 500, radius_km=5,
seed=2025, cutoff_km=15)``, p = 40, 30 km penalty (the ``bench_placement.py``
p-median instance; ``--seed`` / ``--p`` pick another of the grid) with steps
switched off, one after the other, in this process.  Demand points with no site
within the cutoff are left out, as ``p_median`` does.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from optimizer import _pmedian as pm
from optimizer._instances import clustered_instance


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--p", type=int, default=40)
    args = ap.parse_args()
    inst = clustered_instance(5000, 500, radius_km=5.0, seed=args.seed, cutoff_km=15.0)
    reach = np.diff(inst.km.indptr) > 0
    km, weights = inst.km[reach], inst.weights[reach]
    pairs = pm.Pairs.of(km)
    tail = np.full(km.shape[0], 30.0)
    fixed = np.zeros(km.shape[1], dtype=bool)
    allowed = ~fixed
    variants = {
        "all steps": {},
        "no Lagrangian heuristic": {"use_heuristic": False},
        "greedy start only (no interchange, no Lagrangian heuristic)":
            {"use_heuristic": False, "use_interchange": False},
        "one fixing round (no deflected polish of the multipliers)": {"max_rounds": 1},
        "no Lagrangian tree (HiGHS on what fixing leaves)": {"use_tree": False},
    }
    print("| variant | status | objective | bound | wall s | steps |")
    print("|---|---|---|---|---|---|")
    for name, kw in variants.items():
        t0 = time.perf_counter()
        out = pm.solve(pairs, weights, tail, args.p, fixed, allowed,
                       deadline=t0 + args.limit, engine="highs", seed=0, threads=1, **kw)
        wall = time.perf_counter() - t0
        st = "OPTIMAL" if out.proven else "FEASIBLE"
        print(f"| {name} | {st} | {out.cost:.6g} | {out.bound:.6g} | {wall:.1f} | "
              f"{out.message} |", flush=True)


if __name__ == "__main__":
    main()
