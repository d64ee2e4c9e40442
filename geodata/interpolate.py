"""Areal interpolation of whole persons from finer (source) units to target units.

The 2019 census counts people in about 11,160 wards; the 2025 reform merged
them into 3,321 communes whose borders do not always follow the old ones.
:func:`interpolate_population` moves each source ward's residents to the
targets it overlaps, in proportion to the overlapping area, with PySAL's
``tobler`` (:func:`tobler.area_weighted.area_interpolate`, extensive
variable), and then rounds them to whole persons **per source** by the
largest-remainder method, so that for every source

    sum over targets of its contribution + its ``outside`` persons == its population

exactly.  The pieces (source ∩ target) keep their persons, so demand can be
spread over the finest units rather than over a whole commune.

Boundary files from different sources disagree along coasts and borders.  A
source whose area is covered by the targets for at least ``min_cover`` (half
by default) is allocated in full: the uncovered part is taken as a boundary
mismatch (sea, a slightly different line).  A source covered less than that
mostly lies outside the targets (a ward of the neighbouring province touching
the border): only its covered share is allocated and the rest is reported as
``outside``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geodata.demand import apportion

logger = logging.getLogger(__name__)

#: Share of a source's area that targets must cover for all its people to be allocated.
MIN_COVER = 0.5


@dataclass(frozen=True)
class Interpolation:
    """Result of :func:`interpolate_population`.

    pieces : source ∩ target polygons in the metric CRS, with ``source``,
        ``target`` (positions in the inputs), ``population`` (whole persons)
        and ``area_km2``.
    target_population : whole persons per target.
    estimate : tobler's (unrounded) estimate per target, for comparison.
    source_population : whole persons per source (input rounded half to even).
    outside : persons of each source allocated to no target.
    covered_share : share of each source's area covered by the targets.
    """

    pieces: gpd.GeoDataFrame
    target_population: npt.NDArray[np.int64]
    estimate: npt.NDArray[np.float64]
    source_population: npt.NDArray[np.int64]
    outside: npt.NDArray[np.int64]
    covered_share: npt.NDArray[np.float64]


def repair_geometries(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """``gdf`` with its invalid geometries made valid, and how many there were.

    Self-touching rings are common in official boundaries; GEOS cannot intersect
    them, so they are repaired (areas unchanged, collapsed parts dropped) before any
    overlay.
    """
    invalid = ~gdf.geometry.is_valid.to_numpy()
    if invalid.any():
        geoms = gdf.geometry.to_numpy()
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure",
                                            keep_collapsed=False)
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return gdf, int(invalid.sum())


def interpolate_population(sources: gpd.GeoDataFrame, targets: gpd.GeoDataFrame,
                           population: str, crs: str, min_cover: float = MIN_COVER,
                           ) -> Interpolation:
    """Allocate each source's whole persons to the targets by overlapping area.

    Parameters
    ----------
    sources : polygons with a ``population`` column (non-negative; NaN counts as 0).
    targets : polygons (any CRS; reprojected).
    population : column of ``sources`` holding residents.
    crs : metric CRS in which areas are measured.
    min_cover : share of a source's area the targets must cover for all its
        persons to be allocated (see the module docstring).

    Returns
    -------
    Interpolation
    """
    from tobler.area_weighted import area_interpolate
    from tobler.area_weighted.area_interpolate import _area_tables_binning

    src = gpd.GeoDataFrame(
        {"population": pd.to_numeric(sources[population], errors="coerce").fillna(0.0)
         .to_numpy(float)},
        geometry=sources.to_crs(crs).geometry.to_numpy(), crs=crs)
    tgt = gpd.GeoDataFrame(geometry=targets.to_crs(crs).geometry.to_numpy(), crs=crs)
    persons = np.rint(src["population"].to_numpy(float)).astype(np.int64)
    src["population"] = persons.astype(float)
    n_s, n_t = len(src), len(tgt)
    empty_pieces = gpd.GeoDataFrame({"source": np.empty(0, np.int64), "target": np.empty(0, np.int64),
                                     "population": np.empty(0, np.int64),
                                     "area_km2": np.empty(0)},
                                    geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if n_s == 0 or n_t == 0:
        return Interpolation(empty_pieces, np.zeros(n_t, np.int64), np.zeros(n_t), persons,
                             persons.copy(), np.zeros(n_s))
    table = _area_tables_binning(src, tgt, "auto").tocoo()
    # tobler's table holds float32 areas; the pieces are re-cut here in float64 so the
    # geometries spread later are the very ones whose areas weight the allocation
    rows, cols = table.row.astype(np.int64), table.col.astype(np.int64)
    geoms = shapely.intersection(src.geometry.to_numpy()[rows], tgt.geometry.to_numpy()[cols])
    areas = shapely.area(geoms)
    keep = areas > 0
    rows, cols, geoms, areas = rows[keep], cols[keep], geoms[keep], areas[keep]
    order = np.lexsort((cols, rows))
    rows, cols, geoms, areas = rows[order], cols[order], geoms[order], areas[order]
    src_area = shapely.area(src.geometry.to_numpy())
    covered = np.bincount(rows, weights=areas, minlength=n_s)
    share = np.divide(covered, src_area, out=np.zeros(n_s), where=src_area > 0)
    share = np.minimum(share, 1.0)

    allocated = np.where(share >= min_cover, persons,
                         np.floor(persons * share + 0.5).astype(np.int64))
    piece_people = np.zeros(len(rows), dtype=np.int64)
    starts = np.searchsorted(rows, np.arange(n_s))
    ends = np.searchsorted(rows, np.arange(n_s), side="right")
    for i in np.flatnonzero(ends > starts):
        piece_people[starts[i]:ends[i]] = apportion(float(allocated[i]),
                                                    areas[starts[i]:ends[i]]).astype(np.int64)
    allocated = np.where(ends > starts, allocated, 0)
    outside = persons - allocated
    target_population = np.bincount(cols, weights=piece_people, minlength=n_t).astype(np.int64)

    estimate = area_interpolate(src, tgt, extensive_variables=["population"],
                                table=table.tocsr(), allocate_total=True)
    pieces = gpd.GeoDataFrame({"source": rows, "target": cols, "population": piece_people,
                               "area_km2": areas / 1e6}, geometry=geoms, crs=crs)
    logger.info("areal interpolation: %d sources -> %d targets in %d pieces; %s persons "
                "allocated, %s outside", n_s, n_t, len(pieces), f"{int(allocated.sum()):,}",
                f"{int(outside.sum()):,}")
    return Interpolation(pieces=pieces, target_population=target_population,
                         estimate=estimate["population"].to_numpy(float),
                         source_population=persons, outside=outside.astype(np.int64),
                         covered_share=share)
