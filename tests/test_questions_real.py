"""The planner's questions on a real province (issue #17): Quảng Ninh 2025 imported on a
coarse grid (commune-centre reception points as the existing offices, grid candidates), then
``--keep-existing``, ``--add 10`` and ``--model closure``, each answered with a status and gap."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from geodata.importer import ImportRequest, import_scenario
from motcua.placement import PlacementRequest, run_placement
from tests.conftest import communes_2025

pytestmark = pytest.mark.shared_data


def _quang_ninh(shared_data: Path, tmp_path: Path, **grid: Any) -> ImportRequest:
    """The Quảng Ninh 2025 import: the communes with their population joined from the
    targets table (faster than interpolating the 2019 wards, as
    tests/geodata/test_import_2025_real.py does); ``grid``: cell and candidate settings."""
    return ImportRequest(
        name="Tỉnh Quảng Ninh",
        boundaries=communes_2025(shared_data, "Tỉnh Quảng Ninh"),
        cache_dir=tmp_path / "cache", **grid)


def test_quang_ninh_keep_existing_add_and_closure(shared_data: Path, tmp_path: Path) -> None:
    request = _quang_ninh(shared_data, tmp_path, cell_m=6000.0, candidates="grid",
                          candidate_cell_m=6000.0)
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
    # with capacities (each office's counters at the scenario's rate) the offices kept
    # hold every in-person dossier covered today: none over capacity, at least as many
    # kept as without them; the plain closure's answer is no bound on the overload
    cap = run_placement(sc, PlacementRequest(model="closure", capacitated=True, **kw))
    assert cap.status.has_solution and math.isfinite(cap.report.gap)
    g = cap.figures
    assert g.overloaded_points == 0 and g.lost_population == 0 and g.new_points == 0
    assert g.open_points >= f.open_points and g.closable_points + g.open_points == n_existing
    kept = cap.sites[cap.sites["open"]]
    assert (kept["load_per_day"] <= kept["capacity_per_day"] + 1e-3).all()
    per_day = cap.demand["in_person_per_day"] * cap.demand["assigned_share"]
    # (each load is rounded to 3 decimals)
    assert kept["load_per_day"].sum() == pytest.approx(per_day.sum(), abs=5e-4 * len(kept))


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


def test_quang_ninh_ferry_brings_co_to_within_reach(shared_data: Path, tmp_path: Path) -> None:
    """Before/after one ferry on the real Quảng Ninh 2025 import (no roads): Cô Tô's main
    island has no existing office (the commune point of Đặc khu Cô Tô falls on another
    island), so its residents are unreachable by land; a ferry from the mainland reaches
    them at exactly leg + crossing + leg at their zone's speed."""
    import tomllib
    import warnings

    import geopandas as gpd
    import numpy as np
    import shapely
    import tomli_w

    from geodata.coverage import coverage_for_scenario
    from geodata.landmass import land_labels, land_masses, read_communes
    from geodata.scenario import load_scenario
    from geodata.settings import ZONE_CIRCUITY, ZONE_SPEED_KPH

    request = _quang_ninh(shared_data, tmp_path, cell_m=3000.0, candidates="none")
    folder = tmp_path / "qn"
    sc = import_scenario(request, folder).scenario
    crs = sc.settings.crs
    before = coverage_for_scenario(sc, use_cache=False, cutoff_minutes=240)
    parts = land_masses(read_communes(sc.communes_path), crs)
    demand, sites = sc.projected(sc.demand), sc.projected(sc.sites)
    d_xy = np.column_stack([demand.geometry.x, demand.geometry.y])
    d_land = land_labels(d_xy, parts)
    co_to = (sc.demand["commune_name"] == "Đặc khu Cô Tô").to_numpy()
    # Cô Tô's most populated land mass: the main island, with no office on it
    island = int(sc.demand[co_to].groupby(d_land[co_to])["population"].sum().idxmax())
    on_island = d_land == island
    assert before.matrix.minutes[np.flatnonzero(on_island)].nnz == 0
    assert any(n.startswith("unreachable by land") and "Cô Tô" in n for n in before.report.notes)
    # the Vân Đồn office (on the mainland land mass) and a pier each side of the strait
    van_don = sites.index[sites["name"].str.contains("Vân Đồn")][0]
    office = sites.geometry.loc[van_don]
    island_pier = shapely.ops.nearest_points(parts[island], office)[0]
    mainland = int(land_labels(np.array([[office.x, office.y]]), parts)[0])
    main_pier = shapely.ops.nearest_points(parts[mainland], island_pier)[0]
    piers = gpd.GeoSeries([main_pier, island_pier], crs=crs).to_crs(4326)
    crossing = 120.0  # minutes: an assumed boat time, the test's own figure
    (folder / "ferries.csv").write_text(
        "from_lon,from_lat,to_lon,to_lat,minutes,label\n"
        f"{piers.x[0]:.8f},{piers.y[0]:.8f},{piers.x[1]:.8f},{piers.y[1]:.8f},{crossing},"
        "Vân Đồn - Cô Tô\n", encoding="utf-8")
    toml = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
    toml["files"]["ferries"] = "ferries.csv"
    (folder / "scenario.toml").write_text(tomli_w.dumps(toml), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        after_sc = load_scenario(folder)
    after = coverage_for_scenario(after_sc, use_cache=False, cutoff_minutes=240)
    assert after.matrix.label.endswith("ferry links: 1 (no road network)")
    assert not any(n.startswith("unreachable by land") and "Cô Tô" in n
                   and f"{int(on_island.sum()):,} demand points" in n for n in after.report.notes)
    # every island resident reaches the Vân Đồn office at leg + 120 min + leg, by hand
    col = int(np.flatnonzero(sites.index == van_don)[0])
    zone = sc.demand["zone"].to_numpy()
    rate = np.array([ZONE_SPEED_KPH[z] / ZONE_CIRCUITY[z] for z in zone])
    pier_xy = np.array([[island_pier.x, island_pier.y], [main_pier.x, main_pier.y]])
    leg1 = np.hypot(*(d_xy - pier_xy[0]).T) / 1000.0
    leg2 = float(np.hypot(*(np.array([office.x, office.y]) - pier_xy[1]))) / 1000.0
    expected = (leg1 + leg2) / rate * 60.0 + crossing
    got = after.matrix.dense_minutes()[:, col]
    rows = np.flatnonzero(on_island)
    assert got[rows] == pytest.approx(expected[rows], abs=0.01)
    # nothing changes for the residents of other land masses the ferry does not serve
    others = np.flatnonzero(~on_island & (d_land != mainland))
    assert (after.matrix.covered[others] != before.matrix.covered[others]).nnz == 0


def test_capacitated_p_median_on_quang_ninh(shared_data: Path, tmp_path: Path) -> None:
    """Issue #16: ``--model pmedian --capacitated`` on a real province (Quảng Ninh 2025 on
    a 6 km grid): an answer within every capacity, with a valid bound and gap, never
    below the uncapacitated p-median's bound on the same dossiers."""
    request = _quang_ninh(shared_data, tmp_path, cell_m=6000.0, candidates="grid",
                          candidate_cell_m=6000.0)
    sc = import_scenario(request, tmp_path / "qn").scenario
    kw = {"time_limit_s": 10.0, "threads": 1}
    cap = run_placement(sc, PlacementRequest(model="pmedian", p=15, capacitated=True, **kw))
    assert cap.status.has_solution and math.isfinite(cap.report.gap)
    assert cap.report.best_bound <= cap.report.objective + 1e-6
    s = cap.sites[cap.sites["open"]]
    assert 0 < len(s) <= 15
    assert (s["load_per_day"] <= s["capacity_per_day"] + 1e-3).all()
    assert cap.figures.overloaded_points == 0
    d = cap.demand
    assert cap.sites["load_per_day"].sum() == pytest.approx(
        float((d["in_person_per_day"] * d["assigned_share"]).sum()), rel=1e-4, abs=1e-3)
    free = run_placement(sc, PlacementRequest(model="pmedian", p=15, weighting="in_person", **kw))
    assert free.status.has_solution
    assert cap.report.objective >= free.report.best_bound - 1e-6
