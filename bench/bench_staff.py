"""Staff rebalancing: CP-SAT lexicographic model vs a naive proportional heuristic.

Both run on the same seeded instances in one process; the script prints peak
utilisation, overload minutes, moves and wall time for each, and the ratio.

    python bench/bench_staff.py                 # both synthetic sizes
    python bench/bench_staff.py --demo scenarios/demo
    python bench/bench_staff.py --sizes hanoi --time-limit 60 --threads 2
    python bench/bench_staff.py --sizes hanoi --repeat 10   # solver seeds 0..9, and the spread
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from optimizer.staff_allocation import (
    StaffProblem,
    home_plan,
    site_day_table,
    solve_staff_allocation,
)

FIELDS = ("land", "justice", "business", "construction", "labour", "other")
DAY = 480.0


def synthetic(n_staff: int, n_branch: int, n_reception: int, n_days: int, seed: int) -> StaffProblem:
    """A seeded province: branches in a 40 km square, reception points around them."""
    rng = np.random.default_rng(seed)
    n_s = n_branch + n_reception
    xy = np.vstack([rng.random((n_branch, 2)) * 40.0,
                    rng.random((n_reception, 2)) * 40.0])
    travel = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 1.3 / 30 * 60
    # reception points get one person each (if staff allow), the rest spread over branches
    n_rec_staff = min(n_reception, n_staff // 4)
    home = np.concatenate([n_branch + np.arange(n_rec_staff),
                           rng.integers(0, n_branch, n_staff - n_rec_staff)])
    skills = rng.random((n_staff, 6)) < 0.5
    skills[:, 5] = True
    per_site = np.bincount(home, minlength=n_s).astype(float)
    # demand: ~85 % of home capacity on average, with a busy and a quiet third
    swing = rng.choice([0.6, 0.9, 1.3], n_s)
    local = (per_site[:, None] * DAY * 0.55 * swing[:, None]
             * rng.gamma(20.0, 1 / 20.0, (n_s, n_days)))
    ip_fields = rng.random((n_s, n_days, 6)) < np.where(np.arange(n_s) < n_branch, 0.9, 0.3)[:, None, None]
    # a field needs a qualified person only where people come in person (a reception
    # point with no one based there has no local work in this generator)
    ip_fields &= (local > 0)[:, :, None]
    # online dossiers received where people live (in proportion to local work), processed
    # today at the receiving site; pooled, by anyone qualified wherever they work
    online = per_site.sum() * DAY * 0.3 * rng.gamma(20.0, 1 / 20.0, (n_days, 6)) / 6
    weight = local + 1e-9
    pool_src = weight[:, :, None] / weight.sum(axis=0)[None, :, None] * online[None, :, :]
    pool = pool_src.sum(axis=0)
    visitors = local / 2 / 18.0
    arrivals = 0.2 * visitors
    from optimizer.queueing import required_counters

    counters = np.where(np.arange(n_s) < n_branch, 6, 1)
    needed = np.array([[required_counters(a, 18.0, 15.0, 0.8) for a in row] for row in arrivals])
    return StaffProblem(
        person_ids=tuple(f"P{i:04d}" for i in range(n_staff)),
        site_ids=tuple([f"B{i:02d}" for i in range(n_branch)] + [f"R{i:03d}" for i in range(n_reception)]),
        days=tuple(f"2026-11-{23 + d}" for d in range(n_days)),
        day_names=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")[:n_days], fields=FIELDS,
        home=home.astype(np.int64), skills=skills, available=rng.random((n_staff, n_days)) < 0.92,
        max_days=np.full(n_staff, n_days - 1 if n_days > 5 else n_days, dtype=np.int64),
        movable=rng.random(n_staff) < 0.85, site_open=np.ones((n_s, n_days), bool),
        pool_site=np.ones(n_s, dtype=bool), counters=counters.astype(np.int64),
        local_min=local, reception_min=local / 2, pool_min=pool, skill_need=ip_fields,
        in_person_dossiers=visitors, arrivals_peak_per_hour=arrivals,
        service_min_mean=np.full((n_s, n_days), 18.0), counters_needed=needed.astype(np.int64),
        travel_min=travel, max_travel_min=45.0, day_minutes=DAY, pool_src=pool_src,
    )


def naive(pb: StaffProblem) -> tuple[np.ndarray, np.ndarray]:
    """Proportional reallocation: each day, move movable people from the site furthest
    below its demand-proportional share to the reachable site furthest above it.
    Pooled online work is spread over branches in proportion to their staff."""
    plan = home_plan(pb)
    n_p, n_s, n_d, _ = pb.shape
    routed = np.zeros((n_s, n_d))
    for d in range(n_d):
        working = np.flatnonzero(plan[:, d] >= 0)
        staff = np.bincount(plan[working, d], minlength=n_s).astype(float)
        demand = pb.local_min[:, d] + pb.pool_site * pb.pool_min[d].sum() / max(1, pb.pool_site.sum())
        target = demand / demand.sum() * len(working) if demand.sum() > 0 else staff
        for _ in range(len(working)):
            surplus = staff - target
            donor = int(np.argmax(surplus))
            cands = [p for p in working if plan[p, d] == donor and pb.movable[p]
                     and pb.home[p] == donor]
            if surplus[donor] < 1 or not cands:
                break
            reach = pb.travel_min[donor] <= pb.max_travel_min
            need = np.where(reach, target - staff, -np.inf)
            to = int(np.argmax(need))
            if need[to] < 1:
                break
            plan[cands[0], d] = to
            staff[donor] -= 1
            staff[to] += 1
        cap = staff * pb.pool_site
        if cap.sum() > 0:
            routed[:, d] = pb.pool_min[d].sum() * cap / cap.sum()
    return plan, routed


SPREAD: list[tuple[str, int, str, float, float]] = []  # instance, seed, status, gap, wall s


def run(name: str, pb: StaffProblem, time_limit: float, threads: int, seed: int) -> list[str]:
    load = os.getloadavg()[0]  # other jobs on the machine (wall times depend on them)
    t0 = time.perf_counter()
    plan, routed = naive(pb)
    t_naive = time.perf_counter() - t0
    tab = site_day_table(pb, plan, routed)
    moves_naive = int(((plan >= 0) & (plan != pb.home[:, None])).sum())
    t0 = time.perf_counter()
    c0 = time.process_time()
    r = solve_staff_allocation(pb, time_limit_s=time_limit, seed=seed, threads=threads)
    t_ours = time.perf_counter() - t0
    cpu_ours = time.process_time() - c0  # all threads of this process
    rep = r.report
    gap = "n/a" if not np.isfinite(rep.gap) else f"{100 * rep.gap:.2f}%"
    print(f"\n{name}: {pb.shape[0]} staff, {pb.shape[1]} sites, {pb.shape[2]} days")
    print(f"  ours   : {rep.status.value} gap={gap} peak {r.peak_utilisation_before:.1%} -> "
          f"{r.peak_utilisation_after:.1%}, overload {r.overload_min_before:.0f} -> "
          f"{r.overload_min_after:.0f} min, {len(r.moves)} moves, {t_ours:.2f} s "
          f"(CPU {cpu_ours:.2f} s, load average before {load:.1f})")
    print(f"           today / pooled / planned: overload {r.today.overload_min:,.0f} / "
          f"{r.pooled.overload_min:,.0f} / {r.planned.overload_min:,.0f} min, peak "
          f"{r.today.peak_utilisation:.1%} / {r.pooled.peak_utilisation:.1%} / "
          f"{r.planned.peak_utilisation:.1%}")
    for s in r.stages:
        print(f"           {s.name}: {s.status.value} obj={s.objective:g} bound={s.best_bound:g} "
              f"{s.wall_time_s:.2f}s ({s.detail})")
    print(f"           assignment booleans: {r.settings.get('assignment_vars')}, "
          f"build {r.settings.get('build_s')} s")
    print(f"  naive  : peak {tab.utilisation.max():.1%}, overload {tab.overload_min.sum():.0f} min, "
          f"{moves_naive} moves, {t_naive:.3f} s")
    print(f"  time ratio ours/naive = {t_ours / max(t_naive, 1e-9):.0f}x")
    SPREAD.append((name, seed, rep.status.value, rep.gap, t_ours))
    return [f"| {name} | {pb.shape[0]} | {pb.shape[1]} | {rep.status.value} | {gap} | "
            f"{r.peak_utilisation_before:.1%} | {r.peak_utilisation_after:.1%} | "
            f"{tab.utilisation.max():.1%} | {r.overload_min_after:,.0f} | "
            f"{tab.overload_min.sum():,.0f} | {len(r.moves)} | {moves_naive} | {t_ours:.1f} | "
            f"{cpu_ours:.1f} | {t_naive:.2f} |"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="*", default=["demo", "hanoi"], choices=["demo", "hanoi"])
    ap.add_argument("--demo", type=Path, default=None, help="also run a scenario folder")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each instance with solver seeds SEED, SEED+1, ... and print the spread")
    a = ap.parse_args()
    rows = []
    for k in range(a.repeat):
        rows += _run_all(a, a.seed + k)
    print("\n| instance | staff | sites | status | gap | peak home | peak ours | peak naive | "
          "overload ours | overload naive | moves ours | moves naive | time ours s | CPU ours s | "
          "time naive s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if a.repeat > 1:
        print("\n| instance | runs | OPTIMAL | within 1 % of the bound | worst gap | wall s (min / median / max) |")
        print("|---|---|---|---|---|---|")
        for name in dict.fromkeys(r[0] for r in SPREAD):
            runs = [r for r in SPREAD if r[0] == name]
            walls = sorted(r[4] for r in runs)
            print(f"| {name} | {len(runs)} | {sum(r[2] == 'OPTIMAL' for r in runs)} | "
                  f"{sum(r[3] <= 0.01 for r in runs)} | {100 * max(r[3] for r in runs):.2f} % | "
                  f"{walls[0]:.1f} / {walls[len(walls) // 2]:.1f} / {walls[-1]:.1f} |")


def _run_all(a: argparse.Namespace, seed: int) -> list[str]:
    rows: list[str] = []
    if a.demo is not None:
        from geodata.scenario import load_scenario
        from motcua.staffing import StaffingOptions, build_problem, forecast_week, parse_week
        sc = load_scenario(a.demo)
        import pandas as pd
        last = pd.to_datetime(sc.workload["date"]).max().date()
        from datetime import timedelta
        week = parse_week(f"{(last + timedelta(days=7)).isocalendar()[0]}-W{(last + timedelta(days=7)).isocalendar()[1]:02d}")
        fc = forecast_week(sc, week, StaffingOptions(), None)
        pb, _, _ = build_problem(sc, fc)
        rows += run(f"scenario {a.demo}", pb, a.time_limit, a.threads, seed)
    if "demo" in a.sizes:
        rows += run("synthetic demo-size (seed 1)", synthetic(160, 13, 150, 6, 1), a.time_limit,
                    a.threads, seed)
    if "hanoi" in a.sizes:
        rows += run("synthetic Hanoi-scale (seed 2)", synthetic(1000, 30, 0, 6, 2), a.time_limit,
                    a.threads, seed)
    return rows


if __name__ == "__main__":
    main()
