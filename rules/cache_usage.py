"""Cache usage rules (SL306–SL310): cache code that is right on one machine
and wrong under load — invalidations that run before the commit, a round
trip per loop item, hot keys recomputed by every miss at once, empty results
taken for misses, and counters kept with a read and then a write.

They read the cache model (``scalelint.model.caches.caching``): the cache
calls of a function, their clients' library semantics (does ``get`` return
the stored object or bytes, which method increments atomically) and key
templates, so two calls name the same key family only when their keys agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libcst as cst

from scalelint.core.findings import Confidence, Fix, FixSafety
from scalelint.model import catalog, dbops
from scalelint.model.caches.aggregates import aggregate_between, builder_aggregate
from scalelint.model.caches.cachekeys import HOLE, key_words
from scalelint.model.caches.caching import CacheOp, cache_model
from scalelint.model.caches.counters import read_modify_writes
from scalelint.model.caches.keylists import read_from_cache
from scalelint.model.caches.keybounds import bounded_key, names_host, per_host_pattern
from scalelint.model.connections.work import Transaction, mentions, work_of
from scalelint.model.contexts import ONE_SHOT, REQUEST, SCHEDULED
from scalelint.model.entities import EntityWrite
from scalelint.model.function import FunctionModel, Stmt
from scalelint.core.walk import dotted, walk
from scalelint.model.connections import summaries
from scalelint.model.spots import statement_locator
from scalelint.rule import ProjectRule, Rule

from .invalidation_paths import Invalidators, invalidation_facts

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel
    from scalelint.project import ProjectIndex, ProjectReporter

#: words without which a file has no cache client (prefilter)
CACHE_VOCABULARY = ("cache", "Cache", "redis", "Redis", "REDIS", "memcache")
#: cache writes that store a value under the read key
_STORES = frozenset({"set", "add", "setex"})
#: calls whose result is a collection (empty when nothing matched)
_COLLECTIONS = frozenset({"list", "dict", "set", "tuple", "sorted", "frozenset"})
#: calls and methods whose result is a number that is 0 when nothing matched
_COUNTS = frozenset({"len", "sum", "count"})
#: query methods whose result is a (possibly empty) collection of rows
_QUERY_RESULTS = frozenset({"values", "values_list", "filter", "exclude", "all", "order_by", "distinct", "fetchall"})


@dataclass(frozen=True)
class CacheRead:
    """``name = client.get(key ...)``: a cache read bound to a local name."""

    op: CacheOp
    name: str
    value: cst.BaseExpression  # the assigned expression around the get call
    has_default: bool  # ``get(key, default)``, ``get(...) or default``, ``int(get(...) or 0)``
    falsy_default: bool = False  # ``get(key, {})``: a miss and an empty hit look alike


def cache_reads(fn: FunctionModel) -> list[CacheRead]:
    """Every ``get`` of the function bound by a plain assignment to one name."""
    out = []
    for op in cache_model(fn.module).ops(fn):
        if op.method != "get" or op.key is None:
            continue
        read = _bound_read(op)
        if read is not None:
            out.append(read)
    return out


def _bound_read(op: CacheOp) -> CacheRead | None:
    node = op.stmt.node
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return None
    assign = node.body[0]
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    if not isinstance(target, cst.Name):
        return None
    value = assign.value
    inner = _unwrap_int(value)
    if _unwrap(inner) is op.call:
        default = _get_default(op.call)
        return CacheRead(op, target.value, value, default is not None or inner is not value,
                         falsy_default=default is not None and _falsy_literal(default))
    if isinstance(inner, cst.BooleanOperation) and isinstance(inner.operator, cst.Or) and _unwrap(inner.left) is op.call:
        return CacheRead(op, target.value, value, True)
    return None


def _unwrap(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.expression if isinstance(expr, cst.Await) else expr


def _unwrap_int(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``int(x)`` -> ``x`` (a counter parsed from raw bytes)."""
    if isinstance(expr, cst.Call) and dotted(expr.func) in ("int", "float") and len(expr.args) == 1:
        return expr.args[0].value
    return expr


def _get_default(call: cst.Call) -> cst.BaseExpression | None:
    positional = [a for a in call.args if a.keyword is None]
    if len(positional) > 1:
        return positional[1].value
    return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "default"), None)


def _falsy_literal(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, (cst.Dict, cst.List, cst.Tuple, cst.Set)):
        return not expr.elements
    if isinstance(expr, cst.Name):
        return expr.value in ("None", "False")
    return isinstance(expr, cst.Integer) and expr.value == "0" or isinstance(expr, cst.SimpleString) and len(expr.evaluated_value) == 0


def same_key(a: CacheOp, b: CacheOp) -> bool:
    """Whether two cache calls name the same key (template, else the same spelling)."""
    if a.template is not None and b.template is not None:
        return a.template == b.template
    assert a.key is not None and b.key is not None
    return _code(a.key) == _code(b.key)


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _later_stores(fn: FunctionModel, read: CacheRead) -> list[CacheOp]:
    return [
        op for op in cache_model(fn.module).ops(fn)
        if op.method in _STORES and op.key is not None and op.client.spelled == read.op.client.spelled
        and op.stmt.ordinal > read.op.stmt.ordinal and same_key(op, read.op)
    ]


def _last_assignment(fn: FunctionModel, name: str, before: int) -> cst.BaseExpression | None:
    found = None
    for stmt in fn.stmts:
        if stmt.ordinal >= before:
            break
        node = stmt.node
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                if isinstance(small, cst.Assign) and any(
                    isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets
                ):
                    found = small.value
    return found


class FalsyCacheHit(Rule):
    """
    ## What it does
    Finds a cache read tested for truthiness (`if not x:`, `if x:`,
    `cache.get(k) or compute()`) where the value stored on the miss path can
    be empty: a list or dict, a comprehension, a count, a query's rows
    (`list(...)`, `.values()`, `.filter(...)`, `len(...)`), built in the
    function itself (what another function returns is not judged: on real
    code those were remote lookups that are never empty in practice). Clients that
    return the stored object count (Django's cache, Flask-Caching, aiocache);
    raw redis clients return bytes, which are truthy for any serialized value.

    ## Why it matters at scale
    An empty result is cached and then read back as a miss: every request
    recomputes it, and the query the cache was meant to absorb runs at full
    traffic for exactly the keys that match nothing (new users, empty carts,
    search terms with no hits) — often the most frequent ones.

    ## Example
    ```python
    from django.core.cache import cache

    from shop.models import Order


    def open_orders(user_id):
        orders = cache.get(f"open:{user_id}")
        if not orders:
            orders = list(Order.objects.filter(user_id=user_id, open=True))
            cache.set(f"open:{user_id}", orders, 300)
        return orders
    ```

    ## Use instead
    ```python
    from django.core.cache import cache

    from shop.models import Order


    def open_orders(user_id):
        orders = cache.get(f"open:{user_id}")
        if orders is None:
            orders = list(Order.objects.filter(user_id=user_id, open=True))
            cache.set(f"open:{user_id}", orders, 300)
        return orders
    ```

    ## Fix safety
    Safe: `if not x:` becomes `if x is None:` and `if x:` becomes
    `if x is not None:` when `get` is called without a default (a miss is
    `None`, and `None` is never stored by the miss path shown). No fix for
    `get(...) or compute()`, which needs a statement of its own.

    ## Configuration
    `cache-clients` names project cache clients the conventions do not reveal.

    Reported at low confidence (shown with `--min-confidence low`) when the
    key is fixed: a literal, a constant or class attribute, or a key whose
    variable parts only name the writing host or process. One global entry is
    empty only while the whole data set is, not for every user or id that
    matches nothing.
    """

    code = "SL309"
    name = "falsy-cache-hit"
    summary = "an empty cached result is treated as a miss and recomputed on every request"
    vocabulary = CACHE_VOCABULARY
    fix_safety = FixSafety.SAFE

    def check_function(self, fn: FunctionModel) -> None:
        for read in cache_reads(fn):
            if not read.op.client.library.returns_objects:
                continue
            stores = _later_stores(fn, read)
            empty = next((kind for op in stores if (kind := _empty_kind(fn, op.value, op.stmt.ordinal)) is not None), None)
            if empty is None:
                continue
            confidence = Confidence.LOW if _one_entry(fn, read.op) else Confidence.HIGH
            if isinstance(read.value, cst.BooleanOperation):
                self.report(read.value, self._message(read, empty, "`or`"), confidence=confidence)
                continue
            if read.has_default and not read.falsy_default:
                continue
            test = _truth_test(fn, read, min(op.stmt.ordinal for op in stores))
            if test is not None:
                node, negated = test
                fix = None if read.has_default else self._fix(node, read.name, negated)
                self.report(node, self._message(read, empty, f"`if {'not ' if negated else ''}{read.name}`"), fix=fix,
                            confidence=confidence)

    @staticmethod
    def _message(read: CacheRead, empty: str, how: str) -> str:
        return (f"{how} treats an empty cached `{read.name}` as a miss, and the miss path stores {empty}: "
                f"empty results are recomputed on every request; test `{read.name} is None`")

    def _fix(self, node: cst.BaseExpression, name: str, negated: bool) -> Fix | None:
        operator: cst.BaseCompOp = cst.Is() if negated else cst.IsNot()
        new = cst.Comparison(cst.Name(name), [cst.ComparisonTarget(operator, cst.Name("None"))])
        return self._ctx.replacement_fix(node, new, f"test `{_code(new)}`", FixSafety.SAFE)


def _one_entry(fn: FunctionModel, op: CacheOp) -> bool:
    """The key is fixed (no per-user or per-id part: a literal, a constant, a
    class attribute, or only the writing host or process): one entry, empty
    only while the whole data set is, not for each entity that has none."""
    if op.template is not None:
        return HOLE not in op.template
    return op.key is not None and bounded_key(cache_model(fn.module), op.key, fn, op.stmt.ordinal)


def _truth_test(fn: FunctionModel, read: CacheRead, before: int) -> tuple[cst.BaseExpression, bool] | None:
    """The first `if x:` / `if not x:` on the read name between the read and the store."""
    for stmt in fn.stmts:
        if not read.op.stmt.ordinal < stmt.ordinal < before:
            continue
        if isinstance(stmt.node, (cst.If, cst.While)):
            test = stmt.node.test
            if isinstance(test, cst.Name) and test.value == read.name:
                return test, False
            if (isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
                    and isinstance(test.expression, cst.Name) and test.expression.value == read.name):
                return test, True
        if _rebinds(stmt, read.name):
            return None
    return None


def _rebinds(stmt: Stmt, name: str) -> bool:
    return any(
        isinstance(node, cst.AssignTarget) and isinstance(node.target, cst.Name) and node.target.value == name
        for part in stmt.header_parts() for node in walk(part)
    )


def _empty_kind(fn: FunctionModel, value: cst.BaseExpression | None, before: int, depth: int = 0) -> str | None:
    """What the stored value is when it can be empty ("a list", "a count"), else None."""
    if value is None or depth > 3:
        return None
    value = _unwrap(value)
    if isinstance(value, (cst.ListComp, cst.List)) and (isinstance(value, cst.ListComp) or not value.elements):
        return "a list"
    if isinstance(value, (cst.DictComp, cst.Dict)) and (isinstance(value, cst.DictComp) or not value.elements):
        return "a dict"
    if isinstance(value, cst.SetComp):
        return "a set"
    if isinstance(value, cst.Integer) and value.value == "0":
        return "0"
    if isinstance(value, cst.Call):
        name = dotted(value.func) or ""
        last = value.func.attr.value if isinstance(value.func, cst.Attribute) else name
        if name in _COLLECTIONS:
            return f"a {name}"
        if last in _COUNTS:
            return "a count"
        if isinstance(value.func, cst.Attribute) and last in _QUERY_RESULTS:
            return "a query's rows"
        return None  # another function's result: its emptiness is not known here
    if isinstance(value, cst.Name):
        return _empty_kind(fn, _last_assignment(fn, value.value, before), before, depth + 1)
    return None


class NonAtomicCacheCounter(Rule):
    """
    ## What it does
    Finds a counter kept in the cache with a read and a write:
    `n = cache.get(k, 0)` (or `get(k) or 0`, `int(r.get(k) or 0)`) followed by
    `cache.set(k, n + 1)` (or `n += 1` then `set(k, n)`) on the same key.
    The value is followed through dict subscripts, nested dicts and
    attributes (`counts = cache.get(k, {})`, `counts.setdefault(user, {})["n"] += 1`,
    then `cache.set(k, counts)`), serialisers (`json.loads(r.get(k))` ...
    `r.set(k, json.dumps(value))`) and locals holding the arithmetic. The same
    key is the same key expression, or the same local not bound again in
    between. The module's own cache wrappers count too: a method returning
    what it read (`lines = lcache.load()`), a method storing its argument
    (`lcache.save(day, lines[day])`) on the same receiver and key family, and
    a helper that counts in the dict it is given (`count(line, lines)` doing
    `lines[day][line] += 1`). Reads and writes under a lock every process
    shares (`with cache.lock(k):`, `select_for_update()`) are left alone.

    ## Why it matters at scale
    Two requests read the same value and both write value + 1: one increment
    is lost. Under load most are: rate limits and login-attempt counters let
    bursts through, quotas undercount, and the loss grows with concurrency.
    The cache has an atomic increment for exactly this.

    ## Example
    ```python
    from django.core.cache import cache


    def count_attempt(user_id):
        key = f"login-attempts:{user_id}"
        attempts = cache.get(key, 0)
        cache.set(key, attempts + 1, 900)
        return attempts + 1
    ```

    ## Use instead
    ```python
    from django.core.cache import cache


    def count_attempt(user_id):
        key = f"login-attempts:{user_id}"
        cache.add(key, 0, 900)
        return cache.incr(key)
    ```

    ## Fix safety
    No automatic fix: the atomic form depends on the library (`incr` raises on
    a missing key in Django's cache; redis `INCR` keeps no TTL unless `EXPIRE`
    follows in a pipeline).

    ## Configuration
    `cache-clients` names project cache clients the conventions do not reveal.
    Not reported in scheduled jobs and the helpers only they call (the
    `scheduled` context): a job a scheduler runs at a fixed interval, one run
    at a time, is the counter's only writer there, so no increment is lost.
    """

    code = "SL310"
    name = "non-atomic-cache-counter"
    summary = "a counter or limit kept with get then set instead of an atomic increment"
    vocabulary = CACHE_VOCABULARY
    contexts = frozenset({REQUEST})  # one scheduled run at a time: no concurrent increment to lose

    def check_function(self, fn: FunctionModel) -> None:
        for rmw in read_modify_writes(fn):
            if rmw.read.client.library.increment is None:
                continue
            self.report(rmw.store.call, (
                f"{rmw.reads} then {rmw.writes} of `{rmw.evidence}` loses concurrent "
                f"updates (two requests read the same count and one write wins); {_atomic_advice(rmw.read)}"
            ))


def _atomic_advice(op: CacheOp) -> str:
    client, lib = op.client.spelled, op.client.library
    if lib.returns_objects:  # framework caches: incr on a missing key raises or starts without a timeout
        return f"use {client}.add(key, 0, timeout) then {client}.{lib.increment}(key)"
    return f"use {client}.{lib.increment}() (with expire() in the same pipeline for a TTL)"


class InvalidationBeforeCommit(ProjectRule):
    """
    ## What it does
    Finds a cache key deleted inside an open transaction that writes the
    entity the key caches (the row read through the ORM in the function) (`with transaction.atomic():`, `@atomic`,
    `with session.begin():`), or deleted before the write on the same path
    when no transaction is open. The key is related to the write by its
    words: `"order:{}"` for a write of `Order`. Deletes done by the
    project's own helpers count too, in any module (`cached_orders.reset()`
    whose body calls `cache.delete(...)`, `delete_memoized(...)` or
    `delete_cached(...)`, directly or through another helper), before a
    write of the same entity, local or through a project function or data
    access object (`order_repo.update(order)`).

    ## Why it matters at scale
    Until the transaction commits, every other connection still reads the old
    row. A request that misses the deleted key in that window (at high
    traffic there is always one) reads the old row and caches it again — for
    the key's whole TTL, long after the commit. The invalidation ran, and the
    cache is stale anyway.

    ## Example
    ```python
    from django.core.cache import cache
    from django.db import transaction

    from shop.models import Order


    def ship(order_id):
        order = Order.objects.get(pk=order_id)
        with transaction.atomic():
            order.status = "shipped"
            order.save()
            cache.delete(f"order:{order.pk}")
            order.events.create(kind="shipped")
    ```

    ## Use instead
    ```python
    from django.core.cache import cache
    from django.db import transaction

    from shop.models import Order


    def ship(order_id):
        order = Order.objects.get(pk=order_id)
        with transaction.atomic():
            order.status = "shipped"
            order.save()
            order.events.create(kind="shipped")
        cache.delete(f"order:{order.pk}")
    ```
    (or `transaction.on_commit(lambda: cache.delete(key))`).

    ## Fix safety
    Unsafe: the delete statement moves to just after the `with` block when it
    is a statement of the block's own body, nothing after it in the block
    rebinds a name its key uses, and the block cannot leave early (`return`,
    `raise`, `break`, `continue`). If the block raises, the moved delete no
    longer runs — the transaction rolled back, so the cached value is still
    right. No fix for decorated transactions or deletes before the write.

    ## Configuration
    `cache-clients` names project cache clients the conventions do not reveal.
    """

    code = "SL306"
    shared_structures = (summaries.CALL_GRAPH,)
    contexts = frozenset({REQUEST, ONE_SHOT, SCHEDULED})  # requests running beside the script re-cache the old row
    name = "invalidation-before-commit"
    summary = "a cached key deleted before the write commits, so a concurrent miss re-caches the old row"
    vocabulary = CACHE_VOCABULARY
    fix_safety = FixSafety.UNSAFE

    def check_function(self, fn: FunctionModel) -> None:
        ops = cache_model(fn.module).ops(fn)
        deletes = [op for op in ops if op.method in catalog.CACHE_DELETES and op.template and not _deferred(op)]
        if not deletes:
            return
        writes = cache_model(fn.module).entities.of(fn).writes
        work = work_of(fn)
        for op in deletes:
            if _lock_key(op, ops):
                continue
            tx = work.transaction_of(op.stmt)
            if tx is not None:
                inside = [w for w in writes if tx.contains(w.stmt) and _caches(op, w)]
                if inside and not _deleted_again(op, ops, tx.last):
                    self.report(op.call, self._in_transaction(op, tx, inside[0]), fix=self._move_after(fn, op, tx))
                continue
            later = [w for w in writes if w.stmt.ordinal > op.stmt.ordinal and _caches(op, w)
                     and work.transaction_of(w.stmt) is None]
            if later and not _deleted_again(op, ops, later[0].stmt.ordinal):
                self.report(op.call, (
                    f"{_describe(op)} runs before {later[0].describe()} (line {_line(self, later[0].stmt)}): a request "
                    f"that misses in between re-caches the old row until the key expires; delete after the write"))

    # -- across modules: deletes done by the project's helpers ----------------------------
    def collect_facts(self, module: "ModuleModel") -> Any:
        locator = statement_locator(module, self._ctx.text, self._ctx.python_tree)

        def locate(call: cst.Call, stmt: Stmt) -> list[int]:
            found = locator.locate(call, stmt.node)
            return list(found if found is not None else self._ctx.location(call, within=stmt.node))

        return invalidation_facts(module, locate) or None

    def check_project(self, index: "ProjectIndex", out: "ProjectReporter") -> None:
        published = list(index.facts(self.code))
        if not any("deleters" in facts for _, facts in published):
            return
        helpers = Invalidators(summaries.call_graph(index), published)
        for path, facts in published:
            for events in facts.get("paths", {}).values():
                for i, event in enumerate(events):
                    if event[0] == "call" and (deleter := helpers.deleter(event[1])) is not None:
                        message = _helper_message(event, deleter, events[i + 1:], helpers)
                        if message is not None:
                            out.report(self, path, *event[3:7], message)

    @staticmethod
    def _in_transaction(op: CacheOp, tx: Transaction, write: EntityWrite) -> str:
        return (f"{_describe(op)} runs inside {tx.label}, before {write.describe()} commits: a request that misses "
                f"until the commit re-caches the old row until the key expires; delete after the block "
                f"(or on commit)")

    def _move_after(self, fn: FunctionModel, op: CacheOp, tx: Transaction) -> Fix | None:
        block = tx.node
        stmt = op.stmt
        if not isinstance(block, cst.With) or stmt.block is not getattr(block.body, "body", None):
            return None
        body = list(block.body.body)
        if len(body) < 2 or not isinstance(stmt.node, cst.SimpleStatementLine) or len(stmt.node.body) != 1:
            return None
        after = body[stmt.index + 1:]
        used = {n.value for n in walk(op.call) if isinstance(n, cst.Name)}
        for node in (n for later in after for n in walk(later)):
            if isinstance(node, (cst.Return, cst.Raise, cst.Break, cst.Continue, cst.Yield)):
                return None
            if isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)) and any(
                isinstance(n, cst.Name) and n.value in used for n in walk(node.target)
            ):
                return None
        for node in walk(stmt.node):
            if isinstance(node, (cst.Return, cst.Raise, cst.Break, cst.Continue, cst.Yield)):
                return None
        kept = block.with_changes(body=block.body.with_changes(body=[b for b in body if b is not stmt.node]))
        moved = stmt.node  # its comments move with it
        return self._ctx.replacement_fix(block, cst.FlattenSentinel([kept, moved]),
                                         f"delete after the {tx.label} block", FixSafety.UNSAFE)


def _helper_message(call: list[Any], deleter: Any, later: list[list[Any]], helpers: Invalidators) -> str | None:
    """The finding's message when a later event on the call's path writes what the
    helper's keys cache (in the same transaction as the call, or with no transaction
    open at the call), and no later call on the write's path deletes the keys again;
    None otherwise."""
    tx = call[7]
    for i, event in enumerate(later):
        if event[0] == "write":
            write, line, opened = event[1], event[3], event[4]
        elif (write := helpers.writes(event[1])) is not None:
            line, opened = event[3], event[7]
        else:
            continue
        if not _reaches(call, event) or (tx and opened != tx) or not deleter.words & set(event[2]):
            continue
        if any(e[0] == "call" and _reaches(event, e) and (d := helpers.deleter(e[1])) and d.words & deleter.words
               for e in later[i + 1:]):
            return None
        helper = ".".join(deleter.chain[-1].rsplit(".", 2)[-2:])
        via = " -> ".join(f"{name.rsplit('.', 1)[-1]}()" for name in deleter.chain)
        where = "inside the transaction, before" if tx else "before"
        return (f"{via} deletes cached keys ({deleter.first} in {helper}) {where} {write} (line {line}) writes "
                f"the rows they cache: a request that misses in between re-caches the old row until the key "
                f"expires; invalidate after the write (or on commit)")
    return None


def _reaches(first: list[Any], then: list[Any]) -> bool:
    """Whether a later event runs on the first one's path (not after its branch returned)."""
    end = first[-1]
    return not end or then[-2] <= end


def _describe(op: CacheOp) -> str:
    return f'{op.client.spelled}.{op.method}("{op.template}")'


def _line(rule: Rule, stmt: Stmt) -> int:
    return rule._ctx.location(stmt.node)[0]


def _deferred(op: CacheOp) -> bool:
    """The delete is handed to an on-commit hook (``transaction.on_commit(lambda: ...)``)."""
    for part in op.stmt.header_parts():
        for node in walk(part):
            if (isinstance(node, cst.Call) and isinstance(node.func, (cst.Attribute, cst.Name))
                    and (dotted(node.func) or "").rsplit(".", 1)[-1] in catalog.ON_COMMIT_HOOKS
                    and any(n is op.call for a in node.args for n in walk(a))):
                return True
    return False


def _lock_key(op: CacheOp, ops: list[CacheOp]) -> bool:
    """The key was taken as a lock (``add``, ``set(..., nx=True)``): deleting it releases the lock."""
    return any(other is not op and other.key is not None and same_key(other, op) and _lock_write(other) for other in ops)


def _lock_write(op: CacheOp) -> bool:
    """A write that succeeds only when the key is absent (``add``, ``setnx``, ``set(nx=True)``): a lock."""
    return op.method in ("add", "setnx") or "nx" in dbops.keywords(op.call)


def _caches(op: CacheOp, write: EntityWrite) -> bool:
    """Whether the key names the written entity (``order:{}`` for ``Order``)."""
    assert op.template is not None
    words = set(key_words(op.template))
    entity = write.entity.rsplit(".", 1)[-1]
    return entity in words or entity.replace("_", "") in words or f"{entity}s" in words


def _deleted_again(op: CacheOp, ops: list[CacheOp], after: int) -> bool:
    return any(
        other is not op and other.method in catalog.CACHE_DELETES and other.key is not None
        and other.stmt.ordinal > after and same_key(other, op)
        for other in ops
    )


class CacheRoundTripsInLoop(Rule):
    """
    ## What it does
    Finds one cache round trip per iteration — `get`, `set`, `delete`,
    `hget`, `expire` and friends on redis-py, Django's cache, Flask-Caching,
    pymemcache or aiocache — in a loop (or comprehension) over a collection
    whose size the code does not fix, with a key built from the loop's item.
    Deletes count only in loops over a key scan (`for key in
    r.scan_iter(...)`): invalidation loops over a few known keys are left
    alone.

    ## Why it matters at scale
    Each call is a network round trip (0.2–1 ms inside a data centre, more
    across zones). A loop over a user's 500 items makes 500 sequential
    trips per request; as collections and traffic grow, the cache that was
    meant to save time becomes the slowest part of the request and the
    cache server's busiest client. One batched call does the same work in
    one trip.

    ## Example
    ```python
    from django.core.cache import cache


    def prices(product_ids):
        return {pid: cache.get(f"price:{pid}") for pid in product_ids}
    ```

    ## Use instead
    ```python
    from django.core.cache import cache


    def prices(product_ids):
        found = cache.get_many([f"price:{pid}" for pid in product_ids])
        return {pid: found.get(f"price:{pid}") for pid in product_ids}
    ```

    ## Fix safety
    No automatic fix: the batched call returns a mapping (or a list) whose
    shape the surrounding code must follow.

    ## Configuration
    `cache-clients` names project cache clients the conventions do not reveal.

    Reported at low confidence (shown with `--min-confidence low`) when the
    loop walks the deployment's own hosts or processes: the loop variable the
    key is built from names a host, node, instance, worker or server
    (`PREFIX + "_instance_" + instance`), or the loop runs over a key scan
    whose wildcard stands for one (`scan_iter(PREFIX + "_instance_*")`).
    Those are a handful of keys, however large the data grows. Also at low
    confidence when the loop's collection was itself read from the cache —
    a key list the code keeps under one key (`keys = cache.get("day_keys")`,
    or a method of the module returning such a read): its length is what the
    application chose to record (the days of a rolling window, the nodes of a
    cluster), not rows or request input.
    """

    code = "SL307"
    name = "cache-round-trips-in-loop"
    summary = "one cache round trip per loop iteration where one batched call would do"
    vocabulary = CACHE_VOCABULARY

    def check_function(self, fn: FunctionModel) -> None:
        from scalelint.model.connections.loops import local_values
        from scalelint.model.connections.loopsize import fixed_size

        values = None
        for op in cache_model(fn.module).ops(fn):
            batch = catalog.CACHE_BATCH_METHODS.get(op.client.library.name, {}).get(op.method)
            if batch is None or op.key is None or _pipelined(op):
                continue
            loop = _per_item_loop(op)
            if loop is None:
                continue
            iterable, targets = loop
            values = values if values is not None else local_values(fn)
            if fixed_size(iterable, fn, values) or not mentions(op.key, targets):
                continue
            if op.method in catalog.CACHE_DELETES and not _scans_keys(iterable):
                continue  # invalidation loops run over a handful of keys; a key scan can be any size
            cm = cache_model(fn.module)
            per_host = all(names_host(t) for t in targets if mentions(op.key, {t})) or (
                _scans_keys(iterable) and bool(iterable.args)
                and per_host_pattern(cm, iterable.args[0].value, fn, op.stmt.ordinal))
            own_key_list = read_from_cache(fn, iterable, values)
            self.report(op.call, (
                f"{op.client.spelled}.{op.method}() runs once per item of `{_code(iterable)}`: one cache round trip "
                f"each, sequentially; use {batch} for the whole collection"
            ), confidence=Confidence.LOW if per_host or own_key_list else Confidence.HIGH)


def _scans_keys(iterable: cst.BaseExpression) -> bool:
    """``for key in r.scan_iter(pattern)``: as many rounds as keys match."""
    return isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute) and (
        iterable.func.attr.value in catalog.CACHE_SCANS
    )


def _pipelined(op: CacheOp) -> bool:
    """Calls on a pipeline are queued and sent in one trip by ``execute()``."""
    spelled = op.client.spelled.lower()
    return "pipe" in spelled or spelled.endswith(".pipeline()") or "batch" in spelled


def _per_item_loop(op: CacheOp) -> tuple[cst.BaseExpression, set[str]] | None:
    """The iterable and target names of the innermost loop (statement or
    comprehension) running the call once per item."""
    for part in op.stmt.header_parts():
        for node in walk(part):
            if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)) and any(
                n is op.call for n in walk(node.elt if not isinstance(node, cst.DictComp) else node.value)
            ) or isinstance(node, cst.DictComp) and any(n is op.call for n in walk(node.key)):
                return node.for_in.iter, _names(node.for_in.target)
    for kind, node in reversed(op.stmt.context):
        if kind == "loop" and isinstance(node, cst.For):
            return node.iter, _names(node.target)
        if kind == "loop":
            return None  # a while loop: its rounds are not items
    return None


def _names(target: cst.BaseExpression) -> set[str]:
    return {n.value for n in walk(target) if isinstance(n, cst.Name)}


class CacheStampede(Rule):
    """
    ## What it does
    Finds cache-aside on a fixed key (no per-user or per-id part) whose miss
    path runs an aggregate query — `.aggregate()`, `.annotate()`, `.count()`,
    SQL with `GROUP BY`, `COUNT(`, `SUM(` — and stores the result with a
    fixed TTL, with nothing making the recompute single-flight: no lock
    (`cache.lock`, `add`, `set(..., nx=True)`) in the function. The
    aggregate may run in a helper of the same module the miss path calls
    (`stats = self._compute_stats()`), or in the builder of
    `cache.get_or_set("key", builder, ttl)` (a lambda or a named function).

    ## Why it matters at scale
    A hot key expires for everyone at the same instant. Every request that
    misses in the next few hundred milliseconds runs the same expensive
    aggregate at once — at 40x traffic, 40x as many copies — and the
    database stalls exactly when the cache was supposed to protect it.

    ## Example
    ```python
    from django.core.cache import cache
    from django.db.models import Sum

    from shop.models import Order


    def revenue_today():
        total = cache.get("revenue:today")
        if total is None:
            total = Order.objects.filter(paid=True).aggregate(total=Sum("amount"))["total"]
            cache.set("revenue:today", total, 60)
        return total
    ```

    ## Use instead
    ```python
    from django.core.cache import cache
    from django.db.models import Sum

    from shop.models import Order


    def revenue_today():
        total = cache.get("revenue:today")
        if total is None and cache.add("revenue:today:lock", 1, 30):
            total = Order.objects.filter(paid=True).aggregate(total=Sum("amount"))["total"]
            cache.set("revenue:today", total, 60)
            cache.delete("revenue:today:lock")
        return total
    ```
    (or refresh the value from a scheduled job, or recompute early with a
    random margin before the TTL ends).

    ## Fix safety
    No automatic fix: what a request does while another recomputes (wait,
    serve the stale value, serve nothing) is the application's choice.

    ## Configuration
    `cache-clients` names project cache clients the conventions do not reveal.
    """

    code = "SL308"
    name = "cache-stampede"
    summary = "a hot, expensive key recomputed by every request that misses at once"
    vocabulary = CACHE_VOCABULARY

    def check_function(self, fn: FunctionModel) -> None:
        ops = None
        for read in cache_reads(fn):
            template = read.op.template
            if template is None or HOLE in template:
                continue  # a key per user or per id: its misses are spread out
            ops = ops if ops is not None else cache_model(fn.module).ops(fn)
            if _single_flight(fn, ops):
                return
            for store in _later_stores(fn, read):
                if store.expiry() != "ttl":
                    continue
                aggregate = aggregate_between(fn, read.op.stmt.ordinal, store.stmt.ordinal)
                if aggregate is not None:
                    self._stampede(store.call, template, aggregate)
                    break
        ops = ops if ops is not None else cache_model(fn.module).ops(fn)
        for op in ops:
            if op.method not in catalog.CACHE_BUILDER_FILLS or op.template is None or HOLE in op.template:
                continue
            if op.value is None or op.expiry() != "ttl" or _single_flight(fn, ops):
                continue
            aggregate = builder_aggregate(fn, op.value)
            if aggregate is not None:
                self._stampede(op.call, op.template, aggregate)

    def _stampede(self, node: cst.CSTNode, template: str, aggregate: str) -> None:
        self.report(node, (
            f'"{template}" is one key for every request; when it expires, each request that misses runs '
            f"{aggregate} at once; recompute it under a lock (add()/set(nx=True)), early, or from a job"
        ))


def _single_flight(fn: FunctionModel, ops: list[CacheOp]) -> bool:
    """A lock taken in the function: ``add``/``setnx``/``set(nx=True)`` or a ``lock()`` call."""
    if any(_lock_write(op) for op in ops):
        return True
    return any(isinstance(call.func, cst.Attribute) and call.func.attr.value == "lock" for _, call in fn.calls())


RULES = [InvalidationBeforeCommit, CacheRoundTripsInLoop, CacheStampede, FalsyCacheHit, NonAtomicCacheCounter]
