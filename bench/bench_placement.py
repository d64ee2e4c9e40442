"""Placement speed: spopt (PuLP + CBC), a plain OR-Tools model, and ours, side by side.

Each (instance, model, peer) runs in its own subprocess so that peak memory
(``ru_maxrss``) is that run's alone; every peer gets the same time limit.  The
objectives are checked equal whenever two peers both prove optimality.

    python bench/bench_placement.py --instances small --models lscp mclp
    python bench/bench_placement.py --instances small big national --limit 120
    python bench/bench_placement.py --pmedian-grid --limit 60

``--pmedian-grid``: p-median on ``small`` with seeds 2025, 1, 2 and p = 20, 40, 80
(9 cases, ``ours`` only unless ``--peers`` says otherwise), the robustness check of
issue #4; the status, bound, gap and wall time of each case, in its own subprocess.

Instances: seeded clustered 5,000 x 500 and 20,000 x 2,000 at 5 km, and the
11,163 ward points of Vietnam (``vn_ward_points_pop2019.csv``) as demand and
candidates at 5 km straight line (KD-tree, sparse); and real provinces
(``qn-1km ls-1km pt-1km hn-400m qn-400m``, built and cached by
``bench/real_instances.py``), solved as ``motcua place`` solves them, 2 threads:

    python bench/bench_placement.py --instances qn-1km pt-1km --models lscp mclp pmedian \
        --peers ours plain spopt --limit 60 --spopt-limit 600

``--models pcenter`` runs p-center (ours only) with the p-median cutoff; ``--models
cpmedian`` the capacitated p-median (ours only) as ``motcua place --model pmedian
--points 40 --capacitated`` solves it: in-person dossiers a day, the sites'
``capacity_per_day``, p-median's cutoff and penalty (its row adds the share of the
dossiers assigned and the points over capacity).
``--models lscp-cap mclp-cap`` (real instances, ours only) run the capacitated LSCP
and MCLP as ``motcua place KEY --capacitated`` does (in-person dossiers a day, the
sites' capacities and opening costs):

    python bench/bench_placement.py --instances qn-1km ls-1km --models lscp-cap mclp-cap \
        --peers ours --limit 60

``--spopt-limit`` gives spopt (CBC) its own cap; a run that hits it is reported as
"no proof in N s".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOTCUA_SHARED_DATA", REPO.parent / "shared" / "data"))
P_MCLP = {"small": 40, "big": 150, "national": 1000}
P_MEDIAN = 40
#: The real-province instances of ``bench/real_instances.py`` (issue #16): points for
#: MCLP and p-median, and threads (``motcua place``'s 2 cores).
REAL = ("qn-1km", "ls-1km", "pt-1km", "hn-400m", "qn-400m")
P_REAL = 40
REAL_THREADS = 2
#: Capacitated LSCP and MCLP (``P_REAL`` points) on the real instances, ours only.
CAPACITATED = ("lscp-cap", "mclp-cap")


#: The p-median robustness grid (issue #4): instance seeds and p values on 5,000 x 500.
GRID_SEEDS = (2025, 1, 2)
GRID_P = (20, 40, 80)


def national_points() -> tuple[np.ndarray, np.ndarray]:
    """The 11,163 ward points of Vietnam: (x, y) in km (VN-2000 / UTM 48N) and 2019 residents."""
    import pandas as pd
    from pyproj import Transformer

    df = pd.read_csv(SHARED / "boundaries" / "vn_ward_points_pop2019.csv")
    tr = Transformer.from_crs("EPSG:4326", "EPSG:3405", always_xy=True)
    x, y = tr.transform(df["rep_lon"].to_numpy(), df["rep_lat"].to_numpy())
    return np.column_stack([x, y]) / 1000.0, df["pop2019"].fillna(0).to_numpy(dtype=float)


def build(name: str) -> tuple[object, object, np.ndarray, object]:
    """Return (covered csr, km csr at the coverage radius, weights, full-km csr or None)."""
    from optimizer._instances import clustered_instance, sparse_distance_km

    if name == "small":
        inst = clustered_instance(5000, 500, radius_km=5.0, seed=2025)
        return inst.covered, inst.km, inst.weights, None
    if name == "big":
        inst = clustered_instance(20000, 2000, radius_km=5.0, seed=2025)
        return inst.covered, inst.km, inst.weights, None
    if name == "national":
        xy, pop = national_points()
        km = sparse_distance_km(xy, xy, 5.0)
        import scipy.sparse as sp

        cov = sp.csr_matrix((km.data <= 5.0, km.indices.copy(), km.indptr.copy()),
                            shape=km.shape, dtype=bool)
        return cov, km, pop, None
    msg = f"unknown instance {name!r}"
    raise ValueError(msg)


def run_real(instance: str, model: str, peer: str, limit: float) -> dict[str, object]:
    """A real-province instance (``bench/real_instances.py``) as ``motcua place`` solves
    it: its coverage or minutes matrix, residents as weights, its must-open and closed
    sites, p-median's penalty, 2 threads; spopt gets the same matrix and site lists."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import real_instances as ri

    if model in CAPACITATED:
        if peer != "ours":
            return {"skipped": "the capacitated models are run for ours only"}
        return run_capacitated(instance, model, limit)
    m = ri.matrices(instance, model)
    covered, w, fixed, closed = m["covered"], m["weights"], m["fixed"], m["closed"]
    if model in ("pcenter", "cpmedian") and peer != "ours":
        return {"skipped": f"{model} is run for ours only"}
    if model == "pmedian" and peer == "plain":
        return {"skipped": f"the plain radius model of {m['minutes'].nnz:,} pairs at once "
                           "(HiGHS: several kB per pair, far over 2 GB)"}
    t0 = time.perf_counter()
    if peer in ("ours", "plain"):
        from optimizer.placement import Tuning, lscp, mclp, p_center, p_median

        pre = peer == "ours"
        tuning = Tuning(preprocess=pre, truncate=pre)
        kw = {"fixed": fixed, "closed": closed, "time_limit_s": limit, "threads": REAL_THREADS,
              "tuning": tuning}
        if model == "cpmedian":
            r = _cpmedian(m, limit)
        elif model == "pcenter":
            r = p_center(m["minutes"], w, P_REAL, fixed=fixed, closed=closed, time_limit_s=limit,
                         threads=REAL_THREADS)
        elif model == "lscp":
            r = lscp(covered, w, **kw)
        elif model == "mclp":
            r = mclp(covered, w, P_REAL, **kw)
        else:
            r = p_median(m["minutes"], w, P_REAL, unassigned_penalty_min=m["penalty"], **kw)
        out: dict[str, object] = {
            "status": r.status.value, "objective": float(r.objective), "bound": r.best_bound,
            "gap": r.report.gap, "wall_s": time.perf_counter() - t0}
        if model == "cpmedian" and r.assigned_share is not None and r.capacity is not None:
            w_d = _per_day(m)
            out.update(assigned_share=float(w_d @ r.assigned_share) / float(w_d.sum()),
                       overloaded=int((r.load > r.capacity + 1e-6).sum()),
                       message=r.report.message)
        return out
    if model == "pmedian":
        n = covered.shape[0] * covered.shape[1]
        return {"skipped": f"spopt's p-median has one variable per pair: {n:,} of them"}
    import pulp
    from spopt.locate import LSCP, MCLP

    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=limit, threads=REAL_THREADS)
    # the same coverage: 0 where covered, 2 elsewhere, service radius 1
    dense = np.full(covered.shape, 2.0)
    coo = covered.tocoo()
    dense[coo.row, coo.col] = 0.0
    dense[:, closed] = 2.0
    keep_cols = np.setdiff1d(np.arange(covered.shape[1]), closed)
    pre = {}
    if fixed.size:
        arr = np.zeros(keep_cols.size, dtype=bool)
        arr[np.searchsorted(keep_cols, fixed)] = True
        pre = {"predefined_facilities_arr": arr}
    if model == "lscp":
        coverable = (dense[:, keep_cols] < 1.0).any(axis=1)
        sp_m = LSCP.from_cost_matrix(dense[coverable][:, keep_cols], 1.0, **pre).solve(solver)
    else:
        sp_m = MCLP.from_cost_matrix(dense[:, keep_cols], w, 1.0, p_facilities=P_REAL,
                                     **pre).solve(solver)
    status = pulp.LpStatus[sp_m.problem.status]
    wall = time.perf_counter() - t0
    if status == "Optimal" and wall >= limit * 0.98:
        status = f"no proof in {limit:g} s"  # CBC says 'Optimal' after a limit too
    return {"status": status, "objective": float(pulp.value(sp_m.problem.objective) or math.nan),
            "wall_s": wall}


def _per_day(m: dict[str, object]) -> np.ndarray:
    """In-person dossiers a working day per demand point, as ``motcua place`` weighs the
    capacitated models."""
    from geodata.scenario import load_scenario
    from motcua.placement import in_person_per_day

    scenario = load_scenario(Path(str(m["folder"])))
    return in_person_per_day(scenario, np.asarray(m["weights"], dtype=float))


def _cpmedian(m: dict[str, object], limit: float) -> object:
    """The capacitated p-median as ``motcua place --model pmedian --points 40
    --capacitated`` solves it: dossiers a day, the sites' capacities, p-median's penalty."""
    from optimizer.placement import capacitated_p_median

    return capacitated_p_median(m["minutes"], _per_day(m), m["capacity"], P_REAL, fixed=m["fixed"],
                                closed=m["closed"], unassigned_penalty_min=m["penalty"],
                                time_limit_s=limit, threads=REAL_THREADS)


def capacitated_inputs(instance: str) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``motcua place KEY --capacitated``'s inputs of a real instance: its coverage, the
    in-person dossiers a day of each demand point, each site's run status
    (``must_open``/``closed``/...), ``capacity_per_day`` and ``opening_cost``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import real_instances as ri

    from geodata.coverage import coverage_for_scenario
    from geodata.scenario import load_scenario
    from motcua.placement import PlacementRequest, _run_status, in_person_per_day

    scenario = load_scenario(ri.scenario_folder(instance))
    sc = coverage_for_scenario(scenario, standard=scenario.settings.coverage,
                               cache_dir=ri.OUT / "cache")
    sites = sc.sites.reset_index(drop=True)
    w = in_person_per_day(scenario, sc.demand["population"].to_numpy(dtype=float))
    status = _run_status(sites, PlacementRequest(model="lscp", capacitated=True))
    cap = sites["capacity_per_day"].fillna(0.0).to_numpy(dtype=float)
    costs = sites["opening_cost"].fillna(1.0).to_numpy(dtype=float)
    return sc, w, status, cap, costs


def run_capacitated(instance: str, model: str, limit: float) -> dict[str, object]:
    """``motcua place KEY --model lscp|mclp [--points 40] --capacitated --threads 2``'s
    model: in-person dossiers a day as weights, each site's ``capacity_per_day`` and
    ``opening_cost``, its must-open and closed sites."""
    from optimizer.placement import capacitated

    sc, w, status, cap, costs = capacitated_inputs(instance)
    p = P_REAL if model == "mclp-cap" else None
    t0 = time.perf_counter()
    r = capacitated(sc.matrix.covered, w, cap, p, costs=costs,
                    fixed=np.flatnonzero(status == "must_open"),
                    closed=np.flatnonzero(status == "closed"), time_limit_s=limit,
                    threads=REAL_THREADS)
    return {"status": r.status.value, "objective": float(r.objective), "bound": r.best_bound,
            "gap": r.report.gap, "wall_s": time.perf_counter() - t0,
            "note": r.report.message}


def run_one(instance: str, model: str, peer: str, limit: float, seed: int = 2025,
            p_med: int = P_MEDIAN) -> dict[str, object]:
    if instance in REAL:
        return run_real(instance, model, peer, limit)
    if model == "pmedian" and instance in ("small", "big"):
        from optimizer._instances import clustered_instance

        n, m = {"small": (5000, 500), "big": (20000, 2000)}[instance]
        inst = clustered_instance(n, m, radius_km=5.0, seed=seed)
        covered, km, w = inst.covered, inst.km, inst.weights
    else:
        covered, km, w, _ = build(instance)
    t0 = time.perf_counter()
    status, obj = "?", float("nan")
    if peer in ("ours", "plain"):
        from optimizer.placement import Tuning, lscp, mclp, p_median

        pre = peer == "ours"
        tuning = Tuning(preprocess=pre, truncate=pre)
        if model == "lscp":
            r = lscp(covered, w, time_limit_s=limit, threads=1, tuning=tuning)
        elif model == "mclp":
            r = mclp(covered, w, P_MCLP[instance], time_limit_s=limit, threads=1,
                     tuning=tuning)
        else:
            # p-median on travel km up to 3x the radius, beyond that a 30 km penalty;
            # "plain" = the full radius model at once (no greedy-guided truncation)
            r = p_median(_median_matrix(instance, seed), w, p_med, unassigned_penalty_min=30.0,
                         time_limit_s=limit, threads=1, tuning=tuning)
        status, obj = r.status.value, float(r.objective)
        extra: dict[str, object] = {"bound": r.best_bound, "gap": r.report.gap}
    else:
        import pulp
        from spopt.locate import LSCP, MCLP, PMedian

        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=limit, threads=1)
        if model == "pmedian":
            dm = _median_matrix(instance, seed)
            dense = np.full(dm.shape, 30.0)
            coo = dm.tocoo()
            dense[coo.row, coo.col] = coo.data
            m = PMedian.from_cost_matrix(dense, w, p_facilities=p_med).solve(solver)
        else:
            dense = np.full(km.shape, 1e9)
            coo = km.tocoo()
            dense[coo.row, coo.col] = coo.data
            if model == "lscp":
                coverable = np.asarray(covered.sum(axis=1)).ravel() > 0
                m = LSCP.from_cost_matrix(dense[coverable], 5.0).solve(solver)
            else:
                m = MCLP.from_cost_matrix(dense, w, 5.0, p_facilities=P_MCLP[instance]).solve(solver)
        status = pulp.LpStatus[m.problem.status]
        obj = float(pulp.value(m.problem.objective) or float("nan"))
        extra = {"note": "CBC status 'Optimal' also after a time limit with a solution"}
    return {"status": status, "objective": obj, "wall_s": time.perf_counter() - t0, **extra}


def _median_matrix(instance: str, seed: int = 2025) -> object:
    from optimizer._instances import clustered_instance

    n, m = {"small": (5000, 500), "big": (20000, 2000)}[instance]
    return clustered_instance(n, m, radius_km=5.0, seed=seed, cutoff_km=15.0).km


def child(args: argparse.Namespace) -> None:
    res = run_one(args.instance, args.model, args.peer, args.limit, args.seed, args.p)
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    res["peak_mb"] = me.ru_maxrss / 1024.0
    res["children_peak_mb"] = kids.ru_maxrss / 1024.0
    # whole-process CPU (user + sys, imports and instance build included, CBC's
    # child process too), as GNU time reports it: fairer than wall time on a
    # shared, noisy machine
    res["cpu_s"] = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print("RESULT " + json.dumps(res))


def _peak(res: dict[str, object]) -> float:
    """Peak resident MB of a run: the child or its own largest child (CBC), whichever is larger."""
    return max(float(str(res.get("peak_mb", 0))), float(str(res.get("children_peak_mb", 0))))


def _run_child(inst: str, model: str, peer: str, limit: float, seed: int = 2025,
               p_med: int = P_MEDIAN) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", "--instance", inst, "--model", model,
           "--peer", peer, "--limit", str(limit), "--seed", str(seed), "--p", str(p_med)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit * 3 + 120)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
        res: dict[str, object] = json.loads(line[-1][7:]) if line else {
            "status": f"crashed: {out.stderr.strip().splitlines()[-1:]}"}
    except subprocess.TimeoutExpired:
        res = {"status": "killed (wall > 3x limit)"}
    return res


def grid(args: argparse.Namespace) -> None:
    """The p-median robustness grid: every (seed, p) case in its own subprocess."""
    peers = args.peers if "--peers" in sys.argv else ["ours"]
    print(f"p-median 5,000 x 500, 15 km cutoff, 30 km penalty, limit {args.limit:g} s")
    print("| seed | p | peer | status | objective | bound | gap % | wall s | over limit s "
          "| peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    n_opt = 0
    worst_over = -math.inf
    for seed in GRID_SEEDS:
        for p in GRID_P:
            for peer in peers:
                res = _run_child("small", "pmedian", peer, args.limit, seed, p)
                wall = float(str(res.get("wall_s", "nan")))
                over = wall - args.limit
                worst_over = max(worst_over, over)
                n_opt += res.get("status") == "OPTIMAL" and peer == "ours"
                print(f"| {seed} | {p} | {peer} | {res.get('status')} | "
                      f"{float(str(res.get('objective', 'nan'))):.7g} | "
                      f"{float(str(res.get('bound', 'nan'))):.7g} | "
                      f"{100 * float(str(res.get('gap', 'nan'))):.4f} | {wall:.2f} | "
                      f"{over:+.2f} | {_peak(res):.0f} |", flush=True)
    print(f"ours OPTIMAL in {n_opt} of {len(GRID_SEEDS) * len(GRID_P)} cases; "
          f"largest wall time minus limit {worst_over:+.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--instances", nargs="+", default=["small"])
    ap.add_argument("--models", nargs="+", default=["lscp", "mclp", "pmedian"])
    ap.add_argument("--peers", nargs="+", default=["spopt", "plain", "ours"])
    ap.add_argument("--limit", type=float, default=120.0, help="time limit per run, seconds")
    ap.add_argument("--spopt-limit", type=float, default=None,
                    help="spopt's own time limit (default: --limit)")
    ap.add_argument("--pmedian-grid", action="store_true",
                    help="p-median 5,000 x 500, seeds 2025 1 2 x p 20 40 80 (ours unless --peers)")
    ap.add_argument("--seed", type=int, default=2025, help=argparse.SUPPRESS)
    ap.add_argument("--p", type=int, default=P_MEDIAN, help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--instance", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    if args.pmedian_grid:
        grid(args)
        return
    failed = False
    print("| instance | model | peer | status | objective | bound | wall s | cpu s | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for inst in args.instances:
        for model in args.models:
            if model == "pmedian" and inst == "national":
                continue
            rows: dict[str, dict[str, object]] = {}
            for peer in args.peers:
                lim = args.spopt_limit if peer == "spopt" and args.spopt_limit else args.limit
                res = _run_child(inst, model, peer, lim)
                rows[peer] = res
                if "skipped" in res:
                    print(f"| {inst} | {model} | {peer} | skipped: {res['skipped']} | | | | | |")
                    continue
                peak = _peak(res)
                print(f"| {inst} | {model} | {peer} | {res.get('status')} | "
                      f"{float(res.get('objective', float('nan'))):.9g} | "
                      f"{float(str(res.get('bound', 'nan'))):.9g} | "
                      f"{float(res.get('wall_s', float('nan'))):.2f} | "
                      f"{float(res.get('cpu_s', float('nan'))):.1f} | {peak:.0f} |", flush=True)
                if "assigned_share" in res:
                    print(f"<!-- {inst} {model}: gap {100 * float(str(res.get('gap'))):.2f} %, "
                          f"{100 * float(str(res['assigned_share'])):.2f} % of the dossiers "
                          f"assigned, {res.get('overloaded')} points over capacity; "
                          f"{res.get('message')} -->", flush=True)
            ours = rows.get("ours", {})
            for peer, res in rows.items():
                if peer == "ours" or "wall_s" not in res or "wall_s" not in ours:
                    continue
                ratio = float(res["wall_s"]) / max(1e-9, float(ours["wall_s"]))
                cpu_ratio = float(res.get("cpu_s", float("nan"))) / max(
                    1e-9, float(ours.get("cpu_s", float("nan"))))
                mem_ratio = _peak(res) / max(1e-9, _peak(ours))
                same = np.isclose(float(res["objective"]), float(ours["objective"]), rtol=1e-6)
                # only two proven optima must agree; CBC says "Optimal" also after a limit
                both = {str(res.get("status")), str(ours.get("status"))} <= {"OPTIMAL"}
                verdict = "equal" if same else (
                    "DIFFER (both proven optimal: a bug)" if both else
                    f"differ ({peer} {res.get('status')}, ours {ours.get('status')})")
                failed = failed or (both and not same)
                print(f"|  | {model} | {peer}/ours | time ratio {ratio:.1f}x, cpu ratio "
                      f"{cpu_ratio:.1f}x, memory ratio {mem_ratio:.1f}x | "
                      f"objectives {verdict} | | | | |", flush=True)
    if failed:
        sys.exit("two proven optima differ")


if __name__ == "__main__":
    main()
