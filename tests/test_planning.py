"""Placement on the demo scenario: glue, figures, exports and the command line."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geodata._errors import ScenarioWarning
from geodata.scenario import Scenario, load_scenario
from motcua.cli import main
from motcua.placement import PlacementRequest, PlacementRun, run_placement
from optimizer._status import SolveStatus


@pytest.fixture(scope="module")
def demo(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        return load_scenario(demo_dir)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def test_lscp_on_demo_is_optimal_and_respects_statuses(demo: Scenario, cache: Path) -> None:
    run = run_placement(demo, PlacementRequest(model="lscp"), cache_dir=cache)
    assert run.status is SolveStatus.OPTIMAL
    s = run.sites
    assert s.loc[s["status"] == "must_open", "open"].all()
    assert not s.loc[s["status"] == "closed", "open"].any()
    f = run.figures
    # everybody some allowed site can reach is covered; the rest is reported
    d = run.demand
    assert d.loc[d["coverable"], "covered"].all()
    assert f.uncovered_population == pytest.approx(f.uncoverable_population)
    assert 0 <= f.covered_population <= f.total_population
    assert sum(f.uncovered_by_commune.values()) == pytest.approx(f.uncovered_population)
    # where the out-of-reach people live: the same communes, never more than their uncovered
    unreachable = f.uncoverable_by_commune
    assert list(unreachable) == list(f.uncovered_by_commune)
    assert sum(unreachable.values()) == pytest.approx(f.uncoverable_population)
    by_name = d.loc[~d["coverable"]].groupby("commune_name")["population"].sum()
    assert {k: v for k, v in unreachable.items() if v > 0} == pytest.approx(by_name.to_dict())
    assert f.open_points == int(s["open"].sum())


def test_mclp_save_and_load_round_trip(demo: Scenario, cache: Path, tmp_path: Path) -> None:
    req = PlacementRequest(model="mclp", p=40, pareto=8, seed=7, time_limit_s=30)
    run = run_placement(demo, req, cache_dir=cache)
    assert run.status is SolveStatus.OPTIMAL
    assert run.figures.open_points <= 40
    assert run.figures.covered_population == pytest.approx(run.report.objective)
    assert run.pareto is not None and run.pareto["covered_share"].is_monotonic_increasing
    added = run.pareto["added_population"].to_numpy()
    assert np.isnan(added[0]) and np.allclose(added[1:], np.diff(run.pareto["covered_population"]))
    out = run.save(tmp_path / "run")
    for name in ("result.gpkg", "sites.geojson", "demand.geojson", "sites.csv", "demand.csv",
                 "pareto.csv", "result.xlsx", "result.json"):
        assert (out / name).is_file(), name
    # the workbook says what the run found, in the figures' own numbers
    import openpyxl

    wb = openpyxl.load_workbook(out / "result.xlsx", read_only=True)
    assert wb.sheetnames == ["Summary", "Sites", "Communes", "Demand", "Pareto"]
    summary = dict(wb["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["status"] == "OPTIMAL" and summary["proven optimal"] == "yes"
    assert summary["seed"] == 7 and summary["request: p"] == 40
    assert summary["covered"] == pytest.approx(run.figures.covered_population)
    communes = list(wb["Communes"].iter_rows(values_only=True))
    head = communes[0]
    col = {k: head.index(k) for k in ("population", "covered", "uncovered", "no_candidate_can_reach")}
    assert sum(r[col["population"]] for r in communes[1:]) == pytest.approx(run.figures.total_population)
    assert sum(r[col["uncovered"]] for r in communes[1:]) == pytest.approx(
        run.figures.uncovered_population)
    assert sum(r[col["no_candidate_can_reach"]] for r in communes[1:]) == pytest.approx(
        run.figures.uncoverable_population)
    open_rows = [r for r in wb["Sites"].iter_rows(min_row=2, values_only=True) if r[head_index(wb, "open")]]
    assert len(open_rows) == run.figures.open_points
    wb.close()
    meta = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 7 and meta["request"]["p"] == 40 and meta["report"]["status"] == "OPTIMAL"
    back = PlacementRun.load(out)
    assert back.request == req
    assert back.report.status is SolveStatus.OPTIMAL
    assert back.sites["open"].sum() == run.sites["open"].sum()
    assert np.isclose(back.figures.covered_share, run.figures.covered_share)
    # saving again over the same folder replaces it atomically
    run.save(out)
    assert not any(p.name.startswith(".run") for p in tmp_path.iterdir())


def test_capacitated_keeps_every_open_point_within_capacity(demo: Scenario, cache: Path) -> None:
    run = run_placement(demo, PlacementRequest(model="mclp", p=60, capacitated=True,
                                               time_limit_s=30), cache_dir=cache)
    assert run.status.has_solution
    s = run.sites[run.sites["open"]]
    assert (s["load_per_day"] <= s["capacity_per_day"] + 1e-3).all()
    # hard capacities: nothing reported overloaded
    assert run.figures.overloaded_points == 0 and run.figures.overload_per_day == 0
    # "covered" is what the model assigned within capacity, and every figure says so
    d = run.demand
    pop, share, per_day = d["population"], d["assigned_share"], d["in_person_per_day"]
    assert ((share >= 0) & (share <= 1)).all()
    assert run.figures.covered_population == pytest.approx(float((pop * share).sum()), rel=1e-5)
    assert run.sites["load_per_day"].sum() == pytest.approx(float((per_day * share).sum()),
                                                            rel=1e-4, abs=1e-3)
    assert run.report.objective == pytest.approx(float((per_day * share).sum()), rel=1e-5)
    assert run.figures.near_open_population >= run.figures.covered_population - 1e-6
    # a point counted covered on the map is wholly assigned, to an open point
    assert (d.loc[d["covered"], "assigned_share"] > 1 - 1e-5).all()
    assert set(d.loc[share > 0, "assigned_site"]) <= set(run.sites.loc[run.sites["open"], "id"])
    communes = run.by_commune()
    assert communes["covered"].sum() == pytest.approx(run.figures.covered_population, rel=1e-6)
    # the bound never exceeds the demand there is (in-person dossiers a day)
    assert run.report.best_bound <= float(per_day.sum()) + 1e-6


def test_bad_requests_name_the_option(demo: Scenario) -> None:
    with pytest.raises(ValueError, match="needs the number of points"):
        run_placement(demo, PlacementRequest(model="pmedian"))
    with pytest.raises(ValueError, match="single assignment only applies"):
        run_placement(demo, PlacementRequest(model="lscp", single_assignment=True))


def test_cli_refuses_a_seed_or_thread_count_before_solving(capsys: pytest.CaptureFixture[str]) -> None:
    # a negative seed reached HiGHS on the demo and came back as "unexpected error";
    # place and staff share the options and their one check, so they say the same
    for command in (["place", str(TINY), "--model", "mclp", "--points", "2"],
                    ["staff", str(TINY)]):
        assert main([*command, "--seed", "-1"]) == 1
        assert "--seed -1: expected a whole number in 0..2147483647" in capsys.readouterr().err
        assert main([*command, "--threads", "0"]) == 1
        assert "--threads 0: expected >= 1" in capsys.readouterr().err
        assert main([*command, "--time-limit", "nan"]) == 1
        assert "--time-limit nan: expected seconds > 0" in capsys.readouterr().err


def test_cli_prints_optimal(demo_dir: Path, cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["place", str(demo_dir), "--model", "lscp", "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "status: OPTIMAL" in out and "gap: 0.00%" in out
    assert "The objective is the total opening cost of the open points" in out
    assert main(["place", str(demo_dir), "--model", "mclp", "--points", "40", "--json",
                 "--cache-dir", str(cache)]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["report"]["status"] == "OPTIMAL" and meta["figures"]["open_points"] <= 40
    assert main(["place", str(demo_dir), "--model", "pcenter", "--cache-dir", str(cache)]) == 1
    assert "needs the number of points" in capsys.readouterr().err


def test_cli_capacitated_pmedian_keeps_every_point_within_capacity(
        demo_dir: Path, cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["place", str(demo_dir), "--model", "pmedian", "--points", "20", "--cache-dir",
            str(cache), "--time-limit", "20"]
    assert main([*base, "--capacitated", "--out", str(tmp_path / "cap")]) == 0
    out = capsys.readouterr().out
    assert "status: " in out and "gap: " in out and "overloaded points: 0" in out
    assert "The objective is the travel minutes weighted by in-person dossiers per day" in out
    assert "no point over its capacity" in out
    run = PlacementRun.load(tmp_path / "cap")
    assert run.status.has_solution and run.figures.model == "capacitated_pmedian"
    assert math.isfinite(run.report.best_bound) and run.report.best_bound <= run.report.objective
    s = run.sites[run.sites["open"]]
    assert len(s) <= 20
    assert (s["load_per_day"] <= s["capacity_per_day"] + 1e-3).all()
    d = run.demand
    share, per_day = d["assigned_share"], d["in_person_per_day"]
    assert ((share >= 0) & (share <= 1)).all()
    assert run.sites["load_per_day"].sum() == pytest.approx(float((per_day * share).sum()),
                                                            rel=1e-4, abs=1e-3)
    # covered = assigned within the standard: never more than live near an open point
    assert run.figures.covered_population <= run.figures.near_open_population + 1e-6
    assert set(d.loc[share > 0, "assigned_site"]) <= set(s["id"])
    # capacities never cost less than the uncapacitated p-median's bound (same dossiers)
    assert main([*base, "--in-person", "--json"]) == 0
    free = json.loads(capsys.readouterr().out)
    assert run.report.objective >= free["report"]["best_bound"] - 1e-6
    # single assignment with a penalised overload: whole points, overload reported
    assert main([*base, "--capacitated", "--single-assignment", "--overload-penalty", "30",
                 "--time-limit", "10", "--out", str(tmp_path / "one")]) == 0
    one = PlacementRun.load(tmp_path / "one")
    assert one.status.has_solution
    assert np.isin(np.round(one.demand["assigned_share"], 6), [0.0, 1.0]).all()
    o = one.sites[one.sites["open"]]
    assert o["overload_per_day"].to_numpy() == pytest.approx(
        np.maximum(0.0, (o["load_per_day"] - o["capacity_per_day"]).to_numpy()), abs=1e-2)
    # no floor with capacities: refused with the reason
    assert main([*base, "--capacitated", "--min-covered", "90"]) == 1
    assert "without capacities" in capsys.readouterr().err


TINY = Path(__file__).resolve().parent / "app" / "data" / "tiny"


def test_cli_lexicographic_opens_no_point_coverage_does_not_need(
        capsys: pytest.CaptureFixture[str]) -> None:
    # Tiny scenario at 20 km AND 30 min (straight line x 1.3 at 30 km/h: 11.5 km): s1 (must
    # open) reaches d1, d2, d3; s2 reaches d2, d3, d4; s3 reaches d3, d4. With 3 points
    # allowed, s1 + s2 already cover all 5,000 people: the fewest points is 2 (s3 stays
    # shut), then travel sends d1, d2 to s1 (1.2 km each) and d3, d4 to s2 (0.8, 6.8 km).
    assert main(["place", str(TINY), "--model", "mclp", "--points", "3", "--km", "20",
                 "--lexicographic", "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["report"]["status"] == "OPTIMAL" and meta["request"]["lexicographic"] is True
    f = meta["figures"]
    assert f["covered_population"] == 5000 and f["open_points"] == 2 and f["new_points"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        run = run_placement(load_scenario(TINY), PlacementRequest(
            model="mclp", p=3, km=20.0, lexicographic=True))
    assigned = dict(zip(run.demand["id"], run.demand["assigned_site"], strict=True))
    assert assigned == {"d1": "s1", "d2": "s1", "d3": "s2", "d4": "s2"}
    assert [s.status for s in run.stages] == [SolveStatus.OPTIMAL] * 3
    # its travel objective is the weighted minutes of that assignment, proven
    minutes = run.demand["minutes"].to_numpy()
    pop = run.demand["population"].to_numpy()
    assert run.report.objective == pytest.approx(float((minutes * pop).sum()), rel=1e-9)
    assert run.report.gap == pytest.approx(0.0, abs=1e-9)
    # lexicographic goals are an mclp variant, and need the number of points
    with pytest.raises(ValueError, match="lexicographic goals are an mclp variant"):
        PlacementRequest(model="lscp", p=3, lexicographic=True).check()
    with pytest.raises(ValueError, match="without capacities, backup or budget"):
        PlacementRequest(model="mclp", budget=2.0, lexicographic=True).check()
    assert main(["place", str(TINY), "--model", "mclp", "--lexicographic"]) == 1
    assert "needs the number of points" in capsys.readouterr().err


def test_cli_pmedian_covered_share_floor(capsys: pytest.CaptureFixture[str]) -> None:
    # Tiny scenario at 5 km AND 30 min: s1 (must open) covers d1 + d2 = 3,000 people, s2
    # d3 = 1,500, s3 d4 = 500; two points cover at most 4,500 of 5,000 = 90 %.
    assert main(["place", str(TINY), "--model", "pmedian", "--points", "2",
                 "--min-covered", "95"]) == 3
    out = capsys.readouterr().out
    assert "status: INFEASIBLE" in out and "cannot cover 95 % of the weight within the standard" in out
    assert main(["place", str(TINY), "--model", "pmedian", "--points", "2",
                 "--min-covered", "90", "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["report"]["status"] == "OPTIMAL" and meta["request"]["min_covered_pct"] == 90
    assert meta["figures"]["covered_population"] >= 4500
    assert main(["place", str(TINY), "--model", "mclp", "--points", "2",
                 "--min-covered", "90"]) == 1
    assert "covered-share floor applies to pmedian" in capsys.readouterr().err


def _tiny_copy(tmp_path: Path, **columns: dict[str, str]) -> Path:
    """The tiny scenario with some ``sites.csv`` columns set per site id."""
    import csv
    import shutil

    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    with (folder / "sites.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for col, by_id in columns.items():
        for r in rows:
            r[col] = by_id.get(r["id"], r.get(col, ""))
    with (folder / "sites.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    return folder


def test_cli_overload_penalty_lets_a_full_point_take_more(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # s1 is the only point within 5 km of d1 and d2 (2.885 dossiers a day between them)
    # but takes 0.1 a day: with hard capacities no plan exists; at 2 per dossier a day
    # over capacity, the 3 points cost 3 + 2 x (2.885 - 0.1), and s1 is reported overloaded
    folder = _tiny_copy(tmp_path, capacity_per_day={"s1": "0.1", "s2": "100", "s3": "100"})
    cache = tmp_path / "cache"
    base = ["place", str(folder), "--model", "lscp", "--capacitated", "--cache-dir", str(cache)]
    assert main(base) == 3
    out = capsys.readouterr().out
    assert "status: INFEASIBLE" in out and "--overload-penalty" in out
    assert main([*base, "--overload-penalty", "2", "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["report"]["status"] == "OPTIMAL"
    from motcua.placement import in_person_per_day

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        per_day = in_person_per_day(load_scenario(folder), np.array([1000.0, 2000.0]))
    load_s1 = float(per_day.sum())  # d1 + d2, in-person dossiers a day (2.885)
    assert load_s1 == pytest.approx(2.885, abs=1e-3)
    assert meta["report"]["objective"] == pytest.approx(3 + 2 * (load_s1 - 0.1), rel=1e-6)
    assert meta["figures"]["overloaded_points"] == 1
    assert main(["place", str(folder), "--model", "lscp", "--overload-penalty", "2"]) == 1
    assert "overload penalty applies to the capacitated models" in capsys.readouterr().err
    # without capacities the same layout is found, and the overload is said, with the way out
    assert main(["place", str(folder), "--model", "lscp", "--cache-dir", str(cache)]) == 0
    assert ("overloaded points: 1, max utilisation 2884.62% (capacities were not modelled: "
            "--capacitated keeps every point within them)") in capsys.readouterr().out


def test_cached_coverage_takes_site_status_and_capacity_from_the_scenario(tmp_path: Path) -> None:
    # the coverage cache is keyed by what travel times depend on; a site closed or
    # resized since must be seen as it is now (it used to come back from the cache)
    cache = tmp_path / "cache"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        first = run_placement(load_scenario(TINY), PlacementRequest(model="lscp"),
                              cache_dir=cache)
        assert first.sites.set_index("id").loc["s2", "open"]
        folder = _tiny_copy(tmp_path, status={"s2": "closed"}, capacity_per_day={"s3": "7"})
        demand = (folder / "demand.csv").read_text(encoding="utf-8")
        (folder / "demand.csv").write_text(demand.replace("Xã B", "Xã Bình"), encoding="utf-8")
        again = run_placement(load_scenario(folder), PlacementRequest(model="lscp"),
                              cache_dir=cache)
    sites = again.sites.set_index("id")
    assert not sites.loc["s2", "open"] and sites.loc["s2", "status"] == "closed"
    assert sites.loc["s3", "capacity_per_day"] == 7.0
    # the commune renamed since: uncovered people are listed under its name now
    assert set(again.demand["commune_name"]) == {"Xã A", "Xã Bình"}
    assert again.figures.uncovered_by_commune == {"Xã Bình": 1500.0}  # d3: only s2 reached it
    assert list(cache.glob("coverage_*.pkl")) and len(list(cache.glob("coverage_*.pkl"))) == 1


def test_cli_keep_open_and_close_override_the_scenario(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # At 5 km: s1 (must open) covers d1 + d2, s2 d3, s3 d4. Closing s2 leaves d3 (1,500
    # people) with no allowed site: reported as such, and s2 (an existing point) counts
    # as closed; keeping s3 open opens it although LSCP needs it anyway for d4.
    out_dir = tmp_path / "run"
    assert main(["place", str(TINY), "--model", "lscp", "--close", "s2", "--keep-open", "s3",
                 "--json", "--out", str(out_dir)]) == 0
    meta = json.loads(capsys.readouterr().out)
    f = meta["figures"]
    assert meta["report"]["status"] == "OPTIMAL" and meta["report"]["objective"] == 2
    assert (f["open_points"], f["closed_points"], f["new_points"]) == (2, 1, 1)
    assert f["uncoverable_population"] == 1500 and f["uncovered_population"] == 1500
    assert meta["request"]["close"] == ["s2"] and meta["request"]["keep_open"] == ["s3"]
    run = PlacementRun.load(out_dir)
    assert run.request.close == ("s2",) and run.request.keep_open == ("s3",)
    status = dict(zip(run.sites["id"], run.sites["status"], strict=True))
    assert status == {"s1": "must_open", "s2": "closed", "s3": "must_open"}
    # mclp with 2 points and s3 kept open: s1 + s3, so d3 (1,500) is left out
    assert main(["place", str(TINY), "--model", "mclp", "--points", "2", "--keep-open", "s3",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["figures"]["covered_population"] == 3500
    # the Pareto table says what each extra point buys: s1 (must open) 3,000, s2 +1,500, s3 +500
    assert main(["place", str(TINY), "--model", "mclp", "--points", "3", "--pareto", "3"]) == 0
    table = capsys.readouterr().out.split("points  covered share  added people  status    gap\n")[1]
    rows = [line.split() for line in table.strip().splitlines()]
    # each step's status and gap are shown
    assert rows == [["1", "60.00%", "OPTIMAL", "0.00%"], ["2", "90.00%", "+1,500", "OPTIMAL", "0.00%"],
                    ["3", "100.00%", "+500", "OPTIMAL", "0.00%"]]
    # the text output names the commune of the people out of reach, and how many
    assert main(["place", str(TINY), "--model", "lscp", "--close", "s2"]) == 0
    text = capsys.readouterr().out
    assert "uncovered 1,500, of whom 1,500 no candidate can reach" in text
    assert " 1,500 (1,500 out of reach)" in text.split("most uncovered: ")[1]
    # unknown ids and contradictions are named
    assert main(["place", str(TINY), "--model", "lscp", "--close", "s9,s2"]) == 1
    assert "close: site id(s) s9 not in the scenario's sites" in capsys.readouterr().err
    assert main(["place", str(TINY), "--model", "lscp", "--close", "s3", "--keep-open",
                 "s3"]) == 1
    assert "s3 cannot both stay open and be closed" in capsys.readouterr().err


@pytest.mark.parametrize("model", ["lscp", "mclp", "pmedian", "pcenter"])
def test_every_keep_open_and_close_choice_is_respected(model: str, tmp_path: Path) -> None:
    # all 27 ways to mark each of the 3 tiny sites keep-open, close or neither
    import itertools

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        scen = load_scenario(TINY)
    ids = ["s1", "s2", "s3"]
    for marks in itertools.product(("keep", "close", ""), repeat=3):
        keep = tuple(i for i, mk in zip(ids, marks, strict=True) if mk == "keep")
        close = tuple(i for i, mk in zip(ids, marks, strict=True) if mk == "close")
        req = PlacementRequest(model=model, p=None if model == "lscp" else 3, keep_open=keep,
                               close=close, time_limit_s=20)
        run = run_placement(scen, req, cache_dir=tmp_path)
        opened = set(run.sites.loc[run.sites["open"], "id"])
        if "s1" in close:  # s1 is must_open in the scenario: closing it overrides that
            assert "s1" not in opened
        assert not (opened & set(close)), (marks, opened)
        if run.status.has_solution:
            assert set(keep) <= opened, (marks, opened)
            # people only closed sites reach are reported as out of reach
            assert run.figures.uncovered_population >= run.figures.uncoverable_population
        else:
            assert run.status is SolveStatus.INFEASIBLE  # e.g. p-median: someone unreachable


def head_index(wb: object, column: str, sheet: str = "Sites") -> int:
    """Position of ``column`` in the header row of a workbook sheet."""
    header = next(wb[sheet].iter_rows(max_row=1, values_only=True))  # type: ignore[index]
    return list(header).index(column)


def test_option_rule_is_one_method_and_check_follows_it() -> None:
    """``option_applies`` is the rule; ``check`` refuses exactly the options set where
    it says they do not apply (the app's form disables the same ones)."""
    from motcua.placement import MODELS

    trials = {"budget": 5.0, "capacitated": True, "single_assignment": True,
              "overload_penalty": 2.0, "backup": True, "lexicographic": True,
              "min_covered_pct": 50.0}
    seen = set()
    for model in MODELS:
        for capacitated in (False, True):
            for backup in (False, True):
                base = PlacementRequest(model=model, p=None if model == "lscp" else 3,
                                        capacitated=capacitated, backup=backup)
                try:
                    base.check()
                except ValueError:
                    continue  # the state itself is refused: nothing to add to it
                for option, value in trials.items():
                    req = replace(base, **{option: value})
                    try:
                        req.check()
                        refused = False
                    except ValueError:
                        refused = True
                    assert refused == (not base.option_applies(option)), (model, capacitated,
                                                                          backup, option)
                    seen.add((option, refused))
    assert {r for _, r in seen} == {True, False}  # both outcomes occur
    # hand-checked cases of the rule
    # the capacitated p-median (issue #16), without a covered-share floor
    assert PlacementRequest(model="pmedian", p=2).option_applies("capacitated")
    assert not PlacementRequest(model="pmedian", p=2,
                                capacitated=True).option_applies("min_covered_pct")
    assert not PlacementRequest(model="pcenter", p=2).option_applies("capacitated")
    assert PlacementRequest(model="mclp", p=2).option_applies("backup")
    assert not PlacementRequest(model="mclp", budget=3.0).option_applies("backup")
    assert not PlacementRequest(model="mclp", p=2, backup=True).option_applies("lexicographic")
    assert not PlacementRequest(model="lscp", capacitated=True).option_applies("weighting")
    with pytest.raises(KeyError, match="engine"):
        PlacementRequest().option_applies("engine")


def test_cli_refuses_points_with_lscp_and_a_budget_outside_mclp(
        capsys: pytest.CaptureFixture[str]) -> None:
    # silently ignored before; the app never offered them
    assert main(["place", str(TINY), "--model", "lscp", "--points", "3"]) == 1
    assert "lscp finds the fewest points itself" in capsys.readouterr().err
    assert main(["place", str(TINY), "--model", "pcenter", "--points", "2",
                 "--budget", "3"]) == 1
    assert "a budget applies to mclp (--model mclp --budget B)" in capsys.readouterr().err
    assert main(["place", str(TINY), "--model", "mclp", "--points", "2", "--backup",
                 "--budget", "3"]) == 1
    assert "backup coverage is an mclp variant" in capsys.readouterr().err


def _tiny_population(tmp_path: Path, population: dict[str, str]) -> Path:
    """The tiny scenario with some demand points' population set."""
    import csv
    import shutil

    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    with (folder / "demand.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["population"] = population.get(r["id"], r["population"])
    with (folder / "demand.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    return folder


def test_cli_demand_point_without_residents_opens_no_point(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # At 5 km AND 30 min s1 covers d1 + d2, s2 d3 and s3 only d4: three points for
    # everyone. With nobody living at d4, s1 and s2 cover every resident: two points.
    assert main(["place", str(TINY), "--model", "lscp", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["figures"]["open_points"] == 3
    folder = _tiny_population(tmp_path, {"d4": "0"})
    assert main(["place", str(folder), "--model", "lscp", "--json"]) == 0
    f = json.loads(capsys.readouterr().out)["figures"]
    assert f["open_points"] == 2 and f["objective"] == 2
    assert f["covered_population"] == 4500 and f["total_population"] == 4500
    assert f["covered_share"] == 1.0 and f["uncovered_by_commune"] == {}
    assert main(["place", str(folder), "--model", "lscp"]) == 0
    out = capsys.readouterr().out
    assert "covered: 4,500 of 4,500 residents (100.00%)" in out
    assert "most uncovered" not in out  # Xã B's uncovered d4 has nobody living there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        run = run_placement(load_scenario(folder), PlacementRequest(model="lscp"))
    # every demand point keeps its row; d4 has no open point within the standard
    d4 = run.demand.set_index("id").loc["d4"]
    assert not d4["covered"] and pd.isna(d4["assigned_site"])
    communes = run.by_commune().set_index("commune")
    assert communes.loc["Xã B", "covered_share"] == 1.0  # d3's 1,500 of 1,500
    # a commune where nobody lives has no covered share (not "100 % of 0")
    empty_b = _tiny_population(tmp_path / "b", {"d3": "0", "d4": "0"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        run = run_placement(load_scenario(empty_b), PlacementRequest(model="lscp"))
    assert run.figures.open_points == 1  # s1 alone: d1 and d2
    communes = run.by_commune().set_index("commune")
    assert communes.loc["Xã B", "population"] == 0
    assert np.isnan(communes.loc["Xã B", "covered_share"])
    assert communes.loc["Xã A", "covered_share"] == 1.0


def test_cli_scenario_without_residents_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _tiny_population(tmp_path, {"d1": "0", "d2": "0", "d3": "0", "d4": "0"})
    for model in (["--model", "lscp"], ["--model", "mclp", "--points", "2"],
                  ["--model", "pmedian", "--points", "2"]):
        assert main(["place", str(folder), *model]) == 1
        captured = capsys.readouterr()
        assert "has 0 residents (demand.csv, column population): there is no demand" \
            in captured.err
        assert "Traceback" not in captured.err and "100" not in captured.out
    from optimizer.placement import NoDemandError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        sc = load_scenario(folder)
    with pytest.raises(NoDemandError, match="every demand point of"):
        run_placement(sc, PlacementRequest(model="lscp"))
