"""Travel zones for the straight-line fallback: urban, peri-urban, rural, mountain.

Without a road network a trip is timed as straight km x circuity at a speed.
One speed everywhere (30 km/h) is wrong twice: city traffic is slower, so the
5 km clause never binds, and mountain roads are slower and wind more.  The
importer gives every demand point the zone of the finest unit it was spread
from (:func:`classify_zones`), and coverage times a trip at the speed and
circuity of the zone where the resident lives (:func:`zone_speed_circuity`),
with the defaults of :mod:`geodata.settings` overridable in ``scenario.toml``
(``[travel.zone_speed_kph]``, ``[travel.zone_circuity]``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geodata.settings import (
    MOUNTAIN_DENSITY_PER_KM2,
    MOUNTAIN_ELEVATION_M,
    PERI_URBAN_DENSITY_PER_KM2,
    URBAN_DENSITY_PER_KM2,
    ZONE_CIRCUITY,
    ZONE_SPEED_KPH,
    ZONES,
    TravelSettings,
)


def classify_zones(density: npt.ArrayLike, elevation_m: npt.ArrayLike | None = None,
                   urban: float = URBAN_DENSITY_PER_KM2,
                   peri_urban: float = PERI_URBAN_DENSITY_PER_KM2,
                   mountain_density: float = MOUNTAIN_DENSITY_PER_KM2,
                   mountain_elevation_m: float = MOUNTAIN_ELEVATION_M) -> npt.NDArray[np.str_]:
    """Zone of each point from its unit's density (residents / km²) and, if known, its elevation.

    ``urban`` from ``urban`` residents/km², ``peri_urban`` from ``peri_urban``;
    below that ``mountain`` when the elevation is at least
    ``mountain_elevation_m`` (with an elevation raster) or, without one, when
    the density is below ``mountain_density``; ``rural`` otherwise.
    """
    d = np.asarray(density, dtype=float)
    zone = np.full(d.shape, "rural", dtype=object)
    if elevation_m is None:
        zone[d < mountain_density] = "mountain"
    else:
        e = np.asarray(elevation_m, dtype=float)
        zone[np.isfinite(e) & (e >= mountain_elevation_m)] = "mountain"
    zone[d >= peri_urban] = "peri_urban"
    zone[d >= urban] = "urban"
    return zone.astype(str)


def elevation_at(points: gpd.GeoDataFrame, raster_path: str | Path) -> npt.NDArray[np.float64]:
    """Elevation (m) of a DEM raster at each point; NaN outside the raster or on nodata."""
    import rasterio

    from geodata._errors import ScenarioError

    label = Path(raster_path).name
    try:
        src = rasterio.open(raster_path)
    except rasterio.errors.RasterioIOError as exc:
        raise ScenarioError(f"cannot be read as a raster: {exc}", file=label) from None
    with src:
        if src.crs is None:
            raise ScenarioError("raster has no CRS; expected a GeoTIFF with its CRS", file=label)
        xy = points.to_crs(src.crs).geometry
        values = np.array([v[0] for v in src.sample(zip(xy.x, xy.y, strict=True), masked=True)],
                          dtype=object)
        out = np.array([float("nan") if np.ma.is_masked(v) else float(v) for v in values])
    return out


def zone_speed_circuity(travel: TravelSettings, zones: pd.Series | npt.ArrayLike | None,
                        default_speed: float) -> tuple[npt.NDArray[np.float64],
                                                       npt.NDArray[np.float64]] | None:
    """Per-point speed (km/h) and circuity for points with a zone; ``None`` when none has one.

    Points without a zone keep ``default_speed`` and ``travel.circuity``.  Zone
    speeds are motorbike speeds; in the other modes only the circuity follows the zone.
    """
    if zones is None:
        return None
    z = pd.Series(np.asarray(zones, dtype=object)).fillna("").astype(str).to_numpy()
    if not np.isin(z, ZONES).any():
        return None
    speed = np.full(len(z), float(default_speed))
    circuity = np.full(len(z), float(travel.circuity))
    for name in ZONES:
        at = z == name
        if travel.mode == "motorbike":
            speed[at] = float(travel.zone_speed_kph.get(name, ZONE_SPEED_KPH[name]))
        circuity[at] = float(travel.zone_circuity.get(name, ZONE_CIRCUITY[name]))
    return speed, circuity


def zone_label(travel: TravelSettings, zones: pd.Series | npt.ArrayLike, default_speed: float) -> str:
    """``straight line by zone: urban 20 km/h x 1.3 (1,234 points), ... (no road network)``."""
    z = pd.Series(np.asarray(zones, dtype=object)).fillna("").astype(str)
    counts = z.value_counts()
    parts = []
    for name in ZONES:
        if counts.get(name, 0):
            speed = (travel.zone_speed_kph.get(name, ZONE_SPEED_KPH[name])
                     if travel.mode == "motorbike" else default_speed)
            circ = travel.zone_circuity.get(name, ZONE_CIRCUITY[name])
            parts.append(f"{name.replace('_', '-')} {speed:g} km/h x {circ:g} "
                         f"({int(counts[name]):,} points)")
    rest = int(len(z) - sum(int(counts.get(n, 0)) for n in ZONES))
    if rest:
        parts.append(f"no zone {default_speed:g} km/h x {travel.circuity:g} ({rest:,} points)")
    return f"straight line by zone ({travel.mode}): " + ", ".join(parts) + " (no road network)"
