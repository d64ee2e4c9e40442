"""Demand points from population: points as given, polygons spread over a grid.

A commune polygon with its population becomes points on a regular grid
(250-500 m cells, aligned on multiples of the cell size in the metric CRS),
one per non-empty piece ``cell ∩ polygon``, placed at the piece's
representative point (always inside the polygon).  People are shared out by
road length inside each piece (people live along roads) or by area, and each
polygon's total is conserved exactly: integer populations are apportioned by
the largest-remainder method, so every point holds a whole number of people.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geodata.network import project_xy
from geodata.scenario import WGS84, Scenario

logger = logging.getLogger(__name__)

Weight = Literal["roads", "uniform"]
#: Default grid cell size in metres.
DEFAULT_CELL_M = 400.0


def apportion(total: float, weights: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Share ``total`` in proportion to ``weights``, summing to ``total`` exactly.

    Whole-number totals are split into whole numbers by the largest-remainder
    (Hamilton) method, ties going to the earlier weight.  Other totals are
    split proportionally and the rounding residue is added to the largest share.
    Zero total weight shares uniformly.
    """
    w = np.asarray(weights, dtype=float)
    if len(w) == 0:
        return np.empty(0)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        msg = "weights must be finite and non-negative"
        raise ValueError(msg)
    if w.sum() <= 0:
        w = np.ones_like(w)
    share: npt.NDArray[np.float64] = total * w / w.sum()
    if float(total).is_integer():
        base: npt.NDArray[np.float64] = np.floor(share)
        left = int(round(total - base.sum()))
        if left > 0:
            order = np.lexsort((np.arange(len(w)), -(share - base)))
            base[order[:left]] += 1
        return base
    share[int(np.argmax(share))] += total - share.sum()
    return share


def road_lines(graph: nx.MultiDiGraph[Any], crs: str) -> npt.NDArray[Any]:
    """Road centre lines of a graph in ``crs``, one per undirected node pair (shapely array)."""
    src = graph.graph.get("crs", WGS84)
    seen: set[tuple[Any, Any]] = set()
    lines: list[BaseGeometry] = []
    straight: list[tuple[Any, Any]] = []
    for u, v, data in graph.edges(data=True):
        pair = (u, v) if str(u) <= str(v) else (v, u)
        if pair in seen or u == v:
            continue
        seen.add(pair)
        geom = data.get("geometry")
        if geom is not None:
            lines.append(geom)
        else:
            straight.append((u, v))
    out: list[BaseGeometry] = []
    if lines:
        out.extend(gpd.GeoSeries(lines, crs=src).to_crs(crs).tolist())
    if straight:
        a = np.array([[graph.nodes[u]["x"], graph.nodes[u]["y"]] for u, _ in straight])
        b = np.array([[graph.nodes[v]["x"], graph.nodes[v]["y"]] for _, v in straight])
        pa = project_xy(a[:, 0], a[:, 1], src, crs)
        pb = project_xy(b[:, 0], b[:, 1], src, crs)
        coords = np.stack([pa, pb], axis=1)
        out.extend(shapely.linestrings(coords).tolist())
    return np.array(out, dtype=object)


def _grid_pieces(poly: BaseGeometry, cell_m: float) -> npt.NDArray[Any]:
    minx, miny, maxx, maxy = poly.bounds
    x0 = np.floor(minx / cell_m) * cell_m
    y0 = np.floor(miny / cell_m) * cell_m
    xs = np.arange(x0, maxx, cell_m)
    ys = np.arange(y0, maxy, cell_m)
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell_m, gy.ravel() + cell_m)
    pieces = shapely.intersection(boxes, poly)
    keep = ~shapely.is_empty(pieces) & (shapely.area(pieces) > 0)
    return np.asarray(pieces[keep], dtype=object)


def spread_population(
    polygons_gdf: gpd.GeoDataFrame,
    cell_m: float = DEFAULT_CELL_M,
    weight: Weight = "roads",
    graph: nx.MultiDiGraph[Any] | None = None,
    crs: str = "EPSG:32648",
) -> gpd.GeoDataFrame:
    """Spread each polygon's population over grid points, conserving its total exactly.

    Parameters
    ----------
    polygons_gdf : polygons with ``population`` (and optionally ``id``, ``name``,
        ``commune_code``, ``commune_name``); any declared CRS.
    cell_m : grid cell size in metres (250-500 recommended).
    weight : ``"roads"`` shares people by road length in each cell (falls back
        to ``"uniform"`` for a polygon without roads, or when ``graph`` is None);
        ``"uniform"`` by area.
    graph : road graph for ``"roads"`` weighting (any highway class counts).
    crs : metric CRS of the grid.

    Returns
    -------
    gpd.GeoDataFrame
        Points in EPSG:4326 with ``id`` (``<polygon id>:<k>``), ``name``,
        ``population``, ``commune_code``, ``commune_name``, ``source_id`` and
        ``weight`` (the weighting actually used); cells with no one are left out.

    Raises
    ------
    ValueError
        If ``cell_m`` is not positive, ``weight`` is unknown, or there is no
        ``population`` column.
    """
    if not cell_m > 0:
        msg = f"cell_m must be > 0 metres, got {cell_m}"
        raise ValueError(msg)
    if weight not in ("roads", "uniform"):
        msg = f"weight must be 'roads' or 'uniform', got {weight!r}"
        raise ValueError(msg)
    if "population" not in polygons_gdf.columns:
        msg = "polygon demand needs a 'population' column"
        raise ValueError(msg)
    if polygons_gdf.crs is None:
        msg = "polygon demand has no CRS"
        raise ValueError(msg)
    polys = polygons_gdf.to_crs(crs).reset_index(drop=True)
    tree = None
    lines: npt.NDArray[Any] = np.empty(0, dtype=object)
    if weight == "roads" and graph is not None:
        lines = road_lines(graph, crs)
        tree = shapely.STRtree(lines) if len(lines) else None

    rows: list[dict[str, Any]] = []
    geoms: list[BaseGeometry] = []
    for i, rec in polys.iterrows():
        poly = rec.geometry
        pop = float(rec["population"])
        pid = rec["id"] if "id" in polys.columns else i
        if poly is None or poly.is_empty or pop <= 0:
            continue
        pieces = _grid_pieces(poly, cell_m)
        if len(pieces) == 0:
            pieces = np.array([poly], dtype=object)
        used = "uniform"
        w = shapely.area(pieces)
        if tree is not None:
            pi, li = tree.query(pieces, predicate="intersects")
            if len(pi):
                lengths = shapely.length(shapely.intersection(pieces[pi], lines[li]))
                road_w = np.bincount(pi, weights=lengths, minlength=len(pieces))
                if road_w.sum() > 0:
                    w, used = road_w, "roads"
            if used == "uniform":
                logger.info("polygon %s has no roads: population spread uniformly", pid)
        people = apportion(pop, w)
        points = shapely.point_on_surface(pieces)
        for k in np.flatnonzero(people > 0):
            rows.append({
                "id": f"{pid}:{k}", "name": rec.get("name", str(pid)),
                "population": float(people[k]),
                "commune_code": rec.get("commune_code"), "commune_name": rec.get("commune_name"),
                "source_id": pid, "weight": used,
            })
            geoms.append(points[k])
    columns = ["id", "name", "population", "commune_code", "commune_name", "source_id", "weight"]
    frame = pd.DataFrame(rows, columns=columns)
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    logger.info("spread %d polygons into %d demand points (%.0f m cells)",
                len(polys), len(out), cell_m)
    return out.to_crs(WGS84)


def demand_points(
    scenario: Scenario,
    graph: nx.MultiDiGraph[Any] | None = None,
    cell_m: float = DEFAULT_CELL_M,
    weight: Weight = "roads",
) -> gpd.GeoDataFrame:
    """Demand points of a scenario: point rows as given, polygon rows spread on a grid.

    Returns
    -------
    gpd.GeoDataFrame
        EPSG:4326 points with ``id, name, population, commune_code, commune_name``
        (spread points also ``source_id`` and ``weight``), point rows first in
        file order.
    """
    demand = scenario.demand
    is_point = (demand.geometry.geom_type == "Point").to_numpy()
    points = demand.loc[is_point].copy()
    if is_point.all():
        return points.reset_index(drop=True)
    spread = spread_population(demand.loc[~is_point], cell_m=cell_m, weight=weight,
                               graph=graph, crs=scenario.settings.crs)
    out = pd.concat([points, spread], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=WGS84)
