"""Scenario: the validated contents of a scenario folder.

Load with :func:`load_scenario`, save atomically with :func:`save_scenario`.
The file format is documented in ``docs/scenario-format.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geodata.settings import ScenarioSettings

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
    """

    settings: ScenarioSettings
    demand: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    staff: pd.DataFrame
    workload: pd.DataFrame
    folder: Path | None = None
    roads_path: Path | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.settings.name

    def projected(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Return ``gdf`` in the scenario's metric CRS."""
        return gdf.to_crs(self.settings.crs)
