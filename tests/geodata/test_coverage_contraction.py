r"""Routing on the contracted graph (chains of pass-through nodes as single edges).

The hand-built graph (metres east of a point in Hà Nội; ``=>`` one-way)::

    J1 --- J2 ===> a ===> b ===> J3 --- J4 --- J5       J2 => a => b => J3 one-way primary;
     \       \                 /              |         J2 - c - J3 two-way, but c => J2 a
      \       `------ c ------'               |         trunk (faster), J2 => c residential;
       `---------------- d -------------------'         J4 => h <= J5: one-way streets meeting
                                                        head-on at h (a dead end)

h cannot be left, so the largest strongly connected part drops it; then J2
and J3 are the only junctions (3 neighbours) and every other node passes
traffic through.  The contracted edges are the chain sums, each way.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest

from geodata.coverage import _contracted_routing, _dead_ends, build_coverage
from geodata.network import graph_arrays, load_graph, prepare_graph
from geodata.settings import CoverageStandard, TravelSettings
from geodata.synthetic_roads import HANOI_UTM48N_M, graph_from_metric

CRS = "EPSG:32648"
X0, Y0 = HANOI_UTM48N_M
TRAVEL = TravelSettings(mode="motorbike")
NODES = {"J1": (0, 0), "J2": (1000, 0), "a": (1400, 0), "b": (1700, 0), "J3": (2000, 0),
         "J4": (3000, 0), "c": (1500, -500), "h": (3500, 0), "J5": (4000, 0),
         "d": (2000, -1500)}
EDGES = [("J1", "J2", "residential", 1000),
         ("J2", "a", "primary:oneway", 400), ("a", "b", "primary:oneway", 300),
         ("b", "J3", "primary:oneway", 300),
         ("J2", "c", "residential:oneway", 700), ("c", "J2", "trunk:oneway", 700),
         ("c", "J3", "residential", 700),
         ("J3", "J4", "residential", 1000),
         ("J4", "h", "residential:oneway", 500), ("J5", "h", "residential:oneway", 500),
         ("J4", "J5", "residential", 1000), ("J5", "d", "residential", 2000),
         ("d", "J1", "residential", 2500)]


def _prepared() -> nx.MultiDiGraph:
    raw = graph_from_metric({k: (X0 + x, Y0 + y) for k, (x, y) in NODES.items()}, EDGES)
    return prepare_graph(raw, TRAVEL)


def _minutes(graph: nx.MultiDiGraph, u: str, v: str) -> float:
    return min(d["travel_time_min"] for d in graph.get_edge_data(u, v).values())


def test_pass_through_nodes_and_chain_directions_by_hand() -> None:
    graph = _prepared()
    ga = graph_arrays(graph, CRS)
    name = {i: str(n) for i, n in enumerate(ga.node_ids)}
    ch = ga.chains
    through = {name[i] for i in np.flatnonzero(ch.pass_through)}
    assert "h" not in graph
    assert through == {"a", "b", "c", "d", "J1", "J4", "J5"}
    assert ch.n_chains == 3
    chains = {}
    for k in range(ch.n_chains):
        seq = tuple(name[i] for i in ch.seq[ch.ptr[k]:ch.ptr[k + 1]])
        chains[seq] = (bool(ch.fwd[k]), bool(ch.bwd[k]))
    as_found = {frozenset((s, s[::-1])): s for s in chains}
    one_way = as_found[frozenset((("J2", "a", "b", "J3"), ("J3", "b", "a", "J2")))]
    assert chains[one_way] == ((True, False) if one_way[0] == "J2" else (False, True))
    two_way = as_found[frozenset((("J2", "c", "J3"), ("J3", "c", "J2")))]
    assert chains[two_way] == (True, True)


def test_contracted_edges_are_the_chain_sums_each_way() -> None:
    graph = _prepared()
    ga = graph_arrays(graph, CRS)
    idx = {str(n): i for i, n in enumerate(ga.node_ids)}
    # b, J1 and J5 kept (snapped points there): they split their chains
    routing, _ = _contracted_routing(ga, np.array([idx["b"], idx["J1"], idx["J5"]]))
    assert [routing.compact[idx[v]] == -1 for v in ("a", "c", "d", "J4")] == [True] * 4
    assert (routing.compact >= 0).sum() == 5
    rev = routing.rev_time.toarray()
    km = routing.edge_km.toarray()
    k = routing.compact

    def fwd(u: str, v: str) -> float:
        return float(rev[k[idx[v]], k[idx[u]]])  # reversed graph: row = head

    # J2 -> a -> b: one edge J2 -> b, none back
    assert fwd("J2", "b") == pytest.approx(_minutes(graph, "J2", "a") + _minutes(graph, "a", "b"))
    assert km[k[idx["J2"]], k[idx["b"]]] == pytest.approx(0.7)
    assert fwd("b", "J2") == 0 and fwd("J3", "b") == 0
    # J2 - c - J3, different minutes each way (trunk c -> J2, residential J2 -> c)
    there = _minutes(graph, "J2", "c") + _minutes(graph, "c", "J3")
    back = _minutes(graph, "J3", "c") + _minutes(graph, "c", "J2")
    assert there > back
    assert fwd("J2", "J3") == pytest.approx(there)
    assert fwd("J3", "J2") == pytest.approx(back)
    assert km[k[idx["J3"]], k[idx["J2"]]] == pytest.approx(1.4)
    # J5 - d - J1 and J3 - J4 - J5 two ways, same minutes; J1 - J2 a plain edge
    assert fwd("J5", "J1") == pytest.approx(fwd("J1", "J5"))
    assert fwd("J5", "J1") == pytest.approx(_minutes(graph, "J5", "d") + _minutes(graph, "d", "J1"))
    assert km[k[idx["J5"]], k[idx["J1"]]] == pytest.approx(4.5)
    assert fwd("J3", "J5") == pytest.approx(_minutes(graph, "J3", "J4") + _minutes(graph, "J4", "J5"))
    assert fwd("J1", "J2") == pytest.approx(_minutes(graph, "J1", "J2"))
    # J2->b, b->J3, J2<->J3, J3<->J5, J5<->J1, J1<->J2
    assert (rev > 0).sum() == 1 + 1 + 2 + 2 + 2 + 2


def test_targets_inside_chains_leave_by_either_end_one_way_respected() -> None:
    graph = _prepared()
    ga = graph_arrays(graph, CRS)
    idx = {str(n): i for i, n in enumerate(ga.node_ids)}
    name = {i: str(n) for i, n in enumerate(ga.node_ids)}
    routing, tg = _contracted_routing(ga, np.empty(0, dtype=np.int64),
                                      np.array([idx["a"], idx["c"], idx["J2"]]))
    inv = {int(c): name[i] for i, c in enumerate(routing.compact) if c >= 0}
    assert set(inv.values()) == {"J2", "J3"}
    # a (on the one-way J2 => a => b => J3) leaves only forwards, to J3, over a -> b -> J3
    ends_a = {inv[int(tg.a[0])]: (tg.a_min[0], tg.a_km[0]),
              inv[int(tg.b[0])]: (tg.b_min[0], tg.b_km[0])}
    assert ends_a["J2"][0] == np.inf
    assert ends_a["J3"][0] == pytest.approx(_minutes(graph, "a", "b") + _minutes(graph, "b", "J3"))
    assert ends_a["J3"][1] == pytest.approx(0.6)
    # c leaves both ways: to J2 by the trunk, to J3 by the residential street
    ends_c = {inv[int(tg.a[1])]: tg.a_min[1], inv[int(tg.b[1])]: tg.b_min[1]}
    assert ends_c == pytest.approx({"J2": _minutes(graph, "c", "J2"),
                                    "J3": _minutes(graph, "c", "J3")})
    # a junction is its own end
    assert inv[int(tg.a[2])] == "J2" and tg.a_min[2] == 0 and tg.b_min[2] == np.inf


def test_dead_end_spurs_without_points_are_dropped_with_points_kept() -> None:
    # J1 - J2 - J3 - J1 triangle; spur J2 - s1 - s2 (s2 a dead end) and spur J3 - t1 - t2,
    # with t1 - t3 branching off it; a point snaps to t3
    nodes = {"J1": (0, 0), "J2": (1000, 0), "J3": (500, 800), "s1": (1500, 0),
             "s2": (2000, 0), "t1": (500, 1300), "t2": (500, 1800), "t3": (900, 1500)}
    edges = [("J1", "J2", "residential", 1000), ("J2", "J3", "residential", 950),
             ("J3", "J1", "residential", 950), ("J2", "s1", "service", 500),
             ("s1", "s2", "service", 500), ("J3", "t1", "service", 500),
             ("t1", "t2", "service", 500), ("t1", "t3", "service", 450)]
    graph = prepare_graph(graph_from_metric({k: (X0 + x, Y0 + y) for k, (x, y) in nodes.items()},
                                            edges), TRAVEL)
    ga = graph_arrays(graph, CRS)
    idx = {str(n): i for i, n in enumerate(ga.node_ids)}
    alive = _dead_ends(ga.time_min, np.array([idx["t3"]]))
    assert {str(ga.node_ids[i]) for i in np.flatnonzero(alive)} == {"J1", "J2", "J3", "t1",
                                                                     "t3"}
    # the trip from t3 (inside what is left of its spur) to J2 is t3 -> t1 -> J3 -> J2
    routing, tg = _contracted_routing(ga, np.array([idx["J2"]]), np.array([idx["t3"]]))
    assert routing.compact[idx["s1"]] == -1 and routing.compact[idx["t2"]] == -1
    demand = gpd.GeoDataFrame({"id": ["d"]}, geometry=gpd.points_from_xy([X0 + 900],
                                                                        [Y0 + 1500]), crs=CRS)
    site = gpd.GeoDataFrame({"id": ["S"]}, geometry=gpd.points_from_xy([X0 + 1000], [Y0]),
                            crs=CRS)
    std = CoverageStandard(max_minutes=30.0, max_km=5.0)
    cov = build_coverage(demand, site, graph, std, TRAVEL, CRS)
    expected = sum(_minutes(graph, u, v) for u, v in (("t3", "t1"), ("t1", "J3"), ("J3", "J2")))
    assert cov.minutes[0, 0] == pytest.approx(expected)
    assert cov.km[0, 0] == pytest.approx((450 + 500 + 950) / 1000)


def test_parallel_chains_keep_the_fastest_with_its_km() -> None:
    # two chains J1 - p - J2 (1.2 km residential) and J1 - q - J2 (1.6 km primary, faster)
    nodes = {"J1": (0, 0), "J2": (1000, 0), "p": (500, 300), "q": (500, -600),
             "r": (500, 900)}
    edges = [("J1", "p", "residential", 600), ("p", "J2", "residential", 600),
             ("J1", "q", "primary", 800), ("q", "J2", "primary", 800),
             ("J1", "r", "residential", 900), ("r", "J2", "residential", 900)]
    graph = prepare_graph(graph_from_metric({k: (X0 + x, Y0 + y) for k, (x, y) in nodes.items()},
                                            edges), TRAVEL)
    ga = graph_arrays(graph, CRS)
    idx = {str(n): i for i, n in enumerate(ga.node_ids)}
    routing, _ = _contracted_routing(ga, np.empty(0, dtype=np.int64))
    assert (routing.compact >= 0).sum() == 2
    k = routing.compact
    fastest = _minutes(graph, "J1", "q") + _minutes(graph, "q", "J2")
    assert fastest < _minutes(graph, "J1", "p") + _minutes(graph, "p", "J2")
    assert routing.rev_time[k[idx["J2"]], k[idx["J1"]]] == pytest.approx(fastest)
    assert routing.edge_km[k[idx["J1"]], k[idx["J2"]]] == pytest.approx(1.6)
    assert routing.rev_len[k[idx["J2"]], k[idx["J1"]]] == pytest.approx(1.2)  # shortest road


def _same(a: object, b: object) -> None:
    for name in ("minutes", "km", "covered"):
        ma, mb = getattr(a, name), getattr(b, name)
        assert np.array_equal(ma.indptr, mb.indptr), name
        assert np.array_equal(ma.indices, mb.indices), name
        np.testing.assert_allclose(ma.data.astype(float), mb.data.astype(float),
                                   rtol=0, atol=1e-9, err_msg=name)


@pytest.mark.shared_data
@pytest.mark.parametrize("rule", ["either", "both"])
def test_contraction_gives_the_same_matrices_on_hoan_kiem(shared_data: Path, rule: str) -> None:
    graph = prepare_graph(load_graph(shared_data / "roads" / "hanoi" / "hanoi_hoan_kiem.osm"),
                          TRAVEL)
    ga = graph_arrays(graph, CRS)
    assert ga.chains.pass_through.mean() > 0.2  # real graphs have many pass-through nodes
    rng = np.random.default_rng(7)
    lo, hi = ga.xy_m.min(axis=0), ga.xy_m.max(axis=0)

    def points(k: int, prefix: str) -> gpd.GeoDataFrame:
        xy = lo + rng.uniform(0, 1, (k, 2)) * (hi - lo)
        return gpd.GeoDataFrame({"id": [f"{prefix}{i}" for i in range(k)]},
                                geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS)

    demand, sites = points(800, "d"), points(60, "s")
    std = CoverageStandard(max_minutes=5.0, max_km=1.2, rule=rule)
    full = build_coverage(demand, sites, graph, std, TRAVEL, CRS, cutoff_minutes=8.0,
                          batch_size=16, contract=False, dense=False)
    assert 0 < full.covered.nnz < full.minutes.nnz < 800 * 60  # a real mix in and out
    for dense in (False, True):  # pair lists, and dense arrays (the default at this size)
        contracted = build_coverage(demand, sites, graph, std, TRAVEL, CRS, cutoff_minutes=8.0,
                                    batch_size=16, dense=dense)
        _same(full, contracted)
