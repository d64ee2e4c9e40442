"""Typed results: figures, metrics, solver reports and stages read back as they were saved.

``to_dict`` gives the JSON objects of ``result.json`` / ``run.json``; ``from_dict``
reads them back, from this version or an older one missing newer keys; the
placement and staffing loaders decode a solver report the same way.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geodata._errors import ScenarioWarning
from geodata._json import dumps
from geodata.scenario import load_scenario
from motcua.app.i18n import TEXTS
from motcua.placement import PlacementFigures, PlacementRequest, PlacementRun, run_placement
from motcua.progress import Progress
from motcua.staffing import StaffingMetrics, StaffingRun, run_staffing
from optimizer._status import SolverReport, SolveStatus, Stage
from tests.test_staffing import make_scenario

TINY = Path(__file__).resolve().parent / "app" / "data" / "tiny"

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
maybe = st.none() | finite
counts = st.none() | st.integers(0, 10_000)
communes = st.dictionaries(st.text(min_size=1, max_size=8), finite, max_size=4)


def _json(value: Any) -> Any:
    """``value`` through strict JSON, as it is saved and read back."""
    return json.loads(dumps(value))


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# --- solver report ------------------------------------------------------------------

reports = st.builds(
    SolverReport, status=st.sampled_from(SolveStatus), objective=finite, best_bound=finite,
    gap=finite, wall_time_s=finite, solver=st.text(max_size=10), seed=st.integers(0, 2**31 - 1),
    threads=st.integers(1, 64), time_limit_s=st.none() | finite, message=st.text(max_size=20))


@given(reports)
def test_report_round_trips_through_its_dict_and_json(report: SolverReport) -> None:
    assert SolverReport.from_dict(report.to_dict()) == report
    assert SolverReport.from_dict(_json(report.to_dict())) == report


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_report_null_numbers_are_nan(value: float) -> None:
    rep = SolverReport(SolveStatus.NOT_SOLVED, value, value, value, 1.5, "highs", 0, 1, None)
    saved = _json(rep.to_dict())
    assert saved["objective"] is None and saved["gap"] is None
    back = SolverReport.from_dict(saved)
    assert math.isnan(back.objective) and math.isnan(back.best_bound) and math.isnan(back.gap)
    assert back.time_limit_s is None and back.message == ""


def test_report_of_an_old_file_without_message() -> None:
    old = {"status": "FEASIBLE", "objective": 3, "best_bound": 2, "gap": 0.5,
           "wall_time_s": 0.25, "solver": "cp-sat", "seed": 7, "threads": 2, "time_limit_s": 60}
    back = SolverReport.from_dict(old)
    assert back == SolverReport(SolveStatus.FEASIBLE, 3.0, 2.0, 0.5, 0.25, "cp-sat", 7, 2, 60.0, "")


# --- stage --------------------------------------------------------------------------

@given(st.builds(Stage, name=st.text(max_size=10), status=st.sampled_from(SolveStatus),
                 objective=finite, best_bound=finite, wall_time_s=finite,
                 probes=st.integers(0, 100), detail=st.text(max_size=20)))
def test_stage_round_trips(stage: Stage) -> None:
    assert Stage.from_dict(stage.to_dict()) == stage
    assert Stage.from_dict(_json(stage.to_dict())) == stage


def test_stage_null_numbers_are_nan_like_the_report() -> None:
    back = Stage.from_dict({"name": "moves", "status": "FEASIBLE", "objective": None,
                            "best_bound": None, "gap": None, "wall_time_s": 1.0})
    assert math.isnan(back.objective) and math.isnan(back.best_bound)
    assert back.gap == math.inf and back.probes == 1 and back.detail == ""


# --- placement figures --------------------------------------------------------------

placement_figures = st.builds(
    PlacementFigures, model=st.sampled_from(["lscp", "mclp", "pmedian"]), objective=maybe,
    total_population=maybe, covered_population=maybe, covered_share=maybe,
    uncovered_population=maybe, uncoverable_population=maybe, uncovered_by_commune=communes,
    uncoverable_by_commune=communes, mean_minutes=maybe, worst_minutes=maybe,
    open_points=counts, new_points=counts, closed_points=counts, kept_points=counts,
    double_covered_population=maybe, overloaded_points=counts, max_utilisation=maybe,
    weights=st.sampled_from(["population", "in-person dossiers per day"]),
    synthetic=st.booleans())


@given(placement_figures)
def test_placement_figures_round_trip(figures: PlacementFigures) -> None:
    assert PlacementFigures.from_dict(figures.to_dict()) == figures
    assert PlacementFigures.from_dict(_json(figures.to_dict())) == figures
    assert list(figures.to_dict()) == [f.name for f in fields(PlacementFigures)]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> PlacementRun:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        scenario = load_scenario(TINY)
    return run_placement(scenario, PlacementRequest(model="lscp"),
                         cache_dir=tmp_path_factory.mktemp("cache"))


#: ``result.json`` as the first version wrote it (2026-11-21): no per-commune
#: unreachable table, no travel-time warnings, fewer request options, NaN gap.
OLD_RESULT_JSON = """{
  "version": 1, "scenario": "tiny", "coverage_method": "straight line",
  "request": {"model": "lscp", "p": null, "budget": null, "minutes": null, "km": null,
              "capacitated": false, "single_assignment": false, "backup": false,
              "keep_open": [], "close": [], "pareto": null, "weighting": "population",
              "mode": null, "time_limit_s": 60.0, "seed": 0, "threads": 1},
  "report": {"status": "OPTIMAL", "objective": 2.0, "best_bound": 2.0, "gap": NaN,
             "wall_time_s": 0.01, "solver": "HiGHS", "seed": 0, "threads": 1,
             "time_limit_s": 60.0},
  "stages": [],
  "figures": {"model": "lscp", "objective": 2.0, "total_population": 5000.0,
              "covered_population": 3500.0, "covered_share": 0.7,
              "uncovered_population": 1500.0, "uncoverable_population": 1500.0,
              "uncovered_by_commune": {"X\\u00e3 B\\u00ecnh": 1500.0},
              "mean_minutes": 4.5, "worst_minutes": 9.0, "open_points": 2, "new_points": 1,
              "closed_points": 0, "kept_points": 1, "double_covered_population": 0.0,
              "overloaded_points": 0, "max_utilisation": 0.5, "weights": "population",
              "synthetic": true, "a_figure_since_removed": 1},
  "seed": 0, "threads": 1, "time_limit_s": 60.0
}"""


def test_old_result_json_missing_keys_loads(tiny_run: PlacementRun, tmp_path: Path) -> None:
    out = tiny_run.save(tmp_path / "run")
    (out / "result.json").write_text(OLD_RESULT_JSON, encoding="utf-8")
    old = PlacementRun.load(out)
    f = old.figures
    assert isinstance(f, PlacementFigures)
    assert (f.open_points, f.covered_population, f.uncovered_by_commune) == (
        2, 3500.0, {"Xã Bình": 1500.0})
    assert f.uncoverable_by_commune == {}  # not recorded then: an empty table
    assert old.coverage_warnings == () and old.stages == ()
    assert math.isnan(old.report.gap) and old.report.message == ""
    assert old.request.lexicographic is False and old.request.engine == "auto"
    # the figures the page and the workbook read are there
    assert old.workbook()["Summary"].set_index("item").loc["open points", "value"] == 2


def test_placement_result_json_keeps_its_figures(tiny_run: PlacementRun, tmp_path: Path) -> None:
    out = tiny_run.save(tmp_path / "run")
    saved = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert saved["figures"] == _json(tiny_run.figures.to_dict())
    assert list(saved["figures"]) == [f.name for f in fields(PlacementFigures)]
    back = PlacementRun.load(out)
    assert back.figures == tiny_run.figures
    assert _json(back.to_json_dict()) == saved


# --- staffing metrics ---------------------------------------------------------------

#: figures are counts, minutes and shares: >= 0, and +inf is a real value (no capacity)
metric = st.floats(min_value=0.0, allow_nan=False, width=64)


@given(st.fixed_dictionaries({f.name: metric for f in fields(StaffingMetrics)}))
def test_staffing_metrics_round_trip(values: dict[str, float]) -> None:
    m = StaffingMetrics(**values)
    assert m.to_dict() == values
    assert StaffingMetrics.from_dict(m.to_dict()) == m
    assert StaffingMetrics.from_dict(_json(m.to_dict())) == m  # inf saved as null


def test_old_staffing_metrics_fill_defaults() -> None:
    # the first staffing runs (2026-11-21) saved six figures
    old = {"peak_utilisation_before": 1.25, "peak_utilisation_after": None,
           "overload_min_before": 120.0, "overload_min_after": 30.0, "moves": 3.0,
           "shortfalls": 1.0}
    m = StaffingMetrics.from_dict(old)
    assert (m.peak_utilisation_before, m.peak_utilisation_after, m.moves) == (1.25, math.inf, 3.0)
    assert math.isnan(m.overload_min_today) and math.isnan(m.before_proven)
    assert (m.online_unplaced_min_before, m.shortfall_minutes, m.reproducible) == (0.0, 0.0, 1.0)


#: the steps the staffing run of :func:`staff_run` told
STAFF_STEPS: list[Progress] = []


@pytest.fixture(scope="module")
def staff_run() -> StaffingRun:
    return run_staffing(make_scenario(), time_limit_s=20, seed=0, threads=1,
                        progress=STAFF_STEPS.append)


def test_staffing_run_json_keeps_its_metrics(staff_run: StaffingRun, tmp_path: Path) -> None:
    out = staff_run.save(tmp_path / "plan")
    saved = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert list(saved["metrics"]) == [f.name for f in fields(StaffingMetrics)]
    assert saved["metrics"]["overload_min_today"] == staff_run.metrics.overload_min_today
    back = StaffingRun.load(out)
    assert back.metrics == staff_run.metrics and back.stages == staff_run.stages
    assert _json(back.meta()) == saved


def test_both_loaders_decode_a_report_the_same_way(
        tiny_run: PlacementRun, staff_run: StaffingRun, tmp_path: Path) -> None:
    report = {"status": "FEASIBLE", "objective": None, "best_bound": None, "gap": None,
              "wall_time_s": 2.5, "solver": "x", "seed": 3, "threads": 2,
              "time_limit_s": None, "message": "stopped"}
    place = tiny_run.save(tmp_path / "place")
    staff = staff_run.save(tmp_path / "staff")
    for path in (place / "result.json", staff / "run.json"):
        meta = json.loads(path.read_text(encoding="utf-8"))
        meta["report"] = report
        path.write_text(json.dumps(meta), encoding="utf-8")
    a, b = PlacementRun.load(place).report, StaffingRun.load(staff).report
    assert a.to_dict().keys() == b.to_dict().keys()
    for k, v in a.to_dict().items():
        w = b.to_dict()[k]
        assert _same(v, w) if isinstance(v, float) else v == w, k
    assert math.isnan(a.objective) and math.isnan(b.gap)


# --- progress -----------------------------------------------------------------------

def test_placement_tells_each_step_the_app_can_name(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        scenario = load_scenario(TINY)
    seen: list[Progress] = []
    run_placement(scenario, PlacementRequest(model="mclp", p=1, pareto=2),
                  progress=seen.append, cache_dir=tmp_path)
    assert [p.step for p in seen] == ["matrix", "solving", "pareto", "summary"]
    assert seen[1].text == "solving mclp" and seen[2].text == "Pareto curve for 1..2 points"
    assert all(f"stage_{p.step}" in TEXTS for p in seen)  # shown in the page's language


def test_staffing_tells_each_step(staff_run: StaffingRun) -> None:
    assert [p.step for p in STAFF_STEPS] == ["forecast", "model", "solving", "summary"]
    assert STAFF_STEPS[0].text == f"forecasting {staff_run.week}"
    assert all(p.objective is None and p.bound is None for p in STAFF_STEPS)
