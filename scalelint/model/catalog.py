"""Library knowledge, as data: which calls acquire database resources, how
each library's context manager behaves, how each resource is released, and
which calls are blocking I/O. Supporting a new library is an edit here.

Keys are fully qualified names, after import/alias resolution.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Resource:
    """What a value is, as far as the rules care.

    kind: connection | cursor | session | session_factory | engine | pool |
          transaction | django_connection | cache
    """

    kind: str
    library: str
    #: ``with X as v:`` releases (closes or returns to the pool) at block end.
    with_closes: bool = True
    #: ``with X:`` opens/ends a transaction (psycopg2, sqlite3 connections).
    with_is_transaction: bool = False
    #: acquired with ``await`` / released with ``async with``.
    is_async: bool = False
    #: methods on the value that release it (``conn.close()``)
    release_methods: tuple[str, ...] = ("close",)
    #: methods on the *source* that release it (``pool.putconn(conn)``)
    release_by_source: tuple[str, ...] = ()
    #: the source's own context manager for a scoped checkout (``pool.connection``)
    scoped_source_method: str | None = None
    #: the object has no context manager of its own
    no_context_manager: bool = False
    #: runs on a connection someone else checked out (``Session(bind=conn)``):
    #: it holds no pooled connection of its own
    borrowed: bool = False

    def evolve(self, **changes) -> "Resource":
        return replace(self, **changes)


def _conn(library: str, *, closes: bool, tx: bool = False, **kw) -> Resource:
    return Resource("connection", library, with_closes=closes, with_is_transaction=tx, **kw)


# -- calls that return a resource ------------------------------------------------
#: qualified callable -> what calling it returns
CALL_RESULTS: dict[str, Resource] = {
    # DB-API drivers. psycopg2 and sqlite3: `with conn:` is a transaction, not a close.
    "sqlite3.connect": _conn("sqlite3", closes=False, tx=True),
    "sqlite3.dbapi2.connect": _conn("sqlite3", closes=False, tx=True),
    "psycopg2.connect": _conn("psycopg2", closes=False, tx=True),
    "psycopg.connect": _conn("psycopg", closes=True, tx=True),
    "psycopg.Connection.connect": _conn("psycopg", closes=True, tx=True),
    "pymysql.connect": _conn("pymysql", closes=True),
    "pymysql.Connect": _conn("pymysql", closes=True),
    "pymysql.connections.Connection": _conn("pymysql", closes=True),
    "MySQLdb.connect": _conn("MySQLdb", closes=True),
    "MySQLdb.Connect": _conn("MySQLdb", closes=True),
    "mysql.connector.connect": _conn("mysql.connector", closes=True),
    "oracledb.connect": _conn("oracledb", closes=True),
    "cx_Oracle.connect": _conn("cx_Oracle", closes=True),
    "pyodbc.connect": _conn("pyodbc", closes=False, tx=True),
    "asyncpg.connect": _conn("asyncpg", closes=False, is_async=True, no_context_manager=True),
    "aiosqlite.connect": _conn("aiosqlite", closes=True, is_async=True),
    "psycopg.AsyncConnection.connect": _conn("psycopg", closes=True, tx=True, is_async=True),
    # pools
    "psycopg2.pool.SimpleConnectionPool": Resource("pool", "psycopg2.pool", no_context_manager=True),
    "psycopg2.pool.ThreadedConnectionPool": Resource("pool", "psycopg2.pool", no_context_manager=True),
    "psycopg_pool.ConnectionPool": Resource("pool", "psycopg_pool"),
    "psycopg_pool.AsyncConnectionPool": Resource("pool", "psycopg_pool", is_async=True),
    "asyncpg.create_pool": Resource("pool", "asyncpg", is_async=True),
    # SQLAlchemy
    "sqlalchemy.create_engine": Resource("engine", "sqlalchemy", release_methods=("dispose",)),
    "sqlalchemy.engine.create_engine": Resource("engine", "sqlalchemy", release_methods=("dispose",)),
    "sqlalchemy.ext.asyncio.create_async_engine": Resource(
        "engine", "sqlalchemy", is_async=True, release_methods=("dispose",)
    ),
    "sqlalchemy.orm.sessionmaker": Resource("session_factory", "sqlalchemy"),
    "sqlalchemy.orm.scoped_session": Resource("session_factory", "sqlalchemy"),
    "sqlalchemy.ext.asyncio.async_sessionmaker": Resource("session_factory", "sqlalchemy", is_async=True),
    "sqlalchemy.orm.Session": Resource("session", "sqlalchemy"),
    "sqlalchemy.orm.session.Session": Resource("session", "sqlalchemy"),
    "sqlalchemy.ext.asyncio.AsyncSession": Resource("session", "sqlalchemy", is_async=True),
    # SQLModel: SQLAlchemy's engine and sessions under its own names
    "sqlmodel.create_engine": Resource("engine", "sqlalchemy", release_methods=("dispose",)),
    "sqlmodel.Session": Resource("session", "sqlalchemy"),
    "sqlmodel.ext.asyncio.session.AsyncSession": Resource("session", "sqlalchemy", is_async=True),
    # Django
    "django.db.transaction.atomic": Resource("transaction", "django"),
}

#: constructors of long-lived clients that own a connection pool (or, for cloud SDK
#: clients, credentials and an HTTP pool): what SL106 calls them in messages
CLIENT_CONSTRUCTORS: dict[str, str] = {
    **{name: "a connection pool" for name, res in CALL_RESULTS.items() if res.kind == "pool"},
    **{name: "an engine and its connection pool" for name, res in CALL_RESULTS.items() if res.kind == "engine"},
    **{name: "a Redis client and its connection pool" for name in (
        "redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.Redis.from_url", "redis.from_url",
        "redis.StrictRedis.from_url", "redis.RedisCluster", "redis.cluster.RedisCluster",
        "redis.asyncio.Redis", "redis.asyncio.StrictRedis", "redis.asyncio.from_url",
        "redis.asyncio.Redis.from_url", "redis.asyncio.RedisCluster", "aioredis.Redis", "aioredis.from_url",
    )},
    **{name: "a Redis connection pool" for name in (
        "redis.ConnectionPool", "redis.BlockingConnectionPool", "redis.connection.ConnectionPool",
        "redis.asyncio.ConnectionPool", "redis.asyncio.BlockingConnectionPool",
    )},
    "pymemcache.Client": "a memcached client", "pymemcache.client.base.Client": "a memcached client",
    "pymemcache.client.base.PooledClient": "a memcached client pool",
    "boto3.client": "an AWS client (credentials and an HTTP pool)",
    "boto3.resource": "an AWS resource client (credentials and an HTTP pool)",
}
#: SL107: pool sizes above this many connections per process exhaust the server's
#: max_connections once the app runs a few processes
POOL_SIZE_CEILING = 100
#: SL107: Redis client constructors and the keywords that bound a blocked socket
REDIS_TIMEOUT_KEYWORDS = ("socket_timeout", "socket_connect_timeout")
#: SL107: drivers that wait forever for a connection unless told otherwise (libpq's
#: connect_timeout defaults to none)
CONNECT_TIMEOUT_DRIVERS = frozenset({"psycopg2.connect", "psycopg.connect", "psycopg.Connection.connect"})
#: SL108: what says a database is reached through PgBouncer (in a DSN, host,
#: setting name or env var name, case-insensitive), and its port
PGBOUNCER_WORDS = ("pgbouncer", "pooler.", "odyssey", "pgcat")
PGBOUNCER_PORT = "6432"
#: SL108: calls that run the SQL text given as their first argument (DB-API,
#: SQLAlchemy, asyncpg, Django raw queries)
SQL_EXECUTE_METHODS = frozenset({
    "execute", "executemany", "exec_driver_sql", "text", "raw", "fetch", "fetchval", "fetchrow", "executescript",
})
#: SL108: drivers that prepare statements per connection, and the setting that stops it
PREPARED_STATEMENT_SETTINGS: dict[str, tuple[str, str]] = {
    "asyncpg.connect": ("statement_cache_size", "statement_cache_size=0"),
    "asyncpg.create_pool": ("statement_cache_size", "statement_cache_size=0"),
    "psycopg.connect": ("prepare_threshold", "prepare_threshold=None"),
    "psycopg.AsyncConnection.connect": ("prepare_threshold", "prepare_threshold=None"),
}
#: SL108: the Django database setting that turns server-side cursors off, and
#: the keyword that sets it through a database-URL parser
DJANGO_SERVER_CURSOR_FLAG = "DISABLE_SERVER_SIDE_CURSORS"
DATABASE_URL_PARSERS: dict[str, str] = {
    "dj_database_url.config": "disable_server_side_cursors",
    "dj_database_url.parse": "disable_server_side_cursors",
}
#: SL108: QuerySet methods that open a server-side cursor on PostgreSQL
SERVER_SIDE_CURSOR_METHODS = frozenset({"iterator"})
#: decorators that make a function run once per process (or per argument set)
ONCE_DECORATORS = frozenset({
    "functools.cache", "functools.lru_cache", "functools.cached_property", "cachetools.cached",
    "django.utils.functional.cached_property",
})
#: start-up hooks: a decorator attribute (``@app.on_event("startup")``,
#: ``@app.before_first_request``, ``@worker_process_init.connect``) or a function name
STARTUP_DECORATOR_ATTRS = frozenset({"on_event", "before_first_request", "before_serving", "on_startup", "connect"})
#: SL301: library calls that copy the listed fields of a row (the row first, the
#: field list by this keyword): the value depends on those columns alone
FIELD_PICKERS = {"django.forms.models.model_to_dict": "fields"}
#: keyword arguments that hand a framework its start-up hooks (``FastAPI(lifespan=...)``,
#: ``Starlette(on_startup=[...])``)
STARTUP_HOOK_KEYWORDS = frozenset({"lifespan", "on_startup"})
STARTUP_FUNCTIONS = frozenset({
    "create_app", "make_app", "build_app", "get_app", "app_factory", "init_app", "setup_app", "configure_app",
    "lifespan", "ready", "startup", "on_startup", "setup", "configure", "init", "initialize", "main",
})

#: first-run set-up gates (scalelint.model.entrypoints): a function that starts with
#: ``if User.query.filter_by(is_system=False).has_rows(): return ...`` serves only
#: while no account exists, once per installation. The models whose rows mark an
#: installation as set up (by class name, or the user model's getter) and the
#: existence checks that ask for any row.
SETUP_GATE_MODELS = frozenset({"User", "Users", "Account", "Accounts", "AppUser", "Admin", "SuperUser", "Superuser"})
SETUP_GATE_MODEL_GETTERS = frozenset({"get_user_model"})
SETUP_GATE_CHECKS = frozenset({"exists", "has_rows", "first", "count", "one_or_none", "scalar"})

#: qualified names of objects (not calls) that are resources
OBJECTS: dict[str, Resource] = {
    "django.db.connection": Resource("django_connection", "django"),
}
#: qualified names of mappings whose items are resources
MAPPINGS: dict[str, Resource] = {
    "django.db.connections": Resource("django_connection", "django"),
}

# -- methods on a resource that return another ---------------------------------
#: (receiver kind, library or "*", method) -> result
METHOD_RESULTS: dict[tuple[str, str, str], Resource] = {
    ("engine", "sqlalchemy", "connect"): _conn("sqlalchemy", closes=True),
    ("engine", "sqlalchemy", "begin"): Resource("transaction", "sqlalchemy"),
    ("engine", "sqlalchemy", "raw_connection"): _conn("sqlalchemy-dbapi", closes=False),
    ("connection", "sqlalchemy", "begin"): Resource("transaction", "sqlalchemy"),
    ("session", "sqlalchemy", "begin"): Resource("transaction", "sqlalchemy"),
    ("session_factory", "sqlalchemy", "begin"): Resource("transaction", "sqlalchemy"),
    ("pool", "psycopg2.pool", "getconn"): _conn(
        "psycopg2", closes=False, tx=True, release_methods=(), release_by_source=("putconn",)
    ),
    ("pool", "psycopg_pool", "getconn"): _conn(
        "psycopg", closes=False, release_methods=(), release_by_source=("putconn",),
        scoped_source_method="connection",
    ),
    ("pool", "psycopg_pool", "connection"): _conn("psycopg", closes=True),
    ("pool", "asyncpg", "acquire"): _conn(
        "asyncpg", closes=True, is_async=True, release_methods=(), release_by_source=("release",),
        scoped_source_method="acquire",
    ),
    ("connection", "asyncpg", "transaction"): Resource("transaction", "asyncpg"),
    ("connection", "psycopg", "transaction"): Resource("transaction", "psycopg"),
    ("connection", "sqlite3", "cursor"): Resource("cursor", "sqlite3", no_context_manager=True),
    ("connection", "*", "cursor"): Resource("cursor", "dbapi"),
    ("django_connection", "django", "cursor"): Resource("cursor", "django"),
}

#: kinds that can be bound to a connection someone else checked out (``Session(bind=conn)``)
BINDABLE_KINDS = frozenset({"session", "session_factory"})
#: keywords that make a session join the transaction of the connection it is bound to
JOINS_CONNECTION_KEYWORDS = frozenset({"join_transaction_mode"})
#: calls returning a connection that is already checked out (Alembic's migration connection)
BORROWED_CONNECTION_CALLS = frozenset({"alembic.op.get_bind"})
#: methods returning the connection their receiver already holds (``session.connection()``)
BORROWED_CONNECTION_METHODS = frozenset({"connection"})
#: names (last part, lowercase) that by convention hold a connection
CONNECTION_NAMES = frozenset({"conn", "connection", "connectable", "dbconn", "db_conn"})
CONNECTION_NAME_SUFFIXES = ("_conn", "_connection")

#: calling an instance of this kind returns a new resource (``SessionLocal()``)
CALLABLE_KINDS: dict[str, str] = {"session_factory": "session"}

#: methods that run SQL or talk to the database, per receiver kind
QUERY_METHODS: dict[str, frozenset[str]] = {
    "connection": frozenset({
        "execute", "executemany", "executescript", "query", "fetch", "fetchrow", "fetchval",
        "exec_driver_sql", "scalar", "scalars", "commit", "rollback", "copy_from", "copy_to",
        "copy_expert", "copy_records_to_table",
    }),
    "cursor": frozenset({
        "execute", "executemany", "executescript", "fetchone", "fetchall", "fetchmany",
        "callproc", "copy_from", "copy_to", "copy_expert", "scroll",
    }),
    "session": frozenset({
        "execute", "scalar", "scalars", "get", "query", "add", "add_all", "merge", "delete",
        "flush", "commit", "rollback", "refresh", "get_one", "bulk_save_objects",
        "bulk_insert_mappings", "bulk_update_mappings",
    }),
}

# -- in-house conventions (no import reveals them) -------------------------------
#: function names that by convention return a fresh database connection
CONVENTIONAL_FACTORY_NAMES = frozenset({
    "get_db_connection", "get_db_conn", "get_connection", "get_conn", "get_db",
    "db_connect", "connect_db", "connect_to_db", "connect_to_database",
    "new_connection", "open_connection", "create_connection", "get_database_connection",
})
#: factory names that say "database" themselves (generic ones such as
#: ``get_connection`` count only when imported from a DB_MODULE_PARTS module)
DB_NAMED_FACTORIES = frozenset({
    "get_db_connection", "get_db_conn", "get_db", "db_connect", "connect_db", "connect_to_db",
    "connect_to_database", "get_database_connection",
})
DB_MODULE_PARTS = frozenset({
    "db", "database", "databases", "dbapi", "sql", "postgres", "postgresql", "pg", "mysql", "sqlite",
    "oracle", "models", "orm", "persistence", "storage", "repository", "repositories", "dal",
})
#: conventional factories that often hand out a shared or request-scoped handle (Flask's
#: ``get_db()`` keeps one on ``g`` and closes it at teardown): never closing it is not a leak
SHARED_HANDLE_FACTORY_NAMES = frozenset({"get_db", "get_database"})
#: receiver names whose ``.connect()`` returns a connection by convention
CONVENTIONAL_DB_RECEIVERS = frozenset({"db", "database", "dbapi"})
#: receiver name fragments whose ``.getconn()`` is a pool checkout
CONVENTIONAL_POOL_FRAGMENT = "pool"

IN_HOUSE = Resource("connection", "in-house", with_closes=False)
IN_HOUSE_POOL_CONN = _conn("in-house", closes=False, release_methods=(), release_by_source=("putconn",))


# == caches (SL3xx) ================================================================
# Cache clients by qualified name, and what each library's write calls mean for
# expiry. Read by scalelint.model.caches.caching; the rules never spell a library.


@dataclass(frozen=True)
class CacheLibrary:
    """One cache client library and the semantics the cache rules need."""

    name: str
    #: write method -> (TTL keyword names, positional index of the TTL or None)
    ttl_args: tuple[tuple[str, tuple[str, ...], int | None], ...] = ()
    #: writes that always carry a TTL (``setex``)
    ttl_always: frozenset[str] = frozenset()
    #: TTL spellings that mean "never expires"
    forever_values: tuple[str, ...] = ()
    #: TTL spellings that mean "do not cache at all"
    no_cache_values: tuple[str, ...] = ()
    #: what an omitted TTL means: "default" (configured default) | "forever"
    omitted: str = "default"
    #: writes that cannot carry a TTL: the key lives forever unless expired separately
    ttl_less_writes: frozenset[str] = frozenset()
    #: methods that give an existing key a TTL
    expire_methods: frozenset[str] = frozenset()
    #: methods that cap a collection's length (``ltrim``, ``zremrangebyrank``)
    trim_methods: frozenset[str] = frozenset()
    is_async: bool = False
    #: True: evicts under memory pressure (LRU client, the shared default cache); None: unknown
    evicting: bool | None = None
    #: non-blocking replacement for a ``keys(pattern)`` scan (None: no keys() method)
    scan_method: str | None = None
    #: ``get`` returns the stored Python object (deserialized), so an empty list or 0
    #: comes back falsy; raw clients return bytes, truthy for any serialized value
    returns_objects: bool = False
    #: the atomic counter method (``incr``), None when the client has none
    increment: str | None = None

    def ttl_arg(self, method: str) -> tuple[tuple[str, ...], int | None] | None:
        for name, keywords, position in self.ttl_args:
            if name == method:
                return keywords, position
        return None


_REDIS_TTL_LESS = frozenset({
    "setnx", "mset", "msetnx", "getset", "hset", "hsetnx", "hmset", "hincrby", "hincrbyfloat",
    "sadd", "lpush", "rpush", "lpushx", "rpushx", "zadd", "zincrby", "incr", "incrby",
    "incrbyfloat", "decr", "decrby", "append", "setrange", "pfadd", "xadd", "geoadd",
})
_REDIS = dict(
    ttl_args=(("set", ("ex", "px", "exat", "pxat", "keepttl"), 2),),
    ttl_always=frozenset({"setex", "psetex"}),
    forever_values=("None",),
    omitted="forever",
    ttl_less_writes=_REDIS_TTL_LESS,
    expire_methods=frozenset({"expire", "pexpire", "expireat", "pexpireat", "getex", "setex", "psetex"}),
    trim_methods=frozenset({"ltrim", "zremrangebyrank", "zremrangebyscore", "zremrangebylex"}),
    scan_method="scan_iter",
    increment="incr",
)
REDIS = CacheLibrary("redis", **_REDIS)
REDIS_ASYNC = CacheLibrary("redis.asyncio", is_async=True, **_REDIS)
#: Django's cache framework (django-redis adds keys()/iter_keys()/delete_pattern())
DJANGO_CACHE = CacheLibrary(
    "django",
    ttl_args=(("set", ("timeout",), 2), ("add", ("timeout",), 2), ("get_or_set", ("timeout",), 2),
              ("set_many", ("timeout",), 1), ("touch", ("timeout",), 1)),
    forever_values=("None",),  # omitted means the configured default (300 s unless settings say otherwise)
    no_cache_values=("0",),
    evicting=True,
    scan_method="iter_keys",
    returns_objects=True,
    increment="incr",
)
FLASK_CACHING = CacheLibrary(
    "flask_caching",
    ttl_args=(("set", ("timeout",), 2), ("add", ("timeout",), 2), ("set_many", ("timeout",), 1),
              ("cached", ("timeout",), 0), ("memoize", ("timeout",), 0)),
    forever_values=("0",),  # None means the configured default
    evicting=True,
    returns_objects=True,
    increment="inc",
)
PYMEMCACHE = CacheLibrary(
    "pymemcache",
    ttl_args=(("set", ("expire",), 2), ("add", ("expire",), 2), ("replace", ("expire",), 2),
              ("set_many", ("expire",), 1), ("set_multi", ("expire",), 1), ("cas", ("expire",), 3)),
    forever_values=("0",),
    omitted="forever",  # expire defaults to 0: never
    expire_methods=frozenset({"touch"}),
    evicting=True,  # memcached is an LRU cache
    increment="incr",
)
AIOCACHE = CacheLibrary(
    "aiocache",
    ttl_args=(("set", ("ttl",), 2), ("add", ("ttl",), 2), ("multi_set", ("ttl",), 1), ("cached", ("ttl",), 0)),
    forever_values=("None",),  # omitted means the cache's configured ttl
    expire_methods=frozenset({"expire"}),
    is_async=True,
    returns_objects=True,
    increment="increment",
)
#: expiry is set per region (``configure(expiration_time=...)``), not per call
DOGPILE = CacheLibrary("dogpile.cache")
#: a client known only by convention or config: no expiry semantics assumed
UNKNOWN_CACHE = CacheLibrary("cache")

#: qualified callables (constructors, factories, class names in annotations) -> library
CACHE_CONSTRUCTORS: dict[str, CacheLibrary] = {
    **{name: REDIS for name in (
        "redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.client.StrictRedis",
        "redis.Redis.from_url", "redis.StrictRedis.from_url", "redis.from_url",
        "redis.RedisCluster", "redis.cluster.RedisCluster", "redis.cluster.RedisCluster.from_url",
        "django_redis.get_redis_connection",
    )},
    **{name: REDIS_ASYNC for name in (
        "redis.asyncio.Redis", "redis.asyncio.StrictRedis", "redis.asyncio.client.Redis",
        "redis.asyncio.from_url", "redis.asyncio.Redis.from_url", "redis.asyncio.RedisCluster",
        "redis.asyncio.cluster.RedisCluster", "aioredis.Redis", "aioredis.from_url",
    )},
    "django.core.cache.backends.base.BaseCache": DJANGO_CACHE,
    "flask_caching.Cache": FLASK_CACHING,
    **{name: PYMEMCACHE for name in (
        "pymemcache.Client", "pymemcache.client.Client", "pymemcache.client.base.Client",
        "pymemcache.PooledClient", "pymemcache.client.base.PooledClient", "pymemcache.HashClient",
        "pymemcache.client.hash.HashClient", "pymemcache.client.retrying.RetryingClient",
    )},
    **{name: AIOCACHE for name in (
        "aiocache.Cache", "aiocache.SimpleMemoryCache", "aiocache.RedisCache", "aiocache.MemcachedCache",
        "aiocache.caches.get", "aiocache.caches.create", "aiocache.base.BaseCache",
    )},
    "dogpile.cache.make_region": DOGPILE,
    "dogpile.cache.region.make_region": DOGPILE,
    "dogpile.cache.region.CacheRegion": DOGPILE,
}
#: qualified objects that are cache clients
CACHE_OBJECTS: dict[str, CacheLibrary] = {"django.core.cache.cache": DJANGO_CACHE}
#: qualified mappings whose items are cache clients (``caches["default"]``)
CACHE_MAPPINGS: dict[str, CacheLibrary] = {"django.core.cache.caches": DJANGO_CACHE}
#: methods of a client that return a client of the same library
CACHE_SELF_METHODS = frozenset({"pipeline", "configure", "configure_from_config"})

#: receiver names that are cache clients by convention (rules.md): exact, prefix, suffix
CONVENTIONAL_CACHE_NAMES = frozenset({"cache", "redis", "memcache", "memcached"})
CONVENTIONAL_CACHE_PREFIXES = ("REDIS_",)
CONVENTIONAL_CACHE_SUFFIXES = ("_cache", "_redis")
#: project factory functions whose name has one of these words return a cache client
#: (``ri = redis_instance()``, ``r = get_redis()``): the words name the library
CONVENTIONAL_CACHE_FACTORY_WORDS = frozenset({"redis"})
#: the other words such a factory's name may have (``get_redis_client``), none else
CONVENTIONAL_CACHE_FACTORY_FILLERS = frozenset({
    "get", "make", "new", "create", "instance", "client", "conn", "connection", "redis",
})
#: calls a cached value passes through on its way in or out (serialisers, casts)
CACHE_VALUE_CODECS = frozenset({
    "int", "float", "str", "json.loads", "json.dumps", "orjson.loads", "orjson.dumps", "ujson.loads",
    "ujson.dumps", "pickle.loads", "pickle.dumps", "simplejson.loads", "simplejson.dumps",
})
#: for a conventionally named receiver: method -> least argument count that makes
#: it a cache call (a dict named ``cache`` has get/keys()/update, never these)
CACHE_CALL_SHAPES: dict[str, int] = {
    "set": 2, "setex": 3, "psetex": 3, "set_many": 1, "add": 2, "get_or_set": 2, "mset": 1,
    "setnx": 2, "delete": 1, "delete_many": 1, "unlink": 1, "expire": 2, "pexpire": 2,
    "hset": 2, "hmset": 2, "incr": 1, "decr": 1, "keys": 1, "delete_pattern": 1,
    "delete_memoized": 1, "touch": 1, "memoize": 0, "cached": 0, "publish": 2, "scan_iter": 1,
    "clear": 0, "flushdb": 0, "pop": 1,
}

#: client methods by what they do to keys
#: ``pop(key[, default])``: in-process caches that are mappings (cachetools, a project's
#: own cache class) drop a key the way a client's ``delete`` does
CACHE_DELETES = frozenset({"delete", "delete_many", "unlink", "getdel", "hdel", "delete_memoized",
                           "delete_memoized_verhash", "pop"})
CACHE_WRITES = frozenset({"set", "setex", "psetex", "set_many", "add", "get_or_set", "mset", "setnx",
                          "hset", "hmset", "hsetnx", "incr", "incrby", "decr", "decrby", "getset",
                          "multi_set", "replace", "cas", "set_multi", "sadd", "lpush", "rpush", "zadd"})
CACHE_PATTERN_DELETES = frozenset({"delete_pattern"})
#: methods that make an existing key expire (Redis ``expire(key, 0)``): an invalidation
#: when a helper calls them after a write. Not ``touch``: Django's and memcached's extend a key
CACHE_EXPIRES = frozenset({"expire", "pexpire", "expireat", "pexpireat"})
#: SL204: writes that store a value computed on a miss under one key (what a builder does)
CACHE_FILLS = frozenset({"set", "setex", "psetex", "add", "setnx", "getset", "replace"})
#: SL204: cache calls that run their default on a miss and store what it returns
#: (Django's ``cache.get_or_set(key, builder, ttl)``): the builder is the miss path
CACHE_BUILDER_FILLS = frozenset({"get_or_set"})
#: SL204: decorators, called with arguments, that cache a function's result in a shared
#: cache (Flask-Caching's ``@cache.memoize(60)``, in-house ``@cache(key_prefix="x")``);
#: in-process memoizers (IN_PROCESS_MEMOIZERS) are not among them
CACHING_DECORATOR_NAMES = frozenset({"cache", "cached", "memoize"})
#: SL204: functions or methods deleting what such a decorator cached: a function's
#: memoized results (``delete_memoized(f, ...)``), or a key prefix (``delete_cached("x")``)
MEMO_DELETES = frozenset({"delete_memoized", "delete_memoized_verhash"})
#: Flask-Caching decorators whose entry is keyed by ``key_prefix`` (or the request
#: path), not by the function: ``delete_memoized(f)`` leaves it in place
PREFIX_CACHED_DECORATORS = {"cached": frozenset({"flask_caching", "cache"})}
PREFIX_DELETES = frozenset({"delete_cached"})
#: SL308: ORM calls that aggregate over many rows (expensive to recompute)
AGGREGATE_QUERY_METHODS = frozenset({"aggregate", "annotate", "count"})
#: SL308: SQL that aggregates over many rows
SQL_AGGREGATE = re.compile(r"\bGROUP\s+BY\b|\b(COUNT|SUM|AVG)\s*\(", re.I)
#: SL307: per-key cache calls and the batched call that replaces a loop of them, per library
CACHE_BATCH_METHODS: dict[str, dict[str, str]] = {
    "redis": {"get": "mget()", "set": "mset() or a pipeline", "setex": "a pipeline", "delete": "delete(*keys)",
              "unlink": "unlink(*keys)", "exists": "exists(*keys)", "hget": "a pipeline", "hgetall": "a pipeline",
              "hset": "a pipeline", "expire": "a pipeline", "incr": "a pipeline", "incrby": "a pipeline"},
    "django": {"get": "get_many()", "set": "set_many()", "delete": "delete_many()", "add": "set_many()",
               "incr": "a redis pipeline", "touch": "touch() per key in a pipeline"},
    "flask_caching": {"get": "get_many()", "set": "set_many()", "delete": "delete_many()", "add": "set_many()"},
    "pymemcache": {"get": "get_many()", "set": "set_many()", "delete": "delete_many()", "add": "set_many()"},
    "aiocache": {"get": "multi_get()", "set": "multi_set()", "delete": "a batched delete", "add": "multi_set()"},
}
CACHE_BATCH_METHODS["redis.asyncio"] = CACHE_BATCH_METHODS["redis"]
#: hooks that run a callable after the surrounding transaction commits (Django,
#: Celery's delay_on_commit): work handed to them is not inside the transaction
ON_COMMIT_HOOKS = frozenset({"on_commit", "delay_on_commit", "apply_async_on_commit"})
#: method verbs a project data-access object writes with (``project_repo.update(p)``,
#: ``repo.save_category(c)``), for calls the project call graph cannot place
PROJECT_WRITE_VERBS = frozenset({"save", "update", "create", "insert", "upsert", "merge", "persist", "delete"})
#: words of cache keys and helper names that name no entity (relating a delete to a write)
GENERIC_KEY_WORDS = frozenset({
    "cache", "cached", "key", "get", "all", "set", "delete", "reset", "clean", "update", "save", "create",
    "count", "number", "data", "page", "list", "index", "front", "top", "new", "old", "the", "for", "by",
    "repo", "repository", "session", "db", "self", "obj", "object", "item", "value", "result", "info",
    "memoized", "flush", "clear", "invalidate", "refresh", "objects", "filter",
})
CACHE_SCANS = frozenset({"keys", "scan_iter", "iter_keys"})
CACHE_CLEARS = frozenset({"clear", "flushdb", "flushall"})
CACHE_READS = frozenset({
    "get", "get_many", "mget", "hget", "hgetall", "hmget", "hkeys", "hvals", "hexists", "multi_get",
    "smembers", "sismember", "scard", "lrange", "llen", "zrange", "zrevrange", "zscore", "zcard", "exists",
})
#: writes that also return the cached value to their caller (a read too)
CACHE_READING_WRITES = frozenset({"get_or_set"})
#: writes whose value is a mapping of key -> value
CACHE_MAPPING_WRITES = frozenset({"set_many", "mset", "multi_set", "set_multi"})

#: decorators that memoize through a shared cache client: method -> library names it exists on
SHARED_MEMO_METHODS: dict[str, frozenset[str]] = {
    "memoize": frozenset({"flask_caching", "cache"}),
    "cached": frozenset({"flask_caching", "cache"}),
    "cache_on_arguments": frozenset({"dogpile.cache"}),
}
SHARED_MEMO_DECORATORS: dict[str, CacheLibrary] = {
    "aiocache.cached": AIOCACHE, "aiocache.decorators.cached": AIOCACHE,
}
#: methods on a memoized function that drop its cached results
MEMO_INVALIDATORS = frozenset({"cache_clear", "invalidate", "refresh", "clear_cached", "bump_version"})


@dataclass(frozen=True)
class Memoizer:
    """An in-process memoizing decorator (SL304)."""

    #: how its size is bounded: "maxsize" (an argument, 128 by default) |
    #: "cache_arg" (the cache object passed, ``cachetools.cached(cache)``) | "unbounded" | "ttl"
    bound: str
    #: on a method, a cache each instance owns (``cachedmethod(lambda self: self._cache)``);
    #: otherwise one cache per decorated function, for the whole process, keyed by ``self``
    per_instance: bool = False


IN_PROCESS_MEMOIZERS: dict[str, Memoizer] = {
    "functools.lru_cache": Memoizer("maxsize"),
    "functools.cache": Memoizer("unbounded"),
    "cachetools.cached": Memoizer("cache_arg"),
    "cachetools.cachedmethod": Memoizer("cache_arg", per_instance=True),
    "cachetools.func.lru_cache": Memoizer("maxsize"),
    "cachetools.func.lfu_cache": Memoizer("maxsize"),
    "cachetools.func.fifo_cache": Memoizer("maxsize"),
    "cachetools.func.rr_cache": Memoizer("maxsize"),
    "cachetools.func.mru_cache": Memoizer("maxsize"),
    "cachetools.func.ttl_cache": Memoizer("ttl"),
}
#: cachetools cache classes: those that expire entries, and the bounded ones
CACHETOOLS_TTL_CACHES = frozenset({"cachetools.TTLCache", "cachetools.TLRUCache"})
CACHETOOLS_BOUNDED_CACHES = frozenset({
    "cachetools.Cache", "cachetools.LRUCache", "cachetools.LFUCache", "cachetools.FIFOCache",
    "cachetools.RRCache", "cachetools.MRUCache",
})

@dataclass(frozen=True)
class CriticalData:
    """A kind of data that must not vanish from a cache (SL303)."""

    what: str  # how a finding names it ("rate-limit counter")
    loss: str  # what an eviction does to the application
    #: losing it lets someone in or logs someone out (sessions, tokens, login
    #: counters, replay markers): strong evidence alone. The others (locks,
    #: quotas, de-dup markers) are strong only on an authentication path.
    guards_access: bool = False


CRITICAL_DATA: dict[str, CriticalData] = {
    "session": CriticalData("session", "its users are logged out", guards_access=True),
    "lock": CriticalData("lock", "two workers take the same lock"),
    "token": CriticalData("token", "the clients holding it are rejected", guards_access=True),
    "rate limit": CriticalData("rate-limit counter", "the counts reset, so the limit no longer holds an attacker back"),
    "login failure": CriticalData("login-failure counter", "brute-force throttling resets and password guessing resumes",
                                  guards_access=True),
    "replay": CriticalData("replay marker", "a used code, nonce or token is accepted again", guards_access=True),
    "oauth code": CriticalData("OAuth authorization code", "a sign-in fails when the code vanishes before it is redeemed",
                               guards_access=True),
    "idempotency": CriticalData("idempotency key", "a retried request runs twice"),
}
#: words naming an authentication path (a key, the function writing it, its
#: class, a throttle's class or scope): a lock, quota or marker there guards
#: guessing of a secret, not only load. Also matched as two joined words
#: (``sign_in`` -> signin, ``two_factor`` -> twofactor). Sending verification
#: e-mails is a quota on sending, not a guess of a secret: not listed.
AUTH_PATH_WORDS = frozenset({
    "login", "logins", "logon", "signin", "password", "passwords", "passwd", "passcode", "passphrase",
    "auth", "authentication", "authenticate", "otp", "totp", "hotp", "mfa", "2fa", "twofactor",
    "bruteforce", "credential", "credentials",
})
#: ORM writes that return the row they find (or insert)
ROW_FETCHING_WRITES = frozenset({"get_or_create", "update_or_create", "aget_or_create", "aupdate_or_create"})
#: a key word (first word of a key, or part of the key variable's name) -> the kind of critical data
CRITICAL_KEY_WORDS: dict[str, str] = {
    **dict.fromkeys(("session", "sessions", "sess"), "session"),
    **dict.fromkeys(("lock", "locks", "mutex", "semaphore"), "lock"),
    **dict.fromkeys(("token", "tokens", "auth", "jwt", "csrf"), "token"),
    **dict.fromkeys(("ratelimit", "ratelimits", "rate_limit", "ratelimiter", "throttle", "throttles", "throttling",
                     "attempt", "attempts"), "rate limit"),
    **dict.fromkeys(("otp", "totp", "hotp", "nonce", "nonces", "jti"), "replay"),
    **dict.fromkeys(("idempotency", "idempotent"), "idempotency"),
}
#: pairs of key words that together mark critical data wherever they stand in the
#: key's first words (``login:fail:ip:{}``, ``used_otp:{}``, ``oauth:code:{}``):
#: (first words, second words, kind)
CRITICAL_KEY_PHRASES: tuple[tuple[frozenset[str], frozenset[str], str], ...] = (
    (frozenset({"login", "signin", "password", "auth"}),
     frozenset({"fail", "failed", "failure", "failures", "fails", "attempt", "attempts", "block", "blocked",
                "lockout", "locked"}), "login failure"),
    (frozenset({"used", "spent", "seen", "consumed"}),
     frozenset({"otp", "totp", "code", "codes", "nonce", "token", "jti"}), "replay"),
    (frozenset({"oauth", "oauth2", "authorization", "authorize", "auth"}),
     frozenset({"code", "codes", "grant"}), "oauth code"),
)
#: how many leading words of a key the phrases are looked for in
CRITICAL_PHRASE_SPAN = 3
#: Django REST framework throttles: they keep request histories in their class's
#: ``cache`` attribute, Django's default cache unless the class sets another
DRF_THROTTLE_CLASSES = frozenset({
    "rest_framework.throttling.SimpleRateThrottle", "rest_framework.throttling.AnonRateThrottle",
    "rest_framework.throttling.UserRateThrottle", "rest_framework.throttling.ScopedRateThrottle",
})
DRF_THROTTLE_CACHE_ATTR = "cache"
#: the attribute naming a throttle's rate in settings (``scope = "login"``)
DRF_THROTTLE_SCOPE_ATTR = "scope"
#: calls that read a setting from the environment with a fallback: qualified
#: name -> position of the fallback argument (None: only as ``default=``)
ENV_READERS: dict[str, int | None] = {
    "os.getenv": 1, "os.environ.get": 1, "decouple.config": None,
}
#: classes whose instances read the environment (``env = environ.Env()``): called
#: (``env("X", default=...)``) or through typed methods (``env.str("X", "...")``)
ENV_READER_CLASSES = frozenset({"environ.Env", "environs.Env", "decouple.AutoConfig", "decouple.Config"})
ENV_DEFAULT_KEYWORD = "default"
#: Django session engines that keep sessions only in a cache
EVICTING_SESSION_ENGINES = frozenset({"django.contrib.sessions.backends.cache"})
#: redis maxmemory policies that evict keys
EVICTING_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
                     "volatile-lfu", "volatile-random", "volatile-ttl")

#: project helpers recognised by name as cache invalidation (``invalidate_product_cache``)
INVALIDATION_HELPER_NAME = r"^_*(?:invalidate|clear|bust|purge|flush|evict|expire|drop|reset)_(?:(?P<what>\w+?)_)?caches?$|^_*caches?_(?:invalidate|clear|bust|purge|evict)(?:_(?P<what2>\w+))?$"
#: calls that publish a change event (subscribers elsewhere are trusted to invalidate):
#: ``bus.publish(...)``, ``publish_product_changed(...)``, ``emit_event(...)``, ``send_event(...)``
EVENT_PUBLISH_METHODS = frozenset({"publish"})
EVENT_PUBLISH_NAME = r"^_*(?:publish|emit|broadcast)(?:_\w+)?$|^_*\w+_events?$"

# -- entity reads and writes (SQL text and ORM calls) -------------------------------
#: Django manager attributes on a model class
DJANGO_MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})


@dataclass(frozen=True)
class WriteKind:
    """How an ORM write reaches model hooks."""

    describe: str
    save_hooks: bool = False  # post_save receivers and save() overrides run
    delete_hooks: bool = False  # post_delete receivers run
    delete_override: bool = False  # the model's delete() override runs
    session_commit: bool = False  # committed by a SQLAlchemy session: its after_commit listeners run
    note: str = ""


WRITE_KINDS: dict[str, WriteKind] = {
    "sql": WriteKind("{verb} {table}", note="raw SQL runs no model hooks"),
    "save": WriteKind("{model}.save()", save_hooks=True),
    "create": WriteKind("{model}.objects.{method}()", save_hooks=True),
    "instance_delete": WriteKind("{model}.delete()", delete_hooks=True, delete_override=True),
    "qs_update": WriteKind("{model} QuerySet.update()", note="QuerySet.update() skips save() and post_save"),
    "qs_delete": WriteKind("{model} QuerySet.delete()", delete_hooks=True, note="QuerySet.delete() skips delete() overrides"),
    "bulk": WriteKind("{model}.objects.{method}()", note="bulk operations skip save() and post_save"),
    "sa_add": WriteKind("session.{method}({model})", save_hooks=True, session_commit=True),
    "sa_delete": WriteKind("session.delete({model})", delete_hooks=True, session_commit=True),
    "sa_bulk": WriteKind("{method}", session_commit=True, note="bulk statements skip ORM events"),
}
#: Django manager/QuerySet method -> write kind
DJANGO_WRITE_METHODS: dict[str, str] = {
    "update": "qs_update", "delete": "qs_delete", "create": "create", "get_or_create": "create",
    "update_or_create": "create", "bulk_create": "bulk", "bulk_update": "bulk",
    "aupdate": "qs_update", "adelete": "qs_delete", "acreate": "create", "aget_or_create": "create",
    "aupdate_or_create": "create", "abulk_create": "bulk", "abulk_update": "bulk",
}
#: Django QuerySet methods returning one instance (``p = Product.objects.get(...)``)
DJANGO_INSTANCE_METHODS = frozenset({
    "get", "first", "last", "create", "earliest", "latest", "aget", "afirst", "alast", "acreate",
})
#: Django signals by the hooks they observe
DJANGO_SAVE_SIGNALS = frozenset({"django.db.models.signals.post_save", "django.db.models.signals.pre_save"})
DJANGO_DELETE_SIGNALS = frozenset({"django.db.models.signals.post_delete", "django.db.models.signals.pre_delete"})
DJANGO_RECEIVER = frozenset({"django.dispatch.receiver", "django.dispatch.dispatcher.receiver"})
#: SQLAlchemy mapper events by the hooks they observe
SA_LISTENS_FOR = frozenset({"sqlalchemy.event.listens_for", "sqlalchemy.event.listen"})
SA_SAVE_EVENTS = frozenset({"after_insert", "after_update", "before_insert", "before_update"})
SA_DELETE_EVENTS = frozenset({"after_delete", "before_delete"})
#: session events fired once a transaction has committed, whatever it wrote
SA_COMMIT_EVENTS = frozenset({"after_commit"})
#: events whose listeners run inside the flush or the commit, while the transaction is open
#: (``after_commit`` / ``after_rollback`` / ``after_soft_rollback`` run once it has ended)
SA_IN_TRANSACTION_EVENTS = SA_SAVE_EVENTS | SA_DELETE_EVENTS | frozenset({
    "before_flush", "after_flush", "after_flush_postexec", "before_commit",
    "after_bulk_update", "after_bulk_delete",
})
#: SQLAlchemy statement constructors (``update(Product)``) and the query builder
SA_WRITE_STATEMENTS = frozenset({
    "sqlalchemy.update", "sqlalchemy.delete", "sqlalchemy.insert", "sqlalchemy.sql.update",
    "sqlalchemy.sql.delete", "sqlalchemy.sql.insert", "sqlalchemy.sql.expression.update",
    "sqlalchemy.sql.expression.delete", "sqlalchemy.sql.expression.insert",
    "sqlalchemy.dialects.postgresql.insert", "sqlmodel.update", "sqlmodel.delete", "sqlmodel.insert",
})
SA_SELECTS = frozenset({"sqlalchemy.select", "sqlalchemy.future.select", "sqlalchemy.sql.select",
                        "sqlalchemy.sql.expression.select", "sqlmodel.select"})
#: session methods: reading a model (first argument) / writing an instance
SA_SESSION_READS = frozenset({"query", "get", "get_one"})
SA_SESSION_ADDS = frozenset({"add", "merge"})
#: Django shortcuts reading a model given as first argument
DJANGO_MODEL_READERS = frozenset({
    "django.shortcuts.get_object_or_404", "django.shortcuts.get_list_or_404",
})
#: blocking calls to remote services (SL304: memoizing these goes stale)
#: how many calls deep the model follows the project's own helpers when asking
#: whether a call does I/O or queries ("look one or two calls deep")
PROJECT_HELPER_DEPTH = 2
REMOTE_CALL_PREFIXES = (
    "requests.", "httpx.", "urllib.request.urlopen", "urllib3.", "aiohttp.", "boto3.", "grpc.",
)


# == connection family: work, transactions, batching (SL101/SL103/SL104) ========
#: qualified callables that block on the network, a child process or a timer
IO_CALLS: dict[str, str] = {
    **{f"requests.{m}": "http" for m in ("get", "post", "put", "patch", "delete", "head", "options", "request")},
    **{f"requests.api.{m}": "http" for m in ("get", "post", "put", "patch", "delete", "head", "request")},
    **{f"httpx.{m}": "http" for m in ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")},
    "urllib.request.urlopen": "http",
    "urllib.request.urlretrieve": "http",
    "urllib2.urlopen": "http",
    "time.sleep": "sleep",
    "asyncio.sleep": "sleep",
    "gevent.sleep": "sleep",
    **{f"subprocess.{m}": "subprocess" for m in ("run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput")},
    "os.system": "subprocess",
    "os.popen": "subprocess",
    "asyncio.create_subprocess_exec": "subprocess",
    "asyncio.create_subprocess_shell": "subprocess",
    "socket.create_connection": "socket",
    "socket.getaddrinfo": "socket",
    "socket.gethostbyname": "socket",
    "django.core.mail.send_mail": "mail",
    "django.core.mail.send_mass_mail": "mail",
    "django.core.mail.mail_admins": "mail",
    "django.core.mail.mail_managers": "mail",
    "flask_mail.Mail.send": "mail",
    "celery.current_app.send_task": "queue",
}

#: decorators marking a method abstract: a call on the base class runs a subclass's override
ABSTRACT_METHOD_DECORATORS = frozenset({"abc.abstractmethod"})
#: Taskcluster's service client classes (``taskcluster.Notify(options).email(...)``,
#: ``taskcluster.aio.Queue``): each API method is a signed HTTP request
TASKCLUSTER_SERVICES = ("Auth", "Github", "Hooks", "Index", "Notify", "Object", "PurgeCache", "Queue",
                        "Secrets", "WorkerManager")
#: qualified constructors of clients whose methods do I/O -> client kind
IO_CLIENTS: dict[str, str] = {
    "requests.Session": "http",
    "requests.session": "http",
    "requests.sessions.Session": "http",
    "httpx.Client": "http",
    "httpx.AsyncClient": "http",
    "aiohttp.ClientSession": "http",
    "urllib3.PoolManager": "http",
    "http.client.HTTPConnection": "http",
    "http.client.HTTPSConnection": "http",
    "boto3.client": "cloud",
    "boto3.resource": "cloud",
    "boto3.session.Session.client": "cloud",
    # Taskcluster's service clients: every API method is an HTTP request to the deployment
    **{f"taskcluster{aio}.{service}": "cloud" for aio in ("", ".aio") for service in TASKCLUSTER_SERVICES},
    "smtplib.SMTP": "smtp",
    "smtplib.SMTP_SSL": "smtp",
    "socket.socket": "socket",
    "django.core.mail.EmailMessage": "mail_message",
    "django.core.mail.EmailMultiAlternatives": "mail_message",
    "django.core.mail.message.EmailMessage": "mail_message",
    "django.core.mail.get_connection": "smtp",
    "emails.Message": "mail_message",
    "emails.html": "mail_message",
    "emails.message.Message": "mail_message",
    "django_rq.get_queue": "rq",
    "rq.Queue": "rq",
}

#: methods that do I/O per client kind (None: every method except IO_CLIENT_LOCAL)
IO_CLIENT_METHODS: dict[str, frozenset[str] | None] = {
    "http": frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request",
                       "send", "stream", "urlopen"}),
    "cloud": None,
    "smtp": frozenset({"sendmail", "send_message", "send_messages", "login", "connect", "starttls", "ehlo"}),
    "socket": frozenset({"connect", "send", "sendall", "recv", "recv_into", "accept", "sendto", "recvfrom"}),
    "mail_message": frozenset({"send"}),
    "rq": frozenset({"enqueue", "enqueue_call", "enqueue_in", "enqueue_at"}),
}
#: methods of a mail backend (Django's ``BaseEmailBackend`` protocol, whichever class
#: the code picks: ``backend.send_messages([message])``) that send the mail messages
#: (``mail_message`` clients) handed to them
MAIL_BACKEND_SENDS = frozenset({"send_messages"})
#: SDKs whose resource classes call a remote API (``stripe.Customer.create(...)``,
#: ``stripe.PaymentIntent.confirm_async(...)``): module root -> (category, the
#: resource methods that make a request; an ``_async`` suffix is the same request)
IO_SDK_METHODS: dict[str, tuple[str, frozenset[str]]] = {
    "stripe": ("http", frozenset({
        "create", "retrieve", "modify", "delete", "list", "search", "confirm", "cancel", "capture",
        "attach", "detach", "pay", "finalize_invoice", "void_invoice", "mark_uncollectible", "send_invoice",
        "upcoming", "create_preview", "list_line_items", "expire", "verify_microdeposits", "apply_customer_balance",
        "create_balance_transaction", "create_source", "delete_discount", "create_tax_id", "delete_tax_id",
    })),
}
#: words of a file that may do blocking I/O itself: such a file publishes its call
#: summaries even when no rule's own vocabulary matches it
IO_VOCABULARY = tuple(sorted(
    {name.split(".")[0] for name in (*IO_CALLS, *IO_CLIENTS, *IO_SDK_METHODS)} | {"delay(", "apply_async("}
))
#: SDK client classes whose methods call a remote API and return its response
#: (beyond IO_CLIENTS): a value built from such a response is the service's data,
#: not a copy of the rows the client was built with (SL301 provenance)
REMOTE_API_CLIENTS = frozenset({
    "slack_sdk.WebClient", "slack_sdk.web.WebClient", "slack_sdk.web.client.WebClient",
    "slack_sdk.web.async_client.AsyncWebClient", "slack.WebClient", "slack.web.client.WebClient",
    "twilio.rest.Client", "github.Github", "telegram.Bot",
})
#: how a class deriving from one of them spells its base (``class Chat(WebClient):``):
#: files holding these publish their remote client classes (SL301 prefilter)
REMOTE_API_CLIENT_BASE_WORDS = tuple(sorted({
    name.rsplit(".", 1)[-1] + ")"
    for name in (*REMOTE_API_CLIENTS, *(n for n, kind in IO_CLIENTS.items() if kind in ("http", "cloud")))
    if name.rsplit(".", 1)[-1][:1].isupper()  # classes, not factories (``boto3.client``)
}))
#: client methods that stay local (for kinds whose every other method is I/O)
IO_CLIENT_LOCAL = frozenset({"get_paginator", "get_waiter", "can_paginate", "meta", "exceptions", "close",
                             # Taskcluster: URLs built from the client's options, no request
                             "buildUrl", "buildSignedUrl", "options", "funcinfo"})

#: methods that enqueue a task (celery); the receiver must be a recognised task
TASK_ENQUEUE_METHODS = frozenset({"delay", "apply_async"})
#: methods of a task that build its signature (``task.s(x).delay()``, ``task.signature(...).apply_async()``)
TASK_SIGNATURE_METHODS = frozenset({"s", "si", "signature"})
#: decorators that make a function a task (qualified, or the last part of ``<app>.task``)
#: client methods whose only point is to check a connection can be opened (a health probe)
CONNECTIVITY_CHECKS = frozenset({"ping"})
TASK_DECORATORS = frozenset({"celery.shared_task", "celery.task", "dramatiq.actor", "rq.decorators.job", "rq.job"})
TASK_DECORATOR_ATTRS = frozenset({"task", "shared_task"})
#: task decorators (last name) that may register a task under a name of its own
TASK_REGISTERING_DECORATORS = frozenset({"task", "shared_task", "actor", "job"})
#: their keywords naming it (``@actor(actor_name="org.backfill")``, ``@app.task(name="...")``)
TASK_NAME_KEYWORDS = frozenset({"actor_name", "name"})
#: calls enqueueing a task by its registered name (``enqueue_job("org.backfill", ...)``,
#: Celery's ``app.send_task("org.backfill")``)
ENQUEUE_BY_NAME_CALLS = frozenset({"enqueue_job", "send_task"})
#: -- scheduled jobs (scalelint.model.schedules): run by a scheduler at a fixed interval --
#: settings / config names holding a periodic schedule whose entries name tasks by
#: ``"task": "dotted.path"`` (Celery beat, AWX's dispatcher); compared case-insensitively
SCHEDULE_SETTINGS = frozenset({"beat_schedule", "celery_beat_schedule", "celerybeat_schedule", "dispatcher_schedule"})
#: the key of a schedule entry naming its task
SCHEDULE_TASK_KEY = "task"
#: methods registering a periodic job, and the position of the job among their
#: positional arguments (Celery's and Pyramid/warehouse's ``add_periodic_task(schedule, sig)``)
SCHEDULE_CALLS = {"add_periodic_task": 1}
#: APScheduler's ``add_job(func, trigger)``: a job is periodic when its trigger is one of these
SCHEDULE_JOB_CALLS = frozenset({"add_job"})
PERIODIC_TRIGGERS = frozenset({"interval", "cron"})
#: trigger classes (last name) that make ``add_job`` periodic
PERIODIC_TRIGGER_CLASSES = frozenset({"IntervalTrigger", "CronTrigger"})
#: decorators (last name) that schedule the function they decorate: Celery's old
#: ``@periodic_task``, huey's ``@periodic_task``/``@db_periodic_task``, APScheduler's
#: ``@scheduler.scheduled_job``
SCHEDULE_DECORATORS = frozenset({"periodic_task", "db_periodic_task", "scheduled_job"})
#: keywords of a task decorator that give it a periodic trigger (dramatiq actors with a
#: cron trigger, ``@actor(cron_trigger=CronTrigger(...))``; Celery's ``run_every``)
SCHEDULE_DECORATOR_KEYWORDS = frozenset({"cron_trigger", "run_every"})
#: words of a file that may schedule jobs: it publishes its schedule (call-graph facts)
SCHEDULE_VOCABULARY = ("schedule", "SCHEDULE", "periodic_task", "add_job", "cron_trigger", "run_every")
#: decorator attributes that make a function a web view (``@app.route``, ``@router.post``,
#: Pyramid's ``@view_config``, DRF's ``@api_view``)
VIEW_DECORATOR_ATTRS = frozenset({
    "route", "get", "post", "put", "patch", "delete", "api_route", "websocket", "view_config", "api_view",
})
#: qualified decorators that make a function a web view
VIEW_DECORATORS = frozenset({
    "pyramid.view.view_config", "rest_framework.decorators.api_view",
    # Django's decorators that only make sense on a view (a routed request handler)
    "django.contrib.auth.decorators.login_required", "django.contrib.auth.decorators.permission_required",
    "django.contrib.auth.decorators.user_passes_test", "django.views.decorators.http.require_POST",
    "django.views.decorators.http.require_GET", "django.views.decorators.http.require_safe",
    "django.views.decorators.http.require_http_methods", "django.views.decorators.csrf.csrf_exempt",
})
#: base-class name endings of class-based views (``View``, ``APIView``, ``ModelViewSet``,
#: flask's ``MethodView``, flask-restful's ``Resource``) and the methods serving a request there
VIEW_CLASS_SUFFIXES = ("View", "ViewSet", "Resource", "Handler")
VIEW_METHODS = frozenset({
    "get", "post", "put", "patch", "delete", "dispatch", "form_valid", "perform_create", "perform_update",
    "create", "update", "partial_update", "destroy", "list", "retrieve",
})
#: a module path component that holds tasks by convention (``app.tasks.send_invoice``)
TASK_MODULE_PART = "tasks"

#: builtins and standard modules whose calls are cheap (no I/O, no business logic)
CHEAP_BUILTINS = frozenset({
    "len", "int", "str", "float", "bool", "dict", "list", "tuple", "set", "frozenset", "bytes",
    "min", "max", "sum", "abs", "round", "sorted", "reversed", "enumerate", "zip", "range", "map",
    "filter", "any", "all", "isinstance", "issubclass", "getattr", "setattr", "hasattr", "repr",
    "format", "print", "iter", "next", "id", "hash", "type", "divmod", "ord", "chr", "super",
    "object", "vars", "callable", "slice",
})
CHEAP_MODULES = frozenset({
    "logging", "json", "re", "math", "datetime", "decimal", "uuid", "itertools", "functools",
    "collections", "operator", "typing", "dataclasses", "copy", "enum", "string", "textwrap",
    "fractions", "statistics", "hashlib", "base64", "binascii", "struct", "time.time",
    "time.monotonic", "time.perf_counter", "django.utils.timezone", "django.utils.translation",
    "contextlib", "warnings", "click.echo", "click.secho", "click.style", "typer.echo", "typer.secho",
    "typer.style",
})
#: helper names that say "pure conversion" (``version_to_tuple``, ``to_utc``, ``parse_date``,
#: ``format_price``): cheap even when defined in another module of the project
CONVERSION_NAME = r"^_*(?:[a-z0-9]+_)*(?:to|as)_[a-z0-9_]+$|^_*(?:parse|format)(?:_[a-z0-9_]+)?$"
#: methods of str/bytes/dict/list/set/datetime values: cheap whatever the receiver
CHEAP_METHODS = frozenset({
    "append", "extend", "insert", "pop", "remove", "clear", "copy", "index", "count", "sort",
    "reverse", "get", "items", "keys", "values", "setdefault", "update", "add", "discard",
    "union", "intersection", "difference", "format", "join", "split", "rsplit", "splitlines",
    "strip", "lstrip", "rstrip", "lower", "upper", "title", "capitalize", "replace", "startswith",
    "endswith", "encode", "decode", "isoformat", "strftime", "isdigit", "zfill", "ljust", "rjust",
    "partition", "rpartition", "find", "rfind", "casefold", "total_seconds", "timestamp", "date",
    "quantize", "hexdigest", "group", "groups", "match", "search", "sub", "fullmatch",
})
#: receiver names that are loggers (``logger.info(...)``)
LOGGER_NAMES = frozenset({"logger", "log", "logging", "_logger", "_log", "LOGGER", "LOG", "task_logger"})

#: methods on a database handle whose result is another handle bound to it
#: (a cursor, a result set still streaming from the connection)
HANDLE_RESULT_METHODS = frozenset({"cursor", "execute", "exec_driver_sql", "stream", "stream_scalars"})
#: methods of a result that return another lazy view of the same rows
#: (SQLAlchemy's ``result.scalars()``, ``result.mappings()``)
LAZY_RESULT_METHODS = frozenset({"scalars", "mappings", "partitions", "yield_per", "unique", "columns", "tuples"})
#: builtins whose result iterates their arguments lazily (``iter(cur)``, ``map(f, cur)``)
LAZY_BUILTINS = frozenset({"iter", "map", "filter", "zip", "enumerate", "reversed"})
#: methods that return rows already fetched (iterating them does not stream)
MATERIALISING_METHODS = frozenset({
    "fetchall", "fetchmany", "fetchone", "fetch", "fetchrow", "fetchval", "all", "first", "one",
    "one_or_none", "scalar", "scalar_one", "scalar_one_or_none",
})
#: handle methods that end the open transaction
TRANSACTION_END_METHODS = frozenset({"commit", "rollback"})
#: handle methods with no effect on the server-side state
HANDLE_NEUTRAL_METHODS = frozenset({
    "cursor", "fetchone", "fetchall", "fetchmany", "close", "scalar", "scalars", "first", "all",
    "one", "one_or_none", "scalar_one", "scalar_one_or_none", "mappings", "keys",
})
#: handle methods whose first argument is the statement (read for the split fix's safety)
SPLIT_QUERY_METHODS = frozenset({
    "execute", "executemany", "executescript", "query", "exec_driver_sql", "fetch", "fetchrow", "fetchval",
})
#: libraries whose connection context manager commits at exit (``with pool.connection()``)
COMMIT_ON_EXIT_LIBRARIES = frozenset({"psycopg"})
#: SQLAlchemy statement constructors -> SQL verb (for ``conn.execute(select(...))``)
SQLALCHEMY_STATEMENTS: dict[str, str] = {
    "sqlalchemy.select": "select", "sqlalchemy.sql.select": "select", "sqlalchemy.future.select": "select",
    "sqlalchemy.insert": "insert", "sqlalchemy.update": "update", "sqlalchemy.delete": "delete",
    "sqlalchemy.sql.insert": "insert", "sqlalchemy.sql.update": "update", "sqlalchemy.sql.delete": "delete",
    "sqlalchemy.dialects.postgresql.insert": "insert", "sqlalchemy.dialects.sqlite.insert": "insert",
    "sqlalchemy.dialects.mysql.insert": "insert", "sqlmodel.select": "select",
}
#: wrappers whose first argument is SQL text (``conn.execute(text("SELECT ..."))``)
SQL_TEXT_WRAPPERS = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"})

#: ``with X:`` where X is one of these transaction resources binds its ``as`` name
#: to a handle of this kind (``with engine.begin() as conn``)
TRANSACTION_YIELDS: dict[tuple[str, str], str] = {
    ("sqlalchemy", "engine"): "connection",
    ("sqlalchemy", "session_factory"): "session",
}

#: a parameter annotated with a project class named ``...Session`` in a module
#: that imports SQLAlchemy is an ORM session (``session: AsyncSession``)
SESSION_TYPE_SUFFIX = "Session"
#: Pyramid: the request attributes apps bind their SQLAlchemy session to
#: (``config.add_request_method(..., name="dbsession", reify=True)``): ``request.dbsession.add(x)``
PYRAMID_REQUEST_SESSIONS = frozenset({"db", "dbsession"})
#: the package whose inclusion (``config.include("pyramid_tm")``) makes every Pyramid
#: request one transaction, committed when the view returns
PYRAMID_TM_PACKAGE = "pyramid_tm"
#: Pyramid's view decorator (``pyramid.view.view_config``)
PYRAMID_VIEW_DECORATOR = "view_config"
#: calls that end the request's transaction early (``transaction.commit()``, ``request.tm.commit()``)
TRANSACTION_MANAGER_ENDS = frozenset({"transaction.commit", "transaction.abort"})
TRANSACTION_MANAGER_END_METHODS = frozenset({"commit", "abort"})
#: Flask-SQLAlchemy: ``db.session`` is a session when ``db`` is imported or module-level
CONVENTIONAL_SESSION_OWNERS = frozenset({"db"})
#: words in the name of an imported annotation that may be a session type alias
#: (``SessionDep``, ``DbSession``, ``DBDep``); the defining module's facts decide
SESSION_ALIAS_WORDS = ("Session", "Dep", "DB", "Db")
#: session registries that are used as the session itself (``Session.query(...)``,
#: ``db_session.commit()``): one session per thread or request, nobody's local
SCOPED_SESSION_REGISTRIES = frozenset({"sqlalchemy.orm.scoped_session", "sqlalchemy.ext.asyncio.async_scoped_session"})
#: session methods that do not check out a connection (autobegin waits for a query)
SESSION_LOCAL_METHODS = frozenset({
    "add", "add_all", "expunge", "expunge_all", "begin", "begin_nested", "close", "commit", "rollback",
    "remove", "in_transaction", "is_modified", "expire", "expire_all",
})
#: session methods that end its transaction and give its connection back to the pool
SESSION_END_METHODS = frozenset({"commit", "rollback", "close", "remove"})
#: session methods whose ``with`` block is an explicit transaction
SESSION_BEGIN_METHODS = frozenset({"begin", "begin_nested"})
#: ``Annotated[T, ...]``: the annotation's type is its first element
ANNOTATED_FORMS = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
#: ``X = NewType("X", T)``: a distinct name for the type ``T``
NEWTYPE_FORMS = frozenset({"typing.NewType", "typing_extensions.NewType"})
#: ``contextlib.closing(x)`` is ``x`` released by ``with``
CLOSING_WRAPPERS = frozenset({"contextlib.closing"})
#: drivers whose ``connect(":memory:")`` opens a private in-memory database (no pool to drain)
IN_MEMORY_LIBRARIES = frozenset({"sqlite3", "aiosqlite"})
#: imports that make a module a migration runner (run once at deploy time, not under load)
MIGRATION_IMPORT_ROOTS = ("alembic", "django.db.migrations")
#: imports that make a module test code (a test, a fixture, a test helper)
TEST_IMPORT_ROOTS = ("pytest", "unittest", "django.test", "hypothesis")
#: ``migrations.RunPython(forward, backward)``: its callables run while migrating
RUN_PYTHON_CALLS = frozenset({"django.db.migrations.RunPython", "migrations.RunPython", "RunPython"})
#: parameters of a RunPython callable (``def forwards(apps, schema_editor)``): a function
#: taking them is migration code wherever it lives (helpers building a data migration)
RUN_PYTHON_PARAMS = ("apps", "schema_editor")
#: ``apps.get_model("app", "Model")`` on a parameter: the historical models of a migration
MIGRATION_MODEL_LOOKUP = "get_model"
#: base classes of management commands (their methods run once, from a terminal)
COMMAND_BASES = frozenset({
    "django.core.management.base.BaseCommand", "django.core.management.BaseCommand",
    "django.core.management.base.LabelCommand", "django.core.management.base.AppCommand",
})
#: SQLAlchemy DDL constructs: a function that drops or creates tables, schemas or
#: constraints maintains the schema (set-up, teardown, dev tooling), not request code
SCHEMA_DDL_CALLS = frozenset(
    f"{module}.{name}"
    for module in ("sqlalchemy.schema", "sqlalchemy.sql.ddl", "sqlalchemy")
    for name in ("DropTable", "CreateTable", "DropSchema", "CreateSchema", "DropConstraint", "AddConstraint",
                 "DropIndex", "CreateIndex")
)
#: an application's own schema migrations, run by its own runner (not Django, not Alembic):
#: modules of these names (``db/migrations.py``, ``migrate.py``) or in packages of these names
MIGRATION_MODULE_NAMES = frozenset({"migrations", "migrate", "migration"})
#: ... whose functions are named ``m001_add_index``, ``m12_backfill``, ``migrate_users``,
#: ``upgrade_v2`` (a regular expression on the name) ...
MIGRATION_FUNCTION_NAME = r"^_?(?:m\d+(?:_\w*)?|(?:migrate|upgrade|downgrade)_\w+|(?:upgrade|downgrade))$"
#: ... and take the database they migrate (a parameter of one of these names, or annotated
#: with one of these classes)
MIGRATION_HANDLE_PARAMS = frozenset({
    "db", "database", "conn", "connection", "con", "cursor", "cur", "session", "engine", "bind",
    "migrator", "dbconn", "db_conn", "db_session",
})
MIGRATION_HANDLE_TYPES = frozenset({
    "Connection", "AsyncConnection", "Session", "AsyncSession", "Engine", "AsyncEngine", "Cursor", "Database",
})
#: a command-line main: it parses the command line with one of these parsers ...
ARGUMENT_PARSERS = frozenset({"argparse.ArgumentParser", "optparse.OptionParser"})
#: ... calling one of these methods on it, or takes (``main(argv=sys.argv)``) the process's argv
PARSE_ARGS_METHODS = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args"})
PROCESS_ARGV = "sys.argv"
#: decorators making a function a CLI command (``@click.command()``, ``@app.cli.command()``)
CLI_DECORATOR_NAMES = frozenset({"command", "group"})
#: libraries whose ``.command``/``.group`` decorators declare CLI commands
CLI_LIBRARIES = ("click", "typer", "flask_script", "flask.cli")

#: per-iteration calls that run a query, per handle kind (SL104)
LOOP_QUERY_METHODS: dict[str, frozenset[str]] = {
    "connection": frozenset({"execute", "query", "fetch", "fetchrow", "fetchval", "exec_driver_sql", "scalar", "scalars"}),
    "cursor": frozenset({"execute", "callproc"}),
    "session": frozenset({"execute", "scalar", "scalars", "get", "get_one", "query", "merge", "refresh"}),
}
#: Django QuerySet/Manager methods that run the query when called
DJANGO_QUERY_TERMINALS = frozenset({
    "get", "first", "last", "count", "exists", "create", "get_or_create", "update_or_create",
    "update", "delete", "aggregate", "latest", "earliest", "in_bulk", "contains",
    "aget", "afirst", "alast", "acount", "aexists", "acreate", "aget_or_create",
    "aupdate_or_create", "aupdate", "adelete", "aaggregate",
})
#: Django QuerySet methods that return another lazy QuerySet (iterating or
#: ``list()``-ing the result runs the query)
DJANGO_LAZY_METHODS = frozenset({
    "all", "filter", "exclude", "order_by", "values", "values_list", "select_related",
    "prefetch_related", "annotate", "alias", "distinct", "only", "defer", "using", "reverse",
    "iterator", "select_for_update", "extra", "union", "intersection", "difference", "dates",
    "datetimes", "complex_filter",
})
#: a chain through this method never reaches the database
DJANGO_EMPTY_METHODS = frozenset({"none"})
#: Flask-SQLAlchemy ``Model.query`` methods that run the query
SQLALCHEMY_QUERY_TERMINALS = frozenset({
    "all", "first", "one", "one_or_none", "get", "count", "scalar", "first_or_404", "get_or_404",
    "one_or_404", "delete", "update", "has_rows",
})
#: I/O categories that wait on another service over the network: a loop round that
#: does one spends its time there, not in its query (SL104 reports those at low confidence)
NETWORK_IO_CATEGORIES = frozenset({"http", "cloud", "mail", "socket"})
#: wrappers that run a lazy query they are given (``list(qs)``)
EVALUATING_BUILTINS = frozenset({"list", "tuple", "set", "len", "sorted", "bool"})
#: name fragments of loops that are batching on purpose (one query per batch)
BATCH_NAME_FRAGMENTS = ("batch", "chunk", "page", "slice", "partition")
#: calls that parse one document into its items (a loop over them walks one document, not rows)
DOCUMENT_PARSERS = frozenset({
    "json.loads", "orjson.loads", "ujson.loads", "simplejson.loads", "re.findall", "re.finditer",
})
#: methods listing the items of a parsed document: elements of an HTML/XML tree
#: (BeautifulSoup ``find_all``/``findAll``, ElementTree ``findall``/``iterfind``), regex
#: matches (``pattern.findall``), the lines of one text
DOCUMENT_ITEM_METHODS = frozenset({"find_all", "findAll", "findall", "finditer", "iterfind", "splitlines"})
#: attributes on the way to a query's rows (``Order.objects.filter``, ``Order.query.all``,
#: ``session.scalars``, ``cursor.fetchall``): a comprehension over them walks rows
QUERY_CHAIN_ATTRIBUTES = frozenset({
    "objects", "query", "execute", "scalars", "scalar", "fetchall", "fetchmany", "all", "filter", "filter_by",
})
#: longest literal ``range(n)`` that still counts as a small literal collection
SMALL_RANGE = 20
#: names (any part of a dotted spelling, lowercase) of configuration objects: what they
#: list (``settings.PLUGINS``, ``app.config["BACKENDS"]``) is fixed when the code is deployed
CONFIG_NAMES = frozenset({"settings", "config", "conf", "app_settings"})
#: attributes listing schema objects (``metadata.sorted_tables``, ``table.columns``), fixed by the code
SCHEMA_ITERABLE_ATTRS = frozenset({
    "sorted_tables", "columns", "c", "relationships", "column_attrs", "constraints", "foreign_keys",
    "indexes", "mapped_columns", "all_orm_descriptors", "many_to_many", "concrete_fields", "local_fields",
})
#: (receiver, attribute) pairs listing schema objects only on that receiver (``_meta.fields``)
SCHEMA_ITERABLE_OWNED_ATTRS = frozenset({("_meta", "fields"), ("metadata", "tables"), ("meta", "tables")})
#: calls listing schema objects (``apps.get_models()``, ``inspector.get_table_names()``)
SCHEMA_ITERABLE_METHODS = frozenset({
    "get_models", "get_fields", "get_app_configs", "get_table_names", "get_schema_names", "get_view_names",
    "get_columns", "get_indexes", "get_foreign_keys", "get_unique_constraints", "__subclasses__",
})
#: a form's or serializer's mapping of its declared fields (``serializer.validated_data``,
#: ``form.cleaned_data``): its keys are the fields the class declares, so its
#: ``.items()``/``.keys()``/``.values()`` are fixed in the code
DECLARED_FIELD_MAPPINGS = frozenset({"validated_data", "cleaned_data"})
#: model field classes (Django): their instances are built once, where a model class declares
#: a field, so what their constructor was given is written in the model code
MODEL_FIELD_ROOTS = ("django.db.models", "django.contrib.postgres.fields", "django.contrib.gis.db.models")
MODEL_FIELD_SUFFIXES = ("Field", "ForeignKey")
#: calls recording a validation error on a form (``self.add_error(field, error)``)
FORM_ERROR_METHODS = frozenset({"add_error"})
#: decorators (last name) that make a method read as an attribute
PROPERTY_DECORATORS = frozenset({"property", "cached_property"})
#: logger methods that report a failure (``logger.error("worker %s is gone")``): code after
#: them in the same block handles that failure
ERROR_LOG_METHODS = frozenset({"error", "exception", "critical", "fatal"})
#: command-line input: ``sys.argv``, and what ``parse_args()`` returns
CLI_ITERABLES = frozenset({"sys.argv"})
CLI_PARSE_METHODS = frozenset({"parse_args", "parse_known_args"})
#: calls whose first argument is the model or table queried (``session.query(Order)``, ``select(Order)``)
MODEL_TAKING_CALLS = frozenset({"query", "select", "get", "get_one", "get_or_404", "get_object_or_404"})
#: variable names (lowercase) that by convention hold a model class or table
MODEL_VARIABLE_NAMES = frozenset({"model", "cls", "klass", "table", "entity", "mapper", "model_class", "model_cls"})
MODEL_VARIABLE_SUFFIXES = ("_model", "_table", "_cls", "_class")
#: SQLAlchemy column operators: ``attr.any(...)`` with ``attr`` changing per round is another column each time
SA_COLUMN_OPERATORS = frozenset({
    "any", "has", "in_", "not_in", "notin_", "like", "ilike", "contains", "startswith", "endswith",
    "is_", "is_not", "isnot", "between", "match", "op", "desc", "asc",
})

# -- ORM models and their relationships (SL104 lazy loads) ---------------------------
# Read by scalelint.model.ormmodels (model classes and relationship fields, published
# as project facts) and scalelint.model.connections.lazyloads (loops over query results).

#: bases that make a class a Django model / a SQLAlchemy mapped class
DJANGO_MODEL_BASES = frozenset({
    "django.db.models.Model", "django.db.models.base.Model", "django.contrib.gis.db.models.Model",
    "django.contrib.auth.models.AbstractUser", "django.contrib.auth.models.AbstractBaseUser",
    "django.contrib.auth.base_user.AbstractBaseUser",
})
SA_MODEL_BASES = frozenset({
    "sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta", "sqlmodel.SQLModel",
    "sqlalchemy.orm.decl_api.DeclarativeBase",
})
#: calls whose result is a declarative base (``Base = declarative_base()``)
SA_BASE_FACTORIES = frozenset({
    "sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base",
    "sqlalchemy.orm.decl_api.declarative_base", "flask_sqlalchemy.SQLAlchemy",
})
#: Django relation fields -> kind: ``fk`` loads one object on access, ``m2m`` is a
#: related manager (queries when ``.all()``/``.filter()``... is called), ``gfk`` loads
#: an object of a model known only at run time
DJANGO_RELATION_FIELDS: dict[str, str] = {
    "django.db.models.ForeignKey": "fk", "django.db.models.OneToOneField": "o2o",
    "django.db.models.ManyToManyField": "m2m", "django.db.models.fields.related.ForeignKey": "fk",
    "django.db.models.fields.related.OneToOneField": "o2o", "django.db.models.fields.related.ManyToManyField": "m2m",
    "django.contrib.gis.db.models.ForeignKey": "fk", "django.contrib.gis.db.models.OneToOneField": "o2o",
    "django.contrib.gis.db.models.ManyToManyField": "m2m",
    "django.contrib.contenttypes.fields.GenericForeignKey": "gfk",
    "django.contrib.contenttypes.fields.GenericRelation": "m2m",
    "mptt.fields.TreeForeignKey": "fk", "mptt.fields.TreeOneToOneField": "o2o",
    "mptt.fields.TreeManyToManyField": "m2m", "modelcluster.fields.ParentalKey": "fk",
    "modelcluster.fields.ParentalManyToManyField": "m2m",
}
#: QuerySet methods after which iterating still yields model instances
DJANGO_INSTANCE_CHAIN = frozenset({
    "all", "filter", "exclude", "order_by", "select_related", "prefetch_related", "annotate", "alias",
    "distinct", "only", "defer", "using", "reverse", "iterator", "select_for_update", "complex_filter",
})
#: QuerySet methods naming relations loaded with the rows
DJANGO_EAGER_METHODS = frozenset({"select_related", "prefetch_related"})
DJANGO_PREFETCH_OBJECTS = frozenset({"django.db.models.Prefetch", "django.db.models.query.Prefetch"})
#: functions prefetching relations onto instances already fetched (first argument)
DJANGO_PREFETCH_FUNCTIONS = frozenset({
    "django.db.models.prefetch_related_objects", "django.db.models.query.prefetch_related_objects",
})
#: related-manager methods answered from the prefetch cache (others query even when prefetched)
DJANGO_PREFETCH_SERVED = frozenset({"all", "count", "exists"})
#: related-manager methods that run a query
DJANGO_MANAGER_QUERIES = frozenset({
    "all", "filter", "exclude", "get", "count", "exists", "first", "last", "order_by", "values",
    "values_list", "aggregate", "annotate", "latest", "earliest", "distinct", "select_related",
    "prefetch_related", "only", "defer", "iterator", "in_bulk", "contains",
})
#: SQLAlchemy relationship() callables (``db.relationship`` on a conventional owner too)
SA_RELATIONSHIP_CALLS = frozenset({"sqlalchemy.orm.relationship", "sqlalchemy.orm.relation", "sqlmodel.Relationship"})
SA_BACKREF_CALLS = frozenset({"sqlalchemy.orm.backref"})
SA_RELATIONSHIP_ATTRS = frozenset({"relationship", "relation"})
#: relationship ``lazy=`` strategies that query on first access, and the ones whose
#: attribute is a query object (querying when ``.all()``/``.filter()``... is called)
SA_LAZY_ON_ACCESS = frozenset({"select", "True"})
SA_LAZY_QUERY_OBJECT = frozenset({"dynamic"})
SA_DYNAMIC_QUERIES = frozenset({
    "all", "filter", "filter_by", "first", "one", "count", "order_by", "limit", "where", "one_or_none",
})
#: loader options that load a relationship with its parent rows
SA_EAGER_OPTIONS = frozenset({
    "sqlalchemy.orm.joinedload", "sqlalchemy.orm.selectinload", "sqlalchemy.orm.subqueryload",
    "sqlalchemy.orm.immediateload", "sqlalchemy.orm.contains_eager", "sqlalchemy.orm.raiseload",
    "sqlalchemy.orm.noload", "sqlalchemy.orm.defaultload",
})
SA_EAGER_OPTION_NAMES = frozenset(q.rsplit(".", 1)[-1] for q in SA_EAGER_OPTIONS)
#: legacy Query / select() methods after which the rows are still instances of the model
SA_INSTANCE_CHAIN = frozenset({
    "filter", "filter_by", "where", "order_by", "limit", "offset", "options", "join", "outerjoin",
    "distinct", "execution_options", "yield_per", "all", "unique", "scalars", "populate_existing",
    "with_for_update", "group_by", "having",
})


# == replicas and check-then-act (SL2xx) ============================================
# Read by scalelint.model.dbops (which calls read or write which entity, through
# which handle) and scalelint.model.flow.dataflow (how values move). A name is a
# replica handle only where the code uses it as a database handle (SQL text, an
# ORM call); ``replica_count`` or ``replicas = 3`` never reach such a place.

#: name words that make a handle, alias or setting a read replica
REPLICA_WORDS = frozenset({"replica", "reader", "readonly", "follower", "secondary", "standby", "slave"})
#: words that, after ``read``/``ro``, make the name a handle (``read_db``, ``ReadSession``, ``ro_conn``)
DB_HANDLE_WORDS = frozenset({
    "db", "database", "session", "sessions", "conn", "connection", "engine", "pool", "cursor", "cur",
    "client", "dsn", "url", "uri", "alias", "maker", "sessionmaker",
})
#: words that make a replica-ish name a number, flag or setting about replicas, never a handle
NOT_HANDLE_WORDS = frozenset({
    "count", "counts", "lag", "num", "number", "size", "delay", "ratio", "weight", "timeout",
    "enabled", "configured", "allow", "allowed", "use", "is", "has", "should", "status", "set",
    "health", "healthy", "state", "max", "min", "total", "index", "id", "ids", "address", "email",
    "color", "colour", "key", "label", "text", "title", "button",
})
#: spelled replacements that turn a replica handle into its primary counterpart
#: (offered as a fix only where the counterpart is spelled in the same file)
PRIMARY_COUNTERPARTS: tuple[tuple[str, str], ...] = (
    ("replica", "primary"), ("replica", "default"), ("replica", "master"), ("replica", "writer"),
    ("reader", "writer"), ("readonly", "readwrite"), ("read", "write"), ("ro", "rw"),
    ("slave", "master"), ("secondary", "primary"), ("follower", "leader"), ("standby", "primary"),
)
#: handles whose constructor's arguments (a URL, a setting, ``bind=``) decide
#: whether they reach a replica: ``reader_engine = create_engine(DATABASE_URL)`` is the primary
REPLICA_DECIDING_KINDS = frozenset({"connection", "pool", "engine", "session_factory", "session"})
#: SQLAlchemy's routing-session recipe: a Session subclass whose ``get_bind``
#: picks the primary while flushing or for write statements and a replica
#: otherwise; its reads are replica reads, its writes reach the primary
SA_SESSION_CLASSES = frozenset({"sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session"})
ROUTING_BIND_METHOD = "get_bind"
ROUTING_WRITE_MARKERS = frozenset({"_flushing", "Update", "Delete", "Insert", "UpdateBase"})
#: keyword of ``sessionmaker`` naming the session class it builds
SESSION_CLASS_KEYWORD = "class_"
#: Django's alias for the primary database
DJANGO_DEFAULT_ALIAS = "default"

#: methods whose first argument is SQL text run on the receiver
SQL_CALL_METHODS = frozenset({
    "execute", "executemany", "query", "fetch", "fetchrow", "fetchval", "fetch_one", "fetch_all",
    "fetch_val", "scalar", "scalars", "exec_driver_sql", "execute_fetchall", "raw", "run_query",
    "select", "fetchone", "fetchall", "query_one", "query_all", "query_value",
})
#: functions taking SQL text and a connection (``pd.read_sql(sql, con=replica_engine)``)
SQL_READ_FUNCTIONS: dict[str, str] = {
    "pandas.read_sql": "con", "pandas.read_sql_query": "con", "pandas.io.sql.read_sql": "con",
}
#: Django manager/QuerySet methods naming the database alias
DJANGO_ALIAS_METHODS = frozenset({"using", "db_manager"})
#: QuerySet/Query methods that lock the rows they read
ROW_LOCK_METHODS = frozenset({"select_for_update", "with_for_update", "with_lockmode"})
#: Django QuerySet methods by the shape of what they return
DJANGO_VALUE_METHODS = frozenset({"count", "acount", "aggregate", "aaggregate"})
#: Django query methods whose aggregate arguments (``annotate(total=Sum("qty"))``) add per-row totals
DJANGO_ANNOTATE_METHODS = frozenset({"annotate", "alias"})
#: aggregate functions of the ORMs (``Sum("qty")``, ``func.count()``): a value computed over many rows
ORM_AGGREGATE_FUNCTIONS = frozenset({"Sum", "Count", "Avg", "Max", "Min", "StdDev", "Variance", "count", "sum"})
DJANGO_EXISTS_METHODS = frozenset({"exists", "aexists", "contains", "acontains"})
DJANGO_ROW_METHODS = frozenset({
    "get", "aget", "first", "afirst", "last", "alast", "latest", "alatest", "earliest",
    "aearliest", "in_bulk", "ain_bulk", "iterator", "all", "filter", "exclude", "order_by",
    "select_related", "prefetch_related", "only", "defer", "distinct", "annotate", "values",
    "values_list", "none", "reverse", "using", "db_manager", "select_for_update", "get_queryset",
})
#: QuerySet methods that narrow which rows a write touches (their lookups re-check in the database)
DJANGO_FILTER_METHODS = frozenset({"filter", "exclude", "get", "aget"})
#: Django QuerySet writes -> SQL verb ("upsert": get_or_create and friends, atomic on a unique field)
DJANGO_WRITE_VERBS: dict[str, str] = {
    "update": "update", "aupdate": "update", "delete": "delete", "adelete": "delete",
    "create": "insert", "acreate": "insert", "bulk_create": "insert", "abulk_create": "insert",
    "bulk_update": "update", "abulk_update": "update", "get_or_create": "upsert",
    "aget_or_create": "upsert", "update_or_create": "upsert", "aupdate_or_create": "upsert",
}
#: writes whose first argument is a list of model instances (written back whole)
DJANGO_INSTANCE_LIST_WRITES = frozenset({"bulk_update", "abulk_update"})
#: methods on a model instance that write it
INSTANCE_SAVE_METHODS = frozenset({"save", "asave"})
INSTANCE_DELETE_METHODS = frozenset({"delete", "adelete"})
#: Django expressions that compute the new value in the database (``F("stock") - n``)
DB_SIDE_EXPRESSIONS = frozenset({
    "django.db.models.F", "django.db.models.expressions.F", "django.db.models.functions.Greatest",
    "django.db.models.functions.Least", "django.db.models.functions.Coalesce",
})
#: SQLAlchemy query methods that narrow rows (their criteria re-check in the database)
SA_FILTER_METHODS = frozenset({"filter", "filter_by", "where"})
#: SQLAlchemy query/result methods by the shape of what they return
SA_VALUE_METHODS = frozenset({"count"})
#: session methods that write the instance given as first argument -> SQL verb
SA_INSTANCE_WRITES: dict[str, str] = {
    "add": "save", "merge": "save", "delete": "delete", "add_all": "save",
    "bulk_save_objects": "save",
}
#: session methods after which attribute changes on loaded instances reach the database
SA_FLUSH_METHODS = frozenset({"commit", "flush"})
#: SQLAlchemy statement verbs that write (values come from ``.values(...)``)
SA_STATEMENT_VERBS = frozenset({"insert", "update", "delete"})
#: an instance built from a project class with one of these suffixes is not a model
NOT_MODEL_SUFFIXES = ("Form", "FormSet", "Formset", "Serializer", "Schema", "Error", "Exception",
                      "View", "Admin", "Filter", "Response", "Request", "Event", "Task", "Client")
#: field names that identify a row (using them addresses a row, it does not copy state)
IDENTITY_FIELDS = frozenset({"id", "pk", "uuid", "guid", "slug", "token", "external_id"})
IDENTITY_SUFFIXES = ("_id", "_ids", "_pk", "_uuid", "_guid")
#: exception names whose handler makes a write a safe "insert or notice the duplicate"
#: exceptions (last name) a database raises when it cannot be reached: a cache read only
#: in their handlers is an outage fallback, not a cache readers see (SL301)
DB_OUTAGE_ERRORS = frozenset({"OperationalError", "InterfaceError", "DatabaseError", "DisconnectionError"})
UNIQUE_VIOLATIONS = ("IntegrityError", "UniqueViolation", "UniqueViolationError")
#: tables of the database's own catalog (``pg_catalog.pg_type``, ``sqlite_master``): they
#: change with migrations, not with requests. ``information_schema`` views are not here:
#: their names (``columns``, ``tables``) cannot be told from application tables.
SYSTEM_CATALOG_PREFIXES = ("pg_", "sqlite_")


def is_system_catalog(table: str | None) -> bool:
    return bool(table) and table.lower().startswith(SYSTEM_CATALOG_PREFIXES)


#: Django ``bulk_create`` keywords that turn the insert into an upsert
DJANGO_CONFLICT_KEYWORDS = ("update_conflicts", "ignore_conflicts")
#: SQLAlchemy insert methods that make it an upsert (postgresql, sqlite, mysql dialects)
SA_UPSERT_METHODS = frozenset({"on_conflict_do_nothing", "on_conflict_do_update", "on_duplicate_key_update"})
#: words in the name of a context manager that takes a lock shared by every process
#: (``with advisory_lock(key):``, ``with cache.lock("k"):``, ``with acquire_lock(...)``)
LOCK_CONTEXT_WORDS = frozenset({"lock", "locked", "locking", "mutex"})
#: methods of a cache/lock client that take a lock shared by every process (``cache.lock(key)``)
SHARED_LOCK_METHODS = frozenset({"lock", "acquire_lock"})
#: context managers that only serialise threads of one process: no guard across requests
PROCESS_LOCAL_LOCKS = frozenset({
    "threading.Lock", "threading.RLock", "threading.Semaphore", "asyncio.Lock", "asyncio.Semaphore",
    "multiprocessing.Lock", "multiprocessing.RLock",
})
#: exception names whose handler runs when a read found nothing (``except X.DoesNotExist:``)
NOT_FOUND_ERRORS = ("DoesNotExist", "NoResultFound", "ObjectDoesNotExist")
#: calls whose result is their argument, element for element (``list(rows)``)
PASS_THROUGH_CALLS = frozenset({
    "list", "tuple", "set", "frozenset", "sorted", "reversed", "iter", "next", "copy.copy",
    "copy.deepcopy", "max", "min", "enumerate", "zip", "filter",
})
#: calls and receivers whose result never carries data onward (logging, printing)
FLOW_SINKLESS = frozenset({
    "print", "warnings.warn", "isinstance", "issubclass", "hasattr", "callable", "id", "type",
})
#: calls whose result is a value computed from their arguments (other unknown calls are
#: assumed to wrap or reference what they are given, not to read its state)
VALUE_FUNCTIONS = frozenset({
    "len", "sum", "abs", "round", "int", "float", "str", "bool", "repr", "format", "divmod",
    "decimal.Decimal", "Decimal", "math.floor", "math.ceil", "math.fsum", "statistics.mean",
})
#: primary-key fields: a read filtered by one fetches a known row (not a uniqueness check)
PRIMARY_KEY_FIELDS = frozenset({"id", "pk", "uuid", "guid"})
#: signals sent while migrating (their receivers run offline, one process at a time)
MIGRATION_SIGNALS = frozenset({
    "django.db.models.signals.post_migrate", "django.db.models.signals.pre_migrate",
})
#: session methods reading one row of the model given first (``session.get(Account, id)``)
SA_GET_METHODS = frozenset({"get", "get_one", "aget"})
#: session/connection methods running a statement built with ``select()``/``update()``/...
SA_EXECUTE_METHODS = frozenset({"execute", "scalar", "scalars", "stream", "stream_scalars"})
#: methods that put their arguments into the receiver (``rows.append(row)``)
CONTAINER_MUTATORS = frozenset({"append", "extend", "add", "insert", "update", "setdefault"})
#: Django upsert keywords holding the values written (the others are the lookup)
DJANGO_UPSERT_DEFAULTS = frozenset({"defaults", "create_defaults"})
#: Django QuerySet methods returning the named columns (identifiers when they all are)
DJANGO_VALUES_METHODS = frozenset({"values", "values_list"})
#: the session / Flask-SQLAlchemy model attribute starting a legacy ORM query
SA_QUERY_ATTRIBUTE = "query"
#: legacy ORM query methods that write the rows matched / test they exist
SA_QUERY_WRITES = frozenset({"update", "delete"})
SA_EXISTS_METHODS = frozenset({"exists"})
