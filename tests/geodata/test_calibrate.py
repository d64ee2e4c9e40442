"""Demand calibrated from a workload history whose rates are worked out by hand."""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geodata.calibrate import annotate_toml, calibrate_demand, weeks_of_data
from geodata.importer import BoundarySource, ImportRequest, import_scenario
from geodata.scenario import load_scenario
from geodata.summary import summarize_scenario
from motcua.cli import main

UTM48 = "EPSG:32648"
X0, Y0 = 750_000.0, 2_358_000.0

# Two ISO weeks hold data (week 10: 3-4 March 2025, week 12: 17 March); week 11 is missing,
# so the calendar span is 15 days but there are 2 weeks of data.
WORKLOAD = """\
date,site_id,field,channel,dossiers
2025-03-03,rp_06895,land,in_person,30
2025-03-03,rp_06895,land,online,10
2025-03-04,rp_06901,justice,in_person,20
2025-03-17,rp_06901,justice,online,20
2025-03-17,rp_06895,business,online,20
"""
# by hand: 100 dossiers / 2 weeks = 50 a week; x 52 = 2,600 a year for 2,000 residents
# = 1,300.0 per 1,000; in person 30 + 20 = 50 of 100 = 0.5; land 30/40 = 0.75,
# justice 20/40 = 0.5, business 0/20 = 0.0


def _workload() -> pd.DataFrame:
    from io import StringIO

    w = pd.read_csv(StringIO(WORKLOAD))
    w["date"] = pd.to_datetime(w["date"])
    return w


def test_weeks_of_data_count_iso_weeks_present_not_the_span() -> None:
    assert weeks_of_data(_workload()["date"]) == 2
    # Sunday 9 March and Monday 10 March are in different ISO weeks
    assert weeks_of_data(pd.Series(pd.to_datetime(["2025-03-09", "2025-03-10"]))) == 2
    assert weeks_of_data(pd.Series(pd.to_datetime(["2025-03-10", "2025-03-16"]))) == 1
    assert weeks_of_data(pd.Series([], dtype="datetime64[ns]")) == 0


def test_calibration_on_a_workload_with_known_rates() -> None:
    c = calibrate_demand(_workload(), 2000, source="workload.csv")
    assert c is not None
    assert (c.dossiers, c.in_person, c.weeks) == (100, 50, 2)
    assert c.dossiers_per_1000_per_year == 1300.0
    assert c.in_person_share == 0.5
    assert c.in_person_share_by_field == {"land": 0.75, "justice": 0.5, "business": 0.0}
    assert calibrate_demand(_workload().iloc[:0], 2000) is None
    assert calibrate_demand(_workload(), 0) is None


def test_annotate_toml_puts_comments_above_the_section_and_keeps_the_data() -> None:
    text = 'name = "x"\n\n[demand]\nin_person_share = 0.5\n'
    out = annotate_toml(text, "demand", ["# from here"])
    assert out.splitlines()[2:4] == ["# from here", "[demand]"]
    assert tomllib.loads(out) == tomllib.loads(text)


def _communes(tmp_path: Path) -> Path:
    squares = gpd.GeoSeries([box(X0, Y0, X0 + 1000, Y0 + 1000),
                             box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)], crs=UTM48)
    gdf = gpd.GeoDataFrame({"ma_xa": ["06895", "06901"], "ten_xa": ["Xã Tây", "Phường Đông"],
                            "dan_so": [1200.0, 800.0]}, geometry=squares.to_crs("EPSG:4326"),
                           crs="EPSG:4326")
    path = tmp_path / "communes.geojson"
    gdf.to_file(path)
    return path


def test_import_writes_calibrated_demand_with_its_provenance(tmp_path: Path) -> None:
    (tmp_path / "workload.csv").write_text(WORKLOAD, encoding="utf-8")
    request = ImportRequest(
        name="two", boundaries=BoundarySource(str(_communes(tmp_path)), population_column="dan_so",
                                              id_column="ma_xa", name_column="ten_xa"),
        workload=tmp_path / "workload.csv", cell_m=500.0, cache_dir=tmp_path / "cache")
    result = import_scenario(request, tmp_path / "out")
    d = load_scenario(tmp_path / "out").settings.demand
    assert d.dossiers_per_1000_per_year == 1300.0
    assert d.in_person_share == 0.5
    assert d.in_person_share_by_field == {"land": 0.75, "justice": 0.5, "business": 0.0}
    text = (tmp_path / "out" / "scenario.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    at = lines.index("[demand]")
    assert lines[at - 3].startswith("# [demand] calibrated by `motcua import` from workload.csv: "
                                    "100 dossiers in 2 weeks of data")
    assert "2,000 residents = 1300 per 1,000 a year" in lines[at - 2]
    assert lines[at - 1].startswith("# 50 of them in person = 50.0 %")
    assert result.provenance["demand_calibration"]["weeks_of_data"] == 2
    # the summary counts weeks of data too: 100 dossiers / 2 weeks, not / 15 days x 7
    s = summarize_scenario(result.scenario)
    assert (s.dossiers_per_week, s.workload_weeks, s.workload_days) == (50.0, 2, 3)


def test_import_cli_prints_the_calibration(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "workload.csv").write_text(WORKLOAD, encoding="utf-8")
    code = main(["import", "--boundaries", str(_communes(tmp_path)), "--population-column",
                 "dan_so", "--id-column", "ma_xa", "--workload", str(tmp_path / "workload.csv"),
                 "--name", "two", "--out", str(tmp_path / "out"), "--cell-m", "500",
                 "--cache-dir", str(tmp_path / "cache"), "--no-coverage"])
    text = capsys.readouterr().out
    assert code == 0
    assert ("[demand] calibrated: 1300 dossiers per 1,000 residents a year, 50.0 % in person "
            "(from workload.csv: 100 dossiers over 2 weeks of data, 2,000 residents)") in text
    code = main(["validate", str(tmp_path / "out")])
    assert "dossiers: 50 per week over 2 weeks of data (3 days), 50.0 % online" in \
        capsys.readouterr().out
