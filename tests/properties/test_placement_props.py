"""Invariants of the placement models on random small instances."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer._status import SolveStatus
from optimizer.placement import Tuning, lexicographic, lscp, mclp, p_median

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


@st.composite
def instances(draw: st.DrawFn) -> tuple[sp.csr_matrix, np.ndarray, int]:
    n = draw(st.integers(1, 12))
    m = draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    dense = rng.random((n, m)) < draw(st.floats(0.05, 0.6))
    w = rng.integers(0, 50, n).astype(float)
    w[0] = max(w[0], 1.0)  # demand that is all 0 is refused (NoDemandError)
    p = draw(st.integers(1, m))
    return sp.csr_matrix(dense), w, p


@settings(max_examples=40, deadline=None)
@given(instances(), st.data())
def test_extra_candidate_never_lowers_mclp_coverage(
    inst: tuple[sp.csr_matrix, np.ndarray, int], data: st.DataObject
) -> None:
    c, w, p = inst
    col = np.array(data.draw(st.lists(st.booleans(), min_size=c.shape[0],
                                      max_size=c.shape[0])), dtype=bool)
    bigger = sp.hstack([c, sp.csr_matrix(col.reshape(-1, 1))]).tocsr()
    a = mclp(c, w, p, **KW)
    b = mclp(bigger, w, p, **KW)
    assert a.status is SolveStatus.OPTIMAL and b.status is SolveStatus.OPTIMAL
    assert b.objective >= a.objective - 1e-9
    assert 0 <= a.covered_weight <= a.total_weight + 1e-9
    assert a.objective == a.covered_weight
    assert len(a.open_sites) <= p


@settings(max_examples=40, deadline=None)
@given(instances())
def test_lscp_covers_all_coverable_demand(inst: tuple[sp.csr_matrix, np.ndarray, int]) -> None:
    c, w, _ = inst
    res = lscp(c, w, **KW)
    assert res.status is SolveStatus.OPTIMAL
    coverable = np.asarray(c.sum(axis=1)).ravel() > 0
    hit = np.asarray(c[:, res.open_sites].sum(axis=1)).ravel() > 0
    # every coverable point that weighs is covered (demand of weight 0 needs no site)
    assert (hit[w > 0] == coverable[w > 0]).all()
    assert res.uncoverable.tolist() == np.flatnonzero(~coverable).tolist()
    assert res.covered_weight <= res.total_weight
    # no open site can be dropped without uncovering someone when it covers alone
    assert res.objective == len(res.open_sites)


@settings(max_examples=30, deadline=None)
@given(instances(), st.integers(0, 2**31 - 1), st.sampled_from([1, 100_003]))
def test_lexicographic_matches_brute_force(inst: tuple[sp.csr_matrix, np.ndarray, int],
                                           seed: int, scale: int) -> None:
    # most weight covered, then fewest points, then least weighted minutes: every set
    # of at most p sites, each point at its nearest open covering site (scaled weights:
    # millions of people, where a relative tolerance would be worth whole people)
    c, w, p = inst
    w = w * scale
    rng = np.random.default_rng(seed)
    minutes = sp.csr_matrix((rng.integers(1, 60, c.nnz).astype(float), c.indices, c.indptr),
                            shape=c.shape)
    res = lexicographic(c, w, p, minutes=minutes, **KW)
    assert res.status is SolveStatus.OPTIMAL
    dense = c.toarray()
    tm = np.where(dense, minutes.toarray(), np.inf)
    best: tuple[float, int, float] | None = None
    for k in range(p + 1):
        for sites in itertools.combinations(range(c.shape[1]), k):
            cols = list(sites)
            near = tm[:, cols].min(axis=1) if cols else np.full(c.shape[0], np.inf)
            hit = np.isfinite(near)
            key = (-float(w[hit].sum()), k, float((w[hit] * near[hit]).sum()))
            best = key if best is None or key < best else best
    assert best is not None
    assert res.covered_weight == pytest.approx(-best[0], rel=1e-12)
    assert len(res.open_sites) == best[1]
    assert res.objective == pytest.approx(best[2], rel=1e-9, abs=1e-6)
    # the assignment read back is each point's nearest open covering site
    a = res.assignment
    assert (a[a >= 0] >= 0).all() and set(a[a >= 0].tolist()) <= set(res.open_sites.tolist())
    assigned_min = tm[np.flatnonzero(a >= 0), a[a >= 0]]
    assert float((w[a >= 0] * assigned_min).sum()) == pytest.approx(best[2], rel=1e-9, abs=1e-6)


@st.composite
def median_instances(draw: st.DrawFn) -> tuple[sp.csr_matrix, np.ndarray, int, float | None]:
    n = draw(st.integers(1, 14))
    m = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    reach = rng.random((n, m)) < draw(st.floats(0.2, 1.0))
    # few distinct minutes, so rows share levels and ties occur
    minutes = rng.integers(0, 6, (n, m)).astype(float)
    rows, cols = np.nonzero(reach)
    mat = sp.csr_matrix((minutes[rows, cols], (rows, cols)), shape=(n, m))
    w = rng.integers(0, 30, n).astype(float)
    w[0] = max(w[0], 1.0)  # demand that is all 0 is refused (NoDemandError)
    p = draw(st.integers(1, m))
    penalty = draw(st.sampled_from([None, 4.0, 8.0]))
    return mat, w, p, penalty


def _brute_median(mat: sp.csr_matrix, w: np.ndarray, p: int, penalty: float | None,
                  cover: np.ndarray | None = None, need: float = 0.0) -> float:
    """Least weighted minutes over every set of exactly p sites (more never hurts).

    Unreachable demand and demand of weight 0 are left out; with a penalty a point
    pays at most the penalty.
    With ``cover`` (dense boolean), only sets covering at least ``need`` weight count.
    """
    from itertools import combinations

    n, m = mat.shape
    dense = np.full((n, m), np.inf)
    coo = mat.tocoo()
    dense[coo.row, coo.col] = coo.data
    reachable = np.isfinite(dense).any(axis=1) & (w > 0)
    best = np.inf
    for s in combinations(range(m), p):
        if cover is not None and float(w[cover[:, list(s)].any(axis=1)].sum()) < need - 1e-9:
            continue
        d = dense[:, list(s)].min(axis=1)
        far = ~np.isfinite(d) & reachable
        if far.any() and penalty is None:
            continue
        if penalty is not None:
            d = np.minimum(d, penalty)  # leaving a point unassigned costs the penalty
        best = min(best, float(w[reachable] @ d[reachable]))
    return best


def assert_median_proven(res: Any, want: float, p: int) -> bool:
    """``res`` is INFEASIBLE where brute force found no answer (returns ``False``),
    otherwise proven OPTIMAL at ``want`` with at most ``p`` sites (returns ``True``)."""
    if not np.isfinite(want):
        assert res.status is SolveStatus.INFEASIBLE
        return False
    assert res.status is SolveStatus.OPTIMAL
    assert res.objective == pytest.approx(want, abs=1e-6)
    assert res.best_bound == pytest.approx(want, abs=1e-6)
    assert res.open_sites.size <= p
    return True


@settings(max_examples=40, deadline=None)
@given(median_instances())
def test_truncated_radius_p_median_matches_brute_force(
    inst: tuple[sp.csr_matrix, np.ndarray, int, float | None],
) -> None:
    """The Lagrangian path, the iterated truncated radius model and the full one all
    prove the true optimum."""
    mat, w, p, penalty = inst
    want = _brute_median(mat, w, p, penalty)
    for truncate, lagrangian in ((True, True), (True, False), (False, False)):
        res = p_median(mat, w, p, unassigned_penalty_min=penalty,
                       tuning=Tuning(truncate=truncate, lagrangian=lagrangian), **KW)
        assert_median_proven(res, want, p)


@settings(max_examples=40, deadline=None)
@given(median_instances(), st.integers(0, 2**31 - 1), st.sampled_from([0.3, 0.6, 0.9, 1.0]))
def test_p_median_with_a_coverage_standard_floor_matches_brute_force(
    inst: tuple[sp.csr_matrix, np.ndarray, int, float | None], seed: int, share: float,
) -> None:
    """A floor on the weight within a coverage standard (any subset of the reachable
    pairs, not a radius: e.g. minutes AND km) gives the best plan meeting it, or
    INFEASIBLE when none does; the result covers at least the share."""
    mat, w, p, penalty = inst
    rng = np.random.default_rng(seed)
    dense_reach = np.zeros(mat.shape, dtype=bool)  # stored entries, zero minutes included
    coo = mat.tocoo()
    dense_reach[coo.row, coo.col] = True
    cover = dense_reach & (rng.random(dense_reach.shape) < 0.6)
    need = share * float(w.sum())
    want = _brute_median(mat, w, p, penalty, cover, need)
    res = p_median(mat, w, p, unassigned_penalty_min=penalty, covered=sp.csr_matrix(cover),
                   min_covered_share=share, **KW)
    if assert_median_proven(res, want, p):
        hit = cover[:, res.open_sites].any(axis=1)
        assert float(w[hit].sum()) >= need - 1e-6


@settings(max_examples=40, deadline=None)
@given(median_instances(), st.sampled_from([0.5, 1.0, 2.0, 4.0, 8.0]),
       st.sampled_from([0.3, 0.6, 0.9, 1.0]), st.booleans())
def test_p_median_with_a_minutes_floor_matches_brute_force(
    inst: tuple[sp.csr_matrix, np.ndarray, int, float | None], cover_minutes: float, share: float,
    lagrangian: bool,
) -> None:
    """A floor on the weight assigned within ``cover_minutes`` (of the nearest open site,
    and within the penalty where there is one, since no one is assigned beyond it), by
    both paths: the Lagrangian start (the plan without the floor, then the most coverage
    as a start or a proof of infeasibility) and the radius model alone."""
    mat, w, p, penalty = inst
    dense = np.full(mat.shape, np.inf)
    coo = mat.tocoo()
    dense[coo.row, coo.col] = coo.data
    limit = cover_minutes if penalty is None else min(cover_minutes, penalty)
    need = share * float(w.sum())
    want = _brute_median(mat, w, p, penalty, dense <= limit, need)
    res = p_median(mat, w, p, unassigned_penalty_min=penalty, cover_minutes=cover_minutes,
                   min_covered_share=share, tuning=Tuning(lagrangian=lagrangian), **KW)
    if assert_median_proven(res, want, p):
        hit = (dense[:, res.open_sites] <= limit).any(axis=1)
        assert float(w[hit].sum()) >= need - 1e-6


@st.composite
def with_zero_rows(draw: st.DrawFn) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray, int,
                                             np.ndarray]:
    """An instance (coverage, minutes, weights, p) and where to insert rows of weight 0
    (with their own coverage and minutes)."""
    n = draw(st.integers(1, 10))
    m = draw(st.integers(1, 5))
    k = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    reach = rng.random((n + k, m)) < draw(st.floats(0.3, 1.0))
    minutes = rng.integers(0, 6, (n + k, m)).astype(float)
    rows, cols = np.nonzero(reach)
    mat = sp.csr_matrix((minutes[rows, cols], (rows, cols)), shape=(n + k, m))
    w = rng.integers(1, 30, n + k).astype(float)
    zero = np.sort(rng.choice(n + k, size=k, replace=False))
    w[zero] = 0.0
    return sp.csr_matrix(reach), mat, w, draw(st.integers(1, m)), zero


@settings(max_examples=25, deadline=None)
@given(with_zero_rows())
def test_rows_of_weight_zero_change_no_model(
    inst: tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray, int, np.ndarray],
) -> None:
    """Adding demand of weight 0 changes no model's status, objective or open sites; the
    result still has a row for every demand point."""
    from optimizer.placement import backup, capacitated, p_center

    cov, mat, w, p, zero = inst
    keep = np.setdiff1d(np.arange(w.size), zero)
    runs = {
        "lscp": lambda c, m, x: lscp(c, x, minutes=m, **KW),
        "mclp": lambda c, m, x: mclp(c, x, p, minutes=m, **KW),
        "p_median": lambda c, m, x: p_median(m, x, p, unassigned_penalty_min=8.0, **KW),
        "p_median_floor": lambda c, m, x: p_median(m, x, p, unassigned_penalty_min=8.0,
                                                   covered=c, min_covered_share=0.3, **KW),
        "p_center": lambda c, m, x: p_center(m, x, p, **KW),
        "capacitated": lambda c, m, x: capacitated(c, x, np.full(c.shape[1], 40.0), p,
                                                   overload_penalty=1.0, **KW),
        "backup": lambda c, m, x: backup(c, x, p, **KW),
        "lexicographic": lambda c, m, x: lexicographic(c, x, p, minutes=m, **KW),
    }
    for name, run in runs.items():
        full = run(cov, mat, w)
        base = run(cov[keep], mat[keep], w[keep])
        assert full.status is base.status, name
        if base.status.has_solution:
            assert full.objective == pytest.approx(base.objective, rel=1e-9, abs=1e-9), name
        assert full.open_sites.tolist() == base.open_sites.tolist(), name
        assert full.assignment.size == full.travel_min.size == w.size, name
        assert full.assignment[keep].tolist() == base.assignment.tolist(), name
        assert full.covered_weight == pytest.approx(base.covered_weight), name
        # a point of weight 0 within reach of an open site goes to one; else it is listed
        reach = sp.csr_matrix((mat if name.startswith("p_") else cov)[zero], dtype=bool)
        reach.data[:] = True  # a stored 0 minutes is within reach
        near = np.asarray(reach[:, full.open_sites].sum(axis=1)).ravel() > 0
        assert ((full.assignment[zero] >= 0) == near).all(), name
        none = np.asarray(reach.sum(axis=1)).ravel() == 0
        assert set(zero[none].tolist()) <= set(full.uncoverable.tolist()), name


@settings(max_examples=30, deadline=None)
@given(instances())
def test_pareto_never_falls_and_agrees_with_each_single_solve(
        inst: tuple[sp.csr_matrix, np.ndarray, int]) -> None:
    """The curve is non-decreasing, and at every p equals the proven mclp(p)."""
    from optimizer.placement import pareto

    c, w, _ = inst
    max_p = c.shape[1]
    curve = pareto(c, w, max_p, **KW)
    assert (np.diff(curve.covered_weight) >= -1e-9).all()
    for p, value, bound, status in zip(curve.p_values, curve.covered_weight, curve.best_bound,
                                       curve.statuses, strict=True):
        single = mclp(c, w, int(p), **KW)
        assert status is SolveStatus.OPTIMAL and single.status is SolveStatus.OPTIMAL
        assert value == pytest.approx(single.objective)
        assert value - 1e-9 <= bound <= float(w.sum()) + 1e-9


def test_pareto_is_never_below_a_known_answer_and_starts_from_it() -> None:
    """A known answer at p (the single solve) keeps that step at or above it, and its
    bound bounds the step."""
    from optimizer.placement import pareto

    rng = np.random.default_rng(3)
    c = sp.csr_matrix(rng.random((60, 12)) < 0.2)
    w = rng.integers(1, 50, 60).astype(float)
    best3 = mclp(c, w, 3, **KW)
    assert best3.status is SolveStatus.OPTIMAL
    curve = pareto(c, w, 5, known={3: best3}, **KW)
    assert curve.covered_weight[2] >= best3.objective - 1e-9
    assert (np.diff(curve.covered_weight) >= -1e-9).all()
    # the single solve's bound tightens the curve's at that p
    assert curve.best_bound[2] <= best3.best_bound + 1e-9


@settings(max_examples=40, deadline=None)
@given(instances())
def test_packing_bound_never_exceeds_the_optimal_cover(
        inst: tuple[sp.csr_matrix, np.ndarray, int]) -> None:
    from optimizer.placement.set_cover import packing_bound

    c, w, _ = inst
    rows = np.asarray(c.sum(axis=1)).ravel() > 0
    if not rows.any():
        return
    sub = sp.csr_matrix(c[rows])
    costs = np.arange(1.0, c.shape[1] + 1.0)
    opt = lscp(sub, np.ones(sub.shape[0]), costs=costs, **KW)
    assert opt.status is SolveStatus.OPTIMAL
    assert 0 < packing_bound(sub, costs) <= opt.objective + 1e-9


def test_packing_bound_by_hand() -> None:
    from optimizer.placement.set_cover import packing_bound

    # rows {0}, {1, 2}, {2, 3}: {0} and {1, 2} are disjoint -> at least 1 + min(2, 3) = 3
    c = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool))
    assert packing_bound(c, np.array([1.0, 2.0, 3.0, 4.0])) == 3.0


@settings(max_examples=40, deadline=None)
@given(instances(), st.integers(0, 2**31 - 1))
def test_lagrangian_bound_never_exceeds_the_optimal_cover(
        inst: tuple[sp.csr_matrix, np.ndarray, int], seed: int) -> None:
    """Issue #16: the Lagrangian value is a lower bound for ANY multipliers u >= 0, and
    so after the subgradient steps; each against brute force (all subsets)."""
    import itertools

    from optimizer.placement.set_cover import lagrangian_bound, lagrangian_value

    c, w, _ = inst
    rows = np.asarray(c.sum(axis=1)).ravel() > 0
    if not rows.any():
        return
    sub = sp.csr_matrix(c[rows])
    n = sub.shape[1]
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 6, n).astype(float)
    dense = sub.toarray().astype(bool)
    opt = min(costs[list(s)].sum() for k in range(n + 1)
              for s in itertools.combinations(range(n), k) if dense[:, list(s)].any(axis=1).all())
    for scale in (0.1, 1.0, 5.0):
        u = rng.random(sub.shape[0]) * scale
        assert lagrangian_value(sub, costs, u) <= opt + 1e-9
    # an upper bound above the optimum (all sites) drives the steps
    value, u = lagrangian_bound(sub, costs, float(costs.sum()))
    assert (u >= 0).all()
    assert value <= opt + 1e-9
    assert value >= lagrangian_value(sub, costs, np.zeros(sub.shape[0])) - 1e-9


def test_lagrangian_bound_by_hand() -> None:
    from optimizer.placement.set_cover import lagrangian_bound, lagrangian_value

    # the triangle: rows {0,1}, {1,2}, {0,2}, unit costs; the LP is 1.5 (x = 1/2 each),
    # the optimum 2; u = 1/2 on each row gives reduced costs 0 and L = 1.5
    tri = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool))
    assert lagrangian_value(tri, np.ones(3), np.full(3, 0.5)) == 1.5
    assert lagrangian_value(tri, np.ones(3), np.full(3, 1.0)) == 0.0  # 3 + 3 * (1 - 2)
    value, _ = lagrangian_bound(tri, np.ones(3), 2.0)
    assert 1.5 - 1e-6 <= value <= 1.5  # reaches the LP, rounded up: 2 proves the cover
    # a row no site covers gets no multiplier (the start is per row's sites)
    holey = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 0], [0, 1, 1], [0, 0, 0]], dtype=bool))
    value, u = lagrangian_bound(holey, np.ones(3), 3.0)
    assert u[1] == 0.0 and u[3] == 0.0 and 1.0 - 1e-6 <= value <= 1.0
