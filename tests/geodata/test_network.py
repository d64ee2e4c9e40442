"""Road graphs: speeds per mode, preparing the routable network, loading and the download cache."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import osmnx as ox
import pytest
from shapely.geometry import box

from geodata._errors import NetworkError
from geodata.network import (
    DEFAULT_SPEEDS_KPH,
    cached_graph,
    download_graph,
    edge_speed_kph,
    ensure_prepared,
    load_graph,
    mode_speeds_kph,
    network_report,
    prepare_graph,
    query_key,
    straight_line_speed_kph,
)
from geodata.settings import TravelSettings
from geodata.synthetic_roads import graph_from_metric


def _two_parts() -> nx.MultiDiGraph:
    """Main part 1-2-3 (with a motorway 1->3 and a one-way 2->3) and a separate pair 10-11."""
    nodes = {1: (0, 0), 2: (1000, 0), 3: (2000, 0), 10: (9000, 0), 11: (9500, 0)}
    edges = [(1, 2, "residential", 1000), (2, 3, "primary:oneway", 1000),
             (3, 1, "residential:oneway", 2000), (1, 3, "motorway", 2000),
             (10, 11, "residential", 500), (2, 2, "residential", 10)]
    return graph_from_metric(nodes, edges)


def test_motorbikes_are_banned_from_expressways_and_cars_from_footways() -> None:
    assert "motorway" not in mode_speeds_kph(TravelSettings(mode="motorbike"))
    assert "motorway" in mode_speeds_kph(TravelSettings(mode="car"))
    assert "footway" not in mode_speeds_kph(TravelSettings(mode="car"))
    assert "footway" in mode_speeds_kph(TravelSettings(mode="walk"))
    for mode, table in DEFAULT_SPEEDS_KPH.items():
        assert all(v > 0 for v in table.values()), mode


def test_speed_overrides_add_change_and_ban_classes() -> None:
    travel = TravelSettings(speeds_kph={"motorbike": {"residential": 12.0, "service": 0.0,
                                                      "straight_line": 22.0}})
    speeds = mode_speeds_kph(travel)
    assert speeds["residential"] == 12.0
    assert "service" not in speeds
    assert "straight_line" not in speeds
    assert straight_line_speed_kph(travel) == 22.0
    assert straight_line_speed_kph(TravelSettings(mode="walk")) == 4.5
    with pytest.raises(NetworkError, match="unknown travel mode 'bus'"):
        mode_speeds_kph(TravelSettings(mode="bus"))


def test_edge_speed_handles_lists_maxspeed_and_private_access() -> None:
    speeds = mode_speeds_kph(TravelSettings())
    assert edge_speed_kph({"highway": "primary"}, speeds, "motorbike") == 35.0
    # a simplified edge with several classes takes the slowest usable one
    assert edge_speed_kph({"highway": ["primary", "residential"]}, speeds, "motorbike") == 20.0
    assert edge_speed_kph({"highway": "['footway', 'service']"}, speeds, "motorbike") == 15.0
    assert edge_speed_kph({"highway": "footway"}, speeds, "motorbike") is None
    assert edge_speed_kph({"highway": "primary", "maxspeed": "30"}, speeds, "motorbike") == 30.0
    assert edge_speed_kph({"highway": "primary", "maxspeed": "80"}, speeds, "motorbike") == 35.0
    assert edge_speed_kph({"highway": "service", "access": "private"}, speeds, "car") is None
    walk = mode_speeds_kph(TravelSettings(mode="walk"))
    assert edge_speed_kph({"highway": "service", "access": "private"}, walk, "walk") == 4.5


def test_prepare_motorbike_drops_banned_edges_and_small_components() -> None:
    g = _two_parts()
    p = prepare_graph(g, TravelSettings(mode="motorbike"))
    rep = network_report(p)
    assert rep is not None
    assert set(p.nodes) == {1, 2, 3}
    assert not p.has_edge(1, 3)  # motorway banned, and 3->1 is the only way back
    assert p.has_edge(3, 1)
    assert not p.has_edge(3, 2)  # one-way kept one-way
    assert rep.edges_not_allowed == 4  # motorway both ways + the self-loop both ways
    assert rep.edges_kept == 4
    assert rep.nodes_dropped_components == 2 and rep.edges_dropped_components == 2
    assert rep.components == 2
    assert p.graph["motcua_dropped_nodes"] == [10, 11]
    # 1 km primary at 35 km/h
    t = min(d["travel_time_min"] for d in p.get_edge_data(2, 3).values())
    assert t == pytest.approx(60 / 35)
    assert g.number_of_edges() == 10  # input untouched
    assert "dropped" in rep.summary()


def test_prepare_car_uses_the_motorway_and_walk_ignores_one_way() -> None:
    car = prepare_graph(_two_parts(), TravelSettings(mode="car"))
    assert min(d["travel_time_min"] for d in car.get_edge_data(1, 3).values()) == \
        pytest.approx(2.0 / 80 * 60)
    walk = prepare_graph(_two_parts(), TravelSettings(mode="walk"))
    assert walk.has_edge(3, 2) and walk.has_edge(2, 3)  # one-way ignored on foot
    assert 10 in walk  # walkers keep every part
    assert not walk.has_edge(1, 3) or all(
        d["highway"] != "motorway" for d in walk.get_edge_data(1, 3).values())


def test_prepare_errors_name_the_problem() -> None:
    g = graph_from_metric({1: (0, 0), 2: (100, 0)}, [(1, 2, "footway", 100)])
    with pytest.raises(NetworkError, match="no road in the network is usable by motorbike"):
        prepare_graph(g, TravelSettings())
    g = graph_from_metric({1: (0, 0), 2: (100, 0)}, [(1, 2, "residential", 100)])
    del g.edges[1, 2, 0]["length"]
    with pytest.raises(NetworkError, match="edge 1->2 has no valid 'length'"):
        prepare_graph(g, TravelSettings())
    p = prepare_graph(_two_parts(), TravelSettings(mode="car"))
    with pytest.raises(NetworkError, match="prepared for car but travel mode is motorbike"):
        ensure_prepared(p, TravelSettings(mode="motorbike"))
    assert ensure_prepared(p, TravelSettings(mode="car")) is p
    with pytest.raises(NetworkError, match="already prepared for car"):
        prepare_graph(p, TravelSettings(mode="car"))


def test_load_graph_errors(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="road network file not found"):
        load_graph(tmp_path / "nope.osm")
    bad = tmp_path / "roads.shp"
    bad.write_text("x")
    with pytest.raises(NetworkError, match="unsupported road network format '.shp'"):
        load_graph(bad)
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><way")
    with pytest.raises(NetworkError, match="broken.osm: could not read road network"):
        load_graph(broken)


def test_graphml_round_trip_and_graph_cache(tmp_path: Path) -> None:
    path = tmp_path / "roads.graphml"
    ox.save_graphml(_two_parts(), path)
    g = load_graph(path)
    assert len(g) == 5 and g.number_of_edges() == 10
    first = cached_graph(path, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("graph_*.pkl"))) == 1
    second = cached_graph(path, tmp_path / "cache")
    assert nx.utils.graphs_equal(first, second)


def test_download_reads_the_cache_keyed_by_query(tmp_path: Path) -> None:
    """The download path is exercised up to osmnx: a cached query is served from disk."""
    key = query_key(place="Đầm Hà, Quảng Ninh, Vietnam")
    assert key != query_key(place="Tân Sơn, Phú Thọ, Vietnam")
    assert key != query_key(polygon=box(107.5, 21.3, 107.7, 21.4))
    ox.save_graphml(_two_parts(), tmp_path / f"osm_{key}.graphml")
    g = download_graph(place="Đầm Hà, Quảng Ninh, Vietnam", cache_dir=tmp_path)
    assert len(g) == 5
    with pytest.raises(NetworkError, match="exactly one of place= or polygon="):
        download_graph(cache_dir=tmp_path)


@pytest.mark.shared_data
def test_real_hanoi_osm_loads_unsimplified_with_one_way_streets(shared_data: Path) -> None:
    g = load_graph(shared_data / "roads" / "hanoi" / "hanoi_hoan_kiem.osm")
    assert len(g) > 2931  # more nodes than the simplified graph
    p = prepare_graph(g, TravelSettings())
    rep = network_report(p)
    assert rep is not None and rep.nodes_kept > 1000
    one_way = [(u, v) for u, v, d in p.edges(data=True) if d.get("oneway") is True
               and not p.has_edge(v, u)]
    assert len(one_way) > 50
    times = [d["travel_time_min"] for *_, d in p.edges(data=True)]
    assert all(t >= 0 and math.isfinite(t) for t in times)
    # strongly connected: every kept node reaches every other
    assert nx.is_strongly_connected(p)
