"""Staff allocation on tiny instances whose optimum is checked by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from optimizer import SolveStatus
from optimizer.staff_allocation import StaffProblem, solve_staff_allocation

FIELDS = ("land", "other")
DAY = 480.0


def problem(
    homes: list[int], local: list[list[float]], *, travel: list[list[float]] | None = None,
    **kw: Any,
) -> StaffProblem:
    """Persons with the given home sites; ``local[s][d]`` minutes of on-site work."""
    n_p, n_s, n_d = len(homes), len(local), len(local[0])
    args: dict[str, Any] = dict(
        person_ids=tuple(f"p{i}" for i in range(n_p)), site_ids=tuple(f"S{s}" for s in range(n_s)),
        days=tuple(f"2026-11-{23 + d}" for d in range(n_d)),
        day_names=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")[:n_d], fields=FIELDS,
        home=np.array(homes), skills=np.ones((n_p, 2), bool), available=np.ones((n_p, n_d), bool),
        max_days=np.full(n_p, n_d), movable=np.ones(n_p, bool), site_open=np.ones((n_s, n_d), bool),
        pool_site=np.ones(n_s, bool), counters=np.full(n_s, 3), local_min=np.array(local, float),
        reception_min=np.array(local, float) / 2, pool_min=np.zeros((n_d, 2)),
        skill_need=np.zeros((n_s, n_d, 2), bool), in_person_dossiers=np.zeros((n_s, n_d)),
        arrivals_peak_per_hour=np.zeros((n_s, n_d)), service_min_mean=np.full((n_s, n_d), 20.0),
        counters_needed=np.zeros((n_s, n_d), np.int64),
        travel_min=np.array(travel if travel is not None else
                            [[0.0 if a == b else 10.0 for b in range(n_s)] for a in range(n_s)]),
        max_travel_min=60.0, day_minutes=DAY,
    )
    args.update(kw)
    return StaffProblem(**args)


def solve(pb: StaffProblem) -> Any:
    return solve_staff_allocation(pb, time_limit_s=20, seed=0, threads=1)


def test_overloaded_next_to_idle_gives_exactly_one_move() -> None:
    # S0: 3 people, 4 person-days of work (133 %); S1: 3 people, 2 person-days (67 %).
    # One person S1 -> S0 gives 100 % and 100 %: no overload, peak 100 %, one move.
    pb = problem([0, 0, 0, 1, 1, 1], [[4 * DAY], [2 * DAY]])
    r = solve(pb)
    assert r.report.status is SolveStatus.OPTIMAL and r.report.gap == 0.0
    assert r.peak_utilisation_before == pytest.approx(4 / 3, abs=1e-3)
    assert r.overload_min_before == pytest.approx(DAY)
    assert r.peak_utilisation_after == pytest.approx(1.0)
    assert r.overload_min_after == 0.0
    assert len(r.moves) == 1
    mv = r.moves.iloc[0]
    assert (mv.from_site, mv.to_site, mv.travel_min) == ("S1", "S0", 10)
    assert mv.reason == "S0 Mon at 133% -> 100%; home S1 67% -> 100%"
    assert [s.status for s in r.stages] == [SolveStatus.OPTIMAL] * 3


def test_balanced_sites_need_no_move() -> None:
    r = solve(problem([0, 1], [[DAY], [DAY / 2]]))
    assert len(r.moves) == 0 and r.report.status is SolveStatus.OPTIMAL


def test_person_on_leave_is_never_rostered() -> None:
    # p0 (S0, overloaded) on leave Tuesday; p2 is the only one who could help but is on leave Mon
    avail = np.ones((3, 2), bool)
    avail[0, 1] = False
    avail[2, 0] = False
    pb = problem([0, 1, 1], [[2 * DAY, 2 * DAY], [0.0, 0.0]], available=avail)
    r = solve(pb)
    off = r.roster[(r.roster.person_id == "p0") & (r.roster.date == "2026-11-24")]
    assert off.site_id.tolist() == [""]
    off2 = r.roster[(r.roster.person_id == "p2") & (r.roster.date == "2026-11-23")]
    assert off2.site_id.tolist() == [""]
    # Monday: p0 + p1 at S0; Tuesday: p1 + p2 at S0
    after = r.site_days_after.set_index(["site_id", "date"])
    assert after.loc[("S0", "2026-11-23"), "staff"] == 2
    assert after.loc[("S0", "2026-11-24"), "staff"] == 2
    assert r.overload_min_after == 0.0


def test_not_movable_person_stays_home() -> None:
    pb = problem([0, 1, 1], [[2 * DAY], [0.0]], movable=np.array([True, False, True]))
    r = solve(pb)
    assert r.moves.person_id.tolist() == ["p2"]
    assert r.roster.set_index("person_id").loc["p1", "site_id"] == "S1"


def test_travel_limit_is_respected() -> None:
    # S2 idle but 90 min away from S0: its people may not help; S1 at 30 min may
    travel = [[0, 30, 90], [30, 0, 90], [90, 90, 0]]
    pb = problem([0, 1, 2, 2], [[3 * DAY], [0.0], [0.0]], travel=travel)
    r = solve(pb)
    assert set(r.moves.from_site) == {"S1"} and set(r.moves.to_site) == {"S0"}
    assert r.overload_min_after == pytest.approx(DAY)  # 3 days of work, 2 people reachable
    tight = solve(problem([0, 1, 2, 2], [[3 * DAY], [0.0], [0.0]], travel=travel,
                          max_travel_min=20.0))
    assert len(tight.moves) == 0


def test_max_days_and_weekly_move_cap() -> None:
    # two days, S0 needs 2 people a day, has 1; S1 has 2 idle people with max 1 day each
    pb = problem([0, 1, 1], [[2 * DAY, 2 * DAY], [0.0, 0.0]], max_days=np.array([2, 1, 1]))
    r = solve(pb)
    worked = r.roster[r.roster.site_id != ""].groupby("person_id").size()
    assert worked.to_dict() == {"p0": 2, "p1": 1, "p2": 1}
    assert len(r.moves) == 2 and r.overload_min_after == 0.0
    capped = solve(problem([0, 1, 1], [[2 * DAY, 2 * DAY], [0.0, 0.0]],
                           max_days=np.array([2, 1, 1]), max_moves=1))
    assert len(capped.moves) == 1 and capped.overload_min_after == pytest.approx(DAY)


def test_missing_skill_is_named_not_infeasible() -> None:
    # S0 has land visitors Tuesday; nobody in the province is qualified for land
    need = np.zeros((2, 2, 2), bool)
    need[0, 1, 0] = True
    skills = np.array([[False, True], [False, True]])
    r = solve(problem([0, 1], [[100.0, 100.0], [0.0, 0.0]], skill_need=need, skills=skills))
    assert r.report.status is SolveStatus.OPTIMAL
    gaps = r.shortfalls[r.shortfalls.kind == "no_qualified_person"]
    assert gaps[["site_id", "date", "field"]].values.tolist() == [["S0", "2026-11-24", "land"]]


def test_skill_gap_is_fixed_by_a_move() -> None:
    # land visitors at S0 Monday; only p1 (home S1, idle) knows land: p1 moves, reason says so
    need = np.zeros((2, 1, 2), bool)
    need[0, 0, 0] = True
    skills = np.array([[False, True], [True, True], [False, True]])
    r = solve(problem([0, 1, 1], [[200.0], [100.0]], skill_need=need, skills=skills))
    assert r.moves.person_id.tolist() == ["p1"]
    assert r.moves.reason.iloc[0].startswith("covers land at S0 Mon")
    assert r.shortfalls.empty


def test_pooled_online_work_goes_to_idle_branch() -> None:
    # S0 and S1 one person each; 1.5 days of pooled online work, S0 has 0.5 day local work.
    # Best: S0 gets 0.5 day routed (100 %) -> no, peak is min max: (0.5+a)/1 = (1.5-a)/1 -> 100 %
    pool = np.array([[1.5 * DAY, 0.0]])
    r = solve(problem([0, 1], [[0.5 * DAY], [0.0]], pool_min=pool))
    assert r.peak_utilisation_after == pytest.approx(1.0)
    assert r.site_days_after.pooled_min.sum() == pytest.approx(1.5 * DAY)
    assert len(r.moves) == 0


def test_counter_floor_from_erlang() -> None:
    # S0 needs 2 staffed counters (Erlang C) with little work; S1 has a spare person
    needed = np.array([[2], [0]])
    r = solve(problem([0, 1, 1], [[100.0], [100.0]], counters_needed=needed))
    assert len(r.moves) == 1 and r.shortfalls.empty
    short = solve(problem([0, 1], [[100.0], [100.0]], counters_needed=needed, max_moves=0))
    row = short.shortfalls[short.shortfalls.kind == "counters"]
    assert row[["site_id", "amount"]].values.tolist() == [["S0", 1.0]]


def test_stop_event_returns_a_plan() -> None:
    import threading

    stop = threading.Event()
    stop.set()
    r = solve_staff_allocation(problem([0, 0, 1], [[2 * DAY], [0.0]]), time_limit_s=5, stop=stop)
    assert r.report.status is not SolveStatus.OPTIMAL
    assert len(r.roster) == 3


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError, match="StaffProblem.skills has shape"):
        solve(problem([0, 1], [[DAY], [DAY]], skills=np.ones((3, 2), bool)))


def test_skill_gap_floor_not_reachable_falls_back_and_is_proven() -> None:
    # land visitors at S0 and S1 on Monday; only p0 (home S0) knows land and may reach
    # S1: each site alone has someone qualified in reach (no fixed gap, floor 0), but
    # p0 cannot be at both, so one gap is the optimum. The one-solve attempt at the
    # floor is infeasible; the steps then run one by one and prove 1.
    need = np.zeros((2, 1, 2), bool)
    need[:, 0, 0] = True
    skills = np.array([[True, True], [False, True], [False, True]])
    r = solve(problem([0, 1, 1], [[100.0], [100.0]], skill_need=need, skills=skills))
    assert r.report.status is SolveStatus.OPTIMAL
    gaps = r.shortfalls[r.shortfalls.kind == "no_qualified_person"]
    assert len(gaps) == 1
    assert "skill_gaps 1 (proven" in r.stages[0].detail


def test_peak_bound_over_days_counts_the_days_each_person_works() -> None:
    # one site, 1.5 days of work on each of two days, two people who work one day
    # each: any plan has one person a day (150 %) or someone alone with the site
    # empty the other day (150 % too). The site-day bound sees two people a day
    # (75 %); the bound over both days counts two person-days for three days of
    # work and proves 150 % once plans must stay below it (no empty site-day).
    from optimizer.staff_allocation.model import build
    from optimizer.staff_allocation.peak import peak_lower_bound, peak_week_bound

    pb = problem([0, 0], [[1.5 * DAY, 1.5 * DAY]], max_days=np.array([1, 1]))
    b = build(pb, np.zeros((1, 1), np.int64), home_only=False)
    assert peak_lower_bound(b) == 750
    assert peak_week_bound(b, 1500, 0, pb.pool_site) == 1500
    # below a worse best level an empty site-day (150 %) is allowed: 3 days / 4 -> 750
    assert peak_week_bound(b, 1600, 0, pb.pool_site) == 750
    r = solve(pb)
    assert r.report.status is SolveStatus.OPTIMAL
    assert r.peak_utilisation_after == pytest.approx(1.5)


def test_moves_before_travel_in_one_solve() -> None:
    # S0 has 2 days of work and 1 person; S1 (40 min away) and S2 (10 min) half a day
    # and 1 person each. A move takes 480 min of overload off S0 and leaves 240 at
    # the site it empties: overload 480 with no move, 240 with one, 480 with two.
    # One move, from the nearer site.
    travel = [[0, 40, 10], [40, 0, 50], [10, 50, 0]]
    pb = problem([0, 1, 2], [[2 * DAY], [0.5 * DAY], [0.5 * DAY]], travel=travel)
    r = solve(pb)
    assert r.report.status is SolveStatus.OPTIMAL
    assert r.moves[["person_id", "to_site", "travel_min"]].values.tolist() == [["p2", "S0", 10]]
    assert "moves 1 (proven" in r.stages[2].detail
    assert "travel_min 10 (proven" in r.stages[2].detail


def test_one_far_move_beats_two_near_moves() -> None:
    # S0 (2 days of work, 1 person) needs one more; S1 (1 day, 1 person) needs its own
    # person; S2's person is idle. Direct: p2 S2 -> S0, 1 move, 50 min. Chain: p1 S1 ->
    # S0 and p2 S2 -> S1, 2 moves, 20 min. Same overload (0) and peak (100 %): fewer
    # moves come first, so the far move (the one solve weighs a move above any travel).
    travel = [[0, 10, 50], [10, 0, 10], [50, 10, 0]]
    pb = problem([0, 1, 2], [[2 * DAY], [DAY], [0.0]], travel=travel)
    r = solve(pb)
    assert r.report.status is SolveStatus.OPTIMAL
    assert r.overload_min_after == 0.0
    assert r.moves[["person_id", "from_site", "to_site", "travel_min"]].values.tolist() == [
        ["p2", "S2", "S0", 50]]


def _free_model_at_home(pb: StaffProblem) -> tuple[Any, dict[str, int]]:
    """The free model and its solution for the everyone-at-home rotation."""
    import time

    from optimizer.staff_allocation import home_plan
    from optimizer.staff_allocation.engine import Runner
    from optimizer.staff_allocation.model import build
    from optimizer.staff_allocation.stages import start_from_plan

    travel = np.nan_to_num(pb.travel_min, posinf=0.0).astype(np.int64)
    b = build(pb, travel, home_only=False)
    runner = Runner(0, 1, time.monotonic() + 20, None)
    return b, start_from_plan(b, home_plan(pb), runner)


def test_balancing_repair_moves_people_into_the_busiest_site_until_levels_meet() -> None:
    from optimizer.staff_allocation.repair import balance, unmove

    # S0: 1 person, 0.9 day of work (900 per mille); S1: 3 people, 0.3 day (100).
    # One move: S0 450, S1 150; a second: S0 300, S1 300; a third would leave S1
    # empty (counted as one person: 300, not lower) and overloaded: stop at two.
    pb = problem([0, 1, 1, 1], [[0.9 * DAY], [0.3 * DAY]])
    b, start = _free_model_at_home(pb)
    plan = balance(b, pb, start)
    assert list(plan[:, 0]).count(0) == 3 and list(plan[:, 0]).count(1) == 1
    assert plan[0, 0] == 0  # S0's own person stays
    # sending people home at level 450 per mille: one of the two goes back
    # (S0 2 people 450, S1 2 people 150); the other cannot (S0 alone: 900)
    sol = dict(start)
    for (p, s, d), v in b.x.items():
        sol[v.name] = int(plan[p, d] == s)
    for (s, d), v in b.staff.items():
        sol[v.name] = int((plan[:, d] == s).sum())
    back = unmove(b, pb, sol, 450)
    assert list(back[:, 0]).count(0) == 2
    assert list(unmove(b, pb, sol, 300)[:, 0]).count(0) == 3  # no one can go back at 300


def test_day_level_fills_pooled_work_into_the_least_utilised_sites() -> None:
    from optimizer.staff_allocation.repair import day_level

    loc, staff, pooled = np.array([480, 0]), np.array([1, 1]), np.array([True, True])
    # 480 pooled minutes fill S1's idle day: both at 100 %, no overload
    assert day_level(loc, staff, pooled, 480, 480) == (1000, 0)
    # 960: both sites share the excess, 1,440 minutes over 2 people: 150 %, 480 over
    assert day_level(loc, staff, pooled, 960, 480) == (1500, 480)
    # pooled work only where someone is: S1 empty takes none, S0 alone at 200 %
    assert day_level(loc, np.array([1, 0]), pooled, 480, 480) == (2000, 480)
