r"""Coverage with capacities: demand goes only to open sites within the standard.

With ``p=None`` (set-covering form): open the least cost of sites so that all
coverable demand is assigned and no site exceeds its capacity.  With ``p``:
assign the most weight with at most ``p`` sites.

.. math::

    \sum_j z_{ij} = 1\ (\text{or} \le 1 \text{ with } p),\quad z_{ij} \le x_j,\quad
    \sum_i w_i z_{ij} \le K_j x_j + o_j

:math:`z_{ij}` is the share of demand :math:`i` sent to site :math:`j` (binary
with ``single_assignment``).  The overload :math:`o_j` is 0 unless
``overload_penalty`` is given, in which case it is allowed and costs that much
per unit of weight (in the objective's units: cost, or covered weight).

:func:`capacitated_mip` builds the model; :func:`solve_capacitated` solves it
once and reads each demand point's main site, the loads and the overloads.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_flow

from optimizer._mip import DEFAULT_ENGINE, MipSolution, SparseMip, solve_mip
from optimizer._status import SolverReport, SolveStatus, relative_gap
from optimizer.errors import InvalidInputError
from optimizer.placement import capacity_cuts
from optimizer.placement.inputs import (
    BoolArray,
    CoverInputs,
    FloatArray,
    Inputs,
    IntArray,
    Matrix,
    Sites,
    SolveOptions,
    check_p,
    cover_inputs,
    remaining,
    restrict_columns,
    whole,
)
from optimizer.placement.reassign import least_travel
from optimizer.placement.result import PlacementResult, finish, main_sites, restore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CapacitatedMip:
    """The model and where its blocks start: sites ``x0``, pair shares ``z0``
    (pairs ``rows``/``cols`` in row order), overloads ``o0``; ``cand`` are the
    allowed sites in column order."""

    mip: SparseMip
    x0: int
    z0: int
    o0: int
    cand: IntArray
    rows: IntArray
    cols: IntArray


def capacitated_mip(prob: CoverInputs, cap: FloatArray, p: int | None, *,
                    single_assignment: bool, overload_penalty: float | None) -> CapacitatedMip:
    """The capacitated covering model (see the module docstring)."""
    inp, c = prob.inp, prob.c
    cand = np.flatnonzero(inp.allowed)
    col_pos = np.full(inp.n_sites, -1, dtype=np.int64)
    col_pos[cand] = np.arange(cand.size)
    rows = np.repeat(np.arange(inp.n_demand, dtype=np.int64), np.diff(c.indptr))
    cols = c.indices.astype(np.int64)
    n_pairs = rows.size
    coverable = np.flatnonzero(np.diff(c.indptr) > 0)
    maximize = p is not None
    mip = SparseMip(maximize=maximize)
    x0 = mip.add_variables(cand.size, lb=inp.fixed_mask[cand].astype(np.float64), integer=True,
                           objective=0.0 if maximize else inp.costs[cand])
    z0 = mip.add_variables(n_pairs, integer=single_assignment,
                           objective=inp.weights[rows] if maximize else 0.0)
    pen = 0.0 if overload_penalty is None else float(overload_penalty)
    o_ub = 0.0 if overload_penalty is None else math.inf
    o0 = mip.add_variables(cand.size, lb=0.0, ub=o_ub, objective=-pen if maximize else pen)
    # each coverable demand point is assigned once (fully, or at most once with p)
    mip.add_rows(coverable.size, np.searchsorted(coverable, rows), z0 + np.arange(n_pairs), 1.0,
                 lb=-math.inf if maximize else 1.0, ub=1.0)
    # only to an open site: z_ij <= x_j
    k = np.arange(n_pairs, dtype=np.int64)
    mip.add_rows(n_pairs, np.concatenate([k, k]), np.concatenate([z0 + k, x0 + col_pos[cols]]),
                 np.concatenate([np.ones(n_pairs), -np.ones(n_pairs)]), ub=0.0)
    # load within capacity (plus any penalised overload)
    s = np.arange(cand.size, dtype=np.int64)
    mip.add_rows(
        cand.size,
        np.concatenate([col_pos[cols], s, s]),
        np.concatenate([z0 + k, x0 + s, o0 + s]),
        np.concatenate([inp.weights[rows], -cap[cand], -np.ones(cand.size)]),
        ub=0.0,
    )
    if p is not None:
        # at most p points
        mip.add_rows(1, np.zeros(cand.size, dtype=np.int64), x0 + s, 1.0, ub=float(p))
    return CapacitatedMip(mip, x0, z0, o0, cand, rows, cols)


def _check_capacity(capacity: npt.ArrayLike, n_sites: int) -> FloatArray:
    cap = np.asarray(capacity, dtype=np.float64).reshape(-1)
    if cap.shape != (n_sites,) or (~np.isfinite(cap) | (cap < 0)).any():
        msg = f"capacity needs {n_sites} finite values >= 0, one per site"
        raise InvalidInputError(msg)
    return cap


#: Share of the time limit the uncapacitated model gets (its answer starts the
#: capacitated one, its bound bounds it).
UNCAPACITATED_TIME_SHARE = 0.25
#: Share of the time limit the start heuristic (assignment LPs, greedy additions) may use.
HEURISTIC_TIME_SHARE = 0.15
#: Full capacitated models with more (demand, site) pairs than this get no MIP when the
#: start heuristic found an answer: on Quảng Ninh 2025 at 1 km (~10,700 points, 1,935
#: sites) HiGHS took 100 s past a 40 s limit in presolve and its bound (66) stayed below
#: the uncapacitated one (147).  The answer is the heuristic's, the bound the known ones.
CAPACITATED_MIP_MAX_PAIRS = 250_000
#: Above :data:`CAPACITATED_MIP_MAX_PAIRS`, the model restricted to the sites of the start
#: heuristic's answer and of the uncapacitated answer gets a MIP when it has at most this
#: many pairs: on Quảng Ninh at 1 km (274,640 pairs) the LSCP restricted to its 152 sites
#: (29,136 pairs) is solved in 14 s (152 -> 146 points), the MCLP restricted to 52 sites
#: (19,398 pairs) gains 1,197 -> 1,201.5 dossiers a day in 30 s; with 192 and 302 sites
#: (51k, 115k pairs) HiGHS did not better the start in 35 s.
RESTRICTED_MIP_MAX_PAIRS = 40_000
#: Share of the time limit the restricted MIP may use when the cut-set master follows.
RESTRICTED_TIME_SHARE = 0.2
#: With ``p``, the cut-set master runs only up to this many merged demand points: it has
#: a variable and a row per point, and on Quảng Ninh at 1 km (7,541) its first LP alone
#: took 6.4 CPU s (20 s on the loaded machine) and the master gave no bound in the minute,
#: while the restricted MIP's answer lost the time it took (1,199.23 -> 1,194.17).
MASTER_MCLP_MAX_POINTS = 2_000
#: With ``p`` above :data:`MASTER_MCLP_MAX_POINTS`, share of the time limit the master's
#: LP by PDLP may use for a bound (:func:`capacity_cuts.first_order_bound`; on Quảng Ninh
#: at 1 km its first round gives 1,222.5 dossiers a day against the uncapacitated 1,233,
#: its second 1,218, its third 1,212.1, in ~3-5 s each on the loaded machine: a fifth of
#: the minute held two rounds there, 0.3 five, bound 1,211.5), before the restricted MIP.
FIRST_ORDER_TIME_SHARE = 0.3
#: With the master's LP by PDLP to follow (``p`` above :data:`MASTER_MCLP_MAX_POINTS`),
#: the uncapacitated model's share of the time limit instead of
#: :data:`UNCAPACITATED_TIME_SHARE`: its bound is then never the tightest (Quảng Ninh at
#: 1 km: 1,233 against the PDLP rounds' 1,211-1,222) and the time goes to those rounds.
UNCAPACITATED_FIRST_ORDER_SHARE = 0.15
#: Share of the time limit the start heuristic leaves for the master's LP by PDLP and the
#: restricted MIPs after it (with ``p`` above :data:`MASTER_MCLP_MAX_POINTS`): its local
#: search ran to 50 s of 60 on Quảng Ninh at 400 m, and the PDLP round after it to 77.
FIRST_ORDER_RESERVE = 0.5
#: Seconds that must be left after the restricted MIPs for more rounds of the master's
#: LP by PDLP (Lạng Sơn at 1 km: the restricted MIPs ended at 35 s of 60, and the
#: second round's bound needs ~10 s there).
FIRST_ORDER_MORE_S = 8.0
#: When the master's LP by PDLP had time for one round only, the restricted MIPs after
#: it stop this many times its call's time (plus :data:`MASTER_RESERVE`) before the
#: deadline, for one more round, unless that leaves them less than
#: :data:`RESTRICTED_MIN_S` (Quảng Ninh at 400 m: a round of 12 s, then the restricted
#: MIPs took the rest of the minute).  After more rounds the answers get the time: on
#: Quảng Ninh at 1 km three more rounds moved the bound 1,212.08 -> 1,211.55 while the
#: answer lost 1,204.45 -> 1,199.23.
FIRST_ORDER_ROUND_MARGIN = 1.1
RESTRICTED_MIN_S = 4.0
#: With ``p``, the start's answer is assigned by the LP as well as by the flow when the
#: flow's is within this share of the tightest known bound (the LP's may prove it: the
#: flow's rounding cost Hà Nội at 400 m 0.35 of 1,600 dossiers a day, 2.2e-4).
NEAR_TARGET = 1e-3
#: Share of the time limit a repair of a master answer (without ``p``) may use.
REPAIR_TIME_SHARE = 0.06
#: Share of the time limit kept after the cut-set master for its answers' assignment
#: (and, without ``p``, the repair of an answer the flow cannot assign in full).
MASTER_RESERVE = 0.08
#: Relative tolerance on weights and objectives.
TOL = 1e-7


@dataclass(frozen=True)
class _Answer:
    """A solution of a capacitated model (the full one or one restricted to some sites):
    the model, its values and its objective in the model's units."""

    cm: CapacitatedMip
    values: FloatArray
    objective: float
    source: str


def _restricted(prob: CoverInputs, open_mask: BoolArray) -> CoverInputs:
    """The problem where exactly the sites of ``open_mask`` are open (all must-open)."""
    inp = replace(prob.inp, allowed=open_mask.copy(),
                  fixed=np.flatnonzero(open_mask).astype(np.int64))
    return replace(prob, inp=inp, c=restrict_columns(prob.c, open_mask))


def _value(prob: CoverInputs, cm: CapacitatedMip, values: FloatArray, cap: FloatArray,
           maximize: bool, pen: float) -> float:
    """The objective of ``values`` recomputed from the variables (model units)."""
    inp = prob.inp
    z = _z(cm, values, inp.n_sites)
    o = _overload(inp, cm, values, cap)
    if maximize:
        return float(inp.weights[cm.rows] @ z) - pen * float(o.sum())
    x = values[cm.x0:cm.x0 + cm.cand.size] > 0.5
    return float(inp.costs[cm.cand][x].sum()) + pen * float(o.sum())


def _z(cm: CapacitatedMip, values: FloatArray, n_sites: int) -> FloatArray:
    """The shares of ``values``: in [0, 1], 0 below 1e-7 (engine tolerance) and on a site
    that is not open (``z <= x`` holds only within the engine's tolerance)."""
    z = np.clip(values[cm.z0:cm.z0 + cm.rows.size], 0.0, 1.0)
    is_open = np.zeros(n_sites, dtype=bool)
    is_open[cm.cand[values[cm.x0:cm.x0 + cm.cand.size] > 0.5]] = True
    z[(z < 1e-7) | ~is_open[cm.cols]] = 0.0
    return z


def _load(inp: Inputs, cm: CapacitatedMip, values: FloatArray) -> FloatArray:
    """Per site, the weight the shares of ``values`` send to it."""
    z = _z(cm, values, inp.n_sites)
    return np.bincount(cm.cols, weights=inp.weights[cm.rows] * z,
                       minlength=inp.n_sites).astype(np.float64)


def _overload(inp: Inputs, cm: CapacitatedMip, values: FloatArray, cap: FloatArray) -> FloatArray:
    """Per candidate of ``cm``, the load above capacity (what the penalty is paid on;
    from the load itself, so the figures agree with the assignment)."""
    over = np.maximum(0.0, _load(inp, cm, values)[cm.cand] - cap[cm.cand])
    over[over <= TOL * max(1.0, float(inp.weights.sum()))] = 0.0
    return over


def _shares(n_demand: int, cm: CapacitatedMip, values: FloatArray, n_sites: int) -> FloatArray:
    z = _z(cm, values, n_sites)
    return np.bincount(cm.rows, weights=z, minlength=n_demand).clip(0.0, 1.0)


def _solve_fixed(prob: CoverInputs, cap: FloatArray, open_mask: BoolArray, p: int | None, *,
                 single: bool, pen: float | None, limit: float | None,
                 options: SolveOptions, source: str) -> _Answer | None:
    """The capacitated model with exactly ``open_mask`` open: an assignment problem
    (an LP unless ``single``).  With ``p`` it maximises the assigned weight."""
    sub = _restricted(prob, open_mask)
    cm = capacitated_mip(sub, cap, None if p is None else int(open_mask.sum()),
                         single_assignment=single, overload_penalty=pen)
    sol = solve_mip(cm.mip, engine=options.engine, time_limit_s=limit, seed=options.seed,
                    threads=options.threads)
    if sol.values is None:
        return None
    return _Answer(cm, sol.values, _value(sub, cm, sol.values, cap, p is not None,
                                          0.0 if pen is None else pen), source)


@dataclass(frozen=True)
class _Flow:
    """The most weight a set of open sites can take within reach and capacity (a
    maximum flow, source -> points -> sites -> sink): the total, each site's load and
    each point's unassigned weight.  In units of :data:`FLOW_UNITS` / total, rounded
    to the safe side (each positive weight at least one unit, capacities down), so it
    guides the search; the answers themselves come from the assignment LP."""

    objective: float
    load: FloatArray
    residual: FloatArray
    shares: sp.csr_matrix


#: Integer units the total weight is split into for the maximum flow (int32 arcs).
FLOW_UNITS = 1e9


def _assign_flow(prob: CoverInputs, cap: FloatArray, mask: BoolArray,
                 cc: sp.csc_matrix | None = None) -> _Flow:
    """The capacitated assignment to the sites of ``mask`` as a maximum flow (the same
    value as the assignment LP up to the rounding of :class:`_Flow`)."""
    inp = prob.inp
    n = inp.n_demand
    sites = np.flatnonzero(mask)
    m = sites.size
    scale = FLOW_UNITS / max(1e-300, float(inp.weights.sum()))
    units = np.round(inp.weights * scale).astype(np.int64)
    units[(inp.weights > 0) & (units == 0)] = 1
    pairs = (prob.c.tocsc() if cc is None else cc)[:, sites].tocoo()
    # a unit of flow carries at most 1/scale of weight plus half a unit per point of
    # rounding: each site's room is short by that much, so its real load stays within
    room = np.floor(cap[sites] * scale) - np.ceil(0.5 * np.bincount(pairs.col, minlength=m))
    room = np.clip(room, 0.0, float(units.sum())).astype(np.int64)
    src, snk = n + m, n + m + 1
    graph = sp.csr_matrix(
        (np.concatenate([units, units[pairs.row], room]).astype(np.int32),
         (np.concatenate([np.full(n, src), pairs.row, n + np.arange(m)]),
          np.concatenate([np.arange(n), n + pairs.col, np.full(m, snk)]))),
        shape=(n + m + 2, n + m + 2))
    flow = maximum_flow(graph, src, snk, method="dinic").flow.tocsr()
    into = np.zeros(n)
    row = flow[src]
    into[row.indices[row.indices < n]] = row.data[row.indices < n]
    load = np.zeros(inp.n_sites)
    out = np.asarray(flow[:, [snk]].todense()).ravel()[n:n + m]
    load[sites] = np.maximum(out, 0.0) / scale
    residual = np.maximum(units - into, 0.0) / scale
    residual[units == 0] = 0.0
    sent = flow[:n, n:n + m].tocoo()
    keep = sent.data > 0
    shares = sp.csr_matrix(
        (np.minimum(1.0, sent.data[keep] / np.maximum(units[sent.row[keep]], 1)),
         (sent.row[keep], sites[sent.col[keep]])), shape=(n, inp.n_sites))
    return _Flow(float(inp.weights.sum() - residual.sum()), load, residual, shares)


def _flow_answer(prob: CoverInputs, cap: FloatArray, mask: BoolArray, p: int | None,
                 flow: _Flow, pen: float | None) -> _Answer | None:
    """The flow's assignment as an answer of the model restricted to ``mask`` (split
    assignment, nothing overloaded); ``None`` without ``p`` when it leaves a coverable
    point not wholly assigned."""
    sub = _restricted(prob, mask)
    cm = capacitated_mip(sub, cap, None if p is None else int(mask.sum()),
                         single_assignment=False, overload_penalty=pen)
    values = np.zeros(cm.mip.n_vars)
    values[cm.x0:cm.x0 + cm.cand.size] = 1.0
    z = np.asarray(flow.shares[cm.rows, cm.cols]).ravel()
    if p is None:
        got = np.bincount(cm.rows, weights=z, minlength=prob.inp.n_demand)
        if (got[np.diff(sub.c.indptr) > 0] < 1.0 - 1e-9).any():
            return None
    values[cm.z0:cm.z0 + cm.rows.size] = z
    return _Answer(cm, values, _value(sub, cm, values, cap, p is not None,
                                      0.0 if pen is None else pen),
                   "uncapacitated answer + greedy additions")


def _surely_short(prob: CoverInputs, cap: FloatArray) -> bool:
    """Whether even every allowed site open cannot take all coverable weight within
    capacity (the set-covering form is infeasible).  The flow's rounding moves each of
    its ``n + m`` bounded arcs by at most one unit and each site's room by half a unit a
    point within reach, so the exact assignment takes at most ``n + m + pairs`` units
    more than the flow: short means short by more than that."""
    inp = prob.inp
    coverable = np.diff(prob.c.indptr) > 0
    total = float(inp.weights[coverable].sum())
    got = _assign_flow(prob, cap, inp.allowed.copy())
    slack = (inp.n_demand + int(inp.allowed.sum()) + 1 + int(prob.c.nnz)) * float(
        inp.weights.sum()) / FLOW_UNITS
    return got.objective + slack < total - TOL * max(1.0, total)


def _reach_weight(c: sp.csr_matrix, residual: FloatArray) -> FloatArray:
    """Per site, the residual weight within its standard."""
    return np.asarray(c.T @ residual).ravel()


def _greedy_fill(prob: CoverInputs, cap: FloatArray, open_mask: BoolArray,
                 residual: FloatArray, count_left: int | None, by_cost: bool,
                 cc: sp.csc_matrix | None = None) -> BoolArray:
    """Add sites while residual demand is left: each time the site taking the most of it
    (``min(capacity, residual within reach)``, per cost with ``by_cost``), its rows'
    residual reduced in proportion.  A heuristic: the caller checks the result by LP."""
    inp, c = prob.inp, prob.c
    mask = open_mask.copy()
    r = residual.copy()
    cc = c.tocsc() if cc is None else cc
    added = 0
    while count_left is None or added < count_left:
        reach = _reach_weight(c, r)
        take = np.minimum(cap, reach)
        ok = inp.allowed & ~mask & (take > TOL * max(1.0, float(r.sum())))
        if not ok.any():
            break
        score = take / np.maximum(inp.costs, 1e-9) if by_cost else take
        j = int(np.argmax(np.where(ok, score, -1.0)))
        mask[j] = True
        added += 1
        rows = cc.indices[cc.indptr[j]:cc.indptr[j + 1]]
        frac = take[j] / reach[j] if reach[j] > 0 else 0.0
        r[rows] *= (1.0 - frac)
        if r.sum() <= TOL * max(1.0, float(inp.weights.sum())):
            break
    return mask


def _residual(prob: CoverInputs, ans: _Answer) -> FloatArray:
    return prob.inp.weights * (1.0 - _shares(prob.inp.n_demand, ans.cm, ans.values, prob.inp.n_sites))


def _heuristic(prob: CoverInputs, cap: FloatArray, start: BoolArray, p: int | None, *,
               single: bool, pen: float | None, deadline: float | None,
               final_deadline: float | None, options: SolveOptions,
               lp_assignment: bool = True, target: float = math.inf) -> _Answer | None:
    """A good capacitated answer from ``start`` (the uncapacitated answer): assign by LP,
    then add the sites taking the most unassigned demand (``p`` permitting) and assign
    again, until everyone is assigned, no site helps or the time is up."""
    inp = prob.inp
    coverable = np.diff(prob.c.indptr) > 0
    total = float(inp.weights[coverable].sum())
    mask = start.copy()
    best: _Answer | None = None
    cc = prob.c.tocsc()
    big = max(1e-9, float(cap[inp.allowed].max())) if inp.allowed.any() else 1e-9
    while True:
        if options.stopped or (deadline is not None and time.perf_counter() >= deadline):
            break
        # the most that these sites can take within capacity (a maximum flow)
        flow = _assign_flow(prob, cap, mask, cc)
        residual = flow.residual
        residual[~coverable] = 0.0
        left = None if p is None else p - int(mask.sum())
        if residual.sum() <= TOL * max(1.0, total) or left == 0:
            break
        # one site at a time near the end (the flow says again what is left), more while
        # much is left: Hà Nội at 400 m needs ~170 more than its uncapacitated cover
        batch = max(1, int(residual.sum() / (2.0 * big)))
        grown = _greedy_fill(prob, cap, mask, residual,
                             batch if left is None else min(batch, left), by_cost=p is None,
                             cc=cc)
        if (grown == mask).all():
            # no new site reaches what is left: one that relieves a full site instead
            full = mask & (flow.load >= cap * (1.0 - 1e-6))
            near_full = np.asarray(prob.c @ full.astype(np.float64)).ravel() > 0
            grown = _greedy_fill(prob, cap, mask, np.where(near_full, inp.weights, residual),
                                 1, by_cost=p is None, cc=cc)
            if (grown == mask).all():
                break
        mask = grown
    t_greedy = time.perf_counter()
    if final_deadline is None or time.perf_counter() < final_deadline:
        mask = _improve(prob, cap, mask, p, deadline=final_deadline, options=options)
    t_improve = time.perf_counter()
    # the answer itself: split and hard capacities, the flow's (the assignment LP's
    # value; the LP of ~500,000 pairs on Hà Nội at 400 m took over 38 s); else the
    # assignment model (the time of the whole call: a start is worth more than MIP time)
    # With p the flow's answer first too, then (``lp_assignment``) the LP's if better: the
    # flow's cut room costs a little weight (pt-1km: 1,599.95 of 1,600 dossiers a day),
    # but an LP stopped by its time limit on a loaded machine gave Quảng Ninh at 400 m a
    # start of 317.61 dossiers a day where the flow's assigns 1,197.  Above the pair cap
    # the MIP restricted to the start's sites (over merged points) follows and assigns
    # them exactly: there the LP (6.4 s on Quảng Ninh at 400 m) is left out, unless the
    # flow's answer is within NEAR_TARGET of ``target`` (the tightest known bound: the
    # LP's may prove it, as 1,600 of 1,600 on Phú Thọ at 1 km and Hà Nội at 400 m).
    flow_ok = not single and pen is None
    best = None
    if flow_ok:
        best = _flow_answer(prob, cap, mask, p, _assign_flow(prob, cap, mask, cc), pen)
    near = best is not None and _near(best.objective, target)
    if best is None or (p is not None and (lp_assignment or near)):
        fixed = _solve_fixed(prob, cap, mask, p, single=single, pen=pen,
                             limit=remaining(final_deadline), options=options,
                             source="uncapacitated answer + greedy additions")
        if _better(fixed, best, maximize=p is not None):
            best = fixed
    logger.info("start heuristic: %d sites, %s; local search %.1f s, assignment %.1f s",
                int(mask.sum()), "no answer" if best is None else f"{best.objective:.6g}",
                t_improve - t_greedy, time.perf_counter() - t_improve)
    # every point assigned by the split flow may not fit whole (single assignment): open
    # 1, 2, 4, ... more sites, those taking the most per cost, until it does
    take = np.minimum(cap, _reach_weight(prob.c, inp.weights))
    more = 1
    while best is None and p is None and not options.stopped and (
            final_deadline is None or time.perf_counter() < final_deadline):
        spare = np.flatnonzero(inp.allowed & ~mask & (take > 0))
        if spare.size == 0:
            break
        mask = mask.copy()
        mask[spare[np.argsort(-take[spare] / np.maximum(inp.costs[spare], 1e-9),
                              kind="stable")[:more]]] = True
        more *= 2
        best = _solve_fixed(prob, cap, mask, p, single=single, pen=pen,
                            limit=remaining(final_deadline), options=options,
                            source="uncapacitated answer + greedy additions")
    return best


#: Share of the time left that :func:`_improve` leaves for the final assignment and MIP.
IMPROVE_RESERVE = 0.25
#: Sites tried to come in (or, without ``p``, to close) per round of :func:`_improve`,
#: and the least loaded open sites tried to go out with ``p``; each try is a maximum
#: flow (~10 ms on Phú Thọ at 1 km).
IMPROVE_TRIES = 30
IMPROVE_OUT = 5


def _improve(prob: CoverInputs, cap: FloatArray, mask: BoolArray, p: int | None, *,
             deadline: float | None, options: SolveOptions) -> BoolArray:
    """Local search on the open sites, each move checked by the assignment (a maximum flow).

    With ``p``: swap the least loaded free site for one of those taking the most
    unassigned demand, while the assigned weight grows.  Without: close the least
    loaded free site while everyone can still be assigned.  Stops when no move helps
    or at the deadline (less a reserve for what follows)."""
    inp = prob.inp
    coverable = np.diff(prob.c.indptr) > 0
    total = float(inp.weights[coverable].sum())
    tol = TOL * max(1.0, total)
    cc = prob.c.tocsc()
    end = None if deadline is None else (
        time.perf_counter() + (1.0 - IMPROVE_RESERVE) * max(0.0, deadline - time.perf_counter()))

    def lp(m: BoolArray) -> _Flow:
        return _assign_flow(prob, cap, m, cc)

    cur = lp(mask)
    tried: set[tuple[int, int]] = set()
    while not options.stopped and (end is None or time.perf_counter() < end):
        load = cur.load
        free_open = np.flatnonzero(mask & ~inp.fixed_mask)
        if free_open.size == 0:
            break
        out = free_open[np.argsort(load[free_open], kind="stable")]
        if p is None:
            if cur.objective < total - tol:
                break  # not a full assignment: nothing to close
            moved = False
            for j in out[:IMPROVE_TRIES]:
                if (int(j), -1) in tried:
                    continue
                tried.add((int(j), -1))
                trial = mask.copy()
                trial[j] = False
                # every coverable point must keep a site within reach
                if ((prob.c @ trial.astype(np.float64))[coverable] == 0).any():
                    continue
                got = lp(trial)
                if got.objective >= total - tol:
                    mask, cur, moved = trial, got, True
                    break
            if not moved:
                break
            continue
        residual = cur.residual.copy()
        residual[~coverable] = 0.0
        take = np.minimum(cap, _reach_weight(prob.c, residual))
        take[mask | ~inp.allowed] = -1.0
        ins = np.argsort(-take, kind="stable")[:IMPROVE_TRIES]
        ins = ins[take[ins] > tol]
        moved = False
        for j_out, j_in in ((int(a), int(b)) for a in out[:IMPROVE_OUT] for b in ins):
            if (j_out, j_in) in tried:
                continue
            if end is not None and time.perf_counter() >= end:
                break
            tried.add((j_out, j_in))
            trial = mask.copy()
            trial[j_out], trial[j_in] = False, True
            got = lp(trial)
            if got.objective > cur.objective + tol:
                mask, cur, moved = trial, got, True
                break
        if not moved:
            break
    return mask


def _capacity_bound(prob: CoverInputs, cap: FloatArray, p: int) -> float:
    """Without overload: at most ``min(capacity, weight within reach)`` at each open
    site, so at most the must-open sites' amounts plus the largest ``p - |fixed|`` others."""
    inp = prob.inp
    take = np.minimum(cap, _reach_weight(prob.c, inp.weights))
    fixed = inp.fixed_mask
    free = np.sort(take[inp.allowed & ~fixed])[::-1]
    return float(take[fixed].sum() + free[:max(0, p - int(fixed.sum()))].sum())


def _open_of(ans: _Answer, n_sites: int) -> BoolArray:
    """The sites ``ans`` opens."""
    mask = np.zeros(n_sites, dtype=bool)
    mask[ans.cm.cand[ans.values[ans.cm.x0:ans.cm.x0 + ans.cm.cand.size] > 0.5]] = True
    return mask


def _cost_capacity_bound(prob: CoverInputs, cap: FloatArray, pen: float | None) -> float:
    """Set-covering form: every coverable weight is assigned, each open site taking at most
    ``min(capacity, weight within reach)`` (and any overload at ``pen`` a unit), so the cost
    is at least that of the cheapest fractional choice of sites (the must-open ones
    included) whose amounts add up to the total: a knapsack LP solved by sorting.
    ``nan`` when even every allowed site cannot take it all (the model is infeasible)."""
    inp = prob.inp
    coverable = np.diff(prob.c.indptr) > 0
    need = float(inp.weights[coverable].sum())
    take = np.minimum(cap, _reach_weight(prob.c, inp.weights))
    fixed = inp.fixed_mask
    cost = float(inp.costs[fixed].sum())
    need -= float(take[fixed].sum())
    free = np.flatnonzero(inp.allowed & ~fixed & (take > 0))
    ratio = inp.costs[free] / take[free]
    price = math.inf if pen is None else float(pen)
    for j in free[np.argsort(ratio, kind="stable")]:
        if need <= 0 or inp.costs[j] / take[j] >= price:
            break
        used = min(1.0, need / take[j])
        cost += used * float(inp.costs[j])
        need -= used * float(take[j])
    if need > TOL * max(1.0, float(inp.weights.sum())):
        if math.isinf(price):
            return math.nan
        cost += price * need
    return cost


def _full_hint(cm: CapacitatedMip, ans: _Answer, n_sites: int) -> FloatArray:
    """``ans`` (a restricted model's values) as a start of the full model ``cm``."""
    hint = np.zeros(cm.mip.n_vars)
    a = ans.cm
    x_open = np.zeros(n_sites)
    x_open[a.cand] = ans.values[a.x0:a.x0 + a.cand.size] > 0.5
    hint[cm.x0:cm.x0 + cm.cand.size] = x_open[cm.cand]
    keys = cm.rows * n_sites + cm.cols
    order = np.argsort(keys, kind="stable")
    sub_keys = a.rows * n_sites + a.cols
    pos = order[np.searchsorted(keys[order], sub_keys)]
    hint[cm.z0 + pos] = ans.values[a.z0:a.z0 + a.rows.size]
    o = np.zeros(n_sites)
    o[a.cand] = ans.values[a.o0:a.o0 + a.cand.size]
    hint[cm.o0:cm.o0 + cm.cand.size] = o[cm.cand]
    return hint


def _merged_hint(cm: CapacitatedMip, ans: _Answer, labels: IntArray, d: FloatArray,
                 inp: Inputs) -> FloatArray:
    """``ans`` (values over the demand points) as a start of ``cm``, a model over merged
    points (``labels``: each point's merged point, ``d`` their weights): a merged point
    sends to each site the weight its points send there."""
    hint = np.zeros(cm.mip.n_vars)
    a = ans.cm
    x_open = np.zeros(inp.n_sites)
    x_open[a.cand] = ans.values[a.x0:a.x0 + a.cand.size] > 0.5
    hint[cm.x0:cm.x0 + cm.cand.size] = x_open[cm.cand]
    g = labels[a.rows]
    ok = g >= 0
    sent = sp.csr_matrix((inp.weights[a.rows[ok]] * _z(a, ans.values, inp.n_sites)[ok],
                          (g[ok], a.cols[ok])), shape=(d.size, inp.n_sites))
    share = np.asarray(sent[cm.rows, cm.cols]).ravel() / np.maximum(d[cm.rows], 1e-300)
    hint[cm.z0:cm.z0 + cm.rows.size] = np.clip(share, 0.0, 1.0)
    o = np.zeros(inp.n_sites)
    o[a.cand] = ans.values[a.o0:a.o0 + a.cand.size]
    hint[cm.o0:cm.o0 + cm.cand.size] = o[cm.cand]
    return hint


def _expanded(prob: CoverInputs, cap: FloatArray, p: int | None, cm: CapacitatedMip,
              values: FloatArray, labels: IntArray, pen: float | None, source: str) -> _Answer:
    """A solution of ``cm``, a model over merged points (``labels``: each point's merged
    point), as an answer over the demand points: each point sends to each site the share
    its merged point sends (the same loads, every point as much assigned)."""
    inp = prob.inp
    mask = inp.fixed_mask
    mask[cm.cand[values[cm.x0:cm.x0 + cm.cand.size] > 0.5]] = True
    sub = _restricted(prob, mask)
    out = capacitated_mip(sub, cap, None if p is None else int(mask.sum()),
                          single_assignment=False, overload_penalty=pen)
    share = sp.csr_matrix((_z(cm, values, inp.n_sites), (cm.rows, cm.cols)),
                          shape=(int(labels.max(initial=-1)) + 1, inp.n_sites))
    vals = np.zeros(out.mip.n_vars)
    vals[out.x0:out.x0 + out.cand.size] = 1.0
    g = labels[out.rows]
    z = np.zeros(out.rows.size)
    ok = g >= 0
    z[ok] = np.asarray(share[g[ok], out.cols[ok]]).ravel()
    vals[out.z0:out.z0 + out.rows.size] = z
    o = np.zeros(inp.n_sites)
    o[cm.cand] = values[cm.o0:cm.o0 + cm.cand.size]
    vals[out.o0:out.o0 + out.cand.size] = o[out.cand]
    return _Answer(out, vals, _value(sub, out, vals, cap, p is not None,
                                     0.0 if pen is None else pen), source)


#: What a restricted MIP's report says when it was solved to optimality on its sites.
OPTIMAL_ON_SITES = " (optimal on those sites)"


def _restricted_mip(prob: CoverInputs, cap: FloatArray, p: int | None, sites: BoolArray,
                    heur: _Answer, *, single: bool, pen: float | None, deadline: float | None,
                    options: SolveOptions,
                    what: str = "the start and the uncapacitated answer",
                    ) -> tuple[_Answer | None, SolverReport | None, str]:
    """The capacitated model with only ``sites`` allowed (must-open sites stay must-open),
    hinted with ``heur`` (whose sites are among them): any answer is one of the full
    model, its bound is not (the full model has more sites), so it is not reported.
    With split assignment, demand points with the same sites within reach among
    ``sites`` are merged first (an exact aggregation: a merged point's shares are each
    of its points' shares): on Quảng Ninh at 1 km the 52 sites of the MCLP's start
    reach 19,402 (point, site) pairs, 765 once merged, and the MIP there is solved in
    1 s instead of 30.

    ``None`` (and why, for the notes) when the restriction is too large for a MIP, or
    would leave a coverable point without a site (the set-covering form needs one)."""
    inp = prob.inp
    allowed = sites & inp.allowed
    c = restrict_columns(prob.c, allowed)
    if p is None and ((np.diff(c.indptr) == 0) & (np.diff(prob.c.indptr) > 0)).any():
        return None, None, "the restricted sites do not cover every coverable point"
    labels: IntArray | None = None
    if single:
        sub = replace(prob, inp=replace(inp, allowed=allowed), c=c)
    else:
        cmm, d, labels = capacity_cuts.merge(c, inp.weights)
        sub = CoverInputs(replace(inp, n_demand=int(d.size), weights=d, allowed=allowed),
                          sp.csr_matrix(cmm, dtype=bool), np.zeros(0, dtype=np.int64))
    if sub.c.nnz > RESTRICTED_MIP_MAX_PAIRS:
        return None, None, (f"no MIP on its {int(allowed.sum())} sites either "
                            f"({sub.c.nnz:,} pairs)")
    cm = capacitated_mip(sub, cap, p, single_assignment=single, overload_penalty=pen)
    hint = _full_hint(cm, heur, inp.n_sites) if labels is None else _merged_hint(
        cm, heur, labels, sub.inp.weights, inp)
    sol = solve_mip(cm.mip, engine=options.engine, time_limit_s=remaining(deadline),
                    seed=options.seed, threads=options.threads, stop=options.stop,
                    hint=hint)
    what = f"MIP restricted to the {int(allowed.sum())} sites of {what}"
    pairs = f"{c.nnz:,} pairs" + ("" if labels is None else f", {sub.c.nnz:,} merged")
    # FEASIBLE at best: optimal on these sites is not optimal on all
    proven = OPTIMAL_ON_SITES if sol.report.status is SolveStatus.OPTIMAL else ""
    status = SolveStatus.FEASIBLE if sol.values is not None else sol.report.status
    report = replace(sol.report, status=status, best_bound=math.nan, gap=math.inf,
                     message=f"{what} ({pairs}){proven}: its bound is not the model's")
    if sol.values is None:
        return None, report, ""
    if labels is not None:
        return _expanded(prob, cap, p, cm, sol.values, labels, pen, what), report, ""
    value = _value(sub, cm, sol.values, cap, p is not None, 0.0 if pen is None else pen)
    return _Answer(cm, sol.values, value, what), report, ""


#: Sites whose value in the master's LP answer (by PDLP, with ``p``) is above these join
#: the restricted MIP, one level a round while the previous round was solved to
#: optimality on its sites (Quảng Ninh at 1 km: the 52 sites of the start reach 765
#: merged pairs, with those above 0.2 102 sites and 5,612, above 0.05 152 and 13,890).
LP_SITE_LEVELS = (0.2, 0.05)


def _lp_restricted(prob: CoverInputs, cap: FloatArray, p: int | None, start: BoolArray,
                   heur: _Answer, restricted: _Answer | None, x_lp: FloatArray,
                   stages: list[SolverReport], *, deadline: float | None,
                   options: SolveOptions) -> _Answer | None:
    """Further rounds of :func:`_restricted_mip` on the sites of the start, of the best
    answer known and those above each of :data:`LP_SITE_LEVELS` in the master's LP
    answer ``x_lp``, hinted with the best answer known; the best answer (or
    ``restricted`` if none is better).  Stops at the deadline, at a round not solved to
    optimality on its sites (its time was out) or one too large for a MIP."""
    maximize = p is not None
    n = prob.inp.n_sites
    used = start | _open_of(heur, n)
    for level in LP_SITE_LEVELS:
        left = remaining(deadline)
        if options.stopped or (left is not None and left < 1.0):
            break
        best = heur if restricted is None or _better(heur, restricted, maximize=maximize) \
            else restricted
        sites = used | _open_of(best, n) | (x_lp > level)
        if (sites == used).all():
            continue
        used = sites
        got, report, _ = _restricted_mip(
            prob, cap, p, sites, best, single=False, pen=None, deadline=deadline,
            options=options, what=f"the start, the best answer and the master's LP (> {level})")
        if report is None:
            break
        stages.append(report)
        if _better(got, restricted, maximize=maximize):
            restricted = got
        if OPTIMAL_ON_SITES not in report.message:
            break
    return restricted


def _near(value: float, target: float) -> bool:
    """Whether a maximised ``value`` is within :data:`NEAR_TARGET` of ``target`` (the
    tightest known bound; never with no bound, ``inf``)."""
    return value >= target - NEAR_TARGET * max(1.0, target)


def _better(a: _Answer | None, b: _Answer | None, *, maximize: bool) -> bool:
    """Whether answer ``a`` exists and beats ``b`` (any answer beats none)."""
    return a is not None and (b is None or (a.objective > b.objective if maximize
                                            else a.objective < b.objective))


def _meets(value: float, bounds: dict[str, float], *, maximize: bool,
           integral: bool = False) -> bool:
    """Whether ``value`` already meets the tightest of ``bounds`` (is proven optimal);
    ``integral``: a lower bound is rounded up first (whole opening costs)."""
    if not bounds:
        return False
    bound = min(bounds.values()) if maximize else max(bounds.values())
    if integral and not maximize:
        bound = math.ceil(bound - 1e-6)
    return (value >= bound - 1e-6 * max(1.0, abs(value)) if maximize
            else value <= bound + 1e-6 * max(1.0, abs(value)))


def _merged_count(prob: CoverInputs) -> int:
    """Demand points with distinct sets of sites within reach (the master's points)."""
    return int(capacity_cuts.merged_points(prob.c, prob.inp.weights)[1].size)


def _cut_master(prob: CoverInputs, cap: FloatArray, p: int | None, known: list[_Answer],
                bounds: dict[str, float], *, deadline: float | None, options: SolveOptions,
                ) -> tuple[_Answer | None, str, float] | None:
    """The cut-set master (:mod:`optimizer.placement.capacity_cuts`) hinted with the best
    of ``known``: its best answer (as an answer of the whole model), a note and its bound
    (valid for the capacitated model).  ``None`` when the known bounds already prove the
    best known answer."""
    inp = prob.inp
    maximize = p is not None
    best = (max if maximize else min)(known, key=lambda a: a.objective)
    if _meets(best.objective, bounds, maximize=maximize, integral=whole(inp.costs)):
        return None
    m_deadline = None if deadline is None or options.time_limit_s is None else (
        deadline - MASTER_RESERVE * options.time_limit_s)
    def repaired(mask: BoolArray, end: float | None) -> _Answer | None:
        # sites the flow cannot assign in full: add and close as the start does
        return _heuristic(prob, cap, mask, None, single=False, pen=None, deadline=end,
                          final_deadline=end, options=options)

    def repair(mask: BoolArray) -> BoolArray | None:
        # (briefly, during the master)
        end = None if m_deadline is None or options.time_limit_s is None else min(
            m_deadline, time.perf_counter() + REPAIR_TIME_SHARE * options.time_limit_s)
        got = repaired(mask, end)
        logger.info("repair of a master answer (%d sites): %s", int(mask.sum()),
                    "none" if got is None else f"{got.objective:.6g}")
        return None if got is None else _open_of(got, inp.n_sites)

    best_sites = _open_of(best, inp.n_sites)
    out = capacity_cuts.solve_master(prob, cap, p, hint_sites=best_sites,
                                     deadline=m_deadline, options=options,
                                     repair=repair if p is None else None)
    answer: _Answer | None = None
    cc = prob.c.tocsc()
    for mask in out.candidates[::-1][:3]:
        if (mask == best_sites).all():
            continue
        got: _Answer | None
        if p is None:
            got = _flow_answer(prob, cap, mask, p, _assign_flow(prob, cap, mask, cc), None)
            if got is None:
                got = repaired(mask, deadline)
        else:
            got = _solve_fixed(prob, cap, mask, p, single=False, pen=None,
                               limit=remaining(deadline), options=options,
                               source="cut-set master")
        if got is not None:
            got = replace(got, source="cut-set master")
            if _better(got, answer, maximize=maximize):
                answer = got
    return answer, out.note, out.bound


#: The master's LP (with ``p`` above :data:`MASTER_MCLP_MAX_POINTS`) by the simplex
#: method, warm-started round after round (:func:`capacity_cuts.simplex_bound`) in a
#: thread beside the restricted MIPs (:class:`capacity_cuts.LpWorker`), instead of PDLP
#: rounds before them (:func:`capacity_cuts.first_order_bound`): on Quảng Ninh at 1 km
#: PDLP's rounds (3-9 s each) stop at 1,211.4 once its approximate answers violate no
#: cut, the simplex rounds (0.3-1 s after the first three) go on to 1,210.2.
SIMPLEX_MASTER_LP = True
#: With :data:`SIMPLEX_MASTER_LP`, optimal LP rounds the restricted MIPs wait for (at
#: most :data:`FIRST_ORDER_TIME_SHARE` of the limit): Quảng Ninh at 1 km's third is
#: at 1,211.9 against the first's 1,222.5.
SIMPLEX_WAIT_ROUNDS = 3
#: Merged demand points above which the master's LP goes by PDLP rounds as before: on
#: Quảng Ninh at 400 m (18,323 points, 603,123 non-zeros) the first simplex LP (IPM and
#: crossover) did not end in the minute at load 6 (bound: the uncapacitated 1,235), where
#: Lạng Sơn at 1 km's (11,558, 359,642) took ~20 s.
SIMPLEX_MAX_POINTS = 15_000
#: Seconds before the deadline its rounds stop (the answer's assignment is left to do).
SIMPLEX_END_S = 1.5


def _uncapacitated(prob: CoverInputs, p: int | None, options: SolveOptions,
                   ) -> PlacementResult:
    # local imports: the uncapacitated models are the capacitated one's start and bound
    from optimizer.placement.max_cover import solve_mclp
    from optimizer.placement.set_cover import solve_lscp

    if p is None:
        return solve_lscp(prob, options)
    return solve_mclp(prob, p, options)


def _read(inp: Inputs, cm: CapacitatedMip, values: FloatArray, cap: FloatArray,
          ) -> tuple[BoolArray, IntArray, FloatArray]:
    """Open sites, each demand point's main site (largest share) and the overloads."""
    open_mask = inp.fixed_mask
    assignment = np.full(inp.n_demand, -1, dtype=np.int64)
    overload = np.zeros(inp.n_sites)
    open_mask[cm.cand[values[cm.x0:cm.x0 + cm.cand.size] > 0.5]] = True
    main_sites(cm.rows, cm.cols, _z(cm, values, inp.n_sites), assignment)
    overload[cm.cand] = _overload(inp, cm, values, cap)
    return open_mask, assignment, overload


def solve_capacitated(prob: CoverInputs, capacity: npt.ArrayLike, p: int | None,
                      options: SolveOptions, *, single_assignment: bool = False,
                      overload_penalty: float | None = None) -> PlacementResult:
    """:func:`capacitated` on checked inputs.

    1. The uncapacitated model (LSCP, or MCLP with ``p``) with a share of the time:
       its answer is the start, its bound a bound (an LSCP lower bound: every
       capacitated answer opens a cover; an MCLP upper bound: the assigned weight
       is within the standard of an open site).
    2. A heuristic from that answer: assignment by maximum flow, greedy additions of
       the sites taking the most unassigned demand, a local search (each move checked
       by the flow), the answer's assignment by the flow or the assignment model.
    3. The full model, hinted with the heuristic answer, for the rest of the time; above
       :data:`CAPACITATED_MIP_MAX_PAIRS` pairs never, but the model restricted to the
       sites of 1 and 2 (:func:`_restricted_mip`, answer only).

    The best answer is kept; the bound is the tightest of the MIP's, the uncapacitated
    one, the capacities' (with ``p`` and no overload), the room bound (without ``p``,
    :func:`_cost_capacity_bound`) and the total coverable weight.
    """
    t0 = time.perf_counter()
    inp = prob.inp
    check_p(p, inp.fixed.size)
    cap = _check_capacity(capacity, inp.n_sites)
    maximize = p is not None
    pen = 0.0 if overload_penalty is None else float(overload_penalty)
    deadline = options.deadline(t0)
    limit = options.time_limit_s
    coverable = np.diff(prob.c.indptr) > 0
    total = float(inp.weights[coverable].sum())
    notes: list[str] = []
    stages: list[SolverReport] = []

    n_pairs = int(prob.c.nnz)
    # with p and too many points for the master's MIP: its LP by PDLP (a bound) and the
    # MIP restricted to the sites it opens follow the start, which leaves them time
    n_merged = _merged_count(prob) if p is not None and n_pairs > CAPACITATED_MIP_MAX_PAIRS \
        else 0
    many_points = n_merged > MASTER_MCLP_MAX_POINTS
    # the master's LP by the simplex method in a thread, up to SIMPLEX_MAX_POINTS
    simplex = SIMPLEX_MASTER_LP and n_merged <= SIMPLEX_MAX_POINTS
    first_order = (many_points and not single_assignment and overload_penalty is None
                   and limit is not None and deadline is not None)

    # 1. the uncapacitated model (less time when the master's LP by PDLP is to follow)
    unc = _uncapacitated(prob, p, options.within(None if limit is None else (
        UNCAPACITATED_FIRST_ORDER_SHARE if first_order else UNCAPACITATED_TIME_SHARE)
        * limit))
    stages.append(unc.report)
    bounds: dict[str, float] = {}
    if maximize:
        bounds["all coverable demand"] = total
        if math.isfinite(unc.best_bound):
            bounds["uncapacitated"] = unc.best_bound
        if overload_penalty is None or pen >= 1.0:
            # an overload that costs at least what it assigns never pays
            assert p is not None
            bounds["capacities"] = _capacity_bound(prob, cap, p)
    else:
        if math.isfinite(unc.best_bound):
            bounds["uncapacitated"] = unc.best_bound
        # every coverable weight needs room at an open site (cost per unit of room)
        room = _cost_capacity_bound(prob, cap, overload_penalty)
        if math.isfinite(room):
            bounds["capacities"] = room
    # 2. the start heuristic
    start = np.zeros(inp.n_sites, dtype=bool)
    if unc.status.has_solution:
        start[unc.open_sites] = True
    start |= inp.fixed_mask
    h_deadline = None if limit is None else min(
        deadline if deadline is not None else math.inf,
        time.perf_counter() + HEURISTIC_TIME_SHARE * limit)
    h_final = deadline if not first_order or deadline is None or limit is None else (
        deadline - FIRST_ORDER_RESERVE * limit)
    # with p, the tightest bound known before the start (its answer may meet it)
    target = min(bounds.values()) if maximize and bounds else math.inf
    heur = _heuristic(prob, cap, start, p, single=single_assignment, pen=overload_penalty,
                      deadline=None if h_deadline is None or h_final is None
                      else min(h_deadline, h_final), final_deadline=h_final,
                      options=options, lp_assignment=n_pairs <= CAPACITATED_MIP_MAX_PAIRS,
                      target=target) if unc.status.has_solution else None

    # 3. the full model, hinted (unless it is too large to help in time)
    restricted: _Answer | None = None
    if n_pairs > CAPACITATED_MIP_MAX_PAIRS:
        # 3'. a MIP on the sites of the start and the uncapacitated answer (an answer only);
        # never the full model, not even without a start: it overruns time and memory
        # (Quảng Ninh at 400 m, 1.16 million pairs: 104 s and 2.5 GB for no answer)
        r_report: SolverReport | None = None
        why = "the start heuristic found no answer in time"
        if heur is None and p is None and overload_penalty is None and _surely_short(prob, cap):
            return _infeasible(prob, cap, options, t0, stages, overload_penalty, "")
        x_lp: FloatArray | None = None
        f_master: capacity_cuts.Master | None = None
        use_master = not single_assignment and overload_penalty is None and (
            p is None or not many_points)
        r_end = deadline  # the restricted MIPs' end
        # the MIP restricted to the start's sites goes first unless the master's LP by
        # PDLP is to run, and then too (a share only) when the start is within
        # NEAR_TARGET of the known bound: its answer may meet it (Hà Nội at 400 m: 1,600,
        # the start's 1,599.65; 61 s -> 32 s), and then no PDLP round runs
        early = heur is not None and (not first_order or _near(heur.objective, target))

        def restrict(heur: _Answer, end: float | None) -> tuple[
                _Answer | None, SolverReport | None, str]:
            return _restricted_mip(prob, cap, p, start | _open_of(heur, inp.n_sites), heur,
                                   single=single_assignment, pen=overload_penalty,
                                   deadline=end, options=options)

        if early and heur is not None:
            r_deadline = deadline if not (use_master or first_order) or limit is None \
                or deadline is None \
                else min(deadline, time.perf_counter() + RESTRICTED_TIME_SHARE * limit)
            restricted, r_report, why = restrict(heur, r_deadline)
        best_known = restricted if _better(restricted, heur, maximize=maximize) else heur
        worker: capacity_cuts.LpWorker | None = None
        if first_order and limit is not None and deadline is not None and not (
                best_known is not None and _meets(best_known.objective, bounds,
                                                  maximize=True)) and simplex:
            # too many points for the master's MIP: its LP by the simplex method, for a
            # bound, in a thread beside the restricted MIPs until the deadline; they
            # start once it has had SIMPLEX_WAIT_ROUNDS rounds (its sites' values) or
            # FIRST_ORDER_TIME_SHARE of the limit
            worker = capacity_cuts.LpWorker(prob, cap, p, deadline=deadline - min(
                MASTER_RESERVE * limit, SIMPLEX_END_S), options=options).start()
            worker.wait(SIMPLEX_WAIT_ROUNDS, min(
                deadline, time.perf_counter() + FIRST_ORDER_TIME_SHARE * limit))
            x_lp = worker.x
        elif first_order and limit is not None and deadline is not None and not (
                best_known is not None and _meets(best_known.objective, bounds,
                                                  maximize=True)):
            # too many points for the master's MIP: its LP by PDLP, for a bound
            t_fo = time.perf_counter()
            f_bound, x_lp, f_note, f_master = capacity_cuts.first_order_bound(
                prob, cap, p, deadline=min(deadline, time.perf_counter()
                                           + FIRST_ORDER_TIME_SHARE * limit),
                options=options)
            notes.append(f_note)
            if math.isfinite(f_bound):
                bounds["cut-set master LP"] = f_bound
            # after a single round, the restricted MIPs leave time for another (as long
            # as this call took) unless that leaves them less than RESTRICTED_MIN_S
            hold = FIRST_ORDER_ROUND_MARGIN * (time.perf_counter() - t_fo) + \
                MASTER_RESERVE * limit
            if f_master.first_order_rounds <= 1 and (
                    deadline - hold - time.perf_counter() >= RESTRICTED_MIN_S):
                r_end = deadline - hold
        if not early and heur is not None:
            restricted, r_report, why = restrict(heur, r_end)
        if r_report is not None:
            stages.append(r_report)
        if worker is not None and heur is not None and deadline is not None:
            # its latest rounds' sites (waiting for its first if need be: Lạng Sơn at
            # 1 km's first LP took ~20 s on the loaded machine, the MIP on the start's
            # sites 0.3 s)
            worker.wait(1, deadline - RESTRICTED_MIN_S)
            x_lp = worker.x if worker.x is not None else x_lp
        if heur is not None and x_lp is not None:
            # the MIP restricted again, with the sites the master's LP opens in part
            restricted = _lp_restricted(prob, cap, p, start, heur, restricted, x_lp, stages,
                                        deadline=r_end, options=options)
        if worker is not None:
            w_bound, _, w_note, _ = worker.join()
            notes.append(w_note)
            if math.isfinite(w_bound):
                bounds["cut-set master LP"] = w_bound
        elif f_master is not None and deadline is not None and limit is not None and (
                deadline - time.perf_counter() > FIRST_ORDER_MORE_S):
            # time left (the restricted MIPs were solved to the end): more LP rounds
            more, _, m_note, _ = capacity_cuts.first_order_bound(
                prob, cap, p, deadline=deadline - MASTER_RESERVE * limit, options=options,
                master=f_master)
            notes.append(f"then {m_note}")
            if math.isfinite(more):
                bounds["cut-set master LP"] = min(bounds.get("cut-set master LP", math.inf),
                                                  more)
        if use_master and heur is not None:
            # 3''. split and hard capacities: the cut-set master over the sites
            known = [a for a in (heur, restricted) if a is not None]
            master = _cut_master(prob, cap, p, known, bounds, deadline=deadline,
                                 options=options)
            if master is not None:
                m_answer, m_note, m_bound = master
                notes.append(m_note)
                if math.isfinite(m_bound):
                    bounds["cut-set master"] = m_bound
                if _better(m_answer, restricted, maximize=maximize):
                    restricted = m_answer
        notes.append(f"no MIP for {n_pairs:,} (point, site) pairs: the answer is the start "
                     "heuristic's" + ("" if r_report is None else
                                      " or the MIP restricted to its sites'")
                     + ", the bound the known ones" + (f" ({why})" if why else ""))
        # the solver named is the one whose bound is reported: the master's LP by HiGHS's
        # simplex when the thread ran, else the uncapacitated step's
        solver = unc.report.solver if worker is None else "highs-simplex-master+restricted-mip"
        sol = MipSolution(SolverReport(
            SolveStatus.NOT_SOLVED, math.nan, math.nan, math.inf, 0.0, solver,
            options.seed, options.threads, 0.0, ""), None)
        cm: CapacitatedMip | None = None
    else:
        cm = capacitated_mip(prob, cap, p, single_assignment=single_assignment,
                             overload_penalty=overload_penalty)
        hint = None if heur is None else _full_hint(cm, heur, inp.n_sites)
        sol = solve_mip(cm.mip, engine=options.engine, time_limit_s=remaining(deadline),
                        seed=options.seed, threads=options.threads, stop=options.stop,
                        hint=hint)
        stages.append(sol.report)
    if sol.report.status is SolveStatus.INFEASIBLE:
        return _infeasible(prob, cap, options, t0, stages, overload_penalty, "")
    cands: list[_Answer] = []
    if sol.values is not None and cm is not None:
        cands.append(_Answer(cm, sol.values, _value(prob, cm, sol.values, cap, maximize, pen),
                             "MIP"))
    if heur is not None:
        cands.append(heur)
    if restricted is not None:
        cands.append(restricted)
    mip_b = sol.report.best_bound
    if math.isfinite(mip_b):
        bounds["MIP"] = mip_b
    if maximize:
        bound = min(bounds.values()) if bounds else math.inf
    else:
        bound = max(bounds.values()) if bounds else 0.0
        if overload_penalty is None and whole(inp.costs):
            bound = math.ceil(bound - 1e-6)
    if bounds:
        which = min(bounds, key=bounds.__getitem__) if maximize else max(
            bounds, key=bounds.__getitem__)
        notes.append(f"bound from the {which} ({'; '.join(f'{k} {v:.6g}' for k, v in bounds.items())})")
    if not cands:
        report = replace(sol.report, wall_time_s=time.perf_counter() - t0, best_bound=bound,
                         message="; ".join(x for x in (*notes, sol.report.message) if x))
        return finish("capacitated", inp, inp.fixed_mask, prob.c, prob.minutes, math.nan,
                      report, prob.uncoverable, stages=tuple(stages), capacity=cap,
                      overload=np.zeros(inp.n_sites), assigned_share=np.zeros(inp.n_demand))
    best = (max if maximize else min)(cands, key=lambda a: a.objective)
    if best is restricted:
        notes.insert(0, f"answer from the {best.source} (the start heuristic's was "
                        f"{heur.objective if heur is not None else math.nan:.6g})")
    elif best.source != "MIP" and sol.report.time_limit_s != 0.0:
        notes.insert(0, f"answer from the {best.source} (the MIP's incumbent was "
                        + (f"{cands[0].objective:.6g})" if cands[0].source == "MIP" else "none)"))
    value = best.objective
    tol = 1e-6 * max(1.0, abs(value))
    if maximize:
        bound = max(bound, value)  # a bound below a found answer is a rounding artefact
        proven = value >= bound - tol
    else:
        bound = min(bound, value)
        proven = value <= bound + tol
    proven = proven or (sol.report.status is SolveStatus.OPTIMAL and best.source == "MIP")
    if proven:
        bound = value
    status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    report = SolverReport(
        status, value, bound, relative_gap(value, bound), time.perf_counter() - t0,
        sol.report.solver, options.seed, options.threads, options.time_limit_s,
        "; ".join(x for x in (*notes, sol.report.message) if x))
    open_mask, assignment, overload = _read(inp, best.cm, best.values, cap)
    share = _shares(inp.n_demand, best.cm, best.values, inp.n_sites)
    res = finish("capacitated", inp, open_mask, prob.c, prob.minutes, value, report,
                 prob.uncoverable, assignment=assignment, stages=tuple(stages), capacity=cap,
                 overload=overload, assigned_share=share)
    load = _load(inp, best.cm, best.values)
    logger.info("capacitated: %d sites open, %s", res.open_sites.size, report.summary())
    return replace(res, load=load, covered_weight=float(inp.weights @ share))


def _infeasible(prob: CoverInputs, cap: FloatArray, options: SolveOptions, t0: float,
                stages: list[SolverReport], overload_penalty: float | None,
                detail: str) -> PlacementResult:
    inp = prob.inp
    why = ("the capacities of the sites allowed to open cannot take every coverable "
           "demand point within the standard" + (
               " (allow overload at a cost: overload_penalty, --overload-penalty on the"
               " command line)" if overload_penalty is None else ""))
    report = SolverReport(SolveStatus.INFEASIBLE, math.nan, math.nan, math.inf,
                          time.perf_counter() - t0, options.solver_name, options.seed,
                          options.threads, options.time_limit_s,
                          "; ".join(x for x in (why, detail) if x))
    return finish("capacitated", inp, inp.fixed_mask, prob.c, prob.minutes, math.nan, report,
                  prob.uncoverable, stages=tuple(stages), capacity=cap,
                  overload=np.zeros(inp.n_sites), assigned_share=np.zeros(inp.n_demand))


def capacitated(
    covered: Matrix,
    weights: npt.ArrayLike,
    capacity: npt.ArrayLike,
    p: int | None = None,
    *,
    fixed: Sites = None,
    closed: Sites = None,
    costs: npt.ArrayLike | None = None,
    minutes: Matrix | None = None,
    single_assignment: bool = False,
    overload_penalty: float | None = None,
    time_limit_s: float | None = 60.0,
    seed: int = 0,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    stop: threading.Event | None = None,
) -> PlacementResult:
    """Coverage with capacities: demand goes only to open sites within the standard.

    See the module docstring for the model.  When a must-open site is in a
    component, minutes (if given) do not enter the objective.  Without single
    assignment, the answer's dossiers then go where travel is least within capacity
    (:func:`optimizer.placement.reassign.least_travel`: same sites, same shares).

    Returns
    -------
    PlacementResult
        ``load``, ``capacity`` and ``overload`` per site are filled in.
    """
    options = SolveOptions(time_limit_s, seed, threads, engine, stop)
    prob = cover_inputs(covered, weights, fixed, closed, costs, minutes)
    res = solve_capacitated(prob, capacity, p, options, single_assignment=single_assignment,
                            overload_penalty=overload_penalty)
    res = restore(res, prob.dropped)
    if single_assignment or (stop is not None and stop.is_set()):
        return res
    # the model's assignment is any within reach and capacity: the least travel instead
    return least_travel(res, covered, weights, minutes)
