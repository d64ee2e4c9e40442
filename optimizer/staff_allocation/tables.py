"""The result tables: site-days, shortfalls, roster, moves with what they buy, site rosters.

``utilisation = demand_min / max(capacity_min, day_minutes)`` per site-day (an
unstaffed site-day counts as one person); overload is demand beyond capacity;
expected waits are Erlang C's in the peak hour with ``min(staff, counters)``
staffed counters. Shortfalls are minutes and counters by site, day and field;
each move says what it buys at both ends.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optimizer.queueing import expected_wait_min
from optimizer.staff_allocation.problem import (
    FloatArr,
    IntArr,
    Minutes,
    PlanFigures,
    StaffProblem,
)

__all__ = [
    "figures",
    "moves_table",
    "peak_utilisation",
    "roster_table",
    "shortfall_table",
    "site_day_table",
    "site_roster_table",
]

SITE_DAY_COLUMNS = [
    "site_id", "date", "weekday", "staff", "demand_min", "reception_min", "pooled_min",
    "capacity_min", "utilisation", "overload_min", "unstaffed", "in_person_dossiers",
    "counters", "counters_needed", "counters_staffed", "counters_short", "expected_wait_min",
]
SHORTFALL_COLUMNS = ["site_id", "date", "weekday", "field", "minutes_short", "counters_short",
                     "detail"]


def _staff(pb: StaffProblem, plan: IntArr) -> IntArr:
    _, n_s, n_d, _ = pb.shape
    staff = np.zeros((n_s, n_d), dtype=np.int64)
    for p, d in zip(*np.nonzero(plan >= 0), strict=True):
        staff[plan[p, d], d] += 1
    return staff


def _local(pb: StaffProblem, minutes: Minutes | None) -> FloatArr:
    return (np.asarray(pb.local_min, dtype=float) if minutes is None
            else minutes.local.astype(float))


def site_day_table(pb: StaffProblem, plan: IntArr, routed_min: FloatArr,
                   minutes: Minutes | None = None) -> pd.DataFrame:
    """Site-day figures for a roster.

    Parameters
    ----------
    pb
        The problem.
    plan
        (P, D) site index per person and day, ``-1`` when off.
    routed_min
        (S, D) online minutes processed at each site-day.
    minutes
        The whole minutes the plans were computed with (default ``pb.local_min``).

    Returns
    -------
    DataFrame
        ``site_id, date, weekday, staff, demand_min, reception_min, pooled_min,
        capacity_min, utilisation, overload_min, unstaffed, in_person_dossiers,
        counters, counters_needed, counters_staffed, counters_short,
        expected_wait_min``.
    """
    _, n_s, n_d, _ = pb.shape
    staff = _staff(pb, plan)
    local = _local(pb, minutes)
    rows = []
    for s in range(n_s):
        for d in range(n_d):
            if not pb.site_open[s, d] and staff[s, d] == 0:
                continue
            dem = float(local[s, d] + routed_min[s, d])
            cap = float(staff[s, d] * pb.day_minutes)
            if dem == 0 and cap == 0:
                continue
            phys = int(pb.counters[s])
            at_counter = int(min(staff[s, d], phys)) if phys > 0 else int(staff[s, d])
            wait = expected_wait_min(
                at_counter, float(pb.arrivals_peak_per_hour[s, d]), float(pb.service_min_mean[s, d])
            )
            need = int(min(pb.counters_needed[s, d], phys))
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
                "counters_short": max(0, need - int(staff[s, d])),
                "expected_wait_min": round(wait, 2) if math.isfinite(wait) else math.inf,
            })
    return pd.DataFrame(rows, columns=SITE_DAY_COLUMNS)


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


def _ip_field_min(pb: StaffProblem) -> FloatArr:
    if pb.ip_field_min is not None:
        return np.asarray(pb.ip_field_min, dtype=float)
    need = pb.skill_need.astype(float)
    n = np.maximum(need.sum(axis=2, keepdims=True), 1.0)
    out: FloatArr = np.asarray(pb.local_min, dtype=float)[:, :, None] * need / n
    return out


def shortfall_table(pb: StaffProblem, plan: IntArr, routed: FloatArr, unplaced: FloatArr,
                    minutes: Minutes | None = None) -> pd.DataFrame:
    """Minutes and counters short, by site, day and field.

    One row per (site, day, field) with in-person demand and no one qualified
    there (``minutes_short``: that field's in-person minutes); one row per
    site-day (field ``all``) short of capacity or of counters (``minutes_short``:
    demand beyond capacity; ``counters_short``: staffed counters short of Erlang
    C); one row per day and field of pooled minutes no one qualified worked on
    (site empty).
    """
    _, n_s, n_d, n_f = pb.shape
    rows: list[dict[str, object]] = []
    staff = _staff(pb, plan)
    qual = np.zeros((n_s, n_d, n_f), dtype=np.int64)
    for p, d in zip(*np.nonzero(plan >= 0), strict=True):
        qual[plan[p, d], d] += pb.skills[p].astype(np.int64)
    ipf = _ip_field_min(pb)
    local = _local(pb, minutes)
    for s in range(n_s):
        for d in range(n_d):
            where = {"site_id": pb.site_ids[s], "date": pb.days[d], "weekday": pb.day_names[d]}
            for f in map(int, np.flatnonzero(pb.skill_need[s, d] & (qual[s, d] == 0))):
                rows.append({**where, "field": pb.fields[f],
                             "minutes_short": round(float(ipf[s, d, f]), 1), "counters_short": 0,
                             "detail": f"no one qualified for {pb.fields[f]} at the counter"})
            need = int(min(pb.counters_needed[s, d], pb.counters[s]))
            short_c = max(0, need - int(staff[s, d]))
            over = float(local[s, d] + routed[s, d] - staff[s, d] * pb.day_minutes)
            over = over if over > 0.05 else 0.0
            if short_c or over:
                parts = []
                if over:
                    parts.append(f"{over:,.0f} min of work beyond {staff[s, d]} people's day")
                if short_c:
                    parts.append(f"Erlang C asks for {need} staffed counters, {staff[s, d]} "
                                 f"people there")
                rows.append({**where, "field": "all", "minutes_short": round(over, 1),
                             "counters_short": short_c, "detail": "; ".join(parts)})
    for d in range(n_d):
        for f in range(n_f):
            if unplaced[d, f] > 0.05:
                rows.append({"site_id": "", "date": pb.days[d], "weekday": pb.day_names[d],
                             "field": pb.fields[f],
                             "minutes_short": round(float(unplaced[d, f]), 1),
                             "counters_short": 0,
                             "detail": "online minutes: no one qualified works that day"})
    return pd.DataFrame(rows, columns=SHORTFALL_COLUMNS)


def peak_utilisation(table: pd.DataFrame) -> float:
    """Largest utilisation of a site-day table (0 when empty)."""
    return float(table["utilisation"].max()) if len(table) else 0.0


def figures(name: str, pb: StaffProblem, plan: IntArr, routed: FloatArr, unplaced: FloatArr,
            minutes: Minutes) -> PlanFigures:
    """A :class:`PlanFigures` for a roster and its routing."""
    days = site_day_table(pb, plan, routed, minutes)
    short = shortfall_table(pb, plan, routed, unplaced, minutes)
    waits = days["expected_wait_min"].astype(float)
    visitors = days["in_person_dossiers"].astype(float)
    fin = np.isfinite(waits) & (visitors > 0)
    mean = float((waits[fin] * visitors[fin]).sum() / visitors[fin].sum()) if fin.any() else 0.0
    moves = int(((plan >= 0) & (plan != np.asarray(pb.home)[:, None])).sum())
    skill = int(((short["field"] != "all") & (short["site_id"] != "")).sum())
    return PlanFigures(
        name=name, plan=plan, routed=routed, site_days=days, shortfalls=short,
        overload_min=round(float(days["overload_min"].sum() + unplaced.sum()), 1),
        peak_utilisation=peak_utilisation(days),
        online_unplaced_min=round(float(unplaced.sum()), 1),
        counters_short=int(days["counters_short"].sum()), skill_gaps=skill,
        wait_mean_min=round(mean, 2),
        wait_max_min=round(float(waits[fin].max()), 2) if fin.any() else 0.0,
        queues_unstable=int((~np.isfinite(waits) & (visitors > 0)).sum()), moves=moves,
    )


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _wait(x: float) -> str:
    return "no end (queue grows)" if not math.isfinite(x) else f"{x:.0f} min"


def moves_table(pb: StaffProblem, travel_int: IntArr, pooled: PlanFigures,
                planned: PlanFigures) -> pd.DataFrame:
    """The moves of the planned plan, each saying what it buys at both ends.

    The reason names what it covers at the site it goes to (a field with no one
    qualified at the counter in the pooled plan, a staffed counter Erlang C asks
    for, work beyond the people there), that site's expected wait and
    utilisation, pooled plan -> planned, and what happens at home
    ("home Y stays at 88 %" or "home Y 70 % -> 85 %").
    """
    cols = ("counters_short", "counters_needed", "overload_min", "expected_wait_min",
            "utilisation")

    def by_key(df: pd.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
        # (site, date) -> figures: dicts, not a DataFrame lookup per move and figure
        return {(str(k), str(dt)): dict(zip(cols, map(float, v), strict=True))
                for k, dt, *v in zip(df["site_id"], df["date"], *(df[c] for c in cols),
                                     strict=True)}

    before = by_key(pooled.site_days)
    after = by_key(planned.site_days)
    gaps_b = pooled.shortfalls[pooled.shortfalls["field"] != "all"]
    gap_fields: dict[tuple[str, str], set[str]] = {}
    for r in gaps_b.itertuples():
        gap_fields.setdefault((str(r.site_id), str(r.date)), set()).add(str(r.field))

    def row(site: str, day: str, df: dict[tuple[str, str], dict[str, float]], col: str,
            default: float = 0.0) -> float:
        got = df.get((site, day))
        return got[col] if got is not None else default

    plan = planned.plan
    rows = []
    n_p, _, n_d, _ = pb.shape
    for p in range(n_p):
        h = int(pb.home[p])
        for d in range(n_d):
            s = int(plan[p, d])
            if s < 0 or s == h:
                continue
            to, home, day, wd = (str(pb.site_ids[s]), str(pb.site_ids[h]), str(pb.days[d]),
                                 pb.day_names[d])
            covers = sorted(f for f in gap_fields.get((to, day), set())
                            if pb.skills[p, pb.fields.index(f)])
            what = [f"covers the {', '.join(covers)} counter at {to} on {wd}"] if covers else []
            c_b, c_a = row(to, day, before, "counters_short"), row(to, day, after, "counters_short")
            if c_a < c_b:
                need = int(row(to, day, after, "counters_needed"))
                what.append(f"staffs a counter at {to} on {wd} (Erlang C asks for {need}; "
                            f"short {c_b:.0f} -> {c_a:.0f})")
            o_b, o_a = row(to, day, before, "overload_min"), row(to, day, after, "overload_min")
            if o_a < o_b - 0.5:
                what.append(f"takes in-person work at {to} on {wd} (beyond capacity "
                            f"{o_b:,.0f} -> {o_a:,.0f} min)")
            if not what:
                what.append(f"works at {to} on {wd}")
            w_b = row(to, day, before, "expected_wait_min")
            w_a = row(to, day, after, "expected_wait_min")
            if w_b != w_a:
                what.append(f"{to}'s wait {_wait(w_b)} -> {_wait(w_a)}")
            u_b, u_a = row(to, day, before, "utilisation"), row(to, day, after, "utilisation")
            what.append(f"{to} {_pct(u_b)} -> {_pct(u_a)}")
            h_b, h_a = row(home, day, before, "utilisation"), row(home, day, after, "utilisation")
            what.append(f"home {home} stays at {_pct(h_a)}" if round(100 * h_b) == round(100 * h_a)
                        else f"home {home} {_pct(h_b)} -> {_pct(h_a)}")
            rows.append({
                "person_id": pb.person_ids[p], "date": day, "weekday": wd, "from_site": home,
                "to_site": to, "travel_min": int(travel_int[h, s]), "reason": "; ".join(what),
            })
    return pd.DataFrame(
        rows, columns=["person_id", "date", "weekday", "from_site", "to_site", "travel_min", "reason"]
    )


def site_roster_table(pb: StaffProblem, today: PlanFigures, planned: PlanFigures) -> pd.DataFrame:
    """Per site and day, who works there in the planned plan, who came and who left.

    ``site_id, date, weekday, staff, people, came, left, utilisation_today,
    utilisation_planned, wait_today_min, wait_planned_min``.
    """
    n_p, n_s, n_d, _ = pb.shape
    plan = planned.plan
    def by_key(df: pd.DataFrame) -> dict[tuple[str, str], tuple[float, float]]:
        # (site, date) -> (utilisation, wait): a dict, not a DataFrame lookup per row
        # (7,200 .at lookups took 6 s of a 2,000 staff x 300 sites run)
        return {(str(k), str(dt)): (float(u), float(w)) for k, dt, u, w in zip(
            df["site_id"], df["date"], df["utilisation"], df["expected_wait_min"], strict=True)}

    t_idx = by_key(today.site_days)
    a_idx = by_key(planned.site_days)
    at: dict[tuple[int, int], list[int]] = {}
    gone: dict[tuple[int, int], list[int]] = {}
    for p, d in zip(*np.nonzero(plan >= 0), strict=True):
        s = int(plan[p, d])
        at.setdefault((s, int(d)), []).append(int(p))
        if s != int(pb.home[p]):
            gone.setdefault((int(pb.home[p]), int(d)), []).append(int(p))
    rows = []
    for s in range(n_s):
        for d in range(n_d):
            here = at.get((s, d), [])
            came = [p for p in here if int(pb.home[p]) != s]
            left = gone.get((s, d), [])
            k = (pb.site_ids[s], pb.days[d])
            if not here and k not in a_idx:
                continue
            u_t, w_t = t_idx.get(k, (0.0, 0.0))
            u_a, w_a = a_idx.get(k, (0.0, 0.0))
            rows.append({
                "site_id": pb.site_ids[s], "date": pb.days[d], "weekday": pb.day_names[d],
                "staff": len(here), "people": ", ".join(pb.person_ids[p] for p in here),
                "came": ", ".join(f"{pb.person_ids[p]} (from {pb.site_ids[int(pb.home[p])]})"
                                  for p in came),
                "left": ", ".join(f"{pb.person_ids[p]} (to {pb.site_ids[int(plan[p, d])]})"
                                  for p in left),
                "utilisation_today": u_t, "utilisation_planned": u_a,
                "wait_today_min": w_t, "wait_planned_min": w_a,
            })
    return pd.DataFrame(rows, columns=[
        "site_id", "date", "weekday", "staff", "people", "came", "left", "utilisation_today",
        "utilisation_planned", "wait_today_min", "wait_planned_min"])
