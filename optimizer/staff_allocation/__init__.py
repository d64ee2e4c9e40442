"""Weekly staffing across sites: today, pooled and planned, side by side.

Three plans of the same week, so a director sees what each step buys:

* **today**: everyone at home on today's rotation, each site processing its
  own dossiers (no decision);
* **pooled**: the same roster; online dossiers of the pooled levels processed
  by qualified staff wherever they work that day (an exact LP, no one travels);
* **planned**: pooled plus moves for what needs a person at the counter
  (in-person reception by field, counters Erlang C asks for, cover for leave),
  day by day, lexicographic: fewest skill gaps, least overload, fewest
  counter gaps, fewest moves, least travel. Never worse than pooled on
  overload or peak, which is never worse than today on overload.

The formulation, part by part:

* :mod:`.problem`: the inputs (:class:`StaffProblem`), their validation, whole
  minutes (:class:`Minutes`), the result types (:class:`StaffAllocation`,
  :class:`PlanFigures`, :class:`StageResult`);
* :mod:`.offers`: today's rotation (days worked, days off) and which
  site-days a move may go to;
* :mod:`.pooled`: the exact LP routing of pooled online work for a fixed
  roster (least overload, then lowest peak, then even fill);
* :mod:`.model`: one day's CP-SAT model, one function per family of rules;
* :mod:`.engine`: deterministic CP-SAT settings and budgets;
* :mod:`.stages`: the lexicographic steps of one day;
* :mod:`.tables`: the result tables (site-days, shortfalls, roster, moves
  with what they buy, site rosters);
* :mod:`.solve`: :func:`solve_staff_allocation`, the entry point.
"""

from optimizer.staff_allocation.engine import STEP_WEIGHTS
from optimizer.staff_allocation.offers import home_plan
from optimizer.staff_allocation.pooled import route
from optimizer.staff_allocation.problem import (
    MAX_UTIL,
    MINUTE_SCALE,
    UTIL_SCALE,
    Minutes,
    PlanFigures,
    StaffAllocation,
    StaffProblem,
    StageResult,
    whole_minutes,
)
from optimizer.staff_allocation.solve import (
    default_time_limit,
    plan_from_sites,
    solve_staff_allocation,
)
from optimizer.staff_allocation.tables import site_day_table

__all__ = [
    "default_time_limit",
    "MAX_UTIL",
    "MINUTE_SCALE",
    "STEP_WEIGHTS",
    "UTIL_SCALE",
    "Minutes",
    "PlanFigures",
    "StaffAllocation",
    "StaffProblem",
    "StageResult",
    "home_plan",
    "plan_from_sites",
    "route",
    "site_day_table",
    "solve_staff_allocation",
    "whole_minutes",
]
