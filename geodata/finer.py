"""People where they live: communes split into the finer units their people were counted in.

A 390 km² forest ward whose 49,000 residents live along its coast is badly
described by one number spread over its whole area.  When a finer population
is known, for example the 2019 census wards inside a 2025 commune, the importer
spreads demand over the *pieces* (ward ∩ commune), each with its own persons:

* without a commune population column, each commune's population is the sum of
  the persons areal interpolation (:mod:`geodata.interpolate`) gives its pieces;
  every source ward's population is conserved to the person;
* with one, the commune's total is kept and shared among its pieces in
  proportion to the interpolated persons (largest remainder, exact totals).

Each piece also carries its density (persons / km²), from which
:mod:`geodata.zones` picks the travel zone of the demand points spread over it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geodata._errors import ScenarioError
from geodata._validate import Collector, suggest
from geodata.demand import apportion
from geodata.interpolate import (
    MIN_COVER,
    Interpolation,
    interpolate_population,
    repair_geometries,
)

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class FinerUnits:
    """Finer population units (e.g. 2019 census wards) covering the communes.

    path : vector file (GeoPackage, GeoJSON, ``zip://`` ...); only the features
        overlapping the communes are read (by bounding box).
    layer : layer of a multi-layer file.
    population_column : column holding residents.
    min_cover : see :data:`geodata.interpolate.MIN_COVER`.
    """

    path: str
    layer: str | None = None
    population_column: str = "pop2019"
    min_cover: float = MIN_COVER


@dataclass(frozen=True)
class Pieces:
    """Communes cut into finer units.

    units : pieces in EPSG:4326 with ``id`` (``<commune id>~<k>``), ``name``,
        ``commune_code``, ``commune_name``, ``commune`` (row of the commune),
        ``population`` (whole persons), ``area_km2``, ``density``.
    interpolated : persons per commune from the finer units alone.
    interpolation : the areal interpolation (all targets read, not only the communes).
    sources : number of finer units read; outside : their persons allocated to
        no commune of the file; to_others : their persons allocated to other
        communes of the file (neighbours not imported).  Every unit's persons are
        in exactly one of: the imported communes, ``to_others``, ``outside``.
    """

    units: gpd.GeoDataFrame
    interpolated: npt.NDArray[np.int64]
    interpolation: Interpolation
    sources: int
    outside: int
    to_others: int = 0


def _label(path: str) -> str:
    text = str(path)
    if "!" in text:
        return text.rsplit("!", 1)[1]
    return text.removeprefix("zip://").replace("\\", "/").rsplit("/", 1)[-1]


def read_bbox(path: str, layer: str | None, bounds_wgs84: Any, label: str,
              columns: list[str] | None = None) -> gpd.GeoDataFrame:
    """Features of a vector file whose bounding box meets ``bounds_wgs84`` (EPSG:4326).

    Raises
    ------
    ScenarioError
        If the file cannot be read or a column is missing (with a suggestion).
    """
    import pyogrio
    from pyproj import Transformer

    uri = f"zip://{path}" if path.lower().endswith(".zip") and not path.startswith("zip://") else path
    try:
        info = pyogrio.read_info(uri, layer=layer)
    except Exception as exc:  # noqa: BLE001 - GDAL raises many types; all mean "unreadable"
        raise ScenarioError(f"cannot be read as a vector file: {exc}", file=label) from None
    fields = [str(f) for f in info["fields"]]
    col = Collector()
    for c in columns or []:
        if c not in fields:
            col.add(label, "column is missing" + suggest(c, fields), column=c,
                    expected="one of the file's columns: " + ", ".join(fields))
    col.raise_if_any()
    crs = info.get("crs") or WGS84
    minx, miny, maxx, maxy = (float(v) for v in bounds_wgs84)
    if crs != WGS84:
        t = Transformer.from_crs(WGS84, crs, always_xy=True)
        xs, ys = t.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
        minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    gdf = pyogrio.read_dataframe(uri, layer=layer, bbox=(minx, miny, maxx, maxy),
                                 columns=columns, fid_as_index=True)
    gdf = gpd.GeoDataFrame(gdf)
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    gdf, _ = repair_geometries(gdf)
    out: gpd.GeoDataFrame = gdf.to_crs(WGS84)
    return out


def read_finer_units(source: FinerUnits, communes: gpd.GeoDataFrame,
                     col: Collector | None = None) -> gpd.GeoDataFrame:
    """The finer units overlapping the communes, with ``population`` (float, NaN read as 0).

    A unit with an empty or non-numeric population is counted as 0 residents
    and named in a warning; a negative one is an error.
    """
    label = _label(source.path)
    gdf = read_bbox(source.path, source.layer, communes.total_bounds, label,
                    [source.population_column])
    hull = communes.geometry.union_all()
    gdf = gdf[gdf.intersects(hull).to_numpy()]
    raw = pd.to_numeric(gdf[source.population_column], errors="coerce")
    bad = raw.isna().to_numpy()
    own = col if col is not None else Collector()
    for fid in gdf.index.to_numpy()[bad][:10]:
        own.warn(label, f"feature {fid}: no population in column {source.population_column!r} "
                 f"(value {gdf.loc[fid, source.population_column]!r}); counted as 0 residents")
    negative = (raw < 0).to_numpy()
    for fid in gdf.index.to_numpy()[negative][:10]:
        own.add(label, f"feature {fid}: population must not be negative",
                column=source.population_column, value=float(raw.loc[fid]),
                expected="a number >= 0")
    own.raise_if_any()
    if col is None:
        own.emit_warnings()
    out = gpd.GeoDataFrame({"population": raw.fillna(0.0).to_numpy(float)},
                           geometry=gdf.geometry.to_numpy(), crs=WGS84)
    out.index = gdf.index
    return out


def split_communes(communes: gpd.GeoDataFrame, units: gpd.GeoDataFrame, crs: str,
                   others: gpd.GeoDataFrame | None = None,
                   min_cover: float = MIN_COVER) -> Pieces:
    """Cut communes into pieces of the finer units and give each piece its persons.

    Parameters
    ----------
    communes : ``id, name, commune_code, commune_name, population`` (NaN when
        the population comes from the units), EPSG:4326.
    units : finer units with ``population`` (EPSG:4326).
    crs : metric CRS for areas.
    others : further target polygons from the same boundary file (neighbouring
        communes not imported), so a unit straddling the border shares its
        people with them instead of giving all to the imported communes.
    """
    n_c = len(communes)
    targets = communes[["geometry"]].reset_index(drop=True)
    if others is not None and len(others):
        # drop the other features that are the imported communes themselves
        rep = others.geometry.representative_point()
        inside = gpd.sjoin(gpd.GeoDataFrame(geometry=rep.to_numpy(), crs=WGS84),
                           targets, how="inner", predicate="within").index.unique()
        extra = others.reset_index(drop=True).drop(index=inside)[["geometry"]]
        targets = pd.concat([targets, extra], ignore_index=True)
    targets = gpd.GeoDataFrame(targets, geometry="geometry", crs=WGS84)
    interp = interpolate_population(units, targets, "population", crs, min_cover=min_cover)
    pieces = interp.pieces[interp.pieces["target"] < n_c].reset_index(drop=True)
    interpolated = interp.target_population[:n_c].astype(np.int64)
    commune_of = pieces["target"].to_numpy(np.int64)
    persons = pieces["population"].to_numpy(np.int64).astype(float)
    given = communes["population"].to_numpy(float)
    if np.isfinite(given).all():
        # the commune's own total, shared among its pieces like the finer persons
        people = np.zeros(len(pieces))
        for c in range(n_c):
            at = np.flatnonzero(commune_of == c)
            if len(at):
                w = persons[at] if persons[at].sum() > 0 else pieces["area_km2"].to_numpy(float)[at]
                people[at] = apportion(float(np.rint(given[c])), w)
        persons = people
    area = pieces["area_km2"].to_numpy(float)
    rows = communes.reset_index(drop=True)
    # a commune no finer unit overlaps is its own piece, with its own (or no) population
    bare = np.setdiff1d(np.arange(n_c), commune_of)
    if len(bare):
        whole = rows.iloc[bare].to_crs(crs).geometry.to_numpy()
        own = np.where(np.isfinite(given[bare]), np.rint(given[bare]), 0.0)
        pieces = gpd.GeoDataFrame(
            {"area_km2": np.concatenate([area, shapely.area(whole) / 1e6])},
            geometry=np.concatenate([pieces.geometry.to_numpy(), whole]), crs=crs)
        commune_of = np.concatenate([commune_of, bare])
        persons = np.concatenate([persons, own])
        area = pieces["area_km2"].to_numpy(float)
        logger.warning("%d communes overlap no finer unit: each is spread as one piece", len(bare))
    units_out = gpd.GeoDataFrame({
        "id": [f"{rows['id'].iloc[c]}~{k}" for k, c in enumerate(commune_of)],
        "name": rows["name"].to_numpy()[commune_of],
        "commune_code": rows["commune_code"].to_numpy()[commune_of],
        "commune_name": rows["commune_name"].to_numpy()[commune_of],
        "commune": commune_of,
        "population": persons,
        "area_km2": area,
        "density": np.divide(persons, area, out=np.zeros(len(area)), where=area > 0),
    }, geometry=pieces.geometry.to_numpy(), crs=crs).to_crs(WGS84)
    outside = int(interp.outside.sum())
    logger.info("split %d communes into %d pieces of %d finer units (%s persons outside)",
                n_c, len(units_out), len(units), f"{outside:,}")
    return Pieces(units=units_out, interpolated=interpolated, interpolation=interp,
                  sources=len(units), outside=outside,
                  to_others=int(interp.target_population[n_c:].sum()))
