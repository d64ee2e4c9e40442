"""p-median by heuristic, Lagrangian bound and reduced-cost fixing.

The classical exact recipe for large p-median instances (Beasley 1993; Avella,
Sassano & Vasil'ev 2007), on a sparse demand x site cost matrix:

1. an upper bound: greedy, then vertex substitution (Teitz & Bart 1968) with
   the fast interchange of Whitaker (1983) / Resende & Werneck (2007), every
   swap of the neighbourhood priced at once with numpy (:func:`interchange`);
2. a lower bound: Lagrangian relaxation of the assignment constraints
   :math:`\\sum_j x_{ij} + z_i = 1` (:func:`lagrangian_bound`).  For
   multipliers :math:`\\lambda` the subproblem is solved in closed form: a site's
   value is :math:`\\rho_j = \\sum_i \\min(0, w_i d_{ij} - \\lambda_i)`, and the
   must-open sites plus the ``p`` most negative others are opened.  The dual is
   maximised by subgradient steps (Polyak step towards the upper bound);
3. reduced-cost fixing (:func:`reduce`): with any multipliers, a site whose
   forced opening (or closing) lifts the Lagrangian bound above the upper bound
   is closed (or opened) in every better solution, and a pair :math:`(i, j)`
   (or leaving :math:`i` unassigned) whose forcing does so is dropped.  No
   solution strictly better than the upper bound loses anything, so the
   reduced model's optimum, compared with the heuristic's, is the optimum.

The exact model on what is left is the radius formulation of
:mod:`optimizer.placement` when it is small (HiGHS proves it in seconds); when
it is large (HiGHS' root LP alone outlasts a minute) a depth-first
branch-and-bound over Lagrangian bounds (:func:`branch_and_bound`, after
Beasley 1993) replaces it: each node forces a site open or closed, re-optimises
the multipliers from its parent's, prunes against the incumbent and fixes by
reduced costs for its subtree.

Notation used throughout: the cost of an open set :math:`S` is
:math:`\\sum_i w_i \\min(t_i, \\min_{j \\in S} d_{ij})` where ``tail`` :math:`t_i`
is the unassigned penalty (``inf``: the point must be served).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer._mip import ABSOLUTE_GAP, MipSolution, SparseMip, solve_mip
from optimizer._status import SolverReport, SolveStatus

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
#: A pair's row or column: 32 bits (4 bytes a pair less each on hn-400m's 17 million)
Index = npt.NDArray[np.int32]


#: Pairs left after fixing above which no exact model is built (HiGHS memory).
MAX_MIP_PAIRS = 600_000
#: Pairs at most in the truncated radius model run after a stall (:func:`truncated_search`):
#: pt-1km's (441k pairs, from the multipliers of 15 rounds) had HiGHS still in its root LP
#: after 1,132 s (bound 1.62e7, the trivial one) at 2.07 GB; HiGHS needs 30-50 s for the
#: root LP of an 80-105k-pair radius model (see :data:`TREE_MIN_PAIRS`).
TRUNCATED_MAX_PAIRS = 150_000
#: Pairs left after fixing from which the Lagrangian branch-and-bound replaces the
#: radius model: HiGHS proves a 21k-pair model in ~1.5 s, but spends 30-50 s in the
#: root LP of an 80-105k-pair one (its bound meanwhile is the trivial one).
TREE_MIN_PAIRS = 40_000
#: Node subgradient: the direction is ``NODE_ALPHA`` times the new subgradient plus
#: the rest of the previous direction (deflected subgradient); the step factor
#: halves after ``NODE_HALVE`` steps without a better bound.  Measured on the
#: 5,000 x 500 roots (seed 2025 p 80 / seed 2 p 20): plain subgradient, halving
#: after 5, took 265 / 863 nodes; 0.3 and 10 take 47 / 217.
NODE_ALPHA = 0.3
NODE_HALVE = 10
#: The root's later rounds: deflected steps (0.5 new + 0.5 previous direction),
#: step factor halved after 100 steps without a better bound ...
POLISH_ALPHA = 0.5
POLISH_HALVE = 100
#: ... aimed 0.05 % above the incumbent and never restarted from the best point
#: (either change alone: the steps die out early, 3.01151e7 instead of 3.01214e7
#: on seed 1, p 80).
POLISH_AIM = 5e-4
#: On a large matrix the polish halves its step factor after 15 steps without a better
#: bound instead: there the rounds are 150 steps and the steps stay too long otherwise.
#: pt-1km from the same round-1 multipliers, 600 steps: 4.71339e7 (after 100) and
#: 4.71770e7 (after 15), the latter still rising; after 100 the bound stalled at 4.7131e7
#: for 1,000 more steps.
LARGE_POLISH_HALVE = 15
#: Subgradient steps per node at most (100: fewer nodes but slower; 40: more nodes).
NODE_ITER = 60
#: First subgradient step factor.
THETA0 = 1.0
#: Above this many pairs the Lagrangian prices a :class:`WorkingSet` (the entries near
#: each row's multiplier) instead of every entry at every step.
PREFIX_MIN_PAIRS = 200_000
#: Matrices of more pairs than this are priced on a :class:`Core`: per row the entries
#: within ``CORE_REACH`` times its distance in the greedy answer, and at least its
#: :func:`_core_rank` nearest.
CORE_MIN_PAIRS = 1_000_000
CORE_REACH = 1.5
CORE_RANK = 2.0
#: A polish round on a large matrix that lifts the bound by at most this share has
#: stalled: the rounds stop and the time left goes to :func:`perturbation_search`.
STALL_GAIN = 1e-7
#: Subgradient steps per round on a core (then fixing, which makes the next round cheaper).
LARGE_ROUND_ITER = 150
#: The relative gap the large path settles for when no exact model fits (issue #16's
#: 0.1 %): after a stalled bound, a Lagrangian tree that prunes and fixes against
#: ``incumbent * (1 - TARGET_GAP)`` (:func:`branch_and_bound` with ``gap``).  On pt-1km
#: (bound 4.71816e7, plan 4.72340e7, LP gap 0.11 %) fixing against the plan keeps 3.5
#: million pairs and 684 free sites; against 0.1 % below it 801k pairs and 219 free sites,
#: and the tree then proves 0.1 % in 309 nodes (176 s of CPU).
TARGET_GAP = 1e-3
#: Pairs at most left by that fixing for the gap tree to run (a node keeps its subset).
GAP_TREE_MAX_PAIRS = 1_500_000
#: Passes over the whole matrix kept in hand before the deadline (at most 5 % of the
#: time): pt-1km (6.7 million pairs) ended 5-7 s past a 60 s limit without it.
END_PASSES = 8.0


#: Entries moved at a time by :meth:`Pairs.compact`.
COMPACT_CHUNK = 1 << 20


def _dot(a: FloatArray, b: FloatArray) -> float:
    """``a @ b`` without BLAS: OpenBLAS threads its dot product of the rows' vectors
    (22k on pt-1km) and its threads spin on a shared machine; a node's 60 steps on
    pt-1km's 800k pairs took 1.08 s of CPU with ``@`` and 0.40 s with one BLAS thread."""
    return float(np.multiply(a, b).sum())


def _core_rank(free_sites: int, q: int) -> int:
    """How many nearest entries of each row a core keeps at least: twice the sites per
    open site (a row's nearest open site is about that many sites away), 16 at least."""
    return max(16, math.ceil(CORE_RANK * free_sites / max(1, q)))


@dataclass(frozen=True)
class Pairs:
    """The matrix as entry arrays, sorted by row, then distance, then column."""

    rows: Index
    cols: Index
    dist: FloatArray
    n_rows: int
    n_sites: int
    #: per entry ``w[row] * dist`` for the weights of :meth:`weighted` (``None``: not
    #: computed); the Lagrangian evaluates it thousands of times
    wd: FloatArray | None = None

    def weighted(self, w: FloatArray) -> Pairs:
        """The same entries with ``w[row] * dist`` kept; use with these weights only."""
        return Pairs(self.rows, self.cols, self.dist, self.n_rows, self.n_sites,
                     w[self.rows] * self.dist)

    @staticmethod
    def of(m: sp.csr_matrix) -> Pairs:
        m = m.copy() if not m.has_sorted_indices else m
        m.sort_indices()
        counts = np.diff(m.indptr)
        # one stable sort of the exact integer key (row, rank of the distance); the entries
        # are in row, column order, so ties keep the column order.  Built in place, and each
        # array gathered from the matrix by the order, one at a time: the temporaries of
        # 17 million pairs (hn-400m) were a peak of their own
        uniq, key = np.unique(m.data, return_inverse=True)
        key = key.ravel().astype(np.int64, copy=False)
        key += np.repeat(np.arange(m.shape[0], dtype=np.int64) * max(1, uniq.size), counts)
        del uniq
        order = np.argsort(key, kind="stable")
        del key
        rows = np.repeat(np.arange(m.shape[0], dtype=np.int32), counts)[order]
        cols = m.indices[order].astype(np.int32)
        dist = m.data[order].astype(np.float64, copy=False)
        return Pairs(rows, cols, dist, int(m.shape[0]), int(m.shape[1]))

    def subset(self, keep: BoolArray) -> Pairs:
        return Pairs(self.rows[keep], self.cols[keep], self.dist[keep], self.n_rows, self.n_sites,
                     None if self.wd is None else self.wd[keep])

    def compact(self, keep: BoolArray) -> Pairs:
        """:meth:`subset`, written over this object's own arrays (moved forward chunk by
        chunk) instead of copied beside them, when it keeps at least half of them: fixing
        on hn-400m kept 15.8 of 16.6 million pairs, and the two copies were the peak.  This
        object is unusable afterwards; only for arrays no other object shares."""
        total = int(np.count_nonzero(keep))
        if 2 * total < keep.size:
            return self.subset(keep)
        arrays: list[npt.NDArray[np.generic]] = [self.rows, self.cols, self.dist]
        if self.wd is not None:
            arrays.append(self.wd)
        pos = 0
        for start in range(0, keep.size, COMPACT_CHUNK):
            k = keep[start:start + COMPACT_CHUNK]
            n = int(np.count_nonzero(k))
            for a in arrays:
                a[pos:pos + n] = a[start:start + COMPACT_CHUNK][k]  # the source is a copy
            pos += n
        return Pairs(self.rows[:total], self.cols[:total], self.dist[:total], self.n_rows,
                     self.n_sites, None if self.wd is None else self.wd[:total])

    @functools.cached_property
    def row_index(self) -> tuple[IntArray, IntArray]:
        """Per row, its number of entries and its first entry."""
        counts = np.bincount(self.rows, minlength=self.n_rows).astype(np.int64)
        return counts, np.cumsum(counts) - counts

    @functools.cached_property
    def col_index(self) -> tuple[IntArray, IntArray]:
        """The entries ordered by column, and where each column's start (built once: the
        heuristics' interchange runs many times on one core, and this sort was a quarter
        of its time on pt-1km)."""
        by_col = np.argsort(self.cols, kind="stable")
        ptr = np.concatenate([[0], np.cumsum(np.bincount(self.cols, minlength=self.n_sites))])
        return by_col.astype(np.int64), ptr.astype(np.int64)

    def release(self) -> None:
        """Drop the cached :attr:`working` set (its memory; rebuilt when next used)."""
        self.__dict__.pop("working", None)

    @functools.cached_property
    def working(self) -> WorkingSet:
        """The entries the Lagrangian prices (for the weights of :meth:`weighted`;
        built on first use, rebuilt as the multipliers move)."""
        assert self.wd is not None, "Pairs.working needs weighted pairs"
        return WorkingSet(self, self.wd)


class WorkingSet:
    """The entries of each row whose ``w d`` is below a per-row ``cap`` a little above
    its multiplier, kept as contiguous arrays (a prefix of each row: the entries are
    sorted by distance).  Every entry left out has ``w d >= cap``, so while each
    multiplier stays at or below its row's cap, pricing the kept entries prices every
    entry of negative reduced cost; a multiplier past its cap rebuilds the set with a
    wider margin.  pt-1km (6.7 million pairs, ~0.75 million kept near the dual
    optimum): 13 ms of CPU per evaluation against 36 ms following each row's prefix
    through gathers (the :class:`RowPrefix` this replaced)."""

    #: the margin above the multipliers, relative: doubled (up to ``MAX_MARGIN``) when a
    #: multiplier passes its cap within ``FEW`` evaluations of the last build, halved (down
    #: to ``MIN_MARGIN``) when none has after ``MANY`` (the set is then rebuilt tighter)
    MARGIN0 = 0.02
    MIN_MARGIN = 1e-3
    MAX_MARGIN = 0.1
    FEW = 8
    MANY = 32

    def __init__(self, pairs: Pairs, wd: FloatArray) -> None:
        # the arrays, not the Pairs (which caches this object): a reference cycle would
        # keep each polish round's pairs until the cyclic collector ran (+110 MB a round
        # on pt-1km)
        self.all_rows, self.all_cols = pairs.rows, pairs.cols
        self.wd = wd
        self.margin = self.MARGIN0
        self.uses = 0
        self.builds = 0
        self.rows: Index = np.zeros(0, dtype=np.int32)
        self.cols: Index = np.zeros(0, dtype=np.int32)
        self.kept_wd = np.zeros(0)
        self.cap = np.full(pairs.n_rows, -np.inf)
        self.counts, self.starts = pairs.row_index

    def entries(self, lam: FloatArray) -> tuple[Index, Index, FloatArray]:
        """Rows, columns and ``w d`` of kept entries holding every entry whose
        ``w d`` is below its row's ``lam``."""
        exceeded = not (lam <= self.cap).all()
        if exceeded or self.uses >= self.MANY:
            if self.builds:
                if exceeded and self.uses < self.FEW:
                    self.margin = min(self.MAX_MARGIN, 2.0 * self.margin)
                elif not exceeded:
                    self.margin = max(self.MIN_MARGIN, 0.5 * self.margin)
            self.cap = lam + self.margin * np.abs(lam) + 1e-9
            # per row the first entry at or above its cap: a binary search of all rows at
            # once (each row's w d rises along it), then the kept ranges gathered once
            lo, hi = self.starts.copy(), self.starts + self.counts
            while True:
                act = np.flatnonzero(lo < hi)
                if act.size == 0:
                    break
                mid = (lo[act] + hi[act]) // 2
                below = self.wd[mid] < self.cap[act]
                lo[act[below]] = mid[below] + 1
                hi[act[~below]] = mid[~below]
            ent = _row_ranges(self.starts, lo - self.starts)
            self.rows = self.all_rows[ent]
            self.cols = self.all_cols[ent]
            self.kept_wd = self.wd[ent]
            self.uses = 0
            self.builds += 1
        self.uses += 1
        return self.rows, self.cols, self.kept_wd


@dataclass(frozen=True)
class Core:
    """The entries of each row up to a distance (``pairs``), on which the heuristics
    work when the matrix is large (their answers are then priced on the whole matrix).
    ``tail`` is ``min(tail, the row's nearest left-out distance)``: what they charge a
    row no kept site serves (never more than its true cost)."""

    pairs: Pairs
    tail: FloatArray


def core_of(pairs: Pairs, tail: FloatArray, reach: FloatArray) -> Core:
    """The core of ``pairs``: per row the entries within ``reach`` (a prefix of the row)."""
    n = pairs.n_rows
    keep = pairs.dist <= reach[pairs.rows]
    counts = np.bincount(pairs.rows, minlength=n)
    kept = np.bincount(pairs.rows[keep], minlength=n)
    start = np.cumsum(counts) - counts
    cut = kept < counts
    nxt = np.full(n, np.inf)
    nxt[cut] = pairs.dist[start[cut] + kept[cut]]
    return Core(pairs.subset(keep), np.minimum(tail, nxt))


def rank_distance(pairs: Pairs, k: int) -> FloatArray:
    """Per row, the distance of its ``k``-th nearest entry (``inf`` if it has fewer)."""
    n = pairs.n_rows
    counts = np.bincount(pairs.rows, minlength=n)
    start = np.cumsum(counts) - counts
    out = np.full(n, np.inf)
    has = counts >= k
    out[has] = pairs.dist[start[has] + k - 1]
    return out


def cost(pairs: Pairs, w: FloatArray, tail: FloatArray, open_mask: BoolArray) -> float:
    """Weighted cost of ``open_mask`` (``inf`` if a point that must be served is not)."""
    d1, _, _ = _nearest_two(pairs, tail, open_mask)
    if not np.isfinite(d1).all():
        return math.inf
    return _dot(w, d1)


def _nearest_two(pairs: Pairs, tail: FloatArray,
                 open_mask: BoolArray) -> tuple[FloatArray, FloatArray, IntArray]:
    """Per row: the nearest and second-nearest open distance, capped at ``tail``,
    and the nearest open site (``-1`` when the tail is at least as near)."""
    sel = np.flatnonzero(open_mask[pairs.cols])
    r = pairs.rows[sel]
    d1 = tail.copy()
    d2 = tail.copy()
    phi = np.full(pairs.n_rows, -1, dtype=np.int64)
    if r.size == 0:
        return d1, d2, phi
    first = np.ones(r.size, dtype=bool)
    first[1:] = r[1:] != r[:-1]
    i1 = np.flatnonzero(first)
    rr = r[i1]
    dd = pairs.dist[sel[i1]]
    near = dd < tail[rr]
    d1[rr[near]] = dd[near]
    phi[rr[near]] = pairs.cols[sel[i1[near]]]
    i2 = i1 + 1
    ok = i2 < r.size
    ok[ok] &= r[i2[ok]] == rr[ok]
    ok &= near
    d2[rr[ok]] = np.minimum(pairs.dist[sel[i2[ok]]], tail[rr[ok]])
    return d1, d2, phi


def greedy(pairs: Pairs, w: FloatArray, tail: FloatArray, p: int, start: BoolArray,
           allowed: BoolArray, *, deadline: float | None = None) -> BoolArray:
    """Greedy: from ``start`` (e.g. the must-open sites), add the largest saving per step.

    Past ``deadline`` the sites still missing are added in one step, those of the
    largest savings at that point (a heavily loaded machine once left a 4 s solve
    with 24 of 40 sites)."""
    open_mask = start.copy()
    cur, _, _ = _nearest_two(pairs, tail, open_mask)
    cur = np.minimum(cur, _finite_tail(pairs, w, tail))
    for _ in range(max(0, p - int(open_mask.sum()))):
        saving = w[pairs.rows] * np.maximum(0.0, cur[pairs.rows] - pairs.dist)
        gain = np.bincount(pairs.cols, weights=saving, minlength=pairs.n_sites)
        gain[open_mask | ~allowed] = -1.0
        if deadline is not None and time.perf_counter() > deadline:
            left = p - int(open_mask.sum())
            top = np.argsort(-gain, kind="stable")[:left]
            open_mask[top[gain[top] > 0.0]] = True
            break
        j = int(np.argmax(gain))
        if gain[j] <= 0.0:
            break
        open_mask[j] = True
        hit = pairs.cols == j
        np.minimum.at(cur, pairs.rows[hit], pairs.dist[hit])
    return open_mask


def _finite_tail(pairs: Pairs, w: FloatArray, tail: FloatArray) -> FloatArray:
    """``tail`` with ``inf`` replaced by a cost so large that no heuristic move
    leaves a point unserved to save distance elsewhere."""
    if np.isfinite(tail).all():
        return tail
    dmax = float(pairs.dist.max(initial=0.0))
    pos = w[w > 0]
    ratio = float(w.sum() / pos.min()) if pos.size else 1.0
    big = (dmax + 1.0) * (ratio + 2.0)
    return np.where(np.isfinite(tail), tail, big)


def _row_ranges(starts: IntArray, counts: IntArray) -> IntArray:
    """The entry indices ``starts[r] .. starts[r] + counts[r] - 1`` of each row, in order."""
    total = int(counts.sum())
    offs = np.cumsum(counts) - counts
    return np.repeat(starts - offs, counts) + np.arange(total, dtype=np.int64)


def interchange(pairs: Pairs, w: FloatArray, tail: FloatArray, open_mask: BoolArray,
                fixed: BoolArray, allowed: BoolArray, *, deadline: float | None = None,
                stop: threading.Event | None = None,
                max_swaps: int = 10_000) -> tuple[BoolArray, int]:
    """Vertex substitution to a local optimum (best improving swap each step).

    Each step prices every (insert ``j``, remove ``k``) swap at once with the
    fast-interchange decomposition ``gain(j) - loss(k) + extra(j, k)``
    (Whitaker 1983; Resende & Werneck 2007).  The three terms are built once, in
    O(non-zeros), and after each swap updated for the rows whose nearest or
    second-nearest open site changed (those near ``j`` or ``k``), so a step costs
    O(sites^2 + the entries of those rows).  Never returns a set worse than
    ``open_mask``.  Returns the set and the number of swaps made.
    """
    if (deadline is not None and time.perf_counter() > deadline) or (
            stop is not None and stop.is_set()):
        return open_mask.copy(), 0
    t = _finite_tail(pairs, w, tail)
    # zero-weight points that must be served still count a little when swapping
    we = w.copy()
    if not np.isfinite(tail).all():
        pos = w[w > 0]
        we[(w <= 0) & ~np.isfinite(tail)] = (pos.min() if pos.size else 1.0) * 1e-6
    cur = open_mask.copy()
    n = pairs.n_sites
    rows, cols, dist = pairs.rows, pairs.cols, pairs.dist
    counts, starts = pairs.row_index
    by_col, col_ptr = pairs.col_index
    d1, d2, phi = _nearest_two(pairs, t, cur)

    def terms(ent: IntArray, r: Index, d1r: FloatArray, d2r: FloatArray,
              phir: IntArray) -> tuple[FloatArray, IntArray, FloatArray]:
        """Per entry (``ent``, of rows ``r`` with those nearest two): its gain term;
        the extra term's flat (insert, remove) index and value (index -1: none)."""
        dd = dist[ent]
        wr = we[r]
        g = wr * np.maximum(0.0, d1r - dd)
        has = (phir >= 0) & (dd < d2r)
        idx = np.where(has, cols[ent].astype(np.int64) * n + phir, -1)
        ev = np.where(has, wr * (d2r - np.maximum(dd, d1r)), 0.0)
        return g, idx, ev

    all_ent = np.arange(rows.size, dtype=np.int64)
    g0, idx0, ev0 = terms(all_ent, rows, d1[rows], d2[rows], phi[rows])
    # (float: bincount of no entries gives integers, which the updates cannot add to)
    gain = np.bincount(cols, weights=g0, minlength=n).astype(np.float64)
    served = phi >= 0
    loss = np.bincount(phi[served], weights=(we * (d2 - d1))[served],
                       minlength=n).astype(np.float64)
    ok0 = idx0 >= 0
    extra = np.bincount(idx0[ok0], weights=ev0[ok0], minlength=n * n).astype(np.float64)
    del g0, idx0, ev0, ok0
    base = _dot(we, d1)
    swaps = 0
    removable_base = ~fixed
    while swaps < max_swaps:
        if (deadline is not None and time.perf_counter() > deadline) or (
                stop is not None and stop.is_set()):
            break
        cand_in = allowed & ~cur
        out_ok = cur & removable_base
        if not cand_in.any() or not out_ok.any():
            break
        ins = np.flatnonzero(cand_in)
        outs = np.flatnonzero(out_ok)
        profit = (gain[ins, None] - loss[None, outs]
                  + extra.reshape(n, n)[np.ix_(ins, outs)])
        flat = int(np.argmax(profit))
        a, b = divmod(flat, outs.size)
        j, k = int(ins[a]), int(outs[b])
        if not profit[a, b] > 1e-9 * max(1.0, abs(base)):
            break
        # the rows whose two nearest open sites change: j comes within their second
        # nearest, or k was one of them
        ej = by_col[col_ptr[j]:col_ptr[j + 1]]
        ek = by_col[col_ptr[k]:col_ptr[k + 1]]
        rj = rows[ej][dist[ej] < d2[rows[ej]]]
        rk = rows[ek][dist[ek] <= d2[rows[ek]]]
        aff = np.unique(np.concatenate([rj, rk]))
        ent = _row_ranges(starts[aff], counts[aff])
        r = rows[ent]
        cur[j] = True
        cur[k] = False
        sub = Pairs(np.repeat(np.arange(aff.size, dtype=np.int64), counts[aff]), cols[ent],
                    dist[ent], int(aff.size), n)
        n1, n2, nphi = _nearest_two(sub, t[aff], cur)
        new_base = base + _dot(we[aff], n1 - d1[aff])
        if not new_base < base:
            cur[j] = False  # rounding in the updated terms: no real improvement
            cur[k] = True
            break
        # take the affected rows' old terms out, put their new ones in
        og, oidx, oev = terms(ent, r, d1[r], d2[r], phi[r])
        pos = np.empty(pairs.n_rows, dtype=np.int64)
        pos[aff] = np.arange(aff.size)
        ng, nidx, nev = terms(ent, r, n1[pos[r]], n2[pos[r]], nphi[pos[r]])
        gain += np.bincount(cols[ent], weights=ng - og, minlength=n)
        osv = phi[aff] >= 0
        loss -= np.bincount(phi[aff][osv], weights=(we[aff] * (d2[aff] - d1[aff]))[osv],
                            minlength=n)
        nsv = nphi >= 0
        loss += np.bincount(nphi[nsv], weights=(we[aff] * (n2 - n1))[nsv], minlength=n)
        m_o, m_n = oidx >= 0, nidx >= 0
        np.subtract.at(extra, oidx[m_o], oev[m_o])
        np.add.at(extra, nidx[m_n], nev[m_n])
        d1[aff], d2[aff], phi[aff] = n1, n2, nphi
        base = new_base
        swaps += 1
    if cost(pairs, w, tail, cur) > cost(pairs, w, tail, open_mask):
        return open_mask.copy(), 0  # only possible through the surrogate tail
    return cur, swaps


def perturbation_search(search: Pairs, search_tail: FloatArray, pairs: Pairs, w: FloatArray,
                        tail: FloatArray, open_mask: BoolArray, fixed: BoolArray,
                        allowed: BoolArray, pool: BoolArray, rng: np.random.Generator, *,
                        deadline: float | None, stop: threading.Event | None = None,
                        patience: int = 200) -> tuple[BoolArray, float, int]:
    """Iterated local search from ``open_mask`` (Lourenço, Martin & Stützle 2003).

    Each try swaps ``k`` (2-5) random open sites that are not must-open for as many
    random sites of ``pool`` that are closed and allowed, runs :func:`interchange`
    on ``search`` (a core, see :class:`Core`) and prices the answer on ``pairs``;
    a better answer becomes the point the next try perturbs.  Stops at ``deadline``
    or after ``patience`` tries in a row without a better answer.  Never returns a
    set worse than ``open_mask``.  Returns the best set, its cost on ``pairs`` and
    the number of tries.
    """
    best = open_mask.copy()
    best_c = cost(pairs, w, tail, best)
    tries = since = 0
    while since < patience:
        if (deadline is not None and time.perf_counter() > deadline) or (
                stop is not None and stop.is_set()):
            break
        outs = np.flatnonzero(best & ~fixed)
        ins = np.flatnonzero(pool & allowed & ~best)
        k = min(int(rng.integers(2, 6)), outs.size, ins.size)
        if k == 0:
            break
        tries += 1
        since += 1
        s = best.copy()
        s[rng.choice(outs, k, replace=False)] = False
        s[rng.choice(ins, k, replace=False)] = True
        s, _ = interchange(search, w, search_tail, s, fixed, allowed, deadline=deadline,
                           stop=stop)
        c = cost(pairs, w, tail, s)
        if c < best_c:
            best, best_c, since = s, c, 0
    return best, best_c, tries


@dataclass(frozen=True)
class Lagrangian:
    """One multiplier vector and what the closed-form subproblem gives for it."""

    lam: FloatArray
    bound: float
    rho: FloatArray
    chosen: BoolArray  # sites open in the subproblem's solution (must-open included)
    subgradient: FloatArray  # per row: 1 - (assignments in the subproblem's solution)


def evaluate(pairs: Pairs, w: FloatArray, tail: FloatArray, lam: FloatArray, p: int,
             fixed: BoolArray, allowed: BoolArray) -> Lagrangian:
    """The Lagrangian bound :math:`L(\\lambda)`, a valid lower bound for any ``lam``.

    :math:`L = \\sum_i \\lambda_i + \\sum_i \\min(0, w_i t_i - \\lambda_i)
    + \\sum_{j \\text{ must-open}} \\rho_j + (\\text{the } p - |F| \\text{ most
    negative other } \\rho_j)`.
    """
    wd = w[pairs.rows] * pairs.dist if pairs.wd is None else pairs.wd
    if pairs.wd is not None and pairs.rows.size > PREFIX_MIN_PAIRS:
        # the entries of negative reduced cost lie in the working set (a prefix of each
        # row, contiguous): price it without gathers from the whole matrix
        k_rows, k_cols, k_wd = pairs.working.entries(lam)
        red_k = k_wd - lam[k_rows]
        neg_k = red_k < 0.0
        rho: FloatArray = np.bincount(k_cols, weights=np.minimum(red_k, 0.0),
                                      minlength=pairs.n_sites).astype(np.float64)
        chosen = _choose(rho, p, fixed, allowed)
        covered = np.bincount(k_rows, weights=chosen[k_cols] & neg_k,
                              minlength=pairs.n_rows).astype(np.float64)
        return _finish(lam, w, tail, rho, chosen, 1.0 - covered)
    red = wd - lam[pairs.rows]
    # few entries have a negative reduced cost: work on their indices only
    neg = np.flatnonzero(red < 0.0)
    red_neg = red[neg]
    neg_cols = pairs.cols[neg]
    rho = np.bincount(neg_cols, weights=red_neg, minlength=pairs.n_sites).astype(np.float64)
    chosen = _choose(rho, p, fixed, allowed)
    used = neg[chosen[neg_cols]]
    g = 1.0 - np.bincount(pairs.rows[used], minlength=pairs.n_rows).astype(np.float64)
    return _finish(lam, w, tail, rho, chosen, g)


def _finish(lam: FloatArray, w: FloatArray, tail: FloatArray, rho: FloatArray,
            chosen: BoolArray, g: FloatArray) -> Lagrangian:
    """The bound and subgradient from the site values and the chosen sites (``g``: one
    minus each row's assignments to chosen sites; the unassigned option is added here)."""
    with np.errstate(invalid="ignore"):
        zt = np.where(np.isfinite(tail), np.minimum(w * tail - lam, 0.0), 0.0)
    bound = float(lam.sum() + zt.sum() + rho[chosen].sum())
    g -= zt < 0.0
    return Lagrangian(lam, bound, rho, chosen, g)


def _choose(rho: FloatArray, p: int, fixed: BoolArray, allowed: BoolArray) -> BoolArray:
    chosen = fixed.copy()
    q = p - int(fixed.sum())
    free = np.flatnonzero(allowed & ~fixed & (rho < 0.0))
    if q > 0 and free.size:
        if free.size > q:
            free = free[np.argpartition(rho[free], q - 1)[:q]]
        chosen[free] = True
    return chosen


def lagrangian_bound(pairs: Pairs, w: FloatArray, tail: FloatArray, p: int, fixed: BoolArray,
                     allowed: BoolArray, upper: float, start: FloatArray, *,
                     max_iter: int = 3000, deadline: float | None = None,
                     stop: threading.Event | None = None, target_gap: float = 1e-7,
                     heuristic: Callable[[BoolArray], float] | None = None,
                     every: int = 40, theta0: float = 1.0) -> tuple[Lagrangian, int, float]:
    """Maximise :math:`L(\\lambda)` by subgradient steps (Held, Wolfe & Crowder 1974).

    Polyak step :math:`\\theta (T - L) / (g^T W g)` along :math:`W g`, with
    :math:`W` the demand weights (multipliers live on the scale
    :math:`w_i d_{ij}`, so a heavy point moves proportionally further) and the
    target :math:`T` 0.3 % above the starting upper bound (and at least 1 %
    above the best bound); :math:`\\theta` halves after
    30 steps without a better bound.  Stops when the bound meets the upper
    bound, gains less than 1e-6 (relative) in 100 steps, or at ``max_iter``.
    Every ``every`` steps the subproblem's open sites are handed to
    ``heuristic`` (a Lagrangian heuristic returning the cost it found), which
    may lower the upper bound.  Returns the best multipliers, the number of
    steps and the upper bound.
    """
    best = evaluate(pairs, w, tail, start.copy(), p, fixed, allowed)
    cur = best
    upper0 = upper
    theta = theta0
    since = 0
    scale = np.maximum(w, 1e-12 * max(1.0, float(w.max(initial=0.0))))
    tried: set[bytes] = set()
    history: list[float] = []
    it = 0
    for it in range(1, max_iter + 1):
        if (deadline is not None and time.perf_counter() > deadline) or (
                stop is not None and stop.is_set()):
            break
        if heuristic is not None and it % every == 0:
            key = np.packbits(cur.chosen).tobytes()
            if key not in tried:
                tried.add(key)
                upper = min(upper, heuristic(cur.chosen))
        if math.isfinite(upper) and upper - best.bound <= target_gap * max(1.0, abs(upper)):
            break
        history.append(best.bound)
        if it > 100 and best.bound - history[-101] <= 1e-6 * max(1.0, abs(best.bound)):
            break
        g = cur.subgradient
        nrm = _dot(g, scale * g)
        if nrm <= 0.0:
            break  # the subproblem's solution is feasible: L is the optimum
        # aim above the upper bound we started with (not the heuristic's later, better
        # ones) and at least 1 % above the best bound: a near-optimal upper bound
        # gives steps too short to reach the dual optimum in time
        ref = upper0 if math.isfinite(upper0) else abs(cur.bound) * 1.1 + 1.0
        target = max(ref + 0.003 * abs(ref), best.bound + 0.01 * abs(best.bound))
        lam = cur.lam + theta * (target - cur.bound) / nrm * scale * g
        cur = evaluate(pairs, w, tail, lam, p, fixed, allowed)
        if cur.bound > best.bound:
            best = cur
            since = 0
        else:
            since += 1
            if since >= 30:
                theta *= 0.5
                since = 0
                cur = best
                if theta < 1e-4:
                    break
    return best, it, upper


@dataclass(frozen=True)
class Reduction:
    """What reduced-cost fixing kept: entries, unassigned options, site states."""

    keep_pair: BoolArray  # per entry of ``pairs``
    keep_tail: BoolArray  # per row: may stay unassigned (pay the tail)
    force_open: BoolArray  # per site, must-open included
    force_closed: BoolArray  # per site, disallowed included

    def apply(self, pairs: Pairs, tail: FloatArray, *,
              in_place: bool = False) -> tuple[Pairs, FloatArray]:
        """The entries kept, and the tail where a row may still stay unassigned
        (``in_place``: by :meth:`Pairs.compact`, ``pairs`` unusable afterwards)."""
        kept = pairs.compact(self.keep_pair) if in_place else pairs.subset(self.keep_pair)
        return kept, np.where(self.keep_tail, tail, np.inf)


def reduce(pairs: Pairs, w: FloatArray, tail: FloatArray, p: int, fixed: BoolArray,
           allowed: BoolArray, lg: Lagrangian, upper: float, tol: float) -> Reduction:
    """Reduced-cost fixing against ``upper`` (the cost of a feasible solution).

    A feature is removed only when every solution having it costs more than
    ``upper + tol`` (Lagrangian bound with the feature forced), so every
    solution at least as good as the upper bound survives the reduction.
    """
    lim = upper + tol
    q = p - int(fixed.sum())
    free = allowed & ~fixed
    chosen_free = lg.chosen & free
    n_ch = int(chosen_free.sum())
    rho = lg.rho
    # forcing j open: it replaces the weakest chosen site, or is added if fewer than q are
    weakest = float(rho[chosen_free].max()) if n_ch else 0.0
    open_cost = np.where(lg.chosen, lg.bound, lg.bound + rho - (weakest if n_ch >= q else 0.0))
    force_closed = ~allowed | (free & ~lg.chosen & (open_cost > lim))
    if q <= 0:
        force_closed |= free
    # forcing j closed: the best unchosen site (if it helps) replaces it
    others = rho[free & ~lg.chosen]
    nxt = min(0.0, float(others.min())) if others.size else 0.0
    close_cost = lg.bound - rho + nxt
    force_open = fixed | (chosen_free & (close_cost > lim))
    # per entry, a chunk at a time (a handful of full-length temporaries on 17 million
    # pairs was hn-400m's peak): the site's forcing cost plus the pair's positive reduced
    # cost, at most the limit
    site_cost = np.where(force_open, lg.bound, open_cost)
    keep_pair = np.empty(pairs.rows.size, dtype=bool)
    for a in range(0, pairs.rows.size, COMPACT_CHUNK):
        b = a + COMPACT_CHUNK
        r, c = pairs.rows[a:b], pairs.cols[a:b]
        red = w[r] * pairs.dist[a:b] if pairs.wd is None else pairs.wd[a:b].copy()
        red -= lg.lam[r]
        np.maximum(red, 0.0, out=red)
        red += site_cost[c]
        np.less_equal(red, lim, out=keep_pair[a:b])
        keep_pair[a:b] &= ~force_closed[c]
    with np.errstate(invalid="ignore"):
        tail_cost = lg.bound + np.maximum(w * tail - lg.lam, 0.0)
    keep_tail = np.isfinite(tail) & (tail_cost <= lim)
    return Reduction(keep_pair, keep_tail, force_open, force_closed)


@dataclass
class _Node:
    """A node of the Lagrangian branch-and-bound: sites forced open / closed,
    the entries still possible there, the parent's multipliers and bound."""

    fixed: BoolArray
    allowed: BoolArray
    pairs: Pairs
    tail: FloatArray
    lam: FloatArray
    bound: float  # a lower bound on every solution of the node (the parent's)
    depth: int


def _node_bound(pairs: Pairs, w: FloatArray, tail: FloatArray, p: int, fixed: BoolArray,
                allowed: BoolArray, lam: FloatArray, upper: float, prune_at: float,
                max_iter: int, *, alpha: float = NODE_ALPHA, halve: int = NODE_HALVE,
                theta0: float = 1.0, aim: float = 0.0, restart: bool = True,
                deadline: float | None = None) -> tuple[Lagrangian, FloatArray]:
    """A few deflected Polyak subgradient steps aimed at ``upper`` from ``lam``
    (see :data:`NODE_ALPHA`); stops as soon as the bound reaches ``prune_at``.
    Returns the best multipliers and the average open set of the subproblem's
    solutions (a fractional guide for branching)."""
    scale = np.maximum(w, 1e-12 * max(1.0, float(w.max(initial=0.0))))
    cur = evaluate(pairs, w, tail, lam, p, fixed, allowed)
    best = cur
    avg = cur.chosen.astype(np.float64)
    theta = theta0
    since = 0
    d = cur.subgradient
    for it in range(1, max_iter + 1):
        if best.bound >= prune_at or theta < 1e-6 or (
                deadline is not None and time.perf_counter() > deadline):
            break
        g = d = alpha * cur.subgradient + (1.0 - alpha) * d
        nrm = _dot(g, scale * g)
        if nrm <= 0.0:
            break  # (undeflected: the subproblem's solution is feasible, so optimal)
        target = upper + aim * abs(upper) if math.isfinite(upper) else abs(cur.bound) * 1.01 + 1.0
        step = theta * max(target - cur.bound, 1e-9 * max(1.0, abs(target))) / nrm
        cur = evaluate(pairs, w, tail, cur.lam + step * scale * g, p, fixed, allowed)
        avg += (cur.chosen - avg) / (it + 1)
        if cur.bound > best.bound:
            best = cur
            since = 0
        else:
            since += 1
            if since >= halve:
                theta *= 0.5
                since = 0
                if restart:
                    cur = best
    return best, avg


def branch_and_bound(pairs: Pairs, w: FloatArray, tail: FloatArray, p: int, fixed: BoolArray,
                     allowed: BoolArray, lam: FloatArray, root_bound: float,
                     incumbent: Callable[[BoolArray], float], upper: float, *,
                     deadline: float | None, stop: threading.Event | None = None,
                     node_iter: int = NODE_ITER,
                     gap: float = 0.0) -> tuple[float, float, bool, int]:
    """Exact branch-and-bound over Lagrangian bounds (after Beasley 1993).

    Depth first; each node forces sites open or closed, re-optimises the
    multipliers from its parent's with a few subgradient steps
    (:func:`_node_bound`), prunes when the bound reaches the incumbent, hands
    the subproblem's open set to ``incumbent`` (which returns the true cost of
    that set completed to a solution, and keeps the best), and fixes sites and
    entries by reduced costs for its subtree.  It branches on the free site
    whose average opening over the node's subgradient steps is nearest 1/2
    (the most fractional site of the Lagrangian dual), opening it first when
    that average is at least 1/2.

    ``pairs`` / ``fixed`` / ``allowed`` may be a reduced instance holding every
    solution better than ``upper``; ``upper`` is the incumbent's cost.  Returns
    the best cost found, a lower bound on the optimum, whether it is proven
    (every node pruned), and the node count.  The lower bound of an
    unfinished search is the least bound of the nodes still open.

    ``gap`` > 0 proves a relative gap instead of the optimum: nodes are pruned, and
    sites and entries fixed, against ``upper * (1 - gap)`` (the incumbent's at the
    time), so a finished search returns a lower bound of at least ``1 - gap`` times
    the best cost (the least bound a pruned node had, or a threshold fixing used),
    and "proven" means that bound, not optimality.  ``gap`` = 0 is the exact search.
    """
    stack = [_Node(fixed.copy(), allowed.copy(), pairs, tail, lam.copy(), root_bound, 0)]
    nodes = 0
    eps = ABSOLUTE_GAP
    # the least bound of a subtree no longer explored: pruned, or fixed away, short of
    # the incumbent when gap > 0 (with gap = 0 each such bound is the incumbent's)
    settled = math.inf

    def aim() -> float:
        return upper - gap * abs(upper) if gap > 0.0 and math.isfinite(upper) else upper

    while stack:
        if (deadline is not None and time.perf_counter() > deadline) or (
                stop is not None and stop.is_set()):
            lower = min(upper, settled if gap > 0.0 else math.inf,
                        min(nd.bound for nd in stack))
            return upper, lower, False, nodes
        nd = stack.pop()
        if nodes % 200 == 0:
            logger.debug("tree: %d nodes, depth %d, %d open, incumbent %.8g, least open bound %.8g",
                         nodes, nd.depth, len(stack) + 1, upper,
                         min([x.bound for x in stack] + [nd.bound]))
        if int(nd.fixed.sum()) > p:
            continue
        limit = aim()
        if nd.bound >= limit - eps:
            settled = min(settled, nd.bound)
            continue
        nodes += 1
        lg, avg = _node_bound(nd.pairs, w, nd.tail, p, nd.fixed, nd.allowed, nd.lam, limit,
                              limit - eps, node_iter)
        # the node's working set is not needed again (its sibling rebuilds its own): the
        # depth-first stack does not hold one per level
        nd.pairs.release()
        upper = min(upper, incumbent(lg.chosen))
        limit = aim()  # the incumbent may have improved
        if lg.bound >= limit - eps or not (lg.subgradient != 0.0).any():
            # pruned, or the subproblem's solution is feasible, so optimal for this node
            settled = min(settled, max(nd.bound, lg.bound))
            continue
        tol = 1e-9 * max(1.0, abs(upper))
        red = reduce(nd.pairs, w, nd.tail, p, nd.fixed, nd.allowed, lg, limit, tol)
        settled = min(settled, limit + tol)  # what fixing removed costs more than this
        sub, sub_tail = red.apply(nd.pairs, nd.tail)
        free = ~red.force_closed & ~red.force_open
        if int(red.force_open.sum()) > p:
            continue
        if not free.any() or int(red.force_open.sum()) == p:
            # nothing left to choose: the forced sites are the only candidate
            c = incumbent(red.force_open)
            upper = min(upper, c)
            settled = min(settled, c)
            continue
        cand = np.flatnonzero(free)
        j = int(cand[np.argmin(np.abs(avg[cand] - 0.5))])
        bnd = max(nd.bound, lg.bound)
        closed_child = _Node(red.force_open, ~red.force_closed, sub, sub_tail, lg.lam, bnd,
                             nd.depth + 1)
        closed_child.allowed[j] = False
        open_fixed = red.force_open.copy()
        open_fixed[j] = True
        open_child = _Node(open_fixed, ~red.force_closed, sub, sub_tail, lg.lam, bnd,
                           nd.depth + 1)
        # the child more likely to hold the optimum is explored first (pushed last)
        if avg[j] >= 0.5:
            stack += [closed_child, open_child]
        else:
            stack += [open_child, closed_child]
    if gap <= 0.0:
        return upper, upper, True, nodes
    return upper, min(upper, settled), True, nodes


@dataclass(frozen=True)
class RadiusModel:
    """The radius formulation of a reduced instance, ready for :func:`solve_mip`."""

    mip: SparseMip
    site_var: IntArray  # per site, its x variable (-1: closed)
    infeasible: bool  # a point can neither be served nor left unassigned
    pairs: Pairs  # the entries the model uses
    tail: FloatArray  # per row, the unassigned cost the model allows (inf: none)
    u_row: Index  # per u variable (from u0), its row
    u_value: FloatArray  # per u variable, its level distance
    u0: int


def radius_model(pairs: Pairs, w: FloatArray, tail: FloatArray, red: Reduction,
                 p: int) -> RadiusModel:
    r"""Radius formulation (García, Labbé & Marín 2011) on what fixing kept.

    Per row the kept distances :math:`D^1 < \dots < D^G`, :math:`u_k \ge 0`
    is 1 when no open site is within :math:`D^k`; cost
    :math:`w_i (D^1 + \sum_k (D^{k+1} - D^k) u_k)` with :math:`D^{G+1}` the
    row's tail if it may stay unassigned (else :math:`u_G` is absent, the row
    must be served).  Must-open sites have ``x = 1``; entries beyond a row's
    nearest must-open site are left out.
    """
    keep = red.keep_pair.copy()
    t = np.where(red.keep_tail, tail, np.inf)
    # beyond the nearest must-open site nothing matters, nor does the tail
    fo = red.force_open[pairs.cols] & keep
    dfix = np.full(pairs.n_rows, np.inf)
    np.minimum.at(dfix, pairs.rows[fo], pairs.dist[fo])
    keep &= pairs.dist <= dfix[pairs.rows]
    t = np.where(dfix <= t, np.inf, t)
    # a site at or beyond the tail never beats leaving the point unassigned
    keep &= pairs.dist < t[pairs.rows]
    sub = pairs.subset(keep)
    rows, dist = sub.rows, sub.dist
    new = np.ones(rows.size, dtype=bool)
    new[1:] = (rows[1:] != rows[:-1]) | (dist[1:] != dist[:-1])
    level_of_entry = np.cumsum(new) - 1
    value = dist[new]
    row = rows[new]
    total = value.size
    n_lv = np.bincount(row, minlength=sub.n_rows)
    empty = n_lv == 0
    infeasible = bool((empty & ~np.isfinite(t)).any())
    first = np.zeros(total, dtype=bool)
    first[np.cumsum(n_lv)[~empty] - n_lv[~empty]] = True
    last = np.zeros(total, dtype=bool)
    last[np.cumsum(n_lv)[~empty] - 1] = True
    next_value = np.empty(total)
    next_value[:-1] = value[1:]
    next_value[last] = t[row[last]]
    has_u = ~last | np.isfinite(t[row])
    mip = SparseMip()
    free = ~red.force_closed
    site_var = np.full(sub.n_sites, -1, dtype=np.int64)
    n_x = int(free.sum())
    x0 = mip.add_variables(n_x, lb=red.force_open[free].astype(np.float64), ub=1.0, integer=True)
    site_var[free] = x0 + np.arange(n_x)
    n_u = int(has_u.sum())
    u0 = mip.add_variables(n_u, lb=0.0, ub=math.inf,
                           objective=w[row[has_u]] * (next_value[has_u] - value[has_u]))
    u_index = np.full(total, -1, dtype=np.int64)
    u_index[has_u] = u0 + np.arange(n_u)
    fin = empty & np.isfinite(t)
    const = float(w[fin] @ t[fin])
    mip.offset = float(w[row[first]] @ value[first]) + const
    lv = np.arange(total, dtype=np.int64)
    prev_u = np.where(first, -1, np.concatenate([[-1], u_index[:-1]]))
    mip.add_rows(
        total,
        np.concatenate([level_of_entry, lv[has_u], lv[prev_u >= 0]]),
        np.concatenate([site_var[sub.cols], u_index[has_u], prev_u[prev_u >= 0]]),
        np.concatenate([np.ones(rows.size), np.ones(n_u), -np.ones(int((prev_u >= 0).sum()))]),
        lb=first.astype(np.float64),
    )
    mip.add_rows(1, np.zeros(n_x, dtype=np.int64), x0 + np.arange(n_x), 1.0, ub=float(p))
    return RadiusModel(mip, site_var, infeasible, sub, t, row[has_u], value[has_u], u0)


def radius_hint(model: RadiusModel, open_mask: BoolArray) -> FloatArray:
    """Variable values of ``open_mask`` in ``model`` (u = 1 beyond the nearest open site)."""
    hint = np.zeros(model.mip.n_vars)
    sv = model.site_var
    hint[sv[(sv >= 0) & open_mask]] = 1.0
    d1, _, _ = _nearest_two(model.pairs, model.tail, open_mask)
    u = np.arange(model.u_row.size)
    hint[model.u0 + u] = (d1[model.u_row] > model.u_value).astype(np.float64)
    return hint


def radius_open(model: RadiusModel, values: FloatArray, fixed: BoolArray) -> BoolArray:
    """The sites a solution (``values``) of ``model`` opens, the ``fixed`` ones with them."""
    out = fixed.copy()
    sv = model.site_var
    out[sv >= 0] |= values[sv[sv >= 0]] > 0.5
    return out


def _whole_radius_model(pairs: Pairs, w: FloatArray, tail: FloatArray, p: int,
                        fixed: BoolArray, allowed: BoolArray) -> RadiusModel:
    """The radius model of every entry of ``pairs`` (already reduced by the caller)."""
    red = Reduction(np.ones(pairs.rows.size, dtype=bool), np.isfinite(tail), fixed, ~allowed)
    return radius_model(pairs, w, tail, red, p)


def _solve_radius(model: RadiusModel, hint_open: BoolArray | None, left: float | None, *,
                  engine: str, seed: int, threads: int,
                  stop: threading.Event | None) -> MipSolution:
    """``model`` by :func:`solve_mip`, hinted with ``hint_open`` (``None``: no hint).

    HiGHS overruns its limit by seconds on these models (its root LP checks the clock
    rarely: 4-21 s measured): it is told 90 % of the ``left`` seconds and abandoned at
    ``left`` if it has not returned by then."""
    hint = None if hint_open is None else radius_hint(model, hint_open)
    return solve_mip(model.mip, engine=engine, time_limit_s=None if left is None else 0.9 * left,
                     seed=seed, threads=threads, stop=stop, hint=hint, wall_limit_s=left)


@dataclass(frozen=True)
class Truncated:
    """What :func:`truncated_search` found: the best set and its cost on the whole
    matrix, a lower bound for the reduced instance (every solution better than the
    incumbent it started from is in it), whether that is proven optimal, the solves."""

    open_mask: BoolArray
    cost: float
    bound: float
    proven: bool
    stages: tuple[SolverReport, ...]
    levels: int  # entries of the last model (0: none fitted under TRUNCATED_MAX_PAIRS)


def truncated_search(whole: Pairs, whole_tail: FloatArray, pairs: Pairs, w: FloatArray,
                     tail: FloatArray, p: int, fixed: BoolArray, allowed: BoolArray,
                     lam: FloatArray, best_open: BoolArray, best: float, *,
                     deadline: float | None, engine: str, seed: int, threads: int,
                     stop: threading.Event | None = None) -> Truncated:
    r"""The radius model of a reduced instance cut short per row (García, Labbé & Marín
    2011), for when the whole of it is too large for an exact model.

    ``pairs`` / ``tail`` / ``fixed`` / ``allowed`` is what fixing kept: it holds every
    solution better than ``best`` (the cost of ``best_open`` on ``whole``).  Each row
    keeps its entries within ``max(its distance in best_open, lam_i / w_i)``; a row no
    kept site serves pays its next left-out distance (:func:`core_of`), never more than
    its true cost, so the model is a relaxation and its bound a lower bound.  Keeping
    the entries below :math:`\lambda_i / w_i` keeps :math:`L(\lambda)` (every left-out
    entry has a reduced cost of at least 0), so the model's LP is at least the
    Lagrangian bound of ``lam``.  When the model's optimal sites are served within the
    kept entries of every row, its optimum is that of the reduced instance, hence (with
    ``best``) the optimum; otherwise the rows served beyond get their entries up to that
    distance (at least double) and the model is solved again, while it fits under
    :data:`TRUNCATED_MAX_PAIRS` and time is left.
    """
    pos = w > 0.0
    d1, _, _ = _nearest_two(pairs, tail, best_open)
    with np.errstate(divide="ignore", invalid="ignore"):
        dual = np.where(pos, lam / np.where(pos, w, 1.0), 0.0)
    reach = np.maximum(np.where(np.isfinite(d1), d1, 0.0), dual)
    lower = -math.inf
    stages: list[SolverReport] = []
    levels = 0
    while True:
        core = core_of(pairs, tail, reach)
        if core.pairs.rows.size > TRUNCATED_MAX_PAIRS:
            break
        levels = int(core.pairs.rows.size)
        model = _whole_radius_model(core.pairs, w, core.tail, p, fixed, allowed)
        if model.infeasible:
            # even the relaxation has no solution: none better than ``best`` exists
            return Truncated(best_open, best, best, True, tuple(stages), levels)
        left = None if deadline is None else deadline - time.perf_counter()
        if (left is not None and left <= 0.0) or (stop is not None and stop.is_set()):
            break
        sol = _solve_radius(model, best_open, left, engine=engine, seed=seed, threads=threads,
                            stop=stop)
        rep = sol.report
        stages.append(rep)
        trial = None
        if sol.values is not None:
            trial = radius_open(model, sol.values, fixed)
            c = cost(whole, w, whole_tail, trial)
            if c < best:
                best, best_open = c, trial
        if rep.status is SolveStatus.INFEASIBLE:
            return Truncated(best_open, best, best, True, tuple(stages), levels)
        if rep.status is not SolveStatus.OPTIMAL or trial is None:
            if math.isfinite(rep.best_bound):
                lower = max(lower, min(best, rep.best_bound))
            break
        lower = max(lower, min(best, rep.objective))
        t1, _, _ = _nearest_two(pairs, tail, trial)
        # a row is served beyond its kept entries when its true distance exceeds them
        beyond = t1 > core.tail
        if not beyond.any() or best - lower <= ABSOLUTE_GAP:
            # the relaxation's optimum costs what the model says: the reduced instance's
            # optimum, and every solution better than the incumbent is in it
            return Truncated(best_open, best, best, True, tuple(stages), levels)
        reach = np.where(beyond, np.maximum(t1, 2.0 * reach), reach)
        logger.debug("truncated radius model: %d rows get more entries", int(beyond.sum()))
    return Truncated(best_open, best, lower, False, tuple(stages), levels)


def _gap_tree(pairs: Pairs, w: FloatArray, tail: FloatArray, p: int, fixed: BoolArray,
              allowed: BoolArray, lg: Lagrangian, best: float,
              incumbent: Callable[[BoolArray], float], *, deadline: float | None,
              stop: threading.Event | None) -> tuple[float, bool, int, int, float] | None:
    """The Lagrangian tree proving a :data:`TARGET_GAP` gap on what fixing kept
    (``pairs`` ... ``allowed``, holding every solution better than ``best``), started by
    fixing against ``best * (1 - TARGET_GAP)`` with ``lg``'s multipliers.  ``None`` when
    there is no time or more than :data:`GAP_TREE_MAX_PAIRS` pairs survive that fixing;
    otherwise (a lower bound, finished, nodes, pairs it started on, wall seconds).  The
    bound holds whether or not the tree finished; finished, it is at least
    ``(1 - TARGET_GAP)`` times the incumbent's cost."""
    if not math.isfinite(best) or (deadline is not None and time.perf_counter() > deadline) or (
            stop is not None and stop.is_set()):
        return None
    t0 = time.perf_counter()
    aim = best - TARGET_GAP * abs(best)
    tol = 1e-9 * max(1.0, abs(best))
    red = reduce(pairs, w, tail, p, fixed, allowed, lg, aim, tol)
    kept = int(red.keep_pair.sum())
    if kept > GAP_TREE_MAX_PAIRS:
        logger.debug("gap tree: %d pairs after fixing at %.8g, more than %d", kept, aim,
                     GAP_TREE_MAX_PAIRS)
        return None
    if int(red.force_open.sum()) > p:
        return aim + tol, True, 0, kept, time.perf_counter() - t0
    sub, sub_tail = red.apply(pairs, tail)
    _, lower, done, nodes = branch_and_bound(
        sub, w, sub_tail, p, red.force_open, ~red.force_closed, lg.lam, lg.bound, incumbent,
        best, deadline=deadline, stop=stop, gap=TARGET_GAP)
    # what the first fixing removed costs more than aim + tol
    return min(lower, aim + tol), done, nodes, kept, time.perf_counter() - t0


@dataclass(frozen=True)
class Outcome:
    """What :func:`solve` proved: best open set, its cost, a lower bound, how."""

    open_mask: BoolArray
    cost: float  # inf: no feasible set found
    bound: float
    proven: bool  # cost is optimal (or, with cost inf, no feasible set exists)
    stages: tuple[SolverReport, ...]
    message: str


def solve(pairs: Pairs, w: FloatArray, tail: FloatArray, p: int, fixed: BoolArray,
          allowed: BoolArray, *, deadline: float | None, engine: str, seed: int, threads: int,
          stop: threading.Event | None = None, max_iter: int = 3000,
          max_rounds: int = 3, use_interchange: bool = True,
          use_heuristic: bool = True, use_tree: bool = True) -> Outcome:
    """Heuristic, Lagrangian bound, reduced-cost fixing, then the exact reduced model.

    ``use_interchange`` / ``use_heuristic`` switch off the vertex substitution
    of the start and the Lagrangian heuristic (for measuring what each buys).

    ``use_tree``: when at least :data:`TREE_MIN_PAIRS` pairs survive fixing, the
    Lagrangian branch-and-bound replaces the radius model.

    ``OPTIMAL`` (``proven``) only when the reduced radius model was solved to
    optimality, shown infeasible (no solution beats the incumbent), the
    Lagrangian bound met the incumbent, or the branch-and-bound pruned every node.
    """
    t0 = time.perf_counter()
    steps: list[str] = []
    # the heuristics and Lagrangian rounds get at most half the time; the exact model the rest
    lag_deadline = None if deadline is None else t0 + 0.5 * (deadline - t0)
    heur_deadline = lag_deadline
    free_sites = int((allowed & ~fixed).sum())
    q = min(p, int(fixed.sum()) + free_sites)
    large = pairs.rows.size > CORE_MIN_PAIRS
    # heuristics on a core of each row's nearest entries when the matrix is large (their
    # answers are priced on the whole matrix); the whole matrix otherwise
    hcore = (core_of(pairs, tail, rank_distance(pairs, _core_rank(free_sites, q)))
             if large else Core(pairs, tail))
    start = greedy(hcore.pairs, w, hcore.tail, q, fixed, allowed, deadline=heur_deadline)
    best_open = start
    t_pass = time.perf_counter()
    best = cost(pairs, w, tail, start)
    if deadline is not None and lag_deadline is not None:
        # what is done after the last step (the answer's assignment, fixing's bookkeeping)
        # passes over the whole matrix a few times: keep that time in hand
        t_pass = time.perf_counter() - t_pass
        deadline -= min(0.05 * max(0.0, deadline - t0), END_PASSES * t_pass)
        lag_deadline = min(lag_deadline, deadline)
        heur_deadline = lag_deadline
    steps.append(f"greedy {best:.6g}")
    if large:
        d1, _, _ = _nearest_two(pairs, tail, start)
        reach = np.maximum(CORE_REACH * d1, rank_distance(pairs, _core_rank(free_sites, q)))
        hcore = core_of(pairs, tail, reach)
        steps.append(f"core of {hcore.pairs.rows.size} of {pairs.rows.size} pairs "
                     f"({time.perf_counter() - t0:.1f} s)")
    if use_interchange:
        s_int, _ = interchange(hcore.pairs, w, hcore.tail, start, fixed, allowed,
                               deadline=lag_deadline, stop=stop)
        c_int = cost(pairs, w, tail, s_int)
        if c_int < best:
            best, best_open = c_int, s_int
        steps.append(f"interchange {best:.6g} ({time.perf_counter() - t0:.1f} s)")

    # the interchange's answer per greedy start already polished (the rounds' guides
    # often complete to the same start: the interchange is then not run again)
    polished: dict[bytes, float] = {}

    def heuristic(chosen: BoolArray) -> float:
        nonlocal best, best_open
        s = greedy(hcore.pairs, w, hcore.tail, q, chosen | fixed, allowed, deadline=heur_deadline)
        key = np.packbits(s).tobytes()
        if key in polished:
            return polished[key]
        s, _ = interchange(hcore.pairs, w, hcore.tail, s, fixed, allowed, deadline=heur_deadline,
                           stop=stop)
        c = polished[key] = cost(pairs, w, tail, s)
        if c < best:
            best, best_open = c, s
        return c

    tried: set[bytes] = set()

    def completer(polish: float) -> Callable[[BoolArray], float]:
        def complete(chosen: BoolArray) -> float:
            # a tree node's open set, filled up greedily, polished by the interchange when
            # within ``polish`` of the incumbent; returns the incumbent's cost
            nonlocal best, best_open
            key = np.packbits(chosen).tobytes()
            if key in tried:
                return best
            tried.add(key)
            s = greedy(hcore.pairs, w, hcore.tail, q, chosen | fixed, allowed, deadline=deadline)
            c = cost(pairs, w, tail, s)
            if c < best * (1.0 + polish):
                s, _ = interchange(hcore.pairs, w, hcore.tail, s, fixed, allowed,
                                   deadline=deadline, stop=stop)
                c = cost(pairs, w, tail, s)
            if c < best:
                best, best_open = c, s
            return best

        return complete

    d1, _, _ = _nearest_two(pairs, _finite_tail(pairs, w, tail), best_open)
    lam = w * d1
    lower = -math.inf
    cur_pairs, cur_tail, cur_fixed, cur_allowed = pairs.weighted(w), tail, fixed, allowed
    own = False  # cur_pairs' arrays are its own (not ``pairs``'): fixing may overwrite them
    rnd = 0
    # sites the subproblem opened in any polish round: where the search perturbs to
    pool = np.zeros(pairs.n_sites, dtype=bool)
    stalled = False
    stages: list[SolverReport] = []
    while True:
        rnd += 1
        # each round: the Lagrangian dual of what is left, then fixing against the
        # incumbent; what survives holds every solution at least as good as it.  A large
        # instance goes on round after round (each fixing makes the next cheaper) while
        # too many pairs are left for an exact model, up to the deadline
        big = large and cur_pairs.rows.size > MAX_MIP_PAIRS
        rnd_deadline = deadline if big else lag_deadline
        heur_deadline = rnd_deadline
        n_iter = min(max_iter, LARGE_ROUND_ITER) if large else max_iter
        # a large matrix is polished from the first round (pt-1km after 150 steps from the
        # interchange's multipliers: 4.70979e7 against 4.67129e7 by the plain steps with a
        # heuristic every 40, which also cost a third of the minute on qn-400m)
        if (rnd == 1 and not large) or not math.isfinite(best):
            lg, iters, _ = lagrangian_bound(cur_pairs, w, cur_tail, q, cur_fixed, cur_allowed,
                                            best, lam, max_iter=n_iter,
                                            deadline=rnd_deadline, stop=stop,
                                            heuristic=heuristic if rnd == 1 and use_heuristic
                                            else None,
                                            theta0=THETA0 if rnd == 1 else 0.05)
        else:
            # the plain subgradient stalls short of the dual optimum (seed 1, p 80:
            # 0.081 % below the incumbent); deflected steps aimed at the incumbent
            # go on to 0.057 %, and fixing then keeps 129k instead of 154k pairs
            lg, avg = _node_bound(cur_pairs, w, cur_tail, q, cur_fixed, cur_allowed, lam, best,
                                  best - ABSOLUTE_GAP, n_iter, alpha=POLISH_ALPHA,
                                  halve=LARGE_POLISH_HALVE if large else POLISH_HALVE,
                                  theta0=0.5, aim=POLISH_AIM, restart=False,
                                  deadline=rnd_deadline)
            iters = n_iter
            pool |= avg > 0.0
            if large and use_heuristic:
                # the subproblem's last open set, and the sites it opened most often over
                # the round (a rounded fractional solution: on pt-1km it found 4.72595e7
                # where the open sets gave 4.72807e7)
                key = np.where(cur_fixed, 2.0, np.where(cur_allowed, avg, -1.0))
                top = np.zeros_like(cur_allowed)
                top[np.argsort(-key, kind="stable")[:q]] = True
                top &= cur_allowed | cur_fixed
                for guide in (lg.chosen, top):
                    if rnd_deadline is None or time.perf_counter() < rnd_deadline:
                        heuristic(guide)
        lam = lg.lam
        # a polish round that no longer lifts the bound (pt-1km: 4.71816e7 from round 15
        # to round 39 of a 900 s run, each round the same steps) leaves the rest of the
        # time to the search for a better plan
        # (a round the deadline cut short is not a stall: no time is left to hand over)
        stalled = (big and rnd > 1 and (deadline is None or time.perf_counter() < deadline)
                   and lg.bound <= lower + STALL_GAIN * max(1.0, abs(lower)))
        lower = max(lower, min(lg.bound, best))
        steps.append(f"round {rnd}: Lagrangian bound {lg.bound:.6g} after {iters} steps, "
                     f"incumbent {best:.6g} ({time.perf_counter() - t0:.1f} s)")
        if math.isfinite(best) and best - lower <= ABSOLUTE_GAP:
            return Outcome(best_open, best, best, True, (), "; ".join(steps))
        if not math.isfinite(best) or stalled or (big and deadline is not None
                                                  and time.perf_counter() > deadline):
            break  # nothing to fix against, no gain, or no time to use what fixing leaves
        tol = 1e-9 * max(1.0, abs(best))
        red = reduce(cur_pairs, w, cur_tail, q, cur_fixed, cur_allowed, lg, best, tol)
        before = cur_pairs.rows.size
        cur_pairs.release()  # the replaced pairs' working set goes before the subset is built
        # after the first fixing the loop's pairs share no array with ``pairs``: compacted
        cur_pairs, cur_tail = red.apply(cur_pairs, cur_tail, in_place=own)
        own = True
        cur_fixed = red.force_open
        cur_allowed = ~red.force_closed
        n_free = int((cur_allowed & ~cur_fixed).sum())
        steps.append(f"fixing kept {cur_pairs.rows.size} of {pairs.rows.size} pairs, "
                     f"{n_free} free sites, {int(cur_fixed.sum())} open")
        if n_free == 0 and cur_pairs.rows.size <= MAX_MIP_PAIRS:
            break  # every site decided: the exact model only confirms it
        now = time.perf_counter()
        if (deadline is not None and now > deadline) or (stop is not None and stop.is_set()):
            break
        if large and cur_pairs.rows.size > MAX_MIP_PAIRS:
            continue
        if rnd >= max_rounds or cur_pairs.rows.size > 0.8 * before or (
                lag_deadline is not None and now > lag_deadline):
            break
    if cur_pairs.rows.size > MAX_MIP_PAIRS:
        # HiGHS needs several kB per pair (1.25 GB for 245k): no exact model; the time
        # left goes to more subgradient steps (bound) and Lagrangian heuristics (incumbent)
        if stalled and use_heuristic and math.isfinite(best):
            # the bound has stopped: the time goes to the incumbent first (at most half
            # the time left, or until the search stops finding better plans: pt-1km's
            # found its best plan within 119 tries and none in the next 115), then to the
            # truncated model and the gap tree below, then to more plain subgradient steps
            rng = np.random.default_rng(seed)
            now = time.perf_counter()
            s_ils, c_ils, tries = perturbation_search(
                hcore.pairs, hcore.tail, pairs, w, tail, best_open, fixed, allowed,
                pool | best_open, rng, stop=stop,
                deadline=None if deadline is None else now + 0.5 * max(0.0, deadline - now))
            if c_ils < best:
                best, best_open = c_ils, s_ils
            steps.append(f"bound stalled: {tries} perturbation tries, incumbent {best:.6g}")
            # then the radius model of what fixing kept, each row cut short where
            # neither the incumbent nor the multipliers look (a relaxation, exact once its
            # sites serve every row within the kept entries)
            tr = truncated_search(pairs, tail, cur_pairs, w, cur_tail, q, cur_fixed,
                                  cur_allowed, lam, best_open, best, deadline=deadline,
                                  engine=engine, seed=seed, threads=threads, stop=stop)
            stages += tr.stages
            if tr.stages or tr.proven:
                best, best_open = tr.cost, tr.open_mask
                lower = max(lower, tr.bound)
                steps.append(f"truncated radius model of {tr.levels} pairs: {len(tr.stages)} "
                             f"solve(s), {'proven' if tr.proven else 'not proven'}, "
                             f"bound {lower:.6g}, incumbent {best:.6g}")
                if tr.proven:
                    return Outcome(best_open, best, best, True, tuple(stages), "; ".join(steps))
            else:
                steps.append(f"truncated radius model: more than {TRUNCATED_MAX_PAIRS} pairs")
            # then a tree proving TARGET_GAP (when the bound does not already): a finished
            # one lifts the bound to within that gap; the time left goes on as before
            gt = _gap_tree(cur_pairs, w, cur_tail, q, cur_fixed, cur_allowed, lg, best,
                           completer(0.0), deadline=deadline, stop=stop) if (
                use_tree and lower < best - TARGET_GAP * abs(best)) else None
            if gt is not None:
                gt_lower, gt_done, gt_nodes, gt_pairs, gt_wall = gt
                lower = max(lower, min(best, gt_lower))
                steps.append(f"tree for a {100 * TARGET_GAP:g} % gap on {gt_pairs} pairs: "
                             f"{gt_nodes} nodes in {gt_wall:.1f} s, "
                             f"{'finished' if gt_done else 'not finished'}, "
                             f"bound {lower:.6g}, incumbent {best:.6g}")
                if gt_done and best - lower <= ABSOLUTE_GAP:
                    return Outcome(best_open, best, best, True, tuple(stages), "; ".join(steps))
        if deadline is None or time.perf_counter() < deadline:
            heur_deadline = deadline
            lg, iters, _ = lagrangian_bound(cur_pairs, w, cur_tail, q, cur_fixed, cur_allowed,
                                            best, lam, max_iter=max_iter, deadline=deadline,
                                            stop=stop, heuristic=heuristic, theta0=0.25)
            lower = max(lower, min(lg.bound, best))
            steps.append(f"{iters} more steps: bound {lower:.6g}, incumbent {best:.6g}")
        steps.append(f"{cur_pairs.rows.size} pairs left, more than {MAX_MIP_PAIRS}: "
                     "no exact model (memory), incumbent and best bound returned")
        proven = math.isfinite(best) and best - lower <= ABSOLUTE_GAP
        return Outcome(best_open, best, best if proven else lower, proven, tuple(stages),
                       "; ".join(steps))
    if use_tree and math.isfinite(best) and cur_pairs.rows.size >= TREE_MIN_PAIRS:
        t_tree = time.perf_counter()
        _, tree_lower, proven, nodes = branch_and_bound(
            cur_pairs, w, cur_tail, q, cur_fixed, cur_allowed, lam, lower, completer(1e-3), best,
            deadline=deadline, stop=stop)
        steps.append(f"Lagrangian branch-and-bound: {nodes} nodes in "
                     f"{time.perf_counter() - t_tree:.1f} s, "
                     f"{'proven' if proven else 'not finished'}, incumbent {best:.6g}")
        lower = best if proven else max(lower, min(best, tree_lower))
        return Outcome(best_open, best, lower, proven, (), "; ".join(steps))
    model = _whole_radius_model(cur_pairs, w, cur_tail, q, cur_fixed, cur_allowed)
    if model.infeasible:
        # no solution better than the incumbent exists (or, without one, none at all)
        steps.append("reduced model infeasible")
        return Outcome(best_open, best, best if math.isfinite(best) else math.nan, True, (),
                       "; ".join(steps))
    left = None if deadline is None else max(0.001, deadline - time.perf_counter())
    sol = _solve_radius(model, best_open if math.isfinite(best) else None, left, engine=engine,
                        seed=seed, threads=threads, stop=stop)
    rep = sol.report
    steps.append(f"reduced radius model {model.mip.n_vars} vars x {model.mip.n_rows} rows: "
                 f"{rep.status.value} in {rep.wall_time_s:.1f} s")
    if sol.values is not None:
        trial = radius_open(model, sol.values, fixed)
        c = cost(pairs, w, tail, trial)
        if c < best:
            best, best_open = c, trial
    msg = "; ".join(steps)
    if rep.status is SolveStatus.OPTIMAL or rep.status is SolveStatus.INFEASIBLE:
        # every solution at least as good as the incumbent is in the reduced model
        return Outcome(best_open, best, best if math.isfinite(best) else math.nan, True,
                       (rep,), msg)
    if math.isfinite(rep.best_bound):
        lower = max(lower, min(best, rep.best_bound))
    return Outcome(best_open, best, lower, False, (rep,), msg)
