"""Invariants of the staff allocation over random small provinces."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from optimizer.staff_allocation import StaffProblem, solve_staff_allocation

FIELDS = ("land", "justice", "other")
DAY = 480.0


def random_problem(seed: int, n_p: int, n_s: int, n_d: int, max_moves: int | None) -> StaffProblem:
    rng = np.random.default_rng(seed)
    home = rng.integers(0, n_s, n_p)
    skills = rng.random((n_p, 3)) < 0.6
    xy = rng.random((n_s, 2)) * 40.0  # km
    travel = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 2.0  # min
    local = rng.gamma(2.0, 0.5, (n_s, n_d)) * DAY * np.bincount(home, minlength=n_s)[:, None] / 2
    skill_need = rng.random((n_s, n_d, 3)) < 0.3
    return StaffProblem(
        person_ids=tuple(f"p{i}" for i in range(n_p)), site_ids=tuple(f"S{s}" for s in range(n_s)),
        days=tuple(f"2026-11-{23 + d}" for d in range(n_d)),
        day_names=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")[:n_d], fields=FIELDS,
        home=home, skills=skills, available=rng.random((n_p, n_d)) < 0.8,
        max_days=rng.integers(1, n_d + 1, n_p), movable=rng.random(n_p) < 0.8,
        site_open=np.ones((n_s, n_d), bool), pool_site=rng.random(n_s) < 0.5,
        counters=rng.integers(1, 3, n_s), local_min=local, reception_min=local / 2,
        pool_min=rng.gamma(1.0, 100.0, (n_d, 3)), skill_need=skill_need,
        in_person_dossiers=np.zeros((n_s, n_d)), arrivals_peak_per_hour=np.zeros((n_s, n_d)),
        service_min_mean=np.full((n_s, n_d), 15.0),
        counters_needed=rng.integers(0, 3, (n_s, n_d)), travel_min=travel,
        max_travel_min=float(rng.uniform(20, 80)), day_minutes=DAY, max_moves=max_moves,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1), n_p=st.integers(1, 9), n_s=st.integers(1, 4),
    n_d=st.integers(1, 3), max_moves=st.one_of(st.none(), st.integers(0, 4)),
)
@example(seed=261, n_p=3, n_s=4, n_d=3, max_moves=None)  # a move trades site overload for unplaced
def test_roster_respects_every_rule(
    seed: int, n_p: int, n_s: int, n_d: int, max_moves: int | None
) -> None:
    pb = random_problem(seed, n_p, n_s, n_d, max_moves)
    r = solve_staff_allocation(pb, time_limit_s=10, seed=0, threads=1)
    roster: Any = r.roster
    # one row per person and day: one site (or off) per day
    assert len(roster) == n_p * n_d
    assert not roster.duplicated(["person_id", "date"]).any()
    sid = {s: i for i, s in enumerate(pb.site_ids)}
    for row in roster.itertuples():
        p, d = pb.person_ids.index(row.person_id), pb.days.index(row.date)
        if row.site_id == "":
            continue
        s = sid[row.site_id]
        assert pb.available[p, d], "rostered on leave or an unavailable day"
        if s != pb.home[p]:
            assert pb.movable[p], "a not-movable person was moved"
            assert pb.travel_min[pb.home[p], s] <= pb.max_travel_min, "travel limit broken"
    worked = roster[roster.site_id != ""].groupby("person_id").size()
    for pid, n in worked.items():
        assert n <= pb.max_days[pb.person_ids.index(str(pid))]
    if max_moves is not None:
        assert len(r.moves) <= max_moves
    # never worse than everyone at home: on the peak, and lexicographically on
    # (skill shortfalls, overload minutes, counter shortfalls)
    assert r.peak_utilisation_after <= r.peak_utilisation_before + 1e-3

    def gaps(t: Any, kind: str) -> float:
        return float(t[t.kind == kind].amount.sum())

    g_after, g_before = (gaps(t, "no_qualified_person") for t in (r.shortfalls, r.shortfalls_before))
    assert g_after <= g_before
    if g_after == g_before:
        # the model's overload counts the pooled minutes no branch can take too: a
        # move may trade site overload for fewer unplaced minutes (seed 261, 3
        # people, 4 sites, 3 days: site overload 959 -> 1,127, unplaced 1,480 ->
        # 1,246, total 2,440 -> 2,374)
        over_a = r.overload_min_after + r.online_unplaced_min_after
        over_b = r.overload_min_before + r.online_unplaced_min_before
        assert over_a <= over_b + 1.0
        if over_a >= over_b - 1.0:
            assert gaps(r.shortfalls, "counters") <= gaps(r.shortfalls_before, "counters")
    # a skill shortfall is reported exactly where no qualified person works
    gaps = r.shortfalls[r.shortfalls.kind == "no_qualified_person"]
    named = set(zip(gaps.site_id, gaps.date, gaps.field, strict=True))
    for s in range(n_s):
        for d in range(n_d):
            here = roster[(roster.site_id == pb.site_ids[s]) & (roster.date == pb.days[d])]
            people = [pb.person_ids.index(x) for x in here.person_id]
            for f in range(3):
                if pb.skill_need[s, d, f]:
                    covered = any(pb.skills[p, f] for p in people)
                    assert covered == ((pb.site_ids[s], pb.days[d], FIELDS[f]) not in named)
