"""The planner's questions on a real province (issue #17): Quảng Ninh 2025 imported on a
coarse grid (commune-centre reception points as the existing offices, grid candidates), then
``--keep-existing``, ``--add 10`` and ``--model closure``, each answered with a status and gap."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from geodata.importer import BoundarySource, ImportRequest, import_scenario
from motcua.placement import PlacementRequest, run_placement

pytestmark = pytest.mark.shared_data


def test_quang_ninh_keep_existing_add_and_closure(shared_data: Path, tmp_path: Path) -> None:
    request = ImportRequest(
        name="Tỉnh Quảng Ninh",
        # the 2025 communes with their population joined from the targets table (faster
        # than interpolating the 2019 wards, as tests/geodata/test_import_2025_real.py does)
        boundaries=BoundarySource(
            str(shared_data / "admin_2025/vn_communes_2025_sapnhap_targets_fullres.gpkg"),
            filters=(("province_name", "Tỉnh Quảng Ninh"),), population_column="pop2019_est",
            population_table=shared_data / "admin_2025/targets_communes_2025_pop2019_"
            "areaweighted.csv",
            join_column="ward_code"),
        cell_m=6000.0, candidates="grid", candidate_cell_m=6000.0, cache_dir=tmp_path / "cache")
    sc = import_scenario(request, tmp_path / "qn").scenario
    n_existing = int(sc.sites["kind"].isin(["branch", "reception"]).sum())
    assert n_existing > 20
    kw = {"time_limit_s": 5.0, "threads": 1}
    keep = run_placement(sc, PlacementRequest(model="lscp", keep_existing="all", **kw))
    assert keep.status.has_solution and math.isfinite(keep.report.gap)
    assert keep.figures.closed_points == 0 and keep.figures.kept_points == n_existing
    assert keep.figures.explanation.startswith(f"With the {n_existing} existing offices")
    add = run_placement(sc, PlacementRequest(model="mclp", add=10, **kw))
    assert add.status.has_solution and math.isfinite(add.report.gap)
    assert add.figures.p == n_existing + 10 and add.figures.closed_points == 0
    assert 0 < add.figures.new_points <= 10
    assert add.figures.added_covered_population > 0  # the grid candidates reach the uncovered
    assert keep.figures.new_points > 0
    closure = run_placement(sc, PlacementRequest(model="closure", **kw))
    assert closure.status.has_solution and math.isfinite(closure.report.gap)
    f = closure.figures
    # nobody covered today loses the standard, and no new point opens
    assert f.lost_population == 0 and f.new_points == 0
    assert f.covered_population == pytest.approx(f.covered_today_population)
    assert f.closable_points + f.open_points == n_existing
    assert f.sole_cover_points <= f.open_points


#: Small 2025 provinces no other test imports (Phú Thọ, Quảng Ninh and Hà Nội have their own
#: tests; the sweep's tests use Lai Châu, Huế and Điện Biên).
UNTRIED = ["Tỉnh Cao Bằng", "Tỉnh Cà Mau", "Tỉnh Hà Tĩnh"]


@pytest.mark.parametrize("province", UNTRIED)
def test_the_three_questions_on_a_province_nobody_tried(
        shared_data: Path, tmp_path: Path, province: str) -> None:
    """One import (the sweep's: 2025 communes, 2019 wards by areal interpolation, commune
    points as offices, grid candidates) and ``--keep-existing``, ``--add 10`` and
    ``--model closure``, each with a status and a finite gap (coarse grid: fast)."""
    from motcua.sweep import (
        NationalData,
        ProvinceTask,
        SweepSettings,
        compute_province,
        parse_models,
        slugify,
    )

    settings = SweepSettings(models=parse_models("questions"), cell_m=5000.0,
                             candidate_cell_m=10000.0, time_limit_s=10.0)
    task = ProvinceTask(province, slugify(province), NationalData.shared(shared_data), settings,
                        cache_dir=str(tmp_path / "cache"))
    row = compute_province(task, tmp_path / "p")
    n = row["existing_sites"]
    assert n == row["communes"] > 30 and row["population"] > 100_000
    for q in ("keep", "add_10", "closure"):
        assert row[f"{q}_status"] in ("OPTIMAL", "FEASIBLE"), (q, row[f"{q}_status"])
        assert row[f"{q}_gap"] is not None and 0 <= row[f"{q}_gap"] < 1
        assert row[f"{q}_objective"] is not None and row[f"{q}_bound"] is not None
    # keep: every resident some point can reach is covered, the offices all stay
    assert row["keep_uncovered"] == pytest.approx(row["keep_out_of_reach"])
    assert row["keep_covered_share"] >= row["covered_existing_share"]
    # add 10: the offices kept, at most 10 new points, never less covered than today
    assert 0 <= row["add_10_new_points"] <= 10
    assert row["add_10_uncovered"] <= row["uncovered_existing"] + 1e-6
    assert row["add_10_uncovered"] == pytest.approx(
        row["uncovered_existing"] - row["add_10_added_covered"])
    # closure: nobody covered today loses it; the offices are split into kept and closable
    assert row["closure_lost"] == 0
    assert row["closure_closable"] + row["closure_kept"] == n
    assert row["closure_uncovered"] == pytest.approx(row["uncovered_existing"])
    assert row["closure_sole_cover"] <= row["closure_kept"]
    assert row["closure_objective"] == pytest.approx(row["closure_kept"])  # unit opening costs
