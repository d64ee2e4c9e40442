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
    import real_instances as ri

    from geodata.coverage import coverage_for_scenario
    from geodata.scenario import load_scenario
    from motcua.placement import PlacementRequest, _run_status, in_person_per_day
    from optimizer.placement import capacity_cuts as cc
    from optimizer.placement.inputs import SolveOptions, cover_inputs

    scenario = load_scenario(ri.scenario_folder(args.instance))
    sc = coverage_for_scenario(scenario, standard=scenario.settings.coverage,
                               cache_dir=ri.OUT / "cache")
    sites = sc.sites.reset_index(drop=True)
    w = in_person_per_day(scenario, sc.demand["population"].to_numpy(dtype=float))
    status = _run_status(sites, PlacementRequest(model="lscp", capacitated=True))
    cap = sites["capacity_per_day"].fillna(0.0).to_numpy(dtype=float)
    costs = sites["opening_cost"].fillna(1.0).to_numpy(dtype=float)
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
