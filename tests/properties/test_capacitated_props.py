"""The capacitated models against brute force on small instances.

Brute force: every set of open sites, each with its best assignment: a linear
program (scipy's HiGHS ``linprog``, not the model's MathOpt path) when a point may
be split, every assignment when it may not.  Checked: bound <= optimum <= objective
for the fewest points (reversed for the most assigned), capacities never better
than none, and every reported figure recomputed from the assignment.
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
from optimizer.placement import PlacementResult, capacitated, lscp, mclp

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


@st.composite
def cap_instances(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]:
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    dense = rng.random((n, m)) < draw(st.floats(0.2, 0.9))
    w = rng.integers(1, 20, n).astype(float)
    cap = rng.integers(0, 40, m).astype(float)
    p = draw(st.integers(1, m))
    single = draw(st.booleans())
    return dense, w, cap, p, single


def assert_brackets_optimum(res: PlacementResult, opt: float, *, maximize: bool) -> None:
    """bound <= optimum <= answer for a minimisation (reversed for a maximisation), and
    OPTIMAL only at the optimum."""
    if maximize:
        assert res.objective - 1e-6 <= opt <= res.best_bound + 1e-6
    else:
        assert res.best_bound - 1e-6 <= opt <= res.objective + 1e-6
    if res.status is SolveStatus.OPTIMAL:
        assert res.objective == pytest.approx(opt, abs=1e-6)


def _best_assignment(dense: np.ndarray, w: np.ndarray, cap: np.ndarray, open_: tuple[int, ...],
                     single: bool) -> float:
    """Most weight ``open_`` can take within the standard and the capacities."""
    n = w.size
    if not open_:
        return 0.0
    if single:
        best = 0.0
        choices = [[-1] + [j for j in open_ if dense[i, j]] for i in range(n)]
        for pick in itertools.product(*choices):
            load = np.zeros(cap.size)
            for i, j in enumerate(pick):
                if j >= 0:
                    load[j] += w[i]
            if (load <= cap + 1e-9).all():
                best = max(best, float(sum(w[i] for i, j in enumerate(pick) if j >= 0)))
        return best
    pairs = [(i, j) for i in range(n) for j in open_ if dense[i, j]]
    if not pairs:
        return 0.0
    a_ub, b_ub = [], []
    for i in range(n):
        a_ub.append([1.0 if pi == i else 0.0 for pi, _ in pairs])
        b_ub.append(1.0)
    for j in open_:
        a_ub.append([w[pi] if pj == j else 0.0 for pi, pj in pairs])
        b_ub.append(cap[j])
    lp = linprog(-np.array([w[i] for i, _ in pairs]), A_ub=np.array(a_ub), b_ub=b_ub,
                 bounds=(0, 1), method="highs")
    assert lp.status == 0
    return float(-lp.fun)


def _brute(dense: np.ndarray, w: np.ndarray, cap: np.ndarray, p: int | None,
           single: bool) -> float:
    """The optimum: most assigned with at most ``p`` sites, or fewest sites assigning every
    coverable point (``inf`` when none does)."""
    m = cap.size
    coverable = float(w[dense.any(axis=1)].sum())
    best = -math.inf if p is not None else math.inf
    for k in range(m + 1):
        for open_ in itertools.combinations(range(m), k):
            got = _best_assignment(dense, w, cap, open_, single)
            if p is not None and k <= p:
                best = max(best, got)
            elif p is None and got >= coverable - 1e-7:
                best = min(best, float(k))
    return best


def _check_figures(res: PlacementResult, dense: np.ndarray, w: np.ndarray, cap: np.ndarray,
                   single: bool, maximize: bool, pen: float = 0.0) -> None:
    """Every figure agrees with the assignment the result carries."""
    assert res.assigned_share is not None and res.overload is not None
    share, a = res.assigned_share, res.assignment
    is_open = np.zeros(cap.size, dtype=bool)
    is_open[res.open_sites] = True
    # a point is assigned (to its main site) exactly when some of it is
    assert ((share > 1e-9) == (a >= 0)).all()
    assert ((share >= 0) & (share <= 1 + 1e-9)).all()
    for i in np.flatnonzero(a >= 0):
        assert is_open[a[i]] and dense[i, a[i]]  # within the standard of an open point
    if single:
        assert np.isin(np.round(share, 6), [0.0, 1.0]).all()
        assert res.load == pytest.approx(np.bincount(a[a >= 0], weights=w[a >= 0],
                                                     minlength=cap.size), abs=1e-6)
    assert res.covered_weight == pytest.approx(float(w @ share), abs=1e-6)
    assert res.load.sum() == pytest.approx(res.covered_weight, abs=1e-6)
    assert (res.load[~is_open] <= 1e-9).all()
    # within capacity, or over it by exactly the overload reported
    assert (res.load <= cap + res.overload + 1e-6).all()
    assert res.overload == pytest.approx(np.maximum(0.0, res.load - cap), abs=1e-6)
    value = (res.covered_weight - pen * res.overload.sum() if maximize
             else float(is_open.sum()) + pen * res.overload.sum())
    assert res.objective == pytest.approx(value, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(cap_instances())
def test_capacitated_mclp_against_brute_force(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]) -> None:
    dense, w, cap, p, single = inst
    c = sp.csr_matrix(dense)
    res = capacitated(c, w, cap, p, single_assignment=single, **KW)
    opt = _brute(dense, w, cap, p, single)
    assert res.status is SolveStatus.OPTIMAL
    # maximisation: objective <= optimum <= bound <= all the demand
    assert res.objective == pytest.approx(opt, abs=1e-6)
    assert res.objective - 1e-6 <= opt <= res.best_bound + 1e-6
    assert res.best_bound <= float(w.sum()) + 1e-6
    # capacities never assign more than the uncapacitated model covers
    assert res.objective <= mclp(c, w, p, **KW).objective + 1e-6
    _check_figures(res, dense, w, cap, single, maximize=True)


@settings(max_examples=30, deadline=None)
@given(cap_instances())
def test_capacitated_lscp_against_brute_force(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]) -> None:
    dense, w, cap, _, single = inst
    c = sp.csr_matrix(dense)
    res = capacitated(c, w, cap, single_assignment=single, **KW)
    opt = _brute(dense, w, cap, None, single)
    if math.isinf(opt):
        assert res.status is SolveStatus.INFEASIBLE
        return
    assert res.status is SolveStatus.OPTIMAL
    # minimisation: bound <= optimum <= objective
    assert res.best_bound - 1e-6 <= opt <= res.objective + 1e-6
    assert res.objective == pytest.approx(opt)
    # capacities never need fewer points than none
    assert res.objective >= lscp(c, w, **KW).objective - 1e-9
    assert res.covered_weight == pytest.approx(float(w[dense.any(axis=1)].sum()))
    _check_figures(res, dense, w, cap, single, maximize=False)


@settings(max_examples=20, deadline=None)
@given(cap_instances(), st.sampled_from([0.25, 2.0]))
def test_overload_is_reported_per_point_and_priced(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int, bool], pen: float) -> None:
    dense, w, cap, p, single = inst
    c = sp.csr_matrix(dense)
    for q in (p, None):
        res = capacitated(c, w, cap, q, single_assignment=single, overload_penalty=pen, **KW)
        assert res.status is SolveStatus.OPTIMAL
        if q is not None:
            # overload only adds options: never below the hard-capacity optimum
            assert res.objective >= _brute(dense, w, cap, q, single) - 1e-6
            assert res.best_bound <= float(w.sum()) + 1e-6
        else:
            assert res.best_bound <= res.objective + 1e-6
        _check_figures(res, dense, w, cap, single, maximize=q is not None, pen=pen)


def test_a_tight_capacity_is_shared_and_every_figure_follows() -> None:
    # one site reaches both points (10 + 10) but holds 15: with p=1, 15 assigned, one point
    # split; the bound is 15 (the capacity), not the 20 within the standard
    c = sp.csr_matrix(np.array([[1, 1], [1, 0]], dtype=bool))
    w = np.array([10.0, 10.0])
    res = capacitated(c, w, [15.0, 15.0], 1, **KW)
    assert res.status is SolveStatus.OPTIMAL and res.objective == pytest.approx(15.0)
    assert res.best_bound == pytest.approx(15.0)
    assert res.assigned_share is not None
    assert sorted(np.round(res.assigned_share, 6).tolist()) == [0.5, 1.0]
    assert res.covered_weight == pytest.approx(15.0)
    assert res.load.tolist() == pytest.approx([15.0, 0.0])


def test_a_model_too_large_for_the_mip_keeps_the_start_and_the_known_bounds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import optimizer.placement.capacity as capacity

    rng = np.random.default_rng(5)
    dense = rng.random((40, 8)) < 0.4
    w = rng.integers(1, 20, 40).astype(float)
    cap = np.full(8, 60.0)
    c = sp.csr_matrix(dense)
    exact = capacitated(c, w, cap, 3, **KW)
    monkeypatch.setattr(capacity, "CAPACITATED_MIP_MAX_PAIRS", 0)
    res = capacitated(c, w, cap, 3, **KW)
    assert "no MIP for" in res.report.message
    assert res.status.has_solution
    # a valid answer and a valid bound around the proven optimum
    assert res.objective <= exact.objective + 1e-6 <= res.best_bound + 2e-6
    assert res.best_bound <= min(mclp(c, w, 3, **KW).objective, float(np.sort(np.minimum(
        cap, dense.T.astype(float) @ w))[::-1][:3].sum())) + 1e-6
    _check_figures(res, dense, w, cap, False, maximize=True)
    # the fewest points: the start's cover, bounded below by the uncapacitated optimum
    lo = capacitated(c, w, cap, **KW)
    assert lo.status.has_solution and "no MIP for" in lo.report.message
    assert lo.best_bound >= lscp(c, w, **KW).objective - 1e-9
    assert lo.best_bound <= lo.objective
    _check_figures(lo, dense, w, cap, False, maximize=False)


@settings(max_examples=25, deadline=None)
@given(cap_instances(), st.sampled_from([None, 2.0]))
def test_above_the_pair_cap_the_restricted_mip_answers_validly(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int, bool], pen: float | None) -> None:
    """Without the full MIP, the MIP restricted to the start's and the uncapacitated
    answer's sites: a valid answer of the whole model, never worse than the start, and
    the bound still the known ones (never the restricted MIP's)."""
    import optimizer.placement.capacity as capacity

    dense, w, cap, p, single = inst
    c = sp.csr_matrix(dense)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(capacity, "CAPACITATED_MIP_MAX_PAIRS", 0)
        for q in (p, None):
            res = capacitated(c, w, cap, q, single_assignment=single, overload_penalty=pen,
                              **KW)
            if res.status is SolveStatus.INFEASIBLE:
                # only the set-covering form with hard capacities can be infeasible
                assert q is None and pen is None
                assert math.isinf(_brute(dense, w, cap, None, single))
                continue
            if res.status is SolveStatus.NOT_SOLVED:
                # without the full MIP only the split flow proves infeasibility: a single
                # assignment that cannot fit ends with no answer and no claim
                assert q is None and pen is None and single
                assert math.isinf(_brute(dense, w, cap, None, single))
                continue
            assert res.status.has_solution
            # no pair at all: no pair cap to pass, the (empty) full model is solved
            assert ("no MIP for" in res.report.message) == bool(dense.any())
            stages = [s for s in res.stages if "restricted" in s.message]
            assert len(stages) <= 1
            for s in stages:
                assert s.status is not SolveStatus.OPTIMAL and math.isnan(s.best_bound)
            if pen is None:
                # OPTIMAL (by the known bounds or the cut-set master) only when it is
                assert_brackets_optimum(res, _brute(dense, w, cap, q, single),
                                        maximize=q is not None)
            _check_figures(res, dense, w, cap, single, maximize=q is not None,
                           pen=0.0 if pen is None else pen)


@settings(max_examples=40, deadline=None)
@given(cap_instances())
def test_the_room_bound_of_the_fewest_points_is_below_the_optimum(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]) -> None:
    """Every coverable weight needs room (capacity within reach) at an open site: the
    cheapest fractional room is at most the brute-force optimum, split or single."""
    from optimizer.placement.capacity import _cost_capacity_bound
    from optimizer.placement.inputs import cover_inputs

    dense, w, cap, _, single = inst
    prob = cover_inputs(sp.csr_matrix(dense), w, None, None)
    room = _cost_capacity_bound(prob, cap, None)
    opt = _brute(dense, w, cap, None, single)
    if math.isnan(room):
        # not even every site together has the room: no answer exists
        assert math.isinf(opt)
    else:
        assert room <= opt + 1e-9
    # an overload price only lowers it
    assert _cost_capacity_bound(prob, cap, 0.5) <= (room if not math.isnan(room) else math.inf)


def test_the_room_bound_proves_the_fewest_points_without_the_full_mip(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import optimizer.placement.capacity as capacity

    # 25 dossiers a day, every site reaches every point, 10 a day each: 3 points,
    # while coverage alone needs 1 (the uncapacitated bound)
    c = sp.csr_matrix(np.ones((5, 4), dtype=bool))
    w = np.full(5, 5.0)
    cap = np.full(4, 10.0)
    monkeypatch.setattr(capacity, "CAPACITATED_MIP_MAX_PAIRS", 0)
    res = capacitated(c, w, cap, **KW)
    assert "no MIP for" in res.report.message and "capacities 2.5" in res.report.message
    assert res.status is SolveStatus.OPTIMAL
    assert res.objective == 3.0 and res.best_bound == 3.0
    _check_figures(res, c.toarray(), w, cap, False, maximize=False)
    # an overload at 0.05 a dossier: 1 point and 15 over (1.75) beats 3 points; the
    # bound is 1 + 0.05 * 15 = 1.75 (the room of one site, the rest overloaded)
    cheap = capacitated(c, w, cap, overload_penalty=0.05, **KW)
    assert cheap.objective == pytest.approx(1.75)
    assert cheap.best_bound <= 1.75 + 1e-9


@settings(max_examples=40, deadline=None)
@given(cap_instances(), st.integers(0, 2**16 - 1))
def test_the_search_assignment_flow_equals_the_assignment_lp(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int, bool], pick: int) -> None:
    """The local search's maximum flow takes what the assignment LP (scipy's linprog)
    takes, within its rounding, with loads within capacity and the rest unassigned."""
    from optimizer.placement.capacity import _assign_flow
    from optimizer.placement.inputs import cover_inputs

    dense, w, cap, _, _ = inst
    mask = np.array([(pick >> j) & 1 == 1 for j in range(cap.size)])
    prob = cover_inputs(sp.csr_matrix(dense), w, None, None)
    got = _assign_flow(prob, cap, mask)
    best = _best_assignment(dense, w, cap, tuple(np.flatnonzero(mask)), False)
    tol = 1e-6 * max(1.0, float(w.sum()))
    assert got.objective == pytest.approx(best, abs=tol)
    assert got.objective == pytest.approx(float(w.sum() - got.residual.sum()), abs=tol)
    assert (got.load <= cap + tol).all() and (got.load[~mask] == 0).all()
    assert got.load.sum() == pytest.approx(got.objective, abs=tol)
    assert ((got.residual >= 0) & (got.residual <= w + tol)).all()
