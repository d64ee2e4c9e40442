"""p-median's truncated radius model (issue #16): what fixing leaves on a province is too
large for an exact model, so after a stalled bound the rows are cut short where neither
the incumbent nor the multipliers look; against brute force on small instances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from optimizer import _pmedian as pm
from optimizer._status import SolveStatus
from optimizer.placement import p_median
from tests.properties.test_pmedian_lagrangian import _brute, _setup, cases
from tests.properties.test_pmedian_large import stalled_case

KW = {"threads": 1, "seed": 0, "time_limit_s": 20.0}


@settings(max_examples=60, deadline=None)
@given(cases())
def test_truncated_search_brackets_the_optimum(c: dict[str, object]) -> None:
    """From a greedy start and any multipliers (0 included: rows cut at the start's
    distance, so the model must grow them): bound <= optimum <= answer, never worse than
    the start, proven only at the optimum (or when no plan serves every row)."""
    pairs, w, tail = _setup(c)
    p, fixed, allowed, lam = c["p"], c["fixed"], c["allowed"], c["rng_lam"]
    assert isinstance(p, int) and isinstance(fixed, np.ndarray)
    assert isinstance(allowed, np.ndarray) and isinstance(lam, np.ndarray)
    want, _ = _brute(pairs, w, tail, p, fixed, allowed)
    start = pm.greedy(pairs, w, tail, p, fixed, allowed)
    c0 = pm.cost(pairs, w, tail, start)
    tr = pm.truncated_search(pairs, tail, pairs, w, tail, p, fixed, allowed, lam * w * 4.0,
                             start, c0, deadline=None, engine="highs", seed=0, threads=1)
    assert tr.stages or tr.proven  # a model this small always fits
    assert tr.proven, [s.status for s in tr.stages]  # no time limit: it finishes
    if not math.isfinite(want):
        assert not math.isfinite(tr.cost)
        return
    assert tr.cost == pytest.approx(want, abs=1e-6)
    assert tr.cost == pytest.approx(pm.cost(pairs, w, tail, tr.open_mask), abs=1e-9)
    assert tr.cost <= c0 + 1e-9
    assert int(tr.open_mask.sum()) <= p and tr.open_mask[fixed].all()
    assert not (tr.open_mask & ~allowed).any()


@settings(max_examples=60, deadline=None)
@given(cases())
def test_truncated_search_cut_short_by_time_keeps_a_valid_bound(c: dict[str, object]) -> None:
    """With no time left the search solves nothing and claims nothing: the start and no
    bound (or, when even the relaxation has no plan, the start proven)."""
    pairs, w, tail = _setup(c)
    p, fixed, allowed, lam = c["p"], c["fixed"], c["allowed"], c["rng_lam"]
    assert isinstance(p, int) and isinstance(fixed, np.ndarray)
    assert isinstance(allowed, np.ndarray) and isinstance(lam, np.ndarray)
    start = pm.greedy(pairs, w, tail, p, fixed, allowed)
    c0 = pm.cost(pairs, w, tail, start)
    tr = pm.truncated_search(pairs, tail, pairs, w, tail, p, fixed, allowed, lam * w,
                             start, c0, deadline=0.0, engine="highs", seed=0, threads=1)
    assert not tr.stages
    assert np.array_equal(tr.open_mask, start) and tr.cost == c0
    if not tr.proven:
        assert tr.bound == -math.inf
    else:
        want, _ = _brute(pairs, w, tail, p, fixed, allowed)
        assert not math.isfinite(want) or want >= c0 - 1e-9


def test_stalled_bound_then_the_truncated_model_proves_the_optimum(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On the large path with no exact model of what fixing keeps, after the bound
    stalls and the search has run, the truncated radius model proves the optimum of
    the full radius model (before it, such a run ended FEASIBLE with the search's plan)."""
    inst, exact = stalled_case(monkeypatch)
    monkeypatch.setattr(pm, "TRUNCATED_MAX_PAIRS", 10**9)
    res = p_median(inst.km, inst.weights, 12, unassigned_penalty_min=30.0,
                   **{**KW, "time_limit_s": 30.0})
    assert "bound stalled" in res.report.message, res.report.message
    assert "truncated radius model" in res.report.message, res.report.message
    assert res.status is SolveStatus.OPTIMAL, res.report.message
    assert res.objective == pytest.approx(exact.objective, abs=1e-6)
