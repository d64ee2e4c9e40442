"""``motcua validate SCENARIO``: check a scenario and print its summary or every error."""

from __future__ import annotations

import argparse
from dataclasses import replace

from geodata._errors import ScenarioError
from geodata._json import dumps
from motcua.cli._common import add_output_options, load_scenario


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "validate",
        help="check a scenario folder and print a summary, or every problem found",
        description=(
            "Load a scenario folder (scenario.toml and its data files), check every file and "
            "print a summary. The road file is read, prepared for the travel mode and set "
            "against the demand points and sites, as coverage, place and staff do. "
            "Exit 0 when it is valid, 1 with every problem listed otherwise."
        ),
    )
    p.add_argument("scenario", help="scenario folder, e.g. scenarios/demo")
    add_output_options(p, json="print the summary as JSON",
                       cache_dir="cache folder (default ~/.cache/motcua)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from geodata.roads import check_roads
    from geodata.summary import summarize_scenario

    scenario = load_scenario(args.scenario)  # its warnings are printed below
    problems, road_warnings = check_roads(scenario, cache_dir=args.cache_dir)
    if problems:
        raise ScenarioError(problems)
    s = summarize_scenario(scenario)
    s = replace(s, warnings=(*s.warnings, *road_warnings))
    if args.json:
        print(dumps(s.to_dict(), indent=2))
        return 0
    label = "  [SYNTHETIC DATA — dữ liệu tổng hợp]" if s.synthetic else ""
    print(f"Scenario: {s.name}{label}")
    print(f"  valid: yes ({args.scenario})")
    print(f"  population: {s.population:,.0f} in {s.demand_rows:,} demand rows "
          f"({s.demand_geometry}), {s.communes} communes")
    kinds = ", ".join(f"{v} {k}" for k, v in s.sites_by_kind.items())
    print(f"  sites: {kinds}; {s.sites_must_open} must open, {s.sites_closed} closed, "
          f"{s.counters} counters")
    print(f"  staff: {s.staff} ({s.staff_movable} movable)")
    if s.online_share is not None:
        print(f"  dossiers: {s.dossiers_per_week:,.0f} per week over {s.workload_weeks} weeks of data "
              f"({s.workload_days} days), {100 * s.online_share:.1f} % online")
    else:
        print("  dossiers: no workload history")
    print(f"  roads: {s.roads or 'none (straight-line distance x circuity)'}")
    for w in s.warnings:
        print(f"  warning: {w}")
    return 0
