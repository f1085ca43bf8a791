"""Small questions about statements that many parts of the model ask."""
from __future__ import annotations

import libcst as cst


def single_assignment(node: cst.CSTNode) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    """``(target, value)`` of a line holding one plain or annotated assignment
    to one target (``x = f()``, ``x: int = f()``); None for anything else."""
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return None
    small = node.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        return small.targets[0].target, small.value
    if isinstance(small, cst.AnnAssign) and small.value is not None:
        return small.target, small.value
    return None
