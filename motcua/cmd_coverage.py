"""``motcua coverage SCENARIO``: who is within the standard of the existing sites."""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from geodata._errors import ScenarioWarning
from geodata.settings import MODES


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "coverage",
        help="population within the standard (minutes / km) of the existing sites",
        description=(
            "Build the demand x site travel-time matrix on the scenario's road network "
            "(or straight line x circuity without one) and print how many residents are "
            "within the coverage standard of the existing sites (branch/reception, not "
            "closed), in total and per commune. --out writes the demand points with their "
            "nearest site and time (.geojson/.gpkg) or the matrices (.npz)."
        ),
    )
    p.add_argument("scenario", help="scenario folder, e.g. scenarios/demo")
    p.add_argument("--mode", choices=MODES, help="travel mode (default: the scenario's)")
    p.add_argument("--minutes", type=float, help="max travel minutes (default: the scenario's)")
    p.add_argument("--km", type=float, help="max km (default: the scenario's)")
    p.add_argument("--rule", choices=("either", "both"),
                   help="covered within minutes OR km (either) or AND (both)")
    p.add_argument("--out", type=Path, help="output file: .geojson, .gpkg or .npz")
    p.add_argument("--cache-dir", type=Path, help="cache folder (default ~/.cache/motcua)")
    p.add_argument("--no-cache", action="store_true", help="rebuild, ignore the cache")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    from motcua.cli import UsageError

    for name in ("minutes", "km"):
        value = getattr(args, name)
        if value is not None and not (value > 0 and np.isfinite(value)):
            msg = f"--{name} must be a positive number, got {value}"
            raise UsageError(msg)
    if args.out is not None and args.out.suffix.lower() not in (".geojson", ".gpkg", ".npz"):
        msg = f"--out {args.out}: unsupported extension; expected .geojson, .gpkg or .npz"
        raise UsageError(msg)


def run(args: argparse.Namespace) -> int:
    from geodata.coverage import (
        coverage_for_scenario,
        covered_population,
        existing_site_mask,
        nearest_sites,
    )
    from geodata.scenario import load_scenario

    _check(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        scenario = load_scenario(args.scenario)
    std = scenario.settings.coverage
    changes: dict[str, Any] = {}
    if args.minutes is not None:
        changes["max_minutes"] = args.minutes
    if args.km is not None:
        changes["max_km"] = args.km
    if args.rule is not None:
        changes["rule"] = args.rule
    std = replace(std, **changes)
    sc = coverage_for_scenario(scenario, mode=args.mode, standard=std,
                               cache_dir=args.cache_dir, use_cache=not args.no_cache)
    mask = existing_site_mask(sc.sites)
    table = covered_population(sc, mask)
    synthetic = "  [SYNTHETIC DATA — dữ liệu tổng hợp]" if scenario.settings.synthetic else ""
    rule = "or" if std.rule == "either" else "and"
    km_kind = "by road" if std.km_measure == "network" else "straight-line"
    print(f"Coverage: {scenario.name}{synthetic}")
    print(f"  standard: within {std.max_minutes:g} min {rule} {std.max_km:g} km ({km_kind})")
    print(f"  method: {sc.matrix.label}")
    for line in sc.report.warnings:
        print(f"  warning: {line}")
    print(f"  existing sites: {int(mask.sum())} of {len(mask)} (branch/reception, not closed)")
    total = table.iloc[-1]
    print(f"  population covered: {total['covered']:,.0f} of {total['population']:,.0f} "
          f"({100 * total['share']:.1f} %)")
    print("  per commune:")
    width = max([len(str(n)) for n in table["commune_name"]] + [6])
    for _, row in table.iloc[:-1].iterrows():
        print(f"    {row['commune_code']:>8} {row['commune_name']:<{width}} "
              f"{row['covered']:>12,.0f} / {row['population']:>12,.0f}  "
              f"{100 * row['share']:5.1f} %")
    for line in sc.report.summary_lines()[1:]:
        print(f"  note: {line}")
    if sc.report.from_cache:
        print("  (read from cache; --no-cache rebuilds)")
    if args.out is not None:
        _write(args.out, sc, nearest_sites(sc.matrix, mask))
        print(f"  wrote {args.out}")
    return 0


def _write(path: Path, sc: Any, near: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".npz":
        m = sc.matrix
        arrays: dict[str, Any] = {
            "demand_ids": np.asarray(m.demand_ids, dtype=str),
            "site_ids": np.asarray(m.site_ids, dtype=str),
            "population": sc.demand["population"].to_numpy(dtype=float),
            "meta": np.array(json.dumps({
                "method": m.method, "label": m.label, "cutoff_minutes": m.cutoff_minutes,
                "max_minutes": m.standard.max_minutes, "max_km": m.standard.max_km,
                "rule": m.standard.rule, "km_measure": m.standard.km_measure,
                "layout": "CSR demand x site: <name>_data, <name>_indices, <name>_indptr",
            }, ensure_ascii=False)),
        }
        for name in ("minutes", "km", "covered"):
            mat = getattr(m, name)
            arrays[f"{name}_data"] = mat.data
            arrays[f"{name}_indices"] = mat.indices
            arrays[f"{name}_indptr"] = mat.indptr
            arrays[f"{name}_shape"] = np.array(mat.shape)
        np.savez_compressed(path, **arrays)
        return
    out = sc.demand.copy()
    out["nearest_site_id"] = near["nearest_site_id"].to_numpy()
    minutes = near["minutes"].to_numpy(dtype=float)
    km = near["km"].to_numpy(dtype=float)
    # GeoJSON has no infinity: "no site within the cutoff" is an empty value
    out["minutes"] = np.where(np.isfinite(minutes), minutes, np.nan)
    out["km"] = np.where(np.isfinite(km), km, np.nan)
    out["covered"] = near["covered"].to_numpy()
    out["method"] = sc.matrix.label
    keep = [c for c in out.columns if c != "geometry"] + ["geometry"]
    out = out[keep]
    if path.exists():
        path.unlink()
    out.to_file(path, driver="GPKG" if path.suffix.lower() == ".gpkg" else "GeoJSON")
