"""What each step of the p-median method buys, on the bench instance.

    python bench/ablate_pmedian.py [--limit 60]

Runs ``optimizer._pmedian.solve`` on ``clustered_instance(5000, 500, radius_km=5,
seed=2025, cutoff_km=15)``, p = 40, 30 km penalty (the ``bench_placement.py``
p-median instance) with steps switched off, one after the other, in this process.
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
    args = ap.parse_args()
    inst = clustered_instance(5000, 500, radius_km=5.0, seed=2025, cutoff_km=15.0)
    pairs = pm.Pairs.of(inst.km)
    tail = np.full(inst.km.shape[0], 30.0)
    fixed = np.zeros(inst.km.shape[1], dtype=bool)
    allowed = ~fixed
    variants = {
        "all steps": {},
        "no Lagrangian heuristic": {"use_heuristic": False},
        "greedy start only (no interchange, no Lagrangian heuristic)":
            {"use_heuristic": False, "use_interchange": False},
        "one fixing round": {"max_rounds": 1},
    }
    print("| variant | status | objective | bound | wall s | steps |")
    print("|---|---|---|---|---|---|")
    for name, kw in variants.items():
        t0 = time.perf_counter()
        out = pm.solve(pairs, inst.weights, tail, 40, fixed, allowed,
                       deadline=t0 + args.limit, engine="highs", seed=0, threads=1, **kw)
        wall = time.perf_counter() - t0
        st = "OPTIMAL" if out.proven else "FEASIBLE"
        print(f"| {name} | {st} | {out.cost:.6g} | {out.bound:.6g} | {wall:.1f} | "
              f"{out.message} |", flush=True)


if __name__ == "__main__":
    main()
