"""A scenario's road network, checked: read, prepared for the travel mode, set against the demand.

:func:`scenario_roads` is the one place where a scenario's road file is judged,
for ``motcua validate`` (:func:`check_roads`) and for every command that routes
on it (coverage, placement, staffing).  It raises :class:`NetworkError` naming
the file when the file is not a usable road graph
(:func:`geodata.network.graph_problems`), has no road the travel mode may use
(:func:`geodata.network.prepare_graph`), or lies where no demand point or no site
can reach it (:func:`geodata.snapping.reach_problems`); a network that misses
much of the demand or some sites gives warnings, which every command prints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt

from geodata._errors import NetworkError, Problem
from geodata.network import cached_graph, download_graph, graph_arrays, prepare_graph, project_xy
from geodata.scenario import WGS84, Scenario
from geodata.settings import TravelSettings
from geodata.snapping import Bounds, RoadReach, point_ids, points_xy, reach_problems, road_reach

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ScenarioRoads:
    """The checked road network of a scenario, and the demand points set against it.

    raw : the road graph as read (``None`` without roads).
    prepared : the routable network for the travel mode (``None`` without roads).
    source : where the roads came from (file path or download), ``None`` without roads.
    label : how messages name the roads (the file as ``[files] roads`` names it).
    demand : the demand points used (polygon rows spread, as coverage uses them).
    demand_snap_m, site_snap_m : metres from each demand point / site to the nearest
        node of ``prepared`` (``nan`` without roads).
    reach : how much of the demand and sites the network reaches (``None`` without roads).
    warnings : ``"<label>: ..."`` lines every command prints.
    """

    raw: nx.MultiDiGraph[Any] | None
    prepared: nx.MultiDiGraph[Any] | None
    source: str | None
    label: str | None
    demand: gpd.GeoDataFrame
    demand_snap_m: npt.NDArray[np.float64]
    site_snap_m: npt.NDArray[np.float64]
    reach: RoadReach | None
    warnings: tuple[str, ...]


def roads_label(scenario: Scenario) -> str | None:
    """How messages name a scenario's roads: ``[files] roads`` as written, or the place query."""
    files = scenario.settings.files
    if scenario.roads_path is not None:
        return files.roads or scenario.roads_path.name
    if files.place:
        return f"[files] place {files.place!r}"
    return None


def scenario_graph(scenario: Scenario, cache_dir: Path | None = None) -> tuple[
        nx.MultiDiGraph[Any] | None, str | None]:
    """The raw road graph of a scenario (file, or download of ``[files] place``), and its source.

    Raises
    ------
    NetworkError
        If the file cannot be read or is not a usable road graph (named as in
        ``[files] roads``), or the download fails.
    """
    if scenario.roads_path is not None:
        graph = cached_graph(scenario.roads_path, cache_dir, label=roads_label(scenario))
        return graph, str(scenario.roads_path)
    place = scenario.settings.files.place
    if place:
        return download_graph(place=place, cache_dir=cache_dir), f"osmnx download of {place!r}"
    return None, None


def _relabel(exc: NetworkError, label: str) -> NetworkError:
    """The same problems, each naming ``label`` (prepare_graph knows no file name)."""
    if exc.problems:
        return NetworkError([replace(p, file=label) for p in exc.problems])
    return NetworkError(Problem(label, str(exc)))


def _lonlat_bounds(xy: npt.NDArray[np.float64], crs: str) -> Bounds:
    if len(xy) == 0:
        nan = float("nan")
        return (nan, nan, nan, nan)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    corners = project_xy([lo[0], hi[0], lo[0], hi[0]], [lo[1], lo[1], hi[1], hi[1]], crs, WGS84)
    return (float(corners[:, 0].min()), float(corners[:, 1].min()),
            float(corners[:, 0].max()), float(corners[:, 1].max()))


def scenario_roads(
    scenario: Scenario,
    travel: TravelSettings | None = None,
    cache_dir: Path | None = None,
) -> ScenarioRoads:
    """Read, check and prepare a scenario's road network for its travel mode.

    Parameters
    ----------
    scenario : a loaded scenario.
    travel : travel settings (mode, snapping) overriding the scenario's.
    cache_dir : cache folder for road files and downloads.

    Returns
    -------
    ScenarioRoads
        Without a road file or place: no graph, the demand points, no warnings.

    Raises
    ------
    NetworkError
        Naming the road file (as ``[files] roads`` does) with every problem found.
    """
    from geodata.demand import demand_points

    travel = travel or scenario.settings.travel
    crs = scenario.settings.crs
    label = roads_label(scenario)
    needs_graph = bool(len(scenario.demand)) and not (
        scenario.demand.geometry.geom_type == "Point").all()
    sites = scenario.sites
    if label is None:
        demand = demand_points(scenario)
        return ScenarioRoads(None, None, None, None, demand, np.full(len(demand), np.nan),
                             np.full(len(sites), np.nan), None, ())
    try:
        raw, source = scenario_graph(scenario, cache_dir)
        assert raw is not None
        prepared = prepare_graph(raw, travel)
    except NetworkError as exc:
        raise _relabel(exc, label) from None
    demand = demand_points(scenario, graph=raw if needs_graph else None)
    ga = graph_arrays(prepared, crs)
    d_xy = points_xy(demand, crs, "demand points")
    s_xy = points_xy(sites, crs, "sites")
    d_snap = np.asarray(ga.node_tree.query(d_xy, k=1)[0], dtype=float).reshape(-1)
    s_snap = np.asarray(ga.node_tree.query(s_xy, k=1)[0], dtype=float).reshape(-1)
    reach = road_reach(
        travel.mode, travel.max_snap_m, d_snap, demand["population"].to_numpy(dtype=float),
        s_snap, point_ids(sites), _lonlat_bounds(ga.xy_m, crs), _lonlat_bounds(d_xy, crs),
        str(raw.graph["crs"]) if raw.graph.get("crs") is not None
        else f"none declared, read as {WGS84}")
    problems, warnings = reach_problems(reach, label)
    if problems:
        raise NetworkError(problems)
    for w in warnings:
        logger.warning(w)
    return ScenarioRoads(raw, prepared, source, label, demand, d_snap, s_snap, reach,
                         tuple(warnings))


def check_roads(scenario: Scenario, cache_dir: Path | None = None) -> tuple[list[Problem],
                                                                           list[str]]:
    """``motcua validate``'s check of a scenario's road file: problems and warnings.

    The same checks as every command that routes (:func:`scenario_roads`), for the
    scenario's travel mode.  A ``[files] place`` is checked only when its download
    is in the cache (validating never downloads).
    """
    if scenario.roads_path is None:
        place = scenario.settings.files.place
        if not place:
            return [], []
        from geodata.cache import default_cache_dir
        from geodata.network import query_key

        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        if not (folder / f"osm_{query_key(place=place)}.graphml").exists():
            return [], [f"{roads_label(scenario)}: not downloaded yet, so not checked"]
    try:
        roads = scenario_roads(scenario, cache_dir=cache_dir)
    except NetworkError as exc:
        return exc.problems or [Problem(roads_label(scenario) or "roads", str(exc))], []
    return [], list(roads.warnings)
