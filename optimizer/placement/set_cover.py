r"""Location set covering (LSCP): the fewest sites (or least cost) covering all coverable demand.

.. math::

    \min \sum_j c_j x_j \quad\text{s.t.}\quad \sum_{j \in N_i} x_j \ge 1 \;\forall i
    \text{ coverable},\quad x_j = 1\; (j \in \text{fixed}),\quad x_j = 0\;
    (j \in \text{closed}),\quad x \in \{0,1\}

where :math:`N_i` are the allowed sites covering demand :math:`i`.

The model (:func:`cover_mip`) is built apart from the strategy
(:func:`solve_cover`): the reductions of :mod:`optimizer._preprocess`, a split
into connected components (the small ones solved together, each large one
alone, smallest first, each with its share of the time), Chvátal's greedy cover
as every MIP's hint, iterated local search first on large components, with
``engine="auto"`` the engine chosen by how far the greedy cover is above the
component's LP (whose value is also a floor under the bound), and whole-number
costs' bounds rounded up (which proves many covers optimal).
:func:`optimizer.placement.center.p_center` reuses :func:`solve_cover` for each
radius it tries.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer._cover import greedy_cover, improve_cover, remove_redundant
from optimizer._mip import (
    DEFAULT_ENGINE,
    MipSolution,
    SparseMip,
    solve_lp,
    solve_lp_first_order,
    solve_mip,
)
from optimizer._preprocess import components, reduce_lscp
from optimizer._status import SolverReport, SolveStatus
from optimizer._stopping import stop_on
from optimizer.placement.inputs import (
    DEFAULT_TUNING,
    BoolArray,
    CoverInputs,
    FloatArray,
    IntArray,
    Matrix,
    Sites,
    SolveOptions,
    Tuning,
    cover_inputs,
    remaining,
    whole,
)
from optimizer.placement.result import PlacementResult, combine_reports, finish, restore

logger = logging.getLogger(__name__)

#: Components with at most this many candidate sites are solved together in one MIP.
SMALL_COMPONENT_SITES = 60

#: With ``engine="auto"``, LSCP components with at most this many sites go to SCIP
#: (it proves them several times faster than HiGHS on the bench instances), larger
#: ones to HiGHS (whose primal heuristics find far better covers on the unprovable
#: national core: 334 vs 382 sites in 45-60 s).
AUTO_SCIP_SITES = 2000

#: LSCP components with more sites than this (the national core, 2,791 sites; none
#: of the bench's 20,000 x 2,000 ones) first get :data:`LSCP_SEARCH_SHARE` of their
#: time in :func:`optimizer._cover.improve_cover`, whose cover is the MIP's hint; the
#: MIP's part mainly supplies the bound (national core: search 321 in 25 s or 319 in
#: 40 s, which HiGHS did not improve; its bound was 298 after 10 s and after 25 s).
LSCP_SEARCH_SITES = 2000
LSCP_SEARCH_SHARE = 0.8
#: ... but the MIP keeps at least this many seconds (or half the share): HiGHS's root
#: bound on the national core took 4-6 s (2 s: bound 23; 4 s: 298, ended at 6.5 s).
LSCP_MIP_MIN_S = 10.0
#: Components of more than :data:`SMALL_COMPONENT_SITES` sites (and up to
#: :data:`LSCP_SEARCH_SITES`) get a short local search first, at most this many
#: seconds or this share of their time.  On real provinces at 1 km (one component
#: of 464-823 sites, LP 10 % below the best cover) SCIP kept the greedy cover
#: for the whole minute (Lạng Sơn 118 sites, Quảng Ninh 150); the search
#: alone reaches 99 in 10 s on Lạng Sơn.
LSCP_SHORT_SEARCH_S = 5.0
LSCP_SHORT_SEARCH_SHARE = 0.1
#: With two threads or more, a searched component sent to HiGHS (far from its LP: see
#: :data:`AUTO_HIGHS_LP_GAP`) gets the local search beside the engine for the whole
#: of its share, and first, in the engine's thread, the decomposition bound
#: (:func:`decomposition_bound`) for at most this share of it: HiGHS, on one core,
#: adds little bound past its root there (Quảng Ninh 1 km: root 51.89, 51.91 after
#: 100 s; SCIP 52.82 after 300 s), the decomposition 54.21 in 12 CPU seconds, and
#: the search, restarted with new seeds, reaches better covers (55 instead of 56 on
#: that component in 22 CPU seconds with one of three seeds): 55 is then proven.
DECOMPOSITION_SHARE = 0.85
#: ... but a component of whole costs and at most two bands (:func:`band_count`) first
#: gets CP-SAT's core-based search (:func:`core_bound`) for at most this share of it,
#: the decomposition the time left: one worker proved Quảng Ninh 1 km's component
#: (1,292 rows x 464 sites) optimal, 55, in 4.2 CPU s and Quảng Ninh 400 m's (1,311 x
#: 480) 63 in 29.7 CPU s (SCIP on the whole: 288; two bands: 61.52 in 20); on Lạng
#: Sơn 1 km's (2,283 rows, four bands: 86.85 in 17 CPU s) its bound was 84 after
#: ~15 CPU s, so larger components keep the decomposition first.
CORE_SHARE = 0.75
#: ... and a component of whole costs sent to an engine on the whole (no search beside:
#: one thread, or near its LP), whatever its bands, gets CP-SAT's core-based search
#: first for at most this share of its time: Phú Thọ 1 km's (1,528 rows x 674 sites)
#: proven optimal, 67, in 5.3 CPU s, where SCIP on two threads took 33-53 s (and did
#: not finish at load 4 or more); in the national sweep (one thread a province) Nghệ
#: An's (1,889 rows x 818 sites, three bands) 98 in 18.5 CPU s, where SCIP's minute
#: ended 246 / 245 (0.25 of the share, at most ~13 s, was too little for it).
CORE_FIRST_SHARE = 0.5
#: The search beside runs in chunks of at most this many seconds, each from the best
#: cover so far: after each, the cover is checked against the decomposition bound and
#: handed to the engine when it starts.
BESIDE_CHUNK_S = 2.0
#: ... and so would a component sent to SCIP whose greedy cover is more than this
#: share above its LP (SCIP then on one thread less). It equals
#: :data:`AUTO_HIGHS_LP_GAP`, so a component sent to SCIP keeps its whole share for
#: SCIP: at 0.25, Phú Thọ 1 km (674 sites, 25.5 %) went beside the search and its
#: minute ended 69 / 68, where SCIP given the whole share proves 68 (OPTIMAL in
#: 38-44 s at load 1-3, 2026-12-07; bench/RESULTS_placement.md). Tests set it lower
#: to exercise the search beside SCIP.
SEARCH_BESIDE_LP_GAP = 0.27


#: With ``engine="auto"``, a component of at most :data:`AUTO_SCIP_SITES` sites whose
#: greedy cover (Chvátal's, deterministic) is more than this share above its LP bound
#: goes to HiGHS instead of SCIP: far from the LP, the engine's primal heuristics
#: decide the answer, and SCIP's never improved such a cover.  Measured (greedy vs
#: LP): real provinces at 1 km 36.1 % (Lạng Sơn, 823 sites: SCIP 115 / bound 85.6,
#: HiGHS 92 / 85 in 60 s) and 33.0 % (Quảng Ninh, 464 sites: SCIP 70, HiGHS 56, both
#: bound 52), national core 29.2 % (HiGHS's already); the components SCIP proves and
#: HiGHS does not are at most 23.3 % (20,000 x 2,000: 17.1 % and 23.3 %; national
#: 564 sites 20.8 %, 275 sites 16.1 %).  The cover after the short search is no
#: guide: its distance to the LP depends on how much CPU the search got.
AUTO_HIGHS_LP_GAP = 0.27
#: Share of a component's time (and at most this many seconds) the LP of that choice
#: may take; its value, rounded up with whole costs, is also a floor under the bound
#: (0.1-2.2 s with HiGHS's simplex on the components above; 4.4 s wall for 0.7 s of
#: CPU on Lạng Sơn's at load 18, where 10 % of the share was about 5 s and that run
#: went to SCIP: 105 / 89).  An LP not solved in that time counts as far from the
#: cover (HiGHS): the engine would need that LP before any proof.
LP_PROBE_SHARE = 0.15
LP_PROBE_MAX_S = 15.0
#: ... and only components of at most this many non-zeros get the probe (the size
#: rule alone decides above): the components measured for the rule have 1.8k-97k;
#: Hà Nội at 400 m leaves one of 27,542 rows x 960 sites and 2.03 million non-zeros
#: whose LP HiGHS's simplex alone took 73 s for a 60 s limit; with the probe that
#: run went to HiGHS and took 110 s for its 60 s limit, 28 / 19, against SCIP's
#: 24 / 23 in 71 s without it.
LP_PROBE_MAX_NONZEROS = 200_000
#: The engines check their limit only now and then: SCIP, told 21 s on Hà Nội at
#: 400 m's component (27,542 rows x 960 sites, 2.03 million non-zeros), returned
#: after 42 s. A component's engine is told its share of the time less this many
#: seconds (at most half the share) and abandoned at its share (the cover kept is
#: the search's, the bound the probe's LP or the disjoint-rows packing); the LP
#: probe is abandoned this long after its own limit (the time it took comes off the
#: share).  So a cover step's engines end by its deadline.
ENGINE_GRACE_S = 1.0
#: With ``engine="auto"``, components too large for the LP probe (more non-zeros
#: than :data:`LP_PROBE_MAX_NONZEROS`, at most :data:`LSCP_SEARCH_SITES` sites) get
#: a Lagrangian bound before their engine, at most this many seconds or this share of their time: PDLP (its share of that) for the
#: multipliers, then subgradient steps from its duals (:func:`lagrangian_bound`).
#: Hà Nội at 400 m (27,542 x 960, 2.03 million non-zeros; LP 22.7, disjoint rows 19):
#: subgradient steps alone, 24 ms each, reach 18.3 after 200 steps and 19.1 after
#: 1,000; PDLP's duals are worth 21.1 after a 5 s limit and 21.9 after 10 s (load 8).
LAGRANGE_MAX_S = 12.0
LAGRANGE_SHARE = 0.2
LAGRANGE_PDLP_SHARE = 0.75
#: Subgradient steps at most, and steps without a better bound before the step halves.
LAGRANGE_MAX_STEPS = 2000
LAGRANGE_PATIENCE = 20
#: Share of an LSCP's time limit kept in hand for the work after the engines (the
#: bounds, each demand point's nearest open site): 1.8-2.8 s on Hà Nội at 400 m
#: (37,674 x 1,090) on the loaded bench machine.
LSCP_RESERVE = 0.05


def lscp_engine(engine: str, n_sites: int, lp_gap: float | None = None) -> str:
    """The engine for one LSCP component (``"auto"``: by its number of sites and, when
    known, by how far the greedy cover is above the LP bound: ``lp_gap``, see
    :data:`AUTO_HIGHS_LP_GAP`)."""
    if engine != "auto":
        return engine
    if n_sites > AUTO_SCIP_SITES:
        return "highs"
    if lp_gap is not None and lp_gap > AUTO_HIGHS_LP_GAP:
        return "highs"
    return "scip"


def lp_bound(mip: SparseMip, time_limit_s: float | None,
             stop: threading.Event | None = None) -> float:
    """A lower bound on the minimisation ``mip`` from its LP relaxation (HiGHS's
    simplex, within ``time_limit_s``): the LP's dual bound less a relative 1e-6 for
    the engine's tolerances; ``-inf`` if the LP was not solved in time (the run is
    abandoned :data:`ENGINE_GRACE_S` after its limit) or ``stop`` was set."""
    wall = None if time_limit_s is None else time_limit_s + ENGINE_GRACE_S
    lp = solve_lp(mip, engine="highs", time_limit_s=time_limit_s, stop=stop,
                  wall_limit_s=wall)
    if lp.report.status is not SolveStatus.OPTIMAL:
        return -math.inf
    value = min(lp.report.objective, lp.report.best_bound)
    if not math.isfinite(value):
        return -math.inf
    return value - 1e-6 * max(1.0, abs(value))


def cover_mip(c: sp.csr_matrix, costs: FloatArray) -> tuple[SparseMip, int]:
    """The LSCP of every row of ``c``: one binary per column, one covering row per row."""
    mip = SparseMip()
    x0 = mip.add_variables(c.shape[1], integer=True, objective=costs)
    # every remaining demand group is within the standard of an open site
    rows = np.repeat(np.arange(c.shape[0], dtype=np.int64), np.diff(c.indptr))
    mip.add_rows(c.shape[0], rows, c.indices.astype(np.int64) + x0, 1.0, lb=1.0)
    return mip, x0


@dataclass(frozen=True)
class _Groups:
    """The rows left after the forced sites, split into groups solved one at a time."""

    m: sp.csr_matrix
    columns: IntArray
    forced: IntArray
    row_lab: IntArray
    col_lab: IntArray
    groups: list[BoolArray]
    work: list[float]


def _groups(c: sp.csr_matrix, costs: FloatArray, fixed: IntArray, preprocess: bool) -> _Groups:
    if preprocess:
        red = reduce_lscp(c, costs, fixed)
        m, columns, forced = red.matrix, red.columns, red.forced
    else:
        m, columns, forced = c, np.arange(c.shape[1], dtype=np.int64), fixed
        if forced.size:
            m = m[~(np.asarray(m[:, forced].sum(axis=1)).ravel() > 0)]
    if preprocess and m.shape[0]:
        n_comp, row_lab, col_lab = components(m)
        sizes = np.bincount(col_lab, minlength=n_comp)
        small = sizes <= SMALL_COMPONENT_SITES
        groups: list[BoolArray] = [small]
        groups += [np.arange(n_comp) == k for k in np.flatnonzero(~small)]
        logger.debug("LSCP: %d components, %d small", n_comp, int(small.sum()))
    else:
        row_lab = np.zeros(m.shape[0], dtype=np.int64)
        col_lab = np.zeros(m.shape[1], dtype=np.int64)
        groups = [np.ones(1, dtype=bool)]
    groups = [g for g in groups if g.any()]
    # each group's share of the time left: its share of the remaining non-zeros or
    # an equal split, whichever is larger
    nnz_row = np.diff(m.indptr)
    work = [float(nnz_row[g[row_lab]].sum()) + 1.0 for g in groups]
    # smallest first, so time a small one does not need flows to the larger ones
    order = np.argsort(work, kind="stable")
    return _Groups(m, columns, forced, row_lab, col_lab, [groups[k] for k in order],
                   [work[k] for k in order])


def _search_first(sub: sp.csr_matrix, sub_cost: FloatArray, start: BoolArray, share: float,
                  options: SolveOptions) -> tuple[BoolArray, float]:
    """A large component the MIP will not prove: a share of its time goes to the iterated
    local search, whose cover is the MIP's hint; returns it and the MIP's time."""
    t_end = time.perf_counter() + share
    # the MIP keeps at least LSCP_MIP_MIN_S (or half the share) for its bound
    mip_s = max((1.0 - LSCP_SEARCH_SHARE) * share, min(LSCP_MIP_MIN_S, share / 2))
    start, n_rounds = improve_cover(sub, sub_cost, start, seed=options.seed, stop=options.stop,
                                    deadline=t_end - mip_s)
    logger.debug("LSCP: local search on %d sites, %d rounds -> %g", sub.shape[1],
                 n_rounds, float(sub_cost[start].sum()))
    return start, max(0.0, t_end - time.perf_counter())


#: :func:`band_split`: each border between bands lies after ``k / regions`` of the
#: rows, give or take this share over ``regions`` (the bands' MIPs stay about as
#: hard as each other), at the cut there with the fewest sites serving rows on both
#: sides.
BAND_WINDOW = 0.03


def _order_shared(csc: sp.csc_matrix, order: IntArray) -> npt.NDArray[np.int64]:
    """For rows in ``order``, how many columns of ``csc`` have rows on both sides of
    each cut: entry ``t`` for the cut before the ``t``-th row of the order."""
    n_rows = csc.shape[0]
    pos = np.empty(n_rows, dtype=np.int64)
    pos[order] = np.arange(n_rows)
    nonempty = np.flatnonzero(np.diff(csc.indptr) > 0)
    diff = np.zeros(n_rows + 1, dtype=np.int64)
    if nonempty.size:
        p = pos[csc.indices]
        first = np.minimum.reduceat(p, csc.indptr[nonempty])
        last = np.maximum.reduceat(p, csc.indptr[nonempty])
        np.add.at(diff, first + 1, 1)
        np.add.at(diff, last + 1, -1)
    return np.cumsum(diff)[:n_rows]


def _fiedler_order(adj: sp.csr_matrix) -> IntArray | None:
    """The rows sorted by the Fiedler vector of ``adj``'s normalised Laplacian (spectral
    bisection: a split there crosses few edges); ``None`` if it cannot be computed."""
    from scipy.sparse.csgraph import laplacian
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh

    n = adj.shape[0]
    if n < 4:
        return None
    pattern = sp.csr_matrix(adj, dtype=np.float64, copy=True)
    pattern.setdiag(0.0)
    pattern.eliminate_zeros()
    pattern.data[:] = 1.0
    lap = sp.csc_matrix(laplacian(pattern, normed=True))
    try:
        # shift-invert just below 0: the two smallest eigenvalues; a fixed start vector
        # for the same bands every run
        vals, vecs = eigsh(lap, k=2, sigma=-1e-3, which="LM",
                           v0=np.linspace(1.0, 2.0, n))
    except (ArpackError, ArpackNoConvergence, RuntimeError, ValueError):
        return None
    vec = vecs[:, int(np.argsort(vals)[-1])]
    if not np.isfinite(vec).all():
        return None
    return np.argsort(vec, kind="stable").astype(np.int64)


def band_split(sub: sp.csr_matrix, regions: int) -> IntArray:
    """Each row's band (``0 .. regions - 1``) for :func:`decomposition_bound`: the rows
    in one of two orders along which rows sharing sites stay close (reverse
    Cuthill-McKee, and spectral bisection's Fiedler vector), cut after ``k /
    regions`` of the rows (give or take :data:`BAND_WINDOW` over ``regions``) at the
    cut with the fewest sites serving rows on both sides; the order with fewer such
    sites in all is kept (ties: Cuthill-McKee).  A shared site is where the bands'
    optima may disagree, and the bound lose: measured on Quảng Ninh 400 m's
    component (LP 58.55, one site more needed to prove 62), Cuthill-McKee's halves
    share 121 sites: 60.68; this split's 65: 61.53 (halves of the LP duals instead,
    74 or 40 shared sites: 60.95, 61.74, but the larger band took longer); Quảng
    Ninh 1 km's keeps Cuthill-McKee's (42 shared sites, 54.21)."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    n_rows = sub.shape[0]
    band = np.zeros(n_rows, dtype=np.int64)
    if n_rows == 0 or regions <= 1:
        return band
    a = sp.csr_matrix(sub, dtype=np.float64)
    adj = sp.csr_matrix(a @ a.T)
    orders = [reverse_cuthill_mckee(adj, symmetric_mode=True).astype(np.int64)]
    fiedler = _fiedler_order(adj)
    if fiedler is not None:
        orders.append(fiedler)
    csc = a.tocsc()
    best: tuple[int, IntArray, list[int]] | None = None
    for order in orders:
        shared = _order_shared(csc, order)
        # share of the rows before each cut t (rows order[:t]), t = 0 .. n_rows - 1
        before = np.arange(n_rows) / n_rows
        cuts: list[int] = []
        for k in range(1, regions):
            target = k / regions
            lo = cuts[-1] if cuts else 1
            ok = np.flatnonzero(np.abs(before - target) <= BAND_WINDOW / regions)
            ok = ok[ok >= lo]
            if ok.size:
                near = ok[shared[ok] == shared[ok].min()]
                cut = int(near[np.argmin(np.abs(before[near] - target))])
            else:  # no cut in the window (few rows): the nearest to the target
                cut = max(lo, min(n_rows, int(np.searchsorted(before, target))))
            cuts.append(cut)
        total = int(sum(int(shared[t]) for t in cuts if t < n_rows))
        if best is None or total < best[0]:
            best = (total, order, cuts)
    assert best is not None
    _, order, cuts = best
    band[order] = np.searchsorted(np.asarray(cuts), np.arange(n_rows), side="right")
    return band


#: :func:`band_count`: about this many rows a band (more with two bands).  Two
#: bands of Lạng Sơn 1 km's component (2,283 rows x 823 sites) were not proven in
#: 49 CPU seconds each (bound 85.43-86.23, LP 84.51); four bands of 558-586 rows
#: were, in 17 CPU seconds in all: 86.85 (five: 86.72 in 11).  Quảng Ninh's
#: components (1,292 and 1,311 rows) and Phú Thọ 1 km's (1,528) keep two bands.
BAND_ROWS = 560


def band_count(n_rows: int) -> int:
    """The number of bands :func:`decomposition_bound` splits ``n_rows`` rows into:
    ``max(2, n_rows // BAND_ROWS)``.  (Three bands before two were tried: a bound for
    a loaded minute where two do not finish, Quảng Ninh 400 m's component three
    60.02 in 5 CPU seconds, two 61.52 in 20; but the three's time made Quảng Ninh
    1 km's two not finish: 135 where two give 136 with the same CPU.)"""
    return max(2, n_rows // BAND_ROWS)


def decomposition_bound(sub: sp.csr_matrix, sub_cost: FloatArray, *, time_limit_s: float,
                        regions: int = 2, stop: threading.Event | None = None,
                        cover: BoolArray | None = None,
                        ) -> tuple[float, BoolArray | None]:
    """A lower bound on any cover of ``sub``'s rows, by Lagrangian decomposition: the
    rows are split into ``regions`` bands (:func:`band_split`: about equal numbers of
    rows, meeting along few shared sites), each site's cost is
    split between the bands it serves (``c_j = sum_k c_j^k``: the LP duals ``u`` of
    its rows in band k, plus its LP reduced cost shared by its rows there), and each
    band's own cover problem is solved as a MIP (SCIP, one thread, an equal part of
    the time).  Any cover ``x`` costs ``sum_k c^k x >= sum_k opt_k``, so the sum of
    the bands' bounds is a bound; with dual-feasible ``u`` each band's is at least
    its rows' ``u``, so the sum is never below the LP.  Measured (one band per
    half, CPU seconds, load ~10): Quảng Ninh 1 km's component 54.21 in 12 s (LP
    51.89, SCIP alone 52.82 after 300 s), Phú Thọ 1 km 66.77 in 8 s (64.53),
    Quảng Ninh 400 m 60.68 in 10 s (58.55; 61.53 with :func:`band_split`'s bands,
    17 CPU s).  ``cover`` (a cover of every row), if
    given, is each band's MIP's hint: its sites that serve the band.  Returns the
    bound (``-inf`` if the LP was not solved) and the union of the bands' covers
    less its redundant sites, a cover of every row (``None`` if a band had none):
    a start for the search (Quảng Ninh 1 km: 34 + 32 sites, 56 after removing the
    redundant, 55 after 10 CPU seconds of search from there)."""
    from scipy.optimize import linprog

    t_end = time.perf_counter() + time_limit_s
    a = sp.csr_matrix(sub, dtype=np.float64)
    n_rows = a.shape[0]
    if n_rows == 0:
        return 0.0, np.zeros(sub.shape[1], dtype=bool)
    # x <= 1 (as in the MIP): its duals proved both of Quảng Ninh 1 km's bands in 12 CPU
    # seconds (54.21); the duals of the LP without it (the same 51.89) gave bands whose
    # root bounds stalled (53.33 after 30 s)
    lp = linprog(sub_cost, A_ub=-a, b_ub=-np.ones(n_rows), bounds=(0, 1), method="highs",
                 options={"time_limit": max(0.01, 0.2 * time_limit_s)})
    if lp.status != 0:
        return -math.inf, None
    u = np.maximum(-np.asarray(lp.ineqlin.marginals, dtype=np.float64), 0.0)
    load = np.asarray(a.T @ u).ravel()
    if (load > sub_cost + 1e-9 * np.maximum(1.0, sub_cost)).any():
        # a site at its upper bound is paid more than it costs (its bound's dual makes
        # up the difference): the LP without x <= 1 (the same value) has duals that
        # pay no site more than its cost
        lp = linprog(sub_cost, A_ub=-a, b_ub=-np.ones(n_rows), bounds=(0, None),
                     method="highs", options={"time_limit": max(0.01, 0.2 * time_limit_s)})
        if lp.status != 0:
            return -math.inf, None
        u = np.maximum(-np.asarray(lp.ineqlin.marginals, dtype=np.float64), 0.0)
        load = np.asarray(a.T @ u).ravel()
    over = load > sub_cost
    if over.any():  # rounding: scaled down until no site is overpaid
        u *= float(np.min(np.where(over, sub_cost / np.maximum(load, 1e-300), 1.0)))
        load = np.asarray(a.T @ u).ravel()
    reduced = np.maximum(sub_cost - load, 0.0)
    col_rows = np.maximum(np.diff(a.tocsc().indptr), 1)
    total, union = _bands_bound(sub, sub_cost, a, u, reduced, col_rows, regions,
                                t_end=t_end, stop=stop, cover=cover)
    if union is not None:
        union = remove_redundant(sub, sub_cost, union)
    return total - 1e-6 * max(1.0, abs(total)), union


def _bands_bound(sub: sp.csr_matrix, sub_cost: FloatArray, a: sp.csr_matrix, u: FloatArray,
                 reduced: FloatArray, col_rows: IntArray, regions: int, *,
                 t_end: float, stop: threading.Event | None, cover: BoolArray | None,
                 ) -> tuple[float, BoolArray | None]:
    """:func:`decomposition_bound`'s bands (each an equal part of the time left): the
    sum of the bands' bounds and their covers' union (``None`` if a band had none)."""
    band = band_split(sub, regions)
    total = 0.0
    union: BoolArray | None = np.zeros(sub.shape[1], dtype=bool)
    for k in range(regions):
        rows = np.flatnonzero(band == k)
        part = sp.csr_matrix(sub[rows], dtype=bool)
        served = np.diff(part.tocsc().indptr)
        cols = np.flatnonzero(served > 0)
        part = part[:, cols]
        cost_k = np.asarray(a[rows][:, cols].T @ u[rows]).ravel() + (
            reduced[cols] * served[cols] / col_rows[cols])
        floor_k = float(u[rows].sum())  # its LP's dual value
        left = t_end - time.perf_counter()
        chosen_k = None if cover is None else cover[cols]
        if left > 0.05 and not (stop is not None and stop.is_set()):
            mip, x0 = cover_mip(part, cost_k)
            share_k = left / (regions - k)  # abandoned at its share, like the engines
            sol = solve_mip(mip, engine="scip", time_limit_s=share_k - min(ENGINE_GRACE_S,
                                                                          share_k / 2),
                            threads=1, stop=stop, wall_limit_s=share_k,
                            hint=None if cover is None else cover[cols].astype(np.float64))
            if math.isfinite(sol.report.best_bound):
                floor_k = max(floor_k, sol.report.best_bound)
            if sol.values is not None:
                chosen_k = sol.values[x0:x0 + cols.size] > 0.5
            logger.debug("LSCP decomposition: band %d of %d (%d rows x %d sites), %s, %.2f s",
                         k, regions, rows.size, cols.size, sol.report.summary(),
                         sol.report.wall_time_s)
        total += floor_k
        if union is not None and chosen_k is not None:
            union[cols[chosen_k]] = True
        else:
            union = None
    return total, union


def _pick_rows(sub: sp.csr_matrix, candidates: IntArray, k: int) -> IntArray:
    """At most ``k`` of ``candidates`` (row indices of ``sub``): first rows with pairwise
    disjoint sets of sites (each needs a site of its own), fewest sites first, then the
    rest by fewest sites."""
    size = np.diff(sub.indptr)
    order = candidates[np.argsort(size[candidates], kind="stable")]
    used = np.zeros(sub.shape[1], dtype=bool)
    taken: list[int] = []
    rest: list[int] = []
    for i in order:
        cols = sub.indices[sub.indptr[i]:sub.indptr[i + 1]]
        if used[cols].any():
            rest.append(int(i))
            continue
        used[cols] = True
        taken.append(int(i))
        if len(taken) >= k:
            break
    taken += rest[:max(0, k - len(taken))]
    return np.asarray(taken, dtype=np.int64)


#: The row-subset MIP (:func:`row_subset_bound`): rows it starts with, rows added
#: from a solution's uncovered ones at each step.  Hà Nội at 400 m's component (27,542
#: rows x 960 sites, 74 sites a row, LP 22.7): from 200 rows adding 50 a step, SCIP
#: proved 23 on 650 rows (2.9 CPU s in all) and 24 on 1,237 rows (20 CPU s), and the
#: subset's optimum covered every row at 1,587 rows: 24, the component's optimum.
ROW_SUBSET_FIRST = 200
ROW_SUBSET_ADD = 50


def row_subset_bound(sub: sp.csr_matrix, sub_cost: FloatArray, *, deadline: float,
                     stop: threading.Event | None = None, hint: BoolArray | None = None,
                     on_step: Callable[[float, BoolArray], None] | None = None,
                     incumbent: Callable[[], BoolArray] | None = None,
                     ) -> tuple[float, BoolArray | None, bool]:
    """A lower bound on any cover of ``sub``'s rows from the exact cover of a subset of
    them (lazy rows): SCIP (one thread) solves the cover of a few rows, the rows its
    answer leaves uncovered are added (:data:`ROW_SUBSET_ADD` of them, a packing
    first), and again, until the answer covers every row (then it is optimal) or the
    ``deadline`` or a ``stop``.  A subset's bound holds for the whole (fewer rows:
    a relaxation).  (The row ``sum c x >= B``, B the last subset's optimum, valid for
    every cover, was tried to end a subset as soon as a cover of B is found: on Hà
    Nội at 400 m the steps that raised the bound got slower, 24 not proven in 50
    CPU s, against 20 CPU s without it.)  ``on_step(bound, cover)``
    is called after each step with the bound so far and a cover of every row built
    from the answer (greedy on the rows left, redundant sites removed).  ``hint``
    (a cover of every row) is each step's hint, replaced by a cheaper cover from a
    step or from ``incumbent()`` (say a search running beside).  Returns the
    bound (less a relative 1e-6), the last such cover (``None``: no step done) and
    whether it is optimal (a subset's optimum that covers every row; as with an
    engine's own ``OPTIMAL``, within SCIP's tolerances); when the bound (rounded up
    with whole costs) meets a cover's cost, that cover is optimal too."""
    n_rows, n_sites = sub.shape
    if n_rows == 0:
        return 0.0, np.zeros(n_sites, dtype=bool), True
    rows = _pick_rows(sub, np.arange(n_rows, dtype=np.int64), ROW_SUBSET_FIRST)
    bound = -math.inf
    cover: BoolArray | None = None
    proven = False
    best_cost = math.inf if hint is None else float(sub_cost[hint].sum())
    while not (stop is not None and stop.is_set()):
        left = deadline - time.perf_counter()
        if left <= 0.05:
            break
        if incumbent is not None:
            other = incumbent()
            if float(sub_cost[other].sum()) < best_cost:
                best_cost, hint = float(sub_cost[other].sum()), other
        mip, x0 = cover_mip(sp.csr_matrix(sub[rows], dtype=bool), sub_cost)
        sol = solve_mip(mip, engine="scip", time_limit_s=left - min(ENGINE_GRACE_S, left / 2),
                        threads=1, stop=stop, wall_limit_s=left, slices=False,
                        hint=None if hint is None else hint.astype(np.float64))
        if math.isfinite(sol.report.best_bound):
            bound = max(bound, sol.report.best_bound)
        if sol.values is None:
            break
        x = sol.values[x0:x0 + n_sites] > 0.5
        uncovered = np.flatnonzero(np.asarray(sub @ x.astype(np.int64)).ravel() < 1)
        step = x
        if uncovered.size:
            step = remove_redundant(sub, sub_cost, x | greedy_cover(sub[uncovered], sub_cost))
        if float(sub_cost[step].sum()) < best_cost:
            best_cost, hint = float(sub_cost[step].sum()), step
        cover = step
        logger.debug("LSCP row subset: %d of %d rows, %s, %d rows uncovered", rows.size,
                     n_rows, sol.report.summary(), uncovered.size)
        if on_step is not None:
            on_step(bound - 1e-6 * max(1.0, abs(bound)), step)
        if not uncovered.size or sol.report.status is not SolveStatus.OPTIMAL:
            if not uncovered.size and sol.report.status is SolveStatus.OPTIMAL:
                bound, proven = max(bound, float(sub_cost[x].sum())), True
            break
        rows = np.concatenate([rows, _pick_rows(sub, uncovered, ROW_SUBSET_ADD)])
    if not math.isfinite(bound):
        return -math.inf, cover, False
    return bound - 1e-6 * max(1.0, abs(bound)), cover, proven


#: The regions :func:`region_search` re-optimises exactly: this many rows (grown from a
#: random row through the rows sharing a site), every site serving one of them free.
#: Quảng Ninh 1 km's component (1,292 rows x 464 sites; the decomposition bound 54.21
#: proves 55 optimal): from five 56-site covers of the search, regions of 800 rows
#: (~300 sites, SCIP 1-7 CPU s each) found 55 from four within 25 s (at 3-19 CPU s),
#: regions of 1,000 rows from three, of 300 rows (0.05 s each, 1,294 regions in
#: 60 s) from none: the search's covers are optimal on every small region.
REGION_ROWS = 800
#: ... each region's MIP at most this many seconds (its incumbent kept if no worse).
REGION_STEP_S = 10.0


def _grow_region(adj: sp.csr_matrix, start: int, n: int, rng: np.random.Generator) -> IntArray:
    """At most ``n`` rows, breadth first from row ``start`` through ``adj`` (rows x rows,
    non-zero where two rows share a site), each row's neighbours in random order."""
    seen = np.zeros(adj.shape[0], dtype=bool)
    seen[start] = True
    queue = [start]
    head = 0
    while head < len(queue) and head < n:
        r = queue[head]
        head += 1
        nb = adj.indices[adj.indptr[r]:adj.indptr[r + 1]]
        nb = nb[~seen[nb]]
        seen[nb] = True
        queue.extend(int(v) for v in rng.permutation(nb))
    return np.asarray(queue[:n], dtype=np.int64)


def region_search(sub: sp.csr_matrix, sub_cost: FloatArray, cover: BoolArray, *,
                  deadline: float, seed: int = 0, stop: threading.Event | None = None,
                  rows: int | None = None,
                  incumbent: Callable[[], BoolArray] | None = None,
                  on_better: Callable[[BoolArray], None] | None = None,
                  target: float = -math.inf) -> BoolArray:
    """Large-neighbourhood search with exact steps: again and again, a region of
    ``rows`` rows (default :data:`REGION_ROWS`, grown from a random row through the
    rows sharing a site) has every site serving it freed and the rest of ``cover``
    fixed, and SCIP (one thread, at most :data:`REGION_STEP_S`, hinted with the
    cover) finds the cheapest sites covering the rows the fixed sites leave
    uncovered; the answer replaces the cover if no dearer (equal: the walk moves
    on the plateau).  The local search (:func:`optimizer._cover.improve_cover`)
    drops 2-10 sites at a time; a region frees ~30 of them at once.  Stops at
    ``deadline``, on ``stop``, or once the cover costs at most ``target`` (say the
    rounded-up bound).  ``incumbent()`` (a search beside) replaces the cover when
    cheaper; ``on_better(cover)`` gets each strictly cheaper cover.  Returns a cover
    of every row ``cover`` covers, never dearer than it."""
    a = sp.csr_matrix(sub, dtype=np.int64)
    csc = a.tocsc()
    n_rows = a.shape[0]
    best = np.asarray(cover, dtype=bool).copy()
    need = np.asarray(a @ best.astype(np.int64)).ravel() > 0
    n = REGION_ROWS if rows is None else rows
    if n_rows == 0 or n <= 0:
        return best
    adj = sp.csr_matrix(a @ a.T)
    rng = np.random.default_rng(seed)
    best_cost = float(sub_cost[best].sum())
    tol = 1e-9 * max(1.0, best_cost)
    while best_cost > target + tol and not (stop is not None and stop.is_set()):
        left = deadline - time.perf_counter()
        if left <= 0.05:
            break
        if incumbent is not None:
            other = incumbent()
            if float(sub_cost[other].sum()) < best_cost - tol:
                best, best_cost = other.copy(), float(sub_cost[other].sum())
        region = _grow_region(adj, int(rng.integers(n_rows)), n, rng)
        free = np.unique(a[region].indices)
        is_free = np.zeros(a.shape[1], dtype=bool)
        is_free[free] = True
        held = np.asarray(a @ (best & ~is_free).astype(np.int64)).ravel() > 0
        touched = np.unique(csc[:, free].indices)
        open_rows = touched[need[touched] & ~held[touched]]
        if open_rows.size == 0:
            continue
        part = sp.csr_matrix(a[open_rows][:, free], dtype=bool)
        mip, x0 = cover_mip(part, sub_cost[free])
        step = min(REGION_STEP_S, left)
        sol = solve_mip(mip, engine="scip", time_limit_s=step - min(ENGINE_GRACE_S, step / 2),
                        threads=1, stop=stop, wall_limit_s=step, slices=False,
                        hint=best[free].astype(np.float64), seed=int(rng.integers(2**31 - 1)))
        if sol.values is None:
            continue
        x = best & ~is_free
        x[free] = sol.values[x0:x0 + free.size] > 0.5
        if not (np.asarray(a @ x.astype(np.int64)).ravel()[need] > 0).all():
            continue  # not a cover (the engine's tolerances): kept out
        x = remove_redundant(sub, sub_cost, x)
        cost = float(sub_cost[x].sum())
        if cost <= best_cost + tol:
            logger.debug("LSCP region: %d rows x %d sites, %g -> %g, %.2f s", open_rows.size,
                         free.size, best_cost, cost, sol.report.wall_time_s)
            better = cost < best_cost - tol
            best, best_cost = x, cost
            if better and on_better is not None:
                on_better(best)
    return best


def core_bound(sub: sp.csr_matrix, sub_cost: FloatArray, *, deadline: float,
               stop: threading.Event | None = None,
               on_bound: Callable[[float], None] | None = None,
               ) -> tuple[float, BoolArray | None, bool]:
    """A lower bound on any cover of ``sub``'s rows (whole costs) by CP-SAT's core-based
    search (one worker, ``optimize_with_core``, no linear relaxation): it raises the
    bound by finding sets of sites of which a cover needs one more (unsatisfiable
    cores, as in MaxSAT), and its first cover is optimal.  ``on_bound(bound)`` gets
    each better bound as it comes (CP-SAT's, a complete proof).  Returns the bound
    (``-inf`` if none), the cover found (``None``: none in time) and whether it is
    proven optimal.  Not whole costs: ``(-inf, None, False)``."""
    from ortools.sat.python import cp_model

    n_rows, n_sites = sub.shape
    if n_rows == 0:
        return 0.0, np.zeros(n_sites, dtype=bool), True
    if not whole(sub_cost):
        return -math.inf, None, False
    c = sp.csr_matrix(sub, dtype=bool)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{j}") for j in range(n_sites)]
    for i in range(n_rows):
        model.add_bool_or([x[j] for j in c.indices[c.indptr[i]:c.indptr[i + 1]]])
    model.minimize(sum(int(sub_cost[j]) * x[j] for j in range(n_sites)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.optimize_with_core = True
    solver.parameters.linearization_level = 0
    solver.parameters.max_time_in_seconds = max(0.01, deadline - time.perf_counter())
    if on_bound is not None:
        solver.best_bound_callback = lambda b: on_bound(float(b))
    with stop_on(stop, solver.stop_search, name="motcua-lscp-core-watch"):
        status = solver.solve(model)
    bound = float(solver.best_objective_bound)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        cover = np.array([solver.boolean_value(v) for v in x], dtype=bool)
        return bound, cover, status == cp_model.OPTIMAL
    if status == cp_model.UNKNOWN and math.isfinite(bound):
        return bound, None, False
    return -math.inf, None, False


@dataclass
class _Beside:
    """What the thread beside the search found: the decomposition bound and the
    engine's solution (``None``: not run or abandoned)."""

    bound: float = -math.inf
    sol: MipSolution | None = None
    bound_done: bool = False
    start: BoolArray | None = None  # the bands' covers' union, for the search
    version: int = 0  # how many times ``start`` was set
    proven: bool = False  # ``start`` is optimal (the row subsets' answer covered every row)
    engine: str = ""  # the engine the thread ran instead of the caller's (regions: SCIP)
    source: str = "decomposition"  # what the bound came from
    why: str = "engine not run: no time left after the decomposition bound"

    def offer(self, cover: BoolArray | None) -> None:
        """A new ``start`` for the search (taken once, if no dearer than its best)."""
        if cover is not None:
            self.start, self.version = cover, self.version + 1


def _not_run(share: float, engine: str, options: SolveOptions, why: str) -> MipSolution:
    """The report of an engine the thread beside the search did not run (or whose run
    was abandoned): no answer, no bound."""
    return MipSolution(SolverReport(
        SolveStatus.NOT_SOLVED, math.nan, -math.inf, math.inf, share,
        "ortools-cp-sat" if engine == "cp-sat" else f"ortools-mathopt-{engine}",
        options.seed, options.threads, share,
        "stopped on request" if options.stopped else why), None)


def _engine_beside_search(mip: SparseMip, sub: sp.csr_matrix, sub_cost: FloatArray,
                          start: BoolArray, *, engine: str, share: float,
                          options: SolveOptions, row_subset: bool = False,
                          ) -> tuple[_Beside, BoolArray]:
    """In a thread of its own, for whole costs and at most two bands CP-SAT's
    core-based search first (:func:`core_bound`, :data:`CORE_SHARE` of ``share``; a
    proof ends the thread, each bound it reaches is the search's at once), then the
    decomposition bound (:func:`decomposition_bound`, :data:`DECOMPOSITION_SHARE` of
    what is left) and then regions (:func:`region_search`) or the engine (from the
    search's best cover so far) for the rest; meanwhile, in this one, the iterated local
    search from ``start`` in chunks of :data:`BESIDE_CHUNK_S` (a new seed each, from
    the best cover; once, from the bands' covers' union if no worse), until the
    thread is done (or a stop), or until its cover meets the bound rounded up
    (whole costs: then the engine's run is abandoned, the cover is proven).  With
    ``row_subset``, the thread runs :func:`row_subset_bound` for the whole share
    instead (no engine on the whole component), its bound rising step by step, its
    covers handed to the search as they come; the search runs to the end of the
    share unless proven or stopped.
    Returns what the thread found and the search's best cover (never worse than
    ``start``).  The engines release the GIL while they run."""
    found = _Beside()
    errors: list[BaseException] = []
    halt = threading.Event()
    inner = threading.Event()  # the caller's stop, or the cover proven
    t_end = time.perf_counter() + share
    best = [start]
    integral = whole(sub_cost)

    def step(bound: float, cover: BoolArray) -> None:
        found.bound, found.bound_done = max(found.bound, bound), True
        found.offer(cover)

    def run_rows() -> None:
        try:
            found.why = "no engine on the whole component: the row-subset MIP beside the search"
            bound, cover, proven = row_subset_bound(sub, sub_cost, deadline=t_end, stop=inner,
                                                    hint=best[0], on_step=step,
                                                    incumbent=lambda: best[0])
            found.bound, found.bound_done = max(found.bound, bound), True
            if cover is not None:
                found.offer(cover)
                found.proven = proven
                if proven or (integral and math.isfinite(found.bound) and float(sub_cost[cover].sum())
                        <= math.ceil(found.bound - 1e-6) + 1e-9):
                    inner.set()  # proven: the search ends
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)
            inner.set()
        finally:
            halt.set()

    def raised(bound: float) -> None:  # CP-SAT's bound as it rises: the search may use it
        found.bound = max(found.bound, bound - 1e-6 * max(1.0, abs(bound)))
        found.bound_done = True

    def run() -> None:
        try:
            if (CORE_SHARE > 0 and integral and sub.nnz <= LP_PROBE_MAX_NONZEROS
                    and band_count(sub.shape[0]) <= 2):
                found.source = "CP-SAT core-based search"
                bound, cover, proven = core_bound(
                    sub, sub_cost, deadline=time.perf_counter() + CORE_SHARE * share,
                    stop=inner, on_bound=raised)
                if math.isfinite(bound):
                    raised(bound)
                found.offer(cover)  # CP-SAT's cover (its first is mostly its last)
                if proven and cover is not None:
                    found.engine = "cp-sat"
                    found.why = "CP-SAT's core-based search proved its cover optimal"
                    return
                found.source = "CP-SAT core-based search and decomposition"
            if DECOMPOSITION_SHARE > 0 and sub.nnz <= LP_PROBE_MAX_NONZEROS:
                bound, union = decomposition_bound(
                    sub, sub_cost, stop=inner, cover=best[0], regions=band_count(sub.shape[0]),
                    time_limit_s=DECOMPOSITION_SHARE * max(0.0, t_end - time.perf_counter()))
                found.bound = max(found.bound, bound)
                found.offer(union)  # the bands' covers' union: once a start of the search
            found.bound_done = True
            left = t_end - time.perf_counter()
            if (left > 0.1 and not inner.is_set() and math.isfinite(found.bound)
                    and sub.shape[0] > REGION_ROWS):
                # regions re-optimised exactly instead of the engine on the whole: it
                # adds little bound past the decomposition's (HiGHS: Quảng Ninh 1 km
                # root 51.89, 51.91 after 100 s; the decomposition 54.21), and a better
                # cover is what would prove the bound
                found.engine = "scip"
                found.why = ("no engine on the whole component: regions re-optimised "
                             "exactly (SCIP) beside the search")
                target = math.ceil(found.bound - 1e-6) if integral else found.bound
                found.offer(region_search(sub, sub_cost, best[0], deadline=t_end,
                                          seed=options.seed, stop=inner, target=target,
                                          incumbent=lambda: best[0], on_better=found.offer))
            elif left > 0.1 and not inner.is_set():
                found.sol = solve_mip(mip, engine=engine,
                                      time_limit_s=left - min(ENGINE_GRACE_S, left / 2),
                                      seed=options.seed, threads=max(1, options.threads - 1),
                                      stop=inner, hint=best[0].astype(np.float64),
                                      wall_limit_s=left)
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)
        finally:
            halt.set()

    def watch() -> None:  # a stop request ends the search and the engine too
        while options.stop is not None and not halt.wait(0.1):
            if options.stop.is_set():
                inner.set()
                halt.set()

    worker = threading.Thread(target=run_rows if row_subset else run, name="motcua-lscp-engine",
                              daemon=True)
    worker.start()
    if options.stop is not None:
        threading.Thread(target=watch, name="motcua-lscp-watch", daemon=True).start()
    restart = 0
    used = 0
    # the decomposition's thread ends the search when it ends; the row subsets' thread
    # only when the cover is proven (or on a stop)
    ends = inner if row_subset else halt

    def take_start() -> None:
        nonlocal used
        union, version = found.start, found.version
        if union is not None and version != used:
            used = version
            if float(sub_cost[union].sum()) <= float(sub_cost[best[0]].sum()) + 1e-9:
                best[0] = union  # no worse: the search goes on from the thread's cover

    while not ends.is_set() and time.perf_counter() < t_end:
        restart += 1
        take_start()
        best[0], _ = improve_cover(sub, sub_cost, best[0], seed=options.seed + restart,
                                   stop=ends, deadline=min(t_end, time.perf_counter()
                                                           + BESIDE_CHUNK_S))
        value = float(sub_cost[best[0]].sum())
        if (found.bound_done and integral and math.isfinite(found.bound)
                and value <= math.ceil(found.bound - 1e-6) + 1e-9):
            found.why = "engine not run or abandoned: the cover met the decomposition bound"
            inner.set()  # proven: the engine's run is abandoned
            break
    worker.join()
    halt.set()
    if errors:
        raise errors[0]
    if row_subset or found.engine:
        # the thread's last cover (the row subsets': optimal when it met the bound; the
        # regions': never dearer than the search's)
        take_start()
    logger.debug("LSCP: search beside %s (%g) and %s, %d chunks -> %g", found.source,
                 found.bound, found.engine or engine, restart, float(sub_cost[best[0]].sum()))
    return found, best[0]


def _solve_group(sub: sp.csr_matrix, sub_cost: FloatArray, fraction: float, *,
                 deadline: float | None, engine: str, options: SolveOptions, preprocess: bool,
                 ) -> tuple[BoolArray, SolverReport]:
    """One group's cover and report (greedy or search cover kept when the MIP has none);
    the group gets ``fraction`` of the time left."""
    mip, x0 = cover_mip(sub, sub_cost)
    start = greedy_cover(sub, sub_cost)
    greedy_cost = float(sub_cost[start].sum())
    left = remaining(deadline)
    share = None if left is None else left * fraction
    searched = False
    # too large for the LP probe, two threads: the row-subset MIP beside the search for
    # the whole share (the search runs there from the start: no short search first, the
    # row subsets get those seconds)
    row_subset = (engine == "auto" and preprocess
                  and SMALL_COMPONENT_SITES < sub.shape[1] <= LSCP_SEARCH_SITES
                  and sub.nnz > LP_PROBE_MAX_NONZEROS and share is not None
                  and not options.stopped and options.threads >= 2 and ROW_SUBSET_ADD > 0)
    if preprocess and sub.shape[1] > LSCP_SEARCH_SITES and share is not None:
        start, share = _search_first(sub, sub_cost, start, share, options)
        searched = True
    elif row_subset:
        searched = True
    elif preprocess and sub.shape[1] > SMALL_COMPONENT_SITES and share is not None:
        # a short search first: the engine keeps its cover as the incumbent
        t_search = time.perf_counter()
        start, _ = improve_cover(sub, sub_cost, start, seed=options.seed, stop=options.stop,
                                 deadline=t_search + min(LSCP_SHORT_SEARCH_S,
                                                         LSCP_SHORT_SEARCH_SHARE * share))
        share = max(0.001, share - (time.perf_counter() - t_search))
        searched = True
    floor = -math.inf
    floor_source = ""
    lp_gap: float | None = None
    if (engine == "auto" and searched and sub.shape[1] <= AUTO_SCIP_SITES and share is not None
            and sub.nnz <= LP_PROBE_MAX_NONZEROS and not options.stopped):
        # the LP decides the engine (and is a floor under its bound)
        t_lp = time.perf_counter()
        floor = lp_bound(mip, min(LP_PROBE_MAX_S, LP_PROBE_SHARE * share), options.stop)
        share = max(0.001, share - (time.perf_counter() - t_lp))
        # an LP not solved in its share of the time: the engine will not reach a proof
        # either (it needs that LP first), so its primal heuristics decide: HiGHS
        lp_gap = greedy_cost / floor - 1.0 if floor > 0 else (
            math.inf if floor == -math.inf else None)
    chosen_engine = lscp_engine(engine, sub.shape[1], lp_gap)
    if (engine == "auto" and searched and sub.shape[1] <= LSCP_SEARCH_SITES
            and sub.nnz > LP_PROBE_MAX_NONZEROS and share is not None and not options.stopped
            and LAGRANGE_SHARE > 0 and not row_subset):
        # too large for the LP probe: PDLP's duals, then subgradient steps
        t_lg = time.perf_counter()
        budget = min(LAGRANGE_MAX_S, LAGRANGE_SHARE * share)
        upper = float(sub_cost[start].sum())
        lp = solve_lp_first_order(mip, time_limit_s=LAGRANGE_PDLP_SHARE * budget,
                                  threads=options.threads, tolerance=1e-4)
        value, _ = lagrangian_bound(sub, sub_cost, upper, stop=options.stop,
                                    deadline=t_lg + budget, start=lp.duals,
                                    step=2.0 if lp.duals is None else 0.5)
        spent = time.perf_counter() - t_lg
        share = max(0.001, share - spent)
        floor = value
        logger.debug("LSCP: Lagrangian bound %g (cover %g) in %.2f s", value, upper, spent)
        if upper <= (math.ceil(value - 1e-6) if whole(sub_cost) else value) + 1e-9:
            # the cover meets the bound: proven without the engine
            return start, SolverReport(
                SolveStatus.OPTIMAL, upper, upper, 0.0, spent, "local-search+lagrangian", options.seed,
                options.threads, share, "proven by the Lagrangian bound")
    logger.debug("LSCP: %d sites, greedy %g, search %g, LP floor %g: %s", sub.shape[1],
                 greedy_cost, float(sub_cost[start].sum()), floor, chosen_engine)
    engine_limit = None if share is None else share - min(ENGINE_GRACE_S, share / 2)
    beside = chosen_engine == "highs" or (lp_gap is not None and lp_gap > SEARCH_BESIDE_LP_GAP)
    if row_subset and share is not None:
        chosen_engine = "scip"  # on the row subsets
        t_beside = time.perf_counter()
        out, start = _engine_beside_search(mip, sub, sub_cost, start, engine=chosen_engine,
                                           share=share, options=options, row_subset=True)
        if out.bound > floor:
            floor, floor_source = out.bound, "row-subset MIP"
        if out.proven and out.start is not None:
            value = float(sub_cost[out.start].sum())
            return out.start, SolverReport(
                SolveStatus.OPTIMAL, value, value, 0.0, time.perf_counter() - t_beside,
                f"ortools-mathopt-{chosen_engine}",
                options.seed, options.threads, share,
                "proven by the row-subset MIP: its answer covers every row")
        sol = _not_run(share, chosen_engine, options, out.why)
    elif (searched and beside and options.threads >= 2 and share is not None
            and not options.stopped):
        # far from the LP: the engine (one core less) for the bound, the search on the other
        out, start = _engine_beside_search(mip, sub, sub_cost, start, engine=chosen_engine,
                                           share=share, options=options)
        if out.bound > floor:
            floor, floor_source = out.bound, out.source
        sol = out.sol if out.sol is not None else _not_run(
            share, out.engine or chosen_engine, options, out.why)
    else:
        if (engine == "auto" and searched and share is not None and CORE_FIRST_SHARE > 0
                and whole(sub_cost) and sub.nnz <= LP_PROBE_MAX_NONZEROS
                and not options.stopped):
            # CP-SAT's core-based search before the engine on the whole: a proof there
            # is the answer (Phú Thọ 1 km: 5.3 CPU s, SCIP 33-53 s on two threads)
            t_core = time.perf_counter()
            bound, cover, proven = core_bound(sub, sub_cost, stop=options.stop,
                                              deadline=t_core + CORE_FIRST_SHARE * share)
            spent = time.perf_counter() - t_core
            logger.debug("LSCP: CP-SAT core-based search %g in %.2f s%s", bound, spent,
                         ", proven" if proven else "")
            if proven and cover is not None:
                value = float(sub_cost[cover].sum())
                return cover, SolverReport(
                    SolveStatus.OPTIMAL, value, value, 0.0, spent, "ortools-cp-sat",
                    options.seed, options.threads, share,
                    "proven by CP-SAT's core-based search")
            if cover is not None and float(sub_cost[cover].sum()) < float(sub_cost[start].sum()):
                start = cover
            if bound > floor:
                floor, floor_source = bound - 1e-6 * max(1.0, abs(bound)), (
                    "CP-SAT core-based search")
            share = max(0.001, share - spent)
            engine_limit = share - min(ENGINE_GRACE_S, share / 2)
        sol = solve_mip(mip, engine=chosen_engine, time_limit_s=engine_limit,
                        seed=options.seed, threads=options.threads, stop=options.stop,
                        hint=start.astype(np.float64), wall_limit_s=share)
    chosen = start
    report = sol.report
    if sol.values is not None:
        found = sol.values[x0:x0 + sub.shape[1]] > 0.5
        if float(sub_cost[found].sum()) <= float(sub_cost[start].sum()):
            chosen = found
        elif searched and report.status is SolveStatus.FEASIBLE:
            # the search's cover is better than the engine's incumbent
            report = replace(report, objective=float(sub_cost[start].sum()),
                             message="; ".join(x for x in ("local search cover kept",
                                                           report.message) if x))
    elif report.status is not SolveStatus.INFEASIBLE:
        # no incumbent in time (or the run abandoned): keep the greedy or search
        # cover, honestly FEASIBLE
        kept = "local search cover kept" if searched else "greedy cover kept"
        report = replace(report, status=SolveStatus.FEASIBLE,
                         objective=float(sub_cost[start].sum()),
                         message="; ".join(x for x in (kept, report.message) if x))
    if math.isfinite(floor) and report.status is SolveStatus.FEASIBLE and (
            not math.isfinite(report.best_bound) or report.best_bound < floor):
        # the engine stopped before its root LP: the probe's LP (or the Lagrangian)
        # bound holds
        source = floor_source or ("LP" if lp_gap is not None else "Lagrangian relaxation")
        report = replace(report, best_bound=floor, message="; ".join(
            x for x in (f"bound from the component's {source}", report.message) if x))
    return chosen, report


def packing_bound(sub: sp.csr_matrix, sub_cost: FloatArray) -> float:
    """A lower bound on any cover of ``sub``'s rows: rows whose sets of sites are pairwise
    disjoint each need a site of their own, so the cover costs at least the sum of their
    cheapest sites.  Rows are taken greedily, fewest sites first (O(non-zeros)); a cheap
    floor under an engine's bound when its time ran out before the root LP."""
    n_sites = np.diff(sub.indptr)
    used = np.zeros(sub.shape[1], dtype=bool)
    total = 0.0
    for i in np.argsort(n_sites, kind="stable"):
        cols = sub.indices[sub.indptr[i]:sub.indptr[i + 1]]
        if cols.size == 0 or used[cols].any():
            continue
        used[cols] = True
        total += float(sub_cost[cols].min())
    return total


def lagrangian_value(sub: sp.csr_matrix, sub_cost: FloatArray, u: FloatArray) -> float:
    """The Lagrangian relaxation of ``sub``'s cover rows at multipliers ``u >= 0``:
    ``sum(u) + sum_j min(0, c_j - sum_{i covers j} u_i)``, a lower bound on any
    cover for every such ``u`` (each row's ``u_i (1 - sum x)`` is <= 0 on a cover)."""
    u = np.maximum(np.asarray(u, dtype=np.float64), 0.0)
    reduced = sub_cost - np.asarray(sub.T @ u).ravel()
    return float(u.sum() + np.minimum(reduced, 0.0).sum())


def lagrangian_bound(sub: sp.csr_matrix, sub_cost: FloatArray, upper: float, *,
                     deadline: float | None = None, max_steps: int = LAGRANGE_MAX_STEPS,
                     stop: threading.Event | None = None, start: FloatArray | None = None,
                     step: float = 2.0) -> tuple[float, FloatArray]:
    """A lower bound on any cover of ``sub``'s rows by the Lagrangian relaxation of the
    rows, improved by subgradient steps (Held-Karp steps toward ``upper``, a cover's
    cost; the step halves after :data:`LAGRANGE_PATIENCE` steps without a better
    bound).  Starts from the dual-feasible ``u_i = min_{j covers i} c_j / |rows of j|``
    (so the start alone is at least that sum).  Returns the best value seen (less a
    relative 1e-9 for rounding) and its multipliers; ``O(non-zeros)`` a step.  ``start``
    (say an LP's duals, clipped at 0) replaces that start; ``step`` is the first step's
    factor (2 from far, smaller from near the LP)."""
    csc = sub.tocsc()
    by_col = sp.csr_matrix(csc.T)  # sites x rows: sum over the rows a site covers
    col_rows = np.maximum(np.diff(csc.indptr), 1).astype(np.float64)
    ratio = sub_cost / col_rows
    # each row's smallest cost per covered row among its sites
    u = np.zeros(sub.shape[0])
    empty = np.diff(sub.indptr) == 0
    nonempty = np.flatnonzero(~empty)
    if nonempty.size:
        u[nonempty] = np.minimum.reduceat(ratio[sub.indices], sub.indptr[nonempty])
    if start is not None and lagrangian_value(sub, sub_cost, start) > lagrangian_value(
            sub, sub_cost, u):
        u = np.maximum(np.asarray(start, dtype=np.float64), 0.0)
    best_u = u.copy()
    best = -math.inf
    lam = float(step)
    since = 0
    for k in range(max_steps):
        reduced = sub_cost - by_col @ u
        value = float(u.sum() + np.minimum(reduced, 0.0).sum())
        if value > best + 1e-12 * max(1.0, abs(best) if math.isfinite(best) else 1.0):
            best, best_u, since = value, u.copy(), 0
        else:
            since += 1
            if since >= LAGRANGE_PATIENCE:
                lam, since = lam / 2.0, 0
        if best >= upper - 1e-9 or lam < 1e-4:
            break
        if k % 16 == 15 and ((stop is not None and stop.is_set()) or (
                deadline is not None and time.perf_counter() > deadline)):
            break
        x = (reduced < 0.0).astype(np.float64)
        g = 1.0 - sub @ x
        g[(u <= 0.0) & (g < 0.0)] = 0.0  # a multiplier at 0 cannot go lower
        g[empty] = 0.0  # a row no site covers (no cover at all) keeps u = 0
        norm = float(g @ g)
        if norm == 0.0:
            break  # the relaxation's answer covers every row exactly: optimal
        u = np.maximum(u + lam * (upper - value) / norm * g, 0.0)
    if not math.isfinite(best):
        return 0.0, best_u
    # the value is recomputed exactly from the multipliers kept
    best = lagrangian_value(sub, sub_cost, best_u)
    return best - 1e-9 * max(1.0, abs(best)), best_u


def solve_cover(
    c: sp.csr_matrix, costs: FloatArray, fixed: IntArray, *, options: SolveOptions,
    deadline: float | None, preprocess: bool = True,
) -> tuple[BoolArray, float, float, list[SolverReport]]:
    """Minimum-cost cover of every row of ``c``; returns (open mask, objective, bound, reports)."""
    integral = whole(costs)
    engine = options.engine
    if engine == "auto" and not preprocess:
        engine = DEFAULT_ENGINE  # the plain baseline model stays the plain HiGHS model
    gr = _groups(c, costs, fixed, preprocess)
    open_mask = np.zeros(c.shape[1], dtype=bool)
    open_mask[gr.forced] = True
    objective = float(costs[gr.forced].sum())
    bound = objective
    reports: list[SolverReport] = []
    if gr.m.shape[0] == 0:
        return open_mask, objective, bound, reports
    for gi, g in enumerate(gr.groups):
        rsel = np.flatnonzero(g[gr.row_lab])
        csel = np.flatnonzero(g[gr.col_lab])
        sub = gr.m[rsel][:, csel]
        sub_cost = costs[gr.columns[csel]]
        # at least an equal split of the time left: a huge unprovable component must
        # not starve a medium one that the engine could prove with a little more time
        fraction = max(gr.work[gi] / sum(gr.work[gi:]), 1.0 / (len(gr.groups) - gi))
        chosen, report = _solve_group(sub, sub_cost, fraction, deadline=deadline, engine=engine,
                                      options=options, preprocess=preprocess)
        if report.status is SolveStatus.INFEASIBLE:
            reports.append(report)
            return open_mask, math.nan, math.nan, reports
        value = float(sub_cost[chosen].sum())
        b = report.best_bound if math.isfinite(report.best_bound) else 0.0
        if report.status is not SolveStatus.OPTIMAL:
            b = max(b, packing_bound(sub, sub_cost))
        if integral:
            # whole-number costs: the group's optimum is a whole number >= its bound
            b = math.ceil(b - 1e-6)
            if report.status is SolveStatus.FEASIBLE and value <= b + 1e-9:
                report = replace(report, status=SolveStatus.OPTIMAL, objective=value,
                                 best_bound=value, gap=0.0,
                                 message="proven by the rounded-up bound")
        reports.append(report)
        open_mask[gr.columns[csel[chosen]]] = True
        objective += value
        bound += b
    return open_mask, objective, bound, reports


def solve_lscp(prob: CoverInputs, options: SolveOptions, *,
               tuning: Tuning = DEFAULT_TUNING) -> PlacementResult:
    """:func:`lscp` on checked inputs."""
    t0 = time.perf_counter()
    inp, c, uncoverable = prob.inp, prob.c, prob.uncoverable
    coverable = np.diff(c.indptr) > 0
    deadline = options.deadline(t0)
    if deadline is not None:
        deadline -= LSCP_RESERVE * (deadline - t0)
    open_mask, objective, bound, reports = solve_cover(
        c[coverable], inp.costs, inp.fixed, options=options, deadline=deadline,
        preprocess=tuning.preprocess,
    )
    report = combine_reports(
        reports, objective, bound, options=options,
        # the engines the components really ran on (auto: SCIP and/or HiGHS)
        solver="+".join(sorted({r.solver for r in reports})) or options.solver_name,
        wall=time.perf_counter() - t0,
        message=f"{uncoverable.size} demand points no allowed site covers" if uncoverable.size else "",
    )
    res = finish("lscp", inp, open_mask, c, prob.minutes, objective, report, uncoverable,
                 stages=tuple(reports))
    logger.info("lscp: %d sites open, %s", res.open_sites.size, report.summary())
    return res


def lscp(
    covered: Matrix,
    weights: npt.ArrayLike,
    *,
    fixed: Sites = None,
    closed: Sites = None,
    costs: npt.ArrayLike | None = None,
    minutes: Matrix | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = "auto",
    stop: threading.Event | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> PlacementResult:
    """Location set covering: the fewest sites (or least cost) covering all coverable demand.

    See the module docstring for the model.

    Parameters
    ----------
    covered : boolean demand x site matrix, ``True`` where the site covers the demand.
    weights : demand weights (residents); used for the figures, not the objective,
        except that demand of weight 0 needs no site (see :mod:`optimizer.placement`).
    fixed : site indices that must stay open.
    closed : site indices that may not open.
    costs : opening cost per site (default 1 each, i.e. count the sites).
    minutes : optional travel minutes, used to assign each demand point to the
        nearest open covering site.
    time_limit_s : wall-clock limit for the whole call in seconds (``None``: none).
    seed, threads : engine seed and thread count, saved in the report.
    engine : ``"auto"`` (default: SCIP for components up to
        :data:`AUTO_SCIP_SITES` sites, HiGHS for larger ones and for those whose
        greedy cover is more than :data:`AUTO_HIGHS_LP_GAP` above their LP),
        ``"highs"`` or ``"scip"``.
    stop : set it from another thread to stop and keep the best answer so far.
    tuning : benchmark switches (:class:`optimizer.placement.inputs.Tuning`;
        ``preprocess`` applies here).

    Returns
    -------
    PlacementResult
        ``objective`` is the total opening cost (the site count with unit costs).
        Demand no allowed site covers is in ``uncoverable`` and left unassigned.
    """
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    prob = cover_inputs(covered, weights, fixed, closed, costs, minutes)
    return restore(solve_lscp(prob, options, tuning=tuning), prob.dropped)
