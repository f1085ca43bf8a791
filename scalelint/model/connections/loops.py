"""Queries run once per loop iteration (SL104, the N+1 pattern).

A query counts when it is an explicit database call (a method of a
recognised connection, cursor or session, an ``execute`` whose argument
reads as SQL, a Django ``Model.objects`` chain that runs, a
Flask-SQLAlchemy ``Model.query`` chain that runs) inside a ``for`` loop,
``async for`` or comprehension, and its arguments depend on the iteration.
Loops whose size the code fixes and queries whose shape changes each round
(:mod:`scalelint.model.connections.loopsize`), and loops that batch on purpose
(``chunk``/``batch`` names, ``__in`` lookups with the loop value) are left
alone, as are ``while`` loops (polling and pagination query per round by
design). Lazy relationship access on the iterated objects is
:mod:`scalelint.model.connections.lazyloads`' job (it needs the project's model facts).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst

from scalelint.model import catalog
from scalelint.model.dbops import django_manager, unroll
from scalelint.model.function import FunctionModel, Stmt
from scalelint.model.sql import parse_sql
from scalelint.model.connections.loopsize import (
    assigned_names as _assigned_names, filters_differ, fixed_size, handles_failure, local_values, locks_each_row, pages_each_round,
    reports_error_each_round, runs_once, shape_varies, statements_holding, target_names as _target_names,
)
from scalelint.model.connections.loopitems import not_rows
from scalelint.model.connections.work import descendants_end, mentions, work_of
from scalelint.core.walk import children, dotted, string_value, walk

_COMPREHENSIONS = frozenset({cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp})
_OPAQUE = frozenset({cst.Lambda, cst.FunctionDef, cst.ClassDef})
_LEAVES = frozenset({cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Ellipsis})


@dataclass(frozen=True)
class Query:
    call: cst.CSTNode  # the call (or iterated queryset) that runs the query
    label: str  # "Order.objects.get()"
    style: str  # django | sqlalchemy | sql
    write: str  # "" for reads, else create | update | delete | write


@dataclass(frozen=True)
class Loop:
    node: cst.CSTNode  # For or comprehension
    iterable: cst.BaseExpression
    varying: frozenset[str]  # names that change per iteration
    batching: bool = False


@dataclass(frozen=True)
class LoopQuery:
    query: Query
    loop: Loop
    #: the statement that evaluates the query (and a comprehension loop): places both cheaply
    stmt: cst.CSTNode | None = None


@dataclass
class LoopScanner:
    fn: FunctionModel
    found: list[LoopQuery] = field(default_factory=list)
    #: the statement being scanned (whose expressions hold the queries met)
    current: Stmt | None = None
    #: every comprehension met while scanning (read again for lazy relationship loads)
    comprehensions: list[cst.CSTNode] = field(default_factory=list)

    @cached_property
    def _orm_evidence(self) -> tuple[bool, bool]:
        """(imports Django, imports SQLAlchemy or a ``db`` object)."""
        targets = self.fn.module.imports.names
        django = any(q.split(".")[0] == "django" for q in targets.values())
        alchemy = any(q.split(".")[0] in ("sqlalchemy", "flask_sqlalchemy", "sqlmodel") for q in targets.values()) or (
            any(local in catalog.CONVENTIONAL_SESSION_OWNERS for local in targets)
        )
        return django, alchemy

    # -- loops -----------------------------------------------------------------------
    def scan(self) -> list[LoopQuery]:
        if not self.loops():
            return self.found  # no loop: no query runs per iteration, no comprehension to keep
        return self.scanned()

    def loops(self) -> bool:
        """Whether the function has a ``for`` statement or a comprehension (a
        ``while`` loop alone repeats nothing the scan reports): one pass over
        the nodes the function model has listed once for every family."""
        return any(type(stmt.node) is cst.For for stmt in self.fn.stmts) or any(
            type(node) in _COMPREHENSIONS for _, node in self.fn.nodes)

    def scanned(self) -> list[LoopQuery]:
        """The queries found by walking every statement."""
        for stmt in self.fn.stmts:
            # a query in an ``except`` handler inside a loop runs only when a round
            # fails: not once per item (loops inside the handler still count)
            handler = max((i for i, (kind, _) in enumerate(stmt.context) if kind == "except"), default=-1)
            enclosing: list[Loop | Stmt] = [
                self._stmt_of[id(node)] for i, (kind, node) in enumerate(stmt.context)
                if kind == "loop" and isinstance(node, cst.For) and i > handler
            ]
            self.current = stmt
            for part in stmt.header_parts():
                if isinstance(part, (cst.FunctionDef, cst.ClassDef)):
                    continue
                if isinstance(stmt.node, cst.For) and part is stmt.node.target:
                    continue
                if isinstance(stmt.node, cst.For) and part is stmt.node.iter:
                    self._iterated(part, enclosing)
                self._visit(part, enclosing)
        return self.found

    @property
    def _current_node(self) -> cst.CSTNode | None:
        return self.current.node if self.current is not None else None

    @cached_property
    def local_values(self) -> dict[str, list[cst.BaseExpression]]:
        """Every value assigned to each local name (scalelint.model.connections.loopsize.local_values)."""
        return local_values(self.fn)

    @cached_property
    def _stmt_of(self) -> dict[int, Stmt]:
        return {id(s.node): s for s in self.fn.stmts if isinstance(s.node, cst.For)}

    @cached_property
    def _holders(self) -> dict[int, Stmt]:
        return statements_holding(self.fn)

    @cached_property
    def _for_loops(self) -> dict[int, Loop]:
        return {}

    def _as_loop(self, ref: "Loop | Stmt") -> Loop:
        """For statements become Loop records on first need."""
        if isinstance(ref, Loop):
            return ref
        found = self._for_loops.get(ref.ordinal)
        if found is None:
            found = self._for_loops[ref.ordinal] = self._for_loop(ref)
        return found

    def _for_loop(self, stmt: Stmt) -> Loop:
        node = stmt.node
        assert isinstance(node, cst.For)
        varying = set(_target_names(node.target))
        for inner in self.fn.stmts[stmt.ordinal + 1 : descendants_end(self.fn, stmt) + 1]:
            if any(kind == "else" and n is node for kind, n in inner.context):
                continue
            varying |= _assigned_names(inner.node)
        return Loop(node, node.iter, frozenset(varying), self._batching(node.target, node.iter))

    def _visit(self, node: cst.CSTNode, enclosing: "list[Loop | Stmt]") -> None:
        """Find queries in an expression; comprehensions add their own loop.
        (Dispatch on the exact type: isinstance on LibCST's ABCs is slow here.)"""
        kind = type(node)
        if kind in _OPAQUE or kind in _LEAVES:
            return
        if kind in _COMPREHENSIONS:
            self.comprehensions.append(node)
            loops = list(enclosing)
            comp: cst.CompFor | None = node.for_in
            while comp is not None:
                outer = list(loops)
                loops.append(Loop(node, comp.iter, frozenset(_target_names(comp.target)), self._batching(comp.target, comp.iter)))
                self._iterated(comp.iter, outer)
                self._visit(comp.iter, outer)
                for cond in comp.ifs:
                    self._visit(cond.test, loops)
                comp = comp.inner_for_in
            for part in [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]:
                self._visit(part, loops)
            return
        if enclosing and kind is cst.Call:
            query = self._call_query(node)
            if query is not None:
                loop = self._loop_for(node, enclosing)
                if loop is not None:
                    self.found.append(LoopQuery(query, loop, self._current_node))
                return
        for child in children(node):
            self._visit(child, enclosing)

    def _iterated(self, iterable: cst.BaseExpression, enclosing: "list[Loop | Stmt]") -> None:
        """A queryset iterated inside a loop runs once per outer iteration."""
        if not enclosing or isinstance(iterable, cst.Name):
            return
        if not self._lazy_queryset(iterable):
            return
        loop = self._loop_for(iterable, enclosing)
        if loop is not None:
            self.found.append(LoopQuery(Query(iterable, render_chain(iterable), "django", ""), loop, self._current_node))

    def _loop_for(self, node: cst.CSTNode, enclosing: "list[Loop | Stmt]") -> Loop | None:
        """The innermost loop that repeats this query with different arguments."""
        for ref in reversed(enclosing):
            loop = self._as_loop(ref)
            if fixed_size(loop.iterable, self.fn, self.local_values) or not_rows(
                loop.iterable, self.fn, self.local_values
            ):
                continue  # a few values, or the values of one document or edit: not rows
            if loop.batching or _in_lookup(node, loop.varying) or shape_varies(node, loop.varying) or filters_differ(
                node, loop.node
            ):
                return None
            if _exits_first_time(loop.node) or self._once_or_per_row_lock(node, loop):
                continue  # once per round of an outer loop at most
            if reports_error_each_round(loop.node) or pages_each_round(loop.node):
                continue  # the error path; item by item on purpose
            if _statement_from(node, loop.varying):
                return None  # running a list of statements, not one query per item
            if _depends(node, loop.varying):
                return loop
        return None

    def _once_or_per_row_lock(self, query: cst.CSTNode, loop: Loop) -> bool:
        """The query runs in one round at most, locks each round's row in that round's
        own transaction, or runs only in rounds that handle a failure (see
        :mod:`scalelint.model.connections.loopsize`)."""
        stmt, loop_stmt = self.current, self._stmt_of.get(id(loop.node))
        if stmt is None or loop_stmt is None:
            return False  # a comprehension: no statements inside
        return (
            runs_once(stmt, loop.node, self._holders)
            or locks_each_row(self.fn, stmt, loop_stmt, query)
            or handles_failure(stmt, loop.node, self._holders)
        )

    def _batching(self, target: cst.BaseExpression, iterable: cst.BaseExpression) -> bool:
        spelled = " ".join(n.value.lower() for n in walk(target) if isinstance(n, cst.Name))
        spelled += " " + (dotted(iterable) or "").lower()
        if isinstance(iterable, cst.Call):
            spelled += " " + (dotted(iterable.func) or "").lower()
        return any(fragment in spelled for fragment in catalog.BATCH_NAME_FRAGMENTS)

    # -- queries ----------------------------------------------------------------------
    def _call_query(self, call: cst.Call) -> Query | None:
        func = call.func
        if isinstance(func, cst.Name) and func.value in catalog.EVALUATING_BUILTINS and call.args:
            inner = call.args[0].value
            if self._lazy_queryset(inner):
                return Query(call, f"{func.value}({render_chain(inner)})", "django", "")
            return None
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = func.value
        handle = work_of(self.fn).handle_of(receiver)
        if handle is not None:
            if method in catalog.LOOP_QUERY_METHODS.get(handle.kind, ()) and not _not_dml(call):
                return Query(call, render_chain(call), "sql" if handle.kind != "session" else "sqlalchemy", _sql_write(call))
            return None
        if method == "execute" and call.args:
            text = string_value(call.args[0].value)
            if text is not None and parse_sql(text) is not None:
                return Query(call, render_chain(call), "sql", _sql_write(call))
        django, alchemy = self._orm_evidence
        if django and method in catalog.DJANGO_QUERY_TERMINALS:
            if self._django_chain(receiver) and not _through(receiver, catalog.DJANGO_EMPTY_METHODS):
                return Query(call, render_chain(call), "django", _django_write(method))
        if alchemy and method in catalog.SQLALCHEMY_QUERY_TERMINALS:
            if _model_query(receiver):
                return Query(call, render_chain(call), "sqlalchemy", "update" if method in ("update", "delete") else "")
        return None

    def _lazy_queryset(self, expr: cst.BaseExpression) -> bool:
        """``Order.objects.filter(...)``: a QuerySet that runs when iterated."""
        return (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in catalog.DJANGO_LAZY_METHODS
            and self._django_chain(expr)
            and not _through(expr, catalog.DJANGO_EMPTY_METHODS)
        )

    def _django_chain(self, expr: cst.BaseExpression) -> bool:
        """Whether ``expr`` is a manager/queryset chain on a model class named in the
        code (``Order.objects...``, ``VLAN.objects...``; not ``model.objects`` with a
        model that changes per iteration: another table each time, nothing to batch)."""
        if not self._orm_evidence[0]:
            return False
        found = django_manager(*unroll(expr))
        return found is not None and _capitalized(found[1])


def render_chain(expr: cst.BaseExpression) -> str:
    """``Customer.objects.filter(...).first()`` for a call chain (arguments elided)."""
    if isinstance(expr, cst.Await):
        return render_chain(expr.expression)
    if isinstance(expr, cst.Call):
        return f"{render_chain(expr.func)}({'...' if expr.args else ''})"
    if isinstance(expr, cst.Attribute):
        return f"{render_chain(expr.value)}.{expr.attr.value}"
    if isinstance(expr, cst.Name):
        return expr.value
    return "…"


def _through(expr: cst.BaseExpression, methods: frozenset[str]) -> bool:
    """Whether a call chain passes through one of ``methods``."""
    while isinstance(expr, (cst.Call, cst.Attribute)):
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in methods:
                return True
            expr = expr.value
        else:
            expr = expr.func
    return False


def _not_dml(call: cst.Call) -> bool:
    """A literal statement that is not a query (DDL, SET, VACUUM): per-item
    maintenance, not the N+1 pattern."""
    if not call.args:
        return False
    text = string_value(call.args[0].value)
    return text is not None and parse_sql(text) is None and not text.lstrip()[:6].upper().startswith("SELECT")


def _capitalized(spelled: str) -> bool:
    """``Order``, ``app.VLAN``: named like a class (acronyms included)."""
    return spelled.rsplit(".", 1)[-1][:1].isupper()


def _model_query(expr: cst.BaseExpression) -> bool:
    """A chain on Flask-SQLAlchemy's query property of a model class (``Order.query.filter_by(...)``)."""
    while True:
        if isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, cst.Attribute) and expr.attr.value == "query":
            owner = dotted(expr.value)
            return owner is not None and _capitalized(owner)
        elif isinstance(expr, cst.Attribute):
            expr = expr.value
        else:
            return False


def _sql_write(call: cst.Call) -> str:
    if not call.args:
        return ""
    text = string_value(call.args[0].value)
    info = parse_sql(text) if text is not None else None
    return info.verb if info is not None and info.is_write else ""


_DJANGO_WRITES = {
    "create": "create", "get_or_create": "create", "update_or_create": "create", "update": "update", "delete": "delete",
}


def _django_write(method: str) -> str:
    plain = method[1:] if method.startswith("a") and method[1:] in _DJANGO_WRITES else method
    return _DJANGO_WRITES.get(plain, "")


def _depends(node: cst.CSTNode, varying: frozenset[str]) -> bool:
    """The query's arguments change per iteration (a loop over database
    aliases feeding only ``.using(alias)`` is one query per database)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name) and current.value in varying:
            return True
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute) and current.func.attr.value == "using":
            stack.append(current.func.value)
            continue
        stack.extend(children(current))
    return False


def _statement_from(node: cst.CSTNode, varying: frozenset[str]) -> bool:
    """``for sql in statements: cursor.execute(sql)``."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in catalog.SPLIT_QUERY_METHODS
        and bool(node.args)
        and node.args[0].keyword is None
        and isinstance(node.args[0].value, cst.Name)
        and node.args[0].value.value in varying
    )


def _in_lookup(node: cst.CSTNode, varying: frozenset[str]) -> bool:
    """``filter(id__in=batch)``: one query per batch, on purpose."""
    for sub in walk(node, into_functions=False):
        if isinstance(sub, cst.Arg) and sub.keyword is not None and sub.keyword.value.endswith("__in"):
            if mentions(sub.value, set(varying)):
                return True
    return False


def _exits_first_time(loop: cst.CSTNode) -> bool:
    """The loop body ends with an unconditional ``return``/``break``."""
    if not isinstance(loop, cst.For) or not isinstance(loop.body, cst.IndentedBlock) or not loop.body.body:
        return False
    last = loop.body.body[-1]
    return isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, (cst.Return, cst.Break)) for s in last.body)

