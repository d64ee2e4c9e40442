"""Reductions that make large covering instances small before the MIP sees them.

Every function works on a boolean ``scipy.sparse.csr_matrix`` (demand rows x
site columns) and never densifies it.  The reductions are the classic ones for
set covering (Toregas & ReVelle 1973; see also Daskin, *Network and Discrete
Location*, ch. 4):

* identical rows (demand points with the same covering sites) are merged,
  their weights summed;
* a column whose covered set is contained in another column's, at no lower
  cost, is dominated and dropped (valid for LSCP and for MCLP with a
  cardinality or budget constraint: swapping it for its dominator never loses
  coverage and never costs more);
* for LSCP only, a row whose covering set contains another row's set is
  implied and dropped, and a row with a single covering column forces that
  column open;
* after reduction the LSCP splits into independent connected components.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Largest number of pairwise products a dominance test may compute; beyond it
#: the test is skipped (the model stays correct, only larger).  About 3 s and
#: 400 MB per 130 million on the 20,000 x 2,000 bench instance.
MAX_DOMINANCE_WORK = 1_500_000_000
#: Products per block of a dominance test: the overlap matrix is built a block
#: of rows at a time, so its memory stays bounded whatever the total work.  At
#: 20 million the first row-dominance round of the 20,000 x 2,000 LSCP added
#: 60 MB to the process; at 4 million it adds about 10 MB in the same time
#: (2.7 s for the whole reduction either way).  Any size gives the same answer.
DOMINANCE_BLOCK_WORK = 4_000_000

def as_bool_csr(matrix: sp.spmatrix | sp.sparray, shape: tuple[int, int] | None = None) -> sp.csr_matrix:
    """A canonical boolean CSR copy (explicit ``False`` entries removed, indices sorted)."""
    m = sp.csr_matrix(matrix, dtype=bool, copy=True)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    if shape is not None and m.shape != shape:
        msg = f"matrix has shape {m.shape}, expected {shape}"
        raise ValueError(msg)
    return m


def merge_identical_rows(c: sp.csr_matrix, seed: int = 0) -> tuple[sp.csr_matrix, IntArray]:
    """Merge rows with identical column sets.

    Returns the unique rows and, for each input row, the index of its group.
    Rows are grouped by two independent random 64-bit set hashes and their length
    (collision probability about ``n^2 / 2^128``).
    """
    n_rows, n_cols = c.shape
    if n_rows == 0:
        return c, np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    r1 = rng.integers(0, 2**63 - 1, size=n_cols, dtype=np.int64).astype(np.uint64)
    r2 = rng.integers(0, 2**63 - 1, size=n_cols, dtype=np.int64).astype(np.uint64)
    lengths = np.diff(c.indptr)
    starts = c.indptr[:-1]
    h1 = np.zeros(n_rows, dtype=np.uint64)
    h2 = np.zeros(n_rows, dtype=np.uint64)
    nonempty = lengths > 0
    if c.indices.size:
        with np.errstate(over="ignore"):
            h1[nonempty] = np.add.reduceat(r1[c.indices], starts[nonempty])
            h2[nonempty] = np.add.reduceat(r2[c.indices], starts[nonempty])
    keys = np.stack([h1, h2, lengths.astype(np.uint64)], axis=1)
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    # Keep groups in order of first appearance so results are stable.
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    group = rank[group].astype(np.int64)
    unique_rows = np.sort(first)
    return c[unique_rows], group


def _pair_work(m: sp.csr_matrix) -> int:
    """Number of products in ``m @ m.T`` (sum of squared column lengths of ``m.T``)."""
    lengths = np.diff(m.indptr).astype(np.int64)
    return int((lengths * lengths).sum())


def _blocks(work: IntArray) -> list[tuple[int, int]]:
    """Split ``0 .. len(work)`` into consecutive blocks of about ``DOMINANCE_BLOCK_WORK``."""
    n = work.size
    if n == 0:
        return []
    cum = np.cumsum(work)
    cuts = np.searchsorted(cum, np.arange(DOMINANCE_BLOCK_WORK, int(cum[-1]),
                                          DOMINANCE_BLOCK_WORK))
    edges = np.unique(np.concatenate([[0], cuts + 1, [n]]).clip(0, n))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _subset_pairs(a: sp.csr_matrix) -> tuple[IntArray, IntArray, IntArray]:
    """All pairs ``(s, t)``, ``s != t``, of rows of ``a`` where row s is a subset of row t.

    Returns ``(s, t, size)`` with ``size`` the row lengths.  Built a block of
    rows at a time (see :data:`DOMINANCE_BLOCK_WORK`).
    """
    ai = sp.csr_matrix(a, dtype=np.int32)
    at = ai.T.tocsr()
    size = np.diff(ai.indptr).astype(np.int64)
    col_len = np.diff(at.indptr).astype(np.int64)
    work = np.asarray(ai @ col_len).ravel().astype(np.int64)
    ss: list[IntArray] = []
    tt: list[IntArray] = []
    for lo, hi in _blocks(work):
        ov = (ai[lo:hi] @ at).tocoo()
        s_idx = ov.row.astype(np.int64) + lo
        t_idx = ov.col.astype(np.int64)
        keep = (s_idx != t_idx) & (ov.data == size[s_idx])
        ss.append(s_idx[keep])
        tt.append(t_idx[keep])
    if not ss:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), size
    return np.concatenate(ss), np.concatenate(tt), size


def dominated_columns(
    c: sp.csr_matrix, costs: FloatArray, protected: BoolArray | None = None
) -> BoolArray | None:
    """Columns dominated by another column (subset of rows, cost no lower).

    Ties (identical sets and costs) keep the lowest index.  ``protected``
    columns are never reported.  Returns ``None`` when the test would be too
    expensive (see :data:`MAX_DOMINANCE_WORK`).
    """
    n_cols = c.shape[1]
    if _pair_work(c) > MAX_DOMINANCE_WORK:
        return None
    # column j is a subset of column k
    j, k, size = _subset_pairs(sp.csr_matrix(c.T))
    mask = costs[k] <= costs[j]
    strict = (size[k] > size[j]) | (costs[k] < costs[j]) | (k < j)
    out = np.zeros(n_cols, dtype=bool)
    out[j[mask & strict]] = True
    if protected is not None:
        out &= ~protected
    return out


def dominated_rows(c: sp.csr_matrix) -> BoolArray | None:
    """Rows implied by another row: their covering set contains another row's set.

    Only valid for covering constraints that must all hold (LSCP).  Rows must
    already be unique (see :func:`merge_identical_rows`).  ``None`` if too expensive.
    """
    ct = c.T.tocsr()
    if _pair_work(ct) > MAX_DOMINANCE_WORK:
        return None
    # row r is implied by row i when set_i is a subset of set_r
    i, r, size = _subset_pairs(c)
    mask = (size[r] > size[i]) | (i < r)
    out = np.zeros(c.shape[0], dtype=bool)
    out[r[mask]] = True
    return out


@dataclass(frozen=True)
class CoverReduction:
    """A reduced set-covering instance.

    ``matrix`` has the remaining rows x ``columns`` (indices into the original
    sites); ``forced`` are sites that must open (fixed ones included).
    """

    matrix: sp.csr_matrix
    columns: IntArray
    forced: IntArray
    rounds: int


def _keep_columns(m: sp.csr_matrix, columns: IntArray,
                  keep: npt.NDArray[np.bool_]) -> tuple[sp.csr_matrix, IntArray]:
    """The columns of ``m`` (and their original indices ``columns``) where ``keep``."""
    if keep.all():
        return m, columns
    return m[:, np.flatnonzero(keep)], columns[keep]


def reduce_lscp(c: sp.csr_matrix, costs: FloatArray, fixed: IntArray) -> CoverReduction:
    """Reduce an LSCP whose rows all must be covered, until nothing changes.

    ``c`` holds only coverable rows and only allowed (not closed) columns in
    original numbering; columns of closed sites must already be empty.
    """
    n_cols = c.shape[1]
    forced = np.zeros(n_cols, dtype=bool)
    forced[fixed] = True
    columns = np.arange(n_cols, dtype=np.int64)
    m = c
    rounds = 0
    while True:
        rounds += 1
        before = m.shape
        # rows already covered by a forced site need nothing more
        is_forced_col = forced[columns]
        if is_forced_col.any():
            hit = np.asarray(m[:, np.flatnonzero(is_forced_col)].sum(axis=1)).ravel() > 0
            m = m[~hit][:, np.flatnonzero(~is_forced_col)]
            columns = columns[~is_forced_col]
        # a row with a single covering site forces it open
        lengths = np.diff(m.indptr)
        single = lengths == 1
        if single.any():
            forced[columns[np.unique(m.indices[m.indptr[:-1][single]])]] = True
            continue
        # columns covering nothing are useless
        m, columns = _keep_columns(m, columns, np.diff(m.tocsc().indptr) > 0)
        m, _ = merge_identical_rows(m)
        drop_r = dominated_rows(m)
        if drop_r is not None and drop_r.any():
            m = m[~drop_r]
        drop_c = dominated_columns(m, costs[columns])
        if drop_c is not None:
            m, columns = _keep_columns(m, columns, ~drop_c)
        if m.shape == before:
            break
    logger.debug(
        "LSCP reduced to %d rows x %d columns, %d forced, in %d rounds",
        m.shape[0], m.shape[1], int(forced.sum()), rounds,
    )
    return CoverReduction(m, columns, np.flatnonzero(forced).astype(np.int64), rounds)


def components(c: sp.csr_matrix) -> tuple[int, IntArray, IntArray]:
    """Connected components of the bipartite row-column graph.

    Returns ``(n, row_label, column_label)``.
    """
    n_rows, n_cols = c.shape
    graph = sp.bmat([[None, c], [c.T, None]], format="csr")
    n, labels = connected_components(graph, directed=False)
    return int(n), labels[:n_rows].astype(np.int64), labels[n_rows:].astype(np.int64)


@dataclass(frozen=True)
class MclpReduction:
    """A reduced maximal-covering instance: unique rows with summed weights."""

    matrix: sp.csr_matrix
    weights: FloatArray
    columns: IntArray
    rounds: int


def reduce_mclp(c: sp.csr_matrix, weights: FloatArray, costs: FloatArray) -> MclpReduction:
    """Merge identical rows and drop dominated / useless columns until nothing changes."""
    columns = np.arange(c.shape[1], dtype=np.int64)
    m = c
    w = weights
    rounds = 0
    while True:
        rounds += 1
        before = m.shape
        m, group = merge_identical_rows(m)
        w = np.bincount(group, weights=w, minlength=m.shape[0]).astype(np.float64)
        keep_r = (w > 0) & (np.diff(m.indptr) > 0)
        if not keep_r.all():
            m, w = m[keep_r], w[keep_r]
        m, columns = _keep_columns(m, columns, np.diff(m.tocsc().indptr) > 0)
        drop_c = dominated_columns(m, costs[columns])
        if drop_c is not None:
            m, columns = _keep_columns(m, columns, ~drop_c)
        if m.shape == before:
            break
    logger.debug("MCLP reduced to %d rows x %d columns in %d rounds", m.shape[0], m.shape[1], rounds)
    return MclpReduction(m, w, columns, rounds)
