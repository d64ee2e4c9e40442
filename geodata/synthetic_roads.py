"""Synthetic road graphs in osmnx form, for hand-checked tests and benchmarks.

Nothing here is real: graphs built by these functions must be labelled
synthetic wherever they are shown.  They have exactly the attributes
:func:`geodata.network.prepare_graph` reads from an osmnx graph (``x``/``y``
in EPSG:4326 on nodes; ``highway``, ``length`` in metres and ``oneway`` on
edges), so the same code path runs on them as on real OSM data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

from geodata.network import project_xy
from geodata.scenario import WGS84

#: A UTM 48N point in Hà Nội, origin of the metric coordinates used by tests.
HANOI_UTM48N_M: tuple[float, float] = (585_000.0, 2_323_000.0)


def graph_from_metric(
    nodes_xy_m: dict[Any, tuple[float, float]],
    edges: Sequence[tuple[Any, Any, str, float]],
    crs: str = "EPSG:32648",
    two_way: bool = True,
) -> nx.MultiDiGraph[Any]:
    """Osmnx-style graph from node coordinates in a metric CRS and explicit edges.

    Parameters
    ----------
    nodes_xy_m : node id -> (x, y) in metres in ``crs``.
    edges : ``(u, v, highway, length_m)``; with ``two_way`` each is added both
        ways unless ``highway`` ends with ``":oneway"`` (then only u -> v).
    crs : metric CRS of the coordinates.
    two_way : add the reverse of every edge not marked one-way.

    Returns
    -------
    nx.MultiDiGraph
        Nodes with ``x``/``y`` in EPSG:4326, edges with ``highway``, ``length``, ``oneway``.
    """
    ids = list(nodes_xy_m)
    xy = np.array([nodes_xy_m[i] for i in ids], dtype=float).reshape(-1, 2)
    lonlat = project_xy(xy[:, 0], xy[:, 1], crs, WGS84)
    graph: nx.MultiDiGraph[Any] = nx.MultiDiGraph(crs=WGS84, synthetic=True)
    for node, (lon, lat) in zip(ids, lonlat, strict=True):
        graph.add_node(node, x=float(lon), y=float(lat))
    for u, v, highway, length_m in edges:
        oneway = highway.endswith(":oneway")
        cls = highway.removesuffix(":oneway")
        graph.add_edge(u, v, highway=cls, length=float(length_m), oneway=oneway)
        if two_way and not oneway:
            graph.add_edge(v, u, highway=cls, length=float(length_m), oneway=False)
    return graph


def grid_road_graph(
    nx_: int,
    ny: int,
    spacing_m: float = 250.0,
    seed: int = 0,
    oneway_share: float = 0.1,
    origin_m: tuple[float, float] = HANOI_UTM48N_M,
    crs: str = "EPSG:32648",
) -> tuple[nx.MultiDiGraph[Any], npt.NDArray[np.float64]]:
    """A jittered grid road network of ``nx_ x ny`` nodes, for benchmarks and properties.

    Every 10th row/column is ``primary``, every 5th ``tertiary``, the rest
    ``residential``; a share of residential edges is one-way (random
    direction).  Edge lengths are the straight distance times a random factor
    in [1.0, 1.3).  Built with arrays, so 200,000+ nodes take seconds.

    Returns
    -------
    (graph, xy_m)
        The graph and the (n, 2) metric node coordinates in ``crs``.
    """
    rng = np.random.default_rng(seed)
    gi, gj = np.meshgrid(np.arange(nx_), np.arange(ny), indexing="ij")
    ii, jj = gi.ravel(), gj.ravel()
    n = nx_ * ny
    jitter = rng.uniform(-0.2, 0.2, size=(n, 2)) * spacing_m
    xy = np.column_stack([origin_m[0] + ii * spacing_m, origin_m[1] + jj * spacing_m]) + jitter
    lonlat = project_xy(xy[:, 0], xy[:, 1], crs, WGS84)
    node = (ii * ny + jj).astype(np.int64)

    def cls(line: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
        out = np.full(len(line), "residential", dtype=object)
        out[line % 5 == 0] = "tertiary"
        out[line % 10 == 0] = "primary"
        return out.astype(str)

    # horizontal edges (i, j) -> (i+1, j) run along row j; vertical ones along column i
    h = ii < nx_ - 1
    v = jj < ny - 1
    us = np.concatenate([node[h], node[v]])
    vs = np.concatenate([node[h] + ny, node[v] + 1])
    kinds = np.concatenate([cls(jj[h]), cls(ii[v])])
    straight = np.hypot(*(xy[vs] - xy[us]).T)
    lengths = straight * rng.uniform(1.0, 1.3, size=len(us))
    oneway = (kinds == "residential") & (rng.random(len(us)) < oneway_share)
    flip = oneway & (rng.random(len(us)) < 0.5)
    us, vs = np.where(flip, vs, us), np.where(flip, us, vs)

    graph: nx.MultiDiGraph[Any] = nx.MultiDiGraph(crs=WGS84, synthetic=True)
    graph.add_nodes_from(
        (int(k), {"x": float(lon), "y": float(lat)}) for k, (lon, lat) in zip(node, lonlat,
                                                                            strict=True))
    fwd = [(int(a), int(b), {"highway": str(k), "length": float(ln), "oneway": bool(o)})
           for a, b, k, ln, o in zip(us, vs, kinds, lengths, oneway, strict=True)]
    back = [(b, a, d) for a, b, d in fwd if not d["oneway"]]
    graph.add_edges_from(fwd)
    graph.add_edges_from(back)
    return graph, xy
