"""Which equality branches a statement runs under, so that a write in one arm of an
``if`` on a subject and I/O in an arm on another value of the same subject are seen
as mutually exclusive (SL103: the I/O does not run "after the write").
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.walk import dotted
from scalelint.model.dbops import short_literal

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt


def equality_branches(fn: "FunctionModel", stmt: "Stmt") -> list[list[str]]:
    """``[subject, literal]`` for each enclosing ``if <subject> == "<literal>":`` (or
    ``elif``) whose body holds the statement, when the function never rebinds the
    subject's root name."""
    chain = [node for _, node in stmt.context] + [stmt.node]
    out: list[list[str]] = []
    for i, (kind, node) in enumerate(stmt.context):
        if kind != "if" or not isinstance(node, cst.If) or not _holds(node.body, chain[i + 1]):
            continue
        found = _equality(node.test)
        if found is not None and found[0].split(".")[0] not in _rebound(fn):
            out.append(list(found))
    return out


def exclusive(first: list[list[str]], second: list[list[str]]) -> bool:
    """The two statements run under different literals of one subject: never both."""
    return any(a == c and b != d for a, b in first for c, d in second)


def _holds(body: cst.BaseSuite, child: cst.CSTNode) -> bool:
    return any(statement is child for statement in getattr(body, "body", ()))


def _equality(test: cst.BaseExpression) -> tuple[str, str] | None:
    """``object.KIND == "charge"`` -> ("object.KIND", "charge")."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return None
    for subject, value in ((test.left, target.comparator), (target.comparator, test.left)):
        literal = short_literal(value)
        spelled = dotted(subject) if isinstance(subject, (cst.Name, cst.Attribute)) else None
        if literal is not None and spelled is not None:
            return spelled, literal
    return None


def _rebound(fn: "FunctionModel") -> frozenset[str]:
    """Names the function assigns (its parameters excepted)."""
    return fn.derived("rebound_names", lambda: frozenset(
        name.value for stmt in fn.stmts if isinstance(stmt.node, cst.SimpleStatementLine) for small in stmt.node.body
        if isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign))
        for name in _targets(small)
    ))


def _targets(small: cst.BaseSmallStatement) -> list[cst.Name]:
    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]  # type: ignore[attr-defined]
    return [t for t in targets if isinstance(t, cst.Name)]
