"""Issue #16 (covering models at province size): the LSCP engine choice by the LP
probe, the probe's LP floor under the bound, and the MCLP local search that runs
beside PDLP; each against brute force on small instances."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer._mip import MipSolution, SparseMip
from optimizer._status import SolverReport, SolveStatus
from optimizer.placement import PlacementResult, Tuning, lscp, max_cover, mclp, set_cover
from optimizer.placement.set_cover import cover_mip, lp_bound, lscp_engine
from tests.properties.test_cover_props import (
    KW,
    _brute_lscp,
    _brute_mclp,
    covers,
    mclp_instances,
)

TRIANGLE = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool))


def test_engine_rule_by_hand() -> None:
    assert lscp_engine("highs", 10, 0.5) == "highs"
    assert lscp_engine("scip", 10, 0.5) == "scip"
    assert lscp_engine("auto", 10) == "scip"  # no LP known: by size
    assert lscp_engine("auto", 10, 0.05) == "scip"  # near the LP: the proof matters
    assert lscp_engine("auto", 10, 0.2) == "scip"
    assert lscp_engine("auto", 10, 0.3) == "highs"  # far: the primal heuristics matter
    assert lscp_engine("auto", set_cover.AUTO_SCIP_SITES + 1, 0.0) == "highs"


def test_lp_bound_of_the_triangle() -> None:
    # each pair of the three sites covers the triangle's rows; x = 1/2 each is the LP
    mip, _ = cover_mip(TRIANGLE, np.ones(3))
    b = lp_bound(mip, 10.0)
    assert 1.5 - 1e-5 <= b <= 1.5


@settings(max_examples=40, deadline=None)
@given(covers())
def test_lp_bound_never_exceeds_the_optimum(inst: tuple[sp.csr_matrix, np.ndarray]) -> None:
    c, costs = inst
    mip, _ = cover_mip(c, costs)
    assert lp_bound(mip, 10.0) <= _brute_lscp(c, costs) + 1e-9


def _check_answer(c: sp.csr_matrix, r: PlacementResult, opt: float, *,
                  proven: bool = False) -> None:
    """Every row covered, bound <= brute-force optimum <= objective, OPTIMAL only at the
    optimum (and OPTIMAL when ``proven``)."""
    assert np.asarray(c[:, r.open_sites].sum(axis=1)).ravel().min() >= 1
    assert r.best_bound <= opt + 1e-9 <= r.objective + 2e-9
    assert r.status is SolveStatus.OPTIMAL or not proven
    if r.status is SolveStatus.OPTIMAL:
        assert abs(r.objective - opt) < 1e-9


def _probe_everywhere(mp: pytest.MonkeyPatch, gap: float) -> list[float]:
    """Every component gets the short search and the LP probe (they are tuned for
    components of more than 60 sites); returns the probe's bounds as they are made."""
    seen: list[float] = []
    real = set_cover.lp_bound

    def spy(mip: object, limit: float | None, stop: object = None) -> float:
        seen.append(real(mip, limit, stop))  # type: ignore[arg-type]
        return seen[-1]

    mp.setattr(set_cover, "SMALL_COMPONENT_SITES", 0)
    mp.setattr(set_cover, "AUTO_HIGHS_LP_GAP", gap)
    mp.setattr(set_cover, "lp_bound", spy)
    return seen


@settings(max_examples=30, deadline=None)
@given(covers(), st.sampled_from([-1.0, math.inf, 0.27]))
def test_lscp_auto_with_the_lp_probe_is_exact(inst: tuple[sp.csr_matrix, np.ndarray],
                                              gap: float) -> None:
    """-1: every probed component goes to HiGHS, inf: to SCIP, 0.27: the rule."""
    c, costs = inst
    opt = _brute_lscp(c, costs)
    with pytest.MonkeyPatch.context() as mp:
        seen = _probe_everywhere(mp, gap)
        r = lscp(c, np.ones(c.shape[0]), costs=costs, engine="auto", **KW)
    _check_answer(c, r, opt)
    assert all(b <= opt + 1e-9 for b in seen)
    engines = {s.solver for s in r.stages}
    if seen and gap == -1.0:
        assert "ortools-mathopt-scip" not in engines
    if seen and gap == math.inf:
        assert "ortools-mathopt-highs" not in engines


def test_the_lp_floor_holds_when_the_engine_returns_nothing() -> None:
    """The engine ends without an answer or a bound (as at a time limit before its
    root): the greedy cover (2 sites) is kept and the probe's LP 1.5, rounded up with
    whole costs, proves it; the packing bound alone is 1 (every two rows meet)."""

    def nothing(mip: object, **kw: object) -> MipSolution:
        return MipSolution(SolverReport(SolveStatus.NOT_SOLVED, math.nan, -math.inf, math.inf,
                                        0.0, "ortools-mathopt-scip", 0, 1, 1.0, "time limit"),
                           None)

    assert set_cover.packing_bound(TRIANGLE, np.ones(3)) == 1.0
    with pytest.MonkeyPatch.context() as mp:
        _probe_everywhere(mp, math.inf)
        mp.setattr(set_cover, "solve_mip", nothing)
        r = lscp(TRIANGLE, np.ones(3), engine="auto", **KW)
        # costs of thirds: no rounding, the floor is the LP itself
        r3 = lscp(TRIANGLE, np.ones(3), costs=np.full(3, 1.0 / 3.0), engine="auto", **KW)
    assert r.status is SolveStatus.OPTIMAL and r.objective == 2.0 and r.best_bound == 2.0
    assert r3.status is SolveStatus.FEASIBLE
    assert 0.5 - 1e-5 <= r3.best_bound <= 0.5 <= r3.objective
    assert abs(r3.objective - 2.0 / 3.0) < 1e-9
    assert "bound from the component's LP" in r3.report.message


@settings(max_examples=30, deadline=None)
@given(mclp_instances(), st.booleans(), st.integers(0, 3))
def test_first_order_mclp_with_the_search_beside_pdlp_is_honest(
        inst: tuple[sp.csr_matrix, np.ndarray, int], whole: bool, seed: int) -> None:
    """Two threads: PDLP on one, the local search on the other until PDLP returns."""
    c, w, p = inst
    if not whole:
        w = w / 3.0
    opt = _brute_mclp(c, w, p)
    calls: list[int] = []
    real = max_cover._lp_with_search

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(max_cover, "_lp_with_search", spy)
        res = mclp(c, w, p, tuning=Tuning(max_mip_nonzeros=0),
                   **{**KW, "threads": 2, "seed": seed})
    assert res.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    assert len(res.open_sites) <= p
    assert res.objective == res.covered_weight
    assert res.objective <= opt + 1e-9
    assert res.best_bound >= opt - 1e-6
    if res.status is SolveStatus.OPTIMAL:
        assert abs(res.objective - opt) < 1e-6
    # the reductions may leave no site to choose; otherwise the concurrent path ran
    if "PDLP" in res.report.message:
        assert calls


def test_search_beside_pdlp_by_hand_and_stopped() -> None:
    c = sp.csr_matrix(np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 0, 0],
                                [0, 0, 1, 0], [0, 0, 0, 1]], dtype=bool))
    w = np.array([5.0, 1.0, 6.0, 4.0, 3.0])
    kw = {**KW, "threads": 2}
    res = mclp(c, w, 2, tuning=Tuning(max_mip_nonzeros=0), **kw)
    assert res.objective == 12.0 and res.open_sites.tolist() == [0, 1]
    assert res.status is SolveStatus.OPTIMAL and "PDLP" in res.report.message
    stop = threading.Event()
    stop.set()
    stopped = mclp(c, w, 2, tuning=Tuning(max_mip_nonzeros=0), stop=stop, **kw)
    assert stopped.best_bound >= 12.0 and stopped.objective <= 12.0
    assert stopped.status is not SolveStatus.OPTIMAL or stopped.objective == 12.0


@settings(max_examples=15, deadline=None)
@given(covers())
def test_an_lp_probe_out_of_time_sends_the_component_to_highs(
        inst: tuple[sp.csr_matrix, np.ndarray]) -> None:
    """The probe's LP not solved in its time (``lp_bound`` gives ``-inf``, as it does
    at its limit): HiGHS, and the answer and bound stay exact."""
    c, costs = inst
    opt = _brute_lscp(c, costs)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(set_cover, "SMALL_COMPONENT_SITES", 0)
        mp.setattr(set_cover, "lp_bound", lambda mip, limit, stop=None: -math.inf)
        r = lscp(c, np.ones(c.shape[0]), costs=costs, engine="auto", **KW)
    _check_answer(c, r, opt)
    assert "ortools-mathopt-scip" not in {s.solver for s in r.stages}


def test_lp_bound_out_of_time_is_no_bound() -> None:
    # a limit too short for any LP: -inf, never a value that is not a bound
    rng = np.random.default_rng(0)
    c = sp.csr_matrix(rng.random((400, 300)) < 0.05)
    c = c[np.diff(c.indptr) > 0]
    mip, _ = cover_mip(c, np.ones(300))
    b = lp_bound(mip, 1e-6)
    assert b == -math.inf or b <= lp_bound(mip, 30.0) + 1e-9


def test_a_stop_skips_the_lp_probe_and_a_stopped_probe_is_no_bound() -> None:
    stop = threading.Event()
    stop.set()
    mip, _ = cover_mip(TRIANGLE, np.ones(3))
    # the triangle's LP may finish before the stop is seen: a bound either way
    b = lp_bound(mip, 10.0, stop)
    assert b == -math.inf or b <= 1.5
    with pytest.MonkeyPatch.context() as mp:
        seen = _probe_everywhere(mp, 0.27)
        r = lscp(TRIANGLE, np.ones(3), engine="auto", stop=stop, **KW)
    assert not seen
    assert r.objective == 2.0 and r.best_bound <= 2.0
    assert np.asarray(TRIANGLE[:, r.open_sites].sum(axis=1)).ravel().min() >= 1


def test_no_lp_probe_above_its_size() -> None:
    with pytest.MonkeyPatch.context() as mp:
        seen = _probe_everywhere(mp, 0.27)
        mp.setattr(set_cover, "LP_PROBE_MAX_NONZEROS", TRIANGLE.nnz - 1)
        # no Lagrangian bound either: it would prove the triangle before any engine
        mp.setattr(set_cover, "LAGRANGE_SHARE", 0.0)
        r = lscp(TRIANGLE, np.ones(3), engine="auto", **KW)
    assert not seen
    assert r.status is SolveStatus.OPTIMAL and r.objective == 2.0
    assert {s.solver for s in r.stages} == {"ortools-mathopt-scip"}


def test_lagrangian_bound_proves_a_component_too_large_for_the_probe() -> None:
    """Issue #16: above the probe's size, the Lagrangian bound (1.5 on the triangle,
    rounded up to 2 with whole costs) proves the search's cover of 2 with no engine;
    with thirds as costs (no rounding) the engine runs and proves 2/3."""
    calls: list[str] = []
    real = set_cover.solve_mip

    def spy(mip: SparseMip, **kw: Any) -> MipSolution:
        calls.append(str(kw["engine"]))
        return real(mip, **kw)

    with pytest.MonkeyPatch.context() as mp:
        seen = _probe_everywhere(mp, 0.27)
        mp.setattr(set_cover, "LP_PROBE_MAX_NONZEROS", TRIANGLE.nnz - 1)
        mp.setattr(set_cover, "solve_mip", spy)
        r = lscp(TRIANGLE, np.ones(3), engine="auto", **KW)
        assert not seen and not calls
        assert r.status is SolveStatus.OPTIMAL and r.objective == 2.0 and r.best_bound == 2.0
        assert {s.solver for s in r.stages} == {"local-search+lagrangian"}
        r3 = lscp(TRIANGLE, np.ones(3), costs=np.full(3, 1.0 / 3.0), engine="auto", **KW)
        assert calls == ["scip"]
        assert r3.status is SolveStatus.OPTIMAL and abs(r3.objective - 2.0 / 3.0) < 1e-9


@settings(max_examples=30, deadline=None)
@given(covers())
def test_lscp_with_the_lagrangian_bound_is_exact(inst: tuple[sp.csr_matrix, np.ndarray]) -> None:
    """Every component past the probe's size: the Lagrangian bound never passes the
    optimum, and a cover it proves is the optimum (against brute force)."""
    c, costs = inst
    opt = _brute_lscp(c, costs)
    with pytest.MonkeyPatch.context() as mp:
        _probe_everywhere(mp, 0.27)
        mp.setattr(set_cover, "LP_PROBE_MAX_NONZEROS", -1)
        r = lscp(c, np.ones(c.shape[0]), costs=costs, engine="auto", **KW)
    _check_answer(c, r, opt, proven=True)


def test_scip_keeps_a_hint_that_names_few_sites() -> None:
    # SCIP drops a partial hint when more than 85 % of the variables are missing; a
    # cover of 51 of 300 sites given as its non-zeros alone was dropped (no solution
    # after 0.01 s; SCIP counts the unknowns in its own transformed space). Every variable is handed over, so the hint is the incumbent.
    from optimizer._cover import greedy_cover
    from optimizer._mip import solve_mip

    rng = np.random.default_rng(7)
    demand, sites = rng.uniform(0, 30, (800, 2)), rng.uniform(0, 30, (300, 2))
    dist = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    c = sp.csr_matrix(dist <= 3.0)
    c = c[np.diff(c.indptr) > 0]
    costs = np.ones(300)
    hint = greedy_cover(c, costs)
    assert hint.sum() == 51  # 249 of 300 variables left out: SCIP dropped it
    mip, x0 = cover_mip(c, costs)
    sol = solve_mip(mip, engine="scip", time_limit_s=0.01, hint=hint.astype(np.float64))
    assert sol.values is not None
    assert sol.report.objective <= hint.sum() + 1e-9
    x = sol.values[x0:x0 + 300] > 0.5
    assert (c @ x).min() >= 1  # a cover


def _count_beside(mp: pytest.MonkeyPatch) -> list[float]:
    """Counts the runs of the search beside the engine (their covers' costs)."""
    runs: list[float] = []
    real = set_cover._engine_beside_search

    def spy(mip: SparseMip, sub: sp.csr_matrix, sub_cost: np.ndarray, start: np.ndarray,
            **kw: Any) -> tuple[MipSolution, np.ndarray]:
        sol, best = real(mip, sub, sub_cost, start, **kw)
        assert float(sub_cost[best].sum()) <= float(sub_cost[start].sum()) + 1e-9
        assert (sub @ best.astype(np.int64)).min() >= 1  # still a cover
        runs.append(float(sub_cost[best].sum()))
        return sol, best

    mp.setattr(set_cover, "_engine_beside_search", spy)
    return runs


@settings(max_examples=25, deadline=None)
@given(covers(), st.sampled_from(["highs", "scip"]))
def test_lscp_with_the_search_beside_the_engine_is_exact(
        inst: tuple[sp.csr_matrix, np.ndarray], engine: str) -> None:
    """Two threads and every component sent to ``engine`` with the search beside it
    (SCIP: every LP gap counts as far): the answer and bound stay exact (OPTIMAL only
    at the brute-force optimum)."""
    c, costs = inst
    opt = _brute_lscp(c, costs)
    with pytest.MonkeyPatch.context() as mp:
        seen = _probe_everywhere(mp, -1.0 if engine == "highs" else math.inf)
        mp.setattr(set_cover, "SEARCH_BESIDE_LP_GAP", -math.inf)
        mp.setattr(set_cover, "CORE_SHARE", 0.0)  # the engine, not CP-SAT's proof
        runs = _count_beside(mp)
        r = lscp(c, np.ones(c.shape[0]), costs=costs, engine="auto",
                 **{**KW, "threads": 2})
    _check_answer(c, r, opt)
    if seen:  # a component went through the probe: the engine with the search beside
        assert len(runs) == len(seen)
        assert {s.solver for s in r.stages} == {f"ortools-mathopt-{engine}"}


def test_the_search_beside_keeps_its_better_cover() -> None:
    """HiGHS returns all 6 sites of a 6-cycle (bound 2, its LP 3 less a poor root):
    the search beside it finds a cover of 3, which is kept, FEASIBLE, the bound the
    engine's 2 raised to the probe's LP 3, so proven."""
    ring = np.zeros((6, 6), dtype=bool)
    for i in range(6):
        ring[i, i] = ring[i, (i + 1) % 6] = True
    c = sp.csr_matrix(ring)

    def poor(mip: SparseMip, **kw: Any) -> MipSolution:
        time.sleep(0.3)  # the search's time
        return MipSolution(SolverReport(SolveStatus.FEASIBLE, 6.0, 2.0, 2.0 / 3.0, 0.3,
                                        "ortools-mathopt-highs", 0, 1, 1.0, "time limit"),
                           np.ones(mip.n_vars))

    with pytest.MonkeyPatch.context() as mp:
        _probe_everywhere(mp, -1.0)
        runs = _count_beside(mp)
        mp.setattr(set_cover, "solve_mip", poor)
        mp.setattr(set_cover, "greedy_cover", lambda m, cost: np.ones(m.shape[1], dtype=bool))
        mp.setattr(set_cover, "LSCP_SHORT_SEARCH_S", 0.0)
        mp.setattr(set_cover, "DECOMPOSITION_SHARE", 0.0)  # the stub would answer it too
        r = lscp(c, np.ones(6), engine="auto", **{**KW, "threads": 2})
    assert runs == [3.0]
    assert r.objective == 3.0 and r.best_bound == 3.0
    assert r.status is SolveStatus.OPTIMAL  # the rounded-up LP meets the search's cover


def test_decomposition_bound_of_two_triangles() -> None:
    """Two separate triangles (each row of one needs one of two of its sites): LP 3,
    optimum 4. One band per triangle, each site's cost all in its own band: each
    band's optimum 2, so the bound is 4, the optimum, where the LP gives 3."""
    two = sp.csr_matrix(sp.block_diag([TRIANGLE, TRIANGLE]), dtype=bool)
    costs = np.ones(6)
    mip, _ = cover_mip(two, costs)
    assert lp_bound(mip, 10.0) <= 3.0
    b, union = set_cover.decomposition_bound(two, costs, time_limit_s=10.0)
    assert 4.0 - 1e-5 <= b <= 4.0
    assert union is not None and union.sum() == 4  # two sites of each triangle
    assert (two @ union.astype(np.int64)).min() >= 1
    # one band: the MIP itself; six bands of one row each: no better than the LP
    assert 4.0 - 1e-5 <= set_cover.decomposition_bound(two, costs, time_limit_s=10.0,
                                                       regions=1)[0] <= 4.0
    assert set_cover.decomposition_bound(two, costs, time_limit_s=10.0,
                                         regions=6)[0] <= 3.0 + 1e-9


@settings(max_examples=40, deadline=None)
@given(covers(), st.integers(1, 4), st.booleans())
def test_decomposition_bound_lies_between_the_lp_and_the_optimum(
        inst: tuple[sp.csr_matrix, np.ndarray], regions: int, with_cover: bool) -> None:
    c, costs = inst
    opt = _brute_lscp(c, costs)
    mip, _ = cover_mip(c, costs)
    lp = lp_bound(mip, 10.0)
    cover = set_cover.greedy_cover(c, costs) if with_cover else None
    b, union = set_cover.decomposition_bound(c, costs, time_limit_s=10.0, regions=regions,
                                             cover=cover)
    assert b <= opt + 1e-9
    assert union is not None  # the bands solved in time: their covers' union
    assert (c @ union.astype(np.int64)).min() >= 1
    assert float(costs[union].sum()) >= opt - 1e-9
    assert b >= lp - 1e-5 * max(1.0, abs(lp))  # the bands solved in time: never below the LP


def test_band_count_by_hand() -> None:
    """Two bands up to 3 x BAND_ROWS - 1 rows; above, about BAND_ROWS rows a band."""
    rows = set_cover.BAND_ROWS
    assert set_cover.band_count(10) == 2
    assert set_cover.band_count(3 * rows - 1) == 2  # Quảng Ninh's 1,292-1,311 rows
    assert set_cover.band_count(3 * rows) == 3
    assert set_cover.band_count(1528) == 2  # Phú Thọ 1 km's
    assert set_cover.band_count(2283) == 4  # Lạng Sơn 1 km's component
    assert set_cover.band_count(7 * rows + rows // 2) == 7


def _shared_sites(c: sp.csr_matrix, band: np.ndarray) -> int:
    """Sites serving rows of two bands or more."""
    serves = [np.asarray(c[band == k].sum(axis=0)).ravel() > 0 for k in np.unique(band)]
    return int((np.sum(serves, axis=0) >= 2).sum())


def test_band_split_halves_a_strip_across_its_short_side() -> None:
    """A 4 x 12 grid of demand points, a site at each covering itself and its four
    neighbours: two bands of 24 rows; the straight cut between columns 5 and 6
    shares the 8 sites of those two columns, the split shares no more (a cut along
    the strip would share 24)."""
    n_r, n_c = 4, 12
    dense = np.zeros((n_r * n_c, n_r * n_c), dtype=bool)
    for r in range(n_r):
        for q in range(n_c):
            for dr, dq in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
                if 0 <= r + dr < n_r and 0 <= q + dq < n_c:
                    dense[r * n_c + q, (r + dr) * n_c + q + dq] = True
    grid = sp.csr_matrix(dense)
    band = set_cover.band_split(grid, 2)
    assert np.bincount(band).tolist() == [24, 24]
    assert _shared_sites(grid, band) <= 8


@st.composite
def spatial_covers(draw: st.DrawFn) -> sp.csr_matrix:
    """Demand points and sites in a rectangle, a site covering the points within a
    radius (every point covered by at least its nearest site)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    n, m = draw(st.integers(8, 300)), draw(st.integers(4, 40))
    width = draw(st.floats(1.0, 4.0))
    demand = rng.uniform(0, 1, (n, 2)) * [width, 1.0]
    sites = rng.uniform(0, 1, (m, 2)) * [width, 1.0]
    dist = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    dense = dist <= draw(st.floats(0.1, 0.6))
    dense[np.arange(n), dist.argmin(axis=1)] = True
    return sp.csr_matrix(dense)


@settings(max_examples=40, deadline=None)
@given(spatial_covers(), st.integers(2, 4))
def test_band_split_balances_the_rows_and_shares_few_sites(
        c: sp.csr_matrix, regions: int) -> None:
    """Every row gets a band below ``regions``; once the window holds a cut, each
    border falls within it; with two bands, no more shared sites than Cuthill-McKee's
    order cut anywhere in the window."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    n = c.shape[0]
    band = set_cover.band_split(c, regions)
    assert band.shape == (c.shape[0],)
    assert band.min() >= 0 and band.max() < regions
    width = set_cover.BAND_WINDOW / regions
    if 1.0 / n <= width:
        share = np.cumsum(np.bincount(band, minlength=regions))[:-1] / n
        target = np.arange(1, regions) / regions
        assert (np.abs(share - target) <= width + 1e-9).all()
    if regions == 2:
        a = sp.csr_matrix(c, dtype=np.float64)
        order = reverse_cuthill_mckee(sp.csr_matrix(a @ a.T), symmetric_mode=True)
        in_window = [t for t in range(1, n) if abs(t / n - 0.5) <= width]
        if in_window:
            best = min(_shared_sites(c, (np.argsort(order) >= t).astype(np.int64))
                       for t in in_window)
            assert _shared_sites(c, band) <= best


def test_a_stop_ends_the_search_beside_and_the_decomposition() -> None:
    """A stop 1.5 s into a 30 s solve of 800 x 300 with the search and the
    decomposition beside HiGHS: back within a few seconds with a cover, honestly."""
    rng = np.random.default_rng(7)
    demand, sites = rng.uniform(0, 30, (800, 2)), rng.uniform(0, 30, (300, 2))
    dist = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    c = sp.csr_matrix(dist <= 3.0)
    c = c[np.diff(c.indptr) > 0]
    stop = threading.Event()
    timer = threading.Timer(1.5, stop.set)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(set_cover, "AUTO_HIGHS_LP_GAP", -1.0)
        mp.setattr(set_cover, "LSCP_SHORT_SEARCH_S", 0.2)
        runs = _count_beside(mp)
        timer.start()
        t0 = time.perf_counter()
        r = lscp(c, np.ones(c.shape[0]), engine="auto", time_limit_s=30.0, threads=2, stop=stop)
        wall = time.perf_counter() - t0
    assert runs  # the stop came during the search beside
    assert wall < 8.0
    assert np.asarray(c[:, r.open_sites].sum(axis=1)).ravel().min() >= 1
    assert r.best_bound <= r.objective + 1e-9
    if r.status is SolveStatus.OPTIMAL:
        assert r.best_bound >= r.objective - 1e-9


def test_row_subset_bound_of_two_triangles() -> None:
    """Two separate triangles (LP 3, optimum 4): the first subset (a packing, fewest
    sites first: one row of each triangle) has optimum 2 and leaves rows uncovered;
    adding them lifts the subset's optimum to 4, the optimum, where the LP gives 3;
    its answer covers every row, so the cover of 4 is optimal."""
    two = sp.csr_matrix(sp.block_diag([TRIANGLE, TRIANGLE]), dtype=bool)
    costs = np.ones(6)
    steps: list[tuple[float, float]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(set_cover, "ROW_SUBSET_FIRST", 2)
        mp.setattr(set_cover, "ROW_SUBSET_ADD", 1)
        b, cover, proven = set_cover.row_subset_bound(
            two, costs, deadline=time.perf_counter() + 20.0,
            on_step=lambda bound, cov: steps.append((bound, float(costs[cov].sum()))))
    assert 4.0 - 1e-5 <= b <= 4.0 and proven
    assert cover is not None and cover.sum() == 4 and (two @ cover.astype(np.int64)).min() >= 1
    assert steps[0][0] <= 2.0 + 1e-9  # two rows: two sites
    assert len(steps) >= 2 and all(bd <= 4.0 for bd, _ in steps)
    assert [bd for bd, _ in steps] == sorted(bd for bd, _ in steps)  # never falls
    assert all(cost >= 4.0 for _, cost in steps)  # every step's cover is a cover


@settings(max_examples=40, deadline=None)
@given(covers(), st.integers(1, 3), st.integers(1, 3), st.booleans())
def test_row_subset_bound_never_passes_the_optimum(
        inst: tuple[sp.csr_matrix, np.ndarray], first: int, add: int, whole_costs: bool) -> None:
    """Any start and step size, whole costs or thirds: the bound is at most the optimum (brute force), each step's cover covers
    every row, and the loop ends (no time limit hit) at the optimum, proven."""
    c, costs = inst
    if not whole_costs:
        costs = costs / 3.0
    opt = _brute_lscp(c, costs)
    seen: list[float] = []

    def check(bound: float, cover: np.ndarray) -> None:
        assert bound <= opt + 1e-9
        assert (c @ cover.astype(np.int64)).min() >= 1
        seen.append(float(costs[cover].sum()))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(set_cover, "ROW_SUBSET_FIRST", first)
        mp.setattr(set_cover, "ROW_SUBSET_ADD", add)
        b, cover, proven = set_cover.row_subset_bound(
            c, costs, deadline=time.perf_counter() + 30.0, on_step=check)
    assert b <= opt + 1e-9
    assert b >= opt - 1e-5 * max(1.0, opt)  # ended with a subset answer covering all rows
    assert proven and cover is not None and abs(float(costs[cover].sum()) - opt) < 1e-9
    assert all(v >= opt - 1e-9 for v in seen)


@settings(max_examples=25, deadline=None)
@given(covers())
def test_lscp_with_the_row_subsets_beside_the_search_is_exact(
        inst: tuple[sp.csr_matrix, np.ndarray]) -> None:
    """Two threads, every component past the probe's size: the row-subset MIP beside
    the search (no Lagrangian, no engine on the whole component); the answer covers,
    the bound holds, and OPTIMAL only at the brute-force optimum (the subsets reach it
    in the limit on these small instances)."""
    c, costs = inst
    opt = _brute_lscp(c, costs)
    with pytest.MonkeyPatch.context() as mp:
        seen = _probe_everywhere(mp, 0.27)
        mp.setattr(set_cover, "LP_PROBE_MAX_NONZEROS", -1)
        mp.setattr(set_cover, "ROW_SUBSET_FIRST", 1)
        mp.setattr(set_cover, "ROW_SUBSET_ADD", 1)
        runs = _count_beside(mp)
        r = lscp(c, np.ones(c.shape[0]), costs=costs, engine="auto", **{**KW, "threads": 2})
    assert not seen  # no LP probe
    assert len(runs) == len(r.stages)  # each component: the row subsets beside the search
    _check_answer(c, r, opt, proven=True)
    # (no stage at all when the reductions leave no row)
    assert {s.solver for s in r.stages} <= {"ortools-mathopt-scip"}


@pytest.mark.parametrize("cost", [1.0, 1.0 / 3.0])
def test_the_row_subsets_prove_a_ring_beside_the_search(cost: float) -> None:
    """A 6-cycle (row i needs site i or i+1; LP 3 = optimum 3) past the probe's size, two
    threads: the row subsets run beside the search (one run), no Lagrangian bound, and
    prove the cover of 3 sites (whole costs by the rounded-up bound, thirds by the
    subset's answer covering every row); no search before them (the search runs
    beside, the row subsets get its seconds)."""
    ring = np.zeros((6, 6), dtype=bool)
    for i in range(6):
        ring[i, i] = ring[i, (i + 1) % 6] = True
    c = sp.csr_matrix(ring)
    lagrange: list[float] = []
    real = set_cover.lagrangian_bound

    def spy(*a: Any, **kw: Any) -> tuple[float, np.ndarray]:
        out = real(*a, **kw)
        lagrange.append(out[0])
        return out

    with pytest.MonkeyPatch.context() as mp:
        seen = _probe_everywhere(mp, 0.27)
        mp.setattr(set_cover, "LP_PROBE_MAX_NONZEROS", -1)
        mp.setattr(set_cover, "lagrangian_bound", spy)
        runs = _count_beside(mp)
        entered: list[bool] = []
        searches: list[bool] = []  # each search: was the run beside entered?
        counted, real_search = set_cover._engine_beside_search, set_cover.improve_cover

        def enter(*a: Any, **kw: Any) -> tuple[MipSolution, np.ndarray]:
            entered.append(True)
            return counted(*a, **kw)

        def search(*a: Any, **kw: Any) -> tuple[np.ndarray, int]:
            searches.append(bool(entered))
            return real_search(*a, **kw)

        mp.setattr(set_cover, "_engine_beside_search", enter)
        mp.setattr(set_cover, "improve_cover", search)
        r = lscp(c, np.ones(6), costs=np.full(6, cost), engine="auto", **{**KW, "threads": 2})
    assert not seen and not lagrange
    assert runs == [3.0 * cost]
    assert searches and all(searches)  # every search beside, none before
    assert r.status is SolveStatus.OPTIMAL and abs(r.objective - 3.0 * cost) < 1e-9
    assert r.best_bound <= r.objective + 1e-9
    assert {s.solver for s in r.stages} == {"ortools-mathopt-scip"}


def test_solve_mip_without_slices_is_one_engine_call() -> None:
    """``slices=False`` (the row subsets): one engine call even with a stop event (with
    slices, a slice of 1 s would start a longer proof again); a stop already set
    abandons it, with no answer."""
    from optimizer import _mip

    calls: list[float | None] = []
    real = _mip._solve_once

    def spy(mip: SparseMip, **kw: Any) -> MipSolution:
        calls.append(kw.get("time_limit_s"))
        return real(mip, **kw)

    mip, _ = cover_mip(TRIANGLE, np.ones(3))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_mip, "_solve_once", spy)
        mp.setattr(_mip, "FIRST_SLICE_S", 1e-6)  # sliced, the first slice ends at once
        sol = _mip.solve_mip(mip, engine="scip", time_limit_s=10.0, stop=threading.Event(),
                             slices=False)
        assert calls == [10.0]
        assert sol.report.status is SolveStatus.OPTIMAL and sol.report.objective == 2.0
        stop = threading.Event()
        stop.set()
        sol = _mip.solve_mip(mip, engine="scip", time_limit_s=10.0, stop=stop, slices=False)
        assert sol.values is None and sol.report.status is not SolveStatus.OPTIMAL


RING6 = sp.csr_matrix(np.array([[j in (i, (i + 1) % 6) for j in range(6)] for i in range(6)]))


def test_region_search_of_the_ring_by_hand() -> None:
    """A ring of 6 rows, row i served by sites i and i+1: from all six sites, one
    region of every row frees them all and SCIP's answer is 3 sites; regions of one
    row (2 sites free, the rest fixed open) leave only redundant sites, never a
    cheaper cover than the pruned start's 3 either."""
    costs = np.ones(6)
    out = set_cover.region_search(RING6, costs, np.ones(6, dtype=bool), rows=6,
                                  deadline=time.perf_counter() + 10.0, target=3.0)
    assert out.sum() == 3 and (RING6 @ out.astype(np.int64)).min() >= 1
    one = set_cover.region_search(RING6, costs, np.ones(6, dtype=bool), rows=1,
                                  deadline=time.perf_counter() + 0.5)
    assert one.sum() == 3 and (RING6 @ one.astype(np.int64)).min() >= 1


@settings(max_examples=25, deadline=None)
@given(covers(), st.integers(1, 10), st.integers(0, 2**31 - 1))
def test_region_search_keeps_a_cover_and_whole_regions_reach_the_optimum(
        inst: tuple[sp.csr_matrix, np.ndarray], rows: int, seed: int) -> None:
    """From every site: the answer covers every row, never costs more than the start
    nor less than the optimum; with regions of every row (each step the exact cover
    of a whole connected part, the rest fixed), the optimum (the target, so the
    search ends there) is reached within the time."""
    c, costs = inst
    opt = _brute_lscp(c, costs)
    start = np.ones(c.shape[1], dtype=bool)
    better: list[float] = []
    out = set_cover.region_search(c, costs, start, rows=rows, seed=seed,
                                  deadline=time.perf_counter() + 0.3,
                                  on_better=lambda x: better.append(float(costs[x].sum())))
    assert (c @ out.astype(np.int64)).min() >= 1
    assert opt - 1e-9 <= float(costs[out].sum()) <= float(costs.sum()) + 1e-9
    assert better == sorted(better, reverse=True)  # each one strictly cheaper
    whole_rows = set_cover.region_search(c, costs, start, rows=c.shape[0], seed=seed,
                                         deadline=time.perf_counter() + 20.0, target=opt)
    assert (c @ whole_rows.astype(np.int64)).min() >= 1
    assert abs(float(costs[whole_rows].sum()) - opt) < 1e-9


@settings(max_examples=20, deadline=None)
@given(covers(), st.integers(1, 3))
def test_lscp_with_regions_beside_the_search_is_exact(
        inst: tuple[sp.csr_matrix, np.ndarray], region_rows: int) -> None:
    """Two threads, every component to HiGHS with the search beside it and regions of
    1-3 rows in place of the engine after the decomposition bound (components of more
    rows): the answer and bound stay exact, OPTIMAL only at the brute-force optimum,
    and a component that had the regions reports SCIP."""
    c, costs = inst
    opt = _brute_lscp(c, costs)
    calls: list[int] = []
    real = set_cover.region_search

    def spy(sub: sp.csr_matrix, *a: Any, **kw: Any) -> np.ndarray:
        calls.append(sub.shape[0])
        out: np.ndarray = real(sub, *a, **kw)
        return out

    with pytest.MonkeyPatch.context() as mp:
        _probe_everywhere(mp, -1.0)
        mp.setattr(set_cover, "REGION_ROWS", region_rows)
        mp.setattr(set_cover, "DECOMPOSITION_SHARE", 0.3)
        mp.setattr(set_cover, "CORE_SHARE", 0.0)  # the regions, not CP-SAT's proof
        mp.setattr(set_cover, "region_search", spy)
        r = lscp(c, np.ones(c.shape[0]), costs=costs, engine="auto",
                 **{**KW, "threads": 2, "time_limit_s": 4.0})
    _check_answer(c, r, opt)
    assert all(n > region_rows for n in calls)
    if calls:
        assert "ortools-mathopt-scip" in {s.solver for s in r.stages}


def test_core_bound_of_two_triangles_and_the_ring() -> None:
    """Two triangles: each needs two of its three sites (LP 3, optimum 4); the 6-ring:
    3. CP-SAT's core-based search proves both, its cover a cover of that cost; costs
    not whole: no bound."""
    two = sp.csr_matrix(sp.block_diag([TRIANGLE, TRIANGLE]), dtype=bool)
    for c, opt in ((two, 4.0), (RING6, 3.0)):
        seen: list[float] = []
        b, cover, proven = set_cover.core_bound(c, np.ones(6), deadline=time.perf_counter() + 10.0,
                                                on_bound=seen.append)
        assert proven and b == opt
        assert cover is not None and cover.sum() == opt
        assert (c @ cover.astype(np.int64)).min() >= 1
        assert all(v <= opt for v in seen)
    assert set_cover.core_bound(RING6, np.full(6, 0.5),
                                deadline=time.perf_counter() + 10.0) == (-math.inf, None, False)


@settings(max_examples=40, deadline=None)
@given(covers())
def test_core_bound_is_the_brute_force_optimum(inst: tuple[sp.csr_matrix, np.ndarray]) -> None:
    """Every bound it reports on the way is at most the optimum; in time, the optimum,
    proven, with a cover of that cost."""
    c, costs = inst
    opt = _brute_lscp(c, costs)
    seen: list[float] = []
    b, cover, proven = set_cover.core_bound(c, costs, deadline=time.perf_counter() + 20.0,
                                            on_bound=seen.append)
    assert all(v <= opt + 1e-9 for v in seen)
    assert proven and abs(b - opt) < 1e-9
    assert cover is not None and (c @ cover.astype(np.int64)).min() >= 1
    assert abs(float(costs[cover].sum()) - opt) < 1e-9


@settings(max_examples=20, deadline=None)
@given(covers())
def test_lscp_with_the_core_search_beside_the_search_is_exact(
        inst: tuple[sp.csr_matrix, np.ndarray]) -> None:
    """Two threads, every component to HiGHS with the search beside it: CP-SAT's
    core-based search first (whole costs); OPTIMAL only at the brute-force optimum,
    and where it proved a component the stage says CP-SAT."""
    c, costs = inst
    opt = _brute_lscp(c, costs)
    cores: list[bool] = []
    real = set_cover.core_bound

    def spy(*a: Any, **kw: Any) -> tuple[float, np.ndarray | None, bool]:
        out = real(*a, **kw)
        cores.append(out[2])
        return out

    with pytest.MonkeyPatch.context() as mp:
        _probe_everywhere(mp, -1.0)
        mp.setattr(set_cover, "core_bound", spy)
        r = lscp(c, np.ones(c.shape[0]), costs=costs, engine="auto",
                 **{**KW, "threads": 2, "time_limit_s": 4.0})
    _check_answer(c, r, opt)
    if any(cores):
        assert r.status is SolveStatus.OPTIMAL
        assert r.report.solver == "ortools-cp-sat" or "ortools-cp-sat" in {
            s.solver for s in r.stages}


def _core_spy() -> tuple[Callable[..., tuple[float, np.ndarray | None, bool]], list[bool]]:
    """A stand-in for ``set_cover.core_bound`` that calls it and records whether each
    call proved its component."""
    real = set_cover.core_bound
    cores: list[bool] = []

    def spy(*a: Any, **kw: Any) -> tuple[float, np.ndarray | None, bool]:
        out = real(*a, **kw)
        cores.append(out[2])
        return out

    return spy, cores


def _ring(n: int) -> sp.csr_matrix:
    """Row i needs site i, i + 1 or i + 2 of ``n`` (optimum ceil(n / 3))."""
    return sp.csr_matrix(np.array([[(j - i) % n < 3 for j in range(n)] for i in range(n)]))


@pytest.mark.parametrize("threads", [1, 2])
def test_the_core_search_proves_rings_beside_the_search(threads: int) -> None:
    """Rings the reductions leave whole (row i needs site i, i + 1 or i + 2 of 9 or 10:
    optimum 3 and 4; LP 3 and 10/3): CP-SAT's core-based search runs first (two
    threads: beside the search; one: before the engine on the whole) and proves
    them, and the stage says so.  (10 s: a process's first CP-SAT call took 2.6 s for
    the ring at load 8, past a quarter of a 4 s limit; the proofs take milliseconds.)"""
    spy, cores = _core_spy()
    for n, opt in ((9, 3.0), (10, 4.0)):
        ring = _ring(n)
        cores.clear()
        with pytest.MonkeyPatch.context() as mp:
            _probe_everywhere(mp, -1.0)
            mp.setattr(set_cover, "core_bound", spy)
            r = lscp(ring, np.ones(n), engine="auto",
                     **{**KW, "threads": threads, "time_limit_s": 10.0})
        assert cores == [True]
        assert r.status is SolveStatus.OPTIMAL and r.objective == opt and r.best_bound == opt
        assert r.report.solver == "ortools-cp-sat" or "ortools-cp-sat" in {
            s.solver for s in r.stages}


def test_the_core_search_runs_first_on_one_thread_whatever_the_bands() -> None:
    """One thread (the national sweep's): CP-SAT's core-based search runs before the
    engine on the whole however many bands the component has (here nine: one row a
    band), and proves the rings; on two threads beside the search, more than two
    bands keep the decomposition (no core search)."""
    spy, cores = _core_spy()
    for n, opt in ((9, 3.0), (10, 4.0)):
        ring = _ring(n)
        for threads in (1, 2):
            cores.clear()
            with pytest.MonkeyPatch.context() as mp:
                _probe_everywhere(mp, -1.0)
                mp.setattr(set_cover, "BAND_ROWS", 1)
                mp.setattr(set_cover, "core_bound", spy)
                assert set_cover.band_count(n) > 2
                r = lscp(ring, np.ones(n), engine="auto",
                         **{**KW, "threads": threads, "time_limit_s": 10.0})
            _check_answer(ring, r, opt)
            if threads == 1:
                assert cores == [True]
                assert r.status is SolveStatus.OPTIMAL
                assert r.report.solver == "ortools-cp-sat" or "ortools-cp-sat" in {
                    s.solver for s in r.stages}
            else:
                assert cores == []


@settings(max_examples=20, deadline=None)
@given(covers(), st.sampled_from([-1.0, math.inf]), st.sampled_from([0.0, 0.01, 0.5]))
def test_lscp_with_the_core_search_first_on_one_thread_is_exact(
        inst: tuple[sp.csr_matrix, np.ndarray], gap: float, share: float) -> None:
    """One thread, every component probed and many bands: CP-SAT's core-based search
    before the engine (for no time, a sliver, or half the share: proven, a floor
    under the engine's bound, or nothing); OPTIMAL only at the brute-force optimum,
    the bound never above it."""
    c, costs = inst
    opt = _brute_lscp(c, costs)
    with pytest.MonkeyPatch.context() as mp:
        _probe_everywhere(mp, gap)
        mp.setattr(set_cover, "BAND_ROWS", 1)
        mp.setattr(set_cover, "CORE_FIRST_SHARE", share)
        r = lscp(c, np.ones(c.shape[0]), costs=costs, engine="auto",
                 **{**KW, "time_limit_s": 4.0})
    _check_answer(c, r, opt)
