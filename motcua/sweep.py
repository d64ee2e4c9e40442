"""Every province at once: one independent scenario and solve per province, on Dask.

A national sweep asks the same questions of every province: who is beyond the
coverage standard (30 minutes or 5 km) of a reception point today, how many
points the province needs to reach everyone with its existing offices kept,
and how much N points could cover.  Each province is one task:

1. :func:`build_province` turns the province's 2025 communes into a scenario
   with :func:`geodata.importer.import_scenario` (the code of ``motcua
   import``): population from the 2019 census wards by areal interpolation,
   commune headquarters (representative points, or an office file) as the
   existing reception points, grid candidates, the straight-line fallback or a
   road file;
2. :func:`solve_province` runs each model of the sweep with
   :func:`motcua.placement.run_placement` and returns one row of figures and the
   province's whole result folder (scenario + each model's saved run) as a zip;
3. :func:`run_sweep` submits the tasks to a ``dask.distributed`` client (a
   ``LocalCluster`` of processes by default, any cluster by its address),
   retries a task whose worker died, writes each province's folder atomically
   as it arrives, and resumes: a province whose folder is complete is not
   recomputed.

Workers only compute; the client alone writes ``--out``, so a cluster needs
the input files at the same paths on every worker but no shared output disk.

Output folder::

    OUT/sweep.json                 settings of the sweep (a resume must match them)
    OUT/provinces.csv              one row per province (failures with their reason)
    OUT/provinces.gpkg             the same rows with the province outline (layer provinces)
    OUT/failures.json              provinces that failed, by slug (until they succeed)
    OUT/provinces/<slug>/row.json  the province's row
    OUT/provinces/<slug>/scenario/ the imported scenario
    OUT/provinces/<slug>/runs/<model>/  each model's saved PlacementRun
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import logging
import math
import os
import re
import resource
import shutil
import signal
import socket
import tempfile
import threading
import time
import traceback
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from distributed.diagnostics.plugin import WorkerPlugin

from geodata._atomic import atomic_folder

logger = logging.getLogger(__name__)

SWEEP_FILE = "sweep.json"
FAILURES_FILE = "failures.json"
ROW_FILE = "row.json"
PROVINCES_DIR = "provinces"
SWEEP_VERSION = 1
#: How many times a task is resubmitted after its worker died or it raised.
DEFAULT_RETRIES = 2
#: Shared data the sweep reads by default (``../shared/data`` in development).
COMMUNES_2025 = "admin_2025/vn_communes_2025_sapnhap_simplified.gpkg"
WARDS_2019 = "boundaries/vn_wards_gadm41_pop2019.gpkg"
#: Column of the interim population table (see :func:`areal_population_table`).
AREAL_COLUMN = "pop2019_areal"
#: Equal-area CRS in which polygon areas are compared for the interpolation.
EQUAL_AREA_CRS = "EPSG:6933"
_PREFIXES = ("thủ đô", "thành phố", "tỉnh")


class SweepError(ValueError):
    """An option or an output folder the sweep cannot use (the message says which)."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ModelSpec:
    """One model of the sweep.

    ``coverage``: today's offices, nothing added (mclp with every existing site
    kept, every candidate closed and as many points as existing sites);
    ``lscp``: the fewest points covering every reachable resident with every
    existing site kept; ``mclp`` with ``p``: the most residents ``p`` points
    chosen afresh among all sites (existing or candidate) can cover.  The
    planner's three questions, as ``motcua place`` asks them: ``keep``
    (``--model lscp --keep-existing``: the fewest new points), ``add`` with
    ``p`` (``--model mclp --add N``: the existing offices kept, N new points) and
    ``closure`` (``--model closure``: which existing offices can close while
    everyone covered today stays covered) and ``closure-cap`` (``--model closure
    --capacitated``: the same, without any office kept over its capacity).
    """

    kind: Literal["coverage", "lscp", "mclp", "keep", "add", "closure", "closure-cap"]
    p: int | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}-{self.p}" if self.kind in ("mclp", "add") else self.kind


#: ``--models questions``: the planner's three questions of issue #17 (which offices can
#: close asked both ways: coverage only, and without overloading any office kept).
QUESTIONS = "keep,add:10,closure,closure-cap"


def parse_models(text: str) -> tuple[ModelSpec, ...]:
    """``"coverage,lscp,mclp:50"`` -> model specs; :class:`SweepError` naming a bad item.

    ``questions`` stands for :data:`QUESTIONS` (``keep,add:10,closure,closure-cap``)."""
    out: list[ModelSpec] = []
    items = [QUESTIONS.split(",") if r.strip().lower() == "questions" else [r]
             for r in text.split(",")]
    for raw in (r for group in items for r in group):
        item = raw.strip().lower()
        if not item:
            continue
        name, _, arg = item.partition(":")
        if name in ("coverage", "lscp", "keep", "closure", "closure-cap") and not arg:
            spec = ModelSpec(name)  # type: ignore[arg-type]
        elif name in ("mclp", "add") and arg.isdigit() and int(arg) >= 1:
            spec = ModelSpec(name, int(arg))  # type: ignore[arg-type]
        else:
            msg = (f"--models: {raw.strip()!r} is not a model; expected coverage, lscp, "
                   "mclp:N, keep, add:N, closure or closure-cap (N points, a whole number >= 1), or "
                   "questions, separated by commas")
            raise SweepError(msg)
        if spec not in out:
            out.append(spec)
    if not out:
        raise SweepError("--models: no model given; expected e.g. coverage,lscp,mclp:50")
    return tuple(out)


@dataclass(frozen=True)
class NationalData:
    """Where every province's inputs come from (files readable by every worker).

    communes : 2025 commune polygons of the whole country, with a province column.
    wards : 2019 census wards with their population (areal interpolation source).
    sites : offices of the whole country (CSV with ``lon``/``lat`` or points);
        ``None``: each commune's representative point stands for its headquarters.
    roads : province name (as in ``province_column``) -> road file (.osm/.graphml);
        provinces without one use the straight-line fallback.
    """

    communes: str
    wards: str
    communes_layer: str | None = "communes"
    province_column: str = "province_name"
    id_column: str = "gis_id"
    name_column: str = "ward_name"
    wards_layer: str | None = "wards"
    wards_population_column: str = "pop2019"
    sites: str | None = None
    roads: tuple[tuple[str, str], ...] = ()

    @classmethod
    def shared(cls, root: str | Path, **changes: Any) -> NationalData:
        """The 2025 communes and 2019 wards of ``shared/data`` (see its README)."""
        base = Path(root)
        return cls(communes=str(base / COMMUNES_2025), wards=str(base / WARDS_2019), **changes)

    def road_file(self, province: str) -> str | None:
        return dict(self.roads).get(province)


@dataclass(frozen=True)
class SweepSettings:
    """How each province is built and solved (the same for every province).

    cell_m : side of the demand grid (``None``: the importer's default rule,
        :func:`geodata.importer.default_cell_m`); candidate_cell_m : one candidate per square
    of this side (the most populated demand point in it).  time_limit_s, seed,
    threads : solver settings of every model.
    """

    models: tuple[ModelSpec, ...] = (ModelSpec("coverage"), ModelSpec("lscp"))
    cell_m: float | None = 1000.0
    candidate_cell_m: float = 3000.0
    time_limit_s: float = 60.0
    seed: int = 0
    threads: int = 1

    def check(self) -> None:
        for name in ("cell_m", "candidate_cell_m", "time_limit_s"):
            v = getattr(self, name)
            if v is None and name == "cell_m":
                continue
            if not (math.isfinite(v) and v > 0):
                raise SweepError(f"--{name.replace('_', '-')}: expected a number > 0, got {v}")
        if not self.models:
            raise SweepError("--models: no model given")

    def signature(self, data: NationalData) -> dict[str, Any]:
        """What a resumed sweep must share with the folder it resumes."""
        out = dataclasses.asdict(self)
        out["models"] = [m.label for m in self.models]
        out["data"] = dataclasses.asdict(data)
        out["data"]["roads"] = [list(r) for r in data.roads]
        out["population"] = population_method()
        return out


@dataclass(frozen=True)
class ProvinceTask:
    """One province of the sweep: everything a worker needs (picklable)."""

    province: str
    slug: str
    data: NationalData
    settings: SweepSettings
    cache_dir: str | None = None


# --------------------------------------------------------------------------- provinces


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", str(text)).casefold().split())


def short_name(province: str) -> str:
    """``Tỉnh Lai Châu`` -> ``Lai Châu`` (the prefix Tỉnh / Thành phố / Thủ đô dropped)."""
    text = " ".join(str(province).split())
    low = _norm(text)
    for prefix in _PREFIXES:
        if low.startswith(prefix + " "):
            return text[len(prefix) + 1:].strip()
    return text


def slugify(province: str) -> str:
    """ASCII folder name of a province: ``Tỉnh Đắk Lắk`` -> ``dak-lak``."""
    plain = unicodedata.normalize("NFKD", short_name(province).replace("đ", "d").replace("Đ", "D"))
    plain = plain.encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-").lower() or "province"


def list_provinces(data: NationalData) -> pd.DataFrame:
    """Provinces of the communes file: ``province, slug, communes``, fewest communes first."""
    import pyogrio

    try:
        attrs = pyogrio.read_dataframe(data.communes, layer=data.communes_layer,
                                       columns=[data.province_column], read_geometry=False)
    except Exception as exc:  # noqa: BLE001 - GDAL raises many types; all mean "unreadable"
        raise SweepError(f"{data.communes}: cannot be read ({exc})") from exc
    if data.province_column not in attrs:
        raise SweepError(f"{data.communes}: no column {data.province_column!r}")
    counts = attrs[data.province_column].dropna().astype(str).value_counts()
    table = pd.DataFrame({"province": counts.index, "communes": counts.to_numpy()})
    table["slug"] = table["province"].map(slugify)
    return table.sort_values(["communes", "province"], kind="stable").reset_index(drop=True)


def resolve_provinces(data: NationalData, spec: str) -> list[str]:
    """Province names of ``--provinces``: ``all`` or names separated by commas.

    A name matches with or without its prefix (``Lai Châu`` = ``Tỉnh Lai Châu``),
    ignoring case and spaces; accents count.  Unknown names raise
    :class:`SweepError` with the closest known name.
    """
    import difflib

    table = list_provinces(data)
    names = table["province"].tolist()
    if spec.strip().lower() in ("", "all"):
        return names
    by_key: dict[str, str] = {}
    for n in names:
        by_key[_norm(n)] = n
        by_key[_norm(short_name(n))] = n
    by_key.update({slugify(n): n for n in names})
    chosen: list[str] = []
    for raw in spec.split(","):
        if not raw.strip():
            continue
        key = _norm(raw)
        hit = by_key.get(key) or by_key.get(_norm(short_name(raw)))
        if hit is None:
            close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.6)
            hint = f"; did you mean {by_key[close[0]]!r}?" if close else ""
            msg = (f"--provinces: no province {raw.strip()!r} in {Path(data.communes).name}"
                   f"{hint} (there are {len(names)}: {', '.join(short_name(n) for n in names[:5])}"
                   ", ...; or 'all')")
            raise SweepError(msg)
        if hit not in chosen:
            chosen.append(hit)
    if not chosen:
        raise SweepError("--provinces: no province given; expected names or 'all'")
    return chosen


# --------------------------------------------------------------------------- one province


def population_method() -> str:
    """How commune populations are obtained by this version of the importer.

    ``finer-units``: :func:`~geodata.importer.import_scenario` interpolates them
    itself from the 2019 wards (``ImportRequest.finer_units``); ``areal-table``
    (until the importer has that): :func:`areal_population_table` computes the
    same area-weighted estimate and the importer joins it as a population table.
    """
    from geodata.importer import ImportRequest

    fields = {f.name for f in dataclasses.fields(ImportRequest)}
    return "finer-units" if "finer_units" in fields else "areal-table"


def read_province_communes(task: ProvinceTask) -> Any:
    """The province's commune polygons (EPSG:4326) from the national file."""
    import geopandas as gpd

    d = task.data
    quoted = task.province.replace("'", "''")
    gdf = gpd.read_file(d.communes, layer=d.communes_layer,
                        where=f"\"{d.province_column}\" = '{quoted}'")
    if gdf.empty:
        raise SweepError(f"{Path(d.communes).name}: no commune of {task.province!r}")
    return gdf.to_crs(4326) if gdf.crs is not None else gdf.set_crs(4326)


def areal_population_table(communes: Any, data: NationalData) -> pd.DataFrame:
    """2019 residents of each commune by area weighting of the census wards.

    Each ward's people are shared among the communes in proportion to the
    ward's area inside each (``allocate_total=False``: the share of a ward that
    lies in no commune of the province is not pushed into it).  Columns
    ``<id_column>`` and :data:`AREAL_COLUMN`.  Interim: used only while
    :func:`population_method` is ``areal-table``.
    """
    import geopandas as gpd
    from tobler.area_weighted import area_interpolate

    out = pd.DataFrame({data.id_column: communes[data.id_column].astype(str).to_numpy(),
                        AREAL_COLUMN: 0.0})
    # a commune without a polygon gets 0 here: the importer names it when it reads the file
    ok = (communes.geometry.notna() & ~communes.geometry.is_empty).to_numpy()
    if not ok.any():
        return out
    wards = gpd.read_file(data.wards, layer=data.wards_layer,
                          bbox=tuple(communes[ok].total_bounds),
                          columns=[data.wards_population_column])
    wards = wards[wards[data.wards_population_column].notna()]
    if wards.empty:
        return out
    est = area_interpolate(wards.to_crs(EQUAL_AREA_CRS), communes[ok].to_crs(EQUAL_AREA_CRS),
                           extensive_variables=[data.wards_population_column],
                           allocate_total=False)
    out.loc[ok, AREAL_COLUMN] = est[data.wards_population_column].fillna(0.0).to_numpy()
    return out


def _province_sites(communes: Any, data: NationalData, folder: Path) -> Path | None:
    """The offices of the national sites file inside the province, as a CSV in ``folder``."""
    if data.sites is None:
        return None
    import geopandas as gpd

    from geodata.importer import SiteSource, read_sites

    sites = read_sites(SiteSource(path=Path(data.sites)))
    inside = sites.within(communes.union_all().buffer(0.001))
    table = pd.DataFrame(sites[inside].drop(columns="geometry"))
    pts = gpd.GeoSeries(sites[inside].geometry)
    table["lon"], table["lat"] = pts.x.to_numpy(), pts.y.to_numpy()
    path = folder / "sites_in_province.csv"
    table.to_csv(path, index=False, encoding="utf-8")
    return path


def build_province(task: ProvinceTask, out: Path, work: Path | None = None) -> Any:
    """Import the province's scenario into ``out`` with :func:`geodata.importer.import_scenario`.

    ``work`` holds intermediate files (the interim population table, the
    province's share of the sites file).  Returns the importer's ``ImportResult``.
    """
    from geodata.importer import BoundarySource, ImportRequest, SiteSource, import_scenario

    work = Path(work or out.parent)
    d, s = task.data, task.settings
    communes = read_province_communes(task)
    sites_csv = _province_sites(communes, d, work)
    common: dict[str, Any] = {
        "name": short_name(task.province),
        "description": f"{task.province}: national sweep (motcua sweep), 2025 communes, "
                       "2019 census population by areal interpolation.",
        "roads": Path(road) if (road := d.road_file(task.province)) else None,
        "sites": SiteSource(path=sites_csv) if sites_csv is not None else None,
        "candidates": "grid", "candidate_cell_m": s.candidate_cell_m, "cell_m": s.cell_m,
        "cache_dir": Path(task.cache_dir) if task.cache_dir else None,
    }
    filters = ((d.province_column, task.province),)
    if population_method() == "finer-units":
        from geodata.finer import FinerUnits  # type: ignore[import-not-found,unused-ignore]

        boundaries = BoundarySource(path=d.communes, layer=d.communes_layer, filters=filters,
                                    id_column=d.id_column, name_column=d.name_column)
        request = ImportRequest(boundaries=boundaries, **common, finer_units=FinerUnits(  # type: ignore[call-arg,unused-ignore]
            path=d.wards, layer=d.wards_layer, population_column=d.wards_population_column))
    else:
        table = work / "population_2019_areal.csv"
        areal_population_table(communes, d).to_csv(table, index=False, encoding="utf-8")
        boundaries = BoundarySource(path=d.communes, layer=d.communes_layer, filters=filters,
                                    id_column=d.id_column, name_column=d.name_column,
                                    population_column=AREAL_COLUMN, population_table=table,
                                    join_column=d.id_column)
        request = ImportRequest(boundaries=boundaries, **common)
    return import_scenario(request, out)


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux: ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def _run_model(scenario: Any, spec: ModelSpec, settings: SweepSettings, existing: list[str],
               candidates: list[str], cache_dir: Path | None) -> Any:
    from motcua.placement import PlacementRequest, run_placement

    solver = {"time_limit_s": settings.time_limit_s, "seed": settings.seed,
              "threads": settings.threads}
    if spec.kind == "coverage":
        if not existing:
            raise SweepError("the scenario has no existing office to measure today's coverage")
        req = PlacementRequest(model="mclp", p=len(existing), keep_open=tuple(existing),
                               close=tuple(candidates), **solver)
    elif spec.kind == "lscp":
        req = PlacementRequest(model="lscp", keep_open=tuple(existing), **solver)
    elif spec.kind == "keep":
        req = PlacementRequest(model="lscp", keep_existing="all", **solver)
    elif spec.kind == "add":
        req = PlacementRequest(model="mclp", add=spec.p, **solver)
    elif spec.kind == "closure":
        req = PlacementRequest(model="closure", **solver)
    elif spec.kind == "closure-cap":
        req = PlacementRequest(model="closure", capacitated=True, **solver)
    else:
        req = PlacementRequest(model="mclp", p=spec.p, **solver)
    return run_placement(scenario, req, cache_dir=cache_dir)


def compute_province(task: ProvinceTask, folder: Path) -> dict[str, Any]:
    """Build and solve one province into ``folder`` (created); return its row.

    Raises whatever the import or a solve raises; :func:`solve_province` turns
    that into a row with an ``error``.
    """
    from geodata.coverage import coverage_for_scenario, existing_site_mask
    from geodata.importer import existing_site_coverage

    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sweep-work-"))
    cache = Path(task.cache_dir) if task.cache_dir else work / "cache"
    try:
        imported = build_province(task, folder / "scenario", work)
        scenario = imported.scenario
        sites = scenario.sites
        mask = existing_site_mask(sites)
        ids = sites["id"].astype(str)
        existing, candidates = ids[mask].tolist(), ids[~mask].tolist()
        today = existing_site_coverage(coverage_for_scenario(scenario, cache_dir=cache))
        row: dict[str, Any] = {
            "province": task.province, "name": short_name(task.province), "slug": task.slug,
            "communes": int(len(imported.communes)),
            "population": int(imported.population_total),
            "demand_points": int(len(scenario.demand)),
            "cell_m": imported.provenance.get("demand", {}).get("cell_m"),
            "existing_sites": len(existing), "candidates": len(candidates),
            "method": today.label, "straight_line": bool(imported.straight_line_fallback),
            "population_method": population_method(),
            "covered_existing_share": today.share,
            "uncovered_existing": today.total - today.covered,
        }
        for spec in task.settings.models:
            run = _run_model(scenario, spec, task.settings, existing, candidates, cache)
            run.save(folder / "runs" / spec.label)
            f, rep = run.figures, run.report
            p = spec.label.replace("-", "_")
            row[f"{p}_status"] = rep.status.value
            row[f"{p}_gap"] = rep.gap if math.isfinite(rep.gap) else None
            row[f"{p}_time_s"] = round(rep.wall_time_s, 3)
            row[f"{p}_objective"] = rep.objective if math.isfinite(rep.objective) else None
            row[f"{p}_bound"] = rep.best_bound if math.isfinite(rep.best_bound) else None
            row[f"{p}_covered_share"] = f.covered_share
            row[f"{p}_uncovered"] = f.uncovered_population
            if spec.kind == "lscp":
                row["lscp_points"] = f.open_points
                row["lscp_new_points"] = f.new_points
                row["lscp_out_of_reach"] = f.uncoverable_population
            elif spec.kind == "keep":
                row["keep_new_points"] = f.new_points
                row["keep_out_of_reach"] = f.uncoverable_population
            elif spec.kind == "add":
                row[f"{p}_new_points"] = f.new_points
                row[f"{p}_added_covered"] = f.added_covered_population
            elif spec.kind in ("closure", "closure-cap"):
                row[f"{p}_closable"] = f.closable_points
                row[f"{p}_kept"] = f.open_points
                row[f"{p}_sole_cover"] = f.sole_cover_points
                row[f"{p}_lost"] = f.lost_population
                row[f"{p}_overloaded"] = f.overloaded_points
        outline = imported.communes.union_all().simplify(0.002)
        row["geometry_wkt"] = outline.wkt
    finally:
        shutil.rmtree(work, ignore_errors=True)
    row["wall_time_s"] = round(time.perf_counter() - t0, 3)
    return row


def _zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def solve_province(task: ProvinceTask) -> dict[str, Any]:
    """The Dask task: one province built and solved in a scratch folder.

    Returns ``{"row": {...}, "archive": bytes | None}``: the row of figures
    (``error`` set, and no archive, when the province failed: its data are
    broken or a solve raised) and the result folder as a zip.  An error in the
    data is not retried (it would fail again); a worker that dies is, by Dask.
    """
    t0 = time.perf_counter()
    started = dt.datetime.now().isoformat(timespec="seconds")
    scratch = Path(tempfile.mkdtemp(prefix=f"sweep-{task.slug}-"))
    base = {"province": task.province, "name": short_name(task.province), "slug": task.slug}
    archive: bytes | None = None
    try:
        row = compute_province(task, scratch / "province")
        row["error"] = None
    except Exception as exc:  # noqa: BLE001 - reported in the province's row, the sweep goes on
        from motcua.errors import INPUT_ERRORS

        logger.warning("province %s failed: %s", task.province, exc)
        row = dict(base)
        kind = "input" if isinstance(exc, (*INPUT_ERRORS, SweepError)) else "unexpected"
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["error_kind"] = kind
        if kind == "unexpected":
            row["traceback"] = traceback.format_exc(limit=8)
        row["wall_time_s"] = round(time.perf_counter() - t0, 3)
    row["worker"] = _worker_name()
    row["peak_rss_mb"] = _peak_rss_mb()
    row["started"] = started
    try:
        if row["error"] is None:
            (scratch / "province" / ROW_FILE).write_text(
                json.dumps(row, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
            archive = _zip_folder(scratch / "province")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"row": row, "archive": archive}


# --------------------------------------------------------------------------- the output folder


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def check_root(out: str | Path, signature: dict[str, Any]) -> bool:
    """Check that the sweep may write into ``out``; True when it resumes a sweep there.

    motcua writes only into a folder that is missing, empty or one of its own
    sweeps (``sweep.json``) of the same settings; anything else raises
    :class:`SweepError` (a sweep of other settings too: its rows would not compare).
    Nothing is written: call it before starting a cluster.
    """
    out = Path(out)
    cwd = Path.cwd().resolve()
    target = out.resolve()
    if target == cwd or target in cwd.parents:
        raise SweepError(f"--out {out}: is the working folder or one of its parents; "
                         "expected a folder of its own, e.g. sweep-2026")
    if target.exists() and not target.is_dir():
        raise SweepError(f"--out {out}: is a file; expected a folder")
    meta = target / SWEEP_FILE
    if meta.is_file():
        try:
            old = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SweepError(f"--out {out}: {SWEEP_FILE} cannot be read ({exc})") from exc
        if old.get("settings") != json.loads(json.dumps(signature, default=str)):
            raise SweepError(
                f"--out {out}: holds a sweep with other settings (see its {SWEEP_FILE}); "
                "resume it with the same options, or give another --out")
        return True
    if target.is_dir() and any(target.iterdir()):
        raise SweepError(f"--out {out}: is a non-empty folder that is not a motcua sweep "
                         f"(no {SWEEP_FILE}); motcua never writes among files it did not write: "
                         "give a new or empty folder")
    return False


def prepare_root(out: str | Path, signature: dict[str, Any]) -> None:
    """:func:`check_root`, then make ``out`` a sweep folder (``sweep.json``) if it is not one."""
    if check_root(out, signature):
        return
    target = Path(out).resolve()
    target.mkdir(parents=True, exist_ok=True)
    doc = {"version": SWEEP_VERSION, "created": dt.datetime.now().isoformat(timespec="seconds"),
           "settings": signature}
    _write_atomic(target / SWEEP_FILE,
                  json.dumps(doc, ensure_ascii=False, indent=1, default=str).encode())


def finished_rows(out: Path) -> dict[str, dict[str, Any]]:
    """Rows of the provinces whose folder is complete, by slug."""
    rows: dict[str, dict[str, Any]] = {}
    base = Path(out) / PROVINCES_DIR
    if not base.is_dir():
        return rows
    for path in sorted(base.glob(f"*/{ROW_FILE}")):
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            logger.warning("ignoring unreadable %s", path)
            continue
        if row.get("error") is None and path.parent.name == row.get("slug"):
            rows[path.parent.name] = row
    return rows


def _read_failures(out: Path) -> dict[str, dict[str, Any]]:
    path = Path(out) / FAILURES_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


#: Columns of provinces.csv, first; any other figures follow.
LEAD_COLUMNS = ("province", "name", "slug", "communes", "population", "covered_existing_share",
                "uncovered_existing", "lscp_points", "lscp_new_points", "lscp_out_of_reach",
                "existing_sites", "candidates", "demand_points", "method", "wall_time_s",
                "worker", "peak_rss_mb", "error")


def rows_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a table: :data:`LEAD_COLUMNS` first, sorted by province."""
    table = pd.DataFrame(list(rows))
    for c in LEAD_COLUMNS:
        if c not in table:
            table[c] = None
    rest = [c for c in table.columns if c not in LEAD_COLUMNS and c not in ("geometry_wkt", "traceback")]
    table = table[list(LEAD_COLUMNS) + rest + (["geometry_wkt"] if "geometry_wkt" in table else [])]
    return table.sort_values("province", kind="stable").reset_index(drop=True)


def write_tables(out: Path, rows: Sequence[dict[str, Any]]) -> None:
    """``provinces.csv`` and ``provinces.gpkg`` (layer ``provinces``), each replaced atomically."""
    import geopandas as gpd
    import shapely

    out = Path(out)
    table = rows_table(rows)
    wkt = table.pop("geometry_wkt") if "geometry_wkt" in table else pd.Series([None] * len(table))
    csv = table.to_csv(index=False).encode("utf-8")
    _write_atomic(out / "provinces.csv", csv)
    geoms = [shapely.from_wkt(w) if isinstance(w, str) and w else None for w in wkt]
    gdf = gpd.GeoDataFrame(table.astype({c: "object" for c in table.columns
                                         if table[c].dtype == object}),
                           geometry=gpd.GeoSeries(geoms, crs=4326))
    tmp = out / f".provinces.tmp-{os.getpid()}.gpkg"
    if tmp.exists():
        tmp.unlink()
    gdf.to_file(tmp, layer="provinces", driver="GPKG")
    os.replace(tmp, out / "provinces.gpkg")


def _store(out: Path, result: dict[str, Any]) -> None:
    """Write a finished province's folder atomically from its archive."""
    row = result["row"]
    with atomic_folder(Path(out) / PROVINCES_DIR / row["slug"]) as tmp:
        with zipfile.ZipFile(io.BytesIO(result["archive"])) as zf:
            for name in zf.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    raise SweepError(f"unsafe path {name!r} in the archive of {row['slug']}")
            zf.extractall(tmp)


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    """What a sweep did: every row (finished before or now, and failures), and which
    provinces it computed now, skipped (finished before) and failed."""

    rows: list[dict[str, Any]]
    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    wall_time_s: float = 0.0

    @property
    def table(self) -> pd.DataFrame:
        return rows_table(self.rows)


class IgnoreInterrupt(WorkerPlugin):  # type: ignore[misc]
    """Worker plugin: the worker process ignores SIGINT (Ctrl+C is the client's to handle)."""

    name = "motcua-ignore-sigint"

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None, *,
                dashboard: bool = True, memory_limit: str | float | None = "auto") -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler`` (``tcp://host:8786``) if given, else to a
    new ``LocalCluster`` of ``workers`` processes (one thread each) on this machine."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise SweepError(f"--scheduler {scheduler}: cannot connect ({exc})") from exc
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or 1
    if n < 1:
        raise SweepError(f"--workers {workers}: expected >= 1")
    with warnings.catch_warnings():
        # "Port 8787 is already in use ... Hosting the HTTP server on port N instead":
        # the link printed is the port actually used
        warnings.filterwarnings("ignore", message="Port .* is already in use",
                                category=UserWarning)
        # the scheduler's HTTP server runs even without the dashboard: a free port then
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=":8787" if dashboard else ":0",
                               memory_limit=memory_limit, silence_logs=logging.ERROR)
    client = Client(cluster)
    # Ctrl+C reaches every process of the terminal: the local workers ignore it (also
    # when restarted) and the client closes them, so no worker prints a traceback
    client.register_plugin(IgnoreInterrupt())
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_sweep(client: Any, provinces: Sequence[str], data: NationalData, settings: SweepSettings,
              out: str | Path, *, retries: int = DEFAULT_RETRIES, cache_dir: str | Path | None = None,
              on_row: Callable[[dict[str, Any], str], None] | None = None,
              on_start: Callable[[int, int], None] | None = None) -> SweepResult:
    """Sweep ``provinces`` on ``client``; write ``out`` as results arrive.

    Parameters
    ----------
    client : a ``distributed.Client`` (see :func:`dask_client`).
    provinces : province names as in the communes file (:func:`resolve_provinces`).
    out : sweep folder (:func:`prepare_root`); provinces already finished there are
        skipped, failed ones computed again.
    retries : resubmissions of a province whose task erred outside the province's own
        error handling: its worker died more often than the scheduler allows
        (``KilledWorker``), the cluster lost it, its result could not be read.
    on_row : called with each row as it is written and ``"done"``, ``"failed"`` or
        ``"skipped"``; on_start : called with (to compute, skipped) before work starts.
    """
    from distributed import as_completed

    settings.check()
    t0 = time.perf_counter()
    out = Path(out)
    prepare_root(out, settings.signature(data))
    done = finished_rows(out)
    failures = _read_failures(out)
    slugs = {p: slugify(p) for p in provinces}
    if len(set(slugs.values())) != len(slugs):
        raise SweepError("two provinces have the same folder name: " + ", ".join(provinces))
    result = SweepResult(rows=[])
    todo = [p for p in provinces if slugs[p] not in done]
    result.skipped = [p for p in provinces if slugs[p] in done]
    if on_start:
        on_start(len(todo), len(result.skipped))
    for p in result.skipped:
        if on_row:
            on_row(done[slugs[p]], "skipped")
    token = f"{os.getpid()}-{time.time_ns()}"
    futures: dict[Any, str] = {}
    attempts: dict[str, int] = {}

    def submit(p: str) -> Any:
        # the scheduler itself reschedules a task whose worker died (up to its
        # distributed.scheduler.allowed-failures, 3 by default); past that the future
        # errs with KilledWorker and the province is submitted again, up to `retries` times
        attempts[p] = attempts.get(p, 0) + 1
        task = ProvinceTask(province=p, slug=slugs[p], data=data, settings=settings,
                            cache_dir=str(cache_dir) if cache_dir else None)
        fut = client.submit(solve_province, task, pure=False,
                            key=f"province-{slugs[p]}-{token}-{attempts[p]}")
        futures[fut] = p
        return fut

    for p in todo:
        submit(p)

    def save_tables() -> None:
        rows = list(done.values()) + [r for s, r in failures.items() if s not in done]
        write_tables(out, rows)
        _write_atomic(out / FAILURES_FILE,
                      json.dumps(failures, ensure_ascii=False, indent=1, default=str).encode())

    try:
        queue = as_completed(list(futures))
        for fut in queue:
            province = futures[fut]
            slug = slugs[province]
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, lost workers, a broken pickle...
                if attempts[province] <= retries:
                    logger.warning("province %s: %s; submitted again", province, exc)
                    queue.add(submit(province))
                    continue
                res = {"row": {"province": province, "name": short_name(province), "slug": slug,
                               "error": f"{type(exc).__name__}: {exc}", "error_kind": "worker",
                               "worker": None}, "archive": None}
            row = res["row"]
            row["attempts"] = attempts[province]
            if row.get("error") is None and res.get("archive") is not None:
                _store(out, res)
                done[slug] = row
                failures.pop(slug, None)
                result.computed.append(province)
                state = "done"
            else:
                failures[slug] = row
                result.failed.append(province)
                state = "failed"
            save_tables()
            if on_row:
                on_row(row, state)
    finally:
        for fut in futures:
            if not fut.done():
                fut.cancel()
    if not todo:
        save_tables()
    chosen = set(slugs.values())
    result.rows = [r for s, r in done.items() if s in chosen] + [
        r for s, r in failures.items() if s in chosen and s not in done]
    result.wall_time_s = time.perf_counter() - t0
    return result


def dashboard_link(client: Any) -> str | None:
    """The Dask dashboard's address, or ``None`` when it is not served (no bokeh)."""
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return None
    link = getattr(client, "dashboard_link", None)
    return str(link) if link else None
