"""Isochrones: the area from which each site is reached within a travel time.

Same trip model as :mod:`geodata.coverage` (travel *to* the site, one-way
streets respected, off-network legs walked at the access speed up to
``max_snap_m``).  The polygon of a site is the union of

* a disc around every road node that reaches the site in ``t`` minutes, of
  radius ``min(max_snap_m, (minutes - t) x access speed)``: where one can
  still walk to that node in time;
* every road segment whose two ends both reach the site, buffered a little;
* a disc around the site itself (walking straight to it).

Without a road network the isochrone is a circle of radius
``minutes x speed / circuity``, labelled as straight-line.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from geodata.coverage import straight_line_label
from geodata.network import ensure_prepared, graph_arrays, straight_line_speed_kph
from geodata.scenario import WGS84
from geodata.settings import TravelSettings
from geodata.snapping import point_ids, points_xy, snap_points

logger = logging.getLogger(__name__)

#: Half-width in metres of the band drawn along reached road segments.
ROAD_BAND_M = 20.0


def isochrones(
    graph: nx.MultiDiGraph[Any] | None,
    sites: gpd.GeoDataFrame,
    minutes: float,
    travel: TravelSettings | None = None,
    crs: str = "EPSG:32648",
    quad_segs: int = 4,
) -> gpd.GeoDataFrame:
    """Polygon per site of the area from which it is reached within ``minutes``.

    Parameters
    ----------
    graph : road graph (raw or prepared for ``travel.mode``), or ``None`` for straight line.
    sites : site points (``id`` column names them).
    minutes : travel time bound in minutes (> 0).
    travel : mode, access speed, max snap distance, circuity (defaults if None).
    crs : metric CRS in which the polygons are built.
    quad_segs : segments per quarter circle of the discs (map quality vs speed).

    Returns
    -------
    gpd.GeoDataFrame
        EPSG:4326 with ``site_id``, ``minutes``, ``method`` (label), ``area_km2``, ``geometry``.

    Raises
    ------
    ValueError
        If ``minutes`` is not positive.
    """
    if not minutes > 0:
        msg = f"minutes must be > 0, got {minutes}"
        raise ValueError(msg)
    travel = travel or TravelSettings()
    s_xy = points_xy(sites, crs, "sites")
    ids = point_ids(sites)
    walk_r = min(travel.max_snap_m, travel.access_speed_kph * minutes / 60.0 * 1000.0)
    geoms: list[Any] = []
    if graph is None:
        speed = straight_line_speed_kph(travel)
        radius = speed * minutes / 60.0 * 1000.0 / travel.circuity
        geoms = list(shapely.buffer(shapely.points(s_xy), radius, quad_segs=quad_segs))
        label = straight_line_label(travel)
    else:
        prepared = ensure_prepared(graph, travel)
        ga = graph_arrays(prepared, crs)
        snap = snap_points(s_xy, ga.xy_m, travel.access_speed_kph, travel.max_snap_m)
        rev = ga.time_min.T.tocsr()
        coo = ga.time_min.tocoo()
        label = f"road network, {travel.mode}"
        for j in range(len(s_xy)):
            parts = [shapely.buffer(shapely.points(s_xy[j]), walk_r, quad_segs=quad_segs)]
            budget = minutes - float(snap.access_min[j])
            if not snap.too_far[j] and budget >= 0:
                t = dijkstra(rev, directed=True, indices=int(snap.node[j]), limit=budget)
                reached = np.flatnonzero(np.isfinite(t))
                left_m = np.minimum(travel.max_snap_m,
                                    (budget - t[reached]) * travel.access_speed_kph / 60 * 1000)
                discs = shapely.buffer(shapely.points(ga.xy_m[reached]), np.maximum(left_m, 1.0),
                                       quad_segs=quad_segs)
                parts.extend(discs.tolist())
                both = np.isfinite(t[coo.row]) & np.isfinite(t[coo.col])
                if both.any():
                    segs = np.stack([ga.xy_m[coo.row[both]], ga.xy_m[coo.col[both]]], axis=1)
                    band = shapely.buffer(shapely.linestrings(segs), ROAD_BAND_M, quad_segs=2)
                    parts.extend(band.tolist())
            geoms.append(shapely.union_all(np.array(parts, dtype=object)))
    gs = gpd.GeoSeries(geoms, crs=crs)
    out = gpd.GeoDataFrame({"site_id": ids, "minutes": float(minutes), "method": label,
                            "area_km2": gs.area.to_numpy() / 1e6}, geometry=gs, crs=crs)
    logger.info("isochrones of %d sites at %g min (%s)", len(out), minutes, label)
    return out.to_crs(WGS84)
