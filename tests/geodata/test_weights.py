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
    # compare the coordinates as stored (X0 + x rounds tiny offsets onto the edge)
    inside = [p for x, y, p in pts
              if X0 <= X0 + x <= X0 + 1000 and Y0 <= Y0 + y <= Y0 + 1000]
    if pop > 0:
        assert set(out["weight"]) == ({"settlements"} if sum(inside) > 0 else {"uniform"})


def test_negative_settlement_population_is_refused() -> None:
    with pytest.raises(ValueError, match="finite and >= 0"):
        spread_population(_square(5), weight="settlements",
                          settlements=_settlements([(1, 1)], [-1]), crs=CRS)


# --------------------------------------------------------------------------- motcua import


def _two_squares(tmp_path: Path) -> Path:
    squares = gpd.GeoDataFrame({"code": ["W", "E"], "ten": ["Xã Tây", "Xã Đông"], "dan": [100, 40]},
                               geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000),
                                         box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
                               crs=CRS).to_crs("EPSG:4326")
    squares.to_file(tmp_path / "xa.geojson")
    return tmp_path / "xa.geojson"


def _import(tmp_path: Path, *extra: str) -> list[str]:
    return ["import", "--boundaries", str(_two_squares(tmp_path)), "--id-column", "code",
            "--name-column", "ten", "--population-column", "dan", "--name", "W",
            "--out", str(tmp_path / "scn"), "--cell-m", "250",
            "--cache-dir", str(tmp_path / "cache"), "--no-coverage", *extra]


def _read_import_json(folder: Path) -> dict[str, object]:
    import json

    found = list(folder.rglob("import.json"))
    assert len(found) == 1
    data: dict[str, object] = json.loads(found[0].read_text(encoding="utf-8"))
    return data


def test_cli_raster_weighting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from geodata.scenario import load_scenario
    from motcua.cli import main

    values = np.zeros((4, 8))
    values[0, 0] = 7  # west square: all its people in the top-left cell; east square: nobody
    _tif(tmp_path / "pop.tif", values)
    code = main(_import(tmp_path, "--population-raster", str(tmp_path / "pop.tif")))
    assert code == 0, capsys.readouterr().err
    sc = load_scenario(tmp_path / "scn")
    west = sc.demand[sc.demand["commune_code"] == "W"]
    assert list(west["population"]) == [100.0]
    assert _cells(west) == {(0, 3): 100.0}
    east = sc.demand[sc.demand["commune_code"] == "E"]
    assert len(east) == 16 and east["population"].sum() == 40  # fell back to area
    demand = _read_import_json(tmp_path / "scn")["demand"]
    assert isinstance(demand, dict)
    assert demand["weight"] == "raster"
    assert demand["weight_by_unit"] == {"W": "raster", "E": "uniform"}
    assert demand["weight_used"] == {"settlements": 0, "raster": 1, "roads": 0, "uniform": 1}
    assert "1 by uniform" in capsys.readouterr().out


def test_cli_settlement_weighting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from geodata.scenario import load_scenario
    from motcua.cli import main

    s = gpd.GeoDataFrame({"thon": ["A", "B", "C"], "nguoi": [1, 3, 50]},
                         geometry=[Point(X0 + 100, Y0 + 100), Point(X0 + 900, Y0 + 900),
                                   Point(X0 + 1600, Y0 + 600)], crs=CRS).to_crs("EPSG:4326")
    s.to_file(tmp_path / "thon.geojson")
    code = main(_import(tmp_path, "--settlements", str(tmp_path / "thon.geojson"),
                        "--settlements-population-column", "nguoi"))
    assert code == 0, capsys.readouterr().err
    sc = load_scenario(tmp_path / "scn")
    per = {c: _cells(g) for c, g in sc.demand.groupby("commune_code")}
    assert per == {"W": {(0, 0): 25.0, (3, 3): 75.0}, "E": {(6, 2): 40.0}}
    info = _read_import_json(tmp_path / "scn")
    assert info["demand"]["weight_by_unit"] == {"W": "settlements", "E": "settlements"}  # type: ignore[index]
    assert info["settlements"]["outside_boundaries"] == 0  # type: ignore[index]


def test_cli_bad_settlement_population_is_named(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from motcua.cli import main

    s = gpd.GeoDataFrame({"nguoi": [5.0, -2.0, 1.0]},
                         geometry=[Point(X0 + 100, Y0 + 100), Point(X0 + 900, Y0 + 900),
                                   box(X0, Y0, X0 + 5, Y0 + 5)], crs=CRS)
    s.to_file(tmp_path / "thon.geojson")
    code = main(_import(tmp_path, "--settlements", str(tmp_path / "thon.geojson"),
                        "--settlements-population-column", "nguoi"))
    assert code == 1
    err = capsys.readouterr().err
    assert "thon.geojson, column 'nguoi', row 3: settlement population is not usable" in err
    assert "expected a number >= 0" in err
    assert ("thon.geojson, column 'geometry', row 4: settlement is not a point (value 'Polygon'); "
            "expected a Point") in err
    assert "Traceback" not in err
    assert not (tmp_path / "scn").exists()


def test_cli_settlements_all_outside_are_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from motcua.cli import main

    gpd.GeoDataFrame(geometry=[Point(X0 + 9000, Y0 + 9000)], crs=CRS).to_file(tmp_path / "t.geojson")
    assert main(_import(tmp_path, "--settlements", str(tmp_path / "t.geojson"))) == 1
    assert "t.geojson: no settlement point lies inside the boundaries" in capsys.readouterr().err


def test_cli_raster_weight_needs_a_raster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from motcua.cli import main

    assert main(_import(tmp_path, "--weight", "raster")) == 1
    assert "weight 'raster' needs --population-raster" in capsys.readouterr().err
