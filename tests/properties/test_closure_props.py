"""Closure (which existing offices can close) against brute force on small instances."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from optimizer._status import SolveStatus
from optimizer.placement import closure, sole_cover_sites

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


@st.composite
def instances(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    n = draw(st.integers(1, 7))
    m = draw(st.integers(1, 6))
    cov = np.array(draw(st.lists(st.lists(st.booleans(), min_size=m, max_size=m),
                                 min_size=n, max_size=n)), dtype=bool)
    w = np.array(draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)), dtype=float)
    existing = np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool)
    if not existing.any():
        existing[0] = True
    costs = np.array(draw(st.lists(st.integers(1, 4), min_size=m, max_size=m)), dtype=float)
    loss = float(draw(st.sampled_from([0, 0, 10, 40])))
    return cov, w, np.flatnonzero(existing), costs, loss


def _brute(cov: np.ndarray, w: np.ndarray, ex: np.ndarray, costs: np.ndarray,
           loss: float) -> float:
    today = cov[:, ex].any(axis=1) & (w > 0)
    best = float("inf")
    for mask in itertools.product([False, True], repeat=ex.size):
        kept = ex[np.array(mask, dtype=bool)]
        lost = today & ~cov[:, kept].any(axis=1)
        if w[lost].sum() <= loss:
            best = min(best, float(costs[kept].sum()))
    return best


@settings(max_examples=60, deadline=None)
@given(instances())
def test_closure_is_the_cheapest_set_keeping_everyone_covered(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]) -> None:
    cov, w, ex, costs, loss = inst
    assume(w.sum() > 0)  # all-zero demand is refused, as by every model
    res = closure(cov, w, ex, costs=costs, max_loss=loss, **KW)
    assert res.report.status is SolveStatus.OPTIMAL
    kept = res.open_sites
    assert set(kept.tolist()) <= set(ex.tolist())  # no candidate ever opens
    assert res.objective == float(costs[kept].sum()) == _brute(cov, w, ex, costs, loss)
    today = cov[:, ex].any(axis=1) & (w > 0)
    lost = today & ~cov[:, kept].any(axis=1)
    assert w[lost].sum() <= loss
    if loss == 0:
        # an office that is the only one within reach of someone stays open
        assert set(sole_cover_sites(cov, ex, w).tolist()) <= set(kept.tolist())
