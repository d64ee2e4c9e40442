"""What a stop event costs a placement solve: one piece vs 4x slices (ours) vs doubling slices.

The app always passes a stop event, and the MIP engines of this OR-Tools wheel ignore
MathOpt's interrupter, so :func:`optimizer._mip.solve_mip` then runs the engine in time
slices, each restarting the search from the best solution so far. This script solves
the same request on the demo three times in one process, with the same coverage:

* one piece: no stop event (the CLI);
* ours: a stop event that is never set, slices of 1, 4, 16, 64 s;
* doubling: the same with slices of 1, 2, 4 ... 30 s (the scheme before).

It checks that all three reach the same proven optimum and prints the time ratios.

    python bench/bench_stop_slices.py
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geodata._errors import ScenarioWarning  # noqa: E402
from geodata.scenario import load_scenario  # noqa: E402
from motcua.placement import PlacementRequest, run_placement  # noqa: E402
from optimizer import _mip  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(REPO / "scenarios" / "demo"))
    ap.add_argument("--points", type=int, default=120)
    ap.add_argument("--min-covered", type=float, default=97.0)
    ap.add_argument("--limit", type=float, default=120.0)
    a = ap.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        sc = load_scenario(a.scenario)
    req = PlacementRequest(model="pmedian", p=a.points, min_covered_pct=a.min_covered,
                           time_limit_s=a.limit)
    run_placement(sc, req)  # warm the coverage cache: the three runs time the solve only
    ours = (_mip.SLICE_GROWTH, _mip.MAX_SLICE_S)
    rows = []
    for name, stop, slices in (("one piece", None, ours), ("ours", threading.Event(), ours),
                               ("doubling", threading.Event(), (2.0, 30.0))):
        _mip.SLICE_GROWTH, _mip.MAX_SLICE_S = slices
        t0 = time.perf_counter()
        run = run_placement(sc, req, stop=stop)
        rows.append((name, run.report, time.perf_counter() - t0))
    _mip.SLICE_GROWTH, _mip.MAX_SLICE_S = ours
    print("| run | status | objective | bound | wall s |")
    print("|---|---|---|---|---|")
    for name, rep, wall in rows:
        print(f"| {name} | {rep.status.value} | {rep.objective:.6g} | {rep.best_bound:.6g} | "
              f"{wall:.1f} |")
    objs = {round(rep.objective, 3) for _, rep, _ in rows if rep.status.value == "OPTIMAL"}
    proven = sum(rep.status.value == "OPTIMAL" for _, rep, _ in rows)
    print(f"{proven} of 3 OPTIMAL; " + ("same optimum" if len(objs) == 1 else f"optima differ: {objs}"))
    one, mine, dbl = (w for _, _, w in rows)
    print(f"ours / one piece: {mine / one:.2f}x; doubling / ours: {dbl / mine:.2f}x")


if __name__ == "__main__":
    main()
