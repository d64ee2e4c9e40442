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

pytestmark = pytest.mark.shared_data

GADM_WARDS = "boundaries/vn_wards_gadm41_pop2019.gpkg"
COMMUNES_2025 = "admin_2025/vn_communes_2025_sapnhap_targets_fullres.gpkg"
TARGETS_2025 = "admin_2025/targets_communes_2025_pop2019_areaweighted.csv"


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
