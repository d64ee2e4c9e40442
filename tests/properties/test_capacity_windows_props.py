"""The window search of the capacitated LSCP (``capacity_windows``) against brute force.

Brute force and the LP check of a set of open sites as in ``test_capacity_cuts_props``
(scipy's ``linprog``, not the search's flow or MIP).  Checked: from every set of open
sites that takes the demand, the search's answer takes it too (everyone assigned, no
site over capacity, by the LP and by its own assignment), never costs more, keeps the
must-open sites, and with a window of every site finds the brute-force optimum.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.placement import capacity
from optimizer.placement.capacity_windows import window_search
from optimizer.placement.inputs import SolveOptions, cover_inputs
from tests.properties.test_capacity_cuts_props import _optimum, _take, tight_instances

OPTIONS = SolveOptions(time_limit_s=None, seed=0, threads=1)


@settings(max_examples=40, deadline=None)
@given(tight_instances(), st.integers(1, 7), st.integers(0, 2**16 - 1), st.booleans())
def test_the_window_search_keeps_answers_assignable_and_never_dearer(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int], window: int, pick: int,
        must: bool) -> None:
    dense, w, cap, _ = inst
    m = cap.size
    fixed = [0] if must else None
    prob = cover_inputs(sp.csr_matrix(dense), w, fixed, None)
    coverable = dense.any(axis=1)
    need = float(w[coverable].sum())
    start = np.array([(pick >> j) & 1 == 1 for j in range(m)]) | prob.inp.fixed_mask
    if not coverable.any():
        return
    if _take(dense, w, cap, tuple(np.flatnonzero(start))) < need - 1e-6:
        # sites that cannot take the demand: no answer to start from
        assert window_search(prob, cap, start, window=window, deadline=None,
                             options=OPTIONS, max_windows=3).best is None
        return
    out = window_search(prob, cap, start, window=window, deadline=None, options=OPTIONS,
                        max_windows=6, seed=pick)
    assert out.best is not None
    opened = capacity._open_of(out.best, m)
    assert out.best.objective == pytest.approx(float(opened.sum()))
    assert out.best.objective <= float(start.sum()) + 1e-9
    assert (opened >= prob.inp.fixed_mask).all()
    assert _take(dense, w, cap, tuple(np.flatnonzero(opened))) == pytest.approx(need, abs=1e-6)
    # its own assignment: within capacity, every coverable point wholly assigned
    load = capacity._load(prob.inp, out.best.cm, out.best.values)
    assert (load <= cap + 1e-6).all()
    share = capacity._shares(w.size, out.best.cm, out.best.values, m)
    assert (share[coverable] >= 1 - 1e-6).all()
    if out.improved:
        assert out.best.objective < float(start.sum())


@settings(max_examples=30, deadline=None)
@given(tight_instances())
def test_a_window_of_every_site_finds_the_optimum(
        inst: tuple[np.ndarray, np.ndarray, np.ndarray, int]) -> None:
    dense, w, cap, _ = inst
    m = cap.size
    prob = cover_inputs(sp.csr_matrix(dense), w, None, None)
    every = np.ones(m, dtype=bool)
    opt = _optimum(dense, w, cap, None)
    if not dense.any() or math.isinf(opt):
        return
    # one window of every site reached from the first one drawn: with the sites all
    # joined through shared points it is the whole model
    out = window_search(prob, cap, every, window=m, deadline=None, options=OPTIONS,
                        max_windows=1)
    assert out.best is not None and out.windows == 1
    joined = sp.csr_matrix(dense.astype(float))
    n_comp = sp.csgraph.connected_components(joined.T @ joined, directed=False)[0]
    if n_comp == 1:
        assert out.optimal == 1
        assert out.best.objective == pytest.approx(opt)
    assert out.best.objective >= opt - 1e-9


def test_a_redundant_site_is_closed_by_a_window() -> None:
    """Two points of 30 dossiers, three sites of 40 reaching both: two sites are needed
    (60 > 40) and enough; from all three open a window closes one."""
    dense = np.ones((2, 3), dtype=bool)
    prob = cover_inputs(sp.csr_matrix(dense), np.array([30.0, 30.0]), None, None)
    cap = np.full(3, 40.0)
    out = window_search(prob, cap, np.ones(3, dtype=bool), window=3, deadline=None,
                        options=OPTIONS, max_windows=1)
    assert out.best is not None and out.best.objective == 2.0 and out.improved == 1
