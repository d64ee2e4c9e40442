"""The lexicographic stages: one quantity minimised, then fixed, step by step.

Objective, lexicographic, as true steps (minimise one quantity, then fix it
with ``<=`` for every later step; the previous solution as a complete hint):

1. ``sum g`` (skill gaps), then ``sum o + sum u`` (overload), then ``sum u``
   (unplaced pooled minutes), then ``sum c`` (counter gaps)
   (:func:`shortfall_stage`);
2. the peak utilisation ``U`` (per mille, :mod:`.peak`), linear for a fixed
   ``U``, so ``U`` is found by probes (galloping down from the best level,
   then bisection); optimal when ``U* - 1`` is proven infeasible; after a
   feasible first probe the gallop starts at 1/8 of the gap to the bound
   (:func:`peak_stage`);
3. moves (person-days away from home), then travel (one-way minutes from
   home) (:func:`moves_stage`).

Solves are fewer than steps where that is exact: a step whose start already
sits at its variable's lower bound is proven without a solve
(:func:`minimize`); skill gaps and overload are one solve (least overload
with gaps at their floor) when that floor is reachable, else two
(:func:`minimize_at_floor`); moves then travel are one solve of ``M * moves +
travel`` with ``M`` above any travel total (:func:`minimize_moves_travel`).
Every solve is a :class:`Step`; a reported :class:`StageResult` is made of
steps (:func:`stage_result`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from optimizer._status import SolveStatus
from optimizer.staff_allocation.engine import Budget, Outcome, Runner, solve_step, values
from optimizer.staff_allocation.model import StaffModel, roster_array, var
from optimizer.staff_allocation.peak import add_peak, peak_lower_bound, peak_of, peak_week_bound
from optimizer.staff_allocation.problem import IntArr, Solution, StaffProblem, StageResult
from optimizer.staff_allocation.repair import balance_days, rebalance, reroute, unmove

__all__ = [
    "BOUND_PROBE_SHARE",
    "GALLOP_FRACTION",
    "NEAR_BOUND",
    "Step",
    "complete",
    "lexicographic",
    "minimize",
    "minimize_at_floor",
    "minimize_moves_travel",
    "moves_stage",
    "peak_stage",
    "shortfall_stage",
    "stage_result",
    "start_from_plan",
]

#: After a feasible first probe, the peak search gallops down in steps starting at
#: this fraction of the gap between the best level and the bound (1 / GALLOP_FRACTION).
GALLOP_FRACTION = 8
#: The peak stage probes its bound first when the start is within 1/NEAR_BOUND of it
#: (10 %), with BOUND_PROBE_SHARE of the stage's time.
NEAR_BOUND = 10
BOUND_PROBE_SHARE = 0.5


@dataclass(frozen=True)
class Step:
    """One solve of a stage: the value reached, its proven bound and status."""

    name: str
    status: SolveStatus
    value: int
    bound: int
    wall_s: float = 0.0
    by: str = ""  # the engine whose plan it is (and whose proof, when proven)

    def text(self) -> str:
        proven = "proven" if self.status is SolveStatus.OPTIMAL else f"bound {self.bound}"
        by = f", {self.by}" if self.by else ""
        return f"{self.name} {self.value} ({proven}, {self.wall_s:.1f} s{by})"


def minimize(
    b: StaffModel, base: cp_model.CpModel, runner: Runner, target: cp_model.IntVar,
    sol: Solution, limits: tuple[float, float | None], name: str, known_lb: int = 0,
) -> tuple[Solution, Step]:
    """Minimise ``target`` from the feasible ``sol``, then fix it (``base`` gains ``target <= value``).

    When ``sol`` already reaches the lower end of ``target``'s domain (e.g. no
    unplaced minutes, or only the skill gaps no one can reach), or ``known_lb``
    (a bound proven before), that is proven optimal without a solve.
    """
    t0 = time.monotonic()
    lo = max(int(var(base, target).proto.domain[0]), known_lb)
    if sol[target.name] <= lo:
        step = Step(name, SolveStatus.OPTIMAL, sol[target.name], sol[target.name],
                    time.monotonic() - t0)
        base.add(var(base, target) <= step.value)
        return sol, step
    m = base.clone()
    m.minimize(var(m, target))
    out = solve_step(b, m, runner, sol, *limits)
    st = out.status
    if out.sol is not None:
        new = out.sol
        value = new[target.name]
        step = Step(name, st, value, max(min(out.bound, value), lo), time.monotonic() - t0,
                    out.by)
    elif st is SolveStatus.INFEASIBLE:  # cannot happen: sol is feasible
        msg = f"staff model stage on {target.name} infeasible from a feasible start"
        raise RuntimeError(msg)
    else:
        new = sol
        step = Step(name, SolveStatus.FEASIBLE, sol[target.name], lo, time.monotonic() - t0)
    base.add(var(base, target) <= step.value)
    return new, step


def minimize_at_floor(
    b: StaffModel, base: cp_model.CpModel, runner: Runner, budget: Budget,
    first: cp_model.IntVar, second: cp_model.IntVar, sol: Solution,
    stages: tuple[str, str], names: tuple[str, str],
) -> tuple[Solution, Step, Step]:
    """Two lexicographic steps in one solve when the first one's floor is reachable.

    The floor of ``first`` is the lower end of its domain (for skill gaps: the
    gaps no one qualified can reach). When ``sol`` is above it, one solve
    minimises ``second`` with ``first <= floor``: if it finds a plan, the first
    step is proven (its value is its floor) and the second is solved as its own
    step would be; the plan found is the one the two steps would give. If that
    is infeasible, ``first > floor`` is proven and the two steps run one by one
    (as they do when the solve runs out of time). On the demo this saves a
    solve and its presolve (skill gaps 1 -> 0, then overload).
    """
    t0 = time.monotonic()
    floor = int(var(base, first).proto.domain[0])
    if sol[first.name] <= floor:
        sol, s1 = minimize(b, base, runner, first, sol, budget.take(stages[0]), names[0])
        sol, s2 = minimize(b, base, runner, second, sol, budget.take(stages[1]), names[1])
        return sol, s1, s2
    weights = {k: budget.left[k] for k in stages if k in budget.left}
    m = base.clone()
    m.add(var(m, first) <= floor)
    m.minimize(var(m, second))
    # the start breaks ``first <= floor``: it is a hint, no first solution, no hint search
    out = solve_step(b, m, runner, sol, *budget.take(*stages))
    st = out.status
    if out.sol is not None:
        new = out.sol
        value = new[second.name]
        wall = time.monotonic() - t0
        s1 = Step(names[0], SolveStatus.OPTIMAL, floor, floor, 0.0)
        s2 = Step(names[1], st, value, min(out.bound, value), wall, out.by)
        base.add(var(base, first) <= floor)
        base.add(var(base, second) <= value)
        return new, s1, s2
    known = floor + 1 if st is SolveStatus.INFEASIBLE else 0
    budget.give_back(weights)
    sol, s1 = minimize(b, base, runner, first, sol, budget.take(stages[0]), names[0], known)
    sol, s2 = minimize(b, base, runner, second, sol, budget.take(stages[1]), names[1])
    return sol, replace(s1, wall_s=time.monotonic() - t0 - s2.wall_s), s2


def minimize_moves_travel(
    b: StaffModel, base: cp_model.CpModel, runner: Runner, sol: Solution,
    limits: tuple[float, float | None],
) -> tuple[Solution, Step, Step]:
    """Fewest moves, then least travel, in one exact solve: ``min M * moves + travel``.

    ``M`` is one more than the largest travel total the model allows, so one move
    outweighs any travel: the optimum is the lexicographic one (the moves step,
    then the travel step with moves fixed), with small coefficients (``M`` is
    tens of thousands, not the ``1e10`` of weighted keys). From a bound ``B`` of
    the weighted objective, ``moves >= floor(B / M)`` (as ``travel < M``); travel
    has a bound only when the moves are proven, ``B - M * moves``. On the demo
    one solve instead of two (same 28 moves, 230 min).

    Solved by CP-SAT, then HiGHS, then CP-SAT (:func:`.engine.solve_step`): on
    Hanoi-scale HiGHS proves 42 moves in 3-4 s, where CP-SAT alone stalled at
    67-84 against a bound of 42 in some runs.
    """
    t0 = time.monotonic()
    dom = var(base, b.travel).proto.domain  # (a proto list: no negative indexing)
    weight = int(dom[len(dom) - 1]) + 1
    lo_mv = int(var(base, b.moves).proto.domain[0])
    m = base.clone()
    m.minimize(weight * var(m, b.moves) + var(m, b.travel))
    runner.lns = True
    try:
        out = solve_step(b, m, runner, sol, *limits)
    finally:
        runner.lns = False
    if out.status is SolveStatus.INFEASIBLE:  # cannot happen: sol is feasible
        msg = "staff model moves step infeasible from a feasible start"
        raise RuntimeError(msg)
    new = out.sol if out.sol is not None else sol
    proven = out.status is SolveStatus.OPTIMAL
    bound = max(out.bound, weight * lo_mv)
    mv, tr = new[b.moves.name], new[b.travel.name]
    if proven:
        bound = weight * mv + tr
    st = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    mv_lb = min(mv, max(lo_mv, bound // weight))
    tr_lb = min(tr, max(0, bound - weight * mv)) if mv_lb >= mv else 0
    wall = time.monotonic() - t0
    s_mv = Step("moves", st if mv_lb < mv else SolveStatus.OPTIMAL, mv, mv_lb, wall, out.by)
    s_tr = Step("travel_min", st if tr_lb < tr else SolveStatus.OPTIMAL, tr, tr_lb, 0.0)
    base.add(var(base, b.moves) <= mv)
    base.add(var(base, b.travel) <= tr)
    return new, s_mv, s_tr


def stage_result(name: str, steps: list[Step], main: Step, t0: float, probes: int) -> StageResult:
    """A reported stage made of one or more solves.

    Its objective and bound are those of ``main`` when every step is proven,
    otherwise those of the first unproven step, so that a stage is OPTIMAL
    exactly when its bound equals its objective.
    """
    steps = [replace(s, status=SolveStatus.OPTIMAL) if s.bound >= s.value else s for s in steps]
    open_steps = [s for s in steps if s.status is not SolveStatus.OPTIMAL]
    if open_steps:
        main = open_steps[0]
    proven = not open_steps
    return StageResult(
        name, SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE, float(main.value),
        float(main.bound), time.monotonic() - t0, probes,
        detail="; ".join(s.text() for s in steps))


def shortfall_stage(
    b: StaffModel, base: cp_model.CpModel, runner: Runner, budget: Budget, start: Solution,
    prefix: str,
) -> tuple[Solution, StageResult, int]:
    """Stage 1: fewest skill gaps, then least overload, unplaced minutes, counter gaps.

    Returns the plan, the stage and the unplaced pooled minutes fixed.
    """
    t0 = time.monotonic()
    sol, s_gap, s_over = minimize_at_floor(
        b, base, runner, budget, b.gaps, b.over, start,
        (prefix + "gaps", prefix + "overload"), ("skill_gaps", "overload_min"))
    # pooled minutes left unplaced count as overload; keep them as few as possible too,
    # so that no later step can park site load there
    sol, s_unp = minimize(b, base, runner, b.unplaced_total, sol,
                          budget.take(prefix + "unplaced"), "unplaced_min")
    sol, s_cnt = minimize(b, base, runner, b.counter_gaps, sol,
                          budget.take(prefix + "counters"), "counter_gaps")
    stage = stage_result("shortfall_overload", [s_gap, s_over, s_unp, s_cnt], s_over, t0, 4)
    return sol, stage, s_unp.value


class _PeakSearch:
    """The probes of the peak stage: is there a plan at a level? Gallop, then bisect.

    Each probe is a feasibility solve from the best plan so far (:func:`.peak.add_peak`
    is linear for a fixed level); a plan found, re-routed to its least peak, becomes
    the best (``hi``); an infeasible level raises the bound (``lb``).
    """

    def __init__(
        self, b: StaffModel, base: cp_model.CpModel, runner: Runner, sol: Solution,
        lb: int, limits: tuple[float, float | None],
    ) -> None:
        self.b, self.base, self.runner, self.sol = b, base, runner, sol
        self.hi = peak_of(b, sol)
        self.lo = self.lb = lb
        self.wall, self.det = limits
        self.stage_end = time.monotonic() + self.wall
        self.probes = 0
        self.trace: list[str] = []  # level probed: peak of the plan found, or why none
        self.unresolved = False
        self.retry = False

    def probe(self, level: int, wall_s: float, det_share: float) -> Outcome:
        """Is there a plan at ``level``? A plan found becomes ``sol`` (and ``hi``)."""
        m2 = self.base.clone()
        add_peak(m2, self.b, level)
        det_before = self.runner.det_left
        out = solve_step(self.b, m2, self.runner, self.sol, wall_s,
                         None if self.det is None else det_share * self.det)
        if self.det is not None and det_before is not None and self.runner.det_left is not None:
            self.det -= det_before - self.runner.det_left
        self.probes += 1
        if out.sol is not None:
            # the probe's plan only meets the level: the routing of least peak for
            # its roster often lowers it further (a fraction of a second)
            self.sol = reroute(self.b, self.base, self.runner, out.sol)
            self.hi = peak_of(self.b, self.sol)
        return out

    def probe_bound(self) -> None:
        """Probe the bound itself first when the start is within 1/NEAR_BOUND of it.

        It is often the optimum (on Hanoi-scale the bound over sets of sites and
        days, 1,012, is the optimum), and a feasible plan there ends the stage at
        once where galloping down would cost a probe per level.
        """
        lb, hi = self.lb, self.hi
        if not (lb < hi and (hi - lb) * NEAR_BOUND <= hi):
            return
        out = self.probe(lb, BOUND_PROBE_SHARE * self.wall, BOUND_PROBE_SHARE)
        if out.sol is not None:
            self.trace.append(f"{lb}:{self.hi} ({out.by})")
        elif out.status is SolveStatus.INFEASIBLE:
            self.lo = self.lb = lb + 1
            self.trace.append(f"{lb}:infeasible ({out.by})")
        else:
            self.trace.append(f"{lb}:unknown")

    def search(self) -> None:
        """Gallop down from the best level (1, 2, 4... per mille below it), then bisect.

        Galloping runs until a level is infeasible: the optimum is often just
        below the start, and probes near a feasible plan are fast. The time left
        is spread over the probes still needed; after a probe ran out of time,
        probe nearer the best level found (more likely feasible).
        """
        lo_start, step = self.lb, 1
        while self.lb < self.hi:
            left = self.stage_end - time.monotonic()
            if left <= 0.01 or self.runner.stopped() or (self.det is not None and self.det <= 0.005):
                break
            if self.lo >= self.hi:
                # every level between the bound and the best ran out of time: the stage's
                # time left goes to the level just below the best (most likely feasible;
                # if infeasible, the best is proven)
                self.retry, self.lo = True, self.lb
            hi, lo = self.hi, self.lo
            need = max(1, math.ceil(math.log2(hi - lo + 1)))
            if self.retry:
                mid, need = hi - 1, 1
            elif self.unresolved:
                mid = hi - max(1, (hi - lo) // 4)
            elif self.lb == lo_start:
                mid = max(lo, hi - step)
                step *= 2
                need = min(need, 3)
            else:
                mid = (lo + hi) // 2
            out = self.probe(mid, left / need, 1 / need)
            if out.sol is not None:
                if self.probes == 1 or (self.probes == 2 and self.trace[0].endswith("unknown")):
                    # the level just below the start was feasible: the optimum is not at
                    # the start, gallop in steps scaled to the gap (the demo stops at
                    # its first, infeasible probe and never gets here)
                    step = max(step, (self.hi - self.lb) // GALLOP_FRACTION)
                self.trace.append(f"{mid}:{self.hi} ({out.by})")
            elif out.status is SolveStatus.INFEASIBLE:
                self.lo = self.lb = mid + 1
                self.trace.append(f"{mid}:infeasible ({out.by})")
            else:  # not decided in its time: the bound stays, try the levels above
                self.unresolved = True
                self.lo = mid + 1
                self.trace.append(f"{mid}:unknown")


def peak_stage(
    b: StaffModel, base: cp_model.CpModel, runner: Runner, budget: Budget, sol: Solution,
    prefix: str, unplaced_max: int, pb: StaffProblem | None,
) -> tuple[Solution, StageResult, int]:
    """Stage 2: the lowest peak utilisation, by probes on a fixed level.

    The start is re-routed to its least peak and, with ``pb`` (the free
    model), improved by the balancing repairs (:func:`.repair.rebalance`). The
    optimum is proven when level ``U* - 1`` is proven infeasible. ``base``
    gains ``peak <= U``. Returns the plan, the stage and the peak level fixed.
    """
    t0 = time.monotonic()
    sol = reroute(b, base, runner, sol)
    start_peak = peak_of(b, sol)
    if pb is not None:
        # balancing repairs, each re-routed exactly: a far start costs many probes
        sol = rebalance(b, pb, base, runner, sol)
    hi = balanced_peak = peak_of(b, sol)
    lb0 = min(hi, max(peak_lower_bound(b), peak_week_bound(b, hi, unplaced_max, b.pool_site)))
    search = _PeakSearch(b, base, runner, sol, lb0, budget.take(prefix + "peak"))
    search.probe_bound()
    search.search()
    hi, lb = search.hi, search.lb
    s_peak = Step("peak_per_mille", SolveStatus.OPTIMAL if lb >= hi else SolveStatus.FEASIBLE,
                  hi, min(lb, hi), time.monotonic() - t0)
    stage = stage_result("peak_utilisation", [s_peak], s_peak, t0, search.probes)
    stage = replace(stage, detail=stage.detail + (
        f"; start {start_peak}, balanced {balanced_peak}, bound {lb0}; probes "
        + (" ".join(search.trace) or "none")))
    add_peak(base, b, hi)
    return search.sol, stage, hi


def moves_stage(
    b: StaffModel, base: cp_model.CpModel, runner: Runner, budget: Budget, sol: Solution,
    prefix: str, level: int, pb: StaffProblem | None,
) -> tuple[Solution, StageResult]:
    """Stage 3: fewest moves, then least travel, at the peak ``level`` fixed before.

    With ``pb``, a start with fewer moves first: people sent back home where
    the peak level, the routing and the fixed sums allow (pooled work as a
    fluid, then with the routing fixed), each re-routed exactly and used only
    when it has fewer moves (cheap; the solve then has less to undo).
    """
    t0 = time.monotonic()
    if pb is not None:
        unmoves: list[Callable[[Solution], IntArr]] = [
            lambda x: balance_days(b, pb, x, max_iter=0, unmove_level=level),
            lambda x: unmove(b, pb, x, level),
        ]
        for undo in unmoves:
            plan = undo(sol)
            if (plan != roster_array(b, pb, sol)).any():
                new = reroute(b, base, runner, sol, plan, strict=False)
                if new[b.moves.name] < sol[b.moves.name]:
                    sol = new
    sol, s_mv, s_tr = minimize_moves_travel(b, base, runner, sol,
                                            budget.take(prefix + "moves", prefix + "travel"))
    return sol, stage_result("moves_travel", [s_mv, s_tr], s_mv, t0, 1)


def lexicographic(
    b: StaffModel, runner: Runner, budget: Budget, start: Solution, prefix: str,
    guard_peak: int | None, with_moves: bool, pb: StaffProblem | None = None,
) -> tuple[Solution, tuple[StageResult, ...]]:
    """Run the stages from the feasible, complete solution ``start``; return the last solution.

    Each step is a true lexicographic step: minimise one quantity, then fix it
    (``<=`` its value) for every step after it; each solve starts from the
    previous solution as a complete hint. ``guard_peak``: every step also keeps
    the peak at that level or below. ``pb``: the problem, for the repairs
    (none on the everyone-at-home model).
    """
    base = b.model.clone()
    if guard_peak is not None:
        add_peak(base, b, guard_peak)
    sol, s1, unplaced = shortfall_stage(b, base, runner, budget, start, prefix)
    sol, s2, level = peak_stage(b, base, runner, budget, sol, prefix, unplaced, pb)
    if not with_moves:
        return sol, (s1, s2)
    sol, s3 = moves_stage(b, base, runner, budget, sol, prefix, level, pb)
    return sol, (s1, s2, s3)


def _fixed_roster(b: StaffModel, plan: IntArr) -> cp_model.CpModel:
    m = b.model.clone()
    for (p, s, d), v in b.x.items():
        m.add(var(m, v) == int(plan[p, d] == s))
    return m


def start_from_plan(b: StaffModel, plan: IntArr, runner: Runner) -> Solution:
    """A complete feasible solution of ``b`` for the roster ``plan`` (pooled work routed well).

    With the roster fixed only the routing of pooled work is free; it is chosen
    to minimise overload, so the start is a fair everyone-at-home plan and a
    complete hint (every variable has a value) for the first stage.
    """
    m = _fixed_roster(b, plan)
    m.minimize(var(m, b.over))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = runner.seed
    solver.parameters.max_time_in_seconds = max(1.0, runner.remaining())
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        msg = f"the everyone-at-home plan is not a valid roster ({solver.status_name(status)})"
        raise ValueError(msg)
    return values(b, solver)


def complete(b: StaffModel, partial: Solution, runner: Runner, plan: IntArr) -> Solution:
    """A complete solution of ``b`` with the roster ``plan`` and the routing of ``partial``."""
    m = _fixed_roster(b, plan)
    for v in b.y.values():
        m.add(var(m, v) == partial.get(v.name, 0))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = runner.seed
    solver.parameters.max_time_in_seconds = max(1.0, runner.remaining())
    m.minimize(var(m, b.gaps) + var(m, b.counter_gaps))
    if solver.solve(m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        msg = "the home-only plan is not a valid plan of the free model"
        raise RuntimeError(msg)
    return values(b, solver)
