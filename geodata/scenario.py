"""Scenario: the validated contents of a scenario folder.

Load with :func:`load_scenario`, save atomically with :func:`save_scenario`.
The file format is documented in ``docs/scenario-format.md``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import stat
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, time
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import tomli_w

from geodata._atomic import atomic_folder, write_vector
from geodata._errors import ScenarioError
from geodata._numbers import DECIMAL_CHOICES, THOUSANDS_CHOICES, NumberFormat, format_number
from geodata._validate import (
    MAX_PROBLEMS_PER_COLUMN,
    VN_LAT,
    VN_LON,
    Collector,
    Column,
    check_crs,
    check_lonlat,
    check_refs,
    check_unique,
    normalise_columns,
    parse_columns,
    read_csv_text,
    read_text,
    suggest,
)
from geodata.sanity import sanity_warnings
from geodata.settings import (
    CHANNELS,
    DEFAULT_PROCESSING_MINUTES,
    DEFAULT_SERVICE_MINUTES,
    FIELDS,
    MODES,
    SITE_KINDS,
    SITE_STATUSES,
    WEEKDAYS,
    ZONES,
    CoverageStandard,
    DemandSettings,
    ScenarioFiles,
    ScenarioSettings,
    TravelSettings,
    WorkSettings,
)

logger = logging.getLogger(__name__)

#: Geographic CRS of every table held in a :class:`Scenario`.
WGS84 = "EPSG:4326"


@dataclass(frozen=True, eq=False)
class Scenario:
    """A loaded, validated scenario.

    Attributes
    ----------
    settings : everything in ``scenario.toml``.
    demand : GeoDataFrame in EPSG:4326 with columns ``id, name, population,
        commune_code, commune_name, geometry`` (points or polygons).
    sites : GeoDataFrame in EPSG:4326 with columns ``id, name, kind, status,
        counters, opening_cost, capacity_per_day, commune_code, geometry``
        (points); ``capacity_per_day`` is always filled (derived from counters
        where the file left it empty).
    staff : DataFrame with columns ``id, name, home_site, skills, days_available,
        leave_dates, max_days_per_week, movable``; the list columns hold tuples
        of str (``leave_dates``: tuple of ISO date strings).
    workload : DataFrame with columns ``date`` (datetime64), ``site_id, field,
        channel, dossiers`` (int).
    folder : folder the scenario was loaded from, if any.
    roads_path : absolute path of the road network file, if any.
    warnings : messages of the recoverable problems met while loading.
    communes_path : absolute path of the commune polygons (``[files] communes``), if any.
    ferries : ferry links (``[files] ferries``): columns ``from_lon, from_lat, to_lon,
        to_lat, minutes, label``, one row per link (crossed both ways); empty without.
    """

    settings: ScenarioSettings
    demand: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    staff: pd.DataFrame
    workload: pd.DataFrame
    folder: Path | None = None
    roads_path: Path | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    communes_path: Path | None = None
    ferries: pd.DataFrame = field(default_factory=lambda: _empty(FERRY_COLUMNS))

    @property
    def name(self) -> str:
        return self.settings.name

    def projected(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Return ``gdf`` in the scenario's metric CRS."""
        return gdf.to_crs(self.settings.crs)

    def equals(self, other: Scenario) -> bool:
        """True when settings and every table hold the same data (file locations aside)."""
        if self.settings != other.settings:
            return False
        for name in ("demand", "sites", "staff", "workload", "ferries"):
            a, b = getattr(self, name), getattr(other, name)
            if list(a.columns) != list(b.columns) or len(a) != len(b):
                return False
            try:
                pd.testing.assert_frame_equal(
                    pd.DataFrame(a).reset_index(drop=True), pd.DataFrame(b).reset_index(drop=True),
                    check_dtype=False, check_exact=True,
                )
            except AssertionError:
                return False
        return True


# ---------------------------------------------------------------------------
# Column specifications of the data files (see docs/scenario-format.md)
# ---------------------------------------------------------------------------

_FIELD_CHOICES = FIELDS
DEMAND_COLUMNS: tuple[Column, ...] = (
    Column("id"), Column("name"),
    Column("lon", "float"), Column("lat", "float"),
    Column("population", "float", minimum=0.0, maximum=20_000_000, quantity=True,
           meaning="residents of one row"),
    Column("commune_code", required=False, default=""),
    Column("commune_name", required=False, default=""),
    Column("zone", "enum", required=False, choices=ZONES, default=""),
)
SITE_COLUMNS: tuple[Column, ...] = (
    Column("id"), Column("name"),
    Column("lon", "float"), Column("lat", "float"),
    Column("kind", "enum", choices=SITE_KINDS),
    Column("status", "enum", required=False, choices=SITE_STATUSES, default="optional"),
    Column("counters", "int", required=False, minimum=0, maximum=1000,
           meaning="reception counters at one site"),
    Column("opening_cost", "float", required=False, minimum=0.0, maximum=1e12, default=1.0,
           quantity=True, meaning="cost of one point, in any unit"),
    Column("capacity_per_day", "float", required=False, minimum=0.0, maximum=100_000,
           quantity=True, meaning="dossiers a day at one site"),
    Column("commune_code", required=False, default=""),
)
STAFF_COLUMNS: tuple[Column, ...] = (
    Column("id"), Column("name"), Column("home_site"),
    Column("skills", "list", choices=_FIELD_CHOICES),
    Column("days_available", "list", required=False, choices=WEEKDAYS),
    Column("leave_dates", "datelist", required=False),
    Column("max_days_per_week", "int", required=False, minimum=0, maximum=7),
    Column("movable", "bool", required=False, default=True),
)
WORKLOAD_COLUMNS: tuple[Column, ...] = (
    Column("date", "date"), Column("site_id"),
    Column("field", "enum", choices=_FIELD_CHOICES),
    Column("channel", "enum", choices=CHANNELS),
    Column("dossiers", "int", minimum=0, maximum=100_000,
           meaning="dossiers of one site, day, field and channel"),
)
FERRY_COLUMNS: tuple[Column, ...] = (
    Column("from_lon", "float"), Column("from_lat", "float"),
    Column("to_lon", "float"), Column("to_lat", "float"),
    Column("minutes", "float", minimum=0.0, maximum=1440,
           meaning="minutes of one crossing, waiting included"),
    Column("label", required=False, default=""),
)
_GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
#: Columns read as quantities (see geodata._numbers): written so they read back unambiguously.
_QUANTITIES = frozenset(c.name for spec in (DEMAND_COLUMNS, SITE_COLUMNS, STAFF_COLUMNS,
                                            WORKLOAD_COLUMNS, FERRY_COLUMNS)
                        for c in spec if c.quantity or c.kind == "int")


# ---------------------------------------------------------------------------
# scenario.toml
# ---------------------------------------------------------------------------

_SECTIONS: dict[str, type] = {
    "files": ScenarioFiles, "coverage": CoverageStandard, "travel": TravelSettings,
    "demand": DemandSettings, "work": WorkSettings,
}
_TOP_KEYS = ("name", "description", "crs", "synthetic", *_SECTIONS, "service_minutes",
             "processing_minutes")
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("coverage", "rule"): ("either", "both"),
    ("coverage", "km_measure"): ("network", "straight"),
    ("travel", "mode"): MODES,
    ("files", "decimal"): DECIMAL_CHOICES,
    ("files", "thousands"): THOUSANDS_CHOICES,
}
_POSITIVE = {("coverage", "max_minutes"), ("coverage", "max_km"), ("travel", "access_speed_kph"),
             ("travel", "circuity"), ("work", "hours_per_day"),
             ("work", "dossiers_per_counter_per_day"), ("work", "target_wait_minutes")}
_SHARES = {("demand", "in_person_share"), ("work", "peak_hour_share"),
           ("work", "target_service_level")}
#: Largest sensible value of each number of scenario.toml (docs/scenario-format.md): beyond
#: them a value is a typing slip, and huge ones would overflow the solvers.
_MAXIMUM: dict[tuple[str, str], float] = {
    ("coverage", "max_minutes"): 1440, ("coverage", "max_km"): 1000,
    ("travel", "access_speed_kph"): 200, ("travel", "max_snap_m"): 100_000,
    ("travel", "circuity"): 10,
    ("demand", "dossiers_per_1000_per_year"): 100_000,
    ("work", "hours_per_day"): 24, ("work", "dossiers_per_counter_per_day"): 10_000,
    ("work", "target_wait_minutes"): 1440,
}
#: Largest value in the number tables (km/h; minutes per dossier).
_MAP_MAXIMUM: dict[str, float] = {"speeds_kph": 200, "service_minutes": 1440,
                                  "processing_minutes": 10_080}


def _is_number(v: Any) -> bool:
    try:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    except OverflowError:  # an int too large for a float
        return False


def _parse_section(name: str, table: Any, cls: type, col: Collector) -> Any:
    label = "scenario.toml"
    if not isinstance(table, dict):
        col.add(label, f"[{name}] must be a table", value=table)
        return cls()
    defaults = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        if key not in defaults:
            col.add(label, f"unknown key {key!r} in [{name}]" + suggest(key, defaults),
                    expected="one of " + ", ".join(defaults))
            continue
        default = getattr(cls(), key)
        where = f"[{name}] {key}"
        if (name, key) in _CHOICES and value not in _CHOICES[(name, key)]:
            col.add(label, f"{where}: not an allowed value" + suggest(str(value), _CHOICES[(name, key)]),
                    value=value, expected="one of " + ", ".join(_CHOICES[(name, key)]))
            continue
        if isinstance(default, bool):
            if not isinstance(value, bool):
                col.add(label, f"{where}: wrong type", value=value, expected="true or false")
                continue
        elif isinstance(default, float):
            if not _is_number(value):
                col.add(label, f"{where}: wrong type", value=value, expected="a finite number")
                continue
            value = float(value)
            if (name, key) in _POSITIVE and value <= 0:
                col.add(label, f"{where}: must be positive", value=value, expected="a number > 0")
                continue
            if (name, key) in _SHARES and not 0 <= value <= 1:
                col.add(label, f"{where}: must be a share", value=value, expected="a number from 0 to 1")
                continue
            if value < 0:
                col.add(label, f"{where}: must not be negative", value=value, expected="a number >= 0")
                continue
            top = _MAXIMUM.get((name, key))
            if top is not None and value > top:
                col.add(label, f"{where}: too large", value=table[key],
                        expected=f"a number from 0 to {top:g}")
                continue
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                col.add(label, f"{where}: wrong type", value=value, expected="a list of strings")
                continue
            value = tuple(value)
            if key == "days":
                bad = [d for d in value if d not in WEEKDAYS]
                if bad or not value:
                    col.add(label, f"{where}: not weekdays", value=bad or value,
                            expected="a non-empty list of " + ", ".join(WEEKDAYS))
                    continue
            if key == "holidays":
                for d in value:
                    try:
                        date.fromisoformat(d)
                    except ValueError:
                        col.add(label, f"{where}: not a date", value=d, expected="YYYY-MM-DD")
        elif isinstance(default, dict):
            value = _parse_number_map(where, value, key, col)
            if value is None:
                continue
        elif default is None or isinstance(default, str):
            if not isinstance(value, str):
                col.add(label, f"{where}: wrong type", value=value, expected="text")
                continue
            if _has_control(value):
                col.add(label, f"{where}: contains a control character", value=value,
                        expected="text without control characters")
                continue
        kwargs[key] = value
    if name == "files" and kwargs.get("decimal") is not None and (
            kwargs.get("decimal") == kwargs.get("thousands")):
        col.add(label, "[files] decimal and thousands: the same separator", value=kwargs["decimal"],
                expected='different separators, e.g. decimal = "," with thousands = "."')
        kwargs.pop("decimal"), kwargs.pop("thousands")
    if name == "work" and "open_time" in kwargs:
        try:
            time.fromisoformat(kwargs["open_time"])
        except ValueError:
            col.add(label, "[work] open_time: not a time", value=kwargs.pop("open_time"),
                    expected="HH:MM")
    return cls(**kwargs)


def _parse_number_map(where: str, value: Any, key: str, col: Collector) -> dict[str, Any] | None:
    """``speeds_kph`` is mode -> class -> km/h; the other maps are field -> number."""
    label = "scenario.toml"
    if not isinstance(value, dict):
        col.add(label, f"{where}: wrong type", value=value, expected="a table")
        return None
    if key == "speeds_kph":
        out: dict[str, Any] = {}
        for mode, table in value.items():
            if mode not in MODES:
                col.add(label, f"{where}: unknown mode {mode!r}" + suggest(mode, MODES),
                        expected="one of " + ", ".join(MODES))
                continue
            inner = _parse_number_map(f"{where}.{mode}", table, "", col)
            if inner is not None:
                out[mode] = inner
        return out
    numbers: dict[str, float] = {}
    for k, v in value.items():
        if key in ("zone_speed_kph", "zone_circuity") and k not in ZONES:
            col.add(label, f"{where}: unknown zone {k!r}" + suggest(k, ZONES),
                    expected="one of " + ", ".join(ZONES))
            continue
        if key in ("in_person_share_by_field", "service_minutes", "processing_minutes") and k not in FIELDS:
            col.add(label, f"{where}: unknown field {k!r}" + suggest(k, FIELDS),
                    expected="one of " + ", ".join(FIELDS))
            continue
        if not _is_number(v) or v < 0:
            col.add(label, f"{where}.{k}: must be a number >= 0", value=v, expected="a number >= 0")
            continue
        if (key == "zone_speed_kph" and v <= 0) or (key == "zone_circuity" and v < 1):
            col.add(label, f"{where}.{k}: out of range", value=v,
                    expected="a speed > 0 km/h" if key == "zone_speed_kph" else "a circuity >= 1")
            continue
        top = _MAP_MAXIMUM.get(key or "speeds_kph")  # key "": the km/h of one travel mode
        if top is not None and v > top:
            col.add(label, f"{where}.{k}: too large", value=v, expected=f"a number from 0 to {top:g}")
            continue
        if key == "in_person_share_by_field" and v > 1:
            col.add(label, f"{where}.{k}: must be a share", value=v, expected="a number from 0 to 1")
            continue
        numbers[k] = float(v)
    return numbers


def _parse_settings(data: dict[str, Any], col: Collector) -> ScenarioSettings:
    label = "scenario.toml"
    for key in data:
        if key not in _TOP_KEYS:
            col.add(label, f"unknown key {key!r}" + suggest(key, _TOP_KEYS),
                    expected="one of " + ", ".join(_TOP_KEYS))
    kwargs: dict[str, Any] = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        col.add(label, "missing or empty 'name'", value=name, expected="a scenario name")
        name = "unnamed"
    if _has_control(name):
        col.add(label, "name: contains a control character", value=name,
                expected="text without control characters")
        name = "unnamed"
    kwargs["name"] = name
    for key in ("description", "crs"):
        if key in data:
            if not isinstance(data[key], str):
                col.add(label, f"{key}: wrong type", value=data[key], expected="text")
            elif _has_control(data[key], allow="\t\n\r" if key == "description" else ""):
                col.add(label, f"{key}: contains a control character", value=data[key],
                        expected="text without control characters"
                        + (" (line breaks and tabs are fine)" if key == "description" else ""))
            else:
                kwargs[key] = data[key]
    if "synthetic" in data:
        if isinstance(data["synthetic"], bool):
            kwargs["synthetic"] = data["synthetic"]
        else:
            col.add(label, "synthetic: wrong type", value=data["synthetic"], expected="true or false")
    for section, cls in _SECTIONS.items():
        if section in data:
            kwargs[section] = _parse_section(section, data[section], cls, col)
    for key, defaults in (("service_minutes", DEFAULT_SERVICE_MINUTES),
                          ("processing_minutes", DEFAULT_PROCESSING_MINUTES)):
        merged = dict(defaults)
        if key in data:
            given = _parse_number_map(f"[{key}]", data[key], key, col)
            merged.update(given or {})
        kwargs[key] = merged
    settings = ScenarioSettings(**kwargs)
    check_crs(settings.crs, col)
    return settings


def _has_control(text: str, allow: str = "") -> bool:
    """``text`` holds a control character (C0, DEL, C1) other than those in ``allow``."""
    return any((ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) and ch not in allow for ch in text)


def number_format(settings: ScenarioSettings) -> NumberFormat:
    """The number format the scenario's files declare in ``[files]``."""
    return NumberFormat(settings.files.decimal, settings.files.thousands)


def settings_to_dict(settings: ScenarioSettings) -> dict[str, Any]:
    """Settings as a TOML-ready dict (``None`` values dropped, tuples as lists)."""

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    out = cast(dict[str, Any], clean(asdict(settings)))
    # optional sections added later stay out of the file while unused (files stay byte-stable)
    for key in ("zone_speed_kph", "zone_circuity"):
        if not out["travel"].get(key):
            out["travel"].pop(key, None)
    for key in ("communes", "ferries"):
        if out["files"].get(key) is None:
            out["files"].pop(key, None)
    return out


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def _read_table(folder: Path, name: str, spec: Sequence[Column], col: Collector,
                geometry: bool, fmt: NumberFormat) -> tuple[pd.DataFrame | None, Any]:
    """Read a CSV (or vector file when ``geometry``) into typed columns + geometry."""
    path = folder / name
    if geometry and path.suffix.lower() in _GEO_SUFFIXES:
        return _read_vector(path, name, spec, col, fmt)
    raw = read_csv_text(path, name, col)
    if raw is None:
        return None, None
    if raw.empty:
        col.add(name, "file has a header but no data rows", expected="at least one data row")
        return None, None
    raw = normalise_columns(raw, spec, name, col)
    if raw is None:
        return None, None
    table = parse_columns(raw, spec, name, col, fmt)
    if not geometry:
        return table, None
    lon, lat = table["lon"].to_numpy(float), table["lat"].to_numpy(float)
    check_lonlat(lon, lat, name, col)
    geom = gpd.points_from_xy(lon, lat, crs=WGS84)
    return table.drop(columns=["lon", "lat"]), geom


def _read_vector(path: Path, name: str, spec: Sequence[Column], col: Collector,
                 fmt: NumberFormat) -> tuple[pd.DataFrame | None, Any]:
    if not path.exists():
        col.add(name, "file not found", expected="an existing file (check [files] in scenario.toml)")
        return None, None
    try:
        uri = f"zip://{path}" if path.suffix.lower() == ".zip" else path
        gdf = gpd.read_file(uri)
    except Exception as exc:  # noqa: BLE001 - GDAL raises many types; all mean "unreadable"
        col.add(name, f"cannot be read as a vector file: {exc}",
                expected="GeoJSON, GeoPackage, shapefile or zipped GeoJSON")
        return None, None
    if gdf.empty:
        col.add(name, "file has no features", expected="at least one feature")
        return None, None
    if gdf.geometry.isna().any() or gdf.geometry.is_empty.any():
        bad = np.flatnonzero((gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy())
        for i in bad[:MAX_PROBLEMS_PER_COLUMN]:
            col.add(name, "feature has no geometry", row=int(i) + 2, column="geometry")
        return None, None
    if gdf.crs is None:
        b = gdf.total_bounds
        if abs(b[0]) > 360 or abs(b[1]) > 90:
            col.add(name, "file has no CRS and its coordinates are not degrees", value=list(b),
                    expected="a CRS in the file (e.g. EPSG:32648) or WGS84 lon/lat")
            return None, None
        col.warn(name, "file declares no CRS; assumed WGS84 lon/lat (EPSG:4326)")
        gdf = gdf.set_crs(WGS84)
    gdf = gdf.to_crs(WGS84)
    spec_no_xy = [c for c in spec if c.name not in ("lon", "lat")]
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    numeric = [c for c in attrs.columns if pd.api.types.is_numeric_dtype(attrs[c])
               and not pd.api.types.is_bool_dtype(attrs[c])]
    text = attrs.astype(str).replace({"None": "", "nan": "", "<NA>": ""})
    # numbers stored as numbers stay numbers: no separator to misread
    attrs = text.assign(**{c: attrs[c] for c in numeric})
    matched = normalise_columns(attrs, spec_no_xy, name, col, extra_ok=("lon", "lat"))
    if matched is None:
        return None, None
    table = parse_columns(matched, spec_no_xy, name, col, fmt)
    rep = gdf.geometry.representative_point()
    b = gdf.total_bounds
    if (b[0] < VN_LON[0] or b[2] > VN_LON[1] or b[1] < VN_LAT[0] or b[3] > VN_LAT[1]):
        src = "its declared CRS" if gdf.crs is not None else "WGS84"
        col.add(name, f"geometries fall outside Vietnam after reading them in {src}",
                value=[round(float(x), 4) for x in b],
                expected="a file whose CRS matches its coordinates")
        check_lonlat(rep.x.to_numpy(), rep.y.to_numpy(), name, col)
    return table, gdf.geometry.reset_index(drop=True)


#: Keys of ``[files]`` that name a file (``place`` names a place to download).
FILE_KEYS: tuple[str, ...] = ("demand", "sites", "staff", "workload", "roads", "communes",
                               "ferries")
#: Files a shapefile needs beside its ``.shp``.
_SHAPEFILE_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def _inside(folder: Path, name: str) -> Path | None:
    """``folder / name`` resolved, if it stays inside ``folder`` and is not a
    folder, device or pipe (a missing file passes: it is reported as not found)."""
    root = folder.resolve()
    path = (folder / name).resolve()
    if path == root or not path.is_relative_to(root):
        return None
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path
    except OSError:
        return None
    return path if stat.S_ISREG(mode) else None


def _check_file_paths(folder: Path, files: ScenarioFiles, col: Collector) -> set[str]:
    """Report every ``[files]`` path that leaves the scenario folder or is not a
    regular file (``/dev/zero``, ``/etc/passwd``, ``../x``, a FIFO); return their keys."""
    bad = set()
    for key in FILE_KEYS:
        name = getattr(files, key)
        if name is None:
            continue
        if _inside(folder, name) is None:
            bad.add(key)
            col.add(f"scenario.toml, [files] {key} = {name!r}",
                    "must be a file inside the scenario folder")
    return bad


def _read_settings(folder: Path, col: Collector) -> ScenarioSettings:
    """``folder/scenario.toml`` parsed and checked; its problems go to ``col`` (an
    unreadable file or invalid TOML raises at once: nothing else can be checked)."""
    text = read_text(folder / "scenario.toml", "scenario.toml", col)
    if text is None:
        col.raise_if_any()
    try:
        data = tomllib.loads(text or "")
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", file="scenario.toml") from None
    return _parse_settings(data, col)


def scenario_files(folder: str | Path) -> list[str]:
    """The files a scenario folder is made of, as paths relative to it: ``scenario.toml``
    then every existing file its ``[files]`` table names (with a shapefile's sidecars).

    Used to copy a scenario (an upload) without anything else that lay beside it.
    Raises :class:`ScenarioError` when ``scenario.toml`` is unreadable or a path
    leaves the folder.
    """
    folder = Path(folder)
    col = Collector()
    settings = _read_settings(folder, col)
    _check_file_paths(folder, settings.files, col)
    col.raise_if_any()
    base = folder.absolute()
    out = ["scenario.toml"]
    for key in FILE_KEYS:
        name = getattr(settings.files, key)
        if not name:
            continue
        # the path as the toml names it (not where a symlink leads), so a copy still matches
        rel = Path(os.path.relpath(os.path.normpath(base / name), base))
        names = [rel]
        if rel.suffix.lower() == ".shp":
            names += [rel.with_suffix(s) for s in _SHAPEFILE_SIDECARS]
        for r in names:
            path = _inside(folder, str(r))
            if path is not None and path.is_file() and r.as_posix() not in out:
                out.append(r.as_posix())
    return out


def load_scenario(folder: str | Path) -> Scenario:
    """Load and validate a scenario folder.

    Parameters
    ----------
    folder : path of a folder holding ``scenario.toml`` (or the toml file itself).

    Returns
    -------
    Scenario
        Validated tables in EPSG:4326 and the settings.

    Raises
    ------
    ScenarioError
        Listing every problem found (file, row, column, value, what was expected).
        Recoverable problems are emitted as :class:`ScenarioWarning` instead and
        kept in ``Scenario.warnings``.
    """
    folder = Path(folder)
    if folder.is_file() and folder.name.endswith(".toml"):
        folder = folder.parent
    col = Collector()
    if not folder.is_dir():
        raise ScenarioError(f"scenario folder not found: {folder}", file=str(folder))
    settings = _read_settings(folder, col)
    files = settings.files
    fmt = number_format(settings)
    bad = _check_file_paths(folder, files, col)

    demand = demand_geom = sites = sites_geom = None
    if "demand" not in bad:
        demand, demand_geom = _read_table(folder, files.demand, DEMAND_COLUMNS, col, True, fmt)
    if "sites" not in bad:
        sites, sites_geom = _read_table(folder, files.sites, SITE_COLUMNS, col, True, fmt)
    staff = workload = None
    if files.staff and "staff" not in bad:
        staff, _ = _read_table(folder, files.staff, STAFF_COLUMNS, col, False, fmt)
    if files.workload and "workload" not in bad:
        workload, _ = _read_table(folder, files.workload, WORKLOAD_COLUMNS, col, False, fmt)
    ferries = None
    if files.ferries and "ferries" not in bad:
        ferries = _read_ferries(folder, files.ferries, col, fmt)

    roads_path: Path | None = None
    if files.roads and "roads" not in bad:
        roads_path = (folder / files.roads).resolve()
        if roads_path.suffix.lower() not in (".graphml", ".osm", ".xml"):
            col.add("scenario.toml", "[files] roads: unsupported road network format",
                    value=files.roads, expected="a .graphml (osmnx) or .osm (OpenStreetMap XML) file")
        elif not roads_path.exists():
            col.add(files.roads, "file not found", expected="the road network named in [files] roads")

    communes_path: Path | None = None
    if files.communes and "communes" not in bad:
        communes_path = (folder / files.communes).resolve()
        if communes_path.suffix.lower() not in (".geojson", ".json", ".gpkg"):
            col.add("scenario.toml", "[files] communes: unsupported format", value=files.communes,
                    expected="a .geojson or .gpkg file of commune polygons")
        elif not communes_path.exists():
            col.add(files.communes, "file not found",
                    expected="the commune polygons named in [files] communes")

    site_ids: set[str] = set()
    if demand is not None:
        check_unique(demand["id"], files.demand, "id", col)
    if sites is not None:
        check_unique(sites["id"], files.sites, "id", col)
        site_ids = set(sites["id"])
        if sites_geom is not None and not (sites_geom.geom_type == "Point").all():
            col.add(files.sites, "sites must be points", column="geometry",
                    expected="Point geometries (or lon/lat columns)")
    if staff is not None:
        check_unique(staff["id"], str(files.staff), "id", col)
        if sites is not None:
            check_refs(staff["home_site"], site_ids, str(files.staff), "home_site", files.sites, col)
        staff = _fill_staff_defaults(staff, settings, str(files.staff), col)
    if workload is not None and sites is not None:
        check_refs(workload["site_id"], site_ids, str(files.workload), "site_id", files.sites, col)
    col.raise_if_any()
    assert demand is not None and sites is not None

    sites = _fill_site_defaults(sites, settings)
    demand_gdf = gpd.GeoDataFrame(demand, geometry=demand_geom, crs=WGS84)
    sites_gdf = gpd.GeoDataFrame(sites, geometry=sites_geom, crs=WGS84)
    staff_df = staff if staff is not None else _empty(STAFF_COLUMNS)
    workload_df = workload if workload is not None else _empty(WORKLOAD_COLUMNS)
    # rows that are valid but look wrong (a site 300 km away, a commune with no office)
    col.warnings.extend(sanity_warnings(
        demand_gdf, sites_gdf, workload_df, settings.crs, sites_file=files.sites,
        demand_file=files.demand, workload_file=files.workload, communes_path=communes_path,
        communes_file=files.communes))
    col.emit_warnings()
    if workload is not None:
        workload_df = workload_df.assign(dossiers=workload_df["dossiers"].astype("int64"))
    scenario = Scenario(settings, demand_gdf, sites_gdf, staff_df, workload_df,
                        folder=folder.resolve(), roads_path=roads_path,
                        warnings=tuple(col.warnings), communes_path=communes_path,
                        ferries=ferries if ferries is not None else _empty(FERRY_COLUMNS))
    logger.info("loaded scenario %r: %d demand rows, %d sites, %d staff, %d workload rows",
                settings.name, len(demand_gdf), len(sites_gdf), len(staff_df), len(workload_df))
    return scenario


def _read_ferries(folder: Path, name: str, col: Collector, fmt: NumberFormat
                  ) -> pd.DataFrame | None:
    """The ferry links of ``[files] ferries``: both ends in Vietnam and apart."""
    table, _ = _read_table(folder, name, FERRY_COLUMNS, col, False, fmt)
    if table is None:
        return None
    for end in ("from", "to"):
        lon, lat = table[f"{end}_lon"].to_numpy(float), table[f"{end}_lat"].to_numpy(float)
        before = len(col.problems)
        check_lonlat(lon, lat, name, col)
        # name the end: from_lon/from_lat or to_lon/to_lat
        col.problems[before:] = [replace(p, column=f"{end}_lon/{end}_lat")
                                 if p.column == "lon/lat" else p for p in col.problems[before:]]
    same = ((table["from_lon"] == table["to_lon"]) & (table["from_lat"] == table["to_lat"]))
    for i in np.flatnonzero(same.to_numpy()):
        col.add(name, "the two ends of the ferry are the same point", row=int(i) + 2,
                column="to_lon/to_lat", value=f"{table['to_lon'].iloc[i]:g}, "
                f"{table['to_lat'].iloc[i]:g}", expected="the pier on the other side")
    return table


def _empty(spec: Sequence[Column]) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype=object) for c in spec})


def _fill_site_defaults(sites: pd.DataFrame, settings: ScenarioSettings) -> pd.DataFrame:
    """Counters default to 1 (0 for candidates); capacity to counters x per-counter rate."""
    sites = sites.copy()
    counters = sites["counters"]
    default_counters = np.where(sites["kind"] == "candidate", 0, 1)
    sites["counters"] = counters.fillna(pd.Series(default_counters, index=sites.index)).astype("int64")
    per_counter = settings.work.dossiers_per_counter_per_day
    derived = np.maximum(sites["counters"].to_numpy(), 1) * per_counter
    sites["capacity_per_day"] = sites["capacity_per_day"].fillna(
        pd.Series(derived, index=sites.index)).astype(float)
    return sites


def _fill_staff_defaults(staff: pd.DataFrame, settings: ScenarioSettings, label: str,
                         col: Collector) -> pd.DataFrame:
    staff = staff.copy()
    days = tuple(settings.work.days)
    staff["days_available"] = [d if d else days for d in staff["days_available"]]
    staff["leave_dates"] = [d if isinstance(d, tuple) else () for d in staff["leave_dates"]]
    for i, skills in enumerate(staff["skills"]):
        if not skills:
            col.add(label, "a person needs at least one skill", row=i + 2, column="skills",
                    expected="a ';'-separated list of " + ", ".join(FIELDS))
    max_days = staff["max_days_per_week"].fillna(len(days)).astype("int64")
    staff["max_days_per_week"] = max_days
    return staff


# ---------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------


def to_csv_table(df: pd.DataFrame, fmt: NumberFormat) -> pd.DataFrame:
    """Cells as the loader reads them back: lists joined by ``;``, ISO dates, numbers in ``fmt``."""
    out = pd.DataFrame(df).copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = [format_number(float(v), fmt, quantity=c in _QUANTITIES) for v in out[c]]
        elif out[c].dtype == object and any(isinstance(v, tuple) for v in out[c]):
            out[c] = [";".join(v) if isinstance(v, tuple) else v for v in out[c]]
        elif pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(out[c]):
            out[c] = out[c].map({True: "true", False: "false"})
    return out


def _write_points_csv(gdf: gpd.GeoDataFrame, path: Path, order: Sequence[str],
                      fmt: NumberFormat) -> None:
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    table.insert(2, "lon", gdf.geometry.x.to_numpy())
    table.insert(3, "lat", gdf.geometry.y.to_numpy())
    table = table[[c for c in order if c in table.columns]]
    to_csv_table(table, fmt).to_csv(path, index=False, encoding="utf-8")


def save_scenario(scenario: Scenario, folder: str | Path) -> Path:
    """Write a scenario folder atomically; loading it again gives equal data.

    Everything is written to a temporary folder beside the target, which then
    replaces the target in one rename, so a failed save never leaves a half-
    written scenario and never destroys the previous one.

    Returns
    -------
    Path
        The scenario folder.
    """
    folder = Path(folder).resolve()
    with atomic_folder(folder) as tmp:
        write_scenario_files(scenario, tmp)
    logger.info("saved scenario %r to %s", scenario.settings.name, folder)
    return folder


def write_scenario_files(scenario: Scenario, tmp: Path) -> None:
    """Write the files of ``scenario`` into the existing folder ``tmp`` (see :func:`save_scenario`)."""
    settings = scenario.settings
    files = settings.files
    demand_is_points = bool((scenario.demand.geometry.geom_type == "Point").all())
    demand_name = files.demand
    if demand_is_points and not demand_name.lower().endswith((".csv", ".csv.gz")):
        demand_name = "demand.csv"
    if not demand_is_points and not demand_name.lower().endswith((".geojson", ".gpkg")):
        demand_name = "demand.geojson"
    sites_name = files.sites if files.sites.lower().endswith((".csv", ".csv.gz")) else "sites.csv"
    staff_name = files.staff or ("staff.csv" if len(scenario.staff) else None)
    workload_name = files.workload or ("workload.csv.gz" if len(scenario.workload) else None)
    roads_name = files.roads
    if scenario.roads_path is not None:
        roads_name = files.roads if files.roads and "/" not in files.roads else scenario.roads_path.name
        shutil.copy2(scenario.roads_path, tmp / roads_name)
    communes_name = files.communes
    if scenario.communes_path is not None and scenario.communes_path.exists():
        communes_name = scenario.communes_path.name
        shutil.copy2(scenario.communes_path, tmp / communes_name)
    elif scenario.communes_path is not None:
        communes_name = None
    ferries_name = files.ferries or ("ferries.csv" if len(scenario.ferries) else None)
    if ferries_name is not None and not len(scenario.ferries):
        ferries_name = None
    new_files = replace(files, demand=demand_name, sites=sites_name, staff=staff_name,
                        workload=workload_name, roads=roads_name, communes=communes_name,
                        ferries=ferries_name)
    settings = replace(settings, files=new_files)
    fmt = number_format(settings)

    demand_cols = [c.name for c in DEMAND_COLUMNS]
    if demand_is_points:
        _write_points_csv(scenario.demand, tmp / demand_name, demand_cols, fmt)
    else:
        gdf = scenario.demand[[c for c in demand_cols if c in scenario.demand] + ["geometry"]]
        driver = "GPKG" if demand_name.lower().endswith(".gpkg") else "GeoJSON"
        write_vector(gdf, tmp / demand_name, driver=driver)
    _write_points_csv(scenario.sites, tmp / sites_name, [c.name for c in SITE_COLUMNS], fmt)
    if staff_name:
        to_csv_table(scenario.staff[[c.name for c in STAFF_COLUMNS]], fmt).to_csv(
            tmp / staff_name, index=False, encoding="utf-8")
    if workload_name:
        to_csv_table(scenario.workload[[c.name for c in WORKLOAD_COLUMNS]], fmt).to_csv(
            tmp / workload_name, index=False, encoding="utf-8",
            compression={"method": "gzip", "mtime": 0} if workload_name.endswith(".gz") else None)
    if ferries_name:
        to_csv_table(scenario.ferries[[c.name for c in FERRY_COLUMNS]], fmt).to_csv(
            tmp / ferries_name, index=False, encoding="utf-8")
    (tmp / "scenario.toml").write_bytes(tomli_w.dumps(settings_to_dict(settings)).encode("utf-8"))
