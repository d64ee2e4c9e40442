"""``motcua sweep --out DIR``: every province of Vietnam, one Dask task each.

    motcua sweep --provinces all --models coverage,lscp --workers 2 --out sweep-2026
    motcua sweep --scheduler tcp://10.0.0.5:8786 --provinces all --out sweep-2026

See ``docs/sweep.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from motcua.cli._common import (
    EXIT_INPUT,
    EXIT_OK,
    add_output_options,
    add_solver_options,
    solver_options,
)
from motcua.errors import UsageError

#: Where the shared data is looked for when neither --data nor $MOTCUA_SHARED_DATA is given.
DEFAULT_DATA = Path("../shared/data")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "sweep",
        help="every province at once on Dask: coverage today, points needed, N-point coverage",
        description=(
            "Build a scenario for each province from the 2025 commune boundaries (2019 census "
            "population by areal interpolation, commune headquarters as reception points, grid "
            "candidates, straight-line fallback unless --roads gives a road file) with the code "
            "of `motcua import`, and solve the --models for each, one province per Dask task: a "
            "LocalCluster of --workers processes on this machine, or the cluster at --scheduler. "
            "A task whose worker dies is retried; a province that fails is named with its reason "
            "and the others go on. Each province's folder is written as it arrives; running the "
            "same command again resumes: finished provinces are not recomputed."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--provinces", default="all", metavar="NAME,NAME|all",
                   help="provinces, with or without 'Tỉnh'/'Thành phố' (accents count), or 'all' "
                        "(default all)")
    p.add_argument("--models", default="coverage,lscp", metavar="coverage,lscp,mclp:N,...",
                   help="coverage: today's offices; lscp: fewest points reaching everyone, "
                        "existing offices kept; mclp:N: most residents N points can cover; "
                        "the planner's questions: keep (place --keep-existing), add:N "
                        "(place --add N), closure (place --model closure), closure-cap "
                        "(the same --capacitated); questions = keep,add:10,closure,closure-cap "
                        "(default coverage,lscp)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local cluster (default: the number of cores)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                        "(then --workers is ignored)")
    p.add_argument("--retries", type=int, default=2,
                   help="times a province is submitted again when its task is lost (its worker "
                        "died more often than the scheduler allows) (default 2)")
    add_solver_options(p, time_limit=60.0, time_limit_help="seconds per model and province "
                       "(default 60)", threads_help="solver threads per task (default 1)")
    d = p.add_argument_group("data (paths must be readable by every worker)")
    d.add_argument("--data", type=Path,
                   help="the shared data folder holding admin_2025/ and boundaries/ "
                        "(default $MOTCUA_SHARED_DATA or ../shared/data)")
    d.add_argument("--communes", help="2025 commune polygons with a province_name column "
                   "(default DATA/" + "admin_2025/vn_communes_2025_sapnhap_simplified.gpkg)")
    d.add_argument("--wards", help="2019 census wards with pop2019 "
                   "(default DATA/boundaries/vn_wards_gadm41_pop2019.gpkg)")
    d.add_argument("--sites", help="offices of the whole country: CSV with lon, lat (and id, "
                   "name, kind ...); default: each commune's representative point")
    d.add_argument("--roads", action="append", default=[], metavar="PROVINCE=FILE",
                   help="road file (.osm/.graphml) of one province; repeat for several; the "
                        "others use the straight-line fallback")
    d.add_argument("--cell-m", type=_cell_m, default=1000.0, metavar="METRES|auto",
                   help="side of the demand grid in metres, or 'auto': motcua import's default "
                        "rule for each province (about 10,000 cells) (default 1000)")
    d.add_argument("--candidate-cell-m", type=float, default=3000.0,
                   help="one candidate per square of this side in metres (default 3000)")
    p.add_argument("--list-provinces", action="store_true",
                   help="print the provinces with their number of communes and exit")
    p.add_argument("--no-dashboard", action="store_true", help="do not start the Dask dashboard")
    add_output_options(p, out="sweep folder (new, empty, or a sweep to resume)",
                       cache_dir="coverage cache folder of the workers")
    p.set_defaults(func=run)


def _cell_m(text: str) -> float | None:
    if text.strip().lower() == "auto":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected metres (e.g. 1000) or 'auto'") from None


def _data(args: argparse.Namespace) -> Any:
    from motcua.sweep import COMMUNES_2025, WARDS_2019, NationalData

    root = args.data or Path(os.environ.get("MOTCUA_SHARED_DATA", DEFAULT_DATA))
    communes = args.communes or str(root / COMMUNES_2025)
    wards = args.wards or str(root / WARDS_2019)
    for opt, path in (("--communes", communes), ("--wards", wards), ("--sites", args.sites)):
        if path is not None and not Path(path).exists():
            hint = "" if args.data or opt == "--sites" else " (set --data to the shared data folder)"
            raise UsageError(f"{opt} {path}: file not found{hint}")
    roads = []
    for item in args.roads:
        name, sep, file = item.partition("=")
        if not sep or not name.strip() or not file.strip():
            raise UsageError(f"--roads {item!r}: expected PROVINCE=FILE")
        if not Path(file).exists():
            raise UsageError(f"--roads {item!r}: file not found")
        roads.append((name.strip(), str(Path(file).resolve())))
    data = NationalData(communes=str(Path(communes).resolve()), wards=str(Path(wards).resolve()),
                        sites=str(Path(args.sites).resolve()) if args.sites else None)
    if roads:
        from motcua.sweep import resolve_provinces

        named = tuple((resolve_provinces(data, n)[0], f) for n, f in roads)
        data = NationalData(**{**data.__dict__, "roads": named})
    return data


def run(args: argparse.Namespace) -> int:
    from motcua.sweep import (
        SweepError,
        SweepSettings,
        check_root,
        dashboard_link,
        dask_client,
        list_provinces,
        parse_models,
        resolve_provinces,
        short_name,
    )

    try:
        data = _data(args)
        if args.list_provinces:
            for row in list_provinces(data).itertuples():
                print(f"{row.communes:5d}  {short_name(str(row.province)):<20} {row.slug}")
            return EXIT_OK
        if args.out is None:
            raise UsageError("--out DIR is required")
        time_limit, seed, threads = solver_options(args)
        settings = SweepSettings(models=parse_models(args.models), cell_m=args.cell_m,
                                 candidate_cell_m=args.candidate_cell_m, time_limit_s=time_limit,
                                 seed=seed, threads=threads)
        settings.check()
        provinces = resolve_provinces(data, args.provinces)
        if args.workers is not None and args.workers < 1:
            raise UsageError(f"--workers {args.workers}: expected >= 1")
        if args.retries < 0:
            raise UsageError(f"--retries {args.retries}: expected >= 0")
        check_root(args.out, settings.signature(data))  # before any cluster starts
        workers = args.workers or os.cpu_count() or 1
        if not args.debug:  # distributed logs every worker start and stop at INFO
            import distributed  # noqa: F401 - sets its loggers' levels when first imported

            logging.getLogger("distributed").setLevel(logging.ERROR)
        with dask_client(workers, args.scheduler, dashboard=not args.no_dashboard) as client:
            where = args.scheduler or f"local cluster, {workers} worker processes"
            print(f"sweep of {len(provinces)} provinces on {where}", file=sys.stderr)
            link = dashboard_link(client)
            print(f"Dask dashboard: {link}" if link else
                  "Dask dashboard: not served (pip install bokeh to see it)", file=sys.stderr)
            return _sweep(client, provinces, data, settings, args)
    except SweepError as exc:
        raise UsageError(str(exc)) from exc


def _sweep(client: Any, provinces: list[str], data: Any, settings: Any,
           args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from motcua.sweep import run_sweep

    bar: list[Any] = []

    def on_start(todo: int, skipped: int) -> None:
        if skipped:
            print(f"resuming: {skipped} province(s) already finished in {args.out}, "
                  f"{todo} to compute", file=sys.stderr)
        bar.append(tqdm(total=todo, unit="province", file=sys.stderr, dynamic_ncols=True))

    def on_row(row: dict[str, Any], state: str) -> None:
        if state == "skipped" or not bar:
            return
        if state == "failed":
            bar[0].write(f"FAILED {row['province']}: {row.get('error')}", file=sys.stderr)
        bar[0].set_postfix_str(str(row.get("name", "")))
        bar[0].update(1)

    try:
        result = run_sweep(client, provinces, data, settings, args.out, retries=args.retries,
                           cache_dir=args.cache_dir, on_row=on_row, on_start=on_start)
    finally:
        if bar:
            bar[0].close()
    table = result.table
    ok = table[table["error"].isna()]
    print(f"{len(ok)} of {len(table)} provinces finished "
          f"({len(result.computed)} computed now, {len(result.skipped)} already done) "
          f"in {result.wall_time_s:.0f} s; results in {args.out}/provinces.csv and provinces.gpkg")
    if len(ok):
        pop = float(ok["population"].sum())
        unc = float(ok["uncovered_existing"].sum())
        print(f"residents: {pop:,.0f}; beyond the standard of today's offices: {unc:,.0f} "
              f"({100 * unc / pop if pop else 0:.2f} %)")
        if "lscp_points" in ok and ok["lscp_points"].notna().any():
            print(f"points needed to reach everyone (existing kept): "
                  f"{ok['lscp_points'].sum():,.0f}, of which new {ok['lscp_new_points'].sum():,.0f}")
    failed = table[table["error"].notna()]
    for row in failed.itertuples():
        print(f"FAILED {row.province}: {row.error}", file=sys.stderr)
    return EXIT_INPUT if len(failed) else EXIT_OK
