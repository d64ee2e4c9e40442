"""The cut-set master of the capacitated models against brute force on small instances.

Brute force as in ``test_capacitated_props``: every set of open sites with its best
split assignment by scipy's ``linprog`` (not the master's flow).  Checked: the master's
bound is on the right side of the optimum (below it for the fewest points, above it
for the most assigned), an answer it calls optimal is the optimum, every cut it adds
holds for every set of open sites, and the separation finds a cut exactly when the
open sites cannot take the demand.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from optimizer._status import SolveStatus
from optimizer.placement import capacitated
from optimizer.placement import capacity_cuts as cc
from optimizer.placement.inputs import CoverInputs, SolveOptions, cover_inputs
from tests.properties.test_capacitated_props import assert_brackets_optimum

OPTIONS = SolveOptions(time_limit_s=None, seed=0, threads=1)
KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


def _instances(n: tuple[int, int], m: tuple[int, int], density: tuple[float, float],
               cap: tuple[int, int]) -> st.SearchStrategy[
                   tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """Random coverage (``n`` points x ``m`` sites, of the given density), weights 1-29,
    capacities in ``cap`` and a number of points to open."""

    @st.composite
    def draw_one(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        n_pts, n_sites = draw(st.integers(*n)), draw(st.integers(*m))
        rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
        dense = rng.random((n_pts, n_sites)) < draw(st.floats(*density))
        w = rng.integers(1, 30, n_pts).astype(float)
        caps = rng.integers(cap[0], cap[1], n_sites).astype(float)
        return dense, w, caps, draw(st.integers(1, n_sites))

    return draw_one()


def instances() -> st.SearchStrategy[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    return _instances((1, 6), (1, 5), (0.2, 0.9), (0, 45))


def tight_instances() -> st.SearchStrategy[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """More points than ``instances`` and capacities near their demand: where the
    coverage and room bounds do not prove the answer and the master runs."""
    return _instances((4, 12), (3, 7), (0.25, 0.7), (10, 60))


def _take(dense: np.ndarray, w: np.ndarray, cap: np.ndarray, open_: tuple[int, ...],
          only: np.ndarray | None = None) -> float:
    """Most weight (of the points ``only``, default all) the sites ``open_`` can take
    within the standard and the capacities (an LP by scipy's HiGHS)."""
    pairs = [(i, j) for i in range(w.size) for j in open_ if dense[i, j]]
    if not pairs:
        return 0.0
    gain = np.array([w[i] if only is None or only[i] else 0.0 for i, _ in pairs])
    a_ub = [[1.0 if pi == i else 0.0 for pi, _ in pairs] for i in range(w.size)]
    b_ub = [1.0] * w.size
    for j in open_:
        a_ub.append([w[pi] if pj == j else 0.0 for pi, pj in pairs])
        b_ub.append(float(cap[j]))
    lp = linprog(-gain, A_ub=np.array(a_ub), b_ub=b_ub, bounds=(0, 1), method="highs")
    assert lp.status == 0
    return float(-lp.fun)


def _optimum(dense: np.ndarray, w: np.ndarray, cap: np.ndarray, p: int | None) -> float:
    coverable = float(w[dense.any(axis=1)].sum())
    best = -math.inf if p is not None else math.inf
    for k in range(cap.size + 1):
        for open_ in itertools.combinations(range(cap.size), k):
            got = _take(dense, w, cap, open_)
            if p is not None and k <= p:
                best = max(best, got)
            elif p is None and got >= coverable - 1e-7:
                best = min(best, float(k))
    return best


def _problem(inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], with_p: bool,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None, CoverInputs] | None:
    """The instance's coverage, weights, capacities, number of points (``None`` for the
    fewest points) and model inputs; ``None`` when no point is coverable (no master)."""
    dense, w, cap, p = inst
    prob = cover_inputs(sp.csr_matrix(dense), w, None, None)
    if not np.diff(prob.c.indptr).any():
        return None
    return dense, w, cap, p if with_p else None, prob


@settings(max_examples=40, deadline=None)
@given(instances(), st.booleans())
def test_the_master_bound_is_a_bound_and_its_optimum_the_optimum(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], with_p: bool) -> None:
    got = _problem(inst, with_p)
    if got is None:
        return
    dense, w, cap, q, prob = got
    opt = _optimum(dense, w, cap, q)
    out = cc.solve_master(prob, cap, q, hint_sites=None, deadline=None, options=OPTIONS)
    if q is None:
        if math.isinf(opt):
            # no set of sites takes it all: the master has no answer the flow assigns
            assert not out.proven
            return
        assert out.bound <= opt + 1e-6
    else:
        assert out.bound >= opt - 1e-6
    if out.proven:
        x = out.candidates[-1]
        value = float(x.sum()) if q is None else _take(dense, w, cap,
                                                        tuple(np.flatnonzero(x)))
        assert value == pytest.approx(opt, abs=1e-6)
        assert out.bound == pytest.approx(opt, abs=1e-5)
        if q is None:
            assert _take(dense, w, cap, tuple(np.flatnonzero(x))) == pytest.approx(
                float(w[dense.any(axis=1)].sum()), abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(tight_instances(), st.booleans())
def test_above_the_pair_cap_the_model_with_the_master_is_bounded_and_proven_honestly(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], with_p: bool) -> None:
    """The whole capacitated model with split assignment and hard capacities above the
    pair cap (the cut-set master's path): bound <= optimum <= answer for the fewest
    points (reversed for the most assigned), OPTIMAL only at the optimum."""
    import optimizer.placement.capacity as capacity

    dense, w, cap, p = inst
    q = p if with_p else None
    opt = _optimum(dense, w, cap, q)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(capacity, "CAPACITATED_MIP_MAX_PAIRS", 0)
        res = capacitated(sp.csr_matrix(dense), w, cap, q, **KW)
    if math.isinf(opt):
        # no set of sites takes all the demand: never an answer claimed as one
        assert q is None and not res.status.has_solution
        return
    assert res.status.has_solution
    assert_brackets_optimum(res, opt, maximize=q is not None)


@settings(max_examples=40, deadline=None)
@given(instances(), st.integers(0, 2**16 - 1))
def test_separation_finds_a_valid_cut_exactly_when_the_sites_fall_short(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], pick: int) -> None:
    dense, w, cap, _ = inst
    prob = cover_inputs(sp.csr_matrix(dense), w, None, None)
    ms = cc.new_master(prob, cap, None)
    x = np.array([(pick >> j) & 1 == 1 for j in range(cap.size)])
    coverable = dense.any(axis=1)
    short = _take(dense, w, cap, tuple(np.flatnonzero(x))) < float(w[coverable].sum()) - 1e-6
    cuts = cc.separate(ms, x.astype(float), ms.d) + cc.neighbourhood_cuts(ms, x.astype(float),
                                                                          ms.d)
    if short:
        assert cc.separate(ms, x.astype(float), ms.d), "a shortfall always has a cut"
    else:
        assert not cuts
    # each cut holds for every set of open sites: the weight of S they can take is at
    # most the sum of the cut's coefficients over them; and x violates it
    member = np.flatnonzero(coverable)
    for s in cuts:
        a = cc.cut_coefficients(ms, s)
        # the original points of the merged points of S
        in_s = np.zeros(w.size, dtype=bool)
        rows_s = {tuple(np.flatnonzero(ms.cm[k].toarray().ravel())) for k in s}
        for i in member:
            in_s[i] = tuple(np.flatnonzero(dense[i])) in rows_s
        assert float(ms.d[s].sum()) == pytest.approx(float(w[in_s].sum()))
        assert float(ms.d[s].sum()) > float(a @ x) + 1e-9
        for k in range(cap.size + 1):
            for open_ in itertools.combinations(range(cap.size), k):
                assert _take(dense, w, cap, open_, in_s) <= float(a[list(open_)].sum()) + 1e-6


@settings(max_examples=30, deadline=None)
@given(instances())
def test_merging_points_keeps_the_weight_and_the_sites_within_reach(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int]) -> None:
    dense, w, _, _ = inst
    cm, d = cc.merged_points(sp.csr_matrix(dense), w)
    coverable = dense.any(axis=1)
    rows = {tuple(np.flatnonzero(r)) for r in dense[coverable]}
    assert cm.shape[0] == len(rows)
    assert d.sum() == pytest.approx(float(w[coverable].sum()))
    for k in range(cm.shape[0]):
        key = tuple(np.flatnonzero(cm[k].toarray().ravel()))
        same = np.array([tuple(np.flatnonzero(r)) == key for r in dense])
        assert d[k] == pytest.approx(float(w[same].sum()))


def test_the_master_proves_what_the_room_and_coverage_bounds_cannot(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import optimizer.placement.capacity as capacity

    # three points of 30 a day only within reach of sites 0-2 (40 a day each): three
    # sites there; one point of 10 only within reach of site 3: four in all.  Coverage
    # alone needs 2, the room of all the demand 100 / 40 -> 3; the cut on the first
    # three points (90 <= 40 x0 + 40 x1 + 40 x2: each site takes at most 40 of their 90)
    # with the cover row of the fourth proves 4
    dense = np.zeros((4, 4), dtype=bool)
    dense[:3, :3] = True
    dense[3, 3] = True
    c = sp.csr_matrix(dense)
    w = np.array([30.0, 30.0, 30.0, 10.0])
    cap = np.full(4, 40.0)
    monkeypatch.setattr(capacity, "CAPACITATED_MIP_MAX_PAIRS", 0)
    res = capacitated(c, w, cap, **KW)
    assert res.status is SolveStatus.OPTIMAL
    assert res.objective == 4.0 and res.best_bound == 4.0
    assert "cut-set master" in res.report.message
    assert "bound from the cut-set master" in res.report.message
    # with p = 3: three sites at the three points (90) or two there and site 3 (80 + 10):
    # 90; the capacities' bound (3 x 40) and coverage (100) say more, the master's cut
    # (f(S) <= 40 (x0 + x1 + x2), x3 <= 3 - x0 - x1 - x2) proves 90
    best = capacitated(c, w, cap, 3, **KW)
    assert best.status is SolveStatus.OPTIMAL
    assert best.objective == pytest.approx(90.0) and best.best_bound == pytest.approx(90.0)
    assert "bound from the cut-set master" in best.report.message


def _master_with_cuts(prob: object, cap: np.ndarray, q: int | None) -> cc.MasterModel:
    """The master with its first cuts and one round of those its LP answer violates."""
    ms = cc.new_master(prob, cap, q)  # type: ignore[arg-type]
    cc.initial_cuts(ms)
    model = cc.build(ms)
    sol = cc.solve_lp(model.mip)
    if sol.values is not None:
        x = sol.values[model.x0:model.x0 + ms.m]
        f = sol.values[model.f0:model.f0 + ms.n]
        for s in cc.separate(ms, x, f) + cc.neighbourhood_cuts(ms, x, f):
            cc.add_cut(ms, s)
    return cc.build(ms)


@settings(max_examples=40, deadline=None)
@given(tight_instances(), st.booleans(), st.integers(0, 2**31 - 1), st.floats(0.0, 50.0))
def test_the_dual_bound_of_any_multipliers_bounds_the_master_lp_and_the_optimum(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], with_p: bool, seed: int,
        scale: float) -> None:
    """Whatever the row multipliers (here random, of either sign), the dual bound is on
    the far side of the master's LP optimum, so of the capacitated optimum; with the
    first-order solver's multipliers it is the LP optimum up to its accuracy."""
    got = _problem(inst, with_p)
    if got is None:
        return
    dense, w, cap, q, prob = got
    model = _master_with_cuts(prob, cap, q)
    lp = cc.solve_lp(model.mip)
    if lp.values is None:
        return  # the set-covering master can be infeasible (no sites take it all)
    lp_value = float(lp.report.objective)
    opt = _optimum(dense, w, cap, q)
    y = np.random.default_rng(seed).normal(0.0, scale, model.mip.n_rows)
    got = cc.dual_bound(model.mip, y)
    pdlp = cc.solve_lp_first_order(model.mip, time_limit_s=20.0, tolerance=1e-8)
    assert pdlp.duals is not None
    near = cc.dual_bound(model.mip, pdlp.duals)
    tol = 1e-6 * max(1.0, abs(lp_value))
    if q is not None:
        assert got >= lp_value - tol and near >= lp_value - tol
        assert lp_value >= opt - 1e-6
        assert near <= lp_value + 1e-3 * max(1.0, abs(lp_value))
    else:
        assert got <= lp_value + tol and near <= lp_value + tol
        if not math.isinf(opt):
            assert lp_value <= opt + 1e-6
        assert near >= lp_value - 1e-3 * max(1.0, abs(lp_value))


@settings(max_examples=30, deadline=None)
@given(tight_instances(), st.booleans())
def test_the_first_order_master_bound_brackets_the_optimum(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], with_p: bool) -> None:
    got = _problem(inst, with_p)
    if got is None:
        return
    dense, w, cap, q, prob = got
    opt = _optimum(dense, w, cap, q)
    bound, x, _, ms = cc.first_order_bound(prob, cap, q, deadline=None, options=OPTIONS)
    if math.isnan(bound):
        return
    if q is not None:
        assert bound >= opt - 1e-6
        assert bound <= float(w[dense.any(axis=1)].sum()) + 1e-6
    elif not math.isinf(opt):
        assert bound <= opt + 1e-6
    assert x is not None and ((x >= 0) & (x <= 1)).all()
    # more rounds from its cuts (as the capacitated solve does with time left) stay a bound
    again, _, _, _ = cc.first_order_bound(prob, cap, q, deadline=None, options=OPTIONS,
                                          master=ms)
    if not math.isnan(again):
        assert again >= opt - 1e-6 if q is not None else (math.isinf(opt) or again <= opt + 1e-6)


def _full_lp(dense: np.ndarray, w: np.ndarray, cap: np.ndarray, p: int) -> float:
    """The LP relaxation of the compact capacitated MCLP (scipy's HiGHS): shares
    ``z_ij <= x_j``, each point's at most 1, each site's weight at most ``c_j x_j``,
    at most ``p`` sites."""
    n, m = dense.shape
    pairs = [(i, j) for i in range(n) for j in range(m) if dense[i, j]]
    nz = len(pairs)
    c = np.concatenate([-np.array([w[i] for i, _ in pairs]), np.zeros(m)])
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    for i in range(n):
        r = np.zeros(nz + m)
        r[[k for k, (pi, _) in enumerate(pairs) if pi == i]] = 1.0
        rows.append(r)
        rhs.append(1.0)
    for j in range(m):
        r = np.zeros(nz + m)
        for k, (pi, pj) in enumerate(pairs):
            if pj == j:
                r[k] = w[pi]
        r[nz + j] = -cap[j]
        rows.append(r)
        rhs.append(0.0)
    for k, (_, pj) in enumerate(pairs):
        r = np.zeros(nz + m)
        r[k], r[nz + pj] = 1.0, -1.0
        rows.append(r)
        rhs.append(0.0)
    r = np.zeros(nz + m)
    r[nz:] = 1.0
    rows.append(r)
    rhs.append(float(p))
    lp = linprog(c, A_ub=np.array(rows), b_ub=rhs, bounds=(0, 1), method="highs")
    assert lp.status == 0
    return float(-lp.fun)


@settings(max_examples=40, deadline=None)
@given(tight_instances(), st.booleans())
def test_the_simplex_master_bound_brackets_the_optimum_and_ends_at_the_lp(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], with_p: bool) -> None:
    """The master's LP by the warm-started simplex (:func:`cc.simplex_bound`): its bound is
    on the right side of the brute-force optimum, and run to the end (no cut violated)
    it is the LP relaxation of the compact capacitated model (with ``p``); more rounds
    from its master, and the same loop in its thread (:class:`cc.LpWorker`), too."""
    got = _problem(inst, with_p)
    if got is None:
        return
    dense, w, cap, q, prob = got
    opt = _optimum(dense, w, cap, q)
    bound, x, _, ms = cc.simplex_bound(prob, cap, q, deadline=None, options=OPTIONS)
    if math.isnan(bound):
        assert q is None  # the set-covering master may be infeasible (no room)
        return
    assert x is not None and ((x >= 0) & (x <= 1)).all()
    if q is not None:
        assert bound >= opt - 1e-6
        full = _full_lp(dense, w, cap, q)
        assert bound >= full - 1e-6 * max(1.0, full)
        assert bound <= full + 1e-5 * max(1.0, full)
    elif not math.isinf(opt):
        assert bound <= opt + 1e-6
    again, _, _, _ = cc.simplex_bound(prob, cap, q, deadline=None, options=OPTIONS, master=ms)
    assert again == pytest.approx(bound, rel=1e-6, abs=1e-6)
    w_bound, w_x, _, _ = cc.LpWorker(prob, cap, q, deadline=None, options=OPTIONS).start().join()
    assert w_bound == pytest.approx(bound, rel=1e-6, abs=1e-6)
    assert w_x is not None


def _small_problem() -> tuple[CoverInputs, np.ndarray]:
    """12 points, 6 sites with room for some of them (seeded)."""
    rng = np.random.default_rng(5)
    dense = rng.random((12, 6)) < 0.5
    w = rng.integers(1, 30, 12).astype(float)
    cap = rng.integers(10, 60, 6).astype(float)
    return cover_inputs(sp.csr_matrix(dense), w, None, None), cap


def test_the_simplex_master_bound_stops_at_its_deadline() -> None:
    """With its deadline past, no round runs: no bound and no sites' values (never a
    bound it did not prove)."""
    import time

    prob, cap = _small_problem()
    bound, x, note, _ = cc.simplex_bound(prob, cap, 3, deadline=time.perf_counter() - 1.0,
                                         options=OPTIONS)
    assert math.isnan(bound) and x is None and "0 rounds" in note


def test_the_simplex_master_thread_on_a_stop_request_gives_no_bound() -> None:
    """A stop request: the thread's loop runs no round, and its join gives no bound."""
    import threading

    prob, cap = _small_problem()
    stop = threading.Event()
    stop.set()
    opts = SolveOptions(time_limit_s=None, seed=0, threads=1, stop=stop)
    bound, x, _, _ = cc.LpWorker(prob, cap, 3, deadline=None, options=opts).start().join()
    assert math.isnan(bound) and x is None


@settings(max_examples=30, deadline=None)
@given(tight_instances(), st.booleans(), st.integers(0, 2**16 - 1))
def test_the_restricted_mip_over_merged_points_is_the_optimum_on_its_sites(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], with_p: bool,
        pick: int) -> None:
    """Merging the points with the same sites within reach among the restriction loses
    nothing with split assignment: solved to the end, the restricted MIP's answer is the
    brute-force optimum over those sites, and its figures are its assignment's."""
    from optimizer.placement import capacity

    dense, w, cap, p = inst
    q = p if with_p else None
    m = cap.size
    sites = np.array([(pick >> j) & 1 == 1 for j in range(m)])
    sites[0] = True
    prob = cover_inputs(sp.csr_matrix(dense), w, None, None)
    # the brute force on the restriction: the other sites' columns emptied
    sub = dense & sites[None, :]
    opt = _optimum(sub, w, cap, q)
    if q is None and (math.isinf(opt) or (dense.any(axis=1) & ~sub.any(axis=1)).any()):
        return  # no answer on these sites (a coverable point without one, or no room)
    start = capacity._solve_fixed(prob, cap, sites, q, single=False, pen=None, limit=None,
                                  options=OPTIONS, source="test")
    assert start is not None
    got, report, _ = capacity._restricted_mip(prob, cap, q, sites, start, single=False,
                                              pen=None, deadline=None, options=OPTIONS)
    assert got is not None and report is not None
    assert got.objective == pytest.approx(opt, abs=1e-6)
    opened = capacity._open_of(got, m)
    assert not (opened & ~sites).any()
    assert _take(dense, w, cap, tuple(np.flatnonzero(opened))) >= (
        got.objective - 1e-6 if q is not None else float(w[dense.any(axis=1)].sum()) - 1e-6)
    # the expanded assignment: within capacity and each point's shares at most one
    load = capacity._load(prob.inp, got.cm, got.values)
    assert (load <= cap + 1e-6).all()
    assert (capacity._shares(w.size, got.cm, got.values, m) <= 1 + 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(tight_instances(), st.integers(0, 2**16 - 1), st.booleans())
def test_the_repair_by_minimum_cuts_gives_sites_that_take_all_the_demand(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], pick: int, close: bool) -> None:
    """From any set of open sites, the repair's sites cover every coverable point and
    take all its weight (checked by scipy's LP, not the flow), keep every site it was
    given unless ``close``, and it gives up (``None``) only when even every site open
    cannot take it all."""
    dense, w, cap, _ = inst
    prob = cover_inputs(sp.csr_matrix(dense), w, None, None)
    ms = cc.new_master(prob, cap, None)
    x = np.array([(pick >> j) & 1 == 1 for j in range(cap.size)])
    coverable = dense.any(axis=1)
    need = float(w[coverable].sum())
    got = cc.repair_sites(ms, x, close=close)
    if got is None:
        assert _take(dense, w, cap, tuple(range(cap.size))) < need - 1e-6
        return
    assert (dense[coverable][:, got].any(axis=1)).all()
    assert _take(dense, w, cap, tuple(np.flatnonzero(got))) == pytest.approx(need, abs=1e-6)
    if not close:
        assert (got >= x).all()
    else:
        # closing any one more site loses weight or leaves a point without a site
        for j in np.flatnonzero(got):
            fewer = got.copy()
            fewer[j] = False
            assert not (dense[coverable][:, fewer].any(axis=1)).all() or _take(
                dense, w, cap, tuple(np.flatnonzero(fewer))) < need - 1e-6


@settings(max_examples=30, deadline=None)
@given(tight_instances())
def test_branch_and_cut_bounds_the_fewest_points_and_its_optimum_is_the_optimum(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int]) -> None:
    """SCIP with the flow's cut-set rows as lazy constraints (the offline tool): its
    bound is at most the brute-force optimum, its answer takes all the demand (scipy's
    LP), and a finished search is the optimum."""
    got = _problem(inst, False)
    if got is None:
        return
    dense, w, cap, _, prob = got
    opt = _optimum(dense, w, cap, None)
    ms = cc.new_master(prob, cap, None)
    cc.initial_cuts(ms)
    out = cc.branch_and_cut(ms, None, deadline=None, options=OPTIONS)
    if math.isinf(opt):
        assert out.best is None and not out.proven
        return
    assert out.bound <= opt + 1e-6
    assert out.proven, out.note  # no time limit: the search ends
    assert out.best is not None and float(out.best.sum()) == opt
    coverable = dense.any(axis=1)
    assert dense[coverable][:, out.best].any(axis=1).all()
    assert _take(dense, w, cap, tuple(np.flatnonzero(out.best))) == pytest.approx(
        float(w[coverable].sum()), abs=1e-6)
    assert out.bound == pytest.approx(opt, abs=1e-6)


@pytest.mark.parametrize("simplex", [True, False])
@settings(max_examples=15, deadline=None)
@given(tight_instances())
def test_with_the_master_lp_by_pdlp_the_most_assigned_is_bracketed_and_timed(
        simplex: bool, inst: tuple[np.ndarray, np.ndarray, np.ndarray, int]) -> None:
    """The MCLP path of the provinces (above the pair cap and the master's point cap: the
    master's LP by PDLP, then the restricted MIPs), forced on small instances: the answer
    and bound bracket the brute-force optimum, and the uncapacitated model had
    UNCAPACITATED_FIRST_ORDER_SHARE of the limit (the set-covering form keeps
    UNCAPACITATED_TIME_SHARE)."""
    import optimizer.placement.capacity as capacity

    dense, w, cap, p = inst
    if not dense.any():
        return
    limit = KW["time_limit_s"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(capacity, "CAPACITATED_MIP_MAX_PAIRS", 0)
        mp.setattr(capacity, "MASTER_MCLP_MAX_POINTS", 0)
        mp.setattr(capacity, "SIMPLEX_MASTER_LP", simplex)
        res = capacitated(sp.csr_matrix(dense), w, cap, p, **KW)
        lscp = capacitated(sp.csr_matrix(dense), w, cap, None, **KW)
    assert res.status.has_solution
    assert_brackets_optimum(res, _optimum(dense, w, cap, p), maximize=True)
    assert res.stages[0].time_limit_s == pytest.approx(
        capacity.UNCAPACITATED_FIRST_ORDER_SHARE * limit)
    assert capacity.UNCAPACITATED_FIRST_ORDER_SHARE < capacity.UNCAPACITATED_TIME_SHARE
    assert lscp.stages[0].time_limit_s == pytest.approx(
        capacity.UNCAPACITATED_TIME_SHARE * limit)
    # the LP rounds are left out only when the known bounds already prove the answer
    how = "by the simplex method" if simplex else "by PDLP"
    assert f"cut-set master LP {how}" in res.report.message or (
        res.status is SolveStatus.OPTIMAL)


@pytest.mark.parametrize("simplex", [True, False])
def test_with_the_master_lp_by_pdlp_a_hand_instance_runs_it_and_is_proven(
        simplex: bool) -> None:
    """A random instance (fixed seed) where the start misses the optimum: the LP
    rounds (PDLP's, or the simplex's in their thread) run, their bound meets the answer
    (OPTIMAL), and it is the brute force's."""
    import optimizer.placement.capacity as capacity

    rng = np.random.default_rng(3)
    for _ in range(3):
        dense = rng.random((10, 6)) < 0.5
        w = rng.integers(1, 30, 10).astype(float)
        cap = rng.integers(10, 60, 6).astype(float)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(capacity, "CAPACITATED_MIP_MAX_PAIRS", 0)
        mp.setattr(capacity, "MASTER_MCLP_MAX_POINTS", 0)
        mp.setattr(capacity, "SIMPLEX_MASTER_LP", simplex)
        res = capacitated(sp.csr_matrix(dense), w, cap, 3, **KW)
    how = "by the simplex method" if simplex else "by PDLP"
    assert f"cut-set master LP {how}" in res.report.message
    assert res.status is SolveStatus.OPTIMAL
    assert res.objective == pytest.approx(_optimum(dense, w, cap, 3), abs=1e-6)
    assert res.stages[0].time_limit_s == pytest.approx(
        capacity.UNCAPACITATED_FIRST_ORDER_SHARE * KW["time_limit_s"])
