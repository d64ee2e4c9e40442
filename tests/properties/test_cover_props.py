"""The greedy cover and the MCLP component split, against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer import _cover
from optimizer._cover import (
    combine_curves,
    component_curve,
    greedy_cover,
    improve_cover,
    mclp_lagrangian_bound,
    perturb_mclp,
    split_mclp,
    swap_mclp,
)
from optimizer._status import SolveStatus
from optimizer.placement import Tuning, lscp, max_cover, mclp, set_cover

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


def _brute_lscp(c: sp.csr_matrix, costs: np.ndarray) -> float:
    n, m = c.shape
    dense = c.toarray()
    best = float("inf")
    for mask in itertools.product([False, True], repeat=m):
        x = np.array(mask, dtype=bool)
        if dense[:, x].any(axis=1).all():
            best = min(best, float(costs[x].sum()))
    return best


def _brute_mclp(c: sp.csr_matrix, w: np.ndarray, p: int) -> float:
    dense = c.toarray()
    best = 0.0
    for k in range(min(p, c.shape[1]) + 1):
        for s in itertools.combinations(range(c.shape[1]), k):
            best = max(best, float(w[dense[:, list(s)].any(axis=1)].sum()))
    return best


@st.composite
def covers(draw: st.DrawFn) -> tuple[sp.csr_matrix, np.ndarray]:
    """A random set-covering instance where every row has a column."""
    n = draw(st.integers(1, 10))
    m = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    dense = rng.random((n, m)) < draw(st.floats(0.1, 0.6))
    dense[np.arange(n), rng.integers(0, m, n)] = True
    costs = rng.integers(1, 4, m).astype(float)
    return sp.csr_matrix(dense), costs


@settings(max_examples=60, deadline=None)
@given(covers())
def test_greedy_cover_covers_every_row_and_never_beats_the_optimum(
        inst: tuple[sp.csr_matrix, np.ndarray]) -> None:
    c, costs = inst
    opt = _brute_lscp(c, costs)
    g = greedy_cover(c, costs)
    assert np.asarray(c[:, np.flatnonzero(g)].sum(axis=1)).ravel().min() >= 1
    assert float(costs[g].sum()) >= opt - 1e-9


@settings(max_examples=60, deadline=None)
@given(covers(), st.integers(0, 2**31 - 1), st.booleans())
def test_cover_search_keeps_a_cover_and_never_loses(
        inst: tuple[sp.csr_matrix, np.ndarray], seed: int, from_all: bool) -> None:
    c, costs = inst
    opt = _brute_lscp(c, costs)
    # start from the greedy cover or from every column (the worst cover)
    start = np.ones(c.shape[1], dtype=bool) if from_all else greedy_cover(c, costs)
    import time

    best, rounds = improve_cover(c, costs, start, deadline=time.perf_counter() + 5.0,
                                 seed=seed, max_stall=30)
    assert rounds >= 0
    assert np.asarray(c[:, np.flatnonzero(best)].sum(axis=1)).ravel().min() >= 1
    assert opt - 1e-9 <= float(costs[best].sum()) <= float(costs[start].sum()) + 1e-9


def test_cover_search_keeps_only_the_rows_its_start_covers() -> None:
    # row 2 has no column: it stays uncovered, every other row stays covered
    c = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 1, 1]],
                               dtype=bool))
    import time

    best, _ = improve_cover(c, np.ones(4), np.ones(4, dtype=bool),
                            deadline=time.perf_counter() + 5.0, max_stall=50)
    hit = np.asarray(c[:, np.flatnonzero(best)].sum(axis=1)).ravel()
    assert (hit[[0, 1, 3]] >= 1).all() and best.sum() == 2


@settings(max_examples=30, deadline=None)
@given(covers(), st.sampled_from(["highs", "scip", "auto"]))
def test_lscp_with_the_search_on_every_component_is_exact(
        inst: tuple[sp.csr_matrix, np.ndarray], engine: str) -> None:
    c, costs = inst
    opt = _brute_lscp(c, costs)
    old = set_cover.LSCP_SEARCH_SITES
    set_cover.LSCP_SEARCH_SITES = 0  # every component gets the local search first
    try:
        r = lscp(c, np.ones(c.shape[0]), costs=costs, engine=engine, **KW)
    finally:
        set_cover.LSCP_SEARCH_SITES = old
    assert np.asarray(c[:, r.open_sites].sum(axis=1)).ravel().min() >= 1
    assert r.objective >= opt - 1e-9
    if r.status is SolveStatus.OPTIMAL:
        assert abs(r.objective - opt) < 1e-9


@st.composite
def mclp_instances(draw: st.DrawFn) -> tuple[sp.csr_matrix, np.ndarray, int]:
    """Block-diagonal instances: several components of 1-4 sites."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        n, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        blocks.append(rng.random((n, m)) < 0.5)
    c = sp.block_diag([sp.csr_matrix(b) for b in blocks]).tocsr().astype(bool)
    w = rng.integers(0, 30, c.shape[0]).astype(float)
    w[0] = max(w[0], 1.0)  # demand that is all 0 is refused (NoDemandError)
    p = draw(st.integers(1, c.shape[1]))
    return c, w, p


@settings(max_examples=60, deadline=None)
@given(mclp_instances())
def test_component_dp_mclp_equals_brute_force(inst: tuple[sp.csr_matrix, np.ndarray, int]
                                              ) -> None:
    c, w, p = inst
    opt = _brute_mclp(c, w, p)
    res = mclp(c, w, p, **KW)
    assert res.status is SolveStatus.OPTIMAL
    assert abs(res.objective - opt) < 1e-6
    assert len(res.open_sites) <= p
    # components of up to 1 or 2 sites by enumeration, larger ones in the MIP with the curve
    for limit, concave in ((1, True), (2, True), (2, False)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("optimizer._cover.ENUMERATE_SITES", limit)
            if not concave:  # the binary, ordered increments must be exact too
                mp.setattr("optimizer.placement.max_cover.is_concave", lambda _curve: False)
            mixed = mclp(c, w, p, **KW)
        assert mixed.status is SolveStatus.OPTIMAL
        assert abs(mixed.objective - opt) < 1e-6
        assert len(mixed.open_sites) <= p
    plain = mclp(c, w, p, tuning=Tuning(preprocess=False), **KW)
    assert abs(plain.objective - opt) < 1e-6
    # a small split threshold puts some components in the MIP, the rest in the DP
    split = split_mclp(c, w, p, max_sites=2)
    assert split.curve.size >= 1
    k = split.curve.size - 1
    sites = split.sites(k)
    assert sites.size == k
    covered = np.asarray(c[:, sites].sum(axis=1)).ravel() > 0
    assert abs(float(w[covered & np.isin(np.arange(c.shape[0]), split.rows, invert=True)].sum())
               - split.curve[k]) < 1e-6


def test_curves_and_knapsack_by_hand() -> None:
    # two sites covering rows {0,1} and {1,2}; weights 1, 10, 100
    c = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=bool))
    curve, sets = component_curve(c, np.array([1.0, 10.0, 100.0]), 2)
    assert curve.tolist() == [0.0, 110.0, 111.0]
    assert sets[1].tolist() == [1]
    # a non-concave curve next to a singleton: exactly 2 sites best split 0 + 2
    best, choices = combine_curves([np.array([0.0, 1.0, 10.0]), np.array([0.0, 4.0])], 2)
    assert best.tolist() == [0.0, 4.0, 10.0]


def test_lscp_rounded_bound_and_engines_agree() -> None:
    rng = np.random.default_rng(7)
    c = sp.csr_matrix(rng.random((40, 25)) < 0.15)
    w = np.ones(40)
    a = lscp(c, w, **KW)
    b = lscp(c, w, engine="highs", **KW)
    assert a.status is SolveStatus.OPTIMAL and b.status is SolveStatus.OPTIMAL
    assert a.objective == b.objective


def test_mclp_split_by_hand_with_fixed_closed_budget_and_stop() -> None:
    import threading

    # component A: sites 0, 1 over rows 0-2; isolated sites 2 (row 3) and 3 (row 4)
    c = sp.csr_matrix(np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 0, 0],
                                [0, 0, 1, 0], [0, 0, 0, 1]], dtype=bool))
    w = np.array([5.0, 1.0, 6.0, 4.0, 3.0])
    assert mclp(c, w, 1, **KW).open_sites.tolist() == [1]            # 7
    two = mclp(c, w, 2, **KW)
    assert two.objective == 12.0 and two.status is SolveStatus.OPTIMAL  # {0, 1}
    assert mclp(c, w, 2, fixed=[2], **KW).objective == 11.0           # {2, 1}: 4 + 7
    assert mclp(c, w, 2, closed=[1], **KW).objective == 10.0          # {0, 2}: 6 + 4
    # a budget falls back to the single MIP; costs make site 1 too dear
    assert mclp(c, w, budget=2.0, costs=[1, 5, 1, 1], **KW).objective == 10.0  # {0, 2}
    stop = threading.Event()
    stop.set()
    stopped = mclp(c, w, 2, stop=stop, **KW)
    assert stopped.status is not SolveStatus.OPTIMAL or stopped.objective == 12.0


@settings(max_examples=40, deadline=None)
@given(mclp_instances(), st.integers(0, 2**31 - 1))
def test_swap_search_keeps_count_and_never_loses(inst: tuple[sp.csr_matrix, np.ndarray, int],
                                                 seed: int) -> None:
    c, w, p = inst
    rng = np.random.default_rng(seed)
    start = np.zeros(c.shape[1], dtype=bool)
    start[rng.choice(c.shape[1], size=p, replace=False)] = True
    out = swap_mclp(c, w, start)

    def value(x: np.ndarray) -> float:
        return float(w[np.asarray(c[:, np.flatnonzero(x)].sum(axis=1)).ravel() > 0].sum())

    assert out.sum() == start.sum()
    assert value(out) >= value(start) - 1e-9
    assert value(out) <= _brute_mclp(c, w, p) + 1e-9


def _cover_value(c: sp.csr_matrix, w: np.ndarray, x: np.ndarray) -> float:
    return float(w[np.asarray(c[:, np.flatnonzero(x)].sum(axis=1)).ravel() > 0].sum())


@settings(max_examples=40, deadline=None)
@given(mclp_instances(), st.integers(0, 2**31 - 1), st.booleans())
def test_perturbed_search_keeps_count_and_never_loses(
        inst: tuple[sp.csr_matrix, np.ndarray, int], seed: int, near: bool) -> None:
    import time

    c, w, p = inst
    rng = np.random.default_rng(seed)
    start = np.zeros(c.shape[1], dtype=bool)
    start[rng.choice(c.shape[1], size=p, replace=False)] = True
    prefer = rng.random(c.shape[1]) if seed % 2 else None
    out, _ = perturb_mclp(c, w, start, prefer=prefer, deadline=time.perf_counter() + 5.0,
                          seed=seed, max_stall=30, near=near)
    assert out.sum() == start.sum()
    assert _cover_value(c, w, out) >= _cover_value(c, w, start) - 1e-9
    assert _cover_value(c, w, out) <= _brute_mclp(c, w, p) + 1e-9


@settings(max_examples=60, deadline=None)
@given(mclp_instances(), st.integers(0, 2**31 - 1))
def test_lagrangian_bound_holds_for_any_multipliers(
        inst: tuple[sp.csr_matrix, np.ndarray, int], seed: int) -> None:
    c, w, p = inst
    rng = np.random.default_rng(seed)
    opt = _brute_mclp(c, w, p)
    # any multipliers, negative, above the weights or NaN included: still a bound
    u = rng.normal(0.0, 20.0, c.shape[0])
    u[rng.random(c.shape[0]) < 0.1] = np.nan
    assert mclp_lagrangian_bound(c, w, p, u) >= opt - 1e-9
    assert mclp_lagrangian_bound(c, w, p, u, integral=True) >= opt
    assert mclp_lagrangian_bound(c, w, p, np.zeros(c.shape[0])) >= float(w.sum())


@settings(max_examples=30, deadline=None)
@given(mclp_instances(), st.booleans())
def test_first_order_mclp_is_honest(inst: tuple[sp.csr_matrix, np.ndarray, int],
                                    whole: bool) -> None:
    """Without a MIP (every model above max_mip_nonzeros=0): a valid bound, a
    feasible answer, OPTIMAL only at the true optimum."""
    c, w, p = inst
    if not whole:
        w = w / 3.0
    opt = _brute_mclp(c, w, p)
    res = mclp(c, w, p, tuning=Tuning(max_mip_nonzeros=0), **KW)
    assert res.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    assert len(res.open_sites) <= p
    assert res.objective == res.covered_weight
    assert res.objective <= opt + 1e-9
    assert res.best_bound >= opt - 1e-6
    if res.status is SolveStatus.OPTIMAL:
        assert abs(res.objective - opt) < 1e-6



@settings(max_examples=30, deadline=None)
@given(mclp_instances(), st.booleans(), st.integers(0, 3), st.sampled_from([0, 1]),
       st.booleans())
def test_search_then_mip_mclp_is_exact(inst: tuple[sp.csr_matrix, np.ndarray, int],
                                       whole: bool, seed: int, enumerate_sites: int,
                                       weak: bool) -> None:
    """Local search (with its Lagrangian bound) first, then the MIP hinted with its
    answer (every model above MCLP_LOCAL_SEARCH_MIN_NONZEROS=-1; components of at
    most ``enumerate_sites`` sites enumerated, so the MIP sees the rest): the true
    optimum, proven, and a bound that holds.  ``weak`` swaps the Lagrangian bound
    for the trivial one (all weight, also valid), so that the local search cannot
    prove its answer on these tiny models and the MIP must run after it."""
    c, w, p = inst
    if not whole:
        w = w / 3.0
    opt = _brute_mclp(c, w, p)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(max_cover, "MCLP_LOCAL_SEARCH_MIN_NONZEROS", -1)
        mp.setattr(_cover, "ENUMERATE_SITES", enumerate_sites)
        if weak:
            mp.setattr(max_cover, "mclp_lagrangian_bound",
                       lambda m, w, p, u, integral=False: float(np.sum(w)))
        res = mclp(c, w, p, **{**KW, "seed": seed})
    if enumerate_sites == 0 and "local search" not in res.report.message:
        # only when the reductions left nothing to search
        assert "enumeration" in res.report.solver or res.report.solver.endswith("highs")
    assert res.status is SolveStatus.OPTIMAL
    assert len(res.open_sites) <= p
    assert res.objective == res.covered_weight
    assert abs(res.objective - opt) < 1e-6
    assert res.best_bound >= opt - 1e-6

def test_first_order_mclp_by_hand() -> None:
    # the split example: {0, 1} covers 12 with 2 sites; the LP is integral here, so
    # the rounded Lagrangian bound of PDLP's duals proves it
    c = sp.csr_matrix(np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 0, 0],
                                [0, 0, 1, 0], [0, 0, 0, 1]], dtype=bool))
    w = np.array([5.0, 1.0, 6.0, 4.0, 3.0])
    res = mclp(c, w, 2, tuning=Tuning(max_mip_nonzeros=0), **KW)
    assert res.objective == 12.0 and res.open_sites.tolist() == [0, 1]
    assert res.best_bound >= 12.0
    assert "PDLP" in res.report.message
    assert mclp(c, w, 2, tuning=Tuning(max_mip_nonzeros=0), fixed=[2], **KW).objective == 11.0
    import threading

    stop = threading.Event()
    stop.set()
    stopped = mclp(c, w, 2, tuning=Tuning(max_mip_nonzeros=0), stop=stop, **KW)
    assert stopped.best_bound >= 12.0 and stopped.objective <= 12.0
    assert stopped.status is not SolveStatus.OPTIMAL or stopped.objective == 12.0
