"""``motcua staff``: plan next week's staff across branches and reception points."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from motcua.cli._common import (
    add_output_options,
    add_solver_options,
    load_scenario,
    solution_exit_code,
    solver_options,
)
from motcua.errors import InvalidInputError, UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "staff",
        help="weekly staff rebalancing: forecast, roster, moves and shortfalls",
        description="Forecast next week's dossiers, then move staff between sites so that no "
                    "site is overloaded (least overload, then lowest peak utilisation, then "
                    "fewest moves). Writes roster, site-day tables, moves and shortfalls as CSV "
                    "and Excel.",
    )
    p.add_argument("scenario", type=Path, help="scenario folder (holding scenario.toml)")
    p.add_argument("--week", default=None,
                   help="ISO week to plan, e.g. 2026-W48 (default: the week after the history)")
    p.add_argument("--max-moves", type=int, default=None,
                   help="weekly cap on moves (person-days away from home), shared over the "
                        "days by need, then what a day leaves to the neediest (default no cap)")
    p.add_argument("--max-travel", type=float, default=60.0,
                   help="longest one-way trip from home for a move, minutes (default 60)")
    p.add_argument("--keep-online-home", action="store_true",
                   help="process online dossiers at the site that received them "
                        "(default: pooled across all branches)")
    p.add_argument("--pool-outside-online", action="store_true",
                   help="also pool the online dossiers received at sites staffed outside the "
                        "model (reception points with no one in staff.csv); default: their "
                        "own officials process them")
    p.add_argument("--forecast", type=Path, default=None,
                   help="director's forecast CSV (site_id,date,field,channel,dossiers) "
                        "overriding the model's cells")
    p.add_argument("--write-forecast", type=Path, default=None,
                   help="write the forecast in that CSV format (edit it, pass it to --forecast); "
                        "an existing file is replaced only with --overwrite, never an input")
    add_solver_options(p, time_limit=None,
                       time_limit_help="solver wall-clock limit in seconds (default: fits the "
                                       "size, 0.025 s per person-day of the week, 30 to 600 s; "
                                       "printed)",
                       threads=2,
                       threads_help="days solved side by side, one solver each (default 2)")
    p.add_argument("--deterministic-time", type=float, default=None,
                   help="solve the days with CP-SAT on this budget of deterministic seconds "
                        "(whole run) instead of HiGHS: with --threads 1 the plan is then the "
                        "same on every run whatever the machine's load")
    p.add_argument("--lang", choices=("en", "vi"), default="en",
                   help="language of staffing.xlsx's sheets and headers (default en)")
    add_output_options(p, out="output folder", out_default="./staff-<week>", out_folder=True,
                       json="print the whole run as JSON")
    p.set_defaults(func=run)


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.1f}%"


def _num(v: float, decimals: int = 0) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:,.{decimals}f}"


def run(args: argparse.Namespace) -> int:
    from geodata._atomic import check_output_file, check_output_folder
    from geodata.scenario import number_format
    from motcua.staffing import (
        StaffingOptions,
        parse_week,
        run_staffing,
        write_forecast_csv,
    )

    if args.max_moves is not None and args.max_moves < 0:
        raise UsageError(f"--max-moves {args.max_moves}: expected a number >= 0")
    auto_limit = args.time_limit is None
    if auto_limit:  # checked as any value, then replaced by the size's default
        args.time_limit = 30.0
    time_limit, seed, threads = solver_options(args)
    # written so that nan and inf fail too (nan <= 0 is false)
    if args.deterministic_time is not None and not (
            math.isfinite(args.deterministic_time) and args.deterministic_time > 0):
        raise UsageError(f"--deterministic-time {args.deterministic_time}: expected seconds > 0")
    if not (math.isfinite(args.max_travel) and args.max_travel >= 0):
        raise UsageError(f"--max-travel {args.max_travel}: expected minutes >= 0")
    if args.week is not None:
        try:
            parse_week(args.week)
        except InvalidInputError as exc:
            raise UsageError(f"--week: {exc}") from None
    if args.forecast is not None and not args.forecast.is_file():
        raise UsageError(f"--forecast {args.forecast}: file not found")

    scenario = load_scenario(args.scenario)
    for warning in scenario.warnings:
        print(f"motcua staff: warning: {warning}", file=sys.stderr)
    protect = [args.scenario, scenario.folder, scenario.roads_path, args.forecast]
    if args.out is not None:  # refuse a bad --out before solving, not after
        check_output_folder(args.out, "staff", overwrite=args.overwrite, protect=protect)
    if args.write_forecast is not None:  # the director's edited forecast is not lost either
        check_output_file(args.write_forecast, "staff", overwrite=args.overwrite, protect=protect)
    options = StaffingOptions(pool_online=not args.keep_online_home,
                              max_travel_min=args.max_travel,
                              pool_outside_online=args.pool_outside_online)
    # input problems the service or the model finds are InvalidInputError, reported by
    # motcua.cli.main; any other error is a bug
    result = run_staffing(
        scenario, week=args.week, max_moves=args.max_moves, forecast_override=args.forecast,
        time_limit_s=None if auto_limit else time_limit, seed=seed, threads=threads,
        options=options,
        deterministic_time_s=args.deterministic_time, lang=args.lang,
    )
    out = args.out or Path(f"staff-{result.week}")
    result.save(out, overwrite=args.overwrite, protect=protect)
    if args.write_forecast is not None:
        write_forecast_csv(result.tables["forecast"], args.write_forecast,
                           number_format(scenario.settings), overwrite=args.overwrite,
                           protect=protect)

    if args.json:
        sys.stdout.write(result.to_json() + "\n")
        return solution_exit_code(result.report.status)
    m = result.metrics
    lines = [
        f"{result.scenario_name} - staffing plan for {result.week}",
        f"solver: {result.report.summary()}",
        f"time limit: {float(result.settings.get('time_limit_s') or 0):g} s"
        + (f" (the default for {result.settings.get('persons')} staff x "
           f"{result.settings.get('open_days')} days: 0.025 s per person-day, "
           f"30 to 600 s)" if result.settings.get("time_limit_default") else " (--time-limit)")
        + f"; engine: {result.settings.get('engine', 'cpsat')}",
    ]
    lines += [f"  stage {s.name}: {s.status.value} objective={s.objective:g} "
              f"bound={s.best_bound:g} ({s.detail})" for s in result.stages]
    lines += [
        f"forecast: {result.forecast_method}",
        f"travel times: {result.travel_source}",
        f"online work: {result.settings.get('online_handling', '')}",
        f"outside the model: {result.outside_summary()} (outside_model.csv)",
        "three plans: today (everyone at home, each site its own dossiers) | pooled (online "
        "work shared, no moves) | planned (pooled + moves)",
        f"  overload minutes:      {_num(m.overload_min_today)} | "
        f"{_num(m.overload_min_pooled)} | {_num(m.overload_min_after)}",
        f"  peak utilisation:      {_pct(m.peak_utilisation_today)} | "
        f"{_pct(m.peak_utilisation_pooled)} | "
        f"{_pct(m.peak_utilisation_after)}",
        f"  mean wait, min:        {_num(m.wait_mean_min_today, 1)} | "
        f"{_num(m.wait_mean_min_pooled, 1)} | {_num(m.wait_mean_min_after, 1)}",
        f"  queues that grow:      {_num(m.queues_unstable_today)} | "
        f"{_num(m.queues_unstable_pooled)} | {_num(m.queues_unstable_after)} "
        "(site-days with counters <= load: no finite wait, left out of the mean)",
        f"  counters short:        {_num(m.counters_short_today)} | "
        f"{_num(m.counters_short_pooled)} | {_num(m.counters_short_after)}",
        f"  fields no one qualified: {_num(m.skill_gaps_today)} | "
        f"{_num(m.skill_gaps_pooled)} | {_num(m.skill_gaps_after)}",
        "reproducible: " + ("yes (every solve proven, or ended on its deterministic budget)"
                            if m.reproducible else
                            "no: the wall-clock limit stopped a solve first"),
        f"moves: {m.moves:.0f} person-days away from home",
    ]
    unstaffed = []
    for when, key in (("today", "site_days_today"), ("pooled", "site_days_before"),
                      ("planned", "site_days_after")):
        t = result.tables.get(key)
        if t is None:
            continue
        t = t[t["unstaffed"].astype(str).str.lower() == "true"]
        unstaffed.append(f"{len(t)} ({t['demand_min'].astype(float).sum():,.0f} min) {when}")
    lines.insert(-1, "site-days with demand and no one there (all their demand is overload; "
                     "utilisation shown as if one person): " + " -> ".join(unstaffed))
    t = result.tables.get("site_days_after")
    if t is not None and {"counters", "counters_needed"} <= set(t.columns):
        capped = t[t["counters_needed"].astype(float) > t["counters"].astype(float)]
        if len(capped):
            lines.insert(-1, f"site-days where the site has fewer counters than Erlang C asks "
                             f"for (the building's limit: no roster shortens their queue): "
                             f"{len(capped)}")
    unplaced_b, unplaced_a = m.online_unplaced_min_before, m.online_unplaced_min_after
    if unplaced_b or unplaced_a:
        lines.insert(-1, f"online minutes no branch had anyone qualified for (at no site, "
                         f"not in the figures above): {unplaced_b:,.0f} -> {unplaced_a:,.0f}")
    for r in result.moves.head(25).itertuples():
        # the site names beside their ids (absent from runs saved before they were added)
        src = f"{r.from_site} ({getattr(r, 'from_site_name', '')})".replace(" ()", "")
        dst = f"{r.to_site} ({getattr(r, 'to_site_name', '')})".replace(" ()", "")
        lines.append(f"  {r.person_id} {r.name}: {r.weekday} {r.date} {src} -> "
                     f"{dst} ({r.travel_min} min): {r.reason}")
    if len(result.moves) > 25:
        lines.append(f"  ... {len(result.moves) - 25} more in moves.csv")
    sf = result.shortfalls
    lines.append(f"shortfalls (planned): {m.shortfall_minutes:,.0f} minutes and "
                 f"{m.counters_short_after:,.0f} counters, in {len(sf)} rows "
                 f"by site, day and field")
    for r in sf.head(15).itertuples():
        lines.append(f"  {r.site_id or '-'} {r.weekday} {r.date} {r.field}: "
                     f"{r.minutes_short:,.0f} min, {r.counters_short} counters: {r.detail}")
    if len(result.shortfalls) > 15:
        lines.append(f"  ... {len(result.shortfalls) - 15} more in shortfalls.csv")
    lines.append(f"written: {out}/ (roster.csv, roster_wide.csv, site_roster.csv, moves.csv, "
                 f"site_days_*.csv, "
                 f"shortfalls.csv, forecast.csv, outside_model.csv, staffing.xlsx, run.json)")
    if args.write_forecast is not None:
        lines.append(f"forecast written: {args.write_forecast}")
    sys.stdout.write("\n".join(lines) + "\n")
    return solution_exit_code(result.report.status)
