"""The engines: CP-SAT settings, the time and work budget, and the handover between engines.

Each step runs CP-SAT, then HiGHS on the same model read as a MIP, then
CP-SAT, each from the best plan so far, until one proves it
(:func:`solve_step`); HiGHS's plans are checked against the CP model exactly
(:func:`by_mip`). A :class:`Runner` holds the seed, thread count, deadline,
stop flag and the budget of CP-SAT deterministic time of one run; a
:class:`Budget` gives each solve its share of the time left by
:data:`STAGE_WEIGHTS` (time a solve leaves unused passes on).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from optimizer._cp_mip import UnsupportedConstraint, linear_form
from optimizer._mip import solve_mip
from optimizer._status import SolveStatus
from optimizer.staff_allocation.model import StaffModel
from optimizer.staff_allocation.problem import FloatArr, Solution

__all__ = [
    "CP_FIRST_MAX_S",
    "CP_FIRST_SHARE",
    "FULL_SUBSOLVERS",
    "MIP_MIN_S",
    "MIP_SHARE",
    "STAGE_WEIGHTS",
    "Budget",
    "Outcome",
    "Runner",
    "by_mip",
    "configure",
    "solve_step",
    "values",
]

logger = logging.getLogger(__name__)

_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.MODEL_INVALID: SolveStatus.MODEL_INVALID,
    cp_model.UNKNOWN: SolveStatus.UNKNOWN,
}

#: Share of a step's time CP-SAT gets first (it proves small instances fast), see :func:`solve_step`.
CP_FIRST_SHARE = 0.2
#: ... and at most this many seconds (on Hanoi-scale HiGHS proves what CP-SAT has not
#: in its first seconds faster than CP-SAT would).
CP_FIRST_MAX_S = 3.0
#: Share of a step's time left that HiGHS gets next, before CP-SAT resumes.
MIP_SHARE = 0.7
#: HiGHS's turn is skipped when it would get less than this (seconds): it rarely
#: proves anything sooner on these models, and CP-SAT keeps the time.
MIP_MIN_S = 1.5

#: Share of the time limit each solve may use (time a solve leaves unused passes on).
STAGE_WEIGHTS: dict[str, float] = {
    "before_gaps": 0.02, "before_overload": 0.03, "before_unplaced": 0.01,
    "before_counters": 0.02, "before_peak": 0.05,
    "gaps": 0.03, "overload": 0.18, "unplaced": 0.01, "counters": 0.25, "peak": 0.3,
    "moves": 0.06, "travel": 0.04,
}


#: CP-SAT full-problem workers by thread count. ``lp2`` is the single-thread worker
#: (our parameters: linearization level 2, every constraint in the LP relaxation,
#: with cuts), what proves these models: with the default portfolio the demo's
#: least-overload step had no bound (0) in 20 s. With 2 threads the second worker
#: is ``pseudo_costs``, not LNS: measured on the loaded 2-core machine, ``max_lp`` +
#: LNS (the previous setting) left the Hanoi-scale overload step at bound 0 after
#: 15 s where ``lp2`` + ``pseudo_costs`` proves it in ~6 s, and the demo was
#: ~9-13 s instead of ~11-16 s. From 3 threads on, one worker per extra thread
#: down this list, the last thread for LNS.
FULL_SUBSOLVERS = ("lp2", "pseudo_costs", "max_lp", "quick_restart", "reduced_costs",
                   "default_lp", "lb_tree_search", "core")


def configure(
    solver: cp_model.CpSolver, threads: int, seed: int, light: bool = False, lns: bool = False,
) -> None:
    """Workers, seed and the LP-heavy search these models need.

    ``light``: no probing and no symmetry detection in presolve, for the
    everyone-at-home model, whose solves are small and mostly presolve (on the
    demo its three solves took 0.43 s of CPU with them, 0.26 s without).
    """
    solver.parameters.num_workers = threads
    solver.parameters.random_seed = seed
    solver.parameters.linearization_level = 2
    if light:
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.symmetry_level = 0
    if threads >= 2:
        solver.parameters.merge_text_format(
            'subsolver_params { name: "lp2" linearization_level: 2 }')
        full = 2 if threads == 2 and not lns else min(threads - 1, len(FULL_SUBSOLVERS))
        solver.parameters.subsolvers.extend(FULL_SUBSOLVERS[:full])
        solver.parameters.num_full_subsolvers = full


def _solve_watched(
    solver: cp_model.CpSolver, m: cp_model.CpModel, stop: threading.Event | None,
) -> SolveStatus:
    """``solver.solve(m)``, stopped when ``stop`` is set from another thread."""
    done = threading.Event()
    watcher: threading.Thread | None = None
    if stop is not None:
        flag = stop

        def watch() -> None:
            while not done.is_set():
                if flag.wait(0.05):
                    solver.stop_search()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
    try:
        return _STATUS.get(solver.solve(m), SolveStatus.UNKNOWN)
    finally:
        done.set()
        if watcher is not None:
            watcher.join()


class Runner:
    """Solves models with one seed, thread count, deadline, stop flag and work budget.

    ``deterministic_s`` (when set) is a budget of CP-SAT deterministic time for
    the whole run: each solve gets a share of it as ``max_deterministic_time``
    and what a solve leaves passes on, so a run with one thread is reproducible
    whatever the machine load (the wall-clock deadline stays as a safety net).
    """

    def __init__(
        self, seed: int, threads: int, deadline: float, stop: threading.Event | None,
        deterministic_s: float | None = None,
    ) -> None:
        self.seed = seed
        self.threads = threads
        self.deadline = deadline
        self.stop = stop
        self.det_left = deterministic_s
        self.light = False  # lighter presolve (see configure)
        self.lns = False  # with 2 threads: lp2 + LNS instead of two full workers

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def portion(self, share: float) -> tuple[float, float | None]:
        """``share`` of the wall seconds and deterministic seconds still left."""
        det = None if self.det_left is None else share * self.det_left
        return share * self.remaining(), det

    def solve(
        self, m: cp_model.CpModel, names: list[str], hint: Solution | None,
        wall_s: float, det_s: float | None, hint_search: bool = True,
    ) -> tuple[SolveStatus, cp_model.CpSolver]:
        """Solve ``m`` from ``hint``; ``hint_search=False`` skips CP-SAT's hint search.

        CP-SAT loads a complete feasible hint as its first solution during presolve;
        its "hint search" (following the hint for ``hint_conflict_limit`` conflicts,
        with the LP at every node) then only repeats it, so the steps skip it
        (``hint_conflict_limit = 0``): on the demo that halves the deterministic time
        of the free model's steps (3.1 -> 1.7 s, the same optima).
        """
        if hint is not None:
            m.clear_hints()  # type: ignore[no-untyped-call]
            # straight into the proto: add_hint per variable costs ~0.3 s a run on the demo
            m.proto.solution_hint.vars.extend(range(len(names)))
            m.proto.solution_hint.values.extend([hint.get(name, 0) for name in names])
        solver = cp_model.CpSolver()
        if self.stopped():  # stop requested: start no new search
            return SolveStatus.UNKNOWN, solver
        configure(solver, self.threads, self.seed, self.light, self.lns)
        if not hint_search:
            solver.parameters.hint_conflict_limit = 0
        solver.parameters.max_time_in_seconds = max(0.01, min(wall_s, self.remaining()))
        if det_s is not None:
            solver.parameters.max_deterministic_time = max(0.01, det_s)
        status = _solve_watched(solver, m, self.stop)
        if self.det_left is not None:
            self.det_left = max(0.0, self.det_left - solver.response_proto.deterministic_time)
        return status, solver


def values(b: StaffModel, solver: cp_model.CpSolver) -> Solution:
    """The solution by variable name (variables a stage added after ``b.names`` are dropped)."""
    sol = solver.response_proto.solution
    return {name: int(sol[i]) for i, name in enumerate(b.names)}


class Budget:
    """Gives each solve its share of the time left, by the weights of the solves still to run."""

    def __init__(self, runner: Runner, weights: dict[str, float]) -> None:
        self.runner = runner
        self.left = dict(weights)

    def take(self, *stages: str) -> tuple[float, float | None]:
        """The share of the solves ``stages`` (one solve doing the work of several)."""
        total = sum(self.left.values())
        w = sum(self.left.pop(stage, 0.0) for stage in stages)
        return self.runner.portion(w / total if total > 0 else 1.0)

    def give_back(self, weights: dict[str, float]) -> None:
        """Put back the weights of solves that must run after all."""
        self.left.update(weights)


@dataclass(frozen=True)
class Outcome:
    """One step's solve by one or more engines: status, best plan, objective bound."""

    status: SolveStatus
    sol: Solution | None
    bound: int  # a valid lower bound of the objective (0 for a feasibility model)
    by: str = ""  # the engine of the plan (or of the proof of infeasibility)


def _objective(m: cp_model.CpModel, n: int) -> tuple[FloatArr, float, float]:
    """The objective of ``m`` as (coefficients over ``n`` variables, offset, scale)."""
    obj = np.zeros(n)
    o = m.proto.objective
    if not m.proto.has_objective():
        return obj, 0.0, 1.0
    np.add.at(obj, np.asarray(list(o.vars), dtype=np.int64),
              np.asarray(list(o.coeffs), dtype=np.float64))
    return obj, float(o.offset), float(o.scaling_factor) or 1.0


def by_mip(b: StaffModel, m: cp_model.CpModel, runner: Runner, start: Solution,
           wall_s: float) -> Outcome | None:
    """``m`` (a minimisation or a feasibility model) by HiGHS, from ``start``.

    ``None`` when HiGHS cannot take the model or was not run. Its answer is
    rounded and checked against the CP model in exact integers
    (:meth:`LinearForm.violations`); one that breaks a rule is dropped (its
    bound and an infeasibility proof are still the engine's, on the same model).
    """
    if runner.stopped() or wall_s <= 0.05:
        return None
    try:
        form = linear_form(m.proto)
    except UnsupportedConstraint as exc:  # not expected: the staff model is linear
        logger.debug("no MIP engine for this step: %s", exc)
        return None
    if form.names[:len(b.names)] != tuple(b.names):
        return None
    obj, offset, scale = _objective(m, len(form.names))
    hint = np.asarray([start.get(n, 0) for n in form.names], dtype=np.float64)
    # HiGHS checks its clock rarely in its root LP (it ran 15 s past a 4 s limit on the
    # synthetic demo-size instance): it is told 90 % of the time and abandoned at the end
    wall = min(wall_s, runner.remaining())
    res = solve_mip(form.mip(obj), engine="highs", time_limit_s=0.9 * wall, wall_limit_s=wall,
                    seed=runner.seed, threads=1, stop=runner.stop, hint=hint)
    rep = res.report
    if rep.status is SolveStatus.INFEASIBLE:
        return Outcome(SolveStatus.INFEASIBLE, None, 0, "HiGHS")
    bound = (int(math.ceil(scale * (rep.best_bound + offset) - 1e-6))
             if math.isfinite(rep.best_bound) else -(2**62))
    if res.values is None:
        return Outcome(SolveStatus.UNKNOWN, None, bound)
    vals = np.rint(res.values).astype(np.int64)
    bad = form.violations(vals)
    if bad:
        logger.warning("HiGHS's plan breaks the CP model (%s); not used", "; ".join(bad))
        return Outcome(SolveStatus.UNKNOWN, None, bound)
    sol = {n: int(v) for n, v in zip(form.names[:len(b.names)], vals, strict=False)}
    value = scale * (float(obj @ vals) + offset)
    proven = rep.status is SolveStatus.OPTIMAL and bound >= value - 1e-6
    return Outcome(SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE, sol,
                    int(round(value)) if proven else bound, "HiGHS")


def _by_cp(b: StaffModel, m: cp_model.CpModel, runner: Runner, start: Solution,
           wall_s: float, det_s: float | None) -> Outcome:
    """``m`` by CP-SAT from ``start`` (no hint search), with its bound."""
    has_obj = m.proto.has_objective()
    st, solver = runner.solve(m, b.names, start, wall_s, det_s, hint_search=False)
    sol = values(b, solver) if st.has_solution else None
    cp_bound = int(math.ceil(solver.best_objective_bound - 1e-6)) if (
        has_obj and st.has_solution) else -(2**62)
    if st is SolveStatus.OPTIMAL and sol is not None:
        cp_bound = int(round(solver.objective_value)) if has_obj else 0
    return Outcome(st, sol, cp_bound, "CP-SAT")


def solve_step(b: StaffModel, m: cp_model.CpModel, runner: Runner, hint: Solution,
               wall_s: float, det_s: float | None) -> Outcome:
    """Solve ``m`` (minimise its objective, or find any plan) by CP-SAT, HiGHS, CP-SAT.

    Each engine starts from the best plan so far (``hint`` at first, which
    need not be feasible for ``m``) and stops as soon as one proves the answer
    (or that there is none): CP-SAT for :data:`CP_FIRST_SHARE` of the time, at
    most :data:`CP_FIRST_MAX_S` (it proves the demo's steps in well under a
    second), HiGHS on the same model
    read as a MIP for :data:`MIP_SHARE` of the time left (its branch-and-cut
    proves steps where CP-SAT's search can stall for a minute far above its
    tight bound: the Hanoi-scale moves step, 42 proven in 3-4 s where CP-SAT
    stalled at 67-84 in some runs), CP-SAT for the rest. The bound is the best
    of theirs (each is valid for the same model). With a deterministic budget
    (``det_s``) HiGHS, which has none, is not used, so that the answer does not
    depend on the machine's load. Nor on the everyone-at-home model
    (``runner.light``): there HiGHS's least-overload rosters (26,676-27,260 min
    on Hanoi-scale) had peaks of 149-161 % that its short peak step could not
    repair, so the "before" figures looked worse than everyone at home is
    (133 % with CP-SAT's rosters).
    """
    end = time.monotonic() + wall_s
    first = 1.0 if det_s is not None or runner.light else CP_FIRST_SHARE
    best: Solution | None = None
    by = ""
    bound = -(2**62)
    has_obj = m.proto.has_objective()

    def cp_turn(start: Solution, share: float) -> Outcome:
        wall = share * max(0.0, end - time.monotonic())
        if share < 1.0:
            wall = min(wall, CP_FIRST_MAX_S)
        return _by_cp(b, m, runner, start, wall, None if det_s is None else share * det_s)

    def mip_turn(start: Solution) -> Outcome | None:
        wall = MIP_SHARE * (end - time.monotonic())
        return by_mip(b, m, runner, start, wall) if wall >= MIP_MIN_S else None

    obj = m.proto.objective
    terms = [(b.names[v], c) for v, c in zip(obj.vars, obj.coeffs, strict=True)]

    def value(sol: Solution) -> int:
        return sum(c * sol[name] for name, c in terms)

    turns: list[Callable[[Solution], Outcome | None]] = [lambda start: cp_turn(start, first)]
    if det_s is None and not runner.light:
        turns += [mip_turn, lambda start: cp_turn(start, 1.0)]
    for turn in turns:
        if best is not None and end - time.monotonic() <= 0.05:
            break
        out = turn(best if best is not None else hint)
        if out is None:
            continue
        if out.status is SolveStatus.OPTIMAL and best is not None and has_obj and (
                value(best) <= out.bound):
            # the proof shows the plan found before is optimal too: keep it (it is
            # nearer the start; on Hanoi-scale CP-SAT's least-overload plans start
            # the peak stage at 1,044-1,098 per mille, HiGHS's at 1,306-1,331)
            return Outcome(SolveStatus.OPTIMAL, best, value(best), f"{by}, proven by {out.by}")
        if out.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE):
            return out
        bound = max(bound, out.bound)
        # an engine's plan replaces the best only if it is better (HiGHS may return
        # a worse plan than the start it was given when it drops that start)
        if out.sol is not None and (best is None or value(out.sol) < value(best)):
            best, by = out.sol, out.by
        if runner.stopped():
            break
    return Outcome(SolveStatus.FEASIBLE if best is not None else SolveStatus.UNKNOWN,
                   best, bound, by)
