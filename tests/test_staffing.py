"""Scenario-level staffing: forecast override, run, exports and the command line."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point

from geodata._errors import ScenarioError
from geodata.scenario import Scenario
from geodata.settings import ScenarioSettings, WorkSettings
from motcua.staffing import (
    StaffingOptions,
    StaffingRun,
    parse_week,
    read_forecast_csv,
    run_staffing,
    write_forecast_csv,
)


def make_scenario(seed: int = 0, busy_factor: float = 3.0) -> Scenario:
    """Two branches 2 km apart (B01 busy, B02 quiet) and a far reception point R01.

    History: 8 weeks (Mon-Sat) ending Sat 2026-11-14; next week is 2026-W47.
    """
    rng = np.random.default_rng(seed)
    sites = gpd.GeoDataFrame(
        {
            "id": ["B01", "B02", "R01"], "name": ["Branch 1", "Branch 2", "Reception far"],
            "kind": ["branch", "branch", "reception"], "status": ["must_open"] * 3,
            "counters": [4, 4, 1], "opening_cost": [1.0] * 3,
            "capacity_per_day": [160.0, 160.0, 40.0], "commune_code": ["", "", ""],
        },
        geometry=[Point(105.80, 21.00), Point(105.82, 21.00), Point(106.60, 21.50)],
        crs="EPSG:4326",
    )
    staff_rows = []
    for i in range(4):
        staff_rows.append((f"P{i}", f"Busy {i}", "B01", ("land", "other")))
    for i in range(4, 10):
        staff_rows.append((f"P{i}", f"Quiet {i}", "B02", ("land", "other", "justice")))
    staff_rows.append(("P10", "Far", "R01", ("other",)))
    staff = pd.DataFrame(
        [{"id": i, "name": n, "home_site": h, "skills": sk,
          "days_available": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat"), "leave_dates": (),
          "max_days_per_week": 6, "movable": True} for i, n, h, sk in staff_rows]
    )
    rows = []
    start = date(2026, 9, 21)  # a Monday
    for k in range(8 * 7):
        d = start + timedelta(days=k)
        if d.weekday() == 6:
            continue
        for site, base in (("B01", 10.0 * busy_factor), ("B02", 6.0), ("R01", 3.0)):
            for fld in ("land", "other"):
                rows.append((d, site, fld, "in_person", int(rng.poisson(base))))
                rows.append((d, site, fld, "online", int(rng.poisson(base))))
    workload = pd.DataFrame(rows, columns=["date", "site_id", "field", "channel", "dossiers"])
    workload["date"] = pd.to_datetime(workload["date"])
    settings = ScenarioSettings(name="test province", work=WorkSettings(holidays=("2026-11-20",)))
    demand = gpd.GeoDataFrame(
        {"id": [], "name": [], "population": [], "commune_code": [], "commune_name": []},
        geometry=[], crs="EPSG:4326")
    return Scenario(settings=settings, demand=demand, sites=sites, staff=staff, workload=workload)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return make_scenario()


@pytest.fixture(scope="module")
def run(scenario: Scenario) -> StaffingRun:
    return run_staffing(scenario, time_limit_s=20, seed=0, threads=1)


def test_parse_week() -> None:
    days = parse_week("2026-W48")
    assert days[0] == date(2026, 11, 23) and days[-1] == date(2026, 11, 29)
    with pytest.raises(ValueError, match="2026-48"):
        parse_week("2026-48")


def test_run_rebalances_busy_branch(run: StaffingRun) -> None:
    assert run.metrics.before_proven == 1.0  # every everyone-at-home step proven
    assert run.week == "2026-W47"
    assert run.report.status.value == "OPTIMAL"
    assert run.metrics.peak_utilisation_after < run.metrics.peak_utilisation_before
    assert run.metrics.overload_min_after <= run.metrics.overload_min_before
    moves = run.moves
    assert len(moves) > 0
    # the far reception point is beyond 60 minutes: nobody moves there or from there
    assert "R01" not in set(moves["to_site"]) and "R01" not in set(moves["from_site"])
    assert set(moves["to_site"]) == {"B01"}
    assert all("B01" in r and "->" in r for r in moves["reason"])
    # the holiday Friday 2026-11-20 is closed: nobody rostered, no forecast
    assert "2026-11-20" not in set(run.roster["date"])
    assert "2026-11-20" not in set(run.tables["forecast"]["date"])
    assert "holidays closed: 2026-11-20" in run.forecast_method


def test_roster_wide_says_who_is_where_and_why(run: StaffingRun) -> None:
    wide = run.roster_wide()
    assert list(wide.columns[:3]) == ["person_id", "name", "home_site"]
    assert wide.columns[-1] == "why"
    days = [c for c in wide.columns if c[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")]
    for mv in run.moves.itertuples():
        row = wide[wide["person_id"] == mv.person_id].iloc[0]
        col = next(c for c in days if c.endswith(str(mv.date)))
        assert row[col] == mv.to_site  # where, that day
        assert f"{mv.weekday} {mv.to_site}: {mv.reason}" in row["why"]  # and why
    stay = wide[~wide["person_id"].isin(run.moves["person_id"])]
    assert (stay["why"] == "").all()
    assert set(stay[days].to_numpy().ravel()) <= set(stay["home_site"]) | {"off"}


def test_save_load_roundtrip(run: StaffingRun, tmp_path: Path) -> None:
    out = run.save(tmp_path / "plan")
    names = {p.name for p in out.iterdir()}
    assert {"roster.csv", "moves.csv", "site_days_before.csv", "site_days_after.csv",
            "shortfalls.csv", "forecast.csv", "run.json", "staffing.xlsx"} <= names
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    back = StaffingRun.load(out)
    assert back.report == run.report
    assert back.week == run.week and back.metrics == run.metrics
    pd.testing.assert_frame_equal(back.roster, run.roster, check_dtype=False)
    pd.testing.assert_frame_equal(back.moves, run.moves, check_dtype=False)
    wb = openpyxl.load_workbook(out / "staffing.xlsx")
    assert wb.sheetnames == ["Plans", "Summary", "Roster", "Sites by day", "Moves", "Today",
                             "Pooled", "Planned", "Shortfalls", "Forecast", "Outside model"]
    plans = [[c.value for c in row] for row in wb["Plans"].iter_rows()]
    assert plans[0] == ["figure", "today", "pooled online", "planned (pooled + moves)"]
    assert plans[1][1] == f"{run.metrics.overload_min_today:,.0f}"
    assert plans[1][3] == f"{run.metrics.overload_min_after:,.0f}"
    ws = wb["Roster"]
    assert ws["A1"].value == "person_id" and ws["A1"].font.bold
    assert ws.freeze_panes == "A2"
    assert ws.max_row == len(run.roster["person_id"].unique()) + 1
    data = json.loads(run.to_json())
    assert data["report"]["status"] == "OPTIMAL"
    assert len(data["tables"]["roster"]) == len(run.roster)
    # saving again replaces the folder atomically
    run.save(out)
    assert StaffingRun.load(out).week == run.week


def test_forecast_override_roundtrip(scenario: Scenario, run: StaffingRun, tmp_path: Path) -> None:
    path = write_forecast_csv(run.tables["forecast"], tmp_path / "fc.csv")
    df = pd.read_csv(path, dtype=str)
    row = df.index[(df["site_id"] == "B02") & (df["channel"] == "in_person")][0]
    df.loc[row, "dossiers"] = "500"
    df.to_csv(path, index=False)
    opened = tuple(date.fromisoformat(d) for d in sorted(set(run.roster["date"])))
    table = read_forecast_csv(path, scenario, opened)
    assert table.loc[row, "dossiers"] == 500.0
    res = run_staffing(scenario, week=run.week, forecast_override=path, time_limit_s=20)
    fc = res.tables["forecast"]
    hit = fc[(fc["site_id"] == "B02") & (fc["date"] == df.loc[row, "date"])
             & (fc["field"] == df.loc[row, "field"]) & (fc["channel"] == "in_person")]
    assert hit["dossiers"].tolist() == [500.0] and hit["source"].tolist() == ["override"]
    assert "overridden by the director" in res.forecast_method


def test_forecast_override_bad_cells_named(scenario: Scenario, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "site_id,date,field,channel,dossiers\n"
        "B01,2026-11-16,land,in_person,5\n"
        "XX9,2026-11-16,land,in_person,5\n"
        "B01,2026-11-20,land,in_person,5\n"
        "B01,16/11/2026,farming,walk-in,-3\n",
        encoding="utf-8")
    opened = tuple(parse_week("2026-W47")[:4]) + (date(2026, 11, 21),)
    with pytest.raises(ScenarioError) as err:
        read_forecast_csv(path, scenario, opened)
    text = str(err.value)
    assert "bad.csv, column 'site_id', row 3: unknown site (value 'XX9')" in text
    assert "column 'date', row 4: not an open day" in text
    assert "column 'date', row 5: not a date (value '16/11/2026'); expected YYYY-MM-DD" in text
    assert "column 'field', row 5: unknown field (value 'farming')" in text
    assert "column 'channel', row 5" in text and "column 'dossiers', row 5" in text
    missing = tmp_path / "missing.csv"
    missing.write_text("site_id,date\nB01,2026-11-16\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="missing column.*field, channel, dossiers"):
        read_forecast_csv(missing, scenario, opened)


def test_no_staff_is_named(scenario: Scenario) -> None:
    empty = Scenario(settings=scenario.settings, demand=scenario.demand, sites=scenario.sites,
                     staff=scenario.staff.iloc[0:0], workload=scenario.workload)
    with pytest.raises(ScenarioError, match="no staff in the scenario"):
        run_staffing(empty)


def with_unstaffed_sites(base: Scenario) -> Scenario:
    """``base`` plus reception point R02 (dossiers, no one in staff.csv) and candidate C01."""
    extra = gpd.GeoDataFrame(
        {"id": ["R02", "C01"], "name": ["Commune point", "Candidate"],
         "kind": ["reception", "candidate"], "status": ["must_open", "optional"],
         "counters": [1, 0], "opening_cost": [1.0, 1.0], "capacity_per_day": [40.0, 40.0],
         "commune_code": ["", ""]},
        geometry=[Point(105.81, 21.005), Point(105.815, 21.0)], crs="EPSG:4326")
    sites = gpd.GeoDataFrame(pd.concat([base.sites, extra], ignore_index=True), crs="EPSG:4326")
    days = sorted(set(base.workload["date"]))
    rows = [(d, "R02", fld, ch, 7) for d in days for fld in ("land", "other")
            for ch in ("in_person", "online")]
    extra_load = pd.DataFrame(rows, columns=["date", "site_id", "field", "channel", "dossiers"])
    workload = pd.concat([base.workload, extra_load], ignore_index=True)
    return Scenario(settings=base.settings, demand=base.demand, sites=sites, staff=base.staff,
                    workload=workload)


def test_sites_without_modelled_staff_are_reported_once(scenario: Scenario, run: StaffingRun) -> None:
    sc = with_unstaffed_sites(scenario)
    res = run_staffing(sc, time_limit_s=20, seed=0, threads=1)
    planned = set(res.tables["site_days_after"]["site_id"]) | set(res.roster["site_id"])
    assert "R02" not in planned and "C01" not in planned
    assert "R02" not in set(res.shortfalls["site_id"])
    out = res.tables["outside_model"]
    assert out["site_id"].tolist() == ["R02"]
    # 7 in-person land + 7 in-person other dossiers per open day (5 days: Fri is a holiday)
    assert out["in_person_dossiers"].iloc[0] == pytest.approx(5 * 14, rel=0.15)
    assert out["online_handling"].iloc[0] == "processed there (outside the model)"
    assert res.outside_summary().startswith("1 reception point is staffed outside the model")
    assert res.metrics.sites_outside_model == 1.0
    # by default R02's online work stays with its officials: the plan is the plan without R02
    pooled = res.tables["site_days_after"]["pooled_min"].sum()
    assert pooled == pytest.approx(run.tables["site_days_after"]["pooled_min"].sum())
    # on request it joins the province pool: 7 land (30 min) + 7 other (10 min) a day
    opt = StaffingOptions(pool_outside_online=True)
    res2 = run_staffing(sc, time_limit_s=20, seed=0, threads=1, options=opt)
    extra = res2.tables["site_days_after"]["pooled_min"].sum() - pooled
    st = sc.settings
    per_day = 7 * (st.processing_minutes["land"] + st.processing_minutes["other"])
    assert extra == pytest.approx(5 * per_day, rel=0.2)
    assert res2.tables["outside_model"]["online_handling"].iloc[0] == "pooled"
    assert "including those received at sites staffed outside" in res2.settings["online_handling"]


def test_demo_hot_branch_pair_is_rebalanced_optimally(demo_dir: Path) -> None:
    """A reduced copy of scenarios/demo: hot branch B02 and its cold neighbour B03.

    The full demo is not proven optimal within a test's time (see
    bench/RESULTS_staff.md), so the test keeps the pair the demo generator made
    unbalanced (B02 staffed at 62 % of its need, B03 at 145 %), with online work
    kept at home as the generator sized them.
    """
    import dataclasses

    from geodata.scenario import load_scenario

    sc = load_scenario(demo_dir)
    keep = {"B02", "B03"}
    small = dataclasses.replace(
        sc, sites=sc.sites[sc.sites["id"].isin(keep)].reset_index(drop=True),
        staff=sc.staff[sc.staff["home_site"].isin(keep)].reset_index(drop=True),
        workload=sc.workload[sc.workload["site_id"].isin(keep)].reset_index(drop=True))
    res = run_staffing(small, time_limit_s=20, seed=0, threads=1,
                       options=StaffingOptions(pool_online=False))
    assert res.report.status.value == "OPTIMAL" and res.report.gap == 0.0
    assert [s.status.value for s in res.stages] == ["OPTIMAL"] * 5
    m = res.metrics
    assert m.peak_utilisation_after < m.peak_utilisation_before
    assert m.overload_min_after <= m.overload_min_before
    moves = res.moves
    assert len(moves) > 0
    assert set(zip(moves["from_site"], moves["to_site"], strict=True)) == {("B03", "B02")}
    assert all(" at B02 on " in r and "home B03" in r for r in moves["reason"])
    # never more people at a site-day than it has people who may work there
    staff_by_home = small.staff.groupby("home_site").size()
    after = res.tables["site_days_after"]
    assert after["staff"].max() <= int(staff_by_home.sum())


def test_full_demo_lowers_the_peak(demo_dir: Path) -> None:
    """The whole scenarios/demo (160 staff, 33 planned sites, 6 days), one thread.

    A CP-SAT deterministic-time budget (not the wall clock) ends each solve, so
    the plan does not depend on the machine load.
    """
    from geodata.scenario import load_scenario

    sc = load_scenario(demo_dir)
    res = run_staffing(sc, time_limit_s=120, seed=0, threads=1, deterministic_time_s=8.0)
    m = res.metrics
    assert m.peak_utilisation_after < m.peak_utilisation_before
    assert m.overload_min_after < m.overload_min_before
    # one story: every pooled minute sits at a site, so overload is exactly the
    # staffed site-days above 100 % plus the demand of site-days no one staffs
    after = res.tables["site_days_after"]
    assert m.online_unplaced_min_after == 0.0
    assert after["pooled_min"].sum() == pytest.approx(
        res.tables["site_days_before"]["pooled_min"].sum(), rel=1e-4)
    over = after[after["overload_min"] > 0]
    assert ((over["utilisation"] > 1.0) | over["unstaffed"]).all()
    assert m.overload_min_after == pytest.approx(after["overload_min"].sum())
    staffed = after[~after["unstaffed"]]
    assert (staffed["utilisation"].max() > 1.0) == (staffed["overload_min"].sum() > 0.5)
    # honest status: OPTIMAL only with every step proven, otherwise a bound below
    for s in res.stages:
        assert (s.status.value == "OPTIMAL") == (s.best_bound == s.objective)
    assert (res.report.status.value == "OPTIMAL") == (res.report.gap == 0.0)
    assert len(res.moves) > 0 and res.moves["reason"].str.contains("->").all()


def test_same_work_budget_gives_the_same_plan(demo_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Seed, one thread and a deterministic-time budget fix the plan, run after run.

    The budget (0.4 deterministic seconds for the whole demo) is far too small to
    prove anything, so every solve is cut by it: the case where wall-clock limits
    made results vary with the machine load.
    """
    from geodata.scenario import load_scenario

    sc = load_scenario(demo_dir)
    runs = [run_staffing(sc, time_limit_s=120, seed=0, threads=1, deterministic_time_s=0.4)
            for _ in range(2)]
    assert runs[0].report.status.value == "FEASIBLE"
    assert runs[0].metrics == runs[1].metrics
    # the pooled plan is an exact LP; the budget, not the clock, ended the solves
    assert runs[0].metrics.before_proven == 1.0
    assert runs[0].metrics.reproducible == 1.0
    from motcua.cli import main

    assert main(["staff", str(demo_dir), "--time-limit", "120", "--threads", "1",
                 "--deterministic-time", "0.4", "--out", str(tmp_path / "plan")]) == 0
    out = capsys.readouterr().out
    assert "reproducible: yes" in out
    pd.testing.assert_frame_equal(runs[0].roster, runs[1].roster)
    pd.testing.assert_frame_equal(runs[0].tables["site_days_after"],
                                  runs[1].tables["site_days_after"])


@pytest.mark.parametrize(("argv", "says"), [
    (["--time-limit", "nan"], "--time-limit nan: expected seconds > 0"),
    (["--time-limit", "inf"], "--time-limit inf: expected seconds > 0"),
    (["--deterministic-time", "nan"], "--deterministic-time nan: expected seconds > 0"),
    (["--max-travel", "nan"], "--max-travel nan: expected minutes >= 0"),
    (["--seed", "2147483648"], "--seed 2147483648: expected a whole number in 0..2147483647"),
])
def test_cli_refuses_numbers_that_are_not_numbers(
        argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 'nan <= 0' is false: a NaN time limit used to start a run (and write its folder)
    from motcua.cli import main

    tiny = Path(__file__).resolve().parent / "app" / "data" / "tiny"
    assert main(["staff", str(tiny), "--out", str(tmp_path / "out"), *argv]) == 1
    assert says in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_library_refuses_a_nan_time_limit_and_travel(scenario: Scenario) -> None:
    with pytest.raises(ValueError, match="max_travel_min must be a number of minutes >= 0, got nan"):
        StaffingOptions(max_travel_min=float("nan"))
    with pytest.raises(ValueError, match="min_dossiers_for_skill must be >= 0 or None, got -1"):
        StaffingOptions(min_dossiers_for_skill=-1.0)
    with pytest.raises(ValueError, match="time_limit_s must be a number of seconds > 0, got nan"):
        run_staffing(scenario, "2026-W47", time_limit_s=float("nan"))


def test_commune_level_online_dossiers_stay_at_their_desk(demo_dir: Path) -> None:
    """By default only district- and province-level online work is pooled."""
    from geodata.scenario import load_scenario
    from motcua.staffing import build_problem, forecast_week

    sc = load_scenario(demo_dir)
    fc = forecast_week(sc, "2026-W48")
    pb, sites, _ = build_problem(sc, fc)
    assert pb.pool_src is not None
    reception = (sites["kind"] == "reception").to_numpy()
    branch = (sites["kind"] == "branch").to_numpy()
    assert reception.any() and branch.any()
    assert pb.pool_src[reception].sum() == 0.0  # commune desks keep their online work
    assert pb.pool_src[branch].sum() > 0.0
    # ... as local work at their desk, which the all-levels setting pools instead
    pb_all, _, _ = build_problem(sc, fc, options=StaffingOptions(
        pool_levels=("commune", "district", "province")))
    assert pb_all.pool_src is not None and pb_all.pool_src[reception].sum() > 0.0
    moved = pb.local_min[reception].sum() - pb_all.local_min[reception].sum()
    assert moved == pytest.approx(pb_all.pool_src[reception].sum())
    with pytest.raises(ValueError, match="unknown level"):
        StaffingOptions(pool_levels=("ward",))


def test_roster_and_moves_name_the_sites_beside_their_ids(run: StaffingRun,
                                                          scenario: Scenario) -> None:
    names = dict(zip(scenario.sites["id"].astype(str), scenario.sites["name"].astype(str),
                     strict=True))
    m = run.moves
    cols = list(m.columns)
    assert cols[cols.index("to_site") + 1] == "to_site_name"
    assert cols[cols.index("from_site") + 1] == "from_site_name"
    assert (m["to_site_name"] == m["to_site"].map(names)).all()
    assert (m["from_site_name"] == m["from_site"].map(names)).all()
    r = run.roster
    working = r["site_id"].fillna("") != ""
    assert working.any()
    assert (r.loc[working, "site_name"] == r.loc[working, "site_id"].map(names)).all()
    assert (r.loc[~working, "site_name"] == "").all()
