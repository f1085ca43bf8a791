"""Sessions a function uses but did not open (SL101): Flask-SQLAlchemy's
``db.session`` and ``Model.query``, a module-level ``scoped_session``, and a
session handed in as a parameter (FastAPI ``Depends(get_db)``, a parameter
annotated ``Session`` / ``AsyncSession``).

Such a session checks out a pooled connection at its first query (autobegin)
and keeps it until ``commit()`` / ``rollback()`` / ``close()`` / ``remove()``,
or until the end of the request. Network I/O after a query and before the
session lets go is time the connection sits idle in the request's hands.
Sessions opened into a local variable are holds (``timeline.py``); this module
covers the others, and only blocking I/O counts as work here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import libcst as cst

from scalelint.model import catalog
from scalelint.model.function import FunctionModel, Stmt
from scalelint.model.connections.loops import _model_query
from scalelint.model.connections.summaries import call_target, instance_class
from scalelint.model.connections.writes import session_write
from scalelint.model.connections.timeline import wraps_handle
from scalelint.model.connections.work import CallInfo, call_label, root_name, short_spelling, work_of

#: a session handed to a class or its factory (``Repo.from_session(session)``): no query yet
WRAPPED = "<wrapped>"
from scalelint.core.walk import walk


@dataclass(frozen=True)
class SessionRef:
    """One session a function reaches without opening it."""

    spelled: str  # how the code names it: "db.session", "DBSession", "session"
    library: str
    #: a parameter: the caller opened it and decides when it ends
    borrowed: bool
    #: a parameter annotated with a name imported from the project (``SessionDep``):
    #: a session only if that module's facts say the name is a session type
    alias: str = ""


@dataclass(frozen=True)
class IoWhileHeld:
    stmt: Stmt
    call: cst.Call
    info: CallInfo


@dataclass(frozen=True)
class CallWhileHeld:
    """A call into the project's code made while the session is held: blocking
    I/O if the callee (in another module) does any, known in the project phase."""

    stmt: Stmt
    call: cst.Call
    target: str  # the callee's dotted name (scalelint.model.connections.summaries.call_target)
    info_label: str  # how the call is spelled: "send_email()"


@dataclass(frozen=True)
class WriteWhileHeld:
    """A write through the session (``session.add(x)``, an UPDATE executed), or a
    call into the project's code that may write through it (``repository.update(x)``,
    ``helper(session)``): known in the project phase."""

    stmt: Stmt
    call: cst.Call
    label: str  # "session.add()" or how the call is spelled
    target: str = ""  # the callee's dotted name, for a call that may write
    #: the ``return`` / ``raise`` ending the branch it was made in: it dirties nothing after that
    until: Stmt | None = None


@dataclass
class SessionSpan:
    """From a session's first query (its checkout) to the point it lets go."""

    ref: SessionRef
    begin: Stmt
    begin_call: cst.Call
    io: list[IoWhileHeld] = field(default_factory=list)
    calls: list[CallWhileHeld] = field(default_factory=list)
    writes: list[WriteWhileHeld] = field(default_factory=list)
    #: project calls handed the session after it was checked out (``helper(session)``):
    #: the callee's blocking I/O runs inside the transaction too (SL103 asks the call graph)
    passing: list[CallWhileHeld] = field(default_factory=list)

    @property
    def known(self) -> bool:
        """A session by this file alone, with blocking I/O seen here and no write
        that could put part of it inside a transaction that wrote (SL103's)."""
        return bool(self.io) and not self.ref.alias and not self.writes


def session_spans(fn: FunctionModel) -> list[SessionSpan]:
    """Every checkout of a session the function did not open, with the blocking
    I/O done while it is held or the project calls that may do some (spans
    with neither are left out)."""
    return fn.derived("session_spans", lambda: _SpanWalker(fn).spans())


def session_refs(fn: FunctionModel) -> dict[str, SessionRef]:
    """Spelling -> session, for the sessions ``fn`` uses without opening them."""
    work = work_of(fn)
    local = {h.var for h in fn.holds}
    refs: dict[str, SessionRef] = {}
    params = fn.node.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        name = param.name.value
        handle = work.handles.get(name)
        if name in local or name in fn.env:
            continue
        if handle is not None and handle.kind == "session":
            refs[name] = SessionRef(name, handle.library, borrowed=True)
        elif handle is None and param.annotation is not None:
            alias = work.mw.imported_type(param.annotation.annotation)
            if alias is not None:
                refs[name] = SessionRef(name, "sqlalchemy", borrowed=True, alias=alias)
    for name, value in fn.module.global_values.items():
        if isinstance(value, cst.Call) and fn.module.qualified(value.func) in catalog.SCOPED_SESSION_REGISTRIES:
            if name not in local and name not in fn.env and name not in refs:
                refs[name] = SessionRef(name, "sqlalchemy", borrowed=False)
    for owner in catalog.CONVENTIONAL_SESSION_OWNERS:
        spelled = f"{owner}.session"
        if work.handle_of(cst.Attribute(cst.Name(owner), cst.Name("session"))) is not None and owner not in fn.env:
            refs[spelled] = SessionRef(spelled, "flask_sqlalchemy", borrowed=False)
    return refs


class _SpanWalker:
    """Walks the function's blocks in order, tracking whether each session holds
    a connection. Branches start from the state before them and merge as "may
    hold"; a loop body runs once; except blocks (error paths) are skipped."""

    def __init__(self, fn: FunctionModel) -> None:
        self.fn = fn
        self.work = work_of(fn)
        self.refs = session_refs(fn)
        self.by_node = {id(stmt.node): stmt for stmt in fn.stmts}
        self.done: list[SessionSpan] = []
        #: locals bound to an object built around a session (a repository), by name
        self.wrappers: dict[str, SessionRef] = {}
        #: the project class of each wrapper, where known (``CustomerRepository``)
        self.wrapper_classes: dict[str, str] = {}
        #: writes made before the session's first query (``session.add(x)``): flushed at it
        self.pending: dict[str, WriteWhileHeld] = {}
        #: ``Model.query`` runs on Flask-SQLAlchemy's ``db.session``
        self.model_query = next((ref for ref in self.refs.values() if ref.library == "flask_sqlalchemy"), None)
        for stmt in fn.stmts:  # ``if x: y()`` keeps its small statements in a suite, not a line
            if isinstance(stmt.node, cst.SimpleStatementLine) and stmt.node.body:
                self.by_node.setdefault(id(stmt.node.body[0]), stmt)

    def spans(self) -> list[SessionSpan]:
        if not self.refs or not self.triggered():
            return []
        return self.walked()

    def triggered(self) -> bool:
        """Whether any call of the function runs on one of its sessions (or hands one
        on): a span begins only at such a call, and a wrapper is made only by one, so
        a function without one is not walked (one pass over its calls instead)."""
        return any(self._session_call(call)[0] is not None for _, call in self.fn.calls())

    def walked(self) -> list[SessionSpan]:
        """The spans, from the walk of the function's blocks."""
        if isinstance(self.fn.node.body, cst.IndentedBlock):
            self._block(self.fn.node.body.body, {})
        return [span for span in self.done if span.io or span.calls or span.passing]

    # -- control flow ------------------------------------------------------------------
    def _block(self, body: Sequence[cst.CSTNode], held: dict[str, SessionSpan]) -> dict[str, SessionSpan]:
        written = {id(span): len(span.writes) for span in self.done}
        last: Stmt | None = None
        for node in body:
            stmt = self.by_node.get(id(node))
            if stmt is None or isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                continue
            held = self._statement(stmt, held)
            held = self._inner(node, held)
            last = stmt
        if last is not None and _leaves(last.node):
            self._end_writes(written, last)
        return held

    def _end_writes(self, written: dict[int, int], end: Stmt) -> None:
        """Writes made in a block that returns or raises dirty nothing after it."""
        for span in self.done:
            start = written.get(id(span), 0)
            span.writes[start:] = [w if w.until is not None else replace(w, until=end) for w in span.writes[start:]]

    def _inner(self, node: cst.BaseStatement, held: dict[str, SessionSpan]) -> dict[str, SessionSpan]:
        if isinstance(node, cst.If):
            outcomes = [self._block(_body(node.body), held)]
            orelse = node.orelse
            if isinstance(orelse, cst.If):  # elif
                outcomes.append(self._block([orelse], held))
            elif orelse is not None:
                outcomes.append(self._block(_body(orelse.body), held))
            else:
                outcomes.append(held)
            return _merge(outcomes)
        if isinstance(node, (cst.For, cst.While)):
            after = self._block(_body(node.body), held)
            merged = _merge([held, after])
            return self._block(_body(node.orelse.body), merged) if node.orelse is not None else merged
        if isinstance(node, (cst.Try, cst.TryStar)):
            after = self._block(_body(node.body), held)
            if node.orelse is not None:
                after = self._block(_body(node.orelse.body), after)
            if node.finalbody is not None:
                after = self._block(_body(node.finalbody.body), after)
            return after
        if isinstance(node, cst.With):
            after = self._block(_body(node.body), held)
            for ended in self._begun_by(node):  # ``with session.begin():`` commits at its end
                after = {k: v for k, v in after.items() if k != ended}
            return after
        if isinstance(node, cst.Match):
            return _merge([self._block(_body(case.body), held) for case in node.cases] + [held])
        return held

    # -- one statement ---------------------------------------------------------------------
    def _statement(self, stmt: Stmt, held: dict[str, SessionSpan]) -> dict[str, SessionSpan]:
        held = dict(held)
        in_transaction = self.work.transaction_of(stmt) is not None
        for part in stmt.header_parts():
            nodes = list(walk(part, into_functions=False))
            awaited = {id(node.expression) for node in nodes if type(node) is cst.Await}
            for sub in nodes:
                if type(sub) is not cst.Call:
                    continue
                ref, method = self._session_call(sub, id(sub) in awaited)
                if ref is not None:
                    if method == "<passed>" and ref.spelled in held and not in_transaction:
                        self._passing(stmt, sub, held[ref.spelled])
                    if method == WRAPPED:  # ``repo = Repo.from_session(session)``: its queries are the session's
                        self._wrap(stmt, sub, ref)
                    elif method in catalog.SESSION_END_METHODS:
                        held.pop(ref.spelled, None)
                        self.pending.pop(ref.spelled, None)
                    elif method not in catalog.SESSION_LOCAL_METHODS and ref.spelled not in held:
                        span = SessionSpan(ref, stmt, sub)
                        self.done.append(span)
                        held[ref.spelled] = span
                        if ref.spelled in self.pending:
                            span.writes.append(self.pending.pop(ref.spelled))
                    self._write(stmt, sub, ref, method, held)
                    continue
                if not held or in_transaction:
                    continue  # inside an explicit transaction: SL103's domain
                info = self.work.classify(sub, self._held_names(held))
                if info.kind == "io":
                    for span in held.values():
                        span.io.append(IoWhileHeld(stmt, sub, info))
                elif info.kind in ("business", "unknown"):
                    target = call_target(self.fn, sub)
                    if target is not None:
                        for span in held.values():
                            span.calls.append(CallWhileHeld(stmt, sub, target, info.label))
        return held

    def _passing(self, stmt: Stmt, call: cst.Call, span: SessionSpan) -> None:
        """``helper(session, ...)`` while the session is held: a call into the project
        whose blocking I/O, if any, happens inside the session's transaction."""
        target = call_target(self.fn, call)
        if target is not None:
            span.passing.append(CallWhileHeld(stmt, call, target, call_label(call)))

    def _wrap(self, stmt: Stmt, call: cst.Call, ref: SessionRef) -> None:
        """``repo = Repo.from_session(session)``: the names now stand for the session."""
        cls = instance_class(self.fn.module, call)
        for name in _assigned_names(stmt.node, call):
            self.wrappers[name] = ref
            if cls is not None:
                self.wrapper_classes[name] = cls

    def _write(self, stmt: Stmt, call: cst.Call, ref: SessionRef, method: str, held: dict[str, SessionSpan]) -> None:
        """Record a write through the session, or a call that may write through it."""
        label = session_write(self.fn, call)
        if label is not None:
            write = WriteWhileHeld(stmt, call, label)
        else:
            target = self._write_target(call, method)
            if target is None:
                return
            write = WriteWhileHeld(stmt, call, call_label(call), target)
        span = held.get(ref.spelled)
        if span is not None:
            span.writes.append(write)
        elif label is not None:
            self.pending.setdefault(ref.spelled, write)

    def _write_target(self, call: cst.Call, method: str) -> str | None:
        """The project callee of a call that hands it the session (``helper(session)``)
        or runs on a wrapper of it (``repository.update(x)``)."""
        func = call.func
        if method == "query" and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            cls = self.wrapper_classes.get(func.value.value)
            return f"{cls}.{func.attr.value}" if cls is not None else None
        return call_target(self.fn, call) if method == "<passed>" else None

    def _begun_by(self, node: cst.With) -> list[str]:
        """The sessions whose transaction a ``with`` block begins (and commits at its end;
        ``begin_nested()`` only ends a savepoint)."""
        out = []
        for item in node.items:
            call = item.item.expression if isinstance(item.item, cst.Await) else item.item
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "begin":
                spelled = short_spelling(call.func.value)
                if spelled in self.refs:
                    out.append(spelled)
        return out

    def _held_names(self, held: dict[str, SessionSpan]) -> set[str]:
        return {span.ref.spelled.split(".")[0] for span in held.values()}

    def _session_call(self, call: cst.Call, awaited: bool = True) -> tuple[SessionRef | None, str]:
        """The session a call runs on and the method (passing the session on to a
        callee counts as a query: helpers take a session to use it). In a coroutine,
        a repository's queries are awaited: a method called without ``await``
        (``repo.get_base_statement()``) only builds a statement."""
        func = call.func
        if isinstance(func, cst.Attribute):
            receiver = func.value
            spelled = short_spelling(receiver)
            if spelled in self.refs:
                return self.refs[spelled], func.attr.value
            if spelled in self.wrappers:
                if self.fn.node.asynchronous is not None and not awaited:
                    return None, ""
                return self.wrappers[spelled], "query"
            if self.model_query is not None and _model_query(receiver) and func.attr.value in catalog.SQLALCHEMY_QUERY_TERMINALS:
                return self.model_query, "query"
        for arg in call.args:
            spelled = short_spelling(arg.value)
            if spelled in self.refs and root_name(func) not in self.refs:
                return self.refs[spelled], WRAPPED if wraps_handle(call, {spelled}) else "<passed>"
        return None, ""


def _leaves(node: cst.CSTNode) -> bool:
    """A ``return`` or ``raise`` statement: the block ends the function's path there."""
    return isinstance(node, cst.SimpleStatementLine) and any(isinstance(s, (cst.Return, cst.Raise)) for s in node.body)


def _assigned_names(node: cst.CSTNode, value: cst.Call) -> list[str]:
    """The names a simple statement binds to ``value`` (``repo = Repo.from_session(s)``)."""
    if not isinstance(node, cst.SimpleStatementLine):
        return []
    out = []
    for small in node.body:
        if isinstance(small, cst.Assign) and small.value is value:
            out.extend(t.target.value for t in small.targets if isinstance(t.target, cst.Name))
        elif isinstance(small, cst.AnnAssign) and small.value is value and isinstance(small.target, cst.Name):
            out.append(small.target.value)
    return out


def _merge(outcomes: list[dict[str, SessionSpan]]) -> dict[str, SessionSpan]:
    """After branches: a session held on any path may still be held."""
    merged: dict[str, SessionSpan] = {}
    for outcome in outcomes:
        for key, span in outcome.items():
            merged.setdefault(key, span)
    return merged


def _body(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    """A block's statements (for a one-line suite, its first small statement
    stands for the line)."""
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    return list(suite.body[:1]) if isinstance(suite, cst.SimpleStatementSuite) else []
