"""Invariants of the coverage matrices on random small road graphs (hypothesis)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geodata.coverage import build_coverage, site_to_site_minutes
from geodata.settings import CoverageStandard, TravelSettings
from geodata.synthetic_roads import grid_road_graph

CRS = "EPSG:32648"
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _points(xy: np.ndarray, seed: int, k: int, spread_m: float) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lo = xy.min(axis=0) - 200
    pts = lo + rng.uniform(0, 1, size=(k, 2)) * (xy.max(axis=0) - lo + spread_m)
    return gpd.GeoDataFrame({"id": [f"p{i}" for i in range(k)]},
                            geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=CRS)


@SETTINGS
@given(size=st.integers(3, 9), seed=st.integers(0, 10_000), oneway=st.sampled_from([0.0, 0.4]),
       minutes=st.floats(1.0, 20.0), extra=st.floats(0.0, 30.0),
       mode=st.sampled_from(["motorbike", "car", "walk"]))
def test_times_non_negative_and_larger_cutoff_never_covers_fewer(
        size: int, seed: int, oneway: float, minutes: float, extra: float, mode: str) -> None:
    graph, xy = grid_road_graph(size, size, spacing_m=300, seed=seed, oneway_share=oneway)
    demand = _points(xy, seed, 12, 1500)
    sites = _points(xy, seed + 1, 4, 1500)
    travel = TravelSettings(mode=mode)
    small = CoverageStandard(max_minutes=minutes, max_km=1.0)
    large = CoverageStandard(max_minutes=minutes + extra, max_km=1.0)
    a = build_coverage(demand, sites, graph, small, travel, CRS)
    b = build_coverage(demand, sites, graph, large, travel, CRS)
    assert (a.minutes.data >= 0).all() and (a.km.data >= 0).all()
    assert (a.minutes.data <= minutes + 1e-9).all()
    # every pair covered under the smaller standard stays covered, with the same time
    assert (a.covered > b.covered).nnz == 0
    da, db = a.dense_minutes(), b.dense_minutes()
    within = np.isfinite(da)
    assert np.allclose(da[within], db[within])
    assert (np.isfinite(db) | ~within).all()


@SETTINGS
@given(size=st.integers(3, 8), seed=st.integers(0, 10_000), oneway=st.sampled_from([0.0, 0.5]))
def test_site_to_site_symmetric_exactly_when_the_graph_is(size: int, seed: int,
                                                          oneway: float) -> None:
    graph, xy = grid_road_graph(size, size, spacing_m=300, seed=seed, oneway_share=oneway)
    sites = _points(xy, seed, 6, 0)
    m = site_to_site_minutes(sites, graph, TravelSettings(), CRS)
    assert (m >= 0).all() and np.all(np.diag(m) == 0)
    has_one_way = any(d["oneway"] for *_, d in graph.edges(data=True))
    finite = np.isfinite(m) & np.isfinite(m.T)
    if not has_one_way:
        assert np.allclose(m[finite], m.T[finite])
        assert np.array_equal(np.isfinite(m), np.isfinite(m.T))
    # walking ignores one-way streets: symmetric whatever the graph
    w = site_to_site_minutes(sites, graph, TravelSettings(mode="walk"), CRS)
    assert np.allclose(w, w.T)


def _brute_force_covered(demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, graph: object,
                         std: CoverageStandard, travel: TravelSettings) -> np.ndarray:
    """Covered pairs by definition: full unbounded Dijkstras on time and on length, every pair."""
    from scipy.sparse.csgraph import dijkstra

    from geodata.network import ensure_prepared, graph_arrays
    from geodata.snapping import access_minutes, snap_points

    ga = graph_arrays(ensure_prepared(graph, travel), CRS)  # type: ignore[arg-type]
    dxy = np.column_stack([demand.geometry.x, demand.geometry.y])
    sxy = np.column_stack([sites.geometry.x, sites.geometry.y])
    ds = snap_points(dxy, ga.xy_m, travel.access_speed_kph, travel.max_snap_m)
    ss = snap_points(sxy, ga.xy_m, travel.access_speed_kph, travel.max_snap_m)
    t = dijkstra(ga.time_min, indices=ds.node)[:, ss.node]  # forward: demand -> site
    k = dijkstra(ga.length_km, indices=ds.node)[:, ss.node]
    far = ds.too_far[:, None] | ss.too_far[None, :]
    t = np.where(far, np.inf, t + ds.access_min[:, None] + ss.access_min[None, :])
    k = np.where(far, np.inf, k + ds.distance_m[:, None] / 1000 + ss.distance_m[None, :] / 1000)
    straight_m = np.sqrt(((dxy[:, None, :] - sxy[None, :, :]) ** 2).sum(axis=2))
    walkable = straight_m <= travel.max_snap_m
    t = np.minimum(t, np.where(walkable, access_minutes(straight_m, travel.access_speed_kph),
                               np.inf))
    k = np.minimum(k, np.where(walkable, straight_m / 1000, np.inf))
    in_t = t <= std.max_minutes + 1e-9
    in_k = k <= std.max_km + 1e-9
    return np.asarray(in_t | in_k if std.rule == "either" else in_t & in_k)


@SETTINGS
@given(size=st.integers(3, 9), seed=st.integers(0, 10_000), oneway=st.sampled_from([0.0, 0.4]),
       minutes=st.floats(1.0, 20.0), max_km=st.floats(0.2, 4.0),
       rule=st.sampled_from(["either", "both"]), batch=st.sampled_from([1, 2, None]))
def test_covered_equals_brute_force_whatever_length_searches_are_skipped(
        size: int, seed: int, oneway: float, minutes: float, max_km: float, rule: str,
        batch: int | None) -> None:
    # the builder skips the length search from sources whose pairs the minutes and the
    # fastest route already settle; a full search on every pair must agree
    graph, xy = grid_road_graph(size, size, spacing_m=300, seed=seed, oneway_share=oneway)
    demand = _points(xy, seed, 12, 1500)
    sites = _points(xy, seed + 1, 5, 1500)
    travel = TravelSettings(mode="motorbike")
    std = CoverageStandard(max_minutes=minutes, max_km=max_km,
                           rule="either" if rule == "either" else "both")
    cov = build_coverage(demand, sites, graph, std, travel, CRS, batch_size=batch)
    expected = _brute_force_covered(demand, sites, graph, std, travel)
    assert np.array_equal(cov.covered.toarray(), expected)


def _chain_graph(rng: np.random.Generator, n_junctions: int, n_chains: int,
                 n_spurs: int = 0) -> tuple[object, np.ndarray]:
    """Junctions on a two-way ring (strongly connected) plus chains of 1-5 pass-through nodes
    between random junctions (parallel chains and loops included), each one-way either way,
    two-way, or two-way at different speeds each way; and dead-end spurs of 1-4 nodes hanging
    off random nodes (spurs of spurs included: small trees); random lengths (no ties)."""
    from geodata.synthetic_roads import HANOI_UTM48N_M, graph_from_metric

    x0, y0 = HANOI_UTM48N_M
    angle = np.linspace(0, 2 * np.pi, n_junctions, endpoint=False)
    nodes: dict[int, tuple[float, float]] = {
        j: (x0 + 2000 * np.cos(a), y0 + 2000 * np.sin(a)) for j, a in enumerate(angle)}
    edges: list[tuple[int, int, str, float]] = [
        (j, (j + 1) % n_junctions, "residential", float(rng.uniform(500, 1500)))
        for j in range(n_junctions)]
    nxt = n_junctions
    for c in range(n_chains):
        a, b = (0, 1) if c == 0 else (int(rng.integers(n_junctions)), int(rng.integers(n_junctions)))
        k = int(rng.integers(1, 6))
        ids = list(range(nxt, nxt + k))
        nxt += k
        for t, node in enumerate(ids, start=1):
            pa, pb = np.array(nodes[a]), np.array(nodes[b])
            p = pa + (pb - pa) * t / (k + 1) + rng.normal(0, 300, 2)
            nodes[node] = (float(p[0]), float(p[1]))
        path = [a, *ids, b]
        kind = ["two-way", "one-way", "one-way back", "two speeds"][int(rng.integers(4))]
        for u, v in zip(path[:-1], path[1:], strict=True):
            length = float(rng.uniform(50, 800))
            if kind == "two-way":
                edges.append((u, v, "tertiary", length))
            elif kind == "one-way":
                edges.append((u, v, "primary:oneway", length))
            elif kind == "one-way back":
                edges.append((v, u, "primary:oneway", length))
            else:
                edges.append((u, v, "residential:oneway", length))
                edges.append((v, u, "trunk:oneway", length))
    for _ in range(n_spurs):
        node = int(rng.choice(list(nodes)))
        for _ in range(int(rng.integers(1, 5))):
            new = nxt
            nxt += 1
            p = np.array(nodes[node]) + rng.normal(0, 300, 2)
            nodes[new] = (float(p[0]), float(p[1]))
            length = float(rng.uniform(50, 800))
            if rng.random() < 0.5:
                edges.append((node, new, "service", length))
            else:  # two-way, a different speed each way
                edges.append((node, new, "residential:oneway", length))
                edges.append((new, node, "tertiary:oneway", length))
            node = new
    xy = np.array(list(nodes.values()))
    return graph_from_metric(nodes, edges), xy


@SETTINGS
@given(seed=st.integers(0, 100_000), n_junctions=st.integers(3, 6), n_chains=st.integers(1, 8),
       n_spurs=st.integers(0, 5), minutes=st.floats(1.0, 15.0), extra=st.floats(0.0, 10.0),
       max_km=st.floats(0.3, 3.0), rule=st.sampled_from(["either", "both"]),
       batch=st.sampled_from([1, 3, None]))
def test_contracted_graph_gives_the_same_matrices_with_one_way_chains(
        seed: int, n_junctions: int, n_chains: int, n_spurs: int, minutes: float, extra: float,
        max_km: float, rule: str, batch: int | None) -> None:
    from geodata.network import graph_arrays, prepare_graph

    rng = np.random.default_rng(seed)
    raw, xy = _chain_graph(rng, n_junctions, n_chains, n_spurs)
    travel = TravelSettings(mode="motorbike")
    graph = prepare_graph(raw, travel)  # type: ignore[arg-type]
    assert graph_arrays(graph, CRS).chains.pass_through.any()
    demand = _points(xy, seed, 25, 1000)
    sites = _points(xy, seed + 1, 6, 1000)
    std = CoverageStandard(max_minutes=minutes, max_km=max_km,
                           rule="either" if rule == "either" else "both")
    kw = {"cutoff_minutes": minutes + extra, "batch_size": batch}
    full = build_coverage(demand, sites, graph, std, travel, CRS, contract=False, **kw)
    contracted = build_coverage(demand, sites, graph, std, travel, CRS, **kw)
    for name in ("minutes", "km", "covered"):
        a, b = getattr(full, name), getattr(contracted, name)
        assert np.array_equal(a.indptr, b.indptr), name
        assert np.array_equal(a.indices, b.indices), name
        np.testing.assert_allclose(a.data.astype(float), b.data.astype(float), rtol=0,
                                   atol=1e-9, err_msg=name)


@SETTINGS
@given(size=st.integers(3, 8), seed=st.integers(0, 10_000), oneway=st.sampled_from([0.0, 0.4]),
       minutes=st.floats(1.0, 15.0), extra=st.sampled_from([0.0, 5.0, 200.0]),
       max_km=st.floats(0.2, 4.0), rule=st.sampled_from(["either", "both"]),
       km_measure=st.sampled_from(["network", "straight"]), batch=st.sampled_from([1, 2, None]))
def test_dense_and_pair_list_layouts_give_the_same_matrices(
        size: int, seed: int, oneway: float, minutes: float, extra: float, max_km: float,
        rule: str, km_measure: str, batch: int | None) -> None:
    # extra = 200 min: every pair within the cutoff (the dense layout's shortcut), unless a
    # point is off the network
    graph, xy = grid_road_graph(size, size, spacing_m=300, seed=seed, oneway_share=oneway)
    demand = _points(xy, seed, 15, 1500 if seed % 2 else 0)
    sites = _points(xy, seed + 1, 5, 1500 if seed % 3 else 0)
    travel = TravelSettings(mode="motorbike")
    std = CoverageStandard(max_minutes=minutes, max_km=max_km,
                           rule="either" if rule == "either" else "both",
                           km_measure="network" if km_measure == "network" else "straight")
    kw = {"cutoff_minutes": minutes + extra, "batch_size": batch}
    pairs = build_coverage(demand, sites, graph, std, travel, CRS, dense=False, **kw)
    dense = build_coverage(demand, sites, graph, std, travel, CRS, dense=True, **kw)
    for name in ("minutes", "km", "covered"):
        a, b = getattr(pairs, name), getattr(dense, name)
        assert a.dtype == b.dtype, name
        assert np.array_equal(a.indptr, b.indptr), name
        assert np.array_equal(a.indices, b.indices), name
        assert np.array_equal(a.data, b.data), name
