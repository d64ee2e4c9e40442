"""p-center (issue #16): the cheap steps of the radius search (greedy covers for an
upper bound, disjoint-row packings for a lower bound) and the whole search against
brute force."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer._status import SolveStatus
from optimizer.placement import center as ct
from optimizer.placement import p_center

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


@st.composite
def instances(draw: st.DrawFn) -> tuple[sp.csr_matrix, np.ndarray, int]:
    n = draw(st.integers(1, 12))
    m = draw(st.integers(1, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    reach = rng.random((n, m)) < draw(st.floats(0.3, 1.0))
    reach[np.arange(n), rng.integers(0, m, n)] = True
    dist = rng.integers(1, 8, (n, m)).astype(float)  # few values: ties
    rows, cols = np.nonzero(reach)
    mat = sp.csr_matrix((dist[rows, cols], (rows, cols)), shape=(n, m))
    n_fixed = draw(st.integers(0, min(1, m)))
    fixed = np.zeros(m, dtype=bool)
    fixed[rng.permutation(m)[:n_fixed]] = True
    p = draw(st.integers(max(1, n_fixed), m))
    return mat, fixed, p


def _best_radius(mat: sp.csr_matrix, fixed: np.ndarray, p: int) -> float:
    """The least worst distance over every set of at most p sites with the must-open ones."""
    dense = np.full(mat.shape, np.inf)
    coo = mat.tocoo()
    dense[coo.row, coo.col] = coo.data
    free = [j for j in range(mat.shape[1]) if not fixed[j]]
    best = np.inf
    for k in range(p - int(fixed.sum()) + 1):
        for s in combinations(free, k):
            mask = fixed.copy()
            mask[list(s)] = True
            if mask.any():
                best = min(best, float(dense[:, mask].min(axis=1).max()))
    return best


@settings(max_examples=80, deadline=None)
@given(instances(), st.integers(1, 8))
def test_greedy_cover_and_packing_never_lie(inst: tuple[sp.csr_matrix, np.ndarray, int],
                                            radius: int) -> None:
    """A greedy cover is a real cover by at most p sites (must-open included); a
    packing refutes only radii brute force cannot reach either."""
    mat, fixed, p = inst
    opt = _best_radius(mat, fixed, p)
    g = ct._greedy_cover(mat, float(radius), fixed, p)
    if g is not None:
        assert int(g.sum()) <= p and g[fixed].all()
        cov = ct.radius_cover(mat, float(radius))
        assert (np.asarray(cov[:, g].sum(axis=1)).ravel() > 0).all()
        assert opt <= radius
    if ct._packing_exceeds(mat, float(radius), fixed, p):
        assert opt > radius


@settings(max_examples=60, deadline=None)
@given(instances())
def test_p_center_matches_brute_force(inst: tuple[sp.csr_matrix, np.ndarray, int]) -> None:
    """bound <= optimum <= objective, and OPTIMAL at the optimum."""
    mat, fixed, p = inst
    opt = _best_radius(mat, fixed, p)
    res = p_center(mat, np.ones(mat.shape[0]), p, fixed=np.flatnonzero(fixed), **KW)
    if not np.isfinite(opt):
        assert res.status is SolveStatus.INFEASIBLE
        return
    assert res.status is SolveStatus.OPTIMAL
    assert res.objective == pytest.approx(opt)
    assert res.best_bound == pytest.approx(opt)
    assert res.open_sites.size <= p
