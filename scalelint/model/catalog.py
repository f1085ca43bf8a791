"""Library knowledge, as data: which calls acquire database resources, how
each library's context manager behaves, how each resource is released, and
which calls are blocking I/O. Supporting a new library is an edit here.

Keys are fully qualified names, after import/alias resolution.
"""
from __future__ import annotations

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
    # Django
    "django.db.transaction.atomic": Resource("transaction", "django"),
}

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
#: receiver names whose ``.connect()`` returns a connection by convention
CONVENTIONAL_DB_RECEIVERS = frozenset({"db", "database", "dbapi"})
#: receiver name fragments whose ``.getconn()`` is a pool checkout
CONVENTIONAL_POOL_FRAGMENT = "pool"

IN_HOUSE = Resource("connection", "in-house", with_closes=False)
IN_HOUSE_POOL_CONN = _conn("in-house", closes=False, release_methods=(), release_by_source=("putconn",))

#: wrappers whose `with` closes the wrapped resource (``with closing(conn) as c``)
CLOSING_WRAPPERS = frozenset({"contextlib.closing"})
