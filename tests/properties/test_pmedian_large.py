"""p-median at province size (issue #16): the pieces that make large matrices fast
(per-swap interchange updates, followed negative reduced costs, heuristics on a core,
the one-key sort of the pairs) against brute force and against the plain computations,
and the time limit on a large instance."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer import _pmedian as pm
from optimizer._status import SolveStatus
from optimizer.placement import PlacementResult, p_median
from tests.properties.test_placement_props import assert_median_proven
from tests.properties.test_pmedian_lagrangian import _brute, _setup, cases

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


def _parts(c: dict[str, object]) -> tuple[int, np.ndarray, np.ndarray]:
    p, fixed, allowed = c["p"], c["fixed"], c["allowed"]
    assert isinstance(p, int) and isinstance(fixed, np.ndarray) and isinstance(allowed, np.ndarray)
    return p, fixed, allowed


@settings(max_examples=80, deadline=None)
@given(cases())
def test_interchange_ends_at_a_local_optimum(c: dict[str, object]) -> None:
    """After the per-swap updates no single swap lowers the true cost (checked by
    pricing every swap from scratch), and the set is never worse than its start."""
    pairs, w, tail = _setup(c)
    p, fixed, allowed = _parts(c)
    g = pm.greedy(pairs, w, tail, p, fixed, allowed)
    s, _ = pm.interchange(pairs, w, tail, g, fixed, allowed)
    cs = pm.cost(pairs, w, tail, s)
    assert cs <= pm.cost(pairs, w, tail, g) + 1e-9 or not np.isfinite(pm.cost(pairs, w, tail, g))
    if not np.isfinite(cs) or not np.isfinite(tail).all():
        return  # with an infinite tail the swaps price a surrogate; feasibility is enough
    for j in np.flatnonzero(allowed & ~s):
        for k in np.flatnonzero(s & ~fixed):
            t = s.copy()
            t[j], t[k] = True, False
            assert pm.cost(pairs, w, tail, t) >= cs - 1e-9 * max(1.0, cs)


@settings(max_examples=80, deadline=None)
@given(cases(), st.integers(0, 2**31 - 1), st.floats(0.01, 2.0))
def test_working_set_prices_like_every_entry(c: dict[str, object], seed: int,
                                             spread: float) -> None:
    """The Lagrangian priced on the working set equals the one pricing every entry,
    step after step (small moves that stay inside the set, large ones that rebuild it,
    negative multipliers, rows of weight 0)."""
    pairs, w, tail = _setup(c)
    p, fixed, allowed = _parts(c)
    old = pm.PREFIX_MIN_PAIRS
    ws = pairs.weighted(w)
    rng = np.random.default_rng(seed)
    lam = w * rng.random(w.size) * 3.0
    try:
        for _ in range(10):
            lam = lam * rng.uniform(1.0 - spread / 4, 1.0 + spread / 4, lam.size) \
                + rng.normal(0.0, spread, lam.size)
            pm.PREFIX_MIN_PAIRS = 0
            a = pm.evaluate(ws, w, tail, lam, p, fixed, allowed)
            kr, _, kwd = ws.working.entries(lam)
            # every entry of negative reduced cost is kept
            want = int((ws.wd - lam[ws.rows] < 0.0).sum()) if ws.wd is not None else -1
            assert int((kwd - lam[kr] < 0.0).sum()) == want
            pm.PREFIX_MIN_PAIRS = 10**12
            b = pm.evaluate(pairs.weighted(w), w, tail, lam, p, fixed, allowed)
            assert a.bound == pytest.approx(b.bound, rel=1e-12, abs=1e-9)
            assert np.allclose(a.rho, b.rho) and np.array_equal(a.subgradient, b.subgradient)
            assert np.array_equal(a.chosen, b.chosen)
    finally:
        pm.PREFIX_MIN_PAIRS = old


@settings(max_examples=40, deadline=None)
@given(cases())
def test_large_path_matches_brute_force(c: dict[str, object]) -> None:
    """With the large-matrix path on every instance (core heuristics, followed prefix,
    rounds of fixing): bound <= optimum <= objective, and OPTIMAL only at the optimum."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pm, "CORE_MIN_PAIRS", 0)
        mp.setattr(pm, "PREFIX_MIN_PAIRS", 0)
        _large_path_matches_brute_force(c)


def _large_path_matches_brute_force(c: dict[str, object]) -> None:
    mat, w = c["mat"], c["w"]
    assert isinstance(mat, sp.csr_matrix) and isinstance(w, np.ndarray)
    p, fixed, allowed = _parts(c)
    pairs, _, tail = _setup(c)
    tail = np.where(w > 0, tail, 0.0)  # p_median leaves demand of weight 0 out
    want, _ = _brute(pairs, w, tail, p, fixed, allowed)
    res = p_median(mat, w, p, fixed=np.flatnonzero(fixed), closed=np.flatnonzero(~allowed),
                   unassigned_penalty_min=c["penalty"], **KW)  # type: ignore[arg-type]
    assert_median_proven(res, want, p)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 9), st.integers(1, 9), st.booleans())
def test_pairs_sorted_by_row_distance_column(seed: int, n: int, m: int, tiny: bool) -> None:
    """The one-key sort gives exactly the three-key order (row, distance, column), also
    for distances that differ by less than a float key could tell apart."""
    rng = np.random.default_rng(seed)
    d = rng.integers(0, 4, (n, m)).astype(float) * (rng.random((n, m)) < 0.7)
    if tiny:
        d = np.where(d > 0, 1.0 + d * 1e-15, 0.0)
    mat = sp.csr_matrix(d)
    pairs = pm.Pairs.of(mat)
    rows = np.repeat(np.arange(n), np.diff(mat.indptr))
    order = np.lexsort((mat.indices, mat.data, rows))
    assert np.array_equal(pairs.rows, rows[order])
    assert np.array_equal(pairs.cols, mat.indices[order])
    assert np.array_equal(pairs.dist, mat.data[order])


def test_large_instance_returns_within_its_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 x 1,000 (849k pairs, on the large-matrix path) with a 4 s limit: returns
    within the limit and a generous margin (pt-1km once took 162 s for 60 s), with a
    valid bound below its objective."""
    from optimizer._instances import clustered_instance

    monkeypatch.setattr(pm, "CORE_MIN_PAIRS", 500_000)
    inst = clustered_instance(10000, 1000, radius_km=5.0, seed=3, cutoff_km=15.0)
    limit = 4.0
    t0 = time.perf_counter()
    res = p_median(inst.km, inst.weights, 40, unassigned_penalty_min=30.0, time_limit_s=limit,
                   threads=1)
    wall = time.perf_counter() - t0
    assert wall <= limit + 4.0, res.report.message
    assert res.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    assert res.open_sites.size == 40
    assert res.best_bound <= res.objective + 1e-6 * abs(res.objective)
    assert "core of" in res.report.message  # the large-matrix path ran


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(0, 2**31 - 1))
def test_perturbation_search_is_feasible_and_never_worse(c: dict[str, object], seed: int) -> None:
    """The iterated local search keeps must-open sites, opens only allowed ones, at most
    p, never returns a plan worse than its start, reports the plan's true cost, and
    cannot beat the brute-force optimum."""
    pairs, w, tail = _setup(c)
    p, fixed, allowed = _parts(c)
    start = pm.greedy(pairs, w, tail, p, fixed, allowed)
    c0 = pm.cost(pairs, w, tail, start)
    pool = np.ones(pairs.n_sites, dtype=bool)
    s, cs, tries = pm.perturbation_search(pairs, tail, pairs, w, tail, start, fixed, allowed,
                                          pool, np.random.default_rng(seed), deadline=None,
                                          patience=20)
    assert int(s.sum()) <= p and s[fixed].all() and not (s & ~allowed).any()
    assert cs == pm.cost(pairs, w, tail, s)
    assert cs <= c0 or not np.isfinite(c0)
    opt, _ = _brute(pairs, w, tail, p, fixed, allowed)
    assert cs >= opt - 1e-6
    assert tries >= 0


def test_perturbation_search_leaves_a_local_optimum_for_a_better_plan() -> None:
    """Two clusters of 3 points each; p = 2; start with both sites in the left cluster
    (a local optimum for single swaps is not needed: the search must find the optimum
    with one site per cluster, cost 0)."""
    # rows 0-2 at sites 0/1 (distance 0), rows 3-5 at sites 2/3; cross distance 10
    d = np.full((6, 4), 10.0)
    d[:3, :2] = 0.0
    d[3:, 2:] = 0.0
    pairs = pm.Pairs.of(sp.csr_matrix(np.where(d == 0.0, 1e-9, d)))
    w = np.ones(6)
    tail = np.full(6, np.inf)
    start = np.array([True, True, False, False])
    none = np.zeros(4, dtype=bool)
    s, cs, _ = pm.perturbation_search(pairs, tail, pairs, w, tail, start, none,
                                      np.ones(4, dtype=bool), np.ones(4, dtype=bool),
                                      np.random.default_rng(0), deadline=None)
    assert s[:2].sum() == 1 and s[2:].sum() == 1
    assert cs == pytest.approx(6e-9)


def stalled_case(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, PlacementResult]:
    """An 800 x 80 clustered instance (p = 12) with the large path forced and no exact
    model of what fixing keeps (every round continues until the bound stalls), and its
    optimum by the full radius model."""
    from optimizer._instances import clustered_instance
    from optimizer.placement import Tuning

    inst = clustered_instance(800, 80, radius_km=5.0, seed=2, cutoff_km=15.0)
    exact = p_median(inst.km, inst.weights, 12, unassigned_penalty_min=30.0,
                     tuning=Tuning(truncate=False), **KW)
    assert exact.status is SolveStatus.OPTIMAL
    monkeypatch.setattr(pm, "CORE_MIN_PAIRS", 0)
    monkeypatch.setattr(pm, "MAX_MIP_PAIRS", 0)
    return inst, exact


def test_stalled_bound_hands_the_time_to_the_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the large path with no exact model (every round continues), the rounds stop
    once the bound no longer rises and the search runs: the answer is never better
    than the full radius model's optimum and the bound never above it."""
    inst, exact = stalled_case(monkeypatch)
    res = p_median(inst.km, inst.weights, 12, unassigned_penalty_min=30.0,
                   **{**KW, "time_limit_s": 8.0})
    assert res.objective >= exact.objective - 1e-6
    assert res.best_bound <= exact.objective + 1e-6
    if res.status is not SolveStatus.OPTIMAL:
        assert "bound stalled" in res.report.message, res.report.message


@settings(max_examples=60, deadline=None)
@given(cases())
def test_greedy_past_its_deadline_still_fills_up_to_p(c: dict[str, object]) -> None:
    """Past its deadline the greedy adds the missing sites at once: at least as many
    sites as without a deadline (each site it would add later saves something at the
    start too), at most p, must-open kept, only allowed sites."""
    pairs, w, tail = _setup(c)
    p, fixed, allowed = _parts(c)
    full = pm.greedy(pairs, w, tail, p, fixed, allowed)
    late = pm.greedy(pairs, w, tail, p, fixed, allowed, deadline=0.0)
    assert int(full.sum()) <= int(late.sum()) <= p
    assert late[fixed].all() and not (late & ~allowed).any()


@pytest.mark.parametrize("gap", [1e-3, 0.02])
def test_stalled_bound_then_a_gap_tree(monkeypatch: pytest.MonkeyPatch, gap: float) -> None:
    """With no exact model and no truncated model that fits, a stalled bound hands the
    time to the tree that proves ``TARGET_GAP`` (unless the bound is already within it):
    it finishes here, and then the bound is at most the full radius model's optimum and
    within the gap of the answer; the status is OPTIMAL only when the bound meets the
    answer."""
    inst, exact = stalled_case(monkeypatch)
    monkeypatch.setattr(pm, "TRUNCATED_MAX_PAIRS", 0)
    monkeypatch.setattr(pm, "TARGET_GAP", gap)
    res = p_median(inst.km, inst.weights, 12, unassigned_penalty_min=30.0,
                   **{**KW, "time_limit_s": 8.0})
    msg = res.report.message
    if "bound stalled" not in msg:
        assert res.status is SolveStatus.OPTIMAL, msg  # the rounds met the incumbent
        return
    # the stalled Lagrangian bound is 0.17 % below the optimum here: the 0.1 % tree runs,
    # the 2 % one is not needed
    ran = f"tree for a {100 * gap:g} % gap" in msg
    assert ran == (gap < 0.01), msg
    assert not ran or "finished" in msg, msg
    assert res.objective >= exact.objective - 1e-6
    assert res.best_bound <= exact.objective + 1e-6
    assert res.best_bound >= res.objective * (1.0 - gap) - 1e-6
    assert (res.status is SolveStatus.OPTIMAL) == (res.best_bound >= res.objective - 1e-6)


def test_working_set_does_not_keep_its_pairs_alive() -> None:
    """A polish round's pairs are freed when the round drops them, not when the cyclic
    collector runs (a working set that referred back to its pairs kept 110 MB a round
    on pt-1km)."""
    import gc
    import weakref

    rng = np.random.default_rng(3)
    m = sp.csr_matrix(rng.random((60, 12)) * 10.0)
    w = rng.random(60) + 0.1
    pairs = pm.Pairs.of(m).weighted(w)
    old = pm.PREFIX_MIN_PAIRS
    gc.disable()
    try:
        pm.PREFIX_MIN_PAIRS = 0
        pm.evaluate(pairs, w, np.full(60, np.inf), w * 5.0, 3, np.zeros(12, dtype=bool),
                    np.ones(12, dtype=bool))
        assert "working" in pairs.__dict__
        ref = weakref.ref(pairs)
        del pairs
        assert ref() is None
    finally:
        gc.enable()
        pm.PREFIX_MIN_PAIRS = old
