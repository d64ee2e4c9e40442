"""Invariants of the staff allocation over random small provinces."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from optimizer.staff_allocation import StaffProblem, solve_staff_allocation, whole_minutes

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
    src = rng.gamma(1.0, 100.0, (n_s, n_d, 3)) * (rng.random((n_s, 1, 1)) < 0.6)
    return StaffProblem(
        person_ids=tuple(f"p{i}" for i in range(n_p)), site_ids=tuple(f"S{s}" for s in range(n_s)),
        days=tuple(f"2026-11-{23 + d}" for d in range(n_d)),
        day_names=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")[:n_d], fields=FIELDS,
        home=home, skills=skills, available=rng.random((n_p, n_d)) < 0.8,
        max_days=rng.integers(1, n_d + 1, n_p), movable=rng.random(n_p) < 0.8,
        site_open=np.ones((n_s, n_d), bool), pool_site=np.ones(n_s, bool),
        counters=rng.integers(1, 3, n_s), local_min=local, reception_min=local / 2,
        pool_min=src.sum(axis=0), pool_src=src, skill_need=skill_need,
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
@example(seed=261, n_p=3, n_s=4, n_d=3, max_moves=None)
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
    # the same days worked in the three plans: moves change where, not when
    assert ((r.planned.plan >= 0) == (r.today.plan >= 0)).all()
    assert (r.pooled.plan == r.today.plan).all() and r.pooled.moves == 0
    if max_moves is not None:
        assert len(r.moves) <= max_moves
    # planned never worse than pooled, pooled never worse than today
    assert r.planned.overload_min <= r.pooled.overload_min + 1e-3
    assert r.pooled.overload_min <= r.today.overload_min + 1e-3
    assert r.planned.peak_utilisation <= r.pooled.peak_utilisation + 1e-4
    assert r.planned.skill_gaps <= r.pooled.skill_gaps
    # every pooled minute (in whole minutes) is somewhere: at a site or unplaced
    whole = float(whole_minutes(pb).src.sum())
    for plan in (r.today, r.pooled, r.planned):
        assert plan.routed.sum() + plan.online_unplaced_min == pytest.approx(whole, abs=0.5)
    # a skill shortfall is reported exactly where no qualified person works
    gaps = r.shortfalls[(r.shortfalls.field != "all") & (r.shortfalls.site_id != "")]
    named = set(zip(gaps.site_id, gaps.date, gaps.field, strict=True))
    for s in range(n_s):
        for d in range(n_d):
            here = roster[(roster.site_id == pb.site_ids[s]) & (roster.date == pb.days[d])]
            people = [pb.person_ids.index(x) for x in here.person_id]
            for f in range(3):
                if pb.skill_need[s, d, f]:
                    covered = any(pb.skills[p, f] for p in people)
                    assert covered == ((pb.site_ids[s], pb.days[d], FIELDS[f]) not in named)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_two_runs_give_the_same_figures(seed: int) -> None:
    pb = random_problem(seed, 8, 4, 3, None)
    a, b = (solve_staff_allocation(pb, time_limit_s=30, seed=0, threads=2) for _ in range(2))
    for x, y in ((a.today, b.today), (a.pooled, b.pooled), (a.planned, b.planned)):
        assert x.figures() == y.figures()
        assert (x.plan == y.plan).all()
