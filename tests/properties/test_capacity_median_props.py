"""The capacitated p-median against hand-checked answers and brute force.

Brute force: every set of at most ``p`` open sites (must-open ones included), each with
its best assignment by scipy's HiGHS (``linprog``, or ``milp`` with single assignment),
not the model's MathOpt path.  Checked, on both of the model's paths (the full MIP and,
with the pair limit set to 0, the Lagrangian bound with swaps): bound <= optimum <=
objective, the optimum is found when the answer says OPTIMAL, capacities never cost less
than none, and every figure recomputed from the assignment.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

import optimizer.placement.capacity_median as cpm_mod
from optimizer._status import SolveStatus
from optimizer.placement import PlacementResult, capacitated_p_median, p_median

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


def _csr(d: np.ndarray) -> sp.csr_matrix:
    """Minutes with ``inf`` as 'beyond the cutoff' (explicit zeros kept)."""
    rows, cols = np.nonzero(np.isfinite(d))
    return sp.csr_matrix((d[rows, cols], (rows, cols)), shape=d.shape)


def _best(d: np.ndarray, w: np.ndarray, cap: np.ndarray, open_: tuple[int, ...],
          pen_u: float | None, pen_o: float | None, single: bool) -> float:
    """Least cost of assigning to ``open_`` (pairs beyond the penalty left out; points no
    site reaches at all left out, those reached only beyond the penalty pay it)."""
    n = w.size
    reach = np.isfinite(d).any(axis=1)
    dd = d.copy()
    if pen_u is not None:
        dd[dd > pen_u] = np.inf
    rows = [i for i in range(n) if reach[i]]
    pairs = [(i, j) for i in rows for j in open_ if np.isfinite(dd[i, j])]
    nz, nr, no = len(pairs), len(rows), len(open_)
    nv = nz + nr + no
    c = np.zeros(nv)
    for k, (i, j) in enumerate(pairs):
        c[k] = w[i] * dd[i, j]
    c[nz:nz + nr] = [w[i] * (pen_u or 0.0) for i in rows]
    c[nz + nr:] = pen_o or 0.0
    a_eq = np.zeros((nr, nv))
    for k, (i, _) in enumerate(pairs):
        a_eq[rows.index(i), k] = 1.0
    a_eq[np.arange(nr), nz + np.arange(nr)] = 1.0
    a_ub = np.zeros((no, nv))
    for k, (i, j) in enumerate(pairs):
        a_ub[open_.index(j), k] = w[i]
    a_ub[np.arange(no), nz + nr + np.arange(no)] = -1.0
    ub = np.r_[np.ones(nz), np.full(nr, 1.0 if pen_u is not None else 0.0),
               np.full(no, np.inf if pen_o is not None else 0.0)]
    cons = [LinearConstraint(a_eq, 1.0, 1.0)] if nr else []
    if no:
        cons.append(LinearConstraint(a_ub, -np.inf, cap[list(open_)]))
    integrality = np.r_[np.full(nz + nr, 1 if single else 0), np.zeros(no)]
    res = milp(c, constraints=cons, bounds=Bounds(np.zeros(nv), ub), integrality=integrality)
    return float(res.fun) if res.status == 0 else math.inf


def _brute(d: np.ndarray, w: np.ndarray, cap: np.ndarray, p: int, fixed: tuple[int, ...],
           pen_u: float | None, pen_o: float | None, single: bool) -> float:
    m = cap.size
    best = math.inf
    free = [j for j in range(m) if j not in fixed]
    for k in range(max(0, p - len(fixed)) + 1):
        for extra in itertools.combinations(free, k):
            open_ = tuple(sorted((*fixed, *extra)))
            best = min(best, _best(d, w, cap, open_, pen_u, pen_o, single))
    return best


def _check_figures(res: PlacementResult, d: np.ndarray, w: np.ndarray, cap: np.ndarray,
                   pen_u: float | None, pen_o: float | None, single: bool) -> None:
    """Every figure agrees with the assignment the result carries."""
    assert res.assigned_share is not None and res.overload is not None
    share, a = res.assigned_share, res.assignment
    is_open = np.zeros(cap.size, dtype=bool)
    is_open[res.open_sites] = True
    assert ((share > 1e-9) == (a >= 0)).all()
    assert ((share >= 0) & (share <= 1 + 1e-9)).all()
    for i in np.flatnonzero(a >= 0):
        assert is_open[a[i]] and np.isfinite(d[i, a[i]])
        assert res.travel_min[i] == pytest.approx(d[i, a[i]])
        if pen_u is not None:
            assert d[i, a[i]] <= pen_u
    if single:
        assert np.isin(np.round(share, 6), [0.0, 1.0]).all()
        assert res.load == pytest.approx(np.bincount(a[a >= 0], weights=w[a >= 0],
                                                     minlength=cap.size), abs=1e-6)
    assert res.covered_weight == pytest.approx(float(w @ share), abs=1e-6)
    assert res.load.sum() == pytest.approx(res.covered_weight, abs=1e-6)
    assert (res.load[~is_open] <= 1e-9).all()
    assert (res.load <= cap + res.overload + 1e-6).all()
    assert res.overload == pytest.approx(np.where(is_open, np.maximum(0.0, res.load - cap), 0.0),
                                         abs=1e-6)
    if pen_o is None:
        assert (res.load <= cap + 1e-6).all() and res.overload.sum() == 0.0
    if pen_u is None:  # everyone reachable is assigned
        assert share[np.isfinite(d).any(axis=1)] == pytest.approx(1.0)
    if not single:
        # the objective from the figures: travel of the single-site points is exact;
        # it never falls below what the loads and shares imply at each point's nearest site
        nearest = np.where(np.isfinite(d), d, np.inf).min(axis=1)
        reach = np.isfinite(nearest)
        low = float((w * share * np.where(reach, nearest, 0.0))[reach].sum())
        unassigned = float((w * (1 - share))[reach].sum())
        low += (pen_u or 0.0) * unassigned + (pen_o or 0.0) * float(res.overload.sum())
        assert res.objective >= low - 1e-6
    else:
        travel = float(sum(w[i] * d[i, a[i]] for i in np.flatnonzero(a >= 0)))
        reach = np.isfinite(d).any(axis=1)
        value = (travel + (pen_u or 0.0) * float((w * (1 - share))[reach].sum())
                 + (pen_o or 0.0) * float(res.overload.sum()))
        assert res.objective == pytest.approx(value, abs=1e-6)


@st.composite
def instances(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    d = np.round(rng.uniform(0, 30, (n, m)), 1)
    d[rng.random((n, m)) < draw(st.floats(0.0, 0.6))] = np.inf
    w = rng.integers(1, 10, n).astype(float)
    cap = rng.integers(0, 25, m).astype(float)
    p = draw(st.integers(1, m))
    fixed = tuple(draw(st.sets(st.integers(0, m - 1), max_size=min(p, 1))))
    return {"d": d, "w": w, "cap": cap, "p": p, "fixed": fixed,
            "pen_u": draw(st.sampled_from([None, 20.0, 40.0])),
            "pen_o": draw(st.sampled_from([None, None, 3.0])),
            "single": draw(st.booleans()), "large": draw(st.booleans())}


@settings(max_examples=60, deadline=None)
@given(inst=instances())
def test_capacitated_p_median_against_brute_force(inst: dict[str, object]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _against_brute_force(inst, mp)


def _against_brute_force(inst: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    d, w, cap = (np.asarray(inst[k]) for k in ("d", "w", "cap"))
    p, fixed, single = int(str(inst["p"])), tuple(inst["fixed"]), bool(inst["single"])  # type: ignore[call-overload]
    pen_u, pen_o = inst["pen_u"], inst["pen_o"]
    assert pen_u is None or isinstance(pen_u, float)
    assert pen_o is None or isinstance(pen_o, float)
    if not np.isfinite(d).any():
        return  # nobody reachable: nothing to check against
    # the large path (Lagrangian bound, swaps) on the same small instance
    monkeypatch.setattr(cpm_mod, "CPMEDIAN_MIP_MAX_PAIRS", 0 if inst["large"] else 60_000)
    # and the assignment LP offering each point only its nearest open site first
    monkeypatch.setattr(cpm_mod, "ASSIGN_NEAREST", 1 if inst["large"] else 8)
    # and the Lagrangian's evaluations keeping each site's cut-off from the first
    monkeypatch.setattr(cpm_mod, "MEMO_SORT_MIN", 0 if inst["large"] else 200_000)
    m = _csr(d)
    res = capacitated_p_median(m, w, cap, p, fixed=fixed, unassigned_penalty_min=pen_u,
                               overload_penalty=pen_o, single_assignment=single, **KW)
    opt = _brute(d, w, cap, p, fixed, pen_u, pen_o, single)
    if math.isinf(opt):
        assert res.status in (SolveStatus.INFEASIBLE, SolveStatus.NOT_SOLVED)
        assert res.assigned_share is not None and res.open_sites.size == 0
        if not inst["large"]:
            assert res.status is SolveStatus.INFEASIBLE
        return
    if not inst["large"]:
        assert res.status is SolveStatus.OPTIMAL
    assert res.status.has_solution
    tol = 1e-6 * max(1.0, abs(opt))
    # minimisation: bound <= optimum <= objective; OPTIMAL only at the optimum
    assert res.best_bound - tol <= opt <= res.objective + tol
    if res.status is SolveStatus.OPTIMAL:
        assert res.objective == pytest.approx(opt, rel=1e-6, abs=1e-6)
    assert res.open_sites.size <= p and set(fixed) <= set(res.open_sites.tolist())
    # capacities never cost less than the uncapacitated optimum (same penalty)
    unc = p_median(m, w, p, fixed=fixed, unassigned_penalty_min=pen_u, **KW)
    if unc.status is SolveStatus.OPTIMAL:
        assert res.objective >= unc.objective - tol
        assert res.best_bound >= unc.best_bound - tol  # never weaker than it
    _check_figures(res, d, w, cap, pen_u, pen_o, single)


# hand-checked: sites A (0) and B (1); d1 (weight 2) is 0 min from A, 10 from B;
# d2 (weight 2) is 1 min from A, 5 from B
D = np.array([[0.0, 10.0], [1.0, 5.0]])
W = np.array([2.0, 2.0])


@pytest.mark.parametrize("large", [False, True])
def test_capacity_sends_a_point_farther(large: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpm_mod, "CPMEDIAN_MIP_MAX_PAIRS", 0 if large else 60_000)
    monkeypatch.setattr(cpm_mod, "ASSIGN_NEAREST", 1 if large else 8)
    # uncapacitated, 2 points: both to A, 2 x 0 + 2 x 1 = 2
    assert p_median(_csr(D), W, 2, **KW).objective == pytest.approx(2.0)
    # A holds 2 a day: d1 stays at A (0), d2 goes to B (2 x 5 = 10); the other way
    # round costs 2 x 1 + 2 x 10 = 22
    res = capacitated_p_median(_csr(D), W, [2.0, 10.0], 2, **KW)
    assert res.status is SolveStatus.OPTIMAL
    assert res.objective == pytest.approx(10.0) and res.best_bound == pytest.approx(10.0)
    assert res.assignment.tolist() == [0, 1]
    assert res.load.tolist() == pytest.approx([2.0, 2.0])
    assert res.travel_min.tolist() == pytest.approx([0.0, 5.0])
    # one point: A cannot hold both and nothing may be left out; B takes both (20 + 10)
    res1 = capacitated_p_median(_csr(D), W, [2.0, 10.0], 1, **KW)
    assert res1.status is SolveStatus.OPTIMAL and res1.objective == pytest.approx(30.0)
    assert res1.open_sites.tolist() == [1]


def test_unassigned_penalty_overload_and_single_assignment_by_hand() -> None:
    cap = [2.0, 10.0]
    # 1 point, 6 min per unassigned dossier: at A, d1 fills it (saves 6 a dossier against
    # d2's 5) and d2 pays 2 x 6 = 12; at B, d1's 10 min is beyond the penalty (2 x 6)
    # and d2 costs 10: 22
    res = capacitated_p_median(_csr(D), W, cap, 1, unassigned_penalty_min=6.0, **KW)
    assert res.status is SolveStatus.OPTIMAL and res.objective == pytest.approx(12.0)
    assert res.assigned_share is not None
    assert res.assigned_share.tolist() == pytest.approx([1.0, 0.0])
    assert res.covered_weight == pytest.approx(2.0)
    # overload at 3 a dossier: both at A, 2 x 0 + 2 x 1 + 3 x (4 - 2) = 8 (B: 30)
    res = capacitated_p_median(_csr(D), W, cap, 1, overload_penalty=3.0, **KW)
    assert res.status is SolveStatus.OPTIMAL and res.objective == pytest.approx(8.0)
    assert res.overload is not None and res.overload.tolist() == pytest.approx([2.0, 0.0])
    # A holds 3: split, d1 whole and half of d2 (0 + 1 + 6) = 7; single assignment: 12
    split = capacitated_p_median(_csr(D), W, [3.0, 10.0], 1, unassigned_penalty_min=6.0, **KW)
    assert split.objective == pytest.approx(7.0)
    assert split.assigned_share is not None
    assert split.assigned_share.tolist() == pytest.approx([1.0, 0.5])
    one = capacitated_p_median(_csr(D), W, [3.0, 10.0], 1, unassigned_penalty_min=6.0,
                               single_assignment=True, **KW)
    assert one.status is SolveStatus.OPTIMAL and one.objective == pytest.approx(12.0)


def test_capacities_too_small_are_infeasible_with_the_reason() -> None:
    res = capacitated_p_median(_csr(D), W, [2.0, 3.0], 1, **KW)
    assert res.status is SolveStatus.INFEASIBLE
    assert "hold at most 3" in res.report.message and "penalty" in res.report.message
    with pytest.raises(ValueError, match="capacity"):
        capacitated_p_median(_csr(D), W, [2.0], 1, **KW)
    with pytest.raises(ValueError, match="overload_penalty"):
        capacitated_p_median(_csr(D), W, [2.0, 3.0], 1, overload_penalty=-1.0, **KW)


@settings(max_examples=40, deadline=None)
@given(inst=instances())
def test_the_greedy_fallback_assignment_keeps_the_rules(inst: dict[str, object]) -> None:
    """The assignment used when the LP finds none in time: never better than the best
    assignment to the same sites, within capacity without overload, whole points with
    single assignment, and its objective recomputed from its shares."""
    from optimizer.placement.inputs import minutes_inputs

    d, w, cap = (np.asarray(inst[k]) for k in ("d", "w", "cap"))
    pen_u, pen_o, single = inst["pen_u"], inst["pen_o"], bool(inst["single"])
    assert pen_u is None or isinstance(pen_u, float)
    assert pen_o is None or isinstance(pen_o, float)
    if not np.isfinite(d).any():
        return
    prob = minutes_inputs(_csr(d), w, None, None)
    cpm = cpm_mod.prepare(prob, cap, pen_u, pen_o)
    open_ = tuple(range(min(int(str(inst["p"])), cap.size)))
    mask = np.zeros(cap.size, dtype=bool)
    mask[list(open_)] = True
    plan = cpm_mod.greedy_assign(cpm, mask, single=single, source="greedy")
    best = _best(d, w, cap, open_, pen_u, pen_o, single)
    if plan is None:
        assert pen_u is None  # only a hard rule can leave it without a plan
        return
    assert plan.objective >= best - 1e-6 * max(1.0, abs(best))
    assert plan.objective == pytest.approx(cpm_mod.evaluate(cpm, mask, plan.z))
    assert (plan.z[~mask[cpm.c]] == 0).all()
    load = np.bincount(cpm.c, weights=cpm.w[cpm.r] * plan.z, minlength=cap.size)
    if pen_o is None:
        assert (load <= cap + 1e-9).all()
    if single:
        assert np.isin(np.bincount(cpm.r, weights=plan.z, minlength=cpm.n_rows), [0.0, 1.0]).all()
        assert np.isin(plan.z, [0.0, 1.0]).all()


def test_the_assignment_lp_offers_each_point_its_nearest_open_sites() -> None:
    from optimizer.placement.inputs import minutes_inputs

    d = np.array([[5.0, 1.0, 3.0, 2.0], [np.inf, 4.0, 0.0, 9.0]])
    cpm = cpm_mod.prepare(minutes_inputs(_csr(d), [1.0, 1.0], None, None), np.full(4, 9.0),
                          None, None)
    every = np.arange(cpm.r.size, dtype=np.int64)
    kept = cpm_mod._nearest_pairs(cpm, every, 2)
    # row 0: sites 1 (1 min) and 3 (2 min); row 1: sites 2 (0 min) and 1 (4 min)
    assert sorted(zip(cpm.r[kept].tolist(), cpm.c[kept].tolist(), strict=True)) == [
        (0, 1), (0, 3), (1, 1), (1, 2)]
    assert cpm_mod._nearest_pairs(cpm, every, 8).tolist() == every.tolist()


def test_a_point_whose_nearest_open_site_is_full_goes_farther_not_unassigned(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the LP first offers d2 only A (its nearest), which d1 fills; d2 is then offered B
    # (5 min) too, rather than paying the 60-minute penalty: 2 x 0 + 2 x 5 = 10
    from optimizer.placement.inputs import SolveOptions, minutes_inputs

    monkeypatch.setattr(cpm_mod, "ASSIGN_NEAREST", 1)
    cpm = cpm_mod.prepare(minutes_inputs(_csr(D), W, None, None), np.array([2.0, 10.0]),
                          60.0, None)
    plan = cpm_mod.assign(cpm, np.array([True, True]), single=False,
                          options=SolveOptions(20.0), deadline=None, source="test")
    assert plan is not None and plan.objective == pytest.approx(10.0)


@settings(max_examples=60, deadline=None)
@given(inst=instances())
def test_the_screening_flow_is_the_assignment_lp_and_the_answer_is_assigned_again(
        inst: dict[str, object]) -> None:
    """The min-cost flow that screens moves on large models: on whole weights, minutes
    in tenths and whole capacities nothing is rounded, so its value is the best
    fractional assignment to the same sites (brute force by scipy), no flow exactly when
    there is none; with single assignment it is that relaxation, so never above the
    best whole assignment.  The answer made from it (the LP offered each point only its
    nearest open site plus the pairs the flow used) reaches the same best, every figure
    recomputed from its shares (the flow's own shares, made exact, with shares allowed;
    the MIP offered each point its nearest open site and the flow's pairs with single
    assignment)."""
    from optimizer.placement.inputs import SolveOptions, minutes_inputs

    d, w, cap = (np.asarray(inst[k]) for k in ("d", "w", "cap"))
    pen_u, pen_o, single = inst["pen_u"], inst["pen_o"], bool(inst["single"])
    assert pen_u is None or isinstance(pen_u, float)
    assert pen_o is None or isinstance(pen_o, float)
    if not np.isfinite(d).any():
        return
    cpm = cpm_mod.prepare(minutes_inputs(_csr(d), w, None, None), cap, pen_u, pen_o)
    open_ = tuple(range(min(int(str(inst["p"])), cap.size)))
    mask = np.zeros(cap.size, dtype=bool)
    mask[list(open_)] = True
    flow = cpm_mod.flow_plan(cpm, mask, "flow")
    frac = _best(d, w, cap, open_, pen_u, pen_o, False)
    if math.isinf(frac):
        assert flow is None
        return
    assert flow is not None
    tol = 1e-6 * max(1.0, abs(frac))
    assert flow.objective == pytest.approx(frac, rel=1e-6, abs=1e-6)
    assert cpm_mod.evaluate(cpm, mask, flow.z) == pytest.approx(flow.objective, rel=1e-6, abs=1e-6)
    assert (flow.z[~mask[cpm.c]] == 0).all()
    if single:
        assert flow.objective <= _best(d, w, cap, open_, pen_u, pen_o, True) + tol
    clock = cpm_mod.Clock()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpm_mod, "ASSIGN_NEAREST", 1)
        checker = cpm_mod.Checker(cpm, single, SolveOptions(20.0), screen=True, clock=clock)
        plan = checker.exact(flow, None)
    # shares allowed: the flow made exact, no LP; single assignment: the MIP, its time
    # kept in this solve's clock
    assert (clock.assigns > 0 and clock.assign_s > 0.0) == single
    whole = _best(d, w, cap, open_, pen_u, pen_o, single)
    if math.isinf(whole):  # single assignment: shares exist, whole points do not fit
        assert single and plan is None
        return
    assert plan is not None
    assert plan.objective == pytest.approx(cpm_mod.evaluate(cpm, mask, plan.z))
    assert plan.objective >= whole - tol
    if not single:
        assert plan.objective == pytest.approx(frac, rel=1e-6, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(inst=instances(), seed=st.integers(0, 2**31 - 1))
def test_the_lagrangian_at_any_price_is_a_bound_above_the_uncapacitated_one(
        inst: dict[str, object], seed: int) -> None:
    """The capacitated Lagrangian function at any price (random ones, the uncapacitated
    multipliers that start its ascent, every row at the penalty) never exceeds the
    optimum with shares allowed (brute force by scipy), and never falls below the
    uncapacitated p-median's Lagrangian function at the same price
    (:func:`optimizer._pmedian.evaluate`): the claim that lets the ascent start from the
    uncapacitated multipliers at or above that bound.  The ascent from the best of the
    starts never ends below its start, nor above the optimum."""
    from optimizer import _pmedian as pm
    from optimizer.placement.inputs import minutes_inputs

    d, w, cap = (np.asarray(inst[k]) for k in ("d", "w", "cap"))
    pen_u, pen_o = inst["pen_u"], inst["pen_o"]
    assert pen_u is None or isinstance(pen_u, float)
    assert pen_o is None or isinstance(pen_o, float)
    p, fixed = int(str(inst["p"])), tuple(inst["fixed"])  # type: ignore[call-overload]
    if not np.isfinite(d).any():
        return
    prob = minutes_inputs(_csr(d), w, fixed, None)
    cpm = cpm_mod.prepare(prob, cap, pen_u, pen_o)
    if cpm.n_rows == 0:
        return
    opt = _brute(d, w, cap, p, fixed, pen_u, pen_o, False)
    tol = 1e-6 * max(1.0, abs(opt)) if math.isfinite(opt) else 0.0
    near = cpm_mod._start_price(cpm, None)
    warm = cpm_mod.uncapacitated_price(cpm, p, math.inf, deadline=None)
    rng = np.random.default_rng(seed)
    prices = [near + rng.uniform(0.0, 40.0, cpm.n_rows), warm,
              *cpm_mod.start_prices(cpm, p, warm, None)]
    if pen_u is not None:
        prices.append(np.full(cpm.n_rows, pen_u))
    inp = prob.inp
    indptr = np.r_[0, np.cumsum(np.bincount(cpm.r, minlength=cpm.n_rows))]
    pairs = pm.Pairs.of(sp.csr_matrix((cpm.d, cpm.c, indptr),
                                      shape=(cpm.n_rows, inp.n_sites))).weighted(cpm.w)
    tail = np.full(cpm.n_rows, math.inf if pen_u is None else pen_u)
    for price in prices:
        if pen_u is not None:
            price = np.minimum(price, pen_u)  # the ascent's range (above only lowers it)
        price = np.maximum(price, near)
        value = cpm_mod._relaxed(cpm, price, p)[0]
        assert value <= opt + tol
        unc = pm.evaluate(pairs, cpm.w, tail, cpm.w * price, p, inp.fixed_mask, inp.allowed)
        assert value >= unc.bound + cpm.const - 1e-6 * max(1.0, abs(value))
    lag = cpm_mod.lagrangian(cpm, p, opt if math.isfinite(opt) else math.inf,
                             cpm_mod.start_prices(cpm, p, warm, None), deadline=None,
                             max_iter=50)
    first = max(cpm_mod._relaxed(cpm, np.clip(s, near, pen_u if pen_u is not None
                                              else math.inf), p)[0]
                for s in cpm_mod.start_prices(cpm, p, warm, None))
    assert first - 1e-9 * max(1.0, abs(first)) <= lag.bound <= opt + tol


@settings(max_examples=60, deadline=None)
@given(inst=instances(), seed=st.integers(0, 2**31 - 1), steps=st.integers(1, 6))
def test_the_lagrangian_with_the_sites_cut_offs_kept_is_the_same_function(
        inst: dict[str, object], seed: int, steps: int) -> None:
    """Along a sequence of random prices (small and large moves), the evaluation that
    keeps each site's knapsack cut-off between calls and sorts only the items below it
    (``memo``) gives the function's value and each site's value exactly as the full
    sort does, whatever cut-offs it was left with (also random ones: the items below them
    that do not fill a site are completed), and its subgradient is one: at any other
    price the function is at most ``L(price) + sum_i w_i g_i (other_i - price_i)`` (the
    function is concave)."""
    from optimizer.placement.inputs import minutes_inputs

    d, w, cap = (np.asarray(inst[k]) for k in ("d", "w", "cap"))
    pen_u = inst["pen_u"]
    assert pen_u is None or isinstance(pen_u, float)
    p, fixed = int(str(inst["p"])), tuple(inst["fixed"])  # type: ignore[call-overload]
    if not np.isfinite(d).any():
        return
    prob = minutes_inputs(_csr(d), w, fixed, None)
    cpm = cpm_mod.prepare(prob, cap, pen_u, None)
    if cpm.n_rows == 0:
        return
    rng = np.random.default_rng(seed)
    near = cpm_mod._start_price(cpm, None)
    top = pen_u if pen_u is not None else 60.0
    memo: dict[str, np.ndarray] = {}
    price = np.clip(near + rng.uniform(0.0, 40.0, cpm.n_rows), near, max(top, 0.0))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpm_mod, "MEMO_SORT_MIN", 0)
        for _ in range(steps):
            if memo and rng.random() < 0.5:  # cut-offs from elsewhere
                memo["cut"] = -rng.uniform(0.0, 50.0, memo["cut"].size)
            fast = cpm_mod._relaxed(cpm, price, p, memo)
            plain = cpm_mod._relaxed(cpm, price, p)
            tol = 1e-9 * max(1.0, abs(plain[0]))
            assert fast[0] == pytest.approx(plain[0], rel=1e-12, abs=tol)
            assert fast[2] == pytest.approx(plain[2], rel=1e-12, abs=tol)
            other = np.clip(near + rng.uniform(0.0, 40.0, cpm.n_rows), near, max(top, 0.0))
            at_other = cpm_mod._relaxed(cpm, other, p)[0]
            assert at_other <= fast[0] + float((cpm.w * fast[1]) @ (other - price)) + 1e-7 * max(
                1.0, abs(at_other))
            # the next price: a small move (the cut-offs mostly hold) or a large one
            scale = rng.choice([0.01, 1.0, 20.0])
            price = np.clip(price + scale * rng.standard_normal(cpm.n_rows), near,
                            max(top, 0.0))
        # an ascent handed these cut-offs keeps using (and returns) them, and starts
        # from the function's value at its start
        lag = cpm_mod.lagrangian(cpm, p, math.inf, price, deadline=None, max_iter=3,
                                 memo=memo)
        assert lag.memo is memo
        start = cpm_mod._relaxed(cpm, np.clip(price, near, math.inf if pen_u is None
                                              else pen_u), p)[0]
        assert lag.bound >= start - 1e-9 * max(1.0, abs(start))


@settings(max_examples=40, deadline=None)
@given(inst=instances(), moves_first=st.booleans())
def test_with_little_time_left_the_moves_come_first_and_the_bound_stays_valid(
        inst: dict[str, object], moves_first: bool) -> None:
    """When less than :data:`MOVES_FIRST_SHARE` of the limit is left for the moves after
    the first assignment (forced here by setting it to the whole limit), the
    uncapacitated warm start is skipped; otherwise it runs where the demand fits in what
    ``p`` sites can hold.  Either way the large path's bound and answer bracket the
    brute-force optimum."""
    d, w, cap = (np.asarray(inst[k]) for k in ("d", "w", "cap"))
    p, fixed = int(str(inst["p"])), tuple(inst["fixed"])  # type: ignore[call-overload]
    pen_u, pen_o = inst["pen_u"], inst["pen_o"]
    assert pen_u is None or isinstance(pen_u, float)
    assert pen_o is None or isinstance(pen_o, float)
    if not np.isfinite(d).any():
        return
    calls: list[int] = []
    real = cpm_mod.uncapacitated_price

    def counted(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpm_mod, "CPMEDIAN_MIP_MAX_PAIRS", 0)
        mp.setattr(cpm_mod, "MOVES_FIRST_SHARE", 1.0 if moves_first else 0.0)
        mp.setattr(cpm_mod, "uncapacitated_price", counted)
        res = capacitated_p_median(_csr(d), w, cap, p, fixed=fixed,
                                   unassigned_penalty_min=pen_u, overload_penalty=pen_o,
                                   **KW)
    opt = _brute(d, w, cap, p, fixed, pen_u, pen_o, False)
    if not math.isfinite(opt):
        return
    assert res.status.has_solution
    tol = 1e-6 * max(1.0, abs(opt))
    assert res.best_bound - tol <= opt <= res.objective + tol
    if moves_first:
        assert not calls
    else:
        from optimizer.placement.inputs import minutes_inputs

        cpm = cpm_mod.prepare(minutes_inputs(_csr(d), w, fixed, None), cap, pen_u, pen_o)
        if cpm.n_rows and (pen_u is None or float(cpm.w.sum()) <= cpm_mod._room(cpm, p)):
            assert len(calls) == 1


def test_where_the_demand_exceeds_the_room_the_uncapacitated_model_gets_less_time(
        ) -> None:
    """Where the demand exceeds what ``p`` sites hold (with a penalty), the uncapacitated
    p-median gets :data:`OVER_ROOM_UNCAPACITATED_SHARE` of the limit (its bound is below
    the capacities' there), elsewhere :data:`UNCAPACITATED_SHARE`; the answer is valid
    either way (one site holds 5 of the demand of 12: the rest pays the penalty)."""
    from optimizer.placement import median

    d = np.array([[1.0, 4.0], [2.0, 1.0], [3.0, 2.0]])
    given: list[float | None] = []
    real = median.solve_p_median

    def recorded(prob: object, p: int, options: object, **kw: object) -> PlacementResult:
        given.append(options.time_limit_s)  # type: ignore[attr-defined]
        return real(prob, p, options, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(median, "solve_p_median", recorded)
        over = capacitated_p_median(_csr(d), np.full(3, 4.0), np.full(2, 5.0), 1,
                                    unassigned_penalty_min=10.0, **KW)
        fits = capacitated_p_median(_csr(d), np.full(3, 1.0), np.full(2, 5.0), 1,
                                    unassigned_penalty_min=10.0, **KW)
    limit = float(KW["time_limit_s"])
    assert given[0] == pytest.approx(cpm_mod.OVER_ROOM_UNCAPACITATED_SHARE * limit)
    assert given[1] == pytest.approx(cpm_mod.UNCAPACITATED_SHARE * limit)
    # site 0 holds 5 of rows 0-2 (1 and 2 minutes: row 0 whole, 1 of row 1), or site 1
    # (1 and 2 minutes: row 1 whole, 1 of row 2); 7 units at 10 minutes
    assert over.objective == pytest.approx(4.0 * 1.0 + 1.0 * 2.0 + 7.0 * 10.0)
    assert over.best_bound <= over.objective + 1e-9
    assert fits.objective == pytest.approx(1.0 + 2.0 + 3.0)  # site 0 (against 4 + 1 + 2)


def test_where_the_demand_exceeds_the_room_the_lagrangian_sites_can_start_the_moves(
        ) -> None:
    """By hand, one point to open, 5 a day each, 14 dossiers: the uncapacitated answer
    is A (the 9 dossiers at 1 min, the 5 of d0 at 10 min: 59 against B's 270), but
    with the capacities B holds d0's 5 at 0 min (900 with the penalty) and A 5 at 1 min
    (905).  The Lagrangian at the penalty picks B, its flow is the cheaper, so the first
    assignment is of the Lagrangian sites; the answer is B, proven."""
    d = np.array([[10.0, 0.0], [1.0, 30.0], [1.0, 30.0], [1.0, 30.0]])
    w = np.array([5.0, 3.0, 3.0, 3.0])
    sources: list[str] = []
    real = cpm_mod.assign

    def spied(*args: object, **kw: object) -> object:
        sources.append(str(kw.get("source")))
        return real(*args, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpm_mod, "CPMEDIAN_MIP_MAX_PAIRS", 0)
        mp.setattr(cpm_mod, "assign", spied)
        res = capacitated_p_median(_csr(d), w, np.full(2, 5.0), 1,
                                   unassigned_penalty_min=100.0, **KW)
    assert sources and sources[0] == "Lagrangian sites"
    assert res.open_sites.tolist() == [1]
    assert res.objective == pytest.approx(900.0)
    assert res.status is SolveStatus.OPTIMAL


def test_aggregate_groups_rows_by_their_two_nearest_sites_and_band_by_hand() -> None:
    """Rows 0 and 1 share their nearest (site 0, 1.0 and 1.1 min: one 0.25-min band)
    and second-nearest site (1); row 2's second site is 2, row 3's nearest is 1: three
    groups.  A group's minutes to a site are its members' weighted mean, a member
    without the pair counted at the penalty (30)."""
    from optimizer.placement.inputs import minutes_inputs

    d = np.array([[1.0, 5.0, 9.0],
                  [1.1, 6.0, np.inf],
                  [1.0, 8.0, 4.0],
                  [7.0, 2.0, 3.0]])
    w = np.array([1.0, 3.0, 2.0, 1.0])
    cpm = cpm_mod.prepare(minutes_inputs(_csr(d), w, None, None), np.full(3, 10.0), 30.0, None)
    g = cpm_mod.aggregate(cpm, 10)
    assert g.n_groups == 3
    assert g.of_row[0] == g.of_row[1] and len({*g.of_row[1:].tolist()}) == 3
    assert g.w.sum() == pytest.approx(w.sum())
    m = g.mins.toarray()
    a = g.of_row[0]
    assert m[a] == pytest.approx([(1.0 + 3 * 1.1) / 4, (5.0 + 3 * 6.0) / 4, (9.0 + 3 * 30.0) / 4])
    assert m[g.of_row[2]] == pytest.approx(d[2])
    assert m[g.of_row[3]] == pytest.approx(d[3])
    # one group per (nearest, second) pair of sites at most when asked for fewer
    assert cpm_mod.aggregate(cpm, 1).n_groups == 3


@settings(max_examples=40, deadline=None)
@given(inst=instances(), groups=st.integers(1, 4))
def test_the_aggregated_start_keeps_the_answer_assigned_and_the_bound_valid(
        inst: dict[str, object], groups: int) -> None:
    """The path of many rows (forced here: every instance aggregated to at most
    ``groups`` groups): the sites chosen on the groups, their multipliers starting the
    ascent on the rows.  The answer and the bound still bracket the brute-force
    optimum and every figure is the assignment's."""
    d, w, cap = (np.asarray(inst[k]) for k in ("d", "w", "cap"))
    p, fixed, single = int(str(inst["p"])), tuple(inst["fixed"]), bool(inst["single"])  # type: ignore[call-overload]
    pen_u = inst["pen_u"] if inst["pen_u"] is not None else 20.0
    pen_o = inst["pen_o"]
    assert isinstance(pen_u, float)
    assert pen_o is None or isinstance(pen_o, float)
    if not np.isfinite(d).any():
        return
    grouped = []  # every call of the grouping: the groups are never grouped again (a
    # threshold of 0 rows once sent the groups' own solve into the grouping, and so on
    # until Python's recursion limit when the machine was slow enough)
    real_aggregate = cpm_mod.aggregate
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpm_mod, "CPMEDIAN_MIP_MAX_PAIRS", 0)
        mp.setattr(cpm_mod, "AGGREGATE_ROWS", 0)
        mp.setattr(cpm_mod, "AGGREGATE_GROUPS", groups)
        mp.setattr(cpm_mod, "aggregate", lambda *a: grouped.append(1) or real_aggregate(*a))
        res = capacitated_p_median(_csr(d), w, cap, p, fixed=fixed, unassigned_penalty_min=pen_u,
                                   overload_penalty=pen_o, single_assignment=single, **KW)
    assert len(grouped) <= 1
    opt = _brute(d, w, cap, p, fixed, pen_u, pen_o, single)
    assert res.status.has_solution
    reach = np.isfinite(d) & (d <= pen_u)
    if reach.any():
        assert "groups of the" in res.report.message
    tol = 1e-6 * max(1.0, abs(opt))
    assert res.best_bound - tol <= opt <= res.objective + tol
    assert res.open_sites.size <= p and set(fixed) <= set(res.open_sites.tolist())
    _check_figures(res, d, w, cap, pen_u, pen_o, single)


@settings(max_examples=60, deadline=None)
@given(inst=instances(), start=st.integers(0, 2**31 - 1))
def test_a_region_mip_over_every_site_finds_the_optimum_or_nothing(
        inst: dict[str, object], start: int) -> None:
    """The region move's MIP (:func:`region_mip`) re-opening every open site of a plan
    among every site, each point offered every site, is the whole problem with shares
    (its demand is all the demand: the shares at the freed sites and, with a penalty,
    the unassigned share of every row): when a plan of the sites it proposes exists it
    is the brute-force optimum, and it proposes nothing exactly when the plan (the best
    assignment of random sites) is already optimal."""
    from optimizer.placement.inputs import SolveOptions, minutes_inputs

    d, w, cap = (np.asarray(inst[k]) for k in ("d", "w", "cap"))
    p, pen_u, pen_o = int(str(inst["p"])), inst["pen_u"], inst["pen_o"]
    assert pen_u is None or isinstance(pen_u, float)
    assert pen_o is None or isinstance(pen_o, float)
    if not np.isfinite(d).any():
        return
    cpm = cpm_mod.prepare(minutes_inputs(_csr(d), w, None, None), cap, pen_u, pen_o)
    rng = np.random.default_rng(start)
    mask = np.zeros(cap.size, dtype=bool)
    mask[rng.choice(cap.size, size=p, replace=False)] = True
    plan = cpm_mod.flow_plan(cpm, mask, "start")
    if plan is None:  # no assignment to these sites keeps the hard rules
        return
    opt = _brute(d, w, cap, p, (), pen_u, pen_o, False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpm_mod, "REGION_NEAREST", cap.size)
        got = cpm_mod.region_mip(cpm, plan, np.flatnonzero(mask), np.arange(cap.size),
                                 SolveOptions(20.0), None)
    tol = 1e-6 * max(1.0, abs(opt))
    if plan.objective <= opt + tol:
        assert got is None
        return
    assert got is not None and int(got.sum()) <= p
    better = cpm_mod.flow_plan(cpm, got, "region")
    assert better is not None
    assert better.objective == pytest.approx(opt, rel=1e-6, abs=1e-6)


def test_region_moves_take_two_sites_to_where_their_demand_is_by_hand() -> None:
    """Two clusters of demand (weight 4 each) and four sites, capacity 4 each, p = 2:
    sites 0 and 1 both sit by cluster A (0 and 1 min; cluster B 20 and 21 min), sites
    2 and 3 by B.  From {0, 1} one of them must move to B (one relocation does it too,
    but the region move finds it by its MIP): 4 * 0 + 4 * 1 min of travel
    ({0, 2}: A at 0, B at 1), from 4 * 0 + 4 * 21."""
    from optimizer.placement.inputs import SolveOptions, minutes_inputs

    d = np.array([[0.0, 1.0, 20.0, 22.0], [20.0, 21.0, 1.0, 0.5]])
    w = np.array([4.0, 4.0])
    cap = np.full(4, 4.0)
    cpm = cpm_mod.prepare(minutes_inputs(_csr(d), w, None, None), cap, 60.0, None)
    mask = np.array([True, True, False, False])
    plan = cpm_mod.flow_plan(cpm, mask, "start")
    assert plan is not None and plan.objective == pytest.approx(4 * 0 + 4 * 21)
    checker = cpm_mod.Checker(cpm, False, SolveOptions(20.0), screen=True,
                              clock=cpm_mod.Clock())
    got = cpm_mod.region_moves(cpm, plan, checker, None)
    assert got.open_mask.tolist() == [True, False, False, True]
    assert got.objective == pytest.approx(4 * 0 + 4 * 0.5)
    assert cpm_mod.evaluate(cpm, got.open_mask, got.z) == pytest.approx(got.objective)
