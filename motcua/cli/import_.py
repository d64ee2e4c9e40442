"""``motcua import``: build a scenario for a real place from roads, boundaries and population.

Online::

    motcua import --place "Đầm Hà, Quảng Ninh, Vietnam" --population-raster vnm_ppp_2020.tif \\
        --name "Đầm Hà" --out scenarios-local/dam-ha

Offline, from local files::

    motcua import --roads hanoi_center.osm \\
        --boundaries vn_wards_gadm41_pop2019.gpkg --layer wards --filter NAME_2=HoànKiếm \\
        --population-column pop2019 --name "Hoàn Kiếm" --out scenarios-local/hoan-kiem

See ``docs/import.md``.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from geodata._errors import ScenarioWarning
from motcua.cli._common import add_output_options
from motcua.errors import UsageError

#: ``--grid-sensitivity`` warns when the existing sites' coverage at half or double the
#: cell differs from the chosen grid's by more than this many percentage points.
SENSITIVITY_WARN_POINTS = 1.0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "import",
        help="build a scenario for a real place from roads, boundaries and population",
        description=(
            "Turn commune boundaries with population (a column, a joined CSV table or a "
            "population raster), an optional road network (.osm/.graphml file, or downloaded "
            "with osmnx for --place) and optional existing offices into a validated scenario "
            "folder. Polygon populations are spread over a grid, conserving every commune's "
            "total to the person. Without roads the scenario uses the straight-line fallback "
            "and says so in its description and in every result."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("where the place comes from")
    src.add_argument("--place", help='place name osmnx geocodes, e.g. "Đầm Hà, Quảng Ninh, Vietnam" '
                     "(online: downloads roads, and commune boundaries if --boundaries is not given)")
    src.add_argument("--roads", type=Path, help="road network file: .osm (OpenStreetMap XML) or "
                     ".graphml (osmnx); omit for the straight-line fallback")
    add_output_options(src, cache_dir="cache of downloads and road graphs "
                       "(default $MOTCUA_CACHE or ~/.cache/motcua)")

    b = p.add_argument_group("boundaries and population")
    b.add_argument("--boundaries", help="commune polygons: GeoJSON, GeoPackage, shapefile, or "
                   "zipped GeoJSON (zip://file.zip!inner.geojson)")
    b.add_argument("--layer", help="layer of a GeoPackage with several layers")
    b.add_argument("--filter", action="append", default=[], metavar="COL=VALUE",
                   help="keep features whose COL equals VALUE (case, spaces and Unicode form "
                   "ignored); repeat for several columns (all must match) or several values "
                   "of one column (any may match)")
    b.add_argument("--population-column", help="column holding residents (in the boundaries, "
                   "or in --population-table)")
    b.add_argument("--population-table", type=Path, help="CSV holding --population-column, "
                   "joined to the boundaries on --join-column")
    b.add_argument("--join-column", help="code column of the boundaries to join the table on "
                   "(e.g. ward_code)")
    b.add_argument("--table-join-column", help="code column of the table (default: same name)")
    b.add_argument("--population-raster", type=Path, help="GeoTIFF of people per cell "
                   "(e.g. WorldPop), summed per commune when no --population-column; it also "
                   "weights where people live inside each commune (--weight)")
    b.add_argument("--id-column", help="column of unique commune ids (default: GID_3, ward_code, "
                   "code, ... whichever exists)")
    b.add_argument("--name-column", help="column of commune names (default: NAME_3, ward_name, "
                   "name, ...)")
    b.add_argument("--commune-code-column", help="column of commune codes (default: the id)")

    f = p.add_argument_group("where people live (finer units, terrain)")
    f.add_argument("--finer-units", help="finer population units inside the communes, e.g. the "
                   "2019 census wards (vn_wards_gadm41_pop2019.gpkg): without "
                   "--population-column they give each commune its population by areal "
                   "interpolation; in any case demand is spread over ward x commune pieces")
    f.add_argument("--finer-units-layer", help="layer of --finer-units (e.g. wards)")
    f.add_argument("--finer-units-population-column", default="pop2019",
                   help="residents column of --finer-units (pop2019)")
    f.add_argument("--settlements", type=Path, help="settlement points (villages, hamlets) in "
                   "a vector file with a CRS: people inside each commune are spread by the "
                   "settlements in each cell (--weight)")
    f.add_argument("--settlements-layer", help="layer of --settlements")
    f.add_argument("--settlements-population-column", help="people of each settlement "
                   "(default: every settlement weighs 1)")
    f.add_argument("--elevation-raster", type=Path, help="DEM GeoTIFF: non-urban demand points "
                   "at or above 300 m are in the mountain travel zone (default: units sparser "
                   "than 100 residents/km2)")

    d = p.add_argument_group("demand grid")
    d.add_argument("--cell-m", type=float, default=None,
                   help="grid cell side in metres (default: from the area and population, "
                        "about 10,000 cells and at least 100 persons a cell, 250-2,000 m; "
                        "see docs/import.md)")
    d.add_argument("--weight", choices=("auto", "settlements", "raster", "roads", "uniform"),
                   default="auto",
                   help="spread people by the settlements in each cell, the raster's people in "
                   "it, road length in it, or area; a commune where the choice holds nobody "
                   "falls back in that order; auto = the first given (default)")

    s = p.add_argument_group("sites")
    s.add_argument("--sites", type=Path, help="existing offices: CSV with lon/lat or a vector file "
                   "of points (default: one reception point per commune at its representative "
                   "point)")
    s.add_argument("--sites-layer", help="layer of a GeoPackage of sites")
    s.add_argument("--sites-lon-column", default="lon", help="longitude column (lon)")
    s.add_argument("--sites-lat-column", default="lat", help="latitude column (lat)")
    s.add_argument("--sites-id-column", help="id column (default: id, else generated)")
    s.add_argument("--sites-name-column", help="name column (default: name, else the id)")
    s.add_argument("--sites-kind", choices=("branch", "reception", "candidate"),
                   help="kind of every site (default: the file's kind column, else reception)")
    s.add_argument("--candidates", choices=("none", "grid", "osm"), default="none",
                   help="add candidate sites: grid = the most populated demand point of each "
                   "--candidate-cell-m square; osm = post offices and town halls (with --place)")
    s.add_argument("--candidate-cell-m", type=float, default=2000.0,
                   help="square size for grid candidates in metres (2000)")

    o = p.add_argument_group("other files and output")
    o.add_argument("--staff", type=Path, help="staff.csv to include (validated against the sites)")
    o.add_argument("--workload", type=Path, help="workload.csv to include")
    o.add_argument("--decimal", choices=(".", ","),
                   help="decimal point of the numbers in the CSV files and text attributes "
                        "(default: not declared; 2,000 or 2.000 in a count is then refused "
                        "as ambiguous)")
    o.add_argument("--thousands", choices=(",", ".", " ", ""),
                   help="thousands separator of those numbers (' ' also stands for no-break "
                        "and thin spaces; '' for none); the scenario declares both in [files]")
    o.add_argument("--crs", help="metric CRS, e.g. EPSG:32648 (default: the UTM zone of the data)")
    o.add_argument("--name", required=True, help="scenario name")
    o.add_argument("--description", default="", help="text put before the generated description")
    add_output_options(o, out="scenario folder to write", out_required=True, out_folder=True)
    o.add_argument("--coverage", action=argparse.BooleanOptionalAction, default=True,
                   help="after importing, report the share of residents the existing sites "
                   "cover (default on)")
    o.add_argument("--grid-sensitivity", action="store_true",
                   help="also import at half and double the grid cell (in a temporary folder) "
                        "and report how the existing sites' coverage changes; warns when it "
                        f"moves by more than {SENSITIVITY_WARN_POINTS:g} percentage points "
                        "(costs two more imports)")
    p.set_defaults(func=run)


def _filters(values: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for text in values:
        column, sep, value = text.partition("=")
        if not sep or not column.strip() or not value.strip():
            msg = f"--filter {text!r}: expected COL=VALUE, e.g. NAME_2=HoànKiếm"
            raise UsageError(msg)
        out.append((column.strip(), value.strip()))
    return tuple(out)


def build_request(args: argparse.Namespace) -> object:
    """The :class:`geodata.importer.ImportRequest` of the parsed options."""
    from geodata.importer import BoundarySource, ImportRequest, SettlementSource, SiteSource

    if args.boundaries is None and args.place is None:
        msg = "give --boundaries FILE (with --population-column or --population-raster) or --place NAME"
        raise UsageError(msg)
    if args.population_table is not None and args.join_column is None:
        msg = "--population-table needs --join-column (the code column shared with the boundaries)"
        raise UsageError(msg)
    if (args.boundaries is not None and args.population_column is None
            and args.population_raster is None and args.finer_units is None):
        msg = ("give --population-column COL (or --population-raster FILE.tif, or --finer-units "
               "FILE) for the boundaries")
        raise UsageError(msg)
    if args.candidates == "osm" and args.place is None:
        msg = "--candidates osm downloads post offices and town halls: it needs --place"
        raise UsageError(msg)
    for name in ("roads", "population_table", "population_raster", "sites", "staff", "workload",
                 "elevation_raster", "settlements"):
        path = getattr(args, name)
        if path is not None and not path.exists():
            msg = f"--{name.replace('_', '-')} {path}: file not found"
            raise UsageError(msg)
    from geodata._numbers import NumberFormat

    if args.decimal is not None and args.decimal == args.thousands:
        msg = f"--decimal and --thousands must differ, both are {args.decimal!r}"
        raise UsageError(msg)
    fmt = NumberFormat(args.decimal, args.thousands, declared_by="options")
    boundaries = None
    if args.boundaries is not None:
        boundaries = BoundarySource(
            path=args.boundaries, layer=args.layer, filters=_filters(args.filter),
            population_column=args.population_column, id_column=args.id_column,
            name_column=args.name_column, commune_code_column=args.commune_code_column,
            population_table=args.population_table, join_column=args.join_column,
            table_join_column=args.table_join_column, number_format=fmt,
        )
    elif args.filter:
        msg = "--filter applies to --boundaries, which was not given"
        raise UsageError(msg)
    sites = None
    if args.sites is not None:
        sites = SiteSource(path=args.sites, layer=args.sites_layer,
                           lon_column=args.sites_lon_column, lat_column=args.sites_lat_column,
                           id_column=args.sites_id_column, name_column=args.sites_name_column,
                           kind=args.sites_kind, number_format=fmt)
    finer = None
    if args.finer_units is not None:
        from geodata.finer import FinerUnits

        inner = str(args.finer_units).removeprefix("zip://").split("!")[0]
        if not Path(inner).exists():
            msg = f"--finer-units {args.finer_units}: file not found"
            raise UsageError(msg)
        finer = FinerUnits(path=str(args.finer_units), layer=args.finer_units_layer,
                           population_column=args.finer_units_population_column)
    settlements = None
    if args.settlements is not None:
        settlements = SettlementSource(path=args.settlements, layer=args.settlements_layer,
                                       population_column=args.settlements_population_column)
    elif args.settlements_layer or args.settlements_population_column:
        msg = "--settlements-layer/--settlements-population-column need --settlements FILE"
        raise UsageError(msg)
    return ImportRequest(
        name=args.name, boundaries=boundaries, place=args.place, roads=args.roads,
        population_raster=args.population_raster, sites=sites, candidates=args.candidates,
        candidate_cell_m=args.candidate_cell_m, staff=args.staff, workload=args.workload,
        number_format=fmt,
        cell_m=args.cell_m, weight=args.weight, crs=args.crs, cache_dir=args.cache_dir,
        description=args.description, finer_units=finer, elevation_raster=args.elevation_raster,
        settlements=settlements,
    )


def run(args: argparse.Namespace) -> int:
    from geodata.importer import ImportRequest, import_scenario

    request = build_request(args)
    assert isinstance(request, ImportRequest)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        result = import_scenario(request, args.out, overwrite=args.overwrite)
    sc = result.scenario
    kinds = sc.sites["kind"].value_counts()
    print(f"Scenario: {sc.name}  ->  {result.folder}")
    print(f"  communes: {len(result.communes):,}; residents: {result.population_total:,} "
          f"(demand rows sum to {sc.demand['population'].sum():,.0f})")
    cell_m = result.provenance["demand"]["cell_m"]
    rule = result.provenance.get("cell_m_rule")
    print(f"  demand: {len(sc.demand):,} grid points ({cell_m:g} m cells"
          + (f", chosen for {rule['area_km2']:,.0f} km2 and {rule['persons']:,} persons; "
             "--cell-m to change" if rule else "")
          + f", {result.provenance['demand']['weight']} weighting)")
    fell_back = {w: n for w, n in result.provenance["demand"].get("weight_used", {}).items()
                 if n and w != result.provenance["demand"]["weight"]}
    if fell_back:
        print("  fell back for units where it holds nobody: "
              + ", ".join(f"{n:,} by {w}" for w, n in fell_back.items()))
    finer = result.provenance.get("finer_units")
    if finer:
        print(f"  people where they live: {finer['units_read']:,} finer units of "
              f"{Path(finer['file'].split('!')[-1]).name} cut into {finer['pieces']:,} pieces; "
              f"{finer['persons_in_other_communes'] + finer['persons_outside_communes']:,} of "
              "their residents live outside these communes")
    zones = result.provenance.get("zones") or {}
    if zones:
        print("  travel zones of the demand points: "
              + ", ".join(f"{k.replace('_', '-')} {v:,}" for k, v in zones.items()))
    if result.calibration is not None:
        print(f"  [demand] calibrated: {result.calibration.summary()}")
    else:
        d = sc.settings.demand
        print(f"  [demand] defaults: {d.dossiers_per_1000_per_year:g} dossiers per 1,000 residents "
              f"a year, {100 * d.in_person_share:.1f} % in person (no --workload to calibrate from)")
    print("  sites: " + ", ".join(f"{v} {k}" for k, v in kinds.items()))
    print(f"  CRS: {sc.settings.crs}")
    if result.straight_line_fallback:
        how = ("speed and circuity by travel zone" if (sc.demand["zone"] != "").any()
               else f"circuity {sc.settings.travel.circuity:g}")
        print(f"  roads: NONE - straight-line fallback (straight km x {how}); "
              "every result is labelled so")
    else:
        print(f"  roads: {result.provenance.get('roads')}")
    for w in caught:
        print(f"  warning: {w.message}")
    if args.coverage or args.grid_sensitivity:
        share = _report_coverage(sc, args.cache_dir)
        if args.grid_sensitivity:
            _report_sensitivity(request, float(result.provenance["demand"]["cell_m"]), share,
                                args.cache_dir)
    return 0


def _report_sensitivity(request: object, cell_m: float, share: float,
                        cache_dir: Path | None) -> None:
    """The existing sites' coverage with the grid at half and double ``cell_m``."""
    import tempfile
    from dataclasses import replace

    from geodata.coverage import coverage_for_scenario
    from geodata.importer import ImportRequest, existing_site_coverage, import_scenario

    assert isinstance(request, ImportRequest)
    parts = []
    worst = 0.0
    for factor in (0.5, 2.0):
        cell = cell_m * factor
        with tempfile.TemporaryDirectory(prefix="motcua-grid-") as tmp, \
                warnings.catch_warnings():
            warnings.simplefilter("ignore", ScenarioWarning)
            other = import_scenario(replace(request, cell_m=cell), Path(tmp) / "s")
            cov = existing_site_coverage(coverage_for_scenario(other.scenario,
                                                               cache_dir=cache_dir))
        diff = 100 * (cov.share - share)
        worst = max(worst, abs(diff))
        parts.append(f"{cell:g} m ({len(other.scenario.demand):,} points): "
                     f"{100 * cov.share:.1f} % ({diff:+.1f} points)")
    print(f"  grid sensitivity of that coverage: {'; '.join(parts)}")
    if worst > SENSITIVITY_WARN_POINTS:
        print(f"  warning: the coverage moves by up to {worst:.1f} percentage points with the "
              "grid cell; read the figures with that margin, or choose --cell-m deliberately")


def _report_coverage(scenario: object, cache_dir: Path | None) -> float:
    """Share of residents within the standard of an existing (non-candidate) site."""
    from geodata.coverage import coverage_for_scenario
    from geodata.importer import existing_site_coverage
    from geodata.scenario import Scenario

    assert isinstance(scenario, Scenario)
    cov = coverage_for_scenario(scenario, cache_dir=cache_dir)
    share = existing_site_coverage(cov)
    std = scenario.settings.coverage
    rule = "or" if std.rule == "either" else "and"
    print(f"  coverage by existing sites: {100 * share.share:.1f} % of residents "
          f"({share.covered:,.0f} of {share.total:,.0f}) within {std.max_minutes:g} min "
          f"{rule} {std.max_km:g} km; method: {share.label}")
    return share.share
