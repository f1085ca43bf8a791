"""Client lifecycle rules (SL106, SL107, SL108): engines, pools and cache or
cloud clients are built once per process and shared (built per call, each
request pays for a new pool); the limits (overflow, checkout and socket
timeouts) that turn overload into fast errors instead of a pile-up; and what
breaks behind PgBouncer in transaction mode.

Library knowledge (which constructors build a pool-owning client, which
decorators and hooks run a function once) lives in the catalog.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterator

import libcst as cst

from scalelint.model import catalog, dbops, servercursors
from scalelint.model.contexts import ONE_SHOT, REQUEST, SCHEDULED
from scalelint.model.clientuse import built_once_per_job, only_probes, runs_once_per_process, used_and_dropped
from scalelint.model.connections import summaries
from scalelint.model.connections.callers import never_called
from scalelint.model.connections.clientfactories import factory_builds, factory_calls
from scalelint.model.connections.loopsize import serves_unbounded_loop
from scalelint.model.function import FunctionModel, Stmt
from scalelint.core.findings import Confidence, Related
from scalelint.core.walk import dotted, string_value, walk
from scalelint.rule import ProjectRule, Rule

if TYPE_CHECKING:
    from scalelint.project import ProjectIndex, ProjectReporter

class ClientCreatedPerCall(ProjectRule):
    """
    ## What it does
    Finds engines, connection pools and cache or cloud clients constructed
    inside a function that runs per request or per task:
    `create_engine()`, `create_async_engine()`, `asyncpg.create_pool()`,
    psycopg pools, `redis.Redis()` / `from_url()` / `ConnectionPool()`,
    `boto3.client()`. Left alone: module-level clients, functions that run
    once (`functools.cache` / `lru_cache`, start-up hooks, app factories,
    `lifespan`, `AppConfig.ready()`, a function handed to the framework as
    `lifespan=` / `on_startup=` / `add_event_handler("startup", ...)`) and the
    helpers every call of which in their module comes from such code or from
    the module's import (an `__init__` passes this on only when its class is
    instantiated at import time, a module-level singleton), clients stored on
    a global, a class or `self` for reuse,
    factories that return the client to their caller, and clients built once
    for a loop over a collection the code does not bound or for a `while`
    loop (a sync or batch job, a polling loop: one client for all its rounds).

    A factory that returns a new client on every call (`def redis_instance():
    return redis.Redis.from_url(URL)`, not memoised by `lru_cache` or a
    global) is reported at the construction when some function of the
    project's request code (another module's too) calls it and uses and drops
    the client (`ri = redis_instance(); ri.get(key)`,
    `redis_instance().incr(key)`): each of those calls builds a pool. A caller
    that keeps the client (`self.redis = ...`, a global, its own `return`) or
    runs once (start-up, memoised) does not count, nor does a call at module
    level. Callers are seen in files that mention a client word
    (`redis`, `Pool`, `create_engine`...).

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
    None. Not reported in scheduled jobs and the helpers only they call (the
    `scheduled` context): a job a scheduler runs at a fixed interval, one run
    at a time, builds one client per run, which is no churn.

    Reported at low confidence (shown with `--min-confidence low`) when the
    client is built once per background job, outside any loop: in a task
    (`@shared_task`, `@app.task`, `@actor`...) or in a helper every call of
    which in its module comes from a task, outside a loop there; or when the
    client's only use is a connectivity check (`ping()`, a health probe or
    heartbeat). Built in a view, a message or event handler, a method or
    helper whose callers are unknown, or per item of a loop, it stays high.
    A factory's client is reported at low confidence when every call that
    drops it is made once per background job in that sense (in a task, or a
    helper only its module's tasks call, outside a loop), or in a function
    nothing in the project runs (not an entry point, never called nor
    referenced: dead code or an API no caller here uses).
    """

    code = "SL106"
    name = "client-created-per-call"
    summary = "engines, pools and cache clients constructed per request or task instead of once"
    vocabulary = ("create_engine", "create_async_engine", "create_pool", "Pool", "Redis", "redis", "from_url",
                  "boto3", "pymemcache")
    contexts = frozenset({REQUEST})  # a scheduled job runs one at a time: one client per run is no churn
    shared_facts = (summaries.FACTS_KEY,)
    shared_structures = (summaries.CALL_GRAPH,)

    def check_function(self, fn: FunctionModel) -> None:
        if runs_once_per_process(fn):
            return
        kept = _kept_names(fn)
        for stmt, call in fn.calls():
            qualified = fn.module.qualified(call.func)
            what = catalog.CLIENT_CONSTRUCTORS.get(qualified or "")
            bound = _bound_to(stmt, call)
            if what is None or _stored(stmt, call, kept) or serves_unbounded_loop(fn, stmt, bound):
                continue
            weak = only_probes(fn, call, bound) or (not stmt.in_loop and built_once_per_job(fn))
            self.report(call, (
                f"{dotted(call.func)}() builds {what} on every call of {fn.name}(): each request opens new "
                f"connections and never reuses them; create it once (module level or the app's start-up) and share it"
            ), confidence=Confidence.LOW if weak else Confidence.HIGH)

    def collect_facts(self, module: Any) -> Any:
        """The module's client factories (constructions returned fresh, by the function's
        dotted name) and the project calls whose result a function uses and drops."""
        own = module.module_name
        factories: dict[str, list[list[Any]]] = {}
        calls: list[list[Any]] = []
        for fn in module.functions:
            if runs_once_per_process(fn):
                continue
            builds = [[*self._ctx.location(call, within=stmt.node), dotted(call.func),
                       catalog.CLIENT_CONSTRUCTORS[fn.module.qualified(call.func) or ""]]
                      for stmt, call in factory_builds(fn)]
            if builds and own:
                factories[f"{own}.{fn.qualname}"] = builds
            for site in factory_calls(fn):
                weak = not site.stmt.in_loop and built_once_per_job(fn)
                calls.append([site.target, self._ctx.line_of(site.call, within=site.stmt.node), fn.name, weak,
                              f"{own}.{fn.qualname}" if own else ""])
        facts = {"factories": factories, "calls": calls}
        return facts if any(facts.values()) else None

    def check_project(self, index: "ProjectIndex", out: "ProjectReporter") -> None:
        """A factory's constructions, where request code calls it and drops the client."""
        factories = {key: (path, builds) for path, facts in index.facts(self.code)
                     for key, builds in facts["factories"].items()}
        if not factories:
            return
        graph = summaries.call_graph(index)
        callers: dict[str, list[tuple[str, int, str, bool]]] = {}
        sites: list[tuple[str, str, int, str, bool, str]] = []
        for path, facts in index.facts(self.code):
            for target, line, name, weak, caller in facts["calls"]:
                key = graph.resolve(target) or target
                if key in factories:
                    sites.append((key, path, line, name, weak, caller))
        dead = never_called(graph, {site[5] for site in sites})
        for key, path, line, name, weak, caller in sites:
            callers.setdefault(key, []).append((path, line, name, weak or caller in dead))
        for key, sites in sorted(callers.items()):
            path, builds = factories[key]
            sites.sort()
            first_path, first_line, first_name, _ = sites[0]
            factory = key.rsplit(".", 1)[-1]
            more = f" and {len(sites) - 1} other caller(s)" if len(sites) > 1 else ""
            related = [Related(p, line, 1, f"{name}() builds a client through {factory}() here")
                       for p, line, name, _ in sites[:3]]
            for line, col, end_line, end_col, spelled, what in builds:
                out.report(self, path, line, col, end_line, end_col, (
                    f"{spelled}() builds {what} on every call of {factory}(), and {first_name}() "
                    f"({first_path.rsplit('/', 1)[-1]}:{first_line}){more} calls it per request or task and drops it: "
                    f"each call opens new connections; build the client once (module level, the app's start-up, "
                    f"or memoise {factory}()) and share it"
                ), related=related, confidence=Confidence.LOW if all(weak for *_, weak in sites) else Confidence.HIGH)


def _kept_names(fn: FunctionModel) -> set[str]:
    """Local names whose value outlives the call: declared global, or returned."""
    kept: set[str] = set()
    for node in walk(fn.node.body):
        kind = type(node)  # exact types: isinstance() on LibCST's ABCs is a Python-level call
        if kind is cst.Global or kind is cst.Nonlocal:
            kept.update(n.name.value for n in node.names)
        elif kind is cst.Return and type(node.value) is cst.Name:
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


def _bound_to(stmt: Stmt, call: cst.Call) -> set[str]:
    """The local names ``stmt`` binds the client to (``s3 = boto3.resource(...)``)."""
    node = stmt.node
    if not isinstance(node, cst.SimpleStatementLine):
        return set()
    return {
        target.target.value
        for small in node.body if isinstance(small, cst.Assign) and _wraps(small.value, call)
        for target in small.targets if isinstance(target.target, cst.Name)
    }


def _wraps(expr: cst.BaseExpression, call: cst.Call) -> bool:
    """``expr`` is the call itself, awaited, or the call's result chained (``Redis(...).pipeline()`` is not)."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    return expr is call



class PoolWithoutLimits(Rule):
    """
    ## What it does
    Finds connection settings that remove the limits a pool needs under
    load: SQLAlchemy engines with `max_overflow=-1` (unbounded),
    `pool_size` above 100, or `pool_timeout=None` (wait forever for a
    connection); Redis clients and pools with neither `socket_timeout` nor
    `socket_connect_timeout`; psycopg connections opened with explicit
    parameters but no `connect_timeout`; and HTTP calls without a `timeout`
    inside an open database transaction. A client built in `__init__` and
    assigned to an attribute that the class's `init_app()` assigns again (a
    Flask extension's placeholder) is not reported; the one `init_app()`
    builds is.

    ## Why it matters at scale
    Limits are what turn overload into fast errors instead of a pile-up; and what breaks behind PgBouncer. An
    unbounded overflow opens connections until the database refuses them
    all; a checkout or socket with no timeout parks a worker forever when
    the pool is dry or Redis stalls, and every worker ends up parked; an
    HTTP call with no timeout inside a transaction keeps the connection and
    its row locks for as long as the remote side hangs.

    ## Example
    ```python
    import redis
    from sqlalchemy import create_engine

    engine = create_engine("postgresql://db/app", pool_size=20, max_overflow=-1)
    cache = redis.Redis(host="cache")
    ```

    ## Use instead
    ```python
    import redis
    from sqlalchemy import create_engine

    engine = create_engine("postgresql://db/app", pool_size=20, max_overflow=10, pool_timeout=5)
    cache = redis.Redis(host="cache", socket_timeout=0.5, socket_connect_timeout=0.5)
    ```

    ## Fix safety
    No automatic fix: the right limits depend on the deployment (processes,
    `max_connections`, latency budget).

    ## Configuration
    None; a DSN or URL given as a variable is not inspected (only explicit
    keyword arguments and literal URLs are).

    Reported at low confidence (shown with `--min-confidence low`) when the
    client is built in code that runs once per process (the start-up code
    SL106 leaves alone) and used there and dropped: a connectivity check or
    a warm-up at start-up, which never serves a request. A client start-up
    code keeps (on the app, `self`, a global) or returns stays high.
    """

    code = "SL107"
    name = "pool-without-limits"
    summary = "unbounded pool overflow, missing checkout/socket timeouts, HTTP without timeout in a transaction"
    vocabulary = ("create_engine", "create_async_engine", "Redis", "redis", "from_url", "connect", "requests", "httpx")

    def check_module(self, module) -> None:
        placeholders = _placeholders(module)
        transient = None
        for node in module.nodes_of(cst.Call):
            if id(node) not in placeholders:
                problem = _limit_problem(module.qualified(node.func) or "", node)
                if problem is not None:
                    if transient is None:
                        transient = _startup_transients(module)
                    self.report(node, problem, confidence=Confidence.LOW if id(node) in transient else Confidence.HIGH)

    def check_function(self, fn: FunctionModel) -> None:
        transactions = None
        for stmt, call in fn.calls():
            if catalog.IO_CALLS.get(fn.module.qualified(call.func) or "") != "http" or dbops.keywords(call).get("timeout"):
                continue
            if transactions is None:
                from scalelint.model.connections.work import work_of

                transactions = work_of(fn)
            tx = transactions.transaction_of(stmt)
            if tx is not None:
                self.report(call, (
                    f"{dotted(call.func)}() has no timeout and runs inside {tx.label}: a slow remote keeps the "
                    f"connection and its locks until it answers; pass timeout= (and move the call out of the transaction)"
                ))


def _startup_transients(module) -> set[int]:
    """Client constructor calls (by id) in code that runs once per process whose
    client is used there and dropped (a start-up connectivity check, a warm-up):
    it never serves a request, so a missing limit stalls at most one start-up."""
    return {
        id(call) for fn in module.functions if runs_once_per_process(fn)
        for _, call in fn.calls() if used_and_dropped(fn, call)
    }


def _placeholders(module) -> set[int]:
    """Calls (by id) assigned in ``__init__`` to an attribute that the class's
    ``init_app()`` assigns again: a Flask extension's placeholder, replaced by the
    configured client at start-up before any use."""
    out: set[int] = set()
    for info in module.classes:
        methods = {s.name.value: s for s in info.node.body.body if isinstance(s, cst.FunctionDef)}
        init, init_app = methods.get("__init__"), methods.get("init_app")
        if init is None or init_app is None:
            continue
        replaced = {attr for attr, _ in _self_assignments(init_app)}
        out.update(id(value) for attr, value in _self_assignments(init) if attr in replaced)
    return out


def _self_assignments(fn: cst.FunctionDef) -> Iterator[tuple[str, cst.BaseExpression]]:
    """(attribute, value) of every ``self.<attribute> = value`` in a method."""
    for node in walk(fn.body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Attribute) and dotted(target.target.value) == "self":
                    yield target.target.attr.value, node.value


def _limit_problem(qualified: str, call: cst.Call) -> str | None:
    """What limit a constructor call removes or leaves out, or None."""
    what = catalog.CLIENT_CONSTRUCTORS.get(qualified, "")
    if "engine" in what:
        overflow = dbops.keywords(call).get("max_overflow")
        if _number(overflow) == -1:
            return "max_overflow=-1 lets the pool open connections without bound: under load it exhausts the database's max_connections for every client; set a bound"
        size = _number(dbops.keywords(call).get("pool_size"))
        if size is not None and size > catalog.POOL_SIZE_CEILING:
            return (f"pool_size={size} per process: a few processes exceed the database's max_connections; "
                    f"size the pool to max_connections / processes (or use PgBouncer)")
        timeout = dbops.keywords(call).get("pool_timeout")
        if isinstance(timeout, cst.Name) and timeout.value == "None":
            return "pool_timeout=None waits forever for a connection when the pool is dry: every worker parks; set a checkout timeout"
        return None
    if "Redis" in what:
        if (any(dbops.keywords(call).get(k) is not None for k in catalog.REDIS_TIMEOUT_KEYWORDS)
                or dbops.keywords(call).get("connection_pool") is not None or not _url_visible(call)):
            return None
        return (f"{dotted(call.func)}() sets no socket_timeout: when Redis stalls or the network drops packets, "
                f"every request waits on it forever; set socket_timeout and socket_connect_timeout")
    if qualified in catalog.CONNECT_TIMEOUT_DRIVERS:
        explicit = any(a.keyword is not None for a in call.args)
        dsn = call.args[0].value if call.args and call.args[0].keyword is None else None
        literal = isinstance(dsn, cst.SimpleString)
        if (explicit or literal) and dbops.keywords(call).get("connect_timeout") is None and not (
            literal and "connect_timeout" in dsn.value
        ) and (literal or dsn is None):
            return (f"{dotted(call.func)}() has no connect_timeout: libpq waits for an unreachable server "
                    f"indefinitely; pass connect_timeout")
    return None


def _number(expr: cst.BaseExpression | None) -> int | None:
    if isinstance(expr, cst.Integer):
        return int(expr.value.replace("_", ""), 0)
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus) and isinstance(expr.expression, cst.Integer):
        return -int(expr.expression.value)
    return None


def _url_visible(call: cst.Call) -> bool:
    """Whether the call's settings can be read here: keyword arguments only, or a
    literal URL without timeout parameters (a URL from settings may carry
    ``?socket_timeout=``)."""
    url = call.args[0].value if call.args and call.args[0].keyword is None else None
    if url is None:
        return not any(a.keyword is not None and a.keyword.value == "url" for a in call.args)
    return isinstance(url, (cst.SimpleString, cst.FormattedString)) and "timeout" not in cst.Module([]).code_for_node(url)



class PgBouncerTransactionMode(ProjectRule):
    """
    ## What it does
    Where the project reaches PostgreSQL through PgBouncer (a DSN, host or
    setting naming `pgbouncer` / a `pooler.` host, or port 6432), finds what
    breaks in its transaction mode: asyncpg connections and pools without
    `statement_cache_size=0`, psycopg 3 connections without
    `prepare_threshold=None`, SQLAlchemy `+asyncpg` URLs without the
    prepared-statement cache disabled, Django `DATABASES` entries for
    PostgreSQL (an `ENGINE` naming it, or `dj_database_url.config(...)`)
    when the project opens server-side cursors (`.iterator()`) and sets
    `DISABLE_SERVER_SIDE_CURSORS` nowhere (not in the entry, not as
    `DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True` under an
    `if USE_PGBOUNCER:` in any settings module), and SQL that keeps session
    state: `SET` (not `SET LOCAL`), `pg_advisory_lock` (not the `_xact_`
    form), `LISTEN`, cursors `WITH HOLD`.

    ## Why it matters at scale
    PgBouncer in transaction mode is how a database survives thousands of
    clients: each transaction may run on a different server connection. A
    prepared statement, a session setting, an advisory lock or a held cursor
    lives on the server connection it was made on — the next transaction
    finds it missing ("prepared statement does not exist") or, worse,
    inherits another client's setting or lock. It works in development
    (no bouncer) and fails in production under load.

    ## Example
    ```python
    import asyncpg

    DSN = "postgresql://app@pgbouncer:6432/app"


    async def make_pool():
        return await asyncpg.create_pool(DSN)
    ```

    ## Use instead
    ```python
    import asyncpg

    DSN = "postgresql://app@pgbouncer:6432/app"


    async def make_pool():
        return await asyncpg.create_pool(DSN, statement_cache_size=0)
    ```

    ## Fix safety
    No automatic fix: whether the bouncer runs in transaction mode (and
    which PgBouncer version, 1.21+ supports protocol-level prepared
    statements) is deployment knowledge.

    ## Configuration
    None; the evidence is read from the project's code and settings.
    """

    code = "SL108"
    name = "pgbouncer-transaction-mode"
    summary = "prepared statements, server-side cursors and session state that break behind PgBouncer"
    vocabulary = ("asyncpg", "psycopg", "DATABASES", "SET ", "set ", "advisory_lock", "LISTEN", "WITH HOLD",
                  "pgbouncer", "PGBOUNCER", "6432", "pooler", ".iterator(", "DISABLE_SERVER_SIDE_CURSORS")
    contexts = frozenset({REQUEST, ONE_SHOT, SCHEDULED})  # a script's session SET leaks into the pooled connection too

    def collect_facts(self, module) -> Any:
        evidence: list[list[int]] = []
        candidates: list[list[Any]] = []
        cursor_entries: list[list[Any]] = []
        for node in module.nodes_of(cst.SimpleString, cst.Call, cst.Assign):
            problem = None
            kind = type(node)
            if kind is cst.SimpleString and _names_pgbouncer(node):
                evidence.append(list(self._ctx.location(node)[:2]))
            elif kind is cst.Call:
                problem = _prepares(module.qualified(node.func) or "", node) or _session_sql(node)
            elif kind is cst.Assign and any(True for _ in servercursors.unguarded_entries(module, node)):
                cursor_entries.append(list(self._ctx.location(node)))
            if problem is not None:
                candidates.append([*self._ctx.location(node), problem])
        uses = [list(self._ctx.location(call)[:2]) for call in servercursors.cursor_uses(module)]
        sets_flag = servercursors.sets_flag(module)
        if not evidence and not candidates and not cursor_entries and not uses and not sets_flag:
            return None
        return {"evidence": evidence, "candidates": candidates, "cursor_entries": cursor_entries,
                "cursor_uses": uses[:1], "sets_flag": sets_flag}

    def check_project(self, index: "ProjectIndex", out: "ProjectReporter") -> None:
        facts = list(index.facts(self.code))
        evidence = [(path, line, col) for path, fact in facts for line, col in fact["evidence"]]
        if not evidence:
            return
        path, line, col = evidence[0]
        where = Related(path, line, col, "PgBouncer named here")
        for candidate_path, fact in facts:
            for start_line, start_col, end_line, end_col, problem in fact["candidates"]:
                out.report(self, candidate_path, start_line, start_col, end_line, end_col,
                           f"{problem} behind PgBouncer in transaction mode ({path}:{line})", related=[where])
        if any(fact.get("sets_flag") for _, fact in facts):
            return  # set somewhere (often under ``if USE_PGBOUNCER:``, or in another settings module)
        uses = [(use_path, *loc) for use_path, fact in facts for loc in fact.get("cursor_uses", ())]
        if not uses:
            return  # nothing opens a server-side cursor: the setting would change nothing
        use_path, use_line, use_col = uses[0]
        for candidate_path, fact in facts:
            for start_line, start_col, end_line, end_col in fact.get("cursor_entries", ()):
                out.report(self, candidate_path, start_line, start_col, end_line, end_col,
                           "Django's server-side cursors (.iterator(), "
                           f"{use_path}:{use_line}) break behind PgBouncer in transaction mode ({path}:{line}); "
                           "set DISABLE_SERVER_SIDE_CURSORS = True",
                           related=[where, Related(use_path, use_line, use_col, "server-side cursor opened here")])


def _names_pgbouncer(node: cst.SimpleString) -> bool:
    """A DSN, host or setting/env name naming PgBouncer (prose, with spaces, does not count)."""
    text = node.value.strip("'\"rbuRBU").lower()
    if not (any(word in text for word in catalog.PGBOUNCER_WORDS) or f":{catalog.PGBOUNCER_PORT}" in text):
        return False  # the words first: most literals name none, and the whitespace test reads every character
    return text.split() == [text]  # no whitespace at all (str.split splits at what str.isspace calls space)


_SESSION_SQL = (
    (re.compile(r"^\s*SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)\w", re.I), "SET keeps a session setting (use SET LOCAL)"),
    (re.compile(r"\bpg_(try_)?advisory_lock(_shared)?\s*\(", re.I), "a session advisory lock (use pg_advisory_xact_lock)"),
    (re.compile(r"^\s*LISTEN\s", re.I), "LISTEN needs a session of its own (connect directly for it)"),
    (re.compile(r"\bWITH\s+HOLD\b", re.I), "a cursor WITH HOLD outlives the transaction"),
)


def _session_sql(call: cst.Call) -> str | None:
    """SQL handed to an execute-like call that keeps state in the session."""
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else dotted(func) or ""
    if name not in catalog.SQL_EXECUTE_METHODS or not call.args:
        return None
    first = call.args[0].value
    text = string_value(first) if isinstance(first, (cst.SimpleString, cst.ConcatenatedString)) else None
    if not text:
        return None
    return next((message for pattern, message in _SESSION_SQL if pattern.search(text)), None)


def _prepares(qualified: str, call: cst.Call) -> str | None:
    setting = catalog.PREPARED_STATEMENT_SETTINGS.get(qualified)
    if setting is not None:
        keyword, advice = setting
        if dbops.keywords(call).get(keyword) is None:
            return f"{dotted(call.func)}() prepares statements per server connection (pass {advice})"
        return None
    if "engine" in catalog.CLIENT_CONSTRUCTORS.get(qualified, ""):
        url = call.args[0].value if call.args and call.args[0].keyword is None else None
        text = cst.Module([]).code_for_node(call)
        if isinstance(url, cst.SimpleString) and "+asyncpg" in url.value and "statement_cache_size" not in text:
            return (f"{dotted(call.func)}() with asyncpg prepares statements per server connection "
                    f"(connect_args={{'statement_cache_size': 0, 'prepared_statement_cache_size': 0}})")
    return None


RULES = [ClientCreatedPerCall, PoolWithoutLimits, PgBouncerTransactionMode]
