"""Bracket a real instance's capacitated LSCP optimum offline (issue #16).

SCIP's branch-and-cut over the cut-set master (``optimizer.placement.capacity_cuts.
branch_and_cut``: the flow's violated cut-set rows as lazy constraints, integer points
repaired by the sites the minimum cut says are missing), with the time given: its
bound is a lower bound of the optimum, its answer (assignable by the flow) an upper
one.  One thread (SCIP's own); needs ``pyscipopt`` (the ``test`` extra).

    python bench/cap_lscp_offline.py qn-1km --limit 2400
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instance", help="a real instance of bench/real_instances.py (qn-1km, ...)")
    ap.add_argument("--limit", type=float, default=600.0, help="seconds for SCIP")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_placement import capacitated_inputs

    from optimizer.placement import capacity_cuts as cc
    from optimizer.placement.inputs import SolveOptions, cover_inputs

    sc, w, status, cap, costs = capacitated_inputs(args.instance)
    prob = cover_inputs(sc.matrix.covered, w, np.flatnonzero(status == "must_open"),
                        np.flatnonzero(status == "closed"), costs, None)
    t0 = time.perf_counter()
    ms = cc.new_master(prob, cap, None)
    cc.initial_cuts(ms)
    for k in range(ms.m):  # the points within reach of each site
        cc.add_cut(ms, ms.cmc.indices[ms.cmc.indptr[k]:ms.cmc.indptr[k + 1]].astype(np.int64))
    hint = cc.repair_sites(ms, np.zeros(ms.m, dtype=bool))
    print(f"{args.instance}: {ms.n:,} merged points, {ms.m:,} sites; start "
          f"{'none' if hint is None else f'{ms.costs[hint].sum():g}'}", flush=True)
    out = cc.branch_and_cut(ms, hint, deadline=time.perf_counter() + args.limit,
                            options=SolveOptions(args.limit, 0, 1))
    best = "none" if out.best is None else f"{ms.costs[out.best].sum():g}"
    print(f"{args.instance}: answer {best}, bound {out.bound:.6g}, proven {out.proven}, "
          f"{time.perf_counter() - t0:.0f} s; {out.note}")


if __name__ == "__main__":
    main()
