"""Spreading people inside a polygon by a population raster or by settlement points."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geodata.demand import spread_population

CRS = "EPSG:32648"
X0, Y0 = 750_000.0, 2_358_000.0  # UTM 48N


def _square(pop: float, side: float = 1000.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ["A"], "name": ["Xã A"], "population": [pop]},
                            geometry=[box(X0, Y0, X0 + side, Y0 + side)], crs=CRS)


def _tif(path: Path, values: np.ndarray, pixel: float = 250.0) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1],
                       count=1, dtype="float32", crs=CRS,
                       transform=from_origin(X0, Y0 + pixel * values.shape[0], pixel, pixel)) as dst:
        dst.write(values.astype("float32"), 1)
    return path


def _cells(out: gpd.GeoDataFrame) -> dict[tuple[int, int], float]:
    """People per 250 m cell, keyed (column, row-from-bottom)."""
    xy = out.to_crs(CRS).geometry
    keys = zip(((xy.x - X0) // 250).astype(int), ((xy.y - Y0) // 250).astype(int), strict=True)
    return dict(zip(keys, out["population"].to_numpy(float), strict=True))


def test_raster_people_land_in_their_cells(tmp_path: Path) -> None:
    # 4x4 pixels of 250 m; people only in the top-left corner (rows 0-1 from the top)
    values = np.zeros((4, 4))
    values[0, 0], values[0, 1], values[1, 0] = 30, 10, 60
    tif = _tif(tmp_path / "pop.tif", values)
    out = spread_population(_square(1000), cell_m=250, weight="raster", raster=tif, crs=CRS)
    assert set(out["weight"]) == {"raster"}
    # raster people 30 : 10 : 60 of 100, polygon total 1000 → 300, 100, 600
    assert _cells(out) == {(0, 3): 300.0, (1, 3): 100.0, (0, 2): 600.0}
    assert out["population"].sum() == 1000


def test_raster_apportions_whole_persons(tmp_path: Path) -> None:
    values = np.zeros((4, 4))
    values[3, 3], values[3, 2] = 1, 2  # bottom-right corner
    tif = _tif(tmp_path / "pop.tif", values)
    out = spread_population(_square(10), cell_m=250, weight="raster", raster=tif, crs=CRS)
    # 10 x 1/3 = 3.33, 10 x 2/3 = 6.67 → largest remainder gives 3 and 7
    assert _cells(out) == {(3, 0): 3.0, (2, 0): 7.0}


def test_empty_raster_falls_back_to_area(tmp_path: Path) -> None:
    tif = _tif(tmp_path / "pop.tif", np.zeros((4, 4)))
    out = spread_population(_square(16), cell_m=250, weight="raster", raster=tif, crs=CRS)
    assert set(out["weight"]) == {"uniform"}
    assert sorted(_cells(out).values()) == [1.0] * 16


def test_piece_smaller_than_a_pixel_gets_sampled_value(tmp_path: Path) -> None:
    # a 100 m square inside one 1 km pixel holding 500 people: holds no pixel centre
    tif = _tif(tmp_path / "pop.tif", np.full((1, 1), 500.0), pixel=1000.0)
    small = gpd.GeoDataFrame({"id": ["S"], "population": [7]},
                             geometry=[box(X0 + 10, Y0 + 10, X0 + 110, Y0 + 110)], crs=CRS)
    out = spread_population(small, cell_m=250, weight="raster", raster=tif, crs=CRS)
    assert list(out["weight"]) == ["raster"]
    assert out["population"].sum() == 7


def _settlements(xy: list[tuple[float, float]], people: list[float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"population": people},
                            geometry=[Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


def test_settlement_people_land_in_their_cells(tmp_path: Path) -> None:
    tif = _tif(tmp_path / "pop.tif", np.ones((4, 4)))
    s = _settlements([(100, 100), (900, 900), (5000, 5000)], [1, 3, 1000])  # last one outside
    out = spread_population(_square(100), cell_m=250, weight="settlements", settlements=s,
                            raster=tif, crs=CRS)
    assert set(out["weight"]) == {"settlements"}  # settlements beat the raster
    assert _cells(out) == {(0, 0): 25.0, (3, 3): 75.0}


def test_settlements_outside_fall_back_to_raster(tmp_path: Path) -> None:
    values = np.zeros((4, 4))
    values[0, 0] = 5
    tif = _tif(tmp_path / "pop.tif", values)
    s = _settlements([(5000, 5000)], [10])
    out = spread_population(_square(9), cell_m=250, weight="settlements", settlements=s,
                            raster=tif, crs=CRS)
    assert set(out["weight"]) == {"raster"}
    assert _cells(out) == {(0, 3): 9.0}


def test_settlement_on_a_shared_edge_counts_once() -> None:
    s = _settlements([(250, 100), (600, 600)], [1, 1])  # first on the edge of two cells
    out = spread_population(_square(4), cell_m=250, weight="settlements", settlements=s, crs=CRS)
    assert out["population"].sum() == 4
    assert sorted(_cells(out).values()) == [2.0, 2.0]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.floats(0, 1000, allow_nan=False), min_size=16, max_size=16),
       pop=st.integers(0, 100_000), side=st.floats(100, 1000))
def test_raster_totals_conserved(tmp_path: Path, values: list[float], pop: int, side: float) -> None:
    tif = _tif(tmp_path / "pop.tif", np.array(values).reshape(4, 4))
    out = spread_population(_square(pop, side), cell_m=250, weight="raster", raster=tif, crs=CRS)
    assert out["population"].sum() == pop
    assert (out["population"] == np.round(out["population"])).all()
    assert set(out["weight"]) <= {"raster", "uniform"}


@settings(max_examples=30, deadline=None)
@given(pts=st.lists(st.tuples(st.floats(-500, 1500), st.floats(-500, 1500), st.floats(0, 500)),
                    max_size=20),
       pop=st.integers(0, 100_000))
def test_settlement_totals_conserved(pts: list[tuple[float, float, float]], pop: int) -> None:
    s = _settlements([(x, y) for x, y, _ in pts], [p for _, _, p in pts])
    out = spread_population(_square(pop), cell_m=250, weight="settlements", settlements=s, crs=CRS)
    assert out["population"].sum() == pop
    inside = [p for x, y, p in pts if 0 <= x <= 1000 and 0 <= y <= 1000]
    if pop > 0:
        assert set(out["weight"]) == ({"settlements"} if sum(inside) > 0 else {"uniform"})


def test_negative_settlement_population_is_refused() -> None:
    with pytest.raises(ValueError, match="finite and >= 0"):
        spread_population(_square(5), weight="settlements",
                          settlements=_settlements([(1, 1)], [-1]), crs=CRS)
