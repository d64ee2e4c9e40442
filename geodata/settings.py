"""Scenario settings: frozen dataclasses with every default documented.

These mirror the tables of ``scenario.toml`` (see ``docs/scenario-format.md``).
Unknown keys are rejected by :mod:`geodata._validate`, never silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: Dossier fields (lĩnh vực) used throughout motcua.
FIELDS: tuple[str, ...] = ("land", "justice", "business", "construction", "labour", "other")
#: Travel modes with default speed tables in :mod:`geodata.network`.
MODES: tuple[str, ...] = ("motorbike", "car", "walk")
#: Weekday codes, Monday first (``date.weekday()`` indexes into it).
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SITE_KINDS: tuple[str, ...] = ("branch", "reception", "candidate")
SITE_STATUSES: tuple[str, ...] = ("must_open", "optional", "closed")
CHANNELS: tuple[str, ...] = ("online", "in_person")

#: Travel zones of the straight-line fallback (see :mod:`geodata.zones`).
ZONES: tuple[str, ...] = ("urban", "peri_urban", "rural", "mountain")
#: Default straight-line motorbike speed per zone, km/h (overridable in
#: ``[travel.zone_speed_kph]``): city traffic and mountain roads are both slow.
ZONE_SPEED_KPH: dict[str, float] = {"urban": 20.0, "peri_urban": 30.0, "rural": 35.0,
                                    "mountain": 20.0}
#: Default circuity (road km / straight km) per zone (``[travel.zone_circuity]``):
#: dense street grids are nearly direct, mountain roads wind.
ZONE_CIRCUITY: dict[str, float] = {"urban": 1.3, "peri_urban": 1.3, "rural": 1.4,
                                   "mountain": 1.6}
#: Residents per km² from which a unit is urban / peri-urban (import options).
URBAN_DENSITY_PER_KM2 = 1500.0
PERI_URBAN_DENSITY_PER_KM2 = 500.0
#: Without an elevation raster, a unit sparser than this (residents per km²) is
#: taken as mountain: in Vietnam the sparse communes are the upland ones.
MOUNTAIN_DENSITY_PER_KM2 = 100.0
#: With an elevation raster, a non-urban demand point at or above this height is mountain.
MOUNTAIN_ELEVATION_M = 300.0

Rule = Literal["either", "both"]
KmMeasure = Literal["network", "straight"]


@dataclass(frozen=True)
class CoverageStandard:
    """Who counts as covered by a reception point.

    max_minutes : travel time limit in minutes (default 30).
    max_km : distance limit in kilometres (default 5).
    rule : ``"either"`` covers a point within minutes OR km; ``"both"`` needs both.
    km_measure : ``"network"`` measures km along roads, ``"straight"`` as a radius.
    """

    max_minutes: float = 30.0
    max_km: float = 5.0
    rule: Rule = "either"
    km_measure: KmMeasure = "network"


@dataclass(frozen=True)
class TravelSettings:
    """How people travel to a reception point.

    mode : ``motorbike`` (default, how most Vietnamese travel), ``car`` or ``walk``.
    access_speed_kph : speed on the off-network leg from a point to its nearest road (4.5).
    max_snap_m : points farther than this from any road are reported (1000 m).
    circuity : straight-line fallback factor, network km = straight km x circuity (1.3).
    speeds_kph : per-mode overrides of the default speed per OSM highway class.
    zone_speed_kph : per-zone overrides of :data:`ZONE_SPEED_KPH`, used without a road
        network for demand points with a ``zone`` (motorbike mode; car and walk keep
        their single straight-line speed).
    zone_circuity : per-zone overrides of :data:`ZONE_CIRCUITY` (every mode).
    """

    mode: str = "motorbike"
    access_speed_kph: float = 4.5
    max_snap_m: float = 1000.0
    circuity: float = 1.3
    speeds_kph: dict[str, dict[str, float]] = field(default_factory=dict)
    zone_speed_kph: dict[str, float] = field(default_factory=dict)
    zone_circuity: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DemandSettings:
    """How residents turn into dossiers.

    dossiers_per_1000_per_year : dossiers per 1,000 residents per year (1000, about one each).
    in_person_share : overall share filed in person rather than online (0.3).
    in_person_share_by_field : per-field overrides of ``in_person_share``.
    """

    dossiers_per_1000_per_year: float = 1000.0
    in_person_share: float = 0.3
    in_person_share_by_field: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkSettings:
    """Working calendar and service targets.

    days : working weekdays (Mon-Sat by default; Saturday mornings are common).
    hours_per_day : counter hours per working day (8).
    open_time : opening time, ``HH:MM`` (07:30).
    holidays : ISO dates on which every site is closed.
    dossiers_per_counter_per_day : capacity of one counter when a site gives none (40).
    peak_hour_share : share of a day's in-person visitors arriving in the peak hour (0.2).
    target_wait_minutes : queueing target wait in minutes (15).
    target_service_level : share of visitors that must wait less than the target (0.8).
    """

    days: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
    hours_per_day: float = 8.0
    open_time: str = "07:30"
    holidays: tuple[str, ...] = ()
    dossiers_per_counter_per_day: float = 40.0
    peak_hour_share: float = 0.2
    target_wait_minutes: float = 15.0
    target_service_level: float = 0.8


#: Default reception minutes per in-person dossier, by field.
DEFAULT_SERVICE_MINUTES: dict[str, float] = {
    "land": 25.0, "justice": 12.0, "business": 20.0,
    "construction": 25.0, "labour": 15.0, "other": 10.0,
}
#: Default back-office processing minutes per dossier, by field.
DEFAULT_PROCESSING_MINUTES: dict[str, float] = {
    "land": 30.0, "justice": 10.0, "business": 20.0,
    "construction": 30.0, "labour": 15.0, "other": 8.0,
}


@dataclass(frozen=True)
class ScenarioFiles:
    """Names of the data files, relative to the scenario folder, and how their numbers are written.

    decimal : decimal point of every number in the CSV files, ``"."`` or ``","``
        (``None``: not declared).
    thousands : thousands separator, ``","``, ``"."``, ``" "`` (any space) or ``""``
        (none); ``None``: not declared.  See :mod:`geodata._numbers`.
    communes : optional commune polygons (GeoJSON/GeoPackage with ``id, name,
        commune_code, population``), written by ``motcua import``: the province's
        boundary for the sanity checks, each office's commune, and the land masses
        (islands) of the straight-line fallback.
    ferries : optional CSV of ferry links (``from_lon, from_lat, to_lon, to_lat, minutes,
        label``): how the straight-line fallback crosses water between land masses.
    """

    demand: str = "demand.csv"
    sites: str = "sites.csv"
    staff: str | None = None
    workload: str | None = None
    roads: str | None = None
    place: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    communes: str | None = None
    ferries: str | None = None


@dataclass(frozen=True)
class ScenarioSettings:
    """Everything in ``scenario.toml``."""

    name: str
    description: str = ""
    crs: str = "EPSG:32648"
    synthetic: bool = False
    files: ScenarioFiles = field(default_factory=ScenarioFiles)
    coverage: CoverageStandard = field(default_factory=CoverageStandard)
    travel: TravelSettings = field(default_factory=TravelSettings)
    demand: DemandSettings = field(default_factory=DemandSettings)
    work: WorkSettings = field(default_factory=WorkSettings)
    service_minutes: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SERVICE_MINUTES))
    processing_minutes: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PROCESSING_MINUTES)
    )


#: Default cap, in MB, on one text file of a scenario (CSV, ``scenario.toml``) after
#: decompression; ``$MOTCUA_MAX_TEXT_MB`` overrides it (see ``docs/scenario-format.md``).
#: 200 MB holds years of a province's daily workload (a year is about 35 MB) while a
#: ``.gz`` bomb is stopped after reading 200 MB instead of filling the memory.
MAX_TEXT_MB = 200.0


def max_text_bytes() -> int:
    """The cap on one decompressed text file, in bytes (``$MOTCUA_MAX_TEXT_MB`` or 200 MB).

    A value that is not a positive number is ignored with a log line.
    """
    import logging
    import os

    raw = os.environ.get("MOTCUA_MAX_TEXT_MB", "").strip()
    mb = MAX_TEXT_MB
    if raw:
        try:
            mb = float(raw)
            if not mb > 0 or mb == float("inf"):
                raise ValueError(raw)
        except ValueError:
            logging.getLogger(__name__).warning(
                "MOTCUA_MAX_TEXT_MB=%r is not a positive number of MB; using %g", raw, MAX_TEXT_MB)
            mb = MAX_TEXT_MB
    return int(mb * 1024 * 1024)
