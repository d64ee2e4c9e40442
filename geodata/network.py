"""Road graphs: load, download, speeds per mode and the routable network.

A road graph is an osmnx ``MultiDiGraph`` (nodes with ``x``/``y`` in the
graph's CRS, edges with ``highway`` and ``length`` in metres).  It comes from a
``.graphml`` file (``osmnx.save_graphml``), an OpenStreetMap ``.osm`` XML file,
or a download by place name or polygon (cached on disk keyed by the query).

:func:`prepare_graph` turns it into the routable network for one travel mode:
edges the mode may not use are removed (motorbikes are banned from Vietnamese
expressways, cars from footways), every edge gets ``speed_kph`` and
``travel_time_min``, walkers may use every way in both directions, and for
vehicle modes only the largest strongly connected component is kept, so that
every kept node can reach every other one.  What was dropped is recorded in
``graph.graph["motcua_report"]`` (a :class:`NetworkReport` as a dict).
Road files are read once and then from the cache (:func:`cached_graph`).

:func:`graph_arrays` gives the compact arrays (sparse adjacency matrices,
projected node coordinates) that :mod:`geodata.coverage` routes on.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import math
import re
import weakref
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from scipy.sparse.csgraph import connected_components
from scipy.spatial import KDTree

from geodata._errors import NetworkError, Problem
from geodata._json import dumps
from geodata.cache import default_cache_dir, file_digest, hash_parts, read_pickle, write_pickle
from geodata.settings import MODES, TravelSettings

logger = logging.getLogger(__name__)

#: Modes that follow one-way streets and keep only the largest strongly connected part.
VEHICLE_MODES: tuple[str, ...] = ("motorbike", "car")

#: Default speed in km/h per OSM ``highway`` class for each mode.
#:
#: Chosen for Vietnam: typical door-to-door speeds in mixed traffic, not posted
#: limits (urban motorbike traffic averages 20-30 km/h).  A class missing from a
#: mode's table may not be used by that mode: motorbikes are banned from
#: expressways (``motorway``, Decree 168/2024 and Circular 38/2024), cars do not
#: use footways, paths or steps, nobody walks on expressways.  Motorbikes do use
#: ``track`` and ``path`` (rural trails); ``service`` covers the many ngõ/hẻm
#: alleys.  Override per class with ``[travel.speeds_kph.<mode>]`` in
#: ``scenario.toml``; an override of 0 bans the class for that mode.
DEFAULT_SPEEDS_KPH: dict[str, dict[str, float]] = {
    "motorbike": {
        "trunk": 40.0, "trunk_link": 30.0,
        "primary": 35.0, "primary_link": 25.0,
        "secondary": 30.0, "secondary_link": 25.0,
        "tertiary": 28.0, "tertiary_link": 22.0,
        "unclassified": 25.0, "road": 25.0,
        "residential": 20.0, "living_street": 12.0,
        "service": 15.0, "track": 15.0, "path": 10.0,
    },
    "car": {
        "motorway": 80.0, "motorway_link": 50.0,
        "trunk": 50.0, "trunk_link": 35.0,
        "primary": 40.0, "primary_link": 30.0,
        "secondary": 35.0, "secondary_link": 28.0,
        "tertiary": 30.0, "tertiary_link": 25.0,
        "unclassified": 25.0, "road": 25.0,
        "residential": 20.0, "living_street": 10.0,
        "service": 12.0, "track": 12.0,
    },
    "walk": {
        "trunk": 4.5, "trunk_link": 4.5,
        "primary": 4.5, "primary_link": 4.5,
        "secondary": 4.5, "secondary_link": 4.5,
        "tertiary": 4.5, "tertiary_link": 4.5,
        "unclassified": 4.5, "road": 4.5,
        "residential": 4.5, "living_street": 4.5,
        "service": 4.5, "track": 4.5, "path": 4.5,
        "pedestrian": 4.5, "footway": 4.5, "cycleway": 4.5,
        "bridleway": 4.5, "corridor": 4.5,
        "steps": 2.0, "ladder": 1.0,
    },
}

#: Speed in km/h applied to straight-line km x circuity when there is no road network.
STRAIGHT_LINE_SPEED_KPH: dict[str, float] = {"motorbike": 30.0, "car": 35.0, "walk": 4.5}
#: Key of ``[travel.speeds_kph.<mode>]`` that overrides :data:`STRAIGHT_LINE_SPEED_KPH`.
STRAIGHT_LINE_KEY = "straight_line"

#: Bump when the cached graph format changes (see :func:`cached_graph`).
GRAPH_CACHE_VERSION = "graph-2"  # 2: graphs are checked (graph_problems) before caching

#: CRS of a graph that declares none (osmnx's default).
WGS84_CRS = "EPSG:4326"

#: ``access`` tag values that close a way to vehicle traffic.
_NO_ACCESS = frozenset({"no", "private"})


@dataclass(frozen=True)
class NetworkReport:
    """What :func:`prepare_graph` kept and dropped.

    nodes_in, edges_in : size of the graph given.
    edges_not_allowed : edges the mode may not use (class banned or access=no/private).
    nodes_kept, edges_kept : size of the routable network.
    nodes_dropped_components, edges_dropped_components : removed with the smaller
        strongly connected components (vehicle modes only; 0 for walking).
    components : number of strongly connected components before the filter.
    """

    mode: str
    nodes_in: int
    edges_in: int
    edges_not_allowed: int
    nodes_kept: int
    edges_kept: int
    nodes_dropped_components: int
    edges_dropped_components: int
    components: int

    def summary(self) -> str:
        """One line for logs and the command line."""
        return (
            f"{self.mode} network: kept {self.nodes_kept:,} nodes / {self.edges_kept:,} edges; "
            f"dropped {self.edges_not_allowed:,} edges not usable by {self.mode} and "
            f"{self.nodes_dropped_components:,} nodes / {self.edges_dropped_components:,} edges "
            f"in {max(self.components - 1, 0):,} smaller disconnected parts"
        )


# --------------------------------------------------------------------------- loading

#: What a road file must be, as the errors about road files say it.
ROAD_FILE_EXPECTED = ("a road network saved by osmnx.save_graphml (.graphml) or an "
                      "OpenStreetMap XML export (.osm)")


def load_graph(path: str | Path, label: str | None = None) -> nx.MultiDiGraph[Any]:
    """Load a road graph from a ``.graphml`` (osmnx) or ``.osm`` (OpenStreetMap XML) file.

    ``.osm`` files are read unsimplified with every component retained, so that
    each edge has a single highway class and points snap to nearby nodes;
    one-way streets are kept one-way.  The graph read must pass
    :func:`graph_problems`.

    Parameters
    ----------
    path : file to read.
    label : how errors name the file (default: ``path``).

    Returns
    -------
    nx.MultiDiGraph[Any]
        The raw graph (all highway classes), not yet prepared for a mode.

    Raises
    ------
    NetworkError
        If the file is missing, empty, has another extension, cannot be parsed or
        is not a usable road graph; its ``problems`` name each thing wrong.
    """
    import osmnx as ox

    path = Path(path)
    name = label or str(path)
    if not path.exists():
        raise NetworkError(Problem(name, "road network file not found", expected=ROAD_FILE_EXPECTED))
    suffix = path.suffix.lower()
    if suffix not in (".graphml", ".osm", ".xml"):
        raise NetworkError(Problem(name, f"unsupported road network format {suffix!r}",
                                   expected=".graphml or .osm"))
    try:
        empty = not path.read_bytes().strip()
    except OSError as exc:
        raise NetworkError(Problem(name, f"cannot be read: {exc.strerror or exc}")) from exc
    if empty:
        raise NetworkError(Problem(name, "road network file is empty", expected=ROAD_FILE_EXPECTED))
    try:
        if suffix == ".graphml":
            graph = ox.load_graphml(path)
        else:
            graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    except Exception as exc:  # osmnx/lxml/networkx raise many types on bad files
        msg = f"could not read road network ({type(exc).__name__}: {exc})"
        raise NetworkError(Problem(name, msg, expected=ROAD_FILE_EXPECTED)) from exc
    problems = graph_problems(graph, name)
    if problems:
        raise NetworkError(problems)
    logger.info("loaded %s: %d nodes, %d edges", path.name, len(graph), graph.number_of_edges())
    return graph


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, ``None`` when it is missing or not a finite number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def valid_length(value: Any) -> bool:
    """Whether an edge's ``length`` is a finite number of metres >= 0."""
    number = _finite(value)
    return number is not None and number >= 0


def graph_problems(graph: nx.MultiDiGraph[Any], label: str = "road network") -> list[Problem]:
    """What makes a raw road graph unusable for any travel mode, one :class:`Problem` each.

    A usable graph has nodes, each with a finite ``x`` and ``y`` in the graph's
    ``crs`` (EPSG:4326 when it declares none, as osmnx assumes; then they must be
    degrees), edges, and a ``length`` in metres >= 0 on every edge.  Whether a
    mode may use the edges is :func:`prepare_graph`'s check; whether the network
    lies where the demand is, :func:`geodata.snapping.reach_problems`'s.

    Parameters
    ----------
    graph : the raw graph.
    label : file name the problems carry.
    """
    n = len(graph)
    if n == 0:
        return [Problem(label, "road network has no nodes",
                        expected="nodes with x (longitude) and y (latitude) and roads between "
                                 "them, " + ROAD_FILE_EXPECTED)]
    problems: list[Problem] = []
    xs: list[float] = []
    ys: list[float] = []
    bad_nodes: list[tuple[Any, Any, Any]] = []
    for node, data in graph.nodes(data=True):
        x, y = _finite(data.get("x")), _finite(data.get("y"))
        if x is None or y is None:
            bad_nodes.append((node, data.get("x"), data.get("y")))
        else:
            xs.append(x)
            ys.append(y)
    if bad_nodes:
        node, x, y = bad_nodes[0]
        more = f" ({len(bad_nodes) - 1:,} more of the {n:,} nodes neither)" if len(bad_nodes) > 1 else ""
        problems.append(Problem(
            label, f"node {node!r} has no valid coordinates{more}", column="x/y",
            value=f"x={x!r}, y={y!r}",
            expected="a finite x and y on every node, in the graph's CRS "
                     "(longitude and latitude for EPSG:4326)"))
    declared = graph.graph.get("crs")
    try:
        crs = CRS.from_user_input(declared if declared is not None else WGS84_CRS)
    except CRSError:
        problems.append(Problem(label, "the graph's 'crs' is not a coordinate reference system",
                                column="crs", value=declared,
                                expected="a CRS such as EPSG:4326 (what osmnx writes)"))
    else:
        if crs.is_geographic and xs and (max(map(abs, xs)) > 180 or max(map(abs, ys)) > 90):
            what = (f"the graph declares the geographic CRS {declared}" if declared is not None
                    else "the graph declares no CRS (read as EPSG:4326)")
            problems.append(Problem(
                label, f"node coordinates are not degrees but {what}", column="crs",
                value=f"x {min(xs):.6g}..{max(xs):.6g}, y {min(ys):.6g}..{max(ys):.6g}",
                expected="a 'crs' graph attribute matching the coordinates "
                         "(e.g. EPSG:32648 for UTM 48N metres) or longitude/latitude degrees"))
    m = graph.number_of_edges()
    if m == 0:
        problems.append(Problem(label, f"road network has {n:,} nodes but no edges",
                                expected="roads (edges) between the nodes, " + ROAD_FILE_EXPECTED))
        return problems
    bad_edges = [(u, v, d.get("length")) for u, v, d in graph.edges(data=True)
                 if not valid_length(d.get("length"))]
    if bad_edges:
        u, v, length = bad_edges[0]
        more = (f" ({len(bad_edges) - 1:,} more of the {m:,} edges neither)"
                if len(bad_edges) > 1 else "")
        problems.append(Problem(label, f"edge {u}->{v} has no valid 'length' in metres{more}",
                                column="length", value=length,
                                expected="a length in metres >= 0 on every edge (osmnx adds it)"))
    return problems


def cached_graph(path: str | Path, cache_dir: str | Path | None = None,
                 label: str | None = None) -> nx.MultiDiGraph[Any]:
    """:func:`load_graph` of ``path``, cached by the file's contents.

    Parameters
    ----------
    path : ``.graphml`` or ``.osm`` file.
    cache_dir : cache folder; default :func:`geodata.cache.default_cache_dir`.
    label : how errors name the file (default: ``path``).
    """
    path = Path(path)
    if not path.exists():
        return load_graph(path, label)  # raises the NetworkError naming the file
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = hash_parts(GRAPH_CACHE_VERSION, path.suffix.lower(), file_digest(path))
    entry = folder / f"graph_{key}.pkl"
    graph = read_pickle(entry)
    if isinstance(graph, nx.MultiDiGraph):
        logger.info("road network %s read from cache %s", path.name, entry)
        return graph
    graph = load_graph(path, label)
    write_pickle(graph, entry)
    return graph


def query_key(place: str | None = None, polygon: Any = None) -> str:
    """Cache key of a download query: SHA-256 of the place name or polygon WKT."""
    if (place is None) == (polygon is None):
        msg = "give exactly one of place= or polygon= to download a road network"
        raise NetworkError(msg)
    payload: dict[str, Any] = {"place": place} if place is not None else {"polygon": polygon.wkt}
    payload["network_type"] = "all"
    payload["simplify"] = False
    text = dumps(payload, indent=None, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def download_graph(
    place: str | None = None,
    polygon: Any = None,
    cache_dir: str | Path | None = None,
) -> nx.MultiDiGraph[Any]:
    """Download the road network of a place or polygon with osmnx, cached on disk.

    The graph (all highway classes, unsimplified, every component retained) is
    saved as ``osm_<key>.graphml`` in ``cache_dir``, ``key`` being
    :func:`query_key` of the query, and re-read from there next time without
    touching the network.

    Parameters
    ----------
    place : place name osmnx can geocode, e.g. ``"Đầm Hà, Quảng Ninh, Vietnam"``.
    polygon : shapely (Multi)Polygon in EPSG:4326, instead of ``place``.
    cache_dir : folder of the cache; default :func:`geodata.cache.default_cache_dir`.

    Returns
    -------
    nx.MultiDiGraph[Any]

    Raises
    ------
    NetworkError
        If both or neither query is given, or the download fails (offline, unknown place).
    """
    key = query_key(place, polygon)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"osm_{key}.graphml"
    if path.exists():
        logger.info("road network for %s read from cache %s", place or "polygon", path)
        return load_graph(path)
    import osmnx as ox

    what = repr(place) if place is not None else "the given polygon"
    try:
        if place is not None:
            graph = ox.graph_from_place(place, network_type="all", simplify=False,
                                        retain_all=True)
        else:
            graph = ox.graph_from_polygon(polygon, network_type="all", simplify=False,
                                          retain_all=True)
    except Exception as exc:  # requests/geocoder/osmnx errors when offline or unknown place
        msg = (f"could not download the road network of {what} with osmnx "
               f"({type(exc).__name__}: {exc}); give a roads file in the scenario instead")
        raise NetworkError(msg) from exc
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.graphml")
    ox.save_graphml(graph, tmp)
    tmp.replace(path)
    logger.info("downloaded %s: %d nodes, %d edges, cached as %s",
                what, len(graph), graph.number_of_edges(), path)
    return graph


# --------------------------------------------------------------------------- speeds

def mode_speeds_kph(travel: TravelSettings, mode: str | None = None) -> dict[str, float]:
    """Speed table (highway class -> km/h) of a mode: defaults updated by the scenario's overrides.

    Classes with a speed <= 0 are banned for the mode and left out.

    Raises
    ------
    NetworkError
        If the mode is unknown.
    """
    mode = mode or travel.mode
    if mode not in MODES:
        msg = f"unknown travel mode {mode!r}; expected one of {', '.join(MODES)}"
        raise NetworkError(msg)
    speeds = dict(DEFAULT_SPEEDS_KPH[mode])
    speeds.update(travel.speeds_kph.get(mode, {}))
    speeds.pop(STRAIGHT_LINE_KEY, None)
    return {k: float(v) for k, v in speeds.items() if v > 0}


def straight_line_speed_kph(travel: TravelSettings, mode: str | None = None) -> float:
    """Speed used without a road network: ``[travel.speeds_kph.<mode>] straight_line`` or the default."""
    mode = mode or travel.mode
    if mode not in MODES:
        msg = f"unknown travel mode {mode!r}; expected one of {', '.join(MODES)}"
        raise NetworkError(msg)
    speed = float(travel.speeds_kph.get(mode, {}).get(STRAIGHT_LINE_KEY,
                                                      STRAIGHT_LINE_SPEED_KPH[mode]))
    if speed <= 0:
        msg = f"straight-line speed for {mode} must be > 0 km/h, got {speed}"
        raise NetworkError(msg)
    return speed


def _classes(value: Any) -> list[str]:
    """Highway classes of an edge: a str, a list, or a list saved as text in graphml."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return [text]
            return [str(v) for v in parsed]
        return [text]
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return [str(value)]


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _maxspeed_kph(value: Any) -> float | None:
    """Lowest numeric km/h in an OSM ``maxspeed`` value, or ``None`` if unreadable."""
    if value is None:
        return None
    values = value if isinstance(value, (list, tuple)) else [value]
    found: list[float] = []
    for v in values:
        text = str(v)
        numbers = [float(m) for m in _NUMBER.findall(text)]
        if not numbers:
            continue
        speed = numbers[0] * (1.609344 if "mph" in text else 1.0)
        if speed > 0:
            found.append(speed)
    return min(found) if found else None


def edge_speed_kph(data: Mapping[str, Any], speeds: Mapping[str, float], mode: str) -> float | None:
    """Speed of one edge for a mode, or ``None`` when the mode may not use it.

    A simplified edge can carry several classes: it is usable when any of them
    is, at the lowest usable speed.  A posted ``maxspeed`` lower than the class
    speed caps it.  Vehicle modes may not use ``access=no/private`` ways.
    """
    usable = [speeds[c] for c in _classes(data.get("highway")) if c in speeds]
    if not usable:
        return None
    if mode in VEHICLE_MODES:
        access = {a.strip() for a in _classes(data.get("access"))}
        if access and access <= _NO_ACCESS:
            return None
    speed = min(usable)
    cap = _maxspeed_kph(data.get("maxspeed"))
    if cap is not None:
        speed = min(speed, cap)
    return speed


# --------------------------------------------------------------------------- preparing

def unusable_problem(graph: nx.MultiDiGraph[Any], speeds: Mapping[str, float],
                     mode: str) -> Problem:
    """The :class:`Problem` of a graph none of whose edges ``mode`` may use, naming what it has."""
    counts: dict[str, int] = {}
    for _, _, data in graph.edges(data=True):
        for cls in _classes(data.get("highway")) or ["(none)"]:
            counts[cls] = counts.get(cls, 0) + 1
    found = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not found:
        value: Any = None
    elif list(counts) == ["(none)"]:
        value = f"no edge has a 'highway' class ({counts['(none)']:,} edges)"
    else:
        value = ", ".join(f"{cls} ({k:,} edges)" for cls, k in found[:8])
        if len(found) > 8:
            value += f", ... {len(found) - 8} more classes"
    usable = ", ".join(sorted(speeds))
    return Problem("road network", f"no road in the network is usable by {mode}", column="highway",
                   value=value,
                   expected=f"edges whose 'highway' class {mode} may use ({usable}), not closed by "
                            f"access=no/private; or a speed for the file's classes in "
                            f"[travel.speeds_kph.{mode}]")



def prepare_graph(
    graph: nx.MultiDiGraph[Any],
    travel: TravelSettings,
    mode: str | None = None,
    largest_component: bool | None = None,
) -> nx.MultiDiGraph[Any]:
    """The routable network of one travel mode, with ``travel_time_min`` on every edge.

    Parameters
    ----------
    graph : raw road graph (:func:`load_graph`); not modified.
    travel : travel settings (mode, speed overrides).
    mode : overrides ``travel.mode``.
    largest_component : keep only the largest strongly connected component;
        default True for vehicle modes, False for walking (walkers use every
        way in both directions, so the parts are disconnected only physically).

    Returns
    -------
    nx.MultiDiGraph[Any]
        A new graph with edge attributes ``speed_kph`` and ``travel_time_min``
        and graph attributes ``motcua_mode`` and ``motcua_report``
        (:class:`NetworkReport` as a dict).

    Raises
    ------
    NetworkError
        If the mode is unknown, an edge has no usable length, or no edge is
        usable by the mode.
    """
    mode = mode or travel.mode
    speeds = mode_speeds_kph(travel, mode)
    if "motcua_mode" in graph.graph:
        msg = (f"graph was already prepared for {graph.graph['motcua_mode']}; "
               f"pass the raw road graph to prepare it for {mode}")
        raise NetworkError(msg)
    if largest_component is None:
        largest_component = mode in VEHICLE_MODES
    walk = mode not in VEHICLE_MODES

    out: nx.MultiDiGraph[Any] = nx.MultiDiGraph()
    out.graph.update(graph.graph)
    edges_in = graph.number_of_edges()
    not_allowed = 0
    edges: list[tuple[Any, Any, dict[str, Any]]] = []
    for u, v, data in graph.edges(data=True):
        if u == v:
            not_allowed += 1  # self-loops never shorten a route
            continue
        speed = edge_speed_kph(data, speeds, mode)
        if speed is None:
            not_allowed += 1
            continue
        length_m = _finite(data.get("length"))
        if length_m is None or length_m < 0:
            raise NetworkError(Problem("road network", f"edge {u}->{v} has no valid 'length' in "
                                       "metres", column="length", value=data.get("length"),
                                       expected="a length in metres >= 0 on every edge"))
        attrs = dict(data)
        attrs["speed_kph"] = speed
        attrs["travel_time_min"] = length_m / 1000.0 / speed * 60.0
        edges.append((u, v, attrs))
        if walk:
            back = dict(attrs)
            back["reversed"] = not bool(attrs.get("reversed", False))
            edges.append((v, u, back))
    if not edges:
        raise NetworkError(unusable_problem(graph, speeds, mode))
    used = {n for u, v, _ in edges for n in (u, v)}
    out.add_nodes_from((n, graph.nodes[n]) for n in graph.nodes if n in used)
    out.add_edges_from(edges)

    components = 1
    dropped_nodes = dropped_edges = 0
    drop: list[Any] = []
    if largest_component:
        nodes = list(out.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        rows = np.fromiter((index[u] for u, _ in out.edges()), dtype=np.int64)
        cols = np.fromiter((index[v] for _, v in out.edges()), dtype=np.int64)
        adj = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(nodes)))
        components, labels = connected_components(adj, directed=True, connection="strong")
        if components > 1:
            biggest = int(np.bincount(labels).argmax())
            drop = [nodes[i] for i in np.flatnonzero(labels != biggest)]
            before = out.number_of_edges()
            out.remove_nodes_from(drop)
            dropped_nodes = len(drop)
            dropped_edges = before - out.number_of_edges()
    else:
        components = nx.number_weakly_connected_components(out) if walk else 1

    report = NetworkReport(
        mode=mode, nodes_in=len(graph), edges_in=edges_in, edges_not_allowed=not_allowed,
        nodes_kept=len(out), edges_kept=out.number_of_edges(),
        nodes_dropped_components=dropped_nodes, edges_dropped_components=dropped_edges,
        components=int(components),
    )
    out.graph["motcua_mode"] = mode
    out.graph["motcua_report"] = asdict(report)
    out.graph["motcua_dropped_nodes"] = drop
    logger.info(report.summary())
    return out


def ensure_prepared(graph: nx.MultiDiGraph[Any], travel: TravelSettings) -> nx.MultiDiGraph[Any]:
    """``graph`` if already prepared for ``travel.mode``, else :func:`prepare_graph` of it.

    Raises
    ------
    NetworkError
        If the graph was prepared for another mode.
    """
    prepared = graph.graph.get("motcua_mode")
    if prepared is None:
        return prepare_graph(graph, travel)
    if prepared != travel.mode:
        msg = (f"graph was prepared for {prepared} but travel mode is {travel.mode}; "
               "pass the raw road graph")
        raise NetworkError(msg)
    return graph


def network_report(graph: nx.MultiDiGraph[Any]) -> NetworkReport | None:
    """The :class:`NetworkReport` of a prepared graph, ``None`` for a raw one."""
    data = graph.graph.get("motcua_report")
    return NetworkReport(**data) if data else None


# --------------------------------------------------------------------------- arrays

@dataclass(frozen=True)
class Chains:
    """The chains of a graph: runs of pass-through nodes between junctions.

    A node is *pass-through* when it links exactly two other nodes (self-loops
    aside) and traffic passes it in the same directions it arrives: an edge
    a -> v exists iff v -> b does, and b -> v iff v -> a (so a one-way street
    stays one-way and a node where two one-way streets meet head-on is kept).
    A chain is ``x, v1, ..., vk, y``: pass-through nodes ``v1..vk`` between two
    other nodes ``x`` and ``y`` (possibly ``x == y``); a ring of pass-through
    nodes alone gets one of them as its end.  Every edge touching a
    pass-through node lies on exactly one chain, so the graph can be routed on
    the other nodes with each chain replaced by one edge per direction.

    seq : chains one after the other, ends included (``ptr`` delimits them).
    ptr : (n_chains + 1,) start of each chain in ``seq``.
    fwd_min, fwd_km, fwd_len_km : per position i of ``seq``, the edge
        ``seq[i] -> seq[i + 1]``: minutes of the fastest edge, its km, and the
        km of the shortest edge (0 past a chain's last node or where the edge is
        missing; see ``fwd``).
    bwd_min, bwd_km, bwd_len_km : the same for the edge ``seq[i + 1] -> seq[i]``.
    fwd, bwd : (n_chains,) whether the chain can be travelled from its first
        node to its last, and back.
    pass_through : (n_nodes,) True for the nodes inside chains.
    """

    seq: npt.NDArray[np.int64]
    ptr: npt.NDArray[np.int64]
    fwd_min: npt.NDArray[np.float64]
    fwd_km: npt.NDArray[np.float64]
    fwd_len_km: npt.NDArray[np.float64]
    bwd_min: npt.NDArray[np.float64]
    bwd_km: npt.NDArray[np.float64]
    bwd_len_km: npt.NDArray[np.float64]
    fwd: npt.NDArray[np.bool_]
    bwd: npt.NDArray[np.bool_]
    pass_through: npt.NDArray[np.bool_]

    @property
    def n_chains(self) -> int:
        return len(self.ptr) - 1


@dataclass(frozen=True)
class GraphArrays:
    """A prepared graph as arrays, the form :mod:`geodata.coverage` routes on.

    node_ids : osm ids, index i of the arrays is node ``node_ids[i]``.
    xy_m : (n, 2) node coordinates in the metric CRS ``crs``.
    time_min : CSR (n x n), ``[u, v]`` = fastest edge u->v in minutes
        (explicit entries, zeros included, for every edge; sorted indices).
    time_edge_km : CSR with the pattern of ``time_min``: km of that fastest edge.
    length_km : CSR, ``[u, v]`` = shortest edge u->v in km.
    chains : the chains of pass-through nodes (:class:`Chains`), for routing
        on a contracted graph.
    node_tree : KD-tree on ``xy_m``, for snapping.

    The arrays are shared by every call on the same graph object (see
    :func:`graph_arrays`): treat them as read-only.
    """

    node_ids: npt.NDArray[Any]
    xy_m: npt.NDArray[np.float64]
    time_min: sp.csr_matrix
    time_edge_km: sp.csr_matrix
    length_km: sp.csr_matrix
    crs: str
    chains: Chains
    node_tree: KDTree

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)


def project_xy(
    x: npt.ArrayLike, y: npt.ArrayLike, src_crs: Any, dst_crs: Any,
) -> npt.NDArray[np.float64]:
    """Transform coordinate arrays from ``src_crs`` to ``dst_crs``; returns (n, 2)."""
    tr = Transformer.from_crs(src_crs, dst_crs, always_xy=True)
    xs, ys = tr.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.column_stack([np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)])


def _min_csr(rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64],
             key: npt.NDArray[np.float64], values: list[npt.NDArray[np.float64]],
             n: int) -> list[sp.csr_matrix]:
    """CSR matrices holding, for each (row, col), ``values`` of the entry with the smallest ``key``."""
    order = np.lexsort((key, cols, rows))
    r, c = rows[order], cols[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    idx = order[first]
    out = []
    for val in values:
        # built directly from sorted unique (row, col): no summing, explicit zeros kept
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(indptr, rows[idx] + 1, 1)
        indptr = np.cumsum(indptr)
        m = sp.csr_matrix((val[idx].astype(np.float64), cols[idx].astype(np.int32),
                           indptr.astype(np.int32)), shape=(n, n))
        out.append(m)
    return out


#: Arrays already built, per graph object and CRS, with the node count they were built
#: for (weak keys: an entry goes with its graph).  A cache of derived data only.
_ARRAYS: weakref.WeakKeyDictionary[nx.MultiDiGraph[Any], dict[str, tuple[int, GraphArrays]]] = (
    weakref.WeakKeyDictionary())


def clear_arrays_cache() -> None:
    """Forget every graph's cached :func:`graph_arrays` (for cold timings)."""
    _ARRAYS.clear()


def _csr_has(m: sp.csr_matrix, rows: npt.NDArray[np.int64],
             cols: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Whether entries ``(rows, cols)`` exist in ``m`` (sorted indices), and their positions."""
    n = m.shape[1]
    entry_rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    keys = entry_rows * n + m.indices.astype(np.int64)
    want = rows.astype(np.int64) * n + cols.astype(np.int64)
    pos = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
    has = (keys[pos] == want) if len(keys) else np.zeros(len(want), dtype=bool)
    return has, pos


def graph_chains(time_min: sp.csr_matrix, time_edge_km: sp.csr_matrix,
                 length_km: sp.csr_matrix) -> Chains:
    """The chains of pass-through nodes of a graph given as arrays (see :class:`Chains`).

    Parameters
    ----------
    time_min, time_edge_km, length_km : as in :class:`GraphArrays` (same pattern,
        sorted indices).

    Returns
    -------
    Chains
    """
    n = time_min.shape[0]
    pat = sp.csr_matrix((np.ones(time_min.nnz, dtype=np.int8), time_min.indices,
                         time_min.indptr), shape=(n, n))
    und = (pat + pat.T).tocsr()
    und.setdiag(0)
    und.eliminate_zeros()
    und.sort_indices()
    deg = np.diff(und.indptr)
    cand = np.flatnonzero(deg == 2)
    a = und.indices[und.indptr[cand]].astype(np.int64)
    b = und.indices[und.indptr[cand] + 1].astype(np.int64)
    av, _ = _csr_has(time_min, a, cand)
    vb, _ = _csr_has(time_min, cand, b)
    bv, _ = _csr_has(time_min, b, cand)
    va, _ = _csr_has(time_min, cand, a)
    through = np.zeros(n, dtype=bool)
    through[cand] = (av == vb) & (bv == va) & (av | bv)
    # walk the chains from their ends (a plain loop over pass-through nodes, once per graph)
    indptr = und.indptr.tolist()
    nbr = und.indices.tolist()
    thr = through.tolist()
    seen = [False] * n
    seq: list[int] = []
    ptr: list[int] = [0]

    def walk(end: int, first: int) -> None:
        seq.append(end)
        prev, cur = end, first
        while thr[cur] and not seen[cur]:
            seen[cur] = True
            seq.append(cur)
            i = indptr[cur]
            prev, cur = cur, (nbr[i + 1] if nbr[i] == prev else nbr[i])
        seq.append(cur)
        ptr.append(len(seq))

    for x in range(n):
        if not thr[x]:
            for i in range(indptr[x], indptr[x + 1]):
                w = nbr[i]
                if thr[w] and not seen[w]:
                    walk(x, w)
    for r in np.flatnonzero(through).tolist():  # rings of pass-through nodes only
        if not seen[r]:
            thr[r] = False
            through[r] = False
            walk(r, nbr[indptr[r]])
    s_arr = np.asarray(seq, dtype=np.int64)
    p_arr = np.asarray(ptr, dtype=np.int64)
    last = np.zeros(len(s_arr), dtype=bool)
    last[p_arr[1:] - 1] = True
    u = s_arr
    v = np.append(s_arr[1:], 0)
    f_has, f_pos = _csr_has(time_min, u, v)
    b_has, b_pos = _csr_has(time_min, v, u)
    f_has &= ~last
    b_has &= ~last
    l_f_has, l_f_pos = _csr_has(length_km, u, v)
    l_b_has, l_b_pos = _csr_has(length_km, v, u)

    def take(m: sp.csr_matrix, has: npt.NDArray[np.bool_],
             pos: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return np.where(has & ~last, np.asarray(m.data, dtype=float)[pos] if m.nnz else 0.0, 0.0)

    n_ch = len(p_arr) - 1
    edge_chain = np.repeat(np.arange(n_ch), np.diff(p_arr))
    # a chain can be travelled one way iff all its edges exist that way
    f_missing = np.bincount(edge_chain[~f_has & ~last], minlength=n_ch) > 0
    b_missing = np.bincount(edge_chain[~b_has & ~last], minlength=n_ch) > 0
    chains = Chains(
        seq=s_arr, ptr=p_arr,
        fwd_min=take(time_min, f_has, f_pos), fwd_km=take(time_edge_km, f_has, f_pos),
        fwd_len_km=take(length_km, l_f_has & f_has, l_f_pos),
        bwd_min=take(time_min, b_has, b_pos), bwd_km=take(time_edge_km, b_has, b_pos),
        bwd_len_km=take(length_km, l_b_has & b_has, l_b_pos),
        fwd=~f_missing, bwd=~b_missing, pass_through=through,
    )
    logger.debug("%d pass-through nodes of %d in %d chains", int(through.sum()), n, n_ch)
    return chains


def graph_arrays(graph: nx.MultiDiGraph[Any], crs: str) -> GraphArrays:
    """Arrays of a prepared graph with node coordinates projected to ``crs``.

    Built once per graph object and CRS, then returned from memory while the
    graph lives (a prepared graph is not modified afterwards; a graph whose
    node count changed is rebuilt).

    Raises
    ------
    NetworkError
        If the graph is not prepared (no ``travel_time_min``) or has no CRS.
    """
    if "motcua_mode" not in graph.graph:
        msg = "graph is not prepared for a travel mode; call geodata.network.prepare_graph first"
        raise NetworkError(msg)
    size = graph.number_of_nodes()
    per_graph = _ARRAYS.get(graph)
    if per_graph is not None and crs in per_graph and per_graph[crs][0] == size:
        return per_graph[crs][1]
    ga = _graph_arrays(graph, crs)
    _ARRAYS.setdefault(graph, {})[crs] = (size, ga)
    return ga


def _graph_arrays(graph: nx.MultiDiGraph[Any], crs: str) -> GraphArrays:
    node_ids = np.array(list(graph.nodes), dtype=object)
    n = len(node_ids)
    index = {node: i for i, node in enumerate(node_ids)}
    xs = np.fromiter((d["x"] for _, d in graph.nodes(data=True)), dtype=float, count=n)
    ys = np.fromiter((d["y"] for _, d in graph.nodes(data=True)), dtype=float, count=n)
    src_crs = graph.graph.get("crs", "EPSG:4326")
    xy_m = project_xy(xs, ys, src_crs, crs)
    # one pass over the edges, straight into lists (counting them first costs another pass)
    rows_l: list[int] = []
    cols_l: list[int] = []
    tmin_l: list[float] = []
    len_l: list[float] = []
    for u, v, d in graph.edges(data=True):
        rows_l.append(index[u])
        cols_l.append(index[v])
        tmin_l.append(d["travel_time_min"])
        len_l.append(d["length"])
    rows = np.array(rows_l, dtype=np.int64)
    cols = np.array(cols_l, dtype=np.int64)
    tmin = np.array(tmin_l, dtype=float)
    km = np.array(len_l, dtype=float) / 1000.0
    time_min, time_edge_km = _min_csr(rows, cols, tmin, [tmin, km], n)
    (length_km,) = _min_csr(rows, cols, km, [km], n)
    if n and not np.all(np.isfinite(xy_m)):
        msg = f"node coordinates could not be projected from {src_crs} to {crs}"
        raise NetworkError(msg)
    time_min.sort_indices()
    time_edge_km.sort_indices()
    length_km.sort_indices()
    return GraphArrays(node_ids=node_ids, xy_m=xy_m, time_min=time_min,
                       time_edge_km=time_edge_km, length_km=length_km, crs=crs,
                       chains=graph_chains(time_min, time_edge_km, length_km),
                       node_tree=KDTree(xy_m))
