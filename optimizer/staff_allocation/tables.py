"""The result tables: site-days, roster, shortfalls and moves with their reasons.

``utilisation = demand_min / max(capacity_min, day_minutes)`` per site-day (an
unstaffed site-day counts as one person), overload is demand beyond capacity,
shortfalls are named per site, day and field (no qualified person, counters
short of Erlang C, overload, pooled minutes no qualified branch could take),
and each move says why it was made.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optimizer.queueing import expected_wait_min
from optimizer.staff_allocation.problem import FloatArr, IntArr, StaffProblem

__all__ = ["moves_table", "peak_utilisation", "roster_table", "shortfall_table", "site_day_table"]


def site_day_table(pb: StaffProblem, plan: IntArr, routed_min: FloatArr) -> pd.DataFrame:
    """Site-day figures for a roster.

    Parameters
    ----------
    pb
        The problem.
    plan
        (P, D) site index per person and day, ``-1`` when off.
    routed_min
        (S, D) pooled online minutes routed to each site-day.

    Returns
    -------
    DataFrame
        ``site_id, date, weekday, staff, demand_min, reception_min, pooled_min,
        capacity_min, utilisation, overload_min, unstaffed, in_person_dossiers,
        counters, counters_needed, counters_staffed, expected_wait_min``.
        ``utilisation = demand_min / max(capacity_min, day_minutes)`` (an
        unstaffed site-day counts as one person; ``unstaffed`` flags it).
    """
    _, n_s, n_d, _ = pb.shape
    staff = np.zeros((n_s, n_d), dtype=np.int64)
    for p, d in zip(*np.nonzero(plan >= 0), strict=True):
        staff[plan[p, d], d] += 1
    rows = []
    for s in range(n_s):
        for d in range(n_d):
            if not pb.site_open[s, d] and staff[s, d] == 0:
                continue
            dem = float(pb.local_min[s, d] + routed_min[s, d])
            cap = float(staff[s, d] * pb.day_minutes)
            if dem == 0 and cap == 0:
                continue
            phys = int(pb.counters[s])
            at_counter = int(min(staff[s, d], phys)) if phys > 0 else int(staff[s, d])
            wait = expected_wait_min(
                at_counter, float(pb.arrivals_peak_per_hour[s, d]), float(pb.service_min_mean[s, d])
            )
            rows.append({
                "site_id": pb.site_ids[s], "date": pb.days[d], "weekday": pb.day_names[d],
                "staff": int(staff[s, d]), "demand_min": round(dem, 1),
                "reception_min": round(float(pb.reception_min[s, d]), 1),
                "pooled_min": round(float(routed_min[s, d]), 1), "capacity_min": cap,
                "utilisation": round(dem / max(cap, pb.day_minutes), 4),
                "overload_min": round(max(0.0, dem - cap), 1),
                "unstaffed": bool(staff[s, d] == 0 and dem > 0),
                "in_person_dossiers": round(float(pb.in_person_dossiers[s, d]), 2),
                "counters": phys, "counters_needed": int(pb.counters_needed[s, d]),
                "counters_staffed": at_counter,
                "expected_wait_min": round(wait, 2) if math.isfinite(wait) else math.inf,
            })
    cols = [
        "site_id", "date", "weekday", "staff", "demand_min", "reception_min", "pooled_min",
        "capacity_min", "utilisation", "overload_min", "unstaffed", "in_person_dossiers",
        "counters", "counters_needed", "counters_staffed", "expected_wait_min",
    ]
    return pd.DataFrame(rows, columns=cols)


def roster_table(pb: StaffProblem, plan: IntArr, travel_int: IntArr) -> pd.DataFrame:
    """One row per person and open day: where, home, moved, one-way travel minutes."""
    rows = []
    n_p, _, n_d, _ = pb.shape
    for p in range(n_p):
        h = int(pb.home[p])
        for d in range(n_d):
            s = int(plan[p, d])
            rows.append({
                "person_id": pb.person_ids[p], "date": pb.days[d], "weekday": pb.day_names[d],
                "site_id": pb.site_ids[s] if s >= 0 else "", "home_site": pb.site_ids[h],
                "moved": bool(s >= 0 and s != h),
                "travel_min": int(travel_int[h, s]) if s >= 0 and s != h else 0,
            })
    return pd.DataFrame(
        rows, columns=["person_id", "date", "weekday", "site_id", "home_site", "moved", "travel_min"]
    )


def shortfall_table(pb: StaffProblem, plan: IntArr, routed: FloatArr, unplaced: FloatArr) -> pd.DataFrame:
    """Shortfalls of a roster, named per site, day and field."""
    _, n_s, n_d, n_f = pb.shape
    rows: list[dict[str, object]] = []
    staff = np.zeros((n_s, n_d), dtype=np.int64)
    qual = np.zeros((n_s, n_d, n_f), dtype=np.int64)
    for p, d in zip(*np.nonzero(plan >= 0), strict=True):
        staff[plan[p, d], d] += 1
        qual[plan[p, d], d] += pb.skills[p].astype(np.int64)
    for s in range(n_s):
        for d in range(n_d):
            where = {"site_id": pb.site_ids[s], "date": pb.days[d], "weekday": pb.day_names[d]}
            for f in map(int, np.flatnonzero(pb.skill_need[s, d] & (qual[s, d] == 0))):
                rows.append({**where, "field": pb.fields[f], "kind": "no_qualified_person",
                             "amount": 1.0,
                             "detail": f"no one qualified for {pb.fields[f]} at {pb.site_ids[s]} "
                                       f"on {pb.day_names[d]} {pb.days[d]}"})
            need = int(min(pb.counters_needed[s, d], pb.counters[s]))
            if staff[s, d] < need:
                rows.append({**where, "field": "", "kind": "counters",
                             "amount": float(need - staff[s, d]),
                             "detail": f"Erlang C asks for {need} staffed counters, "
                                       f"{staff[s, d]} people there"})
            over = pb.local_min[s, d] + routed[s, d] - staff[s, d] * pb.day_minutes
            if over > 0.5:
                rows.append({**where, "field": "", "kind": "overload",
                             "amount": round(float(over), 1),
                             "detail": f"{over:.0f} demand minutes beyond capacity"})
    for d in range(n_d):
        for f in range(n_f):
            if unplaced[d, f] > 0.5:
                rows.append({"site_id": "", "date": pb.days[d], "weekday": pb.day_names[d],
                             "field": pb.fields[f], "kind": "online_unplaced",
                             "amount": round(float(unplaced[d, f]), 1),
                             "detail": "pooled online minutes no qualified branch could take"})
    return pd.DataFrame(
        rows, columns=["site_id", "date", "weekday", "field", "kind", "amount", "detail"]
    )


def _by_site_day(table: pd.DataFrame, column: str) -> dict[tuple[str, str], float]:
    """``column`` of a site-day table by (site id, date)."""
    return {(str(r.site_id), str(r.date)): float(str(getattr(r, column)))
            for r in table.itertuples()}


def _own_at_home(pb: StaffProblem, plan: IntArr) -> dict[tuple[int, int], int]:
    """People working at their home site, per (site, day)."""
    own: dict[tuple[int, int], int] = {}
    n_p, _, n_d, _ = pb.shape
    for p in range(n_p):
        for d in range(n_d):
            if plan[p, d] >= 0 and plan[p, d] == pb.home[p]:
                key = (int(pb.home[p]), d)
                own[key] = own.get(key, 0) + 1
    return own


def moves_table(
    pb: StaffProblem, plan: IntArr, travel_int: IntArr,
    before: pd.DataFrame, after: pd.DataFrame, gaps_before: pd.DataFrame,
) -> pd.DataFrame:
    """The moves of ``plan``, each with its reason.

    The reason names the fields it covers where no one qualified was before,
    the load of the site it goes to and of home, before -> after, and, when the
    site is no lighter, the site's own people there (their days off moved).
    """
    util_b, util_a = _by_site_day(before, "utilisation"), _by_site_day(after, "utilisation")
    skill_b = gaps_before[gaps_before["kind"] == "no_qualified_person"]
    gap_fields: dict[tuple[str, str], set[str]] = {}
    for r in skill_b.itertuples():
        gap_fields.setdefault((str(r.site_id), str(r.date)), set()).add(str(r.field))
    staff_b = {k: int(v) for k, v in _by_site_day(before, "staff").items()}
    own_after = _own_at_home(pb, plan)
    rows = []
    n_p, _, n_d, _ = pb.shape
    for p in range(n_p):
        h = int(pb.home[p])
        for d in range(n_d):
            s = int(plan[p, d])
            if s < 0 or s == h:
                continue
            to, home, day = str(pb.site_ids[s]), str(pb.site_ids[h]), str(pb.days[d])
            covers = sorted(
                f for f in gap_fields.get((to, day), set())
                if pb.skills[p, pb.fields.index(f)]
            )
            load = (f"{to} {pb.day_names[d]} at {util_b.get((to, day), 0.0):.0%} -> "
                    f"{util_a.get((to, day), 0.0):.0%}")
            reason = (f"covers {', '.join(covers)} at {to} {pb.day_names[d]} "
                      f"(no one qualified otherwise); {load}" if covers else load)
            reason += (f"; home {home} {util_b.get((home, day), 0.0):.0%} -> "
                       f"{util_a.get((home, day), 0.0):.0%}")
            if util_a.get((to, day), 0.0) >= util_b.get((to, day), 0.0) - 5e-3:
                # the site is no lighter: the move lets its own people work another day
                own_b, own_a = staff_b.get((to, day), 0), own_after.get((s, d), 0)
                reason += (f"; {to}'s own people there {own_b} -> {own_a} "
                           f"(their days off moved; this move keeps {to} staffed)")
            rows.append({
                "person_id": pb.person_ids[p], "date": day, "weekday": pb.day_names[d],
                "from_site": home, "to_site": to, "travel_min": int(travel_int[h, s]),
                "reason": reason,
            })
    return pd.DataFrame(
        rows, columns=["person_id", "date", "weekday", "from_site", "to_site", "travel_min", "reason"]
    )


def peak_utilisation(table: pd.DataFrame) -> float:
    """Largest utilisation of a site-day table (0 when empty)."""
    return float(table["utilisation"].max()) if len(table) else 0.0
