"""Client lifecycle rules (SL106): engines, pools and cache or cloud clients
are built once per process and shared; built per call, each request pays
for a new pool and the database or Redis server sees a new pool per request.

Library knowledge (which constructors build a pool-owning client, which
decorators and hooks run a function once) lives in the catalog.
"""
from __future__ import annotations

import libcst as cst

from scalelint.model import catalog
from scalelint.model.contexts import is_test_module
from scalelint.model.function import FunctionModel, Stmt
from scalelint.core.walk import dotted, walk
from scalelint.rule import Rule

#: prefixes of functions that set an application up (run once at start-up)
_STARTUP_PREFIXES = ("init_", "setup_", "configure_", "bootstrap", "startup", "create_app")


class ClientCreatedPerCall(Rule):
    """
    ## What it does
    Finds engines, connection pools and cache or cloud clients constructed
    inside a function that runs per request or per task:
    `create_engine()`, `create_async_engine()`, `asyncpg.create_pool()`,
    psycopg pools, `redis.Redis()` / `from_url()` / `ConnectionPool()`,
    `boto3.client()`. Left alone: module-level clients, functions that run
    once (`functools.cache` / `lru_cache`, start-up hooks, app factories,
    `lifespan`), clients stored on a global, a class or `self` for reuse, and
    factories that return the client to their caller.

    ## Why it matters at scale
    Each of these owns a pool: building one per call opens fresh TCP (and
    TLS, and authentication) connections on every request, never reuses
    them, and leaves the old pools for the garbage collector. At 40x
    traffic the database or Redis sees 40x the connection churn, hits
    `max_connections`, and the latency of every request includes a
    handshake.

    ## Example
    ```python
    import redis


    def unread_count(user_id):
        client = redis.Redis(host="cache")
        return int(client.get(f"unread:{user_id}") or 0)
    ```

    ## Use instead
    ```python
    import redis

    client = redis.Redis(host="cache")


    def unread_count(user_id):
        return int(client.get(f"unread:{user_id}") or 0)
    ```

    ## Fix safety
    No automatic fix: where the client belongs (module, app factory,
    dependency) is the application's choice.

    ## Configuration
    None.
    """

    code = "SL106"
    name = "client-created-per-call"
    summary = "engines, pools and cache clients constructed per request or task instead of once"
    vocabulary = ("create_engine", "create_async_engine", "create_pool", "Pool", "Redis", "redis", "from_url",
                  "boto3", "pymemcache")

    def check_function(self, fn: FunctionModel) -> None:
        if is_test_module(fn.module) or _runs_once(fn):
            return
        kept = _kept_names(fn)
        for stmt, call in fn.calls():
            qualified = fn.module.qualified(call.func)
            what = catalog.CLIENT_CONSTRUCTORS.get(qualified or "")
            if what is None or _stored(stmt, call, kept):
                continue
            self.report(call, (
                f"{dotted(call.func)}() builds {what} on every call of {fn.name}(): each request opens new "
                f"connections and never reuses them; create it once (module level or the app's start-up) and share it"
            ))


def _runs_once(fn: FunctionModel) -> bool:
    """Start-up code and memoized factories: the client is built once per process."""
    name = fn.name
    if name in catalog.STARTUP_FUNCTIONS or name.startswith(_STARTUP_PREFIXES) or name in ("__init__", "__post_init__"):
        return True
    for decorator in fn.node.decorators:
        target = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        if fn.module.qualified(target) in catalog.ONCE_DECORATORS:
            return True
        if isinstance(target, cst.Attribute) and target.attr.value in catalog.STARTUP_DECORATOR_ATTRS:
            return True
        if isinstance(target, cst.Name) and target.value in ("cache", "lru_cache", "cached_property"):
            return True
    return False


def _kept_names(fn: FunctionModel) -> set[str]:
    """Local names whose value outlives the call: declared global, or returned."""
    kept: set[str] = set()
    for node in walk(fn.node.body):
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            kept.update(n.name.value for n in node.names)
        elif isinstance(node, cst.Return) and isinstance(node.value, cst.Name):
            kept.add(node.value.value)
    return kept


def _stored(stmt: Stmt, call: cst.Call, kept: set[str]) -> bool:
    """The client is handed out or kept for reuse rather than used and dropped."""
    node = stmt.node
    if not isinstance(node, cst.SimpleStatementLine):
        return False
    for small in node.body:
        if isinstance(small, cst.Return) and small.value is not None and _wraps(small.value, call):
            return True  # a factory: its caller decides how long the client lives
        targets: list[cst.BaseExpression] = []
        if isinstance(small, cst.Assign) and _wraps(small.value, call):
            targets = [t.target for t in small.targets]
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)) and small.value is not None and _wraps(small.value, call):
            targets = [small.target]
        for target in targets:
            if not isinstance(target, cst.Name) or target.value in kept:
                return True  # self.x, cls.x, app.state.x, registry[...] = ..., or a global
    return False


def _wraps(expr: cst.BaseExpression, call: cst.Call) -> bool:
    """``expr`` is the call itself, awaited, or the call's result chained (``Redis(...).pipeline()`` is not)."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    return expr is call


RULES = [ClientCreatedPerCall]
