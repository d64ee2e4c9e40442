"""The shortcuts of the staff solve give the optima of the plain lexicographic steps.

On small random provinces (from ``test_staff_props.random_problem``):

* skill gaps and overload in one solve at the gaps' floor
  (``minimize_at_floor``) give the same two optima as two solves;
* fewest moves then least travel as one weighted solve
  (``minimize_moves_travel``) give the same two optima as two solves;
* HiGHS on the model read as a MIP (``by_mip``, the engine that takes over
  when CP-SAT stalls) gives CP-SAT's optimum of the moves step, a plan that
  keeps every rule, and CP-SAT's verdict on a peak level;
* the peak bound over sets of sites and days (``peak_week_bound``) is never
  above the peak of a plan below the level it is given;
* the balancing repairs (``balance``, and ``rebalance`` with the fluid
  ``balance_days``) keep every rule of the model and raise neither overload
  nor the peak; sending people home (``unmove``, and ``balance_days`` with
  ``unmove_level``) only undoes moves, and with the routing fixed keeps every
  rule and the level.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from optimizer import SolveStatus
from optimizer.staff_allocation import STAGE_WEIGHTS, StaffProblem, home_plan
from optimizer.staff_allocation.engine import Budget, Runner, by_mip
from optimizer.staff_allocation.model import StaffModel, build, roster_array
from optimizer.staff_allocation.peak import add_peak, peak_of, peak_week_bound
from optimizer.staff_allocation.problem import travel_minutes
from optimizer.staff_allocation.repair import balance, balance_days, rebalance, unmove
from optimizer.staff_allocation.stages import (
    complete,
    minimize,
    minimize_at_floor,
    minimize_moves_travel,
    start_from_plan,
)
from tests.properties.test_staff_props import random_problem


def scarce_skills(seed: int, n_p: int, n_s: int, n_d: int, max_moves: int | None) -> StaffProblem:
    """``random_problem`` with few qualified people, many fields to cover, uneven trips."""
    pb = random_problem(seed, n_p, n_s, n_d, max_moves)
    rng = np.random.default_rng(seed + 1)
    xy = rng.random((n_s, 2)) * 30.0
    travel = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 2.0
    return replace(pb, skills=rng.random((n_p, 3)) < 0.3,
                   skill_need=rng.random((n_s, n_d, 3)) < 0.6, travel_min=travel,
                   max_travel_min=90.0)


_sizes = dict(seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 8), n_s=st.integers(1, 4),
              n_d=st.integers(1, 3), max_moves=st.one_of(st.none(), st.integers(0, 3)))
Problem = st.one_of(st.builds(random_problem, **_sizes), st.builds(scarce_skills, **_sizes))


def _free_start(pb: StaffProblem) -> tuple[StaffModel, dict[str, int], Runner]:
    runner = Runner(0, 1, time.monotonic() + 60, None)
    b_home = build(pb, travel_minutes(pb), home_only=True)
    b = build(pb, travel_minutes(pb), home_only=False)
    start_home = start_from_plan(b_home, home_plan(pb), runner)
    start = complete(b, start_home, runner, roster_array(b_home, pb, start_home))
    return b, start, runner


def _at_least_overload(pb: StaffProblem) -> tuple[StaffModel, Any, dict[str, int], Runner]:
    """The free model at its least overload and the peak of that plan, as in the last
    stage (so that moves are needed), with that plan."""
    b, start, runner = _free_start(pb)
    base = b.model.clone()
    start, _ = minimize(b, base, runner, b.over, start, (20.0, None), "overload_min")
    add_peak(base, b, peak_of(b, start))
    return b, base, start, runner


def _assert_same_optima(two: tuple[Any, Any], one: tuple[Any, Any],
                        in_solution: tuple[int, int]) -> None:
    """The two steps solved apart and in one solve are all proven, with equal
    values, and the one-solve plan holds those values."""
    for s in (*two, *one):
        assert s.status is SolveStatus.OPTIMAL, s
    want = (two[0].value, two[1].value)
    assert (one[0].value, one[1].value) == want
    assert in_solution == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pb=Problem)
def test_gaps_and_overload_in_one_solve_match_two_solves(pb: StaffProblem) -> None:
    b, start, runner = _free_start(pb)
    limits = (20.0, None)
    base1 = b.model.clone()
    _, g1 = minimize(b, base1, runner, b.gaps, start, limits, "skill_gaps")
    _, o1 = minimize(b, base1, runner, b.over, _, limits, "overload_min")
    base2 = b.model.clone()
    budget = Budget(runner, dict(STAGE_WEIGHTS))
    sol2, g2, o2 = minimize_at_floor(b, base2, runner, budget, b.gaps, b.over, start,
                                      ("gaps", "overload"), ("skill_gaps", "overload_min"))
    _assert_same_optima((g1, o1), (g2, o2), (sol2["gaps"], sol2["over"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pb=Problem)
def test_moves_then_travel_in_one_solve_match_two_solves(pb: StaffProblem) -> None:
    b, base, start, runner = _at_least_overload(pb)
    limits = (20.0, None)
    base1, base2 = base.clone(), base.clone()
    sol, m1 = minimize(b, base1, runner, b.moves, start, limits, "moves")
    _, t1 = minimize(b, base1, runner, b.travel, sol, limits, "travel_min")
    sol2, m2, t2 = minimize_moves_travel(b, base2, runner, start, limits)
    _assert_same_optima((m1, t1), (m2, t2), (sol2["moves"], sol2["travel_min"]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pb=Problem)
def test_highs_turn_gives_cp_sat_optimum_and_verdict(pb: StaffProblem) -> None:
    b, base, start, runner = _at_least_overload(pb)
    limits = (20.0, None)
    peak = peak_of(b, start)
    # fewest moves: CP-SAT's proven optimum, then HiGHS alone on the same model
    _, by_cp = minimize(b, base.clone(), runner, b.moves, start, limits, "moves")
    m = base.clone()
    m.minimize(m.get_int_var_from_proto_index(b.moves.index))
    out = by_mip(b, m, runner, start, 20.0)
    assert out is not None and out.status is SolveStatus.OPTIMAL and out.by == "HiGHS"
    assert by_cp.status is SolveStatus.OPTIMAL
    assert out.sol is not None and out.sol["moves"] == out.bound == by_cp.value
    # HiGHS's plan, fixed in the CP model, is a plan of the CP model
    check = base.clone()
    for name, v in out.sol.items():
        check.add(check.get_int_var_from_proto_index(b.names.index(name)) == v)
    assert cp_model.CpSolver().solve(check) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    # a peak level just below the plan's: both engines give the same verdict
    probe = base.clone()
    add_peak(probe, b, peak - 1)
    cp_status, _ = runner.solve(probe, b.names, start, 20.0, None)
    mip = by_mip(b, probe, runner, start, 20.0)
    assert mip is not None
    assert cp_status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE)
    assert mip.status is cp_status


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pb=Problem)
def test_peak_bound_never_above_a_plan_below_its_level(pb: StaffProblem) -> None:
    b, start, runner = _free_start(pb)
    plans = [start]
    # and the plan of least peak that the model can find (the bound must hold for it too)
    base = b.model.clone()
    for level in range(peak_of(b, start) - 1, 0, -max(1, peak_of(b, start) // 20)):
        m = base.clone()
        add_peak(m, b, level)
        status, solver = runner.solve(m, b.names, start, 5.0, None)
        if not status.has_solution:
            break
        plans.append({n: int(solver.response_proto.solution[i]) for i, n in enumerate(b.names)})
    for sol in plans:
        peak = peak_of(b, sol)
        # every plan's peak is at least min(hi, bound(hi)) for any level hi
        for hi in (peak, peak + 1, peak + 50):
            bound = peak_week_bound(b, hi, sol["unplaced"], pb.pool_site)
            assert peak >= min(hi, bound), (peak, hi, bound)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pb=Problem)
def test_balancing_repair_keeps_every_rule_and_never_raises_overload_or_peak(
    pb: StaffProblem,
) -> None:
    b, start, runner = _free_start(pb)
    old = roster_array(b, pb, start)
    plan = balance(b, pb, start)
    # as many days worked by each person, only sites and days the model offers
    assert ((plan >= 0).sum(axis=1) == (old >= 0).sum(axis=1)).all()
    for p, d in zip(*np.nonzero(plan >= 0), strict=True):
        assert (int(p), int(plan[p, d]), int(d)) in b.x
    # the model itself, with the new roster and the old routing fixed, must accept
    # the old sums and the old peak
    m = b.model.clone()
    for (p, s, d), v in b.x.items():
        m.add(v == int(plan[p, d] == s))
    for v in b.y.values():
        m.add(v == start[v.name])
    for v in (b.gaps, b.over, b.unplaced_total, b.counter_gaps):
        m.add(v <= start[v.name])
    if pb.max_moves is not None:
        m.add(b.moves <= pb.max_moves)
    peak = peak_of(b, start)
    add_peak(m, b, peak)
    status, solver = runner.solve(m, b.names, None, 20.0, None)
    assert status.has_solution, status
    new = {n: int(solver.response_proto.solution[i]) for i, n in enumerate(b.names)}
    assert peak_of(b, new) <= peak
    assert new["over"] <= start["over"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pb=Problem)
def test_rebalance_keeps_every_rule_and_never_raises_overload_or_peak(pb: StaffProblem) -> None:
    b, start, runner = _free_start(pb)
    # as in the solve: least overload fixed first, the repairs run on that plan
    base = b.model.clone()
    start, _ = minimize(b, base, runner, b.over, start, (20.0, None), "overload_min")
    for v in (b.gaps, b.unplaced_total, b.counter_gaps):
        base.add(v <= start[v.name])
    peak = peak_of(b, start)
    old = roster_array(b, pb, start)
    days_plan = balance_days(b, pb, start)
    assert ((days_plan >= 0).sum(axis=1) == (old >= 0).sum(axis=1)).all()
    for p, d in zip(*np.nonzero(days_plan >= 0), strict=True):
        assert (int(p), int(days_plan[p, d]), int(d)) in b.x
    new = rebalance(b, pb, base, runner, start)
    plan = roster_array(b, pb, new)
    assert ((plan >= 0).sum(axis=1) == (old >= 0).sum(axis=1)).all()
    # the returned solution, roster and routing fixed, is a solution of the model
    # with the old sums and the old peak
    m = b.model.clone()
    for v in (*b.x.values(), *b.y.values()):
        m.add(v == new[v.name])
    for v in (b.gaps, b.over, b.unplaced_total, b.counter_gaps):
        m.add(v <= start[v.name])
    add_peak(m, b, peak)
    status, _ = runner.solve(m, b.names, None, 20.0, None)
    assert status.has_solution, status
    assert peak_of(b, new) <= peak
    assert new["over"] <= start["over"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pb=Problem, slack=st.integers(0, 300))
def test_sending_people_home_keeps_every_rule_and_the_level(pb: StaffProblem, slack: int) -> None:
    b, start, runner = _free_start(pb)
    base = b.model.clone()
    start, _ = minimize(b, base, runner, b.over, start, (20.0, None), "overload_min")
    level = peak_of(b, start) + slack
    old = roster_array(b, pb, start)
    home = pb.home[:, None]
    for plan in (unmove(b, pb, start, level),
                 balance_days(b, pb, start, max_iter=0, unmove_level=level)):
        assert ((plan >= 0).sum(axis=1) == (old >= 0).sum(axis=1)).all()
        # only moves undone: no one newly away from home
        assert not ((plan >= 0) & (plan != home) & ~((old >= 0) & (old != home))).any()
    plan = unmove(b, pb, start, level)
    # the fixed-routing version is exact: the model accepts the roster with the old
    # routing, the old sums and the level
    m = b.model.clone()
    for (p, s, d), v in b.x.items():
        m.add(v == int(plan[p, d] == s))
    for v in b.y.values():
        m.add(v == start[v.name])
    for v in (b.gaps, b.over, b.unplaced_total, b.counter_gaps):
        m.add(v <= start[v.name])
    add_peak(m, b, level)
    status, _ = runner.solve(m, b.names, None, 20.0, None)
    assert status.has_solution, status


def test_highs_turns_give_the_same_lexicographic_optimum(monkeypatch: Any) -> None:
    """With CP-SAT's first turn cut to 10 ms, HiGHS decides the steps (all of them on
    these instances when measured); the plan has the same proven optimum at every
    stage as the default run."""
    from optimizer.staff_allocation import engine, solve_staff_allocation

    def run(pb: StaffProblem) -> Any:
        return solve_staff_allocation(pb, time_limit_s=60, seed=0, threads=1)

    problems = [scarce_skills(seed, 14, 5, 4, None) for seed in range(6)]
    default = [run(pb) for pb in problems]
    monkeypatch.setattr(engine, "CP_FIRST_SHARE", 0.0)
    monkeypatch.setattr(engine, "CP_FIRST_MAX_S", 0.0)
    monkeypatch.setattr(engine, "MIP_MIN_S", 0.0)
    handed = [run(pb) for pb in problems]
    for a, b in zip(default, handed, strict=True):
        assert a.report.status is SolveStatus.OPTIMAL and b.report.status is SolveStatus.OPTIMAL
        assert [s.objective for s in a.stages] == [s.objective for s in b.stages]
    decided = [s.detail.count("HiGHS") for r in handed for s in r.stages]
    assert sum(decided) >= len(problems)  # HiGHS really took steps
