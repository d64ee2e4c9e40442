"""Every validation class of the scenario loader, each with a hand-made bad file."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon

from geodata._errors import ScenarioError, ScenarioWarning
from geodata.scenario import load_scenario, save_scenario
from tests.scenarios.conftest import DEMAND, SITES, STAFF, TOML, WORKLOAD, MakeScenario


def problems(folder: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    return str(info.value)


def test_valid_scenario_loads_with_types(make_scenario: MakeScenario) -> None:
    s = load_scenario(make_scenario())
    assert list(s.demand["id"]) == ["d1", "d2", "d3"]
    assert s.demand["population"].sum() == 7000
    assert s.demand.crs.to_epsg() == 4326
    assert s.sites.loc[2, "status"] == "optional"  # blank status -> documented default
    assert s.sites.loc[2, "counters"] == 0  # candidate without counters
    assert s.sites.loc[0, "capacity_per_day"] == 4 * 40.0  # derived from counters
    assert s.sites.loc[1, "capacity_per_day"] == 60.0  # given
    assert s.staff.loc[0, "skills"] == ("land", "justice")
    assert s.staff.loc[0, "leave_dates"] == ("2026-11-24",)
    assert s.staff.loc[1, "movable"] is False or not s.staff.loc[1, "movable"]
    assert s.staff.loc[1, "max_days_per_week"] == 6  # default: number of working days
    assert s.staff.loc[0, "days_available"] == ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
    assert s.workload["dossiers"].tolist() == [12, 30, 7]
    assert s.settings.coverage.max_minutes == 30.0
    assert s.warnings == ()


def test_missing_and_misspelt_columns(make_scenario: MakeScenario) -> None:
    text = problems(make_scenario(**{
        "demand.csv": DEMAND.replace("population", "populaton"),
        "sites.csv": SITES.replace(",kind,", ",type,"),
    }))
    assert "demand.csv, column 'population': required column is missing" in text
    assert "'populaton' looks like a misspelling" in text
    assert "sites.csv, column 'kind': required column is missing" in text


def test_wrong_types_negative_and_non_finite(make_scenario: MakeScenario) -> None:
    demand = DEMAND.replace("1200", "many").replace("800", "-5").replace("5000", "inf")
    text = problems(make_scenario(**{"demand.csv": demand}))
    assert "demand.csv, column 'population', row 2: not a finite number (value 'many')" in text
    assert ("row 3: out of range (value '-5'); expected number between 0 and 20000000 "
            "(residents of one row)") in text
    assert "row 4: not a finite number (value 'inf')" in text


def test_whole_numbers_and_enums(make_scenario: MakeScenario) -> None:
    sites = SITES.replace(",4,10,", ",2.5,10,").replace("reception,optional", "recepton,maybe")
    text = problems(make_scenario(**{"sites.csv": sites}))
    assert "column 'counters', row 2: not a whole number (value '2.5')" in text
    assert "column 'kind', row 3: not an allowed value; did you mean 'reception'?" in text
    assert "column 'status', row 3: not an allowed value (value 'maybe')" in text


def test_duplicate_ids(make_scenario: MakeScenario) -> None:
    text = problems(make_scenario(**{"demand.csv": DEMAND.replace("d3,", "d1,")}))
    assert "demand.csv, column 'id', row 4: duplicate id (first used on row 2) (value 'd1')" in text


def test_dangling_references(make_scenario: MakeScenario) -> None:
    text = problems(make_scenario(**{
        "staff.csv": STAFF.replace("p2,Trần Văn Bình,s2", "p2,Trần Văn Bình,s9"),
        "workload.csv": WORKLOAD.replace("2026-11-17,s2", "2026-11-17,S2"),
    }))
    assert "staff.csv, column 'home_site', row 3: refers to an id that is not in sites.csv" in text
    assert "(value 's9')" in text
    assert "workload.csv, column 'site_id', row 4" in text


def test_coordinates_outside_vietnam_and_swapped(make_scenario: MakeScenario) -> None:
    demand = DEMAND.replace("107.10,21.30", "21.30,107.10").replace("107.12,21.31", "2.35,48.85")
    text = problems(make_scenario(**{"demand.csv": demand}))
    assert "demand.csv, column 'lon/lat', row 2: lon and lat look swapped" in text
    assert "row 3: point is outside Vietnam (value 'lon=2.35, lat=48.85')" in text


def test_empty_files_and_header_only(make_scenario: MakeScenario) -> None:
    text = problems(make_scenario(**{"demand.csv": "", "sites.csv": SITES.splitlines()[0] + "\n"}))
    assert "demand.csv: file is empty" in text
    assert "sites.csv: file has a header but no data rows" in text


def test_bad_encoding_is_named(make_scenario: MakeScenario) -> None:
    latin = DEMAND.encode("utf-8").replace("Nà Pàn".encode(), "Nà Pàn".encode("cp1258"))
    text = problems(make_scenario(**{"demand.csv": latin}))
    assert "demand.csv, row 2: is not valid UTF-8" in text
    assert "CSV UTF-8" in text


def test_bom_is_accepted_and_names_round_trip(make_scenario: MakeScenario, tmp_path: Path) -> None:
    s = load_scenario(make_scenario(**{"demand.csv": b"\xef\xbb\xbf" + DEMAND.encode()}))
    assert s.demand.loc[0, "name"] == "Thôn Nà Pàn"
    out = save_scenario(s, tmp_path / "copy")
    again = load_scenario(out)
    assert again.demand.loc[2, "name"] == "Phường Ánh Sáng"
    assert s.equals(again)


def test_toml_unknown_keys_types_and_values(make_scenario: MakeScenario) -> None:
    toml = TOML.replace("max_minutes = 30", "max_minute = 30").replace(
        'rule = "either"', 'rule = "any"\nmax_km = "five"'.replace("max_km", "km_measure")
    ) + '\n[travel]\nmode = "bicycle"\ncircuity = -1\n'
    text = problems(make_scenario(**{"scenario.toml": toml}))
    assert "unknown key 'max_minute' in [coverage]; did you mean 'max_minutes'?" in text
    assert "[coverage] rule: not an allowed value (value 'any'); expected one of either, both" in text
    assert "[travel] mode: not an allowed value" in text
    assert "[travel] circuity: must be positive (value -1.0)" in text


def test_toml_syntax_error(make_scenario: MakeScenario) -> None:
    text = problems(make_scenario(**{"scenario.toml": "name = 'x\n"}))
    assert "scenario.toml: not valid TOML" in text


def test_crs_must_be_metric_and_cover_vietnam(make_scenario: MakeScenario) -> None:
    text = problems(make_scenario(**{"scenario.toml": TOML.replace("EPSG:32648", "EPSG:4326")}))
    assert "crs: must be a projected (metric) CRS" in text
    text = problems(make_scenario(**{"scenario.toml": TOML.replace("EPSG:32648", "EPSG:27700")}))
    assert "does not include Vietnam" in text


def test_vector_file_with_mismatched_crs(make_scenario: MakeScenario) -> None:
    # lon/lat degrees written into a file that claims UTM 48N: lands in the Gulf of Guinea
    gdf = gpd.GeoDataFrame(
        {"id": ["a"], "name": ["Xã A"], "population": [100]},
        geometry=[Polygon([(107.1, 21.3), (107.2, 21.3), (107.2, 21.4)])],
        crs="EPSG:32648",
    )
    folder = make_scenario(**{"scenario.toml": TOML.replace("demand.csv", "demand.geojson")})
    gdf.to_file(folder / "demand.geojson", driver="GeoJSON")
    text = problems(folder)
    assert "demand.geojson: geometries fall outside Vietnam after reading them in its declared CRS" in text


def test_vector_without_crs_in_degrees_warns(make_scenario: MakeScenario) -> None:
    folder = make_scenario(**{"scenario.toml": TOML.replace("demand.csv", "demand.gpkg")})
    gdf = gpd.GeoDataFrame({"id": ["a"], "name": ["Xã A"], "population": [10]},
                           geometry=gpd.points_from_xy([107.1], [21.3]), crs=None)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gdf.to_file(folder / "demand.gpkg", driver="GPKG")
    with pytest.warns(ScenarioWarning, match="assumed WGS84"):
        s = load_scenario(folder)
    assert s.demand.geometry.iloc[0].x == pytest.approx(107.1)


def test_vector_without_crs_in_metres_is_an_error(make_scenario: MakeScenario) -> None:
    folder = make_scenario(**{"scenario.toml": TOML.replace("demand.csv", "demand.gpkg")})
    gdf = gpd.GeoDataFrame({"id": ["a"], "name": ["Xã A"], "population": [10]},
                           geometry=gpd.points_from_xy([720000.0], [2357000.0]), crs=None)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gdf.to_file(folder / "demand.gpkg", driver="GPKG")
    assert "demand.gpkg: file has no CRS and its coordinates are not degrees" in problems(folder)


def test_unused_column_is_a_warning_saying_what_happened(make_scenario: MakeScenario) -> None:
    demand = DEMAND.replace("commune_name\n", "commune_name,ghi_chu\n").replace(
        "Xã Đầm Hà\n", "Xã Đầm Hà,x\n")
    with pytest.warns(ScenarioWarning, match="column 'ghi_chu' is not used by motcua and was ignored"):
        s = load_scenario(make_scenario(**{"demand.csv": demand}))
    assert "ghi_chu" not in s.demand.columns
    assert len(s.warnings) == 1


def test_every_problem_is_reported_at_once(make_scenario: MakeScenario) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(make_scenario(**{
            "demand.csv": DEMAND.replace("1200", "-1"),
            "staff.csv": STAFF.replace("land;justice", "land;cooking"),
            "workload.csv": WORKLOAD.replace("2026-11-16,s1,land,in_person,12", "16/11/2026,s1,land,walk-in,12"),
        }))
    files = {p.file for p in info.value.problems}
    assert files == {"demand.csv", "staff.csv", "workload.csv"}
    assert len(info.value.problems) == 4
    text = str(info.value)
    assert "staff.csv, column 'skills', row 2: not an allowed item (value 'cooking')" in text
    assert "workload.csv, column 'date', row 2: not a date (value '16/11/2026')" in text
    assert "workload.csv, column 'channel', row 2: not an allowed value" in text


def test_missing_files_and_folder(make_scenario: MakeScenario, tmp_path: Path) -> None:
    text = problems(make_scenario(**{"sites.csv": None}))
    assert "sites.csv: file not found" in text
    with pytest.raises(ScenarioError, match="scenario folder not found"):
        load_scenario(tmp_path / "nothing")


def test_round_trip_is_exact(make_scenario: MakeScenario, tmp_path: Path) -> None:
    s = load_scenario(make_scenario())
    again = load_scenario(save_scenario(s, tmp_path / "out"))
    assert s.equals(again)
    twice = load_scenario(save_scenario(again, tmp_path / "out"))  # overwrite in place
    assert again.equals(twice)
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())  # no temp left


def test_polygon_demand_round_trip(make_scenario: MakeScenario, tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"id": ["a", "b"], "name": ["Phường Hàng Bạc", "Phường Lý Thái Tổ"], "population": [9000, 7000],
         "commune_code": ["00037", "00040"]},
        # near the fixture's sites (Quảng Ninh): a site 100 km off the demand is now warned
        geometry=[Polygon([(107.10, 21.30), (107.12, 21.30), (107.12, 21.31)]),
                  Polygon([(107.18, 21.34), (107.20, 21.34), (107.20, 21.36)])],
        crs="EPSG:4326",
    )
    folder = make_scenario(**{"scenario.toml": TOML.replace("demand.csv", "demand.gpkg")})
    gdf.to_file(folder / "demand.gpkg", driver="GPKG")
    s = load_scenario(folder)
    assert set(s.demand.geometry.geom_type) == {"Polygon"}
    again = load_scenario(save_scenario(s, tmp_path / "poly"))
    assert s.equals(again)


def test_failed_save_keeps_previous_folder(make_scenario: MakeScenario, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_scenario(make_scenario())
    target = save_scenario(s, tmp_path / "keep")
    before = (target / "sites.csv").read_bytes()

    def boom(*args: object, **kwargs: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr("geodata.scenario.tomli_w.dumps", boom)
    with pytest.raises(OSError, match="disk full"):
        save_scenario(s, target)
    assert (target / "sites.csv").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".keep")] == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_scenario(target).equals(s)
