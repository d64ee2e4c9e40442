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
from optimizer.placement.inputs import SolveOptions, cover_inputs
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


@settings(max_examples=40, deadline=None)
@given(instances(), st.booleans())
def test_the_master_bound_is_a_bound_and_its_optimum_the_optimum(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], with_p: bool) -> None:
    dense, w, cap, p = inst
    q = p if with_p else None
    prob = cover_inputs(sp.csr_matrix(dense), w, None, None)
    if not np.diff(prob.c.indptr).any():
        return  # no coverable point: nothing for a master
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
