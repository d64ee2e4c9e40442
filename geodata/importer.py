"""Build a scenario folder for a real place from boundaries, population, roads and sites.

The inputs a planner has, or can download:

* commune/ward **boundaries**: any vector file geopandas reads (GeoJSON,
  GeoPackage, shapefile, zipped GeoJSON via ``zip://``), optionally filtered
  (``NAME_2=HoànKiếm``), or the administrative boundaries of a place from
  OpenStreetMap when online;
* **population** per polygon: a column of the boundaries, a column of a CSV
  joined on a code (``ward_code``), or a raster (GeoTIFF, e.g. WorldPop) summed
  per polygon with :func:`geodata.raster.population_from_raster`;
* **roads** (optional): a ``.graphml``/``.osm`` file, or downloaded with osmnx
  for a place (cached on disk).  Without roads the scenario uses the
  straight-line fallback and says so in its description;
* existing **sites**: a CSV with lon/lat or a vector file with points, with
  column mapping; by default the communes' representative points stand in for
  their reception points; candidates can be generated on the populated grid.

:func:`import_scenario` turns them into a scenario folder: polygon populations
are rounded to whole persons and spread over a grid by
:func:`geodata.demand.spread_population` (totals conserved exactly), the folder
is written, then validated with :func:`geodata.scenario.load_scenario` before it
replaces ``out`` atomically.  Problems with the inputs raise one
:class:`~geodata._errors.ScenarioError` naming file, row, column and value,
worded as scenario loading words them.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import tomli_w

from geodata._atomic import SCRATCH, check_output_folder, output_folder
from geodata._errors import NetworkError, Problem, ScenarioError
from geodata._json import dumps
from geodata._numbers import NumberFormat, parse_number
from geodata._validate import (
    MAX_PROBLEMS_PER_COLUMN,
    VN_LAT,
    VN_LON,
    Collector,
    Column,
    check_crs,
    check_lonlat,
    check_unique,
    parse_columns,
    read_csv_text,
    suggest,
)
from geodata.calibrate import DemandCalibration, annotate_toml, calibrate_demand
from geodata.demand import Weight
from geodata.finer import FinerUnits, Pieces
from geodata.interpolate import repair_geometries
from geodata.scenario import (
    DEMAND_COLUMNS,
    SITE_COLUMNS,
    WGS84,
    Scenario,
    load_scenario,
    to_csv_table,
    write_scenario_files,
)
from geodata.settings import SITE_KINDS

logger = logging.getLogger(__name__)

CandidateMode = Literal["none", "grid", "osm"]
WeightMode = Literal["auto", "settlements", "raster", "roads", "uniform"]

#: Columns tried, in order, for ids and names when none is given.
ID_COLUMN_GUESSES: tuple[str, ...] = ("GID_3", "ward_code", "code", "ma_xa", "id", "fid")
NAME_COLUMN_GUESSES: tuple[str, ...] = ("NAME_3", "ward_name", "name", "ten", "ten_xa")
#: OSM tags of public offices proposed as candidates when online.
OSM_CANDIDATE_TAGS: dict[str, Any] = {"amenity": ["post_office", "townhall"]}
#: OSM tags of commune-level administrative boundaries in Vietnam (xã/phường).
OSM_COMMUNE_TAGS: dict[str, Any] = {"boundary": "administrative", "admin_level": "8"}

_VECTOR_HINT = "GeoJSON, GeoPackage, shapefile or zipped GeoJSON (zip://file.zip!inner.geojson)"


# --------------------------------------------------------------------------- requests


#: Undeclared number format of an import, declared with ``--decimal``/``--thousands``.
IMPORT_FORMAT = NumberFormat(declared_by="options")
#: The population column of boundaries, tables and OSM tags: residents of one commune.
_POPULATION = replace(next(c for c in DEMAND_COLUMNS if c.name == "population"),
                      meaning="residents of one commune")


@dataclass(frozen=True)
class BoundarySource:
    """Where commune polygons and their population come from.

    path : vector file (``zip://a.zip!b.geojson`` for zipped GeoJSON).
    layer : layer of a multi-layer file (GeoPackage); default the only/first layer.
    filters : ``(column, value)`` pairs; features must match every column, and
        any of the values given for the same column.  Values are compared
        ignoring case, spaces and Unicode normal form (``Hoàn Kiếm`` matches
        GADM's ``HoànKiếm``).
    population_column : column of the boundaries (or of ``population_table``)
        holding residents; ``None`` when population comes from a raster.
    id_column, name_column, commune_code_column : columns for the demand
        ``id``/``name``/``commune_code``; guessed from :data:`ID_COLUMN_GUESSES`
        and :data:`NAME_COLUMN_GUESSES` when ``None``; the commune code defaults
        to the id.
    population_table : CSV holding ``population_column``, joined to the
        boundaries on ``join_column`` (boundaries) = ``table_join_column``
        (table; default the same name).  Codes are compared as text, so keep
        leading zeros (``06895``).
    number_format : how numbers are written in text cells of these files
        (``--decimal``/``--thousands``; see :mod:`geodata._numbers`).
    """

    path: str
    layer: str | None = None
    filters: tuple[tuple[str, str], ...] = ()
    population_column: str | None = None
    id_column: str | None = None
    name_column: str | None = None
    commune_code_column: str | None = None
    population_table: Path | None = None
    join_column: str | None = None
    table_join_column: str | None = None
    number_format: NumberFormat = IMPORT_FORMAT


@dataclass(frozen=True)
class SiteSource:
    """Existing offices: a CSV with lon/lat columns or a vector file of points.

    Columns named in the file are mapped with the ``*_column`` options; the
    standard site columns (``status``, ``counters``, ``opening_cost``,
    ``capacity_per_day``, ``commune_code``, and ``kind`` unless ``kind`` is
    given) are read when present.  ``kind`` sets the kind of every row
    (``reception`` when neither it nor a ``kind`` column is given).
    """

    path: Path
    layer: str | None = None
    lon_column: str = "lon"
    lat_column: str = "lat"
    id_column: str | None = None
    name_column: str | None = None
    kind: str | None = None
    number_format: NumberFormat = IMPORT_FORMAT


@dataclass(frozen=True)
class SettlementSource:
    """Settlement points (villages, hamlets: thôn, bản, ấp) saying where people live.

    path : vector file of points (GeoJSON, GeoPackage, shapefile) with a CRS.
    layer : layer of a GeoPackage with several layers.
    population_column : people of each settlement (>= 0); ``None`` counts the
        points (every settlement weighs 1).
    """

    path: Path
    layer: str | None = None
    population_column: str | None = None


def read_settlements(source: SettlementSource) -> gpd.GeoDataFrame:
    """Read settlement points with a ``population`` column (1 per point without a column).

    Raises
    ------
    ScenarioError
        Naming file, row and column: unreadable file, no CRS, a row that is not
        a point, a missing column, a population that is not a number >= 0.
    """
    import pyogrio

    label = _label(source.path)
    try:
        gdf = pyogrio.read_dataframe(source.path, layer=source.layer)
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise ScenarioError(f"cannot be read as a vector file of points: {exc}", file=label) from None
    if gdf.crs is None:
        raise ScenarioError("settlement points have no CRS", file=label)
    problems: list[Problem] = []
    col = source.population_column
    if col is not None and col not in gdf.columns:
        raise ScenarioError(Problem(file=label, column=col, message="population column is missing",
                                    expected="one of " + ", ".join(
                                        str(c) for c in gdf.columns[:20] if c != "geometry")))
    people = np.ones(len(gdf))
    for i, geom in enumerate(gdf.geometry):
        if geom is None or geom.is_empty or geom.geom_type != "Point":
            problems.append(Problem(file=label, row=i + 2, column="geometry",
                                    message="settlement is not a point",
                                    value=None if geom is None else geom.geom_type,
                                    expected="a Point"))
        if col is None:
            continue
        raw = gdf[col].iloc[i]
        try:
            value = parse_number(raw.strip(), quantity=True) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            problems.append(Problem(file=label, row=i + 2, column=col, value=raw,
                                    message="settlement population is not usable",
                                    expected="a number >= 0"))
        else:
            people[i] = value
    if problems:
        raise ScenarioError(problems)
    if len(gdf) == 0:
        raise ScenarioError("the file holds no settlement points", file=label)
    return gpd.GeoDataFrame({"population": people}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)


@dataclass(frozen=True)
class ImportRequest:
    """Everything :func:`import_scenario` needs.

    name : scenario name.
    boundaries : commune polygons and population (required unless ``place`` is
        given, then OSM admin_level 8 boundaries are used).
    place : place name osmnx geocodes, e.g. ``"Đầm Hà, Quảng Ninh, Vietnam"``;
        roads (and boundaries when not given) are downloaded for it.
    roads : ``.graphml``/``.osm`` road file; ``None`` with no ``place`` gives the
        straight-line fallback.
    population_raster : GeoTIFF of people per cell, summed per polygon; used
        when ``boundaries.population_column`` is ``None``.
    sites : existing offices; ``None`` uses the communes' representative points.
    candidates : ``"grid"`` adds the most populated demand point of each
        ``candidate_cell_m`` square as a candidate, ``"osm"`` adds OSM post
        offices and town halls (online, with ``place``), ``"none"`` adds nothing.
    staff, workload : optional CSVs copied into the scenario and validated.
    number_format : how numbers are written in ``staff``/``workload``; when declared,
        the scenario declares it in ``[files]`` and its files are written in it.
    cell_m : side of the demand grid in metres (400); ``None``: :func:`default_cell_m`
        of the communes' area and population (``motcua import`` without ``--cell-m``).
    weight : how a polygon's people are spread: ``"settlements"`` by the people
        of ``settlements`` in each grid piece, ``"raster"`` by the people of
        ``population_raster`` in it, ``"roads"`` by road length, ``"uniform"``
        by area; a polygon where the chosen source holds nobody falls back along
        that order.  ``"auto"`` = the finest source given.
    settlements : settlement points weighting where people live (``weight``).
    crs : metric CRS; ``None`` picks the UTM zone of the boundaries.
    cache_dir : cache of downloads (roads, geocoding); default of :mod:`geodata.cache`.
    description : extra text put before the generated description.
    finer_units : finer population units (2019 census wards) inside the communes:
        the communes' population when ``boundaries.population_column`` is
        ``None`` (areal interpolation), and in any case where in each commune
        its people live (demand is spread over ward ∩ commune pieces).
    elevation_raster : DEM GeoTIFF; non-urban demand points at or above
        :data:`geodata.settings.MOUNTAIN_ELEVATION_M` are in the mountain zone.
    """

    name: str
    boundaries: BoundarySource | None = None
    place: str | None = None
    roads: Path | None = None
    population_raster: Path | None = None
    sites: SiteSource | None = None
    candidates: CandidateMode = "none"
    candidate_cell_m: float = 2000.0
    staff: Path | None = None
    workload: Path | None = None
    number_format: NumberFormat = IMPORT_FORMAT
    cell_m: float | None = 400.0
    weight: WeightMode = "auto"
    crs: str | None = None
    cache_dir: Path | None = None
    description: str = ""
    finer_units: FinerUnits | None = None
    elevation_raster: Path | None = None
    settlements: SettlementSource | None = None


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_scenario` wrote.

    scenario : the scenario as loaded back from ``folder`` (validated).
    folder : the scenario folder.
    communes : the commune polygons with ``id, name, commune_code, population`` (EPSG:4326).
    population_total : whole persons in the communes, equal to the demand total.
    straight_line_fallback : True when there is no road network.
    provenance : what was read and how (also saved as ``import.json``).
    calibration : ``[demand]`` as calibrated from the workload history (``None`` without one).
    """

    scenario: Scenario
    folder: Path
    communes: gpd.GeoDataFrame
    population_total: int
    straight_line_fallback: bool
    provenance: dict[str, Any] = field(default_factory=dict)
    calibration: DemandCalibration | None = None


# --------------------------------------------------------------------------- helpers


def _label(path: str | Path) -> str:
    """Short name of a file for messages (the inner file of a ``zip://`` URI)."""
    text = str(path)
    if "!" in text:
        return text.rsplit("!", 1)[1]
    return Path(text.removeprefix("zip://")).name


def _norm(value: Any) -> str:
    """Text compared ignoring case, whitespace and Unicode normal form."""
    text = unicodedata.normalize("NFC", str(value)).casefold()
    return "".join(text.split())


def _plain(value: Any) -> str:
    """:func:`_norm` without accents, underscores or dashes (``Hoan Kiem`` ~ ``HoànKiếm``)."""
    text = unicodedata.normalize("NFKD", _norm(value).replace("đ", "d"))
    return "".join(ch for ch in text if not unicodedata.combining(ch) and ch not in "_-")


def _did_you_mean(name: str, options: Sequence[str]) -> str:
    """``"; did you mean 'x'?"``, comparing case-, space- and accent-insensitively first."""
    plain = _plain(name)
    same = [o for o in options if _plain(o) == plain]
    if same:
        return f"; did you mean {same[0]!r}?"
    by_plain = {_plain(o): o for o in options}
    close = difflib.get_close_matches(plain, list(by_plain), n=1, cutoff=0.6)
    return f"; did you mean {by_plain[close[0]]!r}?" if close else ""


def _missing_column(col: Collector, label: str, name: str, available: Sequence[str],
                    what: str) -> None:
    col.add(label, f"{what} column is missing" + _did_you_mean(name, available), column=name,
            expected="one of the file's columns: " + ", ".join(available))


def _require_columns(table: pd.DataFrame, spec: Sequence[Column], label: str,
                     col: Collector) -> bool:
    """Report required columns of ``spec`` missing from ``table``, as the loader words it.

    Unlike :func:`geodata._validate.normalise_columns`, the file's other columns
    are kept silently: an import reads a few columns of somebody else's table.
    """
    have = [str(c) for c in table.columns]
    wanted = {c.name for c in spec}
    ok = True
    for c in spec:
        if not c.required or c.name in have:
            continue
        ok = False
        hint = _did_you_mean(c.name, [h for h in have if h not in wanted])
        if hint:
            hint = f"; column {hint.removeprefix('; did you mean ').removesuffix('?')} looks like a misspelling of it"
        col.add(label, "required column is missing" + hint, column=c.name,
                expected=f"a column named {c.name!r} (the file has: {', '.join(have)})")
    return ok


def _vector_path(path: str) -> str:
    """``file.zip`` alone is read as ``zip://file.zip``."""
    if path.lower().endswith(".zip") and not path.startswith("zip://"):
        return f"zip://{path}"
    return path


def _shift_rows(problems: list[Problem], start: int, rows: npt.NDArray[np.int64]) -> list[Problem]:
    """Renumber problems of a filtered table (rows 2.. of the subset) to the file's rows."""
    out = list(problems[:start])
    for p in problems[start:]:
        if p.row is not None and 0 <= p.row - 2 < len(rows):
            p = replace(p, row=int(rows[p.row - 2]))
        out.append(p)
    return out


def check_crs_option(crs: str, label: str = "--crs") -> None:
    """Raise the scenario loader's named error when ``crs`` is not a metric CRS valid in Vietnam."""
    col = Collector()
    check_crs(crs, col)
    if col.problems:
        problems = [replace(p, file=label, message=p.message.removeprefix("crs: "))
                    for p in col.problems]
        raise ScenarioError(problems)


def choose_crs(gdf: gpd.GeoDataFrame) -> str:
    """The UTM zone (WGS84, north) containing the centre of ``gdf``: EPSG:32648 or EPSG:32649 in Vietnam."""
    lon = float(np.mean(gdf.to_crs(WGS84).total_bounds[[0, 2]]))
    zone = min(max(int(math.floor((lon + 180.0) / 6.0)) + 1, 1), 60)
    return f"EPSG:{32600 + zone}"


def _check_in_vietnam(gdf: gpd.GeoDataFrame, label: str, col: Collector) -> bool:
    b = gdf.total_bounds
    if b[0] < VN_LON[0] or b[2] > VN_LON[1] or b[1] < VN_LAT[0] or b[3] > VN_LAT[1]:
        col.add(label, f"geometries fall outside Vietnam after reading them in their declared CRS "
                f"({gdf.attrs.get('source_crs', 'unknown')})",
                value=[round(float(x), 4) for x in b],
                expected="a file whose CRS matches its coordinates")
        return False
    return True


# --------------------------------------------------------------------------- boundaries


def _read_vector(path: str, layer: str | None, label: str, col: Collector,
                 filters: Sequence[tuple[str, str]] = ()) -> gpd.GeoDataFrame | None:
    """Read (the filtered features of) a vector file; ``file_row`` holds each feature's row."""
    import pyogrio

    uri = _vector_path(path)
    try:
        info = pyogrio.read_info(uri, layer=layer)
    except Exception as exc:  # noqa: BLE001 - GDAL raises many types; all mean "unreadable"
        text = str(exc)
        if layer is not None and "layer" in text.lower():
            try:
                layers = [str(x[0]) for x in pyogrio.list_layers(uri)]
            except Exception:  # noqa: BLE001
                layers = []
            col.add(label, f"no layer {layer!r}" + suggest(layer, layers),
                    expected="one of the layers: " + ", ".join(layers) if layers else None)
        else:
            col.add(label, f"cannot be read as a vector file: {text}", expected=_VECTOR_HINT)
        return None
    fields = [str(f) for f in info["fields"]]
    selected: npt.NDArray[np.int64] | None = None
    if filters:
        by_column: dict[str, list[str]] = {}
        for column, value in filters:
            by_column.setdefault(column, []).append(value)
        bad = [c for c in by_column if c not in fields]
        for c in bad:
            _missing_column(col, label, c, fields, "filter")
        if bad:
            return None
        attrs = pyogrio.read_dataframe(uri, layer=layer, columns=list(by_column),
                                       read_geometry=False, fid_as_index=True)
        mask = np.ones(len(attrs), dtype=bool)
        for column, values in by_column.items():
            normed = attrs[column].astype(str).map(_norm)
            hit = normed.isin({_norm(v) for v in values}).to_numpy()
            if not hit.any():
                choices = sorted({str(v) for v in attrs[column].dropna()})
                col.add(label, "filter matches no feature" + _did_you_mean(values[0], choices),
                        column=column, value=" | ".join(values),
                        expected=f"one of the {len(choices)} values of {column!r}, e.g. "
                        + ", ".join(choices[:5]))
            mask &= hit
        if col.problems:
            return None
        if not mask.any():
            col.add(label, "the filters together match no feature", value=list(filters),
                    expected="filters on columns that agree (e.g. a province and one of its districts)")
            return None
        selected = np.flatnonzero(mask)
        fids = attrs.index.to_numpy()[selected]
    try:
        if selected is None:
            gdf = pyogrio.read_dataframe(uri, layer=layer)
        else:
            gdf = pyogrio.read_dataframe(uri, layer=layer, fids=fids)
    except Exception as exc:  # noqa: BLE001
        col.add(label, f"cannot be read as a vector file: {exc}", expected=_VECTOR_HINT)
        return None
    gdf = gpd.GeoDataFrame(gdf)
    gdf["file_row"] = (selected if selected is not None else np.arange(len(gdf))) + 2
    if gdf.empty:
        col.add(label, "file has no features", expected="at least one feature")
        return None
    geom = gdf.geometry
    empty = (geom.isna() | geom.is_empty).to_numpy()
    for i in np.flatnonzero(empty)[:MAX_PROBLEMS_PER_COLUMN]:
        col.add(label, "feature has no geometry", row=int(gdf["file_row"].iloc[int(i)]),
                column="geometry")
    if empty.any():
        return None
    if gdf.crs is None:
        b = gdf.total_bounds
        if abs(b[0]) > 360 or abs(b[1]) > 90:
            col.add(label, "file has no CRS and its coordinates are not degrees", value=list(b),
                    expected="a CRS in the file (e.g. EPSG:32648) or WGS84 lon/lat")
            return None
        col.warn(label, "file declares no CRS; assumed WGS84 lon/lat (EPSG:4326)")
        gdf = gdf.set_crs(WGS84)
    gdf, repaired = repair_geometries(gdf)  # counted: the import reports them
    if repaired:
        logger.info("%s: repaired %d invalid geometries", label, repaired)
    gdf.attrs["repaired_geometries"] = repaired
    source_crs = gdf.crs.to_string()
    gdf = gdf.to_crs(WGS84)
    gdf.attrs["repaired_geometries"] = repaired
    gdf.attrs["source_crs"] = source_crs
    if not _check_in_vietnam(gdf, label, col):
        return None
    return gdf


def _pick_column(given: str | None, guesses: Sequence[str], fields: Sequence[str], label: str,
                 what: str, col: Collector) -> str | None:
    if given is not None:
        if given not in fields:
            _missing_column(col, label, given, fields, what)
        return given
    return next((g for g in guesses if g in fields), None)


def read_boundaries(source: BoundarySource, *, need_population: bool = True) -> gpd.GeoDataFrame:
    """Read commune polygons with their population.

    Parameters
    ----------
    source : file, filters and column mapping.
    need_population : when False (population from a raster), no population
        column is read and ``population`` is NaN.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, columns ``id, name, commune_code, commune_name, population,
        file_row, geometry``; ``population`` in persons (float, not yet rounded).

    Raises
    ------
    ScenarioError
        Naming the file, row, column and value of every problem: unreadable
        file, unknown layer or column (with a "did you mean"), a filter that
        matches nothing, a CRS that does not match the coordinates, missing or
        negative population, duplicate ids, codes missing from the population
        table.
    """
    col = Collector()
    label = _label(source.path)
    gdf = _read_vector(source.path, source.layer, label, col, source.filters)
    if gdf is None:
        col.raise_if_any()
        raise ScenarioError(f"{label}: could not be read", file=label)
    fields = [c for c in gdf.columns if c not in (gdf.geometry.name, "file_row")]
    id_col = _pick_column(source.id_column, ID_COLUMN_GUESSES, fields, label, "id", col)
    name_col = _pick_column(source.name_column, NAME_COLUMN_GUESSES, fields, label, "name", col)
    code_col = _pick_column(source.commune_code_column, (), fields, label, "commune code", col)
    if source.population_table is not None and source.join_column is None:
        col.add(label, "a population table needs a join column", column=None,
                expected="--join-column naming the code column shared with the table")
    join_col = None
    if source.join_column is not None:
        join_col = _pick_column(source.join_column, (), fields, label, "join", col)
    pop_in_file = need_population and source.population_table is None
    if need_population and source.population_column is None:
        col.add(label, "no population column given",
                expected="--population-column naming a column of "
                + (_label(source.population_table) if source.population_table else label)
                + " (or --population-raster)")
    elif pop_in_file and source.population_column is not None and source.population_column not in fields:
        _missing_column(col, label, source.population_column, fields, "population")
    col.raise_if_any()

    def text(column: str | None, fallback: pd.Series) -> pd.Series:
        if column is None:
            return fallback
        values = gdf[column]
        out: pd.Series = values.astype(str).where(values.notna(), "").str.strip()
        return out

    rows = gdf["file_row"].to_numpy()
    ids = text(id_col, pd.Series([f"c{r - 1}" for r in rows], index=gdf.index))
    names = text(name_col, ids)
    names = names.where(names != "", ids)  # a blank name (16 in the 2025 file) falls back to the id
    out = gpd.GeoDataFrame({
        "id": ids.to_numpy(), "name": names.to_numpy(),
        "commune_code": text(code_col, ids).to_numpy(), "commune_name": names.to_numpy(),
        "population": np.full(len(gdf), np.nan), "file_row": rows,
    }, geometry=gdf.geometry.to_numpy(), crs=WGS84)
    out.attrs["source_crs"] = gdf.attrs.get("source_crs")
    out.attrs["repaired_geometries"] = gdf.attrs.get("repaired_geometries", 0)
    blank = (out["id"] == "").to_numpy()
    for i in np.flatnonzero(blank)[:MAX_PROBLEMS_PER_COLUMN]:
        col.add(label, "empty id", row=int(rows[i]), column=id_col,
                expected="an id for every feature (choose another --id-column)")
    start = len(col.problems)
    check_unique(out["id"], label, str(id_col or "id"), col)
    col.problems = _shift_rows(col.problems, start, rows)

    if need_population and source.population_column is not None:
        spec = [replace(_POPULATION, name=source.population_column)]
        if pop_in_file:
            raw = pd.DataFrame({source.population_column: gdf[source.population_column]})
            if not pd.api.types.is_numeric_dtype(raw[source.population_column]):
                raw = raw.astype(object).where(raw.notna(), "").astype(str)
            start = len(col.problems)
            parsed = parse_columns(raw, spec, label, col, source.number_format)
            col.problems = _shift_rows(col.problems, start, rows)
            out["population"] = parsed[source.population_column].to_numpy(float)
        elif join_col is not None and source.population_table is not None:
            out["population"] = _join_population(gdf[join_col], rows, join_col, source, label, col)
    col.raise_if_any()
    logger.info("read %d communes from %s%s", len(out), label,
                f" (filters {list(source.filters)})" if source.filters else "")
    return out


def _join_population(keys: pd.Series, rows: npt.NDArray[np.int64], join_col: str,
                     source: BoundarySource, label: str, col: Collector) -> npt.NDArray[np.float64]:
    """Population of each boundary from the table row with the same code."""
    assert source.population_table is not None and source.population_column is not None
    table_label = _label(source.population_table)
    table = read_csv_text(source.population_table, table_label, col)
    nan = np.full(len(keys), np.nan)
    if table is None:
        return nan
    table_key = source.table_join_column or join_col
    spec = [Column(table_key), replace(_POPULATION, name=source.population_column)]
    if not _require_columns(table, spec, table_label, col):
        return nan
    wanted = keys.astype(str).where(keys.notna(), "").str.strip()
    # only the rows joined to a boundary are checked: the table may cover other provinces
    table_keys = table[table_key].astype(str).str.strip()
    check_unique(table_keys.where(table_keys.isin(set(wanted)), ""), table_label, table_key, col)
    used = np.flatnonzero(table_keys.isin(set(wanted)).to_numpy())
    start = len(col.problems)
    parsed = parse_columns(table.iloc[used].reset_index(drop=True), spec, table_label, col,
                           source.number_format)
    col.problems = _shift_rows(col.problems, start, used + 2)
    lookup = dict(zip(parsed[table_key].str.strip(), parsed[source.population_column], strict=True))
    lookup_all = set(table_keys)
    values = wanted.map(lookup)
    missing = np.flatnonzero(~wanted.isin(lookup_all).to_numpy())
    for i in missing[:MAX_PROBLEMS_PER_COLUMN]:
        key = wanted.iloc[int(i)]
        col.add(label, f"no row of {table_label} has this code in column {table_key!r}"
                + suggest(key, lookup_all), row=int(rows[i]), column=join_col, value=key,
                expected=f"a code present in {table_label} (codes are compared as text: keep leading zeros)")
    if len(missing) > MAX_PROBLEMS_PER_COLUMN:
        col.add(label, f"... and {len(missing) - MAX_PROBLEMS_PER_COLUMN} more rows like these",
                column=join_col)
    return values.to_numpy(dtype=float)


def communes_from_osm(place_polygon: Any, population_column: str | None = "population",
                      ) -> gpd.GeoDataFrame:
    """Commune boundaries (OSM admin_level 8) inside a place, downloaded with osmnx.

    Returns the same columns as :func:`read_boundaries`; ``population`` is read
    from the OSM ``population`` tag when ``population_column`` is given.

    Raises
    ------
    NetworkError
        When the download fails or finds no boundary.
    ScenarioError
        When a commune has no usable population tag.
    """
    import osmnx as ox

    try:
        features = ox.features_from_polygon(place_polygon, tags=OSM_COMMUNE_TAGS)
    except Exception as exc:  # osmnx raises its own and requests' errors
        msg = f"could not download commune boundaries from OpenStreetMap ({type(exc).__name__}: {exc})"
        raise NetworkError(msg) from exc
    polys = features[features.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    polys = polys[polys.geometry.representative_point().within(place_polygon)]
    if polys.empty:
        msg = "OpenStreetMap has no admin_level=8 boundary inside the place; give --boundaries"
        raise NetworkError(msg)
    return _communes_from_features(polys, population_column)


def _communes_from_features(polys: gpd.GeoDataFrame, population_column: str | None
                            ) -> gpd.GeoDataFrame:
    label = "OpenStreetMap admin_level=8 boundaries"
    polys = polys.reset_index()
    ids = [f"osm_{t}_{i}" for t, i in zip(polys.get("element", polys.get("element_type", "")),
                                          polys.get("id", polys.get("osmid", "")), strict=True)]
    names = polys["name"].fillna("").astype(str) if "name" in polys else pd.Series(ids)
    population = np.full(len(polys), np.nan)
    col = Collector()
    if population_column is not None:
        if population_column not in polys:
            _missing_column(col, label, population_column, list(polys.columns), "population")
        else:
            raw = polys[population_column].astype(object).where(polys[population_column].notna(), "")
            parsed = parse_columns(pd.DataFrame({population_column: raw.astype(str)}),
                                   [replace(_POPULATION, name=population_column)], label, col)
            population = parsed[population_column].to_numpy(float)
    col.raise_if_any()
    return gpd.GeoDataFrame({
        "id": ids, "name": names.to_numpy(), "commune_code": ids, "commune_name": names.to_numpy(),
        "population": population, "file_row": np.arange(len(polys)) + 2,
    }, geometry=polys.geometry.to_numpy(), crs=polys.crs).to_crs(WGS84)


# --------------------------------------------------------------------------- population


def whole_persons(population: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Round residents per polygon to whole persons (half to even)."""
    values = np.asarray(population, dtype=float)
    rounded: npt.NDArray[np.int64] = np.rint(values).astype(np.int64)
    return rounded


# --------------------------------------------------------------------------- sites


def read_sites(source: SiteSource) -> gpd.GeoDataFrame:
    """Read existing offices with column mapping.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points with the columns of ``SITE_COLUMNS`` except lon/lat;
        ``counters``/``capacity_per_day`` may be missing (filled by the loader).

    Raises
    ------
    ScenarioError
        With the loader's wording: not UTF-8, missing or misspelt columns,
        non-numeric or out-of-Vietnam coordinates (swapped lon/lat named),
        unknown kinds or statuses, duplicate ids, non-point geometries.
    """
    col = Collector()
    label = source.path.name
    if source.kind is not None and source.kind not in SITE_KINDS:
        col.add("--sites-kind", "not an allowed value" + suggest(source.kind, SITE_KINDS),
                value=source.kind, expected="one of " + ", ".join(SITE_KINDS))
        col.raise_if_any()
    is_csv = source.path.name.lower().endswith((".csv", ".csv.gz", ".txt"))
    geometry: Any = None
    if is_csv:
        table = read_csv_text(source.path, label, col)
        if table is not None and table.empty:
            col.add(label, "file has a header but no data rows", expected="at least one data row")
            table = None
    else:
        if not source.path.exists():
            col.add(label, "file not found", expected="an existing CSV or vector file of sites")
            col.raise_if_any()
        gdf = _read_vector(str(source.path), source.layer, label, col)
        table = None
        if gdf is not None:
            if not (gdf.geometry.geom_type == "Point").all():
                col.add(label, "sites must be points", column="geometry",
                        expected="Point geometries (or a CSV with lon/lat columns)")
            else:
                geometry = gdf.geometry.reset_index(drop=True)
                attrs = pd.DataFrame(gdf.drop(columns=[gdf.geometry.name, "file_row"]))
                text = attrs.astype(object).where(attrs.notna(), "").astype(str)
                # numbers stored as numbers stay numbers: no separator to misread
                table = text.assign(**{c: attrs[c] for c in attrs.columns
                                       if pd.api.types.is_numeric_dtype(attrs[c])
                                       and not pd.api.types.is_bool_dtype(attrs[c])})
    if table is None:
        col.raise_if_any()
        raise ScenarioError(f"{label}: could not be read", file=label)

    table.columns = [str(c).strip() for c in table.columns]
    mapping: dict[str, str] = {}   # file column -> standard name
    spec: list[Column] = []
    standard = {c.name: c for c in SITE_COLUMNS}
    if is_csv:
        for user, std in ((source.lon_column, "lon"), (source.lat_column, "lat")):
            spec.append(replace(standard[std], name=user))
            mapping[user] = std
    for given, std in ((source.id_column, "id"), (source.name_column, "name")):
        if given is not None:
            user = given
            spec.append(replace(standard[std], name=user))
            mapping[user] = std
        elif std in table.columns:
            spec.append(replace(standard[std], required=False, default=""))
            mapping[std] = std
    for std in ("kind", "status", "counters", "opening_cost", "capacity_per_day", "commune_code"):
        if std == "kind" and source.kind is not None:
            continue
        if std in table.columns or std == "kind":
            c = standard[std]
            if std == "kind":
                c = replace(c, required=False, default="reception")
            spec.append(c)
            mapping[std] = std
    if not _require_columns(table, spec, label, col):
        col.raise_if_any()
        raise ScenarioError(f"{label}: could not be read", file=label)
    parsed = parse_columns(table, spec, label, col, source.number_format).rename(columns=mapping)
    if is_csv:
        lon, lat = parsed["lon"].to_numpy(float), parsed["lat"].to_numpy(float)
        check_lonlat(lon, lat, label, col)
        geometry = gpd.points_from_xy(lon, lat, crs=WGS84)
        parsed = parsed.drop(columns=["lon", "lat"])
    n = len(parsed)
    if "id" not in parsed or (parsed["id"] == "").all():
        parsed["id"] = [f"s{i + 1}" for i in range(n)]
    if "name" not in parsed or (parsed["name"] == "").all():
        parsed["name"] = parsed["id"]
    parsed["name"] = parsed["name"].where(parsed["name"] != "", parsed["id"])
    if source.kind is not None:
        parsed["kind"] = source.kind
    for std in ("status", "counters", "opening_cost", "capacity_per_day", "commune_code"):
        if std not in parsed:
            parsed[std] = standard[std].default if standard[std].default is not None else (
                "" if std == "commune_code" else np.nan)
    check_unique(parsed["id"], label, source.id_column or "id", col)
    col.raise_if_any()
    order = [c.name for c in SITE_COLUMNS if c.name not in ("lon", "lat")]
    sites = gpd.GeoDataFrame(parsed[order], geometry=geometry, crs=WGS84)
    logger.info("read %d sites from %s", len(sites), label)
    return sites


def commune_centre_sites(communes: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """One reception point per commune at its representative point (inside the polygon).

    These stand in for the commune People's Committee offices, whose addresses
    are not in the data; names say so.
    """
    points = communes.to_crs(crs).geometry.representative_point().to_crs(WGS84)
    return gpd.GeoDataFrame({
        "id": [f"rp_{i}" for i in communes["id"]],
        "name": [f"Điểm tiếp nhận {n} (tâm xã, ước lượng)" for n in communes["name"]],
        "kind": "reception", "status": "optional", "counters": np.nan, "opening_cost": 1.0,
        "capacity_per_day": np.nan, "commune_code": communes["commune_code"].to_numpy(),
    }, geometry=points.to_numpy(), crs=WGS84)


#: The default demand grid (``cell_m=None``, ``motcua import`` without ``--cell-m``):
#: about this many cells over the province's area ...
TARGET_CELLS = 10_000
#: ... but cells holding at least this many persons on average ...
PERSONS_PER_CELL = 100
#: ... within these sides (metres), rounded to a multiple of ``CELL_STEP_M``.
MIN_CELL_M = 250.0
MAX_CELL_M = 2000.0
CELL_STEP_M = 50.0


def default_cell_m(area_m2: float, persons: float) -> float:
    """The default side of the demand grid for a place of ``area_m2`` and ``persons``.

    ``max(sqrt(area / TARGET_CELLS), sqrt(area * PERSONS_PER_CELL / persons))``: about
    :data:`TARGET_CELLS` cells over the area (the models' size stays workable: a
    province of 5,800 km2 gets 750 m), and no finer than :data:`PERSONS_PER_CELL`
    persons per cell on average (a sparse place gets coarser cells); clamped to
    [:data:`MIN_CELL_M`, :data:`MAX_CELL_M`] and rounded to :data:`CELL_STEP_M`.
    """
    if not (math.isfinite(area_m2) and area_m2 > 0):
        return MIN_CELL_M
    by_cells = math.sqrt(area_m2 / TARGET_CELLS)
    by_people = math.sqrt(area_m2 * PERSONS_PER_CELL / persons) if persons > 0 else MAX_CELL_M
    side = min(MAX_CELL_M, max(MIN_CELL_M, by_cells, by_people))
    return float(min(MAX_CELL_M, max(MIN_CELL_M, CELL_STEP_M * round(side / CELL_STEP_M))))


def grid_candidate_sites(demand: gpd.GeoDataFrame, crs: str, cell_m: float) -> gpd.GeoDataFrame:
    """Candidates: in each ``cell_m`` square holding people, its most populated demand point."""
    if not (math.isfinite(cell_m) and cell_m > 0):
        msg = f"candidate cell size must be > 0 m, got {cell_m}"
        raise ScenarioError(msg, file="--candidate-cell-m")
    people = demand[demand["population"] > 0]
    xy = people.to_crs(crs).geometry
    key = pd.DataFrame({
        "ix": np.floor(xy.x.to_numpy() / cell_m).astype(np.int64),
        "iy": np.floor(xy.y.to_numpy() / cell_m).astype(np.int64),
        "pop": people["population"].to_numpy(float),
        "pos": np.arange(len(people)),
    })
    best = key.sort_values(["pop", "pos"], ascending=[False, True]).groupby(["ix", "iy"]).head(1)
    best = best.sort_values("pos")
    chosen = people.iloc[best["pos"].to_numpy()]
    return gpd.GeoDataFrame({
        "id": [f"cand_{i + 1}" for i in range(len(chosen))],
        "name": [f"Ứng viên {i + 1} ({n})" for i, n in enumerate(chosen["commune_name"])],
        "kind": "candidate", "status": "optional", "counters": np.nan, "opening_cost": 1.0,
        "capacity_per_day": np.nan, "commune_code": chosen["commune_code"].to_numpy(),
    }, geometry=chosen.geometry.to_numpy(), crs=WGS84)


def sites_from_osm_features(features: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """Candidate sites from OSM features (post offices, town halls) at their representative points."""
    if features.empty:
        return gpd.GeoDataFrame(
            {c.name: [] for c in SITE_COLUMNS if c.name not in ("lon", "lat")},
            geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    feats = features.reset_index()
    points = feats.to_crs(crs).geometry.representative_point().to_crs(WGS84)
    osm_id = feats["id"] if "id" in feats else feats.get("osmid", pd.Series(range(len(feats))))
    amenity = feats["amenity"].fillna("office").astype(str) if "amenity" in feats else "office"
    names = feats["name"].fillna("").astype(str) if "name" in feats else pd.Series([""] * len(feats))
    labels = [n or f"{a} {i}" for n, a, i in zip(names, pd.Series(amenity, index=feats.index),
                                                osm_id, strict=True)]
    return gpd.GeoDataFrame({
        "id": [f"osm_{i}" for i in osm_id],
        "name": labels,
        "kind": "candidate", "status": "optional", "counters": np.nan, "opening_cost": 1.0,
        "capacity_per_day": np.nan, "commune_code": "",
    }, geometry=points.to_numpy(), crs=WGS84)


def _assign_communes(sites: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Fill empty ``commune_code`` of sites from the commune polygon they lie in."""
    empty = (sites["commune_code"].astype(str) == "").to_numpy()
    if not empty.any():
        return sites
    joined = gpd.sjoin(sites[empty][["geometry"]], communes[["commune_code", "geometry"]],
                       how="left", predicate="within")
    codes = joined[~joined.index.duplicated()]["commune_code"].fillna("")
    sites = sites.copy()
    sites.loc[empty, "commune_code"] = codes.reindex(sites.index[empty]).fillna("").to_numpy()
    return sites


# --------------------------------------------------------------------------- demand


def spread_demand(communes: gpd.GeoDataFrame, crs: str, cell_m: float,
                  weight: Weight,
                  graph: nx.MultiDiGraph[Any] | None,
                  units: gpd.GeoDataFrame | None = None,
                  elevation_raster: Path | None = None,
                  raster: Path | None = None,
                  settlements: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Spread whole persons over a grid with :func:`geodata.demand.spread_population`.

    ``units`` (pieces of :func:`geodata.finer.split_communes`) are spread instead of
    the whole communes when given, so people stay in the finer unit they were
    counted in.  Every point gets the travel zone of the unit it comes from
    (:func:`geodata.zones.classify_zones`, from the unit's density and, with
    ``elevation_raster``, the point's elevation).

    Returns demand points in EPSG:4326 with the demand columns of the scenario format;
    ``attrs["weight_by_unit"]`` maps each spread polygon (or piece) id to the
    weighting used for it.
    """
    from geodata.demand import spread_population
    from geodata.zones import classify_zones, elevation_at

    if units is None:
        area = communes.to_crs(crs).area.to_numpy() / 1e6
        units = communes.assign(
            density=np.divide(communes["population"].to_numpy(float), area,
                              out=np.zeros(len(area)), where=area > 0))
    polygons = units[["id", "name", "commune_code", "commune_name", "population", "geometry"]]
    cells = spread_population(polygons, cell_m=cell_m, weight=weight, graph=graph, crs=crs,
                              raster=raster, settlements=settlements)
    weight_by_unit = dict(zip(cells["source_id"].astype(str), cells["weight"].astype(str),
                              strict=True))
    density = dict(zip(units["id"].astype(str), units["density"].to_numpy(float), strict=True))
    unit_density = cells["source_id"].astype(str).map(density).to_numpy(float)
    elevation = elevation_at(cells, elevation_raster) if elevation_raster is not None else None
    cells["zone"] = classify_zones(unit_density, elevation)
    # ids: <commune id>:<k>, k counting the commune's points in order
    commune_id = cells["source_id"].astype(str).str.split("~").str[0]
    cells["id"] = commune_id + ":" + commune_id.groupby(commune_id).cumcount().astype(str)
    table = _demand_table(cells)
    table.attrs["weight_by_unit"] = weight_by_unit
    return table


def _demand_table(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Spread points as demand rows: ``id`` is ``<commune id>:<cell>``, ``name`` the commune's."""
    cells = cells.to_crs(WGS84)
    return gpd.GeoDataFrame({
        "id": cells["id"].astype(str).to_numpy(),
        "name": cells["name"].astype(str).to_numpy(),
        "population": cells["population"].to_numpy(float),
        "commune_code": cells["commune_code"].astype(str).to_numpy(),
        "commune_name": cells["commune_name"].astype(str).to_numpy(),
        "zone": cells["zone"].astype(str).to_numpy() if "zone" in cells else "",
    }, geometry=cells.geometry.to_numpy(), crs=WGS84)


#: Commune polygons written into an imported scenario (``[files] communes``).
COMMUNES_FILE = "communes.geojson"


def _write_communes(communes: gpd.GeoDataFrame, path: Path) -> None:
    """Commune polygons (id, name, code, persons), simplified to ~10 m to keep the file small."""
    out = communes[["id", "name", "commune_code", "population", "geometry"]].copy()
    out["population"] = out["population"].astype("int64")
    out = out.set_geometry(out.geometry.simplify(0.0001, preserve_topology=True))
    out.to_file(path, driver="GeoJSON")


def _finer_pieces(request: ImportRequest, communes: gpd.GeoDataFrame, crs: str,
                  provenance: dict[str, Any]) -> Pieces:
    """Communes cut into the finer units (with their neighbours in the boundary file)."""
    from geodata.finer import read_bbox, read_finer_units, split_communes

    assert request.finer_units is not None
    col = Collector()
    units = read_finer_units(request.finer_units, communes, col)
    others = None
    if request.boundaries is not None and len(units):
        others = read_bbox(request.boundaries.path, request.boundaries.layer, units.total_bounds,
                           _label(request.boundaries.path))
    col.emit_warnings()
    pieces = split_communes(communes, units, crs, others, request.finer_units.min_cover)
    provenance["finer_units"] = {
        "file": request.finer_units.path, "layer": request.finer_units.layer,
        "population_column": request.finer_units.population_column,
        "units_read": pieces.sources, "pieces": int(len(pieces.units)),
        "persons_in_units": int(pieces.interpolation.source_population.sum()),
        "persons_in_other_communes": pieces.to_others,
        "persons_outside_communes": pieces.outside,
        "interpolated_persons": int(pieces.interpolated.sum()),
        "method": "tobler area_interpolate (extensive), whole persons by largest remainder "
                  "per source unit",
    }
    if request.boundaries is None or request.boundaries.population_column is None:
        provenance["population"] = {"from": "finer units by areal interpolation",
                                    "file": request.finer_units.path,
                                    "column": request.finer_units.population_column}
    return pieces


# --------------------------------------------------------------------------- import


def _download_place(place: str, cache_dir: Path | None) -> tuple[Any, nx.MultiDiGraph[Any]]:
    """Geocode ``place`` to its boundary polygon and download its roads (both cached)."""
    import osmnx as ox

    from geodata.network import download_graph

    saved = (ox.settings.cache_folder, ox.settings.use_cache)
    if cache_dir is not None:
        ox.settings.cache_folder = str(Path(cache_dir) / "osmnx_http")
    ox.settings.use_cache = True
    try:
        try:
            boundary = ox.geocode_to_gdf(place)
        except Exception as exc:  # geocoder/HTTP errors when offline or unknown place
            msg = (f"could not geocode {place!r} with osmnx ({type(exc).__name__}: {exc}); "
                   "check the name or use --roads/--boundaries with local files")
            raise NetworkError(msg) from exc
        polygon = boundary.to_crs(WGS84).geometry.union_all()
        graph = download_graph(polygon=polygon, cache_dir=cache_dir)
    finally:
        ox.settings.cache_folder, ox.settings.use_cache = saved
    return polygon, graph


def _osm_candidates(polygon: Any, crs: str) -> gpd.GeoDataFrame:
    import osmnx as ox

    try:
        features = ox.features_from_polygon(polygon, tags=OSM_CANDIDATE_TAGS)
    except Exception as exc:  # noqa: BLE001 - "no matching features" is an exception in osmnx
        logger.warning("no OSM post offices or town halls found: %s", exc)
        return sites_from_osm_features(gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=WGS84)), crs)
    return sites_from_osm_features(features, crs)


def fallback_note(circuity: float) -> str:
    """The sentence that labels a scenario without roads."""
    return ("KHÔNG CÓ MẠNG ĐƯỜNG — straight-line fallback: no road network; distances are "
            f"straight-line km × circuity {circuity:g} and travel times use a fixed speed.")


def input_paths(request: ImportRequest) -> list[str | Path | None]:
    """Every input file of ``request`` and its cache folder (an output may not touch them)."""
    b = request.boundaries
    return [b.path if b else None, b.population_table if b else None, request.roads,
            request.population_raster, request.sites.path if request.sites else None,
            request.staff, request.workload, request.cache_dir]


def import_scenario(request: ImportRequest, out: str | Path, *, overwrite: bool = False) -> ImportResult:
    """Build, validate and save a scenario for a real place.

    Parameters
    ----------
    request : inputs and options.
    out : scenario folder to write: new, empty or a previous ``import`` output,
        which is replaced atomically (the rules of :func:`geodata._atomic.output_folder`;
        ``overwrite`` as there). The folder is checked before anything is computed.

    Returns
    -------
    ImportResult

    Raises
    ------
    ScenarioError
        For any problem with the inputs (named file, row, column and value).
    NetworkError
        When a download or road file fails.
    OutputError
        When ``out`` is refused (it holds files motcua did not write, is an input,
        ...) or writing fails (``no space left on device while writing FILE``).
    """
    from geodata.network import cached_graph

    check_output_folder(out, "import", overwrite=overwrite, protect=input_paths(request))
    from geodata.raster import population_from_raster
    from geodata.settings import TravelSettings

    if request.crs is not None:
        check_crs_option(request.crs)
    if request.cell_m is not None and not (math.isfinite(request.cell_m) and request.cell_m > 0):
        raise ScenarioError(f"grid cell must be > 0 m, got {request.cell_m}", file="--cell-m")
    if request.boundaries is None and request.place is None:
        raise ScenarioError("give boundaries (a vector file) or a place to download",
                            file="--boundaries")
    if request.candidates == "osm" and request.place is None:
        raise ScenarioError("OSM candidates need --place (they are downloaded)", file="--candidates")
    provenance: dict[str, Any] = {"name": request.name, "place": request.place}

    # roads and place ------------------------------------------------------------
    graph: nx.MultiDiGraph[Any] | None = None
    place_polygon: Any = None
    if request.place is not None:
        place_polygon, graph = _download_place(request.place, request.cache_dir)
        provenance["roads"] = f"OpenStreetMap via osmnx for {request.place!r}"
    if request.roads is not None:
        graph = cached_graph(request.roads, request.cache_dir)
        provenance["roads"] = str(request.roads)

    # communes and population -----------------------------------------------------
    from_units = request.finer_units is not None and (
        request.boundaries is None or request.boundaries.population_column is None)
    use_raster = request.population_raster is not None and not from_units and (
        request.boundaries is None or request.boundaries.population_column is None)
    if request.boundaries is not None:
        communes = read_boundaries(request.boundaries,
                                   need_population=not use_raster and not from_units)
        provenance["boundaries"] = {
            "file": request.boundaries.path, "layer": request.boundaries.layer,
            "filters": [list(f) for f in request.boundaries.filters],
            "crs_in_file": communes.attrs.get("source_crs"),
            "repaired_geometries": communes.attrs.get("repaired_geometries", 0),
        }
    else:
        communes = communes_from_osm(place_polygon,
                                     None if use_raster or from_units else "population")
        provenance["boundaries"] = "OpenStreetMap boundary=administrative admin_level=8"
    crs = request.crs or choose_crs(communes)
    check_crs_option(crs, "--crs" if request.crs else "chosen CRS")
    pieces = None
    if request.finer_units is not None:
        pieces = _finer_pieces(request, communes, crs, provenance)
        if from_units:
            communes["population"] = pieces.interpolated.astype(float)
    if use_raster:
        assert request.population_raster is not None
        raw = population_from_raster(communes, request.population_raster)
        communes["population"] = raw
        provenance["population"] = {"raster": str(request.population_raster),
                                    "raster_sum": float(raw.sum())}
    elif not from_units:
        b = request.boundaries
        provenance["population"] = {
            "column": b.population_column if b else "population (OSM tag)",
            "table": str(b.population_table) if b and b.population_table else None,
            "join_column": b.join_column if b else None,
        }
    persons = whole_persons(communes["population"].to_numpy(float))
    communes["population"] = persons.astype(float)
    total = int(persons.sum())
    if total <= 0:
        raise ScenarioError("the communes hold no people (population sums to 0)",
                            file=_label(request.boundaries.path) if request.boundaries else "population")
    provenance.setdefault("population", {})["total_persons"] = total
    provenance["communes"] = int(len(communes))

    # demand -----------------------------------------------------------------------
    weight: Weight
    if request.weight == "auto":
        weight = ("settlements" if request.settlements is not None
                  else "raster" if request.population_raster is not None
                  else "roads" if graph is not None else "uniform")
    else:
        weight = request.weight
    if weight == "roads" and graph is None:
        raise ScenarioError("weight 'roads' needs a road network (--roads or --place)",
                            file="--weight")
    if weight == "raster" and request.population_raster is None:
        raise ScenarioError("weight 'raster' needs --population-raster FILE.tif", file="--weight")
    if weight == "settlements" and request.settlements is None:
        raise ScenarioError("weight 'settlements' needs --settlements FILE", file="--weight")
    settlements = None
    if request.settlements is not None:
        settlements = read_settlements(request.settlements)
        inside = settlements.to_crs(WGS84).geometry.intersects(
            communes.to_crs(WGS84).geometry.union_all())
        if not inside.any():
            raise ScenarioError("no settlement point lies inside the boundaries "
                                "(check the file's CRS and the --filter options)",
                                file=_label(request.settlements.path))
        provenance["settlements"] = {
            "file": str(request.settlements.path),
            "population_column": request.settlements.population_column,
            "points": int(len(settlements)), "outside_boundaries": int((~inside).sum()),
            "people_inside": float(settlements["population"].to_numpy()[inside.to_numpy()].sum()),
        }
    cell_m = request.cell_m
    if cell_m is None:
        area_m2 = float(communes.to_crs(crs).geometry.area.sum())
        cell_m = default_cell_m(area_m2, total)
        provenance["cell_m_rule"] = {
            "area_km2": round(area_m2 / 1e6, 1), "persons": total,
            "rule": (f"max(sqrt(area / {TARGET_CELLS}), sqrt(area x {PERSONS_PER_CELL} / persons))"
                     f", clamped to [{MIN_CELL_M:g}, {MAX_CELL_M:g}] m, rounded to {CELL_STEP_M:g} m"),
        }
    demand = spread_demand(communes, crs, cell_m, weight, graph,
                           units=pieces.units if pieces is not None else None,
                           elevation_raster=request.elevation_raster,
                           raster=request.population_raster, settlements=settlements)
    provenance["zones"] = {str(k): int(v) for k, v in demand["zone"].value_counts().items()}
    demand_total = float(demand["population"].sum())
    if abs(demand_total - total) > 1e-6 * max(total, 1):
        msg = f"spreading lost people: {demand_total} != {total} (a bug, please report it)"
        raise RuntimeError(msg)
    weight_by_unit: dict[str, str] = demand.attrs.get("weight_by_unit", {})
    provenance["demand"] = {
        "cell_m": cell_m, "weight": weight, "points": int(len(demand)),
        "weight_used": {w: sum(1 for v in weight_by_unit.values() if v == w)
                        for w in ("settlements", "raster", "roads", "uniform")},
        "weight_by_unit": weight_by_unit,
    }

    # sites ------------------------------------------------------------------------
    if request.sites is not None:
        sites = read_sites(request.sites)
        provenance["sites"] = str(request.sites.path)
    else:
        sites = commune_centre_sites(communes, crs)
        provenance["sites"] = "commune representative points (estimated, not office addresses)"
    if request.candidates == "grid":
        sites = pd.concat([sites, grid_candidate_sites(demand, crs, request.candidate_cell_m)],
                          ignore_index=True)
    elif request.candidates == "osm":
        sites = pd.concat([sites, _osm_candidates(place_polygon, crs)], ignore_index=True)
    sites = _assign_communes(gpd.GeoDataFrame(sites, geometry="geometry", crs=WGS84), communes)
    provenance["candidates"] = {"mode": request.candidates,
                                "count": int((sites["kind"] == "candidate").sum())}

    # write, validate, save ----------------------------------------------------------
    fallback = graph is None
    circuity = TravelSettings().circuity
    description = _describe(request, communes, total, fallback, circuity, provenance)
    provenance["straight_line_fallback"] = fallback
    provenance["crs"] = crs
    folder = Path(out)
    with output_folder(folder, "import", overwrite=overwrite, protect=input_paths(request)) as tmp:
        stage = tmp.path / SCRATCH
        stage.mkdir()
        _write_communes(communes, stage / COMMUNES_FILE)
        scenario = _stage(stage, request, demand, sites, graph, crs, description, fallback)
        scenario, calibration = _calibrate(scenario, total, request.workload)
        write_scenario_files(scenario, tmp.path)
        shutil.rmtree(stage)
        if calibration is not None:
            _annotate_demand(tmp.path, calibration)
            provenance["demand_calibration"] = {
                "source": calibration.source, "dossiers": calibration.dossiers,
                "in_person": calibration.in_person, "weeks_of_data": calibration.weeks,
                "residents": calibration.population,
                "dossiers_per_1000_per_year": calibration.dossiers_per_1000_per_year,
                "in_person_share": calibration.in_person_share,
                "in_person_share_by_field": calibration.in_person_share_by_field}
        (tmp / "import.json").write_text(dumps(provenance, indent=1, default=str), encoding="utf-8")
    saved = folder.resolve()
    loaded = load_scenario(saved)
    logger.info("imported %r: %d communes, %s persons, %d demand points, %d sites, %s, CRS %s",
                request.name, len(communes), f"{total:,}", len(demand), len(sites),
                "straight-line fallback" if fallback else "road network", crs)
    return ImportResult(scenario=loaded, folder=saved, communes=communes.drop(columns="file_row"),
                        population_total=total, straight_line_fallback=fallback,
                        provenance=provenance, calibration=calibration)


def _calibrate(scenario: Scenario, residents: int, workload: Path | None
               ) -> tuple[Scenario, DemandCalibration | None]:
    """``[demand]`` calibrated from the workload history copied in (unchanged without one)."""
    if workload is None:
        return scenario, None
    calibration = calibrate_demand(scenario.workload, residents, source=workload.name)
    if calibration is None:
        return scenario, None
    settings = replace(scenario.settings, demand=calibration.settings())
    return replace(scenario, settings=settings), calibration


def _annotate_demand(folder: Path, calibration: DemandCalibration) -> None:
    """Write where ``[demand]`` came from as comments above it in ``scenario.toml`` (atomically)."""
    path = folder / "scenario.toml"
    text = annotate_toml(path.read_text(encoding="utf-8"), "demand", calibration.comment_lines())
    tmp = path.with_name(".scenario.toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _describe(request: ImportRequest, communes: gpd.GeoDataFrame, total: int, fallback: bool,
              circuity: float, provenance: dict[str, Any]) -> str:
    """The scenario's description, ``Vietnamese | English`` (the app shows the half of its
    language, as it does for the demo); the user's ``--description`` leads both halves."""
    user = [request.description.strip()] if request.description.strip() else []
    en = [*user, f"Imported by `motcua import`: {len(communes)} communes, {total:,} residents.",
          f"Sites: {provenance['sites']}."]
    people_vi = f"{total:,}".replace(",", ".")
    vi = [*user, f"Nhập bằng `motcua import`: {len(communes)} xã/phường, {people_vi} dân.",
          f"Điểm hiện có: {provenance['sites']}." if request.sites is not None else
          "Điểm hiện có: tâm đại diện của từng xã/phường (ước lượng, không phải địa chỉ trụ sở)."]
    if fallback:
        en.append(fallback_note(circuity))
        vi.append("KHÔNG CÓ MẠNG ĐƯỜNG: khoảng cách theo đường chim bay × hệ số đường vòng "
                  f"{circuity:g}".replace(".", ",") + ", thời gian đi theo tốc độ cố định.")
    else:
        en.append(f"Roads: {provenance.get('roads')}.")
        vi.append(f"Mạng đường: {provenance.get('roads')}.")
    return " ".join(vi) + " | " + " ".join(en)


def _write_points(gdf: gpd.GeoDataFrame, path: Path, order: Sequence[str], fmt: NumberFormat
                  ) -> None:
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    table["lon"] = gdf.geometry.x.to_numpy()
    table["lat"] = gdf.geometry.y.to_numpy()
    table = table[[c for c in order if c in table.columns]]
    to_csv_table(table, fmt).to_csv(path, index=False, encoding="utf-8")


def _stage(stage: Path, request: ImportRequest, demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
           graph: nx.MultiDiGraph[Any] | None, crs: str, description: str, fallback: bool) -> Scenario:
    """Write the scenario into ``stage`` and load it back (full validation)."""
    files: dict[str, Any] = {"demand": "demand.csv", "sites": "sites.csv"}
    fmt = request.number_format
    for key in ("decimal", "thousands"):
        if getattr(fmt, key) is not None:
            files[key] = getattr(fmt, key)
    _write_points(demand, stage / "demand.csv",
                  ["id", "name", "lon", "lat", "population", "commune_code", "commune_name", "zone"], fmt)
    _write_points(sites, stage / "sites.csv", [c.name for c in SITE_COLUMNS], fmt)
    for key, path in (("staff", request.staff), ("workload", request.workload)):
        if path is not None:
            if not path.exists():
                raise ScenarioError("file not found", file=path.name)
            shutil.copy2(path, stage / path.name)
            files[key] = path.name
    if request.roads is not None:
        # inside the staged folder, as every [files] path must be (a hard link when the
        # file system allows it: road files are large, and the scenario copies it anyway)
        roads = request.roads.resolve()
        try:
            os.link(roads, stage / roads.name)
        except OSError:
            shutil.copy2(roads, stage / roads.name)
        files["roads"] = roads.name
    elif graph is not None:
        import osmnx as ox

        ox.save_graphml(graph, stage / "roads.graphml")
        files["roads"] = "roads.graphml"
    if request.place is not None:
        files["place"] = request.place
    if (stage / COMMUNES_FILE).exists():
        files["communes"] = COMMUNES_FILE
    toml: dict[str, Any] = {"name": request.name, "description": description, "crs": crs,
                            "synthetic": False, "files": files}
    (stage / "scenario.toml").write_text(tomli_w.dumps(toml), encoding="utf-8")
    return load_scenario(stage)



@dataclass(frozen=True)
class ExistingCoverage:
    """Residents within the coverage standard of at least one existing site.

    covered, total : residents; share = covered / total.
    sites : number of existing (non-candidate, not closed) sites counted.
    method, label : how distances were measured (``straight-line`` without roads).
    """

    covered: float
    total: float
    sites: int
    method: str
    label: str

    @property
    def share(self) -> float:
        return self.covered / self.total if self.total > 0 else 0.0


def existing_site_coverage(cov: Any) -> ExistingCoverage:
    """Coverage of the residents by the existing sites of a :class:`geodata.coverage.ScenarioCoverage`.

    Existing sites are those of kind ``branch`` or ``reception`` whose status is
    not ``closed`` (:func:`geodata.coverage.existing_site_mask`); candidates are left out.
    """
    from geodata.coverage import existing_site_mask

    existing = existing_site_mask(cov.sites)
    population = cov.demand["population"].to_numpy(float)
    reached = np.asarray(cov.matrix.covered[:, np.flatnonzero(existing)].sum(axis=1)).ravel() > 0
    return ExistingCoverage(covered=float(population[reached].sum()), total=float(population.sum()),
                            sites=int(existing.sum()), method=str(cov.matrix.method),
                            label=str(cov.matrix.label))
