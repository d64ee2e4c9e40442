"""The capacitated answer's assignment re-made for the least travel.

The capacitated models choose which sites open and how much of each demand point they
take; any assignment within reach and capacity does for their objective, so the one
they return may send people past an open office with room to a farther one. Given the
open sites and each point's assigned amount, the transportation LP

.. math::

    \\min \\sum_{ij} t_{ij} f_{ij} \\quad\\text{s.t.}\\quad
    \\sum_j f_{ij} = s_i w_i \\;\\forall i,\\quad
    \\sum_i f_{ij} \\le c_j \\;\\forall j \\text{ open},\\quad f \\ge 0

(``f_ij`` only where ``j`` is open and within the standard of ``i``; ``t`` the travel
minutes, ``s`` the assigned shares, ``w`` the weights, ``c`` the capacities) keeps every
point's share, so the objective, the covered weight and every coverage figure, and
moves dossiers to the nearest office with room. The old assignment is a solution of
it, so the travel never gets worse. Not applied to single assignment (the LP may split
a point) nor to answers with overload (penalised overload may move).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import linprog

from optimizer.placement.inputs import Matrix
from optimizer.placement.result import PlacementResult, lookup, main_sites

logger = logging.getLogger(__name__)

#: Seconds the LP may take at most, and at least when the solve used its whole limit
#: (it takes well under a second on a province); past it the answer keeps the model's
#: own assignment.
REASSIGN_TIME_LIMIT_S = 10.0
REASSIGN_MIN_S = 2.0
#: Above this many (point, open site) pairs the LP is not tried (Hà Nội at 400 m, 194
#: points all but full: 536,283 pairs did not solve in 10 s on a loaded machine).
REASSIGN_MAX_PAIRS = 300_000


def least_travel(res: PlacementResult, covered: Matrix, weights: npt.ArrayLike,
                 minutes: Matrix | None, *,
                 time_limit_s: float = REASSIGN_TIME_LIMIT_S) -> PlacementResult:
    """``res`` (a capacitated answer over every demand point) with the same open sites
    and each point's same assigned share, its dossiers sent where travel is least within
    capacity; ``res`` itself when there is nothing to improve or the LP does not finish."""
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
    if rows.size > REASSIGN_MAX_PAIRS:
        return _noted(res, f"assignment not re-made for the least travel ({rows.size:,} "
                           f"point-site pairs, more than {REASSIGN_MAX_PAIRS:,})")
    if rows.size == 0 or np.unique(rows).size != points.size:
        return res  # a point with a share and no open site in reach: not the model's answer
    mins = sp.csr_matrix(minutes)
    t = lookup(mins, rows, res.open_sites[cols])
    known = np.isfinite(t)
    # a pair within the standard with no travel time (a km-only standard): last resort
    t[~known] = (float(t[known].max()) if known.any() else 0.0) + 1.0
    row_pos = np.searchsorted(points, rows)
    n = rows.size
    a_eq = sp.csr_matrix((np.ones(n), (row_pos, np.arange(n))), shape=(points.size, n))
    a_ub = sp.csr_matrix((np.ones(n), (cols, np.arange(n))), shape=(res.open_sites.size, n))
    # the answer's own loads are within capacity up to rounding: never ask for less room
    room = np.maximum(np.asarray(res.capacity, dtype=np.float64)[res.open_sites],
                      np.asarray(res.load, dtype=np.float64)[res.open_sites])
    limit = min(float(time_limit_s), REASSIGN_TIME_LIMIT_S)
    lp = linprog(t, A_ub=a_ub, b_ub=room, A_eq=a_eq, b_eq=amount[points],
                 bounds=(0, None), method="highs", options={"time_limit": limit})
    if lp.status != 0 or lp.x is None:
        return _noted(res, f"assignment not re-made for the least travel ({lp.message})")
    flow = np.maximum(lp.x, 0.0)
    site_load = np.bincount(cols, weights=flow, minlength=res.open_sites.size)
    if (site_load - room).max() > 1e-7 * max(1.0, float(room.max())):
        return _noted(res, "assignment not re-made for the least travel (its LP put a load "
                           "over capacity)")
    assignment = res.assignment.copy()
    assignment[points] = -1
    main_sites(rows, res.open_sites[cols], flow, assignment)
    missing = assignment[points] < 0
    assignment[points[missing]] = res.assignment[points[missing]]
    travel = res.travel_min.copy()
    travel[points] = lookup(mins, points, assignment[points])
    new_load = np.zeros_like(np.asarray(res.load, dtype=np.float64))
    # within the LP's tolerance of the room: the room itself (no overload from rounding)
    new_load[res.open_sites] = np.minimum(site_load, room)
    out = replace(res, assignment=assignment, travel_min=travel, load=new_load)
    # before and after measured alike: each point's dossiers at its main site's minutes
    return _noted(out, f"assignment re-made for the least travel within capacity: "
                       f"{_weighted_minutes(res, amount, points):.6g} -> "
                       f"{_weighted_minutes(out, amount, points):.6g} weight-minutes to "
                       "each point's main site")


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
