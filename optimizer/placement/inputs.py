"""What every placement model takes in: the checks, the solve options, the tuning.

The public functions of :mod:`optimizer.placement` take plain arrays and the
same keyword arguments (``time_limit_s``, ``seed``, ``threads``, ``engine``,
``stop``).  At that boundary, and only there, they become a frozen
:class:`SolveOptions` (whose construction refuses a seed, thread count or engine
the engines cannot take) and the demand/site arrays become a checked
:class:`Inputs`; everything below works on those.

Demand of weight 0 is left out here, once, before every model
(:func:`cover_inputs`, :func:`minutes_inputs`): it needs no site and changes no
objective.  :class:`Dropped` records which rows went, and
:func:`optimizer.placement.result.restore` gives the result a row for every
demand point again.  Demand that is all 0 raises :class:`NoDemandError`.

:class:`Tuning` holds the switches that exist for benchmarks and ablations
(turning the reductions, the truncated p-median or the Lagrangian path off,
or moving the MCLP's MIP size limit); the default is what every user gets.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer._mip import DEFAULT_ENGINE, resolve_engine
from optimizer._preprocess import as_bool_csr
from optimizer._status import check_seed_threads
from optimizer.errors import InvalidInputError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Matrix: TypeAlias = sp.spmatrix | sp.sparray
#: Site indices as the public functions take them (``fixed=``, ``closed=``).
Sites: TypeAlias = Sequence[int] | npt.ArrayLike | None

#: Largest reduced MCLP (non-zeros of the coverage matrix) handed to a MIP engine.
#: Above it the engines' branch-and-cut needs about 1 KB per non-zero (HiGHS grew
#: by 450 MB on the 517k-non-zero 20,000 x 2,000 core and, in 60 s, never left the
#: root; SCIP 424 MB), so the bound comes from the LP by PDLP and the answer from
#: iterated local search (:func:`optimizer.placement.max_cover.mclp_first_order`).
#: The 5,000 x 500 (25k) and national (84k) models get a MIP (the national one
#: after the local search, see
#: :data:`optimizer.placement.max_cover.MCLP_LOCAL_SEARCH_MIN_NONZEROS`).  Lowered
#: from 250k (issue #16): on Quảng Ninh at 1 km (190k, p = 40, 2 threads, loaded
#: machine) the MIP's half of the minute returned its hint and the bound 1,316,086
#: in four runs (answers 1,280,555-1,281,268, gaps 0.08-0.14 %); with the whole
#: minute for the LP bound and the local search: 1,281,305 and 1,281,43x (0.078 %,
#: 0.07 %).  No bench instance had 150k-250k.
MCLP_MIP_MAX_NONZEROS = 150_000


@dataclass(frozen=True)
class SolveOptions:
    """How to solve, as MathOpt's ``SolveParameters``: one frozen value per call.

    Attributes
    ----------
    time_limit_s : wall-clock limit for the whole call in seconds (``None``: none).
    seed, threads : engine seed (0..2**31-1) and thread count (>= 1), saved in reports.
    engine : ``"auto"``, ``"highs"`` or ``"scip"`` (see :func:`optimizer.placement.lscp`).
    stop : set it from another thread to stop and keep the best answer so far.

    Constructing one checks the seed, the thread count and the engine name, so a
    bad value fails before any work, whatever path the model would take.
    """

    time_limit_s: float | None = 60.0
    seed: int = 0
    threads: int = 1
    engine: str = DEFAULT_ENGINE
    stop: threading.Event | None = None

    def __post_init__(self) -> None:
        check_seed_threads(self.seed, self.threads)
        resolve_engine(self.engine)  # an unknown engine fails before any work

    def within(self, time_limit_s: float | None) -> SolveOptions:
        """A copy with another time limit (a part of a call); the values stay checked."""
        new = copy.copy(self)
        object.__setattr__(new, "time_limit_s", time_limit_s)
        return new

    def deadline(self, t0: float) -> float | None:
        """The ``time.perf_counter()`` value the call must end by, from its start ``t0``."""
        return None if self.time_limit_s is None else t0 + self.time_limit_s

    @property
    def stopped(self) -> bool:
        """Whether a stop was requested."""
        return self.stop is not None and self.stop.is_set()

    @property
    def solver_name(self) -> str:
        """The solver label of reports from a single engine."""
        return f"ortools-mathopt-{resolve_engine(self.engine)}"


@dataclass(frozen=True)
class Tuning:
    """Switches for benchmarks and ablations; the defaults are the models as shipped.

    Attributes
    ----------
    preprocess : LSCP and MCLP: the reductions of :mod:`optimizer._preprocess` and the
        split into components (``False``: the plain model, for benchmarking).
    max_mip_nonzeros : MCLP with a count: a reduced model with more coverage non-zeros
        than this gets no MIP (bound from the LP, answer from local search);
        ``None``: always the MIP.
    truncate : p-median: iterate over truncated radius models (``False``: every level
        at once, neither heuristic nor Lagrangian: the plain model).
    lagrangian : p-median: heuristic + Lagrangian bound + reduced-cost fixing first.
    """

    preprocess: bool = True
    max_mip_nonzeros: int | None = MCLP_MIP_MAX_NONZEROS
    truncate: bool = True
    lagrangian: bool = True


#: The tuning every public function uses unless given another.
DEFAULT_TUNING = Tuning()


@dataclass(frozen=True)
class Inputs:
    """Checked demand weights and site lists of one call.

    ``allowed`` is ``False`` for closed sites; ``fixed`` holds the must-open sites
    (sorted, unique); ``costs`` the opening cost per site (1 each by default).
    """

    n_demand: int
    n_sites: int
    weights: FloatArray
    allowed: BoolArray
    fixed: IntArray
    costs: FloatArray

    @property
    def closed(self) -> IntArray:
        """Indices of the sites that may not open."""
        return np.flatnonzero(~self.allowed).astype(np.int64)

    @property
    def fixed_mask(self) -> BoolArray:
        """Per site, whether it must stay open."""
        mask = np.zeros(self.n_sites, dtype=bool)
        mask[self.fixed] = True
        return mask


def check_inputs(
    shape: tuple[int, int],
    weights: npt.ArrayLike,
    fixed: Sites,
    closed: Sites,
    costs: npt.ArrayLike | None,
) -> Inputs:
    """Check weights, site lists and costs against a demand x site ``shape``."""
    n_demand, n_sites = shape
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (n_demand,):
        msg = f"weights has {w.size} entries, the matrix has {n_demand} demand rows"
        raise ValueError(msg)
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        msg = f"weights must be finite and >= 0; demand row {int(bad[0])} has {w[bad[0]]!r}"
        raise InvalidInputError(msg)
    f = _site_indices("fixed", fixed, n_sites)
    c = _site_indices("closed", closed, n_sites)
    both = np.intersect1d(f, c)
    if both.size:
        msg = f"site {int(both[0])} is both fixed (must open) and closed"
        raise InvalidInputError(msg)
    cost = np.ones(n_sites) if costs is None else np.asarray(costs, dtype=np.float64).reshape(-1)
    if cost.shape != (n_sites,):
        msg = f"costs has {cost.size} entries, the matrix has {n_sites} sites"
        raise ValueError(msg)
    if (~np.isfinite(cost) | (cost < 0)).any():
        msg = "costs must be finite and >= 0"
        raise InvalidInputError(msg)
    allowed = np.ones(n_sites, dtype=bool)
    allowed[c] = False
    return Inputs(n_demand, n_sites, w, allowed, f, cost)


def _site_indices(name: str, v: Sites, n_sites: int) -> IntArray:
    a = np.unique(np.asarray([] if v is None else v, dtype=np.int64).reshape(-1))
    out = a[(a < 0) | (a >= n_sites)]
    if out.size:
        msg = f"{name} site index {int(out[0])} is outside 0..{n_sites - 1}"
        raise ValueError(msg)
    return a


def check_p(p: int | None, n_fixed: int, name: str = "p") -> None:
    """Refuse a number of points below the must-open sites, or negative."""
    if p is not None and p < n_fixed:
        msg = f"{name}={p} is smaller than the {n_fixed} must-open sites"
        raise InvalidInputError(msg)
    if p is not None and p < 0:
        msg = f"{name} must be >= 0, got {p}"
        raise InvalidInputError(msg)


def minutes_csr(minutes: Matrix) -> sp.csr_matrix:
    """A canonical float CSR copy of a travel-minutes matrix, checked finite and >= 0."""
    m = sp.csr_matrix(minutes, dtype=np.float64, copy=True)
    m.sum_duplicates()
    m.sort_indices()
    if m.data.size and (~np.isfinite(m.data) | (m.data < 0)).any():
        msg = "minutes must be finite and >= 0 (leave beyond-cutoff pairs out of the matrix)"
        raise InvalidInputError(msg)
    return m


def restrict_columns(m: sp.csr_matrix, allowed: BoolArray) -> sp.csr_matrix:
    """Drop entries of disallowed columns, keeping explicit zeros and the shape."""
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    keep = allowed[m.indices]
    out = sp.csr_matrix(
        (m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape, dtype=m.dtype
    )
    if out.dtype != np.bool_:
        # coo->csr conversion keeps explicit zeros; make sure ordering is canonical
        out.sort_indices()
    return out


def reach_of(mins: sp.csr_matrix) -> sp.csr_matrix:
    """Boolean pattern of a minutes matrix (explicit zeros count as reachable)."""
    return sp.csr_matrix(
        (np.ones(mins.nnz, dtype=bool), mins.indices.copy(), mins.indptr.copy()), shape=mins.shape
    )


class NoDemandError(InvalidInputError):
    """Every demand weight is 0 (or there is no demand point): nothing to place points for."""


@dataclass(frozen=True)
class Dropped:
    """Demand rows of weight 0, left out of every model (they change no objective and
    need no site); results map back to all ``n_demand`` rows (see
    :func:`optimizer.placement.result.restore`).  ``reach`` and ``minutes`` are the
    full checked matrices, for the dropped rows' nearest open site."""

    n_demand: int
    kept: IntArray
    reach: sp.csr_matrix
    minutes: sp.csr_matrix | None


def positive_rows(weights: FloatArray) -> IntArray | None:
    """The demand rows of positive weight, ``None`` when that is every row.

    Raises :class:`NoDemandError` when no row has any weight.
    """
    kept = np.flatnonzero(weights > 0).astype(np.int64)
    if kept.size == 0:
        msg = (f"every demand weight is 0 ({weights.size} demand points): there is no "
               "demand to place points for")
        raise NoDemandError(msg)
    return None if kept.size == weights.size else kept


def _keep_rows(inp: Inputs, kept: IntArray) -> Inputs:
    return replace(inp, n_demand=int(kept.size), weights=inp.weights[kept])


@dataclass(frozen=True)
class CoverInputs:
    """A checked covering problem over the demand of positive weight: ``c`` keeps only
    allowed sites' columns, ``minutes`` (optional, for travel figures) the same rows;
    ``dropped`` says which rows of weight 0 were left out (``None``: none)."""

    inp: Inputs
    c: sp.csr_matrix
    uncoverable: IntArray
    minutes: sp.csr_matrix | None = None
    dropped: Dropped | None = None


def cover_inputs(covered: Matrix, weights: npt.ArrayLike, fixed: Sites, closed: Sites,
                 costs: npt.ArrayLike | None = None,
                 minutes: Matrix | None = None) -> CoverInputs:
    """Check a boolean coverage matrix with its weights, site lists and optional travel
    minutes, and leave out the demand of weight 0."""
    c = as_bool_csr(covered)
    inp = check_inputs(c.shape, weights, fixed, closed, costs)
    c = restrict_columns(c, inp.allowed)
    mins = None if minutes is None else minutes_csr(minutes)
    if mins is not None and mins.shape != c.shape:
        msg = f"minutes has shape {mins.shape}, the coverage matrix {c.shape}"
        raise ValueError(msg)
    kept = positive_rows(inp.weights)
    dropped = None
    if kept is not None:
        dropped = Dropped(inp.n_demand, kept, c, mins)
        inp, c = _keep_rows(inp, kept), c[kept]
        mins = None if mins is None else mins[kept]
    uncoverable = np.flatnonzero(np.diff(c.indptr) == 0).astype(np.int64)
    return CoverInputs(inp, c, uncoverable, mins, dropped)


@dataclass(frozen=True)
class MinutesInputs:
    """A checked travel-time problem over the demand of positive weight: ``mins`` keeps
    only allowed sites' columns, ``reach`` is its pattern; ``dropped`` as in
    :class:`CoverInputs`."""

    inp: Inputs
    mins: sp.csr_matrix
    reach: sp.csr_matrix
    uncoverable: IntArray
    dropped: Dropped | None = None

    def rows(self, m: sp.csr_matrix) -> sp.csr_matrix:
        """The rows of a matrix over all demand points that the models see."""
        return m if self.dropped is None else m[self.dropped.kept]

    @property
    def full_shape(self) -> tuple[int, int]:
        """Shape of the matrices over all demand points."""
        n = self.inp.n_demand if self.dropped is None else self.dropped.n_demand
        return n, self.inp.n_sites


def minutes_inputs(minutes: Matrix, weights: npt.ArrayLike, fixed: Sites,
                   closed: Sites) -> MinutesInputs:
    """Check a travel-minutes matrix with its weights and site lists, and leave out the
    demand of weight 0."""
    mins = minutes_csr(minutes)
    inp = check_inputs(mins.shape, weights, fixed, closed, None)
    mins = restrict_columns(mins, inp.allowed)
    kept = positive_rows(inp.weights)
    dropped = None
    if kept is not None:
        dropped = Dropped(inp.n_demand, kept, reach_of(mins), mins)
        inp, mins = _keep_rows(inp, kept), mins[kept]
    uncoverable = np.flatnonzero(np.diff(mins.indptr) == 0).astype(np.int64)
    return MinutesInputs(inp, mins, reach_of(mins), uncoverable, dropped)


def whole(values: FloatArray) -> bool:
    """All whole numbers (costs, people): objectives and bounds over them are too."""
    return bool(np.all(values == np.round(values)))


def remaining(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (at least 1 ms), ``None`` without one."""
    return None if deadline is None else max(0.001, deadline - time.perf_counter())
