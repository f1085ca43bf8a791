"""Replica-fed caches (SL204): a key family that a write path deletes and
whose builder refills it from a lagging replica.

The rule joins two families of the model that never import each other: the
cache model (key templates, fills, deletes, TTLs) and the dataflow model
(which reads go through a replica handle), here in the rule and in its facts.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterator

import libcst as cst

from scalelint.core.findings import Related
from scalelint.core.walk import dotted, string_value, walk
from scalelint.model import catalog
from scalelint.model.caches.cachekeys import glob_matches, templates_match
from scalelint.model.caches.caching import CacheModel, CacheOp, cache_model, seconds_of
from scalelint.model.caches.invalidators import helper_deletes
from scalelint.model.caches.keyindex import GlobIndex, TemplateIndex
from scalelint.model.connections import summaries
from scalelint.model.connections.summaries import call_target
from scalelint.model.flow.dataflow import CALL
from scalelint.model.flow.flowgraph import Graph, holds_by_default, local_graph
from scalelint.model.flow.interpret import module_flow
from scalelint.rule import ProjectRule

if TYPE_CHECKING:
    from scalelint.model.flow.dataflow import FunctionFlow, ModuleFlow, Site
    from scalelint.model.function import FunctionModel
    from scalelint.model.module import ModuleModel
    from scalelint.project import ProjectIndex, ProjectReporter


class InvalidatedKeyRefilledFromReplica(ProjectRule):
    """
    ## What it does
    Finds cache key families whose builder — the miss path that computes a
    value and stores it under the key (`cache.set(key, value, ttl)`, redis
    `set`/`setex`) — reads that value from a read replica
    (`.using("replica")`, `.using(settings.DATABASE_CONNECTION_REPLICA_NAME)`,
    a replica engine, session or handle, itself or through a helper of the
    same module or of another module of the project), while some write path
    elsewhere in the project invalidates the family by deleting it (`delete`,
    `delete_many`, `unlink`, an in-process cache's `pop`, a pattern delete), at once or once the
    transaction commits (`transaction.on_commit(lambda: cache.delete(key))`,
    `on_commit(partial(cache.delete, key))`: after the commit the replica can
    still lag). Django's `cache.get_or_set(key, builder, ttl)` is a builder
    too, when the callable it runs on a miss (a lambda calling a helper, or a
    function named as the builder) reads the replica. A caching decorator called with arguments (Flask-Caching's
    `@cache.memoize(600)` / `@cache.cached(key_prefix=...)`, an in-house
    `@cache(key_prefix="x")` or `@memoize(timeout)`) over a function that
    returns a replica read is a builder too, deleted by
    `delete_memoized(func, ...)` or `delete_cached("x")`. The finding is at the replica read, names the delete (and the
    write beside it) and the TTL the stale value will live for.

    ## Why it matters at scale
    Delete-on-write relies on the next miss reading the new row. A replica
    lags the primary, by milliseconds when idle and by seconds under load: the
    request that misses right after the write (often the writer's own
    redirect) reads the old row from the replica and caches it again, for the
    whole TTL. The invalidation ran, yet the cache serves the pre-write value
    until the key expires, and only under load, when lag grows.

    ## Example
    ```python
    from django.core.cache import cache

    from shop.models import Product


    def product_detail(product_id):
        key = f"product:{product_id}"
        data = cache.get(key)
        if data is None:
            data = Product.objects.using("replica").get(pk=product_id)
            cache.set(key, data, 3600)
        return data


    def rename(product_id, name):
        Product.objects.filter(pk=product_id).update(name=name)
        cache.delete(f"product:{product_id}")
    ```

    ## Use instead
    ```python
    from django.core.cache import cache

    from shop.models import Product


    def product_detail(product_id):
        key = f"product:{product_id}"
        data = cache.get(key)
        if data is None:
            data = Product.objects.get(pk=product_id)  # the miss path reads the primary
            cache.set(key, data, 3600)
        return data


    def rename(product_id, name):
        Product.objects.filter(pk=product_id).update(name=name)
        cache.delete(f"product:{product_id}")
    ```
    (or write the new value through on the write path, `cache.set(key,
    new_value, ttl)`, instead of deleting it).

    ## Fix safety
    No automatic fix: whether the builder may read the primary (its load) or
    the write path should write through is a design decision.

    ## Configuration
    `[tool.scalelint.rules.SL204] lag-budget = 5` (seconds, the default):
    entries whose TTL is at most the budget are left alone, as a stale value
    that lives no longer than the replica lag costs nothing the lag does not.
    TTLs spelled as literals, arithmetic, module constants or `timedelta` are
    compared; others are reported. `replica-handles`, `replica-aliases` and
    `primary-handles` tune what counts as a replica (as for SL201);
    `cache-clients` names project cache clients.
    """

    code = "SL204"
    shared_structures = (summaries.CALL_GRAPH,)
    name = "invalidated-key-refilled-from-replica"
    summary = "a cache key deleted on write is refilled from a lagging replica on the next miss"
    #: cache words, and replica words for helper modules that only read the replica
    vocabulary = ("cache", "Cache", "redis", "Redis", "REDIS", "memcache",
                  *sorted({v for w in catalog.REPLICA_WORDS for v in (w, w.capitalize(), w.upper())}))
    options = {"lag-budget": 5}

    def collect_facts(self, module: "ModuleModel") -> Any:
        facts = {"fills": [*self._fills(module), *self._decorated_fills(module)], "deletes": list(self._deletes(module)),
                 "replica_returns": self._replica_returns(module)}
        return {k: v for k, v in facts.items() if v} or None

    def check_project(self, index: "ProjectIndex", out: "ProjectReporter") -> None:
        files = list(index.facts(self.code))
        deletes = [(path, d) for path, facts in files for d in facts.get("deletes", ())]
        if not deletes:
            return
        invalidations = _Invalidations(deletes)
        budget = out.option(self, "lag-budget")
        helpers = _ReplicaHelpers(files, index)
        for path, facts in files:
            for fill in facts.get("fills", ()):
                if fill.get("ttl") is not None and fill["ttl"] <= budget:
                    continue
                if "callee" in fill:
                    fill = helpers.resolved(fill)
                    if fill is None:
                        continue
                found = invalidations.of(fill)
                if found:
                    self._report(out, path, fill, found)

    def _report(self, out: "ProjectReporter", path: str, fill: dict[str, Any], found: list[tuple[str, dict[str, Any]]]) -> None:
        where, first = found[0]
        write = f" after {first['write']}" if first.get("write") else ""
        write += " (on commit: the replica may still lag)" if first.get("on_commit") else ""
        message = (
            f'{_family(fill)} is refilled from the replica ({fill["read"]}) while {os.path.basename(where)}:'
            f'{first["loc"][0]} deletes it{write}: the next miss can cache the pre-write row {fill["lives"]}; '
            f"read the primary on the miss path, or write the new value through"
        )
        related = [Related(p, d["loc"][0], d["loc"][1], f"{_family(d)} deleted here" + (f" after {d['write']}" if d.get("write") else ""))
                   for p, d in found]
        out.report(self, path, *fill["loc"], message, related=related)

    # -- file phase --------------------------------------------------------------------
    def _fills(self, module: "ModuleModel") -> Iterator[dict[str, Any]]:
        """Cache stores whose value derives from a replica read of the same function."""
        cm = cache_model(module)
        flow = None
        for fn in module.functions:
            ops = [op for op in cm.ops(fn) if op.template and op.value is not None]
            stores = [op for op in ops if op.method in catalog.CACHE_FILLS]
            builders = [op for op in ops if op.method in catalog.CACHE_BUILDER_FILLS]
            if not stores and not builders:
                continue
            flow = flow or module_flow(self._ctx)
            flow_fn = flow.functions.get(_qualified(module, fn.qualname))
            reads = _replica_reads(local_graph(flow), flow_fn) if flow_fn is not None else []
            for op in builders:
                found = self._builder_read(flow, fn, op, reads)
                if found is not None:
                    node, read, pending = found
                    yield {**self._fill(module, fn, op, node, read), **pending}
            for op in stores:
                feeding = {id(n) for root in cm.entities.dataflow(fn, op.stmt.ordinal, op.value) for n in walk(root)}
                read = next((r for r in reads if id(r[0]) in feeding), None)
                if read is not None:
                    yield self._fill(module, fn, op, *read)
                elif flow_fn is not None:
                    site = next((site for site in _elsewhere(flow, flow_fn) if id(site.node) in feeding), None)
                    if site is not None:
                        yield {**self._fill(module, fn, op, site.node, f"{site.name}()"), "callee": site.callee}

    def _decorated_fills(self, module: "ModuleModel") -> Iterator[dict[str, Any]]:
        """Functions whose result a caching decorator stores, returning a replica read."""
        flow = None
        for fn in module.functions:
            decorator = _caching_decorator(module, fn)
            if decorator is None:
                continue
            flow = flow or module_flow(self._ctx)
            flow_fn = flow.functions.get(_qualified(module, fn.qualname))
            if flow_fn is None:
                continue
            pending: dict[str, str] = {}
            replica = any(l.replica and holds_by_default(l, flow_fn) for l in flow_fn.returns)
            reads = _replica_reads(local_graph(flow), flow_fn) if replica else []
            if reads:
                node, read = reads[0]
            else:
                returned = {l.ref for l in flow_fn.returns if l.kind == CALL}
                site = next((site for site in _elsewhere(flow, flow_fn) if site.key in returned), None)
                if site is None or site.node is None:
                    continue
                node, read, pending = site.node, f"{site.name}()", {"callee": site.callee}
            prefix = _keyword(decorator, "key_prefix", None)
            ttl_expr = _keyword(decorator, "timeout", 0)
            ttl = seconds_of(ttl_expr, module) if ttl_expr is not None else None
            key = {"key": string_value(prefix)} if prefix is not None and string_value(prefix) else {"memo": _qualified(module, fn.qualname)}
            yield {**key, "fn": _qualified(module, fn.qualname), "read": read, "ttl": ttl,
                   "lives": f"for its whole TTL ({ttl:g} s)" if ttl is not None else "for its whole TTL",
                   "loc": list(self._ctx.location(node, within=fn.node)), **pending}

    def _builder_read(self, flow: "ModuleFlow", fn: "FunctionModel", op: CacheOp,
                      reads: list[tuple[cst.CSTNode, str]]) -> tuple[cst.CSTNode, str, dict[str, str]] | None:
        """The replica read of a ``get_or_set(key, builder)`` builder run on a miss: a
        lambda's own read or call, or a function named as the builder (this module's,
        or another's: then ``callee`` is left for the project phase)."""
        builder = op.value
        assert builder is not None
        if isinstance(builder, cst.Lambda):
            inside = {id(n) for n in walk(builder.body)}
            read = next((r for r in reads if id(r[0]) in inside), None)
            if read is not None:
                return read[0], read[1], {}
            calls = [(n, call_target(fn, n)) for n in walk(builder.body) if isinstance(n, cst.Call)]
        else:
            calls = [(builder, cm_target)] if (cm_target := cache_model(fn.module).function_ref(builder, fn)) else []
        graph = local_graph(flow)
        for node, target in calls:
            if target is None:
                continue
            helper = flow.functions.get(target)
            if helper is None:
                return node, f"{dotted(node.func if isinstance(node, cst.Call) else node) or target}()", {"callee": target}
            if any(l.replica and holds_by_default(l, helper) for l in graph.returns(helper)):
                found = _replica_reads(graph, helper)
                if found:
                    return node, f"{found[0][1]} via {helper.name}()", {}
        return None

    def _replica_returns(self, module: "ModuleModel") -> dict[str, list[Any]]:
        """Functions returning a replica read when called with their defaults (helpers
        another module's builder may call): qualified name -> [read, line]."""
        flow = module_flow(self._ctx)
        if not flow.handles and not any(o.handle for o in flow.origins.values()):
            return {}
        graph = local_graph(flow)
        found: dict[str, list[Any]] = {}
        for key, flow_fn in flow.functions.items():
            if any(l.replica and holds_by_default(l, flow_fn) for l in graph.returns(flow_fn)):
                reads = _replica_reads(graph, flow_fn)
                if reads:
                    found[key] = [reads[0][1], self._ctx.location(reads[0][0])[0]]
        return found

    def _fill(self, module: "ModuleModel", fn: "FunctionModel", op: CacheOp, node: cst.CSTNode, read: str) -> dict[str, Any]:
        ttl = op.lifetime(module)
        return {"key": op.template, "fn": _qualified(module, fn.qualname), "read": read, "ttl": ttl,
                "lives": _lifetime(op, ttl), "loc": list(self._ctx.location(node, within=fn.node))}

    def _deletes(self, module: "ModuleModel") -> Iterator[dict[str, Any]]:
        """Every key family a function deletes, with the write beside it."""
        cm = cache_model(module)
        for fn in module.functions:
            writes = cm.entities.of(fn).writes
            ops = cm.ops(fn)
            scans_delete = any(op.method in catalog.CACHE_DELETES for op in ops)  # ``for k in scan_iter(p): delete(k)``
            calls = [(op.call, _deleted_keys(cm, fn, op, scans_delete), False) for op in ops]
            calls += [(call, keys, False) for call, keys in helper_deletes(cm, fn)]
            calls += [(anchor, _deleted_keys(cm, fn, op, False), True) for op, anchor in _on_commit_ops(cm, fn)]
            for call, keys, deferred in calls:
                if not keys:
                    continue
                line, col, _, _ = self._ctx.location(call, within=fn.node)
                for key in keys:
                    fact = {**key, "fn": _qualified(module, fn.qualname), "loc": [line, col]}
                    if writes:
                        fact["write"] = writes[0].describe()
                    if deferred:
                        fact["on_commit"] = True
                    yield fact


class _Invalidations:
    """The project's cache deletes, found by the key families they cover."""

    def __init__(self, deletes: list[tuple[str, dict[str, Any]]]) -> None:
        self.deletes = deletes
        self.templates = TemplateIndex((d["key"], i) for i, (_, d) in enumerate(deletes) if "key" in d and "glob" not in d)
        self.memos: dict[str, list[int]] = {}
        for i, (_, d) in enumerate(deletes):
            if "memo" in d:
                self.memos.setdefault(d["memo"], []).append(i)
        self.globs = GlobIndex((d["glob"], i) for i, (_, d) in enumerate(deletes) if "glob" in d)

    def of(self, fill: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Deletes of the fill's family on another function's path, in a stable order."""
        if "memo" in fill:
            hits = list(self.memos.get(fill["memo"], ()))
        else:
            key = fill["key"]
            hits = [i for i in self.templates.candidates(key) if templates_match(self.deletes[i][1]["key"], key)]
            hits += [i for i in self.globs.candidates(key) if glob_matches(self.deletes[i][1]["glob"], key)]
        found = [self.deletes[i] for i in hits if self.deletes[i][1]["fn"] != fill["fn"]]
        return sorted(found, key=lambda d: (d[0], d[1]["loc"]))


class _ReplicaHelpers:
    """The project's functions that return a replica read, for fills whose value comes
    from a call into another module."""

    def __init__(self, files: list[tuple[str, dict[str, Any]]], index: "ProjectIndex") -> None:
        self.returns = {name: (path, read) for path, facts in files for name, read in facts.get("replica_returns", {}).items()}
        self.index = index
        self._graph: summaries.CallGraph | None = None

    def resolved(self, fill: dict[str, Any]) -> dict[str, Any] | None:
        """The fill with the helper's replica read named, or None when the callee reads none."""
        callee = fill["callee"]
        if callee not in self.returns and self.returns:
            self._graph = self._graph or summaries.call_graph(self.index)
            callee = self._graph.resolve(callee) or callee
        found = self.returns.get(callee)
        if found is None:
            return None
        path, (read, line) = found
        return {**fill, "read": f"{read} via {fill['read']} in {os.path.basename(path)}:{line}"}


def _elsewhere(flow: "ModuleFlow", fn: "FunctionFlow") -> Iterator["Site"]:
    """Calls of the function to project functions another module defines."""
    graph = local_graph(flow)
    for key in fn.sites:
        site = flow.sites.get(key)
        if site is not None and site.node is not None and graph.lookup(site.callee) is None:
            yield site


def _on_commit_ops(cm: CacheModel, fn: "FunctionModel") -> Iterator[tuple[CacheOp, cst.Call]]:
    """Cache calls handed to a commit hook (``transaction.on_commit(lambda: cache.delete(k))``,
    ``on_commit(partial(cache.delete, k))``): they run after the commit, and the next miss
    still refills from a replica that may not have the write yet. Each with the call
    of the tree to report at (the ``partial(...)`` for a partial)."""
    for stmt, call in fn.calls():
        if (dotted(call.func) or "").rsplit(".", 1)[-1] not in catalog.ON_COMMIT_HOOKS:
            continue
        for arg in call.args:
            handed = arg.value
            if isinstance(handed, cst.Lambda):
                inner = [(n, n) for n in walk(handed.body) if isinstance(n, cst.Call)]
            elif isinstance(handed, cst.Call) and handed.args and fn.module.qualified(handed.func) == "functools.partial":
                inner = [(cst.Call(func=handed.args[0].value, args=handed.args[1:]), handed)]
            else:
                continue
            for sub, anchor in inner:
                op = cm.op_of(fn, stmt, sub)
                if op is not None and op.method in catalog.CACHE_DELETES:
                    yield op, anchor


def _deleted_keys(cm: CacheModel, fn: "FunctionModel", op: CacheOp, scans_delete: bool) -> list[dict[str, str]]:
    """The key families one cache call deletes: templates, or a pattern's glob
    (a pattern delete, or a scan in a function that deletes what it finds)."""
    if op.method in catalog.CACHE_PATTERN_DELETES or (scans_delete and op.method in catalog.CACHE_SCANS):
        pattern = string_value(op.call.args[0].value) if op.call.args else None
        pattern = pattern or op.template
        return [{"key": pattern, "glob": pattern}] if pattern else []
    if op.method not in catalog.CACHE_DELETES or op.method.startswith("delete_memoized"):
        return []
    return [{"key": t} for t in cm.deleted_templates(op, fn) if t]


def _family(fact: dict[str, Any]) -> str:
    """A key family as messages name it."""
    return f'"{fact["key"]}"' if "key" in fact else f"the memoized {fact['memo'].rsplit('.', 1)[-1]}() result"


def _caching_decorator(module: "ModuleModel", fn: "FunctionModel") -> cst.Call | None:
    """A decorator call that stores the function's result in a shared cache."""
    for dec in fn.node.decorators:
        call = dec.decorator
        if not isinstance(call, cst.Call):
            continue
        spelled = dotted(call.func) or ""
        if spelled.rsplit(".", 1)[-1] in catalog.CACHING_DECORATOR_NAMES and module.qualified(call.func) not in catalog.IN_PROCESS_MEMOIZERS:
            return call
    return None


def _keyword(call: cst.Call, name: str, position: int | None) -> cst.BaseExpression | None:
    positional = [a.value for a in call.args if a.keyword is None]
    if position is not None and position < len(positional):
        return positional[position]
    return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def _replica_reads(graph: Graph, fn: "FunctionFlow") -> list[tuple[cst.CSTNode, str]]:
    """(node in ``fn``, description) of each replica read that holds when ``fn``
    runs with its defaults: its own, and those of the helpers it calls."""
    out = []
    for kind, item, _, _, site in graph.events(fn):
        if kind != "r":
            continue
        origin, label = item  # type: ignore[misc]
        node = site.node if site is not None else origin.node
        if node is None or not holds_by_default(label, fn):
            continue
        via = f" via {site.name}()" if site is not None else ""
        out.append((node, f"{origin.spelled}{via}"))
    return out


def _lifetime(op: CacheOp, ttl: float | None) -> str:
    """How long the stale entry lives, for the message."""
    if ttl is not None:
        return f"for its whole TTL ({ttl:g} s)"
    expiry = op.expiry()
    if expiry == "forever":
        return "with no expiry, until the next delete"
    if expiry == "default":
        return f"for the {op.client.library.name} default timeout"
    return "for its whole TTL"


def _qualified(module: "ModuleModel", qualname: str) -> str:
    return f"{module.module_name}.{qualname}" if module.module_name else qualname


RULES = [InvalidatedKeyRefilledFromReplica]
