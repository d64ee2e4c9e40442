"""Placement models on tiny instances whose optimum is checked by hand, and against spopt."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

from optimizer._instances import clustered_instance, sparse_distance_km
from optimizer._preprocess import dominated_columns, merge_identical_rows, reduce_lscp
from optimizer._status import SolveStatus
from optimizer.placement import (
    Tuning,
    backup,
    capacitated,
    lexicographic,
    lscp,
    mclp,
    p_center,
    p_median,
    pareto,
)

# Four demand points on a line and three sites; site 0 covers d0,d1; site 1 covers
# d1,d2; site 2 covers d2,d3; d4 is beyond every site.
COVER = sp.csr_matrix(np.array(
    [[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=bool))
W = np.array([10.0, 1.0, 1.0, 20.0, 5.0])
# Travel minutes (all pairs reachable) for the median / center models.
MIN = sp.csr_matrix(np.array([[1, 5, 9], [4, 2, 8], [9, 3, 1], [9, 7, 2]], dtype=float))
KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


def test_lscp_hand_optimum_and_uncoverable() -> None:
    res = lscp(COVER, W, **KW)
    assert res.status is SolveStatus.OPTIMAL
    assert res.objective == 2  # d0 needs site 0, d3 needs site 2, and they cover d1, d2
    assert res.open_sites.tolist() == [0, 2]
    assert res.uncoverable.tolist() == [4]
    assert res.uncoverable_weight == 5.0
    assert res.assignment.tolist() == [0, 0, 2, 2, -1]
    assert res.covered_weight == 32.0
    assert res.report.gap == 0.0 and res.report.best_bound == 2
    assert (res.report.seed, res.report.threads, res.report.time_limit_s) == (0, 1, 20.0)


def test_lscp_must_open_and_closed() -> None:
    # site 1 must stay: d1, d2 covered by it; d0 still needs 0 and d3 needs 2 -> 3 sites
    res = lscp(COVER, W, fixed=[1], **KW)
    assert res.status is SolveStatus.OPTIMAL and res.open_sites.tolist() == [0, 1, 2]
    # closing site 0 makes d0 uncoverable; d1..d3 are covered by site 2 + site 1 or 2 alone? no:
    # d1 only by site 1 once 0 is closed, d3 only by 2 -> {1, 2}
    res = lscp(COVER, W, closed=[0], **KW)
    assert res.status is SolveStatus.OPTIMAL
    assert res.open_sites.tolist() == [1, 2]
    assert res.uncoverable.tolist() == [0, 4]
    assert res.uncoverable_weight == 15.0


def test_lscp_costs_prefer_cheaper_cover() -> None:
    # site 3 covers everything coverable but costs 3; sites 0+2 cost 2
    c = sp.hstack([COVER, sp.csr_matrix(np.array([[1], [1], [1], [1], [0]], dtype=bool))]).tocsr()
    assert lscp(c, W, costs=[1, 1, 1, 3], **KW).open_sites.tolist() == [0, 2]
    assert lscp(c, W, costs=[1, 1, 1, 1.5], **KW).open_sites.tolist() == [3]


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="both fixed .* and closed"):
        lscp(COVER, W, fixed=[1], closed=[1])
    with pytest.raises(ValueError, match="weights has 3 entries"):
        lscp(COVER, W[:3])
    with pytest.raises(ValueError, match="fixed site index 7"):
        mclp(COVER, W, 2, fixed=[7])
    with pytest.raises(ValueError, match="p=1 is smaller than the 2 must-open"):
        mclp(COVER, W, 1, fixed=[0, 1])
    with pytest.raises(ValueError, match="demand row 1"):
        lscp(COVER, np.array([1.0, -1, 0, 0, 0]))


@pytest.mark.parametrize("model", ["lscp", "mclp", "pareto", "p_median", "p_center", "capacitated",
                                   "backup", "lexicographic"])
def test_every_model_refuses_a_seed_or_thread_count_the_engines_cannot_take(model: str) -> None:
    # HiGHS answered a negative seed with a bare internal error; small instances never
    # reach it (enumeration), so the check must not depend on the path either
    import optimizer.placement as pl

    minutes = sp.csr_matrix(COVER.astype(np.float64) * 3.0)
    args = {"lscp": (COVER, W), "mclp": (COVER, W, 2), "pareto": (COVER, W, 2),
            "p_median": (minutes, W, 2), "p_center": (minutes, W, 2),
            "capacitated": (COVER, W, np.full(3, 100.0)), "backup": (COVER, W, 2),
            "lexicographic": (COVER, W, 2)}[model]
    kw = {"minutes": minutes} if model == "lexicographic" else {}
    fn = getattr(pl, model)
    for seed, threads, says in ((-1, 1, "seed must be a whole number in 0..2147483647, got -1"),
                                (2**31, 1, "got 2147483648"), (0, 0, "threads must be >= 1, got 0")):
        with pytest.raises(ValueError, match=says):
            fn(*args, seed=seed, threads=threads, **kw)
    assert fn(*args, seed=2**31 - 1, threads=1, **kw) is not None


def test_mclp_hand_optimum_p_and_budget() -> None:
    one = mclp(COVER, W, 1, **KW)
    assert one.status is SolveStatus.OPTIMAL
    assert one.open_sites.tolist() == [2] and one.objective == 21.0  # d2 + d3
    two = mclp(COVER, W, 2, **KW)
    assert two.objective == 32.0 and two.open_sites.tolist() == [0, 2]
    assert two.covered_share == pytest.approx(32 / 37)
    # budget 2 with site 2 costing 2: only site 0 (11) or site 2 (21) fits
    b = mclp(COVER, W, budget=2.0, costs=[1, 1, 2], **KW)
    assert b.objective == 21.0 and b.open_sites.tolist() == [2]
    # must-open site 1 plus one more: 1 + {2} covers d1,d2,d3 = 22; 1 + {0} covers 12
    f = mclp(COVER, W, 2, fixed=[1], **KW)
    assert f.objective == 22.0 and f.open_sites.tolist() == [1, 2]


def test_pareto_is_monotone_and_flat_after_full_cover() -> None:
    curve = pareto(COVER, W, 3, **KW)
    assert curve.p_values.tolist() == [1, 2, 3]
    assert curve.covered_weight.tolist() == [21.0, 32.0, 32.0]
    assert all(s is SolveStatus.OPTIMAL for s in curve.statuses)


def test_p_median_hand_optimum() -> None:
    w = np.array([10.0, 1.0, 1.0, 20.0])
    # p=1: site0 10+4+9+180=203, site1 50+2+3+140=195, site2 90+8+1+40=139
    res = p_median(MIN, w, 1, **KW)
    assert res.status is SolveStatus.OPTIMAL
    assert res.open_sites.tolist() == [2] and res.objective == pytest.approx(139.0)
    # p=2: {0,2}: 10+4+1+40=55 is best
    res2 = p_median(MIN, w, 2, **KW)
    assert res2.open_sites.tolist() == [0, 2] and res2.objective == pytest.approx(55.0)
    assert res2.travel_min.tolist() == [1.0, 4.0, 1.0, 2.0]
    # closing site 2 with p=1: site 1 (195)
    assert p_median(MIN, w, 1, closed=[2], **KW).open_sites.tolist() == [1]


def test_p_median_cutoff_penalty_and_floor() -> None:
    # missing entries are beyond the cutoff; d1 reaches only site 1
    m = sp.csr_matrix(np.array([[1, 0], [0, 2]], dtype=float))
    m.eliminate_zeros()
    w = np.array([1.0, 3.0])
    hard = p_median(m, w, 1, **KW)
    assert hard.status is SolveStatus.INFEASIBLE
    soft = p_median(m, w, 1, unassigned_penalty_min=10.0, **KW)
    # open 1: 3*2 + 1*10 = 16 ; open 0: 1*1 + 3*10 = 31
    assert soft.status is SolveStatus.OPTIMAL and soft.open_sites.tolist() == [1]
    assert soft.objective == pytest.approx(16.0)
    assert soft.assignment.tolist() == [-1, 1]
    # a zero-minute entry is a real site at the demand point, not "missing"
    z = sp.csr_matrix((np.array([0.0, 5.0]), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))
    res = p_median(z, w, 2, **KW)
    assert res.objective == pytest.approx(15.0) and res.uncoverable.size == 0
    # floor: 100% within 1.5 minutes is impossible with one point when d1 is 2 minutes away
    m3 = sp.csr_matrix(np.array([[1.0, 3.0], [2.0, 1.0]]))
    floor = p_median(m3, np.array([1.0, 1.0]), 1, cover_minutes=1.5, min_covered_share=1.0,
                     **KW)
    assert floor.status is SolveStatus.INFEASIBLE
    assert "(the most they can cover, proven by mclp)" in floor.report.message
    ok = p_median(m3, np.array([1.0, 1.0]), 1, cover_minutes=1.5, min_covered_share=0.5, **KW)
    assert ok.status is SolveStatus.OPTIMAL and ok.objective == pytest.approx(3.0)
    # site 0 (3 minutes in all) is also the best without the floor, and has d0 within 1.5
    assert "without the floor already has 50 % or more covered" in ok.report.message


def test_p_median_floor_the_plan_without_it_misses() -> None:
    # Site A is 0.5 min from d0 and d1 (10 people each) and 9 from d2 (1 person): 19;
    # site B is 1 min from all three: 21. Everyone within 1 minute rules A out: B, 21,
    # proven by the radius model from the most-coverage start, the free optimum (19)
    # giving the bound before it.
    m = sp.csr_matrix(np.array([[0.5, 1.0], [0.5, 1.0], [9.0, 1.0]]))
    w = np.array([10.0, 10.0, 1.0])
    free = p_median(m, w, 1, **KW)
    assert free.open_sites.tolist() == [0] and free.objective == pytest.approx(19.0)
    res = p_median(m, w, 1, cover_minutes=1.0, min_covered_share=1.0, **KW)
    assert res.status is SolveStatus.OPTIMAL and res.open_sites.tolist() == [1]
    assert res.objective == pytest.approx(21.0) and res.best_bound == pytest.approx(21.0)
    assert "start: the most coverage (mclp)" in res.report.message
    # the same through a coverage standard matrix
    std = sp.csr_matrix(np.array([[True, True], [True, True], [False, True]]))
    res = p_median(m, w, 1, covered=std, min_covered_share=1.0, **KW)
    assert res.status is SolveStatus.OPTIMAL and res.open_sites.tolist() == [1]


def test_p_center_hand_optimum() -> None:
    # worst times: site0 9, site1 7, site2 9 -> p=1 gives 7 at site 1
    res = p_center(MIN, np.ones(4), 1, **KW)
    assert res.status is SolveStatus.OPTIMAL
    assert res.objective == 7.0 and res.open_sites.tolist() == [1]
    assert res.best_bound == 7.0
    # p=2: {0,2} worst is d1 at 4 minutes; {0,1}: d3 7; {1,2}: d0 5 -> 4
    res2 = p_center(MIN, np.ones(4), 2, **KW)
    assert res2.objective == 4.0 and res2.open_sites.tolist() == [0, 2]
    # must-open site 0 with p=1
    res3 = p_center(MIN, np.ones(4), 1, fixed=[0], **KW)
    assert res3.objective == 9.0 and res3.open_sites.tolist() == [0]


def test_capacities_force_a_second_point() -> None:
    # one site covers both demand points but holds only 15 of their 20
    c = sp.csr_matrix(np.array([[1, 1], [1, 0]], dtype=bool))
    w = np.array([10.0, 10.0])
    uncap = lscp(c, w, **KW)
    assert uncap.open_sites.tolist() == [0]
    res = capacitated(c, w, capacity=[15.0, 15.0], **KW)
    assert res.status is SolveStatus.OPTIMAL
    assert res.open_sites.tolist() == [0, 1] and res.objective == 2
    assert res.load.sum() == pytest.approx(20.0)
    assert (res.load <= np.array([15.0, 15.0]) + 1e-6).all()
    whole = capacitated(c, w, capacity=[15.0, 15.0], single_assignment=True, **KW)
    assert whole.load.tolist() == [10.0, 10.0] and whole.assignment.tolist() == [1, 0] or (
        whole.assignment.tolist() == [0, 0] and False)
    # impossible capacities are reported infeasible, never as a solution
    assert capacitated(c, w, capacity=[5.0, 5.0], **KW).status is SolveStatus.INFEASIBLE
    # with a penalty, the overload is allowed and reported per point
    pen = capacitated(c, w, capacity=[15.0, 0.0], overload_penalty=0.01, **KW)
    assert pen.status is SolveStatus.OPTIMAL and pen.open_sites.tolist() == [0]
    assert pen.overload is not None and pen.overload[0] == pytest.approx(5.0)
    # with p: most weight assigned with one point of capacity 15 -> 15 (split allowed)
    best = capacitated(c, w, capacity=[15.0, 15.0], p=1, **KW)
    assert best.objective == pytest.approx(15.0)
    single = capacitated(c, w, capacity=[15.0, 15.0], p=1, single_assignment=True, **KW)
    assert single.objective == pytest.approx(10.0)


def test_backup_prefers_double_cover_without_losing_single_cover() -> None:
    # d0 covered by sites 0 and 1, d1 by site 1 and 2; p=2
    c = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=bool))
    w = np.array([5.0, 3.0])
    res = backup(c, w, 2, **KW)
    assert res.status is SolveStatus.OPTIMAL
    assert res.covered_weight == 8.0
    assert res.backup_weight == 5.0 and res.open_sites.tolist() == [0, 1]


def test_backup_with_nothing_to_cover_twice_is_optimal_with_no_gap() -> None:
    # each person is within reach of one site only, so nothing can be covered twice;
    # the stage-1 tolerance used to leave 0.005 in the bound ("OPTIMAL", gap 0.5 %)
    c = sp.csr_matrix(np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=bool))
    res = backup(c, np.array([1000.0, 2000.0, 1500.0, 500.0]), 3, fixed=[0], **KW)
    assert res.status is SolveStatus.OPTIMAL and res.covered_weight == 5000.0
    assert res.backup_weight == 0.0 and res.report.best_bound == 0.0 and res.report.gap == 0.0
    # fractional weights (dossiers per day): the bound is the engine's, not rounded
    frac = backup(c, np.array([1000.5, 2000.0, 1500.0, 500.0]), 3, fixed=[0], **KW)
    assert frac.backup_weight == 0.0 and frac.report.best_bound >= 0.0


def test_lexicographic_coverage_then_points_then_travel() -> None:
    # both demand points are covered by site 0 alone or by sites 1 and 2; p=2.
    c = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1]], dtype=bool))
    m = sp.csr_matrix((np.array([9.0, 1.0, 9.0, 1.0]), np.array([0, 1, 0, 2]),
                       np.array([0, 2, 4])), shape=(2, 3))
    res = lexicographic(c, np.array([1.0, 1.0]), 2, minutes=m, **KW)
    assert res.status is SolveStatus.OPTIMAL
    # coverage 2 either way, fewest points is 1 (site 0), then travel 18
    assert res.open_sites.tolist() == [0] and res.objective == pytest.approx(18.0)
    travel_first = lexicographic(c, np.array([1.0, 1.0]), 2, minutes=m,
                                 goals=("coverage", "travel"), **KW)
    assert travel_first.open_sites.tolist() == [1, 2]
    assert travel_first.objective == pytest.approx(2.0)


def test_time_limit_and_stop_never_claim_optimal() -> None:
    inst = clustered_instance(8000, 800, radius_km=5.0, seed=1)
    stop = threading.Event()
    stop.set()
    res = mclp(inst.covered, inst.weights, 60, stop=stop, **KW)
    assert res.status is SolveStatus.NOT_SOLVED and res.open_sites.size == 0
    # stopped from another thread after a second: best so far, honest status and bound
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    t0 = time.perf_counter()
    res = mclp(inst.covered, inst.weights, 60, stop=stop, **KW)
    timer.join()
    # the stop is honoured between solve slices, long before the run would otherwise end
    # (generous on purpose: this checks behaviour, not speed, on a shared machine)
    assert time.perf_counter() - t0 < 40.0
    assert res.status is SolveStatus.FEASIBLE
    assert res.best_bound >= res.objective > 0 and res.gap > 0
    assert res.objective == pytest.approx(res.covered_weight)
    assert "stopped on request" in res.report.message
    # a time limit alone gives the same honesty
    short = mclp(inst.covered, inst.weights, 60, threads=1, seed=0, time_limit_s=1.0)
    assert short.status is SolveStatus.FEASIBLE and short.best_bound > short.objective


def test_a_stop_abandons_the_slice_running() -> None:
    """The engines ignore MathOpt's interrupter: a stop used to wait for the slice running
    (up to 30 s). Now the slice is abandoned when the stop comes; the answer is the best
    of the slices done, never OPTIMAL. This model takes HiGHS ~19 s in one piece, so the
    third slice (5 to 21 s) is running when the stop comes at 8 s; slices that only
    doubled and were waited for would have returned at 15 s."""
    from optimizer import _pmedian as pm
    from optimizer._mip import solve_mip

    inst = clustered_instance(3000, 300, radius_km=5.0, seed=3, cutoff_km=15.0)
    pairs = pm.Pairs.of(inst.km)
    none = np.zeros(pairs.n_sites, dtype=bool)
    red = pm.Reduction(np.ones(pairs.rows.size, dtype=bool), np.ones(pairs.n_rows, dtype=bool),
                       none, none)
    model = pm.radius_model(pairs, inst.weights, np.full(pairs.n_rows, 30.0), red, 20)
    stop = threading.Event()
    timer = threading.Timer(8.0, stop.set)
    t0 = time.perf_counter()
    timer.start()
    sol = solve_mip(model.mip, time_limit_s=60.0, stop=stop)
    waited = time.perf_counter() - t0 - 8.0
    timer.join()
    # generous (a shared machine): the poll is every 0.1 s, the slice would run 13 s more
    assert waited < 3.0
    assert sol.report.status in (SolveStatus.FEASIBLE, SolveStatus.NOT_SOLVED)
    assert "stopped on request" in sol.report.message


def test_reductions_are_exact_on_random_instances() -> None:
    inst = clustered_instance(800, 120, radius_km=4.0, seed=11)
    for p in (5, 15):
        a = mclp(inst.covered, inst.weights, p, **KW)
        b = mclp(inst.covered, inst.weights, p, tuning=Tuning(preprocess=False), **KW)
        assert a.status is SolveStatus.OPTIMAL and b.status is SolveStatus.OPTIMAL
        assert a.objective == pytest.approx(b.objective)
    a = lscp(inst.covered, inst.weights, **KW)
    b = lscp(inst.covered, inst.weights, tuning=Tuning(preprocess=False), **KW)
    assert a.objective == b.objective


def test_merge_and_dominance_helpers() -> None:
    c = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1]], dtype=bool))
    uniq, group = merge_identical_rows(c)
    assert uniq.shape == (2, 3) and group.tolist() == [0, 0, 1]
    # column 0 covers {0,1} within column 1's {0,1,2}
    dom = dominated_columns(c, np.ones(3))
    assert dom is not None and dom.tolist() == [True, False, True]
    # ... unless column 1 costs more
    dom = dominated_columns(c, np.array([1.0, 2.0, 1.0]))
    assert dom is not None and dom.tolist() == [False, False, False]
    red = reduce_lscp(c, np.ones(3), np.zeros(0, dtype=np.int64))
    assert red.forced.tolist() == [1] and red.matrix.shape[0] == 0


def test_sparse_distance_keeps_zero_distance_pairs() -> None:
    d = np.array([[0.0, 0.0], [10.0, 0.0]])
    s = np.array([[0.0, 0.0], [3.0, 4.0]])
    km = sparse_distance_km(d, s, 5.0)
    assert km.nnz == 2
    assert km[0, 0] == 0.0 and km[0, 1] == pytest.approx(5.0)
    assert km.indptr.tolist() == [0, 2, 2]


# --------------------------------------------------------------------------- spopt


@pytest.mark.parametrize("seed", [1, 2])
def test_agrees_with_spopt(seed: int) -> None:
    import pulp
    from spopt.locate import LSCP, MCLP, PCenter, PMedian

    inst = clustered_instance(60, 12, radius_km=5.0, seed=seed, n_clusters=3, extent_km=25.0,
                              cutoff_km=200.0)
    dist = np.full(inst.km.shape, np.inf)
    coo = inst.km.tocoo()
    dist[coo.row, coo.col] = coo.data
    coverable = np.asarray(inst.covered.sum(axis=1)).ravel() > 0
    solver = pulp.PULP_CBC_CMD(msg=False)
    cover_d = dist[coverable]
    ours_l = lscp(inst.covered, inst.weights, **KW)
    theirs_l = LSCP.from_cost_matrix(cover_d, 5.0).solve(solver)
    assert ours_l.objective == pytest.approx(pulp.value(theirs_l.problem.objective))
    w = inst.weights
    ours_m = mclp(inst.covered, w, 3, **KW)
    theirs_m = MCLP.from_cost_matrix(dist, w, 5.0, p_facilities=3).solve(solver)
    assert ours_m.objective == pytest.approx(pulp.value(theirs_m.problem.objective))
    minutes = inst.km  # all pairs are within the 200 km cutoff: a full matrix
    assert minutes.nnz == dist.size
    ours_pm = p_median(minutes, w, 3, **KW)
    theirs_pm = PMedian.from_cost_matrix(dist, w, p_facilities=3).solve(solver)
    assert ours_pm.objective == pytest.approx(pulp.value(theirs_pm.problem.objective), rel=1e-6)
    ours_pc = p_center(minutes, w, 3, **KW)
    theirs_pc = PCenter.from_cost_matrix(dist, p_facilities=3).solve(solver)
    assert ours_pc.objective == pytest.approx(pulp.value(theirs_pc.problem.objective), rel=1e-6)
    assert (ours_pc.assignment >= 0).all()


# --------------------------------------------------------------------------- reductions


@pytest.mark.parametrize("block_work", [1, 7, 10**9])
def test_dominance_matches_brute_force(block_work: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocked subset tests give the same dominated rows/columns as pairwise set checks.

    Empty rows/columns dominate nothing here (callers drop them beforehand).
    """
    from optimizer import _preprocess as pre

    monkeypatch.setattr(pre, "DOMINANCE_BLOCK_WORK", block_work)
    rng = np.random.default_rng(block_work)
    for _ in range(20):
        dense = rng.random((9, 6)) < 0.4
        c, _ = pre.merge_identical_rows(pre.as_bool_csr(sp.csr_matrix(dense)))
        d = c.toarray()
        costs = rng.integers(1, 3, d.shape[1]).astype(float)
        sets_r = [frozenset(np.flatnonzero(row)) for row in d]
        want_r = np.array([any(sets_r[i] and sets_r[i] <= sets_r[r] and (len(sets_r[r]) > len(sets_r[i]) or i < r)
                               for i in range(len(sets_r)) if i != r) for r in range(len(sets_r))])
        got_r = pre.dominated_rows(c)
        assert got_r is not None and got_r.tolist() == want_r.tolist()
        sets_c = [frozenset(np.flatnonzero(col)) for col in d.T]
        want_c = np.array([any(sets_c[j] and sets_c[j] <= sets_c[k] and costs[k] <= costs[j] and (
            len(sets_c[k]) > len(sets_c[j]) or costs[k] < costs[j] or k < j)
            for k in range(len(sets_c)) if k != j) for j in range(len(sets_c))])
        got_c = pre.dominated_columns(c, costs)
        assert got_c is not None and got_c.tolist() == want_c.tolist()


def test_wall_limit_returns_on_time_and_drops_the_engine_answer() -> None:
    """An engine still running at ``wall_limit_s`` is abandoned: NOT_SOLVED, no values;
    a wall limit the engine meets changes nothing."""
    from optimizer import _pmedian as pm
    from optimizer._mip import solve_mip

    inst = clustered_instance(3000, 300, radius_km=5.0, seed=3, cutoff_km=15.0)
    pairs = pm.Pairs.of(inst.km)
    tail = np.full(pairs.n_rows, 30.0)
    none = np.zeros(pairs.n_sites, dtype=bool)
    red = pm.Reduction(np.ones(pairs.rows.size, dtype=bool), np.ones(pairs.n_rows, dtype=bool),
                       none, none)
    model = pm.radius_model(pairs, inst.weights, tail, red, 20)
    for stop in (None, threading.Event()):
        gone = solve_mip(model.mip, time_limit_s=2.0, wall_limit_s=0.0, stop=stop)
        assert gone.values is None and gone.report.status is SolveStatus.NOT_SOLVED
        assert not gone.report.status.has_solution
    small = clustered_instance(200, 20, radius_km=5.0, seed=3, cutoff_km=15.0)
    sp_ = pm.Pairs.of(small.km)
    red_s = pm.Reduction(np.ones(sp_.rows.size, dtype=bool), np.ones(sp_.n_rows, dtype=bool),
                         np.zeros(sp_.n_sites, dtype=bool), np.zeros(sp_.n_sites, dtype=bool))
    m_s = pm.radius_model(sp_, small.weights, np.full(sp_.n_rows, 30.0), red_s, 3)
    a = solve_mip(m_s.mip, time_limit_s=30.0)
    b = solve_mip(m_s.mip, time_limit_s=30.0, wall_limit_s=600.0)
    assert a.report.status is b.report.status is SolveStatus.OPTIMAL
    assert a.report.objective == pytest.approx(b.report.objective, rel=1e-9)


def test_demand_of_weight_zero_opens_nothing() -> None:
    # d2 and d3 weigh nothing: site 0 (d0, which it alone covers, and d1) is enough;
    # with d3 weighing 20 it took site 2 as well
    w = np.array([10.0, 1.0, 0.0, 0.0, 5.0])
    res = lscp(COVER, w, **KW)
    assert res.status is SolveStatus.OPTIMAL and res.objective == 1
    assert res.open_sites.tolist() == [0]
    # every demand point keeps its row: d2 and d3 have no open site within reach
    assert res.assignment.tolist() == [0, 0, -1, -1, -1]
    assert res.uncoverable.tolist() == [4]
    assert res.covered_weight == 11.0 and res.total_weight == 16.0
    # p-center: the worst time of the demand that weighs, d0 and d2 (site 1: 5 and 3)
    assert p_center(MIN, np.array([1.0, 0.0, 1.0, 0.0]), 1, **KW).objective == 5.0
    assert p_center(MIN, np.ones(4), 1, **KW).objective == 7.0


@pytest.mark.parametrize("model", ["lscp", "mclp", "pareto", "p_median", "p_center",
                                   "capacitated", "backup", "lexicographic"])
def test_every_model_refuses_demand_that_is_all_zero(model: str) -> None:
    import optimizer.placement as pl
    from optimizer.placement import NoDemandError

    zero = np.zeros(COVER.shape[0])
    minutes = sp.csr_matrix(COVER.astype(np.float64) * 3.0)
    args = {"lscp": (COVER, zero), "mclp": (COVER, zero, 2), "pareto": (COVER, zero, 2),
            "p_median": (minutes, zero, 2), "p_center": (minutes, zero, 2),
            "capacitated": (COVER, zero, np.full(3, 100.0)), "backup": (COVER, zero, 2),
            "lexicographic": (COVER, zero, 2)}[model]
    with pytest.raises(NoDemandError, match=r"every demand weight is 0 \(5 demand points\)"):
        getattr(pl, model)(*args, **KW)
    assert issubclass(NoDemandError, ValueError)


def test_lscp_returns_within_its_time_limit_on_a_large_instance() -> None:
    """Issue #16: an engine is told its share of the time less a second and abandoned
    at its share (SCIP told 21 s had returned after 42 s on Hà Nội at 400 m);
    the search's cover is kept, FEASIBLE with an honest bound.  The margin is generous
    on purpose (preprocessing and the final assignment are not interruptible and the
    machine is shared); the engine alone would run far longer without its limit."""
    inst = clustered_instance(20000, 2000, radius_km=5.0, seed=2)
    limit = 3.0
    t0 = time.perf_counter()
    res = lscp(inst.covered, inst.weights, time_limit_s=limit, engine="scip", threads=1, seed=0)
    wall = time.perf_counter() - t0
    assert wall < limit + 20.0
    assert res.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    assert res.best_bound <= res.objective == res.open_sites.size
    # every coverable demand point is covered by an open site
    coverable = np.asarray(inst.covered.sum(axis=1)).ravel() > 0
    reached = np.asarray(inst.covered[:, res.open_sites].sum(axis=1)).ravel() > 0
    assert reached[coverable].all()


def test_cover_step_given_a_passed_deadline_still_returns_a_cover_on_time() -> None:
    """p-center's exact cover step with no time left: the engine's run is cut at once,
    the greedy/search cover is returned with a valid bound."""
    from optimizer.placement.inputs import SolveOptions
    from optimizer.placement.set_cover import ENGINE_GRACE_S, solve_cover

    inst = clustered_instance(20000, 2000, radius_km=5.0, seed=2)
    c = sp.csr_matrix(inst.covered)
    c = c[np.diff(c.indptr) > 0]
    costs = np.ones(c.shape[1])
    t0 = time.perf_counter()
    mask, obj, bound, reps = solve_cover(c, costs, np.zeros(0, dtype=np.int64),
                                         options=SolveOptions(1.0, 0, 1, "scip", None),
                                         deadline=t0)
    wall = time.perf_counter() - t0
    assert wall < ENGINE_GRACE_S + 20.0
    assert obj == mask.sum() and bound <= obj
    assert (np.asarray(c[:, mask].sum(axis=1)).ravel() > 0).all()
    assert all(r.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL) for r in reps)
