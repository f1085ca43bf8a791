"""Writes a function makes through an ORM session it did not open (SL103).

A session that has added, deleted or flushed objects, or executed an
INSERT / UPDATE / DELETE, holds the rows it wrote (and their locks) in its
transaction until it commits or rolls back. ``session_write`` says whether
one call is such a write; the call graph (``summaries``) propagates "writes
through a session" to the project functions that call the writers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.core.walk import dotted
from scalelint.model import catalog, dbops
from scalelint.model.connections.requesttx import request_session
from scalelint.model.connections.work import work_of

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel

#: session methods that write: the instance given (``add``, ``delete``...) or the pending changes (``flush``)
WRITE_METHODS = frozenset({*catalog.SA_INSTANCE_WRITES, "flush"})


def session_write(fn: "FunctionModel", call: cst.Call) -> str | None:
    """``"session.add()"`` when the call writes through a session the function
    uses but did not open (a parameter, ``self.session``, ``db.session``, Pyramid's
    ``request.dbsession``); None otherwise."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return None
    method = func.attr.value
    receiver = func.value
    spelled = dotted(receiver)
    if spelled is None or not _borrowed_session(fn, receiver, spelled):
        return None
    args = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    if method in WRITE_METHODS and (args or method == "flush"):
        return f"{spelled}.{method}()"
    if method in catalog.SA_EXECUTE_METHODS and args:
        statement = dbops.sa_statement(_statement_value(fn, args[0]), fn.module)
        if statement is not None and statement.verb in catalog.SA_STATEMENT_VERBS:
            return f"{spelled}.{method}({statement.verb}())"
    return None


def session_end(fn: "FunctionModel", call: cst.Call) -> bool:
    """``session.commit()`` / ``rollback()`` / ``close()`` on a session the function did not open:
    what it wrote before is no longer held."""
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in catalog.SESSION_END_METHODS:
        return False
    spelled = dotted(func.value)
    return spelled is not None and _borrowed_session(fn, func.value, spelled)


def _borrowed_session(fn: "FunctionModel", receiver: cst.BaseExpression, spelled: str) -> bool:
    """A session the function reaches without opening it: recognised as one, or
    named so (``session``, ``self.session``) when nothing says it is another handle."""
    if spelled.split(".")[0] in {hold.var for hold in fn.holds}:
        return False  # opened here: its own hold, not the caller's transaction
    if request_session(receiver):
        return True  # Pyramid's ``request.dbsession``: the request's session
    work = work_of(fn)
    handle = work.handle_of(receiver)
    if handle is not None:
        return handle.kind == "session"
    if fn.resource_of(receiver) is not None:
        return False  # an HTTP session or another client named ``session``
    return "session" in spelled.rsplit(".", 1)[-1].lower()


def _statement_value(fn: "FunctionModel", expr: cst.BaseExpression) -> cst.BaseExpression:
    """A statement built into a local first (``stmt = update(X)...; session.execute(stmt)``)."""
    if not isinstance(expr, cst.Name):
        return expr
    for stmt in fn.stmts:
        node = stmt.node
        if not isinstance(node, cst.SimpleStatementLine):
            continue
        for small in node.body:
            if isinstance(small, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == expr.value for t in small.targets
            ):
                return small.value
    return expr
