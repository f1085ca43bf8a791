"""The request session a function uses without owning it, as facts for the
project phase: Flask-SQLAlchemy's ``db.session`` and ``Model.query``, a
module-level ``scoped_session`` registry.

Such a session is one per request: a query anywhere in the request checks out
its connection (autobegin), and it stays checked out until something commits,
rolls back, closes or removes the session. Which function queries and which
one does the network call are often different functions (a view loads the
row, a service calls the remote API; a handler class loads its arguments in
one method and works in the next). Each function therefore publishes its
statements' events in order (``events``); scalelint.model.connections.inherited
runs them across the call graph.

Events (lists, for JSON):
- ``["q", spot, covered]``: a query through the request session (``covered``:
  the function names the session itself, so the per-function walk of
  scalelint.model.connections.sessions already judges it); a write through it
  (``db.session.add(x)``, ``flush()``, an UPDATE executed) carries its label
  too, ``["q", spot, covered, "db.session.flush()"]``: its transaction holds
  the written rows from there (scalelint.model.connections.ambientwrites);
- ``["w", spot, label]``: an object added to the request session
  (``db.session.add(x)``), written at its next flush;
- ``["e", spot]``: commit / rollback / close / remove;
- ``["c", target, spot, label]``: a call into the project (dotted target);
- ``["s", method, spot, label, target]``: ``self.method()``: which method runs
  depends on the instance's class;
- ``["d", method, spot, label]``: a method called on a local object this
  module cannot place (``plugin = plugins.get(name); plugin.issue()``);
- ``["i", label, spot, category]``: blocking I/O done here.

A spot is ``[line, column, end line, end column]`` (1-based line, 0-based column).
Calls in ``except`` blocks (error paths) are left out.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import libcst as cst

from scalelint.model import catalog
from scalelint.model.connections.work import call_label, short_spelling, work_of
from scalelint.model.connections.writes import session_write

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt

#: at most this many events per function (a long function's tail adds little)
MAX_EVENTS = 80

Spot = Callable[[cst.Call, "Stmt"], "list[int] | None"]


def ambient_sessions(fn: "FunctionModel") -> set[str]:
    """How the function spells the request session(s) it uses without opening them:
    ``db.session`` (Flask-SQLAlchemy), module-level ``scoped_session`` registries."""
    work = work_of(fn)
    local = {h.var for h in fn.holds}
    found: set[str] = set()
    for name, value in fn.module.global_values.items():
        if isinstance(value, cst.Call) and fn.module.qualified(value.func) in catalog.SCOPED_SESSION_REGISTRIES:
            if name not in local and name not in fn.env:
                found.add(name)
    for owner in catalog.CONVENTIONAL_SESSION_OWNERS:
        if owner not in fn.env and work.handle_of(cst.Attribute(cst.Name(owner), cst.Name("session"))) is not None:
            found.add(f"{owner}.session")
    return found


def session_events(fn: "FunctionModel", spot: Spot, target_of: Callable[[cst.Call], str | None],
                   stmts: "list[Stmt] | None" = None) -> list[list[Any]]:
    """The function's events in statement order (see the module docstring); ``stmts``
    gathers each event's statement (for ``event_arms``)."""
    sessions = ambient_sessions(fn)
    covered = int(bool(sessions))  # the function's own walk (sessions.py) sees its queries
    work = work_of(fn)
    in_class = fn.cls is not None
    out: list[list[Any]] = []
    last: "Stmt | None" = None
    for stmt, call in fn.calls():
        if stmts is not None and last is not None:
            stmts.extend([last] * (len(out) - len(stmts)))  # the events the previous call added
        last = stmt
        if len(out) >= MAX_EVENTS:
            break
        if stmt.inside("except"):
            continue
        func = call.func
        method = func.attr.value if isinstance(func, cst.Attribute) else ""
        session = short_spelling(func.value) if isinstance(func, cst.Attribute) else None
        if session is not None and session in sessions:
            if method in catalog.SESSION_END_METHODS:
                _add(out, ["e"], spot(call, stmt))
            elif method in catalog.SESSION_LOCAL_METHODS:
                if (written := session_write(fn, call)) is not None:  # ``db.session.add(x)``: flushed at the next query
                    _add(out, ["w"], spot(call, stmt), written)
            else:
                written = session_write(fn, call)
                _add(out, ["q"], spot(call, stmt), covered, *([written] if written is not None else []))
            continue
        if method in catalog.SQLALCHEMY_QUERY_TERMINALS and _model_query(func.value):
            _add(out, ["q"], spot(call, stmt), covered)
            continue
        info = work.direct_io(call)
        if info is not None:
            if not info.task and info.category != "queue":  # a broker publish: not followed across functions
                _add(out, ["i", info.label], spot(call, stmt), info.category)
            continue
        target = target_of(call)
        if in_class and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) \
                and func.value.value == "self" and target is not None:
            _add(out, ["s", method], spot(call, stmt), call_label(call), target)
        elif target is not None:
            _add(out, ["c", target], spot(call, stmt), call_label(call))
        elif method and isinstance(func.value, cst.Name) and func.value.value not in ("self", "cls") \
                and fn.module.qualified(func) is None:
            _add(out, ["d", method], spot(call, stmt), call_label(call))
    if stmts is not None and last is not None:
        stmts.extend([last] * (len(out) - len(stmts)))
    return out


def _add(out: list[list[Any]], head: list[Any], spot: list[int] | None, *tail: Any) -> None:
    if spot is not None:
        out.append([*head, spot, *tail])


def event_arms(stmts: "list[Stmt]") -> list[list[Any]]:
    """Where each event runs among the function's ``if`` arms, for the events inside some:
    ``[index, [[if, arm], ...], leaves]``: ``if`` numbers the function's ``if`` statements
    in order of first use, ``arm`` is 0 for its body and 1 for its ``else`` / ``elif``, outermost
    first; ``leaves`` indexes the innermost of those arms whose block ends in ``return`` /
    ``raise`` (-1: none), after which what the event did no longer holds."""
    ids: dict[int, int] = {}
    out: list[list[Any]] = []
    for index, stmt in enumerate(stmts):
        chain = [node for _, node in stmt.context] + [stmt.node]
        arms: list[list[int]] = []
        leaves = -1
        for i, (kind, node) in enumerate(stmt.context):
            if kind != "if" or not isinstance(node, cst.If):
                continue
            child = chain[i + 1]
            if _holds(node.body, child):
                arm, block = 0, node.body
            elif node.orelse is not None and (child is node.orelse or _holds(node.orelse.body, child)):
                arm, block = 1, node.orelse.body if isinstance(node.orelse, cst.Else) else None
            else:
                continue
            arms.append([ids.setdefault(id(node), len(ids)), arm])
            if block is not None and _ends_leaving(block):
                leaves = len(arms) - 1
        if arms:
            out.append([index, arms, leaves])
    return out


def _holds(suite: cst.BaseSuite, child: cst.CSTNode) -> bool:
    return any(statement is child for statement in getattr(suite, "body", ()))


def _ends_leaving(suite: cst.BaseSuite) -> bool:
    """The block's last statement is a ``return`` or ``raise``."""
    body = getattr(suite, "body", ())
    last = body[-1] if body else None
    if isinstance(suite, cst.SimpleStatementSuite):
        return any(isinstance(small, (cst.Return, cst.Raise)) for small in body)
    return isinstance(last, cst.SimpleStatementLine) and any(isinstance(small, (cst.Return, cst.Raise)) for small in last.body)


def _model_query(expr: cst.BaseExpression) -> bool:
    """A chain on a model class's ``query`` property (``Order.query.filter_by(...)``,
    ``cls.query.get(...)`` in a classmethod)."""
    while True:
        if isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, cst.Attribute) and expr.attr.value == "query":
            owner = expr.value
            if isinstance(owner, cst.Name):
                return owner.value == "cls" or owner.value[:1].isupper()
            return isinstance(owner, cst.Attribute) and owner.attr.value[:1].isupper()
        elif isinstance(expr, cst.Attribute):
            expr = expr.value
        else:
            return False
