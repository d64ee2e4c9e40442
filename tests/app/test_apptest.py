"""The app driven by Streamlit's AppTest (no browser): every page, uploads, language.

Run: ``python -m pytest tests/app/test_apptest.py -q``
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from motcua.workspace import Workspace

APP = Path(__file__).resolve().parents[2] / "app.py"
TINY = Path(__file__).resolve().parent / "data" / "tiny"

#: url path -> title of the page in Vietnamese
PAGES = {"scenario": "Kịch bản", "placement": "Bố trí điểm tiếp nhận",
         "staffing": "Điều phối nhân sự theo tuần", "compare": "So sánh hai kết quả"}


def _app(ref: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["scenario"] = ref
    for k, v in params.items():
        at.query_params[k] = v
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    unexpected = [e.value for e in at.error if "không mong muốn" in e.value or "unexpected" in e.value]
    assert not unexpected, unexpected


def test_scenario_page_shows_summary_in_vietnamese(tiny_ref: str) -> None:
    at = _app(tiny_ref).run()
    _assert_clean(at)
    assert not at.error
    assert at.title[0].value == "Kịch bản"
    m = _metrics(at)
    # tiny scenario: 1000 + 2000 + 1500 + 500 people, 2 communes, 1 branch + 1 reception point
    assert m["Dân số"] == "5.000"
    assert m["Số xã/phường"] == "2"
    assert m["Điểm tiếp nhận"] == "2"
    assert m["Vị trí ứng viên"] == "1"
    assert m["Cán bộ"] == "3"
    assert m["Tỷ lệ trực tuyến"].endswith(" %") and "," in m["Tỷ lệ trực tuyến"]
    assert any("TỔNG HỢP (SYNTHETIC)" in w.value for w in at.warning)
    assert len(at.get("component_instance")) == 1  # the folium map


def test_language_switch_to_english_and_back(tiny_ref: str) -> None:
    at = _app(tiny_ref).run()
    at.radio(key="lang").set_value("en").run()
    _assert_clean(at)
    assert at.title[0].value == "Scenario"
    assert _metrics(at)["Population"] == "5,000"
    assert at.query_params["lang"] == "en"
    at.radio(key="lang").set_value("vi").run()
    assert at.title[0].value == "Kịch bản"
    assert "lang" not in at.query_params


def test_language_from_link(tiny_ref: str) -> None:
    at = _app(tiny_ref, lang="en").run()
    _assert_clean(at)
    assert _metrics(at)["Population"] == "5,000"


def test_broken_upload_shows_named_error_and_keeps_previous(tiny_ref: str, zip_folder: Callable[..., bytes]) -> None:
    at = _app(tiny_ref).run()
    bad_demand = (TINY / "demand.csv").read_text(encoding="utf-8").replace("2000", "-3")
    at.file_uploader(key="upload").upload(
        "broken.zip", zip_folder(TINY, replace={"demand.csv": bad_demand}), "application/zip")
    at.run()
    _assert_clean(at)
    errors = "\n".join(e.value for e in at.error)
    assert "broken.zip" in errors
    assert "demand.csv" in errors and "population" in errors and "row 3" in errors
    assert at.session_state["scenario_ref"] == tiny_ref
    assert _metrics(at)["Dân số"] == "5.000"  # the previous scenario is still shown


def test_upload_without_a_required_file_names_it(tiny_ref: str, zip_folder: Callable[..., bytes]) -> None:
    at = _app(tiny_ref).run()
    at.file_uploader(key="upload").upload(
        "nosites.zip", zip_folder(TINY, drop=("sites.csv",)), "application/zip")
    at.run()
    _assert_clean(at)
    assert "sites.csv" in "\n".join(e.value for e in at.error)
    assert at.session_state["scenario_ref"] == tiny_ref


def test_valid_upload_opens_and_is_kept_in_workspace(
    tiny_ref: str, workspace: Workspace, zip_folder: Callable[..., bytes]
) -> None:
    at = _app(tiny_ref).run()
    toml = (TINY / "scenario.toml").read_text(encoding="utf-8").replace("Xã Nhỏ", "Xã Khác")
    demand = (TINY / "demand.csv").read_text(encoding="utf-8").replace("2000", "3000")
    at.file_uploader(key="upload").upload(
        "other.zip", zip_folder(TINY, replace={"scenario.toml": toml, "demand.csv": demand}),
        "application/zip")
    at.run()
    _assert_clean(at)
    ref = at.session_state["scenario_ref"]
    assert ref != tiny_ref and ref in workspace.list_scenarios()
    assert _metrics(at)["Dân số"] == "6.000"
    assert at.query_params["scenario"] == ref  # a refresh reopens it


def test_zip_with_unsafe_paths_is_refused(tiny_ref: str, tmp_path: Path) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil/scenario.toml", "name = 'x'")
    at = _app(tiny_ref).run()
    at.file_uploader(key="upload").upload("evil.zip", buf.getvalue(), "application/zip")
    at.run()
    _assert_clean(at)
    assert "../evil/scenario.toml" in "\n".join(e.value for e in at.error)
    assert at.session_state["scenario_ref"] == tiny_ref


def test_unknown_scenario_in_link_is_explained(workspace: Workspace) -> None:
    at = _app("ws:does-not-exist").run()
    _assert_clean(at)
    assert any("does-not-exist" in e.value for e in at.error)


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_opens_from_a_link(tiny_ref: str, page: str) -> None:
    at = _app(tiny_ref, page=page).run()
    _assert_clean(at)
    assert at.title[0].value == PAGES[page]
    assert "page" not in at.query_params  # the link was consumed
    assert at.query_params["scenario"] == tiny_ref  # other parameters were kept


def test_map_uses_vendored_leaflet_and_no_cdn(tiny_ref: str) -> None:
    at = _app(tiny_ref).run()
    comp = at.get("component_instance")[0]
    args = json.loads(comp.proto.json_args)
    links = json.dumps(args)
    assert "cdn.jsdelivr" not in links and "cdnjs" not in links and "code.jquery" not in links


def test_staffing_solve_is_saved_shown_and_linkable(tiny_ref: str, workspace: Workspace) -> None:
    at = _app(tiny_ref, page="staffing").run()
    _assert_clean(at)
    assert at.text_input(key="week").value == "2026-W46"  # week after the last day of history
    at.number_input(key="staff_time_limit").set_value(2)
    at.button(key="run_staffing").click().run()
    _assert_clean(at)
    runs = workspace.list_runs("staffing")
    assert len(runs) == 1
    run_id = runs[0].run_id
    assert any(run_id in s.value for s in at.success)
    assert at.query_params["run"] == run_id
    m = _metrics(at)
    status = m["Trạng thái"]
    assert status in ("TỐI ƯU", "KHẢ THI — chưa chứng minh tối ưu")
    if status != "TỐI ƯU":  # a FEASIBLE plan is never called optimal and shows its gap
        assert any("CHƯA được chứng minh" in w.value for w in at.warning)
    assert m["Mức sử dụng cao nhất — trước"].endswith(" %")
    assert len(at.get("vega_lite_chart")) == 2  # before / after heatmaps
    # a fresh session opened from the link shows the same run
    again = _app(tiny_ref, page="staffing", run=run_id).run()
    _assert_clean(again)
    assert again.selectbox(key="staffing_pick").value == run_id


def test_staffing_forecast_edit_is_sent_as_override(tiny_ref: str, workspace: Workspace) -> None:
    at = _app(tiny_ref, page="staffing").run()
    editor_key = f"forecast_{tiny_ref}_2026-W46"
    assert editor_key in at.session_state
    at.session_state[editor_key] = {"edited_rows": {0: {"dossiers": 99.0}}, "added_rows": [],
                                    "deleted_rows": []}
    at.number_input(key="staff_time_limit").set_value(2)
    at.button(key="run_staffing").click().run()
    _assert_clean(at)
    info = workspace.list_runs("staffing")[0]
    assert info.params["forecast_edits"] == 1
    forecast = (info.result_dir / "forecast.csv").read_text(encoding="utf-8")
    assert ",99.0," in forecast


def test_demo_scenario_with_roads(workspace: Workspace, demo_dir: Path) -> None:
    from geodata.scenario import load_scenario
    from motcua.i18n import fmt_int

    people = fmt_int(load_scenario(demo_dir).demand["population"].sum())
    at = AppTest.from_file(str(APP), default_timeout=120).run()  # no link: the demo
    _assert_clean(at)
    assert _metrics(at)["Dân số"] == people
    assert any("SYNTHETIC" in w.value for w in at.warning)
    at.toggle(key="show_roads").set_value(True).run()
    _assert_clean(at)
    args = json.loads(at.get("component_instance")[0].proto.json_args)
    assert "LineString" in json.dumps(args)  # the road lines are on the map
