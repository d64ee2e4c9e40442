"""The whole-country page ("Cả nước") on a real sweep of one province, and its helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from motcua.app import national
from motcua.app.workspace import Workspace
from motcua.placement import PlacementRun
from motcua.sweep import NationalData, SweepSettings, parse_models, run_sweep, write_tables

APP = Path(__file__).resolve().parents[2] / "app.py"

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def sweep_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sweep of Huế (coverage, lscp and which offices can close both ways, coarse
    grid) on an in-process Dask client."""
    from distributed import Client

    out = tmp_path_factory.mktemp("national") / "sweep"
    settings = SweepSettings(models=parse_models("coverage,lscp,closure,closure-cap"), cell_m=5000.0,
                             candidate_cell_m=10000.0, time_limit_s=5.0)
    with Client(processes=False, n_workers=1, threads_per_worker=1,
                dashboard_address=":0") as client:
        result = run_sweep(client, ["Thành Phố Huế"], NationalData.shared(shared_data), settings, out)
    assert result.failed == []
    return out


def test_load_sweep_and_colours(sweep_dir: Path) -> None:
    table = national.load_sweep(sweep_dir)
    assert table["slug"].tolist() == ["hue"] and table["error"].isna().all()
    assert table.geometry.notna().all()
    assert national.coverage_color(0.5) == "#b2182b"
    assert national.coverage_color(0.96) == "#fddbc7"
    assert national.coverage_color(1.0) == "#2166ac"
    assert national.coverage_color(None) == national.NO_DATA_COLOR
    assert national.coverage_color(float("nan")) == national.NO_DATA_COLOR
    with pytest.raises(FileNotFoundError, match="no provinces.gpkg"):
        national.load_sweep(sweep_dir / "provinces")


def test_open_province_copies_runs_once(sweep_dir: Path, workspace: Workspace) -> None:
    ref, ids = national.open_province(workspace, sweep_dir, "hue")
    assert set(ids) == {"coverage", "lscp", "closure", "closure-cap"}
    assert ref is not None and ref.startswith("ws:")
    again_ref, again = national.open_province(workspace, sweep_dir, "hue")
    assert again == ids and again_ref == ref
    assert len(workspace.list_runs("placement")) == 4
    assert len([r for r in workspace.list_scenarios() if r.startswith("ws:")]) == 1
    row = json.loads((sweep_dir / "provinces" / "hue" / "row.json").read_text(encoding="utf-8"))
    run = PlacementRun.load(workspace.run_info(ids["lscp"]).result_dir)
    assert run.figures.open_points == row["lscp_points"]
    closure = PlacementRun.load(workspace.run_info(ids["closure-cap"]).result_dir)
    assert closure.figures.closable_points == row["closure_cap_closable"]
    assert closure.figures.overloaded_points == row["closure_cap_overloaded"] == 0
    assert workspace.scenario_folder(ref).joinpath("scenario.toml").is_file()


def _page(sweep_dir: Path, monkeypatch: pytest.MonkeyPatch, lang: str = "vi") -> AppTest:
    monkeypatch.setenv("MOTCUA_SWEEP", str(sweep_dir))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["page"] = "national"
    if lang != "vi":
        at.query_params["lang"] = lang
    return at.run()


def test_page_shows_map_table_and_opens_placement(sweep_dir: Path, workspace: Workspace,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(sweep_dir, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Cả nước: mọi tỉnh, thành phố"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tỉnh đã tính xong"] == "1 / 1"
    row = pd.read_csv(sweep_dir / "provinces.csv").iloc[0]
    assert metrics["Số điểm cần (giữ điểm hiện có)"] == f"{int(row['lscp_points'])}"
    assert len(at.get("component_instance")) == 1  # the folium map
    assert len(at.dataframe) == 1 and at.dataframe[0].value["name"].tolist() == ["Huế"]
    # which offices can close, both ways, as the sweep's row has it
    shown = at.dataframe[0].value.iloc[0]
    for col in ("closure_closable", "closure_cap_closable"):
        assert shown[col] == row[col], col
    assert row["closure_cap_closable"] <= row["closure_closable"]  # capacities only remove plans
    at.button(key="national_open_place").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Bố trí điểm tiếp nhận"
    picked = at.selectbox(key="placement_pick").value
    assert picked.startswith("sweep-hue-lscp-")
    # the heading is user text, Markdown-escaped: read it back without the escapes
    assert any("lscp (motcua sweep)" in s.value.replace("\\", "") for s in at.subheader)


def test_page_opens_compare_in_english(sweep_dir: Path, workspace: Workspace,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(sweep_dir, monkeypatch, lang="en")
    assert at.title[0].value == "Whole country: every province"
    at.button(key="national_open_compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="cmp_a").value.startswith("sweep-hue-coverage-")
    assert at.selectbox(key="cmp_b").value.startswith("sweep-hue-lscp-")


def test_page_names_failed_provinces(sweep_dir: Path, workspace: Workspace, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sweep_dir, copy)
    row = json.loads((copy / "provinces" / "hue" / "row.json").read_text(encoding="utf-8"))
    failed = {"province": "Tỉnh Lai Châu", "name": "Lai Châu", "slug": "lai-chau",
              "error": "ScenarioError: communes.gpkg, row 7: feature has no geometry <b>x</b>"}
    write_tables(copy, [row, failed])
    at = _page(copy, monkeypatch)
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Tỉnh đã tính xong"] == "1 / 2"
    errors = [e.value for e in at.error]
    assert any("Lai Châu" in e and "feature has no geometry" in e for e in errors)
    # markdown is escaped: the tags are shown, not interpreted
    assert any("\\<b\\>" in e for e in errors)


def test_page_without_sweep_says_how_to_make_one(workspace: Workspace,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTCUA_SWEEP", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["page"] = "national"
    at.run()
    assert not at.exception
    assert any("motcua sweep" in c.value for c in at.code)
