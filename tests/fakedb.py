"""Fake database drivers that log what code does with connections, so fix
tests can run a function before and after a fix and compare behaviour.

Each driver mimics its library's context-manager semantics:
psycopg2/sqlite3 ``with conn:`` commits but does not close; psycopg 3,
SQLAlchemy sessions and pool ``connection()`` blocks release at exit.
"""
from __future__ import annotations

import itertools
import types
from contextlib import contextmanager
from typing import Any


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
        return (1,)

    def fetchall(self):
        return [(1,), (2,)]

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

    def sessionmaker(*args: Any, **kwargs: Any):
        return lambda: ClosingConnection(log, "session")

    modules = {
        "sqlite3": module("sqlite3", connect=lambda *a, **k: FakeConnection(log, "sqlite3")),
        "psycopg2": module("psycopg2", connect=lambda *a, **k: FakeConnection(log, "psycopg2")),
        "psycopg": module("psycopg", connect=lambda *a, **k: ClosingConnection(log, "psycopg")),
        "psycopg_pool": module("psycopg_pool", ConnectionPool=Pool),
        "psycopg2.pool": module("psycopg2.pool", ThreadedConnectionPool=Pool, SimpleConnectionPool=Pool),
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
