"""Invariants of the placement models on random small instances."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer._status import SolveStatus
from optimizer.placement import lscp, mclp

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


@st.composite
def instances(draw: st.DrawFn) -> tuple[sp.csr_matrix, np.ndarray, int]:
    n = draw(st.integers(1, 12))
    m = draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    dense = rng.random((n, m)) < draw(st.floats(0.05, 0.6))
    w = rng.integers(0, 50, n).astype(float)
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
    assert (hit == coverable).all()
    assert res.uncoverable.tolist() == np.flatnonzero(~coverable).tolist()
    assert res.covered_weight <= res.total_weight
    # no open site can be dropped without uncovering someone when it covers alone
    assert res.objective == len(res.open_sites)
