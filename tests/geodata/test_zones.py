"""Straight-line travel by zone and islands, on a tiny scenario checked by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geodata._errors import ScenarioError
from geodata.coverage import coverage_for_scenario
from geodata.scenario import load_scenario
from geodata.zones import classify_zones

#: The island commune of these scenarios has no office on purpose (that is what they test);
#: the sanity check says so as a warning, which is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:communes.geojson. commune .* has no office")

UTM48 = "EPSG:32648"
X0, Y0 = 750_000.0, 2_358_000.0


def _lonlat(dx: float, dy: float) -> tuple[float, float]:
    p = gpd.GeoSeries.from_xy([X0 + dx], [Y0 + dy], crs=UTM48).to_crs("EPSG:4326")
    return float(p.x.iloc[0]), float(p.y.iloc[0])


def _scenario(tmp_path: Path, toml_extra: str = "", communes: bool = True,
              ferries: str | None = None) -> Path:
    # site S at the origin; A urban 2 km east, B mountain 6 km north, C rural 10 km east,
    # D 4 km south on an island 2 km off the mainland's coast
    points = {"A": (2000, 0, "urban"), "B": (0, 6000, "mountain"), "C": (10000, 0, "rural"),
              "D": (0, -4000, "rural")}
    rows = ["id,name,lon,lat,population,commune_code,commune_name,zone"]
    for pid, (dx, dy, zone) in points.items():
        lon, lat = _lonlat(dx, dy)
        code, name = ("I", "Đảo") if pid == "D" else ("M", "Đất liền")
        rows.append(f"{pid},{pid},{lon:.7f},{lat:.7f},100,{code},{name},{zone}")
    (tmp_path / "demand.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    lon, lat = _lonlat(0, 0)
    (tmp_path / "sites.csv").write_text(
        f"id,name,lon,lat,kind,commune_code\nS,UBND,{lon:.7f},{lat:.7f},reception,M\n",
        encoding="utf-8")
    files = 'demand = "demand.csv"\nsites = "sites.csv"\n'
    if communes:
        polys = gpd.GeoDataFrame(
            {"id": ["M", "I"], "name": ["Đất liền", "Đảo"], "commune_code": ["M", "I"],
             "population": [300, 100]},
            geometry=[box(X0 - 3000, Y0 - 1000, X0 + 12000, Y0 + 8000),
                      box(X0 - 1000, Y0 - 5000, X0 + 1000, Y0 - 3000)], crs=UTM48)
        polys.to_crs("EPSG:4326").to_file(tmp_path / "communes.geojson", driver="GeoJSON")
        files += 'communes = "communes.geojson"\n'
    if ferries is not None:
        (tmp_path / "ferries.csv").write_text(ferries, encoding="utf-8")
        files += 'ferries = "ferries.csv"\n'
    (tmp_path / "scenario.toml").write_text(
        f'name = "zones"\ncrs = "{UTM48}"\n[files]\n{files}{toml_extra}', encoding="utf-8")
    return tmp_path


def _minutes(tmp_path: Path, **kw: Any) -> tuple[dict[str, float], Any]:
    sc = coverage_for_scenario(load_scenario(_scenario(tmp_path, **kw)), use_cache=False)
    dense = sc.matrix.dense_minutes()
    ids = list(sc.matrix.demand_ids)
    return {i: float(dense[ids.index(i), 0]) for i in ids}, sc


def test_trips_are_timed_at_the_speed_and_circuity_of_the_residents_zone(tmp_path: Path) -> None:
    minutes, sc = _minutes(tmp_path)
    # A urban: 2 km x 1.3 = 2.6 km at 20 km/h = 7.8 min; B mountain: 6 x 1.6 = 9.6 km at
    # 20 km/h = 28.8 min; C rural: 10 x 1.4 = 14 km at 35 km/h = 24 min
    assert minutes["A"] == pytest.approx(7.8, abs=1e-3)
    assert minutes["B"] == pytest.approx(28.8, abs=1e-3)
    assert minutes["C"] == pytest.approx(24.0, abs=1e-3)
    km = sc.matrix.km.toarray()[:, 0]
    assert km[:3] == pytest.approx([2.6, 9.6, 14.0], abs=1e-4)
    covered = sc.matrix.covered.toarray()[:, 0]
    assert covered.tolist() == [True, True, True, False]
    assert sc.matrix.label == (
        "straight line by zone (motorbike): urban 20 km/h x 1.3 (1 points), rural 35 km/h "
        "x 1.4 (2 points), mountain 20 km/h x 1.6 (1 points), land masses apart unreachable "
        "(no road network)")


def test_an_island_without_ferry_is_reported_unreachable_by_land(tmp_path: Path) -> None:
    minutes, sc = _minutes(tmp_path)
    # D is 4 km from S in a straight line (11.2 min at rural speed) but across the sea
    assert np.isinf(minutes["D"])
    assert sc.matrix.minutes[3].nnz == 0 and sc.matrix.covered[3].nnz == 0
    assert ("unreachable by land: 1 demand points (100 people) on a land mass with no "
            "existing site (Đảo); add a site there or a ferry link") in sc.report.notes
    # without the commune polygons the island is not known, and D is reached over the sea
    other = tmp_path / "no-communes"
    other.mkdir()
    minutes, _ = _minutes(other, communes=False)
    assert minutes["D"] == pytest.approx(4 * 1.4 / 35 * 60, abs=1e-3)


def test_zone_speeds_and_circuity_are_overridable_in_scenario_toml(tmp_path: Path) -> None:
    extra = "[travel.zone_speed_kph]\nmountain = 15\n[travel.zone_circuity]\nurban = 1.5\n"
    minutes, _ = _minutes(tmp_path, toml_extra=extra)
    # B: 6 x 1.6 = 9.6 km at 15 km/h = 38.4 min, beyond the 30 min cutoff and 5 km: not covered
    assert np.isinf(minutes["B"])
    assert minutes["A"] == pytest.approx(2 * 1.5 / 20 * 60, abs=1e-3)   # 9.0


def test_unknown_zone_or_bad_value_is_named(tmp_path: Path) -> None:
    extra = "[travel.zone_speed_kph]\nhills = 15\n[travel.zone_circuity]\nrural = 0.8\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario(tmp_path, toml_extra=extra))
    text = str(info.value)
    assert "[travel] zone_speed_kph: unknown zone 'hills'" in text
    assert "[travel] zone_circuity.rural: out of range (value 0.8); expected a circuity >= 1" in text


def test_zones_from_density_and_elevation() -> None:
    density = [3000.0, 800.0, 200.0, 50.0]
    assert classify_zones(density).tolist() == ["urban", "peri_urban", "rural", "mountain"]
    # with a DEM: elevation decides mountain, density no longer does
    assert classify_zones(density, [10.0, 500.0, 450.0, 20.0]).tolist() == [
        "urban", "peri_urban", "mountain", "rural"]


def _ferry(crossing: float | str = 15, label: str = "Phà Đảo") -> str:
    # mainland pier 500 m south of S, on the mainland's south coast (y = -1 km); island pier
    # on the island's north coast (y = -3 km), 2.5 km across the water
    (lon1, lat1), (lon2, lat2) = _lonlat(0, -500), _lonlat(0, -3000)
    return ("from_lon,from_lat,to_lon,to_lat,minutes,label\n"
            f"{lon1:.7f},{lat1:.7f},{lon2:.7f},{lat2:.7f},{crossing},\"{label}\"\n")


def test_a_ferry_link_makes_the_island_reachable_at_the_minutes_by_hand(tmp_path: Path) -> None:
    minutes, sc = _minutes(tmp_path, ferries=_ferry(15))
    # D (rural) to the island pier: 1 km x 1.4 at 35 km/h = 2.4 min; crossing 15 min; the
    # mainland pier to S: 0.5 km x 1.4 at 35 km/h = 1.2 min; 18.6 min in all
    assert minutes["D"] == pytest.approx(2.4 + 15 + 1.2, abs=1e-3)
    # km of that trip: the two legs x circuity + the crossing's straight line = 4.6 km
    assert sc.matrix.km.toarray()[3, 0] == pytest.approx(1.5 * 1.4 + 2.5, abs=1e-3)
    assert sc.matrix.covered.toarray()[:, 0].tolist() == [True, True, True, True]
    # the mainland's trips are the straight line still (the ferry is no shortcut for them)
    assert minutes["A"] == pytest.approx(7.8, abs=1e-3)
    assert minutes["C"] == pytest.approx(24.0, abs=1e-3)
    assert sc.matrix.label.endswith("land masses apart unreachable, ferry links: 1 "
                                    "(no road network)")
    assert not any(n.startswith("unreachable by land") for n in sc.report.notes)
    assert any("crosses water only by the 1 ferry links" in n for n in sc.report.notes)


def test_a_slow_ferry_is_beyond_the_standard(tmp_path: Path) -> None:
    # a 40-minute crossing: 43.6 min, beyond the 30-minute cutoff: a ferry trip counts only
    # within the time cutoff, so D is neither timed nor covered (though the trip is 4.6 km)
    minutes, sc = _minutes(tmp_path, ferries=_ferry(40))
    assert np.isinf(minutes["D"])
    assert not sc.matrix.covered.toarray()[3, 0]
    # with a longer cutoff the same trip is timed, and the 5 km clause covers it
    cov = coverage_for_scenario(load_scenario(tmp_path), use_cache=False, cutoff_minutes=60)
    assert cov.matrix.dense_minutes()[3, 0] == pytest.approx(2.4 + 40 + 1.2, abs=1e-3)
    assert cov.matrix.covered.toarray()[3, 0]


def test_two_crossings_reach_a_second_island(tmp_path: Path) -> None:
    # a second island (x in -1..1 km, y in -8..-6 km), joined to the first one (y in -5..-3
    # km) by a 10-minute ferry from (0, -6.2) to (0, -4.8).  E's resident at (0, -7) (rural:
    # 35 km/h x 1.4) rides 0.8 km to the pier (1.92 min), crosses (10 min), rides 1.8 km
    # across the first island to its pier at (0, -3) (4.32 min), crosses to the mainland
    # (15 min) and rides 0.5 km to S (1.2 min): 32.44 min, so the cutoff is 60 here
    (tmp_path / "in").mkdir()
    folder = _scenario(tmp_path / "in", ferries=_ferry(15))
    lon, lat = _lonlat(0, -7000)
    with (folder / "demand.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"E,E,{lon:.7f},{lat:.7f},50,I2,Đảo 2,rural\n")
    polys = gpd.read_file(folder / "communes.geojson")
    extra = gpd.GeoDataFrame({"id": ["I2"], "name": ["Đảo 2"], "commune_code": ["I2"],
                              "population": [50]},
                             geometry=[box(X0 - 1000, Y0 - 8000, X0 + 1000, Y0 - 6000)],
                             crs=UTM48).to_crs("EPSG:4326")
    gpd.GeoDataFrame(pd.concat([polys, extra], ignore_index=True), crs="EPSG:4326").to_file(
        folder / "communes.geojson", driver="GeoJSON")
    (lon1, lat1), (lon2, lat2) = _lonlat(0, -4800), _lonlat(0, -6200)
    with (folder / "ferries.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{lon1:.7f},{lat1:.7f},{lon2:.7f},{lat2:.7f},10,Đảo - Đảo 2\n")
    cov = coverage_for_scenario(load_scenario(folder), use_cache=False, cutoff_minutes=60)
    legs_km = 0.8 + 1.8 + 0.5
    assert cov.matrix.dense_minutes()[4, 0] == pytest.approx(legs_km * 1.4 / 35 * 60 + 25,
                                                            abs=1e-3)
    assert cov.matrix.km.toarray()[4, 0] == pytest.approx(legs_km * 1.4 + 1.4 + 2.5, abs=1e-3)
    assert cov.matrix.dense_minutes()[3, 0] == pytest.approx(18.6, abs=1e-3)  # D as before
    assert not any(n.startswith("unreachable by land") for n in cov.report.notes)


def test_ferry_rows_are_checked_with_file_row_and_column(tmp_path: Path) -> None:
    (lon1, lat1), (lon2, lat2) = _lonlat(0, -500), _lonlat(0, -3000)
    text = ("from_lon,from_lat,to_lon,to_lat,minutes\n"
            f"{lon1:.7f},{lat1:.7f},{lon2:.7f},{lat2:.7f},-5\n"
            f"{lon1:.7f},{lat1:.7f},{lon1:.7f},{lat1:.7f},10\n"
            f"{lon1:.7f},{lat1:.7f},{lat2:.7f},{lon2:.7f},abc\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(_scenario(tmp_path, ferries=text))
    problems = {(p.row, p.column): p for p in info.value.problems}
    assert problems[(2, "minutes")].value in ("-5", -5.0)
    assert "the two ends of the ferry are the same point" in problems[(3, "to_lon/to_lat")].message
    assert "swapped" in problems[(4, "to_lon/to_lat")].message
    assert problems[(4, "minutes")].file == "ferries.csv"


def test_ferries_survive_a_save_and_load(tmp_path: Path) -> None:
    from geodata.scenario import save_scenario

    (tmp_path / "a").mkdir()
    sc = load_scenario(_scenario(tmp_path / "a", ferries=_ferry(12.5, "Phà, Cô Tô")))
    save_scenario(sc, tmp_path / "b")
    again = load_scenario(tmp_path / "b")
    assert again.settings.files.ferries == "ferries.csv"
    assert again.ferries["label"].tolist() == ["Phà, Cô Tô"]
    assert again.ferries["minutes"].tolist() == [12.5]
    assert again.equals(sc)


def test_a_pier_out_at_sea_is_named_and_joins_nothing(tmp_path: Path) -> None:
    # the island end 8 km south of the island (4 km beyond the 2 km snap): no land mass
    (lon1, lat1), (lon2, lat2) = _lonlat(0, -500), _lonlat(0, -13000)
    text = ("from_lon,from_lat,to_lon,to_lat,minutes\n"
            f"{lon1:.7f},{lat1:.7f},{lon2:.7f},{lat2:.7f},15\n")
    minutes, sc = _minutes(tmp_path, ferries=text)
    assert np.isinf(minutes["D"])
    assert ("ferry link row 2: its to pier is more than 2 km from every land mass; it joins "
            "nothing") in sc.report.notes
    assert any(n.startswith("unreachable by land: 1 demand points") for n in sc.report.notes)
