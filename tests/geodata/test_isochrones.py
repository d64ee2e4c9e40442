"""Isochrones on the tiny hand-checked graph of test_coverage, and their straight-line fallback."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from geodata.isochrones import isochrones
from geodata.settings import TravelSettings
from geodata.synthetic_roads import HANOI_UTM48N_M, graph_from_metric

CRS = "EPSG:32648"
X0, Y0 = HANOI_UTM48N_M


def _graph():
    nodes = {1: (0, 0), 2: (1000, 0), 3: (2000, 0), 4: (3000, 0), 5: (1500, 1000)}
    edges = [(1, 2, "residential", 1000), (2, 3, "primary:oneway", 1000),
             (3, 4, "residential", 1000), (3, 5, "residential:oneway", 1500),
             (5, 2, "residential:oneway", 1500)]
    return graph_from_metric({k: (X0 + x, Y0 + y) for k, (x, y) in nodes.items()}, edges)


def _site(x: float, y: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ["S"]}, geometry=[Point(X0 + x, Y0 + y)],
                            crs=CRS).to_crs("EPSG:4326")


def _inside(iso: gpd.GeoDataFrame, x: float, y: float) -> bool:
    return bool(iso.to_crs(CRS).geometry.iloc[0].contains(Point(X0 + x, Y0 + y)))


def test_isochrone_follows_roads_and_one_way_streets() -> None:
    # site at node 1; in 5 min: node 2 (3 min, 2 min of walking left = 150 m), not node 3
    iso = isochrones(_graph(), _site(0, 0), 5.0, crs=CRS)
    assert iso["site_id"].tolist() == ["S"] and iso["method"].iloc[0] == "road network, motorbike"
    assert _inside(iso, 1000, 140) and not _inside(iso, 1000, 160)
    assert _inside(iso, 0, 370) and not _inside(iso, 0, 380)  # 375 m walked in 5 min
    assert _inside(iso, 500, 0)  # along the reached road
    assert not _inside(iso, 2000, 0)
    # site at node 3: node 2 reaches it by the one-way primary in 1.7 min, node 4 in 3 min
    iso3 = isochrones(_graph(), _site(2000, 0), 5.0, crs=CRS)
    assert _inside(iso3, 1000, 0) and _inside(iso3, 3000, 0)
    # site at node 2: node 3 needs the 9-minute detour through 5, so 5 minutes do not reach it
    iso2 = isochrones(_graph(), _site(1000, 0), 5.0, crs=CRS)
    assert _inside(iso2, 0, 0) and not _inside(iso2, 2000, 0)


def test_straight_line_isochrone_is_a_labelled_circle() -> None:
    iso = isochrones(None, _site(0, 0), 10.0, TravelSettings(), crs=CRS)
    radius_km = 30 * 10 / 60 / 1.3
    assert iso["area_km2"].iloc[0] == pytest.approx(3.14159 * radius_km ** 2, rel=0.05)
    assert "no road network" in iso["method"].iloc[0]
    with pytest.raises(ValueError, match="minutes must be > 0"):
        isochrones(None, _site(0, 0), 0.0, crs=CRS)
