r"""Capacitated p-median: the least weighted travel time with at most ``p`` sites, none
over its capacity.

Pairs are the p-median's: a demand point and a site it reaches (within the
penalty, when there is one).  :math:`z_{ij}` is the share of demand :math:`i` sent to
site :math:`j` (binary with ``single_assignment``), :math:`u_i` its unassigned share
(only with ``unassigned_penalty_min``), :math:`o_j` the load above capacity (only with
``overload_penalty``):

.. math::

    \min \sum_{ij} w_i d_{ij} z_{ij} + P_u \sum_i w_i u_i + P_o \sum_j o_j
    \quad\text{s.t.}\quad
    \sum_j z_{ij} + u_i = 1,\;
    z_{ij} \le x_j,\;
    \sum_i w_i z_{ij} \le K_j x_j + o_j,\;
    \sum_j x_j \le p

with must-open sites at :math:`x_j = 1` and closed ones left out.  As in the
p-median, a demand point no allowed site reaches at all is left out (reported as
uncoverable) and one reached only beyond the penalty pays the penalty.  Without
``unassigned_penalty_min`` everyone must be assigned: when the capacities of ``p``
sites cannot hold the demand the answer is ``INFEASIBLE`` with the reason; with it
(``motcua place`` always gives it), demand the open sites cannot hold is left
unassigned at that many minutes per unit of weight.

Method by size.  With at most :data:`CPMEDIAN_MIP_MAX_PAIRS` pairs the full model
goes to the MIP engine (hinted with the heuristic answer).  Above, no MIP:

* the start is the uncapacitated p-median's answer
  (:func:`optimizer.placement.median.solve_p_median`, a share of the time); its bound
  is a bound here too (capacities only remove plans); where the demand exceeds what
  ``p`` sites hold (every open site ends full) it gets less of the time
  (:data:`OVER_ROOM_UNCAPACITATED_SHARE`) and the sites of the Lagrangian below, priced
  at the penalty, start instead when their min-cost flow is cheaper;
* the first location-allocation moves are checked by the transportation LP
  (HiGHS, each point offered its nearest open sites); the later moves are screened by
  a min-cost flow (OR-Tools ``SimpleMinCostFlow``, :func:`flow_plan`): the
  transportation LP on every pair within reach, dossiers and minutes scaled to
  integers, a fraction of a second where the LP takes seconds; the answer is the
  better of the LP's and the best flow's shares made exact (:func:`exact_shares`) or,
  with ``single_assignment``, the MIP offered the flow's pairs; where no flow exists,
  the moves stay with the LP;
* with more than :data:`AGGREGATE_ROWS` rows (and a penalty) the sites are first
  chosen on an aggregated problem (:func:`aggregate`: rows sharing their two nearest
  sites and a band of minutes, mean minutes; solved as above from the uncapacitated
  sites, :data:`AGGREGATE_SHARE` of the time) and its multipliers, given to each
  group's rows, start the Lagrangian on the rows; every move is then screened by the
  flow (no assignment LP of the whole);
* a Lagrangian relaxation of the assignment rows gives the bound: per site a
  continuous knapsack of the demand whose price is above its travel time, the
  ``p`` best sites opened (Beasley 1993 for the capacitated p-median).  At any price
  it is at least the uncapacitated p-median's Lagrangian function (the knapsack only
  removes choices), so the ascent starts from that relaxation's multipliers
  (:func:`uncapacitated_price`; cheaper steps) or, when the demand exceeds what ``p``
  sites can hold, from every row at the penalty (:func:`start_prices`); each step keeps
  the sites' knapsack cut-offs and sorts only the items below them (:func:`_relaxed`);
* location-allocation moves (each open site moved to the site serving its assigned
  demand best, all together, else one at a time), region moves (:func:`region_moves`:
  two neighbouring open sites re-opened together by a small MIP over the sites
  nearest their demand, the rest of the plan kept), and swap moves guided by the
  Lagrangian sites and the unassigned demand, widened while none helps; the bound
  gets the time the moves leave.

The bound reported is the largest of the Lagrangian, the uncapacitated model's, the
capacities' (:func:`capacity_bound`: ``p`` sites hold at most their largest capacities,
the rest pays the penalty) and (small instances) the MIP's; ``OPTIMAL`` only when the
answer reaches it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer._mip import DEFAULT_ENGINE, SparseMip, solve_mip
from optimizer._status import SolverReport, SolveStatus, relative_gap
from optimizer.errors import InvalidInputError
from optimizer.placement.capacity import _check_capacity
from optimizer.placement.inputs import (
    BoolArray,
    FloatArray,
    IntArray,
    Matrix,
    MinutesInputs,
    Sites,
    SolveOptions,
    check_p,
    minutes_inputs,
    remaining,
)
from optimizer.placement.reassign import decimal_scale
from optimizer.placement.result import PlacementResult, finish, main_sites, restore

logger = logging.getLogger(__name__)

#: Full models with at most this many (demand, site) pairs go to the MIP engine.
CPMEDIAN_MIP_MAX_PAIRS = 60_000
#: Share of the time limit the uncapacitated p-median gets (its answer starts, its bound bounds).
UNCAPACITATED_SHARE = 0.25
#: Share of the time limit the uncapacitated Lagrangian gets to start the capacitated one.
WARM_SHARE = 0.15
#: Share of the time limit the Lagrangian bound gets (it stops sooner once converged).
LAGRANGIAN_SHARE = 0.15
#: The same when the moves are screened by the min-cost flow: the bound then gets the
#: time the moves leave (on qn-400m the moves had 16 checks in the minute otherwise).
SCREEN_LAGRANGIAN_SHARE = 0.1
#: Where the demand exceeds what ``p`` sites can hold (Phú Thọ at 1 km: 3,337 dossiers
#: a day against 1,600) the uncapacitated model's bound is far below the capacities'
#: and only its sites are used: it gets this share instead of
#: :data:`UNCAPACITATED_SHARE`, and the Lagrangian the difference on top of its own.
OVER_ROOM_UNCAPACITATED_SHARE = 0.1
#: There, the Lagrangian from the penalty gets this share before the first assignment:
#: its sites start the moves when their flow is cheaper than the uncapacitated answer's.
OVER_ROOM_START_SHARE = 0.05
#: When less than this share of the time limit is left for the moves (before the
#: reserve) once the first assignment is done, the warm start is skipped and the
#: Lagrangian gets :data:`SHORT_LAGRANGIAN_SHARE` (on qn-400m under load the first LP
#: ended at 37 s of 60: the warm start and the Lagrangian took 15.5 s, stayed below the
#: uncapacitated bound, and the moves got 5 s and 5 flows).
MOVES_FIRST_SHARE = 0.4
#: The Lagrangian's share when the moves come first (see :data:`MOVES_FIRST_SHARE`).
SHORT_LAGRANGIAN_SHARE = 0.05
#: Share of the time limit the location-allocation moves get first (large models).
RELOCATE_SHARE = 0.3
#: Share of the time limit kept back at the end (final assignment, figures).
RESERVE_SHARE = 0.1
#: Share of that reserve kept when the answer is a screening flow's (no LP after it).
SCREEN_RESERVE_SHARE = 0.3
#: Sites tried to come in (and to go out) per round of swaps checked by the LP.
SWAP_TRIES = 4
#: The same when the swaps are screened by the min-cost flow.
SCREEN_SWAP_TRIES = 12
#: The assignment LP of a set of open sites offers each demand point its nearest this many
#: (Phú Thọ at 1 km, 40 points: the LP of every reachable open site did not end in its
#: share of a loaded minute).
ASSIGN_NEAREST = 8
#: The Lagrangian steps aim this share of the way from the best bound to the answer.
AIM_SHARE = 0.25
#: Lagrangian rounds without progress before its step is halved.
STALL_ROUNDS = 20
#: Relative tolerance on objectives.
TOL = 1e-7
#: The Lagrangian's evaluations keep each site's knapsack cut-off (:func:`_relaxed`'s
#: ``memo``) once they sort at least this many items: on Phú Thọ at 1 km (6.7 million)
#: a step then took 0.3 s of CPU where it took 1.6-2.4 s; on Quảng Ninh and Lạng Sơn at
#: 1 km (steps of 0.05 s) the cut-offs cost more than they saved.
MEMO_SORT_MIN = 200_000
#: Above this many demand rows (large models with an unassigned penalty) the sites are
#: first chosen on an aggregated problem (:func:`aggregate`): on Quảng Ninh at 400 m
#: (45,406 rows, 6.7 million pairs) each assignment LP took 10-37 s of a loaded minute
#: and the moves got 2-30 checks.
AGGREGATE_ROWS = 20_000
#: The aggregated problem has at most about this many groups of rows (Quảng Ninh at
#: 1 km, 10,547 rows, gets its moves in the minute).
AGGREGATE_GROUPS = 12_000
#: Open sites one region move (:func:`region_moves`) re-opens together.
REGION_SITES = 2
#: Closed sites offered per re-opened site (the nearest to the demand it serves).
REGION_CANDIDATES = 8
#: Each demand row of a region MIP is offered its this many nearest candidates (and
#: the pairs its plan uses).
REGION_NEAREST = 6
#: Share of the moves' time left (after the relocations) the region moves get at most.
REGION_TIME_SHARE = 0.5
#: Wall seconds one region MIP gets at most.
REGION_MIP_S = 3.0
#: Share of the time limit the aggregated problem's solve gets.
AGGREGATE_SHARE = 0.4
#: Share of the time limit left after it, at least (the flows of its sites on every
#: row, the Lagrangian, the moves and the reserve; under load a flow on Quảng Ninh at
#: 400 m took 1-2 s of wall).
AFTER_AGGREGATE_SHARE = 0.3


@dataclass(frozen=True)
class Cpm:
    """The capacitated p-median left to solve.

    ``rows`` are the demand rows (of ``prob``) with at least one pair, ``w`` their
    weights; pairs ``r`` (index into ``rows``), ``c`` (site) and ``d`` (minutes), in
    row order; ``const`` the penalty paid by the rows reached only beyond it (``far``)."""

    prob: MinutesInputs
    rows: IntArray
    w: FloatArray
    r: IntArray
    c: IntArray
    d: FloatArray
    cap: FloatArray
    pen_u: float | None
    pen_o: float | None
    const: float
    far: IntArray

    @property
    def n_rows(self) -> int:
        return int(self.rows.size)


def prepare(prob: MinutesInputs, cap: FloatArray, pen_u: float | None,
            pen_o: float | None) -> Cpm:
    """The pairs of ``prob`` within the penalty, the rows that have one, the constant."""
    mins = prob.mins
    r_all = np.repeat(np.arange(mins.shape[0], dtype=np.int64), np.diff(mins.indptr))
    c_all = mins.indices.astype(np.int64)
    d_all = mins.data.astype(np.float64)
    if pen_u is not None:
        keep = d_all <= pen_u
        r_all, c_all, d_all = r_all[keep], c_all[keep], d_all[keep]
    has = np.bincount(r_all, minlength=mins.shape[0]) > 0
    reach = np.diff(mins.indptr) > 0
    far = np.flatnonzero(reach & ~has).astype(np.int64)
    rows = np.flatnonzero(has).astype(np.int64)
    local = np.full(mins.shape[0], -1, dtype=np.int64)
    local[rows] = np.arange(rows.size)
    w_all = prob.inp.weights
    const = float(w_all[far].sum()) * float(pen_u) if pen_u is not None else 0.0
    return Cpm(prob, rows, w_all[rows], local[r_all], c_all, d_all, cap, pen_u, pen_o,
               const, far)


@dataclass(frozen=True)
class Plan:
    """An answer: open sites and the pair shares ``z`` (in ``Cpm`` pair order)."""

    open_mask: BoolArray
    z: FloatArray
    objective: float
    source: str


def _loads(cpm: Cpm, z: FloatArray) -> FloatArray:
    return np.bincount(cpm.c, weights=cpm.w[cpm.r] * z,
                       minlength=cpm.prob.inp.n_sites).astype(np.float64)


def _assigned(cpm: Cpm, z: FloatArray) -> FloatArray:
    return np.bincount(cpm.r, weights=z, minlength=cpm.n_rows).clip(0.0, 1.0)


def evaluate(cpm: Cpm, open_mask: BoolArray, z: FloatArray) -> float:
    """The objective of shares ``z`` (cleaned: 0 on closed sites), recomputed from them:
    travel, unassigned penalty, overload penalty and the far rows' constant.  ``inf``
    when the plan breaks a hard rule (unassigned demand without a penalty, overload
    without one)."""
    total = max(1.0, float(cpm.w.sum()))
    unassigned = cpm.w * (1.0 - _assigned(cpm, z))
    over = np.maximum(0.0, _loads(cpm, z) - cpm.cap)
    over[~open_mask] = 0.0
    if cpm.pen_u is None and unassigned.sum() > 1e-6 * total:
        return math.inf
    if cpm.pen_o is None and over.sum() > 1e-6 * total:
        return math.inf
    value = float((cpm.w[cpm.r] * cpm.d) @ z) + cpm.const
    if cpm.pen_u is not None:
        value += cpm.pen_u * float(unassigned.sum())
    if cpm.pen_o is not None:
        value += cpm.pen_o * float(over.sum())
    return value


def _clean(cpm: Cpm, open_mask: BoolArray, z: FloatArray) -> FloatArray:
    """Shares in [0, 1], 0 below the engine's tolerance and on sites not open."""
    z = np.clip(z, 0.0, 1.0)
    z[(z < 1e-9) | ~open_mask[cpm.c]] = 0.0
    # a row's shares sum to at most 1 (engine tolerance)
    s = np.bincount(cpm.r, weights=z, minlength=cpm.n_rows)
    scale = np.where(s > 1.0, 1.0 / np.maximum(s, 1e-300), 1.0)
    return z * scale[cpm.r]


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CpmMip:
    """A (full or restricted) model: ``pairs`` are the indices of its pair variables in
    ``Cpm`` order starting at ``z0``; ``x0`` its site block over ``cand`` (-1: sites fixed
    open, no site variables)."""

    mip: SparseMip
    pairs: IntArray
    z0: int
    x0: int
    cand: IntArray


def cpm_mip(cpm: Cpm, p: int | None, *, single: bool, open_mask: BoolArray | None = None,
            every_pair: BoolArray | None = None,
            extra: IntArray | None = None) -> CpmMip | None:
    """The model of the module docstring.  With ``open_mask`` the sites are fixed (the
    transportation problem of those sites, no site variables; ``None`` when a row
    without penalty reaches none of them); ``extra`` pairs are offered besides each
    point's nearest open sites (those to open sites only)."""
    inp = cpm.prob.inp
    if open_mask is None:
        cand = np.flatnonzero(inp.allowed)
        pairs = np.arange(cpm.r.size, dtype=np.int64)
    else:
        cand = np.flatnonzero(open_mask)
        on = np.flatnonzero(open_mask[cpm.c])
        # without a penalty a restriction could leave no plan: every open site then
        pairs = on if cpm.pen_u is None else _nearest_pairs(cpm, on, ASSIGN_NEAREST)
        if every_pair is not None:  # these rows get every open site
            pairs = np.union1d(pairs, on[every_pair[cpm.r[on]]]).astype(np.int64)
        if extra is not None and extra.size:
            pairs = np.union1d(pairs, extra[open_mask[cpm.c[extra]]]).astype(np.int64)
    r, c = cpm.r[pairs], cpm.c[pairs]
    col_pos = np.full(inp.n_sites, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    n_pairs = pairs.size
    served = np.bincount(r, minlength=cpm.n_rows) > 0
    if cpm.pen_u is None and not served.all():
        return None
    mip = SparseMip()
    mip.offset = cpm.const
    x0 = -1
    if open_mask is None:
        x0 = mip.add_variables(cand.size, lb=inp.fixed_mask[cand].astype(np.float64),
                               integer=True)
    z0 = mip.add_variables(n_pairs, integer=single, objective=cpm.w[r] * cpm.d[pairs])
    k = np.arange(n_pairs, dtype=np.int64)
    rows_all = np.arange(cpm.n_rows, dtype=np.int64)
    a_rows, a_cols = [r], [z0 + k]
    if cpm.pen_u is not None:
        u0 = mip.add_variables(cpm.n_rows, objective=cpm.pen_u * cpm.w)
        a_rows.append(rows_all)
        a_cols.append(u0 + rows_all)
    # each demand point assigned once, or left unassigned at the penalty
    rr, cc = np.concatenate(a_rows), np.concatenate(a_cols)
    mip.add_rows(cpm.n_rows, rr, cc, 1.0, lb=1.0, ub=1.0)
    s = np.arange(cand.size, dtype=np.int64)
    o_r: list[IntArray] = []
    o_c: list[IntArray] = []
    n_o = 0
    if cpm.pen_o is not None:
        o0 = mip.add_variables(cand.size, ub=math.inf, objective=cpm.pen_o)
        o_r, o_c, n_o = [s], [o0 + s], cand.size
    if open_mask is None:
        # only to an open site: z_ij <= x_j
        mip.add_rows(n_pairs, np.concatenate([k, k]),
                     np.concatenate([z0 + k, x0 + col_pos[c]]),
                     np.concatenate([np.ones(n_pairs), -np.ones(n_pairs)]), ub=0.0)
        # load within capacity (plus any penalised overload)
        mip.add_rows(cand.size, np.concatenate([col_pos[c], s, *o_r]),
                     np.concatenate([z0 + k, x0 + s, *o_c]),
                     np.concatenate([cpm.w[r], -cpm.cap[cand], -np.ones(n_o)]),
                     ub=0.0)
        if p is not None:
            mip.add_rows(1, np.zeros(cand.size, dtype=np.int64), x0 + s, 1.0, ub=float(p))
    else:
        mip.add_rows(cand.size, np.concatenate([col_pos[c], *o_r]),
                     np.concatenate([z0 + k, *o_c]),
                     np.concatenate([cpm.w[r], -np.ones(n_o)]),
                     ub=cpm.cap[cand])
    return CpmMip(mip, pairs, z0, x0, cand)


def _nearest_pairs(cpm: Cpm, pairs: IntArray, k: int) -> IntArray:
    """Of ``pairs``, each row's ``k`` nearest (a restriction: the assignment LP stays
    small; its answer is feasible for the full model)."""
    order = pairs[np.lexsort((cpm.d[pairs], cpm.r[pairs]))]
    r = cpm.r[order]
    start = np.r_[0, np.flatnonzero(r[1:] != r[:-1]) + 1] if r.size else np.zeros(0, np.int64)
    rank = np.arange(r.size) - np.repeat(start, np.diff(np.r_[start, r.size]))
    return np.sort(order[rank < k]).astype(np.int64)


def _z_of(cpm: Cpm, cm: CpmMip, values: FloatArray) -> FloatArray:
    z = np.zeros(cpm.r.size)
    z[cm.pairs] = values[cm.z0:cm.z0 + cm.pairs.size]
    return z


@dataclass
class Clock:
    """One solve's timing state: the wall seconds of its last exact assignment and of
    its last screening flow.  A move is not tried when its check would not end before
    the deadline.  Kept per solve (two solves at once, as in the app, do not share it)."""

    assign_s: float = 0.0
    flow_s: float = 0.0
    flows: int = 0
    assigns: int = 0

    def fits(self, deadline: float | None, seconds: float) -> bool:
        return deadline is None or time.perf_counter() + seconds < deadline


#: The screening flow counts the demand in units of a power of ten, the smallest that
#: keeps the total within this many (whole weights and capacities stay exact; others
#: are rounded to the unit: on Quảng Ninh at 400 m, 1e-5 dossier).
FLOW_UNITS = 1_000_000_000
#: And each minute to this many integer units.
FLOW_MINUTE = 100


def flow_plan(cpm: Cpm, open_mask: BoolArray, source: str) -> Plan | None:
    """The assignment of the demand to the sites of ``open_mask`` by OR-Tools' min-cost
    flow on every (point, open site) pair within reach: the transportation LP with the
    dossiers and minutes scaled to integers (:data:`FLOW_UNITS`, :data:`FLOW_MINUTE`),
    so its objective is the LP's up to that rounding.  Used to screen moves (a fraction
    of a second where the LP takes seconds); its shares are approximate (each row's
    rounded supply), so answers are always assigned again by :func:`assign`.  ``None``
    when no assignment exists (a hard rule broken)."""
    from ortools.graph.python import min_cost_flow

    on = np.flatnonzero(open_mask[cpm.c])
    sites = np.flatnonzero(open_mask)
    n, k = cpm.n_rows, sites.size
    scale = decimal_scale(float(cpm.w.sum()), FLOW_UNITS)
    supply = np.maximum(np.rint(cpm.w * scale), 0).astype(np.int64)
    site_node = np.full(cpm.prob.inp.n_sites, -1, dtype=np.int64)
    site_node[sites] = n + np.arange(k)
    sink = n + k
    big = int(supply.sum())
    tails = [cpm.r[on], n + np.arange(k, dtype=np.int64)]
    heads = [site_node[cpm.c[on]], np.full(k, sink, dtype=np.int64)]
    caps = [supply[cpm.r[on]], np.minimum(np.rint(cpm.cap[sites] * scale), big)
            .astype(np.int64)]
    costs = [np.rint(cpm.d[on] * FLOW_MINUTE).astype(np.int64), np.zeros(k, dtype=np.int64)]
    if cpm.pen_u is not None:
        rows = np.arange(n, dtype=np.int64)
        tails.append(rows)
        heads.append(np.full(n, sink, dtype=np.int64))
        caps.append(supply)
        costs.append(np.full(n, round(cpm.pen_u * FLOW_MINUTE), dtype=np.int64))
    if cpm.pen_o is not None:
        tails.append(n + np.arange(k, dtype=np.int64))
        heads.append(np.full(k, sink, dtype=np.int64))
        caps.append(np.full(k, big, dtype=np.int64))
        costs.append(np.full(k, round(cpm.pen_o * FLOW_MINUTE), dtype=np.int64))
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(np.concatenate(tails), np.concatenate(heads),
                                             np.concatenate(caps), np.concatenate(costs))
    mcf.set_nodes_supplies(np.arange(n + k + 1, dtype=np.int64),
                           np.r_[supply, np.zeros(k, dtype=np.int64), -big])
    if mcf.solve() != mcf.OPTIMAL:
        return None
    flows = mcf.flows(np.arange(on.size, dtype=np.int64))
    z = np.zeros(cpm.r.size)
    z[on] = flows / np.maximum(supply[cpm.r[on]], 1)
    value = mcf.optimal_cost() / (scale * FLOW_MINUTE) + cpm.const
    return Plan(open_mask.copy(), z, float(value), source)


def assign(cpm: Cpm, open_mask: BoolArray, *, single: bool, options: SolveOptions,
           deadline: float | None, source: str, clock: Clock | None = None,
           extra: IntArray | None = None) -> Plan | None:
    """The best assignment to the sites of ``open_mask`` (the transportation LP; a MIP
    with ``single``) offering each point its nearest open sites and the ``extra`` pairs
    (those a screening flow used), ``None`` when there is none (in time).  Its wall
    seconds go to ``clock``."""
    t0 = time.perf_counter()
    clock = Clock() if clock is None else clock
    clock.assigns += 1
    cm = cpm_mip(cpm, None, single=single, open_mask=open_mask, extra=extra)
    if cm is None:
        return None
    sol = solve_mip(cm.mip, engine=options.engine, time_limit_s=remaining(deadline),
                    seed=options.seed, threads=options.threads)
    if sol.values is None:
        clock.assign_s = time.perf_counter() - t0
        return None
    z = _clean(cpm, open_mask, _z_of(cpm, cm, sol.values))
    short = _assigned(cpm, z) < 1.0 - 1e-6
    if short.any() and cpm.pen_u is not None and not options.stopped:
        # rows the nearest open sites could not hold get every open site within reach
        # (at 400 m the 8 nearest were often all full: 21,569 against 18,126)
        cm2 = cpm_mip(cpm, None, single=single, open_mask=open_mask, every_pair=short,
                      extra=extra)
        if cm2 is not None and cm2.pairs.size > cm.pairs.size:
            sol2 = solve_mip(cm2.mip, engine=options.engine, time_limit_s=remaining(deadline),
                             seed=options.seed, threads=options.threads)
            if sol2.values is not None:
                z2 = _clean(cpm, open_mask, _z_of(cpm, cm2, sol2.values))
                if evaluate(cpm, open_mask, z2) < evaluate(cpm, open_mask, z):
                    z = z2
    clock.assign_s = time.perf_counter() - t0
    if single:
        z = np.where(z > 0.5, 1.0, 0.0)
    value = evaluate(cpm, open_mask, z)
    if not math.isfinite(value):
        return None
    return Plan(open_mask.copy(), z, value, source)


def greedy_assign(cpm: Cpm, open_mask: BoolArray, *, single: bool, source: str) -> Plan | None:
    """A quick assignment to ``open_mask`` (the fallback when the LP finds none in time):
    pairs by travel time, each taking what its site has room for (all or nothing with
    ``single``); what is left goes to its nearest open site when overload is allowed and
    cheaper than the penalty, else stays unassigned.  ``None`` when that breaks a hard
    rule (no penalty and demand left)."""
    on = np.flatnonzero(open_mask[cpm.c])
    order = on[np.argsort(cpm.d[on], kind="stable")]
    room = cpm.cap.copy()
    left = cpm.w.copy()
    z = np.zeros(cpm.r.size)
    for k in order.tolist():
        i, j = int(cpm.r[k]), int(cpm.c[k])
        if left[i] <= 0.0 or room[j] <= 0.0:
            continue
        take = left[i] if left[i] <= room[j] else (0.0 if single else room[j])
        if take > 0.0:
            z[k] += take / cpm.w[i]
            left[i] -= take
            room[j] -= take
    if cpm.pen_o is not None:
        pen = math.inf if cpm.pen_u is None else cpm.pen_u
        for k in order.tolist():
            i = int(cpm.r[k])
            # with single assignment only a point with nothing assigned yet
            whole = not single or left[i] >= cpm.w[i]
            if left[i] > 0.0 and whole and cpm.d[k] + cpm.pen_o < pen:
                z[k] += left[i] / cpm.w[i]
                left[i] = 0.0
    z = np.clip(z, 0.0, 1.0)
    value = evaluate(cpm, open_mask, z)
    if not math.isfinite(value):
        return None
    return Plan(open_mask.copy(), z, value, source)


@dataclass
class Checker:
    """How one solve checks a set of open sites during its moves: by the screening
    flow (:func:`flow_plan`) when ``screen``, else by the exact assignment.  Plans of
    one checker are compared with each other only; :meth:`exact` assigns a screened
    plan's sites by the LP (offered the pairs the flow used) for the answer."""

    cpm: Cpm
    single: bool
    options: SolveOptions
    screen: bool
    clock: Clock

    def seconds(self) -> float:
        """The expected wall seconds of one check."""
        return self.clock.flow_s if self.screen else self.clock.assign_s

    def check(self, mask: BoolArray, deadline: float | None, source: str) -> Plan | None:
        if self.screen:
            t0 = time.perf_counter()
            got = flow_plan(self.cpm, mask, source)
            self.clock.flow_s = time.perf_counter() - t0
            self.clock.flows += 1
            return got
        return assign(self.cpm, mask, single=self.single, options=self.options,
                      deadline=deadline, source=source, clock=self.clock)

    def exact(self, plan: Plan, deadline: float | None) -> Plan | None:
        """``plan`` as an answer when it was screened: with shares allowed, its flow
        made exact (:func:`exact_shares`: the flow optimises the rounded LP, on qn-400m
        24,674.90 against the LP's 24,674.98 in 0.4 s against 7-18 s); else (single
        assignment, or a flow the rounding left a hair outside a hard rule) assigned
        again by the LP (MIP with single assignment) offered the pairs the flow used;
        the greedy assignment if that finds none."""
        if not self.screen:
            return plan
        if not self.single:
            made = exact_shares(self.cpm, plan)
            if made is not None:
                return made
        used = np.flatnonzero(plan.z > 0.0).astype(np.int64)
        got = assign(self.cpm, plan.open_mask, single=self.single, options=self.options,
                     deadline=deadline, source=plan.source, clock=self.clock, extra=used)
        if got is None:
            got = greedy_assign(self.cpm, plan.open_mask, single=self.single,
                                source=f"{plan.source}, greedy assignment")
        return got


def exact_shares(cpm: Cpm, plan: Plan) -> Plan | None:
    """A screening flow's shares as an answer: cleaned (0 on closed sites, each row's
    shares summing to at most 1), each site over its capacity by the flow's rounding
    scaled back to it (without an overload penalty), the objective recomputed from the
    shares by :func:`evaluate`; ``None`` when that breaks a hard rule."""
    z = _clean(cpm, plan.open_mask, plan.z)
    if cpm.pen_o is None:
        load = _loads(cpm, z)
        factor = np.where(load > cpm.cap, cpm.cap / np.maximum(load, 1e-300), 1.0)
        z = z * factor[cpm.c]
    value = evaluate(cpm, plan.open_mask, z)
    if not math.isfinite(value):
        return None
    return Plan(plan.open_mask.copy(), z, value, plan.source)


# ---------------------------------------------------------------------------
# the Lagrangian bound
# ---------------------------------------------------------------------------


@dataclass
class Lagrange:
    """The best Lagrangian bound so far (model terms, the constant included), its
    multipliers (per unit of weight) and per site the value of opening it there."""

    bound: float
    price: FloatArray
    site_value: FloatArray
    chosen: BoolArray
    iterations: int = 0
    #: the sites' knapsack cut-offs of its last evaluation (:func:`_relaxed`): a later
    #: ascent from here starts with them (its first step then costs what the others do)
    memo: dict[str, FloatArray] = field(default_factory=dict)


def _relaxed(cpm: Cpm, price: FloatArray, p: int, memo: dict[str, FloatArray] | None = None,
             ) -> tuple[float, FloatArray, FloatArray, BoolArray]:
    """The Lagrangian function at ``price`` (per unit of weight): its value, the
    subgradient (per row), the value per site and the sites chosen.

    ``memo`` (a dict the caller keeps between calls, as :func:`lagrangian` does) holds
    the last price and each site's knapsack cut-off (the ratio of its item that fills
    it, 0 where everything fits): only the items below the cut-off moved by the largest
    price change are then sorted, and the sites whose items so chosen do not fill them
    get all theirs again, so the value is the same as without it (on Phú Thọ at 1 km
    the full sort of 6.7 million pairs took 0.85 s of a 1.6 s evaluation)."""
    inp = cpm.prob.inp
    n_sites = inp.n_sites
    # (lean on memory: on Phú Thọ at 1 km every one of 6.7 million pairs is below the
    # penalty start's price, and each array here is 54 MB)
    ratio = cpm.d - price[cpm.r]
    fast = memo is not None and cpm.pen_o is None and "cut" in memo
    if fast and memo is not None:
        # an item's ratio moves by at most the largest price change: every item that
        # filled a site's knapsack before is below its old cut-off plus that
        shift = float(np.max(np.abs(price - memo["price"]))) if price.size else 0.0
        thr = np.minimum(memo["cut"] + shift * (1.0 + 1e-9) + 1e-9, 0.0)
        neg = np.flatnonzero(ratio < thr[cpm.c])
    else:
        neg = np.flatnonzero(ratio < 0.0)
    q_all = ratio[neg]
    del ratio
    if fast:
        # the sites whose items so chosen do not fill them (and that have more below
        # 0) get all their negative items
        got = np.bincount(cpm.c[neg], weights=cpm.w[cpm.r[neg]], minlength=n_sites)
        short = (got < cpm.cap) & (thr < 0.0)
        if short.any():
            at = np.flatnonzero(short[cpm.c])
            q_at = cpm.d[at] - price[cpm.r[at]]
            more = (q_at < 0.0) & (q_at >= thr[cpm.c[at]])
            neg = np.r_[neg, at[more]]
            q_all = np.r_[q_all, q_at[more]]
            del at, q_at, more
    span = float(price.max()) if price.size else 0.0
    value = float(cpm.w @ price) + cpm.const
    unit_u = np.zeros(cpm.n_rows)
    if cpm.pen_u is not None:
        # u_i = 1 pays the penalty instead of the price
        take_u = price > cpm.pen_u
        unit_u[take_u] = 1.0
        value += float(cpm.w[take_u] @ (cpm.pen_u - price[take_u]))
    site_value = np.zeros(n_sites)
    cut = np.zeros(n_sites)
    z = np.zeros(neg.size)
    if neg.size:
        c_n, r_n, q_n = cpm.c[neg], cpm.r[neg], q_all
        w_n = cpm.w[r_n]
        # a site whose items all fit takes them whole; only the others are sorted, by
        # site, then by ratio (q in (-price, 0), so one float key orders both)
        over = np.bincount(c_n, weights=w_n, minlength=n_sites) > cpm.cap
        frac = np.ones(neg.size)
        tight = np.flatnonzero(over[c_n])
        if tight.size:
            key = c_n[tight] * (2.0 * span + 1.0)
            key += q_n[tight]
            order = tight[np.argsort(key)]
            del key
            c_s, w_s = c_n[order], w_n[order]
            before = np.cumsum(w_s)
            before -= w_s  # the weight ahead of each item in the whole sorted list
            starts = np.flatnonzero(np.r_[True, c_s[1:] != c_s[:-1]])
            before -= np.repeat(before[starts], np.diff(np.r_[starts, c_s.size]))
            room = cpm.cap[c_s]
            room -= before
            if memo is not None and (fast or tight.size >= MEMO_SORT_MIN):
                # each tight site's cut-off: the ratio of the item that fills it
                fills = np.flatnonzero((room > 0.0) & (room <= w_s))
                cut[c_s[fills]] = q_n[order[fills]]
                lone = over & (cpm.cap <= 0.0)  # nothing fits: every item is beyond
                cut[lone] = -np.inf
            del before, tight
            room /= np.maximum(w_s, 1e-300)
            frac[order] = np.clip(room, 0.0, 1.0)
            del room, order, c_s, w_s
        contrib = w_n * q_n
        contrib *= frac
        z = frac.copy() if cpm.pen_o is not None else frac
        if cpm.pen_o is not None:
            # beyond capacity, an item still pays when its saving exceeds the overload cost
            extra = q_n + cpm.pen_o < 0.0
            z[extra] = 1.0
            contrib[extra] += w_n[extra] * (1.0 - frac[extra]) * (q_n[extra] + cpm.pen_o)
        site_value = np.bincount(c_n, weights=contrib, minlength=n_sites).astype(np.float64)
    if memo is not None and cpm.pen_o is None and (fast or cut.any()):
        memo["cut"], memo["price"] = cut, price.copy()
    elif memo is not None:
        memo.clear()
    fixed = inp.fixed_mask
    chosen = fixed.copy()
    value += float(site_value[fixed].sum())
    free = np.flatnonzero(inp.allowed & ~fixed & (site_value < 0.0))
    k = max(0, p - int(fixed.sum()))
    if free.size and k:
        pick = free[np.argsort(site_value[free], kind="stable")[:k]]
        chosen[pick] = True
        value += float(site_value[pick].sum())
    # subgradient of the assignment rows: 1 - u_i - sum_j z_ij (chosen sites only)
    g = 1.0 - unit_u
    if neg.size:
        on = chosen[c_n]
        g -= np.bincount(r_n[on], weights=z[on], minlength=cpm.n_rows)
    return value, g, site_value, chosen


def lagrangian(cpm: Cpm, p: int, upper: float, start_price: FloatArray | list[FloatArray], *,
               deadline: float | None, max_iter: int = 3000,
               stop: threading.Event | None = None,
               caps: FloatArray | None = None,
               memo: dict[str, FloatArray] | None = None) -> Lagrange:
    """Subgradient ascent (Polyak steps towards ``upper``, the step halved after
    :data:`STALL_ROUNDS` rounds without progress) on the relaxation of the assignment rows,
    from the best of the ``start_price`` vectors given (each clipped to the caps)."""
    floor = _start_price(cpm, None)
    if caps is None:
        caps = np.full(cpm.n_rows, math.inf if cpm.pen_u is None else cpm.pen_u)
    caps = np.maximum(caps, floor)
    cpm = _within_caps(cpm, caps)
    starts = start_price if isinstance(start_price, list) else [start_price]
    price = np.clip(starts[0], floor, caps)
    memo = {} if memo is None else memo  # each site's cut-off: cheaper steps
    value, g, sv, chosen = _relaxed(cpm, price, p, memo)
    best = Lagrange(value, price.copy(), sv, chosen, 1, memo)
    for start in starts[1:]:
        if (deadline is not None and time.perf_counter() >= deadline) or (
                stop is not None and stop.is_set()):
            break
        other = np.clip(start, floor, caps)
        o_value, o_g, o_sv, o_chosen = _relaxed(cpm, other, p, memo)
        if o_value > best.bound:
            price, value, g = other, o_value, o_g
            best = Lagrange(value, price.copy(), o_sv, o_chosen, 1, memo)
    theta, stall = 1.0, 0
    w = cpm.w
    for it in range(max_iter):
        if (deadline is not None and time.perf_counter() >= deadline) or (
                stop is not None and stop.is_set()):
            break
        gap = upper - value if math.isfinite(upper) else max(1.0, abs(value)) * 0.05
        norm = float((w * g) @ g)
        if norm <= 1e-18 or (math.isfinite(upper) and gap <= TOL * max(1.0, abs(upper))):
            break
        if AIM_SHARE < 1.0 and math.isfinite(upper):
            gap = max(best.bound + AIM_SHARE * (upper - best.bound) - value, 0.0)
        # each row's price (minutes) moves by step * g_i: the function's slope along g
        # is sum_i w_i g_i^2, so this step would close theta times the gap if linear
        # (on Quảng Ninh at 1 km: 16,000 in 500 steps, against 9,600 along w_i g_i)
        step = theta * max(gap, 1e-9) / norm
        price = price + step * g
        # a price above the penalty only lowers the function (the row would rather be
        # left unassigned), and one below the nearest minutes only lowers it too
        price = np.clip(price, floor, caps)
        value, g, sv, chosen = _relaxed(cpm, price, p, memo)
        best.iterations = it + 2
        if value > best.bound + TOL * max(1.0, abs(best.bound)):
            best.bound, best.price, best.site_value, best.chosen = value, price.copy(), sv, chosen
            stall = 0
        else:
            stall += 1
            if stall >= STALL_ROUNDS:
                theta /= 2.0
                stall = 0
                if theta < 1e-4:
                    break
    return best


def uncapacitated_price(cpm: Cpm, p: int, upper: float, *, deadline: float | None,
                        stop: threading.Event | None = None) -> FloatArray:
    """Per row and unit of weight, the multipliers the uncapacitated p-median's
    Lagrangian (:func:`optimizer._pmedian.lagrangian_bound`, on these pairs, from the
    nearest minutes, aiming at ``upper`` and stopping there) reaches by ``deadline``.  At any price the
    capacitated function is at least the uncapacitated one (a site's continuous
    knapsack only removes choices from it), so these start the capacitated ascent at or
    above the uncapacitated bound; its steps are several times cheaper than the
    capacitated ones (no sort per site)."""
    from optimizer import _pmedian as pm

    inp = cpm.prob.inp
    near = _start_price(cpm, None)
    tail = np.full(cpm.n_rows, math.inf if cpm.pen_u is None else cpm.pen_u)
    # the pairs are in row order (``prepare`` keeps the matrix's order)
    indptr = np.r_[0, np.cumsum(np.bincount(cpm.r, minlength=cpm.n_rows))]
    m = sp.csr_matrix((cpm.d, cpm.c, indptr), shape=(cpm.n_rows, inp.n_sites))
    pairs = pm.Pairs.of(m).weighted(cpm.w)
    lg, _, _ = pm.lagrangian_bound(pairs, cpm.w, tail, p, inp.fixed_mask, inp.allowed,
                                   upper - cpm.const, cpm.w * near, deadline=deadline,
                                   stop=stop)
    price: FloatArray = np.where(cpm.w > 0.0, lg.lam / np.maximum(cpm.w, 1e-300), near)
    return price


def start_prices(cpm: Cpm, p: int, warm: FloatArray | None,
                 plan: Plan | None) -> list[FloatArray]:
    """Where the capacitated ascent may start (:func:`lagrangian` takes the best, the
    first even past its deadline): the uncapacitated multipliers ``warm`` (the nearest
    minutes without them); and, when the demand exceeds what ``p`` sites can hold at
    most (as on Phú Thọ at 1 km, 3,337 dossiers a day against 1,600), first every row
    at the penalty (there 320,835 at once, against the capacities' bound of 315,103),
    then ``warm`` with the penalty on the rows ``plan`` leaves (partly) unassigned."""
    base = warm if warm is not None else _start_price(cpm, None)
    if cpm.pen_u is None or float(cpm.w.sum()) <= _room(cpm, p):
        return [base]
    out = [np.full(cpm.n_rows, cpm.pen_u)]
    if plan is not None:
        short = _assigned(cpm, plan.z) < 1.0 - 1e-9
        if short.any():
            out.append(np.where(short, cpm.pen_u, base))
    out.append(base)
    return out


def _within_caps(cpm: Cpm, caps: FloatArray) -> Cpm:
    """``cpm`` without the pairs at or beyond their row's price cap."""
    keep = cpm.d < caps[cpm.r]
    if keep.all():  # (no copy: 160 MB on Phú Thọ at 1 km)
        return cpm
    return replace(cpm, r=cpm.r[keep], c=cpm.c[keep], d=cpm.d[keep])


def _start_price(cpm: Cpm, plan: Plan | None) -> FloatArray:
    """Per row, what the plan charges it per unit of weight (its minutes, the penalty
    for its unassigned share); the nearest site's minutes without a plan."""
    near = np.full(cpm.n_rows, np.inf)
    np.minimum.at(near, cpm.r, cpm.d)
    if plan is None:
        return near
    paid = np.bincount(cpm.r, weights=cpm.d * plan.z, minlength=cpm.n_rows).astype(np.float64)
    left = 1.0 - _assigned(cpm, plan.z)
    if cpm.pen_u is not None:
        paid += left * cpm.pen_u
    out: FloatArray = np.maximum(paid, near)
    return out


# ---------------------------------------------------------------------------
# the heuristic
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Groups:
    """Rows of a :class:`Cpm` grouped for an aggregated problem: ``of_row`` each row's
    group, ``mins`` (group x site) the weighted mean minutes of the members (a member
    without the pair counted at the penalty), ``w`` the groups' summed weights."""

    of_row: IntArray
    mins: sp.csr_matrix
    w: FloatArray

    @property
    def n_groups(self) -> int:
        return int(self.w.size)


def aggregate(cpm: Cpm, target: int) -> Groups:
    """Group the rows that share their nearest and second-nearest site and whose
    nearest minutes fall in the same band, the bands 0.25 min wide and doubled until at
    most ``target`` groups remain (or one band holds every row).  Without coordinates,
    this keeps together points on the same side of the same site at about the same
    distance.  The aggregated problem is only a guide to the sites (its figures are not
    the problem's: a mean is not a bound); needs an unassigned penalty."""
    assert cpm.pen_u is not None
    n_sites, n = cpm.prob.inp.n_sites, cpm.n_rows
    starts, d1, first = _row_nearest(cpm)
    j1 = cpm.c[first]
    rest = cpm.d.copy()
    rest[first] = np.inf
    d2 = np.minimum.reduceat(rest, starts)
    second = np.flatnonzero(rest == d2[cpm.r])
    del rest
    second = second[np.r_[True, cpm.r[second[1:]] != cpm.r[second[:-1]]]]
    # (a row with one pair finds its first again, at inf: no second site)
    j2 = np.where(np.isfinite(d2), cpm.c[second], -1)
    sites_key = j1 * (n_sites + 1) + (j2 + 1)
    width, top = 0.25, float(d1.max(initial=0.0))
    while True:
        band = np.floor(d1 / width).astype(np.int64)
        _, g = np.unique(sites_key * (int(band.max(initial=0)) + 1) + band,
                         return_inverse=True)
        g = g.ravel().astype(np.int64)
        if int(g.max(initial=-1)) + 1 <= target or width > top:
            break
        width *= 2.0
    n_groups = int(g.max(initial=-1)) + 1
    wg = np.bincount(g, weights=cpm.w, minlength=n_groups).astype(np.float64)
    # per (group, site): the members' weight with the pair and their weighted minutes
    # (one sparse product; minutes + 1 keeps every entry positive, so both halves
    # have the same pattern)
    to_group = sp.csr_matrix((cpm.w, (g, np.arange(n))), shape=(n_groups, n))
    indptr = np.r_[0, np.cumsum(np.bincount(cpm.r, minlength=n))]
    both = sp.hstack([sp.csr_matrix((cpm.d + 1.0, cpm.c, indptr), shape=(n, n_sites)),
                      sp.csr_matrix((np.ones(cpm.r.size), cpm.c, indptr),
                                    shape=(n, n_sites))], format="csr")
    prod = (to_group @ both).tocsr()
    del both, to_group
    prod.sort_indices()
    travel, held = prod[:, :n_sites], prod[:, n_sites:]
    travel.sort_indices()
    held.sort_indices()
    gr = np.repeat(np.arange(n_groups), np.diff(held.indptr))
    mean = (travel.data - held.data + (wg[gr] - held.data).clip(0.0) * cpm.pen_u) / \
        np.maximum(wg[gr], 1e-300)
    mins = sp.csr_matrix((np.minimum(mean, cpm.pen_u), held.indices, held.indptr),
                         shape=(n_groups, n_sites))
    return Groups(g, mins, wg)


def _fill(cpm: Cpm, mask: BoolArray, p: int, site_value: FloatArray) -> BoolArray:
    """Open more sites, up to ``p``, the best by Lagrangian value first."""
    inp = cpm.prob.inp
    mask = mask | inp.fixed_mask
    k = p - int(mask.sum())
    free = np.flatnonzero(inp.allowed & ~mask)
    if k > 0 and free.size:
        mask = mask.copy()
        mask[free[np.argsort(site_value[free], kind="stable")[:k]]] = True
    return mask


def relocate(cpm: Cpm, best: Plan, checker: Checker, deadline: float | None) -> Plan:
    """Location-allocation (Cooper's alternating method, with capacities): move each
    free open site to the allowed closed site that serves the demand now assigned to it
    at the least travel (no larger load than that site's capacity), then assign again
    by ``checker``; repeat while it helps."""
    options = checker.options
    inp = cpm.prob.inp
    gain = _gain(cpm)
    while not options.stopped and (deadline is None or time.perf_counter() < deadline):
        mask = best.open_mask
        free_open = np.flatnonzero(mask & ~inp.fixed_mask)
        if free_open.size == 0:
            break
        saving, load = _served_saving(cpm, best, free_open, gain)
        ok = inp.allowed & ~mask
        fits = cpm.cap[None, :] >= load[:, None] - 1e-9
        if cpm.pen_o is not None:
            fits[:] = True
        here = saving[np.arange(free_open.size), free_open]
        gain_move = np.where(ok[None, :] & fits, saving - here[:, None], -np.inf)
        trial = mask.copy()
        taken = np.zeros(inp.n_sites, dtype=bool)
        moved = 0
        for a in np.argsort(-gain_move.max(axis=1), kind="stable"):
            row = np.where(taken, -np.inf, gain_move[a])
            k = int(np.argmax(row))
            if row[k] > TOL * max(1.0, abs(best.objective)):
                trial[free_open[a]], trial[k] = False, True
                taken[k] = True
                moved += 1
        if moved == 0 or not checker.clock.fits(deadline, checker.seconds()):
            break
        got = checker.check(trial, deadline, "relocation")
        if got is None or got.objective >= best.objective - TOL * max(1.0, abs(best.objective)):
            if not checker.screen:
                break
            # screened: the moves one at a time, the largest gains first
            got = _one_relocation(best, free_open, gain_move, checker, deadline)
            if got is None:
                break
        best = got
    return best


def _one_relocation(best: Plan, free_open: IntArray, gain_move: FloatArray, checker: Checker,
                    deadline: float | None) -> Plan | None:
    """The first single move of :func:`relocate`'s (an open site to one of its
    :data:`SWAP_TRIES` best closed sites, largest gains first) that ``checker`` finds
    better, ``None`` if none (in time)."""
    tol = TOL * max(1.0, abs(best.objective))
    top = np.argsort(-gain_move, axis=1, kind="stable")[:, :SWAP_TRIES]
    tries = [(float(gain_move[a, k]), a, int(k)) for a in range(free_open.size)
             for k in top[a] if gain_move[a, k] > tol]
    for _, a, k in sorted(tries, key=lambda t: -t[0]):
        if checker.options.stopped or not checker.clock.fits(deadline, checker.seconds()):
            return None
        trial = best.open_mask.copy()
        trial[free_open[a]], trial[k] = False, True
        got = checker.check(trial, deadline, "relocation")
        if got is not None and got.objective < best.objective - tol:
            return got
    return None


def _far(cpm: Cpm) -> float:
    """The minutes a pair beyond reach counts at: the penalty, or twice the longest
    minutes without one."""
    return cpm.pen_u if cpm.pen_u is not None else 2.0 * float(cpm.d.max(initial=0.0)) + 1.0


def _gain(cpm: Cpm) -> sp.csr_matrix:
    """(row x site) the saving of each reachable site against :func:`_far` (far - d)."""
    return sp.csr_matrix((_far(cpm) - cpm.d, (cpm.r, cpm.c)),
                         shape=(cpm.n_rows, cpm.prob.inp.n_sites))


def _served_saving(cpm: Cpm, plan: Plan, sites: IntArray, gain: sp.csr_matrix,
                   ) -> tuple[FloatArray, FloatArray]:
    """For the demand ``plan`` sends to each of ``sites``: its saving at every site
    (``Z^T diag(w) gain``, sites x every site) and its load."""
    pos = np.full(cpm.prob.inp.n_sites, -1, dtype=np.int64)
    pos[sites] = np.arange(sites.size)
    wz = cpm.w[cpm.r] * plan.z
    sel = (pos[cpm.c] >= 0) & (wz > 0)
    zt = sp.csr_matrix((wz[sel], (pos[cpm.c[sel]], cpm.r[sel])),
                       shape=(sites.size, cpm.n_rows))
    return np.asarray((zt @ gain).todense()), np.asarray(zt.sum(axis=1)).ravel()


def _region_minutes(cpm: Cpm, plan: Plan, open_sites: IntArray,
                    gain: sp.csr_matrix) -> FloatArray:
    """(open site x site) the mean minutes from the demand ``plan`` now sends to each
    of ``open_sites`` to every site (a pair beyond reach counted at :func:`_far`): how
    near each site is to what an open site serves; ``gain``: :func:`_gain`."""
    far = _far(cpm)
    saving, load = _served_saving(cpm, plan, open_sites, gain)
    out: FloatArray = far - saving / np.maximum(load, 1e-300)[:, None]
    out[load <= 0.0] = far
    return out


def region_mip(cpm: Cpm, plan: Plan, free: IntArray, cand: IntArray, options: SolveOptions,
               deadline: float | None, nearest: IntArray | None = None,
               check_s: float = 0.0) -> BoolArray | None:
    """The open sites of ``plan`` after re-opening its open sites ``free`` among
    ``cand`` (``free`` included) by a small MIP: the demand ``plan`` sends to ``free``
    (and, with a penalty, the unassigned share of the rows whose nearest site is in
    ``cand``) assigned to at most ``len(free)`` sites of ``cand`` within their
    capacities (the capacity rows alone link the shares to the sites: faster than with
    each pair's link too, on Quảng Ninh at 1 km 0.3-0.4 s of CPU against 1.1 s), each
    row offered its :data:`REGION_NEAREST` nearest of them; every other share stays.  ``None`` when the MIP finds no plan cheaper for that demand
    than ``plan``'s own (in time) or keeps the same sites.  Only proposes sites: the
    caller checks them by the assignment of every row.  ``nearest``: each row's nearest
    site (:func:`_nearest_site`), computed when not given; ``check_s``: the seconds kept
    before ``deadline`` for the caller's check."""
    inp = cpm.prob.inp
    if cpm.n_rows == 0 or free.size == 0:
        return None
    in_free = np.zeros(inp.n_sites, dtype=bool)
    in_free[free] = True
    in_cand = np.zeros(inp.n_sites, dtype=bool)
    in_cand[cand] = True
    # each row's amount to place: its shares at the freed sites, and its unassigned
    # share when its nearest site is a candidate
    amount: FloatArray = np.bincount(cpm.r, weights=plan.z * in_free[cpm.c],
                                     minlength=cpm.n_rows).astype(np.float64)
    if cpm.pen_u is not None:
        if nearest is None:
            nearest = _nearest_site(cpm)
        amount += np.where(in_cand[nearest], 1.0 - _assigned(cpm, plan.z), 0.0)
    amount = np.clip(amount, 0.0, 1.0) * cpm.w
    rows: IntArray = np.flatnonzero(amount > TOL * max(1.0, float(cpm.w.sum())))
    if rows.size == 0:
        return None
    local = np.full(cpm.n_rows, -1, dtype=np.int64)
    local[rows] = np.arange(rows.size)
    pairs = np.flatnonzero((local[cpm.r] >= 0) & in_cand[cpm.c])
    # each row's nearest candidates, and the pairs the plan uses now (its hint)
    at_free = in_free[cpm.c] & (local[cpm.r] >= 0)
    used = np.flatnonzero(at_free & (plan.z > 0.0))
    pairs = np.union1d(_nearest_pairs(cpm, pairs, REGION_NEAREST), used).astype(np.int64)
    a, r, c = amount[rows], local[cpm.r[pairs]], cpm.c[pairs]
    col = np.full(inp.n_sites, -1, dtype=np.int64)
    col[cand] = np.arange(cand.size)
    n, k, m = rows.size, pairs.size, cand.size
    # what plan pays for this demand now: its minutes at the freed sites, the penalty
    # for the unassigned share taken in
    now = float((cpm.w[cpm.r[at_free]] * cpm.d[at_free]) @ plan.z[at_free])
    held = np.bincount(local[cpm.r[at_free]], weights=cpm.w[cpm.r[at_free]]
                       * plan.z[at_free], minlength=n)
    mip = SparseMip()
    x0 = mip.add_variables(m, integer=True)
    z0 = mip.add_variables(k, objective=a[r] * cpm.d[pairs])
    kk = np.arange(k, dtype=np.int64)
    nn = np.arange(n, dtype=np.int64)
    ss = np.arange(m, dtype=np.int64)
    if cpm.pen_o is not None:  # the freed sites' overload is all this demand's
        over = _loads(cpm, plan.z * in_free[cpm.c])[free] - cpm.cap[free]
        now += cpm.pen_o * float(over.clip(0.0).sum())
    if cpm.pen_u is not None:
        now += cpm.pen_u * float((a - held).clip(0.0).sum())
        u0 = mip.add_variables(n, objective=cpm.pen_u * a)
        mip.add_rows(n, np.r_[r, nn], np.r_[z0 + kk, u0 + nn], 1.0, lb=1.0, ub=1.0)
    else:
        mip.add_rows(n, r, z0 + kk, 1.0, lb=1.0, ub=1.0)
    # load within capacity (plus any penalised overload)
    cap_r, cap_c, cap_v = [col[c], ss], [z0 + kk, x0 + ss], [a[r], -cpm.cap[cand]]
    if cpm.pen_o is not None:
        o0 = mip.add_variables(m, ub=math.inf, objective=cpm.pen_o)
        cap_r.append(ss)
        cap_c.append(o0 + ss)
        cap_v.append(-np.ones(m))
        # overload allowed, the capacity row no longer shuts a closed site: all of this
        # demand at most, only to an open one
        mip.add_rows(m, np.r_[col[c], ss], np.r_[z0 + kk, x0 + ss],
                     np.r_[a[r], -np.full(m, float(a.sum()))], ub=0.0)
    mip.add_rows(m, np.concatenate(cap_r), np.concatenate(cap_c), np.concatenate(cap_v), ub=0.0)
    mip.add_rows(1, np.zeros(m, dtype=np.int64), x0 + ss, 1.0, ub=float(free.size))
    # the hint: the plan itself (the freed sites open, its shares of this demand)
    hint = np.zeros(mip.n_vars)
    hint[x0 + col[free]] = 1.0
    hint[z0:z0 + k] = cpm.w[cpm.r[pairs]] * plan.z[pairs] * in_free[c] / a[r]
    if cpm.pen_u is not None:
        hint[u0:u0 + n] = (1.0 - held / a).clip(0.0, 1.0)
    limit = REGION_MIP_S
    if deadline is not None:  # (the check of its answer kept after it)
        limit = min(limit, deadline - time.perf_counter() - check_s)
    if limit <= 0.0:
        return None
    sol = solve_mip(mip, engine=options.engine, time_limit_s=limit, seed=options.seed,
                    threads=options.threads, hint=hint)
    logger.debug("region MIP: %d rows, %d sites, %d pairs: %s %.6g against %.6g in %.2f s",
                 n, m, k, sol.report.status.value, sol.report.objective, now,
                 sol.report.wall_time_s)
    if sol.values is None or sol.report.objective >= now - TOL * max(1.0, abs(now)):
        return None
    mask = plan.open_mask & ~in_free
    mask[cand[sol.values[x0:x0 + m] > 0.5]] = True
    if np.array_equal(mask, plan.open_mask):
        return None
    return mask


def _row_nearest(cpm: Cpm) -> tuple[IntArray, FloatArray, IntArray]:
    """Per row (the pairs are in row order and every row has one, ``prepare``): where
    its pairs start, its nearest minutes and its first pair at those minutes."""
    starts = np.r_[0, np.flatnonzero(np.diff(cpm.r)) + 1]
    d1 = np.minimum.reduceat(cpm.d, starts)
    first = np.flatnonzero(cpm.d == d1[cpm.r])
    first = first[np.r_[True, cpm.r[first[1:]] != cpm.r[first[:-1]]]]
    return starts, d1, first


def _nearest_site(cpm: Cpm) -> IntArray:
    """Per row, its nearest site."""
    out: IntArray = cpm.c[_row_nearest(cpm)[2]]
    return out


def region_moves(cpm: Cpm, best: Plan, checker: Checker, deadline: float | None) -> Plan:
    """Re-open a few neighbouring open sites at once (:func:`region_mip`: each free
    open site with its :data:`REGION_SITES` - 1 nearest, among their
    :data:`REGION_CANDIDATES` nearest sites each), each proposal checked by
    ``checker``; seeds taken in turn, the open sites serving their demand from
    farthest first, until a whole round of seeds finds nothing better (or the
    deadline).  The swaps move one site; this moves several together to where their
    demand is (on Quảng Ninh at 1 km the relocations and 57-97 screened swaps all
    stopped at the same plan)."""
    options = checker.options
    inp = cpm.prob.inp
    clock = checker.clock
    tol = TOL * max(1.0, abs(best.objective))
    done: set[int] = set()
    # each step passes over every pair a few times, as a check does: it starts when
    # three checks' time is left (on Phú Thọ at 1 km, 6.7 million pairs, a check took
    # 1-5 s of loaded wall)
    if not clock.fits(deadline, 3.0 * checker.seconds()):
        return best
    nearest = _nearest_site(cpm) if cpm.pen_u is not None else None
    gain = _gain(cpm)
    while not options.stopped and clock.fits(deadline, 3.0 * checker.seconds()):
        free_open = np.flatnonzero(best.open_mask & ~inp.fixed_mask)
        if free_open.size == 0:
            break
        near = _region_minutes(cpm, best, free_open, gain)
        own = near[np.arange(free_open.size), free_open]
        seeds = [int(a) for a in np.argsort(-own, kind="stable")
                 if int(free_open[a]) not in done]
        if not seeds:
            break
        closed_ok = inp.allowed & ~best.open_mask
        improved = False
        for a in seeds:
            if options.stopped or not clock.fits(deadline, 2.0 * checker.seconds()):
                return best
            done.add(int(free_open[a]))
            # the seed's nearest open sites (by the minutes from its demand)
            peers = np.argsort(near[a, free_open], kind="stable")[:REGION_SITES]
            if a not in peers:
                peers = np.r_[a, peers[:REGION_SITES - 1]]
            free = free_open[peers]
            cands = [free]
            for b in peers:
                row = np.where(closed_ok, near[b], np.inf)
                top = np.argsort(row, kind="stable")[:REGION_CANDIDATES]
                cands.append(top[np.isfinite(row[top])])
            cand = np.unique(np.concatenate(cands)).astype(np.int64)
            mask = region_mip(cpm, best, free, cand, options, deadline, nearest,
                              check_s=checker.seconds())
            if mask is None or not clock.fits(deadline, checker.seconds()):
                continue
            got = checker.check(mask, deadline, "region MIP")
            logger.debug("region move from site %d: %s against %.6g", free_open[a],
                         "none" if got is None else f"{got.objective:.6g}", best.objective)
            if got is not None and got.objective < best.objective - tol:
                best, improved = got, True
                tol = TOL * max(1.0, abs(best.objective))
                done.difference_update(int(j) for j in free)
                break
        if not improved:
            break
    return best


def swaps(cpm: Cpm, best: Plan, p: int, lag: Lagrange | None, checker: Checker,
          deadline: float | None, tries: int = 0) -> Plan:
    """Swap a free open site for a closed one, each swap checked by ``checker``:
    in, the closed sites of best Lagrangian value (or, without one, the most demand
    within 1.5x the mean travel time); out, the open sites carrying the least;
    ``tries`` of each (:data:`SWAP_TRIES`, or :data:`SCREEN_SWAP_TRIES` when
    screened, by default).  Screened, a round without a better plan doubles ``tries``
    (the pairs already tried are not tried again) until every pair has been."""
    options = checker.options
    if tries <= 0:
        tries = SCREEN_SWAP_TRIES if checker.screen else SWAP_TRIES
    inp = cpm.prob.inp
    tried: set[tuple[int, int]] = set()
    while not options.stopped and (deadline is None or time.perf_counter() < deadline):
        mask = best.open_mask
        load = _loads(cpm, best.z)
        if lag is not None:
            score_in = lag.site_value.copy()
        else:
            near = cpm.d <= np.median(cpm.d)
            score_in = -np.bincount(cpm.c[near], weights=cpm.w[cpm.r[near]],
                                    minlength=inp.n_sites).astype(np.float64)
        score_in[mask | ~inp.allowed] = np.inf
        ins = np.argsort(score_in, kind="stable")[:tries]
        ins = ins[np.isfinite(score_in[ins])]
        # and the sites saving the most on the demand left unassigned (up to their
        # capacity): where demand far exceeds the room, the point to move is to it
        left = cpm.w * (1.0 - _assigned(cpm, best.z))
        if cpm.pen_u is not None and left.sum() > TOL * max(1.0, float(cpm.w.sum())):
            save = np.bincount(cpm.c, weights=left[cpm.r] * (cpm.pen_u - cpm.d),
                               minlength=inp.n_sites)
            save = np.minimum(save, cpm.cap * cpm.pen_u)
            save[mask | ~inp.allowed] = -np.inf
            more = np.argsort(-save, kind="stable")[:tries]
            more = more[np.isfinite(save[more]) & (save[more] > 0)]
            ins = np.concatenate([more, ins[~np.isin(ins, more)]])
        free_open = np.flatnonzero(mask & ~inp.fixed_mask)
        outs = free_open[np.argsort(load[free_open], kind="stable")[:tries]]
        moved = False
        for j_in in ins:
            cands = outs if int(mask.sum()) >= p else np.r_[-1, outs]
            for j_out in cands:
                key = (int(j_out), int(j_in))
                if key in tried:
                    continue
                if not checker.clock.fits(deadline, checker.seconds()):
                    return best
                tried.add(key)
                trial = mask.copy()
                trial[j_in] = True
                if j_out >= 0:
                    trial[j_out] = False
                got = checker.check(trial, deadline, "swap")
                if got is not None and got.objective < best.objective - TOL * max(
                        1.0, abs(best.objective)):
                    best, moved = got, True
                    if checker.screen:  # cheap to check: every pair may help again
                        tried.clear()
                    break
                if deadline is not None and time.perf_counter() >= deadline:
                    return best
            if moved:
                break
        if not moved:
            n_free = int((inp.allowed & ~inp.fixed_mask).sum())
            if not checker.screen or tries >= n_free:
                break
            tries *= 2
    return best


# ---------------------------------------------------------------------------
# the solve
# ---------------------------------------------------------------------------


def _capacity_short(cpm: Cpm, p: int) -> str:
    """Why no plan exists without penalties, when the capacities say so ('' if not)."""
    if cpm.pen_u is not None or cpm.pen_o is not None:
        return ""
    inp = cpm.prob.inp
    fixed = inp.fixed_mask
    free = np.sort(cpm.cap[inp.allowed & ~fixed])[::-1]
    most = float(cpm.cap[fixed].sum() + free[:max(0, p - int(fixed.sum()))].sum())
    need = float(cpm.w.sum())
    if most < need * (1.0 - 1e-9):
        return (f"{p} sites hold at most {most:.6g} a day together, the demand within reach "
                f"is {need:.6g} (allow unassigned demand at a penalty or overload at a cost)")
    return ""


def _room(cpm: Cpm, p: int) -> float:
    """The most ``p`` sites can hold: the must-open sites' capacities and the largest
    others'."""
    inp = cpm.prob.inp
    fixed = inp.fixed_mask
    free = np.sort(cpm.cap[inp.allowed & ~fixed])[::-1]
    return float(cpm.cap[fixed].sum() + free[:max(0, p - int(fixed.sum()))].sum())


def capacity_bound(cpm: Cpm, p: int) -> float:
    """A bound from the capacities alone: ``p`` sites hold at most the must-open sites'
    capacities plus the largest others (``C``); each unit of demand costs at least its
    nearest site's minutes when held, and when not the penalty (or its nearest site plus
    the overload cost, if cheaper).  The cheapest way to place ``C`` units this way (the
    largest savings first) bounds every plan.  ``-inf`` without any penalty (every unit
    must be held; :func:`_capacity_short` refuses a demand above ``C``)."""
    if cpm.pen_u is None and cpm.pen_o is None:
        return -math.inf
    room = _room(cpm, p)
    near = _start_price(cpm, None)
    beyond = np.full(cpm.n_rows, math.inf)
    if cpm.pen_u is not None:
        beyond = np.minimum(beyond, cpm.pen_u)
    if cpm.pen_o is not None:
        beyond = np.minimum(beyond, near + cpm.pen_o)
    saving = beyond - near
    order = np.argsort(-saving, kind="stable")
    w = cpm.w[order]
    held = np.clip(room - (np.cumsum(w) - w), 0.0, w)  # units held, largest savings first
    value = float((w * beyond[order]).sum() - (held * saving[order]).sum())
    return value + cpm.const


def _report(status: SolveStatus, value: float, bound: float, wall: float,
            options: SolveOptions, message: str) -> SolverReport:
    return SolverReport(status, value, bound, relative_gap(value, bound), wall,
                        options.solver_name, options.seed, options.threads,
                        options.time_limit_s, message)


def solve_capacitated_p_median(prob: MinutesInputs, capacity: npt.ArrayLike, p: int,
                               options: SolveOptions, *,
                               unassigned_penalty_min: float | None = None,
                               single_assignment: bool = False,
                               overload_penalty: float | None = None) -> PlacementResult:
    """:func:`capacitated_p_median` on checked inputs."""
    return _solve(prob, capacity, p, options, unassigned_penalty_min=unassigned_penalty_min,
                  single_assignment=single_assignment, overload_penalty=overload_penalty)


def _solve(prob: MinutesInputs, capacity: npt.ArrayLike, p: int, options: SolveOptions, *,
           unassigned_penalty_min: float | None = None, single_assignment: bool = False,
           overload_penalty: float | None = None,
           prices: list[tuple[IntArray, FloatArray]] | None = None,
           unc_given: PlacementResult | None = None, regroup: bool = True) -> PlacementResult:
    """:func:`solve_capacitated_p_median`; with ``prices``, the Lagrangian's best
    multipliers (per unit of weight) are appended to it with the rows of ``prob``
    they belong to, when it ran; with ``unc_given`` (the uncapacitated answer of a
    problem with the same sites), no uncapacitated solve: its sites start the moves
    and its figures aim the warm start, its bound is not taken as this one's; with
    ``regroup`` false, the rows are never grouped (the grouped problem's own solve)."""
    from optimizer.placement.median import solve_p_median

    t0 = time.perf_counter()
    inp = prob.inp
    check_p(p, inp.fixed.size)
    cap = _check_capacity(capacity, inp.n_sites)
    for name, v in (("unassigned_penalty_min", unassigned_penalty_min),
                    ("overload_penalty", overload_penalty)):
        if v is not None and not (math.isfinite(v) and v >= 0):
            msg = f"{name} must be a finite number >= 0, got {v!r}"
            raise InvalidInputError(msg)
    cpm = prepare(prob, cap, unassigned_penalty_min, overload_penalty)
    limit = options.time_limit_s
    deadline = options.deadline(t0)

    def share_end(share: float) -> float | None:
        if limit is None:
            return None
        return min(deadline if deadline is not None else math.inf,
                   time.perf_counter() + share * limit)

    stages: list[SolverReport] = []
    notes: list[str] = []
    why = _capacity_short(cpm, p)
    if why:
        return _finish(cpm, None, math.nan, SolverReport(
            SolveStatus.INFEASIBLE, math.nan, math.nan, math.inf, time.perf_counter() - t0,
            options.solver_name, options.seed, options.threads, limit, why), stages)
    if cpm.n_rows == 0:
        # nobody within reach: the far rows' penalty whatever opens (the must-open sites)
        rep = _report(SolveStatus.OPTIMAL, cpm.const, cpm.const, time.perf_counter() - t0,
                      options, "no demand point within reach of an allowed site")
        return _finish(cpm, Plan(inp.fixed_mask, np.zeros(0), cpm.const, "none"), cpm.const,
                       rep, stages)
    bounds: dict[str, float] = {}
    cb = capacity_bound(cpm, p)
    if math.isfinite(cb):
        bounds["capacities"] = cb
    # 1. the uncapacitated p-median: start and bound
    over_room = cpm.pen_u is not None and float(cpm.w.sum()) > _room(cpm, p)
    unc_share = OVER_ROOM_UNCAPACITATED_SHARE if over_room else UNCAPACITATED_SHARE
    if unc_given is None:
        unc = solve_p_median(prob, p, options.within(
            None if limit is None else unc_share * limit),
            unassigned_penalty_min=unassigned_penalty_min)
        stages.append(unc.report)
        if math.isfinite(unc.best_bound):
            bounds["uncapacitated p-median"] = unc.best_bound
    else:
        unc = unc_given
    n_pairs = int(cpm.r.size)
    large = n_pairs > CPMEDIAN_MIP_MAX_PAIRS
    clock = Clock()
    # large models: moves screened by the min-cost flow, answers assigned by the LP
    checker = Checker(cpm, single_assignment, options, screen=large, clock=clock)
    best: Plan | None = None  # the answer so far (an exact assignment)
    cur: Plan | None = None  # the moves' plan (screened when large)
    first_end = None if deadline is None or limit is None else deadline - RESERVE_SHARE * limit
    start = None
    start_src = "uncapacitated answer"
    agg_warm: FloatArray | None = None  # the aggregated problem's multipliers on the rows
    aggregated = False
    if unc.status.has_solution:
        start = np.zeros(inp.n_sites, dtype=bool)
        start[unc.open_sites] = True
        start |= inp.fixed_mask
    checker.screen = False
    if (regroup and large and cpm.pen_u is not None and cpm.n_rows > AGGREGATE_ROWS
            and not options.stopped):
        # many rows: the sites chosen on the aggregated problem, then every move
        # screened by the flow on the whole (no assignment LP before the answer)
        cur, agg_warm = _aggregated_start(cpm, p, unc, start, options, limit, deadline,
                                              notes)
        checker.screen = aggregated = cur is not None
    if (over_room and large and cur is None and not options.stopped
            and limit is not None and limit > 0.0):
        # every open site ends full: the sites of the Lagrangian at the penalty (each
        # site's best demand up to its capacity, the p best) start the moves when their
        # flow is cheaper than the uncapacitated answer's (on Phú Thọ 1 km's groups, a
        # 150 s probe: the relocations from the latter 326,700, then from the
        # Lagrangian's sites 324,571)
        early = lagrangian(cpm, p, math.inf, start_prices(cpm, p, None, None),
                           deadline=share_end(OVER_ROOM_START_SHARE), stop=options.stop)
        mask_e = _fill(cpm, early.chosen, p, early.site_value)
        flows = [q for q in (flow_plan(cpm, m, src) for m, src in (
            (mask_e, "Lagrangian sites"), *(() if start is None else
                                            ((start, "uncapacitated answer"),))))
                 if q is not None]
        if flows:
            cheaper = min(flows, key=lambda q: q.objective)
            start, start_src = cheaper.open_mask, cheaper.source
    if start is not None and cur is None:
        best = assign(cpm, start, single=single_assignment, options=options,
                      deadline=first_end, source=start_src, clock=clock)
        if best is None:
            best = greedy_assign(cpm, start, single=single_assignment,
                                 source=f"{start_src}, greedy assignment")
        cur = best
    if large and cur is not None and not checker.screen:
        # 2a. location-allocation moves checked by the LP: on Quảng Ninh at 1 km they
        # took the uncapacitated answer's 25,603 to 17,177 where the Lagrangian sites gave
        # 68,000 (screened by the flow, which assigns on every pair, they stopped at
        # 21,631-21,658)
        cur = best = relocate(cpm, cur, checker, share_end(RELOCATE_SHARE))
        # then the moves screened by the flow, from the flow of these sites
        screened = flow_plan(cpm, cur.open_mask, cur.source)
        if screened is not None:
            checker.screen, cur = True, screened
    # 2. the Lagrangian bound, started from the uncapacitated multipliers
    upper = cur.objective if cur is not None else math.inf
    warm = agg_warm
    # little time left for the moves: they come first, the bound gets what they leave
    short = (large and deadline is not None and limit is not None
             and deadline - RESERVE_SHARE * limit - time.perf_counter()
             < MOVES_FIRST_SHARE * limit)
    # where the demand exceeds the room the penalty starts the ascent instead
    warm_end = share_end(WARM_SHARE)
    if (not options.stopped and not short and warm is None
            and (cpm.pen_u is None or float(cpm.w.sum()) <= _room(cpm, p))
            and (warm_end is None or limit is None
                 or warm_end - time.perf_counter() >= 0.5 * WARM_SHARE * limit)):
        # (skipped when less than half its share is left: its setup sorts every pair)
        # aimed at the uncapacitated solve's own bound when that is within 5 % of its
        # answer, it stops on reaching it (the capacitated function is at least that
        # there); else at its answer
        unc_upper = unc.objective if unc.status.has_solution else math.inf
        if math.isfinite(unc.best_bound) and unc.best_bound >= 0.95 * unc_upper:
            unc_upper = unc.best_bound
        warm = uncapacitated_price(cpm, p, unc_upper, deadline=warm_end,
                                   stop=options.stop)
    # screened, the moves come first and the bound gets what they leave
    lag_share = (SHORT_LAGRANGIAN_SHARE if short else
                 SCREEN_LAGRANGIAN_SHARE if checker.screen else LAGRANGIAN_SHARE)
    if over_room and unc_given is None:  # the time the uncapacitated model did not get
        lag_share += UNCAPACITATED_SHARE - unc_share
    lag_end = share_end(lag_share)
    t_lag = time.perf_counter()
    starts = start_prices(cpm, p, warm, cur)
    lag = lagrangian(cpm, p, upper, starts, deadline=lag_end, stop=options.stop)
    # the wall seconds of one evaluation (each start's and each step's)
    lag_step = (time.perf_counter() - t_lag) / max(1, lag.iterations - 1 + len(starts))
    bounds["Lagrangian"] = lag.bound
    mask_l = _fill(cpm, lag.chosen, p, lag.site_value)
    if not options.stopped and clock.fits(share_end(0.15), checker.seconds()):
        got = checker.check(mask_l, share_end(0.15), "Lagrangian sites")
        if got is not None and (cur is None or got.objective < cur.objective):
            cur = got
            if not checker.screen:
                best = got
    if (not checker.screen and cur is not None
            and cur.objective < upper - TOL * max(1.0, abs(upper))):
        # a better upper bound steers the steps better: a few more rounds
        more = lagrangian(cpm, p, cur.objective, lag.price, deadline=share_end(0.08),
                          stop=options.stop, memo=lag.memo)
        if more.bound > lag.bound:
            lag = more
            bounds["Lagrangian"] = lag.bound
    reserve = None if limit is None else RESERVE_SHARE * limit
    sol_report: SolverReport | None = None
    if not large:
        # 3a. small: the full model, hinted
        cm = cpm_mip(cpm, p, single=single_assignment)
        assert cm is not None
        hint = None if best is None else _hint(cpm, cm, best)
        sol = solve_mip(cm.mip, engine=options.engine, time_limit_s=remaining(deadline),
                        seed=options.seed, threads=options.threads, stop=options.stop,
                        hint=hint)
        stages.append(sol.report)
        sol_report = sol.report
        if sol.report.status is SolveStatus.INFEASIBLE:
            return _finish(cpm, None, math.nan, _report(
                SolveStatus.INFEASIBLE, math.nan, math.nan, time.perf_counter() - t0, options,
                f"{p} sites cannot serve every demand point within the cutoff and their "
                "capacities"), stages)
        if math.isfinite(sol.report.best_bound):
            bounds["MIP"] = sol.report.best_bound
        if sol.values is not None:
            x = sol.values[cm.x0:cm.x0 + cm.cand.size] > 0.5
            open_mask = inp.fixed_mask
            open_mask[cm.cand[x]] = True
            z = _clean(cpm, open_mask, _z_of(cpm, cm, sol.values))
            if single_assignment:
                z = np.where(z > 0.5, 1.0, 0.0)
            value = evaluate(cpm, open_mask, z)
            if math.isfinite(value) and (best is None or value < best.objective):
                best = Plan(open_mask, z, value, "MIP")
    else:
        # 3b. large: swaps screened by the min-cost flow (or checked by the LP)
        how = "checked by the assignment LP"
        start_how = "uncapacitated start"
        if checker.screen:
            first = "after relocations checked by the LP"
            if aggregated:
                start_how, first = "start from the groups", "on every row"
            how = (f"screened by the min-cost flow {first}, the "
                   "answer " + ("assigned by the MIP" if single_assignment
                                else "the flow's, made exact"))
        notes.append(f"no MIP for {n_pairs:,} (point, site) pairs: {start_how}, "
                     f"relocations and swaps {how}, Lagrangian bound")
        if cur is not None:
            end = None
            if deadline is not None and reserve is not None:
                # the final assignment's time kept back (it took clock.assign_s before)
                end = deadline - max(reserve, 1.5 * clock.assign_s if checker.screen else 0.0)
                if checker.screen and not single_assignment:  # the answer is the flow's
                    end = deadline - max(SCREEN_RESERVE_SHARE * reserve, 3.0 * clock.flow_s)
            cur = relocate(cpm, cur, checker, end)  # again, from the Lagrangian sites if better
            # the region moves get half the time left, the swaps the rest (on qn-1km
            # under load, a region MIP took 1 s of CPU where a screening flow took
            # 0.3-0.5 s: given all of it, they left the swaps none)
            half = None if end is None else time.perf_counter() + REGION_TIME_SHARE * max(
                0.0, end - time.perf_counter())
            if not aggregated:  # (on qn-400m, 6.7 million pairs, 4-5 s past the limit)
                cur = region_moves(cpm, cur, checker, half)
            cur = swaps(cpm, cur, p, lag, checker, end)
            if (end is not None and time.perf_counter() + 2.0 * lag_step < end
                    and not options.stopped):
                # the moves are done before their time: the rest to the bound (when a
                # step fits: its first evaluation runs whatever the time, on Phú Thọ at
                # 1 km 2-5 s of wall under load)
                more = lagrangian(cpm, p, cur.objective, lag.price, deadline=end,
                                  stop=options.stop, memo=lag.memo)
                if more.bound > lag.bound:
                    more.iterations += lag.iterations
                    lag = more
                    bounds["Lagrangian"] = lag.bound
            if checker.screen:  # both exact assignments, both objectives recomputed
                final = checker.exact(cur, deadline)
                if final is not None and (best is None or final.objective < best.objective):
                    best = final
            elif best is None or cur.objective < best.objective:
                best = cur
    if prices is not None:
        prices.append((cpm.rows, lag.price))
    wall = time.perf_counter() - t0
    bound = max(bounds.values())
    which = max(bounds, key=bounds.__getitem__)
    notes.append(f"{clock.flows} screening flows, {clock.assigns} assignment LPs")
    notes.append(f"bound from the {which} ({'; '.join(f'{k} {v:.6g}' for k, v in bounds.items())}"
                 f"; {lag.iterations} Lagrangian iterations)")
    if best is None:
        rep = SolverReport(SolveStatus.NOT_SOLVED, math.nan, bound, math.inf, wall,
                           options.solver_name, options.seed, options.threads, limit,
                           "; ".join(["no plan found in time", *notes]))
        return _finish(cpm, None, math.nan, rep, stages)
    value = best.objective
    tol = 1e-6 * max(1.0, abs(value))
    proven = value <= bound + tol or (
        sol_report is not None and sol_report.status is SolveStatus.OPTIMAL
        and best.source == "MIP")
    bound = value if proven else min(bound, value)
    notes.insert(0, f"answer from the {best.source}")
    rep = _report(SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE, value, bound, wall,
                  options, "; ".join(notes))
    res = _finish(cpm, best, value, rep, stages)
    logger.info("capacitated p-median: %d sites open, %s", res.open_sites.size,
                rep.summary())
    return res


def _aggregated_start(cpm: Cpm, p: int, unc: PlacementResult, start: BoolArray | None,
                      options: SolveOptions, limit: float | None, deadline: float | None,
                      notes: list[str]) -> tuple[Plan | None, FloatArray | None]:
    """The screening flow of the better of two site sets: the aggregated problem's
    answer (:func:`aggregate`, solved by this module in :data:`AGGREGATE_SHARE` of the
    limit, ending :data:`AFTER_AGGREGATE_SHARE` of it before ``deadline`` at the latest)
    from ``unc``'s sites (the uncapacitated answer), and those sites (``start``, with the
    fixed ones), ``None`` when neither has a flow;
    and the aggregated Lagrangian's multipliers given to the rows (each its group's:
    any price gives a bound on the rows; on Quảng Ninh at 400 m these gave 15,443 at
    once, 15,389 when each row's price was moved by its nearest minutes' difference
    from its group's mean, against the uncapacitated bound's 14,400-15,200 in a loaded
    minute), a start for the ascent on the rows."""
    sub_limit = None
    if limit is not None:
        sub_limit = AGGREGATE_SHARE * limit
        if deadline is not None:
            sub_limit = min(sub_limit, deadline - AFTER_AGGREGATE_SHARE * limit
                            - time.perf_counter())
        if sub_limit <= 0.0:
            return None, None
    groups = aggregate(cpm, AGGREGATE_GROUPS)
    inp = cpm.prob.inp
    sub = minutes_inputs(groups.mins, groups.w, inp.fixed, inp.closed)
    got: list[tuple[IntArray, FloatArray]] = []
    if sub_limit is not None and deadline is not None:  # less the grouping's time
        sub_limit = min(sub_limit, deadline - AFTER_AGGREGATE_SHARE * (limit or 0.0)
                        - time.perf_counter())
    res = _solve(sub, cpm.cap, p, options.within(None if sub_limit is None
                                                 else max(sub_limit, 0.001)),
                 unassigned_penalty_min=cpm.pen_u, overload_penalty=cpm.pen_o, prices=got,
                 unc_given=unc if unc.status.has_solution else None,
                 regroup=False)  # the groups are solved as they are, never grouped again
    n_groups = groups.n_groups
    warm = None
    if got:
        rows, price = got[0]
        group_price = np.full(n_groups, np.nan)
        group_price[rows] = price
        warm = group_price[groups.of_row]
        warm = np.where(np.isfinite(warm), warm, _start_price(cpm, None))
    del sub, groups
    masks: list[tuple[BoolArray, str]] = []
    if res.status.has_solution:
        mask = inp.fixed_mask.copy()
        mask[res.open_sites] = True
        masks.append((mask, "aggregated problem"))
    if start is not None:
        masks.append((start, "uncapacitated answer"))
    plans = [q for q in (flow_plan(cpm, m, src) for m, src in masks) if q is not None]
    agg = next((q.objective for q in plans if q.source == "aggregated problem"), math.nan)
    notes.append(f"the sites first chosen on {n_groups:,} groups of the "
                 f"{cpm.n_rows:,} rows ({res.status.value} {res.objective:.6g} there, "
                 f"{agg:.6g} on the rows)")
    return (min(plans, key=lambda q: q.objective) if plans else None), warm


def _hint(cpm: Cpm, cm: CpmMip, plan: Plan) -> FloatArray:
    hint = np.zeros(cm.mip.n_vars)
    hint[cm.x0:cm.x0 + cm.cand.size] = plan.open_mask[cm.cand]
    hint[cm.z0:cm.z0 + cm.pairs.size] = plan.z[cm.pairs]
    return hint


def _finish(cpm: Cpm, plan: Plan | None, value: float, report: SolverReport,
            stages: list[SolverReport]) -> PlacementResult:
    """The result read from the plan's shares: each point's main site (largest share),
    its assigned share, the loads and overloads per site."""
    prob, inp = cpm.prob, cpm.prob.inp
    n_sites = inp.n_sites
    share = np.zeros(inp.n_demand)
    assignment = np.full(inp.n_demand, -1, dtype=np.int64)
    load = np.zeros(n_sites)
    overload = np.zeros(n_sites)
    open_mask = np.zeros(n_sites, dtype=bool)
    if plan is not None and report.status.has_solution:
        open_mask = plan.open_mask
        z = plan.z
        if z.size:
            share[cpm.rows] = _assigned(cpm, z)
            main_sites(cpm.rows[cpm.r], cpm.c, z, assignment)
            load = _loads(cpm, z)
            overload = np.where(open_mask, np.maximum(0.0, load - cpm.cap), 0.0)
            overload[overload <= TOL * max(1.0, float(cpm.w.sum()))] = 0.0
    res = finish("capacitated_pmedian", inp, open_mask, prob.reach, prob.mins, value, report,
                 prob.uncoverable, assignment=assignment, stages=tuple(stages),
                 capacity=cpm.cap, overload=overload, assigned_share=share)
    return replace(res, load=load, covered_weight=float(inp.weights @ share))


def capacitated_p_median(
    minutes: Matrix,
    weights: npt.ArrayLike,
    capacity: npt.ArrayLike,
    p: int,
    *,
    fixed: Sites = None,
    closed: Sites = None,
    unassigned_penalty_min: float | None = None,
    single_assignment: bool = False,
    overload_penalty: float | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
) -> PlacementResult:
    """Capacitated p-median: the least weighted travel time with at most ``p`` sites,
    none over its capacity (see the module docstring for the model and the method).

    Parameters
    ----------
    minutes : demand x site travel minutes (float, missing = unreachable), as for
        :func:`optimizer.placement.p_median`.
    weights : demand weights (in-person dossiers per day, the unit of ``capacity``).
    capacity : per site, the weight it can take.
    p : maximum number of open sites, must-open ones included.
    unassigned_penalty_min : minutes charged per unit of weight left unassigned (no
        site within reach, or no room); ``None``: everyone must be assigned
        (``INFEASIBLE`` when the capacities of ``p`` sites cannot hold the demand).
    single_assignment : each demand point goes wholly to one site.
    overload_penalty : a site may take more than its capacity at this many minutes per
        unit of weight over it; ``None``: capacity is a hard limit.
    Other parameters as in :func:`optimizer.placement.lscp`.

    Returns
    -------
    PlacementResult
        ``objective`` in weighted minutes (penalties included); ``assigned_share`` per
        demand point, ``load``, ``capacity`` and ``overload`` per site, all read from
        the assignment; ``assignment`` is each point's main site (its largest share).
    """
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    prob = minutes_inputs(minutes, weights, fixed, closed)
    res = solve_capacitated_p_median(prob, capacity, p, options,
                                     unassigned_penalty_min=unassigned_penalty_min,
                                     single_assignment=single_assignment,
                                     overload_penalty=overload_penalty)
    return restore(res, prob.dropped)


__all__ = ["CPMEDIAN_MIP_MAX_PAIRS", "Cpm", "capacitated_p_median", "cpm_mip", "evaluate",
           "prepare", "solve_capacitated_p_median"]
