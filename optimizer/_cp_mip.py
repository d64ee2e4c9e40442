"""A CP-SAT model read as a mixed-integer program, and its solutions checked exactly.

The staffing model (:mod:`optimizer.staff_allocation`) is written for CP-SAT but
is linear throughout: integer variables, linear constraints and at-most-one
groups.  Some of its steps suit a MIP engine's branch-and-cut better than
CP-SAT's search (on the Hanoi-scale instance HiGHS proves the fewest moves in
about 4 s where CP-SAT can stall above the bound for a minute), so this module
reads a ``CpModelProto`` as a sparse matrix with the same variables in the same
order (:func:`linear_form`), gives it to a MIP engine (:meth:`LinearForm.mip`),
and checks the engine's rounded answer against the CP model in exact integer
arithmetic (:meth:`LinearForm.violations`) before anyone trusts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer._mip import SparseMip

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: CP-SAT's "no bound": domain ends at or beyond this size are open.
NO_BOUND = 2**62


class UnsupportedConstraint(ValueError):
    """The CP model holds something that is not a linear constraint on integers."""


@dataclass(frozen=True)
class LinearForm:
    """``row_lb <= A x <= row_ub``, ``lb <= x <= ub``, ``x`` integer; all in int64.

    Open ends are ``-NO_BOUND`` / ``NO_BOUND``.  Variable ``i`` is variable ``i``
    of the CP model it was read from, with its name (CP-SAT leaves the
    constants it creates unnamed).
    """

    a: sp.csr_matrix
    row_lb: IntArray
    row_ub: IntArray
    lb: IntArray
    ub: IntArray
    names: tuple[str, ...]

    def mip(self, objective: FloatArray) -> SparseMip:
        """The MIP ``min objective . x`` over this form (open ends become infinite)."""

        def real(v: IntArray) -> FloatArray:
            out = v.astype(np.float64)
            out[v <= -NO_BOUND] = -np.inf
            out[v >= NO_BOUND] = np.inf
            return out

        mip = SparseMip()
        mip.add_variables(len(self.lb), lb=real(self.lb), ub=real(self.ub), integer=True)
        coo = self.a.tocoo()
        mip.add_rows(self.a.shape[0], coo.row.astype(np.int64), coo.col.astype(np.int64),
                     coo.data.astype(np.float64), lb=real(self.row_lb), ub=real(self.row_ub))
        mip.set_objective(np.asarray(objective, dtype=np.float64), maximize=False)
        return mip

    def violations(self, values: IntArray, limit: int = 5) -> list[str]:
        """Up to ``limit`` rules ``values`` breaks (empty: it is a solution of the CP model)."""
        x = np.asarray(values, dtype=np.int64)
        bad = [f"variable {self.names[i] or i} = {x[i]} outside [{self.lb[i]}, {self.ub[i]}]"
               for i in np.flatnonzero((x < self.lb) | (x > self.ub))[:limit]]
        act = self.a @ x  # int64 matrix times int64 vector: exact
        rows = np.flatnonzero((act < self.row_lb) | (act > self.row_ub))
        bad += [f"constraint {r}: {act[r]} outside [{self.row_lb[r]}, {self.row_ub[r]}]"
                for r in rows[:limit]]
        return bad[:limit]


def _literal_terms(literals: list[int]) -> tuple[list[int], list[int], int]:
    """Variables, coefficients and constant of ``sum(literals)`` (``~v`` is ``1 - v``)."""
    cols, vals, const = [], [], 0
    for lit in literals:
        if lit >= 0:
            cols.append(lit)
            vals.append(1)
        else:
            cols.append(-lit - 1)
            vals.append(-1)
            const += 1
    return cols, vals, const


def linear_form(proto: object) -> LinearForm:
    """Read a CP-SAT model (``CpModel.proto``) as a :class:`LinearForm`.

    Supports integer variables with an interval domain, and linear, at-most-one,
    exactly-one, bool-or and bool-and constraints that no literal enforces (the
    CP-SAT API writes some one-literal linear rules as the last two); the
    objective is not read.

    Raises
    ------
    UnsupportedConstraint
        For any other domain or constraint, naming it.
    """
    variables = proto.variables  # type: ignore[attr-defined]
    n = len(variables)
    lb = np.empty(n, dtype=np.int64)
    ub = np.empty(n, dtype=np.int64)
    names = []
    for i, v in enumerate(variables):
        dom = list(v.domain)
        if len(dom) != 2:
            msg = f"variable {v.name or i} has a domain with holes: {dom}"
            raise UnsupportedConstraint(msg)
        lb[i], ub[i] = max(dom[0], -NO_BOUND), min(dom[1], NO_BOUND)
        names.append(v.name)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[int] = []
    row_lb: list[int] = []
    row_ub: list[int] = []
    for k, c in enumerate(proto.constraints):  # type: ignore[attr-defined]
        if len(c.enforcement_literal):
            msg = f"constraint {c.name or k} is enforced by a literal"
            raise UnsupportedConstraint(msg)
        if c.has_linear():
            dom = list(c.linear.domain)
            if len(dom) != 2:
                msg = f"constraint {c.name or k} has a domain with holes: {dom}"
                raise UnsupportedConstraint(msg)
            cs, vs = list(c.linear.vars), list(c.linear.coeffs)
            lo, hi = max(dom[0], -NO_BOUND), min(dom[1], NO_BOUND)
        elif c.has_at_most_one() or c.has_exactly_one():
            group = c.at_most_one if c.has_at_most_one() else c.exactly_one
            cs, vs, const = _literal_terms(list(group.literals))
            hi = 1 - const
            lo = hi if c.has_exactly_one() else -NO_BOUND
        elif c.has_bool_or():  # at least one literal true
            cs, vs, const = _literal_terms(list(c.bool_or.literals))
            lo, hi = 1 - const, NO_BOUND
        elif c.has_bool_and():  # every literal true: one row each
            for lit in c.bool_and.literals:
                cs, vs, const = _literal_terms([lit])
                rows.append(len(row_lb))
                cols.extend(cs)
                vals.extend(vs)
                row_lb.append(1 - const)
                row_ub.append(1 - const)
            continue
        else:
            msg = f"constraint {c.name or k} is not linear: {str(c).splitlines()[0]}"
            raise UnsupportedConstraint(msg)
        rows.extend([len(row_lb)] * len(cs))
        cols.extend(cs)
        vals.extend(vs)
        row_lb.append(lo)
        row_ub.append(hi)
    a = sp.csr_matrix((np.asarray(vals, dtype=np.int64), (np.asarray(rows, dtype=np.int64),
                       np.asarray(cols, dtype=np.int64))), shape=(len(row_lb), n))
    a.sum_duplicates()
    return LinearForm(a, np.asarray(row_lb, dtype=np.int64), np.asarray(row_ub, dtype=np.int64),
                      lb, ub, tuple(names))
