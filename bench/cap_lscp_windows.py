"""Is a real instance's capacitated LSCP answer short? Windows re-solved offline (issue #16).

The engine's answer (``motcua place KEY --model lscp --capacitated``'s model, the limit
and threads given), then ``optimizer.placement.capacity_windows.window_search`` from it:
windows of ``--window`` sites near an open site re-solved exactly, the rest kept, for
``--search`` seconds (one thread).  A cheaper answer found says the engine's answer is
short; none says it is a local optimum for such windows.

    python bench/cap_lscp_windows.py ls-1km --window 80 --search 800
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instance", help="a real instance of bench/real_instances.py (ls-1km, ...)")
    ap.add_argument("--limit", type=float, default=60.0, help="seconds for the engine's answer")
    ap.add_argument("--threads", type=int, default=2, help="threads for the engine's answer")
    ap.add_argument("--window", type=int, default=80, help="sites in a window")
    ap.add_argument("--step", type=float, default=15.0, help="seconds per window at most")
    ap.add_argument("--search", type=float, default=600.0, help="seconds for the windows")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_placement import capacitated_inputs

    from optimizer.placement.capacity import solve_capacitated
    from optimizer.placement.capacity_windows import window_search
    from optimizer.placement.inputs import SolveOptions, cover_inputs

    sc, w, status, cap, costs = capacitated_inputs(args.instance)
    prob = cover_inputs(sc.matrix.covered, w, np.flatnonzero(status == "must_open"),
                        np.flatnonzero(status == "closed"), costs, None)
    res = solve_capacitated(prob, cap, None, SolveOptions(args.limit, 0, args.threads))
    print(f"{args.instance}: engine {res.report.objective:g} / {res.report.best_bound:g} "
          f"({res.report.wall_time_s:.1f} s)", flush=True)
    mask = np.zeros(prob.inp.n_sites, dtype=bool)
    mask[res.open_sites] = True
    t0 = time.perf_counter()
    out = window_search(prob, cap, mask, window=args.window, step_limit_s=args.step,
                        deadline=t0 + args.search, options=SolveOptions(args.step, 0, 1),
                        seed=args.seed)
    best = "none" if out.best is None else f"{out.best.objective:g}"
    print(f"{args.instance}: windows of {args.window} sites: {out.windows} in "
          f"{time.perf_counter() - t0:.0f} s ({out.optimal} optimal on their sites), "
          f"{out.improved} improvements, best {best}")


if __name__ == "__main__":
    main()
