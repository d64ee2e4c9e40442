"""The least-travel assignment of a capacitated answer (``optimizer.placement.reassign``).

Checked on random small instances: the plan is the same (open sites, each point's
share, objective, covered weight), every load stays within capacity and adds up to the
assigned weight, and with room to spare everyone goes to the nearest open site within
reach; by hand: a full office sends the rest of a village to the next one.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.placement import capacitated
from optimizer.placement.reassign import least_travel

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


@st.composite
def instances(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                        int | None]:
    """Coverage (points x sites), weights, capacities, minutes on the covered pairs and a
    number of points (``None``: the fewest that take everyone)."""
    n, m = draw(st.integers(1, 8)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    dense = rng.random((n, m)) < draw(st.floats(0.3, 1.0))
    w = rng.integers(1, 30, n).astype(float)
    cap = rng.integers(5, 80, m).astype(float)
    minutes = np.where(dense, rng.integers(1, 60, (n, m)), 0).astype(float)
    p = draw(st.one_of(st.none(), st.integers(1, m)))
    return dense, w, cap, minutes, p


@settings(max_examples=60, deadline=None)
@given(instances())
def test_same_plan_within_capacity_nearest_when_there_is_room(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int | None]) -> None:
    dense, w, cap, minutes, p = inst
    res = capacitated(dense, w, cap, p, **KW)
    if not res.report.status.has_solution:
        return
    mins = sp.csr_matrix(minutes)
    out = least_travel(res, dense, w, mins)
    assert out.open_sites.tolist() == res.open_sites.tolist()
    assert np.array_equal(out.assigned_share, res.assigned_share)
    assert (out.objective, out.covered_weight) == (res.objective, res.covered_weight)
    is_open = np.zeros(dense.shape[1], dtype=bool)
    is_open[out.open_sites] = True
    assert (out.load[~is_open] == 0).all()
    assert (out.load <= cap + 1e-6).all()
    assert abs(out.load.sum() - w @ res.assigned_share) <= 1e-6 * max(1.0, w.sum())
    a = out.assignment
    sent = np.flatnonzero(res.assigned_share > 0)
    assert (a[sent] >= 0).all() and dense[sent, a[sent]].all()  # within the standard
    assert np.array_equal(out.travel_min[sent], minutes[sent, a[sent]])
    if is_open.any() and cap[is_open].min() >= w.sum():  # room for everyone anywhere: the nearest open site
        nearest = np.where(dense[:, is_open], minutes[:, is_open], np.inf).min(axis=1)
        assert np.array_equal(out.travel_min[sent], nearest[sent])


def test_a_full_office_sends_the_rest_of_a_village_to_the_next_one() -> None:
    # v1 (10 dossiers) is 5 min from A (room for 6) and 20 min from B; v2 (4) is 30 min
    # from A and 10 from B (room for 20). Least travel: A takes 6 of v1, B the other 4
    # of v1 and all of v2 (6*5 + 4*20 + 4*10 = 150 minutes, against 170 the other way)
    dense = np.array([[1, 1], [1, 1]], dtype=bool)
    w, cap = np.array([10.0, 4.0]), np.array([6.0, 20.0])
    minutes = sp.csr_matrix(np.array([[5.0, 20.0], [30.0, 10.0]]))
    res = capacitated(dense, w, cap, fixed=[0, 1], **KW)
    out = least_travel(res, dense, w, minutes)
    assert out.load.tolist() == [6.0, 8.0]
    assert out.assignment.tolist() == [0, 1]  # v1's main site is A (6 of its 10)
    assert out.travel_min.tolist() == [5.0, 10.0]
    # the public model does it itself when given minutes, not with single assignment
    again = capacitated(dense, w, cap, fixed=[0, 1], minutes=minutes, **KW)
    assert again.load.tolist() == [6.0, 8.0] and again.assignment.tolist() == [0, 1]


@settings(max_examples=80, deadline=None)
@given(instances())
def test_the_flow_reaches_the_transportation_lps_optimum(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int | None]) -> None:
    """The min-cost flow on integers gives the optimum of the transportation LP over every
    pair (solved here in one piece by HiGHS) up to its rounding of the minutes (half a
    thousandth of a minute per dossier), each point's supply exactly, no load above its
    room beyond 1e-9 of a dossier."""
    from scipy.optimize import linprog

    from optimizer.placement.reassign import FLOW_MINUTE, _transport

    dense, w, cap, minutes, p = inst
    res = capacitated(dense, w, cap, p, **KW)
    if not res.report.status.has_solution:
        return
    amount = w * res.assigned_share
    rows, cols = np.nonzero(dense[:, res.open_sites] & (amount > 0)[:, None])
    if rows.size == 0:
        return
    points = np.flatnonzero(amount > 0)
    t = minutes[:, res.open_sites][rows, cols]
    room = np.maximum(cap[res.open_sites], res.load[res.open_sites])
    row = np.searchsorted(points, rows)
    full = linprog(t, A_eq=sp.csr_matrix((np.ones(rows.size), (row, np.arange(rows.size))),
                                         shape=(points.size, rows.size)), b_eq=amount[points],
                   A_ub=sp.csr_matrix((np.ones(rows.size), (cols, np.arange(rows.size))),
                                      shape=(room.size, rows.size)), b_ub=room, method="highs")
    assert full.status == 0  # the model's own assignment is a solution
    flow = _transport(row, cols.astype(np.int64), t, amount[points], room)
    assert flow is not None
    assert (flow >= 0).all()
    assert np.allclose(np.bincount(row, weights=flow, minlength=points.size), amount[points],
                       rtol=1e-12, atol=1e-12)
    assert (np.bincount(cols, weights=flow, minlength=room.size) <= room + 1e-9).all()
    assert abs(t @ flow - full.fun) <= 0.5 / FLOW_MINUTE * amount.sum() + 1e-9 * max(1.0, full.fun)
