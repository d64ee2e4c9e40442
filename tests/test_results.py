"""Typed results: figures, metrics, solver reports and stages read back as they were saved.

``to_dict`` gives the JSON objects of ``result.json`` / ``run.json``; ``from_dict``
reads them back, from this version or an older one missing newer keys; the
placement and staffing loaders decode a solver report the same way.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geodata._json import dumps
from motcua.placement import PlacementFigures
from motcua.staffing import StaffingMetrics
from optimizer._status import SolverReport, SolveStatus, Stage

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
