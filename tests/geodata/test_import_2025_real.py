"""Every 2025 province imports: Phú Thọ, Quảng Ninh and Hà Nội from ../shared/data.

The 2025 communes get their population from the 2019 census wards by areal
interpolation; expected totals are read independently from the source files.
Coarse grids (3 km) keep each import well under a minute.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geodata.finer import FinerUnits
from geodata.importer import BoundarySource, ImportRequest, ImportResult, import_scenario
from tests.conftest import COMMUNES_2025, GADM_WARDS, TARGETS_2025

pytestmark = pytest.mark.shared_data



def _import(shared_data: Path, tmp: Path, province: str, **boundary: str) -> ImportResult:
    request = ImportRequest(
        name=province,
        boundaries=BoundarySource(str(shared_data / COMMUNES_2025),
                                  filters=(("province_name", province),), **boundary),  # type: ignore[arg-type]
        finer_units=FinerUnits(str(shared_data / GADM_WARDS), layer="wards",
                               population_column="pop2019"),
        cell_m=3000.0, cache_dir=tmp / "cache")
    return import_scenario(request, tmp / "out")


def _check_conserved(result: ImportResult) -> None:
    fin = result.provenance["finer_units"]
    # every ward's persons are either in a commune of the province or outside it
    assert (fin["interpolated_persons"] + fin["persons_in_other_communes"]
            + fin["persons_outside_communes"]) == fin["persons_in_units"]
    demand = result.scenario.demand
    per_commune = demand.groupby("commune_code")["population"].sum()
    communes = result.communes.set_index("commune_code")["population"]
    assert per_commune.reindex(communes.index).fillna(0).to_numpy() == pytest.approx(
        communes.to_numpy(), abs=0)
    assert int(demand["population"].sum()) == result.population_total
    assert set(demand["zone"]) <= {"urban", "peri_urban", "rural", "mountain"}


def test_phu_tho_2025_imports_with_population_from_the_2019_wards(
        shared_data: Path, tmp_path: Path) -> None:
    # the 2025 targets table lacks 40 Phú Thọ communes; the 2019 wards give all 148
    result = _import(shared_data, tmp_path, "Tỉnh Phú Thọ")
    assert len(result.communes) == 148
    assert (result.communes["population"] > 0).all()
    _check_conserved(result)
    wards = gpd.read_file(shared_data / GADM_WARDS, layer="wards", ignore_geometry=True,
                          where="NAME_1 IN ('PhúThọ', 'VĩnhPhúc', 'HoàBình')")
    old_total = int(wards["pop2019"].sum())
    # the three 2019 provinces became Phú Thọ: only border slivers may differ (< 0.5 %)
    assert abs(result.population_total - old_total) < 0.005 * old_total
    assert (tmp_path / "out" / "communes.geojson").exists()


def test_quang_ninh_2025_keeps_the_table_totals_and_spreads_them_over_the_wards(
        shared_data: Path, tmp_path: Path) -> None:
    result = _import(shared_data, tmp_path, "Tỉnh Quảng Ninh", population_column="pop2019_est",
                     population_table=shared_data / TARGETS_2025,  # type: ignore[arg-type]
                     join_column="ward_code")
    table = pd.read_csv(shared_data / TARGETS_2025, dtype={"ward_code": str})
    table = table[table["province_name"] == "Tỉnh Quảng Ninh"]
    assert result.population_total == int(np.rint(table["pop2019_est"].to_numpy(float)).sum())
    _check_conserved_demand_only(result)


def _check_conserved_demand_only(result: ImportResult) -> None:
    demand = result.scenario.demand
    per_commune = demand.groupby("commune_code")["population"].sum()
    communes = result.communes.set_index("commune_code")["population"]
    assert (per_commune.reindex(communes.index).fillna(0).to_numpy()
            == communes.to_numpy()).all()


def test_ha_noi_2025_imports_with_population_from_the_2019_wards(
        shared_data: Path, tmp_path: Path) -> None:
    result = _import(shared_data, tmp_path, "Thủ Đô Hà Nội")
    assert len(result.communes) == 126
    _check_conserved(result)
    wards = gpd.read_file(shared_data / GADM_WARDS, layer="wards", ignore_geometry=True,
                          where="NAME_1 = 'HàNội'")
    old_total = int(wards["pop2019"].sum())
    assert abs(result.population_total - old_total) < 0.005 * old_total
    # Hà Nội's inner wards are dense: some demand points are urban
    assert (result.scenario.demand["zone"] == "urban").any()


def test_with_roads_the_wards_people_go_where_the_roads_are(shared_data: Path,
                                                            tmp_path: Path) -> None:
    """Finer units and a road network together (central Hà Nội, OSM): each piece (2019 ward
    ∩ 2025 ward) is spread by road length in each 100 m cell, so no one is put in a cell
    without a road (Hoàn Kiếm lake); by area, some are.  Totals are the same."""
    import shapely

    from geodata.demand import road_lines
    from geodata.network import load_graph

    roads = shared_data / "roads/hanoi/hanoi_center.osm"
    results = {}
    for weight in ("roads", "uniform"):
        request = ImportRequest(
            name="Hoàn Kiếm 2025",
            boundaries=BoundarySource(
                str(shared_data / COMMUNES_2025),
                filters=(("ward_name", "Phường Hoàn Kiếm"), ("ward_name", "Phường Cửa Nam"))),
            finer_units=FinerUnits(str(shared_data / GADM_WARDS), layer="wards",
                                   population_column="pop2019"),
            roads=roads, weight=weight, cell_m=100.0, cache_dir=tmp_path / "cache")
        results[weight] = import_scenario(request, tmp_path / weight)
    by_roads, by_area = results["roads"], results["uniform"]
    assert by_roads.provenance["demand"]["weight"] == "roads"
    assert by_roads.population_total == by_area.population_total > 50_000
    _check_conserved(by_roads)
    crs = by_roads.scenario.settings.crs
    lines = road_lines(load_graph(roads), crs)
    tree = shapely.STRtree(lines)

    def road_m_in_cell(result: ImportResult) -> np.ndarray:
        pts = result.scenario.demand.to_crs(crs)
        x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
        x0, y0 = np.floor(x / 100.0) * 100.0, np.floor(y / 100.0) * 100.0
        cells = shapely.box(x0, y0, x0 + 100.0, y0 + 100.0)
        ci, li = tree.query(cells, predicate="intersects")
        lengths = shapely.length(shapely.intersection(cells[ci], lines[li]))
        return np.bincount(ci, weights=lengths, minlength=len(cells))

    assert (road_m_in_cell(by_roads) > 0).all()
    roadless = road_m_in_cell(by_area) == 0
    assert roadless.any()
    assert by_area.scenario.demand["population"].to_numpy()[roadless].sum() > 0
