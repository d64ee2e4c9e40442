"""The memory-lean builders of the p-median (issue #16: hn-400m's 17 million pairs under
2 GB) against their plain definitions."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer import _pmedian as pm
from optimizer.placement.median import _drop_entries


@st.composite
def matrices(draw: st.DrawFn) -> sp.csr_matrix:
    n = draw(st.integers(0, 12))
    m = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    mask = rng.random((n, m)) < draw(st.floats(0.0, 1.0))
    rows, cols = np.nonzero(mask)
    # few distinct values (ties), explicit zeros included
    data = rng.integers(0, 4, rows.size).astype(float)
    return sp.csr_matrix((data, (rows, cols)), shape=(n, m))


@settings(max_examples=200, deadline=None)
@given(matrices(), st.integers(0, 2**31 - 1))
def test_drop_entries_is_the_plain_filter(m: sp.csr_matrix, seed: int) -> None:
    keep = np.random.default_rng(seed).random(m.nnz) < 0.6
    out = _drop_entries(m, keep)
    r_all = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    ref = sp.csr_matrix((m.data[keep], (r_all[keep], m.indices[keep])), shape=m.shape)
    ref.sort_indices()
    assert out.shape == ref.shape
    assert np.array_equal(out.indptr, ref.indptr)
    assert np.array_equal(out.indices, ref.indices)
    assert np.array_equal(out.data, ref.data)  # explicit zeros kept too
    assert _drop_entries(m, np.ones(m.nnz, dtype=bool)) is m


@settings(max_examples=200, deadline=None)
@given(matrices())
def test_pairs_sorted_by_row_distance_column(m: sp.csr_matrix) -> None:
    pairs = pm.Pairs.of(m)
    coo = m.tocoo()
    ref = sorted(zip(coo.row.tolist(), coo.data.tolist(), coo.col.tolist(), strict=True))
    got = list(zip(pairs.rows.tolist(), pairs.dist.tolist(), pairs.cols.tolist(), strict=True))
    assert got == ref
    assert pairs.rows.dtype == np.int32 and pairs.cols.dtype == np.int32
    assert pairs.dist.dtype == np.float64


@settings(max_examples=100, deadline=None)
@given(matrices(), st.integers(0, 2**31 - 1))
def test_reduce_same_with_and_without_weighted_pairs(m: sp.csr_matrix, seed: int) -> None:
    """reduce prices the pairs by their cached ``w d`` when they have it: the same entries."""
    rng = np.random.default_rng(seed)
    n, n_sites = m.shape
    pairs = pm.Pairs.of(m)
    w = rng.integers(1, 5, n).astype(float)
    tail = np.where(rng.random(n) < 0.5, 5.0, np.inf)
    fixed = np.zeros(n_sites, dtype=bool)
    allowed = np.ones(n_sites, dtype=bool)
    p = max(1, n_sites // 2)
    lg = pm.evaluate(pairs, w, tail, rng.random(n) * 10.0, p, fixed, allowed)
    upper = lg.bound + float(rng.random() * 20.0)
    a = pm.reduce(pairs, w, tail, p, fixed, allowed, lg, upper, 1e-9)
    b = pm.reduce(pairs.weighted(w), w, tail, p, fixed, allowed, lg, upper, 1e-9)
    # the pair rule as written before it was made in place
    q = p
    chosen_free = lg.chosen & allowed & ~fixed
    weakest = float(lg.rho[chosen_free].max()) if chosen_free.any() else 0.0
    open_cost = np.where(lg.chosen, lg.bound, lg.bound + lg.rho
                         - (weakest if int(chosen_free.sum()) >= q else 0.0))
    red = w[pairs.rows] * pairs.dist - lg.lam[pairs.rows]
    pair_cost = (np.where(a.force_open[pairs.cols], lg.bound, open_cost[pairs.cols])
                 + np.maximum(red, 0.0))
    ref = ~a.force_closed[pairs.cols] & (pair_cost <= upper + 1e-9)
    assert np.array_equal(a.keep_pair, ref)
    for x, y in ((a.keep_pair, b.keep_pair), (a.keep_tail, b.keep_tail),
                 (a.force_open, b.force_open), (a.force_closed, b.force_closed)):
        assert np.array_equal(x, y)


@settings(max_examples=200, deadline=None)
@given(matrices(), st.integers(0, 2**31 - 1), st.floats(0.0, 1.0), st.booleans(),
       st.sampled_from([1, 2, 5, 1 << 20]))
def test_compact_is_subset(m: sp.csr_matrix, seed: int, share: float, weighted: bool,
                           chunk: int) -> None:
    """Compacting in place (any chunk size) gives the entries :meth:`Pairs.subset` gives."""
    rng = np.random.default_rng(seed)
    pairs = pm.Pairs.of(m)
    if weighted:
        pairs = pm.Pairs.of(m).weighted(rng.random(m.shape[0]) + 0.5)
    keep = rng.random(pairs.rows.size) < share
    ref = pairs.subset(keep)
    copy = pm.Pairs(pairs.rows.copy(), pairs.cols.copy(), pairs.dist.copy(), pairs.n_rows,
                    pairs.n_sites, None if pairs.wd is None else pairs.wd.copy())
    old = pm.COMPACT_CHUNK
    pm.COMPACT_CHUNK = chunk
    try:
        out = copy.compact(keep)
    finally:
        pm.COMPACT_CHUNK = old
    for x, y in ((out.rows, ref.rows), (out.cols, ref.cols), (out.dist, ref.dist)):
        assert np.array_equal(x, y)
    assert (out.wd is None) == (ref.wd is None)
    if out.wd is not None and ref.wd is not None:
        assert np.array_equal(out.wd, ref.wd)
