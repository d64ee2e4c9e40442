"""``motcua import`` end to end: real places from ../shared/data, a raster, and bad input."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from geodata.scenario import load_scenario
from motcua.cli import main

GADM_WARDS = "boundaries/vn_wards_gadm41_pop2019.gpkg"

# two made-up offices inside Đầm Hà district (checked to lie in its wards below)
OFFICES = """\
ma_dv,ten_dv,kinh_do,vi_do
TTHC-DH,Chi nhánh Trung tâm PVHCC Đầm Hà,107.596,21.355
DTN-QT,Điểm tiếp nhận Quảng Tân,107.563,21.399
"""


def _dam_ha_args(shared_data: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    return ["import", "--boundaries", str(shared_data / GADM_WARDS), "--layer", "wards",
            "--filter", "NAME_1=Quảng Ninh", "--filter", "NAME_2=Đầm Hà",
            "--population-column", "pop2019", "--name", "Đầm Hà", "--out", str(out),
            "--cache-dir", str(cache), *extra]


@pytest.mark.shared_data
# the 2019 commune polygons around Đầm Hà include communes whose offices the file does not
# list (Đại Bình): the sanity check's warning is expected
@pytest.mark.filterwarnings("ignore:communes.geojson. commune .* has no office")
def test_import_dam_ha_with_offices_and_candidates(shared_data: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    offices = tmp_path / "van_phong.csv"
    offices.write_text(OFFICES, encoding="utf-8")
    out = tmp_path / "dam-ha"
    code = main(_dam_ha_args(shared_data, out, tmp_path / "cache", "--sites", str(offices),
                             "--sites-lon-column", "kinh_do", "--sites-lat-column", "vi_do",
                             "--sites-id-column", "ma_dv", "--sites-name-column", "ten_dv",
                             "--sites-kind", "branch", "--candidates", "grid",
                             "--cell-m", "1000"))
    text = capsys.readouterr().out
    assert code == 0
    assert "residents: 41,217 (demand rows sum to 41,217)" in text
    assert "roads: NONE - straight-line fallback" in text
    assert "coverage by existing sites:" in text and "(no road network)" in text
    sc = load_scenario(out)
    branches = sc.sites[sc.sites["kind"] == "branch"]
    assert branches["id"].tolist() == ["TTHC-DH", "DTN-QT"]
    # commune codes of the offices come from the ward polygon they lie in
    assert all(code.startswith("VNM.49.5.") for code in branches["commune_code"])
    assert (sc.sites["kind"] == "candidate").sum() > 0
    assert "straight-line fallback" in sc.settings.description


def test_import_population_from_raster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import rasterio
    from rasterio.transform import from_origin

    x0, y0 = 750_000.0, 2_358_000.0  # UTM 48N, Quảng Ninh
    squares = gpd.GeoDataFrame({"code": ["W", "E"], "ten": ["Xã Tây", "Xã Đông"]},
                               geometry=[box(x0, y0, x0 + 1000, y0 + 1000),
                                         box(x0 + 1000, y0, x0 + 2000, y0 + 1000)],
                               crs="EPSG:32648").to_crs("EPSG:4326")
    squares.to_file(tmp_path / "xa.geojson")
    values = np.full((4, 8), 10.25, dtype="float32")  # 16 cells of 10.25 per square = 164
    values[:, 4:] = 2.5                                # east: 16 x 2.5 = 40
    with rasterio.open(tmp_path / "pop.tif", "w", driver="GTiff", height=4, width=8, count=1,
                       dtype="float32", crs="EPSG:32648",
                       transform=from_origin(x0, y0 + 1000, 250, 250)) as dst:
        dst.write(values, 1)
    out = tmp_path / "scn"
    code = main(["import", "--boundaries", str(tmp_path / "xa.geojson"), "--id-column", "code",
                 "--name-column", "ten", "--population-raster", str(tmp_path / "pop.tif"),
                 "--name", "Raster", "--out", str(out), "--cell-m", "250",
                 "--cache-dir", str(tmp_path / "cache"), "--no-coverage"])
    assert code == 0, capsys.readouterr().err
    sc = load_scenario(out)
    per = sc.demand.groupby("commune_code")["population"].sum()
    assert per.to_dict() == {"E": 40.0, "W": 164.0}
    assert "coverage by existing sites" not in capsys.readouterr().out


# --------------------------------------------------------------------------- bad input


@pytest.mark.shared_data
def test_misspelt_population_column_is_named(shared_data: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = _dam_ha_args(shared_data, tmp_path / "x", tmp_path / "cache")
    args[args.index("pop2019")] = "pop_2019"
    assert main(args) == 1
    err = capsys.readouterr().err
    assert ("vn_wards_gadm41_pop2019.gpkg, column 'pop_2019': population column is missing; "
            "did you mean 'pop2019'?") in err
    assert not (tmp_path / "x").exists()


@pytest.mark.shared_data
def test_filter_value_without_accents_gets_a_suggestion(shared_data: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    args = _dam_ha_args(shared_data, tmp_path / "x", tmp_path / "cache")
    args[args.index("NAME_2=Đầm Hà")] = "NAME_2=Dam Ha"
    assert main(args) == 1
    assert "column 'NAME_2': filter matches no feature; did you mean 'ĐầmHà'?" in capsys.readouterr().err


@pytest.mark.shared_data
def test_geographic_crs_is_refused(shared_data: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_dam_ha_args(shared_data, tmp_path / "x", tmp_path / "cache",
                             "--crs", "EPSG:4326")) == 1
    assert "--crs: must be a projected (metric) CRS to measure distances (value 'EPSG:4326')" \
        in capsys.readouterr().err


@pytest.mark.shared_data
def test_sites_csv_in_windows_encoding_is_refused(shared_data: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    offices = tmp_path / "van_phong.csv"
    offices.write_bytes("id,name,lon,lat\nA,Bưu Đà,107.596,21.355\n".encode("cp1258"))
    assert main(_dam_ha_args(shared_data, tmp_path / "x", tmp_path / "cache",
                             "--sites", str(offices))) == 1
    err = capsys.readouterr().err
    assert "van_phong.csv, row 2: is not valid UTF-8 (byte 0xfd at line 2)" in err
    assert "CSV UTF-8" in err


def test_option_errors_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "b.geojson"
    f.write_text("{}", encoding="utf-8")
    assert main(["import", "--name", "x", "--out", str(tmp_path / "o")]) == 1
    assert "give --boundaries FILE" in capsys.readouterr().err
    assert main(["import", "--boundaries", str(f), "--name", "x", "--out", str(tmp_path / "o")]) == 1
    assert "give --population-column COL" in capsys.readouterr().err
    assert main(["import", "--boundaries", str(f), "--population-column", "p", "--filter", "NAME_2",
                 "--name", "x", "--out", str(tmp_path / "o")]) == 1
    assert "--filter 'NAME_2': expected COL=VALUE" in capsys.readouterr().err
    assert main(["import", "--boundaries", str(f), "--population-column", "p",
                 "--roads", str(tmp_path / "none.osm"), "--name", "x", "--out", str(tmp_path / "o")]) == 1
    assert "--roads" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "nan", "inf"])
def test_grid_cell_that_is_not_a_length_is_refused(value: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # 'nan <= 0' is false: a NaN cell size got past the check
    f = tmp_path / "b.geojson"
    f.write_text("{}", encoding="utf-8")
    assert main(["import", "--boundaries", str(f), "--population-column", "p", "--cell-m", value,
                 "--name", "x", "--out", str(tmp_path / "o")]) == 1
    assert f"grid cell must be > 0 m, got {float(value)}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_default_grid_follows_the_area_and_population() -> None:
    from geodata.importer import default_cell_m

    # a province of 6,200 km2 and 1.3 million: ~10,000 cells of ~800 m
    assert default_cell_m(6.2e9, 1.3e6) == 800.0
    # a sparse one: at least 100 persons a cell makes the cells coarser
    assert default_cell_m(6.2e9, 2.0e5) == pytest.approx(1750.0)
    # a dense small district: the finest cell, 250 m; a huge empty area: the coarsest, 2 km
    assert default_cell_m(3.0e7, 2.0e5) == 250.0
    assert default_cell_m(1.0e11, 1.0e4) == 2000.0
    # never finer with more area, never coarser with more people
    sides = [default_cell_m(a, 1e6) for a in (1e8, 1e9, 1e10)]
    assert sides == sorted(sides)
    assert default_cell_m(5e9, 5e6) <= default_cell_m(5e9, 5e5)


def test_import_without_cell_size_chooses_and_says_it(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # two 10 x 10 km communes of 50,000 people each: 200 km2, 100,000 persons ->
    # max(sqrt(2e8 / 10,000) = 141, sqrt(2e8 x 100 / 1e5) = 447) -> 450 m
    f = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"code": ["a", "b"], "name": ["A", "B"], "p": [50_000, 50_000]},
                     geometry=[box(600_000, 2_300_000, 610_000, 2_310_000),
                               box(610_000, 2_300_000, 620_000, 2_310_000)],
                     crs="EPSG:32648").to_crs("EPSG:4326").to_file(f, driver="GeoJSON")
    out = tmp_path / "o"
    assert main(["import", "--boundaries", str(f), "--population-column", "p", "--name", "x",
                 "--out", str(out), "--no-coverage"]) == 0
    text = capsys.readouterr().out
    assert "(450 m cells, chosen for 200 km2 and 100,000 persons; --cell-m to change" in text
    import json
    prov = json.loads((out / "import.json").read_text(encoding="utf-8"))
    assert prov["demand"]["cell_m"] == 450.0 and prov["cell_m_rule"]["persons"] == 100_000


def test_grid_sensitivity_reports_coverage_at_half_and_double_the_cell(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"code": ["a", "b"], "name": ["A", "B"], "p": [50_000, 50_000]},
                     geometry=[box(600_000, 2_300_000, 610_000, 2_310_000),
                               box(610_000, 2_300_000, 640_000, 2_310_000)],
                     crs="EPSG:32648").to_crs("EPSG:4326").to_file(f, driver="GeoJSON")
    out = tmp_path / "o"
    assert main(["import", "--boundaries", str(f), "--population-column", "p", "--name", "x",
                 "--out", str(out), "--cell-m", "2000", "--grid-sensitivity",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    text = capsys.readouterr().out
    line = text.split("grid sensitivity of that coverage: ")[1].splitlines()[0]
    assert line.startswith("1000 m (") and "; 4000 m (" in line
    # the shares printed are the coverage of the grids at those sizes, against the chosen one
    import re
    base = float(re.search(r"coverage by existing sites: ([\d.]+) %", text).group(1))  # type: ignore[union-attr]
    for share, diff in re.findall(r"\): ([\d.]+) % \(([+-][\d.]+) points\)", line):
        assert float(diff) == pytest.approx(float(share) - base, abs=0.11)
    # only the scenario asked for is written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.geojson", "cache", "o"]
