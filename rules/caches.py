"""Cache rules (SL3xx): stale keys after writes, entries that never expire,
critical data in evicting caches, memoized queries, blocking key scans."""
from __future__ import annotations

from typing import Any

import libcst as cst

from scalelint.core.findings import Confidence, Fix, FixSafety, Related
from scalelint.model import catalog
from scalelint.model.contexts import ONE_SHOT, REQUEST, SCHEDULED
from scalelint.model.caches.cachefacts import FileFacts
from scalelint.model.caches.cachekeys import HOLE, templates_match
from scalelint.model.caches.keybounds import bounded_key, fixed_arguments
from scalelint.model.caches.caching import CacheOp, Memo, Stakes, cache_model, spelling
from scalelint.model.caches.critical import CriticalReader
from scalelint.model.entrypoints import runs_at_startup
from scalelint.model.function import FunctionModel
from scalelint.model.module import ModuleModel
from scalelint.model.settings import setting_text
from scalelint.project import ProjectIndex, ProjectReporter
from scalelint.rule import ProjectRule, Rule
from scalelint.core.walk import children, dotted, string_value, walk

#: words without which a file has no cache client (prefilter)
CACHE_VOCABULARY = ("cache", "Cache", "redis", "Redis", "REDIS", "memcache", "region")


class _CacheRule(Rule):
    """The cache family (configured client and helper names widen every
    rule's vocabulary; see scalelint.engine.prefilter)."""


class WriteWithoutCacheInvalidation(_CacheRule, ProjectRule):
    """
    ## What it does
    Builds a project-wide index of cache key families (`"product:{}"`,
    `"featured_products"`, `@cache.memoize` functions), ties each to the entity
    its value was read from (the table in the SQL, the model in the ORM query,
    through helper functions across modules; the key's prefix only when the
    value is a parameter of that name), and flags every write of that entity
    (SQL `UPDATE`/`INSERT`/`DELETE`, ORM `save()`, `create()`, `delete()`,
    `QuerySet.update()`, bulk operations, SQLAlchemy sessions and statements)
    whose path neither deletes nor rewrites each family. Invalidation counts
    wherever it happens on the path: in the function, the functions it calls,
    its callers, a `post_save`/`post_delete` receiver or `save()`/`delete()`
    override (for writes that run them), work handed to `transaction.on_commit`
    (a lambda, a `partial`, or a function whose body deletes), a Celery task
    run with `delay_on_commit`, a SQLAlchemy `after_commit` session listener
    (for session writes), through `delete_memoized`, `clear()`, an in-process
    cache object's `pop(key)` (a mapping-shaped cache: cachetools, the project's own class),
    a pattern delete, an expiry (`expire(key, 0)`), a version-key bump, a
    project helper that deletes, expires or rewrites the family's key (found
    by what it does, with no configuration: `drop_product(pid)` calling
    `cache.delete(f"product:{pid}")`; a helper that only reads the key is no
    invalidation, whatever its name), a helper named like
    `invalidate_product_cache()` whose body the project does not show, or a
    published change event. Partial invalidation reports only the forgotten
    families.

    Inserts stale lists of the entity, not entries holding one other row; a
    write naming its columns stales only values that read those columns:
    `update(active=False)`, `save(update_fields=[...])`, a `save()` of a row
    the function fetched and only gave attributes (`user.last_login = now`;
    passed to a call or asked a method, it may change anything), a mapping
    given to SQLAlchemy's `query.update({...})` or the `values()` of an
    `update()` statement. A value reads only the fields it is built from (a
    dict or tuple of a row's fields, `values("id", "name")`, `only(...)`,
    `model_to_dict(row, fields=[...])`); statistics (counts, annotations) that no code ever
    invalidates are taken to be kept fresh by their expiry.

    What a value is built from decides what it holds: a value that comes from
    a remote API's response (an HTTP call, a method of an HTTP/cloud/SDK
    client such as `slack_sdk.WebClient`, or of a project class deriving from
    one) is that service's data, even when the call or the client was given a
    row or the key carries its id; such a value does not fall back to the
    key's prefix and arguments either. A key read only while the database is
    down (in an `except OperationalError:`/`InterfaceError`/`DatabaseError`
    handler, or in a function called only from one) is an outage fallback,
    not a cache readers see, and is not reported.

    ## Why it matters at scale
    A cache works until one write path forgets one key: then customers see
    yesterday's price for as long as the key lives, and the bug is invisible in
    tests that never warm the cache. The more keys an entity is cached under
    (detail page, list pages, a "featured" block), the more likely a new write
    path misses one. `QuerySet.update()` and bulk operations skip the
    `post_save` receivers that usually do the invalidating.

    ## Example
    ```python
    from django.core.cache import cache
    from django.db import connection


    def product_detail(product_id):
        key = f"product:{product_id}"
        data = cache.get(key)
        if data is None:
            with connection.cursor() as cur:
                cur.execute("SELECT name, price FROM products WHERE id = %s", [product_id])
                data = cur.fetchone()
            cache.set(key, data, 300)
        return data


    def set_price(product_id, price):
        with connection.cursor() as cur:
            cur.execute("UPDATE products SET price = %s WHERE id = %s", [price, product_id])
    ```

    ## Use instead
    ```python
    from django.core.cache import cache
    from django.db import connection


    def product_detail(product_id):
        key = f"product:{product_id}"
        data = cache.get(key)
        if data is None:
            with connection.cursor() as cur:
                cur.execute("SELECT name, price FROM products WHERE id = %s", [product_id])
                data = cur.fetchone()
            cache.set(key, data, 300)
        return data


    def set_price(product_id, price):
        with connection.cursor() as cur:
            cur.execute("UPDATE products SET price = %s WHERE id = %s", [price, product_id])
        cache.delete(f"product:{product_id}")
    ```

    ## Fix safety
    Unsafe. Where every name the key is built from is in scope at the write
    (and the client is importable there), the fix adds
    `client.delete(<key>)` right after the write. Whether the names mean the
    same thing at the write as where the key was built is a guess, and deleting
    inside a transaction can race a concurrent read that re-caches the old
    row, so review it (or move the delete to `transaction.on_commit`).

    ## Configuration
    `cache-clients` names project cache clients; `invalidation-helpers` names
    functions that invalidate (a call to one counts for every key);
    `event-publishers` names functions whose change events are consumed by
    invalidating subscribers.
    `[tool.scalelint.rules.SL301] stale-budget = 10` (seconds, the default):
    a key family every write of which sets a TTL of at most the budget is a
    deliberate short-term cache that expires before staleness matters, and is
    not reported. TTLs spelled as literals, arithmetic, `timedelta`, module
    constants, class attributes (`self.X`, `cls.X`, `Class.X`, inherited
    from a project base class), imported project constants and `settings.X`
    (the longest value any settings module gives) are compared; a family with
    any write without a TTL, or with a longer or unreadable one, stays
    reported. Not reported in one-shot code (management
    commands, scripts, install steps): a run by hand is followed by a cache
    clear or a deploy, and the write paths requests take are where keys go
    stale for good (`contexts` turns it back on).
    """

    code = "SL301"
    contexts = frozenset({REQUEST, SCHEDULED})
    name = "write-without-cache-invalidation"
    summary = "a write of a cached entity leaves some of its cache keys stale"
    vocabulary = CACHE_VOCABULARY + (
        "save(", "update(", "delete(", "create(", "execute(", "bulk_", "session.add", "receiver",
        "connect(", "listens_for", "invalidate", "_key", "KEY", "SELECT", "select(", ".objects",
        ".query", "fetch",
    ) + catalog.REMOTE_API_CLIENT_BASE_WORDS
    fix_safety = FixSafety.UNSAFE
    options = {"stale-budget": 10}

    def collect_facts(self, module: ModuleModel) -> Any:
        return FileFacts(module, self._ctx).build()

    def check_project(self, index: ProjectIndex, out: ProjectReporter) -> None:
        # the project phase only: a run answered from the project cache never imports it
        from scalelint.model.caches.cacheindex import CacheKeyIndex, display_root, shown

        files = list(index.facts(self.code))
        if not any(facts.get("families") for _, facts in files):
            return
        key_index = CacheKeyIndex(files, out.option(self, "stale-budget"))
        root = display_root(path for path, _ in files)
        for stale in key_index.stale_writes(out.reported_paths):
            write = stale.write
            count = len(stale.families)
            listed = ", ".join(f"{f.label} ({shown(f.path, root)}:{f.line})" for f in stale.families)
            message = f"{write.desc} leaves {count} cached key{'s' if count > 1 else ''} stale: {listed}"
            if stale.note:
                message += f" ({stale.note})"
            related = [Related(f.path, f.line, f.col, f"{f.label} is cached here") for f in stale.families]
            out.report(self, write.path, *write.loc, message, fix=stale.fix, related=related)


class CacheSetWithoutTtl(_CacheRule):
    """
    ## What it does
    Finds cache entries written with no expiry, by each library's own meaning
    of "no TTL": redis-py `set` without `ex`/`px`/`exat`/`pxat`/`keepttl`
    (forever, and a bare `set` also clears a TTL the key had), redis writes that
    cannot carry a TTL (`hset`, `incr`, `sadd`, ...) on a key never given one
    with `expire`; Django `timeout=None`; Flask-Caching `timeout=0` (also on
    `@cache.cached`/`@cache.memoize`); pymemcache without `expire` or with `0`;
    aiocache `ttl=None`; dogpile regions configured without
    `expiration_time`; `cachetools.cached` over a plain dict. Only key
    families that can grow are reported: a fixed key (`"site_config"`, a
    constant, a setting, an attribute set from one) or a key whose variable
    parts only name the writing host or process (`f"stats_{os.getpid()}"`,
    `PREFIX + self.instance_name`) is rewritten in place and left alone, as
    are lists and sorted sets capped in the same function (`ltrim`,
    `zremrangebyrank`) and write-only structures (a queue pushed to and
    drained elsewhere).

    ## Why it matters at scale
    Entries that never expire only leave when the eviction policy or an
    out-of-memory error decides. Keys built per user, per product or per
    request accumulate with traffic until the cache is full of dead entries
    and evicts the live ones, or stops accepting writes.

    ## Example
    ```python
    import redis

    r = redis.Redis()


    def remember_cart(user_id, cart_json):
        r.set(f"cart:{user_id}", cart_json)
    ```

    ## Use instead
    ```python
    import redis

    r = redis.Redis()


    def remember_cart(user_id, cart_json):
        r.set(f"cart:{user_id}", cart_json, ex=86400)
    ```

    ## Fix safety
    No automatic fix: the right lifetime is a product decision.

    ## Configuration
    Writes through clients listed in `critical-caches` (stores configured not to
    evict, whose keys are meant to persist) are left alone. Omitted timeouts
    that fall back to a configured default (Django, Flask-Caching, aiocache)
    are not reported.

    Reported at low confidence (shown with `--min-confidence low`) when the
    same function writes, with an expiry, a companion key built from this
    one (`f"{key}/timeout"`): the code tracks freshness with the companion
    and keeps the value as a fallback on purpose.
    """

    code = "SL302"
    contexts = frozenset({REQUEST, ONE_SHOT, SCHEDULED})
    name = "cache-set-without-ttl"
    summary = "a cache entry is written with no expiry"
    vocabulary = CACHE_VOCABULARY + ("cached(", "lru_cache")

    def check_function(self, fn: FunctionModel) -> None:
        cm = cache_model(fn.module)
        stakes = Stakes(cm)
        for op in cm.ops(fn):
            if op.method not in catalog.CACHE_WRITES or op.expiry() != "forever":
                continue
            if op.template is not None and HOLE not in op.template:
                continue  # one fixed key cannot grow memory
            if op.key is not None and bounded_key(cm, op.key, fn, op.stmt.ordinal):
                continue  # a fixed key, or one per host/process: rewritten in place, it cannot grow
            if stakes.critical(op.client) or self._expired(op, fn) or self._trimmed(op, fn):
                continue
            if op.method in op.client.library.ttl_less_writes and not self._read_back(op, fn):
                continue  # a write-only structure (a queue, a log) is drained by its consumer
            weak = self._timed_companion(op, fn)
            self.report(op.call, self._message(op), confidence=Confidence.LOW if weak else Confidence.HIGH)
        for memo in cache_model(fn.module).memos(fn):
            message = self._memo_message(memo)
            if message:
                self.report(memo.decorator, message)

    def check_module(self, module: ModuleModel) -> None:
        if "configure" not in self._ctx.text:
            return
        cm = cache_model(module)
        for node in module.nodes_of(cst.Call):
            if type(node.func) is not cst.Attribute:
                continue
            if node.func.attr.value == "configure" and not any(
                a.keyword is not None and a.keyword.value == "expiration_time" for a in node.args
            ):
                client = cm.client_of(node.func.value)
                if client is not None and client.library is catalog.DOGPILE:
                    self.report(node, "dogpile region configured without expiration_time: its entries never expire")

    @staticmethod
    def _same_key(op: CacheOp, other: CacheOp) -> bool:
        if op.template and other.template:
            return templates_match(op.template, other.template)
        return op.key is not None and other.key is not None and dotted(op.key) is not None and dotted(op.key) == dotted(other.key)

    def _module_ops(self, fn: FunctionModel) -> list[CacheOp]:
        cm = cache_model(fn.module)
        return [o for f in fn.module.functions for o in cm.ops(f)]

    def _expired(self, op: CacheOp, fn: FunctionModel) -> bool:
        """An ``expire`` on the same key: later in the function, or anywhere in
        the module for writes that cannot carry a TTL themselves."""
        anywhere = op.method in op.client.library.ttl_less_writes
        pool = self._module_ops(fn) if anywhere else cache_model(fn.module).ops(fn)
        return any(
            other.method in op.client.library.expire_methods and other is not op
            and (anywhere or other.stmt.ordinal > op.stmt.ordinal)
            and self._same_key(op, other)
            for other in pool
        )

    @staticmethod
    def _timed_companion(op: CacheOp, fn: FunctionModel) -> bool:
        """The function also writes, with an expiry, a key built from this one
        (``f"{key}/timeout"``): freshness is tracked by the companion, and the
        value kept on purpose as a fallback."""
        if not op.template or HOLE not in op.template:
            return False
        cm = cache_model(fn.module)
        name = op.key.value if isinstance(op.key, cst.Name) else None
        return any(
            other is not op and other.method in catalog.CACHE_WRITES and other.expiry() == "ttl" and (
                (other.template and other.template != op.template and other.template.startswith(op.template))
                or (name is not None and other.key is not None and name in _key_names(cm, fn, other))
            )
            for other in cm.ops(fn)
        )

    def _trimmed(self, op: CacheOp, fn: FunctionModel) -> bool:
        """A list or sorted set capped in the same function (``ltrim``,
        ``zremrangebyrank``): its length is bounded however often it is written."""
        return any(other.method in op.client.library.trim_methods and self._same_key(op, other)
                   for other in cache_model(fn.module).ops(fn))

    def _read_back(self, op: CacheOp, fn: FunctionModel) -> bool:
        """The key is used as a cache: the module reads it back, or the code
        uses what the write returns (``count = r.incr(key)``)."""
        stmt = op.stmt.node
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr):
            value = stmt.body[0].value
            bare = value is op.call or (isinstance(value, cst.Await) and value.expression is op.call)
        else:
            bare = False
        if not bare:
            return True
        return any(o.method in catalog.CACHE_READS and self._same_key(op, o) for o in self._module_ops(fn))

    @staticmethod
    def _message(op: CacheOp) -> str:
        key = f'"{op.template}"' if op.template else "the key"
        lib = op.client.library
        where = f"{op.client.spelled}.{op.method}()"
        if op.method in lib.ttl_less_writes:
            return f"{where} writes {key} with no expiry and nothing ever calls expire on it: it stays until evicted"
        if lib.name.startswith("redis") and op.method == "set":
            return f"{where} of {key} has no ex/px: it never expires (and a bare set clears any TTL the key had)"
        spec = lib.ttl_arg(op.method)
        keyword = spec[0][0] if spec else "timeout"
        arg = op.arg(spec[1] if spec else None, spec[0] if spec else ())
        spelled = f"{keyword} omitted" if arg is None else f"{keyword}={cst.Module([]).code_for_node(arg.value)}"
        return f"{where} of {key} with {spelled} never expires in {lib.name}"

    @staticmethod
    def _memo_message(memo: Memo) -> str | None:
        if memo.client is not None:
            lib = memo.client.library
            spec = lib.ttl_arg(memo.method)
            if spec is None:
                return None
            value = memo.keyword(spec[0][0], spec[1])
            if value is not None and spelling(value) in lib.forever_values:
                return f"@{memo.client.spelled}.{memo.method}({spec[0][0]}={spelling(value)}) caches {memo.fn.name}() forever in {lib.name}"
            return None
        if memo.qualified in ("cachetools.cached", "cachetools.cachedmethod"):
            store = memo.keyword("cache", 0)
            if isinstance(store, cst.Dict) or (isinstance(store, cst.Call) and dotted(store.func) == "dict" and not store.args):
                return f"@{memo.method} over a plain dict: {memo.fn.name}() results are kept forever with no bound"
        return None


def _key_names(cm: Any, fn: FunctionModel, op: CacheOp) -> set[str]:
    """The names a key expression is built from, through one local binding
    (``timeout_key = f"{jwk_key}/timeout"`` -> timeout_key, jwk_key)."""
    names = {n.value for n in walk(op.key) if isinstance(n, cst.Name)}
    for name in list(names):
        value = cm.binding(fn, name, op.stmt.ordinal)
        if value is not None:
            names |= {n.value for n in walk(value) if isinstance(n, cst.Name)}
    return names


class CriticalDataInEvictingCache(_CacheRule):
    """
    ## What it does
    Finds sessions, auth tokens, locks, rate-limit and login-failure counters,
    replay markers (used one-time codes, nonces, `jti`), OAuth authorization
    codes and other data that must not vanish written to a cache that evicts
    under memory pressure: the shared default cache (Django's `cache`, a
    Flask-Caching `Cache`), memcached, a client configured in
    `evicting-caches`, or a redis client this code sets to an evicting
    `maxmemory-policy`. Critical data is recognised by key (`session:`,
    `token:`, `lock:`, `ratelimit:`, `login:fail:`, `used_otp:`...), by the
    name of the key variable, or by the keys this module's callers pass to a
    key parameter, when the value is not simply a copy of database rows (a
    query's result, or the row `get_or_create()` returns).
    Also flags Django's cache-only session engine (set literally or as the
    default of an environment read: `config(...)`, `env.str(...)`,
    `os.getenv(...)`) and Django REST framework throttle classes counting in
    the default cache.

    ## Why it matters at scale
    A memory spike (a cache stampede, a big report, a deploy warming every
    key) makes the cache evict: if sessions live there, every user is logged
    out at once; if locks live there, two workers run the same job; if
    rate-limit or login-failure counters live there, the limit resets for an
    attacker guessing passwords; if used one-time codes live there, they can
    be replayed.

    ## Example
    ```python
    from django.core.cache import cache


    def start_session(session_id, data):
        cache.set(f"session:{session_id}", data, 3600)
    ```

    ## Use instead
    ```python
    from django.core.cache import caches


    def start_session(session_id, data):
        caches["sessions"].set(f"session:{session_id}", data, 3600)
    ```

    ## Fix safety
    No automatic fix: moving data to another store is a deployment change.

    ## Configuration
    `critical-caches` names clients or Django cache aliases backed by a
    no-eviction store (never reported); `evicting-caches` names clients known
    to evict (reported even when the library alone would not tell).

    Sessions, tokens, login-failure counters, replay markers and OAuth codes
    are reported at high confidence wherever they are written. Reported at low
    confidence (shown with `--min-confidence low`) when the data is a lock, a
    rate-limit counter or an idempotency/de-dup marker, or a throttle class,
    and nothing names an authentication path: neither the key, the key
    variable, the function or class writing it, nor a throttle's class names
    or `scope` contain a word such as login, sign-in, password, auth, OTP or
    MFA. Losing those costs one extra window of requests or one duplicate
    job; on a login path it lets password guessing resume.
    """

    code = "SL303"
    contexts = frozenset({REQUEST, ONE_SHOT, SCHEDULED})
    name = "critical-data-in-evicting-cache"
    summary = "sessions, tokens, locks or rate limits written to a cache that evicts"
    vocabulary = CACHE_VOCABULARY + ("SESSION_ENGINE", "Throttle")

    def check_function(self, fn: FunctionModel) -> None:
        cm = cache_model(fn.module)
        stakes = Stakes(cm)
        critical = CriticalReader(cm)
        reported: set[str] = set()
        for op in cm.ops(fn):
            if op.method not in catalog.CACHE_WRITES or op.key is None:
                continue
            write = critical.write(fn, op)
            if write is None or write.key in reported:
                continue  # one finding per key and function
            eviction = stakes.eviction(op.client)
            if eviction is None:
                continue
            if critical.copies_rows(fn, op):
                continue  # a copy of database rows: losing it costs a query, not data
            reported.add(write.key)
            self.report(
                op.call,
                f"{write.data.what} {write.key} written to {op.client.spelled} ({eviction}), which evicts under "
                f"memory pressure: {write.data.loss}; keep it in a no-eviction store or the database",
                confidence=Confidence.HIGH if write.strong else Confidence.LOW,
            )

    def check_module(self, module: ModuleModel) -> None:
        for name, value in module.global_values.items():
            if name == "SESSION_ENGINE" and setting_text(module, value) in catalog.EVICTING_SESSION_ENGINES:
                alias_value = module.global_values.get("SESSION_CACHE_ALIAS")
                alias = (setting_text(module, alias_value) if alias_value is not None else None) or "default"
                if alias in module.recognition.critical_caches:
                    continue
                self.report(value, f"sessions stored only in the '{alias}' cache are logged out when it evicts; use cached_db or a no-eviction cache")
        cm = cache_model(module)
        stakes = Stakes(cm)
        loss = catalog.CRITICAL_DATA["rate limit"].loss
        for throttle in CriticalReader(cm).throttles():
            eviction = stakes.eviction(throttle.client)
            if eviction is not None:
                self.report(
                    throttle.info.node.name,
                    f"{throttle.info.name} ({throttle.library.rsplit('.', 1)[-1]}) counts requests in "
                    f"{throttle.client.spelled} ({eviction}), which evicts under memory pressure: {loss}; "
                    f"set its `cache` to a no-eviction cache",
                    confidence=Confidence.HIGH if throttle.auth_path else Confidence.LOW,
                )


class UnboundedMemoizationOfQueries(_CacheRule, ProjectRule):
    """
    ## What it does
    Finds in-process memoization (`functools.lru_cache`/`cache`,
    `cachetools.cached`, a module-level dict used as a memo) around a function
    that queries the database or calls a remote service (an HTTP library, a
    cloud SDK client, a session the class or module builds), itself or through
    functions and methods of the same module one or two calls away. A memo on
    a method is one cache for the whole process keyed by `self`, not a cache
    that lives with the instance: it keeps instances alive, and for Django
    models (equal by pk) every instance of a row shares its entries. Only a
    bounded cache each instance owns (`cachetools.cachedmethod`) is left alone.

    ## Why it matters at scale
    The memo lives in each worker process with no invalidation path: a write
    never reaches it, so every worker serves its own stale copy until it
    restarts, and different workers disagree; `cache_clear()` called on a write
    empties only the process that handled the write. `maxsize=None` and dict
    memos grow with every distinct argument; on methods the cache also keeps
    every `self` alive.

    ## Example
    ```python
    from functools import lru_cache

    from shop.models import Category


    @lru_cache(maxsize=None)
    def category_tree(root_id):
        return list(Category.objects.filter(parent_id=root_id))
    ```

    ## Use instead
    ```python
    from django.core.cache import cache

    from shop.models import Category


    def category_tree(root_id):
        key = f"category_tree:{root_id}"
        tree = cache.get(key)
        if tree is None:
            tree = list(Category.objects.filter(parent_id=root_id))
            cache.set(key, tree, 300)
        return tree
    ```

    ## Fix safety
    No automatic fix: choosing a TTL and an invalidation path needs a person.

    ## Configuration
    None. Memoized functions that build engines, settings or clients (no
    query) are not reported; neither are TTL caches (`cachetools.TTLCache`,
    `ttl_cache`), nor memos of the database's own catalogs (`pg_catalog.pg_type`,
    `pg_collation`, `sqlite_master`), which change with migrations;
    `information_schema` views are reported like application tables. A
    module-level dict filled in several places is one finding, at its first
    fill, with the others as related locations; the project's `cache_clear()`
    calls of a memo are related locations too.

    Reported at low confidence (shown with `--min-confidence low`) when an
    unbounded memo's keys are a fixed set: every parameter is annotated
    `bool`, `Literal[...]` or with an enum of the module (`Enum`, Django
    `TextChoices`), or is only used as the key of a module-level constant
    table (a literal, a settings value, a comprehension over either, that
    the module never adds to) or of a settings mapping (`PLANS[plan]`,
    `settings.BACKENDS[name]`), so the memo holds at most one entry per
    table key; it can still go stale, it cannot grow.
    """

    code = "SL304"
    name = "unbounded-memoization-of-queries"
    summary = "in-process memoization around a database or remote query"
    vocabulary = ("lru_cache", "functools", "cachetools", "cache", "_memo", "MEMO")

    def collect_facts(self, module: ModuleModel) -> Any:
        cm = cache_model(module)
        stakes = Stakes(cm)
        found: list[dict[str, Any]] = []
        fills: list[tuple[str, list[int], str]] = []
        for fn in module.functions:
            for memo in cm.memos(fn):
                if memo.qualified is not None:
                    found.extend(self._memo(fn, memo, stakes))
            fills.extend(self._dict_fills(fn, cm))
        found.extend(_dict_memo_facts(fills))
        clears = [
            [target, *self._ctx.location(call)[:2]]
            for fn in module.functions
            for _, call in fn.calls()
            if isinstance(call.func, cst.Attribute) and call.func.attr.value == "cache_clear"
            for target in [cm.function_ref(call.func.value, fn)]
            if target
        ]
        facts = {"memos": found, "clears": clears}
        return {k: v for k, v in facts.items() if v} or None

    def check_project(self, index: ProjectIndex, out: ProjectReporter) -> None:
        clears: dict[str, list[Related]] = {}
        for path, facts in index.facts(self.code):
            for target, line, column in facts.get("clears", ()):
                clears.setdefault(target, []).append(Related(path, line, column, "cleared here, in this process only"))
        for path, facts in index.facts(self.code):
            for memo in facts.get("memos", ()):
                related = [Related(path, line, column, "also filled here") for line, column in memo.get("also", ())]
                message = memo["message"]
                cleared = clears.get(memo.get("fn", ""), [])
                if cleared:
                    message += "; cache_clear() empties only the process that calls it, not the other workers"
                out.report(self, path, *memo["loc"], message, related=[*related, *cleared],
                           confidence=Confidence.LOW if memo.get("low") else Confidence.HIGH)

    def _memo(self, fn: FunctionModel, memo: Memo, stakes: Stakes) -> list[dict[str, Any]]:
        bound = self._bound(memo)
        if bound == "ttl" or (memo.per_instance and bound == "bounded"):
            return []  # entries expire, or a bounded cache the instance owns lives and dies with it
        query = stakes.query_in(fn)
        if query is None:
            return []
        fixed = bound == "unbounded" and fixed_arguments(fn)
        what = "with no bound" if bound == "unbounded" and not fixed else "with no invalidation path"
        message = (
            f"@{memo.method} memoizes {fn.qualname}(), which {query}, {what} in each process"
            f"{self._self_key(memo, stakes, bound)}; use a shared cache with a TTL and invalidation"
        )
        target = f"{fn.module.module_name}.{fn.qualname}" if fn.module.module_name else fn.qualname
        fact = {"fn": target, "loc": list(self._ctx.location(memo.decorator, within=fn.node)), "message": message}
        return [{**fact, "low": 1} if fixed else fact]

    @staticmethod
    def _self_key(memo: Memo, stakes: Stakes, bound: str) -> str:
        """What a process-wide memo on a method means for its instances."""
        key = stakes.self_key(memo)
        if key == "row":
            return (": one cache for the process keyed by `self`, so instances of one row (same pk) share "
                    "its entries across requests and writes never reach them")
        if key == "instance":
            kept = "every instance" if bound == "unbounded" else _maxsize(memo)
            return f": one cache for the process keyed by `self`, not per instance, keeping {kept} alive"
        return ""

    def _dict_fills(self, fn: FunctionModel, cm) -> list[tuple[str, list[int], str]]:
        """``_memo[key] = <rows>`` into a module-level dict, inside a function:
        (the dict's name, location, the entity read), one per assignment."""
        module = fn.module
        found = []
        for stmt in fn.stmts:
            node = stmt.node
            if not isinstance(node, cst.SimpleStatementLine):
                continue
            for small in node.body:
                if not isinstance(small, cst.Assign) or len(small.targets) != 1:
                    continue
                target = small.targets[0].target
                if not isinstance(target, cst.Subscript) or not isinstance(target.value, cst.Name):
                    continue
                name = target.value.value
                bound = module.global_values.get(name)
                is_dict = (isinstance(bound, cst.Dict) and not bound.elements) or (
                    isinstance(bound, cst.Call) and dotted(bound.func) == "dict" and not bound.args
                )
                if not is_dict or any(n == name for _, n, _ in cm.local_bindings(fn)):
                    continue
                reads = set().union(*(cm.entities.reads_in(n) for n in cm.entities.dataflow(fn, stmt.ordinal, small.value)))
                if reads:
                    found.append((name, list(self._ctx.location(small)), sorted(reads)[0]))
        return found

    @staticmethod
    def _bound(memo: Memo) -> str:
        rule = catalog.IN_PROCESS_MEMOIZERS[memo.qualified]  # type: ignore[index]
        if rule.bound in ("ttl", "unbounded"):
            return rule.bound
        if rule.bound == "cache_arg":
            store = memo.keyword("cache", 0)
            if isinstance(store, cst.Call):
                qn = memo.fn.module.qualified(store.func)
                if qn in catalog.CACHETOOLS_TTL_CACHES:
                    return "ttl"
                return "bounded" if qn in catalog.CACHETOOLS_BOUNDED_CACHES else "unbounded"
            return "unbounded" if isinstance(store, cst.Dict) else "bounded"
        size = memo.keyword("maxsize", 0)
        return "unbounded" if isinstance(size, cst.Name) and size.value == "None" else "bounded"


class BlockingKeyScan(_CacheRule):
    """
    ## What it does
    Finds `KEYS pattern` scans (`redis.keys("product:*")`, django-redis
    `cache.keys(...)`) and pattern deletes that walk every key
    (`cache.delete_pattern(...)`). A `.keys(...)` call given a key glob
    (`prefix + "*"`, `pattern=f"{k}*"`) is a scan whatever its client is
    called: no mapping's `keys()` takes one.

    ## Why it matters at scale
    `KEYS` is O(total keys) and Redis is single-threaded: with a few million
    keys one call blocks the server for every client for seconds. A pattern
    delete that scans the whole keyspace on a request path turns each write
    into a full-cache walk.

    ## Example
    ```python
    import redis

    r = redis.Redis()


    def forget_user(user_id):
        for key in r.keys(f"user:{user_id}:*"):
            r.delete(key)
    ```

    ## Use instead
    ```python
    import redis

    r = redis.Redis()


    def forget_user(user_id):
        for key in r.scan_iter(f"user:{user_id}:*"):
            r.delete(key)
    ```

    ## Fix safety
    Safe where the result is only iterated (a `for` loop, a comprehension, or
    `*`-unpacked into a call): `keys(` becomes `scan_iter(` (django-redis:
    `iter_keys(`), which yields the same keys incrementally without blocking.
    No fix where the list itself is used (`len()`, indexing) or the client is
    asynchronous.

    ## Configuration
    `cache-clients` names project redis clients the conventions do not reveal.

    Reported at low confidence (shown with `--min-confidence low`) when the
    scan runs once at process start-up: in `AppConfig.ready()`, an app
    factory or start-up hook, or the constructor of a long-lived worker,
    service or receiver class. It blocks Redis once per process start, not
    per request.
    """

    code = "SL305"
    contexts = frozenset({REQUEST, ONE_SHOT, SCHEDULED})
    name = "blocking-key-scan"
    summary = "KEYS scan or keyspace-wide pattern delete blocks Redis"
    vocabulary = ("keys(", "delete_pattern")
    fix_safety = FixSafety.SAFE

    def check_function(self, fn: FunctionModel) -> None:
        parents = None
        for op in cache_model(fn.module).ops(fn):
            lib = op.client.library
            if op.method == "delete_pattern" and lib in (catalog.DJANGO_CACHE, catalog.UNKNOWN_CACHE):
                self.report(op.call, f"{op.client.spelled}.delete_pattern() walks every key in the cache on each call; use key sets or versioned prefixes",
                            confidence=Confidence.LOW if runs_at_startup(fn) else Confidence.HIGH)
                continue
            if op.method != "keys" or (lib is catalog.UNKNOWN_CACHE and not _glob(op)):
                continue
            parents = parents if parents is not None else _parents(fn)
            fix = self._fix(op, parents)
            pattern = f'"{op.template}"' if op.template else ("..." if op.call.args else "")
            scan = lib.scan_method or "scan_iter"
            self.report(
                op.call,
                f"{op.client.spelled}.keys({pattern}) runs KEYS, O(total keys), blocking Redis for every client; "
                f"use {scan}() in a background job, key sets or versioned prefixes",
                fix=fix,
                confidence=Confidence.LOW if runs_at_startup(fn) else Confidence.HIGH,
            )

    def _fix(self, op: CacheOp, parents: dict[int, cst.CSTNode]) -> Fix | None:
        lib = op.client.library
        method = lib.scan_method or ("scan_iter" if "redis" in op.client.spelled.lower() else None)
        if method is None or lib.is_async:
            return None
        parent = parents.get(id(op.call))
        iterated = (
            isinstance(parent, cst.For) and parent.iter is op.call and parent.asynchronous is None
            or isinstance(parent, cst.CompFor) and parent.iter is op.call and parent.asynchronous is None
            or isinstance(parent, cst.Arg) and parent.star == "*"
        )
        if not iterated:
            return None
        func = op.call.func
        assert isinstance(func, cst.Attribute)
        return self._ctx.replacement_fix(func.attr, cst.Name(method), f"use {method}()", FixSafety.SAFE)


def _dict_memo_facts(fills: list[tuple[str, list[int], str]]) -> list[dict[str, Any]]:
    """One finding per module-level dict memo, at its first fill; the other fills
    are related places."""
    by_name: dict[str, list[tuple[list[int], str]]] = {}
    for name, loc, entity in fills:
        by_name.setdefault(name, []).append((loc, entity))
    found = []
    for name, places in by_name.items():
        places.sort(key=lambda place: place[0][:2])
        (loc, entity), others = places[0], places[1:]
        found.append({
            "loc": loc,
            "message": f"module-level dict {name} memoizes rows of {entity} forever in each "
                       f"process, with no bound and no invalidation; use a shared cache with a TTL",
            "also": [other[:2] for other, _ in others],
        })
    return found


def _glob(op: CacheOp) -> bool:
    text = string_value(op.call.args[0].value) if op.call.args else None
    return bool(op.template and ("*" in op.template or "?" in op.template)) or bool(text and "*" in text)


def _parents(fn: FunctionModel) -> dict[int, cst.CSTNode]:
    out: dict[int, cst.CSTNode] = {}
    for node in walk(fn.node.body):
        for child in children(node):
            out[id(child)] = node
    return out


def _maxsize(memo: Memo) -> str:
    """How many instances a bounded memo keeps (``maxsize=32``, else the default)."""
    size = memo.keyword("maxsize", 0)
    if isinstance(size, cst.Integer):
        return f"up to {size.value} instances"
    if size is None and memo.qualified in ("functools.lru_cache", "cachetools.func.lru_cache"):
        return "up to 128 instances"
    return "instances up to its maxsize"


RULES = [
    WriteWithoutCacheInvalidation,
    CacheSetWithoutTtl,
    CriticalDataInEvictingCache,
    UnboundedMemoizationOfQueries,
    BlockingKeyScan,
]
