"""The p-median bounds and reductions of ``optimizer._pmedian`` against brute force."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer import _pmedian as pm
from optimizer._status import SolveStatus
from optimizer.placement import Tuning, p_median
from tests.properties.test_placement_props import assert_median_proven

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


@st.composite
def cases(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(1, 14))
    m = draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n_fixed = draw(st.integers(0, min(2, m)))
    sites = rng.permutation(m)
    fixed = np.zeros(m, dtype=bool)
    fixed[sites[:n_fixed]] = True
    allowed = np.ones(m, dtype=bool)
    if draw(st.booleans()) and m - n_fixed > 1:
        allowed[sites[n_fixed]] = False
    reach = rng.random((n, m)) < draw(st.floats(0.2, 1.0))
    # every row reaches an allowed site (p_median leaves unreachable rows out)
    ok = np.flatnonzero(allowed)
    reach[np.arange(n), ok[rng.integers(0, ok.size, n)]] = True
    # few distinct values, so ties occur
    dist = rng.integers(0, 6, (n, m)).astype(float)
    rows, cols = np.nonzero(reach)
    mat = sp.csr_matrix((dist[rows, cols], (rows, cols)), shape=(n, m))
    w = rng.integers(0, 30, n).astype(float)
    w[0] = max(w[0], 1.0)  # demand that is all 0 is refused (NoDemandError)
    penalty = draw(st.sampled_from([None, 3.0, 4.5, 8.0]))
    p = draw(st.integers(max(1, n_fixed), m))
    lam_scale = draw(st.floats(0.0, 3.0))
    return {"mat": mat, "w": w, "penalty": penalty, "fixed": fixed, "allowed": allowed,
            "p": p, "rng_lam": rng.random(n) * lam_scale}


def _setup(c: dict[str, object]) -> tuple[pm.Pairs, np.ndarray, np.ndarray]:
    mat = c["mat"]
    assert isinstance(mat, sp.csr_matrix)
    pen = c["penalty"]
    tail = np.full(mat.shape[0], np.inf if pen is None else float(pen))
    allowed = c["allowed"]
    assert isinstance(allowed, np.ndarray)
    keep = allowed[mat.indices]
    rows = np.repeat(np.arange(mat.shape[0]), np.diff(mat.indptr))
    m2 = sp.csr_matrix((mat.data[keep], (rows[keep], mat.indices[keep])), shape=mat.shape)
    w = c["w"]
    assert isinstance(w, np.ndarray)
    return pm.Pairs.of(m2), w, tail


def _case(c: dict[str, object]) -> tuple[pm.Pairs, np.ndarray, np.ndarray, int, np.ndarray,
                                          np.ndarray]:
    """A drawn case's pairs, weights, tail, ``p``, must-open and allowed sites."""
    pairs, w, tail = _setup(c)
    p, fixed, allowed = c["p"], c["fixed"], c["allowed"]
    assert isinstance(p, int) and isinstance(fixed, np.ndarray) and isinstance(allowed, np.ndarray)
    return pairs, w, tail, p, fixed, allowed


def _random_start(c: dict[str, object], pairs: pm.Pairs, w: np.ndarray, tail: np.ndarray, p: int,
                  fixed: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, float]:
    """The case's random multipliers (any are valid) and the root bound they give."""
    lam_rand = c["rng_lam"]
    assert isinstance(lam_rand, np.ndarray)
    lam = lam_rand * w * 5.0
    return lam, pm.evaluate(pairs, w, tail, lam, p, fixed, allowed).bound


def _all_sets(pairs: pm.Pairs, p: int, fixed: np.ndarray, allowed: np.ndarray):
    """Every open set of at most p allowed sites containing the must-open ones."""
    free = [j for j in range(pairs.n_sites) if allowed[j] and not fixed[j]]
    q = p - int(fixed.sum())
    for k in range(max(0, q) + 1):
        for s in combinations(free, k):
            mask = fixed.copy()
            mask[list(s)] = True
            yield mask


def _brute(pairs: pm.Pairs, w: np.ndarray, tail: np.ndarray, p: int, fixed: np.ndarray,
           allowed: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """The optimum and every optimal set (by dense enumeration, not the module's code)."""
    dense = np.full((pairs.n_rows, pairs.n_sites), np.inf)
    dense[pairs.rows, pairs.cols] = pairs.dist
    best, arg = np.inf, []
    for mask in _all_sets(pairs, p, fixed, allowed):
        d = np.minimum(dense[:, mask].min(axis=1, initial=np.inf), tail)
        if not np.isfinite(d).all():
            continue
        c = float(w @ d)
        if c < best - 1e-9:
            best, arg = c, [mask]
        elif c <= best + 1e-9:
            arg.append(mask)
    return best, arg


@settings(max_examples=60, deadline=None)
@given(cases())
def test_lagrangian_bound_never_exceeds_the_optimum(c: dict[str, object]) -> None:
    pairs, w, tail, p, fixed, allowed = _case(c)
    opt, _ = _brute(pairs, w, tail, p, fixed, allowed)
    lam_rand = c["rng_lam"]
    assert isinstance(lam_rand, np.ndarray)
    # any multipliers, and those the subgradient ends with
    lg0 = pm.evaluate(pairs, w, tail, lam_rand * w * 5.0, p, fixed, allowed)
    lg, _, ub = pm.lagrangian_bound(pairs, w, tail, p, fixed, allowed, np.inf, w * 2.0,
                                    max_iter=300)
    if np.isfinite(opt):
        assert lg0.bound <= opt + 1e-6
        assert lg.bound <= opt + 1e-6
    assert int(lg.chosen.sum()) <= p and not (lg.chosen & ~allowed).any()
    assert (lg.chosen[fixed]).all()


@settings(max_examples=60, deadline=None)
@given(cases())
def test_interchange_is_feasible_and_never_worse_than_greedy(c: dict[str, object]) -> None:
    pairs, w, tail, p, fixed, allowed = _case(c)
    g = pm.greedy(pairs, w, tail, p, fixed, allowed)
    s, _ = pm.interchange(pairs, w, tail, g, fixed, allowed)
    assert int(s.sum()) <= p
    assert s[fixed].all() and not (s & ~allowed).any()
    cg, cs = pm.cost(pairs, w, tail, g), pm.cost(pairs, w, tail, s)
    assert cs <= cg + 1e-9 * max(1.0, abs(cg)) or not np.isfinite(cg)
    opt, _ = _brute(pairs, w, tail, p, fixed, allowed)
    assert cs >= opt - 1e-6


@settings(max_examples=60, deadline=None)
@given(cases())
def test_reduced_cost_fixing_keeps_every_optimal_solution(c: dict[str, object]) -> None:
    pairs, w, tail, p, fixed, allowed = _case(c)
    opt, optimal_sets = _brute(pairs, w, tail, p, fixed, allowed)
    if not np.isfinite(opt):
        return
    g = pm.greedy(pairs, w, tail, p, fixed, allowed)
    s, _ = pm.interchange(pairs, w, tail, g, fixed, allowed)
    ub = pm.cost(pairs, w, tail, s)
    if not np.isfinite(ub):
        return
    lam_rand = c["rng_lam"]
    assert isinstance(lam_rand, np.ndarray)
    lg, _, _ = pm.lagrangian_bound(pairs, w, tail, p, fixed, allowed, ub, w * 2.0,
                                   max_iter=300)
    for lgx in (lg, pm.evaluate(pairs, w, tail, lam_rand * w * 5.0, p, fixed, allowed)):
        # the optimum itself as the upper bound: the strongest fixing, still exact
        for upper in (ub, opt):
            red = pm.reduce(pairs, w, tail, p, fixed, allowed, lgx, upper, 1e-9 * max(1.0, upper))
            kept = pairs.subset(red.keep_pair)
            kept_tail = np.where(red.keep_tail, tail, np.inf)
            for mask in optimal_sets:
                assert not (mask & red.force_closed).any()
                assert (mask[red.force_open]).all()
                # the optimal set costs the same with only the kept pairs and tails
                assert pm.cost(kept, w, kept_tail, mask) == pytest.approx(opt, abs=1e-6)
            # and the reduced model's optimum (by brute force) is the optimum
            free = allowed & ~red.force_closed
            ropt, _ = _brute(kept, w, kept_tail, p, fixed | red.force_open, free)
            assert min(ropt, upper) == pytest.approx(opt, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(cases())
def test_lagrangian_p_median_matches_brute_force(c: dict[str, object]) -> None:
    """The whole pipeline (through p_median, must-open and closed sites) proves the optimum."""
    mat, w, p, fixed, allowed = c["mat"], c["w"], c["p"], c["fixed"], c["allowed"]
    assert isinstance(mat, sp.csr_matrix) and isinstance(w, np.ndarray) and isinstance(p, int)
    assert isinstance(fixed, np.ndarray) and isinstance(allowed, np.ndarray)
    pairs, _, tail = _setup(c)
    # p_median leaves demand of weight 0 out (it needs no site): so does the oracle
    tail = np.where(w > 0, tail, 0.0)
    want, _ = _brute(pairs, w, tail, p, fixed, allowed)
    pen = c["penalty"]
    for lagrangian in (True, False):
        res = p_median(mat, w, p, fixed=np.flatnonzero(fixed), closed=np.flatnonzero(~allowed),
                       unassigned_penalty_min=pen,
                       tuning=Tuning(lagrangian=lagrangian), **KW)
        if not assert_median_proven(res, want, p):
            continue
        assert set(np.flatnonzero(fixed)) <= set(res.open_sites.tolist())
        assert not set(np.flatnonzero(~allowed)) & set(res.open_sites.tolist())


def test_must_open_sites_count_against_p() -> None:
    """p=1 with site 0 must-open: only site 0, even though site 1 is nearer to all."""
    m = sp.csr_matrix(np.array([[5.0, 1.0], [5.0, 1.0], [5.0, 1.0]]))
    for truncate, lagrangian in ((True, True), (True, False), (False, False)):
        r = p_median(m, np.ones(3), 1, fixed=[0], tuning=Tuning(truncate=truncate, lagrangian=lagrangian),
                       **KW)
        assert r.status is SolveStatus.OPTIMAL
        assert r.open_sites.tolist() == [0] and r.objective == pytest.approx(15.0)


def test_bench_like_instance_is_proven_and_beats_greedy() -> None:
    """A seeded clustered instance: the Lagrangian path proves what the full model proves."""
    from optimizer._instances import clustered_instance

    inst = clustered_instance(400, 40, radius_km=5.0, seed=11, cutoff_km=15.0)
    a = p_median(inst.km, inst.weights, 5, unassigned_penalty_min=30.0, **KW)
    b = p_median(inst.km, inst.weights, 5, unassigned_penalty_min=30.0, tuning=Tuning(truncate=False), **KW)
    assert a.status is SolveStatus.OPTIMAL and b.status is SolveStatus.OPTIMAL
    assert a.objective == pytest.approx(b.objective, rel=1e-9)
    assert "Lagrangian" in a.report.message


def test_too_large_for_the_exact_model_is_reported_honestly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the exact model the answer is FEASIBLE unless the bound meets it."""
    from optimizer._instances import clustered_instance

    inst = clustered_instance(400, 40, radius_km=5.0, seed=11, cutoff_km=15.0)
    exact = p_median(inst.km, inst.weights, 5, unassigned_penalty_min=30.0, tuning=Tuning(truncate=False), **KW)
    assert exact.status is SolveStatus.OPTIMAL
    monkeypatch.setattr(pm, "MAX_MIP_PAIRS", 0)
    res = p_median(inst.km, inst.weights, 5, unassigned_penalty_min=30.0, **KW)
    assert res.objective >= exact.objective - 1e-6
    assert res.best_bound <= exact.objective + 1e-6
    if res.status is SolveStatus.OPTIMAL:
        assert res.best_bound == pytest.approx(res.objective, abs=1e-6)
    else:
        assert res.status is SolveStatus.FEASIBLE and "no exact model" in res.report.message


def test_stopped_before_the_start_is_feasible_not_optimal() -> None:
    """A stop request before any proof: the heuristic answer, FEASIBLE, valid bound."""
    import threading

    from optimizer._instances import clustered_instance

    inst = clustered_instance(400, 40, radius_km=5.0, seed=11, cutoff_km=15.0)
    exact = p_median(inst.km, inst.weights, 5, unassigned_penalty_min=30.0, tuning=Tuning(truncate=False), **KW)
    ev = threading.Event()
    ev.set()
    res = p_median(inst.km, inst.weights, 5, unassigned_penalty_min=30.0, stop=ev, **KW)
    assert res.status is SolveStatus.FEASIBLE
    assert res.open_sites.size == 5
    assert res.objective >= exact.objective - 1e-6
    assert not res.best_bound > exact.objective + 1e-6


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(1, 80))
def test_lagrangian_branch_and_bound_matches_brute_force(c: dict[str, object],
                                                          node_iter: int) -> None:
    """The tree alone (any start multipliers, any node step count) proves the optimum;
    stopped at once, its bound is still valid and nothing is claimed."""
    pairs, w, tail, p, fixed, allowed = _case(c)
    opt, _ = _brute(pairs, w, tail, p, fixed, allowed)
    g = pm.greedy(pairs, w, tail, p, fixed, allowed)
    found = {"best": pm.cost(pairs, w, tail, g)}

    def incumbent(chosen: np.ndarray) -> float:
        s = pm.greedy(pairs, w, tail, p, chosen | fixed, allowed)
        found["best"] = min(found["best"], pm.cost(pairs, w, tail, s))
        return found["best"]

    lam, root = _random_start(c, pairs, w, tail, p, fixed, allowed)
    best, lower, proven, nodes = pm.branch_and_bound(
        pairs, w, tail, p, fixed, allowed, lam, root, incumbent, found["best"], deadline=None,
        node_iter=node_iter)
    assert proven
    if np.isfinite(opt):
        assert best == pytest.approx(opt, abs=1e-6) and lower == best
    else:
        assert not np.isfinite(best)
    cut, low2, proven2, _ = pm.branch_and_bound(
        pairs, w, tail, p, fixed, allowed, lam, root, incumbent, found["best"], deadline=0.0)
    assert not proven2 or cut == pytest.approx(low2, abs=1e-6)
    if np.isfinite(opt):
        assert low2 <= opt + 1e-6 <= cut + 2e-6


def test_tree_path_proves_what_the_full_model_proves(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the Lagrangian tree used whatever is left after fixing, p_median still
    proves the optimum of the full radius model (and says how)."""
    from optimizer._instances import clustered_instance

    monkeypatch.setattr(pm, "TREE_MIN_PAIRS", 0)
    # 800 x 80 seed 2, p = 12 branches (25 nodes when written); the others end earlier
    for seed, p in ((2, 12), (3, 12), (1, 6)):
        inst = clustered_instance(800, 80, radius_km=5.0, seed=seed, cutoff_km=15.0)
        exact = p_median(inst.km, inst.weights, p, unassigned_penalty_min=30.0, tuning=Tuning(truncate=False),
                         **KW)
        res = p_median(inst.km, inst.weights, p, unassigned_penalty_min=30.0, **KW)
        assert exact.status is SolveStatus.OPTIMAL
        assert res.objective == pytest.approx(exact.objective, rel=1e-9)
        if (seed, p) == (2, 12):
            assert "branch-and-bound" in res.report.message
        if res.status is SolveStatus.OPTIMAL:
            assert res.best_bound == pytest.approx(res.objective, abs=1e-6)
        else:
            assert res.best_bound <= exact.objective + 1e-6


@settings(max_examples=60, deadline=None)
@given(cases(), st.sampled_from([1e-3, 0.05, 0.2, 0.5]), st.integers(1, 80), st.booleans())
def test_gap_tree_proves_its_gap_against_brute_force(c: dict[str, object], gap: float,
                                                      node_iter: int, improve: bool) -> None:
    """The tree told to prove a relative gap: when it finishes, its bound is at most the
    brute-force optimum and at least ``1 - gap`` times its best cost (which is the cost
    of a real plan, never below the optimum); stopped at once, its bound still holds.
    Without the greedy completion (``improve`` false) the plans found are worse, so
    the tree often stops short of the optimum: its bound must come from the pruned
    nodes, not from the best plan."""
    pairs, w, tail, p, fixed, allowed = _case(c)
    opt, _ = _brute(pairs, w, tail, p, fixed, allowed)
    g = pm.greedy(pairs, w, tail, p, fixed, allowed)
    if not improve:
        # a poor start: the must-open sites and the allowed site greedy would add last
        poor = fixed.copy()
        poor[np.flatnonzero(g & ~fixed)[-1:]] = True
        g = poor if np.isfinite(pm.cost(pairs, w, tail, poor)) else g
    found = {"best": pm.cost(pairs, w, tail, g)}

    def incumbent(chosen: np.ndarray) -> float:
        # the best plan so far, with the node's open set completed greedily (or as it is)
        s = pm.greedy(pairs, w, tail, p, chosen | fixed, allowed) if improve else chosen | fixed
        found["best"] = min(found["best"], pm.cost(pairs, w, tail, s))
        return found["best"]

    lam, root = _random_start(c, pairs, w, tail, p, fixed, allowed)
    best, lower, proven, _ = pm.branch_and_bound(
        pairs, w, tail, p, fixed, allowed, lam, root, incumbent, found["best"], deadline=None,
        node_iter=node_iter, gap=gap)
    assert proven
    if not np.isfinite(opt):
        assert not np.isfinite(best)
        return
    assert best == found["best"] and best >= opt - 1e-6
    assert lower <= opt + 1e-6
    assert lower >= best - gap * abs(best) - 1e-6
    _, low2, proven2, _ = pm.branch_and_bound(
        pairs, w, tail, p, fixed, allowed, lam, root, incumbent, found["best"], deadline=0.0,
        gap=gap)
    assert not proven2 and low2 <= opt + 1e-6


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 4), st.sampled_from([0.01, 0.05, 0.2]),
       st.sampled_from([None, 6.0]))
def test_gap_tree_from_a_poor_plan_against_brute_force(seed: int, p: int, gap: float,
                                                       penalty: float | None) -> None:
    """40 points x 12 sites in the plane (tied distances), the tree started from a
    one-site plan with the subproblem's open sets as its only plans: it often ends
    above the optimum (a third of the seeds when written), and its bound must then
    come from the nodes it pruned, at most the brute-force optimum and at least
    ``1 - gap`` times its best cost."""
    from itertools import combinations

    rng = np.random.default_rng(seed)
    n, m = 40, 12
    d = np.round(np.hypot(*(rng.random((n, 1, 2)) - rng.random((1, m, 2))).transpose(2, 0, 1))
                 * 20.0)
    mat = sp.csr_matrix((d.ravel(), (np.repeat(np.arange(n), m), np.tile(np.arange(m), n))),
                        shape=(n, m))
    pairs = pm.Pairs.of(mat)
    w = rng.integers(1, 30, n).astype(float)
    tail = np.full(n, np.inf if penalty is None else penalty)
    fixed, allowed = np.zeros(m, dtype=bool), np.ones(m, dtype=bool)
    capped = np.minimum(d, tail[:, None])
    opt = min(float(w @ capped[:, list(c)].min(axis=1)) for c in combinations(range(m), p))
    found = {"best": pm.cost(pairs, w, tail, np.arange(m) == 0)}

    def incumbent(chosen: np.ndarray) -> float:
        found["best"] = min(found["best"], pm.cost(pairs, w, tail, chosen))
        return found["best"]

    lam = np.zeros(n)
    root = pm.evaluate(pairs, w, tail, lam, p, fixed, allowed).bound
    best, lower, proven, _ = pm.branch_and_bound(
        pairs, w, tail, p, fixed, allowed, lam, root, incumbent, found["best"], deadline=None,
        gap=gap)
    assert proven and best == found["best"] and best >= opt - 1e-6
    assert best - gap * best - 1e-6 <= lower <= opt + 1e-6
