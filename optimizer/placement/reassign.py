"""The capacitated answer's assignment re-made for the least travel.

The capacitated models choose which sites open and how much of each demand point they
take; any assignment within reach and capacity does for their objective, so the one
they return may send people past an open office with room to a farther one. Given the
open sites and each point's assigned amount, the transportation problem

.. math::

    \\min \\sum_{ij} t_{ij} f_{ij} \\quad\\text{s.t.}\\quad
    \\sum_j f_{ij} = s_i w_i \\;\\forall i,\\quad
    \\sum_i f_{ij} \\le c_j \\;\\forall j \\text{ open},\\quad f \\ge 0

(``f_ij`` only where ``j`` is open and within the standard of ``i``; ``t`` the travel
minutes, ``s`` the assigned shares, ``w`` the weights, ``c`` the capacities) keeps every
point's share, so the objective, the covered weight and every coverage figure, and
moves dossiers to the nearest office with room. The old assignment is a solution of
it, so the travel never gets worse. It is solved as a min-cost flow (OR-Tools' network
simplex, on integers: a thousandth of a minute, about 1e-13 of the day's dossiers), a
second on a province at 400 m with half a million pairs. Not applied to single
assignment (the flow may split a point) nor to answers with overload (penalised
overload may move).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer.placement.inputs import Matrix
from optimizer.placement.result import PlacementResult, lookup, main_sites

logger = logging.getLogger(__name__)

#: The flow's dossiers are scaled so that they add up to about this many units (int64
#: costs stay far from overflow with minutes in thousandths); its minutes in thousandths.
FLOW_UNITS = 1e13
FLOW_MINUTE = 1000.0


def least_travel(res: PlacementResult, covered: Matrix, weights: npt.ArrayLike,
                 minutes: Matrix | None) -> PlacementResult:
    """``res`` (a capacitated answer over every demand point) with the same open sites
    and each point's same assigned share, its dossiers sent where travel is least within
    capacity; ``res`` itself when there is nothing to improve or no such assignment."""
    share = res.assigned_share
    if (minutes is None or share is None or res.capacity is None or res.open_sites.size == 0
            or not res.report.status.has_solution
            or (res.overload is not None and np.asarray(res.overload).max(initial=0.0) > 1e-9)):
        return res
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    amount = w * np.asarray(share, dtype=np.float64)
    c = sp.csr_matrix(covered, dtype=bool)[:, res.open_sites].tocoo()
    take = amount[c.row] > 0
    rows, cols = c.row[take].astype(np.int64), c.col[take].astype(np.int64)
    points = np.flatnonzero(amount > 0)
    if rows.size == 0 or np.unique(rows).size != points.size:
        return res  # a point with a share and no open site in reach: not the model's answer
    mins = sp.csr_matrix(minutes)
    t = lookup(mins, rows, res.open_sites[cols])
    known = np.isfinite(t)
    # a pair within the standard with no travel time (a km-only standard): last resort
    t[~known] = (float(t[known].max()) if known.any() else 0.0) + 1.0
    # the answer's own loads are within capacity up to rounding: never ask for less room
    room = np.maximum(np.asarray(res.capacity, dtype=np.float64)[res.open_sites],
                      np.asarray(res.load, dtype=np.float64)[res.open_sites])
    flow = _transport(np.searchsorted(points, rows), cols, t, amount[points], room)
    if flow is None:
        return _noted(res, "assignment not re-made for the least travel (no flow within "
                           "capacity)")
    site_load = np.bincount(cols, weights=flow, minlength=res.open_sites.size)
    if (site_load - room).max() > 1e-7 * max(1.0, float(room.max())):
        return _noted(res, "assignment not re-made for the least travel (its flow put a "
                           "load over capacity)")
    assignment = res.assignment.copy()
    assignment[points] = -1
    main_sites(rows, res.open_sites[cols], flow, assignment)
    missing = assignment[points] < 0
    assignment[points[missing]] = res.assignment[points[missing]]
    travel = res.travel_min.copy()
    travel[points] = lookup(mins, points, assignment[points])
    new_load = np.zeros_like(np.asarray(res.load, dtype=np.float64))
    # within the flow's rounding of the room: the room itself (no overload from rounding)
    new_load[res.open_sites] = np.minimum(site_load, room)
    out = replace(res, assignment=assignment, travel_min=travel, load=new_load)
    # before and after measured alike: each point's dossiers at its main site's minutes
    return _noted(out, f"assignment re-made for the least travel within capacity: "
                       f"{_weighted_minutes(res, amount, points):.6g} -> "
                       f"{_weighted_minutes(out, amount, points):.6g} weight-minutes to "
                       "each point's main site")


def _transport(row: npt.NDArray[np.int64], col: npt.NDArray[np.int64],
               t: npt.NDArray[np.float64], supply: npt.NDArray[np.float64],
               room: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
    """The transportation problem over the pairs ``(row, col)`` at ``t`` minutes, each
    row's ``supply`` sent and no column above its ``room``, by OR-Tools' min-cost flow
    (network simplex: a second on Hà Nội at 400 m, where HiGHS's LP took a minute). The
    dossiers are scaled to about :data:`FLOW_UNITS` integer units and the minutes to
    thousandths, so the answer is the least travel up to a thousandth of a minute per
    dossier; each row's flow is scaled back to exactly its supply. The rooms are the
    scaled rooms rounded down; if the rounding leaves no flow, one unit of slack per
    pair is given (a load above its room by at most that, about 1e-9 of a dossier per
    pair, is cut back to the room by the caller). ``None`` when no flow exists."""
    from ortools.graph.python import min_cost_flow

    n, k = supply.size, room.size
    scale = decimal_scale(float(supply.sum()), FLOW_UNITS)
    units = np.maximum(np.rint(supply * scale), 1).astype(np.int64)
    cost = np.rint(t * FLOW_MINUTE).astype(np.int64)
    sink = n + k
    for slack in (np.zeros(k), np.bincount(col, minlength=k)):
        mcf = min_cost_flow.SimpleMinCostFlow()
        mcf.add_arcs_with_capacity_and_unit_cost(
            np.r_[row, n + np.arange(k)], np.r_[n + col, np.full(k, sink)],
            np.r_[units[row], (np.floor(room * scale) + slack).astype(np.int64)],
            np.r_[cost, np.zeros(k, dtype=np.int64)])
        mcf.set_nodes_supplies(np.arange(n + k + 1),
                               np.r_[units, np.zeros(k, dtype=np.int64), -int(units.sum())])
        if mcf.solve() == mcf.OPTIMAL:
            flow = np.asarray(mcf.flows(np.arange(row.size)), dtype=np.float64)
            return flow * supply[row] / units[row]
    return None


def decimal_scale(total: float, units: float) -> float:
    """The power of ten that scales ``total`` to at most ``units`` (as close as a power
    of ten gets; 1 for nothing): a flow's integer units, in which whole or decimal
    amounts stay exact."""
    return 10.0 ** math.floor(math.log10(units / total)) if total > 0.0 else 1.0


def _noted(res: PlacementResult, note: str) -> PlacementResult:
    """``res`` with ``note`` added to its report's message (and the log)."""
    logger.info(note)
    report = replace(res.report, message="; ".join(x for x in (res.report.message, note) if x))
    return replace(res, report=report)


def _weighted_minutes(res: PlacementResult, amount: npt.NDArray[np.float64],
                      points: npt.NDArray[np.int64]) -> float:
    """``amount`` at ``res``'s travel minutes to each of ``points``' main site (for the
    note; points of unknown minutes left out)."""
    t = res.travel_min[points]
    ok = np.isfinite(t)
    return float(t[ok] @ amount[points][ok]) if ok.any() else math.nan
