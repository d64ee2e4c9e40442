"""The problem: inputs, their validation, the result types and the model's units.

Persons ``p``, sites ``s``, open days ``d``, fields ``f`` (:class:`StaffProblem`,
plain arrays). A person may work at site ``s`` on day ``d`` only if available
that day (days available, not on leave, not a holiday), the site is open, and
``s`` is home, or the person is movable, ``travel_min[home(p), s] <=
max_travel_min`` and the move is offered (:mod:`.offers`). Each person works
exactly ``w_p = min(max_days_p, days with an allowed site)`` days, on at most
one site a day.

Work is counted in whole minutes (:data:`MINUTE_SCALE`), utilisation in per
mille (:data:`UTIL_SCALE`). A solve returns a :class:`StaffAllocation` made of
:class:`StageResult` stages and the tables of :mod:`.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from optimizer._status import SolverReport, Stage
from optimizer.errors import InvalidInputError

__all__ = [
    "MAX_UTIL",
    "MINUTE_SCALE",
    "UTIL_SCALE",
    "BoolArr",
    "FloatArr",
    "IntArr",
    "Minutes",
    "PlanFigures",
    "Solution",
    "StaffAllocation",
    "StaffProblem",
    "StageResult",
    "travel_minutes",
    "whole_minutes",
]

#: Work is counted in whole minutes in the model (minutes x MINUTE_SCALE, rounded).
MINUTE_SCALE = 1
#: Utilisation is counted in per mille in the model (1.0 -> 1000).
UTIL_SCALE = 1000
#: Largest utilisation the model represents, per mille (100 x capacity).
MAX_UTIL = 100 * UTIL_SCALE

FloatArr = npt.NDArray[np.float64]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]
#: A solution of a model, by variable name.
Solution = dict[str, int]


@dataclass(frozen=True)
class StaffProblem:
    """Plain-array input of :func:`solve_staff_allocation` (P persons, S sites, D days, F fields).

    Attributes
    ----------
    person_ids, site_ids : ids, in array order.
    days : ISO dates of the open days; ``day_names`` their weekday codes.
    fields : field codes.
    home : (P,) index of each person's home site.
    skills : (P, F) person qualified for field.
    available : (P, D) person can work that day (days available, no leave).
    max_days : (P,) maximum days worked in the week.
    movable : (P,) person may be sent to another site.
    site_open : (S, D) site open that day.
    pool_site : (S,) site may process pooled online work (branches).
    counters : (S,) physical reception counters.
    local_min : (S, D) minutes of work that must be done at the site.
    reception_min : (S, D) part of ``local_min`` spent at the counter (reporting).
    pool_min : (D, F) pooled online processing minutes.
    skill_need : (S, D, F) field with in-person demand needing a qualified person.
    in_person_dossiers : (S, D) expected in-person visitors.
    arrivals_peak_per_hour : (S, D) visitors in the peak hour.
    service_min_mean : (S, D) mean reception minutes per visitor.
    counters_needed : (S, D) counters Erlang C asks for in the peak hour.
    travel_min : (S, S) one-way travel minutes between sites (``inf`` unreachable).
    max_travel_min : longest one-way trip from home for a temporary move.
    day_minutes : working minutes of one person in one day.
    max_moves : weekly cap on moves (person-days away from home); ``None`` = no cap.
    pool_src : (S, D, F) pooled online minutes by the site that received them (today's
        plan processes them there); ``None``: ``pool_min`` spread over the open pool
        sites in proportion to the people based there. When given, ``pool_min`` must
        equal its sum over sites.
    ip_field_min : (S, D, F) in-person minutes by field (reception plus processing),
        for shortfalls in minutes by field; ``None``: ``local_min`` split equally
        over the fields that need a qualified person.
    """

    person_ids: tuple[str, ...]
    site_ids: tuple[str, ...]
    days: tuple[str, ...]
    day_names: tuple[str, ...]
    fields: tuple[str, ...]
    home: IntArr
    skills: BoolArr
    available: BoolArr
    max_days: IntArr
    movable: BoolArr
    site_open: BoolArr
    pool_site: BoolArr
    counters: IntArr
    local_min: FloatArr
    reception_min: FloatArr
    pool_min: FloatArr
    skill_need: BoolArr
    in_person_dossiers: FloatArr
    arrivals_peak_per_hour: FloatArr
    service_min_mean: FloatArr
    counters_needed: IntArr
    travel_min: FloatArr
    max_travel_min: float
    day_minutes: float
    max_moves: int | None = None
    pool_src: FloatArr | None = None
    ip_field_min: FloatArr | None = None

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(persons, sites, days, fields)."""
        return len(self.person_ids), len(self.site_ids), len(self.days), len(self.fields)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first array whose shape or values are wrong."""
        p, s, d, f = self.shape
        expected: dict[str, tuple[int, ...]] = {
            "home": (p,), "skills": (p, f), "available": (p, d), "max_days": (p,),
            "movable": (p,), "site_open": (s, d), "pool_site": (s,), "counters": (s,),
            "local_min": (s, d), "reception_min": (s, d), "pool_min": (d, f),
            "skill_need": (s, d, f), "in_person_dossiers": (s, d),
            "arrivals_peak_per_hour": (s, d), "service_min_mean": (s, d),
            "counters_needed": (s, d), "travel_min": (s, s),
        }
        if self.pool_src is not None:
            expected["pool_src"] = (s, d, f)
        if self.ip_field_min is not None:
            expected["ip_field_min"] = (s, d, f)
        for name, shp in expected.items():
            got = np.shape(getattr(self, name))
            if got != shp:
                msg = f"StaffProblem.{name} has shape {got}, expected {shp}"
                raise ValueError(msg)
        if len(self.day_names) != d:
            msg = f"StaffProblem.day_names has {len(self.day_names)} entries, expected {d}"
            raise ValueError(msg)
        if p and (self.home.min() < 0 or self.home.max() >= s):
            msg = "StaffProblem.home holds a site index out of range"
            raise ValueError(msg)
        for name in ("local_min", "pool_min", "travel_min", "pool_src", "ip_field_min"):
            if getattr(self, name) is None:
                continue
            arr = np.asarray(getattr(self, name), dtype=float)
            if np.isnan(arr).any() or (arr < 0).any():
                msg = f"StaffProblem.{name} must be >= 0 and not NaN"
                raise ValueError(msg)
        if self.pool_src is not None and not np.allclose(
                np.asarray(self.pool_src, dtype=float).sum(axis=0), self.pool_min, atol=1e-6):
            msg = "StaffProblem.pool_src summed over sites must equal pool_min"
            raise ValueError(msg)
        if self.day_minutes <= 0:
            msg = f"day_minutes must be > 0, got {self.day_minutes!r}"
            raise InvalidInputError(msg)
        if self.max_moves is not None and self.max_moves < 0:
            msg = f"max_moves must be >= 0 or None, got {self.max_moves!r}"
            raise InvalidInputError(msg)


#: One stage of the lexicographic solve: the stage type shared with every model
#: (:class:`optimizer._status.Stage`), under the name this package used before.
StageResult = Stage


@dataclass(frozen=True)
class PlanFigures:
    """One of the three plans (today, pooled, planned): its tables and headline figures.

    Attributes
    ----------
    name : ``today``, ``pooled`` or ``planned``.
    plan : (P, D) site index per person and day, ``-1`` when off.
    routed : (S, D) online minutes processed at each site-day (the site's own in
        ``today``, the pooled routing otherwise).
    site_days : one row per site-day, see :func:`.tables.site_day_table`.
    shortfalls : minutes and counters short by site, day and field
        (:func:`.tables.shortfall_table`).
    overload_min : demand minutes beyond capacity at sites, plus pooled minutes no
        one qualified could take (``online_unplaced_min``, also apart).
    peak_utilisation : largest demand / capacity over site-days.
    counters_short : staffed counters short of Erlang C, summed over site-days.
    skill_gaps : (site, day, field) with in-person demand and no one qualified there.
    wait_mean_min : expected wait in the peak hour, mean over visitors of the
        site-days whose queue clears; ``queues_unstable``: site-days whose does not.
    wait_max_min : the longest finite expected wait of a site-day.
    moves : person-days away from home.
    """

    name: str
    plan: IntArr
    routed: FloatArr
    site_days: pd.DataFrame
    shortfalls: pd.DataFrame
    overload_min: float
    peak_utilisation: float
    online_unplaced_min: float
    counters_short: int
    skill_gaps: int
    wait_mean_min: float
    wait_max_min: float
    queues_unstable: int
    moves: int

    def figures(self) -> dict[str, float]:
        """The headline figures, by name (JSON-ready floats)."""
        return {
            "overload_min": self.overload_min, "peak_utilisation": self.peak_utilisation,
            "online_unplaced_min": self.online_unplaced_min,
            "counters_short": float(self.counters_short), "skill_gaps": float(self.skill_gaps),
            "wait_mean_min": self.wait_mean_min, "wait_max_min": self.wait_max_min,
            "queues_unstable": float(self.queues_unstable), "moves": float(self.moves),
        }


@dataclass(frozen=True)
class StaffAllocation:
    """Result of :func:`solve_staff_allocation`: three plans side by side.

    Attributes
    ----------
    report : overall status (OPTIMAL only if every step of every day was proven),
        moves and their bound, largest step gap, time, seed, threads.
    stages : the steps of the planned plan, summed over days (skill gaps,
        overload, counter gaps, moves and travel).
    today : everyone at home, each site processing its own dossiers (no decision).
    pooled : today's roster, online work of the pooled levels routed to qualified
        staff wherever they work (an exact LP).
    planned : pooled plus moves (per-day CP-SAT, lexicographic).
    roster : the planned plan, one row per person and open day: ``person_id, date,
        weekday, site_id`` (empty when off), ``home_site, moved, travel_min``.
    moves : ``person_id, date, weekday, from_site, to_site, travel_min, reason``.
    site_roster : one row per site and day: who works there, who came, who left.
    """

    report: SolverReport
    stages: tuple[StageResult, ...]
    today: PlanFigures
    pooled: PlanFigures
    planned: PlanFigures
    roster: pd.DataFrame
    moves: pd.DataFrame
    site_roster: pd.DataFrame
    settings: dict[str, object] = field(default_factory=dict)

    # the names of the two-plan result (before = everyone at home with online work
    # pooled, which is now the ``pooled`` plan; after = ``planned``)
    @property
    def site_days_before(self) -> pd.DataFrame:
        return self.pooled.site_days

    @property
    def site_days_after(self) -> pd.DataFrame:
        return self.planned.site_days

    @property
    def shortfalls(self) -> pd.DataFrame:
        return self.planned.shortfalls

    @property
    def shortfalls_before(self) -> pd.DataFrame:
        return self.pooled.shortfalls

    @property
    def peak_utilisation_before(self) -> float:
        return self.pooled.peak_utilisation

    @property
    def peak_utilisation_after(self) -> float:
        return self.planned.peak_utilisation

    @property
    def overload_min_before(self) -> float:
        return self.pooled.overload_min

    @property
    def overload_min_after(self) -> float:
        return self.planned.overload_min

    @property
    def online_unplaced_min_before(self) -> float:
        return self.pooled.online_unplaced_min

    @property
    def online_unplaced_min_after(self) -> float:
        return self.planned.online_unplaced_min


@dataclass(frozen=True)
class Minutes:
    """The work of a problem in whole minutes (rounded up), the same for the three plans.

    ``local`` (S, D): work that must be done at the site; ``src`` (S, D, F): pooled
    online minutes by receiving site; ``pool`` (D, F): their sum over sites;
    ``day``: one person's day. Whole minutes make the routing a flow problem with
    integer data, so the exact LP and the CP-SAT model agree on every figure.
    """

    local: IntArr
    src: IntArr
    pool: IntArr
    day: int


def whole_minutes(pb: StaffProblem) -> Minutes:
    """:class:`Minutes` of ``pb``; without ``pool_src`` the pooled minutes of a day
    and field are spread over the open pool sites in proportion to the people based
    there (largest remainders, so the parts sum to the whole)."""
    n_p, n_s, n_d, n_f = pb.shape
    local = np.ceil(np.asarray(pb.local_min, dtype=float) * MINUTE_SCALE - 1e-9).astype(np.int64)
    if pb.pool_src is not None:
        src = np.ceil(np.asarray(pb.pool_src, dtype=float) * MINUTE_SCALE - 1e-9).astype(np.int64)
    else:
        src = np.zeros((n_s, n_d, n_f), dtype=np.int64)
        pool = np.ceil(np.asarray(pb.pool_min, dtype=float) * MINUTE_SCALE - 1e-9).astype(np.int64)
        based = np.bincount(np.asarray(pb.home, dtype=np.int64), minlength=n_s).astype(float)
        for d in range(n_d):
            w = based * (pb.pool_site & pb.site_open[:, d])
            if w.sum() == 0:
                w = (pb.pool_site & pb.site_open[:, d]).astype(float)
            if w.sum() == 0:
                w = np.ones(n_s)
            for f in range(n_f):
                share = pool[d, f] * w / w.sum()
                part = np.floor(share).astype(np.int64)
                rest = int(pool[d, f] - part.sum())
                order = np.lexsort((np.arange(n_s), -(share - part)))
                part[order[:rest]] += 1
                src[:, d, f] = part
    day = int(round(pb.day_minutes * MINUTE_SCALE))
    return Minutes(local, src, src.sum(axis=0), day)


def travel_minutes(pb: StaffProblem) -> IntArr:
    """(S, S) one-way travel in whole minutes, rounded up (0 where unreachable)."""
    return np.where(
        np.isfinite(pb.travel_min), np.ceil(np.nan_to_num(pb.travel_min, posinf=0.0) - 1e-9), 0
    ).astype(np.int64)
