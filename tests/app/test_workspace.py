"""The workspace folder: saved runs, uploaded scenarios, ids from URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from motcua.app.workspace import Workspace, WorkspaceError

TINY = Path(__file__).resolve().parent / "data" / "tiny"


def _writer(text: str):  # noqa: ANN202 - tiny test helper
    def save(folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / "x.txt").write_text(text)
    return save


def test_save_list_and_read_runs(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    a = ws.save_run("placement", _writer("a"), label="Phương án A", scenario_ref="demo",
                    scenario_name="Tỉnh Mẫu", params={"p": 5}, figures={"covered_share": 0.9},
                    report={"status": "OPTIMAL", "gap": 0.0}, run_id="run-a")
    ws.save_run("staffing", _writer("b"), label="B", scenario_ref="demo", scenario_name="Tỉnh Mẫu",
                run_id="run-b")
    assert (a.result_dir / "x.txt").read_text() == "a"
    again = ws.run_info("run-a")
    assert again.label == "Phương án A" and again.params == {"p": 5} and again.status == "OPTIMAL"
    assert [r.run_id for r in ws.list_runs("placement")] == ["run-a"]
    assert {r.run_id for r in ws.list_runs()} == {"run-a", "run-b"}
    with pytest.raises(WorkspaceError, match="already exists"):
        ws.save_run("placement", _writer("c"), label="", scenario_ref="demo", scenario_name="x",
                    run_id="run-a")


def test_failed_save_leaves_nothing(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)

    def broken(folder: Path) -> None:
        folder.mkdir()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        ws.save_run("placement", broken, label="", scenario_ref="demo", scenario_name="x")
    assert ws.list_runs() == []
    assert list(ws.runs_dir.iterdir()) == []


@pytest.mark.parametrize("bad", ["../etc", "a/b", "", ".hidden", "x" * 81, "a b", "ws:../../x"])
def test_ids_from_urls_cannot_escape_the_workspace(tmp_path: Path, bad: str) -> None:
    ws = Workspace(tmp_path)
    with pytest.raises(WorkspaceError):
        ws.run_info(bad)
    with pytest.raises(WorkspaceError):
        ws.scenario_folder(bad if not bad.startswith("ws:") else bad)


def test_unknown_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no saved result 'nope'"):
        Workspace(tmp_path).run_info("nope")


def test_uploaded_scenarios_are_copied_and_listed(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ref = ws.add_scenario(TINY, "Xã Nhỏ (test)")
    assert ref.startswith("ws:xa-nho-test-")
    assert (ws.scenario_folder(ref) / "demand.csv").read_bytes() == (TINY / "demand.csv").read_bytes()
    assert ref in ws.list_scenarios()


def test_default_root_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_WORKSPACE", str(tmp_path / "w"))
    assert Workspace.default().root == (tmp_path / "w").resolve()
    monkeypatch.delenv("MOTCUA_WORKSPACE")
    monkeypatch.chdir(tmp_path)
    assert Workspace.default().root == (tmp_path / "workspace").resolve()
