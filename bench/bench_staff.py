"""Weekly staffing: ours vs a naive proportional heuristic vs a plain CP-SAT model.

All three run on the same seeded instance in one process, on the same limits:

* **ours**: ``solve_staff_allocation`` (day by day, each step a HiGHS MIP), its
  default time limit for the size unless ``--time-limit`` is given;
* **plain**: the same rules and offers as one CP-SAT model of the whole week
  (no decomposition), CP-SAT's default portfolio on ``--threads`` workers, the same
  lexicographic steps (skill gaps, overload, counter gaps, moves x M + travel),
  each step a quarter of the same time limit, each from the last step's plan;
* **naive**: proportional reallocation from the same home rotation (each day,
  movable people from the site furthest above its demand-proportional share to
  the reachable site furthest below it; ignores skills; online work spread over
  the pooled sites by staff).

The three rosters are scored by the same tables (overload, peak, moves); ours and
plain are routed by the same exact LP. One table: overload / peak / moves, status,
bound, gap, wall time, and the ratios ours vs naive and vs plain.

    python bench/bench_staff.py --sizes province            # 400 staff x 120 sites
    python bench/bench_staff.py --sizes hanoi --time-limit 60
    python bench/bench_staff.py --sizes big                 # 2,000 staff x 300 sites
    python bench/bench_staff.py --demo scenarios/demo --sizes
    python bench/bench_staff.py --scenario PATH --sizes     # e.g. bench/make_staff_instance.py's
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from ortools.sat.python import cp_model

from optimizer.staff_allocation import StaffProblem, home_plan, solve_staff_allocation
from optimizer.staff_allocation.model import build_day
from optimizer.staff_allocation.offers import day_offers
from optimizer.staff_allocation.pooled import route
from optimizer.staff_allocation.problem import travel_minutes, whole_minutes
from optimizer.staff_allocation.solve import _day_levels
from optimizer.staff_allocation.tables import figures

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
    """Proportional reallocation (see the module docstring): (plan, routed)."""
    minutes = whole_minutes(pb)
    plan = home_plan(pb, minutes)
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
        cap = staff * pb.pool_site * pb.site_open[:, d]
        if cap.sum() > 0:
            routed[:, d] = pb.pool_min[d].sum() * cap / cap.sum()
    return plan, routed


def plain_cpsat(pb: StaffProblem, time_limit: float, threads: int, seed: int,
                ) -> tuple[np.ndarray, str, float, float]:
    """The week as one CP-SAT model: (plan, status, gap, wall s)."""
    t0 = time.perf_counter()
    minutes = whole_minutes(pb)
    travel = travel_minutes(pb)
    plan0 = home_plan(pb, minutes)
    r_pool = route(pb, minutes, plan0)
    guard = max((_day_levels(minutes, plan0, r_pool.routed, d)[1] for d in range(len(pb.days))),
                default=0)
    m = cp_model.CpModel()
    dms = [build_day(pb, minutes, d, day_offers(pb, minutes, plan0, d), travel, None,
                     guard or None, m, f"d{d}_") for d in range(len(pb.days))]
    away = [v for dm in dms for (p, s), v in dm.x.items() if s != int(pb.home[p])]
    if pb.max_moves is not None:
        m.add(sum(away) <= pb.max_moves)
    for dm in dms:
        for (p, s), v in dm.x.items():
            m.add_hint(v, int(plan0[p, dm.d] == s))
    w = max(dm.travel_weight for dm in dms) * len(dms)
    steps = [sum(dm.gaps for dm in dms), sum(dm.over for dm in dms),
             sum(dm.counters for dm in dms),
             w * sum(dm.moves for dm in dms) + sum(dm.travel for dm in dms)]
    gaps: list[float] = []
    proven = True
    sol = None
    for expr in steps:
        m.minimize(expr)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = threads
        solver.parameters.random_seed = seed
        solver.parameters.max_time_in_seconds = max(0.1, time_limit / len(steps))
        st = solver.solve(m)
        if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            proven = False
            gaps.append(float("inf"))
            break
        value = round(solver.objective_value)
        bound = solver.best_objective_bound
        proven &= st == cp_model.OPTIMAL
        gaps.append(0.0 if st == cp_model.OPTIMAL else
                    (value - bound) / max(abs(value), 1e-9))
        sol = {v.index: solver.value(v) for dm in dms for v in dm.x.values()}
        m.clear_hints()
        for idx, val in sol.items():
            m.add_hint(m.get_bool_var_from_proto_index(idx), val)
        m.add(expr <= value)
    plan = plan0.copy()
    if sol is not None:
        for dm in dms:
            for (p, s), v in dm.x.items():
                if sol[v.index]:
                    plan[p, dm.d] = s
    status = "OPTIMAL" if proven else ("FEASIBLE" if sol is not None else "NO PLAN")
    return plan, status, max(gaps) if gaps else float("inf"), time.perf_counter() - t0


SPREAD: list[tuple[str, int, str, float, float]] = []  # instance, seed, status, gap, wall s


def _score(pb: StaffProblem, plan: np.ndarray, routed: np.ndarray | None = None,
           ) -> tuple[float, float, int]:
    """(overload min, peak, moves) of a roster, routed by the exact LP unless given."""
    minutes = whole_minutes(pb)
    if routed is None:
        r = route(pb, minutes, plan)
        routed, unplaced = r.routed, r.unplaced
    else:
        unplaced = np.zeros((len(pb.days), len(pb.fields)))
    f = figures("x", pb, plan, routed, unplaced, minutes)
    return f.overload_min, f.peak_utilisation, f.moves


def run(name: str, pb: StaffProblem, time_limit: float | None, threads: int, seed: int,
        peers: list[str]) -> list[str]:
    load = os.getloadavg()[0]  # other jobs on the machine (wall times depend on them)
    t0 = time.perf_counter()
    c0 = time.process_time()
    r = solve_staff_allocation(pb, time_limit_s=time_limit, seed=seed, threads=threads)
    t_ours = time.perf_counter() - t0
    cpu_ours = time.process_time() - c0  # all threads of this process
    limit = float(r.settings["time_limit_s"])
    rep = r.report
    gap = "n/a" if not np.isfinite(rep.gap) else f"{100 * rep.gap:.2f} %"
    print(f"\n{name}: {pb.shape[0]} staff, {pb.shape[1]} sites, {pb.shape[2]} days; "
          f"time limit {limit:g} s ({'default for the size' if time_limit is None else 'given'}),"
          f" {threads} threads, seed {seed}, load average before {load:.1f}")
    print(f"  ours   : {rep.status.value} gap {gap}, {t_ours:.1f} s (CPU {cpu_ours:.1f} s)")
    print(f"           today / pooled / planned: overload {r.today.overload_min:,.0f} / "
          f"{r.pooled.overload_min:,.0f} / {r.planned.overload_min:,.0f} min, peak "
          f"{r.today.peak_utilisation:.1%} / {r.pooled.peak_utilisation:.1%} / "
          f"{r.planned.peak_utilisation:.1%}, {r.planned.moves} moves")
    for s in r.stages:
        print(f"           {s.name}: {s.status.value} obj={s.objective:g} bound={s.best_bound:g} "
              f"({s.detail})")
    rows = [(f"ours ({r.settings.get('engine')})", rep.status.value, gap,
             r.planned.overload_min, r.planned.peak_utilisation, r.planned.moves, t_ours)]
    bound_txt = {s.name: f"{s.best_bound:g}" for s in r.stages}
    if "plain" in peers:
        plan, st, g, t = plain_cpsat(pb, limit, threads, seed)
        o, pk, mv = _score(pb, plan)
        rows.append(("plain CP-SAT (one week model)", st,
                     "n/a" if not np.isfinite(g) else f"{100 * g:.2f} %", o, pk, mv, t))
    if "naive" in peers:
        t0 = time.perf_counter()
        plan, routed = naive(pb)
        t = time.perf_counter() - t0
        o, pk, mv = _score(pb, plan, routed)
        rows.append(("naive proportional", "-", "-", o, pk, mv, t))
    ours_o, ours_mv, ours_t = rows[0][3], rows[0][5], rows[0][6]
    out = []
    for label, st, g, o, pk, mv, t in rows:
        ratio = "" if label.startswith("ours") else (
            f"overload {o:,.0f} vs {ours_o:,.0f} min, moves {mv / max(ours_mv, 1):.1f}x, "
            f"time {t / max(ours_t, 1e-9):.2f}x ours")
        print(f"  {label}: {st} gap {g}, overload {o:,.0f} min, peak {pk:.1%}, {mv} moves, "
              f"{t:.1f} s {ratio}")
        out.append(f"| {name} | {label} | {st} | {g} | {o:,.0f} | {pk:.1%} | {mv} | {t:.1f} | "
                   f"{ratio or 'bounds: overload ' + bound_txt['overload_min'] + ', moves ' + bound_txt['moves']} |")
    SPREAD.append((name, seed, rep.status.value, rep.gap, t_ours))
    return out


SIZES = {
    "demo": ("synthetic demo-size (seed 1)", (160, 13, 150, 6, 1)),
    "province": ("synthetic province, 400 staff x 120 sites (seed 3)", (400, 20, 100, 6, 3)),
    "hanoi": ("synthetic Hanoi-scale, 1,000 staff x 30 branches (seed 2)", (1000, 30, 0, 6, 2)),
    "big": ("synthetic 2,000 staff x 300 sites (seed 4)", (2000, 50, 250, 6, 4)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="*", default=["province", "hanoi"], choices=list(SIZES))
    ap.add_argument("--demo", "--scenario", dest="scenarios", type=Path, action="append",
                    default=[], help="also run a scenario folder (repeatable)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds, for all three (default: ours's default for the size)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peers", nargs="*", default=["plain", "naive"], choices=["plain", "naive"])
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each instance with solver seeds SEED, SEED+1, ... and print the spread")
    a = ap.parse_args()
    rows = []
    for k in range(a.repeat):
        rows += _run_all(a, a.seed + k)
    print("\n| instance | method | status | gap | overload min | peak | moves | wall s | "
          "vs ours (or ours's bounds) |")
    print("|---|---|---|---|---|---|---|---|---|")
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


def scenario_problem(folder: Path) -> StaffProblem:
    """The problem ``motcua staff FOLDER`` solves (the week after the history)."""
    from geodata.scenario import load_scenario
    from motcua.staffing import StaffingOptions, build_problem, forecast_week, parse_week

    sc = load_scenario(folder)
    import pandas as pd

    last = pd.to_datetime(sc.workload["date"]).max().date()
    from datetime import timedelta

    monday = last + timedelta(days=7 - last.weekday())
    iso = monday.isocalendar()
    fc = forecast_week(sc, parse_week(f"{iso[0]}-W{iso[1]:02d}"), StaffingOptions(), None)
    pb, _, _ = build_problem(sc, fc)
    return pb


def _run_all(a: argparse.Namespace, seed: int) -> list[str]:
    rows: list[str] = []
    for folder in a.scenarios:
        rows += run(f"scenario {folder}", scenario_problem(folder), a.time_limit, a.threads,
                    seed, a.peers)
    for key in a.sizes:
        name, args = SIZES[key]
        rows += run(name, synthetic(*args), a.time_limit, a.threads, seed, a.peers)
    return rows


if __name__ == "__main__":
    main()
