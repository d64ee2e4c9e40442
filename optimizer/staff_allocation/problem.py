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

from optimizer._status import SolverReport, SolveStatus, relative_gap
from optimizer.errors import InvalidInputError

__all__ = [
    "MAX_UTIL",
    "MINUTE_SCALE",
    "UTIL_SCALE",
    "BoolArr",
    "FloatArr",
    "IntArr",
    "Solution",
    "StaffAllocation",
    "StaffProblem",
    "StageResult",
    "travel_minutes",
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
        for name in ("local_min", "pool_min", "travel_min"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if np.isnan(arr).any() or (arr < 0).any():
                msg = f"StaffProblem.{name} must be >= 0 and not NaN"
                raise ValueError(msg)
        if self.day_minutes <= 0:
            msg = f"day_minutes must be > 0, got {self.day_minutes!r}"
            raise InvalidInputError(msg)
        if self.max_moves is not None and self.max_moves < 0:
            msg = f"max_moves must be >= 0 or None, got {self.max_moves!r}"
            raise InvalidInputError(msg)


@dataclass(frozen=True)
class StageResult:
    """One stage of the lexicographic solve."""

    name: str
    status: SolveStatus
    objective: float
    best_bound: float
    wall_time_s: float
    probes: int = 1
    detail: str = ""

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.best_bound)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name, "status": self.status.value, "objective": self.objective,
            "best_bound": self.best_bound, "gap": self.gap, "wall_time_s": self.wall_time_s,
            "probes": self.probes, "detail": self.detail,
        }


@dataclass(frozen=True)
class StaffAllocation:
    """Result of :func:`solve_staff_allocation`.

    Attributes
    ----------
    report : overall status (OPTIMAL only if every stage was proven), stage-3
        objective and bound, largest stage gap, time, seed, threads.
    stages : the three stages of the after-plan (overload, peak, moves).
    before_stages : the stages of the everyone-at-home plan (routing of pooled work).
    roster : one row per person and open day: ``person_id, date, weekday, site_id``
        (empty string when off), ``home_site, moved, travel_min``.
    site_days_before, site_days_after : one row per site and open day, see
        :func:`site_day_table`.
    moves : ``person_id, date, weekday, from_site, to_site, travel_min, reason``.
    shortfalls : ``site_id, date, weekday, field, kind, amount, detail``.
    shortfalls_before : the same for the everyone-at-home plan.
    peak_utilisation_before, peak_utilisation_after : max utilisation over site-days.
    overload_min_before, overload_min_after : total overload minutes at sites
        (demand beyond capacity; every pooled online minute is routed to a site).
    online_unplaced_min_before, online_unplaced_min_after : pooled online minutes
        of a field on a day when no branch has anyone qualified for it (then
        they are at no site; reported apart, and as ``online_unplaced`` shortfalls).
    """

    report: SolverReport
    stages: tuple[StageResult, ...]
    before_stages: tuple[StageResult, ...]
    roster: pd.DataFrame
    site_days_before: pd.DataFrame
    site_days_after: pd.DataFrame
    moves: pd.DataFrame
    shortfalls: pd.DataFrame
    shortfalls_before: pd.DataFrame
    peak_utilisation_before: float
    peak_utilisation_after: float
    overload_min_before: float
    overload_min_after: float
    online_unplaced_min_before: float = 0.0
    online_unplaced_min_after: float = 0.0
    settings: dict[str, object] = field(default_factory=dict)


def travel_minutes(pb: StaffProblem) -> IntArr:
    """(S, S) one-way travel in whole minutes, rounded up (0 where unreachable)."""
    return np.where(
        np.isfinite(pb.travel_min), np.ceil(np.nan_to_num(pb.travel_min, posinf=0.0) - 1e-9), 0
    ).astype(np.int64)
