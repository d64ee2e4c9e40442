"""Where to put reception points: covering, median, center and capacitated models.

Every model works on a sparse demand x site matrix and a demand weight vector
(residents or in-person dossiers per day), never on a dense matrix:

* ``covered`` (boolean): demand ``i`` is within the standard (30 min / 5 km) of
  site ``j``; used by :func:`lscp`, :func:`mclp`, :func:`backup`,
  :func:`capacitated`, :func:`pareto` and :func:`lexicographic`;
* ``minutes`` (float): travel time of reachable pairs; a missing entry means
  "beyond the cutoff", an explicit ``0.0`` a site at the demand point; used by
  :func:`p_median` and :func:`p_center`.

Site indices in ``fixed`` are always open (offices that must stay); those in
``closed`` are never opened.  Demand that no allowed site can reach is reported
(indices and weight) and the model solves for the rest.  Demand of weight 0 is
left out of every model (it opens nothing and changes no objective) and mapped
back into the result: such a point goes to its nearest open site within reach,
or is listed as uncoverable if none reaches it.  Demand that is all 0 is refused
with :class:`NoDemandError` (a ``ValueError``).

Every function returns a frozen :class:`PlacementResult` holding the open
sites, each demand point's assigned site (``-1`` if none), the objective and a
:class:`optimizer._status.SolverReport` (status, best bound, gap, wall time,
engine, seed, threads, time limit).  ``FEASIBLE`` is never reported as
``OPTIMAL``.  Solves go through OR-Tools MathOpt (HiGHS by default, SCIP on
request) after the reductions of :mod:`optimizer._preprocess`.

One module per model family, each with its formulation in its docstring and
its model builder apart from its solve strategy:

* :mod:`~optimizer.placement.set_cover` -- :func:`lscp`;
* :mod:`~optimizer.placement.max_cover` -- :func:`mclp` and :func:`pareto`;
* :mod:`~optimizer.placement.median` -- :func:`p_median`;
* :mod:`~optimizer.placement.center` -- :func:`p_center`;
* :mod:`~optimizer.placement.capacity` -- :func:`capacitated`;
* :mod:`~optimizer.placement.capacity_median` -- :func:`capacitated_p_median`;
* :mod:`~optimizer.placement.closure` -- :func:`closure` (which existing offices can close);
* :mod:`~optimizer.placement.variants` -- :func:`backup` and :func:`lexicographic`;
* :mod:`~optimizer.placement.inputs` -- the checks, :class:`SolveOptions` and
  :class:`Tuning` (benchmark switches);
* :mod:`~optimizer.placement.result` -- :class:`PlacementResult` and how the
  reports of several solves combine.

(The modules are not named after the functions so that
``optimizer.placement.lscp`` stays the function.)
"""

from optimizer._mip import engines_running
from optimizer._status import SolverReport, SolveStatus
from optimizer.placement.capacity import capacitated
from optimizer.placement.capacity_median import CPMEDIAN_MIP_MAX_PAIRS, capacitated_p_median
from optimizer.placement.center import p_center
from optimizer.placement.closure import closure, sole_cover_sites
from optimizer.placement.inputs import (
    MCLP_MIP_MAX_NONZEROS,
    BoolArray,
    FloatArray,
    IntArray,
    Matrix,
    NoDemandError,
    SolveOptions,
    Tuning,
)
from optimizer.placement.max_cover import (
    MCLP_LOCAL_SEARCH_MIN_NONZEROS,
    MCLP_MIP_TIME_SHARE,
    PDLP_TIME_SHARE,
    SWAP_SECONDS,
    mclp,
    pareto,
)
from optimizer.placement.median import p_median
from optimizer.placement.result import ParetoResult, PlacementResult
from optimizer.placement.set_cover import (
    AUTO_SCIP_SITES,
    LSCP_MIP_MIN_S,
    LSCP_SEARCH_SHARE,
    LSCP_SEARCH_SITES,
    SMALL_COMPONENT_SITES,
    lscp,
)
from optimizer.placement.variants import backup, lexicographic

__all__ = [
    "AUTO_SCIP_SITES", "CPMEDIAN_MIP_MAX_PAIRS", "LSCP_MIP_MIN_S", "LSCP_SEARCH_SHARE", "LSCP_SEARCH_SITES",
    "MCLP_LOCAL_SEARCH_MIN_NONZEROS", "MCLP_MIP_MAX_NONZEROS", "MCLP_MIP_TIME_SHARE",
    "PDLP_TIME_SHARE", "SMALL_COMPONENT_SITES", "SWAP_SECONDS",
    "BoolArray", "FloatArray", "IntArray", "Matrix",
    "NoDemandError", "ParetoResult", "PlacementResult", "SolveOptions", "SolveStatus", "SolverReport", "Tuning",
    "backup", "capacitated", "capacitated_p_median", "closure", "engines_running", "lexicographic", "lscp", "mclp", "p_center", "p_median", "pareto",
    "sole_cover_sites",
]
