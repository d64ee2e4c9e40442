"""OR-Tools models for motcua (no osmnx or Streamlit here).

Public modules: :mod:`optimizer.placement` (LSCP, MCLP, p-median, p-center and
variants), :mod:`optimizer.staff_allocation` (weekly rebalancing, CP-SAT),
:mod:`optimizer.forecast`, :mod:`optimizer.queueing`.
"""

from optimizer._status import SolverReport, SolveStatus

__all__ = ["SolveStatus", "SolverReport"]
