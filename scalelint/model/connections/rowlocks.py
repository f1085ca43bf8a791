"""Row locks held across work (SL105).

Inside an explicit transaction (:func:`work_of`'s ``transactions``), a row
lock is taken by ``select_for_update()`` / ``with_for_update()`` in a query
chain, by a helper named for it (``stock_qs_select_for_update()``) or by SQL
text with ``FOR UPDATE``. From then on every other transaction that wants
those rows waits until the commit. What matters is what runs between the
lock and the transaction's last write: project or unknown calls that do no
database work (the :class:`FunctionWork` classification, minus anything
that reads or writes through the ORM or a handle).
"""
from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from scalelint.model import catalog
from scalelint.model.dbops import first_class, unroll
from scalelint.model.function import FunctionModel, Stmt
from scalelint.model.sql import parse_sql
from scalelint.model.connections.work import HELPER_DEPTH, CallInfo, Transaction, mentions, root_name, work_of
from scalelint.core.walk import dotted, string_value, walk

#: methods that write through the ORM or a handle (instance, queryset, session, statement)
_WRITE_METHODS = frozenset({
    *catalog.INSTANCE_SAVE_METHODS, *catalog.DJANGO_WRITE_METHODS, *catalog.SA_INSTANCE_WRITES,
    *catalog.SA_FLUSH_METHODS,
})
#: chain links that show a call runs through the ORM
_ORM_LINKS = frozenset({"objects", "query", "_default_manager", "_base_manager"})
#: calls of a locked row's own methods that reach the database
_ROW_DB_METHODS = frozenset({"refresh_from_db", "arefresh_from_db"})


@dataclass(frozen=True)
class LockedWork:
    """One row lock and the unrelated calls made while it is held, before the write."""

    tx: Transaction
    lock: cst.Call
    lock_stmt: Stmt
    table: str  # "Stock", or "" when unknown
    write: Stmt
    work: tuple[tuple[cst.Call, CallInfo], ...]
    tested: frozenset[int] = frozenset()  # ids of the work calls made in an ``if``/``while`` test

    @property
    def only_tested(self) -> bool:
        """Every call named is a predicate deciding a branch (``if ... and Bundle.bundleable(c):``)."""
        return all(id(call) in self.tested for call, _ in self.work)


def row_lock(call: cst.Call) -> bool:
    """``qs.select_for_update()``, ``select(T).with_for_update()``,
    ``stock_qs_select_for_update()``, ``cur.execute("... FOR UPDATE")``."""
    func = call.func
    name = (dotted(func) or (func.attr.value if isinstance(func, cst.Attribute) else "")).rsplit(".", 1)[-1]
    if name in catalog.ROW_LOCK_METHODS or any(name.endswith(f"_{m}") for m in catalog.ROW_LOCK_METHODS):
        return True
    if name == "execute" and call.args:
        text = string_value(call.args[0].value)
        info = parse_sql(text) if text is not None else None
        return info is not None and info.locks
    return False


def locked_table(call: cst.Call) -> str:
    """The model or table a lock call names (``Stock`` / ``orders``), else ""."""
    if isinstance(call.func, cst.Attribute) and call.func.attr.value == "execute" and call.args:
        text = string_value(call.args[0].value)
        info = parse_sql(text) if text is not None else None
        return info.table if info is not None else ""
    root, steps = unroll(call)
    for candidate in (root, *(s.call.args[0].value for s in steps if s.call is not None and s.call.args)):
        found = first_class(candidate) if isinstance(candidate, (cst.Name, cst.Attribute)) else None
        if found:
            return found
    if isinstance(root, cst.Call) and root.args:
        return first_class(root.args[0].value) or ""
    return ""


def writes(call: cst.Call) -> bool:
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    if func.attr.value in _WRITE_METHODS:
        return True
    if func.attr.value in ("execute", "executemany") and call.args:
        text = string_value(call.args[0].value)
        info = parse_sql(text) if text is not None else None
        return info is None or info.is_write  # an unknown statement may write
    return False


def database_call(fn: FunctionModel, call: cst.Call, locked: frozenset[str] = frozenset(), depth: int = HELPER_DEPTH) -> bool:
    """The call reads or writes the database itself: a lock, a write, an ORM chain,
    a handle's method, a method of a locked row, or a module helper that does one
    (followed ``depth`` levels)."""
    if row_lock(call) or writes(call):
        return True
    work = work_of(fn)
    _, steps = unroll(call.func)
    if any(step.name in _ORM_LINKS for step in steps):
        return True
    if isinstance(call.func, cst.Attribute):
        receiver, method = call.func.value, call.func.attr.value
        if work.handle_of(receiver) is not None or root_name(receiver) in work.handles:
            return True
        if root_name(receiver) in locked or method in _ROW_DB_METHODS:
            return True
        if method in catalog.DJANGO_QUERY_TERMINALS or method in catalog.DJANGO_LAZY_METHODS:
            return True
    helper = work.local_function(call.func) if depth > 0 else None
    return helper is not None and any(database_call(helper, inner, depth=depth - 1) for _, inner in helper.calls())


def _bound_names(stmt: Stmt) -> frozenset[str]:
    """Names the statement binds (``stock = ...``, ``for line in ...``, ``with ... as x``)."""
    node = stmt.node
    targets: list[cst.CSTNode] = []
    if isinstance(node, cst.SimpleStatementLine):
        for small in node.body:
            if isinstance(small, cst.Assign):
                targets.extend(t.target for t in small.targets)
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                targets.append(small.target)
    elif isinstance(node, cst.For):
        targets.append(node.target)
    elif isinstance(node, cst.With):
        targets.extend(i.asname.name for i in node.items if i.asname is not None)
    return frozenset(n.value for t in targets for n in walk(t) if isinstance(n, cst.Name))


def locked_work(fn: FunctionModel) -> list[LockedWork]:
    """Every row lock taken inside a transaction of ``fn`` that is held across
    calls doing no database work before the transaction's last write."""
    work = work_of(fn)
    out: list[LockedWork] = []
    for tx in work.transactions:
        stmts = [s for s in fn.stmts[tx.first : tx.last + 1] if not _error_path(s)]
        found = _first_lock(stmts)
        if found is None:
            continue
        lock_stmt, lock = found
        after = [s for s in stmts if s.ordinal > lock_stmt.ordinal]
        written = [s for s in after if any(writes(c) for c in _calls(s))]
        if not written:
            continue
        last_write = written[-1]
        locked = set(_bound_names(lock_stmt))
        if isinstance(lock.func, cst.Attribute) and root_name(lock.func.value):
            locked.add(root_name(lock.func.value))  # ``cur.execute("... FOR UPDATE")``: rows come from ``cur``
        calls: list[tuple[cst.Call, CallInfo]] = []
        tested: set[int] = set()
        for stmt in after:
            if stmt.ordinal >= last_write.ordinal:
                break
            found = _work_calls(fn, stmt, frozenset(locked))
            calls.extend(found)
            if isinstance(stmt.node, (cst.If, cst.While)):
                tested.update(id(call) for call, _ in found)
            if any(row_lock(c) for c in _calls(stmt)) or any(mentions(part, locked) for part in stmt.header_parts()):
                locked |= _bound_names(stmt)  # another lock, or rows of a locked set (``for stock in stocks``)
        if calls:
            out.append(LockedWork(tx, lock, lock_stmt, locked_table(lock), last_write, tuple(calls), frozenset(tested)))
    return out


def _first_lock(stmts: list[Stmt]) -> tuple[Stmt, cst.Call] | None:
    for stmt in stmts:
        for call in _calls(stmt):
            if row_lock(call):
                return stmt, call
    return None


def _calls(stmt: Stmt) -> list[cst.Call]:
    return [sub for part in stmt.header_parts() for sub in walk(part, into_functions=False) if isinstance(sub, cst.Call)]


def _work_calls(fn: FunctionModel, stmt: Stmt, locked: frozenset[str]) -> list[tuple[cst.Call, CallInfo]]:
    """The statement's outermost calls that are project or unknown work independent of
    the locked rows (work given the rows, or values read from them, needs the lock)."""
    if _raises(stmt):
        return []  # the transaction rolls back: the lock ends with it
    work = work_of(fn)
    out: list[tuple[cst.Call, CallInfo]] = []
    skipped: list[cst.Call] = []
    for call in _calls(stmt):
        if any(_within(call, outer) for outer in (*skipped, *(c for c, _ in out))):
            continue
        if mentions(call, locked) or _inherited(call) or database_call(fn, call, locked):
            skipped.append(call)
            continue
        info = work.classify(call, work.handles)
        if info.kind == "business" and _does_work(fn, call, HELPER_DEPTH):
            out.append((call, info))
    return out


def _does_work(fn: FunctionModel, call: cst.Call, depth: int) -> bool:
    """Whether a call classified as business is the project's own cost: an imported
    project callable (its body is out of sight), or a helper of this module that makes
    one. Library utilities (formatting, ids, clocks: ``humanize``/``uuid``/``time``),
    methods of objects of unknown type and helpers made only of those cost microseconds."""
    if _constructs(call):
        return False
    helper = work_of(fn).local_function(call.func)
    if helper is None or depth <= 0:
        return True
    return any(
        work_of(helper).classify(inner).kind == "business" and _does_work(helper, inner, depth - 1)
        for _, inner in helper.calls()
    )


def _constructs(call: cst.Call) -> bool:
    """``Channel(step)`` / ``Policy.Channel(step)``: building a value of a class (an enum
    member, an unsaved model instance), not running the project's logic."""
    func = call.func
    name = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""
    return name[:1].isupper() and not name.isupper()


def _raises(stmt: Stmt) -> bool:
    return isinstance(stmt.node, cst.SimpleStatementLine) and any(isinstance(s, cst.Raise) for s in stmt.node.body)


def _inherited(call: cst.Call) -> bool:
    """``super().save(...)``: a parent class's method, whose body is not in sight."""
    root = call.func
    while isinstance(root, (cst.Attribute, cst.Call)):
        root = root.value if isinstance(root, cst.Attribute) else root.func
    return isinstance(root, cst.Name) and root.value == "super"


def _within(inner: cst.Call, outer: cst.Call) -> bool:
    return inner is not outer and any(sub is inner for sub in walk(outer, into_functions=False))


def _error_path(stmt: Stmt) -> bool:
    return any(kind in ("except", "finally") for kind, _ in stmt.context)
