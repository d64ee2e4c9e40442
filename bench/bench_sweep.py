"""The national sweep on this machine: 1 worker, then 2, and what N workers would take.

Every province (default all 34) is swept from scratch with ``coverage`` and
``lscp`` (existing offices kept) on a ``LocalCluster`` of 1 and then 2 worker
processes (one thread each), each into its own new folder and with a per-task
coverage cache, so nothing carries over between the two runs.  Printed:

* wall time of each run and the speed-up 1 -> 2 workers;
* peak resident memory of each worker process (``ru_maxrss`` read at the end of
  each of its tasks; the largest) and of the client;
* the slowest provinces (their own wall time in the 1-worker run);
* on paper: the makespan of N workers scheduling the measured per-province
  times longest-first (LPT: within 4/3 of the optimum) and the lower bound
  max(longest province, total / N);
* the machine's load average before and after each run (the machine is shared).

The peer is the same sweep on 1 worker: the speed-up is the ratio.

Usage::

    python bench/bench_sweep.py --data ../shared/data
    python bench/bench_sweep.py --data ../shared/data --provinces "Lai Châu,Huế" --workers 1 2
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motcua.sweep import (  # noqa: E402
    NationalData,
    SweepSettings,
    dask_client,
    parse_models,
    resolve_provinces,
    run_sweep,
    short_name,
)


def lpt_makespan(times: list[float], workers: int) -> float:
    """Makespan of longest-processing-time-first list scheduling on ``workers`` machines."""
    loads = [0.0] * workers
    heapq.heapify(loads)
    for t in sorted(times, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + t)
    return max(loads)


def one_run(provinces: list[str], data: NationalData, settings: SweepSettings, workers: int,
            root: Path) -> dict[str, Any]:
    out = root / f"workers-{workers}"
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    with dask_client(workers, dashboard=False) as client:
        client.wait_for_workers(workers, timeout=120)
        started = time.perf_counter()
        done: list[str] = []

        def on_row(row: dict[str, Any], state: str) -> None:
            done.append(row["slug"])
            print(f"  [{workers}w] {len(done):2d}/{len(provinces)} {row['name']:<16} {state:<7}"
                  f" {row.get('wall_time_s') or 0:7.1f} s  {row.get('error') or ''}",
                  file=sys.stderr, flush=True)

        result = run_sweep(client, provinces, data, settings, out, on_row=on_row)
        sweep_s = time.perf_counter() - started
    total_s = time.perf_counter() - t0
    rows = result.rows
    peaks: dict[str, float] = {}
    for r in rows:
        if r.get("worker"):
            peaks[r["worker"]] = max(peaks.get(r["worker"], 0.0), float(r.get("peak_rss_mb") or 0))
    return {"workers": workers, "sweep_s": sweep_s, "with_cluster_start_s": total_s,
            "load_before": load_before, "load_after": os.getloadavg(), "rows": rows,
            "failed": [(r["province"], r["error"]) for r in rows if r.get("error")],
            "worker_peak_rss_mb": peaks, "out": str(out)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("MOTCUA_SHARED_DATA",
                                                                     "../shared/data")))
    ap.add_argument("--provinces", default="all")
    ap.add_argument("--models", default="coverage,lscp")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cell-m", type=float, default=1000.0)
    ap.add_argument("--candidate-cell-m", type=float, default=3000.0)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--paper", type=int, nargs="+", default=[1, 2, 4, 8, 16, 34])
    ap.add_argument("--keep", type=Path, help="write the sweep folders here (default: a temp folder)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()

    data = NationalData.shared(args.data)
    provinces = resolve_provinces(data, args.provinces)
    settings = SweepSettings(models=parse_models(args.models), cell_m=args.cell_m,
                             candidate_cell_m=args.candidate_cell_m, time_limit_s=args.time_limit)
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
    except OSError:
        commit = "?"
    print(f"# sweep bench: {len(provinces)} provinces, models {args.models}, cell {args.cell_m:g} m, "
          f"candidates {args.candidate_cell_m:g} m, limit {args.time_limit:g} s; "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, commit {commit}")
    runs = [one_run(provinces, data, settings, w, root) for w in args.workers]

    base = runs[0]
    times = {r["province"]: float(r["wall_time_s"]) for r in base["rows"] if not r.get("error")}
    print()
    print("| workers | sweep wall time | with cluster start | peak RSS per worker (MB) | "
          "load avg before -> after | failed |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        peaks = ", ".join(f"{v:,.0f}" for v in sorted(run["worker_peak_rss_mb"].values()))
        print(f"| {run['workers']} | {run['sweep_s']:.0f} s | {run['with_cluster_start_s']:.0f} s | "
              f"{peaks} | {run['load_before'][0]:.1f} -> {run['load_after'][0]:.1f} | "
              f"{len(run['failed'])} |")
    for run in runs[1:]:
        print(f"\nspeed-up {base['workers']} -> {run['workers']} workers: "
              f"{base['sweep_s'] / run['sweep_s']:.2f}x")
    print(f"client peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    for run in runs:
        for province, error in run["failed"]:
            print(f"FAILED ({run['workers']} workers) {province}: {error}")

    if times:
        total = sum(times.values())
        longest = max(times.values())
        print(f"\nper-province times ({base['workers']}-worker run): total {total:.0f} s, "
              f"longest {longest:.0f} s")
        print("slowest: " + "; ".join(f"{short_name(p)} {t:.0f} s" for p, t in
                                      sorted(times.items(), key=lambda kv: -kv[1])[:6]))
        print("\n| workers N | LPT makespan (measured times) | lower bound max(longest, total/N) |")
        print("|---|---|---|")
        for n in args.paper:
            print(f"| {n} | {lpt_makespan(list(times.values()), n):.0f} s | "
                  f"{max(longest, total / n):.0f} s |")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "times": times}, ensure_ascii=False,
                                        indent=1, default=str), encoding="utf-8")
    print(f"\nsweep folders: {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
