"""Demand points from population: points as given, polygons spread over a grid.

A commune polygon with its population becomes points on a regular grid
(250-500 m cells, aligned on multiples of the cell size in the metric CRS),
one per non-empty piece ``cell ∩ polygon``, placed at the piece's
representative point (always inside the polygon).  People are shared out by
the finest information given: the people of settlement points in each piece,
else a population raster's people in it (WorldPop), else road length inside it
(people live along roads), else area; a polygon where a source holds nobody
falls back to the next one, and each point's ``weight`` says which was used.
Each polygon's total is conserved exactly: integer populations are apportioned by
the largest-remainder method, so every point holds a whole number of people.
"""

from __future__ import annotations

import logging
from pathlib import Path
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

Weight = Literal["settlements", "raster", "roads", "uniform"]
#: Weightings from the finest to the coarsest; a polygon falls back along this order.
WEIGHT_ORDER: tuple[Weight, ...] = ("settlements", "raster", "roads", "uniform")
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


class _RasterWeights:
    """People of a population raster in each grid piece (used inside one polygon at a time)."""

    def __init__(self, path: str | Path, crs: str, band: int = 1) -> None:
        import rasterio

        self.src = rasterio.open(path)
        self.band = band
        self.crs = crs

    def close(self) -> None:
        self.src.close()

    def weights(self, pieces: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Raster people in each piece: pixels whose centre lies in it (GDAL's rule);
        a piece holding no pixel centre gets the pixel under its representative
        point times its share of that pixel's area."""
        import rasterio.features
        import rasterio.windows

        src = self.src
        shapes = gpd.GeoSeries(pieces, crs=self.crs).to_crs(src.crs).to_numpy()
        out = np.zeros(len(pieces))
        left, bottom, right, top = shapely.total_bounds(shapes)
        r = src.bounds
        if left >= r.right or right <= r.left or bottom >= r.top or top <= r.bottom:
            return out
        exact = rasterio.windows.from_bounds(left, bottom, right, top, transform=src.transform)
        col0 = max(int(np.floor(exact.col_off)), 0)
        row0 = max(int(np.floor(exact.row_off)), 0)
        col1 = min(int(np.ceil(exact.col_off + exact.width)), src.width)
        row1 = min(int(np.ceil(exact.row_off + exact.height)), src.height)
        if col1 <= col0 or row1 <= row0:
            return out
        window = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)
        data = src.read(self.band, window=window, masked=True).astype(np.float64)
        values = np.where(np.ma.getmaskarray(data), 0.0, np.ma.getdata(data))
        values = np.where(np.isfinite(values) & (values > 0), values, 0.0)
        transform = src.window_transform(window)
        labels = rasterio.features.rasterize(
            ((geom, k + 1) for k, geom in enumerate(shapes)),
            out_shape=values.shape, transform=transform, fill=0, all_touched=False, dtype="int32")
        n = len(pieces) + 1
        out = np.asarray(np.bincount(labels.ravel(), weights=values.ravel(), minlength=n)[1:],
                         dtype=np.float64)
        counts = np.bincount(labels.ravel(), minlength=n)[1:]
        pixel_area = abs(transform.a * transform.e)
        for k in np.flatnonzero(counts == 0):
            point = shapely.point_on_surface(shapes[k])
            row, col = rasterio.transform.rowcol(transform, point.x, point.y)
            if 0 <= row < values.shape[0] and 0 <= col < values.shape[1]:
                out[k] = values[row, col] * min(float(shapely.area(shapes[k])) / pixel_area, 1.0)
        return np.asarray(out, dtype=np.float64)


def _settlement_weights(pieces: npt.NDArray[Any], points: npt.NDArray[Any],
                        people: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """People of the settlement points in each piece; a point on a shared edge counts once."""
    if len(points) == 0:
        return np.zeros(len(pieces))
    pt, piece = shapely.STRtree(pieces).query(points, predicate="intersects")
    _, first = np.unique(pt, return_index=True)
    return np.asarray(np.bincount(piece[first], weights=people[pt[first]], minlength=len(pieces)),
                      dtype=np.float64)


def spread_population(
    polygons_gdf: gpd.GeoDataFrame,
    cell_m: float = DEFAULT_CELL_M,
    weight: Weight = "roads",
    graph: nx.MultiDiGraph[Any] | None = None,
    crs: str = "EPSG:32648",
    raster: str | Path | None = None,
    settlements: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Spread each polygon's population over grid points, conserving its total exactly.

    Parameters
    ----------
    polygons_gdf : polygons with ``population`` (and optionally ``id``, ``name``,
        ``commune_code``, ``commune_name``); any declared CRS.
    cell_m : grid cell size in metres (250-500 recommended).
    weight : the finest weighting to try, then falling back along
        ``settlements > raster > roads > uniform`` for a polygon where it
        holds nobody (or its source is not given): ``"settlements"`` shares
        people by the people (or number) of ``settlements`` points in each
        piece, ``"raster"`` by the people of ``raster`` in it, ``"roads"`` by
        road length in it (needs ``graph``), ``"uniform"`` by area.
    graph : road graph for ``"roads"`` weighting (any highway class counts).
    crs : metric CRS of the grid.
    raster : population GeoTIFF (people per pixel, band 1, with a CRS).
    settlements : points with a ``population`` column (>= 0; use 1 to count them);
        any declared CRS.

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
    if weight not in WEIGHT_ORDER:
        msg = f"weight must be one of {', '.join(WEIGHT_ORDER)}, got {weight!r}"
        raise ValueError(msg)
    if "population" not in polygons_gdf.columns:
        msg = "polygon demand needs a 'population' column"
        raise ValueError(msg)
    if polygons_gdf.crs is None:
        msg = "polygon demand has no CRS"
        raise ValueError(msg)
    polys = polygons_gdf.to_crs(crs).reset_index(drop=True)
    chain = WEIGHT_ORDER[WEIGHT_ORDER.index(weight):]
    tree = None
    lines: npt.NDArray[Any] = np.empty(0, dtype=object)
    if "roads" in chain and graph is not None:
        lines = road_lines(graph, crs)
        tree = shapely.STRtree(lines) if len(lines) else None
    pts: npt.NDArray[Any] = np.empty(0, dtype=object)
    pts_people: npt.NDArray[np.float64] = np.empty(0)
    pts_tree = None
    if "settlements" in chain and settlements is not None and len(settlements):
        if settlements.crs is None:
            msg = "settlement points have no CRS"
            raise ValueError(msg)
        projected = settlements.to_crs(crs)
        pts = np.asarray(projected.geometry.to_numpy(), dtype=object)
        pts_people = projected["population"].to_numpy(float)
        if not (np.isfinite(pts_people).all() and (pts_people >= 0).all()):
            msg = "settlement populations must be finite and >= 0"
            raise ValueError(msg)
        pts_tree = shapely.STRtree(pts)
    rw = _RasterWeights(raster, crs) if "raster" in chain and raster is not None else None

    rows: list[dict[str, Any]] = []
    geoms: list[BaseGeometry] = []
    try:
        for i, rec in polys.iterrows():
            poly = rec.geometry
            pop = float(rec["population"])
            pid = rec["id"] if "id" in polys.columns else i
            if poly is None or poly.is_empty or pop <= 0:
                continue
            pieces = _grid_pieces(poly, cell_m)
            if len(pieces) == 0:
                pieces = np.array([poly], dtype=object)
            used: Weight = "uniform"
            w = shapely.area(pieces)
            for source in chain[:-1]:
                candidate = np.zeros(len(pieces))
                if source == "settlements" and pts_tree is not None:
                    near = pts_tree.query(poly, predicate="intersects")
                    candidate = _settlement_weights(pieces, pts[near], pts_people[near])
                elif source == "raster" and rw is not None:
                    candidate = rw.weights(pieces)
                elif source == "roads" and tree is not None:
                    pi, li = tree.query(pieces, predicate="intersects")
                    if len(pi):
                        lengths = shapely.length(shapely.intersection(pieces[pi], lines[li]))
                        candidate = np.asarray(
                            np.bincount(pi, weights=lengths, minlength=len(pieces)), dtype=np.float64)
                if candidate.sum() > 0:
                    w, used = candidate, source
                    break
            if used != weight:
                logger.info("polygon %s: nobody by %s, population spread by %s", pid, weight, used)
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
    finally:
        if rw is not None:
            rw.close()
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
