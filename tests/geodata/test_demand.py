"""Demand from population: largest-remainder apportionment, grid spreading by roads or area."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geodata.demand import apportion, demand_points, spread_population
from geodata.scenario import Scenario
from geodata.settings import ScenarioSettings
from geodata.synthetic_roads import HANOI_UTM48N_M, graph_from_metric

CRS = "EPSG:32648"
X0, Y0 = HANOI_UTM48N_M


def test_apportion_largest_remainder_by_hand() -> None:
    # shares 3.333.., 3.333.., 3.333.. of 10: floors 3,3,3 and the 1 left goes to the first
    assert apportion(10, [1, 1, 1]).tolist() == [4, 3, 3]
    # 7 * [0.5, 0.3, 0.2] = 3.5, 2.1, 1.4 -> floors 3, 2, 1; remainders .5 .1 .4 -> first
    assert apportion(7, [5, 3, 2]).tolist() == [4, 2, 1]
    assert apportion(5, [0, 0]).tolist() == [3, 2]  # no weight: uniform
    assert apportion(2.5, [1, 1]).sum() == 2.5
    with pytest.raises(ValueError, match="non-negative"):
        apportion(3, [1, -1])


@settings(max_examples=60, deadline=None)
@given(total=st.integers(0, 10**7), weights=st.lists(st.floats(0, 1e6), min_size=1, max_size=40))
def test_apportion_conserves_whole_numbers(total: int, weights: list[float]) -> None:
    out = apportion(total, weights)
    assert out.sum() == total
    assert np.all(out == np.floor(out)) and np.all(out >= 0)
    w = np.asarray(weights)
    if w.sum() > 0:
        assert np.all(np.abs(out - total * w / w.sum()) < 1 + 1e-6)  # quota property


def _polys() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["A", "B", "C"], "name": ["Phường A", "Xã B", "Xã C"],
         "population": [10_001.0, 2_500.0, 0.0], "commune_code": ["01", "02", "03"],
         "commune_name": ["A", "B", "C"]},
        geometry=[box(X0, Y0, X0 + 2000, Y0 + 1000), box(X0 + 2000, Y0, X0 + 3000, Y0 + 1000),
                  box(X0, Y0 + 1000, X0 + 500, Y0 + 1500)], crs=CRS).to_crs("EPSG:4326")


def test_uniform_spread_conserves_each_polygon_and_stays_inside() -> None:
    pts = spread_population(_polys(), cell_m=250, weight="uniform", crs=CRS)
    by = pts.groupby("source_id")["population"].sum()
    assert by["A"] == 10_001 and by["B"] == 2_500 and "C" not in by.index
    assert (pts["population"] == np.floor(pts["population"])).all()
    assert (pts["weight"] == "uniform").all()
    a = pts[pts["source_id"] == "A"]
    assert len(a) == 8 * 4  # 2 km x 1 km in 250 m cells
    assert a["population"].max() - a["population"].min() <= 1  # equal areas
    polys = _polys().to_crs(CRS).set_index("id")
    inside = pts.to_crs(CRS).apply(lambda r: polys.loc[r["source_id"]].geometry.covers(r.geometry),
                                   axis=1)
    assert inside.all()
    assert pts.crs.to_string() == "EPSG:4326"


def test_road_weighted_spread_puts_people_along_roads() -> None:
    # one road along y = 125 m inside A only, from x = 0 to 1000 m
    g = graph_from_metric({1: (X0 + 1, Y0 + 125), 2: (X0 + 999, Y0 + 125)},
                          [(1, 2, "residential", 998)])
    pts = spread_population(_polys(), cell_m=250, weight="roads", graph=g, crs=CRS)
    a = pts[pts["source_id"] == "A"]
    assert a["population"].sum() == 10_001 and (a["weight"] == "roads").all()
    ys = a.to_crs(CRS).geometry.y - Y0
    assert len(a) == 4 and (ys < 250).all()  # only the 4 cells the road crosses
    b = pts[pts["source_id"] == "B"]
    assert b["population"].sum() == 2_500 and (b["weight"] == "uniform").all()  # no road: uniform


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="cell_m must be > 0"):
        spread_population(_polys(), cell_m=0, crs=CRS)
    with pytest.raises(ValueError, match="weight must be one of settlements, raster, roads, uniform"):
        spread_population(_polys(), weight="people", crs=CRS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a 'population' column"):
        spread_population(_polys().drop(columns="population"), crs=CRS)


def test_demand_points_keeps_points_and_spreads_polygons() -> None:
    polys = _polys()
    point = gpd.GeoDataFrame({"id": ["P"], "name": ["Điểm"], "population": [42.0],
                              "commune_code": ["09"], "commune_name": ["P"]},
                             geometry=[Point(105.85, 21.03)], crs="EPSG:4326")
    demand = gpd.GeoDataFrame(pd.concat([point, polys], ignore_index=True), crs="EPSG:4326")
    scn = Scenario(ScenarioSettings(name="t", crs=CRS), demand, demand.iloc[:0], pd.DataFrame(),
                   pd.DataFrame(), folder=Path("."))
    pts = demand_points(scn, weight="uniform")
    assert pts["id"].iloc[0] == "P" and pts["population"].iloc[0] == 42.0
    assert pts["population"].sum() == 42 + 10_001 + 2_500
    assert (pts.geometry.geom_type == "Point").all()
    only_points = Scenario(ScenarioSettings(name="t", crs=CRS), point, point.iloc[:0],
                           pd.DataFrame(), pd.DataFrame())
    assert demand_points(only_points)["id"].tolist() == ["P"]


@pytest.mark.shared_data
def test_real_wards_spread_on_hanoi_roads_conserve_census_totals(shared_data: Path) -> None:
    from geodata.network import load_graph

    wards = gpd.read_file(shared_data / "boundaries" / "vn_wards_gadm41_pop2019.gpkg",
                          layer="wards", bbox=(105.845, 21.02, 105.86, 21.035))
    wards = wards[wards["NAME_2"] == "HoànKiếm"].rename(
        columns={"GID_3": "id", "NAME_3": "name", "pop2019": "population"})
    assert len(wards) >= 3
    g = load_graph(shared_data / "roads" / "hanoi" / "hanoi_hoan_kiem.osm")
    pts = spread_population(wards[["id", "name", "population", "geometry"]], cell_m=250,
                            weight="roads", graph=g, crs=CRS)
    sums = pts.groupby("source_id")["population"].sum()
    for _, w in wards.iterrows():
        assert sums[w["id"]] == w["population"]
    assert (pts["weight"] == "roads").mean() > 0.5
