"""Coverage on tiny hand-checked graphs: one-way streets, access legs, off-network points, islands.

The graph (metres east/north of a point in Hà Nội, UTM 48N)::

    5 (1500, 1000)   3->5 and 5->2 one-way residential, 1.5 km each
   1 --- 2 ===> 3 --- 4        1-2, 3-4 residential 1 km (20 km/h: 3 min)
                               2->3 one-way primary 1 km (35 km/h: 1.714 min)
   island 10 --- 11 at x = 20 km (residential 800 m), not connected

Demand: a at node 1, b at node 4, c 300 m north of node 1, d 1.5 km south of
node 1 (beyond max_snap_m), e at node 10 (island).  Sites: S1 at node 4, S2 at
node 1, S3 at node 11 (island).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
import pytest

from geodata._errors import CRSMismatchError
from geodata.coverage import (
    CoverageMatrix,
    build_coverage,
    coverage_for_scenario,
    nearest_sites,
    site_to_site_minutes,
)
from geodata.network import prepare_graph
from geodata.scenario import Scenario
from geodata.settings import CoverageStandard, ScenarioSettings, TravelSettings
from geodata.synthetic_roads import HANOI_UTM48N_M, graph_from_metric

CRS = "EPSG:32648"
X0, Y0 = HANOI_UTM48N_M
NODES = {1: (0, 0), 2: (1000, 0), 3: (2000, 0), 4: (3000, 0), 5: (1500, 1000),
         10: (20000, 0), 11: (20800, 0)}
EDGES = [(1, 2, "residential", 1000), (2, 3, "primary:oneway", 1000),
         (3, 4, "residential", 1000), (3, 5, "residential:oneway", 1500),
         (5, 2, "residential:oneway", 1500), (10, 11, "residential", 800)]
DEMAND = {"a": (0, 0), "b": (3000, 0), "c": (0, 300), "d": (0, -1500), "e": (20000, 0)}
SITES = {"S1": (3000, 0), "S2": (0, 0), "S3": (20800, 0)}
A_TO_S1 = 3 + 60 / 35 + 3  # 1->2->3->4
B_TO_S2 = 3 + 4.5 + 4.5 + 3  # 4->3->5->2->1: 2->3 is one-way


def _graph():
    return graph_from_metric({k: (X0 + x, Y0 + y) for k, (x, y) in NODES.items()}, EDGES)


def _points(points: dict[str, tuple[float, float]], **cols) -> gpd.GeoDataFrame:
    ids = list(points)
    geom = gpd.points_from_xy([X0 + points[i][0] for i in ids], [Y0 + points[i][1] for i in ids])
    gdf = gpd.GeoDataFrame({"id": ids, **cols}, geometry=geom, crs=CRS)
    return gdf.to_crs("EPSG:4326")


def _cov(standard: CoverageStandard, travel: TravelSettings | None = None,
         graph=True, cutoff: float | None = None) -> CoverageMatrix:
    return build_coverage(_points(DEMAND), _points(SITES), _graph() if graph else None, standard,
                          travel or TravelSettings(), CRS, cutoff_minutes=cutoff)


def _entries(m) -> dict[tuple[str, str], float]:
    coo = m.tocoo()
    d, s = np.array(list(DEMAND)), np.array(list(SITES))
    return {(d[i], s[j]): float(v) for i, j, v in zip(coo.row, coo.col, coo.data, strict=True)}


def test_hand_checked_minutes_and_km_with_one_way_streets() -> None:
    cov = _cov(CoverageStandard(max_minutes=30, max_km=5))
    mins, km = _entries(cov.minutes), _entries(cov.km)
    expected = {
        ("a", "S1"): (A_TO_S1, 3.0), ("a", "S2"): (0.0, 0.0),
        ("b", "S1"): (0.0, 0.0), ("b", "S2"): (B_TO_S2, 5.0),
        ("c", "S1"): (4 + A_TO_S1, 3.3), ("c", "S2"): (4.0, 0.3),  # 300 m at 4.5 km/h
        ("e", "S3"): (800 / 4500 * 60, 0.8),  # island: walked, the island road was dropped
    }
    assert set(mins) == set(expected)
    for pair, (m, k) in expected.items():
        assert mins[pair] == pytest.approx(m), pair
        assert km[pair] == pytest.approx(k), pair
    # a stored 0.0 is a real zero: the pair is present in the sparse pattern
    assert cov.minutes.nnz == len(expected) == cov.km.nnz
    assert np.array_equal(cov.minutes.indices, cov.km.indices)
    assert cov.method == "network" and cov.label == "road network, motorbike"
    dense = cov.dense_minutes()
    # d is 1.5 km from any road and from every site: no route at all, never zero
    assert np.isinf(dense[list(DEMAND).index("d")]).all()


def test_rule_either_covers_by_km_beyond_the_time_cutoff_and_both_needs_both() -> None:
    std = CoverageStandard(max_minutes=10, max_km=4, rule="either")
    cov = _cov(std)
    assert set(_entries(cov.minutes)) == {("a", "S1"), ("a", "S2"), ("b", "S1"), ("c", "S2")}
    covered = set(_entries(cov.covered))
    # c-S1 takes 11.7 min but is 3.3 km by road; b-S2 is 15 min and 5 km (one-way detour);
    # e-S3 is a 10.7 min walk of 0.8 km
    assert covered == {("a", "S1"), ("a", "S2"), ("b", "S1"), ("c", "S1"), ("c", "S2"),
                       ("e", "S3")}
    both = _cov(CoverageStandard(max_minutes=10, max_km=4, rule="both"))
    assert set(_entries(both.covered)) == {("a", "S1"), ("a", "S2"), ("b", "S1"), ("c", "S2")}


def test_straight_km_measure_uses_the_radius() -> None:
    cov = _cov(CoverageStandard(max_minutes=10, max_km=4, km_measure="straight"))
    covered = set(_entries(cov.covered))
    # b-S2 is 5 km by road but 3 km as the crow flies; d-S1 3.35 km straight
    assert ("b", "S2") in covered and ("d", "S1") in covered
    assert ("e", "S1") not in covered


def test_larger_cutoff_keeps_values_and_adds_pairs() -> None:
    small = _cov(CoverageStandard(max_minutes=10), cutoff=10)
    large = _cov(CoverageStandard(max_minutes=10), cutoff=60)
    s, big = _entries(small.minutes), _entries(large.minutes)
    assert set(s) < set(big)
    assert all(big[p] == pytest.approx(v) for p, v in s.items())
    assert big[("b", "S2")] == pytest.approx(B_TO_S2)
    assert set(_entries(small.covered)) == set(_entries(large.covered))
    with pytest.raises(ValueError, match="cutoff_minutes 5.0 is below the standard"):
        _cov(CoverageStandard(max_minutes=10), cutoff=5)


def test_walk_ignores_one_way_and_keeps_the_island() -> None:
    cov = _cov(CoverageStandard(max_minutes=60, max_km=5), TravelSettings(mode="walk"))
    mins = _entries(cov.minutes)
    assert mins[("b", "S2")] == pytest.approx(3000 / 4500 * 60)  # straight back along 3->2
    assert mins[("e", "S3")] == pytest.approx(800 / 4500 * 60)  # over the island road
    assert cov.label == "road network, walk"


def test_car_and_batches_give_the_same_answer() -> None:
    one = _cov(CoverageStandard(), TravelSettings(mode="car"))
    p = prepare_graph(_graph(), TravelSettings(mode="car"))
    batched = build_coverage(_points(DEMAND), _points(SITES), p, CoverageStandard(),
                             TravelSettings(mode="car"), CRS, batch_size=1)
    assert _entries(one.minutes) == pytest.approx(_entries(batched.minutes))
    assert _entries(one.minutes)[("a", "S1")] == pytest.approx(3 + 60 / 40 + 3)


def test_straight_line_fallback_is_labelled() -> None:
    cov = _cov(CoverageStandard(max_minutes=30, max_km=5), graph=False)
    assert cov.method == "straight-line"
    assert cov.label == "straight line x 1.3 at 30 km/h (no road network)"
    mins, km = _entries(cov.minutes), _entries(cov.km)
    assert mins[("a", "S1")] == pytest.approx(3 * 1.3 / 30 * 60)
    assert km[("a", "S1")] == pytest.approx(3.9)
    assert ("a", "S2") in mins and mins[("a", "S2")] == 0.0
    covered = set(_entries(cov.covered))
    assert ("d", "S1") in covered  # 3.354 km x 1.3 = 4.36 km <= 5
    assert ("e", "S1") not in covered


def test_nearest_sites_with_a_mask() -> None:
    cov = _cov(CoverageStandard(max_minutes=30, max_km=5))
    near = nearest_sites(cov).set_index("demand_id")
    assert near.loc["a", "nearest_site_id"] == "S2" and near.loc["a", "minutes"] == 0.0
    assert near.loc["d", "nearest_site_id"] is None and np.isinf(near.loc["d", "km"])
    assert near.loc["e", "nearest_site_id"] == "S3"
    masked = nearest_sites(cov, np.array([True, False, False])).set_index("demand_id")
    assert masked.loc["a", "nearest_site_id"] == "S1"
    assert masked.loc["a", "minutes"] == pytest.approx(A_TO_S1)
    assert masked.loc["a", "km"] == pytest.approx(3.0)
    assert masked.loc["d", "nearest_site_id"] is None and np.isinf(masked.loc["d", "minutes"])
    assert masked["covered"].tolist() == [True, True, True, False, False]
    with pytest.raises(ValueError, match="site_mask has shape"):
        nearest_sites(cov, np.array([True]))


def test_site_to_site_minutes_follow_one_way_streets() -> None:
    m = site_to_site_minutes(_points(SITES), _graph(), TravelSettings(), CRS)
    assert m.shape == (3, 3)
    assert m[0, 1] == pytest.approx(B_TO_S2)  # S1 (node 4) -> S2 (node 1)
    assert m[1, 0] == pytest.approx(A_TO_S1)
    assert np.isinf(m[0, 2]) and np.isinf(m[2, 1])  # island site: unreachable
    assert np.all(np.diag(m) == 0)
    fallback = site_to_site_minutes(_points(SITES), None, TravelSettings(), CRS)
    assert fallback[0, 1] == pytest.approx(fallback[1, 0]) == pytest.approx(3 * 1.3 / 30 * 60)


def test_bad_inputs_raise_clear_errors() -> None:
    d = _points(DEMAND)
    s = _points(SITES).to_crs(CRS)
    with pytest.raises(CRSMismatchError, match="demand is in EPSG:4326 but sites are in EPSG:32648"):
        build_coverage(d, s, _graph(), CoverageStandard(), TravelSettings(), CRS)
    poly = d.copy()
    poly["geometry"] = d.to_crs(CRS).buffer(10).to_crs("EPSG:4326")
    with pytest.raises(ValueError, match="demand points must be points"):
        build_coverage(poly, _points(SITES), _graph(), CoverageStandard(), TravelSettings(), CRS)


def _scenario(tmp_path: Path, demand: gpd.GeoDataFrame, roads: bool = True) -> Scenario:
    path = tmp_path / "roads.graphml"
    ox.save_graphml(_graph(), path)
    settings = ScenarioSettings(name="tiny", crs=CRS)
    sites = _points(SITES, kind=["branch", "reception", "candidate"],
                    status=["optional", "optional", "optional"])
    return Scenario(settings=settings, demand=demand, sites=sites, staff=pd.DataFrame(),
                    workload=pd.DataFrame(), folder=tmp_path, roads_path=path if roads else None)


def test_scenario_report_names_far_points_stranded_people_and_caches(tmp_path: Path) -> None:
    demand = _points(DEMAND, population=[100.0, 200.0, 300.0, 400.0, 500.0],
                     commune_code=["01", "01", "02", "02", "03"],
                     commune_name=["Một", "Một", "Hai", "Hai", "Ba"])
    scn = _scenario(tmp_path, demand)
    res = coverage_for_scenario(scn, cache_dir=tmp_path / "cache")
    rep = res.report
    assert not rep.from_cache and rep.method == "network"
    assert rep.network is not None and rep.network.nodes_dropped_components == 2
    assert rep.stranded_points == 1 and rep.stranded_population == 500.0  # e, on the island
    assert sorted(rep.far_demand["id"]) == ["d", "e"]
    assert rep.far_population == 900.0
    assert rep.far_sites["id"].tolist() == ["S3"]
    assert res.demand["snap_m"].iloc[2] == pytest.approx(300.0, abs=0.01)
    assert any("farther than max_snap_m" in line for line in rep.summary_lines())
    again = coverage_for_scenario(scn, cache_dir=tmp_path / "cache")
    assert again.report.from_cache
    assert (again.matrix.minutes != res.matrix.minutes).nnz == 0
    car = coverage_for_scenario(scn, mode="car", cache_dir=tmp_path / "cache")
    assert not car.report.from_cache and car.matrix.label == "road network, car"
    none = coverage_for_scenario(_scenario(tmp_path, demand, roads=False),
                                 cache_dir=tmp_path / "cache")
    assert none.matrix.method == "straight-line" and none.report.network is None


def test_scenario_polygon_demand_is_spread_and_conserved(tmp_path: Path) -> None:
    from shapely.geometry import box

    poly = gpd.GeoDataFrame(
        {"id": ["P"], "name": ["Phường"], "population": [1001.0], "commune_code": ["01"],
         "commune_name": ["Một"]},
        geometry=[box(X0 - 200, Y0 - 200, X0 + 3200, Y0 + 1200)], crs=CRS).to_crs("EPSG:4326")
    res = coverage_for_scenario(_scenario(tmp_path, poly), cache_dir=tmp_path / "cache")
    assert res.demand["population"].sum() == 1001.0
    assert (res.demand["weight"] == "roads").all()
    assert res.matrix.shape == (len(res.demand), 3)


def test_ferries_are_not_used_on_a_road_network_and_the_notes_say_so(tmp_path: Path) -> None:
    from dataclasses import replace

    demand = _points(DEMAND, population=[100.0, 200.0, 300.0, 400.0, 500.0])
    scn = _scenario(tmp_path, demand)
    # a 1-minute ferry from the mainland's node 4 (site S1) to the island (node 10)
    lon_lat = _points({"a": NODES[4], "b": NODES[10]}).geometry
    ferries = pd.DataFrame({"from_lon": [lon_lat.x.iloc[0]], "from_lat": [lon_lat.y.iloc[0]],
                            "to_lon": [lon_lat.x.iloc[1]], "to_lat": [lon_lat.y.iloc[1]],
                            "minutes": [1.0], "label": ["x"]})
    plain = coverage_for_scenario(scn, use_cache=False)
    with_ferry = coverage_for_scenario(replace(scn, ferries=ferries), use_cache=False)
    assert (with_ferry.matrix.minutes != plain.matrix.minutes).nnz == 0
    assert with_ferry.matrix.label == "road network, motorbike"
    assert any(n.startswith("ferry links: 1 in [files] ferries, not used")
               for n in with_ferry.report.notes)
