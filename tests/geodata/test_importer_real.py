"""Importing real places from ../shared/data: Hoàn Kiếm (roads), Đầm Hà (no roads), Quảng Ninh 2025.

Expected populations are read independently from the source files with
geopandas/pandas, never typed in, and compared to the person.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.spatial import KDTree

from geodata.coverage import coverage_for_scenario
from geodata.importer import (
    BoundarySource,
    ImportRequest,
    ImportResult,
    existing_site_coverage,
    import_scenario,
)
from geodata.landmass import land_labels, land_masses
from geodata.scenario import load_scenario
from geodata.settings import ZONE_CIRCUITY, ZONE_SPEED_KPH
from tests.conftest import GADM_WARDS, TARGETS_2025, communes_2025

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def hoan_kiem(shared_data: Path, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> ImportResult:
    request = ImportRequest(
        name="Hoàn Kiếm",
        boundaries=BoundarySource(str(shared_data / GADM_WARDS), layer="wards",
                                  filters=(("NAME_1", "Hà Nội"), ("NAME_2", "Hoàn Kiếm")),
                                  population_column="pop2019"),
        roads=shared_data / "roads/hanoi/hanoi_center.osm",
        candidates="grid", candidate_cell_m=1000.0, cache_dir=cache_dir)
    return import_scenario(request, tmp_path_factory.mktemp("hk") / "hoan-kiem")


@pytest.fixture(scope="module")
def dam_ha(shared_data: Path, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> ImportResult:
    request = ImportRequest(
        name="Đầm Hà",
        boundaries=BoundarySource(str(shared_data / GADM_WARDS), layer="wards",
                                  filters=(("NAME_1", "QuảngNinh"), ("NAME_2", "ĐầmHà")),
                                  population_column="pop2019"),
        cache_dir=cache_dir)
    return import_scenario(request, tmp_path_factory.mktemp("dh") / "dam-ha")


def _gadm(shared_data: Path, province: str, district: str) -> gpd.GeoDataFrame:
    g = gpd.read_file(shared_data / GADM_WARDS, layer="wards",
                      where=f"NAME_1 = '{province}' AND NAME_2 = '{district}'")
    return g


# --------------------------------------------------------------------------- Hoàn Kiếm


def test_hoan_kiem_population_conserved_to_the_person(hoan_kiem: ImportResult,
                                                      shared_data: Path) -> None:
    wards = _gadm(shared_data, "HàNội", "HoànKiếm")
    assert len(wards) == 18
    reloaded = load_scenario(hoan_kiem.folder)
    assert reloaded.equals(hoan_kiem.scenario)
    demand = reloaded.demand
    assert int(demand["population"].sum()) == int(wards["pop2019"].sum()) == hoan_kiem.population_total
    assert (demand["population"] == np.round(demand["population"])).all()  # whole persons
    per_ward = demand.groupby("commune_code")["population"].sum()
    expected = wards.set_index("GID_3")["pop2019"]
    pd.testing.assert_series_equal(per_ward.sort_index(), expected.sort_index(),
                                   check_names=False, check_index_type=False)


def test_hoan_kiem_has_roads_sites_and_candidates(hoan_kiem: ImportResult) -> None:
    sc = hoan_kiem.scenario
    assert not hoan_kiem.straight_line_fallback
    assert sc.roads_path is not None and sc.roads_path.name == "hanoi_center.osm"
    assert sc.roads_path.parent == hoan_kiem.folder.resolve()  # copied into the scenario
    assert "straight-line" not in sc.settings.description
    assert sc.settings.crs == "EPSG:32648"
    kinds = sc.sites["kind"].value_counts()
    assert kinds["reception"] == 18  # one per ward
    assert kinds["candidate"] >= 1
    # every candidate is a demand point holding people
    cand = sc.sites[sc.sites["kind"] == "candidate"]
    demand_xy = {(round(p.x, 9), round(p.y, 9)) for p in sc.demand.geometry}
    assert all((round(p.x, 9), round(p.y, 9)) in demand_xy for p in cand.geometry)
    meta = json.loads((hoan_kiem.folder / "import.json").read_text(encoding="utf-8"))
    assert meta["straight_line_fallback"] is False
    assert meta["demand"]["weight"] == "roads"


def test_coverage_runs_on_hoan_kiem(hoan_kiem: ImportResult, cache_dir: Path) -> None:
    cov = coverage_for_scenario(hoan_kiem.scenario, cache_dir=cache_dir)
    assert cov.matrix.method == "network"
    assert cov.matrix.shape == (len(hoan_kiem.scenario.demand), len(hoan_kiem.scenario.sites))
    share = existing_site_coverage(cov)
    assert share.total == hoan_kiem.population_total
    assert share.sites == 18
    # the district is about 5 km2 with a reception point in each ward: everyone is within 5 km
    assert share.share == 1.0


# --------------------------------------------------------------------------- Đầm Hà


def test_dam_ha_without_roads_is_labelled_as_straight_line(dam_ha: ImportResult,
                                                          shared_data: Path) -> None:
    sc = dam_ha.scenario
    wards = _gadm(shared_data, "QuảngNinh", "ĐầmHà")
    assert int(sc.demand["population"].sum()) == int(wards["pop2019"].sum()) == 41_217
    assert dam_ha.straight_line_fallback
    assert sc.settings.files.roads is None and sc.roads_path is None
    assert "straight-line fallback" in sc.settings.description
    meta = json.loads((dam_ha.folder / "import.json").read_text(encoding="utf-8"))
    assert meta["straight_line_fallback"] is True
    assert meta["demand"]["weight"] == "uniform"
    assert (sc.sites["kind"] == "reception").sum() == len(wards) == 10


def test_dam_ha_coverage_by_commune_centres(dam_ha: ImportResult, cache_dir: Path) -> None:
    sc = dam_ha.scenario
    cov = coverage_for_scenario(sc, cache_dir=cache_dir)
    assert cov.matrix.method == "straight-line"
    assert "no road network" in cov.report.label
    share = existing_site_coverage(cov)
    assert "no road network" in share.label
    # independent check: nearest commune centre by straight line, road km = straight km x
    # circuity, both the circuity and the speed of the resident's travel zone
    std = sc.settings.coverage
    d_xy = np.column_stack([sc.projected(sc.demand).geometry.x, sc.projected(sc.demand).geometry.y])
    s_xy = np.column_stack([sc.projected(sc.sites).geometry.x, sc.projected(sc.sites).geometry.y])
    # the district has islands (Cái Chiên): a resident reaches only sites on the same land mass
    parts = land_masses(gpd.read_file(dam_ha.folder / "communes.geojson"), sc.settings.crs)
    assert len(parts) > 1
    d_land, s_land = land_labels(d_xy, parts), land_labels(s_xy, parts)
    straight_km = np.full(len(d_xy), np.inf)
    for label in np.unique(d_land):
        on = s_land == label
        if on.any():
            straight_km[d_land == label] = KDTree(s_xy[on]).query(d_xy[d_land == label])[0] / 1000.0
    zone = sc.demand["zone"].to_numpy()
    assert set(zone) <= set(ZONE_SPEED_KPH)
    road_km = straight_km * np.array([ZONE_CIRCUITY[z] for z in zone])
    minutes = road_km / np.array([ZONE_SPEED_KPH[z] for z in zone]) * 60.0
    covered = (minutes <= std.max_minutes + 1e-9) | (road_km <= std.max_km + 1e-9)
    assert share.covered == pytest.approx(float(sc.demand["population"].to_numpy()[covered].sum()))
    assert share.total == 41_217
    assert 0.0 < share.share <= 1.0


def test_zipped_gadm_with_census_table_gives_the_same_dam_ha(shared_data: Path, cache_dir: Path,
                                                             tmp_path: Path,
                                                             dam_ha: ImportResult) -> None:
    """Another route to the same place: zipped GADM GeoJSON joined to the census CSV."""
    zipped = shared_data / "boundaries/gadm41_VNM_3.json.zip"
    request = ImportRequest(
        name="Đầm Hà (GADM zip + census CSV)",
        boundaries=BoundarySource(f"zip://{zipped}!gadm41_VNM_3.json",
                                  filters=(("GID_2", "VNM.49.5_1"),), population_column="total",
                                  population_table=shared_data / "population/VN_Population_ward.csv",
                                  join_column="GID_3", table_join_column="ward_id"),
        cell_m=1000.0, cache_dir=cache_dir)
    result = import_scenario(request, tmp_path / "dh-zip")
    assert result.population_total == dam_ha.population_total
    per_ward = result.scenario.demand.groupby("commune_code")["population"].sum()
    other = dam_ha.scenario.demand.groupby("commune_code")["population"].sum()
    pd.testing.assert_series_equal(per_ward.sort_index(), other.sort_index(), check_names=False)


# --------------------------------------------------------------------------- 2025 communes


def test_quang_ninh_2025_communes_with_joined_population(shared_data: Path, cache_dir: Path,
                                                         tmp_path: Path) -> None:
    table = pd.read_csv(shared_data / TARGETS_2025, dtype={"ward_code": str})
    qn = table[table["province_name"] == "Tỉnh Quảng Ninh"]
    request = ImportRequest(
        name="Quảng Ninh (2025)",
        boundaries=communes_2025(shared_data, "Tỉnh Quảng Ninh"),
        cell_m=2000.0, cache_dir=cache_dir)
    result = import_scenario(request, tmp_path / "quang-ninh")
    sc = result.scenario
    assert len(result.communes) == len(qn) == 54
    assert int(sc.demand["population"].sum()) == int(qn["pop2019_est"].sum())
    per_commune = sc.demand.groupby("commune_code")["population"].sum()
    expected = qn.set_index("ward_code")["pop2019_est"]
    pd.testing.assert_series_equal(per_commune.sort_index(), expected.sort_index(),
                                   check_names=False)
    # the new commune Đầm Hà (code 06895) keeps its area-weighted 2019 estimate
    assert per_commune["06895"] == float(qn.loc[qn["ward_code"] == "06895", "pop2019_est"].iloc[0])
    assert result.straight_line_fallback
    assert len(sc.sites) == 54


# --------------------------------------------------------------------------- placement


def test_placement_solves_on_imported_hoan_kiem(hoan_kiem: ImportResult, cache_dir: Path) -> None:
    from motcua.placement import PlacementRequest, run_placement
    from optimizer._status import SolveStatus

    sc = hoan_kiem.scenario
    run = run_placement(sc, PlacementRequest(model="lscp", time_limit_s=30, threads=1, seed=0),
                        cache_dir=cache_dir)
    assert run.status is SolveStatus.OPTIMAL
    assert "road network" in run.coverage_label
    assert run.figures.covered_population == pytest.approx(hoan_kiem.population_total)
    # fewest points covering everyone: 1 exactly when some single site covers every demand point
    cov = coverage_for_scenario(sc, cache_dir=cache_dir).matrix.covered
    covers_all = np.asarray(cov.sum(axis=0)).ravel() == cov.shape[0]
    assert (run.figures.open_points == 1) == bool(covers_all.any())


def test_placement_on_dam_ha_says_straight_line_in_the_result(dam_ha: ImportResult,
                                                              cache_dir: Path) -> None:
    from motcua.placement import PlacementRequest, run_placement
    from optimizer._status import SolveStatus

    run = run_placement(dam_ha.scenario, PlacementRequest(model="mclp", p=2, time_limit_s=30,
                                                          threads=1, seed=0), cache_dir=cache_dir)
    assert run.status is SolveStatus.OPTIMAL
    assert "no road network" in run.coverage_label
    assert "no road network" in run.to_json_dict()["coverage_method"]
    assert run.figures.open_points <= 2
    assert 0 < run.figures.covered_population <= dam_ha.population_total
