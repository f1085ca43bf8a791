"""Read-modify-write of one cache key: a value read from the cache, changed
by arithmetic (directly, or inside the dict or object it holds) and written
back under the same key.

The reader follows, statement by statement from the read to the write:

- **views** of the read object: the name bound to the read and names bound
  to a part of it (``totals = cached.get(id)``, ``row = cached["rows"]``,
  ``cached.setdefault(id, {})``); a change through a view changes the object
  written back;
- **counts**: names bound to arithmetic on the read or a part of it
  (``attempt = data["attempt"] + 1``), and containers holding one
  (``value = {"attempt": attempt}``);
- **changes**: ``view[k] += n`` / ``view.x -= n`` / ``view[k] = view[k] + n``.

A name bound to anything else stops being followed. The write counts when it
stores a count, or the read object after a change; serialisers around the
read and the write (``json.loads``/``json.dumps``, ``int``) are looked
through. Reads and writes serialised by a shared lock (``with cache.lock(k):``,
``lock.acquire()``, ``select_for_update()``) are left out: no update is lost.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import libcst as cst

from scalelint.core.walk import dotted, walk
from scalelint.model import catalog, dbops
from scalelint.model.caches.caching import CacheOp, cache_model
from scalelint.model.caches.wrappers import Wrapper, resolve, wrappers
from scalelint.core.statements import single_assignment

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt

#: cache writes that store a value under a key
STORES = frozenset({"set", "add", "setex"})
#: calls that return a part of the mapping they are called on (a view: changes reach it)
_VIEW_METHODS = frozenset({"get", "setdefault"})
_COUNTING_OPS = (cst.Add, cst.Subtract)
_COUNTING_AUG = (cst.AddAssign, cst.SubtractAssign)


@dataclass(frozen=True)
class ReadModifyWrite:
    """A cache value read, counted and written back to the same key."""

    read: CacheOp
    store: CacheOp
    name: str  # the local the read is bound to
    evidence: str  # the arithmetic, as written (``attempts + 1``, ``d["counter"] += n``)
    reads: str = ""  # the read as called in messages: ``cache.get()``, ``lines.load()``
    writes: str = ""  # the write as called: ``cache.set()``, ``lines.save()``

    def __post_init__(self) -> None:
        if not self.reads:
            object.__setattr__(self, "reads", f"{self.read.client.spelled}.{self.read.method}()")
        if not self.writes:
            object.__setattr__(self, "writes", f"{self.store.client.spelled}.{self.store.method}()")


def read_modify_writes(fn: "FunctionModel") -> list[ReadModifyWrite]:
    """Every read of the function whose value is counted and stored back, once per read."""
    ops = cache_model(fn.module).ops(fn)
    found = wrappers(fn.module, _counts_param)
    resolver = (lambda call: resolve(fn, call, found)) if found else None
    out = []
    for read in ops:
        if read.method != "get" or read.key is None:
            continue
        rmw = _follow(fn, read, ops, resolver)
        if rmw is not None:
            out.append(rmw)
    if resolver is not None:
        for stmt, call in fn.calls():
            wrapper = resolver(call)
            if wrapper is not None and wrapper.reads:
                rmw = _follow_wrapper(fn, stmt, call, wrapper, resolver)
                if rmw is not None:
                    out.append(rmw)
    return out


def _follow(fn: "FunctionModel", read: CacheOp, ops: list[CacheOp],
            resolver: Callable[[cst.Call], Wrapper | None] | None) -> ReadModifyWrite | None:
    name = _bound_name(read)
    stores = [op for op in ops if op.method in STORES and op.key is not None
              and op.client.spelled == read.client.spelled and op.stmt.ordinal >= read.stmt.ordinal
              and same_key(fn, read, op)]
    if not stores:
        return None
    inline = _inline_count(read, stores)
    if inline is not None:
        return inline if not _serialised(fn, read, inline.store) else None
    if name is None:
        return None
    counted = _counted_read(read)
    state = _State(views=set() if counted else {name}, counts={name: counted} if counted else {}, changed=None,
                   resolve=resolver)
    return _walk(fn, read, name, [(op, op.value) for op in stores], state)


def _walk(fn: "FunctionModel", read: CacheOp, name: str,
          stores: list[tuple[CacheOp, cst.BaseExpression | None]], state: "_State") -> ReadModifyWrite | None:
    """Statements from the read on, until a store writes a counted value."""
    by_ordinal: dict[int, list[tuple[CacheOp, cst.BaseExpression | None]]] = {}
    for store, value in stores:
        by_ordinal.setdefault(store.stmt.ordinal, []).append((store, value))
    for stmt in fn.stmts:
        if stmt.ordinal <= read.stmt.ordinal:
            continue
        for store, value in by_ordinal.get(stmt.ordinal, ()):
            evidence = state.stored(value)
            if evidence is not None and not _serialised(fn, read, store):
                return ReadModifyWrite(read, store, name, evidence)
        state.step(stmt)
        if not state.views and not state.counts:
            return None
    return None


def _follow_wrapper(fn: "FunctionModel", stmt: "Stmt", call: cst.Call, reader: Wrapper,
                    resolver: Callable[[cst.Call], Wrapper | None]) -> ReadModifyWrite | None:
    """``lines = lcache.load()`` ... ``lcache.save(day, lines[day])``: the module's own
    reader and writer of one key family, on one receiver and one client."""
    name = _assigned_name(stmt, call)
    inner = reader.op
    if name is None or inner is None or inner.template is None or not isinstance(call.func, cst.Attribute):
        return None
    receiver = _code(call.func.value)
    read = CacheOp(call, inner.client, call.func.attr.value, stmt, None, inner.template)
    stores: list[tuple[CacheOp, cst.BaseExpression | None]] = []
    for later, site in fn.calls():
        writer = resolver(site) if later.ordinal > stmt.ordinal else None
        if (writer is None or writer.stores is None or writer.op is None or not isinstance(site.func, cst.Attribute)
                or writer.op.client.spelled != inner.client.spelled or writer.op.template != inner.template
                or _code(site.func.value) != receiver):
            continue
        store = CacheOp(site, writer.op.client, site.func.attr.value, later, None, inner.template)
        stores.append((store, writer.param_at(site, writer.stores)))
    if not stores:
        return None
    found = _walk(fn, read, name, stores, _State(views={name}, counts={}, changed=None, resolve=resolver))
    if found is None:
        return None
    return ReadModifyWrite(read, found.store, name, found.evidence, reads=f"{receiver}.{read.method}()",
                           writes=f"{receiver}.{found.store.method}()")


def _assigned_name(stmt: "Stmt", call: cst.Call) -> str | None:
    node = stmt.node
    if isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1:
        small = node.body[0]
        if (isinstance(small, cst.Assign) and len(small.targets) == 1 and small.value is call
                and isinstance(small.targets[0].target, cst.Name)):
            return small.targets[0].target.value
    return None


def _counts_param(fn: "FunctionModel", param: str) -> str | None:
    """The arithmetic ``fn`` does on its parameter's contents (``counts[day][line] += 1``)."""
    state = _State(views={param}, counts={}, changed=None)
    for stmt in fn.stmts:
        state.step(stmt)
        if state.changed is not None:
            return state.changed
        if not state.views:
            return None
    return None


def _inline_count(read: CacheOp, stores: list[CacheOp]) -> ReadModifyWrite | None:
    """``cache.set(k, cache.get(k, 0) + 1)``: the read inside the write's arithmetic."""
    for store in stores:
        value = _unwrap(store.value)
        if store.stmt.ordinal != read.stmt.ordinal or not isinstance(value, cst.BinaryOperation):
            continue
        if isinstance(value.operator, _COUNTING_OPS) and any(
                _unwrap(side) is read.call for side in (value.left, value.right)):
            return ReadModifyWrite(read, store, _code(read.call), _code(value))
    return None


def same_key(fn: "FunctionModel", a: CacheOp, b: CacheOp) -> bool:
    """The two calls name the same key: the same key expression, and a key held in a
    local is not bound again between them."""
    assert a.key is not None and b.key is not None
    if _code(a.key) != _code(b.key):
        return False
    names = {n.value for n in _names_in(a.key)}
    first, last = sorted((a.stmt.ordinal, b.stmt.ordinal))
    return not any(first < ordinal < last and bound in names
                   for ordinal, bound, _ in cache_model(fn.module).local_bindings(fn))


@dataclass
class _State:
    views: set[str]
    counts: dict[str, str]  # name -> the arithmetic it holds
    changed: str | None  # the first counting change made through a view
    #: the module's own functions a call runs (a counter given a view changes it)
    resolve: Callable[[cst.Call], Wrapper | None] | None = None

    def stored(self, value: cst.BaseExpression | None) -> str | None:
        value = _unwrap(value)
        if value is None:
            return None
        counted = self.counted(value)
        if counted is not None:
            return counted
        if self.changed is not None and _root(value) in self.views:
            return self.changed
        return None

    def counted(self, expr: cst.BaseExpression) -> str | None:
        """The arithmetic on the read value that ``expr`` holds, if any."""
        expr = _unwrap(expr)
        if isinstance(expr, cst.Name):
            return self.counts.get(expr.value)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, _COUNTING_OPS):
            if self.derived(expr.left) or self.derived(expr.right):
                return _code(expr)
            return None
        if isinstance(expr, cst.Dict):
            parts = [el.value for el in expr.elements]
        elif isinstance(expr, (cst.List, cst.Tuple)):
            parts = [el.value for el in expr.elements]
        else:
            return None
        return next((c for c in map(self.counted, parts) if c is not None), None)

    def derived(self, expr: cst.BaseExpression) -> bool:
        expr = _unwrap(expr)
        if isinstance(expr, cst.Name) and expr.value in self.counts:
            return True
        return _root(expr) in self.views

    def step(self, stmt: "Stmt") -> None:
        node = stmt.node
        if isinstance(node, cst.SimpleStatementLine):
            if self.resolve is not None and self.changed is None:
                self._calls(node)
            for small in node.body:
                self._small(small)
        elif isinstance(node, cst.For):
            for target in _names_in(node.target):
                self._kill(target.value)
        elif isinstance(node, cst.With):
            for item in node.items:
                if item.asname is not None:
                    for target in _names_in(item.asname.name):
                        self._kill(target.value)

    def _calls(self, node: cst.CSTNode) -> None:
        """A view handed to one of the module's functions that counts in its parameter."""
        assert self.resolve is not None
        for sub in walk(node, into_functions=False):
            if type(sub) is not cst.Call:
                continue
            wrapper = self.resolve(sub)
            for param, arithmetic in wrapper.counts if wrapper is not None else ():
                arg = wrapper.param_at(sub, param)
                if arg is not None and _root(arg) in self.views:
                    self.changed = f"{arithmetic}` in `{wrapper.fn.name}()"
                    return

    def _small(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.AugAssign):
            self._augment(small)
            return
        if isinstance(small, cst.Assign):
            targets, value = [t.target for t in small.targets], small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            targets, value = [small.target], small.value
        else:
            return
        for target in targets:
            self._bind(target, value)

    def _augment(self, aug: cst.AugAssign) -> None:
        if not isinstance(aug.operator, _COUNTING_AUG):
            self._bind_other(aug.target)
            return
        target = aug.target
        text = _short(aug)
        if isinstance(target, cst.Name):
            if target.value in self.views or target.value in self.counts:
                self.counts[target.value] = text
                self.views.discard(target.value)
        elif _root(target) in self.views and self.changed is None:
            self.changed = text

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            name = target.value
            counted = self.counted(value)
            view = _root(_unwrap_view(value)) in self.views and _is_view(value)
            self._kill(name)
            if counted is not None:
                self.counts[name] = counted
            elif view:
                self.views.add(name)
        elif isinstance(target, (cst.Subscript, cst.Attribute)):
            if _root(target) in self.views and self.changed is None:
                counted = self.counted(value)
                if counted is not None:
                    self.changed = f"{_code(target)} = {counted}"
        elif isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, cst.Call):
            passed = {a.value.value for a in value.args if isinstance(a.value, cst.Name)}
            for name in _names_in(target):  # ``summary, lines = parse(err, lines=lines)``: handed back
                if name.value not in passed or name.value not in self.views:
                    self._kill(name.value)
        else:
            self._bind_other(target)

    def _bind_other(self, target: cst.BaseExpression) -> None:
        for name in _names_in(target):
            self._kill(name.value)

    def _kill(self, name: str) -> None:
        self.views.discard(name)
        self.counts.pop(name, None)


def _bound_name(read: CacheOp) -> str | None:
    """The local a read is bound to: ``n = get(k)``, ``n: int = get(k, 0)``,
    ``data = json.loads(r.get(k))``, ``n = int(r.get(k) or 0)``."""
    assigned = single_assignment(read.stmt.node)
    if assigned is None:
        return None
    target, value = assigned
    if isinstance(target, cst.Name) and (_unwrap(value) is read.call or _counted_read(read) is not None):
        return target.value
    return None


def _counted_read(read: CacheOp) -> str | None:
    """``n = cache.get(k, 0) + 1``: the arithmetic when the read is bound already counted."""
    small = read.stmt.node.body[0] if isinstance(read.stmt.node, cst.SimpleStatementLine) else None
    value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
    value = _unwrap(value)
    if (isinstance(value, cst.BinaryOperation) and isinstance(value.operator, _COUNTING_OPS)
            and any(_unwrap(side) is read.call for side in (value.left, value.right))):
        return _code(value)
    return None


def _unwrap(expr: cst.BaseExpression | None) -> cst.BaseExpression | None:
    """Look through ``await``, parentheses-free serialisers and numeric casts, and
    ``x or default``."""
    while expr is not None:
        if isinstance(expr, cst.Await):
            expr = expr.expression
        elif isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
            expr = expr.left
        elif (isinstance(expr, cst.Call) and len(expr.args) >= 1 and expr.args[0].keyword is None
              and (dotted(expr.func) or "") in catalog.CACHE_VALUE_CODECS):
            expr = expr.args[0].value
        else:
            return expr
    return None


def _unwrap_view(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.expression if isinstance(expr, cst.Await) else expr


def _is_view(expr: cst.BaseExpression) -> bool:
    """A part of a mapping or object, not a copy: names, subscripts, attributes,
    ``m.get(k)`` / ``m.setdefault(k, d)``."""
    return _root(expr) is not None


def _root(expr: cst.BaseExpression | None) -> str | None:
    """The local a subscript/attribute/view-call chain starts from."""
    while expr is not None:
        if isinstance(expr, cst.Name):
            return expr.value
        if isinstance(expr, (cst.Subscript, cst.Attribute)):
            expr = expr.value
        elif (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
              and expr.func.attr.value in _VIEW_METHODS):
            expr = expr.func.value
        else:
            return None
    return None


def _names_in(expr: cst.BaseExpression) -> list[cst.Name]:
    if isinstance(expr, cst.Name):
        return [expr]
    if isinstance(expr, (cst.Tuple, cst.List)):
        return [n for el in expr.elements for n in _names_in(el.value)]
    if isinstance(expr, cst.StarredElement):
        return _names_in(expr.value)
    if isinstance(expr, cst.FormattedString):
        return [n for part in expr.parts if isinstance(part, cst.FormattedStringExpression)
                for n in _names_in(part.expression)]
    if isinstance(expr, (cst.BinaryOperation,)):
        return _names_in(expr.left) + _names_in(expr.right)
    if isinstance(expr, cst.Call):
        return [n for arg in expr.args for n in _names_in(arg.value)]
    return []


def _serialised(fn: "FunctionModel", read: CacheOp, store: CacheOp) -> bool:
    """The read and the write run under a lock every process shares."""
    module = fn.module
    for kind, node in store.stmt.context:
        if kind == "with" and isinstance(node, cst.With) and any(
                dbops.is_lock_context(item.item, module) for item in node.items):
            return True
    for stmt, call in fn.calls():
        if stmt.ordinal > store.stmt.ordinal:
            break
        if dbops.takes_shared_lock(call, module):
            return True
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in catalog.ROW_LOCK_METHODS:
            return True
    return False


def _short(aug: cst.AugAssign) -> str:
    """``d.setdefault(k, {...})["counter"] += n`` as ``…["counter"] += n`` when long."""
    text = " ".join(_code(aug).split())
    target = aug.target
    if len(text) > 60 and isinstance(target, (cst.Subscript, cst.Attribute)):
        tail = _code(target)[len(_code(target.value)):]
        text = " ".join(f"…{tail} {_code(aug.operator).strip()} {_code(aug.value)}".split())
    return text


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
