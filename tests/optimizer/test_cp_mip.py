"""A CP-SAT model read as a MIP (``optimizer._cp_mip``): same optimum, exact checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from optimizer._cp_mip import UnsupportedConstraint, linear_form
from optimizer._mip import solve_mip
from optimizer._status import SolveStatus


def random_model(seed: int, n_bool: int, n_int: int, n_rows: int) -> tuple[cp_model.CpModel, list[int]]:
    """Booleans and small integers under random linear rows, at-most-one and
    exactly-one groups (with negated literals), and a random objective."""
    rng = np.random.default_rng(seed)
    m = cp_model.CpModel()
    xs: list[cp_model.IntVar] = [m.new_bool_var(f"b{i}") for i in range(n_bool)]
    xs += [m.new_int_var(int(lo), int(lo) + int(w), f"i{i}")
           for i, (lo, w) in enumerate(zip(rng.integers(-3, 3, n_int), rng.integers(0, 6, n_int), strict=True))]
    for _ in range(n_rows):
        k = int(rng.integers(1, len(xs) + 1))
        idx = rng.choice(len(xs), k, replace=False)
        coefs = rng.integers(-4, 5, k)
        expr = sum(int(c) * xs[int(i)] for c, i in zip(coefs, idx, strict=True))
        rhs = int(rng.integers(-4, 6))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            m.add(expr <= rhs)
        elif kind == 1:
            m.add(expr >= rhs)
        else:
            m.add_linear_constraint(expr, rhs - int(rng.integers(0, 3)), rhs)
    if n_bool >= 2:
        lits = [xs[i] if rng.random() < 0.7 else xs[i].Not() for i in range(min(3, n_bool))]
        m.add_at_most_one(lits)
        m.add_exactly_one([xs[0], xs[n_bool - 1].Not()] if n_bool > 1 else [xs[0]])
    if rng.random() < 0.5:
        m.add_bool_or([xs[n_bool - 1].Not(), xs[0]])
    if rng.random() < 0.3:
        m.add_bool_and([xs[n_bool // 2]])
    obj = [int(c) for c in rng.integers(-5, 6, len(xs))]
    return m, obj


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_bool=st.integers(1, 6), n_int=st.integers(0, 3),
       n_rows=st.integers(0, 5))
def test_mip_of_a_cp_model_has_the_cp_optimum(seed: int, n_bool: int, n_int: int,
                                              n_rows: int) -> None:
    m, obj = random_model(seed, n_bool, n_int, n_rows)
    form = linear_form(m.proto)
    mip = form.mip(np.asarray(obj, dtype=np.float64))
    cp = m.clone()
    cp.minimize(sum(c * cp.get_int_var_from_proto_index(i) for i, c in enumerate(obj)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    cp_status = solver.solve(cp)
    res = solve_mip(mip, engine="highs", time_limit_s=30)
    if cp_status == cp_model.INFEASIBLE:
        assert res.report.status is SolveStatus.INFEASIBLE
        return
    assert cp_status == cp_model.OPTIMAL
    assert res.report.status is SolveStatus.OPTIMAL
    assert res.report.objective == pytest.approx(solver.objective_value, abs=1e-6)
    cp_values = np.asarray([solver.value(cp.get_int_var_from_proto_index(i))
                            for i in range(len(form.names))], dtype=np.int64)
    assert form.violations(cp_values) == []
    assert res.values is not None
    assert form.violations(np.rint(res.values).astype(np.int64)) == []


def test_violations_name_the_broken_rule_and_bound() -> None:
    m = cp_model.CpModel()
    x, w, y = m.new_bool_var("x"), m.new_bool_var("w"), m.new_int_var(0, 5, "y")
    m.add(x + y <= 3)
    m.add_at_most_one([x, w.Not()])  # read as x + (1 - w) <= 1, i.e. x - w <= 0
    form = linear_form(m.proto)
    assert form.violations(np.array([1, 1, 2])) == []
    assert form.violations(np.array([1, 1, 3])) == [
        "constraint 0: 4 outside [-4611686018427387904, 3]"]
    assert form.violations(np.array([1, 0, 0])) == [
        "constraint 1: 1 outside [-4611686018427387904, 0]"]
    assert form.violations(np.array([0, 0, 6]))[0] == "variable y = 6 outside [0, 5]"


def test_enforced_and_holed_constraints_are_refused_by_name() -> None:
    m = cp_model.CpModel()
    x, y = m.new_bool_var("x"), m.new_int_var(0, 5, "y")
    m.add(y >= 2).only_enforce_if(x)
    with pytest.raises(UnsupportedConstraint, match="enforced by a literal"):
        linear_form(m.proto)
    m2 = cp_model.CpModel()
    z = m2.new_int_var_from_domain(cp_model.Domain.from_values([0, 2, 4]), "z")
    with pytest.raises(UnsupportedConstraint, match="z has a domain with holes"):
        linear_form(m2.proto)
    m3 = cp_model.CpModel()
    a, c = m3.new_int_var(0, 3, "a"), m3.new_int_var(0, 3, "c")
    m3.add_multiplication_equality(c, [a, a])
    with pytest.raises(UnsupportedConstraint, match="not linear"):
        linear_form(m3.proto)
    del z
