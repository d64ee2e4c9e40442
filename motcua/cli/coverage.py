"""``motcua coverage SCENARIO``: who is within the standard of the existing sites."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from geodata._json import dumps
from geodata.settings import MODES
from motcua.cli._common import add_output_options, load_scenario
from motcua.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "coverage",
        help="population within the standard (minutes / km) of the existing sites",
        description=(
            "Build the demand x site travel-time matrix on the scenario's road network "
            "(or straight line x circuity without one) and print how many residents are "
            "within the coverage standard of the existing sites (branch/reception, not "
            "closed), in total and per commune. --out writes the demand points with their "
            "nearest site and time (.geojson/.gpkg) or the matrices (.npz), atomically. "
            "An existing .geojson/.npz is replaced only if motcua coverage wrote it (else "
            "--overwrite is needed); in an existing GeoPackage only the layer named after "
            "the file is (re)written and every other layer is kept."
        ),
    )
    p.add_argument("scenario", help="scenario folder, e.g. scenarios/demo")
    p.add_argument("--mode", choices=MODES, help="travel mode (default: the scenario's)")
    p.add_argument("--minutes", type=float, help="max travel minutes (default: the scenario's)")
    p.add_argument("--km", type=float, help="max km (default: the scenario's)")
    p.add_argument("--rule", choices=("either", "both"),
                   help="covered within minutes OR km (either) or AND (both)")
    add_output_options(p, out="output file: .geojson, .gpkg or .npz (not inside the scenario "
                       "folder; see the description for existing files)",
                       cache_dir="cache folder (default ~/.cache/motcua)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing .geojson/.npz (or GeoPackage layer of that name) "
                        "that motcua coverage did not write")
    p.add_argument("--no-cache", action="store_true", help="rebuild, ignore the cache")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    for name in ("minutes", "km"):
        value = getattr(args, name)
        if value is not None and not (value > 0 and np.isfinite(value)):
            msg = f"--{name} must be a positive number, got {value}"
            raise UsageError(msg)
    if args.out is not None and args.out.suffix.lower() not in (".geojson", ".gpkg", ".npz"):
        msg = f"--out {args.out}: unsupported extension; expected .geojson, .gpkg or .npz"
        raise UsageError(msg)


def run(args: argparse.Namespace) -> int:
    from geodata._atomic import check_output_file
    from geodata.coverage import (
        coverage_for_scenario,
        covered_population,
        existing_site_mask,
        nearest_sites,
    )

    _check(args)
    scenario = load_scenario(args.scenario)
    protect = [args.scenario, scenario.folder, scenario.roads_path, args.cache_dir]
    if args.out is not None:  # refuse a bad --out before computing, not after
        check_output_file(args.out, "coverage", overwrite=args.overwrite, protect=protect,
                          is_own=_is_own(args.out))
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
    if std.km_measure == "straight":
        km_kind = "straight-line"
    elif sc.matrix.method == "straight-line":
        km_kind = "straight km x circuity, no road network"
    else:
        km_kind = "by road"
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
        _write(args.out, sc, nearest_sites(sc.matrix, mask), overwrite=args.overwrite,
               protect=protect)
        print(f"  wrote {args.out}")
    return 0


def _is_own(path: Path) -> Callable[[Path], bool]:
    """Whether an existing ``path`` may be replaced without ``--overwrite``.

    .geojson / .npz: motcua coverage wrote it (its tag). .gpkg: a GeoPackage
    without a layer named after the file, or whose layer of that name motcua
    coverage wrote (only that layer is rewritten; the others stay).
    """
    from geodata._atomic import geojson_is_own, gpkg_layer_is_own, gpkg_layers, npz_is_own

    suffix = path.suffix.lower()
    if suffix == ".npz":
        return lambda p: npz_is_own(p, "coverage")
    if suffix == ".gpkg":
        def own_layer(p: Path) -> bool:
            layers = gpkg_layers(p)
            return layers is not None and (p.stem not in layers or gpkg_layer_is_own(p, p.stem, "coverage"))
        return own_layer
    return lambda p: geojson_is_own(p, "coverage")


def _write(path: Path, sc: Any, near: Any, *, overwrite: bool = False,
           protect: Sequence[str | Path | None] = ()) -> None:
    from geodata._atomic import gpkg_layers, output_file, write_vector, written_by_tag

    tag = written_by_tag("coverage")
    suffix = path.suffix.lower()
    final = path.resolve()
    update = suffix == ".gpkg" and final.is_file() and gpkg_layers(final) is not None
    with output_file(path, "coverage", overwrite=overwrite, protect=protect,
                     is_own=_is_own(path), update=update) as tmp:
        if suffix == ".npz":
            _write_npz(tmp, sc, tag)
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
        if suffix == ".gpkg":
            # an existing GeoPackage was copied to tmp: this replaces (or adds) one layer only
            write_vector(out, tmp, layer=final.stem, driver="GPKG", layer_metadata={"written_by": tag})
        else:
            write_vector(out, tmp, layer=final.stem, driver="GeoJSON", DESCRIPTION=tag)


def _write_npz(path: Path, sc: Any, tag: str) -> None:
    m = sc.matrix
    arrays: dict[str, Any] = {
        "written_by": np.array(tag),
        "demand_ids": np.asarray(m.demand_ids, dtype=str),
        "site_ids": np.asarray(m.site_ids, dtype=str),
        "population": sc.demand["population"].to_numpy(dtype=float),
        "meta": np.array(dumps({
            "method": m.method, "label": m.label, "cutoff_minutes": m.cutoff_minutes,
            "max_minutes": m.standard.max_minutes, "max_km": m.standard.max_km,
            "rule": m.standard.rule, "km_measure": m.standard.km_measure,
            "layout": "CSR demand x site: <name>_data, <name>_indices, <name>_indptr",
        }, indent=None)),
    }
    for name in ("minutes", "km", "covered"):
        mat = getattr(m, name)
        arrays[f"{name}_data"] = mat.data
        arrays[f"{name}_indices"] = mat.indices
        arrays[f"{name}_indptr"] = mat.indptr
        arrays[f"{name}_shape"] = np.array(mat.shape)
    np.savez_compressed(path, **arrays)
