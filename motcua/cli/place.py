"""``motcua place SCENARIO``: where to put reception points."""

from __future__ import annotations

import argparse
import math
import sys

from geodata._json import dumps
from geodata.settings import MODES
from motcua.cli._common import (
    add_output_options,
    add_solver_options,
    load_scenario,
    solution_exit_code,
    solver_options,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "place",
        help="place reception points: fewest points, best coverage, least travel",
        description=(
            "Choose which sites to open. lscp: the fewest points (least opening cost) so "
            "every reachable resident is within the standard; mclp: the most residents "
            "covered with --points N (or --budget B); pmedian: the least population-weighted "
            "travel time with N points; pcenter: the smallest worst-case travel time; closure: "
            "which existing offices can close while everyone covered today stays covered. "
            "--keep-existing keeps every existing office open (the model only adds points); "
            "--add N keeps them and chooses N new points. "
            "Must-open sites stay open, closed sites are excluded. Prints the solver status, "
            "best bound and gap: FEASIBLE means not proven optimal, and the answer in one "
            "sentence."
        ),
    )
    p.add_argument("scenario", help="scenario folder, e.g. scenarios/demo")
    p.add_argument("--model", choices=("lscp", "mclp", "pmedian", "pcenter", "closure"),
                   default="lscp")
    p.add_argument("--keep-existing", nargs="?", const="all", metavar="KIND",
                   choices=("all", "branches", "receptions"),
                   help="keep every existing branch and reception point open (or only "
                        "'branches' or 'receptions'); lscp then finds the fewest NEW points")
    p.add_argument("--add", type=int, metavar="N",
                   help="mclp, pmedian, pcenter: keep the existing offices and choose N new "
                        "points (instead of --points)")
    p.add_argument("--max-loss", type=float, metavar="PEOPLE",
                   help="closure: residents allowed to lose their coverage in total "
                        "(default 0: everyone covered today stays covered)")
    p.add_argument("--points", type=int, help="number of points N (must-open sites included)")
    p.add_argument("--budget", type=float, help="total opening cost for mclp instead of --points")
    p.add_argument("--minutes", type=float, help="max travel minutes (default: the scenario's)")
    p.add_argument("--km", type=float, help="max km (default: the scenario's)")
    p.add_argument("--mode", choices=MODES, help="travel mode (default: the scenario's)")
    p.add_argument("--capacitated", action="store_true",
                   help="respect capacity_per_day (in-person dossiers per day) of each site "
                        "(lscp, mclp, pmedian, closure)")
    p.add_argument("--single-assignment", action="store_true",
                   help="with --capacitated, send each demand point to one site only")
    p.add_argument("--keep-open", metavar="IDS", default="",
                   help="comma-separated site ids that must stay open in this run")
    p.add_argument("--close", metavar="IDS", default="",
                   help="comma-separated site ids that may not open in this run")
    p.add_argument("--overload-penalty", type=float, metavar="X",
                   help="with --capacitated, allow a point over its capacity at X per dossier "
                        "per day over it (opening-cost units for lscp, dossiers per day for "
                        "mclp, minutes for pmedian)")
    p.add_argument("--backup", action="store_true",
                   help="mclp: also cover the most residents by two or more points")
    p.add_argument("--lexicographic", action="store_true",
                   help="mclp with --points: the most residents covered, then the fewest "
                        "points keeping that coverage, then the least travel time")
    p.add_argument("--min-covered", type=float, metavar="PCT",
                   help="pmedian: at least PCT %% of the residents (or dossiers) within "
                        "the standard of an open point")
    p.add_argument("--pareto", type=int, metavar="P",
                   help="also print the covered share for 1..P points")
    p.add_argument("--in-person", action="store_true",
                   help="weigh demand by in-person dossiers per day instead of residents")
    add_solver_options(p, time_limit=60.0, time_limit_help="seconds (default 60)",
                       threads_help="solver threads (default 1)", engine=True)
    add_output_options(
        p, out="folder for GeoPackage, GeoJSON, CSV, an Excel workbook and result.json",
        out_folder=True,
        cache_dir="coverage cache folder", json="print result.json to stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from geodata._atomic import check_output_folder
    from motcua.placement import PlacementRequest, run_placement

    time_limit, seed, threads = solver_options(args)
    req = PlacementRequest(
        model=args.model, p=args.points, budget=args.budget,
        keep_existing=args.keep_existing, add=args.add, max_loss=args.max_loss, minutes=args.minutes, km=args.km,
        capacitated=args.capacitated, single_assignment=args.single_assignment,
        overload_penalty=args.overload_penalty,
        keep_open=_ids(args.keep_open), close=_ids(args.close),
        backup=args.backup, lexicographic=args.lexicographic,
        min_covered_pct=args.min_covered, pareto=args.pareto,
        weighting="in_person" if args.in_person else "population", mode=args.mode,
        time_limit_s=time_limit, seed=seed, threads=threads, engine=args.engine,
    )
    req.check()  # before the scenario loads: a bad option is named at once
    scenario = load_scenario(args.scenario)
    protect = [args.scenario, scenario.folder, scenario.roads_path, args.cache_dir]
    if args.out is not None:  # refuse a bad --out before solving, not after
        check_output_folder(args.out, "place", overwrite=args.overwrite, protect=protect)
    # input problems a model finds (e.g. fewer points than must-open sites) are
    # InvalidInputError, reported by motcua.cli.main; any other error is a bug
    result = run_placement(scenario, req, cache_dir=args.cache_dir)
    if args.out is not None:
        result.save(args.out, overwrite=args.overwrite, protect=protect)
    if args.json:
        sys.stdout.write(dumps(result.to_json_dict(), indent=2))
        print()
        return solution_exit_code(result.status)
    f = result.figures
    rep = result.report
    points = f.p if req.add is not None else req.p
    print(f"{scenario.name}: {req.model}" + (f" with {points} points" if points else "")
          + (f" ({req.add} added to the existing network)" if req.add else "")
          + (f", keeping the existing offices ({req.keep_existing})"
             if req.keep_existing and not req.add else ""))
    print(f"coverage: {result.coverage_label}")
    for line in result.coverage_warnings:
        print(f"  warning: {line}")
    print(f"status: {rep.status.value}  objective: {rep.objective:g}  best bound: "
          f"{rep.best_bound:g}  gap: {_pct(rep.gap)}  time: {rep.wall_time_s:.2f}s  "
          f"({rep.solver}, seed {rep.seed}, threads {rep.threads}, limit {rep.time_limit_s}s)")
    meaning = result.objective_meaning("en")
    if meaning and rep.status.has_solution:
        print(f"  {meaning}")
    if rep.status.value == "FEASIBLE":
        print("  not proven optimal: the answer may be improved by up to the gap")
    if rep.message:
        print(f"  note: {rep.message}")
    if rep.status.has_solution and f.explanation:
        print(f"answer: {f.explanation}")
    if rep.status.has_solution:
        print(f"open points: {f.open_points} (kept {f.kept_points}, new {f.new_points}, "
              f"closed {f.closed_points})")
        print(f"covered: {f.covered_population:,.0f} of {f.total_population:,.0f} residents "
              f"({100 * f.covered_share:.2f}%); uncovered {f.uncovered_population:,.0f}, "
              f"of whom {f.uncoverable_population:,.0f} no candidate can reach")
        if req.capacitated:
            near = f.near_open_population
            print("  covered = assigned to an open point within the standard and its capacity"
                  + (f"; {near - f.covered_population:,.0f} more live within the standard "
                     "of an open point that is full" if near is not None
                     and near - f.covered_population > 0.5 else ""))
        if f.mean_minutes is not None:
            print(f"travel: mean {f.mean_minutes:.1f} min, worst {f.worst_minutes:.1f} min"
                  + (" (of the people assigned)" if req.capacitated else ""))
        if req.capacitated or f.overloaded_points:
            over = f.overload_per_day or 0.0
            print(f"overloaded points: {f.overloaded_points}, max utilisation "
                  f"{_pct(f.max_utilisation)}"
                  + (f", {over:,.1f} in-person dossiers a day over capacity in all"
                     if req.capacitated and over > 0 else "")
                  + ("" if req.capacitated else
                     " (capacities were not modelled: --capacitated keeps every point within them)"))
        if req.backup:
            print(f"covered by two or more points: {f.double_covered_population:,.0f}")
        worst = list(f.uncovered_by_commune.items())[:5]
        if worst:
            out_of_reach = f.uncoverable_by_commune
            print("most uncovered: " + "; ".join(
                f"{k} {v:,.0f}" + (f" ({out_of_reach[k]:,.0f} out of reach)" if out_of_reach.get(k) else "")
                for k, v in worst))
    closures = f.closures
    if rep.status.has_solution and req.model == "closure" and closures:
        print("can close (largest savings first): saving, people served, mean and worst "
              "minutes before -> after")
        for r in closures[:10]:
            print(f"  {r['id']} {r['name']}: {r['saving']:g}, {r['served_population']:,.0f} "
                  f"people, mean {_min(r['mean_minutes_before'])} -> "
                  f"{_min(r['mean_minutes_after'])}, worst {_min(r['worst_minutes_before'])} "
                  f"-> {_min(r['worst_minutes_after'])}"
                  + (f", {r['lost_population']:,.0f} lose coverage" if r["lost_population"] else ""))
        if len(closures) > 10:
            print(f"  ... {len(closures) - 10} more (closures.csv with --out)")
    if result.pareto is not None:
        print("points  covered share  added people  status    gap")
        for row in result.pareto.itertuples():
            added = getattr(row, "added_population", float("nan"))
            added_text = f"{added:+13,.0f}" if math.isfinite(added) else f"{'':>13}"
            gap = getattr(row, "gap", float("nan"))
            print(f"{row.p:6d}  {100 * row.covered_share:12.2f}%  {added_text}  "
                  f"{row.status:<8}  {_pct(gap)}")
    if args.out is not None:
        print(f"saved to {args.out}")
    return solution_exit_code(rep.status)


def _ids(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _pct(x: float | None) -> str:
    if x is None or x != x or x in (float("inf"), float("-inf")):
        return "n/a"
    return f"{100 * x:.2f}%"


def _min(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}"
