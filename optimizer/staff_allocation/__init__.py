"""Weekly staff rebalancing across sites: a lexicographic CP-SAT model.

Persons work at most one site a day, exactly their days in the week, at home
or, when movable, at a nearby site that needs help; pooled online work goes
to branches with someone qualified. The plan is chosen lexicographically:
fewest skill gaps, least overload, fewest unplaced pooled minutes, fewest
counter gaps, lowest peak utilisation, fewest moves, least travel; it is
never worse on the peak than the best everyone-at-home plan.

The formulation, part by part:

* :mod:`.problem`: the inputs (:class:`StaffProblem`), their validation, the
  result types (:class:`StaffAllocation`, :class:`StageResult`) and units;
* :mod:`.offers`: which site-days each person may work (leave, availability,
  reach, the moves offered) and the everyone-at-home rotation;
* :mod:`.model`: the CP-SAT model, one function per family of rules (one site
  a day, people per site-day, pooled routing, overload, skills, counters
  from Erlang C, totals, moves and their limit);
* :mod:`.peak`: the peak-utilisation rule for a fixed level and its bounds;
* :mod:`.engine`: CP-SAT settings, the time and work budget, and the
  handover CP-SAT -> HiGHS -> CP-SAT within a step;
* :mod:`.stages`: the lexicographic stages (shortfalls and overload, peak,
  moves and travel), each step minimised then fixed;
* :mod:`.repair`: balancing repairs and re-routing that give the stages
  better starts, each checked by the model;
* :mod:`.tables`: the result tables (site-days, roster, shortfalls, moves);
* :mod:`.solve`: :func:`solve_staff_allocation`, the entry point.
"""

from optimizer.staff_allocation.engine import STAGE_WEIGHTS
from optimizer.staff_allocation.offers import home_plan
from optimizer.staff_allocation.problem import (
    MAX_UTIL,
    MINUTE_SCALE,
    UTIL_SCALE,
    StaffAllocation,
    StaffProblem,
    StageResult,
)
from optimizer.staff_allocation.solve import plan_from_sites, solve_staff_allocation
from optimizer.staff_allocation.tables import site_day_table

__all__ = [
    "MAX_UTIL",
    "MINUTE_SCALE",
    "STAGE_WEIGHTS",
    "UTIL_SCALE",
    "StaffAllocation",
    "StaffProblem",
    "StageResult",
    "home_plan",
    "plan_from_sites",
    "site_day_table",
    "solve_staff_allocation",
]
