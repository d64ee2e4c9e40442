"""Coverage on the real central-Hanoi OSM extract, checked against networkx and brute force."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest

from geodata.coverage import build_coverage
from geodata.network import graph_arrays, load_graph, prepare_graph
from geodata.settings import CoverageStandard, TravelSettings
from geodata.snapping import snap_points

pytestmark = pytest.mark.shared_data
CRS = "EPSG:32648"
TRAVEL = TravelSettings()


@pytest.fixture(scope="module")
def hanoi(shared_data: Path) -> nx.MultiDiGraph:
    raw = load_graph(shared_data / "roads" / "hanoi" / "hanoi_hoan_kiem.osm")
    return prepare_graph(raw, TRAVEL)


def _random_points(graph: nx.MultiDiGraph, k: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xs = np.array([d["x"] for _, d in graph.nodes(data=True)])
    ys = np.array([d["y"] for _, d in graph.nodes(data=True)])
    lon = rng.uniform(xs.min(), xs.max(), k)
    lat = rng.uniform(ys.min(), ys.max(), k)
    return gpd.GeoDataFrame({"id": [f"p{seed}_{i}" for i in range(k)]},
                            geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    p = gdf.to_crs(CRS).geometry
    return np.column_stack([p.x, p.y])


def _brute_force(graph: nx.MultiDiGraph, demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
                 std: CoverageStandard, cutoff: float) -> dict[str, Any]:
    """Pairs, minutes and km from networkx Dijkstra from each site on the reversed graph."""
    ga = graph_arrays(graph, CRS)
    dxy, sxy = _xy(demand), _xy(sites)
    ds = snap_points(dxy, ga.xy_m, TRAVEL.access_speed_kph, TRAVEL.max_snap_m)
    ss = snap_points(sxy, ga.xy_m, TRAVEL.access_speed_kph, TRAVEL.max_snap_m)
    rev = graph.reverse(copy=False)
    minutes: dict[tuple[int, int], float] = {}
    km_fast: dict[tuple[int, int], float] = {}
    covered: set[tuple[int, int]] = set()
    for j in range(len(sites)):
        src = ga.node_ids[ss.node[j]]
        t, paths = nx.single_source_dijkstra(rev, src, weight="travel_time_min")
        length = nx.single_source_dijkstra_path_length(rev, src, weight="length")
        for i in range(len(demand)):
            straight = float(np.hypot(*(dxy[i] - sxy[j])))
            walk_min = straight / 1000 / TRAVEL.access_speed_kph * 60
            walk_ok = straight <= TRAVEL.max_snap_m
            node = ga.node_ids[ds.node[i]]
            best_min, best_km, short_km = np.inf, np.inf, np.inf
            if not ds.too_far[i] and not ss.too_far[j] and node in t:
                best_min = t[node] + ds.access_min[i] + ss.access_min[j]
                path = paths[node][::-1]  # demand node -> site node on the real graph
                best_km = sum(min(d["length"] for d in graph.get_edge_data(a, b).values()
                                  if d["travel_time_min"] == min(
                                      e["travel_time_min"] for e in
                                      graph.get_edge_data(a, b).values()))
                              for a, b in zip(path[:-1], path[1:], strict=True)) / 1000
                best_km += (ds.distance_m[i] + ss.distance_m[j]) / 1000
                short_km = length[node] / 1000 + (ds.distance_m[i] + ss.distance_m[j]) / 1000
            if walk_ok and walk_min < best_min:
                best_min, best_km = walk_min, straight / 1000
            if walk_ok:
                short_km = min(short_km, straight / 1000)
            if best_min <= cutoff:
                minutes[(i, j)] = best_min
                km_fast[(i, j)] = best_km
            in_time = best_min <= std.max_minutes
            in_km = short_km <= std.max_km
            if (in_time or in_km) if std.rule == "either" else (in_time and in_km):
                covered.add((i, j))
    return {"minutes": minutes, "km": km_fast, "covered": covered}


def _pairs(m) -> dict[tuple[int, int], float]:
    coo = m.tocoo()
    return {(int(i), int(j)): float(v) for i, j, v in zip(coo.row, coo.col, coo.data, strict=True)}


@pytest.mark.parametrize("rule", ["either", "both"])
def test_times_km_and_coverage_equal_networkx_brute_force(hanoi: nx.MultiDiGraph,
                                                          rule: str) -> None:
    demand = _random_points(hanoi, 150, seed=1)
    sites = _random_points(hanoi, 12, seed=2)
    std = CoverageStandard(max_minutes=6.0, max_km=1.5, rule=rule)  # small: real mix of in/out
    cov = build_coverage(demand, sites, hanoi, std, TRAVEL, CRS, cutoff_minutes=9.0,
                         batch_size=5)
    ref = _brute_force(hanoi, demand, sites, std, cutoff=9.0)
    ours = _pairs(cov.minutes)
    assert set(ours) == set(ref["minutes"])
    assert 200 < len(ours) < 150 * 12  # a real mix of pairs within and beyond the cutoff
    for pair, value in ref["minutes"].items():
        assert ours[pair] == pytest.approx(value, rel=1e-9, abs=1e-9), pair
    km = _pairs(cov.km)
    for pair, value in ref["km"].items():
        assert km[pair] == pytest.approx(value, rel=1e-6, abs=1e-6), pair
    covered = set(_pairs(cov.covered))
    assert covered == ref["covered"]
    assert 0 < len(covered) < 150 * 12


def test_one_way_streets_are_respected(hanoi: nx.MultiDiGraph) -> None:
    """Demand at the tail of a one-way street reaches a site at its head in the edge's time;
    the way back is the detour networkx finds on the real (forward) graph."""
    ga = graph_arrays(hanoi, CRS)
    idx = {n: i for i, n in enumerate(ga.node_ids)}
    checked = 0
    for u, v, d in hanoi.edges(data=True):
        if hanoi.has_edge(v, u) or d["length"] < 30:
            continue
        pts = gpd.GeoDataFrame(
            {"id": ["u", "v"]},
            geometry=gpd.points_from_xy(ga.xy_m[[idx[u], idx[v]], 0], ga.xy_m[[idx[u], idx[v]], 1]),
            crs=CRS).to_crs("EPSG:4326")
        cov = build_coverage(pts, pts, hanoi, CoverageStandard(max_minutes=60), TRAVEL, CRS)
        m = cov.dense_minutes()
        forward = nx.shortest_path_length(hanoi, u, v, weight="travel_time_min")
        back = nx.shortest_path_length(hanoi, v, u, weight="travel_time_min")
        assert m[0, 1] == pytest.approx(forward, abs=1e-6)  # demand u -> site v
        assert m[1, 0] == pytest.approx(min(back, _walk_min(d["length"], ga, idx[u], idx[v])),
                                        abs=1e-6)
        assert back > forward and m[1, 0] > m[0, 1]
        checked += 1
        if checked == 5:
            break
    assert checked == 5


def _walk_min(_length: float, ga: Any, a: int, b: int) -> float:
    straight = float(np.hypot(*(ga.xy_m[a] - ga.xy_m[b])))
    return straight / 1000 / TRAVEL.access_speed_kph * 60 if straight <= TRAVEL.max_snap_m \
        else np.inf
