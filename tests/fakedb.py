"""Fake database drivers that log what code does with connections, so fix
tests can run a function before and after a fix and compare behaviour.

Each driver mimics its library's context-manager semantics:
psycopg2/sqlite3 ``with conn:`` commits but does not close; psycopg 3,
SQLAlchemy sessions and pool ``connection()`` blocks release at exit.
"""
from __future__ import annotations

import fnmatch
import itertools
import sqlite3
import types
from contextlib import contextmanager
from typing import Any, Iterator


class Log:
    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.open: set[int] = set()
        self._ids = itertools.count(1)

    def new_id(self) -> int:
        return next(self._ids)

    def queries(self) -> list[str]:
        return [e[2] for e in self.events if e[0] == "query"]

    def work(self, name: str) -> None:
        """Business logic ran; remember how many connections were open then."""
        self.events.append(("work", name, len(self.open)))


class FakeCursor:
    def __init__(self, conn: "FakeConnection") -> None:
        self.conn = conn

    def execute(self, sql: str, params: Any = None) -> "FakeCursor":
        self.conn._query(sql)
        return self

    def fetchone(self):
        self._check_open()
        return (1,)

    def fetchall(self):
        self._check_open()
        return [(1,), (2,)]

    def _check_open(self) -> None:
        """Drivers refuse to read a result once its connection is closed."""
        assert not self.conn.closed, "result read after its connection was closed"

    def close(self) -> None:
        pass

    def __iter__(self):
        return iter(self.fetchall())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class FakeConnection:
    closes_on_exit = False

    def __init__(self, log: Log, label: str) -> None:
        self.log = log
        self.id = log.new_id()
        self.closed = False
        log.open.add(self.id)
        log.events.append(("open", label))

    def _query(self, sql: str) -> None:
        assert not self.closed, "query on a closed connection"
        self.log.events.append(("query", self.id, sql))

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def execute(self, sql: str, *params: Any) -> FakeCursor:
        self._query(sql)
        return FakeCursor(self)

    query = execute
    exec_driver_sql = execute

    def get(self, model: Any, key: Any) -> dict:
        self._query(f"GET {key}")
        return {"id": key}

    def commit(self) -> None:
        self.log.events.append(("commit", self.id))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.log.open.discard(self.id)
            self.log.events.append(("close", self.id))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.closes_on_exit:
            self.close()
        else:
            self.commit()
        return False


class ClosingConnection(FakeConnection):
    closes_on_exit = True


class AsyncConnection(FakeConnection):
    """asyncpg's connection: coroutine methods, no context manager of its own."""

    async def fetchrow(self, sql: str, *params: Any) -> dict:
        self._query(sql)
        return {"name": "ada"}

    async def execute(self, sql: str, *params: Any) -> str:  # type: ignore[override]
        self._query(sql)
        return "OK"

    async def close(self) -> None:  # type: ignore[override]
        FakeConnection.close(self)

    def __enter__(self):
        raise TypeError("asyncpg connections are not context managers")


def install(log: Log) -> dict[str, types.ModuleType]:
    """Fake modules to put in sys.modules while running fixture code."""

    def module(name: str, **attrs: Any) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        return mod

    class Pool:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def getconn(self):
            return FakeConnection(log, "pool")

        def putconn(self, conn: FakeConnection) -> None:
            conn.close()

        @contextmanager
        def connection(self):
            conn = FakeConnection(log, "pool")
            try:
                yield conn
            finally:
                conn.close()

    async def asyncpg_connect(*args: Any, **kwargs: Any) -> AsyncConnection:
        return AsyncConnection(log, "asyncpg")

    def sessionmaker(*args: Any, **kwargs: Any):
        return lambda: ClosingConnection(log, "session")

    modules = {
        "sqlite3": module("sqlite3", connect=lambda *a, **k: FakeConnection(log, "sqlite3")),
        "psycopg2": module("psycopg2", connect=lambda *a, **k: FakeConnection(log, "psycopg2")),
        "psycopg": module("psycopg", connect=lambda *a, **k: ClosingConnection(log, "psycopg")),
        "psycopg_pool": module("psycopg_pool", ConnectionPool=Pool),
        "psycopg2.pool": module("psycopg2.pool", ThreadedConnectionPool=Pool, SimpleConnectionPool=Pool),
        "asyncpg": module("asyncpg", connect=asyncpg_connect),
        "sqlalchemy": module("sqlalchemy"),
        "sqlalchemy.orm": module(
            "sqlalchemy.orm", sessionmaker=sessionmaker, Session=lambda *a, **k: ClosingConnection(log, "session")
        ),
        "app": module("app"),
        "app.db": module("app.db", get_db_connection=lambda: FakeConnection(log, "in-house")),
        "business": module("business", **{
            name: (lambda n: (lambda *a, **k: log.work(n)))(name)
            for name in ("calculate_tax", "render", "notify", "validate", "create_label")
        }),
    }
    modules["psycopg2"].pool = modules["psycopg2.pool"]
    modules["sqlalchemy"].orm = modules["sqlalchemy.orm"]
    modules["app"].db = modules["app.db"]
    return modules


# -- real sqlite3, tracked ------------------------------------------------------------
SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, report TEXT);
CREATE TABLE accounts (user_id INTEGER PRIMARY KEY, balance INTEGER);
CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT, total INTEGER);
CREATE TABLE payments (order_id INTEGER, amount INTEGER);
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price INTEGER, featured INTEGER, bumped INTEGER);
CREATE TABLE price_history (product_id INTEGER, price INTEGER);
INSERT INTO users VALUES (1, 'ada', NULL), (2, 'grace', NULL), (3, 'linus', NULL);
INSERT INTO accounts VALUES (3, 100);
INSERT INTO orders VALUES (7, 'pending', 40);
INSERT INTO products VALUES (1, 'lamp', 30, 1, 0), (2, 'desk', 200, 0, 0);
"""


def create_database(path: str) -> None:
    """A small shop database the fixtures' queries run against."""
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA)
    conn.close()


def tracked_sqlite3(log: Log) -> types.ModuleType:
    """The real sqlite3 module, except that ``connect`` records opens, closes
    and every statement run (through sqlite's trace callback) in ``log``."""

    class Tracked(sqlite3.Connection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.id = log.new_id()
            log.open.add(self.id)
            log.events.append(("open", "sqlite3"))
            self.set_trace_callback(lambda sql: log.events.append(("query", self.id, sql)))

        def close(self) -> None:
            log.open.discard(self.id)
            super().close()

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return sqlite3.connect(*args, factory=Tracked, **kwargs)

    module = types.ModuleType("sqlite3")
    module.__dict__.update({k: v for k, v in vars(sqlite3).items() if not k.startswith("__")})
    module.connect = connect
    return module


def dump(path: str) -> dict[str, list[tuple]]:
    """Every table's rows, to compare the database a program leaves behind."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


# -- the shop's other backends: replica/primary handles, Django, caches ---------------
class Shop:
    """One program run's backends: a sqlite database behind every handle
    (replicas included: no lag, so a read gives the same value from either),
    a cache and a Redis keyspace as dicts, and a log of which alias served what."""

    def __init__(self, path: str, log: Log) -> None:
        self.path = path
        self.log = log
        self.db = sqlite3.connect(path, isolation_level=None)
        self.cache: dict[str, Any] = {}
        self.redis: dict[bytes, bytes] = {}
        self.cache_enabled = True

    def close(self) -> None:
        self.db.close()

    def run(self, alias: str, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self.log.events.append(("alias", alias, sql))
        return self.db.execute(sql.replace("%s", "?").replace("true", "1"), tuple(params))


class ShopHandle:
    """``db.replica`` / ``db.primary``: ``query`` returns the first column of the first row."""

    def __init__(self, shop: Shop, alias: str) -> None:
        self.shop, self.alias = shop, alias

    def query(self, sql: str, *params: Any) -> Any:
        row = self.shop.run(self.alias, sql, params).fetchone()
        return row[0] if row else None

    def execute(self, sql: str, *params: Any) -> None:
        self.shop.run(self.alias, sql, params)


class DjangoCursor:
    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.result: sqlite3.Cursor | None = None

    def execute(self, sql: str, params: Any = ()) -> None:
        self.result = self.shop.run("default", sql, params)

    def fetchone(self):
        return self.result.fetchone()

    def fetchall(self):
        return self.result.fetchall()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False


class DictCache:
    """Django's cache API over a dict; ``get`` misses when the run disables caching."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    def get(self, key: str, default: Any = None) -> Any:
        return self.shop.cache.get(key, default) if self.shop.cache_enabled else default

    def set(self, key: str, value: Any, timeout: Any = None) -> None:
        self.shop.cache[key] = value

    def delete(self, key: str) -> None:
        self.shop.cache.pop(key, None)

    def keys(self, pattern: str) -> list[str]:
        return [k for k in self.shop.cache if fnmatch.fnmatchcase(k, pattern)]

    def iter_keys(self, pattern: str) -> Iterator[str]:  # django-redis
        yield from self.keys(pattern)


class FakeRedis:
    """redis-py's key commands over a dict of bytes."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    def keys(self, pattern: str = "*") -> list[bytes]:
        return [k for k in self.shop.redis if fnmatch.fnmatchcase(k.decode(), pattern)]

    def scan_iter(self, match: str = "*", count: int | None = None) -> Iterator[bytes]:
        yield from self.keys(match)

    def delete(self, *names: Any) -> int:
        found = [n if isinstance(n, bytes) else str(n).encode() for n in names]
        return sum(self.shop.redis.pop(n, None) is not None for n in found)

    def set(self, name: str, value: str) -> None:
        self.shop.redis[name.encode()] = str(value).encode()


class Row:
    def __init__(self, table: str, values: dict[str, Any]) -> None:
        self.table = table
        self.__dict__.update(values)

    def card(self) -> str:
        return f"{self.name}: {self.price}"


class Manager:
    """The slice of Django's manager API the fixtures use, over the shop database."""

    def __init__(self, shop: Shop, table: str, alias: str = "default") -> None:
        self.shop, self.table, self.alias = shop, table, alias

    def using(self, alias: str) -> "Manager":
        return Manager(self.shop, self.table, alias)

    def get(self, pk: Any) -> Row:
        cur = self.shop.run(self.alias, f"SELECT * FROM {self.table} WHERE rowid = %s", (pk,))
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
        if row is None:
            raise LookupError(f"{self.table} {pk} does not exist")
        return Row(self.table, dict(zip(names, row)))

    def create(self, **values: Any) -> None:
        values = {k + "_id" if isinstance(v, Row) else k: v.id if isinstance(v, Row) else v for k, v in values.items()}
        columns = ", ".join(values)
        holes = ", ".join("%s" for _ in values)
        self.shop.run(self.alias, f"INSERT INTO {self.table} ({columns}) VALUES ({holes})", tuple(values.values()))

    def update(self, **values: Any) -> None:
        sets = ", ".join(f"{k} = %s" for k in values)
        self.shop.run(self.alias, f"UPDATE {self.table} SET {sets}", tuple(values.values()))


def install_shop(shop: Shop) -> dict[str, types.ModuleType]:
    """Modules for the replica, Django and cache fixtures, backed by ``shop``."""

    def module(name: str, **attrs: Any) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        return mod

    def model(table: str) -> type:
        return type(table.title(), (), {"objects": Manager(shop, table)})

    settings = module(
        "django.conf.settings",
        DATABASE_CONNECTION_REPLICA_NAME="replica",
        DATABASE_CONNECTION_DEFAULT_NAME="default",
        REPORTING_REPLICA="reporting",
    )
    return {
        "django": module("django"),
        "django.conf": module("django.conf", settings=settings),
        "django.db": module("django.db", connection=module("connection", cursor=lambda: DjangoCursor(shop))),
        "django.core": module("django.core"),
        "django.core.cache": module("django.core.cache", cache=DictCache(shop)),
        "redis": module("redis", Redis=lambda *a, **k: FakeRedis(shop)),
        "shop": module("shop"),
        "shop.models": module("shop.models", Order=model("orders"), Payment=model("payments"), Product=model("products")),
    }
