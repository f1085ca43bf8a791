"""Connection rules (SL1xx): how long code holds database connections."""
from __future__ import annotations

from scalelint.findings import FixSafety
from scalelint.model.function import FunctionModel, Hold
from scalelint.rule import Rule
from scalelint.scoping import scope_hold_fix

#: words without which a file cannot acquire a connection (prefilter)
CONNECTION_VOCABULARY = (
    "connect", "cursor", "getconn", "acquire", "Session", "session", "_conn", "conn(",
)


class UnscopedConnection(Rule):
    """
    ## What it does
    Finds database connections, cursors and ORM sessions acquired into a local
    variable outside `with` or `try/finally`, so that an exception on any line
    before `close()` / `putconn()` leaks them, and ones never released at all.

    ## Why it matters at scale
    Under load, errors come in bursts: a timeout upstream makes hundreds of
    requests raise at once. Every request that raises between acquiring and
    closing leaves its connection checked out until garbage collection, and the
    pool drains exactly when the system is already struggling. The result is an
    outage that looks like a database problem but is a missing `with`.

    ## Example
    ```python
    import psycopg2

    def count_orders(dsn):
        conn = psycopg2.connect(dsn)
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM orders")
        total = cur.fetchone()[0]
        conn.close()
        return total
    ```

    ## Use instead
    ```python
    from contextlib import closing

    import psycopg2

    def count_orders(dsn):
        with closing(psycopg2.connect(dsn)) as conn:
            cur = conn.cursor()
            cur.execute("SELECT count(*) FROM orders")
            total = cur.fetchone()[0]
        return total
    ```

    ## Fix safety
    The fix turns the acquire/release pair into a `with` block around the same
    statements, spelled per library: `with psycopg2.connect(...)` and
    `with sqlite3.connect(...)` only end a transaction, so those get
    `contextlib.closing(...)` (the import is added or reused); psycopg 3,
    SQLAlchemy, PyMySQL and the other drivers whose context manager closes get a
    plain `with`; a psycopg_pool `getconn()`/`putconn()` pair becomes
    `with pool.connection()`. It is **safe** when the code already released the
    connection at the end of the same block: only the exception path changes.
    When the connection was never released, the fix (closing it after its last
    use) is **unsafe**. No fix is offered when the connection escapes (returned,
    stored, captured), is released in some branches only, or when control flow
    (`return`, `break`) leaves the region.

    ## Configuration
    `connection-factories` names project functions that return a new connection
    (e.g. `["app.db.connect_primary"]`), in addition to the built-in
    conventions (`get_db_connection()`, `get_conn()`, `db.connect()`,
    `pool.getconn()`).
    """

    code = "SL102"
    name = "unscoped-connection"
    summary = "connection or cursor released by hand (or never), leaking on exceptions"
    vocabulary = CONNECTION_VOCABULARY
    fix_safety = FixSafety.SAFE

    def check_function(self, fn: FunctionModel) -> None:
        local_conns = {h.var for h in fn.holds if not h.via_with and h.resource.kind == "connection"}
        for hold in fn.holds:
            if hold.via_with or hold.scoped or hold.escapes:
                continue
            if hold.resource.kind == "cursor" and not self._cursor_counts(hold, local_conns):
                continue
            released = bool(hold.releases)
            if not released and (hold.passed or hold.rebound or hold.resource.kind == "cursor"):
                continue  # a callee may keep it; or nothing tells us who releases it
            if released:
                last = max(r.stmt.ordinal for r in hold.refs if r.role == "release")
                line = self._ctx.line_of(next(s for s in hold.releases if s.ordinal == last).node)
                message = (
                    f"{hold.describe()} is released by hand at line {line}: an exception "
                    f"before that leaks it; use `with` or `try/finally`"
                )
                fix = scope_hold_fix(self._ctx, fn, hold, "scope it in a `with` block", FixSafety.SAFE)
            else:
                message = (
                    f"{hold.describe()} is never released: it stays checked out until "
                    f"garbage collection; use `with`"
                )
                fix = scope_hold_fix(
                    self._ctx, fn, hold, "close it after its last use with a `with` block", FixSafety.UNSAFE
                )
            self.report(hold.acquired.node, message, fix=fix)

    @staticmethod
    def _cursor_counts(hold: Hold, local_conns: set[str]) -> bool:
        """Cursors are reported only when closed by hand on a connection this
        function does not itself hold (else the connection is the finding)."""
        if hold.resource.library == "django" or not hold.releases:
            return False
        value = hold.value
        receiver = getattr(getattr(value, "func", None), "value", None)
        return not (receiver is not None and getattr(receiver, "value", None) in local_conns)


RULES = [UnscopedConnection]
