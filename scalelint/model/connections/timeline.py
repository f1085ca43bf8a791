"""When a hold actually keeps a connection checked out, and what work runs
meanwhile (SL101 and its split fix).

A connection is checked out from its acquisition to its release (``close``,
``putconn``, the end of its ``with``). A SQLAlchemy session checks one out
lazily: from its first query to ``commit``/``rollback``/``close``. Between
those points, statements either use the handle (the variable itself, or a
handle derived from it such as its cursor) or do other work.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from scalelint.model import catalog
from scalelint.model.function import FunctionModel, Hold, Stmt
from scalelint.model.connections.work import CallInfo, descendants_end, mentions, root_name, work_of
from scalelint.core.walk import dotted, string_value, walk

BEFORE, BETWEEN, AFTER, ITERATING = "before its first use", "between two uses", "after its last use", "while iterating its results"


@dataclass(frozen=True)
class WorkItem:
    stmt: Stmt
    call: cst.Call
    info: CallInfo
    position: str


@dataclass
class Timeline:
    hold: Hold
    #: the hold's variable and the handles derived from it (cursor, result set)
    names: set[str]
    #: derived handle -> the statement defining it
    derived: dict[str, Stmt]
    #: statements run while the handle is held, in order (error paths excluded)
    region: list[Stmt]
    uses: list[Stmt]
    work: list[WorkItem] = field(default_factory=list)
    #: the region ends by an explicit release (or the end of a ``with``)
    ended: bool = False


def derives_handle(expr: cst.BaseExpression | None, names: set[str], session: bool) -> bool:
    """``conn.cursor()``, ``conn.execute(...)``: a value still bound to the connection."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
        return False
    method = expr.func.attr.value
    returning = catalog.HANDLE_RESULT_METHODS | catalog.LAZY_RESULT_METHODS | ({"query"} if session else frozenset())
    return method in returning and root_name(expr.func.value) in names


def wraps_handle(expr: cst.BaseExpression | None, names: set[str]) -> bool:
    """``MigrationContext.configure(conn)``, ``Operations(ctx)``: an object built around
    the handle (a class or its factory given the handle), which uses it later.
    A plain function given the handle (``fetch_rows(conn)``) returns data instead."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    if not isinstance(expr, cst.Call):
        return False
    callee = dotted(expr.func) or ""
    if not any(part[:1].isupper() and not part.isupper() for part in callee.split(".")):
        return False
    return any(isinstance(a.value, cst.Name) and a.value.value in names for a in expr.args)


def keeps_handle(fn: FunctionModel, expr: cst.BaseExpression | None, names: set[str], session: bool) -> bool:
    """The value may still read through the handle later: the handle itself, a
    cursor or result, an iterator or generator over one, a function or object
    that uses it, a container holding one. Rows already fetched
    (``cur.fetchall()``), attributes (``cur.rowcount``) and what a plain
    function computes from the handle are data."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    if expr is None or not mentions(expr, names):
        return False
    if isinstance(expr, (cst.Name, cst.GeneratorExp, cst.Lambda)):
        return True
    if isinstance(expr, cst.Call):
        return _call_keeps_handle(fn, expr, names, session)
    if isinstance(expr, cst.Attribute):  # a bound method: ``run = cur.execute``
        return expr.attr.value in catalog.HANDLE_RESULT_METHODS and root_name(expr.value) in names
    if isinstance(expr, cst.Subscript):
        return keeps_handle(fn, expr.value, names, session)
    if isinstance(expr, (cst.Tuple, cst.List, cst.Set, cst.Dict)):
        return any(  # ``[first, *rest]`` unpacks (reads) what is starred
            keeps_handle(fn, el.value, names, session)
            for el in expr.elements
            if not isinstance(el, (cst.StarredElement, cst.StarredDictElement))
        )
    if isinstance(expr, cst.IfExp):
        return keeps_handle(fn, expr.body, names, session) or keeps_handle(fn, expr.orelse, names, session)
    if isinstance(expr, cst.BooleanOperation):
        return keeps_handle(fn, expr.left, names, session) or keeps_handle(fn, expr.right, names, session)
    if isinstance(expr, cst.NamedExpr):
        return keeps_handle(fn, expr.value, names, session)
    return False


def _call_keeps_handle(fn: FunctionModel, call: cst.Call, names: set[str], session: bool) -> bool:
    if derives_handle(call, names, session) or wraps_handle(call, names):
        return True
    if isinstance(call.func, cst.Name) and call.func.value in catalog.LAZY_BUILTINS:
        return any(keeps_handle(fn, arg.value, names, session) for arg in call.args)
    callee = work_of(fn).local_function(call.func)
    return callee is not None and callee.is_generator and any(mentions(arg.value, names) for arg in call.args)


@dataclass
class Reach:
    """Where a hold's connection can still be read: its variable and every
    handle derived from it, and the statements mentioning them."""

    names: set[str]
    #: derived handle -> the statement defining it
    derived: dict[str, Stmt]
    uses: list[Stmt]
    #: the first statement returning, storing, capturing or passing on one of the names
    escape: Stmt | None = None


def reach_of(fn: FunctionModel, hold: Hold, stmts: list[Stmt]) -> Reach:
    """Follow the hold through ``stmts`` (in order): which names carry it, where."""
    session = hold.resource.kind == "session"
    reach = Reach({hold.var}, {}, [])
    for stmt in stmts:
        if any(mentions(part, reach.names) for part in stmt.header_parts()):
            reach.uses.append(stmt)
            if reach.escape is None and _hands_out(fn, stmt, reach.names, session):
                reach.escape = stmt
        for name, value in _bindings(stmt):
            if keeps_handle(fn, value, reach.names, session):
                reach.names.add(name)
                reach.derived[name] = stmt
            elif name in reach.derived:  # rebound to something else
                reach.names.discard(name)
    return reach


def _hands_out(fn: FunctionModel, stmt: Stmt, names: set[str], session: bool) -> bool:
    """The statement returns, yields, stores, captures or passes on the handle
    or one derived from it: the connection then outlives the statement's block."""
    if isinstance(stmt.node, (cst.FunctionDef, cst.ClassDef)):
        return mentions(stmt.node, names)
    for part in stmt.header_parts():
        for sub in walk(part, into_functions=False):
            if isinstance(sub, (cst.Return, cst.Yield)):
                value = sub.value.item if isinstance(sub.value, cst.From) else sub.value
                if isinstance(value, cst.BaseExpression) and keeps_handle(fn, value, names, session):
                    return True
            elif isinstance(sub, cst.Assign) and any(not isinstance(t.target, cst.Name) for t in sub.targets):
                if keeps_handle(fn, sub.value, names, session):
                    return True
            elif isinstance(sub, (cst.AnnAssign, cst.AugAssign)) and not isinstance(sub.target, cst.Name):
                if keeps_handle(fn, sub.value, names, session):
                    return True
            elif isinstance(sub, (cst.Global, cst.Nonlocal)) and any(n.name.value in names for n in sub.names):
                return True
            elif isinstance(sub, cst.Call) and _passes_on(fn, sub, names, session):
                return True
    return False


def _passes_on(fn: FunctionModel, call: cst.Call, names: set[str], session: bool) -> bool:
    """A callee that may keep it is given the handle (builtins, the handles'
    own methods and the module's functions only use it during the call)."""
    func = call.func
    if isinstance(func, cst.Name) and func.value in catalog.CHEAP_BUILTINS:
        return False
    if isinstance(func, cst.Attribute) and root_name(func.value) in names:
        return False
    if work_of(fn).local_function(func) is not None:
        return False  # the module's own function: what a generator returns is followed as derived
    return any(keeps_handle(fn, arg.value, names, session) for arg in call.args)


def _in_memory(hold: Hold) -> bool:
    """A private in-memory database (``sqlite3.connect(":memory:")``): no server, no pool."""
    value = hold.value.expression if isinstance(hold.value, cst.Await) else hold.value
    while isinstance(value, cst.Call) and value.args and isinstance(value.args[0].value, cst.Call):
        value = value.args[0].value  # closing(sqlite3.connect(...))
    if not isinstance(value, cst.Call) or not value.args or hold.resource.library not in catalog.IN_MEMORY_LIBRARIES:
        return False
    text = string_value(value.args[0].value)
    return text is not None and (text == ":memory:" or text.startswith("file::memory:") or "mode=memory" in text)


def _bindings(stmt: Stmt) -> list[tuple[str, cst.BaseExpression | None]]:
    """(name, value) for names the statement's header binds."""
    node = stmt.node
    out: list[tuple[str, cst.BaseExpression | None]] = []
    if isinstance(node, cst.SimpleStatementLine):
        for small in node.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        out.append((target.target.value, small.value))
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                out.append((small.target.value, small.value))
    elif isinstance(node, cst.With):
        for item in node.items:
            if item.asname is not None and isinstance(item.asname.name, cst.Name):
                out.append((item.asname.name.value, item.item))
    return out


def following(fn: FunctionModel, hold: Hold) -> list[Stmt]:
    """The statements that can run after the acquisition while its name is in scope."""
    return fn.stmts[hold.acquired.ordinal + 1 : _scope_end(fn, hold) + 1]


def _scope_end(fn: FunctionModel, hold: Hold) -> int:
    """Last ordinal of the statements that can run after the acquisition in its block."""
    if hold.via_with:
        return descendants_end(fn, hold.acquired)
    parent_depth = len(hold.acquired.context)
    last = hold.acquired.ordinal
    for later in fn.stmts[hold.acquired.ordinal + 1 :]:
        if len(later.context) < parent_depth:
            break
        last = later.ordinal
    return last


def _error_path(stmt: Stmt, base_depth: int) -> bool:
    return any(kind in ("except", "finally") for kind, _ in stmt.context[base_depth:])


def timeline_of(fn: FunctionModel, hold: Hold) -> Timeline | None:
    """The hold's timeline, or None when it is not a checkout this function controls."""
    res = hold.resource
    if res.kind not in ("connection", "session") or res.library == "django" or hold.escapes or _in_memory(hold):
        return None
    session = res.kind == "session"
    end = _scope_end(fn, hold)
    releases = [s for s in hold.releases if s.ordinal <= end]
    ended = hold.via_with or bool(releases)
    if releases:
        end = max(s.ordinal for s in releases) - 1
    base = len(hold.acquired.context) + (1 if hold.via_with else 0)
    region = [
        stmt
        for stmt in fn.stmts[hold.acquired.ordinal + 1 : end + 1]
        if not _error_path(stmt, base)
        and not any(s is stmt for s in releases)
        and not isinstance(stmt.node, (cst.FunctionDef, cst.ClassDef))
    ]
    reach = reach_of(fn, hold, region)
    if not reach.uses:
        return None
    line = Timeline(hold, reach.names, reach.derived, region, reach.uses, ended=ended)
    line.work = _work(fn, line, session)
    return line


def _work(fn: FunctionModel, line: Timeline, session: bool) -> list[WorkItem]:
    """Work done while the handle is checked out, outside explicit transactions."""
    uses = line.uses
    first, last = uses[0].ordinal, uses[-1].ordinal
    held_at = _session_held(line) if session else None
    iterating = {
        s.ordinal: descendants_end(fn, s)
        for s in uses
        if isinstance(s.node, cst.For) and _streams(s.node.iter, line.names)
    }
    out: list[WorkItem] = []
    for stmt in line.region:
        if stmt in uses or work_of(fn).transaction_of(stmt) is not None:
            continue
        if held_at is not None and not held_at.get(stmt.ordinal, False):
            continue
        if any(start < stmt.ordinal <= stop for start, stop in iterating.items()):
            position = ITERATING
        elif stmt.ordinal < first:
            position = BEFORE
        elif stmt.ordinal < last or _loop_with_use(stmt, uses):
            position = BETWEEN
        elif line.ended:
            position = AFTER
        else:
            continue
        for part in stmt.header_parts():
            for sub in walk(part, into_functions=False):
                if isinstance(sub, cst.Call):
                    info = work_of(fn).classify(sub, line.names)
                    if info.is_work:
                        out.append(WorkItem(stmt, sub, info, position))
    return _outermost(out)


def _streams(iterable: cst.BaseExpression, names: set[str]) -> bool:
    """``for row in cur`` / ``for row in conn.execute(...)``: rows arrive while
    iterating (``for row in cur.fetchall()`` iterates rows already fetched)."""
    if isinstance(iterable, cst.Await):
        iterable = iterable.expression
    if root_name(iterable) not in names:
        return False
    return not (
        isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Attribute)
        and iterable.func.attr.value in catalog.MATERIALISING_METHODS
    )


def _loop_with_use(stmt: Stmt, uses: list[Stmt]) -> bool:
    """The statement is in a loop whose body also uses the handle (so it runs between uses)."""
    loops = [node for kind, node in stmt.context if kind == "loop"]
    return any(any(node is n for k, n in use.context if k == "loop") for node in loops for use in uses)


def _outermost(items: list[WorkItem]) -> list[WorkItem]:
    """Drop work calls nested in the arguments of another reported call."""
    kept: list[WorkItem] = []
    for item in items:
        if any(other.stmt is item.stmt and other.call is not item.call and _within(item.call, other.call) for other in items):
            continue
        kept.append(item)
    return kept


def _within(inner: cst.Call, outer: cst.Call) -> bool:
    return any(sub is inner for sub in walk(outer, into_functions=False))


def _session_held(line: Timeline) -> dict[int, bool]:
    """For a session: whether a connection is checked out at each statement."""
    held = False
    out: dict[int, bool] = {}
    for stmt in line.region:
        out[stmt.ordinal] = held
        if stmt not in line.uses:
            continue
        methods = [
            sub.func.attr.value
            for part in stmt.header_parts()
            for sub in walk(part, into_functions=False)
            if isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) and root_name(sub.func.value) in line.names
        ]
        if any(m not in catalog.SESSION_LOCAL_METHODS for m in methods) or any(
            mentions(part, set(line.derived)) for part in stmt.header_parts()
        ):
            held = True
        if any(m in catalog.SESSION_END_METHODS for m in methods):
            held = False
        out[stmt.ordinal] = held
    return out
