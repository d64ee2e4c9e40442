"""A thin, fast bridge from numpy arrays to OR-Tools MathOpt.

The placement models have millions of non-zeros on national instances.
Building them term by term through MathOpt's Python expressions costs far more
than solving them, so :class:`SparseMip` collects variables and constraint
blocks as numpy arrays and writes the ``ModelProto`` in one pass; the solve
goes straight to MathOpt's C++ solver entry point and the result proto is read
back into numpy.  Status mapping is done once here, so no model can mistake a
time-limited answer for an optimal one.
"""

from __future__ import annotations

import atexit
import datetime
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from ortools.math_opt import model_parameters_pb2, model_pb2, result_pb2
from ortools.math_opt.core.python import solver as _core_solver
from ortools.math_opt.python import init_arguments, mathopt

from optimizer._status import SolverReport, SolveStatus, check_seed_threads, relative_gap

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: MIP engines usable through MathOpt in the installed OR-Tools wheel.
ENGINES: dict[str, mathopt.SolverType] = {
    "highs": mathopt.SolverType.HIGHS,
    "scip": mathopt.SolverType.GSCIP,
}
#: Default engine: HiGHS proved the covering models fastest in ``bench/``.
DEFAULT_ENGINE = "highs"
#: Absolute gap at which a solve may stop and call itself optimal.  Objectives
#: are people, people-minutes or site counts, so 1e-6 is far below one unit.
ABSOLUTE_GAP = 1e-6

_TR = result_pb2.TerminationReasonProto

#: SCIP settings that cut its memory on covering models and keep the answers:
#: dual sparsify (a presolver that pairs up columns) and Gomory cuts (dense rows
#: on set covering) took about 150 MB of the 250 MB SCIP used on the largest
#: 20,000 x 2,000 LSCP component (933 x 2,557); without them the component is
#: still proved optimal, faster (31 s instead of 40 s).  Only a search setting:
#: optimality is proved as before.
SCIP_LEAN_PARAMS: dict[str, int] = {
    "presolving/dualsparsify/maxrounds": 0,
    "separating/gomory/freq": -1,
}


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_MALLOC_TRIM = _load_malloc_trim()


def release_memory() -> None:
    """Hand freed heap memory back to the operating system (glibc ``malloc_trim``).

    The engines free their search data when a solve ends, but glibc keeps the
    pages, so the next solve (or the next LSCP component) stacks its memory on
    top of the last one's.  Trimming between solves keeps the peak at the
    largest single solve.  A no-op where glibc is absent.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def resolve_engine(engine: str) -> str:
    """The engine a single model runs on: ``"auto"`` (which placement.lscp resolves
    per component) is the default engine here; an unknown name raises."""
    if engine == "auto":
        return DEFAULT_ENGINE
    if engine not in ENGINES:
        msg = f"unknown MIP engine {engine!r}; expected 'auto' or one of {sorted(ENGINES)}"
        raise ValueError(msg)
    return engine


@dataclass
class SparseMip:
    """A mixed-integer program held as numpy blocks until it is solved.

    Variables are added in blocks with :meth:`add_variables`; constraints in
    blocks of rows with :meth:`add_rows`, each row ``lb <= a . x <= ub``.
    """

    maximize: bool = False
    offset: float = 0.0
    _lb: list[FloatArray] = field(default_factory=list)
    _ub: list[FloatArray] = field(default_factory=list)
    _int: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    _obj: list[FloatArray] = field(default_factory=list)
    _row_lb: list[FloatArray] = field(default_factory=list)
    _row_ub: list[FloatArray] = field(default_factory=list)
    _rows: list[IntArray] = field(default_factory=list)
    _cols: list[IntArray] = field(default_factory=list)
    _vals: list[FloatArray] = field(default_factory=list)
    n_vars: int = 0
    n_rows: int = 0

    def add_variables(
        self,
        n: int,
        *,
        lb: float | FloatArray = 0.0,
        ub: float | FloatArray = 1.0,
        integer: bool = False,
        objective: float | FloatArray = 0.0,
    ) -> int:
        """Add ``n`` variables; return the index of the first one."""
        start = self.n_vars
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,)).copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,)).copy())
        self._int.append(np.full(n, integer, dtype=bool))
        self._obj.append(np.broadcast_to(np.asarray(objective, dtype=np.float64), (n,)).copy())
        self.n_vars += n
        return start

    def add_rows(
        self,
        n: int,
        rows: IntArray,
        cols: IntArray,
        vals: float | FloatArray,
        *,
        lb: float | FloatArray = -math.inf,
        ub: float | FloatArray = math.inf,
    ) -> int:
        """Add ``n`` rows whose entries are ``(rows[k], cols[k], vals[k])``.

        ``rows`` are local (``0 .. n-1``); ``cols`` are variable indices.
        Duplicate entries are summed.  Returns the index of the first row.
        """
        start = self.n_rows
        rows = np.asarray(rows, dtype=np.int64)
        self._rows.append(rows + start)
        self._cols.append(np.asarray(cols, dtype=np.int64))
        self._vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), rows.shape).copy())
        self._row_lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,)).copy())
        self._row_ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,)).copy())
        self.n_rows += n
        return start

    def set_objective(self, coefficients: FloatArray, *, maximize: bool, offset: float = 0.0) -> None:
        """Replace the objective by ``coefficients . x + offset``."""
        obj = np.asarray(coefficients, dtype=np.float64)
        if obj.shape != (self.n_vars,):
            msg = f"objective has {obj.shape} coefficients, model has {self.n_vars} variables"
            raise ValueError(msg)
        self._obj = [obj.copy()]
        self.maximize = maximize
        self.offset = offset

    def objective_vector(self) -> FloatArray:
        return np.concatenate(self._obj) if self._obj else np.zeros(0)

    def arrays(self) -> tuple[sp.csr_matrix, FloatArray, FloatArray, FloatArray, FloatArray]:
        """The constraint matrix (duplicates summed), the variables' lower and upper
        bounds and the rows' lower and upper bounds."""
        mat = sp.csr_matrix(
            (np.concatenate(self._vals) if self._vals else np.zeros(0),
             (np.concatenate(self._rows) if self._rows else np.zeros(0, dtype=np.int64),
              np.concatenate(self._cols) if self._cols else np.zeros(0, dtype=np.int64))),
            shape=(self.n_rows, self.n_vars))
        mat.sum_duplicates()

        def cat(parts: list[FloatArray]) -> FloatArray:
            return np.concatenate(parts) if parts else np.zeros(0)

        return mat, cat(self._lb), cat(self._ub), cat(self._row_lb), cat(self._row_ub)

    @property
    def n_nonzeros(self) -> int:
        return int(sum(r.size for r in self._rows))

    def to_proto(self, *, relax: bool = False) -> model_pb2.ModelProto:
        """Write the model as a MathOpt ``ModelProto`` (matrix sorted, duplicates summed);
        ``relax`` drops integrality (the LP relaxation)."""
        proto = model_pb2.ModelProto(name="motcua")
        ids = np.arange(self.n_vars, dtype=np.int64)
        v = proto.variables
        v.ids.extend(ids.tolist())
        v.lower_bounds.extend(np.concatenate(self._lb).tolist() if self._lb else [])
        v.upper_bounds.extend(np.concatenate(self._ub).tolist() if self._ub else [])
        integers = np.concatenate(self._int) if self._int else np.zeros(0, dtype=bool)
        v.integers.extend((integers & (not relax)).tolist())
        obj = self.objective_vector()
        nz = np.flatnonzero(obj)
        proto.objective.maximize = self.maximize
        proto.objective.offset = self.offset
        proto.objective.linear_coefficients.ids.extend(nz.tolist())
        proto.objective.linear_coefficients.values.extend(obj[nz].tolist())
        c = proto.linear_constraints
        c.ids.extend(range(self.n_rows))
        c.lower_bounds.extend(np.concatenate(self._row_lb).tolist() if self._row_lb else [])
        c.upper_bounds.extend(np.concatenate(self._row_ub).tolist() if self._row_ub else [])
        if self._rows:
            mat = sp.csr_matrix(
                (np.concatenate(self._vals), (np.concatenate(self._rows), np.concatenate(self._cols))),
                shape=(self.n_rows, self.n_vars),
            )
            mat.sum_duplicates()
            row_ids = np.repeat(np.arange(self.n_rows, dtype=np.int64), np.diff(mat.indptr))
            m = proto.linear_constraint_matrix
            m.row_ids.extend(row_ids.tolist())
            m.column_ids.extend(mat.indices.astype(np.int64).tolist())
            m.coefficients.extend(mat.data.tolist())
        return proto


@dataclass(frozen=True)
class MipSolution:
    """What came back from one solve: a report and, if any, the variable values."""

    report: SolverReport
    values: FloatArray | None


def _solve_once(
    mip: SparseMip,
    *,
    engine: str = DEFAULT_ENGINE,
    time_limit_s: float | None = None,
    seed: int = 0,
    threads: int = 1,
    hint: FloatArray | None = None,
    proto: model_pb2.ModelProto | None = None,
    wall_limit_s: float | None = None,
    stop: threading.Event | None = None,
) -> MipSolution:
    """Solve ``mip`` with a MathOpt MIP engine and report honestly.

    Parameters
    ----------
    mip : the model.
    engine : ``"highs"`` or ``"scip"``.
    time_limit_s : wall-clock limit in seconds from the call, ``None`` for none (the
        engine is told what is left after writing the model).
    seed : random seed handed to the engine.
    threads : thread count (SCIP honours it; MathOpt's HiGHS interface rejects
        a thread setting, so HiGHS runs with its own default and the report says so).
    hint : a starting solution (values for every variable), e.g. the previous
        step of a Pareto sweep.
    proto : ``mip.to_proto()`` if already built.
    wall_limit_s : return after at most this many seconds from the call (writing
        the model included) whatever the engine does (see :func:`_run_engine`); ``None``: wait for the engine.
    stop : return as soon as this event is set, abandoning the engine's run (it
        ends in the background at its own time limit; its answer is dropped).

    Returns
    -------
    MipSolution
        ``report.status`` is ``OPTIMAL`` only when the engine proved optimality
        within :data:`ABSOLUTE_GAP`; a limit or an interruption gives ``FEASIBLE``.
    """
    engine = resolve_engine(engine)
    t0 = time.perf_counter()
    message = ""
    params = mathopt.SolveParameters(
        random_seed=int(seed),
        relative_gap_tolerance=0.0,
        absolute_gap_tolerance=ABSOLUTE_GAP,
    )
    if engine == "scip":
        params.threads = int(threads)
        params.gscip.int_params.update(SCIP_LEAN_PARAMS)
    else:
        message = "HiGHS through MathOpt takes no thread setting; its default applies"
    model_params = model_parameters_pb2.ModelSolveParametersProto()
    if hint is not None:
        h = model_params.solution_hints.add()
        # SCIP takes a hint as a partial solution and ignores it when more than 85 %
        # of the variables are missing ("unknown rate is too large"): a cover of 56 of
        # 464 sites given as its non-zeros alone was dropped, SCIP started from 69.
        # So SCIP gets every variable, zeros included; HiGHS completes a partial one.
        nz = np.arange(np.asarray(hint).size) if engine == "scip" else np.flatnonzero(hint)
        h.variable_values.ids.extend(nz.tolist())
        h.variable_values.values.extend(np.asarray(hint)[nz].tolist())
    proto = mip.to_proto() if proto is None else proto
    if time_limit_s is not None:
        # writing the model (1.1 s for 2 million non-zeros) is part of the limit
        engine_s = float(time_limit_s) - (time.perf_counter() - t0)
        params.time_limit = datetime.timedelta(seconds=max(0.001, engine_s))
    release_memory()
    # the wall limit, too, counts from the call (writing the model included)
    engine_wall = None if wall_limit_s is None else max(
        0.0, wall_limit_s - (time.perf_counter() - t0))
    result = _run_engine(proto, engine, params, model_params, engine_wall, stop)
    release_memory()
    wall = time.perf_counter() - t0
    if result is None:
        if stop is not None and stop.is_set():
            why = f"stopped on request after {wall:.1f} s; {engine}'s run is dropped"
        else:
            why = (f"{engine} had not stopped {wall_limit_s or 0.0:.1f} s after it started "
                   f"(its own limit: {time_limit_s} s); its answer is dropped")
        report = SolverReport(
            status=SolveStatus.NOT_SOLVED, objective=math.nan,
            best_bound=-math.inf if not mip.maximize else math.inf, gap=math.inf,
            wall_time_s=wall, solver=f"ortools-mathopt-{engine}", seed=int(seed),
            threads=int(threads), time_limit_s=time_limit_s, message=why,
        )
        return MipSolution(report=report, values=None)
    term = result.termination
    values: FloatArray | None = None
    objective = math.nan
    for sol in result.solutions:
        if sol.HasField("primal_solution") and sol.primal_solution.feasibility_status == 2:
            values = np.zeros(mip.n_vars)
            vv = sol.primal_solution.variable_values
            values[np.asarray(vv.ids, dtype=np.int64)] = np.asarray(vv.values)
            objective = float(sol.primal_solution.objective_value)
            break
    bound = float(term.objective_bounds.dual_bound)
    reason = term.reason
    if reason == _TR.TERMINATION_REASON_OPTIMAL:
        status = SolveStatus.OPTIMAL
    elif reason == _TR.TERMINATION_REASON_INFEASIBLE:
        status = SolveStatus.INFEASIBLE
    elif reason in (_TR.TERMINATION_REASON_UNBOUNDED, _TR.TERMINATION_REASON_INFEASIBLE_OR_UNBOUNDED):
        status = SolveStatus.UNBOUNDED
    elif values is not None:
        status = SolveStatus.FEASIBLE
    elif reason == _TR.TERMINATION_REASON_NO_SOLUTION_FOUND:
        status = SolveStatus.NOT_SOLVED
    else:
        status = SolveStatus.UNKNOWN
    if status is SolveStatus.OPTIMAL and values is None:
        status = SolveStatus.UNKNOWN
    detail = term.detail.strip()
    if status is not SolveStatus.OPTIMAL and detail:
        message = f"{detail}; {message}" if message else detail
    if not math.isfinite(bound):
        bound = math.inf if not mip.maximize else -math.inf
    report = SolverReport(
        status=status,
        objective=objective,
        best_bound=bound,
        gap=relative_gap(objective, bound) if values is not None else math.inf,
        wall_time_s=wall,
        solver=f"ortools-mathopt-{engine}",
        seed=int(seed),
        threads=int(threads),
        time_limit_s=time_limit_s,
        message=message,
    )
    logger.debug(
        "solved %d vars x %d rows (%d nz): %s", mip.n_vars, mip.n_rows, mip.n_nonzeros,
        report.summary(),
    )
    return MipSolution(report=report, values=values)


def solve_lp(mip: SparseMip, *, engine: str = DEFAULT_ENGINE,
             time_limit_s: float | None = None,
             stop: threading.Event | None = None,
             wall_limit_s: float | None = None) -> MipSolution:
    """The LP relaxation of ``mip`` (every variable continuous) by a MathOpt engine's
    simplex, reported like :func:`solve_mip` (``OPTIMAL``: the LP optimum; a ``stop``,
    or an engine still running ``wall_limit_s`` after the call began, abandons the
    engine's run and gives ``NOT_SOLVED``)."""
    t0 = time.perf_counter()
    proto = mip.to_proto(relax=True)
    built = time.perf_counter() - t0
    return _solve_once(mip, engine=engine, proto=proto, stop=stop,
                       time_limit_s=None if time_limit_s is None else time_limit_s - built,
                       wall_limit_s=None if wall_limit_s is None else wall_limit_s - built)


@dataclass(frozen=True)
class LpIterate:
    """What a first-order LP solve returned: primal and dual values (either may be
    missing) and the engine's termination, for the log.  Nothing here is trusted
    as a bound: callers turn the duals into one they can check."""

    primal: FloatArray | None
    duals: FloatArray | None
    detail: str
    wall_time_s: float


def solve_lp_first_order(mip: SparseMip, *, time_limit_s: float | None, threads: int = 1,
                         tolerance: float = 1e-5) -> LpIterate:
    """The LP relaxation of ``mip`` by PDLP (primal-dual hybrid gradient).

    PDLP keeps only the matrix and a few vectors, so its memory stays near the
    model's size (+44 MB on the 535k-non-zero 20,000 x 2,000 MCLP, against
    +130 MB for HiGHS's simplex LP and +450 MB for its branch-and-cut), and it
    reaches a relative accuracy of ``tolerance`` in ~7 s there.  Its answer is
    approximate: callers must derive any bound themselves from the duals.
    """
    t0 = time.perf_counter()
    params = mathopt.SolveParameters(threads=int(threads))
    if time_limit_s is not None:
        params.time_limit = datetime.timedelta(seconds=max(0.001, float(time_limit_s)))
    crit = params.pdlp.termination_criteria.simple_optimality_criteria
    crit.eps_optimal_relative = float(tolerance)
    crit.eps_optimal_absolute = float(tolerance)
    proto = mip.to_proto(relax=True)
    release_memory()
    raw = _core_solver.solve(
        proto,
        mathopt.SolverType.PDLP.value,
        init_arguments.StreamableSolverInitArguments().to_proto(),
        params.to_proto(),
        model_parameters_pb2.ModelSolveParametersProto(),
        None,
        mathopt.CallbackRegistration().to_proto(),
        None,
        None,
    )
    del proto
    result = raw if isinstance(raw, result_pb2.SolveResultProto) else (
        result_pb2.SolveResultProto.FromString(raw)
    )
    del raw
    release_memory()
    primal: FloatArray | None = None
    duals: FloatArray | None = None
    for sol in result.solutions:
        if primal is None and sol.HasField("primal_solution"):
            vv = sol.primal_solution.variable_values
            primal = np.zeros(mip.n_vars)
            primal[np.asarray(vv.ids, dtype=np.int64)] = np.asarray(vv.values)
        if duals is None and sol.HasField("dual_solution"):
            dv = sol.dual_solution.dual_values
            duals = np.zeros(mip.n_rows)
            duals[np.asarray(dv.ids, dtype=np.int64)] = np.asarray(dv.values)
    term = result.termination
    detail = f"{_TR.Name(term.reason)} {term.detail}".strip()
    return LpIterate(primal, duals, detail, time.perf_counter() - t0)


def _run_engine(proto: model_pb2.ModelProto, engine: str, params: mathopt.SolveParameters,
                model_params: model_parameters_pb2.ModelSolveParametersProto,
                wall_limit_s: float | None, stop: threading.Event | None = None,
                ) -> result_pb2.SolveResultProto | None:
    """One engine call; ``None`` if it has not returned within ``wall_limit_s`` or
    before ``stop`` was set.

    HiGHS checks its time limit only between simplex iterations and stages, and
    on the p-median radius models its root LP has run 4-21 s past the limit.
    With ``wall_limit_s`` the call runs in a daemon thread (the engine releases
    the GIL) and is abandoned at that wall time: the caller gets ``None`` on
    time, while the engine finishes in the background, at its own time limit,
    and its answer is dropped. ``stop`` is watched the same way (every 0.1 s), since
    the engines in this OR-Tools wheel ignore MathOpt's interrupter.
    """

    def call() -> result_pb2.SolveResultProto:
        raw = _core_solver.solve(
            proto,
            ENGINES[engine].value,
            init_arguments.StreamableSolverInitArguments().to_proto(),
            params.to_proto(),
            model_params,
            None,
            mathopt.CallbackRegistration().to_proto(),
            None,
            None,
        )
        return raw if isinstance(raw, result_pb2.SolveResultProto) else (
            result_pb2.SolveResultProto.FromString(raw))

    if wall_limit_s is None and stop is None:
        return call()
    box: list[result_pb2.SolveResultProto] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=run, name=f"motcua-{engine}", daemon=True)
    worker.start()
    end = None if wall_limit_s is None else time.perf_counter() + max(0.0, wall_limit_s)
    while worker.is_alive() and not (stop is not None and stop.is_set()):
        left = None if end is None else end - time.perf_counter()
        if left is not None and left <= 0:
            break
        worker.join(0.1 if left is None else min(0.1, left))
    if errors:
        raise errors[0]
    if box:
        return box[0]
    if stop is not None and stop.is_set():
        logger.info("%s abandoned on request", engine)
    else:
        logger.warning("%s did not return within %.1f s: abandoned", engine, wall_limit_s or 0.0)
    _ABANDONED.append(worker)
    return None


#: Engine runs abandoned while still running (they end at their own time limit).
_ABANDONED: list[threading.Thread] = []
#: How long the interpreter waits at exit for abandoned runs (their slices last at most
#: 64 s; the engines overrun their limit by seconds, not minutes).
EXIT_WAIT_S = 120.0


def _join_abandoned() -> None:
    """Wait at exit for engine runs still going in the background.

    A daemon thread stopped by the interpreter's finalisation inside the engine's C++
    code takes the engine's own threads down with it, and the process aborts
    ("terminate called without an active exception") after its work is done. Waiting
    for them (they end at their own time limit) lets the process exit cleanly.
    """
    end = time.perf_counter() + EXIT_WAIT_S
    for worker in _ABANDONED:
        worker.join(max(0.0, end - time.perf_counter()))


atexit.register(_join_abandoned)


def engines_running() -> int:
    """How many abandoned engine runs are still going in the background.

    A command-line process that has printed and saved its answer need not wait for
    them (:data:`EXIT_WAIT_S`): ``motcua``'s console script ends the process at once
    instead (``os._exit``, which also spares the engines' threads the interpreter's
    finalisation).
    """
    return sum(worker.is_alive() for worker in _ABANDONED)


#: First time slice (seconds) when a solve must be stoppable; each next one is
#: :data:`SLICE_GROWTH` times longer. Every slice restarts the engine from the best
#: solution so far, and the tree is lost: on the demo's p-median with a 97 % floor,
#: doubling from 1 s took 39.8 s against 14.5 s in one piece; growing 4x, 23.7 s
#: (``bench/bench_stop_slices.py``).
FIRST_SLICE_S = 1.0
#: Growth of the time slices.
SLICE_GROWTH = 4.0
#: Longest time slice (seconds). A stop is answered at once whatever the slice
#: (the engine's run is abandoned); this only bounds how long it runs on unseen.
MAX_SLICE_S = 64.0


def solve_mip(
    mip: SparseMip,
    *,
    engine: str = DEFAULT_ENGINE,
    time_limit_s: float | None = None,
    seed: int = 0,
    threads: int = 1,
    stop: threading.Event | None = None,
    hint: FloatArray | None = None,
    wall_limit_s: float | None = None,
    slices: bool = True,
) -> MipSolution:
    """Solve ``mip``, stoppable through ``stop`` from another thread.

    Other parameters as in :func:`_solve_once`; ``wall_limit_s`` bounds the
    whole call (every slice), ``time_limit_s`` is what the engine is told.

    Without ``stop`` this is one engine call.  With ``stop``, the engine runs in
    time slices of 1, 4, 16, 64 s, each warm-started from the best solution so far,
    so that a stop returns the best solution of the slices done; the engines in
    this OR-Tools wheel ignore MathOpt's interrupter, so a stop abandons the slice
    running (it ends in the background at its own limit).  The best solution of
    all slices and the tightest of their (each valid) bounds are reported; a
    stopped solve is ``FEASIBLE`` at best, never ``OPTIMAL``.  With ``slices=False``
    it is one engine call, abandoned on a stop (no answer): for a solve whose worth
    is its proof (each slice starts the proof again).
    """
    check_seed_threads(seed, threads)
    if stop is None or not slices:
        return _solve_once(mip, engine=engine, time_limit_s=time_limit_s, seed=seed,
                           threads=threads, hint=hint, wall_limit_s=wall_limit_s, stop=stop)
    t0 = time.perf_counter()
    wall_end = None if wall_limit_s is None else t0 + wall_limit_s
    deadline = None if time_limit_s is None else t0 + time_limit_s
    slice_s = FIRST_SLICE_S
    proto = mip.to_proto()
    best: MipSolution | None = None
    bound = -math.inf if not mip.maximize else math.inf
    stopped = stop.is_set()
    while not stopped:
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            break
        limit = slice_s if left is None else min(slice_s, left)
        if wall_end is not None and time.perf_counter() >= wall_end:
            break
        sol = _solve_once(mip, engine=engine, time_limit_s=limit, seed=seed, threads=threads,
                          hint=best.values if best is not None else hint, proto=proto,
                          wall_limit_s=None if wall_end is None
                          else max(0.0, wall_end - time.perf_counter()), stop=stop)
        if stop.is_set() and sol.values is None:  # the slice was abandoned on request
            stopped = True
            break
        b = sol.report.best_bound
        if math.isfinite(b):
            bound = min(bound, b) if mip.maximize else max(bound, b)
        better = best is None or best.values is None or (
            sol.values is not None and (
                sol.report.objective > best.report.objective if mip.maximize
                else sol.report.objective < best.report.objective))
        if better:
            best = sol
        final = sol.report.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE,
                                      SolveStatus.UNBOUNDED)
        if final:
            best = sol
            break
        slice_s = min(SLICE_GROWTH * slice_s, MAX_SLICE_S)
        stopped = stop.is_set()
    wall = time.perf_counter() - t0
    if best is None:
        report = SolverReport(SolveStatus.NOT_SOLVED, math.nan, bound, math.inf, wall,
                              f"ortools-mathopt-{engine}", int(seed), int(threads), time_limit_s,
                              "stopped before the solve started")
        return MipSolution(report=report, values=None)
    rep = best.report
    if rep.status is SolveStatus.OPTIMAL or rep.status is SolveStatus.INFEASIBLE:
        return MipSolution(report=replace(rep, wall_time_s=wall, time_limit_s=time_limit_s),
                           values=best.values)
    status = SolveStatus.FEASIBLE if best.values is not None else SolveStatus.NOT_SOLVED
    msg = "stopped on request" if stopped else "time limit"
    report = replace(
        rep, status=status, best_bound=bound, wall_time_s=wall, time_limit_s=time_limit_s,
        gap=relative_gap(rep.objective, bound) if best.values is not None else math.inf,
        message=f"{msg}; {rep.message}" if rep.message else msg,
    )
    return MipSolution(report=report, values=best.values)
