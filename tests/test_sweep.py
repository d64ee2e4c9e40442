"""``motcua sweep`` on a LocalCluster of 2 worker processes, on the three smallest provinces.

The three provinces with the fewest 2025 communes (Lai Châu 38, Huế 40, Điện
Biên 45) are swept with a coarse grid and short time limits: the rows equal
those of each province solved alone; a worker killed during a task has its
province retried and the sweep completes; a province with broken data is
reported with its reason while the others finish; a resumed sweep does not
recompute finished provinces.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from geodata._atomic import MANIFEST
from motcua.cli.main import main
from motcua.placement import PlacementRun
from motcua.sweep import (
    ModelSpec,
    NationalData,
    ProvinceTask,
    SweepError,
    SweepSettings,
    check_root,
    dask_client,
    list_provinces,
    parse_models,
    resolve_provinces,
    run_sweep,
    short_name,
    slugify,
    solve_province,
)

pytestmark = pytest.mark.shared_data

SMALLEST = ["Tỉnh Lai Châu", "Thành Phố Huế", "Tỉnh Điện Biên"]
SETTINGS = SweepSettings(models=parse_models("coverage,lscp,mclp:10"), cell_m=4000.0,
                         candidate_cell_m=8000.0, time_limit_s=5.0)
#: The killed-worker tests: one model is enough to be killed in the middle of (the import
#: and a coverage run take seconds); the three of SETTINGS took twice as long, twice.
KILL_SETTINGS = SweepSettings(models=parse_models("coverage"), cell_m=4000.0,
                              candidate_cell_m=8000.0, time_limit_s=5.0)
#: Figures that must be equal between the sweep and a province solved alone.
SAME = ["communes", "population", "demand_points", "existing_sites", "candidates", "method",
        "covered_existing_share", "uncovered_existing", "coverage_status", "coverage_covered_share",
        "lscp_status", "lscp_points", "lscp_new_points", "lscp_out_of_reach", "lscp_covered_share",
        "mclp_10_status", "mclp_10_covered_share", "mclp_10_uncovered", "geometry_wkt"]


# --------------------------------------------------------------------------- no cluster


def test_parse_models() -> None:
    assert parse_models("coverage, lscp,MCLP:50,lscp") == (
        ModelSpec("coverage"), ModelSpec("lscp"), ModelSpec("mclp", 50))
    assert ModelSpec("mclp", 50).label == "mclp-50"
    # the planner's three questions (issue #17), as motcua place asks them
    assert parse_models("questions") == (
        ModelSpec("keep"), ModelSpec("add", 10), ModelSpec("closure"), ModelSpec("closure-cap"))
    assert parse_models("lscp,questions,add:5") == (
        ModelSpec("lscp"), ModelSpec("keep"), ModelSpec("add", 10), ModelSpec("closure"),
        ModelSpec("closure-cap"), ModelSpec("add", 5))
    assert ModelSpec("closure-cap").label == "closure-cap"
    assert ModelSpec("add", 10).label == "add-10"
    for bad in ("mclp", "mclp:0", "mclp:x", "pmedian", "lscp:3", "", "add", "add:0",
                "closure:3", "keep:2", "closure-cap:2"):
        with pytest.raises(SweepError, match="--models"):
            parse_models(bad)


def test_closure_asked_both_ways_on_a_province(data: NationalData) -> None:
    """Which of Quảng Ninh's offices can close: with coverage only, and without any office
    kept over its capacity (``closure-cap``, as ``place --model closure --capacitated``).
    Every office is either kept or closable; none kept by ``closure-cap`` is overloaded;
    the capacities only remove plans, so proven answers keep at least as many offices
    with them."""
    province = "Tỉnh Quảng Ninh"
    settings = SweepSettings(models=parse_models("closure,closure-cap"), cell_m=4000.0,
                             candidate_cell_m=8000.0, time_limit_s=20.0)
    row = solve_province(ProvinceTask(province, slugify(province), data, settings))["row"]
    assert row["error"] is None, row["error"]
    assert row["closure_status"] == row["closure_cap_status"] == "OPTIMAL"
    for p in ("closure", "closure_cap"):
        assert row[f"{p}_closable"] + row[f"{p}_kept"] == row["existing_sites"], p
        assert row[f"{p}_lost"] == 0.0  # everyone covered today stays covered
    assert row["closure_cap_overloaded"] == 0
    assert row["closure_cap_kept"] >= row["closure_kept"]


def test_names() -> None:
    assert short_name("Tỉnh Lai Châu") == "Lai Châu"
    assert short_name("Thành Phố Hồ Chí Minh") == "Hồ Chí Minh"
    assert short_name("Thủ Đô Hà Nội") == "Hà Nội"
    assert slugify("Tỉnh Đắk Lắk") == "dak-lak"
    assert slugify("Thành Phố Hồ Chí Minh") == "ho-chi-minh"


@pytest.fixture(scope="module")
def data(shared_data: Path) -> NationalData:
    return NationalData.shared(shared_data)


def test_provinces_of_the_shared_data(data: NationalData) -> None:
    table = list_provinces(data)
    assert len(table) == 34 and table["communes"].sum() == 3321
    assert table["slug"].is_unique
    assert table["province"].head(3).tolist() == SMALLEST  # the three smallest, in this order
    assert resolve_provinces(data, "Lai Châu, thành phố huế,dien-bien,Tỉnh Lai Châu") == SMALLEST
    assert len(resolve_provinces(data, "all")) == 34
    with pytest.raises(SweepError, match="did you mean 'Tỉnh Lai Châu'"):
        resolve_provinces(data, "Lai Chau")  # accents count, as in motcua import's filters


def test_check_root_refuses_foreign_folders(tmp_path: Path, data: NationalData) -> None:
    sig = SETTINGS.signature(data)
    assert check_root(tmp_path / "new", sig) is False
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(SweepError, match="not a motcua sweep"):
        check_root(foreign, sig)
    assert (foreign / "notes.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(SweepError, match="is a file"):
        check_root(tmp_path / "file", sig)


# --------------------------------------------------------------------------- on a cluster


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    with dask_client(2, dashboard=False) as c:
        c.wait_for_workers(2, timeout=240)
        yield c


@pytest.fixture(scope="module")
def swept(client, data: NationalData, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("sweep") / "out"
    seen: list[tuple[str, str]] = []
    result = run_sweep(client, SMALLEST, data, SETTINGS, out,
                       on_row=lambda row, state: seen.append((row["slug"], state)))
    return out, result, seen


def test_sweep_rows_equal_each_province_alone(swept, data: NationalData) -> None:  # type: ignore[no-untyped-def]
    out, result, seen = swept
    assert result.failed == [] and sorted(result.computed) == sorted(SMALLEST)
    assert sorted(s for s, state in seen if state == "done") == ["dien-bien", "hue", "lai-chau"]
    table = pd.read_csv(out / "provinces.csv")
    assert len(table) == 3 and table["error"].isna().all()
    assert set(table["worker"].str.startswith("tcp://")) == {True}
    by_slug = {r["slug"]: r for r in result.rows}
    for province in SMALLEST:
        alone = solve_province(ProvinceTask(province, slugify(province), data, SETTINGS))["row"]
        row = by_slug[slugify(province)]
        assert alone["error"] is None
        for key in SAME:
            assert row[key] == alone[key], (province, key)
        # LSCP covers everyone some point can reach: whoever it leaves uncovered (across
        # water, with the land masses of the straight-line fallback) no candidate reaches
        assert row["lscp_status"] == "OPTIMAL"
        assert row["lscp_uncovered"] == pytest.approx(row["lscp_out_of_reach"])
        # today's coverage is the same figure two ways: the coverage run, the importer's count
        assert row["coverage_covered_share"] == pytest.approx(row["covered_existing_share"])
        assert row["lscp_points"] >= row["existing_sites"] == row["communes"]


def test_sweep_folder_holds_every_province(swept) -> None:  # type: ignore[no-untyped-def]
    out, result, _ = swept
    gpkg = gpd.read_file(out / "provinces.gpkg", layer="provinces")
    assert sorted(gpkg["slug"]) == ["dien-bien", "hue", "lai-chau"]
    assert gpkg.geometry.notna().all()
    assert (gpkg.to_crs(6933).area > 3e9).all()  # each over 3,000 km²
    for slug in ("dien-bien", "hue", "lai-chau"):
        folder = out / "provinces" / slug
        row = json.loads((folder / "row.json").read_text(encoding="utf-8"))
        assert (folder / "scenario" / "scenario.toml").is_file()
        lscp = PlacementRun.load(folder / "runs" / "lscp")
        assert lscp.figures.open_points == row["lscp_points"]
        # every existing office was kept open
        existing = lscp.sites[lscp.sites["kind"] == "reception"]
        assert existing["open"].all() and len(existing) == row["existing_sites"]
        today = PlacementRun.load(folder / "runs" / "coverage")
        assert today.figures.new_points == 0 and today.figures.closed_points == 0
        assert (folder / "runs" / "mclp-10" / "result.json").is_file()
    # no temporary leftovers (the manifests mark each saved folder as motcua's own)
    assert not [p for p in out.rglob(".*") if p.name not in (".", MANIFEST)]


def test_resume_skips_finished_provinces(swept, client, data: NationalData) -> None:  # type: ignore[no-untyped-def]
    out, _, _ = swept
    stamps = {p: p.stat().st_mtime_ns for p in (out / "provinces").glob("*/row.json")}
    again = run_sweep(client, SMALLEST, data, SETTINGS, out)
    assert again.computed == [] and sorted(again.skipped) == sorted(SMALLEST)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert len(pd.read_csv(out / "provinces.csv")) == 3
    other = SweepSettings(models=parse_models("lscp"), cell_m=4000.0, candidate_cell_m=8000.0)
    with pytest.raises(SweepError, match="other settings"):
        run_sweep(client, SMALLEST, data, other, out)


def _allowed_failures(client, value: int) -> int:  # type: ignore[no-untyped-def]
    """Set the scheduler's ``allowed_failures`` (worker deaths a task survives); return the old."""
    def swap(dask_scheduler, value=value):  # type: ignore[no-untyped-def]
        old = dask_scheduler.allowed_failures
        dask_scheduler.allowed_failures = value
        return old

    return int(client.run_on_scheduler(swap))


@pytest.mark.parametrize("allowed_failures, attempts", [(3, 1), (0, 2)],
                         ids=["rescheduled-by-dask", "resubmitted-by-the-sweep"])
def test_killed_worker_is_retried(client, data: NationalData, tmp_path: Path,  # type: ignore[no-untyped-def]
                                  allowed_failures: int, attempts: int) -> None:
    """A worker SIGKILLed in the middle of a province: the scheduler runs the task again on
    another worker, or (when it allows no failure: KilledWorker) the sweep submits it again."""
    client.wait_for_workers(2, timeout=240)  # the killed worker of the case before restarts
    pids = client.run(os.getpid)
    provinces = SMALLEST[:2]
    box: dict[str, object] = {}
    old = _allowed_failures(client, allowed_failures)
    runner = threading.Thread(target=lambda: box.update(
        result=run_sweep(client, provinces, data, KILL_SETTINGS, tmp_path / "out", retries=2)))
    runner.start()
    killed: tuple[str, str] | None = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and runner.is_alive():
        busy = {w: keys for w, keys in client.processing().items() if keys and w in pids}
        if busy:
            time.sleep(1.0)  # well inside the task (an import and a coverage run take seconds)
            worker, keys = next(iter(busy.items()))
            os.kill(pids[worker], signal.SIGKILL)
            killed = (worker, str(keys[0]))
        time.sleep(0.05)
    runner.join(timeout=240)
    _allowed_failures(client, old)
    assert killed is not None, "no task was seen running"
    result = box["result"]
    assert result.failed == [] and sorted(result.computed) == sorted(provinces)  # type: ignore[attr-defined]
    rows = {r["slug"]: r for r in result.rows}  # type: ignore[attr-defined]
    slug = next(s for s in rows if f"province-{s}-" in killed[1])
    assert rows[slug]["error"] is None
    assert rows[slug]["worker"] != killed[0]  # finished elsewhere: on the restarted worker
    assert rows[slug]["attempts"] == attempts
    other = next(s for s in rows if s != slug)
    assert rows[other]["attempts"] == 1


def test_broken_province_is_reported_and_others_finish(client, data: NationalData,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    communes = gpd.read_file(data.communes, layer="communes",
                             where="province_name IN ('Tỉnh Lai Châu', 'Thành Phố Huế')")
    hue = communes.index[communes["province_name"] == "Thành Phố Huế"]
    communes.loc[hue[3], "geometry"] = None  # one commune of Huế lost its polygon
    broken = tmp_path / "communes.gpkg"
    communes.to_file(broken, layer="communes", driver="GPKG")
    bad = NationalData(communes=str(broken), wards=data.wards)
    settings = SweepSettings(models=parse_models("coverage"), cell_m=5000.0,
                             candidate_cell_m=10000.0, time_limit_s=5.0)
    out = tmp_path / "out"
    result = run_sweep(client, SMALLEST[:2], bad, settings, out)
    assert result.computed == ["Tỉnh Lai Châu"] and result.failed == ["Thành Phố Huế"]
    table = pd.read_csv(out / "provinces.csv").set_index("slug")
    assert pd.isna(table.loc["lai-chau", "error"])
    assert "feature has no geometry" in table.loc["hue", "error"]
    assert "communes.gpkg" in table.loc["hue", "error"]
    assert not (out / "provinces" / "hue").exists()
    assert json.loads((out / "failures.json").read_text(encoding="utf-8"))["hue"]["error"]
    # resumed: the finished province is kept, the failed one is tried again
    stamp = (out / "provinces" / "lai-chau" / "row.json").stat().st_mtime_ns
    again = run_sweep(client, SMALLEST[:2], bad, settings, out)
    assert again.skipped == ["Tỉnh Lai Châu"] and again.failed == ["Thành Phố Huế"]
    assert (out / "provinces" / "lai-chau" / "row.json").stat().st_mtime_ns == stamp
    assert len(pd.read_csv(out / "provinces.csv")) == 2


def test_cli_on_an_existing_scheduler(client, shared_data: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                      capsys: pytest.CaptureFixture[str]) -> None:
    address = client.scheduler.address
    out = tmp_path / "cli"
    args = ["sweep", "--scheduler", address, "--data", str(shared_data), "--provinces", "Huế",
            "--models", "coverage,lscp", "--cell-m", "5000", "--candidate-cell-m", "10000",
            "--time-limit", "5", "--out", str(out)]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "1 of 1 provinces finished" in captured.out
    assert "Dask dashboard" in captured.err
    table = pd.read_csv(out / "provinces.csv")
    assert table["slug"].tolist() == ["hue"] and table["lscp_points"].iloc[0] >= 40
    assert main(args) == 0  # resumed: nothing to do
    assert "0 computed now, 1 already done" in capsys.readouterr().out
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "a.txt").write_text("mine")
    assert main([*args[:-1], str(foreign)]) == 1
    assert "not a motcua sweep" in capsys.readouterr().err
    bad_models = [("pmedian" if a == "coverage,lscp" else a) for a in args[:-1]]
    assert main([*bad_models, str(tmp_path / "x")]) == 1
    assert "--models" in capsys.readouterr().err


def test_cell_m_auto_is_the_importers_default_grid(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from motcua.cli.sweep import _cell_m

    assert _cell_m("auto") is None and _cell_m(" AUTO ") is None
    assert _cell_m("1500") == 1500.0
    with pytest.raises(argparse.ArgumentTypeError, match="'big': expected metres"):
        _cell_m("big")
    SweepSettings(models=parse_models("questions"), cell_m=None).check()  # auto passes
    with pytest.raises(SweepError, match="--cell-m"):
        SweepSettings(cell_m=-1.0).check()
