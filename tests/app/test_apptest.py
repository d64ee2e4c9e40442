"""The app driven by Streamlit's AppTest (no browser): every page, uploads, language.

Run: ``python -m pytest tests/app/test_apptest.py -q``
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from motcua.app.i18n import fmt_int
from motcua.app.workspace import RunInfo, Workspace

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


def _shown(markdown: str) -> str:
    """The text a Markdown source shows: user text in messages is backslash-escaped
    (``app_pages._common.md_escape``), and each escaped character shows as itself."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    unexpected = [_shown(e.value) for e in at.error if "không mong muốn" in e.value or "unexpected" in e.value]
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
    errors = "\n".join(_shown(e.value) for e in at.error)
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
    assert "sites.csv" in "\n".join(_shown(e.value) for e in at.error)
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
    assert "../evil/scenario.toml" in "\n".join(_shown(e.value) for e in at.error)
    assert at.session_state["scenario_ref"] == tiny_ref


def test_unknown_scenario_in_link_is_explained(workspace: Workspace) -> None:
    at = _app("ws:does-not-exist").run()
    _assert_clean(at)
    assert any("does-not-exist" in _shown(e.value) for e in at.error)


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
    # the three plans side by side, in Vietnamese, figures from the saved run
    plans = next(df.value for df in at.dataframe
                 if "Hôm nay (hiện trạng)" in df.value.columns)
    assert list(plans.columns) == ["Chỉ tiêu", "Hôm nay (hiện trạng)",
                                   "Chia sẻ hồ sơ trực tuyến", "Kế hoạch điều động"]
    saved = workspace.list_runs("staffing")[0].figures
    overload = plans.set_index("Chỉ tiêu").loc["Số phút quá tải"]
    assert overload["Hôm nay (hiện trạng)"] == fmt_int(saved["overload_min_today"], "vi")
    assert overload["Kế hoạch điều động"] == fmt_int(saved["overload_min_after"], "vi")
    assert len(at.get("vega_lite_chart")) == 2  # before / after heatmaps
    # a fresh session opened from the link shows the same run
    again = _app(tiny_ref, page="staffing", run=run_id).run()
    _assert_clean(again)
    assert again.selectbox(key="staffing_pick").value == run_id


def test_staffing_before_plan_is_exact_even_with_a_tiny_budget(workspace: Workspace) -> None:
    # the "before" (pooled) plan is an exact LP now: even a work budget far too small
    # to prove the moves (0.4 deterministic seconds) leaves it proven, and the page
    # shows no "before not proven" note (it did when "before" was a CP-SAT plan)
    from geodata.scenario import load_scenario
    from motcua.staffing import run_staffing

    scenario = load_scenario(workspace.scenario_folder("demo"))
    cut = run_staffing(scenario, time_limit_s=120, seed=0, threads=1, deterministic_time_s=0.4)
    info = workspace.save_run("staffing", cut.save, label="cut", scenario_ref="demo",
                              scenario_name=scenario.name, synthetic=True, params={},
                              figures=cut.metrics.to_dict(), report=cut.report.to_dict())
    assert cut.metrics.before_proven == 1.0
    note = "chưa chứng minh tối ưu: số liệu “trước” có thể chênh"
    at = _app("demo", page="staffing", run=info.run_id).run()
    _assert_clean(at)
    assert not any(note in cap.value for cap in at.caption)


def test_staffing_forecast_edit_is_sent_as_override(tiny_ref: str, workspace: Workspace) -> None:
    at = _app(tiny_ref, page="staffing").run()
    editor_key = f"forecast_{tiny_ref}_2026-W46"
    assert editor_key in at.session_state
    # the editor shows its headers in words: the dossiers column is "Số hồ sơ"
    at.session_state[editor_key] = {"edited_rows": {0: {"Số hồ sơ": 99.0}}, "added_rows": [],
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
    from motcua.app.i18n import fmt_int

    people = fmt_int(load_scenario(demo_dir).demand["population"].sum())
    at = AppTest.from_file(str(APP), default_timeout=120).run()  # no link: the demo
    _assert_clean(at)
    assert _metrics(at)["Dân số"] == people
    assert any("SYNTHETIC" in w.value for w in at.warning)
    at.toggle(key="show_roads").set_value(True).run()
    _assert_clean(at)
    args = json.loads(at.get("component_instance")[0].proto.json_args)
    assert "LineString" in json.dumps(args)  # the road lines are on the map


def _solve_placement(at: AppTest, model: str, p: int | None = None) -> AppTest:
    at.selectbox(key="model").set_value(model).run()
    if p is not None:
        at.number_input(key="p").set_value(p).run()
    at.number_input(key="place_time_limit").set_value(20).run()
    return at.button(key="run_placement").click().run()


def test_placement_mclp_on_tiny_scenario_matches_hand_optimum(tiny_ref: str, workspace: Workspace) -> None:
    # Within 5 km: s1 (must open) covers d1+d2 = 3000, s2 covers d3 = 1500, s3 covers d4 = 500.
    # Best 2 points: s1 + s2 -> 4500 of 5000 people = 90 %, 500 uncovered, nothing new or closed.
    at = _app(tiny_ref, page="placement").run()
    _assert_clean(at)
    _solve_placement(at, "mclp", 2)
    _assert_clean(at)
    m = _metrics(at)
    assert m["Trạng thái"] == "TỐI ƯU"
    assert m["Tỷ lệ dân được phục vụ"] == "90,0 %"
    assert m["Số dân chưa được phục vụ"] == "500"
    assert m["Số điểm mở"] == "2"
    assert m["Khoảng cách tối ưu (gap)"] == "0,00 %"
    # d4 is uncovered but s3 could reach it: nobody is out of every candidate's reach
    assert not any("sống ở nơi không có vị trí ứng viên" in cap.value for cap in at.caption)
    by_commune = at.dataframe[1].value
    assert by_commune["Số dân chưa được phục vụ"].tolist() == [500]
    assert by_commune["Trong đó không điểm nào tới được"].tolist() == [0]
    # the load table leads with the id and name (issue #17: names beside ids), then the
    # figures; headers and kinds in the page's language
    load = at.dataframe[0].value
    # (names, not ids: people know the names)
    assert load.columns.tolist() == ["Mức sử dụng", "Hồ sơ/ngày", "Công suất (hồ sơ/ngày)", "Tên",
                                     "Loại"]
    assert set(load["Loại"]) <= {"Chi nhánh", "Điểm tiếp nhận xã", "Vị trí ứng viên"}
    runs = workspace.list_runs("placement")
    assert len(runs) == 1 and runs[0].figures["uncovered_population"] == 500
    assert at.query_params["run"] == runs[0].run_id
    # Excel, GeoPackage, GeoJSON, CSV points, CSV demand
    assert len(at.get("download_button")) == 5
    files = {p.name for p in runs[0].result_dir.iterdir()}
    assert {"result.xlsx", "result.gpkg", "sites.geojson", "sites.csv", "demand.csv"} <= files


def test_placement_with_pareto_draws_the_curve(tiny_ref: str, workspace: Workspace) -> None:
    at = _app(tiny_ref, page="placement").run()
    at.checkbox(key="pareto_on").check().run()
    at.number_input(key="pareto_max").set_value(3).run()
    _solve_placement(at, "mclp", 3)
    _assert_clean(at)
    assert _metrics(at)["Tỷ lệ dân được phục vụ"] == "100,0 %"
    charts = [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]
    assert len(charts) == 1
    pareto = (workspace.list_runs("placement")[0].result_dir / "pareto.csv").read_text()
    assert "0.9" in pareto  # p = 2 covers 90 %
    # what each extra point buys: s1 (must open) covers 3,000, then s2 adds d3, s3 adds d4
    table = next(d.value for d in at.dataframe if "Số dân thêm nhờ điểm này" in d.value)
    assert table["Số điểm tiếp nhận"].tolist() == [1, 2, 3]
    assert table["Số dân thêm nhờ điểm này"].tolist() == ["–", "+1.500", "+500"]
    assert table["Tỷ lệ dân được phục vụ"].tolist() == ["60,0 %", "90,0 %", "100,0 %"]


def test_number_boxes_read_the_vietnamese_way(tiny_ref: str, workspace: Workspace) -> None:
    """In Vietnamese a decimal is shown and typed with a comma (7,5 km) and thousands with a
    dot (1.000); a text that is not such a number is named under its box and the run is
    refused until it is corrected. English keeps Streamlit's number inputs."""
    at = _app(tiny_ref, page="placement").run()
    assert at.text_input(key="km_vi").value == "5,0"  # the scenario's 5 km
    assert at.text_input(key="minutes_vi").value == "30"
    at.text_input(key="km_vi").set_value("7.5").run()  # a dot is a thousands separator here
    errors = [_shown(e.value) for e in at.error]
    assert any(e.startswith("«7.5» không phải là một số: hãy viết như 1.234,5") for e in errors), errors
    before = len(workspace.list_runs("placement"))
    _solve_placement(at, "lscp")
    assert len(workspace.list_runs("placement")) == before  # refused, nothing solved
    assert any("Chưa chạy: hãy sửa các ô số Khoảng cách tối đa (km)" in _shown(e.value)
               for e in at.error)
    at.text_input(key="km_vi").set_value("250").run()
    assert any("250 nằm ngoài khoảng cho phép: từ 0,5 đến 100,0" in _shown(e.value) for e in at.error)
    at.text_input(key="km_vi").set_value("7,5").run()
    at.text_input(key="minutes_vi").set_value("22,5").run()
    _solve_placement(at, "lscp")
    _assert_clean(at)
    assert not at.error
    run = workspace.list_runs("placement")[0]
    assert run.params["km"] == 7.5 and run.params["minutes"] == 22.5
    at.selectbox(key="model").set_value("closure").run()
    at.text_input(key="max_loss_vi").set_value("1.000").run()
    at.button(key="run_placement").click().run()
    _assert_clean(at)
    assert workspace.list_runs("placement")[0].params["max_loss"] == 1000.0

    en = _app(tiny_ref, page="placement", lang="en").run()
    assert en.number_input(key="km").value == 5.0
    assert not any(w.key == "km_vi" for w in en.text_input)


def _mclp_at_20_km(ref: str, workspace: Workspace, option: str, p: int) -> tuple[AppTest, RunInfo]:
    """MCLP with ``p`` points at 20 km with the form's ``option`` checkbox ticked; the run."""
    at = _app(ref, page="placement").run()
    at.text_input(key="km_vi").set_value("20").run()  # Vietnamese: a text box
    at.selectbox(key="model").set_value("mclp").run()
    at.checkbox(key=option).check().run()
    _solve_placement(at, "mclp", p)
    _assert_clean(at)
    return at, workspace.list_runs("placement")[0]


def test_placement_backup_weighting_seed_and_threads_reach_the_solver(
        tiny_ref: str, workspace: Workspace) -> None:
    # Within 20 km AND 30 min (straight line x 1.3 at 30 km/h: 11.5 km): s1 reaches d1, d2,
    # d3; s2 reaches d2, d3, d4; s3 reaches d3, d4. With s1 open and p = 2, backup picks
    # s2: d2 + d3 = 3,500 of 5,000 people within reach of two points (s3: d3 = 1,500).
    at, run = _mclp_at_20_km(tiny_ref, workspace, "backup", 2)
    assert run.params["backup"] is True and run.params["weighting"] == "population"
    assert run.figures["double_covered_population"] == 3500
    assert _metrics(at)["Trạng thái"] == "TỐI ƯU"
    assert any("3.500 người (70,0 %)" in cap.value for cap in at.caption)
    assert any(cap.value == "Giá trị mục tiêu là số người trong chuẩn của hai điểm mở trở lên."
               for cap in at.caption)
    assert not any("hồ sơ nộp trực tiếp" in cap.value for cap in at.caption)
    # in-person dossiers, seed 7 and 2 threads: used, saved with the result and said
    at.checkbox(key="backup").uncheck().run()
    at.radio(key="weighting").set_value("in_person").run()
    at.number_input(key="place_seed").set_value(7).run()
    at.selectbox(key="place_threads").set_value(2).run()
    at.button(key="run_placement").click().run()
    _assert_clean(at)
    runs = workspace.list_runs("placement")  # newest first, but two may share a second
    assert len(runs) == 2
    newest = next(r for r in runs if r.run_id != run.run_id)
    assert (newest.params["weighting"], newest.params["seed"], newest.params["threads"]) == (
        "in_person", 7, 2)
    assert newest.params["backup"] is False
    assert newest.figures["weights"] == "in-person dossiers per day"
    assert (newest.report["seed"], newest.report["threads"]) == (7, 2)
    assert any("hồ sơ nộp trực tiếp" in cap.value for cap in at.caption)
    # capacities count dossiers whatever the radio says; single assignment goes with them
    at.radio(key="weighting").set_value("population").run()
    at.checkbox(key="capacitated").check().run()
    at.checkbox(key="single_assignment").check().run()
    at.button(key="run_placement").click().run()
    _assert_clean(at)
    runs = workspace.list_runs("placement")
    assert len(runs) == 3
    cap_run = next(r for r in runs if r.run_id not in (run.run_id, newest.run_id))
    assert cap_run.params["overload_penalty"] is None  # 0 on the form: hard capacities
    assert cap_run.params["capacitated"] is True and cap_run.params["single_assignment"] is True
    assert cap_run.params["weighting"] == "in_person"


def test_placement_lexicographic_from_the_form(tiny_ref: str, workspace: Workspace) -> None:
    # as in the CLI test: with 3 points allowed at 20 km, s1 + s2 cover all 5,000 people,
    # so the fewest points is 2 and the third is not opened
    at, run = _mclp_at_20_km(tiny_ref, workspace, "lexicographic", 3)
    assert run.params["lexicographic"] is True and run.params["backup"] is False
    m = _metrics(at)
    assert m["Trạng thái"] == "TỐI ƯU" and m["Số điểm mở"] == "2"
    assert m["Tỷ lệ dân được phục vụ"] == "100,0 %"
    assert run.label.endswith("ít điểm, đi gần")
    assert any(cap.value.startswith("Giá trị mục tiêu là tổng số phút đi có trọng số theo người")
               for cap in at.caption)


def test_overload_penalty_from_the_form(workspace: Workspace, tmp_path: Path) -> None:
    # the tiny scenario with s1 taking 0.1 dossiers a day: hard capacities leave no plan,
    # a penalty of 2 per dossier a day over capacity gives 3 points + 2 x (2.885 - 0.1)
    import shutil

    folder = tmp_path / "tinycap"
    shutil.copytree(TINY, folder)
    sites = (folder / "sites.csv").read_text(encoding="utf-8").splitlines()
    sites = [sites[0] + ",capacity_per_day"] + [
        line + ("," + ("0.1" if line.startswith("s1,") else "100")) for line in sites[1:]]
    (folder / "sites.csv").write_text("\n".join(sites) + "\n", encoding="utf-8")
    ref = workspace.add_scenario(folder, "tinycap")
    at = _app(ref, page="placement").run()
    # without capacities: s1 takes 29 times its capacity, and the page says so and how to avoid it
    _solve_placement(at, "lscp")
    _assert_clean(at)
    assert [w.value for w in at.warning if "công suất" in w.value] == [
        'Điểm mở nhận nhiều hồ sơ hơn công suất: 1 (mức sử dụng cao nhất 2.885 %). Lần chạy này '
        'không tính công suất; chọn "Tính công suất điểm tiếp nhận" để giữ mọi điểm trong công suất.']
    at.checkbox(key="capacitated").check().run()
    _solve_placement(at, "lscp")
    _assert_clean(at)
    assert _metrics(at)["Trạng thái"] == "VÔ NGHIỆM"  # INFEASIBLE
    at.text_input(key="overload_penalty_vi").set_value("2,0").run()
    at.button(key="run_placement").click().run()
    _assert_clean(at)
    m = _metrics(at)
    assert m["Trạng thái"] == "TỐI ƯU" and m["Giá trị mục tiêu"] == "8,57"
    runs = workspace.list_runs("placement")
    assert sorted(r.params["overload_penalty"] or 0 for r in runs) == [0, 0, 2.0]
    # capacities modelled: the overload is priced and shown, no warning about modelling
    assert not [w.value for w in at.warning if "không tính công suất" in w.value]


def test_keep_open_and_close_from_the_form(tiny_ref: str, workspace: Workspace) -> None:
    # closing s2 for this run leaves d3 (1,500 people) out of reach; s2 counts as closed
    at = _app(tiny_ref, page="placement").run()
    at.multiselect(key="close_sites").select("s2").run()
    _solve_placement(at, "lscp")
    _assert_clean(at)
    run = workspace.list_runs("placement")[0]
    assert run.params["close"] == ["s2"] and run.params["keep_open"] == []
    assert run.figures["uncoverable_population"] == 1500 and run.figures["closed_points"] == 1
    assert _metrics(at)["Số dân chưa được phục vụ"] == "1.500"
    # the app says who no candidate can reach, as the command line does, and where
    assert any("1.500 người (30,0 %) sống ở nơi không có vị trí ứng viên" in cap.value
               for cap in at.caption)
    by_commune = at.dataframe[1].value
    assert by_commune["Trong đó không điểm nào tới được"].sum() == 1500
    assert (by_commune["Trong đó không điểm nào tới được"] == by_commune["Số dân chưa được phục vụ"]).all()
    # a site kept open is no longer offered for closing
    at.multiselect(key="keep_open").select("s3").run()
    offered = at.multiselect(key="close_sites").options
    # labelled by name first, the id after it (people know the names)
    assert offered == ["Chi nhánh 1 (s1)", "Điểm xã B (s2)"]


def test_pmedian_covered_share_floor_from_the_form(tiny_ref: str, workspace: Workspace) -> None:
    # two points cover at most 90 % of the tiny scenario at 5 km: a 95 % floor is
    # infeasible, and the page says so in words, without a traceback
    at = _app(tiny_ref, page="placement").run()
    at.selectbox(key="model").set_value("pmedian").run()
    at.text_input(key="min_covered_vi").set_value("95").run()
    _solve_placement(at, "pmedian", 2)
    _assert_clean(at)
    run = workspace.list_runs("placement")[0]
    assert run.params["min_covered_pct"] == 95.0
    assert run.report["status"] == "INFEASIBLE"
    assert "cannot cover 95 % of the weight" in run.report["message"]
    assert any("cannot cover 95 % of the weight" in _shown(e.value) for e in at.error)


def test_pcenter_ignores_the_capacity_option_pmedian_uses(tiny_ref: str, workspace: Workspace) -> None:
    at = _app(tiny_ref, page="placement").run()
    at.checkbox(key="capacitated").check().run()
    _solve_placement(at, "pcenter", 3)
    _assert_clean(at)
    run = workspace.list_runs("placement")[0]
    assert run.params["model"] == "pcenter" and run.params["capacitated"] is False
    assert _metrics(at)["Tỷ lệ dân được phục vụ"] == "100,0 %"  # 3 points reach everyone
    # the capacitated p-median (issue #16): the checkbox shows and the run keeps it
    at.selectbox(key="model").set_value("pmedian").run()
    at.checkbox(key="capacitated").check().run()
    _solve_placement(at, "pmedian", 3)
    _assert_clean(at)
    run = next(r for r in workspace.list_runs("placement") if r.params["model"] == "pmedian")
    assert run.params["capacitated"] is True and run.report["status"] in ("OPTIMAL", "FEASIBLE")


def test_compare_two_placements_from_a_link(tiny_ref: str, workspace: Workspace) -> None:
    at = _app(tiny_ref, page="placement").run()
    _solve_placement(at, "mclp", 2)
    _solve_placement(at, "mclp", 3)
    runs = workspace.list_runs("placement")
    assert len(runs) == 2
    by_p = {r.params["p"]: r.run_id for r in runs}
    cmp = _app(tiny_ref, page="compare", a=by_p[2], b=by_p[3]).run()
    _assert_clean(cmp)
    assert cmp.title[0].value == "So sánh hai kết quả"
    assert cmp.query_params["a"] == by_p[2] and cmp.query_params["b"] == by_p[3]
    m = _metrics(cmp)
    assert m["Dân mới được phục vụ"] == "500"  # d4, reached by the new point s3
    assert m["Dân mất phục vụ"] == "0"
    assert m["Điểm mở thêm"] == "1" and m["Điểm đóng lại"] == "0"
    table = cmp.dataframe[0].value
    row = table[table["Chỉ tiêu"] == "Tỷ lệ dân được phục vụ"].iloc[0]
    assert (row["A"], row["B"], row["Chênh lệch (B − A)"]) == ("90,0 %", "100,0 %", "+10,0 điểm %")
    # within 5 km every village is near one point only: no one is covered twice
    twice = table[table["Chỉ tiêu"] == "Dân trong chuẩn của hai điểm trở lên"].iloc[0]
    assert (twice["A"], twice["B"]) == ("0", "0")
    # the one setting that differs is the number of points
    settings = cmp.dataframe[1].value
    # (named in words: it was the raw field name "p")
    assert settings.to_dict("records") == [{"Thiết lập": "Số điểm", "A": "2", "B": "3"}]
    assert len(cmp.get("component_instance")) == 3  # A, B and the map of changes
    assert f"a={by_p[2]}&b={by_p[3]}" in cmp.code[0].value


def test_compare_needs_two_results_and_explains_unknown_ids(tiny_ref: str) -> None:
    at = _app(tiny_ref, page="compare", a="nope-1", b="nope-2").run()
    _assert_clean(at)
    assert any("nope-1" in _shown(e.value) for e in at.error)
    assert at.info and "ít nhất hai" in at.info[0].value


def test_placement_form_shows_what_the_command_line_accepts(tiny_ref: str) -> None:
    """The app's placement form and ``motcua place`` share one rule of which options
    combine: for each state of the form, an option's widget is shown exactly when
    the command line's check (``PlacementRequest.check``) accepts that option there
    (it was disabled, not hidden, before the form was made compact)."""
    from motcua.placement import MODELS, PlacementRequest

    def refused(req: PlacementRequest) -> bool:
        try:
            req.check()
        except ValueError:
            return True
        return False

    #: widget (kind, key) -> request field set to a usable value when the widget is on
    widgets = {("checkbox", "capacitated"): ("capacitated", True),
               ("checkbox", "single_assignment"): ("single_assignment", True),
               ("text_input", "overload_penalty_vi"): ("overload_penalty", 2.0),
               ("text_input", "min_covered_vi"): ("min_covered_pct", 50.0),
               ("checkbox", "backup"): ("backup", True),
               ("checkbox", "lexicographic"): ("lexicographic", True),
               ("selectbox", "keep_existing"): ("keep_existing", "all"),
               ("text_input", "max_loss_vi"): ("max_loss", 100.0)}

    def shown(kind: str, key: str) -> bool:
        return any(w.key == key for w in getattr(at, kind))

    def put(kind: str, key: str, value: object) -> None:
        if not shown(kind, key):  # the page never asks to change a hidden widget
            assert value is False or value == "points", (key, value)
            return
        widget = getattr(at, kind)(key=key)
        if widget.value != value:
            widget.set_value(value).run()

    at = _app(tiny_ref, page="placement").run()
    checked = 0
    for model in MODELS:
        at.selectbox(key="model").set_value(model).run()
        budget_on = shown("radio", "limit_by")
        # the radio 'limit by budget' is on exactly where a budget is accepted
        assert budget_on == (not refused(PlacementRequest(model=model, budget=5.0)))
        # the number of points likewise
        assert (not shown("number_input", "p")) == refused(PlacementRequest(model=model, p=3))
        for limit in ("points", "budget") if budget_on else ("points",):
            if budget_on:
                put("radio", "limit_by", limit)
            states = [(False, False)]
            if shown("checkbox", "capacitated"):
                states.append((True, False))
            if shown("checkbox", "backup"):
                states.append((False, True))
            for capacitated, backup in states:
                put("checkbox", "capacitated", capacitated)
                put("checkbox", "backup", backup)
                _assert_clean(at)
                state = PlacementRequest(
                    model=model,
                    p=3 if model not in ("lscp", "closure") and limit == "points" else None,
                    budget=5.0 if limit == "budget" else None,
                    capacitated=capacitated, backup=backup)
                assert not refused(state), state
                for (kind, key), (field, value) in widgets.items():
                    if field in ("capacitated", "backup") and getattr(state, field):
                        continue  # the widget that set this state
                    if field == "capacitated" and backup:
                        # the form settles a conflict by its order: capacities, above,
                        # stay on offer and turn backup (below) off when chosen
                        continue
                    hidden = not shown(kind, key)
                    assert hidden == refused(replace(state, **{field: value})), (state, key)
                    checked += 1
                assert (not shown("radio", "weighting")) == (not state.option_applies("weighting"))
                if limit == "points":
                    # N new points take the place of the number of points (the form
                    # hides that one where N does not apply)
                    assert (not shown("number_input", "add_points")) == refused(
                        replace(state, p=None, add=2)), state
                    checked += 1
            put("checkbox", "capacitated", False)
            put("checkbox", "backup", False)
        if budget_on:
            put("radio", "limit_by", "points")
    assert checked >= 40


def test_placement_keep_existing_and_closure_from_the_form(tiny_ref: str,
                                                           workspace: Workspace) -> None:
    """Issue #17: 'Keep existing offices' and the Closure model are one control each, and the
    answer is shown in one sentence in the page's language."""
    at = _app(tiny_ref, page="placement").run()
    # the first screen points to keeping the existing offices
    assert any("Giữ nguyên các điểm tiếp nhận hiện có" in i.value for i in at.info)
    at.selectbox(key="keep_existing").set_value("all").run()
    _solve_placement(at, "lscp")
    _assert_clean(at)
    # s1 and s2 kept, d4 (500 people) needs the candidate s3: one new point
    assert _metrics(at)["Số điểm mở"] == "3"
    answer = ("Giữ nguyên 2 điểm hiện có, cần ít nhất 1 điểm mới để mọi người tiếp cận được "
              "đều trong chuẩn: 5.000 người được phục vụ (100,0 %), so với 4.500 (90,0 %) chỉ "
              "với các điểm hiện có.")
    assert answer in [_shown(i.value) for i in at.info]
    run = workspace.list_runs("placement")[0]
    assert run.params["keep_existing"] == "all"
    assert run.params["elapsed_s"] > 0  # the time from the click, shown on the page
    assert "Thời gian từ khi bấm Chạy" in _metrics(at)
    # closure: s1 must stay open and s2 is the only office within reach of d3
    at.selectbox(key="model").set_value("closure").run()
    # shown only where the model uses them
    assert not any(w.key == "keep_existing" for w in at.selectbox)
    assert any(w.key == "max_loss_vi" for w in at.text_input)
    assert not any(w.key == "add_points" for w in at.number_input)
    at.button(key="run_placement").click().run()
    _assert_clean(at)
    shown = [_shown(i.value) for i in at.info]
    assert any(s.startswith("0 trong 2 điểm hiện có có thể đóng bớt") for s in shown), shown
    assert any("Không điểm nào đóng được" in cap.value for cap in at.caption)
